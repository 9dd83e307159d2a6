"""``antre demo``: the whole system on one machine.

Interactive (default, needs a desktop): a private broker, the queue service with a fresh database, the
kiosk and the TV board in windows, and a counter (loket-1) driven from this terminal's keyboard.

``--headless``: the same under Xvfb, playing a short scripted morning -- tickets taken by touching the
kiosk, numbers called at several counters, a rating given on the kiosk -- and writing screenshots of kiosk
and display, a ticket preview and an announcement WAV into a folder, printing their paths.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from antre import config as config_mod
from antre.ops.devtools import LocalBroker, VirtualScreen, wait_for
from antre.errors import AntreError

log = logging.getLogger("antre.demo")

KIOSK_SIZE = (1280, 800)
DISPLAY_SIZE = (1920, 1080)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true",
                        help="run under Xvfb, play a scripted morning, save screenshots, a ticket preview and "
                             "an announcement into --out")
    parser.add_argument("--out", type=Path, help="folder for the database, logs and pictures "
                                                 "(default: ./demo-out with --headless, else a temporary folder)")


def demo_config(out: Path, broker_url: str) -> Path:
    """The sample office, on a private broker and a fresh database, with the office always open."""
    path = out / "antre.toml"
    path.write_text(f"""# Written by 'antre demo'. The sample office (Kantor Desa Sukamaju) on a private broker.
[mqtt]
url = "{broker_url}"

[database]
url = "sqlite:///{out / 'antre.db'}"

[queue]
enforce_hours = false

[kiosk]
printer = "file://{out / 'printer-output.bin'}"
fullscreen = false

[display]
fullscreen = false
voice = "espeak"
""")
    return path


class Demo:
    def __init__(self, out: Path, headless: bool):
        self.out = out
        self.headless = headless
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.stack = ExitStack()

    def spawn(self, name: str, *args: str, env: dict[str, str] | None = None, stdin=None,
              console: bool = False) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "antre", *args, "--config", str(self.config)]
        output = None if console else open(self.out / f"{name}.log", "ab")
        proc = subprocess.Popen(cmd, env=os.environ | (env or {}), stdin=stdin, stdout=output,
                                stderr=subprocess.STDOUT if output else None)
        self.procs.append((name, proc))
        return proc

    def start_core(self) -> None:
        broker = LocalBroker(self.out / "broker").start()
        self.stack.callback(broker.stop)
        self.config = demo_config(self.out, broker.url)
        self.cfg = config_mod.load(self.config)
        self.spawn("service", "serve")
        log.info("broker %s, service, database %s", broker.url, self.out / "antre.db")

    def stop(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for name, proc in reversed(self.procs):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stack.close()

    # ------------------------------------------------------------------ interactive

    def interactive(self) -> int:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            command = os.environ.get("ANTRE_DEMO_COMMAND") or "antre demo"
            raise AntreError(f"no desktop to open windows on (DISPLAY is not set); try '{command} --headless'")
        self.start_core()
        w, h = KIOSK_SIZE
        self.spawn("kiosk", "kiosk", "--windowed", "--size", f"{w}x{h}")
        self.spawn("display", "display", "--windowed", "--size", "1280x720")
        print(f"""
