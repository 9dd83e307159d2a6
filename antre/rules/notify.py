"""Messages to residents: the durable outbox, opt-in, opt-out, budgets, and SMS self-service.

A plug-in of the queue (:func:`handlers`, listed in ``antre/service/server.py``). Every message is a row of
``outbox`` (:class:`~antre.storage.models.OutboxMessage`) written **in the transaction of the event that
causes it**: the counter's call and its "dipanggil" SMS are committed together or not at all. Each row has a
``key`` naming its event (``t42:called``), unique, so an event never makes two messages, whatever is retried.
The delivery worker (``antre/service/notify_worker.py``) hands pending rows to a channel (gammu-smsd) and
records what became of them; docs/sms.md states the exact guarantee.

Events (``[notify]`` in the configuration):

- a remote ticket taken with ``notify: true`` (or by SMS ``ANTRE``): its number, the people ahead and the
  status link (``[web] public_url``);
- "giliran Anda sebentar lagi" once, when ``near_ahead`` people or fewer are ahead (checked whenever the
  queue moves);
- called (the first call only), and marked no-show;
- a booking made with ``notify: true``: a reminder 24 hours and an hour before its slot (the queue's tick);
- other modules (letters, complaints) call :meth:`NotifyRules.notify` with a key of their own.

Money and consent: nothing is sent to a number that did not ask (a form's opt-in, or its own SMS); ``STOP``
ends notifications to a number (``MULAI`` starts them again; answers to its own SMS are still sent); a
message beyond the office's daily budget or the number's is recorded as ``skipped`` with the reason, never
sent. Phone numbers in the outbox and subscriptions are wiped ``retention_days`` after their day; opt-outs
keep only a keyed hash of the number.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from antre.errors import CommandError
from antre.rules import keywords
from antre.rules.outcome import Outcome
from antre.rules.sms_text import mask, phone_key, plain, sms_parts
from antre.storage.models import (
    BOOKED, CALLED, FAILED, PENDING, SENT, SKIPPED, WAITING, Booking, Meta, NotifySubscription,
    OutboxMessage, SmsOptOut, Ticket,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.appointments import WebRules
    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

SMS = "sms"
#: Kinds that answer a resident's own SMS: sent even after STOP (they asked).
REPLIES = frozenset({"reply", "created"})
SMS_NAME = "Pengirim SMS"   # the name a ticket taken by SMS carries (residents do not send theirs)

WEEKDAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
REFUSALS = {
    "quota_reached": "Kuota {service} hari ini sudah habis. Silakan coba lagi besok.",
    "web_share_reached": "Jatah nomor dari rumah untuk {service} hari ini sudah habis. Silakan ambil nomor di kantor.",
    "phone_limit_reached": "Nomor HP ini sudah mencapai batas nomor antrean hari ini.",
    "remote_disabled": "{service} sedang tidak menerima nomor dari rumah. Silakan ambil nomor di kantor.",
    "office_closed": "Kantor sedang tutup. Nomor hanya bisa diambil pada jam buka. Ketik JAM untuk jam buka.",
    "service_inactive": "{service} tidak tersedia hari ini.",
    "numbers_exhausted": "Nomor antrean {service} hari ini sudah habis. Silakan coba lagi besok.",
}


def fit(*variants: str) -> str:
    """The first of ``variants`` (longest first) that fits one SMS; the first when none does (multipart)."""
    return next((v for v in variants if sms_parts(plain(v)) == 1), variants[0])


class NotifyRules:
    """The notification rules of one :class:`QueueService`."""

    def __init__(self, q: "QueueService"):
        self.q = q
        self.cfg = q.cfg
        self.n = q.cfg.notify
        self._inner_issue = q.handlers["issue_ticket"]
        self._inner_book = q.handlers["book"]
        self._inner_web_info = q.handlers["web_info"]
        self.web: "WebRules" = q.handlers["ticket_status"].__self__   # the appointments plug-in's rules
        #: Answers the FAQ assistant gives (``fn(question) -> answer or None``); see antre/rules/faq.py.
        self.faq: Callable[[str], str | None] = lambda question: None

    def handlers(self) -> dict[str, Callable[..., Outcome]]:
        return {"issue_ticket": self.issue_ticket, "book": self.book, "sms_received": self.sms_received,
                "web_info": self.web_info, "ask": self.ask}

    def ask(self, s: "Session", now: datetime, question: str) -> Outcome:
        """The FAQ assistant for the website and the kiosk: ``{"answer": text or None}`` (None: not sure, or
        no FAQ; a person should answer). The question is not logged: residents write names and numbers."""
        return Outcome({"answer": self.faq(question.strip()) if question.strip() else None}, changed=False)

    def web_info(self, s: "Session", now: datetime) -> Outcome:
        """The web's settings plus ``sms``: whether its forms offer SMS (the opt-in box)."""
        outcome = self._inner_web_info(s, now)
        return Outcome(outcome.result | {"sms": self.n.sms}, changed=False)

    # ------------------------------------------------------------------ the outbox

    def secret(self, s: "Session") -> bytes:
        """The key of the numbers' hashes: made once per database, kept in ``meta``.

        Read in every transaction, not kept in memory: a key drawn in a transaction that is rolled back is
        never saved, and remembering it would make opt-outs and budgets hashed with it stop matching after a
        restart (the rating codes' key is read the same way). One primary-key read per transaction."""
        meta = s.get(Meta, "notify.key")
        if meta is None:
            meta = Meta(key="notify.key", value=secrets.token_hex(32))
            s.add(meta)
            s.flush()
        return bytes.fromhex(meta.value)

    def notify(self, s: "Session", now: datetime, key: str, kind: str, phone: str, body: str,
               channel: str = SMS) -> OutboxMessage | None:
        """Puts one message in the outbox, in the caller's transaction; idempotent on ``key``.

        The hook other modules call (letters "siap diambil", complaints answered)::

            notify_rules.notify(session, now, f"letter{letter.id}:ready", "letter_ready", phone,
                                "Surat Anda sudah siap diambil di Kantor Desa Sukamaju.")

        Returns the row (an existing one for a key already used), or None when SMS is switched off."""
        if channel != SMS or not self.n.sms:
            return None
        existing = s.scalars(select(OutboxMessage).where(OutboxMessage.key == key)).first()
        if existing is not None:
            return existing
        body = plain(body)
        parts = sms_parts(body)
        pkey = phone_key(self.secret(s), phone)
        today = self.q.business_date(now)
        state, reason = PENDING, None
        if kind not in REPLIES and s.get(SmsOptOut, pkey) is not None:
            state, reason = SKIPPED, "opted_out"
        else:
            spent = func.coalesce(func.sum(OutboxMessage.parts), 0)
            office = s.scalar(select(spent).where(OutboxMessage.business_date == today,
                                                  OutboxMessage.state != SKIPPED)) or 0
            mine = s.scalar(select(spent).where(OutboxMessage.business_date == today, OutboxMessage.phone_key == pkey,
                                                OutboxMessage.state != SKIPPED)) or 0
            if office + parts > self.n.daily_budget:
                state, reason = SKIPPED, "office_budget"
            elif mine + parts > self.n.number_daily_limit:
                state, reason = SKIPPED, "number_budget"
        row = OutboxMessage(key=key, kind=kind, channel=channel, phone=phone, phone_key=pkey, body=body, parts=parts,
                            business_date=today, state=state, reason=reason, attempt=0, next_attempt_at=now,
                            created_at=now)
        s.add(row)
        s.flush()
        if state == SKIPPED:
            log.info("outbox %s (%s to %s): not sent, %s", key, kind, mask(phone), reason)
        else:
            log.info("outbox %s: %s to %s, %d SMS", key, kind, mask(phone), parts)
        return row

    def subscribe(self, s: "Session", now: datetime, phone: str, ticket_id: int | None = None,
                  booking_id: int | None = None, near_done: bool = False, day: date | None = None
                  ) -> NotifySubscription:
        """Opt-in for one ticket or booking; kept until ``retention_days`` after ``day`` (the booking's day)."""
        sub = NotifySubscription(ticket_id=ticket_id, booking_id=booking_id, channel=SMS, phone=phone,
                                 business_date=day or self.q.business_date(now), near_done=int(near_done),
                                 created_at=now)
        s.add(sub)
        s.flush()
        return sub

    # ------------------------------------------------------------------ words

    def _office(self) -> str:
        return self.cfg.office.name

    def _status_link(self, t: Ticket) -> str:
        base = self.cfg.web.public_url.rstrip("/")
        return f" Pantau: {base}/status/{t.business_date.isoformat()}/{t.number}" if base else ""

    def _created_text(self, t: Ticket, ahead: int, minutes: int) -> str:
        svc = self.q.services.get(t.service_code)
        name = (svc.short_name or svc.name) if svc else t.service_code
        wait = f"{ahead} orang di depan Anda" + (f", sekitar {minutes} menit" if ahead and minutes else "")
        link = self._status_link(t)
        return fit(f"{self._office()}: nomor antrean Anda {t.number} ({name}). {wait}.{link} Balas STOP bila tak "
                   f"mau SMS lagi.",
                   f"{self._office()}: nomor antrean Anda {t.number} ({name}). {wait}.{link} STOP: berhenti SMS.",
                   f"{self._office()}: nomor antrean Anda {t.number}. {wait}.{link} STOP: berhenti SMS.",
                   f"{self._office()}: nomor antrean Anda {t.number}. {ahead} orang di depan.{link}")

    # ------------------------------------------------------------------ wrapped commands

    def issue_ticket(self, s: "Session", now: datetime, notify: bool | None = None, **args: Any) -> Outcome:
        outcome = self._inner_issue(s, now, **args)
        phone = args.get("phone")
        if notify and phone and self.n.sms:
            t = s.scalars(select(Ticket).where(Ticket.business_date == self.q.business_date(now),
                                               Ticket.number == outcome.result["number"])).one()
            self._ticket_created(s, now, t, phone, outcome.result.get("ahead", 0),
                                 outcome.result.get("estimated_wait_minutes", 0))
        return outcome

    issue_ticket.batch_safe = True   # refusals come from the wrapped command, before anything is written

    def book(self, s: "Session", now: datetime, notify: bool | None = None, **args: Any) -> Outcome:
        outcome = self._inner_book(s, now, **args)
        if notify and self.n.sms:
            b = s.scalars(select(Booking).where(Booking.code == outcome.result["code"])).one()
            self.subscribe(s, now, args["phone"], booking_id=b.id, day=b.business_date)
        return outcome

    def _ticket_created(self, s: "Session", now: datetime, t: Ticket, phone: str, ahead: int, minutes: int) -> None:
        self.subscribe(s, now, phone, ticket_id=t.id, near_done=ahead <= self.n.near_ahead)
        self.notify(s, now, f"t{t.id}:created", "created", phone, self._created_text(t, ahead, minutes))

    # ------------------------------------------------------------------ events

    def after_command(self, s: "Session", now: datetime, command: str, outcome: Outcome) -> None:
        """Runs in each command's transaction (``QueueService.outcome_hooks``): messages for its events."""
        if not self.n.sms or not outcome.events:
            return
        try:
            self._after(s, now, outcome)
        except SQLAlchemyError:
            raise   # the transaction is lost: the command is not applied either (and is answered so)
        except Exception:  # noqa: BLE001 - a fault in the wording of a message never stops the queue
            log.exception("notifications for %s could not be made; the command goes on without them", command)

    def _after(self, s: "Session", now: datetime, outcome: Outcome) -> None:
        if outcome.result.get("booking") and any(e == "ticket_issued" for e, _ in outcome.events):
            self._checked_in(s, now, outcome.result)
        moved = False
        for event, data in outcome.events:
            if event == "ticket_called" and not data.get("recall"):
                sub = self._subscription_of(s, data)
                if sub is not None:
                    where = (data.get("counter") or {}).get("name") or "loket"
                    self.notify(s, now, f"t{sub.ticket_id}:called", "called", sub.phone,
                                f"{self._office()}: nomor {data['number']} dipanggil sekarang. "
                                f"Silakan menuju {where}.")
                moved = True
            elif event == "ticket_skipped":
                sub = self._subscription_of(s, data)
                if sub is not None:
                    self.notify(s, now, f"t{sub.ticket_id}:no_show", "no_show", sub.phone,
                                f"{self._office()}: nomor {data['number']} dilewati karena tidak ada saat "
                                f"dipanggil. Bila masih di kantor, silakan lapor ke petugas.")
                moved = True
            elif event in ("ticket_transferred", "ticket_completed"):
                moved = True
        if moved:
            self._near(s, now)

    def _checked_in(self, s: "Session", now: datetime, result: dict[str, Any]) -> None:
        """A booking with opt-in checked in: its ticket gets the queue's messages too (near, called)."""
        row = s.execute(select(NotifySubscription.phone).join(Booking, Booking.id == NotifySubscription.booking_id)
                        .where(Booking.code == result["booking"])).first()
        if row is None:
            return
        t = s.scalars(select(Ticket).where(Ticket.business_date == date.fromisoformat(result["business_date"]),
                                           Ticket.number == result["number"])).first()
        if t is not None and s.scalar(select(NotifySubscription.id).where(NotifySubscription.ticket_id == t.id)) is None:
            self.subscribe(s, now, row.phone, ticket_id=t.id, near_done=result.get("ahead", 0) <= self.n.near_ahead)

    def _subscription_of(self, s: "Session", data: dict[str, Any]) -> NotifySubscription | None:
        day = date.fromisoformat(data["business_date"])
        return s.scalars(select(NotifySubscription).join(Ticket, Ticket.id == NotifySubscription.ticket_id)
                         .where(Ticket.business_date == day, Ticket.number == data["number"])).first()

    def _near(self, s: "Session", now: datetime) -> None:
        """'Giliran Anda sebentar lagi' to each subscribed waiting ticket with few enough people ahead."""
        today = self.q.business_date(now)
        rows = s.execute(select(NotifySubscription, Ticket).join(Ticket, Ticket.id == NotifySubscription.ticket_id)
                         .where(NotifySubscription.business_date == today, NotifySubscription.near_done == 0,
                                Ticket.state == WAITING)).all()
        for sub, t in rows:
            ahead = self.web._ahead(s, t)
            if ahead > self.n.near_ahead:
                continue
            sub.near_done = 1
            people = "tidak ada lagi orang" if ahead == 0 else f"tinggal {ahead} orang"
            self.notify(s, now, f"t{t.id}:near", "near", sub.phone,
                        f"{self._office()}: giliran Anda sebentar lagi. Nomor {t.number}, {people} di depan Anda. "
                        f"Mohon segera kembali ke ruang tunggu.")

    def on_tick(self, s: "Session", now: datetime) -> None:
        """The queue's periodic work (``QueueService.tick_hooks``): booking reminders."""
        if not self.n.sms or self.q.clock_warning is not None:
            # A doubtful clock (staff see "Jam Pi salah"): a reminder now could be a day early, and its key
            # would keep the right one from going; reminders wait until the clock is right.
            return
        soon = now + timedelta(hours=24)
        rows = s.execute(select(NotifySubscription, Booking).join(Booking, Booking.id == NotifySubscription.booking_id)
                         .where(Booking.state == BOOKED, Booking.slot_at > now, Booking.slot_at <= soon)).all()
        for sub, b in rows:
            svc = self.q.services.get(b.service_code)
            name = (svc.short_name or svc.name) if svc else b.service_code
            local = b.slot_at.astimezone(self.q.tz)
            day = f"{WEEKDAY_NAMES[local.weekday()]} {local.day}/{local.month}"
            text = (f"{self._office()}: pengingat janji temu {name}, {day} pukul {local:%H.%M}. Kode {b.code}, "
                    f"tunjukkan di kiosk. Batal: BATAL {b.code}")
            if self.n.reminder_hour_before and b.slot_at - timedelta(hours=1) <= now \
                    and b.created_at < b.slot_at - timedelta(hours=1):
                self.notify(s, now, f"b{b.id}:hour", "reminder_hour", sub.phone, text)
            elif self.n.reminder_day_before and b.created_at < b.slot_at - timedelta(hours=24) \
                    and b.slot_at - timedelta(hours=1) > now:
                self.notify(s, now, f"b{b.id}:day", "reminder_day", sub.phone, text)

    def purge(self, s: "Session", now: datetime) -> None:
        """Phone numbers past their retention: wiped from the outbox, subscriptions deleted (a new-day hook,
        in the transaction that opens the day: ``QueueService.new_day_hooks``)."""
        today = self.q.clock_date(now)   # the day being opened (a doubtful clock opens none)
        cutoff = today - timedelta(days=self.n.retention_days)
        expired = s.execute(update(OutboxMessage).where(OutboxMessage.business_date < cutoff,
                                                        OutboxMessage.state == PENDING)
                            .values(state=FAILED, reason="expired", done_at=now)).rowcount
        wiped = s.execute(update(OutboxMessage).where(OutboxMessage.business_date < cutoff,
                                                      OutboxMessage.phone.is_not(None),
                                                      OutboxMessage.state.in_((SENT, FAILED, SKIPPED)))
                          .values(phone=None)).rowcount
        gone = s.execute(delete(NotifySubscription).where(NotifySubscription.business_date < cutoff)).rowcount
        if expired or wiped or gone:
            log.info("retention: %d message(s) given up, %d number(s) wiped from the outbox, %d subscription(s) "
                     "deleted", expired, wiped, gone)

    # ------------------------------------------------------------------ SMS self-service

    def sms_received(self, s: "Session", now: datetime, phone: str, text: str, message_key: str) -> Outcome:
        """One SMS from a resident: answered (through the outbox) in this transaction.

        ``message_key`` names the SMS (a hash of its spool file name): the request id is made from it too,
        so an SMS read twice (after a crash) is answered once."""
        reading = keywords.read(text)
        handler = {
            "ANTRE": self._kw_antre, "STATUS": self._kw_status, "SYARAT": self._kw_syarat, "JAM": self._kw_jam,
            "BATAL": self._kw_batal, "INFO": self._kw_info, "BANTUAN": self._kw_bantuan, "STOP": self._kw_stop,
            "MULAI": self._kw_mulai, "ADUAN": self._kw_aduan, "ASPIRASI": self._kw_aspirasi,
        }.get(reading.keyword or "", self._kw_question)
        answer = handler(s, now, phone, reading.argument)
        events: list = []
        if isinstance(answer, Outcome):   # ANTRE: a ticket (its message is the answer)
            events = answer.events
            result = {"keyword": reading.keyword, "ticket": answer.result["number"]}
        else:
            self.notify(s, now, f"in:{message_key}", "reply", phone, answer)
            result = {"keyword": reading.keyword}
        log.info("SMS from %s: %s", mask(phone), reading.keyword or "question")
        # Changed: a ticket may have been issued (the queue reloads its mirror after the commit).
        return Outcome(result, events, changed=bool(events))

    def _service_choices(self) -> dict[str, list[str]]:
        return {svc.code: [svc.code, svc.prefix, svc.name, svc.short_name or svc.name, svc.name_en]
                for svc in self.cfg.services if svc.active}

    def _services_list(self) -> str:
        return ", ".join(f"{(svc.short_name or svc.name)}" for svc in self.cfg.services if svc.active)

    def _kw_antre(self, s: "Session", now: datetime, phone: str, arg: str) -> "Outcome | str":
        code = keywords.best(arg, self._service_choices()) if arg else None
        if code is None:
            return f"Layanan apa? Ketik ANTRE lalu nama layanan, mis. ANTRE KTP. Layanan: {self._services_list()}."
        svc = self.q.service(code)
        try:
            outcome = self._inner_issue(s, now, service=code, channel="web", name=SMS_NAME, phone=phone)
        except CommandError as exc:
            text = REFUSALS.get(exc.code)
            if text is None:
                raise
            return text.format(service=svc.short_name or svc.name)
        t = s.scalars(select(Ticket).where(Ticket.business_date == self.q.business_date(now),
                                           Ticket.number == outcome.result["number"])).one()
        self._ticket_created(s, now, t, phone, outcome.result.get("ahead", 0),
                             outcome.result.get("estimated_wait_minutes", 0))
        return outcome

    def _find_ticket(self, s: "Session", now: datetime, arg: str) -> Ticket | None:
        raw = "".join(ch for ch in arg.upper() if ch.isalnum())
        if len(raw) < 2 or not raw[0].isalpha() or not raw[1:].isdigit():
            return None
        number = self.q.format_number(raw[0], int(raw[1:]))
        return s.scalars(select(Ticket).where(Ticket.business_date == self.q.business_date(now),
                                              Ticket.number == number)).first()

    def _kw_status(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        digits = "".join(ch for ch in arg if ch.isdigit())
        if digits and digits == "".join(ch for ch in arg if ch.isalnum()):
            b = s.scalars(select(Booking).where(Booking.code == digits, Booking.phone == phone)).first()
            if b is None:
                return "Kode janji tidak ditemukan untuk nomor HP ini. Periksa lagi kodenya."
            local = b.slot_at.astimezone(self.q.tz)
            states = {"booked": "aktif", "checked_in": "sudah check-in", "cancelled": "dibatalkan",
                      "expired": "kedaluwarsa"}
            return (f"Janji {b.code}: {local.day}/{local.month} pukul {local:%H.%M}, {states.get(b.state, b.state)}.")
        t = self._find_ticket(s, now, arg)
        if t is None:
            return "Nomor antrean tidak ditemukan hari ini. Ketik STATUS lalu nomor Anda, mis. STATUS A-012."
        if t.state == WAITING:
            ahead = self.web._ahead(s, t)
            svc = self.q.services.get(t.service_code)
            minutes = self.q.estimate(svc, ahead) if svc else 0
            return (f"Nomor {t.number}: menunggu, {ahead} orang di depan Anda"
                    + (f", sekitar {minutes} menit." if ahead and minutes else "."))
        if t.state == CALLED:
            c = self.q.counters.get(t.counter_id or "")
            return f"Nomor {t.number} sedang dipanggil ke {c.name if c else 'loket'}. Silakan segera ke sana."
        words = {"done": "sudah selesai dilayani", "no_show": "dilewati (tidak ada saat dipanggil)",
                 "expired": "sudah tidak berlaku"}
        return f"Nomor {t.number} {words.get(t.state, t.state)}."

    def _kw_syarat(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        code = keywords.best(arg, self._service_choices()) if arg else None
        if code is None and arg:
            answer = self.faq(f"syarat {arg}")   # "syarat akta kelahiran": a letter, not a queue service
            if answer:
                return answer
        if code is None:
            return f"Syarat layanan apa? Ketik SYARAT lalu nama layanan, mis. SYARAT KTP. Layanan: {self._services_list()}."
        svc = self.q.service(code)
        needs = ", ".join(svc.requirements) or "tidak ada syarat khusus"
        return f"Syarat {svc.short_name or svc.name}: {needs}."

    def _hours_text(self) -> str:
        hours = self.cfg.office.hours
        out, prev, start = [], None, None
        for i in range(7):
            h = hours.for_weekday(i)
            span = "tutup" if h is None else f"{h[0][0]:02d}.{h[0][1]:02d}-{h[1][0]:02d}.{h[1][1]:02d}"
            if span != prev:
                if prev is not None:
                    out.append((start, i - 1, prev))
                prev, start = span, i
        out.append((start, 6, prev))
        parts = []
        for a, b, span in out:
            days = WEEKDAY_NAMES[a] if a == b else f"{WEEKDAY_NAMES[a]}-{WEEKDAY_NAMES[b]}"
            parts.append(f"{days} {span}")
        return ", ".join(parts)

    def _kw_jam(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        state = "buka" if self.q.is_open(now) else "tutup"
        return f"Jam buka {self._office()}: {self._hours_text()}. Sekarang {state}."

    def _kw_batal(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        code = "".join(ch for ch in arg if ch.isdigit())
        if not code:
            return "Ketik BATAL lalu kode janji temu Anda, mis. BATAL 1234567."
        try:
            self.web.cancel_booking(s, now, code=code, phone=phone)
        except CommandError as exc:
            if exc.code == "booking_not_found":
                return "Kode janji tidak ditemukan untuk nomor HP ini. Periksa lagi kodenya."
            if exc.code == "already_checked_in":
                return f"Janji {code} sudah check-in, tidak bisa dibatalkan."
            return f"Janji {code} tidak bisa dibatalkan (sudah tidak aktif)."
        return f"Janji temu {code} sudah dibatalkan. Terima kasih."

    def _kw_info(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        return f"{self._office()}, {self.cfg.office.address}. Layanan: {self._services_list()}. Ketik BANTUAN."

    def _kw_bantuan(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        return fit("Ketik: ANTRE <layanan> ambil nomor, STATUS <nomor>, SYARAT <layanan>, JAM, BATAL <kode janji>, "
                   "ADUAN <isi>, INFO, STOP berhenti SMS. Atau tulis pertanyaan Anda.",
                   "Ketik: ANTRE <layanan>, STATUS <nomor>, SYARAT <layanan>, JAM, BATAL <kode>, ADUAN <isi laporan>, "
                   "INFO, STOP berhenti SMS. Atau tulis pertanyaan Anda.")

    def _kw_stop(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        key = phone_key(self.secret(s), phone)
        if s.get(SmsOptOut, key) is None:
            s.add(SmsOptOut(phone_key=key, created_at=now))
        s.execute(delete(NotifySubscription).where(NotifySubscription.phone == phone))
        s.execute(update(OutboxMessage).where(OutboxMessage.phone_key == key, OutboxMessage.state == PENDING,
                                              OutboxMessage.kind.not_in(REPLIES))
                  .values(state=SKIPPED, reason="opted_out", done_at=now))
        return "Anda tidak akan menerima SMS pemberitahuan lagi. Kirim MULAI untuk menerimanya kembali."

    def _kw_mulai(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        s.execute(delete(SmsOptOut).where(SmsOptOut.phone_key == phone_key(self.secret(s), phone)))
        return "SMS pemberitahuan aktif lagi untuk nomor antrean yang Anda ambil berikutnya."

    def _kw_aduan(self, s: "Session", now: datetime, phone: str, arg: str, category: str = "pengaduan") -> str:
        complaints = self.q.plugins.get("complaints")
        if complaints is None:
            return "Maaf, laporan belum bisa dikirim lewat SMS. Silakan datang ke kantor desa."
        return complaints.submit_sms(s, now, phone, arg, category)

    def _kw_aspirasi(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        return self._kw_aduan(s, now, phone, arg, "aspirasi")

    def _kw_question(self, s: "Session", now: datetime, phone: str, arg: str) -> str:
        answer = self.faq(arg) if arg else None
        if answer:
            return answer
        return "Maaf, kami belum paham. Ketik BANTUAN untuk daftar perintah, atau hubungi kantor desa."


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    """The notification commands and hooks for ``q`` (register after the appointments plug-in)."""
    rules = NotifyRules(q)
    q.outcome_hooks.append(rules.after_command)
    q.tick_hooks.append(rules.on_tick)
    q.new_day_hooks.append(rules.purge)
    q.plugins["notify"] = rules
    q.read_only.add("ask")
    if q.cfg.notify.faq:
        from antre.rules.faq import Assistant   # PySastrawi is loaded only for an office with a FAQ
        rules.faq = Assistant(q.cfg.notify.faq).answer
    return rules.handlers()


__all__ = ["handlers", "NotifyRules", "REFUSALS"]
