"""The website: Starlette routes, server-rendered Jinja2 pages, a little JavaScript for live status.

Residents: take a number from home (``/ambil``), book a time (``/janji``), follow a
ticket (``/status/{date}/{number}``, live by server-sent events), read the services'
requirements (``/layanan``, no JavaScript needed). Staff: ``/staf`` behind a PIN.

The site is another device: every change goes to the queue service as an MQTT
command (:class:`~antre_web.bridge.Bridge`); it never opens the database, except that the
staff report download reads it through :mod:`antre.reports` (read-only by design).
Names and phone numbers are sent to the service and never logged here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import logging
import re
import tempfile
import uuid
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from antre.addresses import limit_key
from antre.link import health
from antre.config import Config
from antre.link.mqtt import Reply
from antre.link.protocol import normalize_name, normalize_phone
from antre.rules.booking_code import format_booking_code
from antre.wording import ask_about, ask_about_ticket, whatsapp_link

from . import complaints, complaints_console, complaints_texts, faq, follow, lapor, my_items, news, portal, letters, letters_console, notify_console, questions_console, residents, texts
from .bridge import PING, TERMINAL, Bridge
from .photos import UploadTooLarge, read_upload
from .console import ConsoleAuth, RoleRefused, SignInRequired, console_command
from .console import office as console_office
from .console.auth import OFFICE_ROLES, REPORT_ROLES
from .console import accounts as console_accounts
from .console import pages as console_pages
from .security import (
    GuessLimit,
    PASSWORD_MIN_LENGTH,
    LoginThrottle,
    RateLimiter,
    SessionStore,
    csrf_token,
    form_csrf_ok,
    set_csrf_cookie,
    valid_pin_hash,
)

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SSE_PING_SECONDS = 15.0
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RATING_CODE = re.compile(r"[0-9]{4}")
#: The cookie that keeps a web ticket's rating code for its own status page only ("date_number_code").
RATING_COOKIE = "kode_penilaian"
_RID = re.compile(r"[0-9a-f]{32}")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'",
}


class SubmittedForm(dict):
    """A submitted form's text fields (a dict), and its files by field name (``files``)."""

    files: dict[str, UploadFile]

    async def file_bytes(self, name: str) -> bytes:
        """The file sent in the field ``name``, or b"" when none was chosen."""
        upload = self.files.get(name)
        return await upload.read() if upload is not None and upload.filename else b""


class FormRefused(Exception):
    """Raised by a :meth:`WebApp.form` body reader: the form is refused with this page."""

    def __init__(self, response: Response):
        super().__init__("form refused")
        self.response = response


#: Reads a request's form (see :meth:`WebApp.form`).
BodyReader = Callable[[Request], Awaitable[FormData]]


