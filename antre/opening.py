"""When the office is open: the weekly hours of ``[office.hours]`` less the ``[office] holidays``.

One place for "is it open now?", "when does it open next?" and the sentences residents read about
it, so the queue service, the website and the kiosk agree::

    >>> from antre.config import OfficeConfig
    >>> from datetime import datetime
    >>> from zoneinfo import ZoneInfo
    >>> office = OfficeConfig(holidays=["2026-12-25"])
    >>> friday_noon = datetime(2026, 12, 4, 12, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
    >>> is_open(office, friday_noon)
    False
    >>> next_opening(office, friday_noon).isoformat()
    '2026-12-07T08:00:00+07:00'
    >>> opens_text(office, friday_noon)
    'Senin, 7 Desember 2026 pukul 08.00'
    >>> week_text(office)
    'Senin–Kamis 08.00–15.00, Jumat 08.00–11.30, Sabtu–Minggu tutup'
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from antre.config import WEEKDAYS, OfficeConfig
from antre.wording import DAYS, clock_time, long_date

#: How far ahead :func:`next_opening` looks (a year of holidays is never configured).
HORIZON_DAYS = 400


def hours_on(office: OfficeConfig, day: date) -> tuple[time, time] | None:
    """Opening and closing time on ``day`` (office time), or None when closed (weekday or holiday)."""
    if day.isoformat() in office.holidays:
        return None
    hours = office.hours.for_weekday(day.weekday())
    if hours is None:
        return None
    (oh, om), (ch, cm) = hours
    return time(oh, om), time(ch, cm)


def is_holiday(office: OfficeConfig, day: date) -> bool:
    return day.isoformat() in office.holidays


def is_open(office: OfficeConfig, now: datetime) -> bool:
    """True between opening and closing on an open day (``now`` aware; any zone)."""
    local = now.astimezone(office.tz)
    hours = hours_on(office, local.date())
    return hours is not None and hours[0] <= local.time().replace(tzinfo=None) < hours[1]


def next_opening(office: OfficeConfig, now: datetime) -> datetime | None:
    """The next moment the office opens after ``now`` (office time zone); None if it never does."""
    local = now.astimezone(office.tz)
    for i in range(HORIZON_DAYS):
        day = local.date() + timedelta(days=i)
        hours = hours_on(office, day)
        if hours is None:
            continue
        start = datetime.combine(day, hours[0], tzinfo=office.tz)
        if start > local:
            return start
    return None


def open_days(office: OfficeConfig, first: date, count: int) -> list[date]:
    """The days from ``first`` (``count`` days in all) on which the office opens."""
    return [d for d in (first + timedelta(days=i) for i in range(count)) if hours_on(office, d) is not None]


def opens_text(office: OfficeConfig, now: datetime, lang: str = "id", when: datetime | None = None) -> str:
    """When the office opens next (``when``, default :func:`next_opening`), as residents read it:
    ``hari ini pukul 08.00``, ``besok, Selasa pukul 08.00``, ``Senin, 7 Desember 2026 pukul 08.00``;
    empty when it never opens."""
    when = when if when is not None else next_opening(office, now)
    if when is None:
        return ""
    when = when.astimezone(office.tz)
    today = now.astimezone(office.tz).date()
    at = "pukul" if lang != "en" else "at"
    hour = clock_time(when, lang)
    if when.date() == today:
        return f"{'hari ini' if lang != 'en' else 'today'} {at} {hour}"
    if when.date() == today + timedelta(days=1):
        name = DAYS["en" if lang == "en" else "id"][when.weekday()]
        return f"{'besok' if lang != 'en' else 'tomorrow'}, {name} {at} {hour}"
    return f"{long_date(when.date(), lang)} {at} {hour}"


def span_text(start: time, end: time, lang: str = "id") -> str:
    """``08.00–15.00``."""
    return f"{clock_time(start, lang)}–{clock_time(end, lang)}"


def week_text(office: OfficeConfig, lang: str = "id") -> str:
    """The weekly hours in one line, runs of days with the same hours joined:
    ``Senin–Kamis 08.00–15.00, Jumat 08.00–11.30, Sabtu–Minggu tutup``."""
    names = DAYS["en" if lang == "en" else "id"]
    closed = "closed" if lang == "en" else "tutup"
    values = []
    for i, day in enumerate(WEEKDAYS):
        hours = office.hours.for_weekday(i)
        values.append(closed if hours is None else span_text(time(*hours[0]), time(*hours[1]), lang))
    parts, i = [], 0
    while i < 7:
        j = i
        while j + 1 < 7 and values[j + 1] == values[i]:
            j += 1
        days = names[i] if i == j else f"{names[i]}–{names[j]}"
        parts.append(f"{days} {values[i]}")
        i = j + 1
    return ", ".join(parts)


__all__ = ["hours_on", "is_holiday", "is_open", "next_opening", "open_days", "opens_text", "span_text",
           "week_text"]
