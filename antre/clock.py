"""Clocks. The queue asks a clock for the time, so tests can move days forward."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class SystemClock:
    """The real time, as an aware UTC datetime."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class ManualClock:
    """A clock that only moves when told to. For tests and simulations.

    >>> clock = ManualClock(datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc))
    >>> clock.advance(minutes=5)
    """

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now
