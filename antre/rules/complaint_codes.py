"""What a complaint is called and where it stands, without the database: codes, categories, statuses and
the event's reference. Shared by the service's rules, the protocol and the devices (a kiosk checks a typed
code before it sends it)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from antre.rules.booking_code import checked_digits_ok
from antre.rules.letter_codes import TRACKING_DIGITS, new_tracking_code

#: As LAPOR!-SP4N classifies reports.
CATEGORIES = ("pengaduan", "aspirasi", "informasi")
RECEIVED, VERIFIED, IN_PROCESS, DONE, REFUSED, NOT_OURS = (
    "diterima", "diverifikasi", "diproses", "selesai", "ditolak", "bukan_wewenang")
STATUSES = (RECEIVED, VERIFIED, IN_PROCESS, DONE, REFUSED, NOT_OURS)
PHOTO_NAME = re.compile(r"[0-9a-f]{64}\.jpg")
CODE_PREFIX = "P"


def complaint_code_ok(code: str) -> bool:
    """``P`` and 12 digits whose last is the Damm check digit of the others."""
    return code[:1] == CODE_PREFIX and checked_digits_ok(code[1:], TRACKING_DIGITS)


def new_complaint_code() -> str:
    return CODE_PREFIX + new_tracking_code()


def clean_complaint_code(typed: str) -> str:
    """``"p-1234 5678-9012"`` -> ``"P123456789012"``."""
    return "".join(typed.split()).replace("-", "").upper()


def format_complaint_code(code: str) -> str:
    """``"P123456789012"`` -> ``"P-1234-5678-9012"``."""
    return "-".join([code[0]] + [code[i:i + 4] for i in range(1, len(code), 4)])


def complaint_ref(code: str) -> str:
    """The ``complaint_status`` event's name for a complaint: a hash of its code (the code opens the thread)."""
    return hashlib.sha256(f"antre-complaint:{code}".encode()).hexdigest()[:24]


def photo_folder(cfg: Any) -> Path:
    """``[complaints] photo_dir``, or ``complaint-photos`` next to the SQLite database (the website writes the
    photos there; the service deletes them at retention)."""
    if cfg.complaints.photo_dir:
        return Path(cfg.complaints.photo_dir)
    url = cfg.database.effective_url
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).parent / "complaint-photos"
    return Path("/var/lib/antre/complaint-photos")


__all__ = ["photo_folder", "CATEGORIES", "STATUSES", "PHOTO_NAME", "complaint_code_ok", "new_complaint_code",
           "clean_complaint_code", "format_complaint_code", "complaint_ref", "RECEIVED", "VERIFIED", "IN_PROCESS",
           "DONE", "REFUSED", "NOT_OURS"]
