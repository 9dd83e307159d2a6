"""Spoken guidance: what the "Dengarkan" button says on each screen, as plain Python.

A screen's guidance is its question (the title a resident must answer), a few facts under it, and
its choices (the buttons' words, in reading order). :meth:`Guidance.phrases` turns them into
phrases for the voice: "Silakan pilih layanan. | Pilihan: | Administrasi Kependudukan, 2 orang
menunggu. | ...". Ticket numbers, times and signs are written out as they are said ("A-012" is
"a, dua belas", "08.30" is "pukul delapan tiga puluh", "±" is "sekitar").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from antre.voice.numbers import number_words, spoken_ticket

from .. import texts

_TICKET = re.compile(r"\b[A-Z]-\d{1,6}\b")
_TIME = re.compile(r"\b([01]?\d|2[0-3])[.:]([0-5]\d)\b")
_SIGNS = {"id": {"±": "sekitar", "\u2022": ",", "\u2013": "sampai", "/": " atau "},
          "en": {"±": "about", "\u2022": ",", "\u2013": "to", "/": " or "}}


@dataclass(frozen=True)
class Guidance:
    """One screen's question, the facts under it and the choices it offers."""

    question: str
    details: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)

    def text(self) -> str:
        """Everything said, as one line (for logs and tests): the question, facts and choices."""
        return " | ".join(p for p in [self.question, *self.details, *self.choices] if p)

    def phrases(self, lang: str = "id") -> list[str]:
        """The phrases for the voice, written as they are said."""
        out = [self.question, *self.details]
        if self.choices:
            out.append(texts.text("choices", lang) + ":")
            out.extend(self.choices)
        return [said(p, lang) for p in out if p and p.strip()]


def said(phrase: str, lang: str = "id") -> str:
    """``phrase`` written as it is spoken: ticket numbers, times of day and signs in words; a full stop
    at the end so the voice pauses."""
    lg = "en" if lang == "en" else "id"

    def time(m: re.Match) -> str:
        hour, minute = int(m[1]), int(m[2])
        words = number_words(hour, lang=lg) + (f" {number_words(minute, lang=lg)}" if minute else "")
        return f"pukul {words}" if lg == "id" else words + (" o'clock" if not minute else "")

    out = _TICKET.sub(lambda m: spoken_ticket(m[0], lg), phrase)
    out = _TIME.sub(time, out)
    out = out.replace("pukul pukul", "pukul")
    for sign, word in _SIGNS[lg].items():
        out = out.replace(sign, f" {word} " if word != "," else ",")
    out = re.sub(r"\s+", " ", out).strip()
    out = re.sub(r"\s+,", ",", out)
    return out if out.endswith((".", "?", "!", ":")) else out + "."


texts.TEXTS.update({
    "typed_number": ("Nomor sudah diketik, {count} angka, berakhiran {last}",
                     "Number typed, {count} digits, ending in {last}"),
})


def typed_number(typed: str, lang: str = "id") -> str:
    """What "Dengarkan" says of a phone number or NIK being typed, in a waiting room others hear: how many
    digits and the last two, never the number (the screen still shows it whole)."""
    digits = "".join(ch for ch in typed if ch.isdigit())
    return texts.text("typed_number", lang, count=len(digits), last=" ".join(digits[-2:]))
