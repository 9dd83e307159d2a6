"""The queue: domain rules applied to the database, one command at a time.

:class:`QueueService` is the only code that changes tickets. It knows nothing of
MQTT: ``antre.service.server`` feeds it validated commands from a single writer thread,
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

Speed: the database is the truth, and today's queue is mirrored in memory
(:class:`Today`), loaded from the database at start and at each new business
day. Commands decide from the mirror, write with a few SQL statements, and
update the mirror only after the commit succeeded; any doubt (an unexpected
error, a handler from another module) reloads it. So the retained state is
built without a query, and the cost of a command does not grow with history.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from antre import PROTOCOL_VERSION
from antre.clock import SystemClock
from antre import opening
from antre.config import Config, CounterConfig, ServiceConfig
from antre.errors import BadRequest, CommandError, Conflict, NotFound
from antre.rules.outcome import Outcome
from antre.rules import rating_code as rating_codes
from antre.rules.ticket_view import estimate_minutes
from antre.wording import say_when
from antre.storage.models import (
    CALLED, DONE, EXPIRED, NO_SHOW, OPEN_STATES, WAITING, CounterState, Meta, Rating, RequestLog, Ticket,
    TicketEvent,
)

log = logging.getLogger(__name__)

# Writes go through the tables (SQLAlchemy Core), not the ORM: a third of the cost per command.
TICKETS, EVENTS, COUNTERS = Ticket.__table__, TicketEvent.__table__, CounterState.__table__
REQUESTS, META, RATINGS = RequestLog.__table__, Meta.__table__, Rating.__table__

REQUEST_LOG_DAYS = 7
RATEABLE_LIMIT = 30


class _Refused(Exception):
    """Rolls back a transaction whose only command refused after writing."""


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


@dataclass(frozen=True)
class TicketRow:
    """A ticket of today, as mirrored in memory (immutable: changes make a new row)."""

    id: int
    number: str
    prefix: str
    seq: int
    service: str
    issued_service: str
    priority: int
    priority_kind: str | None
    channel: str
    state: str
    counter: str | None
    issued_at: datetime
    called_at: datetime | None
    first_called_at: datetime | None
    finished_at: datetime | None
    call_count: int
    business_date: date

    @classmethod
    def of(cls, t: Ticket) -> "TicketRow":
        return cls(t.id, t.number, t.prefix, t.seq, t.service_code, t.issued_service_code, t.priority,
                   t.priority_kind, t.channel, t.state, t.counter_id, t.issued_at, t.called_at, t.first_called_at,
                   t.finished_at, t.call_count, t.business_date)

    @property
    def order(self) -> tuple:
        return (-self.priority, self.issued_at, self.id)


@dataclass
class Today:
    """Today's queue in memory: the mirror that commands decide from and the state is built from."""

    day: date
    seq: int = 0
    waiting: dict[str, list[TicketRow]] = field(default_factory=dict)      # service -> in calling order
    current: dict[str, TicketRow] = field(default_factory=dict)            # counter -> called ticket
    paused: set[str] = field(default_factory=set)
    counter_rows: set[str] = field(default_factory=set)                   # counters with a database row
    issued: dict[str, int] = field(default_factory=dict)                   # service -> tickets issued today
    last_seq: dict[str, int] = field(default_factory=dict)                 # prefix -> last number today
    served: dict[str, tuple[float, int]] = field(default_factory=dict)     # service -> (minutes, tickets)
    calls: deque = field(default_factory=lambda: deque(maxlen=10))         # newest first
    rateable: dict[str, dict[str, Any]] = field(default_factory=dict)      # number -> entry, oldest first
    no_shows: set[str] = field(default_factory=set)                        # numbers now marked no-show
    runs: dict[str, list[list]] = field(default_factory=dict)              # service -> its queue as runs
    undoable: bool = False                                                 # the day change into it can be undone

    def add_waiting(self, t: TicketRow) -> None:
        self.no_shows.discard(t.number)   # e.g. a no-show brought back into the queue
        bisect.insort(self.waiting.setdefault(t.service, []), t, key=lambda r: r.order)
        self.runs.pop(t.service, None)

    def remove_waiting(self, t: TicketRow) -> None:
        self.waiting[t.service] = [r for r in self.waiting.get(t.service, []) if r.id != t.id]
        self.runs.pop(t.service, None)

    def queue_runs(self, service: str) -> list[list]:
        """The service's waiting numbers in calling order as runs ``[first, count]`` (the state's
        ``queue``); kept until that queue changes."""
        runs = self.runs.get(service)
        if runs is None:
            runs = []
            prefix, seq = None, -1
            for r in self.waiting.get(service, ()):
                if r.prefix == prefix and r.seq == seq + 1:
                    runs[-1][1] += 1
                else:
                    runs.append([r.number, 1])
                prefix, seq = r.prefix, r.seq
            self.runs[service] = runs
        return runs

    def add_served(self, t: TicketRow) -> None:
        if t.called_at and t.finished_at:
            minutes, n = self.served.get(t.service, (0.0, 0))
            self.served[t.service] = (minutes + (t.finished_at - t.called_at).total_seconds() / 60, n + 1)


