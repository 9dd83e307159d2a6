"""The kiosk as residents meet it: a real Kivy window under Xvfb, real clicks, a real
mosquitto and ``antre serve``, and a TCP socket standing in for the network printer.

The app writes its named widgets' rectangles to ``$ANTRE_UI_DUMP`` (JSON, window
pixels, top-left origin); tests wait on that file and click the centres of widgets.
Screenshots of every screen go to the test's tmp_path (and to ``$ANTRE_SHOTS_DIR``
when set, to look at them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from antre.config import MqttConfig
from antre.ops.devtools import stop_process
from antre.link.mqtt import MqttLink, Requester
from antre.link.protocol import Topics
from antre_kiosk import logic, texts
from tests.conftest import start_office
from tests.support import ALL_SERVICES, ROOT, Mosquitto, TcpPrinter, TestClient, counters_toml, free_port, wait_for

pytestmark = pytest.mark.gui

T = texts.text


class Kiosk:
    """``antre kiosk --windowed`` in a subprocess on the test's X display."""

    def __init__(self, config_path: Path, tmp_path: Path, xvfb, name: str = "kiosk", size: str = "1280x800"):
        self.xvfb = xvfb
        self.tmp = tmp_path
        self.dump = tmp_path / f"{name}-ui.json"
        self.shots = tmp_path / "shots"
        self.shots.mkdir(exist_ok=True)
        env = os.environ | xvfb.env() | {"ANTRE_UI_DUMP": str(self.dump), "KIVY_NO_ARGS": "1"}
        self.log_path = tmp_path / f"{name}.log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "antre", "kiosk", "--windowed", "--size", size,
             "--config", str(config_path)],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    # -- reading the UI ------------------------------------------------------

    def ui(self) -> dict:
        if self.proc.poll() is not None:
            raise AssertionError(f"kiosk exited with {self.proc.returncode}:\n{self.output()}")
        try:
            return json.loads(self.dump.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def wait(self, predicate, what: str) -> dict:
        def check():
            ui = self.ui()
            return ui if ui and predicate(ui) else None
        try:
            return wait_for(check, what=what)
        except AssertionError:
            raise AssertionError(f"timed out waiting for {what}; last UI: {json.dumps(self.ui())[:3000]}\n"
                                 f"log:\n{self.output()[-4000:]}") from None

    def widget(self, ui: dict, uid: str) -> dict:
        return ui["widgets"][uid]

    def wait_widget(self, uid: str, *, enabled: bool | None = True, screen: str | None = None) -> dict:
        def ok(ui):
            w = ui.get("widgets", {}).get(uid)
            return (w is not None and ui["settled"] and (enabled is None or w["disabled"] != enabled)
                    and (screen is None or ui["screen"] == screen))
        return self.widget(self.wait(ok, f"widget {uid} (enabled={enabled})"), uid)

    def wait_screen(self, screen: str) -> dict:
        return self.wait(lambda ui: ui.get("screen") == screen, f"screen {screen}")

    def text(self, uid: str) -> str:
        return self.ui()["widgets"][uid]["text"]

    # -- touching ------------------------------------------------------------

    def centre(self, uid: str, ui: dict | None = None) -> tuple[int, int]:
        ui = ui or self.ui()
        w = ui["widgets"][uid]
        win = ui["window"]
        return win["left"] + w["x"] + w["w"] // 2, win["top"] + w["y"] + w["h"] // 2

    def _xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=os.environ | self.xvfb.env(), check=True, timeout=10,
                              capture_output=True, text=True).stdout

    def _move(self, x: int, y: int) -> None:
        # `mousemove --sync` never returns when the pointer is already there (e.g. "0" typed twice).
        here = dict(kv.split(":") for kv in self._xdotool("getmouselocation").split() if ":" in kv)
        if (int(here["x"]), int(here["y"])) != (x, y):
            self._xdotool("mousemove", "--sync", str(x), str(y))

    def click(self, x: int, y: int, times: int = 1) -> None:
        self._move(x, y)
        self._xdotool("click", "--repeat", str(times), "--delay", "60", "1")

    def touch(self, uid: str) -> None:
        """Waits until ``uid`` is on screen and enabled, then clicks its centre."""
        self.wait_widget(uid)
        self.click(*self.centre(uid))

    def double_touch(self, uid: str) -> None:
        """Two quick taps on the same spot, as an impatient finger does."""
        self.wait_widget(uid)
        self.click(*self.centre(uid), times=2)

    def hold(self, uid: str, until) -> dict:
        """Presses on ``uid`` and keeps the finger down until ``until(ui)`` is true."""
        self.wait_widget(uid, enabled=None)
        self._move(*self.centre(uid))
        self._xdotool("mousedown", "1")
        try:
            return self.wait(until, "the long press to take effect")
        finally:
            self._xdotool("mouseup", "1")

    # -- looking -------------------------------------------------------------

    def screenshot(self, name: str) -> Path:
        """The kiosk's window as a PNG in tmp_path/shots (and $ANTRE_SHOTS_DIR)."""
        from PIL import Image

        ui = self.wait(lambda ui: ui["settled"], "the screen to settle")
        full = self.xvfb.screenshot(self.shots / f"{name}-full.png")
        win = ui["window"]
        out = self.shots / f"{name}.png"
        with Image.open(full) as img:
            img.crop((win["left"], win["top"], win["left"] + win["width"], win["top"] + win["height"])).save(out)
        full.unlink()
        extra = os.environ.get("ANTRE_SHOTS_DIR")
        if extra:
            Path(extra).mkdir(parents=True, exist_ok=True)
            shutil.copy(out, Path(extra) / out.name)
        return out

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


