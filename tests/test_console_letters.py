"""The staff console's letter pages end to end: ``antre web`` + ``antre serve`` + mosquitto as processes,
real accounts signed in through the console's sign-in page in Debian's Chromium, while a resident's phone
(another browser context) watches the request's status page change live. Roles: the kasi processes, only the
signer signs, counter staff hand over, an admin sees nothing; every view, print and change in the audit log.
The printed letter's QR code is read back from the PDF's image and opened."""

from __future__ import annotations

import http.cookiejar
import io
import re
import sqlite3
import subprocess
import uuid
from datetime import date

import pytest

from antre.rules.letter_codes import format_tracking_code
from tests.support import free_port
from tests.test_letters import PASSWORD, STAFF, sign_in_staff
from tests.test_web import CHROMIUM, Http, WebProcess, office_toml, shot, start_noon_office
from antre_web.letters import lt

NIK = "3204055403900001"


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("console-letters")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(
        f'port = {port}\nhost = "127.0.0.1"\npublic_url = "http://127.0.0.1:{port}"'))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web = web
    office.shots = tmp / "shots"
    office.shots.mkdir()
    office.staff = sign_in_staff(office.client.ok)      # the accounts (admin, kasi, penandatangan, petugas)
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def sign_in(page, site, name: str) -> None:
    page.goto(site.web.url + "/staf")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form.console-login button[type=submit]")
    page.wait_for_selector("#signed-in-as")


def http_sign_in(site, name: str) -> Http:
    h = Http(site.web.url)
    form = h.get("/staf")
    page = h.post("/staf/masuk", {"csrf": form.csrf(), "name": name, "password": PASSWORD})
    assert "signed-in-as" in page.text, page.text[:1000]
    return h


def request_letter(site) -> str:
    h = Http(site.web.url)
    form = h.get("/surat/ajukan/domisili")
    page = h.post("/surat/ajukan/domisili", {
        "csrf": form.csrf(), "rid": form.rid(), "nama": "Siti Aminah", "nik": NIK, "tempat_lahir": "Bandung",
        "tanggal_lahir": "14-03-1990", "jenis_kelamin": "Perempuan", "alamat": "RT 02 RW 05 Dusun Cikoneng",
        "keperluan": "melamar kerja"})
    assert "baru=1" in page.url, page.text[:1500]
    return page.url.split("/")[-1].split("?")[0]


def audit(site) -> list[tuple]:
    with sqlite3.connect(site.db_path) as db:
        return db.execute("select actor, action, subject from audit_log where action like 'letter.%' "
                          "order by id").fetchall()


