"""``antre serve``: the queue service, the one authority over tickets.

paho's network thread only puts incoming commands on a queue. One writer
thread takes them in order, runs each through :class:`~antre.queue.QueueService`
(one durable transaction each), then publishes the reply, the events and -- once
the backlog is empty -- the new retained state.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import signal
import sys
import threading
import time
from typing import Any

from . import config as config_mod
from .errors import CommandError
from .mqtt import MqttLink, client_id_for
from .protocol import Freshness, Topics, error_reply, ok_reply, parse_request, peek_reply_to
from .queue import QueueService
from .storage import open_database

log = logging.getLogger("antre.service")

TICK_SECONDS = 15.0
BATCH_MAX = 64   # commands applied in one transaction at most (group commit under bursts)
_STOP = object()
_PUBLISH_STATE = object()


class QueueServer:
    """Connects a :class:`QueueService` to the broker. ``start()``, then ``stop()``."""

    def __init__(self, cfg: config_mod.Config, *, clock=None, notify=None):
        self.cfg = cfg
        self.topics = Topics(cfg.office.id)
        self.engine, sessions = open_database(cfg.database.effective_url)
        self.queue = QueueService(cfg, sessions, clock=clock)
        self.client_id = client_id_for(cfg, "service")
        self.link = MqttLink(cfg.mqtt, self.topics, self.client_id, "service")
        self.link.subscribe(self.topics.commands, self._received)
        self.link.subscribe(self.topics.statuses, self._presence)
        self.link.on_connect(lambda: self._jobs.put(_PUBLISH_STATE))
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._writer = threading.Thread(target=self._run, name="antre-writer", daemon=True)
        self._notify = notify or (lambda *_: None)
        self._last_tick = 0.0
        self._fresh = Freshness(cfg.queue.max_command_age)
        self._published: int | None = None   # seq of the last state published

    def start(self) -> None:
        self._writer.start()
        self.link.start()

    def stop(self) -> None:
        self._jobs.put(_STOP)
        self._writer.join(timeout=10)
        self.link.stop()
        self.engine.dispose()

    # ------------------------------------------------------------------ paho thread

    def _received(self, topic: str, payload: bytes) -> None:
        self._jobs.put((topic, payload))

    def _presence(self, topic: str, payload: bytes) -> None:
        # A device's presence carries its clock: learn its offset before its first command.
        try:
            sent_at = json.loads(payload).get("time")
        except (ValueError, AttributeError):
            return
        if isinstance(sent_at, (int, float)) and not isinstance(sent_at, bool):
            client_id = topic.rsplit("/", 1)[1]
            self._jobs.put(("presence", self.topics.reply(client_id), sent_at, time.time()))

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        dirty = False
        while True:
            try:
                job = self._jobs.get(timeout=1.0)
            except queue.Empty:
                job = None
            try:
                # Take what else is already waiting too: a burst is applied in one transaction.
                jobs = [job] if job is not None else []
                while jobs and jobs[-1] is not _STOP and len(jobs) < BATCH_MAX:
                    try:
                        jobs.append(self._jobs.get_nowait())
                    except queue.Empty:
                        break
                messages = []
                for j in jobs:
                    if j is _PUBLISH_STATE:
                        dirty = True
                    elif j is _STOP:
                        break
                    elif j[0] == "presence":
                        self._fresh.observe(*j[1:])
                    else:
                        messages.append(j)
                if messages:
                    dirty |= self._handle(messages)
                if _STOP in jobs:
                    return
                if time.monotonic() - self._last_tick >= TICK_SECONDS:
                    self._last_tick = time.monotonic()
                    dirty |= self.queue.tick()
                    self._notify("WATCHDOG=1")
                if (dirty or self.queue.seq != self._published) and self._jobs.empty():
                    self._publish_state()
                    dirty = False
            except CommandError as exc:  # tick() refused: clock went backwards
                log.error("%s", exc.message)
            except Exception:
                log.exception("unexpected error in the writer")

    def _handle(self, messages: list[tuple[str, bytes]]) -> bool:
        """Validates and applies a burst of command messages; replies and events go out after the commit."""
        requests = []
        for topic, payload in messages:
            req = self._admit(topic, payload)
            if req is not None:
                requests.append(req)
        if not requests:
            return False
        results = self.queue.execute_many([(r.command, r.request_id, r.args) for r in requests])
        changed = False
        for req, result in zip(requests, results):
            if isinstance(result, CommandError):
                if result.code != "internal_error":
                    log.info("%s refused: %s (%s)", req.command, result.message, result.code)
                if req.reply_to:
                    self.link.publish(req.reply_to, error_reply(req.request_id, result.code, result.message))
                continue
            if req.reply_to:
                self.link.publish(req.reply_to, ok_reply(req.request_id, result.result))
            for event, data in result.events:
                self.link.publish(self.topics.event(event), data)
            changed |= result.changed
        return changed

    def _admit(self, topic: str, payload: bytes):
        """The parsed request, or None after replying with why it was refused."""
        max_bytes = self.cfg.queue.max_payload_bytes
        try:
            req = parse_request(topic, payload, self.topics, max_bytes)
        except CommandError as exc:
            rid, reply_to = peek_reply_to(payload, self.topics) if len(payload) <= 1_000_000 else (None, None)
            log.warning("rejected message on %s: %s (%s)", topic, exc.message, exc.code)
            if reply_to:
                self.link.publish(reply_to, error_reply(rid, exc.code, exc.message))
            return None
        late = self._fresh.age(req.reply_to, req.sent_at, time.time())
        if late is not None:
            # Dropped without a reply: its sender gave up long ago (and gave staff the error signal), and
            # a retry with the same request_id must get its own answer, not this one. Not the arguments
            # in the log: a web ticket's carry a name and a phone number.
            log.warning("%s %s refused as stale: arrived %.0f s late; not applied", req.command, req.request_id,
                        late)
            return None
        return req

    def _publish_state(self) -> None:
        state = self.queue.snapshot()
        self.link.publish(self.topics.state, state, retain=True)
        self._published = state["seq"]


# ---------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt-url", help="broker URL, overrides [mqtt] url (mqtt://host:1883 or mqtts://...)")
    parser.add_argument("--db-url", help="database URL, overrides [database] url (sqlite:////path/antre.db)")


def load_with_overrides(args: argparse.Namespace) -> config_mod.Config:
    return config_mod.with_overrides(config_mod.load(args.config), mqtt_url=args.mqtt_url, db_url=args.db_url)


def run(args: argparse.Namespace) -> int:
    cfg = load_with_overrides(args)
    # The writer thread hands each message to paho's network thread; the default 5 ms GIL switch interval
    # would let a reply wait behind the next command's work. 0.5 ms keeps a call at about a millisecond.
    sys.setswitchinterval(0.0005)
    try:
        import sdnotify
        notifier = sdnotify.SystemdNotifier()
        notify = notifier.notify
    except ImportError:  # pragma: no cover - sdnotify is a dependency
        notify = None
    server = QueueServer(cfg, notify=notify)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    log.info("antre service for %s (%s) running; broker %s, database %s", cfg.office.name, cfg.office.id,
             cfg.mqtt.url, cfg.database.effective_url)
    if notify:
        notify("READY=1")
    stop.wait()
    log.info("stopping")
    if notify:
        notify("STOPPING=1")
    server.stop()
    return 0
