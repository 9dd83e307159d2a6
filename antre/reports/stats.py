"""Service statistics: tickets per day, per service and per counter, and the busiest hours.

What is counted where (see docs/reports.md for the full list):

* A ticket belongs to its ``business_date``. It is *issued* in the service it
  was taken for (``issued_service_code``); it ends -- served (``done``),
  ``no_show``, ``expired`` or still open -- in its final service
  (``service_code``) at its final counter (``counter_id``).
* A transfer is a ``TicketEvent(kind="transferred")``. It counts once per
  event: out of the service the ticket was in, into the service it moved to,
  and for the counter that moved it.
* Waiting time is ``first_called_at - issued_at``, counted for the service and
  counter of the first call. Service time is ``finished_at - called_at`` (the
  last call) of served tickets, counted for the final service and counter.
* The 90th percentile is the nearest-rank one: the smallest observed value that
  at least 90 % of the values do not exceed ("9 of 10 residents waited at most").
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from antre.storage.models import (CALLED, DONE, EXPIRED, NO_SHOW, WAITING, Complaint, LetterRequest, Rating,
                                  Ticket)
from antre.reports.ikm import IkmResult, QuickResult, compute_ikm, compute_quick

NO_COUNTER = ""  # key for ratings or tickets without a counter


def percentile90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile: ``sorted(values)[ceil(0.9 n) - 1]``."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-9 * len(ordered) // 10)  # ceil(0.9 n) in integers
    return ordered[rank - 1]


@dataclass(frozen=True)
class Durations:
    """A set of durations in minutes, summarised."""

    count: int
    mean: float | None
    p90: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> "Durations":
        minutes = [s / 60 for s in seconds]
        return cls(len(minutes), sum(minutes) / len(minutes) if minutes else None, percentile90(minutes))


@dataclass
class Tally:
    """Counts and durations of one group (a day, a service, a counter or the whole period)."""

    issued: int = 0
    called: int = 0
    served: int = 0
    no_show: int = 0
    expired: int = 0
    open: int = 0
    transferred_in: int = 0
    transferred_out: int = 0
    wait_seconds: list[float] = field(default_factory=list)
    service_seconds: list[float] = field(default_factory=list)

    @property
    def wait(self) -> Durations:
        return Durations.of(self.wait_seconds)

    @property
    def service(self) -> Durations:
        return Durations.of(self.service_seconds)


@dataclass
class Report:
    """Everything one report shows; built by :func:`build_report`, rendered by the other modules."""

    office_name: str
    office_address: str
    timezone: str
    start: date
    end: date
    generated_at: datetime
    service_names: dict[str, str]  # code -> name, config order
    counter_names: dict[str, str]  # id -> name, config order
    total: Tally
    days: dict[date, Tally]  # every day of the period, in order
    services: dict[str, Tally]
    counters: dict[str, Tally]
    hours: list[int]  # tickets issued per local hour 0..23
    ikm: IkmResult
    ikm_by_service: dict[str, IkmResult]
    incomplete_surveys: int  # ratings with some but not all of U1..U9 (left out of the IKM)
    quick: QuickResult
    quick_by_service: dict[str, QuickResult]
    quick_by_counter: dict[str, QuickResult]
    ticket_count: int = 0
    rating_count: int = 0
    #: Letter requests made in the period, per letter type (config order): :class:`LetterTally`.
    letters: dict[str, "LetterTally"] = field(default_factory=dict)
    letter_names: dict[str, str] = field(default_factory=dict)
    #: Complaints received in the period, per topic (``[complaints] topics`` order): :class:`ComplaintTally`.
    complaints: dict[str, "ComplaintTally"] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return self.ticket_count == 0 and self.rating_count == 0

    @property
    def day_count(self) -> int:
        return (self.end - self.start).days + 1

    def service_name(self, code: str) -> str:
        return self.service_names.get(code, code)

    def counter_name(self, counter_id: str) -> str:
        if counter_id == NO_COUNTER:
            return "(tanpa loket)"
        return self.counter_names.get(counter_id, counter_id)

    def busiest_hours(self, n: int = 3) -> list[int]:
        """The ``n`` local hours with most tickets issued (ties: the earlier hour first)."""
        ranked = sorted((h for h in range(24) if self.hours[h]), key=lambda h: (-self.hours[h], h))
        return ranked[:n]


@dataclass
class LetterTally:
    """Letter requests of one type made in the period: what became of them, and how long they took from the
    request to the signature (in days; the 90th percentile as for waiting times)."""

    requested: int = 0
    signed: int = 0
    collected: int = 0
    cancelled: int = 0
    open: int = 0
    late: int = 0          # signed after the due date, or still open past it
    days: list[float] = field(default_factory=list)

    @property
    def mean_days(self) -> float | None:
        return sum(self.days) / len(self.days) if self.days else None

    @property
    def p90_days(self) -> float | None:
        return percentile90(self.days)


def letter_stats(session: Session, start: date, end: date, tz: ZoneInfo, today: date) -> dict[str, LetterTally]:
    """Per letter type, the requests made from ``start`` to ``end`` (office dates). Reads no personal data."""
    first = datetime(start.year, start.month, start.day, tzinfo=tz)
    last = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    out: dict[str, LetterTally] = {}
    rows = session.execute(select(LetterRequest.type_code, LetterRequest.status, LetterRequest.created_at,
                                  LetterRequest.signed_at, LetterRequest.due_on)
                           .where(LetterRequest.created_at >= first, LetterRequest.created_at < last))
    for kind, status, created, signed, due in rows:
        t = out.setdefault(kind, LetterTally())
        t.requested += 1
        t.collected += status == "sudah_diambil"
        t.cancelled += status == "dibatalkan"
        if signed is not None:
            t.signed += 1
            t.days.append((signed - created).total_seconds() / 86400)
            t.late += signed.astimezone(tz).date() > due
        elif status not in ("sudah_diambil", "dibatalkan"):
            t.open += 1
            t.late += today > due
    return out


@dataclass
class ComplaintTally:
    """Complaints of one topic received in the period (duplicates merged into another counted apart): what
    became of them and the days from arrival to the published answer (the median, as the console's summary)."""

    received: int = 0
    answered: int = 0
    on_time: int = 0       # answered by the answer's due date (working days on the office calendar)
    refused: int = 0       # ditolak or bukan wewenang desa
    open: int = 0
    late: int = 0          # still open past the answer's due date
    merged: int = 0
    days: list[float] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days) if self.days else None


