"""What every console page shows at the top (who is signed in, their pages, the devices that need a person),
the office at a glance, and the pages for refused requests."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.link import health

from .texts import ROLE_NAMES

if TYPE_CHECKING:
    from antre_web.app import WebApp


def context(w: "WebApp", request: Request) -> dict[str, Any]:
    """Template values of every console page: the signed-in account, its role's name, the health alerts."""
    lang = w.lang(request)
    account = w.console.account(request)
    return {
        "account": account,
        "role_label": lambda role: ROLE_NAMES.get(role, (role, role))[0 if lang == "id" else 1],
        "alerts": health.attention(w.bridge.devices()) if account is not None else [],
    }


def glance(state: dict[str, Any]) -> dict[str, Any]:
    """Today's numbers from the retained state: waiting per service, who each counter serves, the average
    wait so far (minutes per resident, as the service estimates it)."""
    services = state.get("services") or []
    waiting = sum(int(s.get("waiting") or 0) for s in services)
    issued = sum(int(s.get("issued_today") or 0) for s in services)
    paces = [float(s["minutes_per_ticket"]) for s in services if s.get("minutes_per_ticket")]
    waits = [int(s.get("estimated_wait_minutes") or 0) for s in services if s.get("waiting")]
    return {"waiting": waiting, "issued": issued, "longest_wait": max(waits) if waits else 0,
            "minutes_per_ticket": round(sum(paces) / len(paces), 1) if paces else None,
            "counters_serving": sum(1 for c in state.get("counters") or [] if c.get("status") == "serving"),
            "counters": len(state.get("counters") or [])}


def today_stats(w: "WebApp", day: str | None) -> dict[str, Any]:
    """From the database (read-only): tickets served per counter today, and the average wait so far (issue
    to first call, over the tickets called today), overall and per service. Empty when it cannot be read."""
    if not day:
        return {}
    from datetime import date

    from sqlalchemy import select

    from antre.storage.models import DONE, NO_SHOW, Ticket

    def read(s):
        rows = s.execute(select(Ticket.service_code, Ticket.counter_id, Ticket.state, Ticket.issued_at,
                                Ticket.first_called_at).where(Ticket.business_date == date.fromisoformat(day))).all()
        per_counter: dict[str, dict[str, int]] = {}
        waits: dict[str, list[float]] = {}
        for service, counter, state, issued, called in rows:
            if counter and state in (DONE, NO_SHOW):
                c = per_counter.setdefault(counter, {"done": 0, "no_show": 0})
                c["done" if state == DONE else "no_show"] += 1
            if called is not None and issued is not None:
                waits.setdefault(service, []).append(max(0.0, (called - issued).total_seconds() / 60))
        every = [m for ms in waits.values() for m in ms]
        return {"per_counter": per_counter,
                "wait": round(sum(every) / len(every)) if every else None,
                "wait_by_service": {k: round(sum(v) / len(v)) for k, v in waits.items()}}

    return w.console.read(read, default={}) or {}


def _web(request: Request) -> "WebApp":
    return request.app.state.web


async def sign_in_required(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return RedirectResponse("/staf", status_code=303)
    from .accounts import login_page, t

    return login_page(request, t(request, "c_not_signed_in"), 401)


async def role_refused(request: Request, exc: Exception) -> Response:
    from .accounts import t

    w = _web(request)
    role = ROLE_NAMES.get(exc.account.role, (exc.account.role,) * 2)[0 if w.lang(request) == "id" else 1]
    return w.render(request, "console/message.html", 403, text=t(request, "c_forbidden", role=role))


def routes() -> list[Route]:
    from . import audit, counter, office

    return [*counter.routes(), *audit.routes(), *office.routes()]


def now_local(w: "WebApp") -> datetime:
    return datetime.now(w.cfg.office.tz)
