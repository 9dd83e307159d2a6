"""The district outbox: what this office tells the district's hub, durable, append-only, numbered without gaps.

A plug-in of the queue (:func:`handlers`, listed in ``antre/service/server.py``). For each applied command,
:meth:`DistrictOutbox.after_command` turns its events into rows of ``district_outbox``
(:class:`~antre.storage.models.DistrictEvent`) **in the command's own transaction**: the ticket and its
district row are committed together or not at all. Each row takes the next number of the office's sequence
(the greatest plus one: the service is the one writer and the primary key refuses a duplicate), so the
sequence 1, 2, 3 ... has no holes and the hub can ask for any it misses (docs/district.md). The greatest is
read once and then kept in memory: a transaction's numbers are adopted when it commits and forgotten when it
does not (session events), so a rolled-back row's number is taken again.

What goes out is a whitelist of fields: ticket numbers (``A-012``), services, counters, times, scores, and
counts of letters and complaints. Never a name, a phone number, a NIK, a tracking code or a rating's comment.

The service publishes the rows (``antre/service/district_link.py``); this module knows no MQTT.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import and_, event, func, or_, select

from antre.rules.outcome import Outcome
from antre.storage.models import Complaint, DistrictEvent, LetterRequest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

log = logging.getLogger(__name__)

#: The events that go to the district, and what each becomes there.
TICKET_EVENTS = {"ticket_issued": "issued", "ticket_called": "called", "ticket_completed": "completed",
                 "ticket_skipped": "skipped", "ticket_transferred": "transferred"}
STATS = "stats"
RATING = "rating"
LETTER = "letter"
#: Kinds of rows (``DistrictEvent.kind``).
KINDS = frozenset(TICKET_EVENTS.values()) | {RATING, LETTER, STATS}
#: A resend asks for at most this many rows at once; the hub asks again for the rest.
RESEND_MAX = 2000

_TICKET_FIELDS = ("number", "service", "priority", "channel", "issued_at", "business_date")
_LETTER_OPEN = ("belum_lengkap", "diperiksa", "menunggu_ttd", "siap_diambil")


def _counter_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def district_payload(event: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``(kind, data)`` of the district row an office event becomes, or None when the district does not get it.

    A whitelist: only the fields named here go out, so a field added to an event later (a name, a phone)
    never reaches the district by accident.
    """
    if event in TICKET_EVENTS:
        out = {k: data.get(k) for k in _TICKET_FIELDS}
        out["counter"] = _counter_id(data.get("counter"))
        if event == "ticket_called":
            out["recall"] = bool(data.get("recall"))
        if event == "ticket_transferred":
            out["from_service"] = data.get("from_service")
        return TICKET_EVENTS[event], out
    if event == "rating_received":
        elements = data.get("elements")
        return RATING, {"number": data.get("number"), "service": data.get("service"),
                        "counter": _counter_id(data.get("counter")), "score": data.get("score"),
                        "elements": elements if isinstance(elements, list) else None,
                        "business_date": data.get("business_date")}
    if event == "letter_status":
        return LETTER, {"status": data.get("status")}   # not its ref: the district needs counts only
    return None


