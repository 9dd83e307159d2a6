"""What a resident types into a letter request, checked: NIK, KK number, names, dates, choices.

Pure functions, shared by the service (which decides) and the website and kiosk (which explain the
problem next to the field before anything is sent). A problem is a short code (``nik_region``); the
apps turn it into words (``web/letters_texts.py``).

A NIK (Nomor Induk Kependudukan) is 16 digits: the region (2 digits province, 2 regency/city, 2
district), the date of birth as DDMMYY with 40 added to the day for women, and a 4-digit serial that is
never 0000. A KK (family card) number has the same region prefix, a date of issue and a serial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from antre.config import LetterFieldConfig, LetterTypeConfig

#: Province codes (kode wilayah Kemendagri), including Papua's provinces of 2022.
PROVINCES = frozenset({11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64,
                       65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97})
_DIGITS16 = re.compile(r"\d{16}")
_NAME = re.compile(r"[^\W\d_]+(?:[ .,'\-]+[^\W\d_]+)*\.?")
MALE, FEMALE = "Laki-laki", "Perempuan"
MAX_FIELDS = 30
MAX_VALUE = 1000


@dataclass(frozen=True)
class NikInfo:
    region: str        # the first 6 digits
    born: date
    sex: str           # MALE or FEMALE


def _clean_digits(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value)


def _region_problem(digits: str, kind: str) -> str | None:
    province, regency, district = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    if province not in PROVINCES or regency == 0 or district == 0:
        return f"{kind}_region"
    return None


def parse_nik(value: str, today: date) -> tuple[NikInfo | None, str | None]:
    """``(info, None)`` for a valid NIK, else ``(None, problem)``: ``nik_length`` (not 16 digits),
    ``nik_region``, ``nik_date`` (no such date of birth, or in the future), ``nik_serial`` (0000)."""
    digits = _clean_digits(value)
    if not _DIGITS16.fullmatch(digits) or not digits.isascii():
        return None, "nik_length"
    problem = _region_problem(digits, "nik")
    if problem:
        return None, problem
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    sex = MALE
    if day > 40:
        day, sex = day - 40, FEMALE
    year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    try:
        born = date(year, month, day)
    except ValueError:
        return None, "nik_date"
    if born > today:
        return None, "nik_date"
    if digits[12:] == "0000":
        return None, "nik_serial"
    return NikInfo(digits[:6], born, sex), None


def kk_problem(value: str) -> str | None:
    digits = _clean_digits(value)
    if not _DIGITS16.fullmatch(digits) or not digits.isascii():
        return "kk_length"
    return _region_problem(digits, "kk") or ("kk_serial" if digits[12:] == "0000" else None)


def name_ok(value: str) -> bool:
    return 2 <= len(value) <= 60 and bool(_NAME.fullmatch(value))


def parse_date(value: str) -> date | None:
    """A date typed as ``YYYY-MM-DD`` (the browser's date field) or ``DD-MM-YYYY`` / ``DD/MM/YYYY``."""
    v = value.strip()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", v)
    parts = (int(m[1]), int(m[2]), int(m[3])) if m else None
    if parts is None:
        m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})", v)
        parts = (int(m[3]), int(m[2]), int(m[1])) if m else None
    if parts is None:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def check_field(f: LetterFieldConfig, raw: Any, today: date) -> tuple[str, str | None]:
    """``(clean value, problem or None)`` for one field. An empty optional field is ``("", None)``."""
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        return "", "invalid"
    value = " ".join(raw.split()) if f.type != "long_text" else raw.strip()
    if not value:
        return "", ("required" if f.required else None)
    if len(value) > f.max_length or len(value) > MAX_VALUE:
        return value[:f.max_length], "too_long"
    if not value.isprintable() and f.type != "long_text":
        return value, "invalid"
    if f.type == "name":
        return value, None if name_ok(value) else "name"
    if f.type == "nik":
        info, problem = parse_nik(value, today)
        return _clean_digits(value), problem
    if f.type == "kk":
        return _clean_digits(value), kk_problem(value)
    if f.type in ("date", "past_date"):
        d = parse_date(value)
        if d is None or d.year < 1900:
            return value, "date"
        if f.type == "past_date" and d > today:
            return value, "future_date"
        return d.isoformat(), None
    if f.type == "choice":
        return value, None if value in f.choices else "choice"
    if f.type == "phone":
        v = re.sub(r"[\s().\-/]", "", value)
        v = "0" + v[3:] if v.startswith("+62") else v
        return v, None if re.fullmatch(r"0[2-9]\d{7,11}", v) else "phone"
    if f.type == "number":
        return value, None if re.fullmatch(r"\d{1,9}", value) else "number"
    return value, None


def check_fields(t: LetterTypeConfig, given: dict[str, Any], today: date) -> tuple[dict[str, str], dict[str, str]]:
    """``(clean values, problems by field name)`` for a whole request of type ``t``.

    Beyond each field: the holder's NIK must agree with a ``tanggal_lahir`` and a ``jenis_kelamin`` field
    of the same form (``nik_birth_mismatch``, ``nik_sex_mismatch``). Unknown field names are a problem
    under their own name (``unknown``)."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    known = {f.name for f in t.fields}
    for name in given:
        if name not in known:
            problems[str(name)[:40]] = "unknown"
    for f in t.fields:
        value, problem = check_field(f, given.get(f.name), today)
        if value:
            values[f.name] = value
        if problem:
            problems[f.name] = problem
    holder = holder_nik_field(t)
    if holder and holder not in problems and holder in values:
        info, _ = parse_nik(values[holder], today)
        born = values.get("tanggal_lahir")
        if info and born and "tanggal_lahir" not in problems and born != info.born.isoformat():
            problems["tanggal_lahir"] = "nik_birth_mismatch"
        sex = values.get("jenis_kelamin")
        if info and sex and "jenis_kelamin" not in problems and sex.lower() != info.sex.lower():
            problems["jenis_kelamin"] = "nik_sex_mismatch"
    return values, problems


def holder_name_field(t: LetterTypeConfig) -> str:
    """The field holding the letter's holder's name: the first of type ``name``."""
    return next(f.name for f in t.fields if f.type == "name")


def holder_nik_field(t: LetterTypeConfig) -> str | None:
    return next((f.name for f in t.fields if f.type == "nik"), None)


def mask_name(name: str) -> str:
    """``"Siti Aminah"`` -> ``"S*** A*****"``: enough to recognise a letter, not to learn a name."""
    return " ".join(w[0] + "*" * max(2, len(w) - 1) for w in name.split() if w)[:80] or "***"


__all__ = ["NikInfo", "parse_nik", "kk_problem", "name_ok", "parse_date", "check_field", "check_fields",
           "holder_name_field", "holder_nik_field", "mask_name", "MALE", "FEMALE", "PROVINCES", "MAX_FIELDS",
           "MAX_VALUE"]
