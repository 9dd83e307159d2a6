"""One place to follow any code: ``/cek`` reads what a resident typed (a queue number, a booking code, a
letter's or a report's code; spaces, dashes and dots are ignored, letters in any case), asks the service
whether it exists and sends the resident to that code's live page; ``/janji/kode/{code}`` is a booking's page.

Codes carry a Damm check digit, so a mistyped code is answered at once ("ada angka yang salah ketik") and
costs nothing. A well-formed code that does not exist is counted by the service against the browser's
address (the ``address`` argument; the same budget as the letter and report pages and the kiosks' check-in:
antre/service/server.py, ``PER_ADDRESS``); past it the service answers ``too_many_attempts`` and the page says
in plain words to wait. Queue numbers are not secret (the TV shows them) and are not counted.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.link.protocol import booking_code_ok
from antre.rules.booking_code import BOOKING_CODE_DIGITS, format_booking_code
from antre.rules.complaint_codes import complaint_code_ok
from antre.rules.letter_codes import tracking_code_ok
from antre.rules.question_codes import clean_question_code
from antre.wording import long_date

from .follow_texts import TEXTS, ft

if TYPE_CHECKING:
    from .app import WebApp

_JUNK = re.compile(r"[\s\-./_]")
_TICKET = re.compile(r"([A-Z])(\d{1,6})")
#: What each kind of code is asked with, the answer that means "no such code", and its page.
LOOKUPS = {
    "complaint": ("complaint_status", "complaint_not_found", "/pengaduan/{code}"),
    "letter": ("letter_status", "letter_not_found", "/surat/status/{code}"),
    "booking": ("booking_status", "booking_not_found", "/janji/kode/{code}"),
    "question": ("question_status", "question_not_found", "/tanya/{code}"),   # a question left for the staff
}
NOT_FOUND = {v[1] for v in LOOKUPS.values()}
#: How long the service refuses an address that missed too often (antre/service/server.py, CHECKIN_WINDOW).
GUESS_MINUTES = 10


def read_code(typed: str) -> tuple[str | None, str]:
    """What a resident typed, as ``(kind, code)``: kind ``ticket`` (``"A-012"`` without the width yet:
    ``("ticket", "A12")``), ``booking``, ``letter``, ``complaint``; ``typo`` for a code of the right shape whose
    check digit is wrong; None for anything else. At most 60 characters are read."""
    clean = _JUNK.sub("", typed[:60]).upper()
    if not clean or len(clean) > 20:
        return None, ""
    if clean.isdigit():
        if len(clean) == BOOKING_CODE_DIGITS:
            return ("booking" if booking_code_ok(clean) else "typo"), clean
        if len(clean) == 12:
            return ("letter" if tracking_code_ok(clean) else "typo"), clean
        return None, clean
    if clean[0] == "P" and clean[1:].isdigit() and len(clean) == 13:
        return ("complaint" if complaint_code_ok(clean) else "typo"), clean
    if clean[0] == "T" and clean[1:].isdigit() and len(clean) == 11:
        return ("question" if clean_question_code(clean) else "typo"), clean
    m = _TICKET.fullmatch(clean)
    if m:
        return "ticket", clean
    return None, clean


class FollowPages:
    def __init__(self, w: "WebApp"):
        self.w = w

    def routes(self) -> list[Route]:
        return [Route("/cek", self.cek), Route("/janji/kode/{code}", self.booking)]

    def _page(self, request: Request, status: int, error: str | None, typed: str) -> Response:
        return self.w.render(request, "cek.html", status, error=error, typed=typed[:40], ft=self._ft(request))

    def _ft(self, request: Request):
        lang = self.w.lang(request)
        return lambda key, **v: ft(key, lang, **v)

    def too_many(self, request: Request) -> Response:
        """The plain 429 page once the service refuses this address's lookups for a while."""
        response = self._page(request, 429, ft("cek_too_many", self.w.lang(request), minutes=GUESS_MINUTES), "")
        response.headers["Retry-After"] = str(GUESS_MINUTES * 60)
        return response

    async def ask(self, request: Request, command: str, code: str):
        return await self.w.bridge.request(command, {"code": code, "address": self.w.client_ip(request)})

    async def cek(self, request: Request) -> Response:
        q = request.query_params
        typed = (q.get("kode") or q.get("nomor") or "")[:60]
        lang = self.w.lang(request)
        if not typed.strip():
            return self._page(request, 200, None, "")
        kind, code = read_code(typed)
        if kind is None:
            return self._page(request, 400, ft("cek_unknown", lang), typed)
        if kind == "typo":
            return self._page(request, 400, ft("cek_typo", lang), typed)
        if kind == "ticket":
            m = _TICKET.fullmatch(code)
            number = f"{m[1]}-{int(m[2]):0{self.w.cfg.queue.number_width}d}"
            return RedirectResponse(f"/status/{self.w.today().isoformat()}/{number}", status_code=303)
        if not self.w.bridge.available:
            return self._page(request, 503, ft("cek_offline", lang), typed)
        command, missing, page = LOOKUPS[kind]
        reply = await self.ask(request, command, code)
        if not reply.ok:
            if reply.code == missing:
                return self._page(request, 404, ft("cek_not_found", lang), typed)
            if reply.code == "too_many_attempts":
                return self.too_many(request)
            return self._page(request, 503, ft("cek_offline", lang), typed)
        return RedirectResponse(page.format(code=code), status_code=303)

    async def booking(self, request: Request) -> Response:
        code = request.path_params["code"]
        lang = self.w.lang(request)
        if not (code.isdigit() and len(code) == BOOKING_CODE_DIGITS and booking_code_ok(code)):
            return self._page(request, 404, ft("cek_typo", lang), code)
        reply = await self.ask(request, "booking_status", code)
        if not reply.ok:
            if reply.code == "booking_not_found":
                return self._page(request, 404, ft("cek_not_found", lang), code)
            if reply.code == "too_many_attempts":
                return self.too_many(request)
            return self._page(request, 503, ft("cek_offline", lang), code)
        return self.w.render(request, "janji_status.html", b=self.booking_view(reply.result, lang),
                             ft=self._ft(request),
                             chat=self.w.item_chat_links(self.w.ask_text(f"janji temu {code}"),
                                                         reply.result.get("link_code")))

    def booking_view(self, b: dict[str, Any], lang: str) -> dict[str, Any]:
        from .residents import hhmm

        state = b["state"]
        ticket = b.get("ticket") or None
        if state == "checked_in" and ticket:
            text = ft("bk_checked_in", lang, number=ticket["number"])
        elif state == "booked":
            text = ft("bk_booked", lang, start=hhmm(b["checkin_from"], lang), end=hhmm(b["checkin_until"], lang))
        else:
            text = ft(f"bk_{state}", lang) if f"bk_{state}" in TEXTS else state
        return {"code": b["code"], "shown": format_booking_code(b["code"]), "state": state, "text": text, "ticket": ticket,
                "when": ft("bk_when", lang, service=self.w._service_label(b["service"], lang),
                           date=long_date(date.fromisoformat(b["date"]), lang), slot=hhmm(b["slot"], lang)),
                "live": state == "booked"}


def routes(w: "WebApp") -> list[Route]:
    return FollowPages(w).routes()


__all__ = ["FollowPages", "read_code", "routes", "LOOKUPS"]
