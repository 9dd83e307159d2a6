"""The residents' letter pages through the real ``antre web``, ``antre serve`` and mosquitto, and Debian's
Chromium at phone size: the catalogue, a form with bad input on every kind of field, the tracking code, a
status page that changes live while staff move the request, cancelling, the letter rendered to PDF whose QR
code (read back from the rendered page) opens the verification page; wrong codes everywhere."""

from __future__ import annotations

import re
import urllib.parse
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest

from antre import config
from antre.documents.letter import render_letter_pdf, verify_url
from antre.rules.letter_codes import new_tracking_code
from tests.support import free_port
from tests.test_letters import domisili, sign_in_staff
from tests.test_web import (CHROMIUM, PASSWORD, Http, WebProcess, hash_pin, office_toml, shot,
                            start_noon_office)
from antre_web.letters import lt

NIK = "3204055403900001"       # a woman born 14 March 1990, Kabupaten Bandung


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-letters")
    port = free_port()
    (tmp / "spool").mkdir()
    office = start_noon_office(tmp, broker, office_toml(
        f'port = {port}\nhost = "127.0.0.1"\npublic_url = "http://127.0.0.1:{port}"\n'
        f'staff_password_hash = "{hash_pin(PASSWORD)}"') + f'\n[notify]\nsms = true\nspool = "{tmp}/spool"\n')
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.shots = tmp / "shots"
    office.shots.mkdir()
    office.cfg = config.load(office.config_path)
    office.staff = sign_in_staff(office.client.ok)
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def request_id_of(site, code: str) -> int:
    return next(i["id"] for i in site.client.ok("letter_list", **site.staff["kasi"])["items"] if i["code"] == code)


def test_catalogue_and_every_field_explained_without_javascript(site):
    h = Http(site.web.url)
    page = h.get("/surat")
    assert page.status == 200 and len(page.body) < 100_000
    for name in ("Surat Keterangan Domisili", "Surat Keterangan Tidak Mampu (SKTM)", "Surat Pengantar SKCK",
                 "Surat Pengantar Nikah (N1-N4)", "Surat Keterangan Kelahiran", "Surat Keterangan Kematian",
                 "Surat Keterangan Pindah", "Surat Keterangan Kehilangan", "Surat Keterangan Usaha (SKU)"):
        assert name in page.text
    assert "Gratis, tidak dipungut biaya" in page.text and "Biasanya selesai 1 hari kerja" in page.text
    assert "365 hari setelah surat diambil atau dibatalkan" in page.text   # what is stored, how long
    assert "Surat Keterangan" in h.get("/").text and h.get("/surat/ajukan/sim").status == 404
    form = h.get("/surat/ajukan/domisili")
    assert form.status == 200 and 'type="date"' in form.text and 'inputmode="numeric"' in form.text
    before = len(site.client.events_of("letter_status"))
    bad = {"csrf": form.csrf(), "rid": form.rid(), "nama": "Siti 123", "nik": "3204053002900001",
           "tempat_lahir": "x" * 41, "tanggal_lahir": "2099-01-01", "jenis_kelamin": "Wanita", "alamat": "",
           "keperluan": "melamar kerja"}
    page = h.post("/surat/ajukan/domisili", bad)
    assert page.status == 400 and page.problem() == lt("fix_below")
    errors = dict(re.findall(r'<p class="err" id="e-([a-z_]+)">([^<]*)</p>', page.text))
    assert errors == {"nama": lt("p_name"), "nik": lt("p_nik_date"), "tempat_lahir": lt("p_too_long", n=40),
                      "tanggal_lahir": lt("p_future_date"), "jenis_kelamin": lt("p_choice"), "alamat": lt("p_required")}
    assert 'value="Siti 123"' in page.text                       # what was typed stays, to be corrected
    # The NIK against the date of birth and the sex on the same form; a region that does not exist.
    page = h.post("/surat/ajukan/domisili", bad | {"nama": "Siti Aminah", "nik": NIK, "tempat_lahir": "Bandung",
                                                   "tanggal_lahir": "1990-03-15", "jenis_kelamin": "Laki-laki",
                                                   "alamat": "RT 1"})
    errors = dict(re.findall(r'<p class="err" id="e-([a-z_]+)">([^<]*)</p>', page.text))
    assert errors == {"tanggal_lahir": lt("p_nik_birth_mismatch"), "jenis_kelamin": lt("p_nik_sex_mismatch")}
    page = h.post("/surat/ajukan/domisili", bad | {"nama": "Siti Aminah", "nik": "9904055403900001"})
    assert lt("p_nik_region") in page.text and lt("p_nik_length") in h.post(
        "/surat/ajukan/domisili", bad | {"nik": "32040554039000"}).text
    # The SKTM's family card number, the SKU's year, the death letter's date typed by hand.
    sktm = h.get("/surat/ajukan/sktm")
    page = h.post("/surat/ajukan/sktm", {"csrf": sktm.csrf(), "rid": sktm.rid(), "no_kk": "1234"})
    assert lt("p_kk_length") in page.text
    page = h.post("/surat/ajukan/usaha", {"csrf": sktm.csrf(), "rid": sktm.rid(), "sejak_tahun": "dulu"})
    assert lt("p_number") in page.text
    page = h.post("/surat/ajukan/kematian", {"csrf": sktm.csrf(), "rid": sktm.rid(), "tanggal_meninggal": "31-02-2026"})
    assert lt("p_date") in page.text
    # Without the form's CSRF token: refused, nothing sent.
    assert h.post("/surat/ajukan/domisili", bad | {"csrf": "forged"}).status == 403
    assert len(site.client.events_of("letter_status")) == before


