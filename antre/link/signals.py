"""SIGTERM/SIGINT for long-running commands whose work is on other threads (``antre serve``, ``antre hub``).

A signal sent to the process is taken by any one of its threads that does not block it, and CPython runs the
handler in the main thread only, without waking that thread from a lock wait: taken by a worker or paho's
thread, it left the main thread in ``stop.wait()`` for good (systemd killed the process after TimeoutStopSec,
with no clean stop). Blocked before any thread starts (threads inherit the mask), unblocked in the main thread
once they run, so the kernel can only give them to the main thread.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


@contextmanager
def stop_signals_to_main_thread() -> Iterator[None]:
    """Start the process's threads inside this block (from the main thread): they are born with SIGTERM/SIGINT
    blocked. Leaving it unblocks them in the main thread; one that came meanwhile is handled then."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
