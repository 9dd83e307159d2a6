"""The queue: domain rules applied to the database, one command at a time.

:class:`QueueService` is the only code that changes tickets. It knows nothing of
MQTT: ``antre.server`` feeds it validated commands from a single writer thread,
and publishes what it returns. Every command runs in one transaction together
with its entry in the request log, so a command acknowledged to a client is on
disk, and a repeated ``request_id`` gets the stored reply without running again.

Rules (see docs/protocol.md for the wire format):

- A ticket number is the service prefix and a daily sequence (``A-012``). The
  sequence restarts each business day (office time zone) and never repeats
  within a day: a unique constraint guards it.
- ``waiting -> called -> done | no_show``; a transfer puts a called ticket back
  to ``waiting`` in another service, keeping its number and issue time. At the
  first command of a new day, yesterday's open tickets become ``expired``.
- ``call_next`` picks, across the counter's services, priority tickets first,
  then the oldest issue time. A counter already serving someone completes that
  ticket first ("next" means "done, and next").
- A command that fails changes nothing.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from . import PROTOCOL_VERSION
from .clock import SystemClock
from .config import Config, CounterConfig, ServiceConfig
from .errors import CommandError, Conflict, NotFound
from .models import (
    CALLED, DONE, EXPIRED, NO_SHOW, OPEN_STATES, WAITING, CounterState, Meta, Rating, RequestLog, Ticket,
    TicketEvent,
)

log = logging.getLogger(__name__)

REQUEST_LOG_DAYS = 7


@dataclass
class Outcome:
    """What one command produced: the reply's result, events to publish, and whether state changed."""

    result: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: bool = True
    replayed: bool = False


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


