"""The counter's logic: presses in, commands out, replies turned into light and sound.

:class:`CounterDesk` is one counter (loket). It knows nothing of GPIO pins or
keyboards: a backend calls :meth:`CounterDesk.press` with an action name, and
the desk drives an abstract :class:`Feedback` (a status light and a sounder).
The GPIO backend (:mod:`antre_counter.gpio`) and the keyboard backend
(:mod:`antre_counter.keys`) both drive the same desk::

    desk = CounterDesk("loket-2", requester, feedback, timeout=3.0)
    desk.press("next")      # -> call_next; logs "loket-2: next -> called A-013"

Rules the desk enforces, whatever the input:

- each press is one command with a fresh ``request_id``;
- while a command is in flight, every further press on that counter is
  ignored (a double press never calls two residents);
- when the broker or the queue service is known to be unreachable the press
  fails at once with the error sound: nothing is queued for a later replay;
- ``pause`` toggles: it sends ``pause`` or ``resume`` depending on the
  counter's status in the retained state;
- with a number typed first (a keypad's digits), *next* calls that number
  (``call_number``) and *recall* calls it back after a no-show (``bring_back``);
  the letter is the counter's service prefix (with several services: the one
  in whose queue the number waits, else the first).
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from antre.link.mqtt import Reply
from antre.rules.ticket_view import expand_runs

log = logging.getLogger("counter")

#: The buttons a counter can have, in the order staff learn them.
ACTIONS = ("next", "recall", "skip", "done", "pause", "transfer")
#: With digits typed first (a keypad): *next* calls that number, *recall* calls it back after a no-show.
NUMBER_ACTIONS = {"next": "call_number", "recall": "bring_back"}
#: Holding *next* (GPIO, when enabled): skip the called resident, then call the next one.
HOLD_NEXT = "hold_next"

_COMMANDS = {"next": "call_next", "recall": "recall", "skip": "skip", "done": "complete", "transfer": "transfer"}
#: Reply codes meaning "the system is unreachable" rather than "the queue said no".
UNREACHABLE = frozenset({"offline", "timeout", "service_offline"})


class Light(enum.Enum):
    """What the counter's status light shows."""

    OFF = "off"            #: idle (nobody called) or paused
    ON = "on"              #: serving a resident
    BUSY = "busy"          #: fast blink: a command is in flight
    OFFLINE = "offline"    #: slow blink: the broker or the queue service is unreachable


class Sound(enum.Enum):
    """What the counter's sounder plays after a press."""

    OK = "ok"          #: one short beep: done
    ERROR = "error"    #: three short beeps: refused (e.g. queue empty) or unreachable


class Feedback(Protocol):
    """Whatever shows the desk's state to the staff member: an LED and buzzer, a terminal, nothing."""

    def show(self, light: Light) -> None: ...

    def sound(self, sound: Sound) -> None: ...

    def close(self) -> None: ...


class Sender(Protocol):
    """The part of :class:`antre.link.mqtt.Requester` the desk uses."""

    def send(self, command: str, args: dict[str, Any], on_reply: Callable[[Reply], None], *,
             timeout: float = 3.0, request_id: str | None = None) -> str: ...


class NoFeedback:
    """For a counter with no LED and no buzzer wired: shows nothing, plays nothing."""

    def show(self, light: Light) -> None:
        pass

    def sound(self, sound: Sound) -> None:
        pass

    def close(self) -> None:
        pass


class Feedbacks:
    """Fans out to several feedbacks, e.g. when a counter has both GPIO buttons and a keypad."""

    def __init__(self, items: list[Feedback]):
        self.items = list(items)

    def show(self, light: Light) -> None:
        for f in self.items:
            f.show(light)

    def sound(self, sound: Sound) -> None:
        for f in self.items:
            f.sound(sound)

    def close(self) -> None:
        for f in self.items:
            f.close()


@dataclass(frozen=True)
class Press:
    """One press and what came of it (kept for the log and for tests)."""

    action: str
    ok: bool
    code: str | None
    text: str
    commands: tuple[str, ...]


