"""Complaints through the real ``antre web``, ``antre serve`` and mosquitto, in Debian's Chromium at phone size
(390 x 844): a resident reports with a photo, follows the report live while the kasi (signed in with a real
account) notes, answers and closes it; then rates the answer. Attacks: a forged form (no CSRF token), script
in the text, an oversized upload, files that are not images, a decompression bomb, EXIF GPS that must really
be gone from the stored photo, guessed and malformed codes, internal notes never on a resident's page, an
anonymous report with nothing that names anyone in the database, roles (petugas not assigned, admin)."""

from __future__ import annotations

import io
import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from PIL import Image

from antre.rules.complaint_codes import format_complaint_code, new_complaint_code
from antre.rules.letter_codes import new_tracking_code
from tests.support import free_port, wait_for
from tests.test_letters import PASSWORD, sign_in_staff
from tests.test_web import CHROMIUM, Http, Page, WebProcess, office_toml, shot, start_noon_office
from tests.test_web_portal import PROBLEMS_JS
from antre_web.complaints_texts import ct
from antre_web.follow_texts import ft

PHONE_SIZE = {"width": 390, "height": 844}
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-complaints")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(
        f'port = {port}\nhost = "127.0.0.1"\npublic_url = "http://127.0.0.1:{port}"\n'
        '[complaints]\nmax_photo_mb = 1.0'))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.tmp = tmp
    office.shots = tmp / "shots"
    office.shots.mkdir()
    office.staff = sign_in_staff(office.client.ok)
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def db(site) -> sqlite3.Connection:
    return sqlite3.connect(next(site.tmp.glob("antre.db")))


def multipart(h: Http, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None,
              declared: int | None = None) -> Page:
    import urllib.request
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for k, (name, data, ctype) in (files or {}).items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                  f'Content-Type: {ctype}\r\n\r\n'.encode() + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    req = urllib.request.Request(h.base + path, data=out.getvalue(), method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return h._open(req)


def raw_upload(h: Http, form: Page, payload: bytes, chunked: bool) -> tuple[int, str]:
    """A multipart POST over a plain socket: the body is sent from a thread (the server may stop reading and
    answer early: the sender's broken pipe is expected), the answer read on this one."""
    import socket
    import threading
    import urllib.parse
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{form.csrf()}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="foto"; filename="besar.jpg"\r\n'
            f'Content-Type: image/jpeg\r\n\r\n').encode()
    body = head + payload + f"\r\n--{boundary}--\r\n".encode()
    url = urllib.parse.urlsplit(h.base)
    cookies = "; ".join(f"{c.name}={c.value}" for c in h.jar)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    request = (f"POST /pengaduan HTTP/1.1\r\nHost: {url.netloc}\r\nCookie: {cookies}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n{framing}\r\nConnection: close\r\n\r\n")
    sock = socket.create_connection((url.hostname, url.port), timeout=30)

    def send():
        try:
            sock.sendall(request.encode())
            if chunked:
                for i in range(0, len(body), 65536):
                    part = body[i:i + 65536]
                    sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                sock.sendall(b"0\r\n\r\n")
            else:
                sock.sendall(body)
        except OSError:
            pass   # the server answered and closed before taking it all: what is tested

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    except ConnectionResetError:
        pass
    finally:
        sender.join(30)
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer.decode("utf-8", "replace")


def jpeg_with_gps(size=(2400, 1800)) -> bytes:
    im = Image.new("RGB", size, (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "KameraMerek"            # Make
    exif[0x0110] = "Model X-1"              # Model
    exif[0x0131] = "Pelacak 1.0"            # Software
    exif[0x8825] = {1: "S", 2: (6.0, 54.0, 59.0), 3: "E", 4: (107.0, 36.0, 35.0)}   # GPS: Bandung
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=70)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)   # the GPS really is in the upload
    return data


def form_fields(page: Page, **over) -> dict[str, str]:
    return {"csrf": page.csrf(), "rid": page.rid(), "category": "pengaduan", "topic": "infrastruktur",
            "text": "Lampu jalan di RT 03 mati.", "name": "Budi Santoso", "phone": "081234567890"} | over


