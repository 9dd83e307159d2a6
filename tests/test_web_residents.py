"""The residents' website where the walkthrough found it wanting (issue 16): a closed office is said
before any form, closed days are never offered for a booking, a booking can be cancelled on the site,
one phone cannot fill a slot, a recall shows on the status page, times are written 08.30.

Real ``antre web``, ``antre serve`` and mosquitto; Debian's Chromium (Playwright) at phone size,
390x844. Screenshots go to the test's tmp dir (and to ``$ANTRE_SHOTS_DIR`` when set).
"""

from __future__ import annotations

import html
import os
import re
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from antre import config, opening
from antre.config import WEEKDAYS
from tests.conftest import start_office
from tests.support import free_port
from tests.test_web import CHROMIUM, COUNTERS, SERVICES, Http, WebProcess, assert_button_look, office_toml, phone, start_noon_office
from antre_web import texts

T = texts.text
PHONE_SIZE = {"width": 390, "height": 844}


def zone_at(hour: int) -> str:
    """A fixed-offset zone where the local hour is ``hour`` now (as the noon zone of test_web)."""
    offset = hour - datetime.now(timezone.utc).hour
    if offset > 14:
        offset -= 24
    if offset < -12:
        offset += 24
    return f"Etc/GMT{-offset:+d}"


def local_today(zone: str) -> date:
    from zoneinfo import ZoneInfo
    return datetime.now(ZoneInfo(zone)).date()


@pytest.fixture(scope="module")
def open_site(tmp_path_factory, broker):
    """An office that is open all day (about midday), slots every 15 minutes, capacity 3."""
    tmp = tmp_path_factory.mktemp("residents")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(f'port = {port}\nhost = "127.0.0.1"')
                               .replace("capacity = 1", "capacity = 3"))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.shots = tmp / "shots"
    office.shots.mkdir()
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


