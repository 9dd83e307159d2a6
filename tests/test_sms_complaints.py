"""``ADUAN <teks>`` / ``ASPIRASI <teks>`` by SMS (antre/rules/complaints.py's submit_message through the notify
plug-in's keywords), on a real SQLite file with a manual clock: a complaint on channel sms with its topic read
from the text, answered with its tracking code and status link, forgiving keywords, an instruction for a text
too short, the per-number daily limit, once per SMS however often it is read, and the staff's answer back by
SMS. The real gammu-smsd run is in tests/test_sms_gammu.py."""

from __future__ import annotations

import json
import sqlite3

import pytest

from antre.rules.complaints import topic_of
from antre.rules.keywords import read
from tests.test_letters import sign_in_staff
from tests.test_notify_rules import Office

P = "081234567890"
TOPICS = ["pelayanan", "infrastruktur", "bansos", "kesehatan", "pendidikan", "keamanan", "lingkungan", "lainnya"]


@pytest.mark.parametrize("text, keyword", [
    ("ADUAN jalan rusak", "ADUAN"), ("aduan: jalan rusak", "ADUAN"), ("adu jalan rusak", "ADUAN"),
    ("Lapor jalan rusak", "ADUAN"), ("laporkan jalan rusak", "ADUAN"), ("ADUANjalan rusak", "ADUAN"),
    ("aduam jalan rusak", "ADUAN"), ("pengaduan jalan", "ADUAN"), ("ASPIRASI taman baca", "ASPIRASI"),
    ("usul taman baca", "ASPIRASI"), ("aspirsi taman", "ASPIRASI"),
    ("bagaimana cara mengadu", None), ("adukan", "ADUAN"),
])
def test_the_complaint_keywords_are_forgiving(text, keyword):
    assert read(text).keyword == keyword


def test_the_topic_is_read_from_the_text_or_is_the_general_one():
    assert topic_of("jalan di RT 03 berlubang besar", TOPICS) == "infrastruktur"
    assert topic_of("BLT bulan ini belum cair", TOPICS) == "bansos"
    assert topic_of("petugas loket judes", TOPICS) == "pelayanan"
    assert topic_of("sampah menumpuk di kali", TOPICS) == "lingkungan"
    assert topic_of("masalah infrastrukture desa", TOPICS) == "infrastruktur"     # a typo of the topic's name
    assert topic_of("tolong diperhatikan pak", TOPICS) == "lainnya"
    assert topic_of("tolong diperhatikan pak", ["pelayanan", "umum"]) == "umum"    # no 'lainnya': the last one
    assert topic_of("jalan rusak", ["pelayanan", "umum"]) == "umum"               # only the office's topics


