"""Section 4, device apps: resident memory and start-up of ``antre counter``, ``kiosk`` and ``display``.

Each app runs as a real subprocess against a running service (kiosk and display
on a private Xvfb screen). Start-up is measured until the app's retained
presence ``{base}/status/{client_id}`` says online -- the point where it has
connected and can show the retained state; memory is read from
/proc/PID/status (VmRSS) a few seconds later, once the first frames are drawn.
An app whose CLI does not exist yet is reported as pending.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from antre.config import MqttConfig
from antre.link.mqtt import MqttLink
from antre.link.protocol import Topics

from .harness import ROOT_DIR, Mosquitto, rss_mb, start_service, write_config

APPS = {  # name -> (extra argv, goal MB, needs X)
    "counter": (["--keyboard", "loket-1"], 40, False),
    "kiosk": (["--windowed"], 150, True),
    "display": (["--windowed", "--no-voice"], 150, True),
}
SETTLE_S = 3.0


def cli_exists(name: str) -> bool:
    r = subprocess.run([sys.executable, "-m", "antre", name, "--help"], capture_output=True, text=True,
                       cwd=ROOT_DIR, timeout=60)
    return r.returncode == 0


class PresenceWatch:
    """Records when a client of a given component first reports itself online."""

    def __init__(self, url: str, office_id: str, component: str):
        topics = Topics(office_id)
        self.component = component
        self.online_at: float | None = None
        self.event = threading.Event()
        self.link = MqttLink(MqttConfig(url=url), topics, f"bench-presence-{component}", "admin")
        self.link.subscribe(topics.statuses, self._status)

    def _status(self, topic: str, payload: bytes) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        if data.get("component") == self.component and data.get("online") and self.online_at is None:
            self.online_at = time.perf_counter()
            self.event.set()


def measure(broker: Mosquitto, workdir: Path, log) -> dict:
    out: dict = {}
    folder = workdir / "apps"
    folder.mkdir()
    xvfb = None
    svc = watcher = None
    app_config = None
    try:
        for name, (extra, goal, needs_x) in APPS.items():
            if not cli_exists(name):
                log(f"antre {name}: no CLI yet; reported as pending")
                out[name] = {"pending": f"'antre {name}' does not exist yet", "goal": f"<= {goal} MB"}
                continue
            if svc is None:
                db_url = f"sqlite:///{folder / 'antre.db'}"
                svc, watcher = start_service(folder, broker, db_url)
                app_config, _ = write_config(folder / "apps.toml", mqtt_url=broker.url, db_url=db_url,
                                             office_id=svc.office_id, service_client_id=False)
            env = os.environ.copy()
            if needs_x:
                if xvfb is None:
                    from tests.support import Xvfb
                    xvfb = Xvfb().start()
                env |= xvfb.env() | {"KIVY_NO_ARGS": "1", "KIVY_LOG_MODE": "PYTHON"}
            presence = PresenceWatch(broker.url, svc.office_id, name)
            presence.link.start()
            presence.link.connected.wait(10)
            log(f"antre {name}: starting")
            t0 = time.perf_counter()
            logf = open(folder / f"{name}.log", "wb")
            proc = subprocess.Popen([sys.executable, "-m", "antre", name, "--config", str(app_config), *extra],
                                    cwd=ROOT_DIR, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.PIPE)
            try:
                if not presence.event.wait(60) or proc.poll() is not None:
                    out[name] = {"pending": f"'antre {name}' did not come online "
                                            f"(exit {proc.poll()}); see its log", "goal": f"<= {goal} MB"}
                    log(f"antre {name}: did not come online:\n"
                        f"{(folder / f'{name}.log').read_text(errors='replace')[-1500:]}")
                    continue
                startup = presence.online_at - t0
                end = time.monotonic() + SETTLE_S
                while time.monotonic() < end and proc.poll() is None:
                    time.sleep(0.1)
                rss = rss_mb(proc.pid)
                out[name] = {"rss_mb": rss, "goal": f"<= {goal} MB", "ok": rss <= goal,
                             "when": f"running, {SETTLE_S:.0f} s after online", "startup_s": startup,
                             "startup_what": "to presence online"}
            finally:
                presence.link.stop()
                if proc.poll() is None:
                    proc.terminate()
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                logf.close()
    finally:
        if svc is not None:
            svc.proc.stop()
            watcher.stop()
        if xvfb is not None:
            xvfb.stop()
    return out
