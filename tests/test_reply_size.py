"""A reply over the shipped broker's max_packet_size (64 KiB, broker_config/antre.conf) made mosquitto drop the
service itself: every device lost it and the asker got no answer. The service now answers ``reply_too_large``
instead and stays connected. A real in-process service on a mosquitto with the shipped limit."""

from __future__ import annotations

import pytest

import re
import sqlite3

from antre.link.protocol import encode, ok_reply
from antre.rules import complaint_export
from antre.service.server import MAX_REPLY_BYTES
from antre.service.server import QueueServer
from tests.support import Mosquitto, TestClient, service_config, write_config
from tests.test_letters import sign_in_staff


def start_running(tmp_path, extra: str = "", **tables: str):
    b = Mosquitto(tmp_path / "mosquitto", extra="max_packet_size 65536\n").start()
    path = write_config(tmp_path / "antre.toml", mqtt_url=b.url, db_path=tmp_path / "antre.db", extra=extra, **tables)
    server = QueueServer(service_config(path))
    server.start()
    web = TestClient(b.url, server.cfg.office.id, client_id="web-1", component="web").start()
    web.wait_state(lambda s: True)
    return b, server, web


@pytest.fixture
def running(tmp_path):
    b, server, web = start_running(tmp_path)
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


def fits(reply: dict) -> bool:
    return len(encode(ok_reply("r" * 64, reply))) <= MAX_REPLY_BYTES


def test_a_number_with_hundreds_of_open_items_sees_those_that_fit(tmp_path):
    """items_list ("semua urusan saya") answered every open item of the number: anyone may type a number on the
    complaint and letter forms, and a few hundred went over the limit, so its owner could no longer see any.
    Now the first that fit, and ``more``."""
    spool = tmp_path / "spool"
    for d in ("inbox", "outbox", "sent", "error"):
        (spool / d).mkdir(parents=True)
    b, server, web = start_running(tmp_path, f'\n[notify]\nsms = true\nspool = "{spool}"\ndaily_budget = 5000\n'
                                             f'number_daily_limit = 1000\n')
    try:
        phone = "081298765432"
        for i in range(700):
            web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                   text=f"Laporan {i}: lampu jalan mati.", name="Siti Aminah", phone=phone)
        web.ok("items_code", phone=phone, address="203.0.113.5")
        with sqlite3.connect(tmp_path / "antre.db") as db:
            body = db.execute("select body from outbox where kind = 'login_code'").fetchone()[0]
        session = "s" * 43
        assert web.ok("items_confirm", phone=phone, code=re.search(r"kode Anda (\d{6})", body)[1],
                      session=session)["confirmed"]
        listed = web.ok("items_list", session=session)
        assert fits(listed) and 0 < len(listed["items"]) < 700 and listed["more"] == 700 - len(listed["items"])
        assert {i["kind"] for i in listed["items"]} == {"complaint"}
    finally:
        web.stop()
        server.stop()
        b.stop()


def test_the_fullest_news_fits(running):
    """news_public (the portal, the kiosk), news_list (the console) and one item: 35 published items with the
    longest title (120 characters of 4-byte letters, all on the ticker, which joins up to 30 titles besides the
    items) and the longest body one command carries."""
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    today = web.ok("web_info")["business_date"]
    body = ("Pengumuman: pelayanan KTP-el 🏠 dibuka kembali mulai Senin pukul 08.00 di balai desa. " * 60)[:4000]
    for i in range(35):
        last = web.ok("news_save", session=kasi, kind="pengumuman", title=f"{i:02d}" + "🏠" * 118, body=body,
                      publish_on=today, ticker=True)["id"]
    public = web.ok("news_public")
    assert fits(public) and public["items"] and public["more"] == 30 - len(public["items"])
    assert public["ticker"].count("🏠" * 118) == 30
    assert fits(web.ok("news_public", excerpt=500))
    listed = web.ok("news_list", session=kasi)
    assert fits(listed) and listed["more"] == 35 - len(listed["items"])
    assert web.ok("news_public", item=last)["items"][0]["body"] == body.strip()


def test_a_full_faq_book_fits(running):
    """faq_list answers the whole book, which faq_save keeps under FAQ_BYTES; faq_common its first questions."""
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    variant = ("Bagaimana cara mengurus surat keterangan domisili untuk keperluan bank dan sekolah 🏠? " * 3)[:200]
    answer = ("Bawa KTP asli, Kartu Keluarga dan surat pengantar RT/RW ke loket pelayanan umum 🏠. " * 12)[:1000]
    saved = 0
    while True:
        reply = web.request("faq_save", session=kasi, answer=answer, links=[f"https://desa.example/{saved}/" + "a" * 150],
                            questions=[f"{saved:03d}.{n:02d} {variant}"[:200] for n in range(8)])
        if not reply.ok:
            assert reply.code == "faq_full"
            break
        saved += 1
    assert saved > 3
    book = web.ok("faq_list", session=kasi)
    assert fits(book) and len(book["entries"]) >= saved
    common = web.ok("faq_common", limit=8)
    assert fits(common) and len(common["questions"]) == 8


