"""The virtual counter: a counter's buttons in the browser, for offices without buttons or a desk whose
buttons broke.

It is a counter device over MQTT with its own login semantics: each press is a counter command sent by the
website with the signed-in person's session, and the service allows only the counters assigned to that
account (and audits each press with the change). The same rules as the buttons: "next" completes the
ticket being served, a paused counter cannot call. A press made while the service is unreachable is
refused on the spot (the page says it was not sent), never queued and sent later; a press whose answer
did not come says so and is not repeated (the form's request id makes a resubmitted form the same press).

Keyboard (``/static/console.js``): N or + next, R or * recall, S or - no-show, D or Enter done, P pause or
resume. On a phone the buttons sit at the bottom of the screen, within one thumb's reach.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.rules.ticket_view import expand_runs

from .auth import console_command, require_role

if TYPE_CHECKING:
    from antre_web.app import WebApp

log = logging.getLogger(__name__)

#: The buttons: action -> (command, key shortcuts shown, text key). Order is the order on the page.
ACTIONS: dict[str, tuple[str, str, str]] = {
    "next": ("call_next", "N / +", "v_next"),
    "recall": ("recall", "R / *", "v_recall"),
    "skip": ("skip", "S / −", "v_skip"),
    "done": ("complete", "D / Enter", "v_done"),
    "pause": ("pause", "P", "v_pause"),
    "resume": ("resume", "P", "v_resume"),
    "transfer": ("transfer", "", "v_transfer"),
    "number": ("call_number", "", "v_call_number"),
    "back": ("bring_back", "", "v_bring_back"),
}
STATE_WAIT_SECONDS = 2.0
_RID = re.compile(r"[0-9a-f]{32}")
_NUMBER = re.compile(r"([A-Za-z])\s*-?\s*(\d{1,6})")


def _web(request: Request) -> "WebApp":
    return request.app.state.web


def t(request: Request, key: str, **values) -> str:
    from antre_web import texts

    return texts.text(key, _web(request).lang(request), **values)


def _counter_view(w: "WebApp", counter_id: str) -> dict[str, Any] | None:
    state = w.bridge.state or {}
    return next((c for c in state.get("counters") or [] if c.get("id") == counter_id), None)


def _no_shows(w: "WebApp", services: list[str], day: str | None) -> list[str]:
    """Today's tickets marked no-show for these services, newest first (read-only from the database)."""
    if not day or not services:
        return []
    from datetime import date

    from sqlalchemy import select

    from antre.storage.models import NO_SHOW, Ticket

    def read(s):
        return list(s.scalars(select(Ticket.number).where(Ticket.business_date == date.fromisoformat(day),
                                                          Ticket.state == NO_SHOW,
                                                          Ticket.service_code.in_(services))
                              .order_by(Ticket.finished_at.desc()).limit(30)))

    return w.console.read(read, default=[])


async def page(request: Request) -> Response:
    w = _web(request)
    account = require_role(request)
    mine = [c for c in w.cfg.counters if c.id in account.counters]
    if not mine:
        return w.render(request, "console/message.html", 403, text=t(request, "v_no_counter"))
    chosen = request.query_params.get("loket") or mine[0].id
    counter = next((c for c in mine if c.id == chosen), None)
    if counter is None:   # a counter that is not this person's: not even shown
        return w.render(request, "console/message.html", 403, text=t(request, "v_not_yours"))
    state = w.bridge.state or {}
    view = _counter_view(w, counter.id) or {}
    services = {s["code"]: s for s in state.get("services") or []}
    waiting = []
    for code in counter.services:
        svc = services.get(code) or {}
        for number in expand_runs(svc.get("queue") or []):
            waiting.append({"number": number, "service": code})
    # Calling order across the counter's services is the service's; here: each service's queue in turn.
    message = _flash(request)
    return w.render(request, "console/counter.html", 200, counter=counter, counters=mine, view=view,
                    waiting=waiting[:60], waiting_total=len(waiting), actions=ACTIONS,
                    no_shows=_no_shows(w, list(counter.services), state.get("business_date")),
                    transfer_to=[s for s in w.cfg.services if s.code not in counter.services and s.active],
                    rid=uuid.uuid4().hex, message=message, live=w.bridge.available,
                    paused=view.get("status") == "paused")


def _flash(request: Request) -> dict[str, str] | None:
    q = request.query_params
    if q.get("ok"):
        return {"kind": "ok", "text": t(request, "v_sent_" + q["ok"]) if q["ok"] in ACTIONS else t(request, "c_saved")}
    if q.get("err"):
        code = q["err"]
        from antre_web import texts

        key = f"v_err_{code}" if f"v_err_{code}" in texts.TEXTS else f"err_{code}"
        return {"kind": "alert", "text": t(request, key) if key in texts.TEXTS else t(request, "err_other") + f" ({code})"}
    return None


async def press(request: Request) -> Response:
    w = _web(request)
    account = require_role(request)
    form, refused = await w.form(request)
    if refused:
        return refused
    counter_id = form.get("counter", "")
    action = form.get("action", "")
    back = f"/staf/loket?loket={counter_id}" if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", counter_id) else "/staf/loket"
    if action not in ACTIONS:
        return RedirectResponse(back + "&err=bad_form", status_code=303)
    if counter_id not in account.counters:
        # Checked here for a clear page, and by the service again whatever this page does.
        log.warning("%s tried counter %s, not theirs", account.name, counter_id)
        return w.render(request, "console/message.html", 403, text=t(request, "v_not_yours"))
    command = ACTIONS[action][0]
    args: dict[str, Any] = {"counter": counter_id}
    if action in ("number", "back"):
        m = _NUMBER.fullmatch(form.get("number", "").strip())
        if not m:
            return RedirectResponse(back + "&err=bad_number", status_code=303)
        width = w.cfg.queue.number_width
        args["number"] = f"{m[1].upper()}-{int(m[2]):0{width}d}"
    if action == "transfer":
        service = form.get("service", "")
        if service not in {s.code for s in w.cfg.services}:
            return RedirectResponse(back + "&err=bad_form", status_code=303)
        args["service"] = service
    if not w.bridge.link.connected.is_set() or not w.bridge.available:
        # Refused now, never kept to be sent later: a "next" must not call someone minutes from now.
        return RedirectResponse(back + "&err=offline", status_code=303)
    rid = form.get("rid", "")
    seq = (w.bridge.state or {}).get("seq")
    reply = await console_command(request, command, args, request_id=rid if _RID.fullmatch(rid) else None)
    if not reply.ok:
        return RedirectResponse(back + f"&err={reply.code or 'other'}", status_code=303)
    # The page that follows shows the board with this press in it (the state comes just after the reply).
    await w.bridge.state_after(seq, STATE_WAIT_SECONDS)
    return RedirectResponse(back + f"&ok={action}", status_code=303)


def routes() -> list[Route]:
    return [
        Route("/staf/loket", page),
        Route("/staf/loket/tekan", press, methods=["POST"]),
    ]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
