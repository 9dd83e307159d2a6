"""Village information (kabar desa) on the website and in the console.

Residents: ``/kabar`` (what is published today, newest first) and ``/kabar/{id}``; the home page shows the
newest three. The kasi: ``/staf/kabar`` to write, edit, schedule (publish and expiry dates) and withdraw
announcements and news, and to put an item's title on the TV's running text (the same retained ticker as
``/staf/teks``, audited as ``office.ticker``).

The body is what the kasi typed: plain text with a few marks (a blank line starts a paragraph, ``*miring*``,
``**tebal**``, lists with ``-``, links ``[teks](https://...)``), rendered by markdown-it-py with raw HTML off,
so anything else (``<script>``, ``<img onerror>``, ``javascript:`` links) is shown as text or dropped.

A picture (optional) goes through the complaint photos' pipeline (:mod:`antre_web.photos`: real JPEG, PNG or
WebP only, bombs refused, upright, metadata gone, at most 1280 px), and two smaller copies are made of it: the
portal's (``<sha>.s.jpg``, at most 480 px and 40 kB, shown lazily: a cheap phone on slow 3G loads only what it
scrolls to) and the devices' (``<sha>.tv.jpg``, at most 800 px and one MQTT message, which the service sends to
the TV and the kiosk). Residents get the small one at ``/kabar/gambar/<sha>.jpg``, cached for good (the name
is its content).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from antre.rules.news import DEVICE_PICTURE_BYTES, PICTURE_NAME, picture_folder, variant
from antre.wording import day_month_year

from .console import console_command, require_role
from .console import office as console_office
from .photos import PhotoRefused, clean_photo, fit_jpeg, store_photo
from .texts import text as site_text

if TYPE_CHECKING:
    from .app import WebApp

log = logging.getLogger(__name__)
CACHE_SECONDS = 30.0
FORM_SLACK = 64 * 1024         # the form's text fields and multipart overhead on top of the picture
SMALL_SIDE, SMALL_BYTES = 480, 40_000    # the portal's copy
#: /kabar lists this many items a page (title, date, an excerpt of EXCERPT characters and a small picture);
#: the whole text is on the item's own page. A phone on a slow link gets a short page.
PAGE_ITEMS, EXCERPT = 10, 160
#: The largest ``offset`` news_public takes (antre/link/protocol.py).
PUBLIC_OFFSET_MAX = 100_000
DEVICE_SIDE = 800                         # the TV's and kiosk's copy (at most DEVICE_PICTURE_BYTES)
_MD = MarkdownIt("zero", {"html": False, "linkify": False, "typographer": False}).enable(
    ["emphasis", "list", "link", "newline"])

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("Kabar Desa", "Village news"),
    "sub": ("Pengumuman dan berita dari kantor desa.", "Announcements and news from the village office."),
    "none": ("Belum ada kabar.", "No news yet."),
    "newer": ("‹ Kabar lebih baru", "‹ Newer news"),
    "older": ("Kabar lebih lama ›", "Older news ›"),
    "page": ("Halaman {n} dari {of}", "Page {n} of {of}"),
    "read_more": ("Baca selengkapnya", "Read more"),
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
    "s_more": ("Masih ada {n} kabar lama lagi yang tidak tampil. Tarik kabar yang sudah lewat untuk melihatnya.",
               "{n} older items not shown. Withdraw the ones that are over to see them."),
    "st_published": ("Tayang", "Published"), "st_scheduled": ("Terjadwal", "Scheduled"),
    "st_expired": ("Kedaluwarsa", "Expired"),
    "s_err": ("Tidak dapat disimpan: {detail}", "Could not be saved: {detail}"),
    "s_picture": ("Gambar (boleh kosong; JPEG, PNG atau WebP, paling besar {mb} MB)",
                  "Picture (optional; JPEG, PNG or WebP, at most {mb} MB)"),
    "s_picture_now": ("Gambar sekarang", "Current picture"),
    "s_picture_remove": ("Hapus gambar", "Remove the picture"),
    "s_not_image": ("Berkas ini bukan gambar JPEG, PNG atau WebP.", "This file is not a JPEG, PNG or WebP picture."),
    "s_too_big": ("Gambar terlalu besar (paling besar {mb} MB, 40 megapiksel).",
                  "The picture is too big (at most {mb} MB, 40 megapixels)."),
    "s_slides": ("Slide pengumuman di TV", "Announcement slides on the TV"),
    "s_slides_on": ("Tampilkan slide di TV di antara panggilan (panggilan selalu didahulukan)",
                    "Show slides on the TV between calls (a call always comes first)"),
    "s_slides_seconds": ("Lama tiap slide (detik, 5-60)", "Seconds per slide (5-60)"),
    "picture_alt": ("Gambar: {t}", "Picture: {t}"),
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
            Route("/staf/kabar/slide", self.slides, methods=["POST"]),
            Route("/kabar/gambar/{name}", self.picture),
            Route("/staf/kabar/gambar/{name}", self.console_picture),
        ]

    @staticmethod
    def view(item: dict[str, Any], lang: str) -> dict[str, Any]:
        return item | {"kind_text": nt(f"k_{item['kind']}", lang),
                       "date": day_month_year(date.fromisoformat(item["publish_on"])),
                       "until": nt("until", lang, d=day_month_year(date.fromisoformat(item["expires_on"])))
                       if item.get("expires_on") else "",
                       "html": render_body(item["body"]),
                       "picture_url": f"/kabar/gambar/{item['picture']}" if item.get("picture") else "",
                       "picture_alt": nt("picture_alt", lang, t=item["title"])}

    async def latest(self, lang: str, n: int = 3) -> list[dict[str, Any]]:
        """The newest items for the home page: asked at most every ``CACHE_SECONDS`` (the home page is the
        most visited one), and not at all while the service is away (the page must not wait for it)."""
        return [self.view(i, lang) for i in (await self._public() or [])[:n]]

    async def index(self, request: Request) -> Response:
        lang = self.w.lang(request)
        raw = request.query_params.get("hal", "1")[:6]
        # ASCII digits only: str.isdigit() is also true of '²' (int() raised: a 500) and of other scripts' digits
        n = int(raw) if raw.isascii() and raw.isdigit() else 0
        # One page from the service (it says how many there are in all): the oldest item published is as
        # reachable as the newest, however many there are. The offset within what news_public takes (a page
        # past it, ?hal=999999, was refused as invalid_argument and shown as 'offline', not sent to the last).
        offset = min(max(n - 1, 0) * PAGE_ITEMS, PUBLIC_OFFSET_MAX)
        reply = await self.w.bridge.request("news_public", {"excerpt": EXCERPT, "offset": offset, "limit": PAGE_ITEMS})
        if not reply.ok:
            return self.w.message(request, "err_offline", 503)
        pages = max(1, -(-reply.result["total"] // PAGE_ITEMS))
        if not 1 <= n <= pages or raw != str(n) or (n == 1 and "hal" in request.query_params):
            # ?hal=0, =x, =007, =99 (fewer pages now): the nearest page under its one address
            n = min(max(n, 1), pages)
            return RedirectResponse("/kabar" if n == 1 else f"/kabar?hal={n}", 303)
        shown = [self.view(i, lang) | {"excerpt": i["body"]} for i in reply.result["items"]]
        return self.w.render(request, "kabar.html", items=shown, page=n, pages=pages)

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
            form, upload, refused = await self._read_form(request, lang)
            if refused:
                return refused
            args: dict[str, Any] = {"kind": form.get("kind", ""), "title": form.get("title", "")[:200],
                                    "body": form.get("body", "")[:4100], "publish_on": form.get("publish_on", ""),
                                    "ticker": form.get("ticker") == "1"}
            if form.get("expires_on"):
                args["expires_on"] = form["expires_on"]
            if form.get("item", "").isdigit():
                args["item"] = int(form["item"])
            if form.get("remove_picture") == "1":
                args["picture"] = ""
            problem, fresh = None, None
            if upload:
                picture, fresh = await self._store_picture(upload, lang)
                if picture.endswith(".jpg"):
                    args["picture"] = picture
                else:
                    problem = picture
            if problem is None:
                reply = await console_command(request, "news_save", args, request_id=self.w.request_id(form))
                if reply.ok:
                    self._cache = None
                    return RedirectResponse("/staf/kabar?ok=1", status_code=303)
                problem = nt("s_err", lang, detail=reply.message or reply.code)
                if fresh is not None and reply.code not in ("timeout", "offline", "reply_too_large"):
                    # Refused by the service (not a lost reply: the item might be saved): the files this form
                    # wrote are named by no item (the kasi never published them).
                    await run_in_threadpool(self._remove_picture, fresh)
            status, given = 400, form
        reply = await console_command(request, "news_list", {})
        items = [self.view(i, lang) | {"state_text": nt(f"st_{i['state']}", lang),
                                       "picture_url": f"/staf/kabar/gambar/{i['picture']}" if i.get("picture") else ""}
                 for i in reply.result["items"]] if reply.ok else []
        slides = reply.result.get("slides") if reply.ok else None
        editing = None
        if request.query_params.get("ubah", "").isdigit():
            editing = next((i for i in items if i["id"] == int(request.query_params["ubah"])), None)
        return self.w.render(request, "console/kabar.html", status, items=items, problem=problem, given=given,
                           editing=editing, today=self.w.today().isoformat(), rid=uuid.uuid4().hex,
                           done=request.query_params.get("ok"), on_tv=request.query_params.get("tv"),
                           mb=self._mb(), slides=slides, more=reply.result.get("more", 0) if reply.ok else 0)

    def _mb(self) -> str:
        return f"{self.w.cfg.news.max_picture_mb:g}".replace(".", ",")

    async def _read_form(self, request: Request, lang: str):
        """The console's multipart form (text fields and one picture) after the rate limit and the CSRF check:
        ``(form, picture bytes, None)`` or ``(…, …, the refusal)``."""
        limit = int(self.w.cfg.news.max_picture_mb * 1024 * 1024) + FORM_SLACK
        form, refused = await self.w.form(
            request, self.w.upload_reader(limit, lambda r: self.w.message(r, "bad_form", 413)))
        if refused is not None:
            return {}, b"", refused
        return form, await form.file_bytes("picture"), None

    def _remove_picture(self, name: str) -> None:
        folder = picture_folder(self.w.cfg)
        for path in (folder / name, folder / variant(name, "s"), folder / variant(name, "tv")):
            try:
                path.unlink(missing_ok=True)
            except OSError as e:
                log.warning("news picture %s not removed: %s", path.name, e.strerror or e)

    async def _store_picture(self, raw: bytes, lang: str) -> tuple[str, str | None]:
        """The picture checked, re-encoded and stored with its two copies: ``(its name, the name again when this
        call wrote it -- no item can name it yet -- else None)``, or ``(the problem in words, None)``."""
        limit = int(self.w.cfg.news.max_picture_mb * 1024 * 1024)
        try:
            cleaned = await run_in_threadpool(clean_photo, raw, limit)
            small = await run_in_threadpool(fit_jpeg, cleaned, SMALL_SIDE, SMALL_BYTES)
            device = await run_in_threadpool(fit_jpeg, cleaned, DEVICE_SIDE, DEVICE_PICTURE_BYTES)
        except PhotoRefused as e:
            return nt("s_not_image" if e.reason == "not_image" else "s_too_big", lang, mb=self._mb()), None
        folder = picture_folder(self.w.cfg)
        name = hashlib.sha256(cleaned).hexdigest() + ".jpg"
        existed = (folder / name).exists()     # an item (or the same picture before) has it: never removed here
        try:
            # The copies first: the service accepts the name only once the devices' copy is there.
            await run_in_threadpool(store_photo, folder, small, variant(name, "s"))
            await run_in_threadpool(store_photo, folder, device, variant(name, "tv"))
            await run_in_threadpool(store_photo, folder, cleaned, name)
        except OSError as e:   # a full or read-only disk: said on the form; nothing was sent
            log.error("a news picture could not be stored: %s", e.strerror or e)
            return site_text("err_storage_full", lang), None
        return name, None if existed else name

    async def _public(self) -> list[dict[str, Any]] | None:
        """What residents may read now (cached ``CACHE_SECONDS``; a save or withdrawal here clears it)."""
        now = time.monotonic()
        if self._cache is None or now - self._cache[0] > CACHE_SECONDS:
            if not self.w.bridge.available:
                return None
            reply = await self.w.bridge.request("news_public", {})
            if not reply.ok:
                return None
            self._cache = (now, reply.result["items"])
        return self._cache[1]

    async def picture(self, request: Request) -> Response:
        """The portal's small copy of a published item's picture (a withdrawn or expired item's is not served).
        Its name is its content, so it is cached for a day."""
        name = request.path_params["name"]
        items = await self._public() if PICTURE_NAME.fullmatch(name) else None
        if items is None or name not in {i.get("picture") for i in items}:
            # Not among the newest (cached): an older item's, on a later /kabar page? The service knows; it is
            # asked only for a file that is there (a guessed name costs it nothing).
            known = PICTURE_NAME.fullmatch(name) and (picture_folder(self.w.cfg) / variant(name, "s")).is_file()
            reply = await self.w.bridge.request("news_public", {"picture": name, "excerpt": 1, "limit": 1}) \
                if known and self.w.bridge.available else None
            if reply is None or not reply.ok or not reply.result["items"]:
                return Response("not found", status_code=404, media_type="text/plain")
        return self._picture_file(name, "public, max-age=86400")

    async def console_picture(self, request: Request) -> Response:
        """The kasi's preview of any item's picture (also scheduled ones)."""
        require_role(request, "kasi")
        name = request.path_params["name"]
        if not PICTURE_NAME.fullmatch(name):
            return Response("not found", status_code=404, media_type="text/plain")
        return self._picture_file(name, "private, max-age=3600")

    def _picture_file(self, name: str, cache: str) -> Response:
        path = picture_folder(self.w.cfg) / variant(name, "s")
        if not path.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        return FileResponse(path, media_type="image/jpeg",
                            headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})

    async def slides(self, request: Request) -> Response:
        """The kasi turns the TV's slides on or off and sets their duration (``news_slides``, audited)."""
        require_role(request, "kasi")
        form, refused = await self.w.form(request)
        if refused:
            return refused
        args: dict[str, Any] = {"on": form.get("on") == "1"}
        if form.get("seconds", "").strip().isdigit():
            args["seconds"] = int(form["seconds"].strip())
        reply = await console_command(request, "news_slides", args)
        if not reply.ok:
            return RedirectResponse("/staf/kabar?slides=0", status_code=303)
        return RedirectResponse("/staf/kabar?ok=1", status_code=303)

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
