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
from .code_entry import MISTYPED, SEND, CodeEntry

log = logging.getLogger(__name__)


def _dotted(hhmm: str) -> str:
    """``"10:00"`` (the protocol's form) as residents read it: ``10.00`` (EYD)."""
    return hhmm.replace(":", ".")


class CheckinFlow(CodeEntry):
    """The typed code (``typed``), what the keypad shows, and the ``check_in`` command."""

    what = "check-in"

    def __init__(self, gate: logic.CommandGate):
        super().__init__(gate, BOOKING_CODE_DIGITS, booking_code_ok)

    @property
    def shown(self) -> str:
        """The code as the screen shows it: digits and blanks, spaced (``1 2 3 _ _ _ _ _``)."""
        return (self.typed + "_" * (BOOKING_CODE_DIGITS - len(self.typed))).replace("", " ").strip()

    mistyped = Message("warning.png", "checkin_failed", "checkin_mistyped")

    def check_in(self, code: str, on_reply: Callable[[Reply], None]) -> str | None:
        """Sends ``check_in``; None when a command is already in flight."""
        rid = self.gate.send("check_in", {"code": code, "channel": "kiosk"}, on_reply)
        if rid is not None:
            log.info("check_in request %s", rid)  # the code itself is not logged: it is the resident's key
        return rid

    send = check_in

    #: The title of each refusal: an unknown code, a used one and one too early read differently.
    TITLES = {"booking_not_found": "checkin_unknown", "too_many_attempts": "checkin_unknown",
              "already_checked_in": "checkin_used", "too_early": "checkin_early",
              "booking_expired": "checkin_late"}

    @staticmethod
    def refusal(reply: Reply) -> Message:
        """The message for a refused ``check_in``: a used code names the number already printed, a code
        used too early says from when it works (both from the reply's ``details``)."""
        log.warning("check-in refused: %s", reply.code)
        details = reply.details or {}
        title = CheckinFlow.TITLES.get(reply.code or "", "checkin_failed")
        key = f"checkin_err_{reply.code}"
        values: dict[str, Any] = {}
        if reply.code == "already_checked_in" and isinstance(details.get("number"), str):
            key, values = "checkin_err_already_checked_in_number", {"number": details["number"]}
        elif reply.code == "too_early" and isinstance(details.get("checkin_from"), str):
            values = {"time": _dotted(details["checkin_from"]), "slot": _dotted(str(details.get("slot", "")))}
            key = "checkin_err_too_early_from"
        key = texts.error_key(reply.code, key)
        icon = "ticket.png" if reply.code == "already_checked_in" else "warning.png"
        return Message(icon, title, key, values)

    @staticmethod
    def row_for(result: dict[str, Any], rows: Sequence[logic.ServiceRow]) -> logic.ServiceRow:
        """The service row of the ticket made, or one built from the result when the kiosk does not list it."""
        code = str(result.get("service"))
        return next((r for r in rows if r.code == code), None) or logic.ServiceRow(
            code, str(result.get("service_name", "")), "", "", 0, 0, False, ())
