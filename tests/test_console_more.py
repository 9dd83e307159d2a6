"""The staff console's work lists say how many rows the service left out: a flooded complaints inbox, a long
letters work list and a full news list answer only the rows that fit in one reply (the shipped broker's
64 KiB; tests/test_reply_size.py), so each page shows ``more`` in words. A real mosquitto with the shipped
limit, the real service and the real ``antre web``."""

from __future__ import annotations

import pytest

from tests.support import Mosquitto, free_port
from tests.test_console_letters import http_sign_in
from tests.test_letters import domisili, sign_in_staff
from tests.test_web import WebProcess, office_toml, start_noon_office


@pytest.fixture
def site(tmp_path):
    broker = Mosquitto(tmp_path / "mosquitto", extra="max_packet_size 65536\n").start()
    port = free_port()
    office = start_noon_office(tmp_path, broker, office_toml(
        f'port = {port}\nhost = "127.0.0.1"\npublic_url = "http://127.0.0.1:{port}"\n'))
    web = WebProcess(office.config_path, port, tmp_path / "web.log")
    web.wait_ready()
    office.web = web
    office.staff = sign_in_staff(office.client.ok)
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()
    broker.stop()


def test_the_complaints_inbox_and_letters_list_say_how_many_are_not_shown(site):
    ok, kasi = site.client.ok, site.staff["kasi"]["session"]
    for i in range(220):
        ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
           text=f"Laporan {i}: lampu jalan mati.", name="Siti Aminah Nurhayati Rahmawati", phone=f"0812987{i:05d}")
    reason = ("Kartu keluarga belum dilampirkan dan surat pengantar RT belum ditandatangani; " * 4)[:300]
    for rid in range(1, 131):   # a fresh database numbers the requests 1, 2, ...
        ok("letter_request", type="domisili", fields=domisili(), channel="web")
        ok("letter_set_status", request=rid, status="belum_lengkap", reason=reason, session=kasi)
    shown_c = len(ok("complaint_list", session=kasi)["items"])
    shown_l = len(ok("letter_list", session=kasi)["items"])
    h = http_sign_in(site, "bu-kasi")
    inbox = h.get("/staf/pengaduan")
    assert inbox.status == 200 and 'id="more"' in inbox.text
    assert f"Masih ada {220 - shown_c} laporan lagi" in inbox.text
    letters = h.get("/staf/surat")
    assert letters.status == 200 and 'id="more"' in letters.text
    assert f"Masih ada {130 - shown_l} permohonan lagi" in letters.text
    # A narrower choice that fits says nothing more.
    assert 'id="more"' not in h.get("/staf/pengaduan?status=selesai").text


def test_the_news_console_says_how_many_older_items_are_not_shown(site):
    ok, kasi = site.client.ok, site.staff["kasi"]["session"]
    body = "Pembagian bantuan pupuk bersubsidi untuk kelompok tani di balai desa. " * 55   # ~3 900 characters
    for i in range(20):
        ok("news_save", session=kasi, kind="berita", title=f"Kabar panjang {i}", body=body[:4000],
           publish_on="2026-01-01")
    shown = len(ok("news_list", session=kasi)["items"])
    assert 0 < shown < 20
    page = http_sign_in(site, "bu-kasi").get("/staf/kabar")
    assert page.status == 200 and f"Masih ada {20 - shown} kabar lama lagi" in page.text
    assert "Kabar panjang 19" in page.text and "Kabar panjang 0<" not in page.text


def test_the_register_page_and_its_csv_show_every_number_of_a_long_year(site):
    ok, kasi = site.client.ok, site.staff["kasi"]["session"]
    subject = ("Undangan rapat koordinasi penanggulangan banjir dan tanah longsor tingkat kecamatan " * 4)[:290]
    made = [ok("letter_reserve_number", classification="005", subject=f"{i} {subject}", recipient="Camat Cibiru",
               session=kasi)["number"] for i in range(250)]
    year = made[0].rsplit("/", 1)[1]
    h = http_sign_in(site, "bu-kasi")
    page = h.get(f"/staf/surat/agenda?tahun={year}")
    assert page.status == 200 and made[0] in page.text and made[-1] in page.text
    csv = h.get(f"/staf/surat/agenda?tahun={year}&format=csv")
    assert csv.status == 200 and all(n in csv.text for n in made)


def test_the_monthly_summary_csv_holds_every_complaint_of_a_flooded_month(site):
    from antre.rules.complaint_codes import format_complaint_code

    made = [site.client.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                           text=f"Laporan {i}: lampu jalan mati.", name="Siti Aminah",
                           phone=f"0812987{i:05d}")["code"] for i in range(420)]
    month = site.client.ok("complaint_status", code=made[0])["created_at"][:7]
    h = http_sign_in(site, "bu-kasi")
    page = h.get(f"/staf/pengaduan/ringkasan?bulan={month}")
    assert page.status == 200 and "420" in page.text
    csv = h.get(f"/staf/pengaduan/ringkasan?bulan={month}&format=csv")
    assert csv.status == 200 and csv.text.count("\n") == 421
    assert all(format_complaint_code(c) in csv.text for c in made)


def test_a_complaint_with_a_flood_of_duplicates_opens_and_says_what_is_not_shown(site):
    ok, kasi = site.client.ok, site.staff["kasi"]["session"]
    long = ("Jalan desa di RT 03 rusak parah, berlubang dan tergenang air setiap hujan turun. " * 40)[:1990]
    for i in range(35):   # a fresh database numbers them 1, 2, ...
        ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web", text=f"{i} {long}"[:2000],
           name="Siti Aminah", phone=f"0812987{i:05d}")
    for i in range(2, 36):
        ok("complaint_merge", complaint=i, into=1, session=kasi)
    for i in range(18):
        ok("complaint_note", complaint=1, text=f"catatan {i}: {long}"[:2000], session=kasi)
    page = http_sign_in(site, "bu-kasi").get("/staf/pengaduan/1")
    assert page.status == 200 and 'id="thread-more"' in page.text and "pesan lama tidak tampil" in page.text
    assert 'id="duplicates-more"' in page.text and "catatan 17:" in page.text
