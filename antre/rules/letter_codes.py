"""What a letter request is called and where it stands, without the database: tracking codes, the
event's reference, statuses and staff roles. Shared by the service's rules and the devices (the kiosk
checks a typed code before it sends it)."""

from __future__ import annotations

import hashlib

from antre.rules.booking_code import checked_digits_ok, new_checked_digits

# Statuses as OpenSID names them: Belum Lengkap, Sedang Diperiksa, Menunggu Tandatangan, Siap Diambil,
# Sudah Diambil, Dibatalkan.
LETTER_INCOMPLETE, LETTER_CHECKING, LETTER_SIGNING, LETTER_READY, LETTER_COLLECTED, LETTER_CANCELLED = (
    "belum_lengkap", "diperiksa", "menunggu_ttd", "siap_diambil", "sudah_diambil", "dibatalkan")
LETTER_STATUSES = (LETTER_INCOMPLETE, LETTER_CHECKING, LETTER_SIGNING, LETTER_READY, LETTER_COLLECTED,
                   LETTER_CANCELLED)
TRACKING_DIGITS = 12


def tracking_code_ok(code: str) -> bool:
    """12 digits whose last is the Damm check digit of the others (a mistyped digit is caught at once)."""
    return checked_digits_ok(code, TRACKING_DIGITS)


def new_tracking_code() -> str:
    """11 random digits (:mod:`secrets`) and the check digit."""
    return new_checked_digits(TRACKING_DIGITS)


def clean_tracking_code(typed: str) -> str:
    """What a resident typed (``"1234 5678-9012"``) as the 12 digits, or the text without spaces and dashes."""
    return "".join(typed.split()).replace("-", "")


def format_tracking_code(code: str) -> str:
    """``"123456789012"`` -> ``"1234-5678-9012"``: easier to read aloud and to type."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def status_ref(code: str) -> str:
    """What the ``letter_status`` event names a request by: a hash of its tracking code, so whoever reads
    events learns no code (a code lets its holder cancel); a page that knows the code computes the same."""
    return hashlib.sha256(f"antre-letter:{code}".encode()).hexdigest()[:24]


__all__ = ["LETTER_STATUSES", "TRACKING_DIGITS", "tracking_code_ok", "new_tracking_code",
           "clean_tracking_code", "format_tracking_code", "status_ref"] + [n for n in dir() if n.startswith("LETTER_")]