@pytest.fixture
def kiosks(tmp_path, xvfb):
    made: list[Kiosk] = []

    def make(office, name: str = "kiosk", size: str = "1280x800") -> Kiosk:
        made.append(Kiosk(office.config_path, tmp_path, xvfb, name, size))
        return made[-1]
    yield make
    for k in made:
        k.stop()


@pytest.fixture
def offices(tmp_path, broker):
    made = []

    def make(kiosk_toml: str = "", sub: str = "office", client_id: str | None = None, **kwargs):
        d = tmp_path / sub
        d.mkdir()
        client_id = client_id or f"kiosk-{os.urandom(3).hex()}"
        o = start_office(d, broker, extra=f"\n[kiosk]\nclient_id = \"{client_id}\"\n{kiosk_toml}\n", **kwargs)
        o.kiosk_id = client_id
        made.append(o)
        return o
    yield make
    for o in made:
        o.client.stop()
        o.service.stop()


class Presence:
    """Records the kiosk's retained presence messages (``{base}/status/{kiosk id}``)."""

    def __init__(self, office):
        self.messages: list[dict] = []
        office.client.link.subscribe(office.client.topics.status("kiosk", office.kiosk_id), self._got)

    def _got(self, topic: str, payload: bytes) -> None:
        self.messages.append(json.loads(payload))

    def wait(self, predicate, what: str) -> dict:
        return wait_for(lambda: next((m for m in reversed(self.messages) if predicate(m)), None), what=what)


def issued(office) -> list[dict]:
    return office.client.events_of("ticket_issued")


# ---------------------------------------------------------------------- issuing


def test_touch_issues_one_ticket_prints_it_and_shows_the_number(offices, kiosks):
    printer = TcpPrinter()
    office = offices(f'printer = "{printer.url}"')
    presence = Presence(office)
    k = kiosks(office)
    try:
        home = k.wait_widget("service:adminduk")
        assert home["w"] >= 90 and home["h"] >= 90
        assert k.wait_widget("rate")["h"] >= 90
        presence.wait(lambda m: m.get("online") and m.get("printer") == "ok", "printer status ok in presence")
        k.screenshot("home")

        k.double_touch("service:adminduk")
        ui = k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:number"]["text"] == "A-001",
                    "the ticket screen with A-001")
        assert "Administrasi Kependudukan" in ui["widgets"]["ticket:service"]["text"]
        data = printer.wait_for(b"A-001")
        assert b"\x1dV" in data  # and it was cut
        ui = k.wait(lambda ui: ui["widgets"]["ticket:print"]["text"] == T("printed"), "'take your ticket'")
        # The screen shows the rating code printed on the ticket (for a resident whose ticket did not print).
        printed = re.search(rb"Kode penilaian layanan: (\d{4})", data)
        assert printed, data
        assert ui["widgets"]["ticket:rating_code"]["text"] == f"Kode penilaian: {printed[1].decode()}"
        k.screenshot("ticket")

        # Exactly one ticket for the double touch: the next one anyone takes is A-002.
        assert office.client.ok("issue_ticket", service="adminduk", channel="admin")["number"] == "A-002"
        wait_for(lambda: len(issued(office)) == 2, what="two ticket_issued events")
        assert [e["number"] for e in issued(office)] == ["A-001", "A-002"]
        assert issued(office)[0]["channel"] == "kiosk"

        # Back home with "Selesai"; the home screen shows the new waiting count; a priority ticket.
        k.touch("ticket:done")
        k.wait_screen("home")
        k.wait(lambda ui: T("waiting", n=2) in _subtext(ui, "service:adminduk"), "2 waiting on the button")
        k.screenshot("home-waiting")
        k.touch("priority:lansia")
        k.wait(lambda ui: ui["widgets"]["home:title"]["text"].startswith("Tiket prioritas"), "priority chosen")
        k.screenshot("home-priority")
        k.touch("service:surat")
        ui = k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:number"]["text"] == "B-001",
                    "B-001 on screen")
        assert "Lansia" in ui["widgets"]["ticket:priority"]["text"]
        printer.wait_for(b"B-001")
        wait_for(lambda: len(issued(office)) == 3, what="the priority ticket")
        assert issued(office)[2]["priority"] == "lansia"
    finally:
        printer.close()


