"""Rating codes: the short number printed on a ticket that lets its holder, and only its holder, rate it.

The code is derived, not stored: an HMAC-SHA256 over the office, the business day, the ticket's number and
its row id, keyed with a random secret the service keeps in the database's ``meta`` table, cut to
:data:`RATING_CODE_DIGITS` digits. Four digits are enough because a device may send only a few wrong codes
in a while (the same per-device limit as booking codes, antre/service/server.py), and a ticket can be rated
only within ``[queue] rating_window_minutes`` of its service.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

RATING_CODE_DIGITS = 4
#: The ``meta`` key of the secret (64 hex digits, drawn on first use).
SECRET_KEY = "rating.secret"


def new_secret() -> str:
    return secrets.token_hex(32)


def rating_code(secret: str, office: str, business_date: str, number: str, ticket_id: int) -> str:
    """The code of one ticket: ``rating_code(s, "desa", "2026-12-07", "A-012", 41) == "0387"`` (say)."""
    message = f"{office}|{business_date}|{number}|{ticket_id}".encode()
    digest = hmac.new(bytes.fromhex(secret), message, hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10 ** RATING_CODE_DIGITS:0{RATING_CODE_DIGITS}d}"


def codes_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


__all__ = ["RATING_CODE_DIGITS", "SECRET_KEY", "codes_equal", "new_secret", "rating_code"]
