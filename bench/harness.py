"""Real parts for the benchmarks: broker, `antre serve` subprocesses, clients, timers.

The broker and service process classes are the test suite's own
(``tests/support.py``: plain Python, no pytest), so the benchmark runs exactly
what the tests run. Everything else here is measurement plumbing.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from antre.config import MqttConfig
from antre.link.mqtt import MqttLink, Requester
from antre.link.protocol import Topics
from tests.support import ROOT as ROOT_DIR, Mosquitto, ServiceProcess, free_port, wait_for  # noqa: F401
from tests.support import ALL_SERVICES, NO_QUOTA_SERVICES, counters_toml

COUNTERS = tuple(f"loket-{i}" for i in range(1, 5))
SERVICES = NO_QUOTA_SERVICES + counters_toml({c: ALL_SERVICES for c in COUNTERS})


def write_config(path: Path, *, mqtt_url: str, db_url: str, office_id: str | None = None,
                 service_client_id: bool = True) -> tuple[Path, str]:
    """A benchmark office: three services without quota, four counters serving all, 6-digit numbers.

    Each service gets its own MQTT client id: two services with the default id on one broker
    would take the connection from each other every couple of seconds.
    """
    office_id = office_id or "b" + uuid.uuid4().hex[:8]
    # [mqtt] client_id is every component's identity, so device apps get a config without it.
    client_id = f'client_id = "antre-service-{office_id}"' if service_client_id else ""
    path.write_text(f"""
[office]
id = "{office_id}"
name = "Kantor Desa Benchmark"

[mqtt]
url = "{mqtt_url}"
{client_id}

[database]
url = "{db_url}"

