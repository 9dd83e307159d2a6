"""Village information (kabar desa) on the website and in the console.

Residents: ``/kabar`` (what is published today, newest first) and ``/kabar/{id}``; the home page shows the
newest three. The kasi: ``/staf/kabar`` to write, edit, schedule (publish and expiry dates) and withdraw
announcements and news, and to put an item's title on the TV's running text (the same retained ticker as
``/staf/teks``, audited as ``office.ticker``).

The body is what the kasi typed: plain text with a few marks (a blank line starts a paragraph, ``*miring*``,
``**tebal**``, lists with ``-``, links ``[teks](https://...)``), rendered by markdown-it-py with raw HTML off,
so anything else (``<script>``, ``<img onerror>``, ``javascript:`` links) is shown as text or dropped.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from antre.wording import day_month_year

from .console import console_command, require_role
from .console import office as console_office

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)
CACHE_SECONDS = 30.0
_MD = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False}).enable(
    ["emphasis", "list", "link", "newline"])

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("Kabar Desa", "Village news"),
    "sub": ("Pengumuman dan berita dari kantor desa.", "Announcements and news from the village office."),
    "none": ("Belum ada kabar.", "No news yet."),
    "k_pengumuman": ("Pengumuman", "Announcement"),
    "k_berita": ("Berita", "News"),
    "until": ("berlaku sampai {d}", "until {d}"),
    "all": ("Semua kabar", "All news"),
    "not_found": ("Kabar ini tidak ada atau sudah tidak berlaku.", "This item does not exist or has expired."),
    "s_title": ("Kabar desa", "Village news"),
    "s_new": ("Tulis kabar", "Write an item"),
    "s_edit": ("Ubah kabar", "Edit the item"),
    "s_kind": ("Jenis", "Kind"),
    "s_head": ("Judul", "Title"),
    "s_body": ("Isi", "Text"),
    "s_body_hint": ("Teks biasa. Baris kosong: paragraf baru. *miring*, **tebal**, daftar dengan -, tautan "
                    "[teks](https://...). HTML tidak dipakai.",
                    "Plain text. A blank line: a new paragraph. *italic*, **bold**, lists with -, links "
                    "[text](https://...). HTML is not used."),
    "s_publish": ("Terbit mulai", "Published from"),
    "s_expires": ("Berlaku sampai (boleh kosong)", "Until (optional)"),
    "s_ticker": ("Judul boleh tampil di teks berjalan TV", "The title may run on the TV"),
    "s_save": ("Simpan", "Save"),
    "s_withdraw": ("Tarik", "Withdraw"),
    "s_to_tv": ("Tampilkan di TV", "Show on the TV"),
    "s_on_tv": ("Teks berjalan TV diganti.", "The TV's running text was changed."),
    "s_saved": ("Tersimpan.", "Saved."),
    "st_published": ("Tayang", "Published"), "st_scheduled": ("Terjadwal", "Scheduled"),
    "st_expired": ("Kedaluwarsa", "Expired"),
    "s_err": ("Tidak dapat disimpan: {detail}", "Could not be saved: {detail}"),
}


def nt(key: str, lang: str = "id", **values: Any) -> str:
    pair = TEXTS.get(key)
    if pair is None:
        return key
    s = pair[1] if lang == "en" else pair[0]
    return s.format(**values) if values else s


def render_body(text: str) -> Markup:
    """The kasi's text as safe HTML (raw HTML off; only paragraphs, emphasis, lists and http(s)/mailto links)."""
    html = _MD.render(text)
    return Markup(html.replace("<a href=", '<a rel="nofollow noopener" href='))


