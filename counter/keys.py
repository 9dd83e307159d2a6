"""Keyboard backend: a USB numeric keypad (evdev) or standard input.

For counters without GPIO wiring. A cheap USB numeric keypad on the counter
desk is read through Linux evdev (``device = "/dev/input/by-id/usb-...-event-kbd"``);
the keypad is *grabbed*, so its keys do not also type into the Pi's console.
For development and the demo, ``device = "stdin"`` reads the terminal or a pipe.

Default keys (numeric keypad)::

    +      next      panggil berikutnya
    *      recall    panggil ulang
    -      skip      lewati / tidak hadir
    Enter  done      selesai
    /      pause     istirahat / lanjut
    .      transfer  alihkan ke layanan lain

Standard input:

- a terminal is switched to character mode: each key press counts at once;
- a pipe is read **one key per line**: a line holds one key (``+``, ``*``,
  ``enter``...) or an action name (``next``, ``done``...); an empty line is
  the Enter key. So ``echo + | antre counter --keyboard loket-1`` presses
  *next* once, and ``printf '+\\n\\n'`` presses *next* then *done*.
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from antre.errors import ConfigError

from .logic import ACTIONS, NUMBER_ACTIONS, Light, Sound

log = logging.getLogger("antre_counter.keys")

#: The documented default mapping, action -> key name.
DEFAULT_KEYS: dict[str, str] = {
    "next": "+", "recall": "*", "skip": "-", "done": "enter", "pause": "/", "transfer": ".",
}

#: Names for keys that are not one printable character.
NAMED_KEYS = ("enter", "space", "tab", "backspace", "esc")

_CHAR_NAMES = {"\n": "enter", "\r": "enter", " ": "space", "\t": "tab", "\x7f": "backspace", "\b": "backspace",
               "\x1b": "esc"}


def key_name(text: str) -> str:
    """The key name for one character (``"\\n"`` -> ``"enter"``) or a written name (``"Enter"`` -> ``"enter"``)."""
    if text in _CHAR_NAMES:
        return _CHAR_NAMES[text]
    if len(text) == 1:
        return text.lower()
    return text.strip().lower()


def valid_key(name: str) -> bool:
    return (len(name) == 1 and name.isprintable()) or name in NAMED_KEYS or \
        (name.startswith("f") and name[1:].isdigit() and 1 <= int(name[1:]) <= 24)


def keymap(keys: Mapping[str, str], where: str = "[[counter.keyboard]] keys") -> dict[str, str]:
    """Validates a configured ``keys`` table and returns key name -> action.

    The table is merged over :data:`DEFAULT_KEYS`: an action not listed keeps
    its default key, and ``""`` leaves that action without a key.
    """
    merged = dict(DEFAULT_KEYS)
    for action, key in keys.items():
        if action not in ACTIONS:
            close = difflib.get_close_matches(action, ACTIONS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (actions: {', '.join(ACTIONS)})"
            raise ConfigError(f"{where}: unknown action '{action}'{hint}")
        merged[action] = key
    out: dict[str, str] = {}
    for action, key in merged.items():
        if key == "":
            continue
        name = key_name(key)
        if not valid_key(name):
            raise ConfigError(f"{where}: '{action}' = {key!r} is not a key; use one character such as '+', "
                              f"or one of {', '.join(NAMED_KEYS)}, f1-f24")
        if name in out:
            raise ConfigError(f"{where}: key {key!r} is used for both '{out[name]}' and '{action}'")
        out[name] = action
    return out


def describe(mapping: Mapping[str, str]) -> str:
    """``"+ next, * recall, ..."`` for log lines."""
    return ", ".join(f"{k} {a}" for k, a in mapping.items())


# --------------------------------------------------------------------------- evdev key codes

_EVDEV_NAMES = {
    "KEY_KPPLUS": "+", "KEY_KPMINUS": "-", "KEY_KPASTERISK": "*", "KEY_KPSLASH": "/", "KEY_KPDOT": ".",
    "KEY_KPCOMMA": ",", "KEY_KPEQUAL": "=", "KEY_KPENTER": "enter", "KEY_ENTER": "enter",
    "KEY_MINUS": "-", "KEY_EQUAL": "=", "KEY_DOT": ".", "KEY_SLASH": "/", "KEY_COMMA": ",",
    "KEY_SPACE": "space", "KEY_TAB": "tab", "KEY_BACKSPACE": "backspace", "KEY_ESC": "esc",
}


def evdev_key_name(code: int) -> str | None:
    """The key name for an evdev key code (``KEY_KPPLUS`` -> ``"+"``, ``KEY_KP7`` -> ``"7"``)."""
    from evdev import ecodes

    names = ecodes.KEY.get(code)
    if names is None:
        return None
    for name in names if isinstance(names, (list, tuple)) else [names]:
        if name in _EVDEV_NAMES:
            return _EVDEV_NAMES[name]
        suffix = name[len("KEY_KP"):] if name.startswith("KEY_KP") else name[len("KEY_"):]
        if len(suffix) == 1 and suffix.isalnum():
            return suffix.lower()
        if suffix.startswith("F") and suffix[1:].isdigit():
            return suffix.lower()
    return None


# --------------------------------------------------------------------------- inputs

class KeyInput:
    """Base of the key readers: a daemon thread calling ``on_key(name)`` for each key press."""

    def __init__(self, on_key: Callable[[str], Any], *, on_end: Callable[[], Any] | None = None,
                 ready: Callable[[], Any] | None = None):
        self.on_key = on_key
        self.on_end = on_end or (lambda: None)
        self.ready = ready or (lambda: None)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._main, name=f"counter-{type(self).__name__}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _main(self) -> None:
        try:
            self.ready()
            self.run()
        except Exception:
            log.exception("key input %s failed", type(self).__name__)
        finally:
            if not self.stopping.is_set():
                self.on_end()

    def run(self) -> None:
        raise NotImplementedError

    def _key(self, name: str) -> None:
        try:
            self.on_key(name)
        except Exception:
            log.exception("handling key %r failed", name)


class StreamKeys(KeyInput):
    """Keys from standard input (or any binary stream): a terminal per key, a pipe per line."""

    def __init__(self, on_key: Callable[[str], Any], stream: BinaryIO | None = None, **kwargs: Any):
        super().__init__(on_key, **kwargs)
        self.stream = stream if stream is not None else sys.stdin.buffer
        self._saved_tty: Any = None

    def is_terminal(self) -> bool:
        try:
            return os.isatty(self.stream.fileno())
        except (AttributeError, ValueError, io.UnsupportedOperation):
            return False

    def start(self) -> None:
        if self.is_terminal():
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved_tty = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        super().start()

    def stop(self) -> None:
        super().stop()
        if self._saved_tty is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved_tty)
            self._saved_tty = None

    def _is_null_device(self) -> bool:
        """Standard input is /dev/null or similar (e.g. under systemd): there will never be a key."""
        import stat

        try:
            mode = os.fstat(self.stream.fileno()).st_mode
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            return False
        return stat.S_ISCHR(mode) and not self.is_terminal()

    def run(self) -> None:
        if self._is_null_device():
            log.warning("standard input is not a terminal or a pipe (under systemd?): no keys will come; "
                        "use a keypad device = '/dev/input/by-id/...' instead")
            self.stopping.wait()
            return
        if self._saved_tty is not None:
            fd = self.stream.fileno()
            while not self.stopping.is_set():
                data = os.read(fd, 64)
                if not data:
                    return
                for ch in data.decode("utf-8", "replace"):
                    self._key(key_name(ch))
        else:
            for raw in self._lines():
                if self.stopping.is_set():
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self._key(key_name(line.strip()) if line.strip() else "enter")

    def _lines(self) -> Iterator[bytes]:
        """The stream's lines. A real file is read with ``os.read``, not through its buffered reader:
        this thread then holds no lock of ``sys.stdin`` while it waits, so the interpreter can shut down
        (SIGTERM, end of the demo) while it is blocked ("Fatal Python error: _enter_buffered_busy")."""
        try:
            fd = self.stream.fileno()
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            yield from iter(self.stream.readline, b"")
            return
        pending = b""
        while True:
            data = os.read(fd, 4096)
            if not data:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line + b"\n"
        if pending:
            yield pending


class EvdevKeys(KeyInput):
    """Key presses from a Linux input device (a USB numeric keypad), grabbed for exclusive use.

    A keypad that is unplugged is reopened every ``retry`` seconds until it is back.
    Auto-repeat events are ignored: holding a key is one press.
    """

    def __init__(self, on_key: Callable[[str], Any], path: str, retry: float = 2.0, **kwargs: Any):
        super().__init__(on_key, **kwargs)
        self.path = path
        self.retry = retry
        self._device: Any = None

    def stop(self) -> None:
        super().stop()
        dev = self._device
        if dev is not None:
            try:
                dev.close()
            except OSError:
                pass

    def run(self) -> None:
        import evdev

        warned = False
        while not self.stopping.is_set():
            try:
                self._device = dev = evdev.InputDevice(self.path)
                try:
                    dev.grab()
                except OSError as exc:
                    log.warning("%s: cannot grab the keypad (%s); its keys also reach the console", self.path, exc)
                log.info("reading keypad %s (%s)", self.path, dev.name)
                warned = False
                for event in dev.read_loop():
                    if event.type == evdev.ecodes.EV_KEY and event.value == 1:   # 1 down, 2 repeat, 0 up
                        name = evdev_key_name(event.code)
                        if name is not None:
                            self._key(name)
            except OSError as exc:
                if self.stopping.is_set():
                    return
                if not warned:
                    log.warning("keypad %s unavailable (%s); retrying every %.0f s", self.path,
                                exc.strerror or exc, self.retry)
                    warned = True
            finally:
                self._device = None
            self.stopping.wait(self.retry)


class KeyboardCounter:
    """Binds one key input to one counter: each mapped key calls ``press(action)``.

    A line on a pipe may also name the action itself (``next``); other keys are logged and ignored.
    Digits not mapped to an action type a ticket number (backspace takes one back, esc clears them; they
    are forgotten after ``NUMBER_SECONDS``): then *next* calls that number and *recall* calls it back after
    a no-show (``press(action, number=digits)``); any other action forgets them.
    """

    NUMBER_SECONDS = 15.0

    def __init__(self, counter: str, mapping: Mapping[str, str], press: Callable[..., Any],
                 clock: Callable[[], float] = time.monotonic):
        self.counter = counter
        self.mapping = dict(mapping)
        self._press = press
        self._clock = clock
        self._digits = ""
        self._typed_at = 0.0

    def key(self, name: str) -> None:
        action = self.mapping.get(name)
        if action is None and name in ACTIONS:
            action = name
        if self._digits and self._clock() - self._typed_at > self.NUMBER_SECONDS:
            self._digits = ""
        if action is None and name.isdigit() and len(name) == 1:
            if len(self._digits) < 6:
                self._digits += name
            self._typed_at = self._clock()
            return
        if action is None and name in ("backspace", "esc") and self._digits:
            self._digits = "" if name == "esc" else self._digits[:-1]
            return
        if action is None:
            log.info("%s: key %r has no action (keys: %s)", self.counter, name, describe(self.mapping))
            return
        digits, self._digits = self._digits, ""
        if digits and action in NUMBER_ACTIONS:
            self._press(action, number=digits)
            return
        if digits:
            log.info("%s: number %s forgotten (%s takes no number)", self.counter, digits, action)
        self._press(action)


class TerminalFeedback:
    """Feedback for a keyboard counter: the terminal bell on errors (when stderr is a terminal)."""

    def __init__(self, counter: str, stream=None):
        self.counter = counter
        self.stream = stream if stream is not None else sys.stderr

    def show(self, light: Light) -> None:
        log.debug("%s: light %s", self.counter, light.value)

    def sound(self, sound: Sound) -> None:
        if sound is Sound.ERROR:
            try:
                if self.stream.isatty():
                    self.stream.write("\a")
                    self.stream.flush()
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        pass
