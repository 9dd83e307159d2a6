"""One ``antre serve`` per office: a second one refuses to start, saying where the first one runs.

Two checks, because two services may share a database (same Pi) or only the broker (a leftover
server Pi with a database of its own):

* :class:`DatabaseLock` -- an exclusive ``flock`` on ``<database>.lock`` for SQLite, a session
  advisory lock for PostgreSQL. The kernel (or the database server) drops it when the process dies,
  even by ``kill -9``, so a restarted service gets it at once.
* :func:`check_broker` -- the service's retained presence (``{base}/status/service/{client_id}``)
  says which instance last ran the office: its host, process id, database and start time. Unless
  that instance stopped cleanly, the newcomer connects under the same login, which takes the
  broker session over (the broker publishes the old session's last will); a live service
  reconnects within a few seconds and takes it back, a dead one (``kill -9``, power cut) does not.
  So: evidence of life within :data:`PROBE_SECONDS` means refuse; none means the old instance is
  gone and this one takes over. Nothing is applied before the check is done.

While it runs, a service that sees another instance announce itself on its own presence topic
yields if that one started earlier (:meth:`antre.service.server.QueueServer` watches for it), so two
services started at the same moment end up as one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine, make_url

from antre.config import MqttConfig
from antre.errors import AntreError
from antre.link.protocol import Topics, read_presence

log = logging.getLogger(__name__)

#: How long a newcomer waits for the service named in the retained presence to show it is alive.
PROBE_SECONDS = 6.0


class AlreadyRunning(AntreError):
    """Another ``antre serve`` runs this office (or uses this database)."""


@dataclass(frozen=True)
class Instance:
    """Who this service process is, as its presence tells the office."""

    id: str
    host: str
    pid: int
    started: float
    database: str

    @classmethod
    def here(cls, database_url: str) -> "Instance":
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid(), round(time.time(), 3),
                   make_url(database_url).render_as_string(hide_password=True))

    def presence(self) -> dict[str, Any]:
        return {"instance": self.id, "host": self.host, "pid": self.pid, "started": self.started,
                "database": self.database}


def describe(presence: dict[str, Any]) -> str:
    """'on HOST (pid N, database D, since T)' from a service presence."""
    started = presence.get("started")
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return (f"on {presence.get('host', '?')} (pid {presence.get('pid', '?')}, database "
            f"{presence.get('database', '?')}, since {since})")


class DatabaseLock:
    """Held while the service runs; :meth:`acquire` raises :class:`AlreadyRunning` when another holds it."""

    def __init__(self, engine: Engine, instance: Instance):
        self.engine = engine
        self.instance = instance
        self._file = None
        self._conn = None

    def acquire(self) -> "DatabaseLock":
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            self._lock_file(f"{url.database}.lock")
        elif url.get_backend_name() == "postgresql":
            self._lock_postgres()
        return self

    def _lock_file(self, path: str) -> None:
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise AlreadyRunning(f"another antre serve already uses the database {path[:-5]}: {holder}; "
                                 "stop it first") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {self.instance.pid} on {self.instance.host}, since "
                f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(self.instance.started))}\n")
        f.flush()
        self._file = f

    def _lock_postgres(self) -> None:
        from sqlalchemy import text
        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext('antre serve'))")).scalar()
        conn.commit()
        if not got:
            conn.close()
            raise AlreadyRunning(f"another antre serve already uses the database {self.instance.database}; "
                                 "stop it first")
        self._conn = conn   # the lock lives as long as this session

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def check_broker(settings: MqttConfig, topics: Topics, client_id: str, *, connect_timeout: float = 10.0,
                 probe_seconds: float = PROBE_SECONDS) -> None:
    """Raises :class:`AlreadyRunning` when a live service already runs this office on the broker.

    When the broker cannot be reached the check is skipped with a warning: the service starts and
    connects later (and still yields to an older instance it meets then).
    """
    from antre.link.mqtt import MqttLink

    topic = topics.status("service", client_id)
    probe = MqttLink(settings, topics, client_id, "service", probe=True)
    seen: list[dict[str, Any]] = []
    changed = threading.Condition()

    def got(t: str, payload: bytes) -> None:
        parsed = read_presence(topics, t, payload)
        with changed:
            seen.append((parsed[2] if parsed else None) or {})
            changed.notify_all()

    probe.subscribe(topic, got)
    dropped = threading.Event()
    probe.on_disconnect(dropped.set)
    probe.start()
    try:
        if not probe.connected.wait(connect_timeout):
            log.warning("could not reach the broker to check for another service of office %s; starting anyway",
                        topics.office_id)
            return
        # The retained presence arrives after the subscription's acknowledgement, and before the
        # acknowledgement of anything this client sends later: publish once, then read what is there.
        info = probe.publish(topics.reply(client_id), b"", qos=1)
        try:
            info.wait_for_publish(connect_timeout)
        except (RuntimeError, ValueError):
            pass
        with changed:
            last = dict(seen[-1]) if seen else {}
            count = len(seen)
        if not seen or last.get("stopped") is True:
            return   # nobody ran here, or the last one stopped cleanly
        if dropped.is_set() or not info.is_published():
            raise AlreadyRunning(f"another antre serve for office {topics.office_id} is running {describe(last)}")
        # The last one did not say goodbye: it runs (connecting took its session over, so the broker
        # published its last will), or it died. Alive, it comes back within a few seconds: it takes the
        # session back (this probe is dropped) or says online again.
        deadline = time.monotonic() + probe_seconds
        with changed:
            while time.monotonic() < deadline and not dropped.is_set():
                if any(p.get("online") is True for p in seen[count:]):
                    break
                changed.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            alive = dropped.is_set() or any(p.get("online") is True for p in seen[count:])
        if alive:
            raise AlreadyRunning(f"another antre serve for office {topics.office_id} is running {describe(last)}; "
                                 "stop it first (or remove this one)")
        log.warning("the service that ran office %s %s did not answer within %.0f s: it is gone; taking over",
                    topics.office_id, describe(last), probe_seconds)
    finally:
        probe.stop()
