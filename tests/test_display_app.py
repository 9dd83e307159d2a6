"""The waiting-room board: its rules without a window, and the real app in a real Kivy window.

The GUI tests run ``antre display`` as a subprocess on the Xvfb display, against the
real mosquitto and ``antre serve``. The board writes what it shows to a JSON file
(``ANTRE_UI_DUMP``); the announcements go through the real voice path to
``[display] audio_player``, here a small script that appends each WAV file's path to
a log -- a real player stand-in, so every announcement is counted exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from antre.ops.devtools import stop_process
from antre_display.board import BoardModel, format_age, format_clock, format_date, format_wait
from tests.conftest import start_office
from tests.support import ROOT, Mosquitto, wait_for

DOCS_IMG = ROOT / "docs" / "img"
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


# ---------------------------------------------------------------------- the rules, no window

def test_indonesian_date_and_clock_without_the_system_locale():
    assert format_date(date(2026, 11, 30)) == "Senin, 30 November 2026"
    assert format_date(date(2026, 8, 17)) == "Senin, 17 Agustus 2026"
    assert format_date(date(2027, 1, 1)) == "Jumat, 1 Januari 2027"
    assert format_date(date(2026, 12, 6)) == "Minggu, 6 Desember 2026"
    assert format_clock(datetime(2026, 11, 30, 9, 5)) == "09.05"
    assert [format_age(s) for s in (3, 40, 150, 7200, 200000)] == \
        ["baru saja", "40 detik lalu", "2 menit lalu", "2 jam lalu", "2 hari lalu"]
    assert [format_wait(m) for m in (0, 7, 60, 95)] == ["-", "± 7 menit", "± 1 jam", "± 1 jam 35 menit"]


def _state(seq=1, time=T0, last_calls=(), counters=None):
    return {
        "seq": seq, "time": time.isoformat(), "office": {"name": "Kantor Desa Uji"},
        "services": [{"code": "adminduk", "name": "Adminduk", "prefix": "A", "waiting": 3, "active": True,
                      "quota_reached": False, "estimated_wait_minutes": 15},
                     {"code": "umum", "name": "Umum", "prefix": "C", "waiting": 0, "active": False,
                      "quota_reached": False, "estimated_wait_minutes": 0}],
        "counters": counters if counters is not None else [
            {"id": "loket-1", "name": "Loket 1", "status": "serving",
             "serving": {"number": "A-002", "service": "adminduk"}},
            {"id": "loket-2", "name": "Loket 2", "status": "paused", "serving": None},
            {"id": "loket-3", "name": "Loket 3", "status": "idle", "serving": None}],
        "last_calls": list(last_calls),
    }


def _call(number, counter, at, recall=False):
    return {"number": number, "counter": counter, "counter_name": counter.replace("loket-", "Loket "),
            "recall": recall, "at": at.isoformat()}


def test_counters_services_and_offline_devices():
    m = BoardModel()
    m.apply_state(_state())
    assert [(c.id, c.number, c.status) for c in m.counters()] == \
        [("loket-1", "A-002", "serving"), ("loket-2", None, "paused"), ("loket-3", None, "idle")]
    assert [(s.prefix, s.waiting, s.wait_text, s.note) for s in m.services()] == \
        [("A", 3, "± 15 menit", ""), ("C", 0, "-", "Tutup hari ini")]
    # A device driving loket-1 and loket-3 goes offline: both show offline; loket-2 (no device known) does not.
    m.apply_status("counter-pi", {"online": False, "component": "counter", "counters": ["loket-1", "loket-3"]})
    assert [c.status for c in m.counters()] == ["offline", "paused", "offline"]
    # A second device for loket-3 is online: loket-3 is reachable again.
    m.apply_status("counter-usb", {"online": True, "component": "counter", "counters": ["loket-3"]})
    assert [c.status for c in m.counters()] == ["offline", "paused", "idle"]
    m.apply_status("counter-pi", b"")   # the retained message was cleared
    assert [c.status for c in m.counters()] == ["serving", "paused", "idle"]


def test_now_calling_recent_calls_and_duplicate_events():
    m = BoardModel(recent_calls=3)
    calls = [_call("A-003", "loket-1", T0 + timedelta(minutes=3), recall=True),
             _call("B-001", "loket-2", T0 + timedelta(minutes=2)),
             _call("A-003", "loket-1", T0 + timedelta(minutes=1)),
             _call("A-001", "loket-1", T0)]
    m.apply_state(_state(last_calls=calls))
    assert (m.now_calling().number, m.now_calling().recall) == ("A-003", True)
    assert [c.number for c in m.recent_calls()] == ["B-001", "A-001"]   # A-003 is in the big panel, once
    event = {"number": "C-001", "counter": {"id": "loket-3", "name": "Loket 3", "number": 3},
             "recall": False, "time": (T0 + timedelta(minutes=4)).isoformat()}
    assert m.apply_call(json.dumps(event).encode()).number == "C-001"
    assert m.apply_call(event) is None   # the same message delivered twice is shown and announced once
    assert m.now_calling().counter_name == "Loket 3"
    assert [c.number for c in m.recent_calls()] == ["A-003", "B-001", "A-001"]
    # The next state includes the call; after a day rollover the state has no calls, and neither has the board.
    m.apply_state(_state(seq=2, time=T0 + timedelta(minutes=4), last_calls=[_call("C-001", "loket-3", T0)] + calls))
    assert m.now_calling().number == "C-001"
    m.apply_state(_state(seq=3, time=T0 + timedelta(days=1)))
    assert m.now_calling() is None and m.recent_calls() == []
    # An older copy of the state does not replace a newer one.
    assert not m.apply_state(_state(seq=0, time=T0 - timedelta(minutes=1)))
    assert m.apply_state(_state(seq=4, time=T0 + timedelta(days=1, minutes=5)))


def test_banner_ticker_and_age():
    m = BoardModel(ticker="Selamat datang.")
    assert m.banner(T0) == ("Menghubungkan...", "Menunggu data antrean dari server")
    m.set_connected(True, T0)
    m.apply_state(_state())
    m.tick(T0)
    assert m.banner(T0) is None
    m.apply_status("antre-service", {"online": False, "component": "service"})
    assert m.banner(T0 + timedelta(seconds=30)) == \
        ("Menghubungkan...", "server antrean tidak terjangkau · data terakhir 30 detik lalu")
    m.apply_status("antre-service", {"online": True, "component": "service"})
    m.tick(T0 + timedelta(minutes=1))
    m.set_connected(False, T0 + timedelta(minutes=1))
    assert m.banner(T0 + timedelta(minutes=3, seconds=10)) == \
        ("Menghubungkan...", "jaringan terputus · data terakhir 2 menit lalu")
    assert m.ticker_text() == "Selamat datang."
    m.apply_ticker(b'{"text": "  Posyandu   hari Kamis. "}')
    assert m.ticker_text() == "Posyandu hari Kamis.     •     Selamat datang."
    m.apply_ticker(b"")
    assert m.ticker_text() == "Selamat datang."


# ---------------------------------------------------------------------- the real board

class Board:
    """``antre display`` as a subprocess: its UI dump, its announcements and screenshots."""

    def __init__(self, workdir: Path, config_path: Path, xvfb, size: str):
        self.workdir, self.config_path, self.xvfb, self.size = workdir, config_path, xvfb, size
        self.width, self.height = (int(v) for v in size.split("x"))
        self.dump = workdir / f"ui-{size}.json"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Board":
        self.dump.unlink(missing_ok=True)
        env = os.environ | self.xvfb.env() | {"ANTRE_UI_DUMP": str(self.dump)}
        self.log = open(self.workdir / f"display-{self.size}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "antre", "display", "--windowed", "--size", self.size,
             "--config", str(self.config_path)], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait(lambda ui: ui["window"] == [self.width, self.height], "the window at its size")
        return self

    def ui(self) -> dict | None:
        assert self.proc.poll() is None, "the display exited:\n" + self.output()
        try:
            return json.loads(self.dump.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def wait(self, predicate, what: str) -> dict:
        return wait_for(lambda: (ui := self.ui()) is not None and predicate(ui) and ui, timeout=40,
                        what=f"the board to show {what}")

    def screenshot(self, name: str) -> Path:
        """The board's window only, as a PNG in the test's work dir, once what the UI dump says is drawn."""

        shown = self.ui()["frames"]
        self.wait(lambda ui: ui["frames"] >= shown + 2, "two more frames drawn")
        full = self.xvfb.screenshot(self.workdir / f"full-{name}.png")
        out = self.workdir / f"{name}.png"
        Image.open(full).convert("RGB").crop((0, 0, self.width, self.height)).save(out)
        return out

    def stop(self) -> None:
        stop_process(self.proc)

    def output(self) -> str:
        return (self.workdir / f"display-{self.size}.log").read_text(errors="replace")


def display_config(office_config: Path, workdir: Path) -> tuple[Path, Path]:
    """The office's config plus a [display] section whose audio player logs each WAV it is given,
    and a quick reconnect. Returns (config, announcement log)."""
    played = workdir / "announced.log"
    player = workdir / "player.sh"
    player.write_text(f'#!/bin/sh\necho "$1" >> "{played}"\n')
    player.chmod(0o755)
    logo = workdir / "logo.png"
    _draw_logo(logo)
    text = office_config.read_text().replace("[mqtt]\n", "[mqtt]\nreconnect_max_delay = 1.0\n", 1)
    text = text.replace("[office]\n", f'[office]\nlogo = "{logo}"\n', 1)
    path = workdir / "display.toml"
    path.write_text(text + f"""
