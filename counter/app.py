"""``antre counter``: one process driving one or more counters over MQTT.

:class:`CounterApp` builds, from the ``[counter]`` section, one
:class:`~antre_counter.logic.CounterDesk` per counter, the GPIO buttons/LED/buzzer
and keyboards that drive them, and one :class:`~antre.link.mqtt.MqttLink` shared by
all of them. It feeds the desks the service's retained state, the service's
presence and the link's connection state.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, BinaryIO

from antre.config import Config
from antre.errors import ConfigError
from antre.link.mqtt import MqttLink, Requester, client_id_for
from antre.link.presence import ServicePresence
from antre.link.protocol import Topics, read_object, read_presence

from .config import KeyboardCounterConfig
from .keys import (
    EvdevKeys,
    KeyboardCounter,
    KeyInput,
    StreamKeys,
    TerminalFeedback,
    describe,
    keymap,
)
from .logic import ACTIONS, CounterDesk, Feedback, Feedbacks, NoFeedback

log = logging.getLogger("counter")

_PIN_FIELDS = (*ACTIONS, "led", "buzzer")


def check(cfg: Config, keyboard: str | None = None) -> None:
    """Checks the counter wiring beyond what the schema can: pins, keys, services. Raises ConfigError."""
    src = cfg.source
    services = [s.code for s in cfg.services]
    if keyboard is not None and cfg.counter_by_id(keyboard) is None:
        raise ConfigError(f"--keyboard {keyboard}: unknown counter (counters: {', '.join(c.id for c in cfg.counters)})")
    used: dict[int, str] = {}
    seen_gpio: set[str] = set()
    for w in cfg.counter.gpio if keyboard is None else []:
        if w.counter in seen_gpio:
            raise ConfigError(f"{src}: two [[counter.gpio]] entries for counter '{w.counter}'")
        seen_gpio.add(w.counter)
        for name in _PIN_FIELDS:
            pin = getattr(w, name)
            if not pin:
                continue
            if pin in used:
                raise ConfigError(f"{src}: GPIO{pin} is wired twice: {used[pin]} and {w.counter}.{name}")
            used[pin] = f"{w.counter}.{name}"
        if not any(getattr(w, a) for a in ACTIONS):
            raise ConfigError(f"{src}: [[counter.gpio]] for '{w.counter}' wires no button")
    stdin = 0
    for k in cfg.counter.keyboard if keyboard is None else []:
        keymap(k.keys, f"{src}: [[counter.keyboard]] '{k.counter}' keys")
        stdin += k.device == "stdin"
    if stdin > 1:
        raise ConfigError(f"{src}: only one [[counter.keyboard]] can read device = 'stdin'")
    for w in [*cfg.counter.gpio, *cfg.counter.keyboard]:
        if w.transfer_service and w.transfer_service not in services:
            raise ConfigError(f"{src}: counter '{w.counter}' transfer_service '{w.transfer_service}' "
                              f"is not a service (services: {', '.join(services)})")


class CounterApp:
    """The counters this process drives.

    :param cfg: the whole configuration (``[mqtt]``, ``[counter]``, counters, services).
    :param pin_factory: gpiozero pin factory for the GPIO counters; ``None`` for gpiozero's default.
    :param keyboard: a counter id to drive from standard input instead of the configured wiring
        (``antre counter --keyboard loket-1``).
    :param stdin: the stream standard-input keyboards read (default ``sys.stdin.buffer``).
    """

    def __init__(self, cfg: Config, *, pin_factory: Any = None, keyboard: str | None = None,
                 stdin: BinaryIO | None = None):
        check(cfg, keyboard)
        self.cfg = cfg
        app = cfg.counter
        gpio = list(app.gpio)
        boards = list(app.keyboard)
        if keyboard is not None:
            configured = next((k for k in app.keyboard if k.counter == keyboard), None)
            gpio = []
            boards = [dataclasses.replace(configured, device="stdin") if configured
                      else KeyboardCounterConfig(counter=keyboard)]
        if not gpio and not boards:
            raise ConfigError(f"{cfg.source}: no counter to drive: add [[counter.gpio]] or [[counter.keyboard]] "
                              "entries, or run 'antre counter --keyboard loket-1' to use this terminal")
        self.topics = Topics(cfg.office.id)
        self.client_id = client_id_for(cfg, "counter")
        self.link = MqttLink(cfg.mqtt, self.topics, self.client_id, "counter")
        self.requester = Requester(self.link)
        self.stopped = threading.Event()
        self.desks: dict[str, CounterDesk] = {}
        self.gpio: dict[str, Any] = {}            # counter id -> GpioButtons
        self.gpio_feedback: dict[str, Any] = {}   # counter id -> GpioFeedback
        self.inputs: list[KeyInput] = []
        self.presence = ServicePresence()
        self._open_inputs = 0
        self._lock = threading.Lock()

        feedbacks: dict[str, list[Feedback]] = {}
        transfer: dict[str, str] = {}
        try:
            if gpio:
                from .gpio import GpioFeedback

                for w in gpio:
                    fb = GpioFeedback.from_wiring(w, pin_factory)
                    self.gpio_feedback[w.counter] = fb
                    feedbacks.setdefault(w.counter, []).append(fb)
                    transfer[w.counter] = transfer.get(w.counter) or w.transfer_service
            for k in boards:
                feedbacks.setdefault(k.counter, []).append(TerminalFeedback(k.counter))
                transfer[k.counter] = transfer.get(k.counter) or k.transfer_service
            for counter, fbs in feedbacks.items():
                feedback = fbs[0] if len(fbs) == 1 else Feedbacks(fbs)
                self.desks[counter] = CounterDesk(counter, self.requester, feedback or NoFeedback(),
                                                  timeout=app.request_timeout, transfer_service=transfer[counter])
            for w in gpio:
                from .gpio import GpioButtons

                self.gpio[w.counter] = GpioButtons(w, self.desks[w.counter].press, pin_factory)
            for k in boards:
                self._add_keyboard(k, stdin)
        except BaseException:
            self._close_devices()
            raise

        self.link.subscribe(self.topics.state, self._on_state)
        self.link.subscribe(self.topics.service_statuses, self._on_status)
        self.link.on_connect(lambda: self._set_connected(True))
        self.link.on_disconnect(lambda: self._set_connected(False))
        self.link.set_status(counters=sorted(self.desks))

    def _add_keyboard(self, k: KeyboardCounterConfig, stdin: BinaryIO | None) -> None:
        mapping = keymap(k.keys, f"{self.cfg.source}: [[counter.keyboard]] '{k.counter}' keys")
        board = KeyboardCounter(k.counter, mapping, self.desks[k.counter].press)
        # Keys typed before the first connection are read once connected (or after the request
        # timeout): a key is never replayed minutes later, but a script piping keys in works.
        ready = lambda: self.link.connected.wait(self.cfg.counter.request_timeout)  # noqa: E731
        if k.device == "stdin":
            inp: KeyInput = StreamKeys(board.key, stdin, on_end=self._input_ended, ready=ready)
        else:
            inp = EvdevKeys(board.key, k.device, on_end=self._input_ended, ready=ready)
        self.inputs.append(inp)
        log.info("%s: keyboard %s (%s)", k.counter, k.device, describe(mapping))

    # ------------------------------------------------------------------ life cycle

    def start(self) -> "CounterApp":
        log.info("driving %s as %s on %s", ", ".join(sorted(self.desks)), self.client_id, self.cfg.mqtt.url)
        self.link.start()
        self._open_inputs = len(self.inputs)
        for inp in self.inputs:
            inp.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until :meth:`request_stop` (or every key input has ended); True when stopping."""
        return self.stopped.wait(timeout)

    def request_stop(self) -> None:
        self.stopped.set()

    def stop(self) -> None:
        self.stopped.set()
        for inp in self.inputs:
            inp.stop()
        for desk in self.desks.values():
            desk.wait_idle(self.cfg.counter.request_timeout + 1)
        self.link.stop()
        self._close_devices()

    def _close_devices(self) -> None:
        for buttons in self.gpio.values():
            buttons.close()
        for desk in self.desks.values():
            desk.close()
        for fb in self.gpio_feedback.values():
            fb.close()

    def _input_ended(self) -> None:
        """A key input reached its end (a pipe closed). With no input left and no GPIO, the process ends."""
        with self._lock:
            self._open_inputs -= 1
            last = self._open_inputs <= 0 and not self.gpio
        if last:
            log.info("input ended; finishing the commands in flight and stopping")
            for desk in self.desks.values():
                desk.wait_idle(self.cfg.counter.request_timeout + 1)
            self.stopped.set()

    # ------------------------------------------------------------------ MQTT (paho's thread)

    def _set_connected(self, connected: bool) -> None:
        for desk in self.desks.values():
            desk.set_connected(connected)

    def _on_state(self, topic: str, payload: bytes) -> None:
        state = read_object(payload, f"state on {topic}")
        if state is not None:
            for desk in self.desks.values():
                desk.update_state(state)

    def _on_status(self, topic: str, payload: bytes) -> None:
        if not self.presence.update(read_presence(self.topics, topic, payload)):
            return
        online = self.presence.online
        for desk in self.desks.values():
            desk.set_service_online(online)
