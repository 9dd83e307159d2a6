"""``/cek`` follows every code through the real ``antre web``, ``antre serve`` and mosquitto: a queue number, a
booking code (its own page, live until the check-in, then the ticket), a letter's and a report's code, typed
with spaces, dashes and in lower case. Attacks: well-formed codes that were never issued (counted per address;
past the service's budget per address they are refused, while another address still gets its answers), mistyped check digits
(answered at once, never counted), script and huge input. Chromium at phone size (390 x 844) for the pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import pytest

from antre.link.protocol import new_booking_code
from antre.service.server import ADDRESS_MISSES
from antre.rules.complaint_codes import format_complaint_code, new_complaint_code
from antre.rules.letter_codes import new_tracking_code
from antre_web.follow import read_code
from antre_web.follow_texts import ft
from tests.support import free_port, wait_for
from tests.test_letters import domisili
from tests.test_web import CHROMIUM, AddrClient, Http, WebProcess, assert_button_look, office_toml, shot, start_noon_office

PHONE_SIZE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-follow")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(f'port = {port}\nhost = "127.0.0.1"'))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.port = port
    office.shots = tmp / "shots"
    office.shots.mkdir()
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def _slot_soon(site) -> tuple[str, str]:
    """Today's first free slot at least 15 minutes ahead (office time), as (date, "HH:MM")."""
    day = site.client.ok("web_info")["business_date"]
    for s in site.client.ok("booking_slots", service="adminduk", date=day)["slots"]:
        if s["free"] and not s["past"]:
            return day, s["time"]
    raise AssertionError("no free slot today")


def test_read_code_is_forgiving_and_strict():
    booking, letter, complaint = new_booking_code(), new_tracking_code(), new_complaint_code()
    assert read_code(f" {booking[:3]} {booking[3:6]}-{booking[6:]} ") == ("booking", booking)
    assert read_code(f"{letter[:4]}.{letter[4:8]}/{letter[8:]}") == ("letter", letter)
    assert read_code(format_complaint_code(complaint).lower()) == ("complaint", complaint)
    assert read_code("a - 12") == ("ticket", "A12")
    bad = booking[:-1] + str((int(booking[-1]) + 1) % 10)
    assert read_code(bad)[0] == "typo"
    assert read_code("12345")[0] is None and read_code("<script>")[0] is None and read_code("x" * 10_000)[0] is None


def test_every_kind_of_code_reaches_its_live_page(site):
    h = Http(site.web.url)
    t = site.client.ok("issue_ticket", service="adminduk")
    number = t["number"]
    assert h.get("/cek?kode=" + quote(number.lower().replace('-', ' '))).url.endswith(f"/status/{t['business_date']}/{number}")
    # A booking: its own page (no name, no phone), refreshed each minute until the check-in.
    day, slot = _slot_soon(site)
    b = site.client.ok("book", service="adminduk", date=day, slot=slot, name="Siti Aminah", phone="081234567001")
    code = b["code"]
    page = h.get("/cek?kode=" + quote(f"{code[:3]} {code[3:6]}-{code[6:]}"))
    assert page.status == 200 and page.url.endswith(f"/janji/kode/{code}")
    assert 'http-equiv="refresh"' in page.text and "Siti" not in page.text and "081234567001" not in page.text
    assert ft("bk_cancel") in page.text
    grouped = f"{code[:3]}-{code[3:6]}-{code[6:]}"                 # shown so, and read back when typed so
    assert f'id="code">{grouped}<' in page.text and h.get(f"/cek?kode={grouped}").url.endswith(f"/janji/kode/{code}")
    # A letter and a report, typed as residents type them.
    lc = site.client.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    assert h.get(f"/cek?kode={lc[:4]}-{lc[4:8]}-{lc[8:]}").url.endswith(f"/surat/status/{lc}")
    c = site.client.ok("complaint_submit", category="pengaduan", topic="pelayanan", text="Antrean lama sekali",
                       anonymous=True, channel="web")
    assert h.get("/cek?kode=" + quote(format_complaint_code(c["code"]).lower())).url.endswith(f"/pengaduan/{c['code']}")
    # The old /lacak address reads the same way.
    assert h.get(f"/lacak?kode={code}").url.endswith(f"/janji/kode/{code}")


