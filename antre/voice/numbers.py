"""Numbers and letters as Indonesian (or English) speech: ``12`` -> "dua belas", ``B`` -> "be".

Shared by the TV's announcements (``display/voice/words.py``) and the kiosk's spoken guidance.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["id", "en"]
Style = Literal["words", "digits"]

#: Indonesian names of the letters (EYD/PUEBI), as a caller would say them: Q is "ki", not "kyu".
LETTER_NAMES_ID = {
    "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha", "I": "i",
    "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe", "Q": "ki", "R": "er",
    "S": "es", "T": "te", "U": "u", "V": "fe", "W": "we", "X": "eks", "Y": "ye", "Z": "zet",
}

DIGITS = {
    "id": ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
}


def number_words(value: int, *, style: Style = "words", lang: Lang = "id") -> str:
    """12 -> "dua belas" (words) or "satu dua" (digits). Leading zeros are never spoken."""
    if value < 0:
        raise ValueError("negative numbers are not spoken")
    if style == "digits":
        return " ".join(DIGITS[lang][int(d)] for d in str(value))
    if style != "words":
        raise ValueError(f"style must be 'words' or 'digits', not {style!r}")
    from num2words import num2words
    return num2words(value, lang=lang)


def spoken_ticket(number: str, lang: Lang = "id") -> str:
    """A ticket number as said aloud: ``"A-012"`` -> ``"a, dua belas"`` (``"A, twelve"`` in English);
    anything else is returned as it is."""
    letter, _, digits = number.partition("-")
    if len(letter) != 1 or not letter.isalpha() or not digits.isdigit():
        return number
    name = LETTER_NAMES_ID.get(letter.upper(), letter) if lang == "id" else letter.upper()
    return f"{name}, {number_words(int(digits), lang=lang)}"
