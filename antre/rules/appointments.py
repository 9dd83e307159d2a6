"""Commands for ``antre web``: remote tickets, appointments (janji temu), check-in, ticket status.

These run inside :class:`~antre.rules.queue.QueueService` like its own commands (one
transaction each, idempotent on ``request_id``); :func:`handlers` returns them
for its handler table. Rules:

- ``issue_ticket`` with channel ``web`` needs ``name`` and ``phone``; the service
  must allow remote tickets (``[[services]] remote``, and not switched off by
  staff), and one phone number gets at most ``[web] phone_daily_limit`` remote
  tickets a day. The name and number go to ``remote_contacts``, never to
  ``tickets`` and never to the log.
- ``book`` reserves a slot of ``[[web.appointments]]`` and answers a numeric code.
  ``check_in`` turns the code into a real ticket on the day, from
  ``checkin_early_minutes`` before the slot until ``checkin_late_minutes`` after.
  The ticket is a priority ticket dated at its slot (or at arrival, if earlier):
  it goes ahead of walk-ins, and booked residents among themselves in slot order.
- ``ticket_status``, ``booking_slots`` and ``web_info`` only read.
- Names and phone numbers are deleted ``[web] retention_days`` after their day
  (0: as soon as the day is over), at the first web command of a later day.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import and_, delete, func, or_, select, update

from antre import opening
from antre.config import AppointmentSlotsConfig, ServiceConfig, WEEKDAYS
from antre.errors import CommandError, Conflict, NotFound
from antre.storage.models import (
    BOOKED, BOOKING_EXPIRED, CALLED, CANCELLED, CHECKED_IN, WAITING, Booking, Meta, RemoteContact,
    Ticket, TicketEvent,
)
from antre.rules.booking_code import new_booking_code
from antre.rules.outcome import Outcome

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

#: Tickets taken from home: on the website, or by a message (``ANTRE KTP`` by SMS or WhatsApp, taken by the
#: notify plug-in, which no device can claim: the MQTT protocol's channels are kiosk, web, counter, admin).
#: Each keeps its own channel (reports count them apart); all follow the web's rules and share its quota.
REMOTE_CHANNELS = ("web", "sms", "whatsapp")


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def slot_times(slots: AppointmentSlotsConfig) -> list[str]:
    """``["08:00", "08:30", ...]``: the slot start times of one day."""
    h, m = map(int, slots.start.split(":"))
    eh, em = map(int, slots.end.split(":"))
    t, end, out = h * 60 + m, eh * 60 + em, []
    while t < end:
        out.append(f"{t // 60:02d}:{t % 60:02d}")
        t += slots.every_minutes
    return out


class WebRules:
    """The web commands of one :class:`QueueService`."""

    def __init__(self, q: "QueueService"):
        self.q = q
        self.web = q.cfg.web
        self._slots = {a.service: a for a in self.web.appointments}
        self._base_issue = q.handlers["issue_ticket"]
        self._purged: date | None = None

    @property
    def cfg(self):
        """The queue's configuration as it is now (the office calendar and services change at runtime:
        antre/rules/office.py)."""
        return self.q.cfg

    def handlers(self) -> dict[str, Callable[..., "Outcome"]]:
        return {
            "issue_ticket": self.issue_ticket,
            "book": self.book,
            "check_in": self.check_in,
            "cancel_booking": self.cancel_booking,
            "ticket_status": self.ticket_status,
            "booking_status": self.booking_status,
            "booking_slots": self.booking_slots,
            "web_info": self.web_info,
            "set_web": self.set_web,
        }

    # ------------------------------------------------------------------ settings

    def _flag(self, s: "Session", kind: str, code: str, default: bool) -> bool:
        meta = s.get(Meta, f"web.{kind}.{code}")
        return default if meta is None else meta.value == "on"

    def remote_on(self, s: "Session", svc: ServiceConfig) -> bool:
        return svc.remote and svc.active and self._flag(s, "remote", svc.code, True)

    def appointments_on(self, s: "Session", svc: ServiceConfig) -> bool:
        return svc.code in self._slots and svc.active and self._flag(s, "appointments", svc.code, True)

    # ------------------------------------------------------------------ retention

    def _purge(self, s: "Session", now: datetime) -> None:
        """Deletes names and phone numbers past their retention; closes bookings of past days.

        Runs in the transaction that opens each new business day (a hook of the queue), and at the
        end of the first successful ticket or booking command of a day, in that command's transaction."""
        today = self.q.business_date(now)
        if self._purged == today:
            return
        cutoff = today - timedelta(days=self.web.retention_days)
        gone = s.execute(delete(RemoteContact).where(RemoteContact.business_date < cutoff)).rowcount
        wiped = s.execute(update(Booking).where(Booking.business_date < cutoff, Booking.phone.is_not(None))
                          .values(name=None, phone=None)).rowcount
        s.execute(update(Booking).where(Booking.business_date < today, Booking.state == BOOKED)
                  .values(state=BOOKING_EXPIRED))
        if gone or wiped:
            log.info("retention: deleted the contact details of %d remote ticket(s) and %d booking(s)", gone, wiped)
        self._purged = today

    def web_quota(self, svc: ServiceConfig) -> int:
        """How many tickets and bookings of one day the web may take for ``svc``: ``[web] web_share`` percent
        of its daily quota, or of its ticket numbers when it has none."""
        base = svc.daily_quota or (10 ** self.cfg.queue.number_width - 1)
        return base * self.web.web_share // 100

    def web_used(self, s: "Session", svc: ServiceConfig, day: date) -> int:
        """Tickets from the web and (kept or checked-in) bookings of ``svc`` on ``day``."""
        tickets = s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.business_date == day, Ticket.issued_service_code == svc.code,
            Ticket.channel.in_(REMOTE_CHANNELS))) or 0
        bookings = s.scalar(select(func.count()).select_from(Booking).where(
            Booking.business_date == day, Booking.service_code == svc.code,
            Booking.state.in_((BOOKED, CHECKED_IN)))) or 0
        return tickets + bookings

    def _check_web_share(self, s: "Session", svc: ServiceConfig, day: date) -> None:
        quota = self.web_quota(svc)
        if self.web_used(s, svc, day) >= quota:
            raise Conflict("web_share_reached", f"the web's share ({quota}) of '{svc.name}' on {day.isoformat()} "
                                                "is taken; the rest is kept for residents at the office")

    def _phone_count(self, s: "Session", day: date, phone: str) -> int:
        return s.scalar(select(func.count()).select_from(RemoteContact).where(
            RemoteContact.business_date == day, RemoteContact.phone == phone)) or 0

    # ------------------------------------------------------------------ remote tickets

    def issue_ticket(self, s: "Session", now: datetime, service: str, priority: str | None = None,
                     channel: str = "kiosk", name: str | None = None, phone: str | None = None) -> "Outcome":
        if channel not in REMOTE_CHANNELS:
            if name is not None or phone is not None:
                raise CommandError("invalid_argument", "'name' and 'phone' are only for channel 'web'")
            outcome = self._base_issue(s, now, service=service, priority=priority, channel=channel)
            self._purge(s, now)
            return outcome
        if name is None or phone is None:
            raise CommandError("missing_argument", "a ticket from the web needs 'name' and 'phone'")
        if priority is not None:
            raise CommandError("invalid_argument", "priority is given at the office, not from the web")
        svc = self.q.service(service)
        if svc.active and not self.remote_on(s, svc):
            raise Conflict("remote_disabled", f"'{svc.name}' does not take numbers from home now")
        today = self.q.business_date(now)
        if svc.active and not (svc.daily_quota and self.q.today.issued.get(svc.code, 0) >= svc.daily_quota):
            self._check_web_share(s, svc, today)   # (a full quota is said as such, below)
        if self._phone_count(s, today, phone) >= self.web.phone_daily_limit:
            raise Conflict("phone_limit_reached", f"this phone number already has {self.web.phone_daily_limit} "
                                                  f"remote ticket(s) today")
        outcome = self._base_issue(s, now, service=service, priority=None, channel=channel)
        t = s.scalars(select(Ticket).where(Ticket.business_date == today,
                                           Ticket.number == outcome.result["number"])).one()
        s.add(RemoteContact(ticket_id=t.id, business_date=today, name=name, phone=phone, created_at=now))
        self._purge(s, now)
        return outcome

    # Every refusal above comes before the first write, so it may share a batch (group commit).
    issue_ticket.batch_safe = True

    # ------------------------------------------------------------------ appointments

    def _slot_config(self, s: "Session", service: str) -> tuple[ServiceConfig, AppointmentSlotsConfig]:
        svc = self.q.service(service)
        slots = self._slots.get(svc.code)
        if slots is None or not self.appointments_on(s, svc):
            raise Conflict("appointments_disabled", f"'{svc.name}' takes no appointments now")
        return svc, slots

    def _day_slots(self, slots: AppointmentSlotsConfig, day: date) -> list[str]:
        """The slots of ``day``: none on a day the office is closed (its weekday, or a holiday), and only
        those that start within that day's opening hours."""
        if WEEKDAYS[day.weekday()] not in slots.days:
            return []
        hours = opening.hours_on(self.cfg.office, day)
        if hours is None:
            return []
        opens, closes = (f"{t:%H:%M}" for t in hours)
        return [t for t in slot_times(slots) if opens <= t < closes]

    def _slot_at(self, day: date, slot: str) -> datetime:
        h, m = map(int, slot.split(":"))
        return datetime.combine(day, time(h, m), tzinfo=self.q.tz).astimezone(timezone.utc)

    def _check_day(self, now: datetime, value: str) -> date:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise CommandError("invalid_argument", f"'date' must be YYYY-MM-DD, not {value!r}") from None
        today = self.q.business_date(now)
        if not today <= day <= today + timedelta(days=self.web.booking_days_ahead):
            raise Conflict("date_out_of_range", f"bookings are for today up to {self.web.booking_days_ahead} "
                                                f"day(s) ahead")
        return day

    def _booked(self, s: "Session", service: str, day: date) -> dict[str, int]:
        return dict(s.execute(select(Booking.slot, func.count()).where(
            Booking.business_date == day, Booking.service_code == service,
            Booking.state.in_((BOOKED, CHECKED_IN))).group_by(Booking.slot)).all())

    def booking_slots(self, s: "Session", now: datetime, service: str, date: str) -> "Outcome":
        svc, slots = self._slot_config(s, service)
        day = self._check_day(now, date)
        booked = self._booked(s, svc.code, day)
        out = []
        for slot in self._day_slots(slots, day):
            n = booked.get(slot, 0)
            out.append({"time": slot, "capacity": slots.capacity, "booked": n,
                        "free": max(0, slots.capacity - n), "past": self._slot_at(day, slot) <= now})
        return Outcome({"service": svc.code, "service_name": svc.name, "date": day.isoformat(),
                             "slots": out}, changed=False)

    def book(self, s: "Session", now: datetime, service: str, date: str, slot: str, name: str,
             phone: str) -> "Outcome":
        svc, slots = self._slot_config(s, service)
        day = self._check_day(now, date)
        if slot not in self._day_slots(slots, day):
            raise Conflict("invalid_slot", f"{slot} on {day.isoformat()} is not a slot of '{svc.name}'")
        slot_at = self._slot_at(day, slot)
        if slot_at <= now:
            raise Conflict("slot_passed", f"the {slot} slot has already begun")
        if self._booked(s, svc.code, day).get(slot, 0) >= slots.capacity:
            raise Conflict("slot_full", f"the {slot} slot on {day.isoformat()} is fully booked")
        self._check_web_share(s, svc, day)
        kept = (Booking.business_date == day, Booking.phone == phone, Booking.state.in_((BOOKED, CHECKED_IN)))
        in_slot = s.scalar(select(func.count()).select_from(Booking).where(
            *kept, Booking.service_code == svc.code, Booking.slot == slot)) or 0
        if in_slot >= self.web.phone_slot_limit:
            # One phone must not fill a slot: the places are for as many residents as the capacity says.
            raise Conflict("phone_slot_limit_reached", f"this phone number already has {in_slot} booking(s) in "
                                                       f"the {slot} slot")
        mine = s.scalar(select(func.count()).select_from(Booking).where(*kept)) or 0
        if mine >= self.web.phone_daily_limit:
            raise Conflict("phone_limit_reached", f"this phone number already has {mine} booking(s) that day")
        code = self._new_code(s)
        s.add(Booking(code=code, service_code=svc.code, business_date=day, slot=slot, slot_at=slot_at,
                      state=BOOKED, name=name, phone=phone, created_at=now))
        self._purge(s, now)
        log.info("booking %s: %s on %s at %s", code, svc.code, day.isoformat(), slot)
        return Outcome(self._booking_dict(svc, code, day, slot, BOOKED), changed=False)

    def _new_code(self, s: "Session") -> str:
        while True:
            code = new_booking_code()
            if s.scalar(select(Booking.id).where(Booking.code == code)) is None:
                return code

    def _booking_dict(self, svc: ServiceConfig, code: str, day: date, slot: str, state: str) -> dict[str, Any]:
        return {"code": code, "service": svc.code, "service_name": svc.name, "date": day.isoformat(),
                "slot": slot, "state": state,
                "checkin_from": self._shift(slot, -self.web.checkin_early_minutes),
                "checkin_until": self._shift(slot, self.web.checkin_late_minutes)}

    @staticmethod
    def _shift(slot: str, minutes: int) -> str:
        h, m = map(int, slot.split(":"))
        t = max(0, min(23 * 60 + 59, h * 60 + m + minutes))
        return f"{t // 60:02d}:{t % 60:02d}"

    def _find_booking(self, s: "Session", code: str) -> Booking:
        b = s.scalars(select(Booking).where(Booking.code == code)).first()
        if b is None:
            raise NotFound("booking_not_found", "no booking with this code")   # not the code: it may be a phone number
        return b

    def booking_status(self, s: "Session", now: datetime, code: str) -> "Outcome":
        """A booking's state for ``/cek`` (read-only, no name or phone): the booking as :meth:`book` answers
        it, ``state`` ``booked`` / ``checked_in`` / ``cancelled`` / ``expired`` (a booking of a past day
        that was never checked in is ``expired`` even before the new day's purge marks it), and ``ticket``
        (``{"number", "business_date"}`` once checked in, else null)."""
        b = self._find_booking(s, code)
        svc = self.q.services.get(b.service_code)
        state = b.state
        if state == BOOKED and (b.business_date < self.q.business_date(now) or
                                now > b.slot_at + timedelta(minutes=self.web.checkin_late_minutes)):
            state = BOOKING_EXPIRED
        out = {"code": b.code, "service": b.service_code, "service_name": svc.name if svc else b.service_code,
               "date": b.business_date.isoformat(), "slot": b.slot, "state": state,
               "checkin_from": self._shift(b.slot, -self.web.checkin_early_minutes),
               "checkin_until": self._shift(b.slot, self.web.checkin_late_minutes), "ticket": None}
        if b.state == CHECKED_IN and b.ticket_id:
            t = s.get(Ticket, b.ticket_id)
            if t is not None:
                out["ticket"] = {"number": t.number, "business_date": t.business_date.isoformat()}
        return Outcome(out, changed=False)

    def cancel_booking(self, s: "Session", now: datetime, code: str, phone: str) -> "Outcome":
        b = self._find_booking(s, code)
        if b.phone is None or b.phone != phone:
            raise NotFound("booking_not_found", "no booking with this code for this phone number")
        svc = self.q.services.get(b.service_code) or self.q.service(b.service_code)  # refuse before writing
        if b.state == CANCELLED:
            # Cancelling again (another request, a reload) answers as the first time: it is cancelled.
            return Outcome(self._booking_dict(svc, b.code, b.business_date, b.slot, CANCELLED), changed=False)
        if b.state == BOOKED and b.business_date < self.q.business_date(now):
            raise Conflict("booking_expired", f"booking {code} was for {b.business_date.isoformat()}")
        if b.state != BOOKED:
            raise Conflict(f"booking_{b.state}" if b.state != CHECKED_IN else "already_checked_in",
                           f"booking {code} is {b.state}")
        b.state = CANCELLED
        log.info("booking %s cancelled", code)
        return Outcome(self._booking_dict(svc, b.code, b.business_date, b.slot, CANCELLED), changed=False)

    def check_in(self, s: "Session", now: datetime, code: str, channel: str = "kiosk") -> "Outcome":
        b = self._find_booking(s, code)
        today = self.q.business_date(now)
        if b.business_date != today:
            # Answered exactly as an unknown code: a guess must not learn that a code exists.
            raise NotFound("booking_not_found", "no booking with this code")   # not the code: it may be a phone number
        svc = self.q.service(b.service_code)
        if b.state == CHECKED_IN:
            t = s.get(Ticket, b.ticket_id) if b.ticket_id else None
            raise Conflict("already_checked_in", f"booking {code} was already checked in"
                                                 + (f" as {t.number}" if t else ""),
                           {"number": t.number} if t else None)
        if b.state == CANCELLED:
            raise Conflict("booking_cancelled", f"booking {code} was cancelled")
        if now < b.slot_at - timedelta(minutes=self.web.checkin_early_minutes):
            raise Conflict("too_early", f"booking {code} is at {b.slot}; check-in opens "
                                        f"{self.web.checkin_early_minutes} minutes before",
                           {"slot": b.slot, "checkin_from": self._shift(b.slot, -self.web.checkin_early_minutes)})
        if b.state != BOOKED or now > b.slot_at + timedelta(minutes=self.web.checkin_late_minutes):
            raise Conflict("booking_expired", f"booking {code} at {b.slot} has expired")
        if not svc.active:
            raise Conflict("service_inactive", f"service '{svc.code}' is not active today")
        if self.cfg.queue.enforce_hours and not self.q.is_open(now):
            raise Conflict("office_closed", "the office is closed now")
        # Quota is not checked: the booking already holds the place.
        t = self._new_ticket(s, now, svc, channel, issued_at=min(now, b.slot_at))
        b.state = CHECKED_IN
        b.ticket_id = t.id
        b.checked_in_at = now
        self._purge(s, now)
        ahead = self._ahead(s, t)
        result = self._ticket_dict(t) | {"ahead": ahead,
                                           "estimated_wait_minutes": self._estimate(svc, ahead),
                                           "booking": code, "slot": b.slot}
        log.info("booking %s checked in as %s (%s)", code, t.number, channel)
        # No `after`: the queue reloads its in-memory mirror from the database after the commit.
        return Outcome(result, [("ticket_issued", self._ticket_dict(t) | {"time": iso(now)})])

    def _new_ticket(self, s: "Session", now: datetime, svc: ServiceConfig, channel: str,
                    issued_at: datetime) -> Ticket:
        today = self.q.business_date(now)
        last = s.scalar(select(func.max(Ticket.seq)).where(Ticket.business_date == today,
                                                           Ticket.prefix == svc.prefix)) or 0
        seq = last + 1
        width = self.cfg.queue.number_width
        if seq >= 10 ** width:
            raise Conflict("numbers_exhausted", f"no more {width}-digit numbers today for prefix {svc.prefix}")
        t = Ticket(business_date=today, prefix=svc.prefix, seq=seq, number=self.q.format_number(svc.prefix, seq),
                   service_code=svc.code, issued_service_code=svc.code, priority=1, priority_kind=None,
                   channel=channel, state=WAITING, issued_at=issued_at, call_count=0, transfer_count=0)
        s.add(t)
        s.flush()
        s.add(TicketEvent(ticket_id=t.id, at=now, kind="issued", from_state=None, to_state=WAITING,
                          counter_id=None, service_code=svc.code))
        return t

    # ------------------------------------------------------------------ reading

    def _ahead(self, s: "Session", t: Ticket) -> int:
        return s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.business_date == t.business_date, Ticket.state == WAITING,
            Ticket.service_code == t.service_code, Ticket.id != t.id,
            or_(Ticket.priority > t.priority,
                and_(Ticket.priority == t.priority,
                     or_(Ticket.issued_at < t.issued_at,
                         and_(Ticket.issued_at == t.issued_at, Ticket.id < t.id)))))) or 0

    def _estimate(self, svc: ServiceConfig, ahead: int) -> int:
        # The queue's own estimate (today's mean service time over the open counters), for `ahead` people.
        return self.q.estimate(svc, ahead)

    def _ticket_dict(self, t: Ticket) -> dict[str, Any]:
        svc = self.q.services.get(t.service_code)
        return {"number": t.number, "service": t.service_code, "service_name": svc.name if svc else t.service_code,
                "priority": t.priority_kind, "channel": t.channel, "state": t.state, "issued_at": iso(t.issued_at),
                "business_date": t.business_date.isoformat()}

    def ticket_status(self, s: "Session", now: datetime, number: str, date: str | None = None) -> "Outcome":
        today = self.q.business_date(now)
        if date is None:
            day = today
        else:
            try:
                day = datetime.strptime(date, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError("invalid_argument", f"'date' must be YYYY-MM-DD, not {date!r}") from None
        t = s.scalars(select(Ticket).where(Ticket.business_date == day, Ticket.number == number)).first()
        if t is None:
            raise NotFound("ticket_not_found", f"no ticket {number} on {day.isoformat()}")
        ahead = self._ahead(s, t) if t.state == WAITING else 0
        svc = self.q.services.get(t.service_code)
        counter = None
        if t.state == CALLED and t.counter_id:
            c = self.q.counters.get(t.counter_id)
            counter = self.q.counter_dict(c) if c else {"id": t.counter_id, "name": t.counter_id, "number": None}
        result = self._ticket_dict(t) | {
            "ahead": ahead,
            "estimated_wait_minutes": self._estimate(svc, ahead) if (svc and t.state == WAITING) else 0,
            "counter": counter,
            "called_at": iso(t.called_at),
            "call_count": t.call_count,
            "today": day == today,
        }
        return Outcome(result, changed=False)

    def web_info(self, s: "Session", now: datetime) -> "Outcome":
        services = []
        for svc in self.cfg.services:
            slots = self._slots.get(svc.code)
            services.append({
                "code": svc.code, "remote": self.remote_on(s, svc), "appointments": self.appointments_on(s, svc),
                "remote_configured": svc.remote, "appointments_configured": slots is not None,
                "appointment_days": list(slots.days) if slots else [],
                "web_quota": self.web_quota(svc), "web_used": self.web_used(s, svc, self.q.business_date(now)),
            })
        return Outcome({"services": services, "phone_daily_limit": self.web.phone_daily_limit,
                             "web_share": self.web.web_share,
                             "booking_days_ahead": self.web.booking_days_ahead,
                             "retention_days": self.web.retention_days,
                             "business_date": self.q.business_date(now).isoformat()}, changed=False)

    def set_web(self, s: "Session", now: datetime, service: str, remote: bool | None = None,
                appointments: bool | None = None) -> "Outcome":
        svc = self.q.service(service)
        for kind, value in (("remote", remote), ("appointments", appointments)):
            if value is None:
                continue
            key = f"web.{kind}.{svc.code}"
            meta = s.get(Meta, key)
            if meta is None:
                s.add(Meta(key=key, value="on" if value else "off"))
            else:
                meta.value = "on" if value else "off"
            log.info("web: %s for %s switched %s", kind, svc.code, "on" if value else "off")
        s.flush()
        return Outcome({"service": svc.code, "remote": self.remote_on(s, svc),
                             "appointments": self.appointments_on(s, svc)}, changed=False)


def handlers(q: "QueueService") -> dict[str, Callable[..., "Outcome"]]:
    """The web commands for ``q``'s handler table (``issue_ticket`` is wrapped, the rest are new)."""
    rules = WebRules(q)
    q.new_day_hooks.append(rules._purge)   # retention runs at each new day, even with no web traffic
    q.read_only.update({"ticket_status", "booking_status", "booking_slots", "web_info"})
    return rules.handlers()


__all__ = ["handlers", "slot_times", "WebRules"]