class CounterDesk:
    """One counter's buttons-to-commands logic.

    :param counter: the counter id, e.g. ``"loket-2"``.
    :param sender: sends commands and reports replies (an :class:`antre.link.mqtt.Requester`).
    :param feedback: the light and sound (:class:`NoFeedback` when none is wired).
    :param timeout: seconds to wait for the service's reply before signalling an error.
    :param transfer_service: service code the *transfer* button moves the called ticket to;
        empty means the button is not configured.
    """

    def __init__(self, counter: str, sender: Sender, feedback: Feedback | None = None, *,
                 timeout: float = 3.0, transfer_service: str = ""):
        self.counter = counter
        self.sender = sender
        self.feedback = feedback or NoFeedback()
        self.timeout = timeout
        self.transfer_service = transfer_service
        self._lock = threading.RLock()
        self._idle = threading.Event()
        self._idle.set()
        self._busy: str | None = None
        self._connected = False
        self._service: bool | None = None     # None: not known yet
        self._suspect = False                 # the last request timed out
        self._status: str | None = None       # idle | serving | paused, None before the first state
        self._serving: str | None = None
        self._seq: int | None = None
        self._prefixes: list[str] = []                # the ticket prefixes of the counter's services
        self._waiting: dict[str, set[int]] = {}       # prefix -> numbers waiting (for typed numbers)
        self._light: Light | None = None
        #: Recent outcomes, newest last.
        self.outcomes: deque[Press] = deque(maxlen=200)
        #: Recent commands sent, as (command, request_id), newest last.
        self.sent: deque[tuple[str, str]] = deque(maxlen=200)
        self._refresh()

    # ------------------------------------------------------------------ what the backends call

    def press(self, action: str, number: str | None = None) -> bool:
        """One press of a button (``number``: digits typed before it, for *next* and *recall*). Returns False
        when it was ignored (a command is still in flight)."""
        if action not in ACTIONS and action != HOLD_NEXT:
            raise ValueError(f"unknown action {action!r} (actions: {', '.join(ACTIONS)})")
        if number is not None:
            if action not in NUMBER_ACTIONS or not number.isdigit() or not 1 <= len(number) <= 6:
                raise ValueError(f"a number goes with {' or '.join(NUMBER_ACTIONS)} only, as 1-6 digits")
            return self._press_number(action, number)
        label = "next (held)" if action == HOLD_NEXT else action
        with self._lock:
            if self._busy is not None:
                log.info("%s: %s ignored (%s still in flight)", self.counter, label, self._busy)
                return False
            if action == "transfer" and not self.transfer_service:
                self._finish(label, Reply.failed("", "not_configured",
                                                 "no transfer_service is set for this counter"), ())
                return True
            if self._service is False and self._connected:   # (disconnected: the Requester answers 'offline')
                self._finish(label, Reply.failed("", "service_offline", "the queue service is offline"), ())
                return True
            self._busy = label
            self._idle.clear()
            self._refresh()
            command = "skip" if action == HOLD_NEXT else self._command(action)
        # Sent outside the lock: the reply may arrive (on another thread) before send() returns.
        if action == HOLD_NEXT:
            self._send(command, label, lambda r: self._after_hold_skip(label, r))
        else:
            self._send(command, label, lambda r: self._finish(label, r, (command,)))
        return True

    def _press_number(self, action: str, digits: str) -> bool:
        command = NUMBER_ACTIONS[action]
        with self._lock:
            if self._busy is not None:
                log.info("%s: %s %s ignored (%s still in flight)", self.counter, action, digits, self._busy)
                return False
            number = self._number(digits, waiting=command == "call_number")
            label = f"{action} {number or digits}"
            if number is None:
                self._finish(label, Reply.failed("", "unknown_prefix", "the counter's services are not known yet"), ())
                return True
            if self._service is False and self._connected:
                self._finish(label, Reply.failed("", "service_offline", "the queue service is offline"), ())
                return True
            self._busy = label
            self._idle.clear()
            self._refresh()
        self._send(command, label, lambda r: self._finish(label, r, (command,)), number=number)
        return True

    def _number(self, digits: str, waiting: bool) -> str | None:
        """The ticket number for typed digits: the prefix of the counter's service (with several, the one
        in whose queue it waits, for a call; else the first)."""
        if not self._prefixes:
            return None
        n = int(digits)
        if waiting:
            for prefix in self._prefixes:
                if n in self._waiting.get(prefix, ()):
                    return f"{prefix}-{n}"
        return f"{self._prefixes[0]}-{n}"

    def update_state(self, state: dict[str, Any]) -> None:
        """Takes this counter's status from the service's retained state."""
        me = next((c for c in state.get("counters") or [] if c.get("id") == self.counter), None)
        if me is not None:
            by_code = {s.get("code"): s for s in state.get("services") or []}
            prefixes = [by_code[c]["prefix"] for c in me.get("services") or [] if c in by_code and by_code[c].get("prefix")]
            waiting: dict[str, set[int]] = {}
            for code in me.get("services") or []:
                svc = by_code.get(code) or {}
                for number in expand_runs(svc.get("queue") or []):
                    prefix, _, digits = number.partition("-")
                    waiting.setdefault(prefix, set()).add(int(digits))
        with self._lock:
            if me is not None:
                self._prefixes = list(dict.fromkeys(prefixes))
                self._waiting = waiting
            seq = state.get("seq")
            if self._seq is not None and seq != self._seq:
                self._suspect = False   # the service is alive and publishing
            self._seq = seq
            if me is not None:
                self._status = me.get("status")
                self._serving = (me.get("serving") or {}).get("number")
            self._refresh()

    def set_connected(self, connected: bool) -> None:
        """The broker link came up or went down."""
        with self._lock:
            self._connected = connected
            self._refresh()

    def set_service_online(self, online: bool | None) -> None:
        """The queue service's presence (``None``: not known)."""
        with self._lock:
            self._service = online
            if online:
                self._suspect = False
            self._refresh()

    # ------------------------------------------------------------------ for callers and tests

    @property
    def light(self) -> Light:
        with self._lock:
            return self._light or Light.OFF

    @property
    def status(self) -> str | None:
        """``idle``, ``serving`` or ``paused`` as the desk last learned it."""
        return self._status

    @property
    def busy(self) -> bool:
        return self._busy is not None

    @property
    def reachable(self) -> bool:
        with self._lock:
            return self._connected and self._service is not False and not self._suspect

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Blocks until no command is in flight; returns False on timeout."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        self.feedback.close()

    # ------------------------------------------------------------------ internals

    def _command(self, action: str) -> str:
        if action == "pause":
            return "resume" if self._status == "paused" else "pause"
        return _COMMANDS[action]

    def _send(self, command: str, label: str, on_reply: Callable[[Reply], None], number: str | None = None) -> None:
        args: dict[str, Any] = {"counter": self.counter}
        if command == "transfer":
            args["service"] = self.transfer_service
        if number is not None:
            args["number"] = number
        rid = f"{self.counter}-{uuid.uuid4().hex[:20]}"
        self.sent.append((command, rid))
        log.debug("%s: %s -> sending %s (%s)", self.counter, label, command, rid)
        self.sender.send(command, args, on_reply, timeout=self.timeout, request_id=rid)

    def _after_hold_skip(self, label: str, reply: Reply) -> None:
        if not reply.ok and reply.code != "nothing_to_skip":
            self._finish(label, reply, ("skip",))
            return
        skipped = f"skipped {(reply.result or {}).get('number')}, " if reply.ok else ""
        if reply.ok:
            with self._lock:
                self._learn("skip", reply.result or {})
        self._send("call_next", label, lambda r: self._finish(label, r, ("skip", "call_next"), prefix=skipped))

    def _finish(self, label: str, reply: Reply, commands: tuple[str, ...], prefix: str = "") -> None:
        with self._lock:
            command = commands[-1] if commands else ""
            if reply.ok:
                text = prefix + self._describe(command, reply.result or {})
                self._learn(command, reply.result or {})
                self._suspect = False
                self.feedback.sound(Sound.OK)
                log.info("%s: %s -> %s", self.counter, label, text)
            else:
                text = prefix + f"{reply.code} ({reply.message})"
                self._learn_error(reply.code or "")
                if reply.code == "timeout":
                    self._suspect = True
                self.feedback.sound(Sound.ERROR)
                level = logging.WARNING if reply.code in UNREACHABLE else logging.INFO
                log.log(level, "%s: %s -> %s", self.counter, label, text)
            self._busy = None
            self._refresh()
            self.outcomes.append(Press(label, reply.ok, reply.code, text, commands))
            self._idle.set()

    @staticmethod
    def _describe(command: str, result: dict[str, Any]) -> str:
        number = result.get("number")
        if command in ("call_next", "call_number"):
            return f"called {number}"
        if command == "bring_back":
            return f"called back {number}"
        if command == "recall":
            return f"recalled {number}"
        if command == "skip":
            return f"skipped {number}"
        if command == "complete":
            return f"completed {number}"
        if command == "transfer":
            return f"transferred {number} to {result.get('service')}"
        return {"pause": "paused", "resume": "resumed"}.get(command, "ok")

    def _learn(self, command: str, result: dict[str, Any]) -> None:
        if command in ("call_next", "recall", "call_number", "bring_back"):
            self._status, self._serving = "serving", result.get("number")
        elif command in ("skip", "complete", "transfer", "resume"):
            self._status, self._serving = "idle", None
        elif command == "pause":
            self._status = "paused"

    def _learn_error(self, code: str) -> None:
        if code == "counter_paused":
            self._status = "paused"
        elif code.startswith("nothing_to_") and self._status != "paused":
            self._status, self._serving = "idle", None

    def _refresh(self) -> None:
        if self._busy is not None:
            light = Light.BUSY
        elif not self._connected or self._service is False or self._suspect:
            light = Light.OFFLINE
        elif self._status == "serving":
            light = Light.ON
        else:
            light = Light.OFF
        if light != self._light:
            self._light = light
            self.feedback.show(light)
