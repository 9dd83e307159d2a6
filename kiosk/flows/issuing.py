"""Issuing: a touch on a service button, ``issue_ticket``, the ticket screen and the printout.

The flow sends at most one command per touch (the :class:`~antre_kiosk.logic.CommandGate`
refuses a second while one is in flight), turns a refusal into a message, and
turns a ticket into what the ticket screen shows and what the printer prints.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from antre.link.mqtt import Reply

from .. import logic, texts
from ..printer import PrintResult
from ..ticket import PRIORITIES, TicketInfo, chat_url, status_url
from . import Message
from .home import can_issue

log = logging.getLogger(__name__)

#: How the print job's state reads on the ticket screen.
PRINT_TEXT_KEYS = {"printing": "printing", "printed": "printed", "failed": "print_failed"}


@dataclass(frozen=True)
class TicketView:
    """The ticket screen's texts, in one language."""

    number: str
    service_label: str
    priority_label: str
    ahead_text: str
    estimate_text: str
    print_text: str
    rating_text: str = ""  # "Kode penilaian: 0387": the code to rate this ticket, also when it did not print


class IssuingFlow:
    """Sends ``issue_ticket`` for one touch and says what to show and print."""

    def __init__(self, gate: logic.CommandGate, *, public_url: str = "", whatsapp_number: str = "",
                 office_name: str = ""):
        self.gate = gate
        self.public_url = public_url
        self.whatsapp_number, self.office_name = whatsapp_number, office_name

    def issue(self, row: logic.ServiceRow | None, availability: str, busy: bool, priority: str,
              on_reply: Callable[[Reply], None]) -> str | None:
        """Sends ``issue_ticket`` for ``row`` (with ``priority`` if one was chosen).

        Returns the request id, or None when nothing was sent: no such service, no
        tickets now, its quota reached, or a command already in flight. ``on_reply``
        runs once, on a background thread.
        """
        if row is None or not can_issue(row, availability, busy):
            return None
        args: dict[str, Any] = {"service": row.code, "channel": "kiosk"}
        if priority:
            args["priority"] = priority
        rid = self.gate.send("issue_ticket", args, on_reply)
        if rid is not None:
            log.info("issue_ticket %s (%s) request %s", row.code, priority or "regular", rid)
        return rid

    @staticmethod
    def refusal(reply: Reply) -> Message:
        """The message for a refused ``issue_ticket``."""
        log.warning("ticket not issued: %s: %s", reply.code, reply.message)
        key = texts.error_key(reply.code)
        return Message("warning.png", "issue_failed", key)

    def ticket_info(self, result: dict[str, Any], row: logic.ServiceRow) -> TicketInfo:
        """What is printed for the ticket in ``result``; raises ValueError when it cannot be printed."""
        info = TicketInfo.from_result(result, requirements=row.requirements, service_name_en=row.name_en)
        url = status_url(self.public_url, info.business_date, info.number, info.rating_code)
        chat = chat_url(self.whatsapp_number, self.office_name, info.business_date, info.number)
        return dataclasses.replace(info, status_url=url, chat_url=chat)


def print_state(result: PrintResult, printer_enabled: bool) -> str:
    """The ticket screen's print state once the printer answered: printed, failed, or none (no printer)."""
    if result.ok:
        return "printed"
    return "failed" if printer_enabled else "none"


def ticket_number(result: dict[str, Any]) -> str:
    return str(result.get("number", "?"))


def ticket_view(result: dict[str, Any], row: logic.ServiceRow, print_state: str, lang: str) -> TicketView:
    """The ticket screen for ``result``; ``print_state`` is printing, printed, failed or none."""
    def t(key: str, **values: Any) -> str:
        return texts.text(key, lang, **values)

    prio = result.get("priority")
    ahead = int(result.get("ahead") or 0)
    minutes = int(result.get("estimated_wait_minutes") or 0)
    return TicketView(
        number=ticket_number(result),
        service_label=row.label(lang),
        priority_label=f"{t('priority')}: {t('priority_' + prio)}" if prio in PRIORITIES else "",
        ahead_text=t("ahead", n=ahead) if ahead else t("ahead_none"),
        estimate_text=t("estimate", m=minutes) if minutes else t("estimate_now"),
        print_text=t(PRINT_TEXT_KEYS.get(print_state, "no_printer")),
        rating_text=t("ticket_rating_code", code=code) if (code := rating_code(result)) else "",
    )


def rating_code(result: dict[str, Any]) -> str:
    """The ticket's 4-digit rating code from ``issue_ticket``'s reply, or "" when it has none (or a bad one)."""
    code = result.get("rating_code")
    return code if isinstance(code, str) and len(code) == 4 and code.isascii() and code.isdigit() else ""
