"""The FAQ edited in the console and the inbox of residents' questions, through the real ``antre web``,
``antre serve`` and mosquitto, with accounts: a resident's unanswered question goes to the staff with a code
(and an SMS opt-in), a petugas answers it and the resident reads the answer on /tanya/{code} (and the SMS is in
the outbox), another person cannot answer it again, the kasi makes it an FAQ entry and the assistant answers
it at once; a petugas cannot edit the FAQ; scripts in questions and answers are shown as text or refused;
one address cannot flood the inbox (tests/test_web_questions_flood.py: an office of its own, as two services on
one broker would share the service's MQTT client id). Chromium at phone size for the resident, desktop for the console
(screenshots)."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import pytest

from tests.support import free_port, wait_for
from tests.test_console_letters import http_sign_in
from tests.test_letters import sign_in_staff
from tests.test_web import CHROMIUM, PASSWORD, AddrClient, Http, WebProcess, office_toml, shot, start_noon_office
from tests.test_web_portal import PROBLEMS_JS

FAQ = Path(__file__).parent.parent / "bench" / "faq" / "faq.toml"
XSS = "<script>alert(1)</script> kapan bantuan bibit dibagi <img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-questions")
    spool = tmp / "spool"
    for d in ("inbox", "outbox", "sent", "error"):
        (spool / d).mkdir(parents=True)
    port = free_port()
    extra = (office_toml(f'port = {port}\nhost = "127.0.0.1"')
             + f'\n[notify]\nsms = true\nspool = "{spool}"\nquestion_daily_limit = 4\n\n' + FAQ.read_text())
    office = start_noon_office(tmp, broker, extra)
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


def ask(h: Http, q: str):
    return h.post("/tanya", {"csrf": h.get("/tanya").csrf(), "q": q})


def send(h: Http, q: str, **extra):
    page = ask(h, q)
    assert 'id="to-staff"' in page.text
    return h.post("/tanya/kirim", {"csrf": page.csrf(), "q": q} | extra)


def send_from(c: AddrClient, q: str) -> str:
    """``q`` sent to the staff from ``c``'s own address (the inbox counts per address): its code."""
    page = c.request("POST", "/tanya", {"csrf": c.request("GET", "/tanya").csrf(), "q": q})
    assert 'id="to-staff"' in page.text, (page.status, re.findall(r'id="(?:answer|problem)">([^<]*)', page.text))
    sent = c.request("POST", "/tanya/kirim", {"csrf": page.csrf(), "q": q})
    assert sent.status == 303, sent.status
    return re.search(r"/tanya/(T\d{10})", sent.headers["Location"])[1]


def db(site):
    return sqlite3.connect(site.db_path)


