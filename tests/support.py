"""Real parts for tests: a mosquitto broker, the `antre serve` process, and an MQTT test client.

Nothing here is a mock. Waiting is always on a condition with a deadline (:func:`wait_for`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from antre.config import MqttConfig
from antre.mqtt import MqttLink, Reply, Requester
from antre.protocol import Topics

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = float(os.environ.get("ANTRE_TEST_DEADLINE", "20"))


def wait_for(predicate: Callable[[], Any], timeout: float = DEADLINE, what: str = "condition") -> Any:
    """Polls ``predicate`` until it returns something truthy; fails the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """A private mosquitto on a free loopback port, with its own config. Can be stopped and restarted."""

    def __init__(self, workdir: Path, port: int | None = None, extra: str = ""):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.conf = self.workdir / "mosquitto.conf"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "Mosquitto":
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "set_tcp_nodelay true\n"
            "persistence false\n"
            f"{self.extra}\n")
        self.log = open(self.workdir / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, what="mosquitto to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {(self.workdir / 'mosquitto.log').read_text()}")
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        wait_for(lambda: not port_open(self.port), what="mosquitto to stop listening")


def write_config(path: Path, *, mqtt_url: str, db_path: Path, office_id: str | None = None,
                 extra: str = "", enforce_hours: bool = False, services: str | None = None,
                 counters: str | None = None) -> Path:
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
"""
    if services is not None:
        text += services
    if counters is not None:
        text += counters
    path.write_text(text + extra)
    return path


class ServiceProcess:
    """``antre serve`` in a subprocess, exactly as systemd runs it."""

    def __init__(self, config_path: Path, log_path: Path):
        self.config_path = config_path
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ServiceProcess":
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "antre", "serve", "--config", str(self.config_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> int | None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode if self.proc else None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class TestClient:
    """An MQTT client that speaks protocol v1 as a device would, and records what it sees."""

    __test__ = False  # not a pytest class

    def __init__(self, mqtt_url: str, office_id: str, client_id: str | None = None, component: str = "admin"):
        self.topics = Topics(office_id)
        self.client_id = client_id or f"test-{uuid.uuid4().hex[:8]}"
        self.link = MqttLink(MqttConfig(url=mqtt_url), self.topics, self.client_id, component)
        self.requester = Requester(self.link)
        self.events: list[tuple[str, dict]] = []
        self.states: list[dict] = []
        self.raw: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.link.subscribe(self.topics.events, self._event)
        self.link.subscribe(self.topics.state, self._state)
        self.service_status: dict = {}
        self.link.subscribe(self.topics.status("antre-service"), self._service_status)

    def _service_status(self, topic: str, payload: bytes) -> None:
        self.service_status = json.loads(payload)

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


class Xvfb:
    """A private X display (one per test process) for real Kivy windows."""

    def __init__(self, width: int = 1920, height: int = 1080):
        self.width, self.height = width, height
        self.proc: subprocess.Popen | None = None
        self.display = ""

    def start(self) -> "Xvfb":
        binary = shutil.which("Xvfb")
        if binary is None:
            raise RuntimeError("Xvfb is not installed (apt-get install xvfb)")
        # -displayfd lets the server pick a free display number and tell us which.
        r, w = os.pipe()
        self.proc = subprocess.Popen(
            [binary, "-displayfd", str(w), "-screen", "0", f"{self.width}x{self.height}x24", "-nolisten", "tcp",
             "+extension", "GLX", "+render", "-noreset"],
            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        with os.fdopen(r) as fh:
            number = fh.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        return self

    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display}

    def screenshot(self, path: Path) -> Path:
        """The whole screen as a PNG (ImageMagick's `import`)."""
        subprocess.run(["import", "-display", self.display, "-window", "root", str(path)], check=True,
                       timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return path

    def click(self, x: int, y: int) -> None:
        """A real pointer click at screen pixel (x, y), top-left origin."""
        subprocess.run(["xdotool", "mousemove", "--sync", str(x), str(y), "click", "1"],
                       env=os.environ | self.env(), check=True, timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


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
        subprocess.run(self._as_postgres(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                                         "-U", "antre", "antre"), check=True, capture_output=True, timeout=60)
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://antre@127.0.0.1:{self.port}/antre"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        shutil.rmtree(self.workdir, ignore_errors=True)