def complaint_stats(session: Session, start: date, end: date, tz: ZoneInfo, today: date) -> dict[str, ComplaintTally]:
    """Per topic, the complaints received from ``start`` to ``end`` (office dates). Reads no text and no contact."""
    first = datetime(start.year, start.month, start.day, tzinfo=tz)
    last = datetime(end.year, end.month, end.day, tzinfo=tz) + timedelta(days=1)
    out: dict[str, ComplaintTally] = {}
    rows = session.execute(select(Complaint.topic, Complaint.status, Complaint.created_at, Complaint.answered_at,
                                  Complaint.answer_due, Complaint.merged_into)
                           .where(Complaint.created_at >= first, Complaint.created_at < last))
    for topic, status, created, answered, due, merged in rows:
        t = out.setdefault(topic, ComplaintTally())
        t.received += 1
        if merged is not None:
            t.merged += 1
        elif answered is not None:
            t.answered += 1
            t.days.append((answered - created).total_seconds() / 86400)
            t.on_time += answered.astimezone(tz).date() <= due
        elif status in ("ditolak", "bukan_wewenang"):
            t.refused += 1
        else:
            t.open += 1
            t.late += today > due
    return out


def _ordered(keys: Iterable[str], known: Iterable[str]) -> list[str]:
    known = list(known)
    keys = set(keys)
    return [k for k in known if k in keys] + sorted(keys - set(known))


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    s = (later - earlier).total_seconds()
    return s if s >= 0 else None  # a clock that jumped back: leave the value out


