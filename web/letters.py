"""The residents' letter pages (e-administrasi): the catalogue, a form per letter type, the tracking code and
a live status page, cancelling, and the page a letter's QR code opens.

Every request goes to the service as an MQTT command (``letter_request``, ``letter_status``, ...); the form's
answers travel only in that command, and are never logged here. The form is checked here first with the
service's own checks (:mod:`antre.rules.letter_fields`) so a villager reads what to fix next to each field.

Live status: the service publishes ``letter_status`` events naming a hash of the tracking code
(:func:`antre.rules.letter_codes.status_ref`); an open page is told when its request moves, then asks the
service once for the details (the staff's note). Pages nobody watches cost nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.config import LetterTypeConfig
from antre.link.protocol import normalize_phone
from antre.rules.letter_codes import clean_tracking_code, format_tracking_code, status_ref, tracking_code_ok
from antre.rules.letter_fields import check_fields
from antre.wording import day_month_year

from . import letters_texts
from .live import LiveStatus

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)
FINAL = ("sudah_diambil", "dibatalkan")


def lt(key: str, lang: str = "id", **values: Any) -> str:
    pair = letters_texts.TEXTS.get(key)
    if pair is None:
        return key
    s = pair[1] if lang == "en" else pair[0]
    return s.format(**values) if values else s


def qr_svg(payload: str) -> str:
    """An inline SVG QR code of the tracking code, for the kiosk's camera (no image file, no JavaScript)."""
    import qrcode
    import qrcode.image.svg

    svg = qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return re.sub(r"^<\?xml[^>]*>\s*", "", svg.to_string(encoding="unicode"))


def local_day(iso: str | None, tz) -> str:
    if not iso:
        return ""
    return day_month_year(datetime.fromisoformat(iso).astimezone(tz).date())


async def catalogue_overrides(bridge, types: int) -> dict[str, dict[str, Any]] | None:
    """The kasi's changes to the letter catalogue: every page of ``letter_catalogue`` (a page holds at least one
    of the ``types`` configured types, so there are at most ``types`` pages). None when the service does not
    answer one: then the configuration alone, never half of the changes (a type switched off would show)."""
    for attempt in range(2):
        out: dict[str, dict[str, Any]] = {}
        args: dict[str, Any] = {}
        for _ in range(types + 1):
            reply = await bridge.request("letter_catalogue", args)
            if not reply.ok:
                if reply.code == "invalid_argument" and args and attempt == 0:
                    # The catalogue changed between pages (the service restarted with a configuration without
                    # the type a page ended at): read it again from the first page, once.
                    break
                return None
            out |= reply.result.get("overrides", {})
            following = reply.result.get("next")
            if not following:
                return out
            args = {"after": following}
        else:
            log.warning("letter_catalogue: more pages than letter types; the configuration alone is shown")
            return None
    return None


