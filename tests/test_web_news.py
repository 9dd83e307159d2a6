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
from tests.test_web_portal import PROBLEMS_JS


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
    assert news.status == 200 and "Posyandu balita hari Rabu pukul 08.00" in news.text   # the list: an excerpt
    whole = resident.get(f"/kabar/{item}").text                                          # its page: the text
    assert "<strong>Rabu</strong>" in whole and "<li>bawa buku KIA</li>" in whole
    assert "<script>alert" not in whole and "<img src=x" not in whole and 'href="javascript' not in whole
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
            page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="id-ID").new_page()
            page.goto(site.web.url + "/kabar")
            page.wait_for_selector("article.news")
            shot(page, site, "web-news")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        finally:
            browser.close()


def test_the_news_list_is_paged_titles_and_excerpts_and_stays_small(site):
    """35 long items (3800 characters each): /kabar shows 10 a page, each a title, a short excerpt and a link
    to the whole text, and every item is on a page (only the newest 30 were: the service answered 30 and the
    website paged those); the page stays under 40 KB of HTML and fits a 360 px phone; the pager's links work
    without JavaScript."""
    from playwright.sync_api import sync_playwright

    kasi = http_sign_in(site, "bu-kasi")
    form = kasi.get("/staf/kabar")
    today = re.search(r'id="publish_on" name="publish_on" type="date" value="([0-9-]+)"', form.text)[1]
    long = ("Gotong royong membersihkan saluran air di setiap RT, dimulai pukul 07.00. " * 60)[:3800]
    for n in range(35):
        form = kasi.get("/staf/kabar")
        assert kasi.post("/staf/kabar", {"csrf": form.csrf(), "rid": form.rid(), "kind": "berita",
                                         "title": f"Kabar nomor {n:02d} tentang kerja bakti dusun",
                                         "body": f"Isi kabar {n:02d}. " + long, "publish_on": today}).status == 200
    resident = Http(site.web.url)
    pages, seen = [resident.get("/kabar")], []          # (other tests of this module published a few more)
    while 'rel="next"' in pages[-1].text:
        pages.append(resident.get(re.search(r'rel="next" href="([^"]+)"', pages[-1].text)[1].replace("&amp;", "&")))
    assert len(pages) >= 4
    for n, page in enumerate(pages):
        assert page.status == 200 and len(page.text.encode()) < 40_000, len(page.text.encode())
        articles = page.text.count('<article class="news"')
        assert articles == 10 or (n == len(pages) - 1 and 1 <= articles <= 10)
        seen += re.findall(r"Kabar nomor (\d\d) tentang", page.text)
        assert long[:200] not in page.text                              # an excerpt, not the whole text
    assert seen == [f"{n:02d}" for n in reversed(range(35))]                   # each once, newest first
    assert f'Halaman {len(pages)} dari {len(pages)}' in pages[-1].text and 'rel="next"' not in pages[-1].text
    assert 'rel="next" href="/kabar?hal=2"' in pages[0].text and 'rel="prev"' not in pages[0].text
    assert 'rel="prev" href="/kabar"' in pages[1].text and f'Halaman 2 dari {len(pages)}' in pages[1].text
    for wrong, nearest in (("99", len(pages)), ("0", 1), ("-1", 1), ("x" * 300, 1), ("04", 4), ("1", 1),
                           # past the service's largest offset (was 503 'offline'); digits int() does not take
                           # (was a 500) or of another script
                           ("999999", len(pages)), ("10002", len(pages)), ("%C2%B2", 1), ("%D9%A3", 1), ("%EF%BC%92", 1)):
        page = resident.get(f"/kabar?hal={wrong}")                          # sent to the nearest page, no error
        assert page.status == 200 and page.url.endswith("/kabar" if nearest == 1 else f"/kabar?hal={nearest}")
    item = re.search(r'href="/kabar/(\d+)"', pages[0].text)[1]
    assert long[:200] in resident.get(f"/kabar/{item}").text              # the whole text is on the item's page
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 360, "height": 800}, is_mobile=True,
                                       locale="id-ID").new_page()
            page.goto(site.web.url + "/kabar")
            assert page.locator("article.news").count() == 10
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
            assert page.evaluate(PROBLEMS_JS, 360) == []          # nothing cut or too small to tap
            shot(page, site, "web-news-paged")
            page.click("#pager a[rel=next]")
            page.wait_for_url("**/kabar?hal=2")
            assert page.locator("article.news").count() == 10
            assert page.evaluate(PROBLEMS_JS, 360) == []
            shot(page, site, "web-news-paged-2")
            box = page.locator("#pager a[rel=next]").bounding_box()            # a thumb-sized target
            assert box["height"] >= 44 and box["width"] >= 44, box
            page.click("article.news h2 a")
            page.wait_for_url("**/kabar/*")
            assert page.evaluate(PROBLEMS_JS, 360) == []
            shot(page, site, "web-news-item")
        finally:
            browser.close()


