"""Real parts for tests: a mosquitto broker, the `antre serve` process, and an MQTT test client.

Nothing here is a mock. Waiting is always on a condition with a deadline (:func:`wait_for`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from antre.ops import devtools
from antre.config import MqttConfig
from antre.ops.devtools import free_port, port_open  # noqa: F401 (re-exported for tests)
from antre.link.mqtt import MqttLink, Reply, Requester
from antre.link.protocol import Topics, read_presence

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = float(os.environ.get("ANTRE_TEST_DEADLINE", "20"))


def wait_for(predicate: Callable[[], Any], timeout: float = DEADLINE, what: str = "condition") -> Any:
    """Polls ``predicate`` until it returns something truthy; fails the test after ``timeout`` seconds."""
    try:
        return devtools.wait_for(predicate, timeout, what)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


class Mosquitto(devtools.LocalBroker):
    """A private mosquitto on a free loopback port, with its own config. Can be stopped and restarted."""


def write_config(path: Path, *, mqtt_url: str, db_path: Path, office_id: str | None = None,
                 extra: str = "", enforce_hours: bool = False, services: str | None = None,
                 counters: str | None = None, queue: str = "") -> Path:
    """A test configuration file: the sample office, a private broker and database, hours not enforced."""
    office_id = office_id or "t" + uuid.uuid4().hex[:8]
    text = f"""
[office]
id = "{office_id}"
name = "Kantor Desa Uji Coba"

[mqtt]
url = "{mqtt_url}"

[database]
url = "sqlite:///{db_path}"

