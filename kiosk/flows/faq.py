"""Tanya: the office's FAQ assistant at the kiosk (the read-only command ``ask``, antre/rules/faq.py).

The Tanya & lapor screen shows the office's most common questions as big buttons (the first way of asking each
switched-on entry of the FAQ edited in the console, in its order: ``faq_common``, asked each time the screen opens) and a *Tanya* button to type a question on the kiosk's keys. The answer
is shown large and *Dengarkan* reads it. When the assistant is not sure (``{"answer": null}``), the kiosk says so
and offers "Minta petugas menghubungi saya" (:mod:`.callback`) instead of guessing. Questions are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from antre.link.mqtt import Reply

from .. import logic, texts

log = logging.getLogger(__name__)

#: The most common questions shown as buttons (more would not be 20 mm on the 7-inch panel).
MAX_BUTTONS = 4
QUESTION_LIMIT = 150    # typed at the kiosk; the protocol takes 300

TEXTS: dict[str, tuple[str, str]] = {
    "help": ("Tanya & lapor", "Ask & report"),
    "help_sub": ("Pertanyaan, pengaduan, minta dihubungi", "Questions, complaints, a call back"),
    "help_title": ("Apa yang Anda perlukan?", "What do you need?"),
    "ask": ("Tanya jawab", "Questions"),
    "ask_sub": ("Pertanyaan yang sering ditanyakan", "Frequently asked questions"),
    "faq_title": ("Pilih pertanyaan, atau tanyakan sendiri", "Choose a question, or ask your own"),
    "faq_type": ("Tanya sendiri", "Ask my own"),
    "faq_type_sub": ("Ketik pertanyaan Anda", "Type your question"),
    "ask_prompt": ("Tulis pertanyaan Anda", "Write your question"),
    "ask_send": ("Tanya", "Ask"),
    "ask_wait": ("Mencari jawaban ...", "Looking for the answer ..."),
    "answer_title": ("Jawaban", "Answer"),
    "answer_unsure": ("Maaf, kami belum bisa menjawab pertanyaan ini dengan pasti.",
                      "Sorry, we cannot answer this question with confidence."),
    "answer_unsure_sub": ("Petugas bisa menghubungi Anda, atau tanyakan di loket.",
                          "Staff can contact you, or ask at the counter."),
    "answer_failed": ("Pertanyaan belum terkirim. Coba lagi, atau tanyakan di loket.",
                      "The question was not sent. Try again, or ask at the counter."),
    "ask_p_short": ("Tulis paling sedikit 3 huruf.", "Write at least 3 letters."),
}
texts.TEXTS.update(TEXTS)


def common_questions(reply: Reply, limit: int = MAX_BUTTONS) -> list[str]:
    """The questions for the buttons from the service's ``faq_common`` reply (the console's FAQ, live): none
    when the service did not answer (never the configuration's seed, which the console may have changed)."""
    if not reply.ok:
        log.warning("faq_common: %s", reply.code)
        return []
    got = (reply.result or {}).get("questions")
    out: list[str] = []
    for q in got if isinstance(got, list) else []:
        q = " ".join(q.split())[:200] if isinstance(q, str) else ""
        if q and q not in out:
            out.append(q)
        if len(out) == limit:
            break
    return out


@dataclass(frozen=True)
class Answer:
    """What the answer screen shows: the question, the answer (None: the assistant was not sure, or the
    question was not answered at all: ``failed``)."""
    question: str
    text: str | None
    failed: bool = False


class AskFlow:
    """A question typed on the kiosk's keys (one step, like the report forms) or chosen from the buttons."""

    steps = ("question",)
    index = 0
    step = "question"
    kind = logic.LETTERS
    choices: list[str] = []
    last = True
    limit = QUESTION_LIMIT
    slip_note = ""

    def __init__(self, gate: logic.CommandGate):
        self.gate = gate
        self.reset()

    def reset(self) -> None:
        self.typed = ""
        self.problem: str | None = None
        self.question = ""

    @property
    def shown(self) -> str:
        return self.typed if len(self.typed) <= 90 else "\u2026" + self.typed[-89:]

    def key(self, key: str) -> None:
        self.problem = None
        self.typed = logic.typed_key(self.typed, key, self.kind, self.limit, " .,-/'?")

    def choose(self, option: str) -> None:
        pass

    def back(self) -> bool:
        return False

    def next(self) -> str | None:
        if len(self.typed.strip()) < 3:
            self.problem = "ask_p_short"
            return self.problem
        self.question = self.typed.strip()
        return "done"

    def submit(self, on_reply: Callable[[Reply], None]) -> str | None:
        return self.ask(self.question, on_reply)

    def ask(self, question: str, on_reply: Callable[[Reply], None]) -> str | None:
        """Sends ``ask``; None when a command is already in flight."""
        self.question = " ".join(question.split())[:300]
        rid = self.gate.send("ask", {"question": self.question}, on_reply)
        if rid is not None:
            log.info("ask %s from the kiosk", rid)   # never the question
        return rid

    def answered(self, reply: Reply) -> Answer:
        question, self.typed = self.question, ""
        if not reply.ok:
            log.warning("ask refused: %s", reply.code)
            return Answer(question, None, failed=True)
        answer = (reply.result or {}).get("answer")
        return Answer(question, answer if isinstance(answer, str) and answer.strip() else None)


__all__ = ["AskFlow", "Answer", "common_questions", "TEXTS", "MAX_BUTTONS"]