def test_wrong_codes_are_answered_plainly(site):
    h = Http(site.web.url)
    page = h.get("/surat/status?kode=1234-5678-9012")      # the check digit is wrong: not even asked
    assert page.status == 400 and lt("bad_code") in page.text
    unknown = new_tracking_code()                          # well formed, never issued
    page = h.get(f"/surat/status?kode={unknown[:4]}+{unknown[4:8]}+{unknown[8:]}")   # spaces, as typed
    assert page.status == 404 and lt("err_letter_not_found") in page.text
    assert h.get("/surat/status/12345").status == 404
    assert h.get(f"/surat/status/{unknown}/events").status == 404
    form = h.get("/surat/status")
    assert h.post(f"/surat/batal/{unknown}", {"csrf": form.csrf() if 'name="csrf"' in form.text else ""}).status in (403, 404)
    for token in ("x", "A" * 24, "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "a" * 200, "A" * 23 + "%00"):
        page = h.get(f"/surat/cek/{token}")
        assert page.status == 404 and "<script>alert" not in page.text
        assert "/" in urllib.parse.unquote(token) or "Surat tidak ditemukan" in page.text, token


def test_request_from_a_phone_follow_it_live_collect_and_verify_the_letter(site, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    from PIL import Image

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            ctx = browser.new_context(viewport={"width": 360, "height": 800}, device_scale_factor=1,
                                      is_mobile=True, has_touch=True, locale="id-ID")
            page = ctx.new_page()
            page.goto(site.web.url + "/")
            page.click("text=Surat Keterangan >> nth=0")
            page.wait_for_url("**/surat")
            shot(page, site, "web-letters-catalogue")
            page.click("#jenis-domisili >> text=Ajukan surat ini")
            page.wait_for_url("**/surat/ajukan/domisili")
            page.fill("#f-nama", "Siti Aminah")
            page.fill("#f-nik", "3204 0554 0390 0001")
            page.fill("#f-tempat_lahir", "Bandung")
            page.fill("#f-tanggal_lahir", "1990-03-14")
            page.select_option("#f-jenis_kelamin", "Perempuan")
            page.fill("#f-alamat", "RT 02 RW 05 Dusun Cikoneng")
            page.fill("#f-keperluan", "melamar kerja")
            shot(page, site, "web-letters-form")
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/surat/status/\d{12}\?baru=1$"))
            code = page.url.split("/")[-1].split("?")[0]
            expect(page.locator("#code")).to_have_text(f"{code[:4]}-{code[4:8]}-{code[8:]}")
            expect(page.locator("#status")).to_have_text(lt("st_diperiksa"))
            expect(page.locator("#live")).to_have_text(lt("live"))          # the stream is open
            expect(page.locator("#cancel")).to_be_visible()
            shot(page, site, "web-letters-status-new")

            # Staff find something missing: the open page shows it, with the reason, without a reload.
            rid = request_id_of(site, code)
            site.client.ok("letter_set_status", request=rid, status="belum_lengkap", reason="KK belum dilampirkan",
                           **site.staff["kasi"])
            expect(page.locator("#status")).to_have_text(lt("st_belum_lengkap"), timeout=20_000)
            expect(page.locator("#reason-text")).to_have_text("KK belum dilampirkan")
            shot(page, site, "web-letters-status-incomplete")
            site.client.ok("letter_set_status", request=rid, status="diperiksa", **site.staff["kasi"])
            number = site.client.ok("letter_assign_number", request=rid, **site.staff["kasi"])["number"]
            expect(page.locator("#number")).to_have_text(number, timeout=20_000)
            expect(page.locator("#cancel")).to_be_hidden()                  # numbered: no longer cancellable
            site.client.ok("letter_set_status", request=rid, status="menunggu_ttd", **site.staff["kasi"])
            expect(page.locator("#status")).to_have_text(lt("st_menunggu_ttd"), timeout=20_000)
            site.client.ok("letter_set_status", request=rid, status="siap_diambil", **site.staff["penandatangan"])
            expect(page.locator("#status")).to_have_text(lt("st_siap_diambil"), timeout=20_000)
            expect(page.locator("#reason")).to_be_hidden()
            shot(page, site, "web-letters-status-ready")

            # The signed letter, rendered; its QR code read back from the page image opens the check page.
            letter = site.client.ok("letter_get", request=rid, **site.staff["kasi"])
            pdf = tmp_path / "surat.pdf"
            pdf.write_bytes(render_letter_pdf(site.cfg, letter, verify=verify_url(site.cfg, letter["verify_token"]),
                                              today=date.today()))
            subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(pdf), str(tmp_path / "surat")],
                           check=True)
            Path(site.shots / "letter.png").write_bytes((tmp_path / "surat.png").read_bytes())
            (url,) = [c.data.decode() for c in pyzbar.decode(Image.open(tmp_path / "surat.png"))]
            assert url.startswith(site.web.url + "/surat/cek/")
            page.goto(url)
            expect(page.locator("#verdict")).to_have_attribute("data-validity", "valid")
            expect(page.locator("#v-number")).to_have_text(number)
            expect(page.locator("#v-name")).to_have_text("S*** A*****")
            assert "Siti" not in page.content() and NIK not in page.content()
            shot(page, site, "web-letters-verify-valid")
            site.client.ok("letter_revoke", request=rid, reason="data salah", **site.staff["kasi"])
            page.reload()
            expect(page.locator("#verdict")).to_have_attribute("data-validity", "revoked")
            shot(page, site, "web-letters-verify-revoked")

            # Collected: the status page says so, and its stream ends.
            page.goto(site.web.url + f"/surat/status/{code}")
            site.client.ok("letter_set_status", request=rid, status="sudah_diambil", **site.staff["kasi"])
            expect(page.locator("#status")).to_have_text(lt("st_sudah_diambil"), timeout=20_000)
            ctx.close()
        finally:
            browser.close()
    for log in (site.web.output(), site.service.output()):
        assert "Siti" not in log and NIK not in log and "Cikoneng" not in log


