"""Rating a served ticket: the overall face, optionally the nine IKM questions, then ``rate``.

A resident picks their number from the list of recently served ones or types it
(:class:`NumberKeypad`); in rating-only mode the kiosk prompts by itself when its
counter completes a ticket. An overall score already given is never lost: it is
sent quietly when the resident walks away or the next ticket's prompt arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from antre.link.mqtt import Reply

from .. import logic, texts
from . import Message

log = logging.getLogger(__name__)

#: What :meth:`RatingFlow.face` asks the screen to do next.
ASK_MORE = "ask_more"        # the overall score is in: offer the detailed questions or sending it alone
NEXT_ELEMENT = "next_element"  # show the next IKM question
SEND = "send"                  # every question answered: send

#: The digits of a ticket's rating code (the service's ``issue_ticket`` ``rating_code``, printed on it).
RATING_CODE_DIGITS = 4

#: The longest number that can be typed (a letter and six digits).
MAX_TYPED = 7


class RatingFlow:
    """One resident's rating: ``number``, the overall ``score`` and the IKM ``elements`` answered so far."""

    def __init__(self, gate: logic.CommandGate):
        self.gate = gate
        self.number: str | None = None
        self.code: str | None = None     # the rating code printed on the ticket, when the service needs it
        self.score: int | None = None
        self.elements: list[int] = []

    def reset(self) -> None:
        self.number, self.code, self.score, self.elements = None, None, None, []

    @property
    def has_score(self) -> bool:
        """An overall score was given and not sent yet."""
        return bool(self.score)

    def start(self, number: str, code: str | None = None) -> None:
        """Asks about ``number`` (with its rating ``code`` as typed). A different ticket's overall score still
        unsent is sent quietly first (the next ticket was completed while the previous resident was still
        answering)."""
        if self.has_score and self.number != number:
            self.send_quietly()
        self.number, self.code, self.score, self.elements = number, code, None, []

    def face(self, score: int) -> str | None:
        """A touch on a face: the overall score first, then one answer per IKM question.

        Returns :data:`ASK_MORE`, :data:`NEXT_ELEMENT`, :data:`SEND`, or None when no rating is open.
        """
        if not self.number:
            return None
        if self.score is None:
            self.score = score
            return ASK_MORE
        self.elements.append(score)
        return SEND if len(self.elements) == len(texts.IKM_ELEMENTS) else NEXT_ELEMENT

    def details(self) -> None:
        """The resident chose to answer the detailed questions."""
        self.elements = []

    @property
    def element_index(self) -> int:
        """The IKM question being asked (0-based)."""
        return len(self.elements)

    def _args(self, with_elements: bool) -> dict[str, Any]:
        args: dict[str, Any] = {"ticket": self.number, "score": self.score}
        if self.code:
            args["code"] = self.code
        if with_elements and len(self.elements) == len(texts.IKM_ELEMENTS):
            args["elements"] = list(self.elements)
        return args

    def send(self, with_elements: bool, on_reply: Callable[[Reply], None]) -> str | None:
        """Sends ``rate`` (with the answers when all were given and ``with_elements``); None when a
        command is already in flight. ``on_reply`` runs once, on a background thread."""
        return self.gate.send("rate", self._args(with_elements), on_reply)

    def send_quietly(self) -> None:
        """Sends the overall score alone, with nothing shown (the resident has left)."""
        number = self.number
        self.gate.send("rate", self._args(False), lambda reply: log.info(
            "rating of %s on leaving: %s", number, "ok" if reply.ok else reply.code))

    def finished(self, reply: Reply, number: str | None) -> Message:
        """``rate`` for ``number`` answered: the rating is closed; returns the message, thanks or why the
        rating was not taken."""
        self.reset()
        if reply.ok:
            return Message("check.png", "thanks")
        log.warning("rating of %s refused: %s: %s", number, reply.code, reply.message)
        key = f"rate_err_{reply.code}"
        if key not in texts.TEXTS:
            key = "rate_err_other"
        icon = "check.png" if reply.code == "already_rated" else "warning.png"
        return Message(icon, key, values={"number": number or ""})


class NumberKeypad:
    """A ticket number typed as a letter and digits (``A12`` -> ``A-012``)."""

    def __init__(self) -> None:
        self.typed = ""

    def reset(self) -> None:
        self.typed = ""

    def number(self, width: int) -> str | None:
        """The normalised number typed so far, or None when it is not one yet."""
        return logic.normalize_number(self.typed, width)

    def shown(self, width: int) -> str:
        return self.number(width) or self.typed or "_"

    def key(self, key: str, width: int) -> str | None:
        """One key (a letter, a digit, ``del`` or ``ok``); returns the number when OK completes one."""
        if key == "del":
            self.typed = self.typed[:-1]
        elif key == "ok":
            return self.number(width)
        elif key.isalpha():
            # A letter starts a new number, keeping digits typed before it (the resident typed
            # "1", "2" and then "A" for A-012): only digits after an earlier letter are replaced.
            digits = self.typed if self.typed.isdigit() else ""
            self.typed = (key + digits)[:MAX_TYPED]
        elif len(self.typed) < MAX_TYPED:
            self.typed = (self.typed or "") + key
        return None
