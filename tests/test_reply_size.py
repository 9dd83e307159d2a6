"""A reply over the shipped broker's max_packet_size (64 KiB, broker_config/antre.conf) made mosquitto drop the
service itself: every device lost it and the asker got no answer. The service now answers ``reply_too_large``
instead and stays connected. A real in-process service on a mosquitto with the shipped limit."""

from __future__ import annotations

import pytest

from antre.rules import complaint_export
from antre.service.server import QueueServer
from tests.support import Mosquitto, TestClient, service_config, write_config
from tests.test_letters import sign_in_staff


@pytest.fixture
def running(tmp_path):
    b = Mosquitto(tmp_path / "mosquitto", extra="max_packet_size 65536\n").start()
    path = write_config(tmp_path / "antre.toml", mqtt_url=b.url, db_path=tmp_path / "antre.db")
    server = QueueServer(service_config(path))
    server.start()
    web = TestClient(b.url, server.cfg.office.id, client_id="web-1", component="web").start()
    web.wait_state(lambda s: True)
    yield server, web
    web.stop()
    server.stop()
    b.stop()


def test_an_oversized_reply_is_refused_and_the_service_stays_connected(running, monkeypatch):
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    made = [web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                   text=f"Laporan {i}: " + "Jalan desa rusak parah dan berlubang di banyak tempat. " * 34,
                   name="Siti Aminah", phone=f"0812987{i:05d}")["code"] for i in range(50)]
    month = web.ok("complaint_status", code=made[0])["created_at"][:7]
    monkeypatch.setattr(complaint_export, "PAGE_BYTES", 10 ** 9)   # one page for the whole month: too large
    assert web.error("complaint_export", month=month, session=kasi) == "reply_too_large"
    assert web.ok("complaint_status", code=made[-1])["code"] == made[-1]
    assert server.link.connected.is_set()


def test_a_flooded_complaints_inbox_still_answers_with_what_is_left(running):
    """300 open complaints (a flood: the inbox showed up to 300 rows of ~450 bytes) went over the limit: the
    whole inbox answered reply_too_large. Now it answers the oldest-due rows that fit and ``more``."""
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    for i in range(220):
        web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
               text=f"Laporan {i}: lampu jalan mati.", name="Siti Aminah Nurhayati Rahmawati",
               phone=f"0812987{i:05d}")
    reply = web.ok("complaint_list", session=kasi)
    assert 0 < len(reply["items"]) < 220
    assert reply["more"] == 220 - len(reply["items"])
    assert reply["counts"]["diterima"] == 220
    assert len(web.ok("complaint_list", session=kasi, status="selesai")["items"]) == 0


def test_a_long_letters_work_list_answers_what_fits_and_how_many_more(running):
    """Up to 200 open requests with their reasons (300 characters for 'belum lengkap') went over the limit at
    about 100: the work list answered reply_too_large. Now the oldest-due rows that fit, and ``more``."""
    from tests.test_letters import domisili

    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    reason = "Kartu keluarga belum dilampirkan dan surat pengantar RT belum ditandatangani; " * 4
    for rid in range(1, 131):   # a fresh database numbers the requests 1, 2, ...
        web.ok("letter_request", type="domisili", fields=domisili(), channel="web")
        web.ok("letter_set_status", request=rid, status="belum_lengkap", reason=reason[:300], session=kasi)
    listed = web.ok("letter_list", session=kasi)
    assert listed["counts"]["belum_lengkap"] == 130
    assert 0 < len(listed["items"]) < 130 and listed["more"] == 130 - len(listed["items"])
    assert listed["items"][0]["reason"] == reason[:300].strip()


def test_a_year_of_letters_comes_in_pages_that_each_fit(running):
    """The buku agenda of a year answered every number in one reply: ~300 letters with long subjects went over
    the limit (a village office numbers thousands a year). Now pages of at most 40 000 bytes, ``next``."""
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    subject = ("Undangan rapat koordinasi penanggulangan banjir dan tanah longsor tingkat kecamatan " * 4)[:300]
    made = [web.ok("letter_reserve_number", classification="005", subject=f"{i} {subject}"[:300],
                   recipient="Camat Cibiru", session=kasi)["number"] for i in range(250)]
    year = int(made[0].rsplit("/", 1)[1])
    seen, after, pages = [], None, 0
    while True:
        page = web.ok("letter_register", year=year, session=kasi, **({"after": after} if after else {}))
        pages += 1
        assert page["rows"]
        seen += [r["number"] for r in page["rows"]]
        after = page["next"]
        if after is None:
            break
    assert seen == made and pages > 1
    assert web.error("letter_register", year=year - 1, after=after or 1, session=kasi) == "invalid_argument"


def test_a_flooded_months_summary_comes_in_pages(running):
    """complaint_summary's LAPOR! rows (one per complaint of the month, ~170 bytes) went over the limit at
    about 380 complaints: the kasi's monthly summary and its CSV answered reply_too_large."""
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    made = [web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                   text=f"Laporan {i}: lampu jalan mati.", name="Siti Aminah", phone=f"0812987{i:05d}")["code"]
            for i in range(420)]
    month = web.ok("complaint_status", code=made[0])["created_at"][:7]
    seen, after, pages = [], None, 0
    while True:
        page = web.ok("complaint_summary", month=month, session=kasi, **({"after": after} if after else {}))
        assert page["total"] == 420 and page["per"]["status"]["diterima"] == 420
        pages, after = pages + 1, page["next"]
        seen += [r["code"] for r in page["rows"]]
        if after is None:
            break
    assert seen == made and pages > 1


def test_a_complaint_with_a_flood_of_duplicates_and_a_long_thread_still_opens(running):
    """complaint_get answered the whole thread (notes and replies have no count limit, 2 000 characters each)
    and every merged duplicate with its text: a flood of one report merged into one went over the limit and
    the complaint could no longer be opened. Now the newest messages and the first duplicates that fit."""
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    long = ("Jalan desa di RT 03 rusak parah, berlubang dan tergenang air setiap hujan turun. " * 40)[:1990]
    for i in range(35):   # a fresh database numbers them 1, 2, ...
        web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web", text=f"{i} {long}"[:2000],
               name="Siti Aminah", phone=f"0812987{i:05d}")
    for i in range(2, 36):
        web.ok("complaint_merge", complaint=i, into=1, session=kasi)
    for i in range(18):
        web.ok("complaint_note", complaint=1, text=f"catatan {i}: {long}"[:2000], session=kasi)
    got = web.ok("complaint_get", complaint=1, session=kasi)
    assert 0 < len(got["duplicates"]) < 34 and got["duplicates_more"] == 34 - len(got["duplicates"])
    assert got["thread_more"] > 0 and got["thread"][-1]["text"].startswith("catatan 17:")