def test_a_checked_in_booking_leads_to_its_ticket(site):
    h = Http(site.web.url)
    day, slot = _slot_soon(site)
    b = site.client.ok("book", service="adminduk", date=day, slot=slot, name="Ani Lestari", phone="081234567002")
    reply = site.client.request("check_in", code=b["code"], channel="kiosk")
    if not reply.ok:
        pytest.skip(f"check-in not open for the slot {slot}: {reply.code}")
    page = h.get(f"/janji/kode/{b['code']}")
    number = reply.result["number"]
    assert ft("bk_checked_in", number=number) in page.text and f"/status/{day}/{number}" in page.text
    assert 'http-equiv="refresh"' not in page.text


def test_wrong_codes_are_answered_plainly_and_limited_per_address(site):
    guesser = AddrClient(site.port, "127.0.0.7")
    other = AddrClient(site.port, "127.0.0.8")
    # Script and huge input: a plain answer, nothing echoed as markup.
    page = guesser.request("GET", "/cek?kode=" + quote('<script>alert(1)</script>'))
    assert page.status == 400 and "<script>alert" not in page.text and ft("cek_unknown") in page.text
    page = guesser.request("GET", "/cek?kode=" + "9" * 5000)
    assert page.status == 400 and len(page.text) < 20_000
    # A mistyped check digit: answered at once, never counted.
    good = new_booking_code()
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    for _ in range(15):
        page = guesser.request("GET", f"/cek?kode={typo}")
        assert page.status == 400 and ft("cek_typo") in page.text
    # Well-formed codes that were never issued: counted by the service per address (with the letter and
    # report pages), answered "not registered" until the budget is spent, then refused in plain words.
    for i in range(ADDRESS_MISSES):
        code = [new_booking_code, new_tracking_code, new_complaint_code][i % 3]()
        page = guesser.request("GET", f"/cek?kode={code}")
        assert page.status == 404 and ft("cek_not_found") in page.text, (i, page.status)
    refused = guesser.request("GET", f"/cek?kode={new_booking_code()}")
    assert refused.status == 429 and ft("cek_too_many", minutes=10) in refused.text
    assert guesser.request("GET", f"/janji/kode/{new_booking_code()}").status == 429
    assert guesser.request("GET", f"/pengaduan/{new_complaint_code()}").status == 429   # one budget for all pages
    # Another address is not punished for it.
    assert other.request("GET", f"/cek?kode={new_booking_code()}").status == 404


def test_cek_and_booking_pages_at_phone_size(site):
    from playwright.sync_api import sync_playwright

    day, slot = _slot_soon(site)
    b = site.client.ok("book", service="adminduk", date=day, slot=slot, name="Dewi Sartika", phone="081234567003")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page(viewport=PHONE_SIZE, locale="id-ID")
            page.goto(site.web.url + "/cek")
            assert page.evaluate("navigator.language") == "id-ID"          # as an Indonesian phone would show it
            page.fill("#kode", f"{b['code'][:5]} {b['code'][5:]}")
            shot(page, site, "follow-cek")
            page.click("form button[type=submit]")
            page.wait_for_url("**/janji/kode/*")
            c = b["code"]
            assert page.locator("#code").inner_text() == f"{c[:3]}-{c[3:6]}-{c[6:]}"   # grouped for reading aloud
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
            shot(page, site, "follow-booking")
            cancel = page.locator("#cancel-link")                  # a button to the cancel form (GET, no change)
            assert_button_look(cancel)
            assert cancel.inner_text() == ft("bk_cancel") and cancel.get_attribute("href") == f"/janji/batal?kode={c}"
            page.goto(site.web.url + "/cek?kode=12345")
            assert page.locator("#problem").inner_text() == ft("cek_unknown")
            shot(page, site, "follow-unknown")
        finally:
            browser.close()


def test_followed_codes_never_reach_the_access_log(site):
    """The access log hides ``?kode=`` but /cek sends the resident on to a page with the code in its path
    (/janji/kode/<booking>, /surat/status/<letter>, /pengaduan/<report>): the code is its holder's key (a booking
    code checks in), so it must not be written there either."""
    h = Http(site.web.url)
    day, slot = _slot_soon(site)
    code = site.client.ok("book", service="adminduk", date=day, slot=slot, name="Rina", phone="081234567003")["code"]
    lc = site.client.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    cc = site.client.ok("complaint_submit", category="aspirasi", topic="pelayanan", text="Tambah kursi",
                        anonymous=True, channel="web")["code"]
    for typed, page in ((code, f"/janji/kode/{code}"), (lc, f"/surat/status/{lc}"), (cc, f"/pengaduan/{cc}")):
        assert h.get(f"/cek?kode={typed}").url.endswith(page)
        assert h.get(page).status == 200
    wait_for(lambda: "/cek?kode=***" in site.web.output() and site.web.output().count("GET /janji/kode/") >= 3,
             what="the access log lines")
    log = site.web.output()
    assert "GET /janji/kode/*** " in log and "GET /surat/status/*** " in log and "GET /pengaduan/*** " in log
    for secret in (code, lc, cc):
        assert secret not in log


