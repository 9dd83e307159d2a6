"""Clocks. The queue asks a clock for the time, so tests can move days forward."""

from __future__ import annotations

import threading
import time
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


class ClockWatch:
    """Whether the service's own clock can be trusted to start a new business day.

    A Raspberry Pi has no battery clock: after a boot its time comes from fake-hwclock (the time
    of the last shutdown) or from whatever answers NTP, and either can be a day or a year off.
    Two kinds of evidence are kept, both measured against the monotonic clock (which no one sets):

    - *jumps*: the wall clock moved more than ``jump_seconds`` further than the monotonic clock
      while the service ran (a step by NTP or by hand);
    - *devices*: every command carries its sender's wall clock (``sent_at``); per sender the newest
      one is kept for ``window`` seconds. A device *disagrees* when its clock and ours are more than
      ``tolerance`` seconds apart.

    :meth:`doubt` gives a reason to doubt our clock, or None: when more devices heard recently
    disagree than agree, or after a jump that no more devices confirm than contradict. A doubted
    clock never closes a business day (see ``QueueService``); the doubt ends as soon as the evidence
    does (the clock is set right, or the devices agree with it).
    """

    def __init__(self, tolerance: float = 3600.0, window: float = 3600.0, jump_seconds: float = 300.0,
                 wall=time.time, mono=time.monotonic):
        self.tolerance = tolerance
        self.window = window
        self.jump_seconds = jump_seconds
        self._wall, self._mono = wall, mono
        # sender -> (its clock minus our monotonic clock, heard at (monotonic), its last step in seconds)
        self._devices: dict[str, tuple[float, float, float]] = {}
        self._ref = (wall(), mono())
        self._jumped = 0.0   # how far the wall clock stepped (seconds, signed) since it was last trusted
        self._lock = threading.Lock()

    def observe(self, sender: str, sent_at: float) -> None:
        """A live message stamped with its sender's wall clock."""
        mono = self._mono()
        base = sent_at - mono
        with self._lock:
            before = self._devices.get(sender)
            step = base - before[0] if before is not None else 0.0
            if abs(step) <= self.jump_seconds:
                step = before[2] if before is not None else 0.0   # a steady clock keeps its last step
            self._devices[sender] = (base, mono, step)

    def _check_jump(self) -> None:
        wall, mono = self._wall(), self._mono()
        step = (wall - self._ref[0]) - (mono - self._ref[1])
        self._ref = (wall, mono)
        if abs(step) > 1.0 or self._jumped:
            self._jumped += step
            if abs(self._jumped) < self.jump_seconds:
                self._jumped = 0.0   # stepped back to where it was (or a small correction): trusted again

    def devices(self) -> tuple[list[float], list[float]]:
        """(offsets of devices that agree, offsets of devices that disagree): device clock minus ours, s.

        After our clock stepped, a device whose clock then stepped by about as much is following ours
        (it takes its time from this server, or runs on the same machine): it is no evidence either way."""
        wall, mono = self._wall(), self._mono()
        agree, disagree = [], []
        with self._lock:
            jumped = self._jumped
            for sender, (base, heard, step) in list(self._devices.items()):
                if mono - heard > self.window:
                    del self._devices[sender]
                    continue
                if jumped and step and abs(step - jumped) <= self.jump_seconds:
                    continue
                offset = base + mono - wall
                (agree if abs(offset) <= self.tolerance else disagree).append(offset)
        return agree, disagree

    def doubt(self) -> str | None:
        """Why our clock is doubtful (English, for logs), or None when nothing speaks against it."""
        with self._lock:
            self._check_jump()
            jumped = self._jumped
        agree, disagree = self.devices()
        if len(disagree) > len(agree):
            offset = sorted(disagree)[len(disagree) // 2]
            return f"{len(disagree)} device(s) heard in the last hour have clocks {_span(offset, 'ahead of', 'behind')} ours"
        if jumped and len(agree) <= len(disagree):
            return f"the clock was set {_span(jumped, 'forward', 'back')} while the service ran"
        if jumped:
            with self._lock:
                self._jumped = 0.0   # independent devices confirm the new time
        return None

    def device_time(self) -> float | None:
        """The median clock of the devices that disagree with ours (seconds since 1970), if any."""
        agree, disagree = self.devices()
        if not disagree:
            return None
        return self._wall() + sorted(disagree)[len(disagree) // 2]


def _span(seconds: float, ahead: str = "ahead", behind: str = "behind") -> str:
    s = abs(seconds)
    amount = f"{s / 86400:.1f} days" if s >= 86400 else f"{s / 3600:.1f} hours" if s >= 3600 else f"{s:.0f} s"
    return f"{amount} {ahead if seconds > 0 else behind}"
