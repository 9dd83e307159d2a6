"""Live status pages' event streams (SSE), shared by the complaint and the letter pages.

One ``LiveStatus`` per kind of status: it listens to the service's ``<event>`` (its ``ref`` names what
changed), keeps the open streams' queues by that ref, counts open streams per client address against
``web.streams_per_address`` / ``web.streams_total``, and streams the page's view of the status: once at
the start, again after every change (asked fresh from the service with the page's callback), a ping
comment while nothing happens, and it ends once the status is final.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from antre.link.protocol import read_object

if TYPE_CHECKING:
    from .app import WebApp

PING_SECONDS = 15.0

Fetch = Callable[[], Awaitable[Any]]            # -> the bridge's reply (``.ok``, ``.result``)
View = Callable[[dict], dict]                   # the status -> what the page is sent


class LiveStatus:
    def __init__(self, w: "WebApp", event: str, final: Collection[str]) -> None:
        self.w = w
        self.event = event
        self.final = tuple(final)
        self.streams: dict[str, int] = {}                      # open streams per client address
        self._watchers: dict[str, set[asyncio.Queue]] = {}
        w.bridge.link.subscribe(w.bridge.topics.event(event), self._on_event)

    def _on_event(self, topic: str, payload: bytes) -> None:
        """paho's thread: hand the event to the asyncio loop; nothing else here."""
        data = read_object(payload, f"{self.event} event")
        loop = self.w.bridge.loop
        if data is None or not isinstance(data.get("ref"), str) or loop is None:
            return
        loop.call_soon_threadsafe(self._deliver, data["ref"])

    def _deliver(self, ref: str) -> None:
        for q in self._watchers.get(ref, ()):
            if not q.full():   # a full queue will ask the service for the newest anyway
                q.put_nowait(True)

    def too_many(self, request: Request) -> Response | None:
        """The 429 answer when this address (or everyone) already holds the most streams allowed."""
        ip = self.w.client_key(request)
        web = self.w.cfg.web
        if self.streams.get(ip, 0) >= web.streams_per_address or sum(self.streams.values()) >= web.streams_total:
            return Response("terlalu banyak", status_code=429, headers={"Retry-After": "60"})
        return None

    def response(self, request: Request, ref: str, first: dict, fetch: Fetch, view: View, *,
                 reread_first: bool = False) -> StreamingResponse:
        """Stream ``view(status)`` for ``ref``, starting from ``first``; ``fetch`` asks the service again.

        With ``reread_first`` the status is read once more after the stream is registered, so no change
        can fall between the first read and the registration.
        """
        ip = self.w.client_key(request)

        async def stream():
            # Counted and registered only once the response runs (a page that left before leaks nothing).
            q: asyncio.Queue = asyncio.Queue(maxsize=4)
            self._watchers.setdefault(ref, set()).add(q)
            self.streams[ip] = self.streams.get(ip, 0) + 1
            try:
                yield "retry: 3000\n\n"
                data = first
                if reread_first:
                    again = await fetch()
                    if again.ok:
                        data = again.result
                yield f"data: {json.dumps(view(data), ensure_ascii=False)}\n\n"
                while data["status"] not in self.final:
                    try:
                        await asyncio.wait_for(q.get(), PING_SECONDS)
                    except asyncio.TimeoutError:
                        yield ": ping\n\n"
                        continue
                    while not q.empty():
                        q.get_nowait()
                    fresh = await fetch()
                    if not fresh.ok:
                        continue
                    data = fresh.result
                    yield f"data: {json.dumps(view(data), ensure_ascii=False)}\n\n"
            finally:
                watchers = self._watchers.get(ref)
                if watchers is not None:
                    watchers.discard(q)
                    if not watchers:
                        del self._watchers[ref]
                self.streams[ip] -= 1
                if self.streams[ip] <= 0:
                    del self.streams[ip]

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


__all__ = ["LiveStatus", "PING_SECONDS"]
