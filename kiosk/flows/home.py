"""The start screen: whether tickets can be taken now, the banner, the title and each service button."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    """The start screen for ``availability`` (from :func:`kiosk.logic.availability`) and the retained ``state``.

    ``office_name`` is the configured name, used until the state names the office.
    """
    def t(key: str, **values: Any) -> str:
        return texts.text(key, lang, **values)

    state_office = (state or {}).get("office") or {}
    if availability == logic.CLOSED:
        hours = (state or {}).get("hours_today")
        banner = t("closed", hours=hours) if hours else t("closed_today")
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


def service_subtext(row: logic.ServiceRow, availability: str, lang: str) -> str:
    """The second line of a service button: people waiting and the expected wait, or why it is closed."""
    if availability in (logic.BROKER_DOWN, logic.SERVICE_OFFLINE):
        return ""  # the counts would be stale
    if row.quota_reached:
        return texts.text("quota_reached", lang)
    waiting = texts.text("waiting", lang, n=row.waiting) if row.waiting else texts.text("waiting_none", lang)
    wait = (texts.text("wait_minutes", lang, m=row.estimated_wait_minutes) if row.estimated_wait_minutes
            else texts.text("wait_now", lang))
    return f"{waiting}  \u2022  {wait}"


def can_issue(row: logic.ServiceRow, availability: str, busy: bool) -> bool:
    """Whether ``row``'s button takes a touch now."""
    return availability == logic.OK and not busy and not row.quota_reached