class LetterPages:
    """The letter routes of one :class:`~antre_web.app.WebApp` (its rendering, limits, CSRF and bridge)."""

    def __init__(self, w: "WebApp"):
        self.w = w
        self.cfg = w.cfg
        self.letters = w.cfg.letters
        self.live = LiveStatus(w, "letter_status", FINAL)

    def routes(self) -> list[Route]:
        return [
            Route("/surat", self.catalogue),
            Route("/surat/ajukan/{type}", self.apply, methods=["GET", "POST"]),
            Route("/surat/status", self.find),
            Route("/surat/status/{code}", self.status),
            Route("/surat/status/{code}/events", self.events),
            Route("/surat/batal/{code}", self.cancel, methods=["POST"]),
            Route("/surat/cek/{token}", self.verify),
        ]

    # ------------------------------------------------------------------ plumbing

    async def types(self) -> dict[str, LetterTypeConfig]:
        """The catalogue as residents see it now: the configuration with the kasi's changes
        (``letter_catalogue``), the active types only; the configuration alone when the service is away."""
        overrides = (await catalogue_overrides(self.w.bridge, len(self.letters.types))
                     if self.w.bridge.available else None) or {}
        out = {}
        for t in self.letters.types:
            try:
                t = dataclasses.replace(t, **overrides.get(t.code, {}))
            except TypeError:   # a key this version does not know: the configuration's type
                pass
            if t.active:
                out[t.code] = t
        return out

    def _type_name(self, t: LetterTypeConfig, lang: str) -> str:
        return t.name_en if lang == "en" and t.name_en else t.name

    def _problem_text(self, problem: str, lang: str, max_length: int) -> str:
        return lt(f"p_{problem}", lang, n=max_length) if f"p_{problem}" in letters_texts.TEXTS else lt("p_invalid", lang)

    def _reply_text(self, reply, lang: str) -> str:
        key = f"err_{reply.code}"
        return lt(key, lang) if key in letters_texts.TEXTS else self.w.error_text(reply, lang)

    # ------------------------------------------------------------------ catalogue and form

    async def catalogue(self, request: Request) -> Response:
        lang = self.w.lang(request)
        rows = []
        for t in (await self.types()).values():
            rows.append({"code": t.code, "name": self._type_name(t, lang), "purpose": t.purpose,
                         "requirements": t.requirements,
                         "takes": lt("takes_days", lang, n=t.days) if t.days else lt("takes_same_day", lang),
                         "cost": lt("free", lang) if not t.cost else lt("cost", lang, n=f"{t.cost:,}".replace(",", "."))})
        return self.w.render(request, "surat_katalog.html", rows=rows,
                           privacy=lt("privacy", lang, n=self.letters.retention_days))

    async def apply(self, request: Request) -> Response:
        t = (await self.types()).get(request.path_params["type"])
        if t is None:
            return self.w.message(request, "not_found_page", 404)
        lang = self.w.lang(request)
        info = await self.w.web_info() if self.w.bridge.available else None
        sms = bool(info and info.get("sms"))
        if request.method == "GET":
            return self._form(request, t, {}, {}, None, 200, uuid.uuid4().hex, sms)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        given = {f.name: form.get(f.name, "")[:2000] for f in t.fields}
        values, problems = check_fields(t, given, self.w.today())
        errors = {name: self._problem_text(p, lang, next((f.max_length for f in t.fields if f.name == name), 0))
                  for name, p in problems.items()}
        phone = None
        if sms and form.get("sms") == "1":   # opt-in: news of the request by SMS
            phone = normalize_phone(form.get("sms_phone", "")[:40])
            if phone is None:
                errors["sms_phone"] = lt("p_phone", lang)
        keep = given | {"sms": form.get("sms", ""), "sms_phone": form.get("sms_phone", "")[:40]}
        if errors:
            return self._form(request, t, keep, errors, lt("fix_below", lang), 400, self.w.request_id(form), sms)
        args: dict[str, Any] = {"type": t.code, "fields": values, "channel": "web"}
        if phone:
            args["phone"] = phone
        reply = await self.w.bridge.request("letter_request", args, request_id=self.w.request_id(form))
        if not reply.ok:
            return self._form(request, t, keep, {}, self._reply_text(reply, lang),
                              409 if reply.code != "offline" else 503, self.w.request_id(form), sms)
        return RedirectResponse(f"/surat/status/{reply.result['code']}?baru=1", status_code=303)

    def _form(self, request: Request, t: LetterTypeConfig, given: dict[str, str], errors: dict[str, str],
              problem: str | None, status: int, rid: str, sms: bool = False) -> Response:
        lang = self.w.lang(request)
        return self.w.render(request, "surat_form.html", status, type=t, type_name=self._type_name(t, lang), form=given,
                           errors=errors, problem=problem, rid=rid,
                           privacy=lt("privacy", lang, n=self.letters.retention_days),
                           takes=lt("takes_days", lang, n=t.days) if t.days else lt("takes_same_day", lang),
                           sms=sms)

    # ------------------------------------------------------------------ status

    async def find(self, request: Request) -> Response:
        typed = request.query_params.get("kode", "")[:40]
        if not typed:
            return self.w.render(request, "surat_cari.html", error=None, typed="")
        code = clean_tracking_code(typed)
        if not tracking_code_ok(code):
            return self.w.render(request, "surat_cari.html", 400, error=lt("bad_code", self.w.lang(request)), typed=typed)
        return RedirectResponse(f"/surat/status/{code}", status_code=303)

    async def _status_of(self, code: str, request: Request):
        # The browser's address: the service counts unknown codes per address (too_many_attempts).
        return await self.w.bridge.request("letter_status", {"code": code, "address": self.w.client_ip(request)})

    def status_view(self, data: dict[str, Any], lang: str) -> dict[str, Any]:
        """What the status page shows, as texts (the page and its live updates)."""
        tz = self.cfg.office.tz
        t = self.letters.type(data["type"])
        return {
            "status": data["status"], "status_text": lt(f"st_{data['status']}", lang),
            "do_text": lt(f"do_{data['status']}", lang), "reason": data.get("reason") or "",
            "number": data.get("number") or "", "due": day_month_year(date.fromisoformat(data["due_on"])),
            "overdue": bool(data.get("overdue")), "can_cancel": bool(data.get("can_cancel")),
            "type_name": self._type_name(t, lang) if t else data.get("type_name", ""),
            "created": local_day(data.get("created_at"), tz),
            "history": [{"status": lt(f"st_{h['status']}", lang), "at": local_day(h["at"], tz),
                         "time": datetime.fromisoformat(h["at"]).astimezone(tz).strftime("%H.%M"),
                         "reason": h.get("reason") or ""} for h in data.get("history", [])],
            "history_more": data.get("history_more", 0),
            "requirements": t.requirements if t else [],
        }

    async def status(self, request: Request) -> Response:
        code = request.path_params["code"]
        lang = self.w.lang(request)
        if not tracking_code_ok(code):
            return self.w.render(request, "surat_cari.html", 404, error=lt("bad_code", lang), typed=code[:20])
        reply = await self._status_of(code, request)
        if not reply.ok:
            status = {"letter_not_found": 404, "too_many_attempts": 429}.get(reply.code, 503)
            return self.w.render(request, "surat_cari.html", status, error=self._reply_text(reply, lang), typed=code)
        return self.w.render(request, "surat_status.html", code=code, shown=format_tracking_code(code),
                           view=self.status_view(reply.result, lang), qr=qr_svg(code),
                           new=request.query_params.get("baru") == "1",
                           cancelled=request.query_params.get("batal") == "1",
                           chat=self.w.item_chat_links(self.w.ask_text(f"permohonan surat {format_tracking_code(code)}"),
                                                       reply.result.get("link_code")))

    async def cancel(self, request: Request) -> Response:
        code = request.path_params["code"]
        if not tracking_code_ok(code):
            return self.w.message(request, "not_found_page", 404)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        reply = await self.w.bridge.request("letter_cancel", {"code": code}, request_id=self.w.request_id(form))
        lang = self.w.lang(request)
        if reply.ok:
            return RedirectResponse(f"/surat/status/{code}?batal=1", status_code=303)
        if reply.code == "letter_in_process":
            status_reply = await self._status_of(code, request)
            if status_reply.ok:
                return self.w.render(request, "surat_status.html", 409, code=code, shown=format_tracking_code(code),
                                   view=self.status_view(status_reply.result, lang), qr=qr_svg(code), new=False,
                                   cancelled=False, problem=lt("cannot_cancel", lang))
        return self.w.render(request, "surat_cari.html", 404 if reply.code == "letter_not_found" else 503,
                           error=self._reply_text(reply, lang), typed=code)

    # ------------------------------------------------------------------ live status

    async def events(self, request: Request) -> Response:
        code = request.path_params["code"]
        if not tracking_code_ok(code):
            return Response(status_code=404)
        refused = self.live.too_many(request)
        if refused is not None:
            return refused
        reply = await self._status_of(code, request)
        if not reply.ok:
            return Response(status_code={"letter_not_found": 404, "too_many_attempts": 429}.get(reply.code, 503))
        # A closed request still gets its one message (the page may have been drawn just before it closed);
        # the page then closes its stream. The status is read again once the stream is registered, so no
        # change can fall between the two.
        lang = self.w.lang(request)
        return self.live.response(request, status_ref(code), reply.result, fetch=lambda: self._status_of(code, request),
                                  view=lambda data: self.status_view(data, lang), reread_first=True)

    # ------------------------------------------------------------------ verification (the letter's QR code)

    async def verify(self, request: Request) -> Response:
        token = request.path_params["token"]
        lang = self.w.lang(request)
        desa = self.letters.desa
        ok_token = 16 <= len(token) <= 32 and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)
        reply = await self.w.bridge.request("letter_verify", {"token": token}) if ok_token else None
        if reply is None or (not reply.ok and reply.code in ("letter_not_found", "invalid_argument")):
            return self.w.render(request, "surat_cek.html", 404, letter=None, verdict=lt("v_unknown", lang, desa=desa))
        if not reply.ok:
            return self.w.render(request, "surat_cek.html", 503, letter=None, verdict=self.w.error_text(reply, lang))
        v = reply.result
        t = self.letters.type(v["type"])
        letter = {"type_name": self._type_name(t, lang) if t else v["type_name"], "number": v["number"],
                  "date": day_month_year(date.fromisoformat(v["signed_on"])), "name": v["masked_name"],
                  "until": day_month_year(date.fromisoformat(v["valid_until"])) if v["valid_until"] else "",
                  "validity": v["validity"]}
        return self.w.render(request, "surat_cek.html", letter=letter,
                           verdict=lt(f"v_{v['validity']}", lang, desa=desa))


def routes(w: "WebApp") -> list[Route]:
    """The letter pages for ``create_app``."""
    return LetterPages(w).routes()


__all__ = ["routes", "LetterPages", "lt"]