def test_a_question_goes_to_the_staff_and_its_answer_back_to_the_resident(site):
    resident = Http(site.web.url)
    assert 'id="to-staff"' not in ask(resident, "ktp sy ilang gmn").text          # answered: nothing to send
    sent = send(resident, "Kapan pembagian pupuk subsidi musim ini?", phone="0813-1111-2222", sms="1")
    code = re.search(r"/tanya/(T\d{10})", sent.url)[1]
    assert sent.status == 200 and 'id="fresh"' in sent.text and "Belum dijawab" in sent.text
    assert "Jawaban juga akan dikirim lewat SMS." in sent.text          # the opt-in is confirmed in words
    # While unanswered the page says what to do and reloads itself every minute (there is no question stream),
    # to its plain address (not again the "keep your code" note of the first visit).
    assert f'<meta http-equiv="refresh" content="60; url=/tanya/{code}">' in sent.text
    assert "Halaman ini diperbarui otomatis. Jawaban muncul di sini. Buka lagi halaman ini nanti." in sent.text
    other = Http(site.web.url)
    plain = send(other, "Apakah balai desa bisa dipinjam untuk hajatan?")
    code2 = re.search(r"/tanya/(T\d{10})", plain.url)[1]
    assert 'id="fresh"' in plain.text and "lewat SMS" not in plain.text
    hostile = send(other, XSS)
    assert "<script>alert(1)" not in hostile.text and "&lt;script&gt;" in hostile.text
    assert other.get("/tanya/T0000000000").status == 404 and other.get("/tanya/bukan-kode").status == 404
    dashed = f"t-{code[1:6]}.{code[6:]}"                          # /cek takes a question code too, as typed
    assert other.get(f"/cek?kode={dashed}").url.endswith(f"/tanya/{code}")
    assert "salah ketik" in other.get(f"/cek?kode={code[:-1]}{(int(code[-1]) + 1) % 10}").text
    assert other.post("/tanya/kirim", {"q": "tanpa csrf"}).status == 403
    empty = other.post("/tanya/kirim", {"csrf": other.get("/tanya").csrf(), "q": "   "})
    assert empty.status == 400 and "Tulis pertanyaan Anda dulu." in empty.text and "terlalu panjang" not in empty.text

    # A petugas sees the inbox (number masked, the script as text), may not edit the FAQ.
    loket = http_sign_in(site, "loket-satu")
    inbox = loket.get("/staf/tanya")
    assert inbox.status == 200 and "0813****2222" in inbox.text and "081311112222" not in inbox.text
    assert "<script>alert(1)" not in inbox.text and "&lt;img src=x onerror=alert(1)&gt;" in inbox.text
    assert loket.get("/staf/faq").status == 403 and 'id="nav-faq"' not in inbox.text
    with db(site) as c:
        ids = dict(c.execute("select code, id from resident_questions").fetchall())
    answered = loket.post(f"/staf/tanya/{ids[code]}/jawab",
                          {"csrf": inbox.csrf(), "text": "Mulai 15 Desember di balai desa.\nBawa kartu tani."})
    assert answered.status == 200 and 'id="done"' in answered.text
    page = resident.get(f"/tanya/{code}")
    assert "Mulai 15 Desember di balai desa." in page.text and 'id="answer"' in page.text
    assert 'http-equiv="refresh"' not in page.text and 'id="live"' not in page.text   # answered: nothing to wait for
    with db(site) as c:
        [(phone, body)] = c.execute("select phone, body from outbox where kind = 'question_answer'").fetchall()
    assert phone == "081311112222" and "Bawa kartu tani" in body

    # The kasi cannot answer it again; a script in an answer is refused.
    kasi = http_sign_in(site, "bu-kasi")
    listing = kasi.get("/staf/tanya")
    again = kasi.post(f"/staf/tanya/{ids[code]}/jawab", {"csrf": listing.csrf(), "text": "jawaban lain"})
    assert "sudah dijawab petugas lain" in again.text
    bad = kasi.post(f"/staf/tanya/{ids[code2]}/jawab", {"csrf": listing.csrf(), "text": "<a href=x>klik</a>"})
    assert "tanpa tag HTML" in bad.text
    kasi.post(f"/staf/tanya/{ids[code2]}/jawab", {"csrf": listing.csrf(), "text": "Bisa, ajukan ke sekretaris desa."})
    assert "Bisa, ajukan" in other.get(f"/tanya/{code2}").text
    with db(site) as c:      # no number given: no SMS, the page only
        assert c.execute("select reply_state from resident_questions where code = ?", (code2,)).fetchone() == ("page_only",)

    # "Jadikan FAQ": prefilled from the answered question; saved, the assistant answers it at once.
    done = kasi.get("/staf/tanya?keadaan=answered")
    assert f'id="to-faq-{ids[code2]}"' in done.text
    form = kasi.get(f"/staf/faq?dari={ids[code2]}")
    assert 'id="from-question"' in form.text and "Apakah balai desa bisa dipinjam untuk hajatan?" in form.text
    saved = kasi.post("/staf/faq", {"csrf": form.csrf(), "rid": form.rid(), "question": str(ids[code2]),
                                    "questions": "Apakah balai desa bisa dipinjam untuk hajatan?\npinjam balai desa",
                                    "answer": "Bisa, ajukan ke sekretaris desa.", "links": "", "active": "1"})
    assert saved.status == 200 and 'id="done"' in saved.text
    assert "Bisa, ajukan ke sekretaris desa." in ask(Http(site.web.url), "mau pinjam balai desa").text
    # Bad entries come back with a plain reason.
    for answer, reason in (("<script>alert(1)</script>", "tanpa tag HTML"), ("", "tidak boleh kosong"),
                           ("x" * 1001, "terlalu panjang")):
        page = kasi.post("/staf/faq", {"csrf": form.csrf(), "rid": uuid.uuid4().hex, "questions": "tes", "answer": answer,
                                       "active": "1"})
        assert page.status == 400 and reason in page.problem(), (answer[:20], page.problem())
    link = kasi.post("/staf/faq", {"csrf": form.csrf(), "rid": uuid.uuid4().hex, "questions": "tes", "answer": "ok",
                                   "links": "javascript:alert(1)"})
    assert link.status == 400 and "https://" in link.problem()
    assert kasi.post("/staf/faq", {"csrf": "forged", "questions": "x", "answer": "y"}).status == 403
    # Every view and change is in the audit log.
    with db(site) as c:
        actions = {a for (a,) in c.execute("select action from audit_log where action like 'question.%' "
                                           "or action like 'faq.%'")}
    assert {"faq.seed", "faq.save", "question.list", "question.answer"} <= actions
    # The question texts and the number never reach the service's or the website's log.
    logs = site.service.output() + site.web.output()
    assert "pupuk subsidi" not in logs and "081311112222" not in logs and "hajatan" not in logs