def _transfers(ticket: Ticket) -> list[tuple[str, str, str | None]]:
    """(from service, to service, counter) of each transfer of ``ticket``, from its events.

    Works whether the queue records the old or the new service on the transfer event.
    """
    events = list(ticket.events)
    out = []
    current = ticket.issued_service_code
    for i, ev in enumerate(events):
        if ev.kind != "transferred":
            continue
        if ev.service_code != current:
            target = ev.service_code
        else:
            later = (e.service_code for e in events[i + 1:] if e.service_code != current)
            target = next(later, ticket.service_code)
        out.append((current, target, ev.counter_id))
        current = target
    if not out and ticket.transfer_count:
        # History without events (should not happen): attribute to the known ends.
        out = [(ticket.issued_service_code, ticket.service_code, ticket.counter_id)] * ticket.transfer_count
    return out


def _first_call(ticket: Ticket) -> tuple[str, str | None]:
    """(service, counter) of the first call."""
    for ev in ticket.events:
        if ev.kind == "called":
            return ev.service_code, ev.counter_id
    # No events: a transfer always follows a call, so the first call was in the issued service.
    counter = ticket.counter_id if not ticket.transfer_count else None
    return ticket.issued_service_code, counter


def _add_ticket(t: Ticket, day: Tally, total: Tally, services: dict[str, Tally],
                counters: dict[str, Tally], hours: list[int], tz: ZoneInfo) -> None:
    svc = lambda code: services.setdefault(code, Tally())  # noqa: E731
    ctr = lambda cid: counters.setdefault(cid or NO_COUNTER, Tally())  # noqa: E731

    for group in (day, total, svc(t.issued_service_code)):
        group.issued += 1
    hours[t.issued_at.astimezone(tz).hour] += 1

    called_at = {ev.counter_id for ev in t.events if ev.kind == "called" and ev.counter_id}
    if not called_at and t.first_called_at is not None and t.counter_id:
        called_at = {t.counter_id}
    for cid in called_at:
        ctr(cid).called += 1
    if t.first_called_at is not None:
        for group in (day, total):
            group.called += 1

    wait = _seconds(t.first_called_at, t.issued_at)
    if wait is not None:
        first_service, first_counter = _first_call(t)
        groups = [day, total, svc(first_service)]
        if first_counter:
            groups.append(ctr(first_counter))
        for group in groups:
            group.wait_seconds.append(wait)

    for source, target, counter in _transfers(t):
        for group in (day, total):
            group.transferred_out += 1
            group.transferred_in += 1
        svc(source).transferred_out += 1
        svc(target).transferred_in += 1
        if counter:
            ctr(counter).transferred_out += 1

    outcome = {DONE: "served", NO_SHOW: "no_show", EXPIRED: "expired",
               WAITING: "open", CALLED: "open"}.get(t.state, "open")
    groups = [day, total, svc(t.service_code)]
    if t.counter_id and t.state != WAITING:
        groups.append(ctr(t.counter_id))
    elif t.state != WAITING and t.state != EXPIRED:
        groups.append(ctr(None))
    for group in groups:
        setattr(group, outcome, getattr(group, outcome) + 1)

    if t.state == DONE:
        served = _seconds(t.finished_at, t.called_at)
        if served is not None:
            for group in groups:
                group.service_seconds.append(served)


