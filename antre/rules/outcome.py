"""What a command produced: shared by the queue and the plug-ins that add commands to it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What one command produced: the reply's result, events to publish, and whether state changed.

    ``after`` updates the in-memory mirror; it runs only once the transaction is committed.
    """

    result: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: bool = True
    replayed: bool = False
    after: Callable[[], None] | None = None


#: A list reply's rows at most (JSON bytes): the service answers at most 64 512 bytes (antre/service/server.py,
#: MAX_REPLY_BYTES: the shipped broker drops a bigger packet), with room for the reply's other fields.
LIST_BYTES = 40_000


def fit_rows(rows: Iterable[dict[str, Any]], limit: int = LIST_BYTES) -> list[dict[str, Any]]:
    """The first ``rows`` whose JSON (UTF-8) adds up to at most ``limit`` bytes (a list reply that must fit)."""
    out: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        size += len(json.dumps(row, ensure_ascii=False).encode()) + 1
        if size > limit:
            break
        out.append(row)
    return out
