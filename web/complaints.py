"""The residents' complaint pages (pengaduan, aspirasi, permintaan informasi): the form with an optional
photo, the code, a live status page with the thread (the resident adds to it and rates the answer), and
``/lacak``, which follows any code.

Everything goes to the service as MQTT commands (``complaint_submit``, ``complaint_status``, ...). A photo
does not fit a command: it is checked and re-encoded here (:mod:`antre_web.photos`: real images only, metadata
and GPS gone), written to ``[complaints] photo_dir`` under the SHA-256 of its bytes, and only that name is
sent. The upload's size is capped while it is read, before any parsing.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlencode
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.link.protocol import normalize_name, normalize_phone
from antre.rules.complaint_codes import (CATEGORIES, clean_complaint_code, complaint_code_ok, complaint_ref,
                                         format_complaint_code, photo_folder)
from antre.rules.letter_codes import clean_tracking_code, tracking_code_ok
from antre.wording import day_month_year

from .complaints_texts import TEXTS, ct, topic_label
from .live import LiveStatus
from .photos import PhotoRefused, clean_photo, store_photo
from .texts import text as site_text

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)
FINAL = ("ditolak", "bukan_wewenang")
FORM_SLACK = 64 * 1024   # the form's other fields and multipart overhead on top of the photo


class ComplaintPages:
    def __init__(self, w: "WebApp"):
        self.w = w
        self.cfg = w.cfg
        self.live = LiveStatus(w, "complaint_status", FINAL)

    def routes(self) -> list[Route]:
        return [
            Route("/pengaduan", self.form_page, methods=["GET", "POST"]),
            Route("/pengaduan/cari", self.find),
            Route("/pengaduan/{code}", self.status),
            Route("/pengaduan/{code}/events", self.events),
            Route("/pengaduan/{code}/tambah", self.add, methods=["POST"]),
            Route("/pengaduan/{code}/nilai", self.rate, methods=["POST"]),
            Route("/lacak", self.lacak),
        ]

    @property
    def conf(self):
        return self.cfg.complaints

    async def _status_of(self, code: str, request: Request):
        # The browser's address: the service counts unknown codes per address (too_many_attempts).
        return await self.w.bridge.request("complaint_status", {"code": code, "address": self.w.client_ip(request)})

    def _reply_text(self, reply, lang: str) -> str:
        key = f"err_{reply.code}"
        return ct(key, lang) if key in TEXTS else self.w.error_text(reply, lang)

    # ------------------------------------------------------------------ the form

    def _upload_limit(self) -> int:
        """The most a complaint's form may weigh: the photo's cap and room for the text fields."""
        return int(self.conf.max_photo_mb * 1024 * 1024) + FORM_SLACK

    async def form_page(self, request: Request) -> Response:
        lang = self.w.lang(request)
        if request.method == "GET":
            return self._form(request, {}, {}, None, 200, uuid.uuid4().hex)
        def too_large(r: Request) -> Response:
            return self._form(r, {}, {}, ct("too_large", lang, n=self._mb()), 413, uuid.uuid4().hex)

        form, refused = await self.w.form(request, self.w.upload_reader(self._upload_limit(), too_large))
        if refused is not None:
            return refused
        given = {k: form.get(k, "")[:self.conf.max_text + 10] for k in
                 ("category", "topic", "text", "name", "phone")}
        given["anonymous"] = "1" if form.get("anonymous") else ""
        given["notify"] = "1" if form.get("notify") else ""
        errors: dict[str, str] = {}
        if given["category"] not in CATEGORIES:
            errors["category"] = ct("p_choice", lang)
        if given["topic"] not in self.conf.topics:
            errors["topic"] = ct("p_choice", lang)
        text = given["text"].strip()
        if not text:
            errors["text"] = ct("p_required", lang)
        elif len(text) > self.conf.max_text:
            errors["text"] = ct("p_too_long", lang, n=self.conf.max_text)
        anonymous = bool(given["anonymous"])
        args: dict[str, Any] = {"category": given["category"], "topic": given["topic"], "text": text,
                                "anonymous": anonymous, "channel": "web"}
        if not anonymous:
            name = normalize_name(given["name"]) if given["name"].strip() else None
            phone = normalize_phone(given["phone"]) if given["phone"].strip() else None
            if given["name"].strip() and name is None:
                errors["name"] = ct("p_name", lang)
            if given["phone"].strip() and phone is None:
                errors["phone"] = ct("p_phone", lang)
            if not given["name"].strip() and not given["phone"].strip():
                errors["name"] = ct("p_contact", lang)
            if given["notify"] and not given["phone"].strip():
                errors["phone"] = ct("p_notify_phone", lang)
            args |= {k: v for k, v in (("name", name), ("phone", phone)) if v}
            args["notify"] = bool(given["notify"] and phone)
        raw = await form.file_bytes("foto")
        if raw:
            try:
                cleaned = await run_in_threadpool(clean_photo, raw, int(self.conf.max_photo_mb * 1024 * 1024))
            except PhotoRefused as e:
                errors["foto"] = ct(f"p_photo_{e.reason}", lang, n=self._mb())
            else:
                if not errors:
                    try:
                        args["photo"] = await run_in_threadpool(store_photo, photo_folder(self.cfg), cleaned)
                    except OSError as e:   # full or read-only disk: say so on the form; nothing was sent
                        log.error("a complaint's photo could not be stored: %s", e.strerror or e)
                        return self._form(request, given, {}, site_text("err_storage_full", lang),
                                          507, self.w.request_id(form))
        if errors:
            return self._form(request, given, errors, ct("fix_below", lang), 400, self.w.request_id(form))
        reply = await self.w.bridge.request("complaint_submit", args, request_id=self.w.request_id(form))
        if not reply.ok:
            return self._form(request, given, {}, self._reply_text(reply, lang),
                              503 if reply.code == "offline" else 409, self.w.request_id(form))
        return RedirectResponse(f"/pengaduan/{reply.result['code']}?baru=1", status_code=303)

    def _mb(self) -> str:
        mb = self.conf.max_photo_mb
        return f"{mb:g}".replace(".", ",")

    def _form(self, request: Request, given: dict[str, str], errors: dict[str, str], problem: str | None,
              status: int, rid: str) -> Response:
        lang = self.w.lang(request)
        return self.w.render(request, "pengaduan_form.html", status, form=given, errors=errors, problem=problem,
                           rid=rid, categories=CATEGORIES, topics=self.conf.topics, max_text=self.conf.max_text,
                           mb=self._mb(), privacy=ct("privacy", lang, n=self.conf.retention_days),
                           sms=bool(self.cfg.notify.sms))

    # ------------------------------------------------------------------ status

    async def find(self, request: Request) -> Response:
        typed = request.query_params.get("kode", "")[:40]
        if not typed:
            return self.w.render(request, "pengaduan_cari.html", error=None, typed="")
        code = clean_complaint_code(typed)
        if not complaint_code_ok(code):
            return self.w.render(request, "pengaduan_cari.html", 400, error=ct("bad_code", self.w.lang(request)),
                               typed=typed)
        return RedirectResponse(f"/pengaduan/{code}", status_code=303)

    def view(self, data: dict[str, Any], lang: str) -> dict[str, Any]:
        tz = self.cfg.office.tz
        status = data["status"]
        due = data["verify_due"] if status == "diterima" else data["answer_due"]

        def when(at: str) -> str:
            local = datetime.fromisoformat(at).astimezone(tz)
            return f"{day_month_year(local.date())} {local.strftime('%H.%M')}"

        thread = []
        for m in data["thread"]:
            if m["kind"] == "status":
                text = ct("status_to", lang, s=ct(f"st_{m['text']}", lang))
            else:
                text = m["text"] or "—"
            thread.append({"kind": m["kind"], "who": ct(f"from_{m['from']}", lang), "at": when(m["at"]),
                           "text": text})
        return {"status": status, "status_text": ct(f"st_{status}", lang),
                "do_text": ct(f"do_{status}", lang, d=day_month_year(date.fromisoformat(due))),
                "reason": data.get("reason") or "", "refer_to": data.get("refer_to") or "",
                "category": ct(f"cat_{data['category']}", lang), "topic": topic_label(data["topic"], lang),
                "created": when(data["created_at"]), "thread": thread, "merged": data["merged"],
                "can_add": data["can_add"], "can_rate": data["can_rate"], "rating": data.get("rating"),
                "has_photo": data["has_photo"], "anonymous": data["anonymous"]}

    async def status(self, request: Request) -> Response:
        code = request.path_params["code"]
        lang = self.w.lang(request)
        if not complaint_code_ok(code):
            return self.w.render(request, "pengaduan_cari.html", 404, error=ct("bad_code", lang), typed=code[:20])
        reply = await self._status_of(code, request)
        if not reply.ok:
            status = {"complaint_not_found": 404, "too_many_attempts": 429}.get(reply.code, 503)
            return self.w.render(request, "pengaduan_cari.html", status, error=self._reply_text(reply, lang), typed=code)
        q = request.query_params
        return self.w.render(request, "pengaduan_status.html", code=code, shown=format_complaint_code(code),
                           v=self.view(reply.result, lang), new=q.get("baru") == "1", added=q.get("tambah") == "1",
                           problem=None, rid=uuid.uuid4().hex,
                           chat=self.w.item_chat_links(self.w.ask_text(f"laporan {format_complaint_code(code)}"),
                                                       reply.result.get("link_code")))

    async def _post(self, request: Request, command: str, args: dict[str, Any], flag: str) -> Response:
        code = request.path_params["code"]
        lang = self.w.lang(request)
        if not complaint_code_ok(code):
            return self.w.message(request, "not_found_page", 404)
        form, refused = await self.w.form(request)
        if refused:
            return refused
        args = {"code": code} | {k: (v(form) if callable(v) else v) for k, v in args.items()}
        if any(v is None for v in args.values()):
            return self.w.message(request, "bad_form", 400)
        reply = await self.w.bridge.request(command, args, request_id=self.w.request_id(form))
        if reply.ok:
            return RedirectResponse(f"/pengaduan/{code}?{flag}=1", status_code=303)
        back = await self._status_of(code, request)
        if not back.ok:
            return self.w.render(request, "pengaduan_cari.html", 404 if back.code == "complaint_not_found" else 503,
                               error=self._reply_text(back, lang), typed=code)
        return self.w.render(request, "pengaduan_status.html", 409, code=code, shown=format_complaint_code(code),
                           v=self.view(back.result, lang), new=False, added=False,
                           problem=self._reply_text(reply, lang), rid=uuid.uuid4().hex)

    async def add(self, request: Request) -> Response:
        def text(form):
            t = form.get("text", "").strip()
            return t if 0 < len(t) <= self.conf.max_text else None
        return await self._post(request, "complaint_add", {"text": text}, "tambah")

    async def rate(self, request: Request) -> Response:
        def rating(form):
            r = form.get("rating", "")
            return int(r) if r in ("1", "2", "3", "4", "5") else None
        return await self._post(request, "complaint_rate", {"rating": rating}, "nilai")

    # ------------------------------------------------------------------ one place for every code

    async def lacak(self, request: Request) -> Response:
        """The older address of "follow any code": ``/cek`` reads every kind (web/follow.py)."""
        typed = request.query_params.get("kode", "").strip()[:40]
        return RedirectResponse("/cek" + (f"?{urlencode({'kode': typed})}" if typed else ""), status_code=303)

    # ------------------------------------------------------------------ live status

    async def events(self, request: Request) -> Response:
        code = request.path_params["code"]
        if not complaint_code_ok(code):
            return Response(status_code=404)
        refused = self.live.too_many(request)
        if refused is not None:
            return refused
        reply = await self._status_of(code, request)
        if not reply.ok:
            return Response(status_code={"complaint_not_found": 404, "too_many_attempts": 429}.get(reply.code, 503))
        lang = self.w.lang(request)
        return self.live.response(
            request, complaint_ref(code), reply.result,
            fetch=lambda: self._status_of(code, request),
            view=lambda data: self.view(data, lang))


def routes(w: "WebApp") -> list[Route]:
    return ComplaintPages(w).routes()


__all__ = ["routes", "ComplaintPages"]