[queue]
enforce_hours = {str(enforce_hours).lower()}
{queue}
"""
    if services is not None:
        text += services
    if counters is not None:
        text += counters
    path.write_text(text + extra)
    return path


SERVICE_ID_PREFIX = "antre-service"


def service_client_id() -> str:
    """A queue service's own MQTT client id for one test (``antre-service-1a2b3c4d``).

    Every service on a broker without logins (the session's :class:`Mosquitto`) must have its own: with the
    default ``antre-service``, two services on one broker (two offices of one test, a module's website's
    service and a test's own, a leftover of an earlier test) take the id over from each other, again and
    again (mosquitto closes the older connection), and each test on them fails at random. On a broker with
    the shipped configuration the service logs in (``ANTRE_MQTT_FILE``) and the broker names it after its
    login: such tests start a broker of their own (tests/test_security.py, tests/test_district_bridge.py)."""
    return f"{SERVICE_ID_PREFIX}-{uuid.uuid4().hex[:8]}"


#: mosquitto's log line when a client connects with the id of one connected already (the older one is closed).
TAKEOVER = re.compile(rb"Client (\S+) already connected, closing old connection")


def service_takeovers(log_path: Path, start: int = 0) -> list[str]:
    """The queue-service client ids (``antre-service...``) a broker's log says were taken over, from byte
    ``start`` on."""
    if not log_path.exists():
        return []
    with open(log_path, "rb") as fh:
        fh.seek(start)
        return sorted({i.decode(errors="replace") for i in TAKEOVER.findall(fh.read())
                       if i.startswith(SERVICE_ID_PREFIX.encode())})


def service_config(path: Path, **mqtt: Any):
    """The configuration at ``path`` for an in-process ``QueueServer``, with a client id of its own
    (:func:`service_client_id`); ``mqtt``: more ``[mqtt]`` fields to replace."""
    import dataclasses

    from antre import config
    cfg = config.load(path)
    return dataclasses.replace(cfg, mqtt=dataclasses.replace(cfg.mqtt, **({"client_id": service_client_id()}
                                                                          | mqtt)))


class ServiceProcess:
    """``antre serve`` in a subprocess, exactly as systemd runs it.

    Without a broker login in its environment (``ANTRE_MQTT_FILE``) it connects with a client id of its own
    (:func:`service_client_id`, kept across restarts, as a real service keeps ``antre-service``), handed over
    the way systemd hands a login over: an ``[mqtt]`` overlay file named by ``ANTRE_MQTT_FILE``."""

    def __init__(self, config_path: Path, log_path: Path, env: dict[str, str] | None = None):
        self.config_path = config_path
        self.log_path = log_path
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.client_id = service_client_id()

    def start(self, env: dict[str, str] | None = None) -> "ServiceProcess":
        """``env``: extra environment, e.g. ``ANTRE_MQTT_FILE`` naming the service's broker login (added to
        the ``env`` given at construction, e.g. libfaketime's)."""
        env = self.env | (env or {})
        if "ANTRE_MQTT_FILE" not in env:
            overlay = self.log_path.with_name(self.log_path.name + ".mqtt.toml")
            overlay.write_text(f'[mqtt]\nclient_id = "{self.client_id}"\n')
            env["ANTRE_MQTT_FILE"] = str(overlay)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "antre", "serve", "--config", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
                                     env=os.environ | env)
        return self

    def freeze(self) -> None:
        """Hangs the service (SIGSTOP) and waits until every thread of it has stopped.

        ``kill()`` only queues the signal: the process stops when one of its threads next runs, and
        under load the others may go on for a while -- read a command, apply it, answer it. A test of a
        hung service that pressed at once would sometimes meet a service that was not hung yet."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        wait_for(self._stopped, what="the service's threads to stop (SIGSTOP)")

    def thaw(self) -> None:
        """Lets a :meth:`freeze` service go on (SIGCONT)."""
        os.kill(self.proc.pid, signal.SIGCONT)

    def _stopped(self) -> bool:
        states = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue   # a thread that has just ended
            states.append(stat.rsplit(")", 1)[1].split()[0])
        return bool(states) and all(state in "TtZX" for state in states)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> int | None:
        return devtools.stop_process(self.proc)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class TestClient:
    """An MQTT client that speaks the protocol as a device would, and records what it sees.

    ``component`` is the role it speaks as (``admin`` may send every command); a ``counter`` names
    the ``counters`` it drives in its presence, as the counter app does. ``username``/``password``
    log in to a broker with the shipped configuration.
    """

    __test__ = False  # not a pytest class

    def __init__(self, mqtt_url: str, office_id: str, client_id: str | None = None, component: str = "admin",
                 *, counters: list[str] | None = None, username: str = "", password: str = ""):
        self.topics = Topics(office_id)
        self.client_id = client_id or username or f"test-{uuid.uuid4().hex[:8]}"
        self.component = component
        self.link = MqttLink(MqttConfig(url=mqtt_url, username=username, password=password), self.topics,
                             self.client_id, component)
        if counters is not None:
            self.link.set_status(counters=counters)
        self.requester = Requester(self.link)
        self.replies: list[dict] = []   # every reply on its own reply topic, also to raw commands
        self.link.subscribe(self.requester.reply_topic, self._reply)
        self.events: list[tuple[str, dict]] = []
        self.states: list[dict] = []
        self.raw: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.link.subscribe(self.topics.events, self._event)
        self.link.subscribe(self.topics.state, self._state)
        self.service_status: dict = {}
        self.link.subscribe(self.topics.service_statuses, self._service_status)

    def _service_status(self, topic: str, payload: bytes) -> None:
        presence = read_presence(self.topics, topic, payload)
        if presence is not None:
            self.service_status = presence[2] or {}

    def wait_service(self, online: bool = True) -> None:
        """Waits until the service's retained presence says online (or offline)."""
        wait_for(lambda: self.service_status.get("online") is online,
                 what=f"service {'online' if online else 'offline'}")

    def start(self) -> "TestClient":
        self.link.start()
        wait_for(self.link.connected.is_set, what=f"{self.client_id} to connect")
        return self

    def stop(self) -> None:
        self.link.stop()

    def _reply(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.replies.append(json.loads(payload))

    def command_topic(self, command: str) -> str:
        """Where this client publishes ``command`` (its own role and client id)."""
        return self.topics.command(command, self.component, self.client_id)

    def raw_reply(self, request_id: str | None, timeout: float = DEADLINE) -> dict:
        """Waits for the reply carrying ``request_id`` (None: an error reply without one)."""
        def found():
            with self._lock:
                return next((r for r in self.replies if r.get("request_id") == request_id), None)
        return wait_for(found, timeout, what=f"the reply to {request_id}")

    def _event(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.events.append((topic.rsplit("/", 1)[1], json.loads(payload)))

    def _state(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.states.append(json.loads(payload))

    def request(self, command: str, timeout: float = DEADLINE, request_id: str | None = None, **args) -> Reply:
        return self.requester.request(command, args, timeout=timeout, request_id=request_id)

    def ok(self, command: str, **args) -> dict:
        reply = self.request(command, **args)
        assert reply.ok, f"{command} {args} failed: {reply.code}: {reply.message}"
        return reply.result

    def error(self, command: str, **args) -> str:
        reply = self.request(command, **args)
        assert not reply.ok, f"{command} {args} unexpectedly succeeded: {reply.result}"
        return reply.code

    def publish_raw(self, topic: str, payload: bytes | str) -> None:
        self.link.publish(topic, payload.encode() if isinstance(payload, str) else payload).wait_for_publish(5)

    def events_of(self, kind: str) -> list[dict]:
        with self._lock:
            return [e for k, e in self.events if k == kind]

    def state(self) -> dict | None:
        with self._lock:
            return self.states[-1] if self.states else None

    def wait_state(self, predicate: Callable[[dict], bool], what: str = "state") -> dict:
        return wait_for(lambda: (s := self.state()) is not None and predicate(s) and s, what=what)

    def service_state(self, code: str) -> dict:
        return next(s for s in self.state()["services"] if s["code"] == code)


class ShippedBroker:
    """mosquitto running the shipped ``broker_config/antre.conf`` unchanged except for three lines
    (password file, ACL file, listener port), on a free loopback port in ``workdir``."""

    CONF = ROOT / "broker_config" / "antre.conf"

    def __init__(self, workdir: Path, passwd: Path, acl: Path):
        import pwd
        self.workdir = workdir
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        confd = workdir / "conf.d"
        confd.mkdir(exist_ok=True)
        (workdir / "data").mkdir(exist_ok=True)
        text = self.CONF.read_text()
        replacements = {
            "password_file /etc/mosquitto/antre.passwd\n": f"password_file {passwd}\n",
            "acl_file /etc/mosquitto/antre.acl\n": f"acl_file {acl}\n",
            "listener 1883\n": f"listener {self.port} 127.0.0.1\n",
        }
        for old, new in replacements.items():
            assert text.count(old) == 1, f"shipped antre.conf should contain {old.strip()!r} exactly once"
            text = text.replace(old, new)
        (confd / "antre.conf").write_text(text)
        # The parts Debian's /etc/mosquitto/mosquitto.conf provides.
        (workdir / "mosquitto.conf").write_text(
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
            f"persistence_location {workdir / 'data'}/\n"
            f"log_dest stderr\n"
            f"include_dir {confd}\n")
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "mosquitto.log"

    def start(self) -> "ShippedBroker":
        self.proc = subprocess.Popen([devtools.find_program("mosquitto"), "-c", str(self.workdir / "mosquitto.conf")],
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"mosquitto exited ({self.proc.returncode}):\n{self.log.read_text()}")
            return port_open(self.port)
        wait_for(listening, what="mosquitto to listen")
        # Only the one listener: a listener setting placed before it would open a default one on 1883.
        opened = [line for line in self.log.read_text().splitlines() if "listen socket on port" in line]
        assert all(f"port {self.port}." in line for line in opened), opened
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=DEADLINE)


class Xvfb(devtools.VirtualScreen):
    """A private X display (one per test process) for real Kivy windows."""


class Postgres:
    """A throwaway PostgreSQL cluster on a free port (Debian's postgresql package), run as user postgres."""

    def __init__(self):
        # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
        import tempfile
        self.workdir = Path(tempfile.mkdtemp(prefix="antre-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def bindir() -> Path | None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return found[-1].parent if found else None

    def _as_postgres(self, *cmd: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)

    def start(self) -> "Postgres":
        bindir = self.bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL server is not installed (apt-get install postgresql)")
        data = self.workdir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
            self.workdir.chmod(0o755)
        subprocess.run(self._as_postgres(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "antre",
                                         "--no-sync"), check=True, capture_output=True, timeout=120)
        self.proc = subprocess.Popen(
            self._as_postgres(str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.workdir),
                              "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), timeout=60, what="postgres to listen")
        # The port opens before the server accepts logins ("the database system is starting up"): try again.
        wait_for(lambda: subprocess.run(self._as_postgres(str(bindir / "createdb"), "-h", "127.0.0.1", "-p",
                                                          str(self.port), "-U", "antre", "antre"),
                                        capture_output=True, timeout=60).returncode == 0,
                 timeout=60, what="createdb")
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://antre@127.0.0.1:{self.port}/antre"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        shutil.rmtree(self.workdir, ignore_errors=True)


class TcpPrinter:
    """A network printer stand-in: a raw port (like 9100) on 127.0.0.1 that records what it is sent.

    Every paper-status query (DLE EOT 4) is answered with ``paper`` (0x12: paper present,
    as an Epson-compatible printer says); ``paper=None`` stays silent. ``url`` is the
    ``kiosk.printer`` value that points at it; ``port`` switches a closed one on again at the same place.
    """

    PAPER_QUERY = b"\x10\x04\x04"

    def __init__(self, paper: int | None = 0x12, port: int = 0):
        self.paper = paper
        self.connections: list[bytes] = []
        self._cond = threading.Condition()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # switched on again on its port
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.url = f"tcp://127.0.0.1:{self.port}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                start = max(0, len(buf) - len(self.PAPER_QUERY) + 1)
                buf += chunk
                if self.paper is not None:
                    for _ in range(buf.count(self.PAPER_QUERY, start)):
                        conn.sendall(bytes([self.paper]))
        with self._cond:
            self.connections.append(buf)
            self._cond.notify_all()

    def received(self) -> bytes:
        """Everything received on closed connections so far, in order."""
        with self._cond:
            return b"".join(self.connections)

    def wait_for(self, data: bytes, timeout: float = DEADLINE) -> bytes:
        """Waits until ``data`` was received (on a closed connection); returns all bytes received."""
        with self._cond:
            if not self._cond.wait_for(lambda: data in b"".join(self.connections), timeout):
                raise AssertionError(f"printer stand-in did not receive {data!r} within {timeout}s")
            return b"".join(self.connections)

    def close(self) -> None:
        """Switched off: stops listening at once (shutdown wakes the thread blocked in accept)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


#: Three services without a daily quota (tests and benchmarks issue many tickets).
NO_QUOTA_SERVICES = "".join(f"""
[[services]]
code = "{code}"
name = "{name}"
prefix = "{prefix}"
""" for code, name, prefix in (("adminduk", "Administrasi Kependudukan", "A"), ("surat", "Surat Keterangan", "B"),
                               ("umum", "Layanan Umum", "C")))
ALL_SERVICES = ("adminduk", "surat", "umum")


def counters_toml(counters: dict[str, tuple[str, ...] | list[str]]) -> str:
    """``[[counters]]`` tables: counter id ("loket-2") -> the services it serves; named "Loket 2"."""
    return "".join(f"""
[[counters]]
id = "{cid}"
name = "Loket {cid.rsplit('-', 1)[-1]}"
services = {json.dumps(list(services))}
""" for cid, services in counters.items())