class WebApp:
    """Holds the configuration, the bridge and the limits; its methods are the routes."""

    def __init__(self, cfg: Config, bridge: Bridge | None = None):
        self.cfg = cfg
        self.web = cfg.web
        self.bridge = bridge or Bridge(cfg)
        self.templates = Jinja2Templates(directory=[str(HERE / "templates"), str(HERE / "console" / "templates")])
        self.page_limit = RateLimiter(self.web.request_limit_per_minute, 60.0)
        self.form_limit = RateLimiter(self.web.form_limit_per_minute, 60.0)
        # Per service, all addresses together: rotating addresses cannot flood one service's share.
        self.service_limit = RateLimiter(self.web.web_tickets_per_minute, 60.0)
        self.login_throttle = LoginThrottle()
        # Wrong SMS codes per address (web/my_items.py); lookups by code are counted by the service.
        # Wrong SMS codes of /urusan per address only: a code dies after 5 tries and codes are capped per number
        # and office-wide by the service, while a cap on all addresses together let 30 addresses lock out everyone.
        self.guesses = GuessLimit(total=None)
        self.sessions = SessionStore()   # the older shared password's sessions (until an admin account exists)
        self.console = ConsoleAuth(self)
        # The staff password; a short PIN of older configurations still works, with a warning.
        self.staff_legacy = not valid_pin_hash(self.web.staff_password_hash) and valid_pin_hash(self.web.staff_pin_hash)
        self.staff_hash = self.web.staff_pin_hash if self.staff_legacy else self.web.staff_password_hash
        self.staff_enabled = valid_pin_hash(self.staff_hash)
        if self.staff_legacy:
            log.warning("[web] staff_pin_hash is a short PIN, easy to guess: make a password of at least %d "
                        "characters with 'antre web --hash-password', set [web] staff_password_hash and remove "
                        "staff_pin_hash", PASSWORD_MIN_LENGTH)
        self.services = {s.code: s for s in cfg.services}
        self.streams: dict[str, int] = {}   # open status streams per client address
        self._rendered: dict[tuple[int, str], tuple[dict, str]] = {}
        self.news = None   # web/news.py's pages, set by create_app (the home page shows the newest items)

    # ------------------------------------------------------------------ plumbing

    def lang(self, request: Request) -> str:
        lang = request.cookies.get("lang") or self.cfg.office.language
        return lang if lang in texts.LANGUAGES else "id"

    def today(self) -> date:
        return datetime.now(timezone.utc).astimezone(self.cfg.office.tz).date()

    def csrf(self, request: Request) -> str:
        return csrf_token(request)

    def render(self, request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        lang = self.lang(request)
        state = self.bridge.state or {}
        office = state.get("office") or {}
        base = {
            "lang": lang, "t": lambda key, **v: texts.text(key, lang, **v),
            "office_name": office.get("name") or self.cfg.office.name,
            "office_address": office.get("address", self.cfg.office.address),
            "csrf": self.csrf(request), "available": self.bridge.available, "path": request.url.path,
            "service_label": lambda code: self._service_label(code, lang),
            # the page families' own texts (letters, complaints, news), bound to the page's language once here
            "lt": lambda key, **v: letters.lt(key, lang, **v),
            "ct": lambda key, **v: complaints_texts.ct(key, lang, **v),
            "topic_label": lambda topic: complaints_texts.topic_label(topic, lang),
            "nt": lambda key, **v: news.nt(key, lang, **v),
            "request_path": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        }
        if request.url.path.startswith("/staf"):
            base |= console_pages.context(self, request)   # who is signed in, their pages, the alerts
        response = self.templates.TemplateResponse(request, name, base | ctx, status_code=status)
        self._finish(request, response)
        return response

    def _finish(self, request: Request, response: Response) -> None:
        set_csrf_cookie(request, response)
        response.headers["Cache-Control"] = "no-store"

    def _service_label(self, code: str, lang: str) -> str:
        svc = self.services.get(code)
        if svc is None:
            return code
        return svc.name_en if lang == "en" and svc.name_en else svc.name

    def message(self, request: Request, key: str, status: int, **values: Any) -> Response:
        return self.render(request, "message.html", status, text_key=key, values=values)

    def error_text(self, reply: Reply, lang: str, **values: Any) -> str:
        key = f"err_{reply.code}"
        if key not in texts.TEXTS:
            log.warning("the service refused: %s", reply.code)
            key = "err_other"
        return texts.text(key, lang, **({"n": self.web.phone_daily_limit, "m": self.web.phone_slot_limit} | values))

    def client_ip(self, request: Request) -> str:
        return request.client.host if request.client else "?"

    def client_key(self, request: Request) -> str:
        """What this site's per-address limits count the client by: an IPv6 address by its /64, as the
        service does (antre/addresses.py); one phone on IPv6 privacy addresses is one client."""
        return limit_key(self.client_ip(request))

    async def form(self, request: Request, body: BodyReader | None = None
                   ) -> tuple[SubmittedForm | None, Response | None]:
        """The submitted form after the rate limit and the CSRF check; or the refusal to send. ``body``
        reads the request's form (default: text fields only); one for a form with a file is
        :meth:`upload_reader`, and a reader may refuse with a page of its own (:class:`FormRefused`)."""
        if not self.form_limit.allow(self.client_key(request)):
            return None, self.message(request, "too_many", 429)
        try:
            data = await (body(request) if body is not None else request.form(max_files=0, max_fields=20))
        except FormRefused as refused:
            return None, refused.response
        except Exception:  # noqa: BLE001 - a malformed body is a bad form
            return None, self.message(request, "bad_form", 400)
        form = SubmittedForm((k, v) for k, v in data.items() if isinstance(v, str))
        form.files = {k: v for k, v in data.items() if isinstance(v, UploadFile)}
        if not form_csrf_ok(request, form):
            log.warning("form without a valid CSRF token refused (%s)", request.url.path)
            return None, self.message(request, "bad_form", 403)
        return form, None

    def upload_reader(self, limit: int, too_large: Callable[[Request], Response]) -> BodyReader:
        """A :meth:`form` body reader for a multipart form with one file, whose body may be at most ``limit``
        bytes (refused while it arrives, with the page ``too_large(request)``)."""
        async def read(request: Request) -> FormData:
            try:
                return await read_upload(request, limit)
            except UploadTooLarge:
                raise FormRefused(too_large(request)) from None
        return read

    def request_id(self, form: dict[str, str]) -> str:
        # The form carries its own id: submitting the same form twice returns the same ticket or booking.
        rid = form.get("rid", "")
        return rid if _RID.fullmatch(rid) else uuid.uuid4().hex

    async def web_info(self) -> dict[str, Any] | None:
        reply = await self.bridge.request("web_info", {})
        return reply.result if reply.ok else None

    # ------------------------------------------------------------------ pages

    async def home(self, request: Request) -> Response:
        news = await self.news.latest(self.lang(request)) if self.news is not None else []
        return self.render(request, "home.html", hours=self._hours(request), holidays=self._holidays(request),
                           news=news)

    def _holidays(self, request: Request) -> list[str]:
        return residents.upcoming_holidays(self.cfg, self.today(), self.lang(request))

    def _hours(self, request: Request) -> list[tuple[str, str]]:
        return residents.hours_rows(self.cfg, self.lang(request))

    async def layanan(self, request: Request) -> Response:
        info = await self.web_info() if self.bridge.available else None
        flags = {s["code"]: s for s in (info or {}).get("services", [])}
        state_services = {s["code"]: s for s in (self.bridge.state or {}).get("services", [])}
        rows = []
        for svc in self.cfg.services:
            live = state_services.get(svc.code, {})
            if not live.get("active", svc.active):
                continue
            rows.append({"code": svc.code, "requirements": live.get("requirements", svc.requirements),
                         "waiting": live.get("waiting"), "quota_reached": live.get("quota_reached"),
                         "remote": flags.get(svc.code, {}).get("remote"),
                         "appointments": flags.get(svc.code, {}).get("appointments")})
        state = self.bridge.state or {}
        hours_today = state.get("hours_today")
        return self.render(request, "layanan.html", rows=rows, hours=self._hours(request), holidays=self._holidays(request),
                           hours_today=hours_today and residents.hhmm(hours_today.replace("-", "–"), self.lang(request)))

    # ------------------------------------------------------------------ take a number

    async def ambil(self, request: Request) -> Response:
        if request.method == "GET":
            return await self._ambil_form(request, {}, {}, None, 200)
        form, refused = await self.form(request)
        if refused:
            return refused
        lang = self.lang(request)
        errors: dict[str, str] = {}
        if self._closed(request):   # said before anything is sent (the service would refuse it too)
            return await self._ambil_form(request, form, {}, None, 409)
        info = await self.web_info()
        if info is None:
            return await self._ambil_form(request, form, {}, texts.text("offline", lang), 503)
        remote = [s["code"] for s in info["services"] if s["remote"]]
        service = form.get("service", "")
        if service not in remote:
            errors["service"] = texts.text("bad_service", lang)
        name, phone = contact(form, lang, errors)
        if errors:
            return await self._ambil_form(request, form, errors, None, 400, info)
        if not self.service_limit.allow(service):
            log.warning("web tickets for %s: over %d a minute from all addresses", service,
                        self.web.web_tickets_per_minute)
            return await self._ambil_form(request, form, {}, texts.text("service_busy", lang), 429, info)
        args = {"service": service, "channel": "web", "name": name, "phone": phone}
        if info.get("sms") and form.get("sms") == "ya":
            args["notify"] = True   # the resident ticked "Kirimi saya SMS" (docs/sms.md)
        reply = await self.bridge.request("issue_ticket", args, request_id=self.request_id(form))
        if not reply.ok:
            return await self._ambil_form(request, form, {}, self.error_text(reply, lang), 409, info)
        r = reply.result
        response = RedirectResponse(f"/status/{r['business_date']}/{r['number']}?baru=1", status_code=303)
        code = r.get("rating_code")
        if isinstance(code, str) and _RATING_CODE.fullmatch(code):
            # The ticket's rating code stays in this resident's browser only (a cookie for this ticket's
            # status page), never in a link, a log, the state or an event.
            response.set_cookie(RATING_COOKIE, f"{r['business_date']}_{r['number']}_{code}", max_age=36 * 3600,
                                path=f"/status/{r['business_date']}/{r['number']}", httponly=True,
                                samesite="lax", secure=request.url.scheme == "https")
        return response

    async def _ambil_form(self, request: Request, form: dict[str, str], errors: dict[str, str],
                          problem: str | None, status: int, info: dict[str, Any] | None = None) -> Response:
        if info is None and self.bridge.available:
            info = await self.web_info()
        state_services = {s["code"]: s for s in (self.bridge.state or {}).get("services", [])}
        choices = [{"code": s["code"], "waiting": state_services.get(s["code"], {}).get("waiting"),
                    "quota_reached": state_services.get(s["code"], {}).get("quota_reached")}
                   for s in (info or {}).get("services", []) if s["remote"]]
        lang = self.lang(request)
        if info is None and problem is None:
            problem = texts.text("offline", lang)
        return self.render(request, "ambil.html", status, choices=choices, form=form, errors=errors,
                           problem=problem, closed=self._closed(request),
                           rid=uuid.uuid4().hex if status != 409 else self.request_id(form),
                           privacy=self._privacy(lang), limit=self.web.phone_daily_limit,
                           sms=bool((info or {}).get("sms")))

    def _closed(self, request: Request) -> dict[str, str] | None:
        return residents.closed_notice(self.cfg, self.bridge.state, datetime.now(timezone.utc), self.lang(request))

    def _privacy(self, lang: str) -> str:
        when = texts.text("privacy_0", lang) if self.web.retention_days == 0 else \
            texts.text("privacy_n", lang, n=self.web.retention_days)
        return texts.text("privacy", lang, when=when)

    # ------------------------------------------------------------------ appointments

    async def janji(self, request: Request) -> Response:
        lang = self.lang(request)
        if request.method == "POST":
            form, refused = await self.form(request)
            if refused:
                return refused
        else:
            form = dict(request.query_params)
        info = await self.web_info() if self.bridge.available else None
        if info is None:
            return self.render(request, "janji.html", 503, problem=texts.text("offline", lang), choices=[],
                               form=form, errors={}, slots=None, dates=[], rid=uuid.uuid4().hex,
                               privacy=self._privacy(lang))
        choices = [s["code"] for s in info["services"] if s["appointments"]]
        dates = residents.booking_dates(self.cfg, info, choices)   # no weekend, no holiday, no day without slots
        errors: dict[str, str] = {}
        problem = None
        service = form.get("service", "")
        day = form.get("date", "")
        slots = None
        status = 200
        if service or day or request.method == "POST":
            if service not in choices:
                errors["service"] = texts.text("bad_service", lang)
            if day not in {d.isoformat() for d in dates}:
                errors["date"] = texts.text("bad_date", lang)
            if not errors:
                reply = await self.bridge.request("booking_slots", {"service": service, "date": day})
                if reply.ok:
                    slots = reply.result["slots"]
                else:
                    problem = self.error_text(reply, lang, n=info["booking_days_ahead"])
        if request.method == "POST" and not errors and problem is None:
            slot = form.get("slot", "")
            if slot not in {s["time"] for s in slots or () if s["free"] and not s["past"]}:
                errors["slot"] = texts.text("bad_slot", lang)
            name, phone = contact(form, lang, errors)
            if not errors and not self.service_limit.allow(service):
                problem, status = texts.text("service_busy", lang), 429
            elif not errors:
                args = {"service": service, "date": day, "slot": slot, "name": name, "phone": phone}
                if info.get("sms") and form.get("sms") == "ya":
                    args["notify"] = True   # SMS reminders (docs/sms.md)
                reply = await self.bridge.request("book", args, request_id=self.request_id(form))
                if reply.ok:
                    return self._booked(request, reply.result)
                problem = self.error_text(reply, lang, n=info["booking_days_ahead"])
                status = 409
        if errors and request.method == "POST":
            status = 400
        return self.render(request, "janji.html", status, problem=problem, choices=choices, form=form,
                           errors=errors, slots=slots, dates=[(d.isoformat(), texts.long_date(d, lang)) for d in dates],
                           rid=self.request_id(form) if status == 409 else uuid.uuid4().hex,
                           privacy=self._privacy(lang), sms=bool(info.get("sms")), hhmm=residents.hhmm,
                           slot_limit=self.web.phone_slot_limit, day_limit=self.web.phone_daily_limit)

    def _booked(self, request: Request, booking: dict[str, Any]) -> Response:
        lang = self.lang(request)
        return self.render(request, "janji_ok.html", booking=booking, qr=qr_svg(booking["code"]),
                           shown=format_booking_code(booking["code"]),
                           when=texts.text("booked_when", lang, service=self._service_label(booking["service"], lang),
                                           date=texts.long_date(date.fromisoformat(booking["date"]), lang),
                                           slot=residents.hhmm(booking["slot"], lang)),
                           howto=texts.text("booked_howto", lang, start=residents.hhmm(booking["checkin_from"], lang),
                                            end=residents.hhmm(booking["checkin_until"], lang)))

    # ------------------------------------------------------------------ status

    def _ticket_key(self, request: Request) -> tuple[str, str] | None:
        day, number = request.path_params["date"], request.path_params["number"]
        if not _DATE.fullmatch(day) or not re.fullmatch(r"[A-Z]-\d{1,6}", number):
            return None
        try:
            date.fromisoformat(day)
        except ValueError:
            return None
        return day, number

    async def status(self, request: Request) -> Response:
        key = self._ticket_key(request)
        lang = self.lang(request)
        if key is None:
            return self.message(request, "not_found_page", 404)
        held = request.cookies.get(RATING_COOKIE, "").split("_")
        rating_code = held[2] if len(held) == 3 and tuple(held[:2]) == key and _RATING_CODE.fullmatch(held[2]) else ""
        n = self.cfg.notify
        internet = n.telegram.enabled or n.whatsapp.enabled   # the link code comes with the service's answer
        known = None if internet else self.bridge.open_status(*key)
        if known is not None:   # an open ticket of today: read from the retained state, nothing asked
            ticket = known | {"today": True}
            return self.render(request, "status.html", ticket=ticket, number=key[1], day=key[0], problem=None,
                               view=status_view(ticket, lang, self.cfg.office.tz),
                               new=request.query_params.get("baru") == "1", rating_code=rating_code,
                               day_text=texts.long_date(date.fromisoformat(key[0]), lang),
                               chat=self.chat_links(key[1], key[0], None))
        reply = await self.bridge.request("ticket_status", {"number": key[1], "date": key[0]})
        if not reply.ok:
            status = 404 if reply.code == "ticket_not_found" else 503
            return self.render(request, "status.html", status, ticket=None, number=key[1], day=key[0],
                               problem=self.error_text(reply, lang, number=key[1]), view=None)
        return self.render(request, "status.html", ticket=reply.result, number=key[1], day=key[0], problem=None,
                           view=status_view(reply.result, lang, self.cfg.office.tz), new=request.query_params.get("baru") == "1",
                           rating_code=rating_code, day_text=texts.long_date(date.fromisoformat(key[0]), lang),
                           chat=self.chat_links(key[1], key[0], reply.result.get("link_code")))

    def chat_links(self, number: str, day: str, link_code: str | None) -> dict[str, str]:
        """A ticket's status page chat links: :meth:`item_chat_links` about the ticket."""
        return self.item_chat_links(ask_about_ticket(self.cfg.office.name, number, date.fromisoformat(day)),
                                    link_code)

    def item_chat_links(self, text: str, link_code: str | None) -> dict[str, str]:
        """The chat links of a page where a resident follows an item (docs/channels.md): ``whatsapp``, a wa.me
        click-to-chat link to the office's number (``[notify] whatsapp_number``) with ``text`` typed in (and the
        item's link code when the WhatsApp Cloud API is on, so that number follows the item); ``telegram``, the
        bot's deep link ``https://t.me/<bot>?start=<link code>``."""
        n, links = self.cfg.notify, {}
        if n.whatsapp_number:
            code = link_code if (n.whatsapp.enabled and link_code) else ""
            links["whatsapp"] = whatsapp_link(n.whatsapp_number, f"{text} Kode: {code}" if code else text)
        if n.telegram.enabled and n.telegram.bot_name and link_code:
            links["telegram"] = f"https://t.me/{n.telegram.bot_name}?start={link_code}"
        return links

    def ask_text(self, what: str) -> str:
        """``Halo <office>, saya ingin bertanya tentang <what>.``"""
        return ask_about(self.cfg.office.name, what)

    async def status_events(self, request: Request) -> Response:
        """The live status stream: only for a ticket that exists, at most ``[web] streams_per_address``
        per address and ``streams_total`` in all. 204 (the browser stops asking) once nothing will change."""
        key = self._ticket_key(request)
        if key is None:
            return Response(status_code=404)
        ip = self.client_key(request)
        if self.streams.get(ip, 0) >= self.web.streams_per_address or \
                sum(self.streams.values()) >= self.web.streams_total:
            return Response(texts.text("too_many", "id"), status_code=429, headers={"Retry-After": "60"},
                            media_type="text/plain; charset=utf-8")
        self.streams[ip] = self.streams.get(ip, 0) + 1   # held while admission waits, too
        try:
            verdict = await self.bridge.admit(*key)
        except BaseException:
            self._release_stream(ip)
            raise
        if verdict != "open":
            self._release_stream(ip)
            return Response(status_code=204 if verdict == "ended" else 404)
        lang = self.lang(request)
        bridge = self.bridge

        async def stream():
            q = bridge.watch(*key)
            try:
                yield "retry: 3000\n\n"
                while True:
                    data = await q.get()
                    if data is PING:   # every SSE_PING_SECONDS (the bridge's one keep-alive task)
                        yield ": ping\n\n"
                        continue
                    yield self._event_line(data, lang)
                    if data.get("state") in TERMINAL or "error" in data:
                        return   # nothing more will come; the page closes its stream
            finally:
                bridge.unwatch(*key, q)
                self._release_stream(ip)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def _event_line(self, data: dict[str, Any], lang: str) -> str:
        """The event for one status, rendered once per language however many pages get it (the bridge
        hands every page of a ticket the same dict)."""
        key = (id(data), lang)
        cached = self._rendered.get(key)
        if cached is not None and cached[0] is data:
            return cached[1]
        view = status_view(data, lang, self.cfg.office.tz) if "error" not in data else {"error": data["error"]}
        line = f"data: {json.dumps(view, ensure_ascii=False)}\n\n"
        if len(self._rendered) >= 2048:
            self._rendered.clear()
        self._rendered[key] = (data, line)
        return line

    def _release_stream(self, ip: str) -> None:
        n = self.streams.get(ip, 0) - 1
        if n > 0:
            self.streams[ip] = n
        else:
            self.streams.pop(ip, None)

    # ------------------------------------------------------------------ language

    async def language(self, request: Request) -> Response:
        lang = request.path_params["lang"]
        back = request.query_params.get("next", "/")
        if not back.startswith("/") or back.startswith("//"):
            back = "/"
        response = RedirectResponse(back, status_code=303)
        if lang in texts.LANGUAGES:
            response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", path="/")
        return response

    # ------------------------------------------------------------------ staff

    def is_staff(self, request: Request) -> bool:
        """Signed in to the console: a personal account, or the older shared password before accounts."""
        return self.console.account(request) is not None

    async def staff(self, request: Request) -> Response:
        if not self.is_staff(request):
            return console_accounts.login_page(request)
        return await self._staff_page(request)

    async def _staff_page(self, request: Request, problem: str | None = None, status: int = 200) -> Response:
        info = await self.web_info() if self.bridge.available else None
        flags = {s["code"]: s for s in (info or {}).get("services", [])}
        today = self.today().isoformat()
        return self.render(request, "staf.html", status, state=self.bridge.state or {}, flags=flags,
                           web_share=(info or {}).get("web_share"), legacy_pin=self.staff_legacy,
                           health=health.assess(self.bridge.devices()),
                           ticker=self.bridge.ticker if self.bridge.ticker is not None else self.cfg.display.ticker,
                           problem=problem, saved=request.query_params.get("ok") == "1", today=today,
                           glance=console_pages.glance(self.bridge.state or {}),
                           may_office=self.console.may(request, *OFFICE_ROLES),
                           may_report=self.console.may(request, *REPORT_ROLES),
                           stats=console_pages.today_stats(self, (self.bridge.state or {}).get("business_date")))

    async def staff_login(self, request: Request) -> Response:
        return await console_accounts.login(request)

    async def staff_logout(self, request: Request) -> Response:
        return await console_accounts.logout(request)

    async def staff_toggle(self, request: Request) -> Response:
        form, refused = await self.form(request)
        if refused:
            return refused
        if not self.console.may(request, *OFFICE_ROLES):
            return RedirectResponse("/staf", status_code=303)
        kind, value, service = form.get("kind"), form.get("value"), form.get("service", "")
        if kind not in ("remote", "appointments") or value not in ("on", "off") or service not in self.services:
            return await self._staff_page(request, texts.text("bad_form", self.lang(request)), 400)
        # With the person's session: the service checks the role and audits the switch with it.
        reply = await console_command(request, "set_web", {"service": service, kind: value == "on"})
        if not reply.ok:
            return await self._staff_page(request, self.error_text(reply, self.lang(request)), 409)
        return RedirectResponse("/staf?ok=1", status_code=303)

    async def staff_ticker(self, request: Request) -> Response:
        form, refused = await self.form(request)
        if refused:
            return refused
        if not self.console.may(request, *OFFICE_ROLES):
            return RedirectResponse("/staf", status_code=303)
        text = " ".join(form.get("text", "").split())[:300]
        if not self.bridge.link.connected.is_set() or not await console_office.audit_ticker(request, text):
            return await self._staff_page(request, texts.text("err_offline", self.lang(request)), 503)
        self.bridge.publish_ticker(text)
        self.bridge.ticker = text
        log.info("ticker text changed by staff")
        return RedirectResponse("/staf?ok=1", status_code=303)

    async def staff_report(self, request: Request) -> Response:
        if not self.console.may(request, *REPORT_ROLES):
            return RedirectResponse("/staf", status_code=303)
        q = request.query_params
        try:
            start = date.fromisoformat(q.get("dari", ""))
            end = date.fromisoformat(q.get("sampai", "") or q.get("dari", ""))
        except ValueError:
            return await self._staff_page(request, texts.text("bad_date", self.lang(request)), 400)
        fmt = q.get("format", "pdf")
        if fmt not in ("pdf", "csv", "csv-id") or start > end or (end - start).days > 366:
            return await self._staff_page(request, texts.text("bad_date", self.lang(request)), 400)
        try:
            data = await run_in_threadpool(build_report_file, self.cfg, start, end, fmt)
        except Exception as exc:  # noqa: BLE001 - ReportError and a missing extra both end up here
            log.warning("report %s..%s failed: %s", start, end, exc)
            return await self._staff_page(request, str(exc), 409)
        name = f"laporan-antre-{start.isoformat()}_{end.isoformat()}.{'pdf' if fmt == 'pdf' else 'zip'}"
        return Response(data, media_type="application/pdf" if fmt == "pdf" else "application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.message(request, "not_found_page", 404)


def contact(form, lang: str, errors: dict[str, str]) -> tuple[str | None, str | None]:
    """The resident's name and phone number from a form, normalised; problems go into ``errors``."""
    name = normalize_name(form.get("name", "")[:200])
    if name is None:
        errors["name"] = texts.text("bad_name", lang)
    phone = normalize_phone(form.get("phone", "")[:40])
    if phone is None:
        errors["phone"] = texts.text("bad_phone", lang)
    return name, phone


def status_view(data: dict[str, Any], lang: str, tz=timezone.utc) -> dict[str, Any]:
    """What the status page shows for a ``ticket_status`` result, as texts (the page and the live updates)."""
    t = lambda key, **v: texts.text(key, lang, **v)  # noqa: E731
    state = data.get("state", "")
    counter = data.get("counter") or {}
    recalled = state == "called" and bool(data.get("recalled") or (data.get("call_count") or 0) > 1)
    if recalled:
        state_text = t("st_recalled", counter=counter.get("name") or "loket")
    elif state == "called":
        state_text = t("st_called", counter=counter.get("name") or "loket")
    elif state == "waiting":
        state_text = t("st_waiting")
    else:
        state_text = t(f"st_{state}") if f"st_{state}" in texts.TEXTS else state
    ahead = int(data.get("ahead") or 0)
    minutes = int(data.get("estimated_wait_minutes") or 0)
    return {
        "number": data.get("number"), "state": state, "state_text": state_text,
        "ahead_text": (t("ahead_n", n=ahead) if ahead else t("ahead_0")) if state == "waiting" else "—",
        "estimate_text": (t("minutes", m=minutes) if minutes else t("soon")) if state == "waiting" else "—",
        "counter": counter.get("name"), "called": state == "called", "recalled": recalled,
        "updated": datetime.now(tz).strftime("%H.%M.%S"),   # the office's own time, written as EYD does
    }


def qr_svg(payload: str) -> str:
    """An inline SVG QR code (no image file, no JavaScript)."""
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = img.to_string(encoding="unicode")
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg)


def build_report_file(cfg: Config, start: date, end: date, fmt: str) -> bytes:
    """The report of :mod:`antre.reports` for a period, as PDF bytes or a zip of CSV files. Reads only."""
    from sqlalchemy.orm import Session

    from antre.reports import ReportError
    from antre.reports.stats import build_report
    from antre.reports.tables import MACHINE, SPREADSHEET_ID, default_place, period_text, write_csv_dir
    from antre.storage import open_readonly

    engine = open_readonly(cfg.database.effective_url)
    try:
        with Session(engine) as session:
            report = build_report(session, start, end, tz=cfg.office.tz, office_name=cfg.office.name,
                                  office_address=cfg.office.address,
                                  service_names={s.code: s.name for s in cfg.services},
                                  counter_names={c.id: c.name for c in cfg.counters},
                                  letter_names={t.code: t.name for t in cfg.letters.types},
                                  complaint_topics=cfg.complaints.topics)
    finally:
        engine.dispose()
    if report.is_empty:
        raise ReportError(f"tidak ada tiket atau penilaian pada {period_text(report)}")
    if fmt == "pdf":
        from antre.reports.pdf import Signer, render_pdf

        return render_pdf(report, place=cfg.report.place or default_place(cfg.office.name),
                          signed_on=datetime.now(cfg.office.tz).date(), signer=Signer.from_config(cfg.report))
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in write_csv_dir(report, Path(tmp), SPREADSHEET_ID if fmt == "csv-id" else MACHINE):
            zf.write(path, path.name)
    return buf.getvalue()


class Limits:
    """ASGI middleware: the per-IP page limit and the security headers on every response."""

    def __init__(self, app, web: WebApp):
        self.app = app
        self.web = web

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        client = scope.get("client") or ("?", 0)
        if not scope["path"].startswith("/static/") and not self.web.page_limit.allow(limit_key(client[0])):
            lang = "id"
            body = texts.text("too_many", lang).encode()
            response = Response(body, status_code=429, media_type="text/plain; charset=utf-8",
                                headers={"Retry-After": "60"})
            return await response(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = message | {"headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(cfg: Config, bridge: Bridge | None = None) -> Starlette:
    w = WebApp(cfg, bridge)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        w.bridge.start(asyncio.get_running_loop())
        w.console.announce_setup_link()
        pinger = asyncio.create_task(w.bridge.ping_forever(SSE_PING_SECONDS))
        try:
            yield
        finally:
            pinger.cancel()
            w.bridge.stop()
            w.console.close()

    news_routes, w.news = news.routes(w)
    routes = [
        Route("/", w.home),
        Route("/layanan", w.layanan),
        Route("/ambil", w.ambil, methods=["GET", "POST"]),
        Route("/janji", w.janji, methods=["GET", "POST"]),
        Route("/janji/batal", functools.partial(residents.cancel, w), methods=["GET", "POST"]),
        *follow.routes(w),   # /cek for any code and a booking's page (web/follow.py)
        *my_items.routes(w),   # "Semua urusan saya" after an SMS code (web/my_items.py)
        Route("/status/{date}/{number}", w.status),
        Route("/status/{date}/{number}/events", w.status_events),
        Route("/bahasa/{lang}", w.language),
        Route("/staf", w.staff),
        Route("/staf/masuk", w.staff_login, methods=["POST"]),
        Route("/staf/keluar", w.staff_logout, methods=["POST"]),
        Route("/staf/layanan", w.staff_toggle, methods=["POST"]),
        Route("/staf/teks", w.staff_ticker, methods=["POST"]),
        Route("/staf/laporan", w.staff_report),
        *console_accounts.routes(),
        *console_pages.routes(),
        *letters.routes(w),   # the letter pages (web/letters.py)
        *faq.routes(w),   # the question page, the FAQ assistant (web/faq.py)
        *notify_console.routes(),   # the console's SMS page (web/notify_console.py)
        *letters_console.routes(w),   # the console's letter pages (web/letters_console.py)
        *complaints.routes(w),   # complaints and /lacak (web/complaints.py)
        *lapor.routes(w),   # the month's complaints for LAPOR! (web/lapor.py), before the inbox's own routes
        *complaints_console.routes(w),   # the console's complaint inbox (web/complaints_console.py)
        *questions_console.routes(w),   # the console's FAQ and question inbox (web/questions_console.py)
        *news_routes,   # village news, residents' and the console's (web/news.py)
        *portal.routes(w),   # the manifest, the service worker and the offline page (web/portal.py)
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        404: w.not_found, SignInRequired: console_pages.sign_in_required, RoleRefused: console_pages.role_refused})
    app.state.web = w
    return Limits(app, w)