Antre demo: the kiosk and the TV board are open in windows. This terminal is counter 'Loket 1'.
Keys: + call next   * recall   - skip (no-show)   Enter done   / pause   . transfer
Touch (click) a service on the kiosk to take a ticket, then press + here. Ctrl+C stops everything.
Files: {self.out}
""", flush=True)
        counter = self.spawn("counter", "counter", "--keyboard", "loket-1", console=True)
        try:
            counter.wait()
        except KeyboardInterrupt:
            pass
        return 0

    # ------------------------------------------------------------------ headless

    def headless_run(self) -> int:
        from antre.link.mqtt import MqttLink, Requester, client_id_for  # noqa: F401
        from antre.link.protocol import Topics, read_object

        self.start_core()
        kiosk_screen = VirtualScreen(*KIOSK_SIZE).start()
        self.stack.callback(kiosk_screen.stop)
        tv_screen = VirtualScreen(*DISPLAY_SIZE).start()
        self.stack.callback(tv_screen.stop)
        dump = self.out / "kiosk-ui.json"
        board_dump = self.out / "display-ui.json"
        self.spawn("kiosk", "kiosk", "--windowed", "--size", "{}x{}".format(*KIOSK_SIZE),
                   env=kiosk_screen.env() | {"ANTRE_UI_DUMP": str(dump)})
        # No speakers here: the board runs silent, and the announcement is written to a file below.
        self.spawn("display", "display", "--windowed", "--no-voice", "--size", "{}x{}".format(*DISPLAY_SIZE),
                   env=tv_screen.env() | {"ANTRE_UI_DUMP": str(board_dump)})
        counter = self.spawn("counter", "counter", "--keyboard", "loket-1", stdin=subprocess.PIPE)

        topics = Topics(self.cfg.office.id)
        link = MqttLink(self.cfg.mqtt, topics, "demo-staff", "admin")
        staff = Requester(link)
        state: dict = {}
        link.subscribe(topics.state, lambda _topic, payload: state.update(read_object(payload, "state") or {}))
        link.start()
        self.stack.callback(link.stop)
        wait_for(link.connected.is_set, what="the demo's staff client to connect")

        def ui() -> dict:
            try:
                return json.loads(dump.read_text())
            except (OSError, ValueError):
                return {}

        def widget(tag: str) -> dict | None:
            state = ui()
            w = state.get("widgets", {}).get(tag)
            return w if w and not w["disabled"] and state.get("settled") else None

        def touch(tag: str) -> None:
            w = wait_for(lambda: widget(tag), timeout=60, what=f"kiosk button {tag}")
            kiosk_screen.click(w["x"] + w["w"] // 2, w["y"] + w["h"] // 2)

        def on_screen(name: str, timeout: float = 30) -> None:
            wait_for(lambda: ui().get("screen") == name and ui().get("settled"), timeout=timeout,
                     what=f"kiosk screen '{name}'")

        def press(key: str) -> None:
            counter.stdin.write(f"{key}\n".encode())
            counter.stdin.flush()

        def staff_do(command: str, **args) -> dict:
            reply = staff.request(command, args, timeout=10)
            if not reply.ok:
                raise AntreError(f"demo: {command} {args} failed: {reply.code} {reply.message}")
            return reply.result

        shots: dict[str, Path] = {}
        # Morning: the kiosk comes up and residents take tickets by touching it.
        wait_for(lambda: widget("service:adminduk"), timeout=90, what="the kiosk to be ready")
        shots["kiosk-home"] = kiosk_screen.screenshot(self.out / "kiosk-home.png")
        touch("service:adminduk")
        on_screen("ticket")
        wait_for(lambda: "A-001" in json.dumps(ui()), what="the ticket number on screen")
        shots["kiosk-ticket"] = kiosk_screen.screenshot(self.out / "kiosk-ticket.png")
        touch("ticket:done")
        on_screen("home")
        for service in ("surat", "adminduk", "umum"):
            touch(f"service:{service}")
            on_screen("ticket")
            touch("ticket:done")
            on_screen("home")
        # More residents, some from other kiosks.
        for service, priority in (("surat", None), ("adminduk", "lansia"), ("surat", None), ("adminduk", None)):
            staff_do("issue_ticket", service=service, **({"priority": priority} if priority else {}))
        # Counters call, one after the other so every run makes the same calls: Loket 1 with its
        # keypad, the others with their buttons.
        def serving(counter: str) -> str | None:
            c = next((c for c in state.get("counters", []) if c["id"] == counter), None)
            return (c.get("serving") or {}).get("number") if c else None

        press("+")
        calls = {"loket-1": wait_for(lambda: serving("loket-1"), timeout=30, what="Loket 1 to call a number")}
        for desk in ("loket-2", "loket-3"):
            calls[desk] = staff_do("call_next", counter=desk)["number"]
        def board() -> dict:
            try:
                return json.loads(board_dump.read_text())
            except (OSError, ValueError):
                return {}

        wait_for(lambda: "C-001" in json.dumps(board()) or "B-001" in json.dumps(board()), timeout=30,
                 what="the board to show the calls")
        frames = board().get("frames", 0)
        wait_for(lambda: board().get("frames", 0) >= frames + 2, what="the board to draw what it shows")
        shots["display"] = tv_screen.screenshot(self.out / "display.png")
        # Loket 1 finishes; the resident rates the service on the kiosk.
        press("enter")
        touch("rate")
        on_screen("rate_pick")
        number = wait_for(lambda: next((t.split(":", 1)[1] for t in ui().get("widgets", {})
                                        if t.startswith("rate:") and widget(t)), None),
                          timeout=30, what="a ticket to rate")
        touch(f"rate:{number}")
        wait_for(lambda: widget("face:4"), what="the face scale")
        shots["kiosk-rating"] = kiosk_screen.screenshot(self.out / "kiosk-rating.png")
        touch("face:4")
        touch("more:no")
        on_screen("message")   # "Terima kasih": the service has recorded the rating
        # A ticket preview and the announcement the TV plays for the first call.
        from antre_display.voice import write_announcement
        from antre_kiosk.ticket import preview_ticket

        shots["ticket-preview"] = preview_ticket(self.out / "ticket-preview.png", self.cfg)
        # The TV's announcement of Loket 1's call of this run.
        counter_cfg = self.cfg.counter_by_id("loket-1")
        shots["announcement"] = write_announcement(self.out / "announcement.wav", calls["loket-1"], counter_cfg.name,
                                                   counter_cfg.number, settings=self.cfg.display)
        printed = self.out / "printer-output.bin"
        print("Antre demo (headless) finished. Calls: " +
              ", ".join(f"{number} at {self.cfg.counter_by_id(c).name}" for c, number in calls.items()) +
              f" (the announcement: {calls['loket-1']} at {counter_cfg.name}).")
        print(f"Files, in {self.out}:")
        for name, path in shots.items():
            print(f"  {name}: {path}")
        if printed.exists():
            print(f"  printer bytes: {printed} ({printed.stat().st_size} bytes)")
        print(f"  logs: {self.out}/*.log")
        return 0


def run(args: argparse.Namespace) -> int:
    if args.headless:
        out = args.out or Path("demo-out")
    else:
        out = args.out or Path(tempfile.mkdtemp(prefix="antre-demo-"))
    out = out.resolve()
    if out.exists() and (out / "antre.db").exists():
        shutil.rmtree(out)   # a fresh database every run
    out.mkdir(parents=True, exist_ok=True)
    demo = Demo(out, args.headless)
    try:
        return demo.headless_run() if args.headless else demo.interactive()
    except TimeoutError as exc:
        raise AntreError(f"demo stopped: {exc} (see the logs in {out})") from None
    finally:
        demo.stop()
