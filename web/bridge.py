"""The web app's link to the office: one MQTT connection, the retained state, and live ticket status.

:class:`Bridge` keeps the newest retained state and the service's presence, sends
commands for the web pages (``await bridge.request(...)``), and feeds each open
status page (server-sent events) with its ticket's status. Per watched ticket it
asks the service once per state change (``ticket_status``), however many phones
watch that ticket. paho's thread never blocks: results are handed to the asyncio
loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from antre.config import Config
from antre.mqtt import MqttLink, Reply, Requester, client_id_for
from antre.protocol import Topics, read_object, read_presence

log = logging.getLogger(__name__)

TERMINAL = ("done", "no_show", "expired")


class Bridge:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.topics = Topics(cfg.office.id)
        self.client_id = client_id_for(cfg, "web")
        self.link = MqttLink(cfg.mqtt, self.topics, self.client_id, "web")
        self.requester = Requester(self.link)
        self.state: dict[str, Any] | None = None
        self.ticker: str | None = None
        self.service_online: bool | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._watchers: dict[tuple[str, str], set[asyncio.Queue]] = {}
        self._inflight: set[tuple[str, str]] = set()
        self._again: set[tuple[str, str]] = set()
        self._last: dict[tuple[str, str], dict[str, Any]] = {}
        self.link.subscribe(self.topics.state, self._on_state)
        self.link.subscribe(self.topics.ticker, self._on_ticker)
        self.link.subscribe(self.topics.service_statuses, self._on_service)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.link.start()

    def stop(self) -> None:
        self.link.stop()

    @property
    def available(self) -> bool:
        return self.link.connected.is_set() and self.service_online is not False and self.state is not None

    # ------------------------------------------------------------------ commands

    async def request(self, command: str, args: dict[str, Any], *, request_id: str | None = None) -> Reply:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Reply] = loop.create_future()

        def done(reply: Reply) -> None:
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(reply))

        self.requester.send(command, args, done, timeout=self.cfg.web.request_timeout, request_id=request_id)
        return await fut

    def publish_ticker(self, text: str) -> None:
        self.link.publish(self.topics.ticker, {"text": text}, retain=True)

    # ------------------------------------------------------------------ live status

    def watch(self, date: str, number: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=20)
        key = (date, number)
        with self._lock:
            self._watchers.setdefault(key, set()).add(q)
        self._refresh(key)
        return q

    def unwatch(self, date: str, number: str, q: asyncio.Queue) -> None:
        key = (date, number)
        with self._lock:
            qs = self._watchers.get(key)
            if qs is not None:
                qs.discard(q)
                if not qs:
                    del self._watchers[key]
                    self._last.pop(key, None)

    def _refresh(self, key: tuple[str, str]) -> None:
        """Asks the service for one ticket's status; coalesces while a question is in flight."""
        with self._lock:
            if key in self._inflight:
                self._again.add(key)
                return
            self._inflight.add(key)
        date, number = key
        self.requester.send("ticket_status", {"number": number, "date": date},
                            lambda reply: self._status(key, reply), timeout=self.cfg.web.request_timeout)

    def _status(self, key: tuple[str, str], reply: Reply) -> None:
        with self._lock:
            self._inflight.discard(key)
            again = key in self._again
            self._again.discard(key)
            queues = list(self._watchers.get(key, ()))
            if reply.ok:
                data = dict(reply.result or {})
                if self._last.get(key) == data and not again:
                    queues = []  # nothing new for these pages
                self._last[key] = data
            else:
                data = {"error": reply.code}
        if again:
            self._refresh(key)
        if self.loop is None:
            return
        for q in queues:
            self.loop.call_soon_threadsafe(_offer, q, data)

    # ------------------------------------------------------------------ paho's thread

    def _on_state(self, topic: str, payload: bytes) -> None:
        state = read_object(payload, "state message")
        if state is None:
            return
        self.state = state
        with self._lock:
            keys = [k for k in self._watchers if (self._last.get(k) or {}).get("state") not in TERMINAL]
        for key in keys:
            self._refresh(key)

    def _on_ticker(self, topic: str, payload: bytes) -> None:
        try:
            self.ticker = str(json.loads(payload).get("text", "")) if payload else ""
        except (ValueError, AttributeError):
            self.ticker = None

    def _on_service(self, topic: str, payload: bytes) -> None:
        presence = read_presence(self.topics, topic, payload)
        if presence is not None and presence[0] == "service":
            self.service_online = bool(presence[2].get("online")) if presence[2] else None


def _offer(q: asyncio.Queue, data: dict[str, Any]) -> None:
    if q.full():  # a slow phone: drop the oldest, the newest status is what matters
        try:
            q.get_nowait()
        except asyncio.QueueEmpty:
            pass
    q.put_nowait(data)
