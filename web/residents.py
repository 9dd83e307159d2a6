"""What the residents' pages decide beyond the forms: whether the office is closed (and when it opens),
which days a booking can be made on, how times are written, and cancelling a booking.

Kept out of :mod:`antre_web.app` so that module stays the routing and plumbing; everything here reads the
configuration, the retained state and ``web_info`` and never the database.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from antre import opening
from antre.config import WEEKDAYS, Config
from antre.link.protocol import booking_code_ok, normalize_phone
from antre.wording import long_date

from . import texts

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)


def hhmm(value: str, lang: str = "id") -> str:
    """A protocol time ``"08:30"`` as residents read it: ``08.30`` (EYD; ``08:30`` in English)."""
    return value.replace(":", ".") if lang != "en" else value


def closed_notice(cfg: Config, state: dict[str, Any] | None, now: datetime, lang: str) -> dict[str, str] | None:
    """When the service says the office is closed now: the sentences that say so, the opening hours and
    when it opens next; None while it is open (or nothing is known)."""
    if not state or state.get("open") is not False:
        return None
    when = None
    if state.get("next_open"):
        try:
            when = datetime.fromisoformat(state["next_open"])
        except (TypeError, ValueError):
            when = None
    opens = opening.opens_text(cfg.office, now, lang, when=when)
    return {
        "title": texts.text("closed_now", lang),
        "holiday": texts.text("closed_holiday", lang) if state.get("holiday") else "",
        "hours": texts.text("hours_line", lang, hours=opening.week_text(cfg.office, lang)),
        "opens": texts.text("opens_next", lang, when=opens) if opens else "",
    }


def booking_dates(cfg: Config, info: dict[str, Any], services: list[str]) -> list[date]:
    """The days from the service's business day up to ``booking_days_ahead`` on which at least one of
    ``services`` has appointment slots and the office is open (no weekend, no holiday)."""
    today = date.fromisoformat(info["business_date"])
    days = {s["code"]: set(s.get("appointment_days") or ()) for s in info["services"]}
    wanted = set().union(*(days.get(code, set()) for code in services)) if services else set()
    return [d for d in opening.open_days(cfg.office, today, info["booking_days_ahead"] + 1)
            if WEEKDAYS[d.weekday()] in wanted]


def hours_rows(cfg: Config, lang: str) -> list[tuple[str, str]]:
    """(day name, hours) for the week, times written ``08.00–15.00``."""
    out = []
    for i in range(7):
        hours = cfg.office.hours.for_weekday(i)
        value = texts.text("closed", lang) if hours is None else \
            opening.span_text(*(datetime(2000, 1, 1, *hm).time() for hm in hours), lang=lang)
        out.append((texts.DAYS["en" if lang == "en" else "id"][i], value))
    return out


def upcoming_holidays(cfg: Config, today: date, lang: str, days: int = 60) -> list[str]:
    """The configured holidays in the coming ``days``, as long dates."""
    end = today + timedelta(days=days)
    return [long_date(d, lang) for d in sorted(date.fromisoformat(h) for h in cfg.office.holidays)
            if today <= d <= end]


async def cancel(w: "WebApp", request: Request) -> Response:
    """``/janji/batal``: a resident cancels a booking with its code and the phone number it was made
    with. Cancelling twice (a double tap, a reload) says it is cancelled both times; the slot is free
    again at once."""
    lang = w.lang(request)
    if request.method == "GET":
        code = request.query_params.get("kode", "")[:20]
        return w.render(request, "batal.html", form={"code": code}, errors={}, problem=None, done=None,
                        rid=_new_rid())
    form, refused = await w.form(request)
    if refused:
        return refused
    errors: dict[str, str] = {}
    code = "".join(ch for ch in form.get("code", "")[:40] if not ch.isspace() and ch != "-")
    if not (code.isdigit() and len(code) == 10 and booking_code_ok(code)):
        errors["code"] = texts.text("bad_code", lang)
    phone = normalize_phone(form.get("phone", "")[:40])
    if phone is None:
        errors["phone"] = texts.text("bad_phone", lang)
    if errors:
        return w.render(request, "batal.html", 400, form=form, errors=errors, problem=None, done=None,
                        rid=w.request_id(form))
    if not w.bridge.available:
        return w.render(request, "batal.html", 503, form=form, errors={}, problem=texts.text("offline", lang),
                        done=None, rid=w.request_id(form))
    reply = await w.bridge.request("cancel_booking", {"code": code, "phone": phone},
                                   request_id=w.request_id(form))
    if not reply.ok:
        return w.render(request, "batal.html", 404 if reply.code == "booking_not_found" else 409, form=form,
                        errors={}, problem=w.error_text(reply, lang), done=None, rid=_new_rid())
    b = reply.result
    done = texts.text("cancelled_ok", lang, service=w._service_label(b["service"], lang),
                      date=long_date(date.fromisoformat(b["date"]), lang), slot=hhmm(b["slot"], lang))
    return w.render(request, "batal.html", form={}, errors={}, problem=None, done=done, rid=_new_rid())


def _new_rid() -> str:
    import uuid

    return uuid.uuid4().hex


__all__ = ["booking_dates", "cancel", "closed_notice", "hhmm", "hours_rows", "upcoming_holidays"]