class DistrictOutbox:
    """The district outbox of one :class:`QueueService`.

    ``stats_sources`` maps a name to ``fn(session, now, today) -> {count name: int}``: counts another module
    wants the district to see. Letters and complaints are there already.
    """

    def __init__(self, q: "QueueService"):
        self.q = q
        self.stats_sources: dict[str, Callable[["Session", datetime, date], dict[str, int]]] = {
            "letters": letter_counts, "complaints": complaint_counts}
        self._last_stats: dict[str, Any] | None = None
        #: The newest committed number (None until first needed: then read once from the database).
        self._seq: int | None = None
        # Session.info's key for the newest number written in the session's open transaction (one per outbox:
        # two services' outboxes on one sessionmaker, as in tests, never take each other's numbers).
        self._pending = f"district_seq:{id(self)}"
        event.listen(q.sessions, "after_commit", self._committed)
        event.listen(q.sessions, "after_transaction_end", self._ended)

    # ------------------------------------------------------------------ writing

    def append(self, s: "Session", now: datetime, kind: str, data: dict[str, Any]) -> DistrictEvent:
        """Appends one row in the caller's transaction, with the next number of the sequence."""
        if kind not in KINDS:
            raise ValueError(f"unknown district kind {kind!r}")
        last = s.info.get(self._pending)
        if last is None:
            if self._seq is None:
                self._seq = head(s)   # once per process: the sequence survives restarts in the table itself
            last = self._seq
        row = DistrictEvent(seq=last + 1, kind=kind, at=now, business_date=self.q.business_date(now),
                            data=json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
        s.add(row)
        s.flush()
        s.info[self._pending] = row.seq
        return row

    def committed(self) -> int | None:
        """The newest number committed by this process, or None when it wrote none yet (no query)."""
        return self._seq

    def _committed(self, s: "Session") -> None:
        pending = s.info.pop(self._pending, None)
        if pending is not None:
            self._seq = pending

    def _ended(self, s: "Session", transaction) -> None:
        if transaction.parent is None:
            s.info.pop(self._pending, None)   # rolled back (or closed without a commit): its numbers are free again

    def after_command(self, s: "Session", now: datetime, command: str, outcome: Outcome) -> None:
        for event, data in outcome.events:
            converted = district_payload(event, data)
            if converted is not None:
                self.append(s, now, *converted)

    def on_tick(self, s: "Session", now: datetime) -> None:
        """Counts of letters (and of what other modules registered) when they changed since the last row."""
        today = self.q.business_date(now)
        counts: dict[str, Any] = {}
        for name, source in sorted(self.stats_sources.items()):
            counts[name] = source(s, now, today)
        if self._last_stats is None:
            row = s.scalars(select(DistrictEvent).where(DistrictEvent.kind == STATS)
                            .order_by(DistrictEvent.seq.desc()).limit(1)).first()
            self._last_stats = json.loads(row.data) if row is not None else {}
        stats = {"counts": counts, "business_date": today.isoformat()}
        if stats != self._last_stats:
            self.append(s, now, STATS, stats)
            self._last_stats = stats


def letter_counts(s: "Session", now: datetime, today: date) -> dict[str, int]:
    """Letter requests as counts: open, overdue (not yet signed past their due day), and the running totals
    requested, signed and collected (the hub takes differences for a day or a month)."""
    q = select(func.count()).select_from(LetterRequest)
    return {
        "open": s.execute(q.where(LetterRequest.status.in_(_LETTER_OPEN))).scalar_one(),
        "overdue": s.execute(q.where(LetterRequest.status.in_(_LETTER_OPEN[:3]),
                                     LetterRequest.due_on < today)).scalar_one(),
        "signed_total": s.execute(q.where(LetterRequest.signed_at.is_not(None))).scalar_one(),
        "collected_total": s.execute(q.where(LetterRequest.status == "sudah_diambil")).scalar_one(),
        "requested_total": s.execute(q).scalar_one(),
    }


def complaint_counts(s: "Session", now: datetime, today: date) -> dict[str, int]:
    """Complaints as counts: open (received, verified, in process), overdue (not verified or not answered past
    its due day, as the console marks them), and the running totals received and closed."""
    from antre.rules.complaints import CLOSED, OPEN, RECEIVED
    q = select(func.count()).select_from(Complaint).where(Complaint.merged_into.is_(None))
    return {
        "open": s.execute(q.where(Complaint.status.in_(OPEN))).scalar_one(),
        "overdue": s.execute(q.where(or_(
            and_(Complaint.status == RECEIVED, Complaint.verify_due < today),
            and_(Complaint.status.in_(OPEN), Complaint.answered_at.is_(None), Complaint.answer_due < today)))
        ).scalar_one(),
        "received_total": s.execute(q).scalar_one(),
        "closed_total": s.execute(q.where(Complaint.status.in_(CLOSED))).scalar_one(),
    }


# ---------------------------------------------------------------------- reading (the service publishes these)

def head(s: "Session") -> int:
    """The newest number of the sequence (0 before the first row)."""
    return s.execute(select(func.max(DistrictEvent.seq))).scalar() or 0


def rows(s: "Session", first: int, last: int) -> list[DistrictEvent]:
    """Rows ``first`` .. ``last`` (inclusive) in order, at most :data:`RESEND_MAX`."""
    last = min(last, first + RESEND_MAX - 1)
    return list(s.scalars(select(DistrictEvent).where(DistrictEvent.seq >= first, DistrictEvent.seq <= last)
                          .order_by(DistrictEvent.seq)))


def wire(office_id: str, row: DistrictEvent) -> dict[str, Any]:
    """A row as published on ``{base}/district/event`` (docs/protocol.md, "District")."""
    return {"office": office_id, "seq": row.seq, "kind": row.kind, "at": row.at.isoformat(),
            "business_date": row.business_date.isoformat(), "data": json.loads(row.data)}


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    """Registers the outbox's hooks; it adds no command (the resend is the service's: it only reads)."""
    outbox = DistrictOutbox(q)
    q.outcome_hooks.append(outbox.after_command)
    q.tick_hooks.append(outbox.on_tick)
    q.plugins["district"] = outbox
    return {}


__all__ = ["DistrictOutbox", "district_payload", "handlers", "head", "rows", "wire", "RESEND_MAX", "KINDS"]
