"""GPIO backend: push buttons, a status LED and a buzzer on the Pi's header (gpiozero 2.x).

Wiring (BCM numbers, the defaults used in ``docs/counter.md``)::

    GPIO17 ──[ NEXT ]──┐        each button between its pin and GND;
    GPIO27 ──[RECALL]──┤        the Pi's internal pull-up holds the pin high,
    GPIO22 ──[ SKIP ]──┤        a press pulls it low
    GPIO23 ──[ DONE ]──┤
    GPIO5  ──[PAUSE ]──┤
    GPIO6  ──[TRANSF]──┴── GND
    GPIO24 ──[330 Ω]──|>|── GND      status LED (long leg towards the pin)
    GPIO25 ─────────[BUZZER +]  [-]── GND   active buzzer (beeps on DC)

Every gpiozero device is created with the ``pin_factory`` passed in; ``None``
means gpiozero's own choice (lgpio on a Pi 5 / Bookworm, or whatever
``GPIOZERO_PIN_FACTORY`` names). Tests pass :class:`gpiozero.pins.mock.MockFactory`.

Example, with no Pi attached::

    from gpiozero.pins.mock import MockFactory
    from antre_counter.config import GpioCounterConfig
    from antre_counter.gpio import GpioButtons, GpioFeedback

    factory = MockFactory()
    wiring = GpioCounterConfig(counter="loket-1", next=17, led=24, buzzer=25)
    feedback = GpioFeedback.from_wiring(wiring, factory)
    buttons = GpioButtons(wiring, print, factory)
    factory.pin(17).drive_low()      # prints "next"
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gpiozero import LED, Button, Buzzer

from .config import GpioCounterConfig
from .logic import ACTIONS, HOLD_NEXT, Light, Sound

log = logging.getLogger("antre_counter.gpio")


class Debouncer:
    """Turns the raw edges of one button into clean presses.

    A press is accepted only when the line had been quiet (no edge at all) for
    ``bounce_time`` seconds before it. A bouncing contact makes a burst of
    edges a few milliseconds apart, on press and on release; only the first
    edge of the burst can count, and only if it is a press. A human cannot
    press again within 50 ms of letting go, so no real press is lost.

    gpiozero passes ``bounce_time`` to the pin too (lgpio debounces in its
    driver), but this check does not depend on the pin library doing it.

    :param bounce_time: in seconds; 0 accepts every press edge.
    :param clock: a monotonic clock in seconds (for tests).
    """

    def __init__(self, bounce_time: float, clock: Callable[[], float] = time.monotonic):
        self.bounce_time = bounce_time
        self.clock = clock
        self._last_edge: float | None = None

    def edge(self, pressed: bool) -> bool:
        """Records one edge; True when it is a press to act on."""
        now = self.clock()
        quiet = self._last_edge is None or now - self._last_edge >= self.bounce_time
        self._last_edge = now
        return pressed and quiet

    def quiet(self) -> bool:
        """True when the next press edge would be accepted."""
        return self._last_edge is None or self.clock() - self._last_edge >= self.bounce_time


class GpioButtons:
    """The push buttons of one counter. Each clean press calls ``press(action)``.

    With ``hold_next_skips`` the *next* button acts when it is let go (a tap:
    ``"next"``) or once it has been held for ``hold_time`` seconds
    (``"hold_next"``: skip the called resident, then call the next one).
    Without it, *next* acts the moment it is pressed, like every other button.

    :param wiring: one ``[[counter.gpio]]`` entry.
    :param press: called with an action name from :data:`antre_counter.logic.ACTIONS` or ``"hold_next"``.
    :param pin_factory: a gpiozero pin factory; ``None`` for gpiozero's default.
    """

    def __init__(self, wiring: GpioCounterConfig, press: Callable[[str], Any], pin_factory=None):
        self.wiring = wiring
        self._press = press
        self.buttons: dict[str, Button] = {}
        self.debouncers: dict[str, Debouncer] = {}
        self._armed = False       # hold mode: next was pressed and has not acted yet
        self._armed_id = 0
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []
        hold = wiring.hold_next_skips
        try:
            for action in ACTIONS:
                pin = getattr(wiring, action)
                if not pin:
                    continue
                kwargs: dict[str, Any] = {}
                if action == "next" and hold:
                    kwargs = {"hold_time": wiring.hold_time, "hold_repeat": False}
                button = Button(pin, pull_up=wiring.pull_up, bounce_time=wiring.bounce_time or None,
                                pin_factory=pin_factory, **kwargs)
                self.buttons[action] = button
                self.debouncers[action] = Debouncer(wiring.bounce_time)
                button.when_pressed = self._edge_handler(action, True)
                button.when_released = self._edge_handler(action, False)
                if action == "next" and hold:
                    button.when_held = self._held
        except Exception:
            self.close()
            raise

    def quiet(self, action: str) -> bool:
        """True when a press of ``action`` would be taken (the button's bounce time has passed)."""
        return self.debouncers[action].quiet()

    def close(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, []
        for t in timers:
            t.cancel()
        for b in self.buttons.values():
            b.close()
        self.buttons.clear()

    # ------------------------------------------------------------------ edges

    def _edge_handler(self, action: str, pressed: bool) -> Callable[[], None]:
        def handler() -> None:
            try:
                self._edge(action, pressed)
            except Exception:  # never kill gpiozero's callback thread
                log.exception("%s: handling %s failed", self.wiring.counter, action)
        return handler

    def _edge(self, action: str, pressed: bool) -> None:
        accepted = self.debouncers[action].edge(pressed)
        if action == "next" and self.wiring.hold_next_skips:
            self._next_edge(pressed, accepted)
        elif accepted:
            self._press(action)

    def _next_edge(self, pressed: bool, accepted: bool) -> None:
        with self._lock:
            if accepted:
                self._armed = True
                self._armed_id += 1
                return
            if pressed or not self._armed:
                return
            # A release: act once the line has stayed released for the bounce time.
            token = self._armed_id
            timer = threading.Timer(self.wiring.bounce_time, self._settled, args=(token,))
            timer.daemon = True
            self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _settled(self, token: int) -> None:
        button = self.buttons.get("next")
        with self._lock:
            if not self._armed or token != self._armed_id or button is None or button.is_pressed:
                return
            self._armed = False
        self._press("next")

    def _held(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self._armed = False
        self._press(HOLD_NEXT)


class GpioFeedback:
    """A status LED and an active buzzer (either may be absent).

    The LED is on while serving, off when idle or paused, blinks fast (0.1 s)
    while a command is in flight and slowly (0.5 s) while the broker or service
    is unreachable. The buzzer beeps once (0.1 s) on success and three times on
    an error.
    """

    BUSY_BLINK = (0.1, 0.1)       #: LED on/off seconds while a command is in flight
    OFFLINE_BLINK = (0.5, 0.5)    #: LED on/off seconds while unreachable
    PATTERNS = {Sound.OK: (1, 0.1, 0.1), Sound.ERROR: (3, 0.1, 0.1)}   #: beeps, on, off (seconds)

    def __init__(self, led: LED | None = None, buzzer: Buzzer | None = None):
        self.led = led
        self.buzzer = buzzer
        self._pattern: _Pattern | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_wiring(cls, wiring: GpioCounterConfig, pin_factory=None) -> "GpioFeedback":
        led = LED(wiring.led, pin_factory=pin_factory) if wiring.led else None
        try:
            buzzer = Buzzer(wiring.buzzer, pin_factory=pin_factory) if wiring.buzzer else None
        except Exception:
            if led is not None:
                led.close()
            raise
        return cls(led, buzzer)

    def show(self, light: Light) -> None:
        if self.led is None:
            return
        if light is Light.ON:
            self.led.on()
        elif light is Light.OFF:
            self.led.off()
        elif light is Light.BUSY:
            self.led.blink(*self.BUSY_BLINK)
        else:
            self.led.blink(*self.OFFLINE_BLINK)

    def sound(self, sound: Sound) -> None:
        if self.buzzer is None:
            return
        beeps, on, off = self.PATTERNS[sound]
        with self._lock:
            if self._pattern is not None:
                self._pattern.stop()
            self._pattern = _Pattern(self.buzzer, beeps, on, off)
            self._pattern.start()

    @property
    def beeping(self) -> bool:
        """True while a beep pattern is playing."""
        p = self._pattern
        return p is not None and p.is_alive()

    def close(self) -> None:
        """Switches the LED and buzzer off and releases their pins (safe to call twice)."""
        with self._lock:
            pattern, self._pattern = self._pattern, None
            if pattern is not None and not self.buzzer.closed:
                pattern.stop()
        for dev in (self.led, self.buzzer):
            if dev is not None:
                dev.close()


class _Pattern(threading.Thread):
    """Plays ``beeps`` beeps on a buzzer; a newer pattern stops it at once."""

    def __init__(self, buzzer: Buzzer, beeps: int, on: float, off: float):
        super().__init__(name="counter-beep", daemon=True)
        self.buzzer, self.beeps, self.on, self.off = buzzer, beeps, on, off
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            for i in range(self.beeps):
                self.buzzer.on()
                if self.stopping.wait(self.on):
                    break
                self.buzzer.off()
                if i < self.beeps - 1 and self.stopping.wait(self.off):
                    break
        finally:
            if not self.stopping.is_set():
                self.buzzer.off()

    def stop(self) -> None:
        self.stopping.set()
        if self is not threading.current_thread():
            self.join(2)
        self.buzzer.off()
