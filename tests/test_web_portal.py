"""The portal as one site in Debian's Chromium at phone size (390 x 844): one navigation on every resident page,
installable to the home screen (the browser's own installability check: manifest, icons, service worker),
the offline page when the link drops (and never a cached personal page), and a page-weight budget on a
throttled 3G link. Bytes are asserted; load times are measured and printed, never asserted."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.support import free_port
from tests.test_web import CHROMIUM, SERVICES, Http, WebProcess, office_toml, shot, start_noon_office

PHONE = {"width": 390, "height": 844}
#: Bytes over the wire for one page with everything it loads (HTML, CSS, scripts, icons), first visit.
PAGE_BUDGET = 40_000
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400 * 1024 // 8, "uploadThroughput": 400 * 1024 // 8}
PAGES = ("/", "/ambil", "/janji", "/surat", "/pengaduan", "/kabar", "/lacak", "/cek", "/urusan", "/tanya")
#: A service whose name (61 characters) is longer than a 360 px phone is wide, with appointments.
LONG_NAME = "Akta Kelahiran dan Kartu Identitas Anak (KIA) untuk bayi baru"
LONG_SERVICE = f"""
[[services]]
code = "akta"
prefix = "D"
name = "{LONG_NAME}"
name_en = "Birth certificate and child identity card for a newborn baby"
"""
LONG_APPOINTMENTS = """
[[web.appointments]]
service = "akta"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "06:00"
end = "18:00"
every_minutes = 30
capacity = 2
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-portal")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(f'port = {port}\nhost = "127.0.0.1"') + LONG_APPOINTMENTS,
                               services=SERVICES + LONG_SERVICE)
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.shots = tmp / "shots"
    office.shots.mkdir()
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])


def test_manifest_service_worker_and_offline_page_are_served(site):
    h = Http(site.web.url)
    status, body, headers = h.get_bytes("/manifest.webmanifest")
    m = json.loads(body)
    assert status == 200 and headers["Content-Type"].startswith("application/manifest+json")
    assert m["display"] == "standalone" and m["start_url"] == "/" and {i["sizes"] for i in m["icons"]} == {"192x192", "512x512"}
    status, body, headers = h.get_bytes("/sw.js")
    assert status == 200 and b'"/static/style.css"' in body and headers["Content-Type"].startswith("text/javascript")
    assert b"/status/" not in body and b"/pengaduan" not in body      # nothing personal is cached
    page = h.get("/offline")
    assert page.status == 200 and "Tidak ada sambungan" in page.text
    home = h.get("/")
    for link in ("/ambil", "/janji", "/surat", "/pengaduan", "/kabar", "/cek", "/tanya", "/urusan"):   # menu or cards
        assert f'href="{link}"' in home.text
    assert 'href="/lacak"' not in home.text                       # "Lacak" and "Cek status" were one place twice
    assert "/cek" in h.get("/lacak").url                            # the old address still leads there
    assert 'rel="manifest"' in home.text


def test_the_top_menu_stays_on_two_lines_on_a_small_phone(site):
    """The menu (with Tanya and Urusan saya) takes at most two rows at 360 and 390 px, without a sideways
    scroll, and each of its links is a thumb-sized target (at least 44 x 44 px)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            for width in (360, 390):
                page = browser.new_context(viewport={"width": width, "height": 800}, is_mobile=True,
                                           locale="id-ID").new_page()
                for path in ("/", "/ambil", "/janji", "/surat", "/pengaduan", "/kabar", "/cek", "/tanya", "/urusan"):
                    page.goto(site.web.url + path)            # each item once marked as the current page
                    boxes = page.evaluate("[...document.querySelectorAll('nav.portal a')]"
                                          ".map(a => a.getBoundingClientRect().toJSON())")
                    labels = page.locator("nav.portal a").all_inner_texts()
                    assert "Tanya" in labels and "Urusan saya" in labels and "Cek status" in labels, labels
                    assert len({round(b["top"]) for b in boxes}) <= 2, (width, path, boxes, labels)
                    assert all(b["height"] >= 44 and b["width"] >= 44 and b["right"] <= width for b in boxes), boxes
                    assert page.evaluate("document.documentElement.scrollWidth") <= width
                    shot(page, site, f"web-menu-{width}" + path.replace("/", "-"))
                page.context.close()
        finally:
            browser.close()


def _links(html: str, where: str) -> dict[str, set[str]]:
    """{href: {the link's words}} of the links in the first <nav class="portal"> / <footer> / home card list."""
    import html as html_lib

    block = re.search({"menu": r'<nav class="portal".*?</nav>', "footer": r"<footer>.*?</footer>",
                       "cards": r'<ul class="menu">.*?</ul>'}[where], html, re.S)
    found: dict[str, set[str]] = {}
    for href, inner in re.findall(r'<a [^>]*?href="([^"]+)"[^>]*>(.*?)</a>', block[0] if block else "", re.S):
        words = re.sub(r"<span>.*?</span>", "", inner, flags=re.S)          # a card: its title, not its line
        found.setdefault(href, set()).add(" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", words)).split()))
    return found


