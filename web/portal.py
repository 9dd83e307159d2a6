"""The portal's shell: the web app manifest, the service worker and its offline page, so a resident can add
the site to a phone's home screen (no app store) and gets a clear page, not the browser's error, when the
link drops.

The service worker (``/sw.js``, served from the root so its scope is the whole site) keeps only the offline
page, the style sheet, the scripts and the icons: never a resident's status page, a form or the console, which
always come from the server. Its cache is named after a hash of those files, so a new release replaces it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from .app import WebApp

STATIC = Path(__file__).parent / "static"
#: What the service worker keeps (the offline page is added to it).
SHELL = ("style.css", "pwa.js", "icon-192.png", "icon-512.png")

SERVICE_WORKER = """// Antre: the offline page for a resident whose link dropped; nothing personal is ever cached.
"use strict";
var CACHE = "antre-%(version)s";
var OFFLINE = "/offline";
var SHELL = %(shell)s;
self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll([OFFLINE].concat(SHELL)); })
    .then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});
self.addEventListener("fetch", function (e) {
  var r = e.request;
  if (r.method !== "GET") return;
  if (r.mode === "navigate") {
    e.respondWith(fetch(r).catch(function () { return caches.match(OFFLINE); }));
    return;
  }
  var url = new URL(r.url);
  if (url.origin === self.location.origin && SHELL.indexOf(url.pathname) >= 0) {
    e.respondWith(caches.match(r).then(function (hit) { return hit || fetch(r); }));
  }
});
"""


class Portal:
    def __init__(self, w: "WebApp"):
        self.w = w
        digest = hashlib.sha256()
        for name in SHELL:
            digest.update((STATIC / name).read_bytes())
        self.version = digest.hexdigest()[:12]

    def routes(self) -> list[Route]:
        return [Route("/manifest.webmanifest", self.manifest), Route("/sw.js", self.service_worker),
                Route("/offline", self.offline)]

    async def manifest(self, request: Request) -> Response:
        name = self.w.cfg.office.name
        lang = self.w.lang(request)
        data = {
            "name": name, "short_name": name[:12] if len(name) > 12 else name,
            "description": "Antrean, janji temu, surat, pengaduan dan kabar desa" if lang == "id"
            else "Queue, appointments, letters, complaints and village news",
            "lang": lang, "start_url": "/", "scope": "/", "display": "standalone",
            "background_color": "#f3f5f9", "theme_color": "#0b1b32",
            "icons": [{"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
                      {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"}],
        }
        return Response(json.dumps(data, ensure_ascii=False), media_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})

    async def service_worker(self, request: Request) -> Response:
        body = SERVICE_WORKER % {"version": self.version, "shell": json.dumps([f"/static/{n}" for n in SHELL])}
        return Response(body, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})

    async def offline(self, request: Request) -> Response:
        response = self.w.render(request, "offline.html")
        response.headers["Cache-Control"] = "no-cache"   # the service worker keeps its own copy
        return response


def routes(w: "WebApp") -> list[Route]:
    return Portal(w).routes()


__all__ = ["routes", "Portal"]
