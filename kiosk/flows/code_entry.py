"""A code typed on the kiosk's big keypad, checked by its check digit before anything is sent.

Shared by :mod:`.checkin` (a booking code) and :mod:`.letters` (a letter's tracking code); each says how many
digits its code has, how its check digit is checked and how the screen shows the typed digits; each has
``send(code, on_reply)`` (its command) and ``refusal(reply)`` (the words for a refusal).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .. import logic

log = logging.getLogger(__name__)

#: Outcomes of a key press.
SEND = "send"
MISTYPED = "mistyped"


class CodeEntry:
    """The typed code (``typed``) of ``digits`` digits, whose check digit ``code_ok`` checks."""

    #: what the log calls the flow (never the code itself: it is the resident's key)
    what = "code"

    def __init__(self, gate: logic.CommandGate, digits: int, code_ok: Callable[[str], bool]):
        self.gate = gate
        self.digits = digits
        self._code_ok = code_ok
        self.typed = ""

    def reset(self) -> None:
        self.typed = ""

    @property
    def complete(self) -> bool:
        """All digits typed: OK can be pressed."""
        return len(self.typed) == self.digits

    def key(self, key: str) -> str | None:
        """One key of the keypad (a digit, ``del`` or ``ok``).

        Returns :data:`SEND` when OK was pressed on a complete code whose check digit matches,
        :data:`MISTYPED` when it does not, else None.
        """
        if key == "del":
            self.typed = self.typed[:-1]
        elif key == "ok":
            if not self.complete:
                return None
            if self._code_ok(self.typed):
                return SEND
            log.info("%s: the typed code's check digit does not match", self.what)
            return MISTYPED
        elif key.isdigit() and key.isascii() and len(self.typed) < self.digits:
            self.typed += key
        return None


__all__ = ["CodeEntry", "SEND", "MISTYPED"]
