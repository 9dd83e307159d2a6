"""Signing in and out, the first admin's setup link, one's own password, and the admin's accounts page.

Every change is a command to the service (``staff_*``, :mod:`antre.rules.staff`), which writes it with its
audit row; this module renders forms and reads accounts through :class:`~antre_web.console.auth.ConsoleAuth`.
Every form goes through :meth:`antre_web.app.WebApp.form` (the per-address form limit and the CSRF check).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.rules.staff import NAME, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, ROLES, list_accounts

from .auth import SHARED, STAFF_COOKIE, console_command, current_account, require_role, session_token
from .texts import ROLE_NAMES

if TYPE_CHECKING:
    from antre_web.app import WebApp

log = logging.getLogger(__name__)

SESSION_COOKIE_SECONDS = 7 * 86400
SHARED_SESSION_SECONDS = 8 * 3600   # the older shared password's sessions, kept in the web's memory   # the cookie may outlive the session; the service decides when it ends


def _web(request: Request) -> "WebApp":
    return request.app.state.web


def t(request: Request, key: str, **values) -> str:
    from antre_web import texts

    return texts.text(key, _web(request).lang(request), **values)


def _at(request: Request, seconds: float) -> str:
    w = _web(request)
    return (datetime.now(w.cfg.office.tz) + timedelta(seconds=seconds + 59)).strftime("%H.%M")


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(STAFF_COOKIE, token, httponly=True, samesite="strict", path="/staf",
                        max_age=SESSION_COOKIE_SECONDS, secure=request.url.scheme == "https")


# ---------------------------------------------------------------------- sign in

def login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    w = _web(request)
    admins = w.console.admins()
    shared = not admins and w.staff_enabled
    note = None
    if admins is None:
        note = t(request, "c_db_unreadable")
    elif admins == 0:
        note = t(request, "c_shared_hint") if shared else t(request, "c_no_admin")
    return w.render(request, "console/login.html", status, error=error, note=note, shared=shared,
                    login_name=getattr(request.state, "login_name", ""))


async def login(request: Request) -> Response:
    w = _web(request)
    form, refused = await w.form(request)
    if refused:
        return refused
    ip = w.client_ip(request)
    wait = w.login_throttle.wait(ip)
    if wait > 0:   # not even checked: guesses while waiting are worth nothing
        return login_page(request, t(request, "login_wait", time=_at(request, wait)), 429)
    name = form.get("name", "").strip().lower()[:64]
    password = form.get("password", "")[:PASSWORD_MAX_LENGTH]
    request.state.login_name = name if NAME.fullmatch(name) else ""
    if not name:
        return await _shared_login(request, password)
    if not NAME.fullmatch(name) or not password:
        w.login_throttle.failed(ip)
        return login_page(request, t(request, "c_wrong"), 403)
    token = secrets.token_urlsafe(32)
    reply = await w.bridge.request("staff_login", {"name": name, "password": password, "session": token,
                                                   "address": ip})
    if not reply.ok:
        return login_page(request, t(request, "c_offline"), 503)
    result = reply.result
    if not result.get("signed_in"):
        reason = result.get("reason")
        if reason == "wrong":
            w.login_throttle.failed(ip)
            return login_page(request, t(request, "c_wrong"), 403)
        key = "c_locked" if reason == "locked" else "c_wait"
        return login_page(request, t(request, key, time=_at(request, float(result.get("retry_after") or 0))), 429)
    response = RedirectResponse("/staf", status_code=303)
    set_session_cookie(request, response, token)
    return response


async def _shared_login(request: Request, password: str) -> Response:
    """The older shared password (``[web] staff_password_hash`` / ``staff_pin_hash``): only until an admin
    account exists."""
    from antre_web.security import PASSWORD_MIN_LENGTH as SHARED_MIN, verify_pin

    w = _web(request)
    ip = w.client_ip(request)
    admins = w.console.admins(fresh=True)
    if admins or not w.staff_enabled:
        return login_page(request, t(request, "c_shared_gone") if admins else t(request, "c_need_name"), 403)
    long_enough = w.staff_legacy or len(password) >= SHARED_MIN
    if not (long_enough and await run_in_threadpool(verify_pin, password, w.staff_hash)):
        w.login_throttle.failed(ip)
        log.warning("wrong staff password from %s", ip)
        return login_page(request, t(request, "password_wrong"), 403)
    log.info("staff signed in with the shared password from %s", ip)
    response = RedirectResponse("/staf", status_code=303)
    response.set_cookie(STAFF_COOKIE, w.sessions.create("staff", SHARED_SESSION_SECONDS), httponly=True,
                        samesite="strict", path="/staf", max_age=SHARED_SESSION_SECONDS,
                        secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    w = _web(request)
    form, refused = await w.form(request)
    if refused:
        return refused
    token = session_token(request)
    w.sessions.revoke(token)   # a shared-password session, if it was one
    problem = None
    if token and w.console.account(request) not in (None, SHARED):
        w.console.revoked.add(token)   # dead in this web at once, whatever the service says
        reply = await w.bridge.request("staff_logout", {"session": token, "address": w.client_ip(request)})
        if not reply.ok:
            problem = t(request, "c_logout_offline")
    log.info("staff signed out from %s", w.client_ip(request))
    response = login_page(request, problem) if problem else RedirectResponse("/staf", status_code=303)
    response.delete_cookie(STAFF_COOKIE, path="/staf")
    return response


# ---------------------------------------------------------------------- the first admin

def _setup_valid(request: Request) -> bool:
    w = _web(request)
    token = w.console.setup_token
    given = request.path_params.get("token", "")
    return bool(token) and secrets.compare_digest(token, given) and w.console.admins(fresh=True) == 0


async def setup(request: Request) -> Response:
    w = _web(request)
    if not _setup_valid(request):
        return w.render(request, "console/message.html", 404, text=t(request, "c_setup_bad"))
    if request.method == "GET":
        return w.render(request, "console/setup.html", error=None, form={})
    form, refused = await w.form(request)
    if refused:
        return refused
    error = _new_password_problem(request, form)
    name = form.get("name", "").strip().lower()
    if error is None and not NAME.fullmatch(name):
        error = t(request, "c_bad_name")
    if error:
        return w.render(request, "console/setup.html", 400, error=error, form=form)
    token = secrets.token_urlsafe(32)
    reply = await w.bridge.request("staff_setup", {"name": name, "password": form["password"],
                                                   "full_name": form.get("full_name", "").strip()[:80],
                                                   "session": token, "address": w.client_ip(request)})
    if not reply.ok:
        return w.render(request, "console/setup.html", 409, error=_error_text(request, reply.code), form=form)
    w.console.setup_token = None   # one time only
    w.console.admins(fresh=True)
    log.info("first admin account %s made with the setup link from %s", name, w.client_ip(request))
    response = RedirectResponse("/staf/akun", status_code=303)
    set_session_cookie(request, response, token)
    return response


def _new_password_problem(request: Request, form: dict[str, str], field: str = "password") -> str | None:
    password = form.get(field, "")
    if password != form.get(f"{field}2", ""):
        return t(request, "c_differ")
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        return t(request, "c_weak")
    return None


def _error_text(request: Request, code: str | None) -> str:
    key = {"weak_password": "c_weak", "name_taken": "c_name_taken", "last_admin": "c_last_admin",
           "password_wrong": "c_password_wrong", "not_signed_in": "c_not_signed_in", "offline": "c_offline",
           "timeout": "c_offline", "setup_done": "c_setup_bad", "busy": "c_busy"}.get(code or "")
    return t(request, key) if key else f"{t(request, 'err_other')} ({code})"


# ---------------------------------------------------------------------- one's own password

async def password(request: Request) -> Response:
    w = _web(request)
    account = require_role(request)
    if request.method == "GET":
        return w.render(request, "console/password.html", account=account, error=None)
    form, refused = await w.form(request)
    if refused:
        return refused
    error = _new_password_problem(request, form, "new_password")
    if error:
        return w.render(request, "console/password.html", 400, account=account, error=error)
    reply = await console_command(request, "staff_passwd", {"password": form.get("password", "")[:256],
                                                            "new_password": form["new_password"]})
    if not reply.ok:
        return w.render(request, "console/password.html", 409 if reply.code != "offline" else 503,
                        account=account, error=_error_text(request, reply.code))
    response = login_page(request, t(request, "c_password_changed"))
    response.delete_cookie(STAFF_COOKIE, path="/staf")
    return response


# ---------------------------------------------------------------------- accounts (admin)

async def accounts(request: Request, problem: str | None = None, status: int = 200) -> Response:
    w = _web(request)
    account = require_role(request, "admin")
    rows = w.console.read(list_accounts, default=[])
    return w.render(request, "console/accounts.html", status, account=account, rows=rows, roles=ROLES,
                    role_names=ROLE_NAMES, counters=w.cfg.counters, problem=problem,
                    saved=request.query_params.get("ok") == "1")


def _counters_from(form, w: "WebApp") -> list[str]:
    known = {c.id for c in w.cfg.counters}
    return [c for c in form.getlist("counters") if c in known] if hasattr(form, "getlist") else []


async def account_add(request: Request) -> Response:
    w = _web(request)
    require_role(request, "admin")
    form, refused = await w.form(request)
    if refused:
        return refused
    raw = await request.form()
    error = _new_password_problem(request, form)
    name = form.get("name", "").strip().lower()
    if error is None and not NAME.fullmatch(name):
        error = t(request, "c_bad_name")
    role = form.get("role", "")
    if error is None and role not in ROLES:
        error = t(request, "bad_form")
    if error:
        return await accounts(request, error, 400)
    reply = await console_command(request, "staff_add", {
        "name": name, "role": role, "password": form["password"], "full_name": form.get("full_name", "").strip()[:80],
        "counters": _counters_from(raw, w)})
    if not reply.ok:
        return await accounts(request, _error_text(request, reply.code), 409)
    return RedirectResponse("/staf/akun?ok=1", status_code=303)


async def account_update(request: Request) -> Response:
    w = _web(request)
    require_role(request, "admin")
    form, refused = await w.form(request)
    if refused:
        return refused
    raw = await request.form()
    name = form.get("name", "")
    if not NAME.fullmatch(name):
        return await accounts(request, t(request, "bad_form"), 400)
    args: dict = {"name": name}
    what = form.get("what", "")
    if what == "save":
        role = form.get("role", "")
        if role not in ROLES:
            return await accounts(request, t(request, "bad_form"), 400)
        args |= {"role": role, "counters": _counters_from(raw, w), "full_name": form.get("full_name", "").strip()[:80]}
    elif what in ("disable", "enable"):
        args["disabled"] = what == "disable"
    elif what == "end_sessions":
        args["end_sessions"] = True
    elif what == "password":
        error = _new_password_problem(request, form)
        if error:
            return await accounts(request, error, 400)
        args["password"] = form["password"]
    else:
        return await accounts(request, t(request, "bad_form"), 400)
    reply = await console_command(request, "staff_update", args)
    if not reply.ok:
        return await accounts(request, _error_text(request, reply.code), 409)
    return RedirectResponse("/staf/akun?ok=1", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/staf/setup/{token}", setup, methods=["GET", "POST"]),
        Route("/staf/sandi", password, methods=["GET", "POST"]),
        Route("/staf/akun", accounts),
        Route("/staf/akun/tambah", account_add, methods=["POST"]),
        Route("/staf/akun/ubah", account_update, methods=["POST"]),
    ]


__all__ = ["routes", "login", "logout", "login_page", "current_account"]
