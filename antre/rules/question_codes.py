"""The code a resident gets for a question left for the staff (``T-12345-67890``): pure, for devices too.

``T`` and 10 digits, the last a Damm check digit (antre/rules/booking_code.py), drawn with :mod:`secrets`:
about a billion codes per check digit, and the service limits how many wrong ones a sender may try."""

from __future__ import annotations

from antre.rules.booking_code import checked_digits_ok, new_checked_digits

CODE_DIGITS = 10


def new_question_code() -> str:
    return "T" + new_checked_digits(CODE_DIGITS)


def format_question_code(code: str) -> str:
    """``"T1234567890"`` -> ``"T-12345-67890"``."""
    return f"{code[0]}-{code[1:6]}-{code[6:]}"


def clean_question_code(text: str) -> str:
    """What a resident typed (``t-12345 67890``) as a code (``T1234567890``), or '' when it is not one."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if raw.startswith("T"):
        raw = raw[1:]
    return f"T{raw}" if checked_digits_ok(raw, CODE_DIGITS) else ""


__all__ = ["new_question_code", "format_question_code", "clean_question_code", "CODE_DIGITS"]
