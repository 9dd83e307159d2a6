"""The month's complaints for re-entry into SP4N-LAPOR! (``complaint_export``): a plug-in of the queue.

Read-only for the queue (its reply, which carries texts and contacts, is never written to the request log),
for a kasi only, and audited (``complaint.export``: the month and how many rows) in the same transaction.
The file itself is made by the website (web/lapor.py, docs/complaints.md says which format and why).

Personal data: an anonymous complaint has no name or number stored (antre/rules/complaints.py) and none is
sent; a complaint whose text was wiped at retention is sent without text (``wiped``) so it is never re-entered
empty; a duplicate merged into another names the complaint it joined and is not re-entered.

A month comes in pages of at most :data:`PAGE_BYTES` (``next``: the ``after`` of the following page, null on the
last); each page is audited.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select

from antre.errors import CommandError
from antre.rules.outcome import Outcome
from antre.rules.staff import audit, authenticate, web_device
from antre.storage.models import Complaint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from antre.rules.queue import QueueService

EXPORTERS = ("kasi",)
#: Bytes of rows in one reply at most (measured as ASCII-escaped JSON, the larger of the two encodings): the
#: shipped broker drops a client that sends a packet over 64 KiB (max_packet_size), so a month comes in pages.
PAGE_BYTES = 40_000


class ComplaintExport:
    def __init__(self, q: "QueueService"):
        self.q = q

    def export(self, s: "Session", now: datetime, month: str, session: str, address: str | None = None,
               after: int | None = None) -> Outcome:
        who = authenticate(s, now, session, EXPORTERS)
        # ASCII digits only (\d would take other scripts' digits into a file name), years a date can hold.
        m = re.fullmatch(r"([0-9]{4})-([0-9]{2})", month)
        if not m or not 1 <= int(m[2]) <= 12 or not 1970 <= int(m[1]) <= 9998:
            raise CommandError("invalid_argument", "'month' must be YYYY-MM")
        first = date(int(m[1]), int(m[2]), 1)
        following_month = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        start, end = self.q.day_start(first), self.q.day_start(following_month)
        rows = list(s.scalars(select(Complaint).where(Complaint.created_at >= start, Complaint.created_at < end,
                                                      Complaint.id > (after or 0))
                              .order_by(Complaint.id)))
        codes = {c.id: c.code for c in rows}
        missing = {c.merged_into for c in rows if c.merged_into and c.merged_into not in codes}
        if missing:
            codes |= {i: code for i, code in s.execute(select(Complaint.id, Complaint.code).where(Complaint.id.in_(missing)))}
        tz = self.q.tz
        out: list[dict[str, Any]] = []
        size, following, out_ids = 0, None, []
        for c in rows:
            anonymous = bool(c.anonymous)
            item = {
                "code": c.code, "created_at": c.created_at.astimezone(tz).isoformat(timespec="seconds"),
                "category": c.category, "topic": c.topic, "status": c.status, "channel": c.channel,
                "anonymous": anonymous,
                "name": None if anonymous else c.contact_name, "phone": None if anonymous else c.contact_phone,
                "text": c.text, "wiped": c.anonymised_at is not None,
                "merged_into": codes.get(c.merged_into) if c.merged_into else None,
                "answered_on": c.answered_at.astimezone(tz).date().isoformat() if c.answered_at else None,
            }
            grown = size + len(json.dumps(item, ensure_ascii=True, separators=(",", ":"))) + 1
            if out and grown > PAGE_BYTES:
                following = out_ids[-1]   # the rest in the next page: ``after`` this id
                break
            out.append(item)
            out_ids.append(c.id)
            size = grown
        audit(s, who.name, "complaint.export", f"month {month}", web_device(address),
              {"month": month, "rows": len(out), "with_contact": sum(1 for r in out if r["phone"] or r["name"]),
               "after": after or 0},
              now=now)
        return Outcome({"month": month, "rows": out, "next": following}, changed=False)


def handlers(q: "QueueService") -> dict[str, Callable[..., Outcome]]:
    rules = ComplaintExport(q)
    q.read_only.add("complaint_export")   # texts and contacts: never into the request log
    return {"complaint_export": rules.export}


__all__ = ["handlers", "ComplaintExport", "PAGE_BYTES"]