def test_aduan_by_sms_files_a_complaint_once_and_its_answer_goes_back_by_sms(tmp_path):
    office = Office(tmp_path)
    st = sign_in_staff(office.run)
    body = "ADUAN lampu jalan di RT 03 mati sejak seminggu, gelap sekali"
    r = office.sms(P, body, key="k1")
    assert r == {"keyword": "ADUAN"}
    reply = office.last_reply()
    db = sqlite3.connect(tmp_path / "a.db")
    [(cid, code, category, topic, channel, phone, notify, text)] = db.execute(
        "select id, code, category, topic, channel, contact_phone, notify, text from complaints").fetchall()
    assert (category, topic, channel, phone, notify) == ("pengaduan", "infrastruktur", "sms", P, 1)
    assert text == body[6:]
    dashed = "-".join([code[0], code[1:5], code[5:9], code[9:]])
    assert f"kode {dashed}" in reply and f"https://antre.sukamaju.desa.id/pengaduan/{code}" in reply
    # Read again (a gammu retry, a crash before the inbox file was removed): the same reply, no second complaint.
    assert office.sms(P, body, key="k1") == {"keyword": "ADUAN"}
    assert db.execute("select count(*) from complaints").fetchone()[0] == 1
    assert len(office.outbox("key like 'in:%'")) == 1
    # Aspirasi; too short; empty.
    office.sms(P, "aspirasi tolong bangun taman baca di balai desa")
    assert db.execute("select category, topic from complaints order by id desc").fetchone() == ("aspirasi", "lainnya")
    office.sms(P, "ADUAN jalan")
    assert "Tulis ADUAN lalu isi laporan Anda" in office.last_reply()
    office.sms(P, "lapor")
    assert "Tulis ADUAN lalu isi laporan Anda" in office.last_reply()
    office.sms(P, "usul")
    assert "Tulis ASPIRASI lalu" in office.last_reply()
    # The per-number daily limit (3): the third is filed, the fourth is told to wait.
    office.sms(P, "ADUAN sampah menumpuk di pinggir jalan desa")
    office.sms(P, "ADUAN sampah lagi menumpuk di pinggir jalan desa")
    assert "sudah mengirim 3 laporan hari ini" in office.last_reply()
    assert db.execute("select count(*) from complaints").fetchone()[0] == 3
    office.sms("082222222222", "ADUAN sampah menumpuk di pinggir jalan desa")   # another number is not limited
    assert db.execute("select count(*) from complaints").fetchone()[0] == 4
    office.clock.advance(days=1)
    st = sign_in_staff_again(office)
    office.sms(P, "ADUAN sampah masih menumpuk di pinggir jalan desa")
    assert db.execute("select count(*) from complaints").fetchone()[0] == 5
    # The staff's final answer goes back to the resident by SMS (the complaint-answered message).
    office.run("complaint_reply", complaint=cid, text="Lampu sudah diganti hari ini.", final=True, **st["kasi"])
    [(kind, to, sms)] = [(k, p, b) for key, k, p, b, *_ in office.outbox() if key.startswith(f"complaint{cid}:")]
    assert kind == "complaint_answered" and to == P and f"/pengaduan/{code}" in sms
    # What the request log keeps of an SMS complaint: the keyword, never the text.
    logged = [json.loads(r) for (r,) in db.execute("select reply from requests where command = 'sms_received'")]
    assert all(set(x) == {"keyword"} for x in logged) and "lampu" not in json.dumps(logged)
    db.close()


def sign_in_staff_again(office):
    from tests.test_letters import sign_in_again
    return sign_in_again(office.run)


def test_complaints_by_message_stop_at_the_office_daily_limit(tmp_path):
    """A flood from many numbers and chats, each under its own daily limit, would file without end (each a
    complaint the kasi must verify within its working days, each answered by an SMS): ``[complaints]
    message_office_daily`` complaints by message (SMS, Telegram, WhatsApp) a day in all; past it a sender is
    told to use the website or come to the office, nothing is filed, and the website's form is not limited by it.
    The next business day takes messages again."""
    from antre import config
    from antre.rules.queue import QueueService
    from antre.service.server import PLUGINS
    from antre.storage import open_database
    from antre.clock import ManualClock
    from tests.test_notify_rules import EVERY_DAY, MONDAY_9

    cfg = config.from_dict({
        "queue": {"enforce_hours": False}, "office": {"hours": EVERY_DAY},
        "counters": [{"id": "loket-1", "name": "Loket 1", "services": ["adminduk", "surat", "umum"]}],
        "web": {"public_url": "https://antre.sukamaju.desa.id"},
        "notify": {"sms": True}, "complaints": {"message_office_daily": 4}})
    office = Office.__new__(Office)
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    office.clock = ManualClock(MONDAY_9)
    office.q = QueueService(cfg, sessions, clock=office.clock, plugins=PLUGINS)
    office.db = tmp_path / "a.db"
    db = sqlite3.connect(office.db)
    count = lambda: db.execute("select count(*) from complaints").fetchone()[0]   # noqa: E731
    for i in range(3):
        office.sms(f"08123456780{i}", f"ADUAN lampu jalan nomor {i} di RT 03 mati")
    office.q.execute("message_received", "tg-1", {"channel": "telegram", "address": "5550001",
                                                  "text": "ADUAN jembatan kecil di dusun dua retak",
                                                  "message_key": "tg-1"})
    assert count() == 4
    office.sms("081234567809", "ADUAN selokan di depan masjid tersumbat sampah")
    assert count() == 4
    refused = office.last_reply()
    assert "terlalu banyak" in refused and "https://antre.sukamaju.desa.id/pengaduan" in refused
    assert "kode" not in refused
    # The website's form is not a message: still filed.
    office.run("complaint_submit", category="pengaduan", topic="lingkungan", text="Selokan tersumbat sampah",
               anonymous=True, channel="web")
    assert count() == 5
    office.clock.advance(days=1)
    office.sms("081234567809", "ADUAN selokan di depan masjid masih tersumbat")
    assert count() == 6 and "laporan diterima" in office.last_reply()
    db.close()
