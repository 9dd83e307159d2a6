"""What a command produced: shared by the queue and the plug-ins that add commands to it."""

from __future__ import annotations

from collections.abc import Callable
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