def test_a_picture_through_the_console_to_the_portal_and_the_devices(site):
    """The kasi uploads a picture (a huge photo with GPS in its EXIF; a text file and an SVG named .jpg are
    refused); residents get a small lazy copy, the devices theirs over MQTT; withdrawn, all of it vanishes."""
    from playwright.sync_api import sync_playwright

    from tests.test_news_devices import photo_bytes
    from tests.test_web_complaints import multipart

    kasi = http_sign_in(site, "bu-kasi")
    form = kasi.get("/staf/kabar")
    assert 'enctype="multipart/form-data"' in form.text and 'id="slides-form"' in form.text
    today = re.search(r'id="publish_on" name="publish_on" type="date" value="([0-9-]+)"', form.text)[1]
    fields = {"csrf": form.csrf(), "kind": "pengumuman", "title": "Vaksinasi anak " + "sangat penting " * 6,
              "body": "Sabtu pukul 08.00 di puskesmas.", "publish_on": today}
    for name, data, ctype in (("x.jpg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/jpeg"),
                              ("surat.txt", b"bukan gambar", "text/plain")):
        page = multipart(kasi, "/staf/kabar", fields | {"rid": form.rid()}, {"picture": (name, data, ctype)})
        assert page.status == 400 and "bukan gambar JPEG, PNG atau WebP" in page.text
    assert multipart(kasi, "/staf/kabar", fields | {"rid": form.rid(), "csrf": "forged"},
                     {"picture": ("p.jpg", photo_bytes(), "image/jpeg")}).status == 403
    from PIL import Image
    import io
    im = Image.open(io.BytesIO(photo_bytes((3000, 2000))))
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (6.0, 54.0, 0.0), 3: "E", 4: (107.0, 36.0, 0.0)}   # GPS: somewhere in Bandung
    exif[0x010F] = "KameraHP"
    raw = io.BytesIO()
    im.save(raw, "JPEG", quality=92, exif=exif.tobytes())
    watcher = site.new_client()
    pictures = {}
    watcher.link.subscribe(watcher.topics.news_pictures, lambda t, p: pictures.__setitem__(int(t.rsplit("/", 1)[1]), p))
    page = multipart(kasi, "/staf/kabar", fields | {"rid": form.rid()}, {"picture": ("foto.jpg", raw.getvalue(), "image/jpeg")})
    assert page.status == 200 and 'id="done"' in page.text, page.text[:2000]
    item = int(re.search(r'id="item-(\d+)"', page.text)[1])
    resident = Http(site.web.url)
    listing = resident.get("/kabar")
    src = re.search(r'<img src="(/kabar/gambar/[0-9a-f]{64}\.jpg)" alt="Gambar: Vaksinasi[^"]*" class="news-thumb" '
                    r'loading="lazy" decoding="async" width="96" height="72">', listing.text)[1]
    status, body, headers = resident.get_bytes(src)
    small = Image.open(io.BytesIO(body))
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and len(body) <= 40_000 and max(small.size) <= 480
    assert not small.getexif() and b"KameraHP" not in body and b"Exif" not in body
    assert len(listing.text.encode()) < 30_000
    assert resident.get_bytes("/kabar/gambar/..%2F..%2Fantre.db")[0] == 404
    assert resident.get_bytes("/kabar/gambar/" + "0" * 64 + ".jpg")[0] == 404
    wait_for(lambda: pictures.get(item, b"")[:2] == b"\xff\xd8", what="the devices' copy on the broker")
    assert len(pictures[item]) <= 60_000

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, locale="id-ID")
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            # Slow 3G as Chromium's DevTools define it: 400 kbit/s down, 400 ms latency.
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 400,
                                                          "downloadThroughput": 400 * 1024 / 8,
                                                          "uploadThroughput": 400 * 1024 / 8})
            sizes = []
            page.on("response", lambda r: sizes.append((r.url, int(r.headers.get("content-length") or 0))))
            page.goto(site.web.url + f"/kabar/{item}")
            page.wait_for_function("() => { const i = document.querySelector('img.news-picture');"
                                   " return i && i.complete && i.naturalWidth > 0; }")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
            shot(page, site, "web-news-picture-360")
            assert sum(n for _, n in sizes) < 120_000, sizes
        finally:
            browser.close()

    # The TV's slides: the kasi's office setting, in the devices' document.
    documents = []
    watcher.link.subscribe(watcher.topics.news, lambda t, p: documents.append(json.loads(p)))
    assert kasi.post("/staf/kabar/slide", {"csrf": kasi.get("/staf/kabar").csrf(), "seconds": "20"}).status == 200
    wait_for(lambda: documents and documents[-1]["slides"] == {"on": False, "seconds": 20}, what="slides off")
    kasi.post("/staf/kabar/slide", {"csrf": kasi.get("/staf/kabar").csrf(), "on": "1", "seconds": "999"})
    page = kasi.get("/staf/kabar")                                             # refused: 5-60 seconds
    assert 'name="seconds" type="number" min="5" max="60" value="20"' in page.text and 'id="slides-on" checked' not in page.text
    kasi.post("/staf/kabar/slide", {"csrf": kasi.get("/staf/kabar").csrf(), "on": "1", "seconds": "12"})
    wait_for(lambda: documents[-1]["slides"] == {"on": True, "seconds": 12}, what="slides on again")

    # 30 newer items: the picture's item is on a later /kabar page now, and its picture is still served there
    # (it was served only while among the newest 30). The last one through the console, which clears the
    # website's short cache of the newest.
    for n in range(29):
        site.client.ok("news_save", kind="berita", title=f"Kabar singkat {n}", body="Singkat.", publish_on=today,
                       **site.staff["kasi"])
    form = kasi.get("/staf/kabar")
    assert kasi.post("/staf/kabar", {"csrf": form.csrf(), "rid": form.rid(), "kind": "berita",
                                     "title": "Kabar singkat 29", "body": "Singkat.", "publish_on": today}).status == 200
    assert f'href="/kabar/{item}"' not in "".join(resident.get(f"/kabar?hal={n}").text for n in (1, 2, 3))
    assert f'href="/kabar/{item}"' in "".join(resident.get(f"/kabar?hal={n}").text for n in range(4, 10))
    assert resident.get_bytes(src)[0] == 200
    assert resident.get_bytes("/kabar/gambar/" + "1" * 64 + ".jpg")[0] == 404

    kasi.post(f"/staf/kabar/{item}/tarik", {"csrf": kasi.get("/staf/kabar").csrf()})
    assert resident.get(f"/kabar/{item}").status == 404
    assert resident.get_bytes(src)[0] == 404
    wait_for(lambda: pictures.get(item) == b"", what="the withdrawn item's picture cleared on the broker")
    watcher.stop()