def test_staff_process_a_request_with_roles_while_the_resident_watches(site, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    from PIL import Image

    code = request_letter(site)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            phone = browser.new_context(viewport={"width": 360, "height": 800}, is_mobile=True, has_touch=True, locale="id-ID")
            resident = phone.new_page()
            resident.goto(site.web.url + f"/surat/status/{code}")
            expect(resident.locator("#live")).to_have_text(lt("live"))

            desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
            kasi = desk.new_page()
            sign_in(kasi, site, "bu-kasi")
            kasi.click("#nav-letters")
            kasi.wait_for_url("**/staf/surat")
            expect(kasi.locator("#count-diperiksa")).to_contain_text("(1)")
            row = kasi.locator("#work-list tr", has_text=format_tracking_code(code))
            expect(row).to_contain_text("S*** A*****")            # the list shows masked names only
            assert "Siti" not in kasi.content()
            shot(kasi, site, "console-letters-list")
            row.locator("text=" + lt("s_open")).click()
            expect(kasi.locator("input[name=f_nik]")).to_have_value(NIK)   # opened: the personal data, audited
            rid = int(kasi.url.split("?")[0].rstrip("/").split("/")[-1])
            shot(kasi, site, "console-letter-open")
            # Incomplete without a reason: refused, said plainly; with one: the resident sees it live.
            kasi.select_option("#to", "belum_lengkap")
            kasi.click("#set-status button[type=submit]")
            expect(kasi.locator("#problem")).to_have_text(lt("s_err_missing_argument"))
            kasi.select_option("#to", "belum_lengkap")
            kasi.fill("#reason", "KK belum dilampirkan")
            kasi.click("#set-status button[type=submit]")
            expect(kasi.locator("#status")).to_have_text(lt("st_belum_lengkap"))
            expect(resident.locator("#status")).to_have_text(lt("st_belum_lengkap"), timeout=20_000)
            expect(resident.locator("#reason-text")).to_have_text("KK belum dilampirkan")
            kasi.select_option("#to", "diperiksa")
            kasi.click("#set-status button[type=submit]")
            # A typo corrected after checking the KTP; a bad NIK is refused.
            kasi.fill("input[name=f_alamat]", "RT 03 RW 05 Dusun Cikoneng")
            kasi.click("#edit button[type=submit]")
            expect(kasi.locator("input[name=f_alamat]")).to_have_value("RT 03 RW 05 Dusun Cikoneng")
            kasi.fill("input[name=f_nik]", "3204053002900001")
            kasi.click("#edit button[type=submit]")
            expect(kasi.locator("#problem")).to_contain_text("nik: nik_date")
            kasi.goto(site.web.url + f"/staf/surat/{rid}")
            kasi.click("#assign-number button")
            expect(kasi.locator("#number")).to_contain_text("474.4/001/2001/")
            expect(resident.locator("#number")).to_contain_text("474.4/001/2001/", timeout=20_000)
            assert "siap_diambil" not in kasi.locator("#to").inner_html()   # a kasi is never offered to sign
            kasi.select_option("#to", "menunggu_ttd")
            kasi.click("#set-status button[type=submit]")
            expect(resident.locator("#status")).to_have_text(lt("st_menunggu_ttd"), timeout=20_000)

            signer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID").new_page()
            sign_in(signer, site, "pak-kades")
            signer.goto(site.web.url + f"/staf/surat/{rid}")
            signer.select_option("#to", "siap_diambil")
            signer.click("#set-status button[type=submit]")
            expect(signer.locator("#status")).to_have_text(lt("st_siap_diambil"))
            expect(resident.locator("#status")).to_have_text(lt("st_siap_diambil"), timeout=20_000)
            shot(resident, site, "console-letters-resident-ready")

            # The kasi prints the signed letter; its QR code opens the verification page.
            pdf = kasi.request.get(site.web.url + f"/staf/surat/{rid}/pdf")
            assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
            (tmp_path / "surat.pdf").write_bytes(pdf.body())
            subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(tmp_path / "surat.pdf"),
                            str(tmp_path / "surat")], check=True)
            (site.shots / "console-letter.png").write_bytes((tmp_path / "surat.png").read_bytes())
            (url,) = [c.data.decode() for c in pyzbar.decode(Image.open(tmp_path / "surat.png"))]
            resident.goto(url)
            expect(resident.locator("#verdict")).to_have_attribute("data-validity", "valid")

            # Counter staff hand it over from the list; they cannot open the request itself.
            loket = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID").new_page()
            sign_in(loket, site, "loket-satu")
            loket.goto(site.web.url + "/staf/surat?status=siap_diambil")
            row = loket.locator("#work-list tr", has_text=format_tracking_code(code))
            expect(row.locator("text=" + lt("s_open"))).to_have_count(0)
            assert loket.goto(site.web.url + f"/staf/surat/{rid}").status == 403
            loket.goto(site.web.url + "/staf/surat?status=siap_diambil")
            row.locator("button", has_text=lt("s_handover")).click()
            resident.goto(site.web.url + f"/surat/status/{code}")
            expect(resident.locator("#status")).to_have_text(lt("st_sudah_diambil"))
        finally:
            browser.close()
    trail = audit(site)
    number = next(s for a, act, s in trail if act == "letter.number")
    for entry in [("bu-kasi", "letter.view", f"request {rid}"), ("bu-kasi", "letter.status", f"request {rid}"),
                  ("bu-kasi", "letter.edit", f"request {rid}"), ("bu-kasi", "letter.number", number),
                  ("pak-kades", "letter.view", number), ("pak-kades", "letter.sign", number),
                  ("bu-kasi", "letter.print", number), ("loket-satu", "letter.hand_over", number)]:
        assert entry in trail, (entry, trail)
    for log in (site.web.output(), site.service.output()):
        assert "Siti" not in log and NIK not in log and "Cikoneng" not in log


