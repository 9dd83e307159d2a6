"""Device trouble staff must see: a kiosk printer switched off and out of paper, a counter device killed.

Real parts: ``antre serve``, ``antre kiosk`` and ``antre display`` on Xvfb, ``antre counter``
(keyboard mode), ``antre web`` with a staff login, and a network printer stand-in that is switched
off and on again at the same address. The staff page must list the trouble at once (top of the
page, in Indonesian), the TV must show its discreet marker, and both must clear when the trouble
is gone; the kiosk must notice a printer that is back within its check interval. Screenshots of
the TV and the staff page are written to the test's folder (and ``$ANTRE_SHOTS_DIR``).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import start_office
from tests.faults.conftest import COUNTERS, SERVICES
from antre.ops.devtools import stop_process
from tests.support import ROOT, TcpPrinter, free_port, wait_for
from tests.test_web import CHROMIUM, PASSWORD, Http, WebProcess
from antre_web.security import hash_pin

pytestmark = [pytest.mark.timeout(300), pytest.mark.gui]
CHECK_SECONDS = 2   # [kiosk] printer_check_seconds in this test (15 by default)


def app(name: str, config: Path, log: Path, extra=(), env=None):
    return subprocess.Popen([sys.executable, "-m", "antre", name, "--config", str(config), *extra], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            env=os.environ | (env or {}))


def health_section(page_text: str) -> str:
    """The staff page's device-health section as plain text."""
    m = re.search(r'<section id="health".*?</section>', page_text, re.S)
    assert m, "no device-health section on the staff page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m[0])).split())


def alerts(page_text: str) -> list[str]:
    m = re.search(r'<ul class="health-alerts" role="alert">(.*?)</ul>', page_text, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", li)).split())
            for li in re.findall(r"<li[^>]*>(.*?)</li>", m[1], re.S)] if m else []


def keep(path: Path) -> Path:
    extra = os.environ.get("ANTRE_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def test_printer_and_counter_trouble_on_the_staff_page_and_the_tv(tmp_path, broker, xvfb):
    port, web_port = free_port(), free_port()
    printer = TcpPrinter(port=port)
    extra = f"""
[kiosk]
printer = "tcp://127.0.0.1:{port}"
print_timeout = 2.0
printer_check_seconds = {CHECK_SECONDS}

[web]
port = {web_port}
host = "127.0.0.1"
staff_password_hash = "{hash_pin(PASSWORD)}"
"""
    office = start_office(tmp_path, broker, services=SERVICES, counters=COUNTERS, extra=extra)
    procs = []
    try:
        ui_dump = tmp_path / "display-ui.json"
        gui = xvfb.env() | {"KIVY_NO_ARGS": "1"}
        kiosk = app("kiosk", office.config_path, tmp_path / "kiosk.log", ["--windowed", "--size", "800x600"], gui)
        display = app("display", office.config_path, tmp_path / "display.log",
                      ["--windowed", "--size", "1280x720", "--no-voice"], gui | {"ANTRE_UI_DUMP": str(ui_dump)})
        counter = app("counter", office.config_path, tmp_path / "counter.log", ["--keyboard", "loket-1"])
        web = WebProcess(office.config_path, web_port, tmp_path / "web.log")
        procs += [kiosk, display, counter, web.proc]
        web.wait_ready()

        def tv() -> dict:
            try:
                return json.loads(ui_dump.read_text())
            except (FileNotFoundError, ValueError):
                return {}

        h = Http(web.url)
        login = h.get("/staf")
        assert h.post("/staf/masuk", {"csrf": login.csrf(), "password": PASSWORD}).status == 200

        def staff() -> str:
            return h.get("/staf").text

        # All four devices and the service report; nothing needs a person.
        wait_for(lambda: all(k in health_section(staff()) for k in ("Server antrean", "Kios", "Tombol loket Loket 1",
                                                                      "Layar TV", "Aktif, printer siap")), 90,
                 "every device on the staff page")
        page = staff()
        assert alerts(page) == [] and "Semua perangkat baik." in health_section(page)
        wait_for(lambda: tv().get("attention") == "" and tv().get("counters"), 60, "the TV without a marker")

        # The printer is switched off and the counter device dies.
        printer.close()
        counter.send_signal(signal.SIGKILL)
        found = wait_for(lambda: len(a := alerts(staff())) == 2 and a, 60, "two alerts on the staff page")
        (tmp_path / "staff-debug.html").write_text(staff())
        assert any(a.startswith("Kios") and "Printer tidak terhubung" in a for a in found), found
        assert any(a.startswith("Tombol loket Loket 1") and "Tidak aktif" in a for a in found), found
        wait_for(lambda: tv().get("attention") == "Perlu petugas (2)", 30, "the TV marker")
        assert next(c for c in tv()["counters"] if c["id"] == "loket-1")["status"] == "offline"
        shots = shoot(tmp_path, xvfb, tv, web, "trouble")

        # Paper in, but out of paper: a different problem, in the kiosk's own words.
        printer = TcpPrinter(paper=0x72, port=port)     # DLE EOT 4: paper end
        wait_for(lambda: any("Kertas" in a for a in alerts(staff())), 60, "'paper out' on the staff page")

        # Paper loaded: the kiosk notices within its check interval, staff page and TV follow.
        printer.close()
        back = time.monotonic()
        printer = TcpPrinter(port=port)
        wait_for(lambda: len(alerts(staff())) == 1, 60, "the printer alert gone")
        noticed = time.monotonic() - back
        wait_for(lambda: tv().get("attention") == "Perlu petugas (1)", 30, "the TV marker for the counter alone")
        print(f"\nprinter back: noticed by the kiosk and gone from the staff page after {noticed:.1f} s "
              f"(check every {CHECK_SECONDS} s when in trouble, print_timeout 2 s); screenshots: "
              f"{', '.join(str(s) for s in shots)}")
    finally:
        for p in procs:
            stop_process(p)
        printer.close()
        office.client.stop()
        office.service.stop()


def shoot(tmp_path: Path, xvfb, tv, web, name: str) -> list[Path]:
    """The TV window (cropped from the screen) and the staff page in Chromium, once each is drawn."""
    from PIL import Image

    frames = tv()["frames"]
    wait_for(lambda: tv().get("frames", 0) >= frames + 2, 30, "two more frames on the TV")
    full = xvfb.screenshot(tmp_path / f"screen-{name}.png")
    board = tmp_path / f"tv-{name}.png"
    Image.open(full).convert("RGB").crop((0, 0, 1280, 720)).save(board)
    staff = tmp_path / f"staff-{name}.png"
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_context(viewport={"width": 1000, "height": 900}, locale="id-ID").new_page()
            page.goto(web.url + "/staf")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#health")
            page.screenshot(path=str(staff), full_page=False)
        finally:
            browser.close()
    return [keep(board), keep(staff)]
