"""Check-in of a booking: the code from the website typed on a big keypad, then ``check_in``.

The check digit catches a mistyped or swapped digit before anything is sent.
The ticket the service makes is shown and printed like any other (:mod:`.issuing`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from antre.link.mqtt import Reply
from antre.link.protocol import BOOKING_CODE_DIGITS, booking_code_ok

from .. import logic, texts
from . import Message

log = logging.getLogger(__name__)

#: Outcomes of a key press.
SEND = "send"
MISTYPED = "mistyped"


class CheckinFlow:
    """The typed code (``typed``), what the keypad shows, and the ``check_in`` command."""

    def __init__(self, gate: logic.CommandGate):
        self.gate = gate
        self.typed = ""

    def reset(self) -> None:
        self.typed = ""

    @property
    def complete(self) -> bool:
        """All digits typed: OK can be pressed."""
        return len(self.typed) == BOOKING_CODE_DIGITS

    @property
    def shown(self) -> str:
        """The code as the screen shows it: digits and blanks, spaced (``1 2 3 _ _ _ _ _``)."""
        return (self.typed + "_" * (BOOKING_CODE_DIGITS - len(self.typed))).replace("", " ").strip()

    def key(self, key: str) -> str | None:
        """One key of the keypad (a digit, ``del`` or ``ok``).

        Returns :data:`SEND` when OK was pressed on a complete code whose check
        digit matches, :data:`MISTYPED` when it does not, else None.
        """
        if key == "del":
            self.typed = self.typed[:-1]
        elif key == "ok":
            if not self.complete:
                return None
            if booking_code_ok(self.typed):
                return SEND
            log.info("check-in: the typed code's check digit does not match")
            return MISTYPED
        elif key.isdigit() and len(self.typed) < BOOKING_CODE_DIGITS:
            self.typed += key
        return None

    mistyped = Message("warning.png", "checkin_failed", "checkin_mistyped")

    def check_in(self, code: str, on_reply: Callable[[Reply], None]) -> str | None:
        """Sends ``check_in``; None when a command is already in flight."""
        rid = self.gate.send("check_in", {"code": code, "channel": "kiosk"}, on_reply)
        if rid is not None:
            log.info("check_in request %s", rid)  # the code itself is not logged: it is the resident's key
        return rid

    @staticmethod
    def refusal(reply: Reply) -> Message:
        """The message for a refused ``check_in``."""
        log.warning("check-in refused: %s", reply.code)
        key = f"checkin_err_{reply.code}"
        if key not in texts.TEXTS:
            key = f"err_{reply.code}" if f"err_{reply.code}" in texts.TEXTS else "err_other"
        return Message("warning.png", "checkin_failed", key)

    @staticmethod
    def row_for(result: dict[str, Any], rows: Sequence[logic.ServiceRow]) -> logic.ServiceRow:
        """The service row of the ticket made, or one built from the result when the kiosk does not list it."""
        code = str(result.get("service"))
        return next((r for r in rows if r.code == code), None) or logic.ServiceRow(
            code, str(result.get("service_name", "")), "", "", 0, 0, False, ())