def build_report(session: Session, start: date, end: date, *, tz: ZoneInfo,
                 office_name: str = "", office_address: str = "",
                 service_names: dict[str, str] | None = None,
                 counter_names: dict[str, str] | None = None,
                 letter_names: dict[str, str] | None = None,
                 complaint_topics: Iterable[str] = (),
                 now: datetime | None = None,
                 progress: Callable[[int, int, date], None] | None = None) -> Report:
    """Reads tickets and ratings of ``start``..``end`` (business dates, inclusive), one day at a time.

    ``progress(done, total, day)`` is called after each day.
    """
    if end < start:
        raise ValueError("end before start")
    service_names = dict(service_names or {})
    counter_names = dict(counter_names or {})
    total = Tally()
    days: dict[date, Tally] = {}
    services: dict[str, Tally] = {}
    counters: dict[str, Tally] = {}
    hours = [0] * 24
    surveys: list[tuple[str, list[int]]] = []
    incomplete = 0
    faces: list[tuple[str, str, int]] = []
    tickets = ratings = 0

    n_days = (end - start).days + 1
    for i in range(n_days):
        day = start + timedelta(days=i)
        tally = days[day] = Tally()
        query = (select(Ticket).where(Ticket.business_date == day)
                 .options(selectinload(Ticket.events)).order_by(Ticket.id))
        for t in session.scalars(query):
            tickets += 1
            _add_ticket(t, tally, total, services, counters, hours, tz)
        for r in session.scalars(select(Rating).where(Rating.business_date == day).order_by(Rating.id)):
            ratings += 1
            faces.append((r.service_code, r.counter_id or NO_COUNTER, r.score))
            values = [getattr(r, f"u{k}") for k in range(1, 10)]
            if all(v is not None for v in values):
                surveys.append((r.service_code, values))
            elif any(v is not None for v in values):
                incomplete += 1
        session.expunge_all()  # keep memory flat over long ranges
        if progress is not None:
            progress(i + 1, n_days, day)

    service_order = _ordered(list(services) + [s for s, _ in surveys] + [s for s, _, _ in faces],
                             service_names)
    counter_order = _ordered(list(counters) + [c for _, c, _ in faces], counter_names)
    services = {code: services.get(code, Tally()) for code in service_order}
    counters = {cid: counters.get(cid, Tally()) for cid in counter_order}

    ikm_by_service = {code: compute_ikm(v for s, v in surveys if s == code) for code in service_order}
    generated = now or datetime.now(tz)
    letters = letter_stats(session, start, end, tz, generated.astimezone(tz).date())
    letter_names = dict(letter_names or {})
    letters = {k: letters[k] for k in _ordered(letters, letter_names)}
    complaints = complaint_stats(session, start, end, tz, generated.astimezone(tz).date())
    complaints = {k: complaints[k] for k in _ordered(complaints, complaint_topics)}
    return Report(
        office_name=office_name, office_address=office_address, timezone=str(tz.key),
        start=start, end=end, generated_at=generated,
        service_names=service_names, counter_names=counter_names,
        total=total, days=days, services=services, counters=counters, hours=hours,
        ikm=compute_ikm(v for _, v in surveys),
        ikm_by_service={k: v for k, v in ikm_by_service.items() if v.respondents},
        incomplete_surveys=incomplete,
        quick=compute_quick(score for _, _, score in faces),
        quick_by_service={code: compute_quick(sc for s, _, sc in faces if s == code)
                          for code in service_order if any(s == code for s, _, _ in faces)},
        quick_by_counter={cid: compute_quick(sc for _, c, sc in faces if c == cid)
                          for cid in counter_order if any(c == cid for _, c, _ in faces)},
        ticket_count=tickets, rating_count=ratings, letters=letters, letter_names=letter_names,
        complaints=complaints,
    )


def data_range(session: Session) -> tuple[date, date] | None:
    """First and last business date holding a ticket or a rating, or None for an empty database."""
    lo_t, hi_t = session.execute(select(func.min(Ticket.business_date), func.max(Ticket.business_date))).one()
    lo_r, hi_r = session.execute(select(func.min(Rating.business_date), func.max(Rating.business_date))).one()
    lows = [d for d in (lo_t, lo_r) if d is not None]
    highs = [d for d in (hi_t, hi_r) if d is not None]
    if not lows:
        return None
    return min(lows), max(highs)


__all__ = ["Durations", "Report", "Tally", "build_report", "data_range", "percentile90"]
