"""SMS arithmetic and the words residents read in SMS (plain Indonesian, short: one SMS where possible).

An SMS holds 160 characters of the GSM 03.38 default alphabet (GSM-7), 153 per part when it is split; a text
with any other character goes as UCS-2: 70 characters, 67 per part. Characters of the GSM-7 extension table
(``{ } [ ] ~ \\ | ^ €``) take two places. Our texts are written in the default alphabet, so they cost what
they look like.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
SINGLE_GSM7, PART_GSM7, SINGLE_UCS2, PART_UCS2 = 160, 153, 70, 67

# Characters a resident's phone or our own words may bring that have a plain GSM-7 twin.
_PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "\u00a0": " ",
                        "•": "-", "·": "."})


def plain(text: str) -> str:
    """``text`` with typographic quotes and dashes made plain, so it stays GSM-7."""
    return text.translate(_PLAIN)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def sms_parts(text: str) -> int:
    """How many SMS ``text`` takes (what it costs)."""
    if is_gsm7(text):
        length = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        return 1 if length <= SINGLE_GSM7 else math.ceil(length / PART_GSM7)
    length = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    return 1 if length <= SINGLE_UCS2 else math.ceil(length / PART_UCS2)


_JUNK = re.compile(r"[\s().\-/]")


def msisdn(value: str) -> str | None:
    """An Indonesian mobile number as ``08...`` (``+62 812-3456-7890`` -> ``081234567890``), or None."""
    v = _JUNK.sub("", value.strip())
    if v.startswith("+62"):
        v = "0" + v[3:]
    elif v.startswith("62") and len(v) >= 11:
        v = "0" + v[2:]
    return v if re.fullmatch(r"0[2-9][0-9]{7,11}", v) else None   # [0-9]: \d takes any script's digits


def international(phone: str) -> str:
    """``081234567890`` -> ``+6281234567890`` (what the modem dials)."""
    return "+62" + phone[1:] if phone.startswith("0") else phone


def mask(phone: str | None) -> str:
    """A number as logs and staff lists may show it: ``0812****7890``."""
    if not phone:
        return "-"
    return phone[:4] + "*" * max(0, len(phone) - 8) + phone[-4:] if len(phone) > 8 else "*" * len(phone)


def phone_key(secret: bytes, phone: str) -> str:
    """A keyed hash of a number: counts and opt-outs without keeping the number (16 hex digits)."""
    return hmac.new(secret, phone.encode(), hashlib.sha256).hexdigest()[:16]


__all__ = ["sms_parts", "is_gsm7", "plain", "msisdn", "international", "mask", "phone_key"]
