"""Village news through the real ``antre web``, ``antre serve`` and mosquitto: the kasi writes with a signed-in
account (script and hostile links in the text), residents read it on /kabar and the home page (phone-size
Chromium, screenshots), a title goes to the TV's retained ticker, other roles and forged forms are refused."""

from __future__ import annotations

import json
import re

import pytest

from tests.support import free_port, wait_for
from tests.test_console_letters import http_sign_in
from tests.test_letters import sign_in_staff
from tests.test_web import CHROMIUM, Http, WebProcess, office_toml, shot, start_noon_office


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-news")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(f'port = {port}\nhost = "127.0.0.1"'))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.shots = tmp / "shots"
    office.shots.mkdir()
    office.staff = sign_in_staff(office.client.ok)
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def test_kasi_writes_residents_read_safely_and_the_tv_gets_the_title(site):
    kasi = http_sign_in(site, "bu-kasi")
    form = kasi.get("/staf/kabar")
    assert form.status == 200 and 'id="news-form"' in form.text
    today = re.search(r'id="publish_on" name="publish_on" type="date" value="([0-9-]+)"', form.text)[1]
    body = ("Posyandu balita hari **Rabu** pukul 08.00 di balai desa.\n\n- bawa buku KIA\n- gratis\n\n"
            "<script>alert('x')</script><img src=x onerror=alert(1)> [klik](javascript:alert(1))")
    fields = {"csrf": form.csrf(), "rid": form.rid(), "kind": "pengumuman", "title": "Posyandu <b>balita</b>",
              "body": body, "publish_on": today, "ticker": "1"}
    assert kasi.post("/staf/kabar", fields | {"csrf": "forged"}).status == 403
    page = kasi.post("/staf/kabar", fields)
    assert page.status == 200 and 'id="done"' in page.text
    bad = kasi.post("/staf/kabar", fields | {"rid": "0" * 32, "title": "", "expires_on": "2000-01-01"})
    assert bad.status == 400 and bad.problem()
    item = int(re.search(r'id="item-(\d+)"', page.text)[1])

    resident = Http(site.web.url)
    news = resident.get("/kabar")
    assert news.status == 200 and "<strong>Rabu</strong>" in news.text and "<li>bawa buku KIA</li>" in news.text
    assert "<script>alert" not in news.text and "<img src=x" not in news.text and 'href="javascript' not in news.text
    assert "Posyandu &lt;b&gt;balita&lt;/b&gt;" in news.text
    wait_for(lambda: f'href="/kabar/{item}"' in resident.get("/").text, what="the home page to list the item")
    assert resident.get(f"/kabar/{item}").status == 200 and resident.get("/kabar/99999").status == 404
    assert resident.get("/staf/kabar").status in (200, 401, 403) and 'id="news-form"' not in resident.get("/staf/kabar").text

    # Other roles do not write news.
    loket = http_sign_in(site, "loket-satu")
    assert loket.get("/staf/kabar").status == 403

    # The title to the TV's running text (retained), audited.
    watcher = site.new_client()
    got = []
    watcher.link.subscribe(watcher.topics.ticker, lambda t, p: got.append(json.loads(p)))
    listing = kasi.get("/staf/kabar")
    assert kasi.post(f"/staf/kabar/{item}/tv", {"csrf": listing.csrf()}).status == 200
    wait_for(lambda: {"text": "Pengumuman: Posyandu <b>balita</b>"} in got, what="the title on the ticker")
    watcher.stop()
    # Withdrawn: gone for residents.
    kasi.post(f"/staf/kabar/{item}/tarik", {"csrf": listing.csrf()})
    assert resident.get(f"/kabar/{item}").status == 404


def test_news_on_a_phone(site):
    from playwright.sync_api import sync_playwright

    kasi = http_sign_in(site, "bu-kasi")
    form = kasi.get("/staf/kabar")
    today = re.search(r'id="publish_on" name="publish_on" type="date" value="([0-9-]+)"', form.text)[1]
    kasi.post("/staf/kabar", {"csrf": form.csrf(), "rid": form.rid(), "kind": "berita", "title": "Jalan Dusun Cikoneng "
              "selesai diaspal", "body": "Terima kasih atas kesabaran warga.\n\nPengerjaan 12 hari, dana desa 2026.",
              "publish_on": today})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
            page.goto(site.web.url + "/kabar")
            page.wait_for_selector("article.news")
            shot(page, site, "web-news")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        finally:
            browser.close()
