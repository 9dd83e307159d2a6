"""How Antre writes dates and times, in Bahasa Indonesia (the default) and English.

One place for the day and month names, so the kiosk, the ticket, the TV, the website and the reports
all say the same thing without relying on the system's locales (a Pi rarely has ``id_ID`` installed).
Indonesian writes the time of day with a period (EYD: ``08.30``), English with a colon.

>>> from datetime import date, datetime
>>> long_date(date(2026, 11, 30))
'Senin, 30 November 2026'
>>> long_datetime(datetime(2026, 11, 30, 8, 2), "en")
'Monday, 30 November 2026 08:02'
"""

from __future__ import annotations

from datetime import date, datetime, time

LANGS = ("id", "en")

DAYS = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def _lang(lang: str) -> str:
    return lang if lang in DAYS else "id"


def day_month_year(d: date, lang: str = "id") -> str:
    """``1 November 2026``."""
    return f"{d.day} {MONTHS[_lang(lang)][d.month - 1]} {d.year}"


def long_date(d: date, lang: str = "id") -> str:
    """``Senin, 30 November 2026`` (or ``Monday, 30 November 2026``)."""
    return f"{DAYS[_lang(lang)][d.weekday()]}, {day_month_year(d, lang)}"


def clock_time(t: datetime | time, lang: str = "id") -> str:
    """``09.05`` (24-hour clock; ``09:05`` in English)."""
    return f"{t.hour:02d}{'.' if _lang(lang) == 'id' else ':'}{t.minute:02d}"


def say_when(when: datetime, tz, lang: str = "id") -> str:
    """``4 Desember 2026 10.05``: an aware time in the office's time zone ``tz`` (for staff messages)."""
    local = when.astimezone(tz)
    return f"{day_month_year(local, lang)} {clock_time(local, lang)}"


def long_datetime(when: datetime, lang: str = "id") -> str:
    """``Senin, 30 November 2026 08.02``."""
    return f"{long_date(when, lang)} {clock_time(when, lang)}"


def whatsapp_link(number: str, text: str) -> str:
    """A WhatsApp click-to-chat link: ``https://wa.me/<number>?text=<the text, URL-encoded>``. It opens a chat
    with the office's number with ``text`` typed in, for the resident to send; a person answers it (no API).
    ``number`` is international digits with no '+' or leading zero (``[notify] whatsapp_number``)."""
    from urllib.parse import quote
    if not number.isdigit():
        raise ValueError(f"a wa.me number is digits only, not {number!r}")
    return f"https://wa.me/{number}?text={quote(text, safe='')}"


def ask_about(office_name: str, what: str, code: str = "") -> str:
    """The prefilled text of a click-to-chat link (Indonesian: the office reads it):
    ``Halo Kantor Desa Sukamaju, saya ingin bertanya tentang <what>.`` plus ``Kode: <code>`` (the item's link
    code, so a WhatsApp Cloud API number follows it too)."""
    text = f"Halo {office_name}, saya ingin bertanya tentang {what}."
    return f"{text} Kode: {code}" if code else text


def ask_about_ticket(office_name: str, number: str, day: date, code: str = "") -> str:
    """:func:`ask_about` one ticket: ``... tentang nomor antrean A-012 tanggal 7 Desember 2026.``"""
    return ask_about(office_name, f"nomor antrean {number} tanggal {day_month_year(day)}", code)