class QueueService:
    """Applies queue commands to the database. Not thread-safe: call from one thread."""

    def __init__(self, cfg: Config, sessions: sessionmaker, clock=None):
        self.cfg = cfg
        self.sessions = sessions
        self.clock = clock or SystemClock()
        self.tz = cfg.office.tz
        self._services = {s.code: s for s in cfg.services}
        self._counters = {c.id: c for c in cfg.counters}
        self._handlers: dict[str, Callable[..., Outcome]] = {
            "issue_ticket": self._issue_ticket,
            "call_next": self._call_next,
            "recall": self._recall,
            "skip": self._skip,
            "complete": self._complete,
            "transfer": self._transfer,
            "pause": self._pause,
            "resume": self._resume,
            "rate": self._rate,
        }

    # ------------------------------------------------------------------ entry points

    def execute(self, command: str, request_id: str, args: dict[str, Any]) -> Outcome:
        """Runs one validated command in one transaction. Raises CommandError when refused."""
        handler = self._handlers.get(command)
        if handler is None:
            raise CommandError("unknown_command", f"unknown command '{command}'")
        now = self.clock.now()
        with self.sessions() as s, s.begin():
            logged = s.get(RequestLog, request_id)
            if logged is not None:
                if logged.command != command:
                    raise Conflict("request_id_reused",
                                   f"request_id '{request_id}' was already used for '{logged.command}'")
                return Outcome(json.loads(logged.reply), changed=False, replayed=True)
            self._rollover(s, now)
            outcome = handler(s, now, **args)
            s.add(RequestLog(request_id=request_id, command=command,
                             reply=json.dumps(outcome.result, ensure_ascii=False), created_at=now))
            if outcome.changed:
                self._bump_seq(s)
        return outcome

    def tick(self) -> bool:
        """Periodic housekeeping (day rollover). True when the state changed."""
        now = self.clock.now()
        with self.sessions() as s, s.begin():
            changed = self._rollover(s, now)
            if changed:
                self._bump_seq(s)
        return changed

    # ------------------------------------------------------------------ time

    def business_date(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def day_start(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(timezone.utc)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        hours = self.cfg.office.hours.for_weekday(local.weekday())
        if hours is None:
            return False
        (oh, om), (ch, cm) = hours
        return (oh, om) <= (local.hour, local.minute) < (ch, cm)

    def _rollover(self, s: Session, now: datetime) -> bool:
        """Closes earlier days' open tickets as expired. Refuses a clock that went back a day."""
        today = self.business_date(now)
        meta = s.get(Meta, "business_date")
        if meta is not None:
            last = date.fromisoformat(meta.value)
            if today == last:
                return False
            if today < last:
                log.error("clock went backwards: today is %s by the clock, but the service already opened %s; "
                          "refusing commands until the clock is right (check the time source)", today, last)
                raise CommandError("clock_wrong",
                                   f"the clock says {today}, but business day {last} was already opened; "
                                   "set the correct time")
        stale = s.scalars(select(Ticket).where(Ticket.business_date < today, Ticket.state.in_(OPEN_STATES))).all()
        for t in stale:
            self._transition(s, t, now, "expired", EXPIRED, t.counter_id)
            t.finished_at = now
        s.execute(update(CounterState).values(current_ticket_id=None, updated_at=now))
        s.execute(RequestLog.__table__.delete().where(
            RequestLog.created_at < now - timedelta(days=REQUEST_LOG_DAYS)))
        if meta is None:
            s.add(Meta(key="business_date", value=today.isoformat()))
        else:
            meta.value = today.isoformat()
        if stale:
            log.info("new business day %s: %d open ticket(s) from earlier days closed as expired", today, len(stale))
        return True

    def _bump_seq(self, s: Session) -> None:
        meta = s.get(Meta, "state_seq")
        if meta is None:
            s.add(Meta(key="state_seq", value="1"))
        else:
            meta.value = str(int(meta.value) + 1)

    # ------------------------------------------------------------------ helpers

    def _service(self, code: str) -> ServiceConfig:
        svc = self._services.get(code)
        if svc is None:
            raise NotFound("unknown_service", f"unknown service '{code}' (services: {', '.join(self._services)})")
        return svc

    def _counter(self, counter_id: str) -> CounterConfig:
        c = self._counters.get(counter_id)
        if c is None:
            raise NotFound("unknown_counter", f"unknown counter '{counter_id}' (counters: {', '.join(self._counters)})")
        return c

    def _counter_state(self, s: Session, counter_id: str, now: datetime) -> CounterState:
        st = s.get(CounterState, counter_id)
        if st is None:
            st = CounterState(counter_id=counter_id, paused=0, current_ticket_id=None, updated_at=now)
            s.add(st)
        return st

    def _current(self, s: Session, st: CounterState) -> Ticket | None:
        if st.current_ticket_id is None:
            return None
        t = s.get(Ticket, st.current_ticket_id)
        return t if t is not None and t.state == CALLED else None

    def _transition(self, s: Session, t: Ticket, now: datetime, kind: str, to_state: str,
                    counter_id: str | None) -> None:
        s.add(TicketEvent(ticket_id=t.id, at=now, kind=kind, from_state=t.state, to_state=to_state,
                          counter_id=counter_id, service_code=t.service_code))
        t.state = to_state

    def format_number(self, prefix: str, seq: int) -> str:
        return f"{prefix}-{seq:0{self.cfg.queue.number_width}d}"

    def _ticket_dict(self, t: Ticket) -> dict[str, Any]:
        svc = self._services.get(t.service_code)
        return {
            "number": t.number,
            "service": t.service_code,
            "service_name": svc.name if svc else t.service_code,
            "priority": t.priority_kind,
            "channel": t.channel,
            "state": t.state,
            "issued_at": iso(t.issued_at),
            "business_date": t.business_date.isoformat(),
        }

    def _counter_dict(self, c: CounterConfig) -> dict[str, Any]:
        return {"id": c.id, "name": c.name, "number": self.counter_number(c)}

    @staticmethod
    def counter_number(c: CounterConfig) -> int | None:
        if c.number:
            return c.number
        digits = "".join(ch for ch in c.name if ch.isdigit())
        return int(digits) if digits else None

    def _waiting_query(self, today: date, services: list[str]):
        return (select(Ticket)
                .where(Ticket.business_date == today, Ticket.state == WAITING, Ticket.service_code.in_(services))
                .order_by(Ticket.priority.desc(), Ticket.issued_at, Ticket.id))

    def _service_minutes(self, s: Session, today: date, svc: ServiceConfig) -> float:
        """Mean call -> done time today for this service, or the configured default."""
        duration = func.avg(func.julianday(Ticket.finished_at) - func.julianday(Ticket.called_at)) \
            if s.bind.dialect.name == "sqlite" else \
            func.avg(func.extract("epoch", Ticket.finished_at - Ticket.called_at) / 86400.0)
        days = s.scalar(select(duration).where(Ticket.business_date == today, Ticket.state == DONE,
                                               Ticket.service_code == svc.code))
        if days is not None and days > 0:
            return float(days) * 24 * 60
        return svc.default_minutes or self.cfg.queue.default_service_minutes

    def _open_counters(self, s: Session, svc_code: str) -> int:
        paused = {cid for (cid,) in s.execute(select(CounterState.counter_id).where(CounterState.paused == 1))}
        return sum(1 for c in self.cfg.counters if svc_code in c.services and c.id not in paused)

    def _estimate(self, s: Session, today: date, svc: ServiceConfig, ahead: int) -> int:
        if ahead <= 0:
            return 0
        per = self._service_minutes(s, today, svc)
        return math.ceil(ahead * per / max(1, self._open_counters(s, svc.code)))

    # ------------------------------------------------------------------ commands

    def _issue_ticket(self, s: Session, now: datetime, service: str, priority: str | None = None,
                      channel: str = "kiosk") -> Outcome:
        svc = self._service(service)
        if not svc.active:
            raise Conflict("service_inactive", f"service '{svc.code}' is not active today")
        if self.cfg.queue.enforce_hours and not self.is_open(now):
            raise Conflict("office_closed", "the office is closed now; tickets are issued during opening hours")
        today = self.business_date(now)
        if svc.daily_quota:
            issued = s.scalar(select(func.count()).select_from(Ticket).where(
                Ticket.business_date == today, Ticket.issued_service_code == svc.code)) or 0
            if issued >= svc.daily_quota:
                raise Conflict("quota_reached", f"today's quota of {svc.daily_quota} tickets for "
                                                f"'{svc.name}' is reached")
        last = s.scalar(select(func.max(Ticket.seq)).where(Ticket.business_date == today,
                                                           Ticket.prefix == svc.prefix)) or 0
        seq = last + 1
        if seq >= 10 ** self.cfg.queue.number_width:
            raise Conflict("numbers_exhausted", f"no more {self.cfg.queue.number_width}-digit numbers today "
                                                f"for prefix {svc.prefix}")
        prio = 1 if priority else 0
        ahead = s.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.business_date == today, Ticket.state == WAITING, Ticket.service_code == svc.code,
            Ticket.priority >= prio)) or 0
        t = Ticket(business_date=today, prefix=svc.prefix, seq=seq, number=self.format_number(svc.prefix, seq),
                   service_code=svc.code, issued_service_code=svc.code, priority=prio, priority_kind=priority,
                   channel=channel, state=WAITING, issued_at=now, call_count=0, transfer_count=0)
        s.add(t)
        s.flush()
        s.add(TicketEvent(ticket_id=t.id, at=now, kind="issued", from_state=None, to_state=WAITING,
                          counter_id=None, service_code=svc.code))
        result = self._ticket_dict(t) | {"ahead": ahead, "estimated_wait_minutes": self._estimate(s, today, svc, ahead)}
        log.info("issued %s (%s%s, %s)", t.number, svc.code, f", {priority}" if priority else "", channel)
        return Outcome(result, [("ticket_issued", self._ticket_dict(t) | {"time": iso(now)})])

    def _finish(self, s: Session, now: datetime, t: Ticket, kind: str, to_state: str,
                c: CounterConfig) -> dict[str, Any]:
        self._transition(s, t, now, kind, to_state, c.id)
        t.finished_at = now
        return self._ticket_dict(t) | {"counter": self._counter_dict(c), "time": iso(now)}

    def _call_next(self, s: Session, now: datetime, counter: str) -> Outcome:
        c = self._counter(counter)
        st = self._counter_state(s, c.id, now)
        if st.paused:
            raise Conflict("counter_paused", f"{c.name} is paused (istirahat); resume it first")
        today = self.business_date(now)
        t = s.scalars(self._waiting_query(today, c.services).limit(1)).first()
        if t is None:
            raise Conflict("queue_empty", f"no one is waiting for {c.name}")
        events = []
        current = self._current(s, st)
        if current is not None:
            events.append(("ticket_completed", self._finish(s, now, current, "completed", DONE, c)))
            log.info("completed %s at %s", current.number, c.id)
        self._transition(s, t, now, "called", CALLED, c.id)
        t.counter_id = c.id
        t.called_at = now
        t.first_called_at = t.first_called_at or now
        t.call_count += 1
        st.current_ticket_id = t.id
        st.updated_at = now
        call = self._ticket_dict(t) | {"counter": self._counter_dict(c), "recall": False, "time": iso(now)}
        events.append(("ticket_called", call))
        log.info("called %s to %s", t.number, c.id)
        return Outcome(call, events)

    def _require_current(self, s: Session, c: CounterConfig, now: datetime, code: str, what: str):
        st = self._counter_state(s, c.id, now)
        t = self._current(s, st)
        if t is None:
            raise Conflict(code, f"{c.name} has no called ticket to {what}")
        return st, t

    def _recall(self, s: Session, now: datetime, counter: str) -> Outcome:
        c = self._counter(counter)
        st, t = self._require_current(s, c, now, "nothing_to_recall", "recall")
        s.add(TicketEvent(ticket_id=t.id, at=now, kind="recalled", from_state=CALLED, to_state=CALLED,
                          counter_id=c.id, service_code=t.service_code))
        t.call_count += 1
        call = self._ticket_dict(t) | {"counter": self._counter_dict(c), "recall": True, "time": iso(now)}
        log.info("recalled %s to %s", t.number, c.id)
        return Outcome(call, [("ticket_called", call)])

    def _end_current(self, s: Session, now: datetime, counter: str, code: str, what: str, kind: str,
                     to_state: str, event: str) -> Outcome:
        c = self._counter(counter)
        st, t = self._require_current(s, c, now, code, what)
        payload = self._finish(s, now, t, kind, to_state, c)
        st.current_ticket_id = None
        st.updated_at = now
        log.info("%s %s at %s", kind, t.number, c.id)
        return Outcome(payload, [(event, payload)])

    def _skip(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._end_current(s, now, counter, "nothing_to_skip", "skip", "skipped", NO_SHOW, "ticket_skipped")

    def _complete(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._end_current(s, now, counter, "nothing_to_complete", "complete", "completed", DONE,
                                 "ticket_completed")

    def _transfer(self, s: Session, now: datetime, counter: str, service: str) -> Outcome:
        c = self._counter(counter)
        target = self._service(service)
        if not target.active:
            raise Conflict("service_inactive", f"service '{target.code}' is not active today")
        st, t = self._require_current(s, c, now, "nothing_to_transfer", "transfer")
        if t.service_code == target.code:
            raise Conflict("same_service", f"{t.number} is already in service '{target.code}'")
        from_service = t.service_code
        s.add(TicketEvent(ticket_id=t.id, at=now, kind="transferred", from_state=CALLED, to_state=WAITING,
                          counter_id=c.id, service_code=target.code))
        t.state = WAITING
        t.service_code = target.code
        t.counter_id = None
        t.transfer_count += 1
        st.current_ticket_id = None
        st.updated_at = now
        payload = self._ticket_dict(t) | {"from_service": from_service, "counter": self._counter_dict(c),
                                          "time": iso(now)}
        log.info("transferred %s from %s to %s at %s", t.number, from_service, target.code, c.id)
        return Outcome(payload, [("ticket_transferred", payload)])

    def _set_paused(self, s: Session, now: datetime, counter: str, paused: bool) -> Outcome:
        c = self._counter(counter)
        st = self._counter_state(s, c.id, now)
        changed = bool(st.paused) != paused
        st.paused = int(paused)
        st.updated_at = now
        if changed:
            log.info("%s %s", c.id, "paused" if paused else "resumed")
        return Outcome(self._counter_dict(c) | {"paused": paused}, changed=changed)

    def _pause(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._set_paused(s, now, counter, True)

    def _resume(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._set_paused(s, now, counter, False)

    def _rate(self, s: Session, now: datetime, ticket: str, score: int, elements: list[int] | None = None,
              comment: str | None = None, date: str | None = None) -> Outcome:
        day = self.business_date(now) if date is None else _parse_date(date)
        t = s.scalars(select(Ticket).where(Ticket.business_date == day, Ticket.number == ticket)).first()
        if t is None:
            raise NotFound("ticket_not_found", f"no ticket {ticket} on {day.isoformat()}")
        if t.state != DONE:
            raise Conflict("not_served", f"{ticket} has not been served yet; it can be rated after service")
        if s.scalar(select(Rating.id).where(Rating.ticket_id == t.id)) is not None:
            raise Conflict("already_rated", f"{ticket} has already been rated; thank you")
        values = dict(zip([f"u{i}" for i in range(1, 10)], elements)) if elements else {}
        s.add(Rating(ticket_id=t.id, business_date=t.business_date, service_code=t.service_code,
                     counter_id=t.counter_id, score=score, comment=(comment or None), created_at=now, **values))
        payload = {"number": t.number, "service": t.service_code, "counter": t.counter_id, "score": score,
                   "elements": elements, "business_date": t.business_date.isoformat(), "time": iso(now)}
        log.info("rating %d for %s (%s)%s", score, t.number, t.counter_id, " with IKM survey" if elements else "")
        return Outcome(payload, [("rating_received", payload)])

    # ------------------------------------------------------------------ state snapshot

    def snapshot(self) -> dict[str, Any]:
        """The retained state: everything a display or kiosk needs to show the truth at once."""
        now = self.clock.now()
        today = self.business_date(now)
        with self.sessions() as s:
            seq_meta = s.get(Meta, "state_seq")
            waiting = dict(s.execute(
                select(Ticket.service_code, func.count()).where(Ticket.business_date == today,
                                                                Ticket.state == WAITING)
                .group_by(Ticket.service_code)).all())
            issued = dict(s.execute(
                select(Ticket.issued_service_code, func.count()).where(Ticket.business_date == today)
                .group_by(Ticket.issued_service_code)).all())
            last_seq = dict(s.execute(
                select(Ticket.prefix, func.max(Ticket.seq)).where(Ticket.business_date == today)
                .group_by(Ticket.prefix)).all())
            services = []
            for svc in self.cfg.services:
                n = waiting.get(svc.code, 0)
                services.append({
                    "code": svc.code, "name": svc.name, "name_en": svc.name_en, "prefix": svc.prefix,
                    "active": svc.active, "requirements": list(svc.requirements),
                    "waiting": n,
                    "last_issued": self.format_number(svc.prefix, last_seq[svc.prefix]) if svc.prefix in last_seq else None,
                    "issued_today": issued.get(svc.code, 0),
                    "quota": svc.daily_quota,
                    "quota_reached": bool(svc.daily_quota) and issued.get(svc.code, 0) >= svc.daily_quota,
                    "estimated_wait_minutes": self._estimate(s, today, svc, n),
                })
            states = {st.counter_id: st for st in s.scalars(select(CounterState))}
            counters = []
            for c in self.cfg.counters:
                st = states.get(c.id)
                cur = self._current(s, st) if st is not None else None
                counters.append(self._counter_dict(c) | {
                    "services": list(c.services),
                    "status": "paused" if st is not None and st.paused else ("serving" if cur else "idle"),
                    "serving": None if cur is None else {
                        "number": cur.number, "service": cur.service_code, "called_at": iso(cur.called_at)},
                })
            start = self.day_start(today)
            calls = s.execute(
                select(TicketEvent, Ticket).join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(TicketEvent.at >= start, TicketEvent.kind.in_(("called", "recalled")))
                # (at, id) order lets SQLite walk ix_event_at from today backwards; ordering by id alone
                # made it scan the whole event history whenever today had fewer calls than the limit.
                .order_by(TicketEvent.at.desc(), TicketEvent.id.desc()).limit(self.cfg.queue.recent_calls)).all()
            last_calls = []
            for ev, t in calls:
                c = self._counters.get(ev.counter_id or "")
                last_calls.append({"number": t.number, "service": ev.service_code,
                                   "counter": ev.counter_id, "counter_name": c.name if c else ev.counter_id,
                                   "recall": ev.kind == "recalled", "at": iso(ev.at)})
            window = now - timedelta(minutes=self.cfg.queue.rating_window_minutes)
            done = s.execute(
                select(Ticket.number, Ticket.service_code, Ticket.counter_id, Ticket.finished_at)
                .outerjoin(Rating, Rating.ticket_id == Ticket.id)
                .where(Ticket.business_date == today, Ticket.state == DONE, Ticket.finished_at >= window,
                       Rating.id.is_(None))
                .order_by(Ticket.finished_at.desc()).limit(30)).all()
            hours = self.cfg.office.hours.for_weekday(now.astimezone(self.tz).weekday())
        return {
            "protocol": PROTOCOL_VERSION,
            "seq": int(seq_meta.value) if seq_meta else 0,
            "time": iso(now),
            "office": {"id": self.cfg.office.id, "name": self.cfg.office.name, "address": self.cfg.office.address,
                       "timezone": self.cfg.office.timezone},
            "business_date": today.isoformat(),
            "open": self.is_open(now) or not self.cfg.queue.enforce_hours,
            "hours_today": None if hours is None else "{:02d}:{:02d}-{:02d}:{:02d}".format(*hours[0], *hours[1]),
            "services": services,
            "counters": counters,
            "last_calls": last_calls,
            "rateable": [{"number": n, "service": sc, "counter": cid, "completed_at": iso(at)}
                         for n, sc, cid, at in done],
        }


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError("invalid_argument", f"'date' must be YYYY-MM-DD, not {value!r}") from None


__all__ = ["QueueService", "Outcome", "iso"]
