"""The staff PIN: typed on the PIN pad (opened by holding the office name), it leaves kiosk mode."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

#: The longest PIN the pad takes.
MAX_PIN = 12


class StaffPin:
    """The digits entered (``entered``) and the error to show (``error_key``, a text key, or "")."""

    def __init__(self, pin: str):
        self._pin = pin
        self.entered = ""
        self.error_key = ""

    def reset(self) -> None:
        self.entered = ""
        self.error_key = ""

    def key(self, key: str) -> bool:
        """One key (a digit, ``del`` or ``ok``); True when OK confirmed the right PIN."""
        self.error_key = ""
        if key == "del":
            self.entered = self.entered[:-1]
        elif key == "ok":
            if self.entered == self._pin:
                return True
            log.warning("wrong staff PIN entered")
            self.entered = ""
            self.error_key = "pin_wrong"
        elif len(self.entered) < MAX_PIN:
            self.entered += key
        return False
