"""The counter (loket) buttons: GPIO push buttons or a USB keypad that call the next resident.

- :mod:`antre_counter.logic` -- :class:`~antre_counter.logic.CounterDesk`, one per counter: presses in,
  commands out, light and sound back. No hardware imports.
- :mod:`antre_counter.gpio` -- gpiozero buttons, status LED and buzzer (injectable pin factory).
- :mod:`antre_counter.keys` -- a USB numeric keypad (evdev) or standard input.
- :mod:`antre_counter.app` -- :class:`~antre_counter.app.CounterApp`, the ``antre counter`` process.

Wiring, key map and behaviour: ``docs/counter.md``.
"""