[queue]
enforce_hours = false
number_width = 6
{SERVICES}""")
    return path, office_id


def rss_mb(pid: int) -> float:
    """Resident set size (VmRSS) of a process, in MB (MiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-int(p * len(ordered)) // 100))
    return ordered[min(rank, len(ordered)) - 1]


class Watcher:
    """A display-side subscriber: records retained states and events as they arrive."""

    def __init__(self, mqtt_url: str, office_id: str, name: str = "display"):
        self.topics = Topics(office_id)
        self.link = MqttLink(MqttConfig(url=mqtt_url), self.topics, f"bench-{name}-{uuid.uuid4().hex[:6]}", "admin")
        self.cond = threading.Condition()
        self.state: dict | None = None
        self.state_at = 0.0
        self.called: dict[str, float] = {}  # number -> arrival (perf_counter)
        self.link.subscribe(self.topics.state, self._state)
        self.link.subscribe(self.topics.event("ticket_called"), self._called)

    def start(self) -> "Watcher":
        self.link.start()
        wait_for(self.link.connected.is_set, what="watcher to connect")
        return self

    def stop(self) -> None:
        self.link.stop()

    def _state(self, topic: str, payload: bytes) -> None:
        now = time.perf_counter()
        if not payload:
            return
        data = json.loads(payload)
        with self.cond:
            self.state, self.state_at = data, now
            self.cond.notify_all()

    def _called(self, topic: str, payload: bytes) -> None:
        now = time.perf_counter()
        data = json.loads(payload)
        with self.cond:
            self.called[data["number"]] = now
            self.cond.notify_all()

    def wait(self, predicate, timeout: float = 20.0):
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise TimeoutError("watcher: condition not met in time")


class Client:
    """A device-like client (kiosk or counter): MqttLink + Requester, blocking requests."""

    def __init__(self, mqtt_url: str, office_id: str, component: str):
        self.topics = Topics(office_id)
        self.link = MqttLink(MqttConfig(url=mqtt_url), self.topics, f"bench-{component}-{uuid.uuid4().hex[:6]}",
                             component)
        if component == "counter":
            # A counter device operates the counters its presence names (docs/security.md).
            self.link.set_status(counters=list(COUNTERS))
        self.requester = Requester(self.link)

    def start(self) -> "Client":
        self.link.start()
        wait_for(self.link.connected.is_set, what="client to connect")
        return self

    def stop(self) -> None:
        self.link.stop()

    def ok(self, command: str, **args) -> dict:
        reply = self.requester.request(command, args, timeout=30)
        if not reply.ok:
            raise RuntimeError(f"{command} {args} failed: {reply.code} {reply.message}")
        return reply.result


# ---------------------------------------------------------------------- baselines

class RawHop:
    """A bare paho client with Nagle off and QoS 1, for the two-hop baseline."""

    def __init__(self, port: int, name: str):
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{name}-{uuid.uuid4().hex[:6]}")
        self.c.on_socket_open = lambda client, userdata, sock: sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connected = threading.Event()
        self.c.on_connect = lambda *a: self.connected.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        wait_for(self.connected.is_set, what="raw client to connect")

    def subscribe(self, topic: str, fn) -> None:
        done = threading.Event()
        self.c.on_subscribe = lambda *a: done.set()
        self.c.on_message = lambda client, userdata, msg: fn(msg)
        self.c.subscribe(topic, qos=1)
        wait_for(done.is_set, what="suback")

    def stop(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def durable_sqlite(path: Path) -> sqlite3.Connection:
    """A connection with the service's durability settings (WAL, synchronous=FULL)."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT, at REAL)")
    return db


def two_hops_plus_commit(port: int, workdir: Path, n: int) -> list[float]:
    """Latencies (s) of: publish -> relay (one durable SQLite commit, republish) -> subscriber."""
    db = durable_sqlite(workdir / "baseline-hop.db")
    sender, relay, sink = RawHop(port, "send"), RawHop(port, "relay"), RawHop(port, "sink")
    t1, t2 = f"bench/{uuid.uuid4().hex}/hop1", f"bench/{uuid.uuid4().hex}/hop2"
    arrived = threading.Event()

    def relay_msg(msg):
        db.execute("BEGIN")
        db.execute("INSERT INTO t (v, at) VALUES (?, ?)", (msg.payload.decode(), time.time()))
        db.execute("COMMIT")
        relay.c.publish(t2, msg.payload, qos=1)

    relay.subscribe(t1, relay_msg)
    sink.subscribe(t2, lambda msg: arrived.set())
    out = []
    try:
        for i in range(n + 20):
            arrived.clear()
            t0 = time.perf_counter()
            sender.c.publish(t1, json.dumps({"i": i}).encode(), qos=1)
            if not arrived.wait(10):
                raise TimeoutError("baseline message lost")
            if i >= 20:  # warm-up
                out.append(time.perf_counter() - t0)
    finally:
        for c in (sender, relay, sink):
            c.stop()
        db.close()
    return out


def sqlite_commits_per_second(workdir: Path, n: int) -> float:
    """Durable single-row commits per second on the disk of ``workdir``."""
    path = workdir / "baseline-commit.db"
    db = durable_sqlite(path)
    for _ in range(20):
        db.execute("INSERT INTO t (v, at) VALUES ('warm', 0)")
    t0 = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN")
        db.execute("INSERT INTO t (v, at) VALUES (?, ?)", (f"row {i}", time.time()))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return n / elapsed


@dataclass
class Service:
    """An ``antre serve`` subprocess for one benchmark office, plus its watcher."""

    proc: ServiceProcess
    office_id: str
    config_path: Path
    started_in: float  # seconds from spawn to first retained state seen

    @property
    def pid(self) -> int:
        assert self.proc.proc is not None
        return self.proc.proc.pid


def start_service(workdir: Path, broker: Mosquitto, db_url: str, name: str = "service",
                  office_id: str | None = None) -> tuple[Service, Watcher]:
    cfg, office_id = write_config(workdir / f"{name}.toml", mqtt_url=broker.url, db_url=db_url,
                                  office_id=office_id)
    clear = RawHop(broker.port, "clear")  # a restart must not be timed by the previous run's retained state
    clear.c.publish(Topics(office_id).state, b"", qos=1, retain=True).wait_for_publish(10)
    clear.stop()
    watcher = Watcher(broker.url, office_id, name).start()
    t0 = time.perf_counter()
    proc = ServiceProcess(cfg, workdir / f"{name}.log").start()
    try:
        watcher.wait(lambda: watcher.state is not None, timeout=60)
    except TimeoutError:
        proc.stop()
        raise RuntimeError(f"{name} did not publish its state:\n{proc.output()[-3000:]}") from None
    return Service(proc, office_id, cfg, watcher.state_at - t0), watcher


def env_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu}