@pytest.mark.parametrize("lang, check, mine", [("id", "Cek status", "Urusan saya"),
                                               ("en", "Check status", "My items")])
def test_one_name_for_a_page_in_the_menu_the_footer_and_the_cards(site, lang, check, mine):
    """/cek is "Cek status" wherever a link names it (it was "Lacak" in the menu and "Cek status" in the
    footer and on its own page), and "Urusan saya" (/urusan) is in the menu and the footer of every resident
    page and linked from /cek, not only from the home page's cards; English the same way."""
    h = Http(site.web.url)
    if lang == "en":
        h.get("/bahasa/en?next=/")
    for path in ("/", "/ambil", "/janji", "/surat", "/pengaduan", "/kabar", "/cek", "/urusan", "/tanya", "/layanan"):
        page = h.get(path)
        assert page.status == 200, path
        menu, footer = _links(page.text, "menu"), _links(page.text, "footer")
        assert menu.get("/cek") == {check} and footer.get("/cek") == {check}, (path, menu, footer)
        assert menu.get("/urusan") == {mine} and footer.get("/urusan") == {mine}, (path, menu, footer)
        assert re.search(r"<h1>([^<]*)</h1>", page.text)[1] not in ("Lacak", "Track")
    home = h.get("/")
    cards = _links(home.text, "cards")
    assert cards["/cek"] == {check} and cards["/urusan"] == {mine}, cards
    assert f"<h1>{check}</h1>" in h.get("/cek").text and f"<h1>{mine}</h1>" in h.get("/urusan").text
    assert 'href="/urusan"' in re.search(r"<main>.*?</main>", h.get("/cek").text, re.S)[0]   # in the page itself
    assert "Lacak" not in home.text and ">Track<" not in home.text


def test_installable_offline_page_and_page_weight_on_slow_3g(site, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            # A real profile (installing is not offered in an incognito window, which new_context is).
            ctx = p.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"],
                viewport=PHONE, is_mobile=True, has_touch=True, locale="id-ID")
            page = ctx.new_page()
            page.goto(site.web.url + "/")
            page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
            cdp = ctx.new_cdp_session(page)
            errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
            assert errors == [], errors
            manifest = cdp.send("Page.getAppManifest")
            assert not manifest.get("errors"), manifest.get("errors")
            shot(page, site, "web-portal-home")
            # The link drops: any page gives the offline page, from the service worker.
            page.reload()
            ctx.set_offline(True)
            page.goto(site.web.url + "/surat")
            expect(page.locator("#offline")).to_be_visible()
            shot(page, site, "web-portal-offline")
            ctx.set_offline(False)
            page.goto(site.web.url + "/pengaduan")
            expect(page.locator("#complaint-form")).to_be_visible()
            ctx.close()

            # Page weight on a throttled 3G link, first visit (no cache, no service worker yet).
            figures = []
            for path in PAGES:
                fresh = browser.new_context(viewport=PHONE, is_mobile=True, service_workers="block", locale="id-ID")
                pg = fresh.new_page()
                s = fresh.new_cdp_session(pg)
                s.send("Network.enable")
                s.send("Network.emulateNetworkConditions", SLOW_3G)
                received = []
                s.on("Network.loadingFinished", lambda e: received.append(e["encodedDataLength"]))
                started = time.monotonic()
                pg.goto(site.web.url + path, wait_until="load")
                seconds = time.monotonic() - started
                total = sum(received)
                figures.append((path, total, round(seconds, 2)))
                assert pg.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], path
                fresh.close()
            print("\npage weight on slow 3G (400 kbit/s, 400 ms):", figures)
            for path, total, _ in figures:
                assert 0 < total < PAGE_BUDGET, (path, total)
        finally:
            browser.close()


#: What a thumb cannot hit or an eye cannot read on a small phone, found by the browser itself: anything that
#: sticks out past the right edge, text cut inside its box, and tap targets under 44 x 44 px (a radio button or
#: check box counts by its label; a link inside a sentence is exempt, as WCAG's target-size rule exempts it).
PROBLEMS_JS = """width => {
  const out = [], seen = new Set();
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string'
      ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' "' + (e.innerText || e.value || '').trim().slice(0, 30) + '"';
  const shown = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
      return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  for (const e of document.body.querySelectorAll('*')) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.right > width + 0.5 || r.left < -0.5) out.push('sticks out: ' + name(e) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    const s = getComputedStyle(e);
    if (e.tagName !== 'INPUT' && e.tagName !== 'TEXTAREA' && e.scrollWidth > e.clientWidth + 1
        && ['hidden', 'clip'].includes(s.overflowX) && e.clientWidth > 0) out.push('cut: ' + name(e));
  }
  for (const e of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (!shown(e)) continue;
    let target = e;
    if (e.matches('input[type=radio], input[type=checkbox]')) target = e.closest('label') || e;
    if (e.tagName === 'A' && !e.closest('nav, footer, header')) {
      const around = e.parentElement.innerText.replace(e.innerText, '').trim();
      if (around && !e.classList.contains('button') && !e.classList.contains('card')) continue;   // in a sentence
    }
    if (seen.has(target)) continue;
    seen.add(target);
    const r = target.getBoundingClientRect();
    if (r.height < 43.5 || r.width < 43.5) out.push('small target: ' + name(target) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
  }
  return out;
}"""