class QueueService:
    """Applies queue commands to the database. Not thread-safe: call from one thread.

    Handlers take ``(session, now, **args)`` and return an :class:`Outcome`. Handlers added by other
    modules (``self.handlers[name] = fn``) may change the database as they like: when their outcome has
    no ``after``, the mirror is reloaded after their commit. To issue a ticket they call :meth:`issue`.
    """

    def __init__(self, cfg: Config, sessions: sessionmaker, clock=None, plugins: tuple = ()):
        self.cfg = cfg
        self.sessions = sessions
        self.clock = clock or SystemClock()
        self.tz = cfg.office.tz
        self.services = {s.code: s for s in cfg.services}
        self.counters = {c.id: c for c in cfg.counters}
        self.today: Today | None = None
        self._open_seen: bool | None = None   # is_open at the last tick
        #: A reason to doubt the clock (``ClockWatch.doubt``), or None; and the devices' clock, if it differs.
        self.clock_doubt: Callable[[], str | None] = lambda: None
        self.clock_device_time: Callable[[], float | None] = lambda: None
        #: Set while the business day is held against the clock: the staff warning, in Indonesian.
        self.clock_warning: str | None = None
        self._behind: date | None = None
        #: The disk under the database (``antre.storage.StorageWatch``): failures it explains get their own
        #: error code (``storage_full``, ``storage_read_only``) and one more try after it recovered.
        self.storage = None
        #: Commands that only read (answered without a request log entry).
        self.read_only: set[str] = set()
        #: ``fn(session, now)`` run in the transaction that opens each new business day.
        self.new_day_hooks: list[Callable[[Session, datetime], None]] = []
        #: ``fn(session, now, command, outcome)`` run in each applied command's transaction, after its handler
        #: (not for a replayed or read-only one): what follows from its events, written with it (notifications).
        self.outcome_hooks: list[Callable[[Session, datetime, str, Outcome], None]] = []
        #: ``fn(session, now)`` run at each :meth:`tick`, each in a transaction of its own (reminders).
        self.tick_hooks: list[Callable[[Session, datetime], None]] = []
        #: The plug-ins' rule objects by name, for the service's other parts (``plugins["notify"]``).
        self.plugins: dict[str, Any] = {}
        self.handlers: dict[str, Callable[..., Outcome]] = {
            "issue_ticket": self._issue_ticket,
            "call_next": self._call_next,
            "recall": self._recall,
            "skip": self._skip,
            "complete": self._complete,
            "transfer": self._transfer,
            "pause": self._pause,
            "resume": self._resume,
            "rate": self._rate,
            "bring_back": self._bring_back,
            "call_number": self._call_number,
        }
        for plugin in plugins:
            self.register(plugin)

    def register(self, plugin: Callable[["QueueService"], dict[str, Callable[..., Outcome]]]) -> None:
        """Adds a plug-in's commands: ``plugin(queue)`` returns its handlers (it may also add
        :attr:`read_only` commands and :attr:`new_day_hooks`). The service registers
        :func:`antre.rules.appointments.handlers` (the web's commands)."""
        self.handlers.update(plugin(self))

    # ------------------------------------------------------------------ entry points

    def execute(self, command: str, request_id: str, args: dict[str, Any]) -> Outcome:
        """Runs one validated command in one transaction. Raises CommandError when refused."""
        result = self.execute_many([(command, request_id, args)])[0]
        if isinstance(result, CommandError):
            raise result
        return result

    def execute_many(self, commands: list[tuple[str, str, dict[str, Any]]]) -> list[Outcome | CommandError]:
        """Runs commands in order, in one transaction: one disk flush for a burst (group commit).

        Each command still succeeds or fails alone: the handlers here refuse (CommandError) before
        they write anything, and the mirror is updated command by command so each sees the ones
        before it. A handler from another module runs in a transaction of its own. Nothing may be
        acknowledged before this returns. When a shared transaction fails unexpectedly (a bug, a
        database error), the mirror is reloaded and its commands run again one per transaction, so
        only the command that fails by itself is answered ``internal_error``.
        """
        results: list[Outcome | CommandError] = []
        i, retried = 0, False
        alone_until = 0   # after a failed shared transaction, its commands are retried one by one
        while i < len(commands):
            now = self.clock.now()
            try:
                self._open_day(now)
            except CommandError as exc:
                results.extend(exc for _ in commands[i:])
                break
            except Exception as exc:
                trouble = self.storage.trouble(exc) if self.storage is not None else None
                if trouble is None:
                    raise
                if not retried and self.storage.recover(trouble):
                    retried = True
                    continue
                log.error("cannot open the business day: %s (%s)", trouble, exc)
                results.extend(CommandError(trouble, f"the service's storage is in trouble ({trouble})")
                               for _ in commands[i:])
                break
            start, reload = i, False
            try:
                with self.sessions() as s, s.begin():
                    while i < len(commands):
                        command, request_id, args = commands[i]
                        handler = self.handlers.get(command)
                        solo = (handler is not None and not self._batch_safe(handler)) or i < alone_until
                        if solo and i > start:
                            break   # runs alone, in the next transaction
                        i += 1
                        result = self._apply(s, now, handler, command, request_id, args)
                        results.append(result)
                        if solo and isinstance(result, CommandError):
                            raise _Refused()   # it may have written before refusing: roll that back
                        if isinstance(result, Outcome) and result.changed and result.after is None:
                            reload = True   # it wrote what it liked: read the mirror back after the commit
                            break
                        if solo:
                            break
            except _Refused:
                continue
            except Exception as exc:
                # This transaction is lost; the ones before it are committed and keep their outcomes.
                self.today = None  # the mirror may hold what was rolled back: reload it
                del results[start:]
                trouble = self.storage.trouble(exc) if self.storage is not None else None
                if trouble and not retried and self.storage.recover(trouble):
                    retried = True   # e.g. the reserve was given back: once more, from this transaction
                    log.warning("storage trouble (%s: %s); trying again", trouble, exc)
                    i = start
                    continue
                if trouble:
                    # Not one command's fault: none of the rest can be written either.
                    log.error("could not apply %d command(s), none of them was applied: %s (%s)",
                              len(commands) - start, trouble, exc)
                    message = {"storage_full": "the service's disk is full",
                               "storage_read_only": "the service's database cannot be written (read-only)"}[trouble]
                    results.extend(CommandError(trouble, message) for _ in commands[start:])
                    break
                failed = i - start   # i already counts the command that raised
                if failed > 1:
                    # One command must not cost the others theirs: run each of them alone again.
                    log.warning("a group of %d commands failed; applying them one by one", failed)
                    alone_until, i = start + failed, start
                    continue
                log.exception("could not apply %s %s; it was not applied", *commands[start][:2])
                results.append(CommandError("internal_error", "the service could not apply this command"))
                i = start + 1
                continue
            if reload:
                self._load(now)
        return results

    def _batch_safe(self, handler) -> bool:
        """Handlers that refuse before they write can share a transaction: ours, and those marked so
        (``fn.batch_safe = True``). Any other runs in a transaction of its own."""
        return getattr(handler, "__self__", None) is self or getattr(handler, "batch_safe", False)

    def _apply(self, s: Session, now: datetime, handler, command: str, request_id: str,
               args: dict[str, Any]) -> Outcome | CommandError:
        if handler is None:
            return CommandError("unknown_command", f"unknown command '{command}'")
        logged = s.execute(select(REQUESTS.c.command, REQUESTS.c.reply)
                           .where(REQUESTS.c.request_id == request_id)).first()
        if logged is not None:
            if logged.command != command:
                return Conflict("request_id_reused", f"request_id '{request_id}' was already used for "
                                                     f"'{logged.command}'")
            return Outcome(json.loads(logged.reply), changed=False, replayed=True)
        try:
            outcome = handler(s, now, **args)
        except CommandError as exc:
            return exc
        if command in self.read_only:
            return outcome   # a question, not an action: nothing to make idempotent, nothing to write
        for hook in self.outcome_hooks:
            hook(s, now, command, outcome)
        s.execute(insert(REQUESTS).values(request_id=request_id, command=command, created_at=now,
                                          reply=json.dumps(outcome.result, ensure_ascii=False)))
        if outcome.changed:
            s.execute(update(META).where(META.c.key == "state_seq").values(value=str(self.today.seq + 1)))
            self.today.seq += 1
            if outcome.after is not None:
                outcome.after()
        return outcome

    @property
    def seq(self) -> int | None:
        """The state's sequence number as the mirror knows it (None before the first load)."""
        return self.today.seq if self.today else None

    def tick(self) -> bool:
        """Periodic housekeeping (opens a new business day). True when the state changed."""
        before = (self.today.day, self.today.seq) if self.today else None
        now = self.clock.now()
        self._open_day(now)
        for hook in self.tick_hooks:
            try:
                with self.sessions() as s, s.begin():
                    hook(s, now)
            except Exception:  # noqa: BLE001 - periodic work of a plug-in never stops the queue
                log.exception("periodic work %s failed; tried again at the next tick", getattr(hook, "__qualname__", hook))
        # The office opening or closing changes the state's `open` and `next_open` without a command.
        open_now = self.is_open(now)
        flipped = self._open_seen is not None and open_now != self._open_seen
        self._open_seen = open_now
        return flipped or (before is not None and (self.today.day, self.today.seq) != before)

    # ------------------------------------------------------------------ time

    def clock_date(self, now: datetime) -> date:
        """The date by the clock, in the office time zone."""
        return now.astimezone(self.tz).date()

    def business_date(self, now: datetime) -> date:
        """The business day in effect: the clock's date, unless a doubtful clock holds the open day."""
        if self.today is not None and self.clock_warning is not None:
            return self.today.day
        return self.clock_date(now)

    def recorded_time(self, now: datetime) -> datetime:
        """The time to write down for what happens now (a letter's or a complaint's created_at/updated_at):
        the clock's, unless a doubtful clock holds the business day (:attr:`clock_warning`). Then the devices'
        clock when it falls on the held day; else the clock's time of day on the held day (kept within it),
        so a record agrees with its due dates, which count from the held day."""
        live = self.today
        if live is None or self.clock_warning is None:
            return now
        start, end = self.day_start(live.day), self.day_start(live.day + timedelta(days=1))
        device = self.clock_device_time()
        if device is not None:
            seen = datetime.fromtimestamp(device, timezone.utc)
            if start <= seen < end:
                return seen
        moved = now - timedelta(days=(self.clock_date(now) - live.day).days)
        return min(max(moved, start), end - timedelta(microseconds=1))

    def with_recorded_time(self, handler: Callable[..., Outcome]) -> Callable[..., Outcome]:
        """``handler`` given :meth:`recorded_time` as its ``now`` (for the plug-ins whose records outlive the
        day: letters, complaints)."""
        def recorded(s: Session, now: datetime, **args: Any) -> Outcome:
            return handler(s, self.recorded_time(now), **args)
        recorded.batch_safe = getattr(handler, "batch_safe", False)
        recorded.__wrapped__ = handler
        return recorded

    def day_start(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz).astimezone(timezone.utc)

    def is_open(self, now: datetime) -> bool:
        """Within today's opening hours, and today is no holiday (``antre.opening``)."""
        return opening.is_open(self.cfg.office, now)

    def _open_day(self, now: datetime) -> None:
        """Makes sure the mirror holds the business day; at a new day, closes earlier open tickets as expired.

        The clock is not believed blindly (docs/reliability.md, "Clock"):

        - a new day is not started while ``clock_doubt()`` gives a reason (the clock jumped, or the
          devices' clocks disagree): the open day is *held*, commands go on, and ``clock_warning`` says so;
        - a clock behind the open day never closes the office: the open day is held as well;
        - the last day change is recorded (``meta.last_rollover``) and undone when the clock turns out to
          have been wrong before anything happened on the new day: the expired tickets are open again.
        """
        clock_day = self.clock_date(now)
        live = self.today
        if live is not None:
            if live.day == clock_day:
                if not (live.undoable and self.clock_doubt()):
                    self.clock_warning = None
                    return
            elif clock_day > live.day and (why := self.clock_doubt()):
                self._hold(now, live.day, why)
                return
            elif clock_day < live.day and self.clock_warning is not None and self._behind == clock_day:
                return
        with self.sessions() as s, s.begin():
            meta = s.get(Meta, "business_date")
            last = date.fromisoformat(meta.value) if meta is not None else None
            doubt = self.clock_doubt()
            if last is not None and (clock_day < last or (clock_day == last and doubt)):
                last = self._undo_rollover(s, now, clock_day, last, meta, doubt)
            if last is None or (clock_day > last and not doubt):
                self._rollover(s, now, clock_day, meta)
                day, warning = clock_day, None
            elif clock_day > last:
                day, warning = last, doubt
            elif clock_day < last:
                day, warning = last, f"the clock says {clock_day}, before the open business day {last}"
            else:
                day, warning = last, None
            if s.get(Meta, "state_seq") is None:
                s.add(Meta(key="state_seq", value="0"))
        self._load(now, day)
        if warning:
            self._hold(now, day, warning)
        else:
            self.clock_warning = None

    def _hold(self, now: datetime, day: date, why: str) -> None:
        """Keeps ``day`` open although the clock says otherwise; sets the staff warning (Indonesian)."""
        clock_day = self.clock_date(now)
        self._behind = clock_day if clock_day < day else None
        if clock_day < day:
            text = (f"Jam Pi salah: jam menunjukkan {say_when(now, self.tz)}, padahal hari kerja "
                    f"{day.isoformat()} sudah dibuka. Antrean tetap berjalan sebagai hari {day.isoformat()}; "
                    "setel jam Pi.")
        else:
            text = (f"Jam Pi salah: jam menunjukkan {say_when(now, self.tz)}")
            device = self.clock_device_time()
            if device is not None:
                text += f", jam perangkat lain {say_when(datetime.fromtimestamp(device, timezone.utc), self.tz)}"
            text += (f". Pergantian hari ditunda: antrean tetap berjalan sebagai hari {day.isoformat()} "
                     "sampai jam benar.")
        if text != self.clock_warning:
            log.error("clock doubtful (%s): keeping business day %s open; %s", why, day, text)
        self.clock_warning = text

    def _undo_rollover(self, s: Session, now: datetime, clock_day: date, last: date, meta: Meta,
                       doubt: str | None) -> date:
        """Undoes the last day change when it was made on a wrong clock and nothing happened since.

        Returns the business day now open (``last`` when nothing was undone)."""
        rec = s.get(Meta, "last_rollover")
        if rec is None:
            return last
        r = json.loads(rec.value)
        before = date.fromisoformat(r["from"])
        if r["to"] != last.isoformat() or not before <= clock_day <= last or (clock_day == last and not doubt):
            return last
        if s.scalar(select(Ticket.id).where(Ticket.business_date == last).limit(1)) is not None:
            return last   # tickets of the new day exist: keep it (the held day goes on until the clock is right)
        at = datetime.fromisoformat(r["at"])
        restored = 0
        for tid, state, finished_at in r["tickets"]:
            t = s.get(Ticket, tid)
            if t is None or t.state != EXPIRED:
                continue
            s.execute(delete(EVENTS).where(EVENTS.c.ticket_id == tid, EVENTS.c.kind == "expired"))
            t.state = state
            t.finished_at = datetime.fromisoformat(finished_at) if finished_at else None
            restored += 1
        for cid, current, paused in r["counters"]:
            s.execute(update(COUNTERS).where(COUNTERS.c.counter_id == cid)
                      .values(current_ticket_id=current, paused=paused, updated_at=now))
        meta.value = before.isoformat()
        s.delete(rec)
        seq = s.get(Meta, "state_seq")
        if seq is not None:
            seq.value = str(int(seq.value) + 1)
        log.warning("the change to business day %s (made at %s) was undone: the clock was wrong; %d ticket(s) "
                    "open again, business day %s open", last, at.isoformat(), restored, before)
        return before

    def _rollover(self, s: Session, now: datetime, today: date, meta: Meta | None) -> None:
        stale = s.scalars(select(Ticket).where(Ticket.business_date < today, Ticket.state.in_(OPEN_STATES))).all()
        # What is needed to undo this day change if the clock turns out to have been wrong.
        record = {"from": meta.value if meta is not None else None, "to": today.isoformat(), "at": now.isoformat(),
                  "tickets": [[t.id, t.state, None] for t in stale],
                  "counters": [[c.counter_id, c.current_ticket_id, c.paused] for c in s.scalars(select(CounterState))]}
        for t in stale:
            s.add(TicketEvent(ticket_id=t.id, at=now, kind="expired", from_state=t.state, to_state=EXPIRED,
                              counter_id=t.counter_id, service_code=t.service_code))
            t.state = EXPIRED
            t.finished_at = now
        # A new day starts with every counter open (a break does not carry over to the next morning).
        s.execute(update(CounterState).values(current_ticket_id=None, paused=0, updated_at=now))
        s.execute(delete(RequestLog).where(RequestLog.created_at < now - timedelta(days=REQUEST_LOG_DAYS)))
        if meta is None:
            s.add(Meta(key="business_date", value=today.isoformat()))
        else:
            meta.value = today.isoformat()
        rec = s.get(Meta, "last_rollover")
        if meta is None:
            if rec is not None:
                s.delete(rec)
        elif rec is None:
            s.add(Meta(key="last_rollover", value=json.dumps(record)))
        else:
            rec.value = json.dumps(record)
        seq = s.get(Meta, "state_seq")
        if seq is not None:
            seq.value = str(int(seq.value) + 1)
        for hook in self.new_day_hooks:
            hook(s, now)
        if stale:
            log.info("new business day %s: %d open ticket(s) from earlier days closed as expired", today, len(stale))

    def _load(self, now: datetime, day: date | None = None) -> None:
        """Builds the mirror of the business day (default: the one the mirror holds, else the clock's)."""
        today = day or (self.today.day if self.today is not None else self.clock_date(now))
        live = Today(day=today, calls=deque(maxlen=self.cfg.queue.recent_calls))
        with self.sessions() as s:
            rollover = s.scalar(select(Meta.value).where(Meta.key == "last_rollover"))
            live.seq = int(s.scalar(select(Meta.value).where(Meta.key == "state_seq")) or 0)
            rated = set(s.scalars(select(Rating.ticket_id).where(Rating.business_date == today)))
            rows = [TicketRow.of(t) for t in s.scalars(
                select(Ticket).where(Ticket.business_date == today).order_by(Ticket.id))]
            by_id = {r.id: r for r in rows}
            for st in s.scalars(select(CounterState)):
                live.counter_rows.add(st.counter_id)
                if st.paused:
                    live.paused.add(st.counter_id)
                cur = by_id.get(st.current_ticket_id) if st.current_ticket_id else None
                if cur is not None and cur.state == CALLED:
                    live.current[st.counter_id] = cur
            calls = s.execute(
                select(TicketEvent.kind, TicketEvent.at, TicketEvent.counter_id, TicketEvent.service_code,
                       Ticket.number)
                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(TicketEvent.at >= self.day_start(today), TicketEvent.kind.in_(("called", "recalled")))
                .order_by(TicketEvent.at.desc(), TicketEvent.id.desc()).limit(self.cfg.queue.recent_calls)).all()
        for r in rows:
            live.issued[r.issued_service] = live.issued.get(r.issued_service, 0) + 1
            live.last_seq[r.prefix] = max(live.last_seq.get(r.prefix, 0), r.seq)
            if r.state == WAITING:
                live.add_waiting(r)
            elif r.state == NO_SHOW:
                live.no_shows.add(r.number)
            elif r.state == DONE:
                live.add_served(r)
                if r.id not in rated:
                    live.rateable[r.number] = self._rateable_entry(r)
        live.rateable = dict(sorted(live.rateable.items(), key=lambda kv: kv[1]["completed_at"]))
        for kind, at, counter_id, service, number in calls:
            live.calls.append(self._call_entry(number, service, counter_id, kind == "recalled", at))
        # The day change into this day can still be undone while nothing happened on it.
        live.undoable = not rows and rollover is not None and json.loads(rollover).get("to") == today.isoformat()
        self.today = live

    # ------------------------------------------------------------------ helpers

    def service(self, code: str) -> ServiceConfig:
        svc = self.services.get(code)
        if svc is None:
            raise NotFound("unknown_service", f"unknown service '{code}' (services: {', '.join(self.services)})")
        return svc

    def _counter(self, counter_id: str) -> CounterConfig:
        c = self.counters.get(counter_id)
        if c is None:
            raise NotFound("unknown_counter", f"unknown counter '{counter_id}' (counters: {', '.join(self.counters)})")
        return c

    def format_number(self, prefix: str, seq: int) -> str:
        return f"{prefix}-{seq:0{self.cfg.queue.number_width}d}"

    @staticmethod
    def counter_number(c: CounterConfig) -> int | None:
        if c.number:
            return c.number
        digits = "".join(ch for ch in c.name if ch.isdigit())
        return int(digits) if digits else None

    def _ticket_dict(self, t: TicketRow) -> dict[str, Any]:
        svc = self.services.get(t.service)
        return {
            "number": t.number,
            "service": t.service,
            "service_name": svc.name if svc else t.service,
            "priority": t.priority_kind,
            "channel": t.channel,
            "state": t.state,
            "issued_at": iso(t.issued_at),
            "business_date": t.business_date.isoformat(),
        }

    def counter_dict(self, c: CounterConfig) -> dict[str, Any]:
        return {"id": c.id, "name": c.name, "number": self.counter_number(c)}

    def _call_entry(self, number: str, service: str, counter_id: str | None, recall: bool,
                    at: datetime) -> dict[str, Any]:
        c = self.counters.get(counter_id or "")
        return {"number": number, "service": service, "counter": counter_id,
                "counter_name": c.name if c else counter_id, "recall": recall, "at": iso(at)}

    @staticmethod
    def _rateable_entry(t: TicketRow) -> dict[str, Any]:
        return {"number": t.number, "service": t.service, "counter": t.counter, "completed_at": iso(t.finished_at),
                "_at": t.finished_at}

    def _pace(self, svc: ServiceConfig) -> tuple[float, int]:
        """(minutes one resident takes, counters open for the service): today's mean, or the configured one."""
        minutes, n = self.today.served.get(svc.code, (0.0, 0))
        per = minutes / n if n and minutes > 0 else (svc.default_minutes or self.cfg.queue.default_service_minutes)
        open_counters = sum(1 for c in self.cfg.counters if svc.code in c.services and c.id not in self.today.paused)
        return per, open_counters

    def estimate(self, svc: ServiceConfig, ahead: int) -> int:
        """Minutes until ``ahead`` people are served: today's mean service time over the open counters."""
        if ahead <= 0:
            return 0
        per, open_counters = self._pace(svc)
        return estimate_minutes(ahead, per, open_counters)

    def _event(self, s: Session, t: TicketRow, now: datetime, kind: str, to_state: str,
               counter_id: str | None, service: str | None = None) -> None:
        s.execute(insert(EVENTS).values(ticket_id=t.id, at=now, kind=kind, from_state=t.state, to_state=to_state,
                                             counter_id=counter_id, service_code=service or t.service))

    def _set_counter(self, s: Session, counter_id: str, now: datetime, **values: Any) -> None:
        if counter_id in self.today.counter_rows:
            s.execute(update(COUNTERS).where(COUNTERS.c.counter_id == counter_id)
                      .values(updated_at=now, **values))
        else:
            s.execute(insert(COUNTERS).values(
                counter_id=counter_id, updated_at=now,
                **({"paused": 0, "current_ticket_id": None} | values)))

    # ------------------------------------------------------------------ commands

    def issue(self, s: Session, now: datetime, service: str, priority: str | None = None, channel: str = "kiosk",
              *, issued_at: datetime | None = None, check_hours: bool = True) -> Outcome:
        """Issues a ticket (for ``issue_ticket`` and for other modules' handlers, e.g. check-in).

        ``issued_at`` places the ticket in the queue as if issued then (an appointment's slot time).
        """
        svc = self.service(service)
        live = self.today
        if not svc.active:
            raise Conflict("service_inactive", f"service '{svc.code}' is not active today")
        if check_hours and self.cfg.queue.enforce_hours and not self.is_open(now):
            raise Conflict("office_closed", "the office is closed now; tickets are issued during opening hours")
        if svc.daily_quota and live.issued.get(svc.code, 0) >= svc.daily_quota:
            raise Conflict("quota_reached", f"today's quota of {svc.daily_quota} tickets for '{svc.name}' is reached")
        seq = live.last_seq.get(svc.prefix, 0) + 1
        if seq >= 10 ** self.cfg.queue.number_width:
            raise Conflict("numbers_exhausted", f"no more {self.cfg.queue.number_width}-digit numbers today "
                                                f"for prefix {svc.prefix}")
        prio = 1 if priority else 0
        at = issued_at or now
        queue = live.waiting.get(svc.code, [])
        ahead = sum(1 for r in queue if r.order < (-prio, at, float("inf")))
        values = dict(business_date=live.day, prefix=svc.prefix, seq=seq, number=self.format_number(svc.prefix, seq),
                      service_code=svc.code, issued_service_code=svc.code, priority=prio, priority_kind=priority,
                      channel=channel, state=WAITING, issued_at=at, call_count=0, transfer_count=0)
        ticket_id = s.execute(insert(TICKETS).values(**values)).inserted_primary_key[0]
        row = TicketRow(ticket_id, values["number"], svc.prefix, seq, svc.code, svc.code, prio, priority, channel,
                        WAITING, None, at, None, None, None, 0, live.day)
        s.execute(insert(EVENTS).values(ticket_id=ticket_id, at=now, kind="issued", from_state=None,
                                             to_state=WAITING, counter_id=None, service_code=svc.code))
        # The rating code goes to the issuing device only (printed on the ticket), never in the event.
        result = self._ticket_dict(row) | {"ahead": ahead, "estimated_wait_minutes": self.estimate(svc, ahead),
                                           "rating_code": self.rating_code(s, row.number, ticket_id, live.day)}

        def after() -> None:
            live.add_waiting(row)
            live.issued[svc.code] = live.issued.get(svc.code, 0) + 1
            live.last_seq[svc.prefix] = seq
            live.undoable = False
            log.info("issued %s (%s%s, %s)", row.number, svc.code, f", {priority}" if priority else "", channel)

        return Outcome(result, [("ticket_issued", self._ticket_dict(row) | {"time": iso(now)})], after=after)

    def _issue_ticket(self, s: Session, now: datetime, service: str, priority: str | None = None,
                      channel: str = "kiosk") -> Outcome:
        return self.issue(s, now, service, priority, channel)

    def _finish(self, s: Session, now: datetime, t: TicketRow, kind: str, to_state: str,
                c: CounterConfig) -> TicketRow:
        self._event(s, t, now, kind, to_state, c.id)
        s.execute(update(TICKETS).where(TICKETS.c.id == t.id).values(state=to_state, finished_at=now))
        return replace(t, state=to_state, finished_at=now)

    def _finished(self, t: TicketRow) -> None:
        """Mirror bookkeeping for a ticket that just ended."""
        if t.state == DONE:
            self.today.add_served(t)
            self.today.rateable[t.number] = self._rateable_entry(t)
        if t.state == NO_SHOW:
            self.today.no_shows.add(t.number)

    def _call_next(self, s: Session, now: datetime, counter: str) -> Outcome:
        c = self._counter(counter)
        live = self.today
        if c.id in live.paused:
            raise Conflict("counter_paused", f"{c.name} is paused (istirahat); resume it first")
        heads = [q[0] for code in c.services if (q := live.waiting.get(code))]
        if not heads:
            raise Conflict("queue_empty", f"no one is waiting for {c.name}")
        return self._call(s, now, c, min(heads, key=lambda r: r.order))

    def _normal_number(self, number: str) -> str:
        """``A-12`` or ``A-0012`` as the day's numbers are written (``A-012``)."""
        prefix, _, digits = number.partition("-")
        return self.format_number(prefix, int(digits)) if digits.isdigit() else number

    def _call_number(self, s: Session, now: datetime, counter: str, number: str) -> Outcome:
        """Calls one waiting ticket by its number (staff's choice, out of the usual order)."""
        number = self._normal_number(number)
        c = self._counter(counter)
        if c.id in self.today.paused:
            raise Conflict("counter_paused", f"{c.name} is paused (istirahat); resume it first")
        t = next((r for code in c.services for r in self.today.waiting.get(code, ()) if r.number == number), None)
        if t is None:
            other = next((r for rows in self.today.waiting.values() for r in rows if r.number == number), None)
            if other is not None:
                raise Conflict("not_for_counter", f"{number} waits for service '{other.service}', which {c.name} "
                                                  "does not serve (transfer it, or call it from its counter)")
            raise NotFound("ticket_not_waiting", f"{number} is not waiting today")
        return self._call(s, now, c, t)

    def _bring_back(self, s: Session, now: datetime, counter: str, number: str) -> Outcome:
        """A resident marked no-show arrives late: their ticket is called again, to this counter."""
        number = self._normal_number(number)
        c = self._counter(counter)
        if c.id in self.today.paused:
            raise Conflict("counter_paused", f"{c.name} is paused (istirahat); resume it first")
        row = s.scalars(select(Ticket).where(Ticket.business_date == self.today.day, Ticket.number == number)
                        .execution_options(populate_existing=True)).first()
        if row is None or row.state != NO_SHOW:
            raise NotFound("ticket_not_no_show", f"{number} was not marked no-show today")
        if row.service_code not in c.services:
            raise Conflict("not_for_counter", f"{number} is for service '{row.service_code}', which {c.name} "
                                              "does not serve")
        return self._call(s, now, c, TicketRow.of(row), back=True)

    def _call(self, s: Session, now: datetime, c: CounterConfig, t: TicketRow, back: bool = False) -> Outcome:
        """Calls ``t`` to counter ``c``, completing the ticket it was serving first ("next" means "done, and next")."""
        live = self.today
        events = []
        current = live.current.get(c.id)
        done = None
        if current is not None:
            done = self._finish(s, now, current, "completed", DONE, c)
            events.append(("ticket_completed", self._ticket_dict(done) | {"counter": self.counter_dict(c),
                                                                          "time": iso(now)}))
        self._event(s, t, now, "called", CALLED, c.id)
        called = replace(t, state=CALLED, counter=c.id, called_at=now, first_called_at=t.first_called_at or now,
                         call_count=t.call_count + 1, finished_at=None)
        s.execute(update(TICKETS).where(TICKETS.c.id == t.id).values(
            state=CALLED, counter_id=c.id, called_at=now, first_called_at=called.first_called_at,
            call_count=called.call_count, finished_at=None))
        self._set_counter(s, c.id, now, current_ticket_id=t.id)
        call = self._ticket_dict(called) | {"counter": self.counter_dict(c), "recall": False, "time": iso(now)}
        events.append(("ticket_called", call))

        def after() -> None:
            if not back:
                live.remove_waiting(t)
            live.current[c.id] = called
            live.counter_rows.add(c.id)
            if done is not None:
                self._finished(done)
                log.info("completed %s at %s", done.number, c.id)
            live.calls.appendleft(self._call_entry(t.number, t.service, c.id, False, now))
            log.info("called %s to %s%s", t.number, c.id, " (back from no-show)" if back else "")

        return Outcome(call, events, after=after)

    def _require_current(self, c: CounterConfig, code: str, what: str) -> TicketRow:
        t = self.today.current.get(c.id)
        if t is None:
            raise Conflict(code, f"{c.name} has no called ticket to {what}")
        return t

    def _recall(self, s: Session, now: datetime, counter: str) -> Outcome:
        c = self._counter(counter)
        t = self._require_current(c, "nothing_to_recall", "recall")
        self._event(s, t, now, "recalled", CALLED, c.id)
        again = replace(t, call_count=t.call_count + 1)
        s.execute(update(TICKETS).where(TICKETS.c.id == t.id).values(call_count=again.call_count))
        call = self._ticket_dict(t) | {"counter": self.counter_dict(c), "recall": True, "time": iso(now)}

        def after() -> None:
            self.today.current[c.id] = again
            self.today.calls.appendleft(self._call_entry(t.number, t.service, c.id, True, now))
            log.info("recalled %s to %s", t.number, c.id)

        return Outcome(call, [("ticket_called", call)], after=after)

    def _end_current(self, s: Session, now: datetime, counter: str, code: str, what: str, kind: str,
                     to_state: str, event: str) -> Outcome:
        c = self._counter(counter)
        t = self._require_current(c, code, what)
        ended = self._finish(s, now, t, kind, to_state, c)
        self._set_counter(s, c.id, now, current_ticket_id=None)
        payload = self._ticket_dict(ended) | {"counter": self.counter_dict(c), "time": iso(now)}

        def after() -> None:
            self.today.current.pop(c.id, None)
            self._finished(ended)
            log.info("%s %s at %s", kind, t.number, c.id)

        return Outcome(payload, [(event, payload)], after=after)

    def _skip(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._end_current(s, now, counter, "nothing_to_skip", "skip", "skipped", NO_SHOW, "ticket_skipped")

    def _complete(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._end_current(s, now, counter, "nothing_to_complete", "complete", "completed", DONE,
                                 "ticket_completed")

    def _transfer(self, s: Session, now: datetime, counter: str, service: str) -> Outcome:
        c = self._counter(counter)
        target = self.service(service)
        if not target.active:
            raise Conflict("service_inactive", f"service '{target.code}' is not active today")
        t = self._require_current(c, "nothing_to_transfer", "transfer")
        if t.service == target.code:
            raise Conflict("same_service", f"{t.number} is already in service '{target.code}'")
        self._event(s, t, now, "transferred", WAITING, c.id, service=target.code)
        moved = replace(t, state=WAITING, service=target.code, counter=None)
        s.execute(update(TICKETS).where(TICKETS.c.id == t.id).values(
            state=WAITING, service_code=target.code, counter_id=None, transfer_count=TICKETS.c.transfer_count + 1))
        self._set_counter(s, c.id, now, current_ticket_id=None)
        payload = self._ticket_dict(moved) | {"from_service": t.service, "counter": self.counter_dict(c),
                                              "time": iso(now)}

        def after() -> None:
            self.today.current.pop(c.id, None)
            self.today.add_waiting(moved)
            log.info("transferred %s from %s to %s at %s", t.number, t.service, target.code, c.id)

        return Outcome(payload, [("ticket_transferred", payload)], after=after)

    def _set_paused(self, s: Session, now: datetime, counter: str, paused: bool) -> Outcome:
        c = self._counter(counter)
        changed = (c.id in self.today.paused) != paused
        result = self.counter_dict(c) | {"paused": paused}
        if not changed:
            return Outcome(result, changed=False)
        self._set_counter(s, c.id, now, paused=int(paused))

        def after() -> None:
            (self.today.paused.add if paused else self.today.paused.discard)(c.id)
            self.today.counter_rows.add(c.id)
            log.info("%s %s", c.id, "paused" if paused else "resumed")

        return Outcome(result, after=after)

    def _pause(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._set_paused(s, now, counter, True)

    def _resume(self, s: Session, now: datetime, counter: str) -> Outcome:
        return self._set_paused(s, now, counter, False)

    def rating_code(self, s: Session, number: str, ticket_id: int, day: date) -> str:
        """The ticket's rating code (antre/rules/rating_code.py); the secret is drawn on first use."""
        # Not cached: a secret drawn in a transaction that is rolled back was never handed out.
        meta = s.get(Meta, rating_codes.SECRET_KEY)
        if meta is None:
            meta = Meta(key=rating_codes.SECRET_KEY, value=rating_codes.new_secret())
            s.add(meta)
            s.flush()
        return rating_codes.rating_code(meta.value, self.cfg.office.id, day.isoformat(), number, ticket_id)

    def _rate(self, s: Session, now: datetime, ticket: str, score: int, elements: list[int] | None = None,
              comment: str | None = None, date: str | None = None, code: str | None = None,
              rating_counter: str | None = None) -> Outcome:
        """``rating_counter`` is set by the service (never by a device) when the sender is the rating kiosk
        bound to that counter: it may rate what that counter completed without the code."""
        day = self.today.day if date is None else _parse_date(date)
        # populate_existing: earlier commands of this batch changed tickets with Core statements.
        t = s.scalars(select(Ticket).where(Ticket.business_date == day, Ticket.number == ticket)
                      .execution_options(populate_existing=True)).first()
        own_counter = t is not None and rating_counter is not None and t.counter_id == rating_counter
        if code is not None or (self.cfg.queue.rating_code_required and not own_counter):
            # One answer for a wrong code and for no such ticket: a guess learns nothing.
            if code is None:
                raise BadRequest("rating_code_required", "type the rating code printed on the ticket "
                                                         "(4 digits)")
            if t is None or not rating_codes.codes_equal(code, self.rating_code(s, t.number, t.id, t.business_date)):
                raise Conflict("rating_code_wrong", f"the rating code does not match ticket {ticket}")
        if t is None:
            raise NotFound("ticket_not_found", f"no ticket {ticket} on {day.isoformat()}")
        if t.state != DONE:
            raise Conflict("not_served", f"{ticket} has not been served yet; it can be rated after service")
        if s.scalar(select(Rating.id).where(Rating.ticket_id == t.id)) is not None:
            raise Conflict("already_rated", f"{ticket} has already been rated; thank you")
        values = dict(zip([f"u{i}" for i in range(1, 10)], elements)) if elements else {}
        s.execute(insert(RATINGS).values(ticket_id=t.id, business_date=t.business_date, service_code=t.service_code,
                                        counter_id=t.counter_id, score=score, comment=(comment or None),
                                        created_at=now, **values))
        payload = {"number": t.number, "service": t.service_code, "counter": t.counter_id, "score": score,
                   "elements": elements, "business_date": t.business_date.isoformat(), "time": iso(now)}

        def after() -> None:
            if day == self.today.day:
                self.today.rateable.pop(ticket, None)
            log.info("rating %d for %s (%s)%s", score, ticket, payload["counter"],
                     " with IKM survey" if elements else "")

        return Outcome(payload, [("rating_received", payload)], after=after)

    # ------------------------------------------------------------------ state snapshot

    def snapshot(self) -> dict[str, Any]:
        """The retained state: everything a display or kiosk needs to show the truth at once."""
        now = self.clock.now()
        try:
            self._open_day(now)
        except CommandError:
            if self.today is None:
                raise   # nothing known yet; the caller logs it
            # The clock went backwards: keep showing the last known truth.
        live = self.today
        services = []
        for svc in self.cfg.services:
            n = len(live.waiting.get(svc.code, ()))
            issued = live.issued.get(svc.code, 0)
            pace = self._pace(svc)
            services.append({
                "code": svc.code, "name": svc.name, "name_en": svc.name_en, "short_name": svc.short_name or svc.name,
                "prefix": svc.prefix,
                "active": svc.active, "requirements": list(svc.requirements),
                "waiting": n,
                "last_issued": self.format_number(svc.prefix, live.last_seq[svc.prefix])
                if svc.prefix in live.last_seq else None,
                "issued_today": issued,
                "quota": svc.daily_quota,
                "quota_reached": bool(svc.daily_quota) and issued >= svc.daily_quota,
                "estimated_wait_minutes": self.estimate(svc, n),
                # What a status page shows, derived here rather than asked per page (docs/protocol.md).
                "queue": live.queue_runs(svc.code),
                "minutes_per_ticket": pace[0],
                "counters_open": pace[1],
            })
        counters = []
        for c in self.cfg.counters:
            cur = live.current.get(c.id)
            counters.append(self.counter_dict(c) | {
                "services": list(c.services),
                "status": "paused" if c.id in live.paused else ("serving" if cur else "idle"),
                "serving": None if cur is None else {
                    "number": cur.number, "service": cur.service, "called_at": iso(cur.called_at)},
            })
        window = now - timedelta(minutes=self.cfg.queue.rating_window_minutes)
        rateable = [{k: v for k, v in e.items() if k != "_at"} for e in reversed(live.rateable.values())
                    if e["_at"] >= window][:RATEABLE_LIMIT]
        hours = opening.hours_on(self.cfg.office, now.astimezone(self.tz).date())
        serving = {t.number for t in live.current.values()}
        next_open = opening.next_opening(self.cfg.office, now)
        return {
            "protocol": PROTOCOL_VERSION,
            "seq": live.seq,
            "time": iso(now),
            "office": {"id": self.cfg.office.id, "name": self.cfg.office.name, "address": self.cfg.office.address,
                       "timezone": self.cfg.office.timezone},
            "business_date": live.day.isoformat(),
            "open": self.is_open(now) or not self.cfg.queue.enforce_hours,
            "hours_today": None if hours is None else f"{hours[0]:%H:%M}-{hours[1]:%H:%M}",
            "holiday": opening.is_holiday(self.cfg.office, now.astimezone(self.tz).date()),
            "next_open": None if next_open is None else iso(next_open),
            "services": services,
            "counters": counters,
            # A call whose ticket was skipped since carries "no_show": the TV marks it "tidak hadir".
            "last_calls": [c | {"no_show": c["number"] in live.no_shows and c["number"] not in serving}
                           for c in live.calls],
            "rateable": rateable,
        }


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError("invalid_argument", f"'date' must be YYYY-MM-DD, not {value!r}") from None


__all__ = ["QueueService", "Outcome", "Today", "TicketRow", "iso"]