def test_roles_forged_forms_and_the_register(site):
    code = request_letter(site)
    kasi = http_sign_in(site, "bu-kasi")
    rid = int(re.search(rf'id="req-(\d+)"[^>]*>\s*<td>{format_tracking_code(code)}', kasi.get("/staf/surat").text)[1])
    page = kasi.get(f"/staf/surat/{rid}")
    # A kasi forging the signer's move, a form without its CSRF token, an unknown status: all refused.
    forged = kasi.post(f"/staf/surat/{rid}/status", {"csrf": page.csrf(), "status": "siap_diambil"})
    assert forged.status == 409 and lt("s_err_invalid_transition") in forged.text
    assert kasi.post(f"/staf/surat/{rid}/nomor", {"csrf": "x"}).status == 403
    assert kasi.post(f"/staf/surat/{rid}/status", {"csrf": page.csrf(), "status": "terbang"}).status == 400
    assert kasi.get("/staf/surat/999999").status == 404
    # An admin manages accounts only: no letters; nobody signed in: the sign-in page.
    admin = Http(site.web.url)
    admin_token = site.staff["admin"]["session"]
    admin.jar.set_cookie(http.cookiejar.Cookie(
        0, "antre_staff", admin_token, None, False, "127.0.0.1", False, False, "/staf", True, False, None, False,
        None, None, {}))
    assert admin.get("/staf/surat").status == 403 and admin.get(f"/staf/surat/{rid}").status == 403
    anon = Http(site.web.url)
    assert 'class="console-login"' in anon.get(f"/staf/surat/{rid}").text
    assert anon.get(f"/staf/surat/{rid}/pdf").text.count("console-login") == 1
    # The register: a number for a letter typed by hand, then the CSV and the PDF.
    agenda = kasi.get("/staf/surat/agenda")
    page = kasi.post("/staf/surat/agenda", {"csrf": agenda.csrf(), "rid": agenda.rid(), "classification": "045",
                                            "subject": "Undangan musyawarah desa", "recipient": "Ketua BPD"})
    number = re.search(r'id="reserved">[^:]*: ([^<]+)<', page.text)[1]
    assert number.startswith("045/001/2001/")
    bad = kasi.post("/staf/surat/agenda", {"csrf": agenda.csrf(), "rid": uuid.uuid4().hex, "classification": "!!",
                                           "subject": "x", "recipient": "y"})
    assert bad.status == 409
    year = number.rsplit("/", 1)[1]
    status, body, headers = kasi.get_bytes(f"/staf/surat/agenda?tahun={year}&format=csv")
    text = body.decode("utf-8-sig")
    assert status == 200 and number in text and "K**** B**" in text and "Ketua" not in text
    status, body, headers = kasi.get_bytes(f"/staf/surat/agenda?tahun={year}&format=pdf")
    assert status == 200 and body.startswith(b"%PDF")
    assert ("bu-kasi", "letter.reserve_number", number) in audit(site)
    assert ("bu-kasi", "letter.register", year) in audit(site)
    loket = http_sign_in(site, "loket-satu")
    agenda = loket.get("/staf/surat/agenda")
    assert agenda.status == 200 and 'id="reserve"' not in agenda.text     # counter staff read, do not reserve


def test_the_kasi_keeps_the_catalogue_residents_see(site):
    kasi = http_sign_in(site, "bu-kasi")
    page = kasi.get("/staf/surat/jenis")
    assert page.status == 200 and 'id="type-skck"' in page.text
    # SKCK switched off; domisili's purpose, requirements, days and fee changed.
    off = kasi.post("/staf/surat/jenis", {"csrf": page.csrf(), "rid": uuid.uuid4().hex, "type": "skck",
                                          "purpose": "Pengantar SKCK", "requirements": "KTP asli", "days": "1",
                                          "cost": "0"})
    assert off.status == 200 and 'id="done"' in off.text
    new = {"csrf": page.csrf(), "rid": uuid.uuid4().hex, "type": "domisili", "active": "1",
           "purpose": "Keterangan tempat tinggal untuk keperluan apa saja.",
           "requirements": "KTP asli\nKK asli\n\n", "days": "3", "cost": "5.000"}
    assert 'id="done"' in kasi.post("/staf/surat/jenis", new).text
    bad = kasi.post("/staf/surat/jenis", new | {"rid": uuid.uuid4().hex, "days": "99"})
    assert bad.status == 409 and 'id="done"' not in bad.text                      # more than 60 days: refused
    assert kasi.post("/staf/surat/jenis", new | {"days": "tiga"}).status == 400
    resident = Http(site.web.url)
    catalogue = resident.get("/surat").text
    assert "Surat Pengantar SKCK" not in catalogue and "Keterangan tempat tinggal untuk keperluan apa saja." in catalogue
    assert "Biaya Rp5.000" in catalogue and "Biasanya selesai 3 hari kerja" in catalogue
    assert resident.get("/surat/ajukan/skck").status == 404
    assert site.client.error("letter_request", type="skck", fields={"nama": "Budi", "nik": NIK},
                             channel="web") == "unknown_letter_type"
    code = request_letter(site)
    status = site.client.ok("letter_status", code=code)
    days = (date.fromisoformat(status["due_on"]) - date.fromisoformat(status["created_at"][:10])).days
    assert days >= 3                                                            # three working days now
    # Counter staff may not change it; the change is in the audit log.
    loket = http_sign_in(site, "loket-satu")
    assert loket.get("/staf/surat/jenis").status == 403
    assert site.client.error("letter_type_update", type="skck", active=True, **site.staff["petugas"]) == "forbidden"
    assert ("bu-kasi", "letter.catalogue", "domisili") in audit(site)


