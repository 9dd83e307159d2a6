"""What a Kasi Pelayanan changes week to week (``/staf/kantor``): the office calendar (holidays and special
closing days), services on or off, a service's requirements text, and the TV's running text.

The calendar and services are kept by the service (:mod:`antre.rules.office`, command ``office_set``), checked
there by the configuration file's own schema and audited with the change. The running text is a retained
message the website publishes itself; it is audited first (no record, no change). What an installer sets once
stays in the TOML file and is shown here read-only.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .auth import OFFICE_ROLES, SHARED, audit_view, console_command, current_account, require_role

if TYPE_CHECKING:
    from antre_web.app import WebApp

log = logging.getLogger(__name__)


def _web(request: Request) -> "WebApp":
    return request.app.state.web


def t(request: Request, key: str, **values) -> str:
    from antre_web import texts

    return texts.text(key, _web(request).lang(request), **values)


async def audit_ticker(request: Request, text: str) -> bool:
    """Records the new running text in the audit log before it is published; False if it cannot be recorded."""
    account = current_account(request)
    if account is None:
        return False
    if account is SHARED:   # the older shared password has no account: the web's log is all there is
        log.info("ticker text changed with the shared staff password")
        return True
    return await audit_view(request, account, "office.ticker", subject="ticker", detail=text)


async def page(request: Request, problem: str | None = None, status: int = 200) -> Response:
    w = _web(request)
    account = require_role(request, *OFFICE_ROLES)
    reply = await w.bridge.request("office_settings", {})
    settings = reply.result if reply.ok else None
    if settings is None and problem is None:
        problem, status = t(request, "c_offline"), 503
    from antre.wording import long_date

    lang = w.lang(request)
    return w.render(request, "console/office.html", status, account=account, settings=settings or {},
                    long_date=lambda d: long_date(date.fromisoformat(d), lang),
                    problem=problem, saved=request.query_params.get("ok") == "1",
                    ticker=w.bridge.ticker if w.bridge.ticker is not None else w.cfg.display.ticker)


def _problem(request: Request, reply) -> str:
    if reply.code in ("offline", "timeout"):
        return t(request, "c_offline")
    if reply.code in ("invalid_settings", "invalid_argument"):
        return t(request, "k_invalid", detail=reply.message or "")
    return f"{t(request, 'err_other')} ({reply.code})"


async def calendar(request: Request) -> Response:
    w = _web(request)
    require_role(request, *OFFICE_ROLES)
    form, refused = await w.form(request)
    if refused:
        return refused
    current = await w.bridge.request("office_settings", {})
    if not current.ok:
        return await page(request, _problem(request, current), 503)
    days = list(current.result["holidays"])
    action, day = form.get("action", ""), form.get("date", "").strip()
    if action == "add":
        try:
            date.fromisoformat(day)
        except ValueError:
            return await page(request, t(request, "bad_date"), 400)
        days = sorted(set(days) | {day})
    elif action == "remove" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        days = [d for d in days if d != day]
    else:
        return await page(request, t(request, "bad_form"), 400)
    reply = await console_command(request, "office_set", {"holidays": days})
    if not reply.ok:
        return await page(request, _problem(request, reply), 409)
    return RedirectResponse("/staf/kantor?ok=1", status_code=303)


async def service(request: Request) -> Response:
    w = _web(request)
    require_role(request, *OFFICE_ROLES)
    form, refused = await w.form(request)
    if refused:
        return refused
    code = form.get("service", "")
    if code not in w.services:
        return await page(request, t(request, "bad_form"), 400)
    args: dict = {"service": code}
    if form.get("action") == "active" and form.get("value") in ("on", "off"):
        args["active"] = form["value"] == "on"
    elif form.get("action") == "requirements":
        lines = [" ".join(line.split()) for line in form.get("requirements", "")[:8000].splitlines()]
        args["requirements"] = [line for line in lines if line]
        if len(args["requirements"]) > 30 or any(len(line) > 200 for line in args["requirements"]):
            return await page(request, t(request, "k_too_long"), 400)
    else:
        return await page(request, t(request, "bad_form"), 400)
    reply = await console_command(request, "office_set", args)
    if not reply.ok:
        return await page(request, _problem(request, reply), 409)
    return RedirectResponse("/staf/kantor?ok=1", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/staf/kantor", page),
        Route("/staf/kantor/libur", calendar, methods=["POST"]),
        Route("/staf/kantor/layanan", service, methods=["POST"]),
    ]