@pytest.fixture
def closed_site(tmp_path, broker):
    """An office whose hours are enforced, where today is a holiday and tomorrow's weekday is closed.
    For one test only: its service and web process would share client ids with ``open_site``'s."""
    tmp = tmp_path
    port = free_port()
    zone = zone_at(12)
    today = local_today(zone)
    shut = WEEKDAYS[(today + timedelta(days=1)).weekday()]
    open_days = [d for d in WEEKDAYS if d != shut]
    hours = "\n".join(f'{d} = "{"closed" if d == shut else "06:00-18:00"}"' for d in WEEKDAYS)
    extra = f"""
[office.hours]
{hours}

[web]
port = {port}
host = "127.0.0.1"
form_limit_per_minute = 1000
booking_days_ahead = 4

[[web.appointments]]
service = "adminduk"
days = {open_days!r}
start = "08:00"
end = "10:00"
every_minutes = 30
capacity = 2
""".replace("'", '"')
    office = start_office(tmp, broker, extra=extra, services=SERVICES, counters=COUNTERS, enforce_hours=True)
    office.service.stop()
    for f in tmp.glob("antre.db*"):
        f.unlink()
    text = office.config_path.read_text().replace(
        "[office]\n", f'[office]\ntimezone = "{zone}"\nholidays = ["{today.isoformat()}"]\n', 1)
    office.config_path.write_text(text)
    office.client.states.clear()
    office.service.start()
    office.client.wait_state(lambda s: s["office"]["timezone"] == zone, "the service in its zone")
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web, office.zone, office.today, office.shut = web, zone, today, shut
    office.cfg = config.load(office.config_path)
    office.shots = tmp / "shots"
    office.shots.mkdir()
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def shot(page, site, name: str) -> Path:
    out = site.shots / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    extra = os.environ.get("ANTRE_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(extra) / out.name)
    return out


class Browser:
    """Chromium at phone size, Indonesian."""

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        self._p = sync_playwright().start()
        self.browser = self._p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        self.ctx = self.browser.new_context(viewport=PHONE_SIZE, device_scale_factor=1, is_mobile=True,
                                            has_touch=True, locale="id-ID")
        return self.ctx.new_page()

    def __exit__(self, *exc):
        self.ctx.close()
        self.browser.close()
        self._p.stop()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# ---------------------------------------------------------------------- a closed office


def test_a_closed_office_is_said_before_the_form_with_its_hours_and_when_it_opens(closed_site):
    from playwright.sync_api import expect

    site = closed_site
    state = site.client.wait_state(lambda s: True)
    assert state["open"] is False and state["holiday"] is True
    reopen = datetime.fromisoformat(state["next_open"])
    assert reopen.astimezone(site.cfg.office.tz).date() == site.today + timedelta(days=2)   # not tomorrow
    with Browser() as page:
        page.goto(site.web.url + "/ambil")
        closed = page.locator("#closed")
        expect(closed).to_contain_text("Kantor sedang tutup. Hari ini hari libur.")
        when = opening.opens_text(site.cfg.office, datetime.now(timezone.utc))
        assert "06.00" in when and texts.DAYS["id"][(site.today + timedelta(days=2)).weekday()] in when
        expect(page.locator("#opens")).to_have_text(f"Buka lagi {when}. Nomor dari rumah bisa diambil saat kantor buka.")
        expect(page.locator("#hours")).to_contain_text("Jam buka: ")
        expect(page.locator("#hours")).to_contain_text("06.00–18.00")
        # Nothing to fill in: no name, no phone, no service to choose.
        assert page.locator("#name").count() == 0 and page.locator("#phone").count() == 0
        assert page.locator("input[name=service]").count() == 0
        assert no_horizontal_scroll(page)
        shot(page, site, "web-take-closed")
        # English too.
        page.click("header .lang")
        expect(page.locator("#closed")).to_contain_text("The office is closed now. Today is a holiday.")
        expect(page.locator("#opens")).to_contain_text("06:00")
        page.click("header .lang")

        # The booking page offers no closed day: not today (a holiday), not tomorrow (closed weekday).
        page.goto(site.web.url + "/janji")
        offered = page.locator("#date option").evaluate_all("els => els.map(e => e.value)")
        day2 = (site.today + timedelta(days=2)).isoformat()
        assert site.today.isoformat() not in offered and (site.today + timedelta(days=1)).isoformat() not in offered
        assert offered[0] == day2 and len(offered) == 3, offered   # days 2, 3 and 4 ahead
        page.select_option("#date", day2)
        page.click("text=" + T("show_slots"))
        labels = page.locator(".slot span").evaluate_all("els => els.map(e => e.firstChild.textContent.trim())")
        assert labels == ["08.00", "08.30", "09.00", "09.30"]    # EYD: a period, not 08:00
        shot(page, site, "web-book-open-days")

    # Forcing a closed day or a closed form by hand gets a clear refusal, and nothing is made.
    h = Http(site.web.url)
    refused = h.get(f"/janji?service=adminduk&date={site.today.isoformat()}")
    assert T("bad_date") in html.unescape(refused.text) and "name=\"slot\"" not in refused.text
    form = h.get(f"/janji?service=adminduk&date={day2}")
    taken = h.post("/ambil", {"csrf": form.csrf(), "rid": form.rid(), "service": "adminduk", "name": "Siti Aminah",
                              "phone": phone()})
    assert taken.status == 409 and 'id="closed"' in taken.text and "Kantor sedang tutup" in taken.text
    assert site.client.ok("web_info")["services"][0]["web_used"] == 0
    # The holidays are listed with the opening hours.
    info = h.get("/layanan").text
    assert T("holidays") in info and texts.long_date(site.today) in info


# ---------------------------------------------------------------------- an open office


def _book(h: Http, day: str, slot: str, who: str, name: str = "Dewi Lestari"):
    form = h.get(f"/janji?service=adminduk&date={day}")
    return h.post("/janji", {"csrf": form.csrf(), "rid": form.rid(), "service": "adminduk", "date": day,
                             "slot": slot, "name": name, "phone": who})


def _free(h: Http, day: str) -> dict[str, int]:
    page = h.get(f"/janji?service=adminduk&date={day}")
    out = {}
    for value, label in re.findall(r'name="slot" value="(\d\d:\d\d)"[^>]*>\s*<span>[^<]*<small>([^<]*)<', page.text):
        m = re.search(r"sisa (\d+)", label)
        out[value] = int(m[1]) if m else 0
    return out


def test_a_resident_cancels_a_booking_on_the_site_and_the_slot_frees(open_site):
    from playwright.sync_api import expect

    site = open_site
    day = (local_today(site.client.wait_state(lambda s: True)["office"]["timezone"]) + timedelta(days=1)).isoformat()
    h = Http(site.web.url)
    slot = next(s for s, n in _free(h, day).items() if n == 3)
    who = phone()
    with Browser() as page:
        page.goto(f"{site.web.url}/janji?service=adminduk&date={day}")
        page.check(f"input[name=slot][value='{slot}']")
        page.fill("#name", "Dewi Lestari")
        page.fill("#phone", who)
        page.click("text=" + T("submit_book"))
        expect(page.locator("#code")).to_have_text(re.compile(r"^\d{3}-\d{3}-\d{4}$"))   # grouped 3-3-4
        code = page.locator("#code").text_content().replace("-", "")
        expect(page.locator(".when")).to_contain_text("pukul " + slot.replace(":", "."))
        assert ":" not in page.locator(".when").text_content()
        assert no_horizontal_scroll(page)                   # the 10-digit code fits a 390 px phone
        assert_button_look(page.locator("#cancel-link"))
        shot(page, site, "web-booked")
        assert _free(h, day)[slot] == 2

        # The booking page links to the cancel form, with the code filled in.
        page.click("text=" + T("cancel_title"))
        expect(page.locator("#code")).to_have_value(code)
        page.fill("#phone", "0899 0000 1111")       # not the phone it was booked with
        page.click("button[type=submit]")
        expect(page.locator("#problem")).to_have_text(T("err_booking_not_found"))
        page.fill("#phone", who[:4] + " " + who[4:8] + " " + who[8:])
        page.fill("#code", f"{code[:3]}-{code[3:6]}-{code[6:]}")   # typed as the booked page shows it
        shot(page, site, "web-cancel")
        page.click("button[type=submit]")
        expect(page.locator("#done")).to_contain_text("Janji temu dibatalkan")
        expect(page.locator("#done")).to_contain_text("pukul " + slot.replace(":", "."))
        assert no_horizontal_scroll(page)
        shot(page, site, "web-cancelled")
        # Cancelled again (the resident is not sure it worked): the same answer, nothing else happens.
        page.goto(f"{site.web.url}/janji/batal?kode={code}")
        page.fill("#phone", who)
        page.click("button[type=submit]")
        expect(page.locator("#done")).to_contain_text("Janji temu dibatalkan")
    assert _free(h, day)[slot] == 3                         # the place is free again
    # A code with a wrong check digit is caught on the site, before anything is sent.
    form = h.get("/janji/batal")
    bad = h.post("/janji/batal", {"csrf": form.csrf(), "rid": form.rid(), "code": code[:-1] + str((int(code[-1]) + 1) % 10),
                                  "phone": who})
    assert bad.status == 400 and T("bad_code") in html.unescape(bad.text)
    # Without the CSRF token: refused.
    assert h.post("/janji/batal", {"code": code, "phone": who}).status == 403
    assert who not in site.web.output() and who not in site.service.output()


def test_one_phone_cannot_fill_a_slot(open_site):
    site = open_site
    day = (local_today(site.client.wait_state(lambda s: True)["office"]["timezone"]) + timedelta(days=2)).isoformat()
    h = Http(site.web.url)
    slot = next(s for s, n in _free(h, day).items() if n == 3)
    who = phone()
    assert _book(h, day, slot, who).status == 200
    again = _book(h, day, slot, who, name="Dewi Lestari Dua")
    assert again.status == 409, again.text[:500]
    assert again.problem() == T("err_phone_slot_limit_reached", m=1)
    assert T("book_limit_note", m=1, n=2) in html.unescape(again.text)     # said on the form beforehand too
    assert _free(h, day)[slot] == 2
    assert _book(h, day, slot, phone(), name="Budi Santoso").status == 200   # others still can


def test_the_status_page_shows_a_recall_and_a_no_show(open_site):
    from playwright.sync_api import expect

    site = open_site
    c = site.client
    while c.request("call_next", counter="loket-1").ok:     # earlier tests' tickets
        pass
    c.request("complete", counter="loket-1")
    with Browser() as page:
        page.goto(site.web.url + "/ambil")
        page.check("input[name=service][value=adminduk]")
        page.fill("#name", "Siti Aminah")
        page.fill("#phone", phone())
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/status/\d{4}-\d{2}-\d{2}/A-\d{3}\?baru=1$"))
        expect(page.locator("#live")).to_contain_text(T("live").rstrip("."))
        assert re.search(r"\d\d\.\d\d\.\d\d", page.locator("#live").text_content() + page.content())
        c.ok("call_next", counter="loket-1")
        expect(page.locator("#state")).to_have_text(T("st_called", counter="Loket 1"), timeout=20_000)
        c.ok("recall", counter="loket-1")
        expect(page.locator("#state")).to_have_text("DIPANGGIL ULANG — segera menuju Loket 1", timeout=20_000)
        assert no_horizontal_scroll(page)
        shot(page, site, "web-status-recalled")
        page.reload()                                        # rendered by the server: the same
        expect(page.locator("#state")).to_have_text("DIPANGGIL ULANG — segera menuju Loket 1")
        c.ok("skip", counter="loket-1")
        expect(page.locator("#state")).to_have_text(T("st_no_show"), timeout=20_000)


def test_times_on_the_site_are_written_with_a_period(open_site):
    h = Http(open_site.web.url)
    for path in ("/", "/layanan"):
        text = h.get(path).text
        times = re.findall(r"\b\d\d[.:]\d\d\b", text)
        assert times and all("." in t for t in times), (path, times)
    en = Http(open_site.web.url)
    en.get("/bahasa/en")
    assert "06:00–18:00" in en.get("/").text                 # English keeps its colon