def test_a_picture_of_a_refused_form_does_not_stay_on_the_disk(site):
    """The picture is stored before the service checks the rest of the form (it accepts the name only once the
    files are there): when the service refuses the item (no title, the expiry before the publishing date) the
    three files were left behind for good, named by no item -- a photo the kasi never published. They are
    removed, unless an item already names the same picture."""
    from pathlib import Path

    from tests.test_news_devices import photo_bytes
    from tests.test_web_complaints import multipart

    folder = Path(site.db_path).parent / "news-pictures"
    before = set(folder.iterdir()) if folder.exists() else set()
    kasi = http_sign_in(site, "bu-kasi")
    form = kasi.get("/staf/kabar")
    today = re.search(r'id="publish_on" name="publish_on" type="date" value="([0-9-]+)"', form.text)[1]
    fields = {"csrf": form.csrf(), "kind": "pengumuman", "title": "Kerja bakti", "body": "Minggu pagi.",
              "publish_on": today, "expires_on": "2000-01-01"}
    photo = ("kerja.jpg", photo_bytes(color=(90, 10, 160)), "image/jpeg")
    page = multipart(kasi, "/staf/kabar", fields | {"rid": form.rid()}, {"picture": photo})
    assert page.status == 400 and page.problem()
    assert set(folder.iterdir()) == before
    # The same picture saved with an item, then refused on another form: the item's files stay.
    ok = multipart(kasi, "/staf/kabar", fields | {"rid": form.rid(), "expires_on": ""}, {"picture": photo})
    assert ok.status == 200 and 'id="done"' in ok.text
    kept = set(folder.iterdir()) - before
    assert len(kept) == 3
    again = multipart(kasi, "/staf/kabar", fields | {"rid": form.rid(), "title": ""}, {"picture": photo})
    assert again.status == 400 and set(folder.iterdir()) - before == kept