def code_of(page: Page) -> str:
    m = re.search(r"/pengaduan/(P\d{12})", page.url)
    assert m, page.url + page.text[:500]
    return m[1]


def test_bad_input_on_the_form_is_refused_plainly(site):
    h = Http(site.web.url)
    form = h.get("/pengaduan")
    assert form.status == 200 and 'enctype="multipart/form-data"' in form.text and len(form.body) < 30_000
    before = db(site).execute("SELECT count(*) FROM complaints").fetchone()[0]
    # A forged form: no CSRF token.
    assert multipart(h, "/pengaduan", form_fields(form, csrf="forged")).status == 403
    # Every field wrong at once.
    page = multipart(h, "/pengaduan", form_fields(form, category="keluhan", topic="jalan", text="  ", name="B4di",
                                                  phone="12"))
    assert page.status == 400 and page.problem() == ct("fix_below")
    errors = dict(re.findall(r'<p class="err" id="e-([a-z]+)">([^<]*)</p>', page.text))
    assert errors == {"category": ct("p_choice"), "topic": ct("p_choice"), "text": ct("p_required"),
                      "name": ct("p_name"), "phone": ct("p_phone")}
    page = multipart(h, "/pengaduan", form_fields(form, text="x" * 2001, name="", phone=""))
    errors = dict(re.findall(r'<p class="err" id="e-([a-z]+)">([^<]*)</p>', page.text))
    assert errors == {"text": ct("p_too_long", n=2000), "name": ct("p_contact")}
    # Files that are not images: text named .jpg, HTML, an SVG with script, a truncated JPEG, a GIF.
    real = jpeg_with_gps((64, 48))
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    for name, data, ctype in (("foto.jpg", b"bukan gambar " * 50, "image/jpeg"),
                              ("foto.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
                              ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
                              ("potong.jpg", real[:200], "image/jpeg"),
                              ("a.gif", gif.getvalue(), "image/gif")):
        page = multipart(h, "/pengaduan", form_fields(form), {"foto": (name, data, ctype)})
        assert page.status == 400 and ct("p_photo_not_image") in page.text, name
    # A decompression bomb: 20000 x 20000 pixels in a small PNG.
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG", optimize=True)
    assert len(bomb.getvalue()) < 1_000_000
    page = multipart(h, "/pengaduan", form_fields(form), {"foto": ("bom.png", bomb.getvalue(), "image/png")})
    assert page.status == 400 and ct("p_photo_too_big", n="1") in page.text
    # Larger than [complaints] max_photo_mb (1 MB): refused by its Content-Length before any of it is read,
    # and, sent in chunks without a length, refused once 1 MB (and the form's slack) has arrived.
    for chunked in (False, True):
        status, text = raw_upload(h, form, b"\xff" * 3_000_000, chunked)
        assert status == 413 and ct("too_large", n="1") in text, (chunked, status)
    assert db(site).execute("SELECT count(*) FROM complaints").fetchone()[0] == before
    assert not list((site.tmp / "complaint-photos").glob("*.jpg")) if (site.tmp / "complaint-photos").exists() else True


def test_photo_is_resized_and_exif_gps_really_removed_and_anonymous_stores_no_contact(site):
    h = Http(site.web.url)
    form = h.get("/pengaduan")
    page = multipart(h, "/pengaduan", form_fields(form, anonymous="1", notify="1", text=XSS),
                     {"foto": ("IMG_2026.jpg", jpeg_with_gps(), "image/jpeg")})
    assert page.status == 200 and ct("sent") in page.text, page.text[:800]
    code = code_of(page)
    # Script in the text is text on the page.
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    row = db(site).execute("SELECT contact_name, contact_phone, notify, anonymous, photo FROM complaints "
                           "WHERE code = ?", (code,)).fetchone()
    assert row[:4] == (None, None, 0, 1) and re.fullmatch(r"[0-9a-f]{64}\.jpg", row[4])
    stored = (site.tmp / "complaint-photos" / row[4]).read_bytes()
    im = Image.open(io.BytesIO(stored))
    assert im.format == "JPEG" and max(im.size) == 1280 and im.size == (1280, 960)
    exif = im.getexif()
    assert len(exif) == 0 and not exif.get_ifd(0x8825) and b"Exif" not in stored[:4096]
    assert b"KameraMerek" not in stored and b"Pelacak" not in stored and b"GPS" not in stored
    assert "exif" not in im.info and "icc_profile" not in im.info
    # The anonymous report's page says so and shows no one.
    assert ct("anon_shown") in page.text and ct("photo_attached") in page.text


def test_codes_of_others_and_garbage_are_answered_plainly(site):
    h = Http(site.web.url)
    guessed = new_complaint_code()                        # well formed, never issued
    page = h.get(f"/pengaduan/{guessed}")
    assert page.status == 404 and ct("err_complaint_not_found") in page.text
    assert h.get("/pengaduan/P12345").status == 404
    assert h.get(f"/pengaduan/{guessed[:-1]}{(int(guessed[-1]) + 1) % 10}").status == 404   # check digit wrong
    assert h.get(f"/pengaduan/{guessed}/events").status == 404
    page = h.get("/pengaduan/cari?kode=" + "%3Cscript%3E")
    assert page.status == 400 and "<script>" not in page.text
    form = h.get("/pengaduan")
    assert h.post(f"/pengaduan/{guessed}/tambah", {"csrf": form.csrf(), "text": "halo"}).status == 404
    assert h.post(f"/pengaduan/{guessed}/nilai", {"csrf": "forged", "rating": "5"}).status == 403
    # /lacak and /cek follow any code to its page; a well-formed code never issued is answered at /cek.
    letter = new_tracking_code()
    missing = h.get(f"/lacak?kode={format_complaint_code(guessed).lower()}")
    assert missing.status == 404 and "/cek" in missing.url and ft("cek_not_found") in missing.text
    assert h.get(f"/cek?nomor={letter}").status == 404
    assert "/status/" in h.get("/lacak?kode=A-012").url
    page = h.get("/lacak?kode=%3Cb%3Ehalo")
    assert page.status == 400 and ft("cek_unknown") in page.text and "<b>halo" not in page.text


def sign_in(page, site, name: str) -> None:
    page.goto(site.web.url + "/staf")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form.console-login button[type=submit]")
    page.wait_for_selector("#signed-in-as")


def test_report_from_a_phone_answered_in_the_console_followed_live_and_rated(site, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    photo = tmp_path / "jalan.jpg"
    photo.write_bytes(jpeg_with_gps((1600, 1200)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            phone = browser.new_context(viewport=PHONE_SIZE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                        locale="id-ID")
            page = phone.new_page()
            page.goto(site.web.url + "/")
            page.click("footer >> text=Pengaduan")
            page.wait_for_url("**/pengaduan")
            page.check("#cat-pengaduan")
            page.select_option("#f-topic", "infrastruktur")
            page.fill("#f-text", "Jembatan di Dusun Cikoneng retak, berbahaya untuk anak sekolah.")
            page.set_input_files("#f-foto", str(photo))
            page.fill("#f-name", "Siti Aminah")
            page.fill("#f-phone", "0812 3456 7890")
            shot(page, site, "web-complaint-form")
            assert page.evaluate(PROBLEMS_JS, PHONE_SIZE["width"]) == []   # nothing cut, targets of 44 px
            page.click("#complaint-form button[type=submit]")
            page.wait_for_url(re.compile(r".*/pengaduan/P\d{12}\?baru=1$"))
            code = page.url.split("/")[-1].split("?")[0]
            expect(page.locator("#code")).to_have_text(format_complaint_code(code))
            expect(page.locator("#status")).to_have_text(ct("st_diterima"))
            expect(page.locator("#live")).to_have_text(ct("live"))
            shot(page, site, "web-complaint-status-new")
            assert page.evaluate(PROBLEMS_JS, PHONE_SIZE["width"]) == []   # nothing cut, targets of 44 px
            assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]   # no sideways scroll

            staff = browser.new_context(viewport={"width": 1024, "height": 900}, locale="id-ID")
            kasi = staff.new_page()
            sign_in(kasi, site, "bu-kasi")
            kasi.click("#nav-complaints")
            kasi.wait_for_url("**/staf/pengaduan")
            row = kasi.locator("#inbox tr", has_text=format_complaint_code(code))
            expect(row).to_contain_text("S*** A*****")          # masked in the inbox
            expect(row).not_to_contain_text("Siti Aminah")
            row.locator("text=Buka").click()
            expect(kasi.locator("#contact")).to_contain_text("Siti Aminah")
            wait_for(lambda: kasi.locator("#photo").evaluate("img => img.complete && img.naturalWidth") == 1280,
                     what="the photo shown to the kasi, resized to 1280 pixels")
            kasi.fill("#note-text", "RAHASIA: cek dulu ke Pak RT 03")
            kasi.click("#note button[type=submit]")
            expect(kasi.locator("#thread")).to_contain_text("RAHASIA")
            kasi.select_option("#to", "diverifikasi")
            kasi.click("#set-status button[type=submit]")
            expect(kasi.locator("#status")).to_have_text(ct("st_diverifikasi"))
            expect(page.locator("#status")).to_have_text(ct("st_diverifikasi"))    # live on the phone
            kasi.fill("#reply-text", "Jembatan sudah ditinjau; perbaikan dimulai Senin.")
            kasi.check("#reply-final")
            kasi.click("#reply button[type=submit]")
            expect(kasi.locator("#status")).to_have_text(ct("st_selesai"))
            shot(kasi, site, "console-complaint-open")
            expect(page.locator("#status")).to_have_text(ct("st_selesai"))
            expect(page.locator("#thread")).to_contain_text("perbaikan dimulai Senin")
            expect(page.locator("#rate")).to_be_visible()
            assert "RAHASIA" not in page.content()                  # the note never reaches the resident
            page.check("#rate-4")
            page.click("#rate button[type=submit]")
            expect(page.locator("#rated")).to_contain_text("4")
            assert "RAHASIA" not in page.content() and "bu-kasi" not in page.content()
            shot(page, site, "web-complaint-answered")
            assert page.evaluate(PROBLEMS_JS, PHONE_SIZE["width"]) == []   # nothing cut, targets of 44 px
            assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_SIZE["width"]

            # The petugas sees nothing not assigned to them; the admin sees no complaints at all.
            loket = browser.new_context(locale="id-ID").new_page()
            sign_in(loket, site, "loket-satu")
            cid = db(site).execute("SELECT id FROM complaints WHERE code = ?", (code,)).fetchone()[0]
            assert loket.goto(site.web.url + f"/staf/pengaduan/{cid}").status == 403
            assert loket.context.request.get(site.web.url + f"/staf/pengaduan/{cid}/foto").status == 404
            admin_ctx = browser.new_context(locale="id-ID")
            admin = admin_ctx.new_page()
            sign_in(admin, site, "admin")
            assert admin.goto(site.web.url + "/staf/pengaduan").status == 403
            # The monthly summary.
            kasi.goto(site.web.url + "/staf/pengaduan/ringkasan")
            expect(kasi.locator("#answered")).not_to_have_text("0")
            expect(kasi.locator("#median")).to_have_text(re.compile(r"^\d+,\d$"))   # a decimal comma
            shot(kasi, site, "console-complaint-summary")
        finally:
            browser.close()
    views = db(site).execute("SELECT actor, action FROM audit_log WHERE action LIKE 'complaint.%' AND subject = ?",
                             (f"complaint {cid}",)).fetchall()
    assert ("bu-kasi", "complaint.view") in views and ("bu-kasi", "complaint.photo") in views
    assert ("bu-kasi", "complaint.note") in views and ("bu-kasi", "complaint.answer") in views
    assert not [v for v in views if v[0] in ("loket-satu", "admin")]


def test_a_photo_that_cannot_be_written_leaves_no_half_file(tmp_path):
    """A full disk while a complaint's photo is stored: the write fails for real (a file-size limit the kernel
    enforces, EFBIG, as a full disk's ENOSPC would), the error reaches the caller, and no hidden temp file stays."""
    import subprocess
    import sys
    folder = tmp_path / "photos"
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from antre_web.photos import store_photo\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "try:\n"
        f"    store_photo(Path({str(folder)!r}), b'x' * 5000)\n"
        "except OSError as e:\n"
        "    print('refused', e.errno); sys.exit(0)\n"
        "print('stored'); sys.exit(1)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("refused")
    assert list(folder.iterdir()) == []