def test_cancel_while_unprocessed_and_not_after(site):
    h = Http(site.web.url)
    form = h.get("/surat/ajukan/kehilangan")
    data = {"csrf": form.csrf(), "rid": form.rid(), "nama": "Budi Santoso", "nik": "3204051403900002",
            "alamat": "RT 1", "barang": "KTP", "tanggal_hilang": "01-12-2026", "lokasi_hilang": "pasar"}
    page = h.post("/surat/ajukan/kehilangan", data)
    assert page.status == 200 and "baru=1" in page.url, page.text[:2000]
    code = page.url.split("/")[-1].split("?")[0]
    again = h.post("/surat/ajukan/kehilangan", data)          # the same form sent twice: one request
    assert again.url == page.url
    page = h.post(f"/surat/batal/{code}", {"csrf": page.csrf()})
    assert page.status == 200 and lt("cancelled_ok") in page.text and lt("st_dibatalkan") in page.text
    events = h.get(f"/surat/status/{code}/events")             # one message, then the stream ends
    assert events.status == 200 and events.text.count("data: ") == 1 and lt("st_dibatalkan") in events.text
    form = h.get("/surat/ajukan/kehilangan")
    page = h.post("/surat/ajukan/kehilangan", data | {"csrf": form.csrf(), "rid": uuid.uuid4().hex})
    code = page.url.split("/")[-1].split("?")[0]
    site.client.ok("letter_assign_number", request=request_id_of(site, code), **site.staff["kasi"])
    page = h.post(f"/surat/batal/{code}", {"csrf": page.csrf()})
    assert page.status == 409 and lt("cannot_cancel") in page.text