def _a_booking_date(h: Http) -> str:
    return re.search(r'<option value="(\d{4}-\d\d-\d\d)"', h.get("/janji").text)[1]


def test_every_resident_page_fits_a_360_px_phone_with_thumb_sized_targets(site):
    """Each resident page at 360 px in Indonesian, looked at in screenshots: nothing wider than the screen,
    nothing cut, every tap target at least 44 x 44 px (menu, footer, language switch, buttons, fields, choices,
    the pager, links that stand alone)."""
    from playwright.sync_api import sync_playwright

    from tests.test_web import phone

    h = Http(site.web.url)
    day = _a_booking_date(h)
    # A resident's own pages too: a number taken from home, a booking.
    form = h.get("/ambil")
    ticket = h.post("/ambil", {"csrf": form.csrf(), "rid": form.rid(), "service": "akta", "name": "Siti Aminah",
                               "phone": phone()})
    assert "/status/" in ticket.url, ticket.text[:500]
    slots = h.get(f"/janji?service=akta&date={day}")
    free = re.findall(r'name="slot" value="(\d\d:\d\d)"(?! disabled)', slots.text)
    booked = h.post("/janji", {"csrf": slots.csrf(), "rid": slots.rid(), "service": "akta", "date": day,
                               "slot": free[-1], "name": "Dewi Lestari", "phone": phone()})
    code = "".join(re.search(r'id="code">(\d{3})-(\d{3})-(\d{4})<', booked.text).groups())
    pages = ("/", "/layanan", "/ambil", f"/janji?service=akta&date={day}", "/janji/batal", "/cek", "/cek?kode=ZZ9",
             "/urusan", "/surat", "/surat/ajukan/domisili", "/surat/status", "/kabar", "/pengaduan",
             "/pengaduan/cari", "/tanya", ticket.url.removeprefix(site.web.url), f"/janji/kode/{code}")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                       locale="id-ID").new_page()
            problems = {}
            for lang in ("id", "en"):
                if lang == "en":
                    page.click("header .lang")
                for path in pages:
                    page.goto(site.web.url + path)
                    found = page.evaluate(PROBLEMS_JS, 360)
                    if found:
                        problems[f"{lang} {path}"] = found
                    assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
                    rows = {round(b) for b in page.evaluate("[...document.querySelectorAll('nav.portal a')]"
                                                            ".map(a => a.getBoundingClientRect().top)")}
                    assert len(rows) <= 2, (lang, path, rows)
                    shot(page, site, f"web-360-{lang}" + re.sub(r"[/?=&]+", "-", path if path != "/" else "/home"))
            assert problems == {}, json.dumps(problems, indent=1)
        finally:
            browser.close()


def test_a_long_service_name_is_read_whole_when_booking_on_a_360_px_phone(site):
    """A 61-character service name is shown whole on /janji at 360 px (a closed drop-down cut it after ~30
    characters): each service is a card to tap, its name wrapped on lines; tapping it and the date shows its
    times, without JavaScript too."""
    from playwright.sync_api import sync_playwright

    day = _a_booking_date(Http(site.web.url))
    with sync_playwright() as p:
        browser = launch(p)
        try:
            for js in (True, False):
                page = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True,
                                           locale="id-ID", java_script_enabled=js).new_page()
                page.goto(site.web.url + "/janji")
                name = page.get_by_text(LONG_NAME, exact=True)
                assert name.is_visible()
                box = name.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] > 30, box   # on 2+ lines
                assert name.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
                if js:
                    shot(page, site, "web-360-janji-long-name")
                name.click()                                       # the name itself is the target
                assert page.locator("input[type=radio][name=service][value=akta]").is_checked()
                page.select_option("#date", day)
                page.get_by_role("button", name="Lihat jam kosong").click()
                page.wait_for_url(f"**/janji?service=akta&date={day}")
                assert page.locator(".slots .slot").count() > 0
                assert page.locator("input[type=radio][name=service][value=akta]").is_checked()   # still chosen on the page
                if js:
                    shot(page, site, "web-360-janji-slots")
                page.context.close()
        finally:
            browser.close()
