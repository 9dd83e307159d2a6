"""Booking codes for appointments: what one looks like, how a new one is drawn."""

from __future__ import annotations

import secrets

#: A booking code: 9 random digits and a check digit, typed on the kiosk's keypad. Guessing one is hopeless
#: (10^9 codes for a few hundred bookings, and the service lets a device try only a few wrong codes in a
#: while); a mistyped digit, or two neighbours swapped, is caught by the check digit before it is sent.
BOOKING_CODE_DIGITS = 10
# Damm's quasigroup of order 10: one check digit catches every single-digit error and every swap of
# two adjacent digits (H. M. Damm, 2004).
_DAMM = ("0317598642", "7092154863", "4206871359", "1750983426", "6123045978",
         "3674209581", "5869720134", "8945362017", "9438617205", "2581436790")


def check_digit(digits: str) -> str:
    """The Damm check digit of a string of digits: ``check_digit("572") == "4"``."""
    interim = 0
    for d in digits:
        interim = int(_DAMM[interim][int(d)])
    return str(interim)


def checked_digits_ok(code: str, length: int) -> bool:
    """True for ``length`` ASCII digits whose last is the Damm check digit of the others."""
    return len(code) == length and code.isascii() and code.isdigit() and check_digit(code) == "0"


def new_checked_digits(length: int) -> str:
    """``length - 1`` random digits from :mod:`secrets` and their check digit (booking, letter and
    complaint codes are all drawn so)."""
    body = f"{secrets.randbelow(10 ** (length - 1)):0{length - 1}d}"
    return body + check_digit(body)


def booking_code_ok(code: str) -> bool:
    """True for a well-formed booking code: 10 digits whose last is the check digit."""
    return checked_digits_ok(code, BOOKING_CODE_DIGITS)


def format_booking_code(code: str) -> str:
    """``"0147718409"`` -> ``"014-771-8409"`` (3-3-4, as a phone number is read aloud); anything that is not
    a 10-digit code is returned as it is. Every input (web, SMS, kiosk) drops the dashes again."""
    if len(code) != BOOKING_CODE_DIGITS or not code.isdigit():
        return code
    return f"{code[:3]}-{code[3:6]}-{code[6:]}"


def new_booking_code() -> str:
    """A fresh random booking code (9 digits from :mod:`secrets` and the check digit)."""
    return new_checked_digits(BOOKING_CODE_DIGITS)


__all__ = ["BOOKING_CODE_DIGITS", "booking_code_ok", "check_digit", "checked_digits_ok", "format_booking_code",
           "new_booking_code",
           "new_checked_digits"]