def test_the_catalogue_form_says_what_it_cannot_keep(site):
    """Requirements past the 20th line, or a line past 200 characters, were dropped without a word (the kasi's
    lines 21-25 were gone); '²' or 5 000 digits as the days or the fee was a 500. Now each is said, nothing is
    stored, and 20 lines of 200 characters are kept whole."""
    kasi = http_sign_in(site, "bu-kasi")
    page = kasi.get("/staf/surat/jenis")
    before = site.client.ok("letter_catalogue")["overrides"].get("kehilangan", {})
    base = {"csrf": page.csrf(), "type": "kehilangan", "active": "1", "purpose": "Laporan kehilangan barang.",
            "days": "1", "cost": "0"}
    lines = [f"{n:02d} " + "Fotokopi KTP dan KK yang masih berlaku " * 6 for n in range(1, 26)]
    lines = [line[:200] for line in lines]
    for wrong in ({"requirements": "\n".join(lines)},                                  # 25 lines
                  {"requirements": "\n".join(lines[:3] + [lines[3] + " lagi"])},      # a line of 205
                  {"requirements": "KTP", "days": "\u00b2"}, {"requirements": "KTP", "cost": "9" * 5000}):
        refused = kasi.post("/staf/surat/jenis", base | wrong | {"rid": uuid.uuid4().hex})
        assert refused.status == 400 and 'id="done"' not in refused.text, refused.status
        assert "20 baris" in refused.text or "Isian tidak valid" in refused.text
    assert site.client.ok("letter_catalogue")["overrides"].get("kehilangan", {}) == before
    kept = kasi.post("/staf/surat/jenis", base | {"rid": uuid.uuid4().hex, "requirements": "\n".join(lines[:20])})
    assert 'id="done"' in kept.text
    assert site.client.ok("letter_catalogue")["overrides"]["kehilangan"]["requirements"] == \
        [" ".join(line.split()) for line in lines[:20]]


def test_staff_type_a_request_in_for_a_resident_without_a_phone(site):
    from tests.support import TestClient

    loket = http_sign_in(site, "loket-satu")
    assert 'id="new-link"' in loket.get("/staf/surat").text
    form = loket.get("/staf/surat/baru/kehilangan")
    assert form.status == 200 and 'id="for-resident"' in form.text and 'action="/staf/surat/baru/kehilangan"' in form.text
    data = {"csrf": form.csrf(), "rid": form.rid(), "nama": "Ujang Suryana", "nik": "3204051403900002",
            "alamat": "RT 04 RW 01", "barang": "Kartu BPJS", "tanggal_hilang": "01-12-2026", "lokasi_hilang": "pasar"}
    bad = loket.post("/staf/surat/baru/kehilangan", data | {"nik": "3204051403900000"})
    assert bad.status == 400 and lt("p_nik_serial") in bad.text
    page = loket.post("/staf/surat/baru/kehilangan", data)
    assert "baru=1" in page.url and "/surat/status/" in page.url, page.text[:1000]
    code = page.url.split("/")[-1].split("?")[0]
    kasi = site.staff["kasi"]
    rid = next(i["id"] for i in site.client.ok("letter_list", **kasi)["items"] if i["code"] == code)
    got = site.client.ok("letter_get", request=rid, **kasi)
    assert got["channel"] == "counter" and got["holder_name"] == "Ujang Suryana"
    assert got["history"][0]["actor"] == "loket-satu for a resident (counter)"
    assert ("loket-satu", "letter.request", f"request {rid}") in audit(site)
    # The signer does not type requests in; without a session the website cannot claim the counter channel.
    signer = http_sign_in(site, "pak-kades")
    assert signer.get("/staf/surat/baru").status == 403
    web = TestClient(site.broker.url, site.office_id, "web-9", "web").start()
    kiosk = TestClient(site.broker.url, site.office_id, "kiosk-9", "kiosk").start()
    try:
        assert web.error("letter_request", type="kehilangan", fields=data, channel="counter") == "forbidden"
        assert kiosk.error("letter_request", type="kehilangan", fields=data, channel="kiosk",
                           **kasi) == "forbidden"
        assert site.client.error("letter_request", type="kehilangan", fields=data, channel="counter",
                                 **site.staff["penandatangan"]) == "forbidden"
    finally:
        web.stop()
        kiosk.stop()