def test_a_day_of_five_minute_slots_fits(tmp_path):
    """booking_slots: a whole day of slots, every 5 minutes (the shortest allowed) from 00:00, is one reply."""
    b, server, web = start_running(tmp_path, """
[office.hours]
mon = "00:00-23:59"
tue = "00:00-23:59"
wed = "00:00-23:59"
thu = "00:00-23:59"
fri = "00:00-23:59"
sat = "00:00-23:59"
sun = "00:00-23:59"

[[web.appointments]]
service = "adminduk"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "23:59"
every_minutes = 5
capacity = 100
""")
    try:
        today = web.ok("web_info")["business_date"]
        slots = web.ok("booking_slots", service="adminduk", date=today)
        assert len(slots["slots"]) == 288 and fits(slots)
    finally:
        web.stop()
        server.stop()
        b.stop()


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def many_services(requirements: str = '["KTP asli"]') -> str:
    return "".join(f'\n[[services]]\ncode = "layanan-{p.lower()}"\nprefix = "{p}"\n'
                   f'name = "Layanan {p}: Administrasi Kependudukan, Catatan Sipil dan Surat Keterangan Desa"\n'
                   f'requirements = {requirements}\n' for p in LETTERS)


def test_the_services_requirements_are_bounded_so_settings_and_state_fit(tmp_path):
    """office_settings answered every service's requirements twice (as set and as in the file), and the retained
    state carries them too: 26 services with 20 lines of 200 characters each were ~400 000 bytes. The
    requirements of all services together are now at most REQUIREMENTS_BYTES, in the file and in the kasi's
    changes, and with the most services and requirements allowed, both fit."""
    from antre.config import REQUIREMENTS_BYTES, ConfigError, load

    counters = f'\n[[counters]]\nid = "loket-1"\nname = "Loket 1"\nservices = {[f"layanan-{p.lower()}" for p in LETTERS]}\n'
    counters = counters.replace("'", '"')
    b, server, web = start_running(tmp_path, services=many_services(), counters=counters)
    try:
        kasi = sign_in_staff(web.ok)["kasi"]["session"]
        line = "Fotokopi KTP dan Kartu Keluarga yang masih berlaku, surat pengantar RT/RW bermeterai, pas foto 3x4 " * 2
        lines = [f"{n:02d} {line}"[:150] for n in range(20)]
        refused = None
        for p in LETTERS:
            reply = web.request("office_set", session=kasi, service=f"layanan-{p.lower()}", requirements=lines)
            if not reply.ok:
                refused = p
                assert reply.code == "invalid_settings" and str(REQUIREMENTS_BYTES) in reply.message.replace(" ", "")
                break
            assert fits(reply.result)
        assert refused is not None and refused != "A"
        settings = web.ok("office_settings")
        assert fits(settings)
        assert sum(s["requirements"] == lines for s in settings["services"]) == LETTERS.index(refused)
        state = web.wait_state(lambda s: sum(x["requirements"] == lines for x in s["services"]) ==
                               LETTERS.index(refused))
        assert len(encode(state)) <= MAX_REPLY_BYTES
        assert server.link.connected.is_set()
    finally:
        web.stop()
        server.stop()
        b.stop()
    # The file may not hold more either: one message at start, naming the limit.
    long = "[" + ", ".join(f'"{n:02d} {line}"' for n in range(20)) + "]"
    path = write_config(tmp_path / "big.toml", mqtt_url="mqtt://127.0.0.1:1", db_path=tmp_path / "big.db",
                        services=many_services(long), counters=counters)
    with pytest.raises(ConfigError, match="requirements"):
        load(path)


def test_a_letter_with_a_long_history_still_opens(running):
    """letter_status and letter_get answered the whole history, which has no count limit: a request sent back
    and forth between 'belum lengkap' and 'diperiksa' with reasons of 300 characters went over the limit (160 rounds
    here), and neither the resident nor the staff could open it. Now the newest entries that fit."""
    from tests.test_letters import domisili

    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    code = web.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    reason = ("Kartu keluarga belum dilampirkan dan surat pengantar RT belum ditandatangani; " * 4)[:300].strip()
    for i in range(160):   # a fresh database: request 1
        web.ok("letter_set_status", request=1, status="belum_lengkap", reason=f"{i:03d} {reason}"[:300], session=kasi)
        web.ok("letter_set_status", request=1, status="diperiksa", session=kasi)
    public = web.ok("letter_status", code=code)
    staff = web.ok("letter_get", request=1, session=kasi)
    for got in (public, staff):
        assert fits(got) and got["history_more"] > 0
        assert len(got["history"]) + got["history_more"] == 321
        assert got["history"][-1]["status"] == "diperiksa" and got["history"][-2]["reason"].startswith("159 ")