def test_the_pages_in_chromium(site):
    from playwright.sync_api import expect, sync_playwright

    site.client.ok("question_submit", question=XSS, channel="web", address="10.9.9.9")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="id-ID").new_page()
            phone.goto(site.web.url + "/tanya")
            phone.fill("#q", "Apakah ada lowongan kerja di pabrik dekat sini?")
            phone.click("form[action='/tanya'] button[type=submit]")
            expect(phone.locator("#to-staff")).to_be_visible()
            shot(phone, site, "tanya-unsure-phone")
            assert phone.evaluate(PROBLEMS_JS, 390) == []   # nothing cut, targets of 44 px
            assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
            phone.click("#send-to-staff")
            expect(phone.locator("#code")).to_be_visible()
            from antre_web.faq import ft as qt
            expect(phone.locator("#live")).to_have_text(qt("live", "id") + " " + qt("come_back", "id"))
            shot(phone, site, "tanya-waiting-phone")
            assert phone.evaluate(PROBLEMS_JS, 390) == []   # nothing cut, targets of 44 px
            code = re.search(r"/tanya/(T\d{10})", phone.url)[1]
            with db(site) as c:
                [(qid,)] = c.execute("select id from resident_questions where code = ?", (code,)).fetchall()
            site.client.ok("question_answer", question=qid, text="Belum ada lowongan.\nLihat papan pengumuman.",
                           **site.staff["kasi"])
            phone.goto(site.web.url + f"/tanya/{code}")
            expect(phone.locator("#answer")).to_contain_text("Belum ada lowongan.")
            shot(phone, site, "tanya-answer-phone")
            assert phone.evaluate(PROBLEMS_JS, 390) == []   # nothing cut, targets of 44 px
            assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390

            desk = browser.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID").new_page()
            desk.goto(site.web.url + "/staf")
            desk.fill("#name", "bu-kasi")
            desk.fill("#password", PASSWORD)
            desk.click("form.console-login button[type=submit]")
            expect(desk.locator("#signed-in-as")).to_be_visible()
            desk.click("#nav-questions")
            expect(desk.locator("h1")).to_have_text("Pertanyaan warga")
            # The script question is text on the page, and no dialog ever opens.
            dialogs = []
            desk.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            expect(desk.locator(".question-text", has_text="<script>alert(1)</script>").first).to_be_visible()
            shot(desk, site, "console-questions")
            desk.set_viewport_size({"width": 390, "height": 844})      # a petugas on a phone
            desk.reload()
            shot(desk, site, "console-questions-phone")
            assert desk.evaluate("() => document.documentElement.scrollWidth") <= 390
            desk.set_viewport_size({"width": 1280, "height": 800})
            desk.click("#nav-faq")
            expect(desk.locator("#faq-form")).to_be_visible()
            desk.fill("#questions", "jadwal posyandu\nkapan posyandu balita")
            desk.fill("#answer", "Posyandu: Rabu pertama tiap bulan, 08.00 di balai desa.")
            desk.click("#faq-save")
            expect(desk.locator("#done")).to_be_visible()
            shot(desk, site, "console-faq")
            assert dialogs == []
            phone.goto(site.web.url + "/tanya")
            phone.fill("#q", "kapan jadwal posyandu?")
            phone.click("form[action='/tanya'] button[type=submit]")
            expect(phone.locator("#answer")).to_contain_text("Rabu pertama tiap bulan")
        finally:
            browser.close()


