"""The counter (loket) buttons: GPIO push buttons or a USB keypad that call the next resident.

- :mod:`counter.logic` -- :class:`~counter.logic.CounterDesk`, one per counter: presses in,
  commands out, light and sound back. No hardware imports.
- :mod:`counter.gpio` -- gpiozero buttons, status LED and buzzer (injectable pin factory).
- :mod:`counter.keys` -- a USB numeric keypad (evdev) or standard input.
- :mod:`counter.app` -- :class:`~counter.app.CounterApp`, the ``antre counter`` process.

Wiring, key map and behaviour: ``docs/counter.md``.
"""
