""""Semua urusan saya" end to end: the real ``antre web``, ``antre serve``, mosquitto and gammu-smsd (dummy phone
driver) deliver the one-time code by SMS; Chromium at phone size (390 x 844) types the number and the code and
sees the resident's open items, then signs out. Attacks: someone else's number (no items without its code),
guessing codes (per address, then 429), a used code replayed, the cookie after signing out, code requests from
one address for many numbers, hostile and huge input; the number never in MQTT events, the retained state or
either log."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from antre.rules.complaint_codes import format_complaint_code
from antre_web.follow_texts import ft
from tests.support import free_port, wait_for
from tests.test_sms_gammu import GammuSmsd
from tests.test_web import CHROMIUM, AddrClient, Http, WebProcess, assert_button_look, office_toml, shot, start_noon_office

pytestmark = pytest.mark.skipif(not (shutil.which("gammu-smsd") and shutil.which("gammu")),
                                reason="needs gammu-smsd and gammu (scripts/bootstrap test installs them)")
PHONE_SIZE = {"width": 390, "height": 844}
MINE, OTHER = "081298760001", "081298760002"


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-my-items")
    smsd = GammuSmsd(tmp / "gammu").start()
    port = free_port()
    toml = office_toml(f'port = {port}\nhost = "127.0.0.1"\npublic_url = "http://127.0.0.1:{port}"') + (
        f'\n[notify]\nsms = true\nspool = "{smsd.spool}"\npoll_seconds = 0.1\nretry_seconds = 0.5\n')
    office = start_noon_office(tmp, broker, toml)
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web, office.port, office.smsd = web, port, smsd
    office.shots = tmp / "shots"
    office.shots.mkdir()
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()
    smsd.stop()


def code_for(site, phone: str, count: int = 1) -> str:
    """The code of the ``count``-th SMS sent to ``phone`` by the real daemon."""
    intl = "+62" + phone[1:]
    texts = wait_for(lambda: [t for t in site.smsd.sent_to(intl) if "kode Anda" in t][count - 1:] or None,
                     what=f"code SMS number {count}")
    return re.search(r"kode Anda (\d{6})", texts[0])[1]


def test_a_resident_sees_all_open_items_after_the_sms_code(site):
    from playwright.sync_api import sync_playwright

    c = site.client
    ticket = c.ok("issue_ticket", service="adminduk", channel="web", name="Siti Aminah", phone=MINE)
    c.ok("issue_ticket", service="adminduk", channel="web", name="Budi Santoso", phone=OTHER)
    day = ticket["business_date"]
    slot = next(s["time"] for s in c.ok("booking_slots", service="adminduk", date=day)["slots"]
                if s["free"] and not s["past"])
    booking = c.ok("book", service="adminduk", date=day, slot=slot, name="Siti Aminah", phone=MINE)
    complaint = c.ok("complaint_submit", category="pengaduan", topic="infrastruktur", text="Lampu jalan mati",
                     name="Siti Aminah", phone=MINE, channel="web")
    secret = c.ok("complaint_submit", category="pengaduan", topic="pelayanan", text="Pungutan liar",
                  anonymous=True, channel="web")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            ctx = browser.new_context(viewport=PHONE_SIZE, locale="id-ID")
            page = ctx.new_page()
            page.goto(site.web.url + "/urusan")
            page.fill("#phone", "0812-9876-0001")
            shot(page, site, "urusan-phone")
            page.click("form[action='/urusan'] button[type=submit]")
            page.wait_for_selector("#code")
            assert "0812" not in page.locator("#sent").inner_text() or "*" in page.locator("#sent").inner_text()
            shot(page, site, "urusan-code")
            assert_button_look(page.locator("#new-code"))
            assert page.locator("#new-code").get_attribute("href") == "/urusan"
            page.fill("#code", code_for(site, MINE))
            page.click("form[action='/urusan/masuk'] button[type=submit]")
            page.wait_for_selector("#items")
            cookie = next(k for k in ctx.cookies() if k["name"] == "antre_urusan")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/urusan"
            text = page.locator("#items").inner_text()
            bc = booking["code"]
            assert ticket["number"] in text and f"{bc[:3]}-{bc[3:6]}-{bc[6:]}" in text and bc not in text
            assert format_complaint_code(complaint["code"]) in text
            assert format_complaint_code(secret["code"]) not in text and "Budi" not in text
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
            shot(page, site, "urusan-list")
            # The list follows the queue (the page asks every 30 s; here the JSON it reads).
            c.ok("call_next", counter="loket-1")
            data = page.evaluate("fetch('/urusan/data').then(r => r.json())")
            assert any(i["shown"] == ticket["number"] and "Dipanggil" in i["status"] for i in data["items"])
            page.click("#logout")
            page.wait_for_selector("#problem")
            assert page.locator("#problem").inner_text() == ft("my_ended")
            assert not [k for k in ctx.cookies() if k["name"] == "antre_urusan"]
            # The browser's Back button after signing out (a shared phone, an internet cafe): the list is not
            # shown from the cache (no-store), the page is asked again and has nothing to show.
            page.go_back()
            page.wait_for_load_state()
            assert page.url.endswith("/urusan") and page.locator("#items").count() == 0
            assert ticket["number"] not in page.content()
            shot(page, site, "urusan-ended")
        finally:
            browser.close()
    # After signing out the old token opens nothing, from any browser.
    stolen = AddrClient(site.port, "127.0.0.21", {"antre_urusan": cookie["value"]})
    assert stolen.request("GET", "/urusan/data").status == 401
    assert "items" not in stolen.request("GET", "/urusan").text or ft("my_expired") in stolen.request("GET", "/urusan").text
    # The number never reached MQTT or either log.
    for digits in (MINE[1:], "62" + MINE[1:]):
        assert digits not in json.dumps(c.events) and digits not in json.dumps(c.states)
        assert digits not in site.service.output() and digits not in site.web.output()


def test_someone_elses_number_brute_force_and_replay(site):
    victim, attacker = AddrClient(site.port, "127.0.0.31"), AddrClient(site.port, "127.0.0.32")
    site.client.ok("issue_ticket", service="adminduk", channel="web", name="Ani Lestari", phone=OTHER)
    # The attacker asks a code for the victim's number: the answer is the same as for any number ...
    form = attacker.request("GET", "/urusan")
    page = attacker.request("POST", "/urusan", {"csrf": form.csrf(), "phone": OTHER, "rid": form.rid()})
    assert page.status == 200 and 'id="code"' in page.text
    real = code_for(site, OTHER)
    # ... and guessing it fails, then the address is stopped before the code could be found.
    wrong = [f"{(int(real) + k) % 10 ** 6:06d}" for k in range(1, 13)]
    statuses = []
    for guess in wrong:
        r = attacker.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": OTHER, "code": guess})
        statuses.append(r.status)
        assert "antre_urusan" not in attacker.cookies
    assert statuses[:5] == [400] * 5 and statuses[-1] == 429
    # The code was burnt by the wrong tries: even the right one does not open it now.
    r = victim.request("POST", "/urusan/masuk", {"csrf": victim.request("GET", "/urusan").csrf(), "phone": OTHER,
                                                 "code": real})
    assert r.status == 400 and "antre_urusan" not in victim.cookies
    # A fresh code opens it once; the same code replayed (another browser) does not.
    form = victim.request("GET", "/urusan")
    victim.request("POST", "/urusan", {"csrf": form.csrf(), "phone": OTHER, "rid": form.rid()})
    fresh = code_for(site, OTHER, count=2)
    ok = victim.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": OTHER, "code": fresh})
    assert ok.status == 303 and "antre_urusan" in victim.cookies
    assert "Ani" not in victim.request("GET", "/urusan").text     # items, never the name
    replay = AddrClient(site.port, "127.0.0.33")
    f3 = replay.request("GET", "/urusan")
    again = replay.request("POST", "/urusan/masuk", {"csrf": f3.csrf(), "phone": OTHER, "code": fresh})
    assert again.status == 400 and "antre_urusan" not in replay.cookies


def test_many_numbers_from_one_address_and_hostile_input(site):
    flood = AddrClient(site.port, "127.0.0.41")
    form = flood.request("GET", "/urusan")
    for bad in ("<script>alert(1)</script>", "9" * 5000, "08123", ""):
        r = flood.request("POST", "/urusan", {"csrf": form.csrf(), "phone": bad, "rid": form.rid()})
        assert r.status == 400 and "<script>alert" not in r.text
    assert flood.request("POST", "/urusan", {"phone": MINE}).status == 403            # no CSRF token
    statuses = []
    for i in range(7):
        f = flood.request("GET", "/urusan")
        statuses.append(flood.request("POST", "/urusan", {"csrf": f.csrf(), "phone": f"0813111100{i:02d}",
                                                          "rid": f.rid()}).status)
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
    other = AddrClient(site.port, "127.0.0.42")
    f = other.request("GET", "/urusan")
    assert other.request("POST", "/urusan", {"csrf": f.csrf(), "phone": "081311110099", "rid": f.rid()}).status == 200


def test_without_sms_the_page_says_to_follow_items_by_code(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-no-sms")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(f'port = {port}\nhost = "127.0.0.1"\nclient_id = "web-no-sms"'))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    try:
        web.wait_ready()
        h = Http(web.url)
        page = h.get("/urusan")
        assert ft("my_sms_off") in page.text and 'href="/cek"' in page.text and 'id="phone"' not in page.text
    finally:
        web.stop()
        office.client.stop()
        office.service.stop()


def test_one_session_from_many_addresses_cannot_keep_the_service_busy(site):
    """items_list reads every open item and hashes its number on the service's writer (which every device waits
    for): one session's cookie replayed from many addresses (each under its own page limit) is held to
    LIST_PER_MINUTE lists a minute; the page itself asks every 30 s."""
    from antre_web.my_items import LIST_PER_MINUTE

    phone = "081298760077"
    c = AddrClient(site.port, "127.0.0.71")
    # (Another test's website on this broker may just have pushed ours off for a moment: wait for its form.)
    form = wait_for(lambda: (lambda p: p if 'name="csrf"' in p.text else None)(c.request("GET", "/urusan")),
                    what="the /urusan form")
    c.request("POST", "/urusan", {"csrf": form.csrf(), "phone": phone, "rid": form.rid()})
    ok = c.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": phone, "code": code_for(site, phone)})
    assert ok.status == 303
    cookie = {"antre_urusan": c.cookies["antre_urusan"]}
    statuses = [AddrClient(site.port, f"127.0.1.{i}", cookie).request("GET", "/urusan/data" if i % 2 else "/urusan")
                .status for i in range(LIST_PER_MINUTE + 3)]
    assert statuses[:LIST_PER_MINUTE] == [200] * LIST_PER_MINUTE and set(statuses[LIST_PER_MINUTE:]) == {429}
    # Another resident's session is not held up by it.
    other = "081298760078"
    d = AddrClient(site.port, "127.0.0.72")
    form = d.request("GET", "/urusan")
    d.request("POST", "/urusan", {"csrf": form.csrf(), "phone": other, "rid": form.rid()})
    assert d.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": other,
                                               "code": code_for(site, other)}).status == 303
    assert d.request("GET", "/urusan/data").status == 200


def test_wrong_codes_from_many_addresses_do_not_lock_every_resident_out(site):
    """The website's cap on wrong codes from all addresses together (300 in 10 minutes) let 30 addresses, typing
    any number with any code, stop every resident from confirming, again and again. Guessing is bounded by the
    service (a code dies after 5 tries; codes cost SMS and are capped per number and office-wide), so the
    website counts wrong codes per address only."""
    from antre_web.security import GuessLimit

    per_address = GuessLimit().per_address
    for a in range(31):
        g = AddrClient(site.port, f"127.0.2.{a}")
        form = wait_for(lambda: (lambda p: p if 'name="csrf"' in p.text else None)(g.request("GET", "/urusan")),
                        what="the /urusan form")
        for i in range(per_address):
            r = g.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": f"0857{a:02d}{i:06d}",
                                                    "code": "000000"})
            assert r.status == 400, (a, i, r.status)
        assert g.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": "085700000001",
                                                   "code": "000000"}).status == 429   # this address: stopped
    phone = "081298760088"
    c = AddrClient(site.port, "127.0.0.81")
    form = c.request("GET", "/urusan")
    c.request("POST", "/urusan", {"csrf": form.csrf(), "phone": phone, "rid": form.rid()})
    ok = c.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": phone, "code": code_for(site, phone)})
    assert ok.status == 303 and "antre_urusan" in c.cookies


def test_a_number_with_more_items_than_fit_is_told_how_many_more(site):
    """items_list answers the items that fit in one message and how many more (anyone may type a number on the
    forms): the page lists those and says how many are not shown, instead of failing."""
    phone = "081298760099"
    for i in range(700):
        site.client.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                       text=f"Laporan {i}: lampu jalan mati.", name="Siti Aminah", phone=phone)
    c = AddrClient(site.port, "127.0.0.91")
    form = wait_for(lambda: (lambda p: p if 'name="csrf"' in p.text else None)(c.request("GET", "/urusan")),
                    what="the /urusan form")
    c.request("POST", "/urusan", {"csrf": form.csrf(), "phone": phone, "rid": form.rid()})
    ok = c.request("POST", "/urusan/masuk", {"csrf": form.csrf(), "phone": phone, "code": code_for(site, phone)})
    assert ok.status == 303
    page = c.request("GET", "/urusan")
    assert page.status == 200 and 'id="items"' in page.text
    shown = page.text.count('class="card"')
    more = re.search(r'id="items-more">Ada (\d+) urusan lain', page.text)
    assert more and 0 < shown < 700 and int(more[1]) == 700 - shown
