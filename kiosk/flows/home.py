"""The start screen: whether tickets can be taken now, the banner, the title and each service button."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from antre.config import OfficeConfig
from antre.errors import ConfigError
from antre.opening import opens_text
from antre.wording import clock_time

from .. import logic, texts

#: At most this many recently served numbers are offered for rating.
MAX_RATEABLE_SHOWN = 8


@dataclass(frozen=True)
class Home:
    """What the start screen shows, for one language."""

    availability: str
    office_name: str
    banner: str
    title: str
    can_rate: bool
    rateable: list[str]


def home(availability: str, state: dict[str, Any] | None, *, busy: bool, priority: str, lang: str,
         office_name: str) -> Home:
    """The start screen for ``availability`` (from :func:`antre_kiosk.logic.availability`) and the retained ``state``.

    ``office_name`` is the configured name, used until the state names the office.
    """
    def t(key: str, **values: Any) -> str:
        return texts.text(key, lang, **values)

    state_office = (state or {}).get("office") or {}
    if availability == logic.CLOSED:
        hours = (state or {}).get("hours_today")
        when = opens_next(state, lang)
        if hours and when:
            banner = t("closed_hours_next", hours=hours_text(hours, lang), when=when)
        elif hours:
            banner = t("closed", hours=hours_text(hours, lang))
        elif when:
            banner = t("closed_next", when=when)
        else:
            banner = t("closed_today")
    elif availability != logic.OK:
        banner = t(availability)
    else:
        banner = ""
    if busy:
        title = t("please_wait")
    elif availability != logic.OK:
        title = t("no_tickets_now")
    elif priority:
        title = t("priority_chosen", kind=t(f"priority_{priority}"))
    else:
        title = t("choose_service")
    return Home(
        availability=availability,
        office_name=state_office.get("name") or office_name,
        banner=banner,
        title=title,
        can_rate=availability in (logic.OK, logic.CLOSED) and not busy,
        rateable=[r["number"] for r in (state or {}).get("rateable", [])][:MAX_RATEABLE_SHOWN],
    )


def hours_text(hours: str, lang: str) -> str:
    """``"08:00-15:00"`` (the state's form) as residents read it: ``08.00\u201315.00`` (EYD)."""
    try:
        start, end = (datetime.strptime(h, "%H:%M") for h in hours.split("-"))
    except ValueError:
        return hours
    return f"{clock_time(start, lang)}\u2013{clock_time(end, lang)}"


def opens_next(state: dict[str, Any] | None, lang: str, now: datetime | None = None) -> str:
    """When the office opens again, from the state's ``next_open``, worded as the website words it
    (:func:`antre.opening.opens_text`): "besok, Selasa pukul 08.00"; "" when unknown or already past."""
    raw = (state or {}).get("next_open")
    tz_name = ((state or {}).get("office") or {}).get("timezone") or "Asia/Jakarta"
    try:
        office = OfficeConfig(timezone=tz_name)
        opens = datetime.fromisoformat(raw).astimezone(office.tz) if isinstance(raw, str) else None
    except (ValueError, KeyError, ConfigError):   # a bad time, an unknown time zone
        return ""
    if opens is None:
        return ""
    now = (now or datetime.now(office.tz)).astimezone(office.tz)
    return opens_text(office, now, lang, when=opens) if opens > now else ""


def service_subtext(row: logic.ServiceRow, availability: str, lang: str,
                    state: dict[str, Any] | None = None) -> str:
    """The second line of a service button: people waiting and the expected wait, or when it opens."""
    if availability in (logic.BROKER_DOWN, logic.SERVICE_OFFLINE):
        return ""  # the counts would be stale
    if availability == logic.CLOSED:
        when = opens_next(state, lang)
        closed = texts.text("closed_short", lang)
        return f"{closed}  \u2022  {texts.text('opens_next', lang, when=when)}" if when else closed
    if row.quota_reached:
        return texts.text("quota_reached", lang)
    waiting = texts.text("waiting", lang, n=row.waiting) if row.waiting else texts.text("waiting_none", lang)
    if row.estimated_wait_minutes:
        wait = texts.text("wait_minutes", lang, m=row.estimated_wait_minutes)
    elif row.waiting or not row.counter_free:
        # Nobody waits but every counter for it is busy (or paused): the next to be called, not at once.
        wait = texts.text("wait_next", lang)
    else:
        wait = texts.text("wait_now", lang)
    return f"{waiting}  \u2022  {wait}"


def can_issue(row: logic.ServiceRow, availability: str, busy: bool) -> bool:
    """Whether ``row``'s button takes a touch now."""
    return availability == logic.OK and not busy and not row.quota_reached
