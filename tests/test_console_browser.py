"""The staff console in a real headless Chromium (Playwright, Debian's chromium): sign in, operate the virtual
counter by mouse and keyboard, watch the retained state (what the TV shows) change, see an alert when a kiosk's
printer goes offline, bring back a no-show and call a number; the audit log records each press. And the
attacks that need the whole chain: a counter user operating another counter, presses during an outage.

Screenshots at phone size (390 x 844) go to the test's tmp_path (and to ``$ANTRE_SHOTS_DIR`` when set).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import antre_web.console  # noqa: F401 (adds the console's words to antre_web.texts)
from antre.link.protocol import status_payload
from tests.support import ROOT, wait_for
from tests.test_console import Console, shows, sign_in
from tests.test_web import CHROMIUM, AddrClient
from antre_web import texts

T = texts.text
BUDI = "teh hangat sore hari"
ANI = "nasi goreng malam ini"


def staff_add(console: Console, name: str, role: str, password: str, counters: str = "") -> None:
    """``antre staff add`` as the installer would run it on the server."""
    args = [sys.executable, "-m", "antre", "staff", "--config", str(console.office.config_path), "add", name,
            "--role", role, "--full-name", name.title()] + (["--counters", counters] if counters else [])
    done = subprocess.run(args, input=password + "\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr


def shot(page, tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    extra = os.environ.get("ANTRE_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(extra) / out.name)


@pytest.fixture
def console(tmp_path, broker):
    c = Console(tmp_path, broker)
    staff_add(c, "siti", "admin", "kopi manis pagi hari")
    staff_add(c, "budi", "petugas", BUDI, "loket-1")
    staff_add(c, "ani", "kasi", ANI, "loket-2")
    yield c
    c.stop()


def audit(console: Console) -> list[tuple]:
    with sqlite3.connect(console.db) as db:
        return db.execute("select actor, action, subject, device, detail from audit_log "
                          "where action like 'counter.%' order by id").fetchall()


def serving(console: Console, counter: str):
    state = console.office.client.state() or {}
    c = next((c for c in state.get("counters", []) if c["id"] == counter), {})
    return (c.get("serving") or {}).get("number"), c.get("status")


def test_virtual_counter_in_a_phone_browser(console, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    client = console.office.client
    for _ in range(3):
        client.ok("issue_ticket", service="adminduk")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1,
                                      is_mobile=True, has_touch=True, locale="id-ID")
            page = ctx.new_page()
            # The Kasi Pelayanan's overview, on a phone: nothing wider than the screen (issue 16, finding 8).
            page.goto(console.web.url + "/staf")
            page.fill("#name", "ani")
            page.fill("#password", ANI)
            page.click("form.console-login button[type=submit]")
            expect(page.locator("#signed-in-as")).to_contain_text("Ani")
            shot(page, tmp_path, "console-home-phone")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            for table in ("#services", "#counters"):
                assert page.evaluate(f"document.querySelector('{table}').getBoundingClientRect().width") <= 390
            # The small "Matikan" buttons: white on blue, readable.
            color = page.evaluate("getComputedStyle(document.querySelector('#toggle-remote-adminduk')).color")
            assert color == "rgb(255, 255, 255)", color
            page.click("#toggle-remote-adminduk")
            expect(page.locator("#toggle-remote-adminduk")).to_have_text(T("turn_on"))
            page.click("#toggle-remote-adminduk")
            expect(page.locator("#toggle-remote-adminduk")).to_have_text(T("turn_off"))
            # The weekly settings and the audit log fit the phone too.
            for path, name in (("/staf/kantor", "console-office-phone"), ("/staf/audit", "console-audit-phone")):
                page.goto(console.web.url + path)
                expect(page.locator("#signed-in-as")).to_contain_text("Ani")
                shot(page, tmp_path, name)
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
            expect(page.locator("#audit")).to_contain_text("office.set_web")
            page.click("#logout")

            page.fill("#name", "budi")
            page.fill("#password", BUDI)
            page.click("form.console-login button[type=submit]")
            expect(page.locator("#signed-in-as")).to_contain_text("Budi")
            # A petugas sees the board but not the kasi's switches, running text or reports.
            assert page.locator("#toggle-remote-adminduk").count() == 0
            assert page.locator("textarea[name=text]").count() == 0

            page.click("text=" + T("c_nav_counter"))
            page.wait_for_url("**/staf/loket")
            expect(page.locator("#serving")).to_have_text("—")
            expect(page.locator("#waiting")).to_contain_text("A-001")
            page.click("#key-next")
            expect(page.locator("#serving")).to_have_text("A-001")
            wait_for(lambda: serving(console, "loket-1") == ("A-001", "serving"), what="the TV's state: A-001")
            shot(page, tmp_path, "console-counter-phone")

            # Keyboard: S marks no-show, then N calls the next; the no-show can be brought back.
            page.keyboard.press("s")
            expect(page.locator("#sent")).to_have_text(T("v_sent_skip"))
            expect(page.locator("#serving")).to_have_text("—")
            page.keyboard.press("n")
            expect(page.locator("#serving")).to_have_text("A-002")
            wait_for(lambda: serving(console, "loket-1") == ("A-002", "serving"), what="the TV's state: A-002")
            page.select_option("#back-number", "A-001")
            page.click("#bring-back button")
            expect(page.locator("#serving")).to_have_text("A-001")
            wait_for(lambda: serving(console, "loket-1") == ("A-001", "serving"), what="A-001 back")
            # Call a specific number (A-003, out of turn) by typing it.
            page.fill("#number", "a3")
            page.click("#call-number button")
            expect(page.locator("#serving")).to_have_text("A-003")
            page.fill("#number", "A-999")
            page.click("#call-number button")
            expect(page.locator("#problem")).to_have_text(T("v_err_ticket_not_waiting"))
            page.keyboard.press("d")
            expect(page.locator("#serving")).to_have_text("—")
            wait_for(lambda: serving(console, "loket-1") == (None, "idle"), what="loket-1 idle")

            # A kiosk's printer goes offline: an alert on top of every console page.
            kiosk_topic = client.topics.status("kiosk", "kiosk-7")
            client.link.publish(kiosk_topic, status_payload("kiosk", "kiosk-7", True, printer="offline",
                                                            printer_message="Printer tidak tersambung."),
                                retain=True)
            wait_for(lambda: (page.reload() or True) and page.locator("#alerts").count() > 0,
                     what="the printer alert on the console")
            expect(page.locator("#alerts")).to_contain_text("Printer tidak tersambung")
            shot(page, tmp_path, "console-alert-phone")
            page.goto(console.web.url + "/staf")
            expect(page.locator("#alerts")).to_contain_text("Printer tidak tersambung")
            client.link.publish(kiosk_topic, b"", retain=True)
            ctx.close()
        finally:
            browser.close()

    rows = audit(console)
    assert [(a, act, subj) for a, act, subj, *_ in rows] == [
        ("budi", "counter.call_next", "loket-1"), ("budi", "counter.skip", "loket-1"),
        ("budi", "counter.call_next", "loket-1"), ("budi", "counter.bring_back", "loket-1"),
        ("budi", "counter.call_number", "loket-1"), ("budi", "counter.complete", "loket-1")]
    assert json.loads(rows[3][4]) == {"number": "A-001", "ticket": "A-001"}
    assert all(device.startswith("web 127.") for *_, device, _ in rows)
    with sqlite3.connect(console.db) as db:
        switches = db.execute("select actor, action, subject, detail from audit_log where action = 'office.set_web'"
                              " order by id").fetchall()
    assert switches == [("ani", "office.set_web", "adminduk", '{"remote": false}'),
                        ("ani", "office.set_web", "adminduk", '{"remote": true}')]


def test_a_counter_user_cannot_operate_another_counter(console):
    client = console.office.client
    client.ok("issue_ticket", service="surat")
    budi = AddrClient(console.port, "127.0.30.1")
    assert sign_in(budi, "budi", BUDI).status == 303
    page = budi.request("GET", "/staf/loket")
    assert page.status == 200 and 'data-counter="loket-1"' in page.text
    # Not shown, and refused when sent anyway.
    assert budi.request("GET", "/staf/loket?loket=loket-2").status == 403
    forged = budi.request("POST", "/staf/loket/tekan", {"csrf": page.csrf(), "rid": "0" * 32,
                                                       "counter": "loket-2", "action": "next"})
    assert forged.status == 403 and shows(forged, "v_not_yours")
    assert serving(console, "loket-2") == (None, "idle")
    # Even straight to the service with budi's session (a page that let it through): forbidden.
    assert client.error("call_next", counter="loket-2", session=budi.cookies["antre_staff"]) == "forbidden"
    # Without a session the website's login may not press any counter's button at all.
    web = console.office.client.__class__(console.office.broker.url, console.office.office_id, client_id="web-x",
                                          component="web").start()
    try:
        assert web.error("call_next", counter="loket-1") == "forbidden"
    finally:
        web.stop()
    assert audit(console) == []


def test_presses_during_an_outage_are_refused_never_replayed(console):
    client = console.office.client
    client.ok("issue_ticket", service="adminduk")
    budi = AddrClient(console.port, "127.0.31.1")
    assert sign_in(budi, "budi", BUDI).status == 303
    page = budi.request("GET", "/staf/loket")
    console.office.service.stop()
    wait_for(lambda: 'id="offline"' in budi.request("GET", "/staf/loket").text, what="the page to say offline")
    offline = budi.request("GET", "/staf/loket")
    assert re.search(r'id="key-next"[^>]*disabled', offline.text)
    refused = budi.request("POST", "/staf/loket/tekan", {"csrf": page.csrf(), "rid": "1" * 32,
                                                        "counter": "loket-1", "action": "next"})
    assert refused.status == 303 and refused.headers["Location"].endswith("err=offline")
    assert shows(budi.request("GET", refused.headers["Location"]), "v_err_offline")
    console.office.service.start()
    wait_for(lambda: 'id="offline"' not in budi.request("GET", "/staf/loket").text, what="the service back")
    # Nothing was called, then or later.
    client.wait_state(lambda s: True)
    assert serving(console, "loket-1") == (None, "idle")
    assert audit(console) == []
    # Pressed again by the person, now it is sent: once.
    again = budi.request("GET", "/staf/loket")
    sent = budi.request("POST", "/staf/loket/tekan", {"csrf": again.csrf(), "rid": again.rid(),
                                                     "counter": "loket-1", "action": "next"})
    assert sent.headers["Location"].endswith("ok=next")
    repeat = budi.request("POST", "/staf/loket/tekan", {"csrf": again.csrf(), "rid": again.rid(),
                                                       "counter": "loket-1", "action": "next"})
    assert repeat.headers["Location"].endswith("ok=next")   # the same form twice: the same press
    wait_for(lambda: serving(console, "loket-1")[0] == "A-001", what="A-001 called")
    assert len(audit(console)) == 1