def test_sms_opt_in_on_the_form(site):
    h = Http(site.web.url)
    form = h.get("/surat/ajukan/kehilangan")
    assert 'id="f-sms"' in form.text and "nomor HP bila Anda minta SMS" in form.text
    data = {"csrf": form.csrf(), "rid": form.rid(), "nama": "Budi Santoso", "nik": "3204051403900002",
            "alamat": "RT 1", "barang": "KTP", "tanggal_hilang": "01-12-2026", "lokasi_hilang": "pasar",
            "sms": "1", "sms_phone": "12345"}
    bad = h.post("/surat/ajukan/kehilangan", data)
    assert bad.status == 400 and lt("p_phone") in bad.text and 'checked' in bad.text
    page = h.post("/surat/ajukan/kehilangan", data | {"sms_phone": "0812-3456-7891"})
    code = page.url.split("/")[-1].split("?")[0]
    rid = request_id_of(site, code)
    site.client.ok("letter_assign_number", request=rid, **site.staff["kasi"])
    site.client.ok("letter_set_status", request=rid, status="menunggu_ttd", **site.staff["kasi"])
    site.client.ok("letter_set_status", request=rid, status="siap_diambil", **site.staff["penandatangan"])
    import sqlite3
    with sqlite3.connect(site.db_path) as db:
        rows = db.execute("select phone, body from outbox where kind = 'letter_siap_diambil'").fetchall()
    assert rows and rows[-1][0] == "081234567891" and "siap diambil" in rows[-1][1]
    assert "081234567891" not in site.web.output() and "081234567891" not in site.service.output()


def test_live_pages_are_limited_per_address_and_given_back_when_closed(site):
    import socket

    from tests.support import wait_for

    h = Http(site.web.url)
    form = h.get("/surat/ajukan/kehilangan")
    page = h.post("/surat/ajukan/kehilangan", {"csrf": form.csrf(), "rid": form.rid(), "nama": "Budi Santoso",
                                               "nik": "3204051403900002", "alamat": "RT 1", "barang": "KTP",
                                               "tanggal_hilang": "01-12-2026", "lokasi_hilang": "pasar"})
    code = page.url.split("/")[-1].split("?")[0]
    port = int(site.web.url.rsplit(":", 1)[1])

    def open_stream() -> tuple[socket.socket, bytes]:
        sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        sock.sendall(f"GET /surat/status/{code}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        return sock, head

    opened = [open_stream() for _ in range(3)]          # [web] streams_per_address = 3 in this office
    assert all(head.startswith(b"HTTP/1.1 200") for _, head in opened)
    sock, head = open_stream()
    sock.close()
    assert head.startswith(b"HTTP/1.1 429"), head[:100]
    for s, _ in opened:
        s.close()

    def a_fourth_is_admitted():
        s, head = open_stream()
        s.close()
        return head.startswith(b"HTTP/1.1 200")
    wait_for(a_fourth_is_admitted, what="the closed pages' places given back")


def test_guessing_tracking_codes_from_one_address_is_stopped_in_plain_words_and_others_go_on(site):
    """The status pages send the browser's address with letter_status / complaint_status: the service counts
    unknown codes per address (ADDRESS_MISSES in 10 minutes), then that address is answered 429 in plain
    words, on the letter and the complaint pages alike, while another address still finds its letter."""
    import http.client

    from antre.rules.complaint_codes import new_complaint_code
    from antre.service.server import ADDRESS_MISSES

    port = int(site.web.url.rsplit(":", 1)[1])

    def get(source: str, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
        try:
            conn.request("GET", path)
            reply = conn.getresponse()
            return reply.status, reply.read().decode()
        finally:
            conn.close()

    mine = site.client.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    guesser, resident = "127.0.8.1", "127.0.8.2"
    for i in range(ADDRESS_MISSES):
        code = new_tracking_code() if i % 2 else new_complaint_code()
        assert get(guesser, f"/surat/status/{code}" if i % 2 else f"/pengaduan/{code}")[0] == 404
    for path in (f"/surat/status/{mine}", f"/pengaduan/{new_complaint_code()}"):
        status, body = get(guesser, path)
        assert status == 429 and "Terlalu banyak kode yang salah" in body, (path, status)
    status, body = get(resident, f"/surat/status/{mine}")
    assert status == 200 and mine[:4] in body