[display]
client_id = "display-test"
audio_player = "{player}"
highlight_seconds = 3.0
ticker = "Selamat datang di Kantor Desa Uji Coba."
""")
    return path, played


def _draw_logo(path: Path) -> None:
    """A stand-in village emblem: a green shield with a gold ring."""
    from PIL import ImageDraw

    img = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.polygon([(28, 20), (228, 20), (228, 140), (128, 240), (28, 140)], fill=(20, 120, 70, 255))
    d.ellipse((68, 50, 188, 170), outline=(255, 205, 60, 255), width=14)
    img.save(path)


def announced(log: Path) -> list[str]:
    """Ticket numbers announced so far, in order (the player got '.../000001-A-004.wav')."""
    if not log.exists():
        return []
    return [Path(line).stem.split("-", 1)[1] for line in log.read_text().split()]


def serving(ui: dict) -> dict[str, tuple[str | None, str]]:
    return {c["id"]: (c["number"], c["status"]) for c in ui["counters"]}


def panel_colour(png: Path, width: int, height: int) -> tuple[int, int, int]:
    """The colour inside the "now calling" panel, near its top-left corner."""
    from PIL import Image
    return Image.open(png).convert("RGB").getpixel((int(width * 0.03), int(height * 0.16)))


CALL_GREEN, FLASH_AMBER, BANNER = (8, 105, 75), (255, 197, 24), (41, 56, 87)


def near(a, b, tol=6) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


@pytest.mark.gui
def test_board_at_both_sizes_calls_recalls_and_silent_restart(office, xvfb, tmp_path):
    c = office.client
    cfg, played = display_config(office.config_path, tmp_path)
    for service in ["adminduk"] * 4 + ["surat"] * 3 + ["umum"] * 2:
        c.ok("issue_ticket", service=service)
    c.ok("call_next", counter="loket-1")
    c.ok("call_next", counter="loket-3")       # B-001
    c.ok("call_next", counter="loket-2")
    c.ok("call_next", counter="loket-1")       # A-003 (A-001 done)
    c.ok("pause", counter="loket-3")
    c.link.publish(c.topics.ticker, {"text": "Posyandu balita hari Kamis pukul 09.00 di balai desa."},
                   retain=True).wait_for_publish(5)

    big = Board(tmp_path, cfg, xvfb, "1920x1080").start()
    try:
        # Everything comes from retained messages, at once.
        ui = big.wait(lambda ui: serving(ui).get("loket-1") == ("A-003", "serving")
                      and ui["ticker"].startswith("Posyandu"), "the retained state and ticker")
        assert serving(ui) == {"loket-1": ("A-003", "serving"), "loket-2": ("A-002", "serving"),
                               "loket-3": ("B-001", "paused")}
        assert ui["now"] == {"number": "A-003", "counter_name": "Loket 1", "recall": False, "no_show": False}
        assert [x["number"] for x in ui["last_calls"]] == ["A-002", "B-001", "A-001"]
        assert [(s["prefix"], s["waiting"]) for s in ui["services"]] == [("A", 1), ("B", 2), ("C", 2)]
        assert ui["office_name"] == "Kantor Desa Uji Coba" and ui["banner"]["title"] == ""
        assert ui["logo"] == str(tmp_path / "logo.png")
        assert ui["ticker"].startswith("Posyandu balita") and "Selamat datang" in ui["ticker"]
        assert ui["date"].count(" ") == 3 and ui["date"].split(",")[0] in \
            ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
        assert announced(played) == [], "a retained state must never be announced"

        # A call: shown, highlighted, announced exactly once.
        c.ok("call_next", counter="loket-2")
        ui = big.wait(lambda ui: ui["now"].get("number") == "A-004" and ui["flashing"], "the call of A-004")
        assert ui["now"]["counter_name"] == "Loket 2"
        shot = big.screenshot("display-1080-call")
        wait_for(lambda: announced(played) == ["A-004"], what="A-004 to be announced")
        # A recall is announced again, and says so on the board.
        c.ok("recall", counter="loket-2")
        big.wait(lambda ui: ui["now"].get("recall") is True, "the recall")
        wait_for(lambda: announced(played) == ["A-004", "A-004"], what="the recall to be announced")

        # The staff change the ticker: it changes live.
        c.link.publish(c.topics.ticker, {"text": "Pelayanan KTP-el tutup pukul 12.00 hari ini."},
                       retain=True).wait_for_publish(5)
        big.wait(lambda ui: ui["ticker"].startswith("Pelayanan KTP-el tutup"), "the new ticker text")

        # A counter device goes offline: its counter says so.
        c.link.publish(c.topics.status("counter", "counter-meja"), {"online": False, "component": "counter",
                                                         "counters": ["loket-1"]}, retain=True).wait_for_publish(5)
        big.wait(lambda ui: serving(ui)["loket-1"][1] == "offline", "loket-1 offline")
        big.wait(lambda ui: not ui["flashing"], "the highlight to end")
        calm = big.screenshot("display-1080")
        c.link.publish(c.topics.status("counter", "counter-meja"), {"online": True, "component": "counter",
                                                         "counters": ["loket-1"]}, retain=True).wait_for_publish(5)
        big.wait(lambda ui: serving(ui)["loket-1"] == ("A-003", "serving"), "loket-1 back online")
    finally:
        big.stop()
    assert near(panel_colour(calm, 1920, 1080), CALL_GREEN), panel_colour(calm, 1920, 1080)
    assert any(near(panel_colour(shot, 1920, 1080), col) for col in (CALL_GREEN, FLASH_AMBER))

    # Restart (at the other size): the same board from retained messages, and not one announcement.
    small = Board(tmp_path, cfg, xvfb, "1280x720").start()
    try:
        ui = small.wait(lambda ui: ui["now"].get("number") == "A-004" and ui["ticker"].startswith("Pelayanan"),
                        "the retained state and ticker after a restart")
        assert ui["now"]["recall"] is True
        assert serving(ui)["loket-2"] == ("A-004", "serving")
        assert ui["ticker"].startswith("Pelayanan KTP-el tutup")
        assert not ui["flashing"]
        shot = small.screenshot("display-720")
        # A fresh call is the next thing announced: nothing from before the restart came first.
        c.ok("issue_ticket", service="adminduk")
        c.ok("call_next", counter="loket-1")
        small.wait(lambda ui: ui["now"].get("number") == "A-005", "the call of A-005")
        wait_for(lambda: len(announced(played)) >= 3, what="A-005 to be announced")
        assert announced(played) == ["A-004", "A-004", "A-005"]
    finally:
        small.stop()
    assert near(panel_colour(shot, 1280, 720), CALL_GREEN), panel_colour(shot, 1280, 720)
    if os.environ.get("ANTRE_UPDATE_DOCS_IMG"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(calm, DOCS_IMG / "display-1080.png")
        shutil.copy(shot, DOCS_IMG / "display-720.png")


@pytest.mark.gui
def test_broker_and_service_outage_show_a_calm_banner_and_recover(tmp_path, xvfb):
    broker = Mosquitto(tmp_path / "mosquitto").start()
    office = start_office(tmp_path, broker)
    c = office.client
    cfg, played = display_config(office.config_path, tmp_path)
    board = Board(tmp_path, cfg, xvfb, "1280x720")
    try:
        for service in ("adminduk", "surat", "adminduk"):
            c.ok("issue_ticket", service=service)
        c.ok("call_next", counter="loket-1")
        board.start()
        board.wait(lambda ui: serving(ui).get("loket-1") == ("A-001", "serving") and not ui["banner"]["title"],
                   "the state")

        # The broker goes away: a calm banner over the last known board.
        broker.stop()
        ui = board.wait(lambda ui: ui["banner"]["title"] == "Menghubungkan...", "the connecting banner")
        assert "data terakhir" in ui["banner"]["detail"]
        assert serving(ui)["loket-1"] == ("A-001", "serving")
        offline = board.screenshot("display-720-offline")
        assert near(Image.open(offline).convert("RGB").getpixel((640, 717)),
                    BANNER, tol=14), "the banner is not on the screen"

        # It comes back: the board recovers by itself and shows what happens next.
        broker.start()
        wait_for(c.link.connected.is_set, what="the test client to reconnect")
        board.wait(lambda ui: not ui["banner"]["title"] and ui["connected"], "the banner to go")
        wait_for(lambda: c.request("call_next", counter="loket-3").ok, what="the service to take commands")
        ui = board.wait(lambda ui: serving(ui)["loket-3"] == ("B-001", "serving"), "the call after recovery")
        assert serving(ui)["loket-1"] == ("A-001", "serving") and not ui["banner"]["title"]

        # The service dies (its last will says offline): the same banner, then recovery.
        office.service.kill()
        ui = board.wait(lambda ui: ui["banner"]["title"] == "Menghubungkan...", "the banner for the service")
        assert "server antrean tidak terjangkau" in ui["banner"]["detail"]
        # A kiosk saying, on its own presence topic (all a kiosk login may write), that it is the service
        # and online does not fool the TV: presence is trusted by its topic (docs/security.md).
        c.link.publish(c.topics.status("kiosk", "kiosk-liar"), {"online": True, "component": "service",
                                                               "client_id": "antre-service"},
                       retain=True).wait_for_publish(5)
        c.link.publish(c.topics.ticker, {"text": "Penanda uji."}, retain=True).wait_for_publish(5)  # after it
        ui = board.wait(lambda ui: ui["ticker"].startswith("Penanda uji."), "the ticker sent after the lie")
        assert ui["banner"]["title"] == "Menghubungkan..."
        office.service.start()
        board.wait(lambda ui: not ui["banner"]["title"], "the banner to go after the service restarts")
        # Only live calls were announced, once each: the reconnects repeated nothing before this call.
        wait_for(c.link.connected.is_set, what="the test client")
        wait_for(lambda: c.request("call_next", counter="loket-2").ok, what="the restarted service")
        board.wait(lambda ui: ui["now"].get("number") == "A-002", "the call of A-002")
        wait_for(lambda: len(announced(played)) >= 2, what="A-002 to be announced")
        assert announced(played) == ["B-001", "A-002"]
    finally:
        board.stop()
        c.stop()
        office.service.stop()
        broker.stop()
