"""The kiosk's behaviour without a window: what is available, and one command per touch.

Everything here is plain Python, testable without Kivy. The app
(:mod:`antre_kiosk.app`) feeds it what arrives over MQTT and asks it what to show.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from antre.link.mqtt import Reply, Requester

log = logging.getLogger(__name__)

# Why the kiosk cannot issue tickets now, most fundamental first.
OK = "ok"
BROKER_DOWN = "broker_down"        # no connection to the MQTT broker
SERVICE_OFFLINE = "service_offline"  # the broker is there, the queue service is not (or never published state)
CLOSED = "closed"                  # outside opening hours (the service refuses tickets)


def availability(connected: bool, service_online: bool | None, state: dict[str, Any] | None) -> str:
    """One of OK, BROKER_DOWN, SERVICE_OFFLINE, CLOSED.

    ``service_online`` is the ``online`` flag of the retained ``status/antre-service``
    message, or ``None`` when none was seen (then the retained state decides).
    """
    if not connected:
        return BROKER_DOWN
    if service_online is False or state is None:
        return SERVICE_OFFLINE
    if not state.get("open", True):
        return CLOSED
    return OK


@dataclass(frozen=True)
class ServiceRow:
    """One service button on the home screen."""

    code: str
    name: str
    name_en: str
    prefix: str
    waiting: int
    estimated_wait_minutes: int
    quota_reached: bool
    requirements: tuple[str, ...]
    #: Some counter for this service is open and idle: a new ticket is called at once. False while every
    #: one of them is serving or paused, so "served right away" is not promised then.
    counter_free: bool = True

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


def service_rows(state: dict[str, Any] | None, fallback: list[Any] = ()) -> list[ServiceRow]:
    """The active services from the retained state; before any state, from the configuration."""
    rows = []
    if state is not None:
        idle = {code for c in state.get("counters", []) if c.get("status") == "idle"
                for code in c.get("services", [])}
        for s in state.get("services", []):
            if not s.get("active", True):
                continue
            rows.append(ServiceRow(
                code=s["code"], name=s.get("name", s["code"]), name_en=s.get("name_en", ""),
                prefix=s.get("prefix", ""), waiting=int(s.get("waiting", 0)),
                estimated_wait_minutes=int(s.get("estimated_wait_minutes") or 0),
                quota_reached=bool(s.get("quota_reached")), requirements=tuple(s.get("requirements", ())),
                counter_free=s["code"] in idle))
        return rows
    for s in fallback:
        if s.active:
            rows.append(ServiceRow(s.code, s.name, s.name_en, s.prefix, 0, 0, False, tuple(s.requirements)))
    return rows


_NUMBER = re.compile(r"([A-Z])-?(\d{1,6})")


def number_width(state: dict[str, Any] | None, default: int = 3) -> int:
    """Digits in a ticket number, learnt from the state's numbers (``A-012`` -> 3)."""
    if state:
        samples = [s.get("last_issued") for s in state.get("services", [])]
        samples += [r.get("number") for r in state.get("rateable", [])]
        for n in samples:
            m = _NUMBER.fullmatch(n or "")
            if m:
                return len(m[2])
    return default


def normalize_number(typed: str, width: int = 3) -> str | None:
    """``"A12"`` -> ``"A-012"``; ``None`` when it is not a letter followed by digits."""
    m = _NUMBER.fullmatch(typed.strip().upper())
    if not m:
        return None
    digits = m[2].lstrip("0") or "0"
    if len(digits) > width:
        return None
    return f"{m[1]}-{int(digits):0{width}d}"


#: What a field of the kiosk's keys takes.
LETTERS, DIGITS, CHOICE = "letters", "digits", "choice"


def typed_key(typed: str, key: str, kind: str, limit: int, punctuation: str = " .,-/'") -> str:
    """``typed`` after one key of the kiosk's on-screen keys: a character, ``space`` or ``del``.

    A key the field cannot take is ignored (``typed`` comes back unchanged): anything on a choice, a non-digit
    on a digits field (:data:`DIGITS`; a date is typed as digits too), a letters field's character that is
    neither a letter, a digit nor one of ``punctuation``, a space at the start or after a space, and anything
    beyond ``limit`` characters.
    """
    if key == "del":
        return typed[:-1]
    ch = " " if key == "space" else key
    if kind == CHOICE or len(ch) != 1 or len(typed) >= limit:
        return typed
    if kind != LETTERS and not (ch.isascii() and ch.isdigit()):
        return typed
    if kind == LETTERS and not (ch.isalnum() or ch in punctuation):
        return typed
    if ch == " " and (not typed or typed.endswith(" ")):
        return typed
    return typed + ch


class CommandGate:
    """At most one command in flight; one ``request_id`` per touch.

    A touch while a command is in flight is refused (:meth:`send` returns
    ``None``), so a double touch never issues two tickets. When the service does
    not answer in time the command is sent again with the *same* ``request_id``
    (the service is idempotent on it: a repeat returns the stored reply and issues
    nothing new). When the broker is unreachable the :class:`Requester` refuses at
    once and nothing is queued: an outage never produces a ticket later.

    ``on_done(reply)`` runs exactly once, on a background thread.
    """

    def __init__(self, requester: Requester, *, timeout: float = 3.0, attempts: int = 3):
        self.requester = requester
        self.timeout = timeout
        self.attempts = attempts
        self._lock = threading.Lock()
        self._busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    def send(self, command: str, args: dict[str, Any], on_done: Callable[[Reply], None]) -> str | None:
        with self._lock:
            if self._busy:
                return None
            self._busy = True
        rid = uuid.uuid4().hex
        self._attempt(command, args, rid, 1, on_done)
        return rid

    def _attempt(self, command: str, args: dict[str, Any], rid: str, n: int,
                 on_done: Callable[[Reply], None]) -> None:
        def got(reply: Reply) -> None:
            if (not reply.ok and reply.code == "timeout" and n < self.attempts
                    and self.requester.link.connected.is_set()):
                log.warning("%s %s: no answer in %.1fs; sending again (attempt %d)", command, rid, self.timeout,
                            n + 1)
                self._attempt(command, args, rid, n + 1, on_done)
                return
            with self._lock:
                self._busy = False
            on_done(reply)

        self.requester.send(command, args, got, timeout=self.timeout, request_id=rid)