class NewsPages:
    def __init__(self, w: "WebApp"):
        self.w = w
        self._cache: tuple[float, list[dict[str, Any]]] | None = None

    def routes(self) -> list[Route]:
        return [
            Route("/kabar", self.index),
            Route("/kabar/{id:int}", self.one),
            Route("/staf/kabar", self.console, methods=["GET", "POST"]),
            Route("/staf/kabar/{id:int}/tarik", self.withdraw, methods=["POST"]),
            Route("/staf/kabar/{id:int}/tv", self.to_tv, methods=["POST"]),
        ]

    @staticmethod
    def view(item: dict[str, Any], lang: str) -> dict[str, Any]:
        return item | {"kind_text": nt(f"k_{item['kind']}", lang),
                       "date": day_month_year(date.fromisoformat(item["publish_on"])),
                       "until": nt("until", lang, d=day_month_year(date.fromisoformat(item["expires_on"])))
                       if item.get("expires_on") else "",
                       "html": render_body(item["body"])}

    async def latest(self, lang: str, n: int = 3) -> list[dict[str, Any]]:
        """The newest items for the home page: asked at most every ``CACHE_SECONDS`` (the home page is the
        most visited one), and not at all while the service is away (the page must not wait for it)."""
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > CACHE_SECONDS:
            if not self.w.bridge.available:
                return []
            reply = await self.w.bridge.request("news_public", {})
            self._cache = (now, reply.result["items"] if reply.ok else [])
        return [self.view(i, lang) for i in self._cache[1][:n]]

    async def index(self, request: Request) -> Response:
        lang = self.w.lang(request)
        reply = await self.w.bridge.request("news_public", {})
        if not reply.ok:
            return self.w.message(request, "err_offline", 503)
        return self.w.render(request, "kabar.html", items=[self.view(i, lang) for i in reply.result["items"]])

    async def one(self, request: Request) -> Response:
        lang = self.w.lang(request)
        reply = await self.w.bridge.request("news_public", {"item": request.path_params["id"]})
        if not reply.ok:
            status = 404 if reply.code == "news_not_found" else 503
            return self.w.render(request, "kabar.html", status, items=[], problem=nt("not_found", lang))
        return self.w.render(request, "kabar_satu.html", item=self.view(reply.result["items"][0], lang))

    # ------------------------------------------------------------------ console

    async def console(self, request: Request) -> Response:
        require_role(request, "kasi")
        lang = self.w.lang(request)
        problem, status, given = None, 200, {}
        if request.method == "POST":
            form, refused = await self.w.form(request)
            if refused:
                return refused
            args: dict[str, Any] = {"kind": form.get("kind", ""), "title": form.get("title", "")[:200],
                                    "body": form.get("body", "")[:4100], "publish_on": form.get("publish_on", ""),
                                    "ticker": form.get("ticker") == "1"}
            if form.get("expires_on"):
                args["expires_on"] = form["expires_on"]
            if form.get("item", "").isdigit():
                args["item"] = int(form["item"])
            reply = await console_command(request, "news_save", args, request_id=self.w.request_id(form))
            if reply.ok:
                self._cache = None
                return RedirectResponse("/staf/kabar?ok=1", status_code=303)
            problem, status, given = nt("s_err", lang, detail=reply.message or reply.code), 400, form
        reply = await console_command(request, "news_list", {})
        items = [self.view(i, lang) | {"state_text": nt(f"st_{i['state']}", lang)} for i in reply.result["items"]] \
            if reply.ok else []
        editing = None
        if request.query_params.get("ubah", "").isdigit():
            editing = next((i for i in items if i["id"] == int(request.query_params["ubah"])), None)
        return self.w.render(request, "console/kabar.html", status, items=items, problem=problem, given=given,
                           editing=editing, today=self.w.today().isoformat(), rid=uuid.uuid4().hex,
                           done=request.query_params.get("ok"), on_tv=request.query_params.get("tv"))

    async def withdraw(self, request: Request) -> Response:
        require_role(request, "kasi")
        form, refused = await self.w.form(request)
        if refused:
            return refused
        await console_command(request, "news_withdraw", {"item": request.path_params["id"]})
        self._cache = None
        return RedirectResponse("/staf/kabar?ok=1", status_code=303)

    async def to_tv(self, request: Request) -> Response:
        """The item's title becomes the TV's running text (between calls; a call is never covered)."""
        require_role(request, "kasi")
        form, refused = await self.w.form(request)
        if refused:
            return refused
        reply = await console_command(request, "news_list", {})
        item = next((i for i in reply.result["items"] if i["id"] == request.path_params["id"]), None) \
            if reply.ok else None
        if item is None or item["state"] != "published":
            return RedirectResponse("/staf/kabar", status_code=303)
        text = " ".join(f"{nt('k_' + item['kind'])}: {item['title']}".split())[:300]
        if not self.w.bridge.link.connected.is_set() or not await console_office.audit_ticker(request, text):
            return RedirectResponse("/staf/kabar", status_code=303)
        self.w.bridge.publish_ticker(text)
        self.w.bridge.ticker = text
        return RedirectResponse("/staf/kabar?tv=1", status_code=303)


def routes(w: "WebApp") -> tuple[list[Route], NewsPages]:
    pages = NewsPages(w)
    return pages.routes(), pages


__all__ = ["routes", "NewsPages", "render_body"]
