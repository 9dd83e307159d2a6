""""Semua urusan saya" (``/urusan``): a resident types the phone number they used, gets a one-time code by SMS,
and after confirming it sees their open items (today's tickets, bookings, letter requests, complaints that
carried that number) on one page, kept up to date, for ``SESSION_MINUTES`` (antre/rules/my_items.py decides
everything: limits, expiry, which items).

The browser holds a random token in the ``antre_urusan`` cookie (HttpOnly, SameSite=Strict, path ``/urusan``,
as long as the session); the service keeps only its SHA-256. Signing out, or the session's end, makes the
cookie worthless; signing out also deletes it. Until SMS is switched on (``[notify] sms``) the page says
plainly that items are followed one by one with their codes at ``/cek``. The number is never logged here.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from antre.link.protocol import normalize_phone
from antre.rules.complaint_codes import format_complaint_code
from antre.rules.booking_code import format_booking_code
from antre.rules.letter_codes import format_tracking_code
from antre.rules.sms_text import mask

from . import complaints_texts, texts
from .letters import lt
from .follow_texts import ft
from .residents import hhmm
from .security import RateLimiter

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)
COOKIE = "antre_urusan"
#: Lists one session may ask for a minute (the page asks every 30 s): the service's items_list reads every open
#: item and hashes its number, on the writer every device waits for, so one session replayed from many
#: addresses must not keep it busy.
LIST_PER_MINUTE = 10


class MyItemsPages:
    def __init__(self, w: "WebApp"):
        self.w = w
        self.list_limit = RateLimiter(LIST_PER_MINUTE, 60.0)   # per session (its token's hash), any address

    def _list_allowed(self, token: str) -> bool:
        return self.list_limit.allow(hashlib.sha256(token.encode()).hexdigest())

    def routes(self) -> list[Route]:
        return [Route("/urusan", self.page, methods=["GET", "POST"]),
                Route("/urusan/masuk", self.confirm, methods=["POST"]),
                Route("/urusan/keluar", self.logout, methods=["POST"]),
                Route("/urusan/data", self.data)]

    def _ft(self, request: Request):
        lang = self.w.lang(request)
        return lambda key, **v: ft(key, lang, **v)

    def _render(self, request: Request, status: int = 200, **ctx: Any) -> Response:
        base = {"step": "phone", "problem": None, "phone": "", "shown_phone": "", "items": None, "more": 0,
                "until": "", "sms": True, "rid": uuid.uuid4().hex}
        return self.w.render(request, "urusan.html", status, ft=self._ft(request), **(base | ctx))

    async def _sms_on(self) -> bool:
        info = await self.w.web_info() if self.w.bridge.available else None
        return bool((info or {}).get("sms"))

    def _token(self, request: Request) -> str | None:
        token = request.cookies.get(COOKIE, "")
        return token if 32 <= len(token) <= 128 and token.replace("-", "").replace("_", "").isalnum() else None

    # ------------------------------------------------------------------ the pages

    async def page(self, request: Request) -> Response:
        lang = self.w.lang(request)
        if request.method == "GET":
            token = self._token(request)
            if token and not self._list_allowed(token):
                return self.w.message(request, "too_many", 429)
            if token:
                reply = await self.w.bridge.request("items_list", {"session": token})
                if reply.ok:
                    return self._render(request, step="list", items=self.view(reply.result["items"], lang),
                                        more=reply.result.get("more", 0),
                                        until=self._until(reply.result["expires_at"]))
                if reply.code == "not_signed_in":
                    response = self._render(request, problem=ft("my_expired", lang), sms=await self._sms_on())
                    response.delete_cookie(COOKIE, path="/urusan")
                    return response
            return self._render(request, sms=await self._sms_on())
        form, refused = await self.w.form(request)
        if refused:
            return refused
        phone = normalize_phone(form.get("phone", "")[:40])
        if phone is None:
            return self._render(request, 400, problem=ft("my_bad_phone", lang), phone=form.get("phone", "")[:40])
        if not self.w.bridge.available:
            return self._render(request, 503, problem=ft("cek_offline", lang), phone=phone)
        reply = await self.w.bridge.request("items_code", {"phone": phone, "address": self.w.client_ip(request)},
                                            request_id=self.w.request_id(form))
        if not reply.ok:
            if reply.code == "sms_off":
                return self._render(request, 409, sms=False)
            key = "my_limit" if reply.code == "too_many_attempts" else "cek_offline"
            return self._render(request, 429 if key == "my_limit" else 503, problem=ft(key, lang), phone=phone)
        return self._render(request, step="code", phone=phone, shown_phone=mask(phone),
                            minutes=reply.result["minutes"])

    async def confirm(self, request: Request) -> Response:
        lang = self.w.lang(request)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        phone = normalize_phone(form.get("phone", "")[:40])
        code = "".join(form.get("code", "")[:20].split())
        if phone is None:
            return self._render(request, 400, problem=ft("my_bad_phone", lang))
        ip, key = self.w.client_ip(request), self.w.client_key(request)
        if self.w.guesses.blocked(key):
            return self._render(request, 429, problem=ft("cek_too_many", lang, minutes=self.w.guesses.minutes))
        again = {"step": "code", "phone": phone, "shown_phone": mask(phone), "minutes": None}
        if not (code.isdigit() and len(code) == 6):
            return self._render(request, 400, problem=ft("my_wrong", lang), **again)
        token = secrets.token_urlsafe(32)
        reply = await self.w.bridge.request("items_confirm", {"phone": phone, "code": code, "session": token,
                                                              "address": ip})
        if not reply.ok:
            return self._render(request, 503, problem=ft("cek_offline", lang), **again)
        if not reply.result.get("confirmed"):
            self.w.guesses.miss(key)
            return self._render(request, 400, problem=ft("my_wrong", lang), **again)
        response = RedirectResponse("/urusan", status_code=303)
        response.set_cookie(COOKIE, token, max_age=int(reply.result["minutes"]) * 60, path="/urusan", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return response

    async def logout(self, request: Request) -> Response:
        form, refused = await self.w.form(request)
        if refused:
            return refused
        token = self._token(request)
        if token:
            await self.w.bridge.request("items_logout", {"session": token})
        response = self._render(request, problem=ft("my_ended", self.w.lang(request)), sms=await self._sms_on())
        response.delete_cookie(COOKIE, path="/urusan")
        return response

    async def data(self, request: Request) -> Response:
        """The list's JSON for the page's script (every 30 s): 401 once the session ended."""
        token = self._token(request)
        if token is None:
            return JSONResponse({"ended": True}, status_code=401, headers={"Cache-Control": "no-store"})
        if not self._list_allowed(token):
            return JSONResponse({"ended": False}, status_code=429,
                                headers={"Cache-Control": "no-store", "Retry-After": "60"})
        reply = await self.w.bridge.request("items_list", {"session": token})
        if not reply.ok:
            return JSONResponse({"ended": reply.code == "not_signed_in"},
                                status_code=401 if reply.code == "not_signed_in" else 503,
                                headers={"Cache-Control": "no-store"})
        lang = self.w.lang(request)
        return JSONResponse({"items": self.view(reply.result["items"], lang),
                             "updated": datetime.now(self.w.cfg.office.tz).strftime("%H.%M")},
                            headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ words

    def _until(self, iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(self.w.cfg.office.tz).strftime("%H.%M")

    def view(self, items: list[dict[str, Any]], lang: str) -> list[dict[str, str]]:
        out = []
        letter_names = {t.code: (t.name_en if lang == "en" and t.name_en else t.name) for t in self.w.cfg.letters.types}
        for i in items:
            kind = i["kind"]
            if kind == "ticket":
                status = texts.text("st_called_plain" if i["status"] == "called" else f"st_{i['status']}", lang)
                row = {"label": self.w._service_label(i["service"], lang), "shown": i["code"],
                       "link": f"/status/{i['date']}/{i['code']}"}
            elif kind == "booking":
                status = ft("bk_when", lang, service="", date=texts.long_date(date.fromisoformat(i["date"]), lang),
                            slot=hhmm(i["slot"], lang)).lstrip(", ")
                row = {"label": self.w._service_label(i["service"], lang), "shown": format_booking_code(i["code"]),
                       "link": f"/janji/kode/{i['code']}"}
            elif kind == "letter":
                status = lt(f"st_{i['status']}", lang)
                row = {"label": letter_names.get(i["type"], i["type"]), "shown": format_tracking_code(i["code"]),
                       "link": f"/surat/status/{i['code']}"}
            else:
                status = complaints_texts.ct(f"st_{i['status']}", lang)
                row = {"label": complaints_texts.topic_label(i["topic"], lang),
                       "shown": format_complaint_code(i["code"]), "link": f"/pengaduan/{i['code']}"}
            out.append(row | {"kind": ft(f"kind_{kind}", lang), "status": status, "id": f"{kind}-{i['code']}"})
        return out


def routes(w: "WebApp") -> list[Route]:
    return MyItemsPages(w).routes()


__all__ = ["routes", "MyItemsPages", "COOKIE"]
