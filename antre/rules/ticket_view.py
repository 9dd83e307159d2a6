"""A ticket's status read from the retained state, so a status page costs the service nothing.

The retained state lists, per service, the waiting numbers in calling order (``queue``, as runs
of consecutive numbers: ``[["A-009", 4], ["B-002", 1]]``) and
the pace of the estimate (``minutes_per_ticket``, ``counters_open``); each counter names the
number it serves. From one state, :class:`StateIndex` answers for any number of today that
is open: waiting (how many ahead, the estimate) or called (at which counter) -- the same
answer ``ticket_status`` gives, without asking. A number that is not open (done, skipped,
or never issued) is not in the index: :meth:`StateIndex.issued` tells the two apart from
the state's ``last_issued`` per prefix, and only a ticket that ended needs one question to
the service, once (done or no-show).
"""

from __future__ import annotations

import math
import re
from typing import Any

_NUMBER = re.compile(r"([A-Z])-(\d{1,6})")


def queue_runs(numbers: list[str]) -> list[list]:
    """The waiting numbers in calling order as runs of consecutive numbers: ``[first, count]`` each.

    >>> queue_runs(["A-009", "A-010", "A-011", "B-002", "A-012"])
    [['A-009', 3], ['B-002', 1], ['A-012', 1]]
    """
    runs: list[list] = []
    prev_prefix, prev_seq = None, -1
    for number in numbers:
        prefix, _, digits = number.partition("-")
        seq = int(digits) if digits.isdigit() else -2
        if runs and prefix == prev_prefix and seq == prev_seq + 1:
            runs[-1][1] += 1
        else:
            runs.append([number, 1])
        prev_prefix, prev_seq = prefix, seq
    return runs


def expand_runs(runs: list) -> list[str]:
    """The numbers of :func:`queue_runs` again.

    >>> expand_runs([["A-009", 3], ["B-002", 1]])
    ['A-009', 'A-010', 'A-011', 'B-002']
    """
    out = []
    for first, count in runs:
        prefix, _, digits = first.partition("-")
        start, width = int(digits), len(digits)
        out.extend(f"{prefix}-{start + i:0{width}d}" for i in range(count))
    return out


def estimate_minutes(ahead: int, minutes_per_ticket: float, counters_open: int) -> int:
    """Minutes until ``ahead`` people are served (the service's estimate; the website derives the same)."""
    if ahead <= 0:
        return 0
    return math.ceil(ahead * minutes_per_ticket / max(1, counters_open))


class StateIndex:
    """The open tickets of one retained state, by number.

    >>> s = {"business_date": "2026-12-01", "services": [{"code": "adminduk", "prefix": "A",
    ...      "last_issued": "A-003", "queue": [["A-002", 2]], "minutes_per_ticket": 5.0,
    ...      "counters_open": 1}], "counters": [{"id": "loket-1", "name": "Loket 1", "number": 1,
    ...      "serving": {"number": "A-001", "service": "adminduk"}}]}
    >>> ix = StateIndex(s)
    >>> ix.status("A-003")["ahead"], ix.status("A-003")["estimated_wait_minutes"]
    (1, 5)
    >>> ix.status("A-001")["counter"]["name"], ix.issued("A-004"), ix.issued("A-001")
    ('Loket 1', False, True)
    >>> ix.soon("A-004"), ix.soon("A-900000"), ix.soon("B-001")
    (True, False, True)
    """

    def __init__(self, state: dict[str, Any]):
        self.day: str | None = state.get("business_date")
        self.seq = state.get("seq")
        self.open: dict[str, dict[str, Any]] = {}
        self.last: dict[str, int] = {}
        for svc in state.get("services") or ():
            last = _seq(svc.get("last_issued"))
            prefix = svc.get("prefix")
            if prefix and last:
                self.last[prefix] = max(self.last.get(prefix, 0), last)
            try:
                queue = expand_runs(svc.get("queue"))
            except (TypeError, ValueError):
                continue
            per, open_counters = svc.get("minutes_per_ticket") or 0, svc.get("counters_open") or 0
            for ahead, number in enumerate(queue):
                self.open[number] = {"number": number, "service": svc.get("code"), "state": "waiting",
                                     "ahead": ahead, "counter": None,
                                     "estimated_wait_minutes": estimate_minutes(ahead, per, open_counters)}
        # The newest call of each number (last_calls is newest first): a recall is shown as one.
        newest: dict[str, dict[str, Any]] = {}
        for call in state.get("last_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("number"), str):
                newest.setdefault(call["number"], call)
        for c in state.get("counters") or ():
            serving = c.get("serving")
            if serving and serving.get("number"):
                call = newest.get(serving["number"]) or {}
                self.open[serving["number"]] = {
                    "number": serving["number"], "service": serving.get("service"), "state": "called", "ahead": 0,
                    "estimated_wait_minutes": 0, "recalled": call.get("recall") is True,
                    "counter": {"id": c.get("id"), "name": c.get("name"), "number": c.get("number")}}
        #: False for a state from a service that does not publish queues (then ask the service).
        self.complete = all(isinstance(s.get("queue"), list) for s in state.get("services") or ())

    def status(self, number: str) -> dict[str, Any] | None:
        """The status of an open ticket of :attr:`day` (waiting or called), or None."""
        return self.open.get(number)

    def soon(self, number: str, within: int = 20) -> bool:
        """True for a number of a known prefix at most ``within`` past the newest: it may be issued
        already, and this state not yet know it."""
        m = _NUMBER.fullmatch(number)
        return bool(m) and 0 < int(m[2]) <= self.last.get(m[1], 0) + within

    def issued(self, number: str) -> bool:
        """True when ``number`` was issued on :attr:`day` (by the numbers issued so far)."""
        m = _NUMBER.fullmatch(number)
        return bool(m) and 0 < int(m[2]) <= self.last.get(m[1], 0)


def _seq(number: Any) -> int:
    m = _NUMBER.fullmatch(number) if isinstance(number, str) else None
    return int(m[2]) if m else 0


__all__ = ["StateIndex", "estimate_minutes", "expand_runs", "queue_runs"]