def test_deleting_an_faq_entry_asks_first_and_works_without_javascript(site):
    """"Hapus" opens a confirmation page (the entry, what deleting means, "Ya, hapus" / "Batal"); only its form
    deletes, and the deletion is audited. Chromium with JavaScript switched off."""
    from playwright.sync_api import expect, sync_playwright

    question, answer = "kapan pasar murah sembako", "Pasar murah: Sabtu kedua tiap bulan di lapangan desa."
    entry = site.client.ok("faq_save", questions=[question, "jadwal pasar murah"], answer=answer,
                           **site.staff["kasi"])["id"]
    assert answer in ask(Http(site.web.url), question).text

    def deletions():
        with db(site) as c:
            return c.execute("select actor from audit_log where action = 'faq.delete' and subject = ?",
                             (f"faq {entry}",)).fetchall()

    def exists():
        with db(site) as c:
            return c.execute("select count(*) from faq_entries where id = ?", (entry,)).fetchone()[0] == 1

    kasi = http_sign_in(site, "bu-kasi")
    listing = kasi.get("/staf/faq")
    assert f'href="/staf/faq/{entry}/hapus"' in listing.text
    assert f'action="/staf/faq/{entry}/hapus"' not in listing.text       # no one-click delete in the list
    # A POST without the confirmation (an old page, a crafted form) deletes nothing: it shows the question.
    unconfirmed = kasi.post(f"/staf/faq/{entry}/hapus", {"csrf": listing.csrf()})
    assert unconfirmed.status == 200 and 'id="faq-delete-form"' in unconfirmed.text and exists()
    assert kasi.post(f"/staf/faq/{entry}/hapus", {"csrf": "forged", "confirm": "1"}).status == 403 and exists()
    loket = http_sign_in(site, "loket-satu")                              # a petugas may not edit the FAQ
    assert loket.get(f"/staf/faq/{entry}/hapus").status == 403
    assert loket.post(f"/staf/faq/{entry}/hapus", {"csrf": loket.get("/staf/tanya").csrf(),
                                                   "confirm": "1"}).status == 403
    assert exists() and deletions() == []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"])
        try:
            desk = browser.new_context(viewport={"width": 1280, "height": 800}, java_script_enabled=False, locale="id-ID").new_page()
            desk.goto(site.web.url + "/staf")
            desk.fill("#name", "bu-kasi")
            desk.fill("#password", PASSWORD)
            desk.click("form.console-login button[type=submit]")
            expect(desk.locator("#signed-in-as")).to_be_visible()
            desk.goto(site.web.url + "/staf/faq")
            desk.click(f"#faq-delete-{entry}")
            expect(desk.locator("h1")).to_have_text("Hapus jawaban ini?")
            expect(desk.locator("#faq-delete-entry")).to_contain_text(answer)
            expect(desk.locator("#delete-warning")).to_contain_text("tidak bisa dibatalkan")
            shot(desk, site, "console-faq-delete")
            desk.click("#faq-delete-no")                                   # "Batal": nothing happens
            expect(desk.locator(f"#faq-{entry}")).to_be_visible()
            assert exists() and deletions() == []
            desk.click(f"#faq-delete-{entry}")
            desk.click("#faq-delete-yes")
            expect(desk.locator("#deleted")).to_have_text("Jawaban dihapus.")
            expect(desk.locator(f"#faq-{entry}")).to_have_count(0)
        finally:
            browser.close()
    assert not exists() and deletions() == [("bu-kasi",)]                 # audited as before, once
    gone = kasi.get(f"/staf/faq/{entry}/hapus")
    assert gone.status == 404 and "sudah dihapus" in gone.text and 'id="faq-delete-form"' not in gone.text
    again = kasi.post(f"/staf/faq/{entry}/hapus", {"csrf": listing.csrf(), "confirm": "1"})
    assert again.status == 404 and deletions() == [("bu-kasi",)]
    assert answer not in ask(Http(site.web.url), question).text           # the assistant forgot it at once