def test_a_forged_forwarded_for_does_not_reset_the_budget(site):
    """Only the reverse proxy on 127.0.0.1 is believed about X-Forwarded-For / X-Real-IP / Forwarded: a guesser
    elsewhere naming a new address in every request is still counted as itself."""
    import http.client

    def get(path: str, n: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30, source_address=("127.0.0.61", 0))
        try:
            conn.request("GET", path, headers={"X-Forwarded-For": f"203.0.113.{n}", "X-Real-IP": f"203.0.113.{n}",
                                               "Forwarded": f"for=203.0.113.{n}"})
            r = conn.getresponse()
            r.read()
            return r.status
        finally:
            conn.close()

    statuses = [get(f"/cek?kode={new_booking_code()}", i) for i in range(ADDRESS_MISSES + 2)]
    assert statuses[:ADDRESS_MISSES] == [404] * ADDRESS_MISSES and statuses[ADDRESS_MISSES:] == [429, 429]


def test_a_phone_number_typed_into_cek_stays_out_of_the_service_log(site):
    """Residents type their phone number into 'Cek status'. A 10-digit number (0811-234-567x) has a booking
    code's shape, and one in ten passes its check digit: it was asked as booking_status and the service logged
    'no booking with code 08112345678' -- a phone number in a log. The refusal names no code."""
    from antre.link.protocol import booking_code_ok

    phone = next(p for p in (f"081123456{d}" for d in range(10)) if booking_code_ok(p))
    h = Http(site.web.url)
    assert h.get(f"/cek?kode={phone[:4]}-{phone[4:7]}-{phone[7:]}").status == 404
    assert h.get(f"/janji/kode/{phone}").status == 404
    wait_for(lambda: site.service.output().count("booking_status from") >= 2 or None, what="the refusals logged")
    assert phone not in site.service.output() and phone not in site.web.output()


CHEAP_PHONE = {"width": 360, "height": 640}


def test_every_kind_of_code_typed_into_cek_on_a_cheap_phone(site):
    """A resident on a 360-px Android types each kind of code into /cek as printed (with its dashes): the
    queue number, a booking, a letter, a report and a question each open their own page in Indonesian, with no
    sideways scroll. Screenshots: follow-phone-<kind>.png."""
    from playwright.sync_api import sync_playwright

    from antre.rules.question_codes import format_question_code

    t = site.client.ok("issue_ticket", service="adminduk")
    day, slot = _slot_soon(site)
    b = site.client.ok("book", service="adminduk", date=day, slot=slot, name="Rina Wati", phone="081234567009")
    lc = site.client.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    c = site.client.ok("complaint_submit", category="pengaduan", topic="pelayanan", text="Lampu jalan mati",
                       anonymous=True, channel="web")["code"]
    q = site.client.ok("question_submit", question="Kapan posyandu buka bulan ini?", channel="web",
                       address="10.9.9.9")["code"]
    typed = {"ticket": (t["number"], f"/status/{t['business_date']}/{t['number']}"),
             "booking": (f"{b['code'][:3]}-{b['code'][3:6]}-{b['code'][6:]}", f"/janji/kode/{b['code']}"),
             "letter": (f"{lc[:4]}-{lc[4:8]}-{lc[8:]}", f"/surat/status/{lc}"),
             "complaint": (format_complaint_code(c), f"/pengaduan/{c}"),
             "question": (format_question_code(q), f"/tanya/{q}")}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            ctx = browser.new_context(viewport=CHEAP_PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                      locale="id-ID")
            page = ctx.new_page()
            page.goto(site.web.url + "/cek")
            # The menu's "Cek status" is this page, shown as the current one (not "Antrean"), reached without a detour.
            assert page.locator("nav.portal a[aria-current=page]").get_attribute("href") == "/cek"
            assert page.locator("nav.portal a", has_text="Cek status").get_attribute("href") == "/cek"
            for kind, (code, path) in typed.items():
                page.goto(site.web.url + "/cek")
                page.fill("#kode", code)
                page.click("form button[type=submit]")
                page.wait_for_url("**" + path)
                assert page.evaluate("document.documentElement.lang") == "id", kind
                assert page.evaluate("document.documentElement.scrollWidth") <= CHEAP_PHONE["width"], kind
                assert page.locator("main").is_visible(), kind
                shot(page, site, f"follow-phone-{kind}")
            ctx.close()
        finally:
            browser.close()
