"""What an announcement says: ticket numbers and counters as spoken words, and the clip names.

Pure functions, no audio: :func:`announcement_phrases` / :func:`announcement_text`
(Indonesian by default, or English) and, for recorded clips,
:func:`announcement_clips` and the folder's :data:`CLIP_NAMES`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from antre.errors import VoiceError  # noqa: F401 (shared with the kiosk: antre.voice)
from antre.voice.numbers import DIGITS, LETTER_NAMES_ID, number_words  # noqa: F401 (antre_display.voice's names)

Lang = Literal["id", "en"]
Style = Literal["words", "digits"]

TICKET_NUMBER = re.compile(r"([A-Z])-(\d{1,6})")


class TicketNumberError(VoiceError, ValueError):
    """The ticket number is not of the form ``A-012``."""


# --------------------------------------------------------------------------
# Text.
# --------------------------------------------------------------------------

_PHRASES = {
    "id": {"recall": "Panggilan ulang", "intro": "Nomor antrean", "go": "silakan menuju", "counter": "loket"},
    "en": {"recall": "Calling again", "intro": "Number", "go": "please go to", "counter": "counter"},
}

#: Every word Indonesian num2words uses for 0 ... 999 999 (ticket numbers have at most 6 digits).
NUMBER_WORDS_ID = (
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
    "sepuluh", "sebelas", "belas", "puluh", "seratus", "ratus", "seribu", "ribu",
)

def parse_ticket_number(number: str) -> tuple[str, int]:
    """``"A-012"`` -> ``("A", 12)``. Raises :class:`TicketNumberError` for anything else."""
    m = TICKET_NUMBER.fullmatch(number) if isinstance(number, str) else None
    if not m:
        raise TicketNumberError(f"ticket number must look like 'A-012' (one capital letter, '-', "
                                f"1 to 6 digits), not {number!r}")
    return m[1], int(m[2])


def counter_number_from(counter_name: str, counter_number: int | None = None) -> int | None:
    """The number to speak for a counter: ``counter_number`` if given (0 counts as not given),
    else the last number in its name ("Loket 2" -> 2), else None."""
    if counter_number:
        return int(counter_number)
    found = re.findall(r"\d+", counter_name or "")
    return int(found[-1]) if found else None


def _check_lang(lang: str) -> None:
    if lang not in _PHRASES:
        raise VoiceError(f"language must be 'id' or 'en', not {lang!r}")


def announcement_phrases(number: str, counter_name: str, counter_number: int | None = None, *,
                         style: Style = "words", lang: Lang = "id", recall: bool = False) -> list[str]:
    """What is said, phrase by phrase::

        >>> announcement_phrases("A-012", "Loket 2")
        ['Nomor antrean', 'a', 'dua belas', 'silakan menuju', 'loket dua']
        >>> announcement_phrases("B-105", "Loket 3", style="digits", lang="en")
        ['Number', 'B', 'one zero five', 'please go to', 'counter three']

    Letters are spoken by their Indonesian names ("be", "ce", "ki" ...). The counter
    is "loket <number>" when a number is known (``counter_number``, else the last
    number in ``counter_name``); otherwise its name as written ("Meja Informasi").
    The counter number is always read as a number, whatever ``style``. A recall starts
    with "Panggilan ulang", so someone who heard the first call knows it is the same number.
    """
    _check_lang(lang)
    letter, value = parse_ticket_number(number)
    words = _PHRASES[lang]
    n = counter_number_from(counter_name, counter_number)
    if n is not None:
        counter = f"{words['counter']} {number_words(n, lang=lang)}"
    else:
        counter = counter_name.strip()
        if not counter:
            raise VoiceError("counter name is empty and no counter number was given")
    spoken_letter = LETTER_NAMES_ID[letter] if lang == "id" else letter
    phrases = [words["intro"], spoken_letter, number_words(value, style=style, lang=lang), words["go"], counter]
    return [words["recall"], *phrases] if recall else phrases


def announcement_text(number: str, counter_name: str, counter_number: int | None = None, *,
                      style: Style = "words", lang: Lang = "id", recall: bool = False) -> str:
    """The phrases joined with commas (a pause for a TTS engine):
    ``"Nomor antrean, a, dua belas, silakan menuju, loket dua"``."""
    return ", ".join(announcement_phrases(number, counter_name, counter_number, style=style, lang=lang,
                                          recall=recall))


# --------------------------------------------------------------------------
# Clips: the file names an office records.
# --------------------------------------------------------------------------

CHIME_CLIP = "chime"
RECALL_CLIP = "panggilan_ulang"   # optional, like the chime: espeak-ng says it when absent
INTRO_CLIP = "nomor_antrean"
GO_TO_COUNTER_CLIP = "silakan_menuju_loket"


def letter_clip(letter: str) -> str:
    return f"huruf_{letter.lower()}"


#: Every clip a complete clips folder has (file name = this + ".wav"), in recording order.
#: ``chime.wav`` is optional and not listed: without it the built-in chime is used.
#: ``panggilan_ulang.wav`` ("panggilan ulang", said before a recall) is optional too.
CLIP_NAMES: tuple[str, ...] = (
    INTRO_CLIP, *(letter_clip(c) for c in LETTER_NAMES_ID), *NUMBER_WORDS_ID, GO_TO_COUNTER_CLIP,
)

#: What to say when recording each clip.
CLIP_WORDS: dict[str, str] = {
    INTRO_CLIP: "nomor antrean",
    **{letter_clip(c): name for c, name in LETTER_NAMES_ID.items()},
    **{w: w for w in NUMBER_WORDS_ID},
    GO_TO_COUNTER_CLIP: "silakan menuju loket",
    RECALL_CLIP: "panggilan ulang",
}


@dataclass(frozen=True)
class Word:
    """One piece of an announcement in clips mode: the clip to play (file stem, or None
    when no clip can exist for it, such as a counter's name) and what espeak-ng says
    instead when the clip is missing."""
    clip: str | None
    text: str


def announcement_clips(number: str, counter_name: str, counter_number: int | None = None, *,
                       style: Style = "words", recall: bool = False) -> list[list[Word]]:
    """The Indonesian announcement as groups of clips; a pause goes between groups::

        >>> [[w.clip for w in g] for g in announcement_clips("A-012", "Loket 2")]
        [['nomor_antrean'], ['huruf_a'], ['dua', 'belas'], ['silakan_menuju_loket', 'dua']]
    """
    letter, value = parse_ticket_number(number)
    groups = [
        [Word(INTRO_CLIP, CLIP_WORDS[INTRO_CLIP])],
        [Word(letter_clip(letter), LETTER_NAMES_ID[letter])],
        [Word(w, w) for w in number_words(value, style=style, lang="id").split()],
    ]
    n = counter_number_from(counter_name, counter_number)
    if n is not None:
        groups.append([Word(GO_TO_COUNTER_CLIP, CLIP_WORDS[GO_TO_COUNTER_CLIP]),
                       *(Word(w, w) for w in number_words(n, lang="id").split())])
    else:
        groups.append([Word(None, f"silakan menuju {counter_name.strip()}")])
    return [[Word(RECALL_CLIP, CLIP_WORDS[RECALL_CLIP])], *groups] if recall else groups


def needed_clips(letters: str | None = None) -> list[str]:
    """The clip names needed; with ``letters`` (the services' prefixes, e.g. "ABC") only those letters."""
    if letters is None:
        return list(CLIP_NAMES)
    keep = {letter_clip(c) for c in letters}
    return [n for n in CLIP_NAMES if not n.startswith("huruf_") or n in keep]


def check_clips(clips_dir: str | Path, letters: str | None = None) -> list[str]:
    """File names of the clips missing from ``clips_dir`` (empty when complete).
    ``letters`` limits the letter clips to those prefixes."""
    d = Path(clips_dir)
    return [f"{name}.wav" for name in needed_clips(letters) if not (d / f"{name}.wav").is_file()]
