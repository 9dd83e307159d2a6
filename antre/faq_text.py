"""What an FAQ entry may hold, one set of rules for the console's edits (``faq_save``,
antre/rules/questions.py) and for the entries ``[[notify.faq]]`` seeds (checked when the configuration is
loaded, so ``antre config check`` and ``antre serve`` refuse what the console would refuse): plain text of
bounded length, no HTML or script links, http(s) links only, and a whole book that fits ``faq_list``'s one
reply. Pure functions; errors are :class:`~antre.errors.CommandError` with the console's codes."""

from __future__ import annotations

import json
import re
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


__all__ = ["plain", "no_markup", "clean_entry", "entry_bytes", "FAQ_BYTES", "MAX_ANSWER", "MAX_VARIANTS",
           "MAX_LINKS", "MAX_VARIANT", "MAX_LINK"]