def test_question_codes_never_reach_the_access_log(site):
    """Whoever holds a question's code reads the resident's question and the staff's answer on /tanya/{code}
    (and /cek sends a typed code there): the code is that key, so the access log writes it as ``***`` like the
    other followed codes -- the plain form and the dashed one a resident may type into the address."""
    h = AddrClient(site.web.port, "127.0.0.21")
    code = send_from(h, "Kapan lomba burung merpati tingkat kecamatan digelar?")
    dashed = f"{code[0]}-{code[1:6]}-{code[6:]}"
    assert h.request("GET", f"/tanya/{code}").status == 200
    assert h.request("GET", f"/tanya/{dashed.lower()}").status == 200
    assert h.request("GET", f"/cek?kode={code}").headers["Location"].endswith(f"/tanya/{code}")
    wait_for(lambda: site.web.output().count("GET /tanya/") >= 3, what="the access log lines")
    log = site.web.output()
    assert "GET /tanya/*** " in log and "POST /tanya/kirim " in log
    for secret in (code, code[1:], dashed, dashed.lower(), code[1:6] + "-" + code[6:]):
        assert secret not in log


def test_guessing_question_codes_shares_the_address_budget_and_is_told_plainly(site):
    """Unknown question codes count against the browser address's one budget with the other codes (20 per
    10 minutes); past it /tanya/{code} says so in plain words (429), not "code not found" -- a resident behind
    the same NAT holding a real code must not be told it does not exist -- while another address still reads
    its answer."""
    from antre.rules.complaint_codes import new_complaint_code
    from antre.rules.question_codes import new_question_code
    from antre.service.server import ADDRESS_MISSES
    from antre_web.follow_texts import ft as follow_ft

    code = send_from(AddrClient(site.web.port, "127.0.0.22"), "Kapan lomba layang-layang di lapangan Cikoneng digelar?")
    guesser = AddrClient(site.web.port, "127.0.0.23")
    for i in range(ADDRESS_MISSES):
        page = guesser.request("GET", f"/tanya/{new_question_code()}")
        assert page.status == 404, (i, page.status)
    refused = guesser.request("GET", f"/tanya/{code}")
    assert refused.status == 429 and follow_ft("cek_too_many", minutes=10) in refused.text
    assert "Cikoneng" not in refused.text and refused.headers.get("Retry-After") == "600"
    assert guesser.request("GET", f"/pengaduan/{new_complaint_code()}").status == 429     # one budget for all
    assert AddrClient(site.web.port, "127.0.0.24").request("GET", f"/tanya/{code}").status == 200


def test_a_flooded_inbox_still_opens_in_the_console(site):
    """130 long open questions (the office takes 300 a day) passed the service's reply limit: /staf/tanya showed
    "offline". It shows the oldest ones that fit and says how many more there are."""
    words = "mohon penjelasan tentang jadwal pembagian bantuan pupuk dan bibit di dusun kami "
    for i in range(130):
        site.client.ok("question_submit", question=f"banjir {i} " + (words * 4)[:280], channel="web",
                       address=f"10.77.{i}.1")
    petugas = http_sign_in(site, "loket-satu")
    page = petugas.get("/staf/tanya")
    assert page.status == 200 and 'id="more"' in page.text and "pertanyaan lagi" in page.text
    assert "banjir 0 " in page.text
