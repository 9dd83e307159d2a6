"""Running parts of the system on one machine: a private broker, a virtual screen, waiting on conditions.

Used by ``antre demo``, the benchmarks and the tests, so all three start things the same way. Nothing here
runs on an office Pi in production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def find_program(name: str) -> str | None:
    """The path of program ``name``: on PATH, or else in the sbin folders, where Debian puts daemons such
    as mosquitto and a normal user's PATH does not look."""
    return shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition",
             interval: float = 0.01) -> Any:
    """Polls ``predicate`` until it returns something truthy; raises TimeoutError after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def stop_process(proc: subprocess.Popen | None, timeout: float = 15.0) -> int | None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; returns the exit code (None if never started)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class LocalBroker:
    """A private mosquitto on a loopback port, anonymous, with Nagle off. Can be stopped and restarted.

    :param workdir: folder for its config and log.
    :param port: TCP port (default: a free one).
    :param extra: more mosquitto.conf lines.
    """

    def __init__(self, workdir: Path, port: int | None = None, extra: str = ""):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.conf = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> "LocalBroker":
        binary = find_program("mosquitto")
        if binary is None:
            raise RuntimeError("mosquitto is not installed (apt-get install mosquitto)")
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "set_tcp_nodelay true\n"
            "persistence false\n"
            f"{self.extra}\n")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, what="mosquitto to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {self.log_path.read_text(errors='replace')}")
        return self

    def stop(self) -> None:
        stop_process(self.proc, 10)
        self.proc = None
        wait_for(lambda: not port_open(self.port), what="mosquitto to stop listening")


class VirtualScreen:
    """A private X display (Xvfb) for real windows on a machine without a screen."""

    def __init__(self, width: int = 1920, height: int = 1080):
        self.width, self.height = width, height
        self.proc: subprocess.Popen | None = None
        self.display = ""

    def start(self) -> "VirtualScreen":
        binary = shutil.which("Xvfb")
        if binary is None:
            raise RuntimeError("Xvfb is not installed (apt-get install xvfb)")
        # -displayfd: the server picks a free display number and writes it to us.
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
        """The whole screen as a PNG (ImageMagick's ``import``)."""
        subprocess.run(["import", "-display", self.display, "-window", "root", str(path)], check=True,
                       timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return Path(path)

    def click(self, x: int, y: int) -> None:
        """A real pointer click at screen pixel (x, y), top-left origin (xdotool)."""
        subprocess.run(["xdotool", "mousemove", "--sync", str(x), str(y), "click", "1"],
                       env=os.environ | self.env(), check=True, timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
