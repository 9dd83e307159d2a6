"""What an FAQ entry may hold, one set of rules for the console's edits (``faq_save``,
antre/rules/questions.py) and for the entries ``[[notify.faq]]`` seeds: plain text of bounded length, no
HTML or script links, http(s) links only, and a whole book that fits ``faq_list``'s one reply.
:func:`seed_plan` says which configuration entries the seed takes and why the others are left out (warnings of
``antre config check``, log lines of the seed at ``antre serve`` start; never a refused configuration: the
queue does not stop over an FAQ text). Pure functions; errors are :class:`~antre.errors.CommandError` with
the console's codes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from antre.errors import CommandError

MAX_VARIANT = 200
MAX_ANSWER = 1000
MAX_VARIANTS = 30
MAX_LINKS = 5
MAX_LINK = 200
#: The whole book's entries at most (JSON bytes): faq_list answers them in one reply, which the service keeps
#: under 64 512 bytes (the shipped broker's packet limit), and every FAQ page of the console asks for it.
FAQ_BYTES = 48_000
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!?]|javascript:|data:text", re.IGNORECASE)
_LINK = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?")


def plain(text: Any, limit: int, what: str, lines: bool = False) -> str:
    """A staff or resident text: control characters out, spaces folded, not empty, not too long."""
    if not isinstance(text, str):
        raise CommandError("invalid_argument", f"the {what} must be a text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    keep = "\n" if lines else ""
    text = "".join(c for c in text if c in keep or (ord(c) >= 32 and ord(c) != 127))
    text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip() if lines else " ".join(text.split())
    text = re.sub(r"\n{3,}", "\n\n", text)
    if not text:
        raise CommandError("empty_text", f"the {what} is empty")
    if len(text) > limit:
        raise CommandError("text_too_long", f"the {what} has at most {limit} characters")
    return text


def no_markup(text: str, what: str) -> str:
    if _MARKUP.search(text):
        raise CommandError("markup_not_allowed", f"the {what} must be plain text: no HTML tags or script links "
                                                 "(residents read it by SMS and on the website)")
    return text


def clean_entry(questions: Any, answer: Any, links: Any) -> tuple[list[str], str, list[str]]:
    """An entry's variants (folded, repeats dropped), answer and links as stored, or a CommandError."""
    if not isinstance(questions, list) or not questions:
        raise CommandError("missing_questions", "an entry needs at least one way residents ask it")
    if len(questions) > MAX_VARIANTS:
        raise CommandError("too_many_questions", f"at most {MAX_VARIANTS} question variants")
    variants: list[str] = []
    for v in questions:
        v = no_markup(plain(v, MAX_VARIANT, "question"), "question")
        if v.lower() not in (x.lower() for x in variants):
            variants.append(v)
    answer = no_markup(plain(answer, MAX_ANSWER, "answer", lines=True), "answer")
    links = links or []
    if not isinstance(links, list):
        raise CommandError("invalid_link", "links are a list of http:// or https:// addresses")
    if len(links) > MAX_LINKS:
        raise CommandError("too_many_links", f"at most {MAX_LINKS} links")
    clean_links = []
    for link in links:
        link = link.strip() if isinstance(link, str) else ""
        if len(link) > MAX_LINK or not _LINK.fullmatch(link):
            raise CommandError("invalid_link", f"a link is an http:// or https:// address of at most {MAX_LINK} "
                                               "characters")
        clean_links.append(link)
    return variants, answer, clean_links


def entry_bytes(entry: dict[str, Any]) -> int:
    """What one entry (as ``faq_list`` answers it) adds to the book's size."""
    return len(json.dumps(entry, ensure_ascii=False).encode()) + 1


@dataclass(frozen=True)
class Skipped:
    """A configuration entry the seed leaves out: its number (from 1), the first 40 characters of its first
    way of asking (never more: it goes into logs), and the reason in plain words."""
    number: int
    start: str
    reason: str

    def sentence(self) -> str:
        return f"[[notify.faq]] #{self.number} ('{self.start}'): {self.reason}"


def _start(questions: Any) -> str:
    first = questions[0] if isinstance(questions, list) and questions and isinstance(questions[0], str) else ""
    return " ".join("".join(c if c.isprintable() else " " for c in first).split())[:40]


def seed_plan(entries: Iterable[tuple[Any, Any, Any]]
              ) -> tuple[list[tuple[list[str], str, list[str]]], list[Skipped]]:
    """The configuration's entries ``(questions, answer, links)`` the seed takes, cleaned, in order: those the
    console would accept, stopping before the book would exceed :data:`FAQ_BYTES` (every later entry is left
    out too, so the book keeps the configuration's order). Returns ``(taken, skipped)``."""
    taken: list[tuple[list[str], str, list[str]]] = []
    skipped: list[Skipped] = []
    size, full = 0, False
    for number, (questions, answer, links) in enumerate(entries, start=1):
        if full:
            skipped.append(Skipped(number, _start(questions), f"not taken: the FAQ was already full ({FAQ_BYTES} "
                                                              "bytes); add it in the console after shortening others"))
            continue
        try:
            variants, text, clean_links = clean_entry(questions, answer, links)
        except CommandError as exc:
            skipped.append(Skipped(number, _start(questions), f"not taken: {exc.message} (the console would "
                                                              "refuse it too)"))
            continue
        more = entry_bytes({"id": len(taken) + 1, "questions": variants, "answer": text, "links": clean_links,
                            "active": True})
        if size + more > FAQ_BYTES:
            full = True
            skipped.append(Skipped(number, _start(questions), f"not taken: the FAQ would be over {FAQ_BYTES} bytes "
                                                              "(the console shows it in one piece); this entry and "
                                                              "the ones after it are left out"))
            continue
        size += more
        taken.append((variants, text, clean_links))
    return taken, skipped


__all__ = ["seed_plan", "Skipped", "plain", "no_markup", "clean_entry", "entry_bytes", "FAQ_BYTES", "MAX_ANSWER", "MAX_VARIANTS",
           "MAX_LINKS", "MAX_VARIANT", "MAX_LINK"]