def draw_logo(path: Path) -> Path:
    """A stand-in emblem: a green shield with a yellow star."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.polygon([(20, 20), (180, 20), (180, 110), (100, 190), (20, 110)], fill=(20, 120, 60, 255),
              outline=(255, 255, 255, 255), width=6)
    d.regular_polygon((100, 90, 45), 5, fill=(255, 210, 0, 255))
    img.save(path)
    return path


def _subtext(ui: dict, uid: str) -> str:
    return ui["widgets"][uid].get("subtext", "")


def test_printer_failure_keeps_the_ticket_and_says_to_note_the_number(offices, kiosks):
    dead = f"tcp://127.0.0.1:{free_port()}"  # nothing listens here
    office = offices(f'printer = "{dead}"\nprint_timeout = 3.0')
    presence = Presence(office)
    k = kiosks(office)
    presence.wait(lambda m: m.get("online") and m.get("printer") == "offline", "printer offline in presence")
    k.touch("service:umum")
    ui = k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:print"]["text"] == T("print_failed"),
                "the 'note this number' message")
    assert ui["widgets"]["ticket:number"]["text"] == "C-001"
    assert "catat atau foto nomor ini" in ui["widgets"]["ticket:print"]["text"]
    assert ui["widgets"]["ticket:print"]["h"] >= 60
    wait_for(lambda: [e["number"] for e in issued(office)] == ["C-001"], what="C-001 issued")
    assert office.client.service_state("umum")["waiting"] == 1
    status = presence.wait(lambda m: m.get("printer") == "offline" and m.get("printer_message"), "printer message")
    assert "Printer" in status["printer_message"]
    k.screenshot("ticket-print-failed")
    # English, for a visitor: the same screen in the other language.
    k.touch("lang")
    ui = k.wait(lambda ui: ui["lang"] == "en" and ui["widgets"]["ticket:done"]["text"] == "Done", "English")
    assert ui["widgets"]["ticket:print"]["text"] == T("print_failed", "en")
    assert ui["widgets"]["ticket:number"]["text"] == "C-001"
    k.screenshot("ticket-print-failed-en")


# ---------------------------------------------------------------------- outages


def test_service_outage_disables_buttons_and_recovers(offices, kiosks):
    office = offices()
    k = kiosks(office)
    k.wait_widget("service:adminduk")
    office.service.stop()
    ui = k.wait(lambda ui: ui["availability"] == "service_offline", "the kiosk to notice the service is gone")
    ui = k.wait(lambda ui: all(ui["widgets"][f"service:{c}"]["disabled"] for c in ("adminduk", "surat", "umum"))
                and ui["widgets"]["rate"]["disabled"], "every button disabled")
    assert ui["widgets"]["banner"]["text"] == T("service_offline")
    k.screenshot("home-service-offline")
    # A touch during the outage does nothing, and produces no ticket later either.
    k.click(*k.centre("service:adminduk", ui))
    office.service.start()
    k.wait(lambda ui: ui["availability"] == "ok" and not ui["widgets"]["service:adminduk"]["disabled"],
           "buttons enabled again")
    state = office.client.wait_state(lambda s: s["seq"] >= 0, "state after restart")
    assert all(s["issued_today"] == 0 for s in state["services"])
    assert not k.ui()["banner"]
    k.touch("service:adminduk")
    k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:number"]["text"] == "A-001",
           "the first ticket after recovery is A-001")
    wait_for(lambda: len(issued(office)) == 1, what="one ticket issued")


TWO_SERVICES = """
[[services]]
code = "adminduk"
name = "Administrasi Kependudukan"
prefix = "A"
daily_quota = 1
requirements = ["KTP asli", "Kartu Keluarga (KK) asli"]
[[services]]
code = "surat"
name = "Surat Keterangan"
prefix = "B"
"""
ONE_COUNTER = """
[[counters]]
id = "loket-1"
name = "Loket 1"
services = ["adminduk", "surat"]
"""


def test_broker_outage_disables_everything_and_recovers(tmp_path, kiosks):
    broker = Mosquitto(tmp_path / "private-broker").start()
    brokers = [broker]
    office = None
    try:
        (tmp_path / "o").mkdir()
        office = start_office(tmp_path / "o", broker, extra='\n[kiosk]\nclient_id = "kiosk-outage"\n')
        k = kiosks(office)
        k.wait_widget("service:adminduk")
        broker.stop()
        ui = k.wait(lambda ui: ui["availability"] == "broker_down" and ui["widgets"]["service:adminduk"]["disabled"]
                    and ui["widgets"]["rate"]["disabled"], "the kiosk to notice the broker is gone")
        assert ui["widgets"]["banner"]["text"] == T("broker_down")
        k.screenshot("home-broker-down")
        k.click(*k.centre("service:adminduk", ui))  # nothing happens, and nothing is queued for later
        brokers.append(Mosquitto(tmp_path / "private-broker-2", port=broker.port).start())
        k.wait(lambda ui: ui["availability"] == "ok" and not ui["widgets"]["service:adminduk"]["disabled"],
               "the kiosk back after the broker restarts")
        state = office.client.wait_state(lambda s: office.client.link.connected.is_set(), "state after restart")
        assert all(s["issued_today"] == 0 for s in state["services"])
        k.touch("service:adminduk")
        k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:number"]["text"] == "A-001", "A-001")
    finally:
        if office is not None:
            office.client.stop()
            office.service.stop()
        brokers[-1].stop()


def test_office_closed_disables_tickets_but_not_rating(offices, kiosks):
    closed = "[office.hours]\n" + "\n".join(f'{d} = "closed"' for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                                        "sun"))
    office = offices("idle_seconds = 3.0\n" + closed, enforce_hours=True, services=TWO_SERVICES,
                     counters=ONE_COUNTER)
    assert office.client.state()["open"] is False
    k = kiosks(office)
    ui = k.wait(lambda ui: ui["availability"] == "closed" and ui["widgets"]["service:adminduk"]["disabled"],
                "the closed office")
    assert ui["widgets"]["banner"]["text"] == T("closed_today")
    assert ui["widgets"]["service:surat"]["disabled"]
    assert not ui["widgets"]["rate"]["disabled"]
    assert "home:title" not in ui["widgets"]   # hidden: the red band already says why (room for the buttons)
    k.screenshot("home-closed")
    # Rating still works when closed; walking away returns the kiosk to the start by itself.
    k.touch("rate")
    ui = k.wait_widget("rate_pick:type", screen="rate_pick")
    k.wait(lambda ui: ui["screen"] == "home", "the idle timeout to bring back the start screen")


def test_quota_reached_disables_that_service_only(offices, kiosks):
    office = offices(services=TWO_SERVICES, counters=ONE_COUNTER)
    office.client.ok("issue_ticket", service="adminduk", channel="admin")
    # The office logo (a PNG named in [office] logo) sits beside the office name.
    logo = draw_logo(office.config_path.parent / "logo.png")
    text = office.config_path.read_text()
    office.config_path.write_text(text.replace('name = "Kantor Desa Uji Coba"\n',
                                               f'name = "Kantor Desa Uji Coba"\nlogo = "{logo}"\n', 1))
    k = kiosks(office)
    ui = k.wait(lambda ui: ui["widgets"].get("service:adminduk", {}).get("subtext") == T("quota_reached"),
                "the quota message on the button")
    assert ui["widgets"]["logo"]["w"] >= 60
    assert ui["widgets"]["service:adminduk"]["disabled"]
    assert not ui["widgets"]["service:surat"]["disabled"]
    assert ui["availability"] == "ok" and not ui["banner"]
    # Info layanan: the requirements, and a way to take a number from there.
    k.touch("info:adminduk")
    ui = k.wait(lambda ui: ui["screen"] == "info", "the info screen")
    assert "KTP asli" in ui["widgets"]["info:body"]["text"]
    assert ui["widgets"]["info:take"]["disabled"]
    k.screenshot("info")
    k.touch("info:back")
    ui = k.wait_widget("service:surat")
    k.screenshot("home-quota")
    k.touch("info:surat")
    k.wait(lambda ui: ui["screen"] == "info" and not ui["widgets"]["info:take"]["disabled"], "info for surat")
    k.touch("info:take")
    k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:number"]["text"] == "B-001"
           and ui["widgets"]["ticket:print"]["text"] == T("no_printer"),  # kiosk.printer = "none"
           "a ticket taken from the info screen, with 'remember this number'")


# ---------------------------------------------------------------------- rating


def serve(office, counter: str = "loket-1", service: str = "adminduk") -> str:
    """Issues a ticket, calls it to ``counter`` and completes it, as staff would. Returns its number."""
    number = office.client.ok("issue_ticket", service=service, channel="admin")["number"]
    assert office.client.ok("call_next", counter=counter)["number"] == number
    office.client.ok("complete", counter=counter)
    return number


def ratings(office) -> list[dict]:
    return office.client.events_of("rating_received")


def test_rating_by_touch_from_the_list_and_by_keypad(offices, kiosks):
    office = offices()
    first, second = serve(office), serve(office)
    assert (first, second) == ("A-001", "A-002")
    office.client.wait_state(lambda s: len(s["rateable"]) == 2, "two rateable tickets")
    k = kiosks(office)

    # 1. Pick the ticket from the list, overall "Puas", then all 9 IKM elements.
    k.touch("rate")
    k.wait_widget("rate:A-001", screen="rate_pick")
    k.screenshot("rating-pick")
    k.touch("rate:A-001")
    ui = k.wait(lambda ui: ui["screen"] == "rate_face", "the face scale")
    assert ui["widgets"]["face:subtitle"]["text"] == T("rate_for", number="A-001")
    assert [ui["widgets"][f"face:{n}"]["text"] for n in (4, 3, 2, 1)] == \
        ["Sangat Puas", "Puas", "Kurang Puas", "Tidak Puas"]
    assert all(ui["widgets"][f"face:{n}"]["h"] >= 90 and ui["widgets"][f"face:{n}"]["w"] >= 90 for n in range(1, 5))
    k.screenshot("rating-faces")
    k.touch("face:3")
    k.wait_screen("rate_more")
    k.screenshot("rating-more")
    k.touch("more:yes")
    elements = [4, 3, 2, 1, 4, 3, 2, 1, 4]
    for i, score in enumerate(elements):
        ui = k.wait(lambda ui, i=i: ui["screen"] == "rate_face" and ui["widgets"]["face:title"]["text"]
                    == texts.element_question(i), f"element {i + 1}")
        # The question in plain words, the element's official name small under it, the answers under the faces.
        assert ui["widgets"]["face:element"]["text"] == texts.element_name(i)
        assert [ui["widgets"][f"face:{n}"]["text"] for n in (4, 3, 2, 1)] == \
            [texts.element_answer(i, n) for n in (4, 3, 2, 1)]
        if i in (0, 6):
            k.screenshot(f"rating-element-{i + 1}")
        k.touch(f"face:{score}")
    k.wait(lambda ui: ui["screen"] == "message" and ui["widgets"]["message:title"]["text"] == T("thanks"), "thanks")
    k.screenshot("rating-thanks")
    got = wait_for(lambda: ratings(office), what="rating_received")[0]
    assert (got["number"], got["score"], got["elements"]) == ("A-001", 3, elements)

    # 2. Type the number on the keypad ("A", "2" -> A-002), "Tidak Puas", no details.
    k.touch("message:home")
    k.touch("rate")
    k.wait(lambda ui: "rate:A-002" in ui["widgets"] and "rate:A-001" not in ui["widgets"], "A-001 gone from list")
    k.touch("rate_pick:type")
    k.wait_screen("rate_keypad")
    k.touch("prefix:A")
    k.touch("key:2")
    k.wait(lambda ui: ui["widgets"]["keypad:shown"]["text"] == "A-002", "A-002 typed")
    k.screenshot("rating-keypad")
    k.touch("key:ok")
    k.wait(lambda ui: ui["screen"] == "rate_face" and "A-002" in ui["widgets"]["face:subtitle"]["text"], "faces")
    k.touch("face:1")
    k.touch("more:no")
    k.wait(lambda ui: ui["widgets"].get("message:title", {}).get("text") == T("thanks"), "thanks again")
    got = wait_for(lambda: len(ratings(office)) == 2 and ratings(office)[1], what="second rating")
    assert (got["number"], got["score"], got["elements"]) == ("A-002", 1, None)

    # 3. The same number again: the service refuses, the kiosk says so plainly.
    k.touch("message:home")
    k.touch("rate")
    k.touch("rate_pick:type")
    for key in ("prefix:A", "key:0", "key:0", "key:2", "key:ok"):
        k.touch(key)
    k.touch("face:4")
    k.touch("more:no")
    ui = k.wait(lambda ui: ui["widgets"].get("message:title", {}).get("text")
                == T("rate_err_already_rated", number="A-002"), "already rated")
    k.screenshot("rating-already-rated")
    # A ticket still waiting cannot be rated yet.
    office.client.ok("issue_ticket", service="surat", channel="admin")
    k.touch("message:home")
    k.touch("rate")
    k.touch("rate_pick:type")
    for key in ("prefix:B", "key:1", "key:ok", "face:2", "more:no"):
        k.touch(key)
    k.wait(lambda ui: ui["widgets"].get("message:title", {}).get("text")
           == T("rate_err_not_served", number="B-001"), "not served")
    assert len(ratings(office)) == 2


def test_leaving_the_survey_halfway_keeps_the_face_and_the_next_resident_gets_indonesian(offices, kiosks):
    """A face chosen, then "Kembali" in the middle of the nine questions: the service still records the
    face (through the real service). A visitor who switched to English and walked away leaves the kiosk in
    Indonesian; a late tap after the ticket screen timed out does not open the rating."""
    office = offices("ticket_screen_seconds_no_print = 1.0\nlate_tap_seconds = 30.0")
    number = serve(office)
    office.client.wait_state(lambda s: len(s["rateable"]) == 1, "one rateable ticket")
    k = kiosks(office)
    k.touch("rate")
    k.touch(f"rate:{number}")
    k.touch("face:2")
    k.touch("more:yes")
    k.touch("face:4")                                 # the first question answered
    k.wait(lambda ui: ui["widgets"]["face:title"]["text"] == texts.element_question(1), "the second question")
    k.touch("face:back")                              # and gone
    k.wait_screen("home")
    got = wait_for(lambda: ratings(office), what="the face rating kept")[0]
    assert (got["number"], got["score"], got["elements"]) == (number, 2, None)

    # English, a ticket, then the resident walks away: the screen times out and the kiosk is Indonesian.
    k.touch("lang")
    k.wait(lambda ui: ui["lang"] == "en", "English")
    k.touch("service:adminduk")
    ui = k.wait(lambda ui: ui["screen"] == "ticket", "the ticket screen")
    done = ui["widgets"]["ticket:done"]
    ui = k.wait(lambda ui: ui["screen"] == "home" and ui["lang"] == "id", "home in Indonesian after the timeout")
    assert ui["widgets"]["rate"]["text"] == T("rate")
    # A late tap where "Selesai" was, and one on "Beri penilaian": both swallowed (late_tap_seconds).
    k.click(ui["window"]["left"] + done["x"] + done["w"] // 2, ui["window"]["top"] + done["y"] + done["h"] // 2)
    k.click(*k.centre("rate", ui))
    ui = k.wait(lambda ui: ui["ignored_taps"] == 2, "two late taps ignored")
    assert ui["screen"] == "home"
    # "Selesai" is not where "Beri penilaian" is.
    r = ui["widgets"]["rate"]
    assert done["x"] + done["w"] < r["x"] or done["x"] > r["x"] + r["w"]


def test_rating_only_mode_prompts_when_its_counter_completes_and_staff_pin_exits(offices, kiosks):
    office = offices('mode = "rating"\nrating_counter = "loket-2"\nstaff_pin = "2468"')
    k = kiosks(office)
    ui = k.wait_widget("wait:sub", screen="rate_wait")
    assert "Loket 2" in ui["text"]
    k.screenshot("rating-only-wait")
    # Another counter finishing does not prompt this screen (its event comes before the state that
    # lists the ticket as rateable, so once the kiosk shows that state it has seen the event).
    other = serve(office, counter="loket-1")
    ui = k.wait(lambda ui: other in ui["rateable"], "the state after loket-1's completion")
    assert ui["screen"] == "rate_wait"
    # This counter finishing does.
    number = serve(office, counter="loket-2")
    ui = k.wait(lambda ui: ui["screen"] == "rate_face", "the prompt for loket-2's ticket")
    assert ui["widgets"]["face:subtitle"]["text"] == T("rate_for", number=number)
    k.touch("face:4")
    k.touch("more:no")
    got = wait_for(lambda: ratings(office), what="rating_received")[0]
    assert (got["number"], got["score"], got["counter"]) == (number, 4, "loket-2")
    k.wait(lambda ui: ui["screen"] == "message", "thanks")
    k.touch("message:home")
    k.wait_screen("rate_wait")

    # Staff: hold the office name, wrong PIN, then the right one -> the app exits cleanly.
    k.hold("staff_corner", lambda ui: ui["screen"] == "pin")
    for key in ("pin:1", "pin:1", "pin:1", "pin:1", "pin:ok"):
        k.touch(key)
    k.wait(lambda ui: ui["widgets"]["pin:error"]["text"] == T("pin_wrong"), "wrong PIN")
    k.screenshot("staff-pin")
    assert k.proc.poll() is None
    for key in ("pin:2", "pin:4", "pin:6", "pin:8", "pin:ok"):
        k.touch(key)
    assert k.proc.wait(20) == 0


def test_rating_asks_for_the_code_printed_on_the_ticket(offices, kiosks):
    """Defect 7: with [queue] rating_code_required the kiosk asks for the 4 digits printed on the ticket after
    the number; a wrong code is refused plainly, the right one records the rating."""
    counters = counters_toml({"loket-1": ALL_SERVICES, "loket-2": ALL_SERVICES}) + 'rating_kiosk = "kiosk-loket2"\n'
    office = offices(queue="rating_code_required = true", counters=counters)
    issued = office.client.ok("issue_ticket", service="adminduk", channel="admin")
    number, code = issued["number"], issued["rating_code"]
    assert office.client.ok("call_next", counter="loket-1")["number"] == number
    office.client.ok("complete", counter="loket-1")
    office.client.wait_state(lambda s: len(s["rateable"]) == 1, "one rateable ticket")
    k = kiosks(office)
    wrong = "0000" if code != "0000" else "1111"

    k.touch("rate")
    k.touch(f"rate:{number}")
    ui = k.wait(lambda ui: ui["screen"] == "rate_keypad"
                and ui["widgets"]["keypad:prompt"]["text"] == T("rate_code_prompt"), "the code prompt")
    assert "prefix:A" not in ui["widgets"] and ui["widgets"]["keypad:shown"]["text"] == "____"
    for key in ("key:9", "key:del", *(f"key:{d}" for d in wrong)):
        k.touch(key)
    k.wait(lambda ui: ui["widgets"]["keypad:shown"]["text"] == wrong, "the wrong code typed")
    k.screenshot("rating-code")
    k.touch("key:ok")
    k.wait(lambda ui: ui["screen"] == "rate_face", "the faces")
    k.touch("face:4")
    k.touch("more:no")
    k.wait(lambda ui: ui["widgets"].get("message:title", {}).get("text")
           == T("rate_err_rating_code_wrong", number=number), "the wrong code refused")
    k.screenshot("rating-code-wrong")
    assert ratings(office) == []

    # The number typed on the keypad, then the right code.
    k.touch("message:home")
    k.touch("rate")
    k.touch("rate_pick:type")
    for key in ("prefix:A", "key:1", "key:ok"):
        k.touch(key)
    k.wait(lambda ui: ui["screen"] == "rate_keypad"
           and ui["widgets"]["keypad:prompt"]["text"] == T("rate_code_prompt"), "the code prompt again")
    for d in code:
        k.touch(f"key:{d}")
    k.touch("key:ok")
    k.touch("face:3")
    k.touch("more:no")
    k.wait(lambda ui: ui["widgets"].get("message:title", {}).get("text") == T("thanks"), "thanks")
    got = wait_for(lambda: ratings(office), what="rating_received")[0]
    assert (got["number"], got["score"]) == (number, 3)



def test_the_counters_rating_kiosk_rates_without_the_code(offices, kiosks):
    """The rating-only kiosk at Loket 2 (its login is Loket 2's rating_kiosk): prompted by the counter's
    completion, no code asked, and the service takes the rating though codes are required."""
    rating_kiosk = f"kiosk-{os.urandom(3).hex()}"
    counters = counters_toml({"loket-1": ALL_SERVICES, "loket-2": ALL_SERVICES}) + \
        f'rating_kiosk = "{rating_kiosk}"\n'
    second = offices('mode = "rating"\nrating_counter = "loket-2"', client_id=rating_kiosk,
                     queue="rating_code_required = true", counters=counters)
    r = kiosks(second, name="rating")
    r.wait_screen("rate_wait")
    served = serve(second, counter="loket-2")
    r.wait(lambda ui: ui["screen"] == "rate_face", "the prompt for loket-2's ticket")
    r.touch("face:4")
    r.touch("more:no")
    got = wait_for(lambda: ratings(second), what="the rating kiosk's rating")[0]
    assert (got["number"], got["score"], got["counter"]) == (served, 4, "loket-2")


# ---------------------------------------------------------------------- without a window


def test_availability_names_the_most_fundamental_problem():
    state = {"open": True, "services": []}
    assert logic.availability(False, True, state) == logic.BROKER_DOWN
    assert logic.availability(True, False, state) == logic.SERVICE_OFFLINE
    assert logic.availability(True, True, None) == logic.SERVICE_OFFLINE
    assert logic.availability(True, None, state) == logic.OK
    assert logic.availability(True, True, {"open": False}) == logic.CLOSED
    assert logic.availability(True, True, state) == logic.OK


def test_typed_numbers_are_normalised():
    assert logic.normalize_number("A12") == "A-012"
    assert logic.normalize_number("a-7", 3) == "A-007"
    assert logic.normalize_number("B0012") == "B-012"
    assert logic.normalize_number("C1234") is None
    assert logic.normalize_number("12") is None
    assert logic.normalize_number("A") is None
    assert logic.number_width({"services": [{"last_issued": "A-0012"}], "rateable": []}) == 4
    assert logic.number_width(None, 3) == 3


def test_every_text_has_both_languages_and_nine_ikm_elements():
    from datetime import datetime

    for key, (ind, eng) in texts.TEXTS.items():
        assert ind and eng, key
        assert "antrian" not in ind.lower() and "silahkan" not in ind.lower(), key  # standard spelling
    assert len(texts.IKM_ELEMENTS) == 9
    assert texts.text("waiting", "id", n=3) == "3 orang menunggu"
    assert texts.text("no-such-key") == "no-such-key"
    assert texts.long_date(datetime(2025, 8, 17), "id") == "Minggu, 17 Agustus 2025"


def test_gate_allows_one_command_in_flight_and_retries_with_the_same_request_id(broker):
    office_id = f"t{os.urandom(4).hex()}"
    topics = Topics(office_id)
    watcher = TestClient(broker.url, office_id).start()
    seen: list[dict] = []
    kiosk_topic = topics.command("issue_ticket", "kiosk", f"kiosk-{office_id}")
    watcher.link.subscribe(kiosk_topic, lambda t, p: seen.append(json.loads(p)))
    link = MqttLink(MqttConfig(url=broker.url), topics, f"kiosk-{office_id}", "kiosk")
    link.start()
    try:
        wait_for(link.connected.is_set, what="kiosk link")
        # The watcher's subscription is live once it sees its own probe.
        watcher.publish_raw(kiosk_topic, '{"probe": true}')
        wait_for(lambda: seen, what="the watcher's subscription")
        seen.clear()
        gate = logic.CommandGate(Requester(link), timeout=0.3, attempts=3)
        replies: list = []
        done = threading.Event()
        rid = gate.send("issue_ticket", {"service": "adminduk"}, lambda r: (replies.append(r), done.set()))
        assert rid is not None and gate.busy
        assert gate.send("issue_ticket", {"service": "adminduk"}, replies.append) is None  # the double touch
        assert done.wait(10)
        wait_for(lambda: len(seen) == 3, what="three attempts")
        assert [m["request_id"] for m in seen] == [rid] * 3
        assert [r.code for r in replies] == ["timeout"]
        assert not gate.busy
    finally:
        link.stop()
        watcher.stop()


def test_gate_refuses_at_once_when_offline(broker):
    link = MqttLink(MqttConfig(url=broker.url), Topics("offline"), "kiosk-offline", "kiosk")  # never started
    gate = logic.CommandGate(Requester(link), timeout=5, attempts=3)
    replies: list = []
    done = threading.Event()
    gate.send("issue_ticket", {"service": "adminduk"}, lambda r: (replies.append(r), done.set()))
    assert done.wait(2)
    assert replies[0].code == "offline" and not gate.busy


def test_preview_ticket_cli_writes_a_png(tmp_path):
    from PIL import Image

    out = tmp_path / "ticket.png"
    env = {k: v for k, v in os.environ.items() if k != "ANTRE_CONFIG"}
    r = subprocess.run([sys.executable, "-m", "antre", "kiosk", "--config", str(ROOT / "nonexistent.toml"),
                        "--preview-ticket", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2 and "not found" in r.stderr
    r = subprocess.run([sys.executable, "-m", "antre", "kiosk", "--preview-ticket", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=60, env=env | {"ANTRE_CONFIG": ""})
    assert r.returncode == 0, r.stderr
    with Image.open(out) as img:
        assert img.width == 576 and img.height > 400
