"""The web app's link to the office: one MQTT connection, the retained state, and live ticket status.

:class:`Bridge` keeps the newest retained state and the service's presence, sends
commands for the web pages (``await bridge.request(...)``), and feeds each open
status page (server-sent events) with its ticket's status. That status is read from
the retained state (:class:`antre.rules.ticket_view.StateIndex`: the waiting numbers of
each service in calling order, the number each counter serves), so however many
phones watch, the service is asked nothing while a ticket is open; a ticket that
ended (done, no-show, expired) is asked about once, then remembered. paho's thread
never blocks and never touches the watchers: states are handed to the asyncio loop
with ``call_soon_threadsafe``, newest wins.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from typing import Any

from antre.config import Config
from antre.link.mqtt import MqttLink, Reply, Requester, client_id_for
from antre.link.presence import ServicePresence
from antre.link.protocol import Topics, read_object, read_presence
from antre.rules.ticket_view import StateIndex

log = logging.getLogger(__name__)

TERMINAL = ("done", "no_show", "expired")
FINAL_MEMORY = 5000   # ended tickets remembered (their status never changes again)

Key = tuple[str, str]   # (business date, number)


class Bridge:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.topics = Topics(cfg.office.id)
        self.client_id = client_id_for(cfg, "web")
        self.link = MqttLink(cfg.mqtt, self.topics, self.client_id, "web")
        self.requester = Requester(self.link)
        self.state: dict[str, Any] | None = None
        self.ticker: str | None = None
        self.presence = ServicePresence()
        self.loop: asyncio.AbstractEventLoop | None = None
        # Live status; touched only in the asyncio loop's thread.
        self.index: StateIndex | None = None
        self._pending: dict[str, Any] | None = None
        self._pending_lock = threading.Lock()
        self._new_state: asyncio.Event | None = None
        self._watchers: dict[Key, set[asyncio.Queue]] = {}
        self._sent: dict[Key, dict[str, Any]] = {}
        self._final: OrderedDict[Key, dict[str, Any]] = OrderedDict()
        self._asking: set[Key] = set()
        #: ``ticket_status`` questions sent for ended tickets (for tests and the benchmark).
        self.asked = 0
        self.link.subscribe(self.topics.state, self._on_state)
        self.link.subscribe(self.topics.ticker, self._on_ticker)
        self.link.subscribe(self.topics.service_statuses, self._on_service)
        #: Every device's retained presence (client id -> message): the staff page's device health.
        self.statuses: dict[str, dict[str, Any]] = {}
        self._statuses_lock = threading.Lock()   # written on paho's thread, read by the staff page
        self.link.subscribe(self.topics.statuses, self._on_status)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.link.start()

    def stop(self) -> None:
        self.link.stop()

    @property
    def available(self) -> bool:
        return self.link.connected.is_set() and self.presence.online is not False and self.state is not None

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

    @property
    def watchers(self) -> int:
        return sum(len(qs) for qs in self._watchers.values())

    async def admit(self, day: str, number: str) -> str:
        """May a status stream follow this ticket? ``"open"`` (waiting or called today), ``"ended"``
        (it exists but will not change: done, skipped, or of an earlier day), or ``"unknown"`` (never
        issued). Decided from the retained state, never by asking the service; a number just past the
        newest one waits for the next state (the page may be quicker than the state)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cfg.web.request_timeout
        while True:
            ix = self.index
            if ix is not None and ix.day is not None:
                if day < ix.day:
                    return "ended"
                if day == ix.day:
                    if ix.status(number) is not None:
                        return "open"
                    if ix.issued(number):
                        return "ended"
            left = deadline - loop.time()
            if left <= 0 or (ix is not None and ix.day is not None and (day > ix.day or not ix.soon(number))):
                return "unknown"
            event = self._new_state_event()
            try:
                await asyncio.wait_for(event.wait(), left)
            except asyncio.TimeoutError:
                return "unknown"

    async def state_after(self, seq: int | None, timeout: float) -> bool:
        """Waits (at most ``timeout`` seconds) for a retained state newer than ``seq``: a page shown right after a
        command then shows its effect. True when it came."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self.state or {}).get("seq") == seq:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._new_state_event().wait(), left)
            except asyncio.TimeoutError:
                return False
        return True

    def _new_state_event(self) -> asyncio.Event:
        if self._new_state is None:
            self._new_state = asyncio.Event()
        return self._new_state

    def watch(self, day: str, number: str) -> asyncio.Queue:
        """A queue that gets this ticket's status now and at each change. Call in the loop's thread."""
        q: asyncio.Queue = asyncio.Queue(maxsize=4)
        key = (day, number)
        self._watchers.setdefault(key, set()).add(q)
        data = self._current(key)
        if data is not None:
            _offer(q, data)
        else:
            self._ask(key)
        return q

    def unwatch(self, day: str, number: str, q: asyncio.Queue) -> None:
        key = (day, number)
        qs = self._watchers.get(key)
        if qs is not None:
            qs.discard(q)
            if not qs:
                del self._watchers[key]
                self._sent.pop(key, None)

    async def ping_forever(self, every: float) -> None:
        """Each open page gets a keep-alive every ``every`` seconds, spread over that time (a slice
        a second, never all at once), from this one task rather than a timer per page."""
        tick = 0
        while True:
            await asyncio.sleep(1.0)
            slices = max(1, int(every))
            for qs in list(self._watchers.values()):
                for q in qs:
                    if id(q) // 16 % slices == tick % slices:
                        _offer(q, PING)
            tick += 1

    def open_status(self, day: str, number: str) -> dict[str, Any] | None:
        """The status of an open ticket of today from the retained state (None: ask the service)."""
        ix = self.index
        return ix.status(number) if ix is not None and ix.day == day else None

    def _current(self, key: Key) -> dict[str, Any] | None:
        """The status known without asking: from the state while open, or remembered once ended."""
        ix = self.index
        if ix is not None and ix.day == key[0]:
            status = ix.status(key[1])
            if status is not None:
                return status
        return self._final.get(key)

    def _ask(self, key: Key) -> None:
        """One question to the service for a ticket that is no longer open (once per ticket)."""
        if key in self._asking or key in self._final:
            return
        self._asking.add(key)
        self.asked += 1
        loop = self.loop
        self.requester.send("ticket_status", {"number": key[1], "date": key[0]},
                            lambda reply: loop and loop.call_soon_threadsafe(self._answered, key, reply),
                            timeout=self.cfg.web.request_timeout)

    def _answered(self, key: Key, reply: Reply) -> None:
        self._asking.discard(key)
        if not reply.ok:
            data: dict[str, Any] = {"error": reply.code}
        else:
            data = dict(reply.result or {})
            if data.get("state") not in TERMINAL:
                # The state was behind the service: the next state brings this ticket.
                return
            self._final[key] = data
            while len(self._final) > FINAL_MEMORY:
                self._final.popitem(last=False)
        self._push(key, data)

    def _push(self, key: Key, data: dict[str, Any]) -> None:
        if self._sent.get(key) == data:
            return
        self._sent[key] = data
        for q in self._watchers.get(key, ()):
            _offer(q, data)

    def _apply_state(self) -> None:
        """In the loop: a new retained state arrived; update the pages whose ticket changed."""
        with self._pending_lock:
            state, self._pending = self._pending, None
        if state is None:
            return
        self.index = StateIndex(state)
        event, self._new_state = self._new_state, None
        if event is not None:
            event.set()
        for key in list(self._watchers):
            data = self._current(key)
            if data is None:
                self._ask(key)   # it just ended (or its day did)
            else:
                self._push(key, data)

    # ------------------------------------------------------------------ paho's thread

    def _on_state(self, topic: str, payload: bytes) -> None:
        state = read_object(payload, "state message")
        if state is None:
            return
        self.state = state
        loop = self.loop
        if loop is None:
            return
        with self._pending_lock:
            first = self._pending is None
            self._pending = state
        if first:
            loop.call_soon_threadsafe(self._apply_state)

    def _on_ticker(self, topic: str, payload: bytes) -> None:
        data = read_object(payload, "ticker") if payload else {}
        self.ticker = str(data.get("text", "")) if data is not None else None

    def _on_status(self, topic: str, payload: bytes) -> None:
        # Trusted by its topic: the component is the role of the login that wrote it.
        presence = read_presence(self.topics, topic, payload)
        if presence is None:
            return
        _, client_id, data = presence
        with self._statuses_lock:
            if data is None:
                self.statuses.pop(client_id, None)
            else:
                self.statuses[client_id] = data

    def devices(self) -> dict[str, dict[str, Any]]:
        with self._statuses_lock:
            return dict(self.statuses)

    def _on_service(self, topic: str, payload: bytes) -> None:
        self.presence.update(read_presence(self.topics, topic, payload))


#: Put in a page's queue instead of a status: "write a keep-alive comment" (also how a closed page is found).
PING: dict[str, Any] = {}


def _offer(q: asyncio.Queue, data: dict[str, Any]) -> None:
    if q.full():  # a slow phone: drop the oldest, the newest status is what matters
        try:
            q.get_nowait()
        except asyncio.QueueEmpty:
            pass
    q.put_nowait(data)
