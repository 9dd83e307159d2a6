"""The outbox's channels as rules (antre/rules/notify.py), on a real SQLite file, no broker: a row is
(channel, address); budgets and STOP apply per channel; a chat follows an item with its link code (a guessed
one links nothing); news of the item goes to every follower once; messages from any channel get the SMS
keywords' answers on that channel; tickets taken by message keep their channel ("sms", "whatsapp")."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from antre import config

from tests.test_notify_rules import Office

TG = {"enabled": True, "token": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "bot_name": "SukamajuBot"}
WA = {"enabled": True, "token": "EAAG-token", "phone_number_id": "106540352242922", "app_secret": "s3cret",
      "verify_token": "v3rify"}


@pytest.fixture
def office(tmp_path):
    o = Office(tmp_path, telegram=TG, whatsapp=WA)
    o.q.tick()   # makes the link codes' key (a writing transaction)
    return o


def chat(office, channel, address, text, key=None):
    key = key or uuid.uuid4().hex[:24]
    return office.q.execute("message_received", f"{channel}-{key}",
                            {"channel": channel, "address": address, "text": text, "message_key": key}).result


def rows(office, where="1=1"):
    with sqlite3.connect(office.db) as db:
        return db.execute(f"select key, kind, channel, phone, state, reason from outbox where {where} "
                          "order by id").fetchall()


def body(office, key):
    with sqlite3.connect(office.db) as db:
        return db.execute("select body from outbox where key = ?", (key,)).fetchone()[0]


def test_a_chat_follows_a_kiosk_ticket_with_its_link_code_and_gets_its_news_once(office):
    t = office.run("issue_ticket", service="adminduk")                       # at the kiosk: no number
    for _ in range(5):
        office.run("issue_ticket", service="adminduk")
    status = office.run("ticket_status", number="A-004")
    code = status["link_code"]
    assert code.startswith("t4-") and len(code.split("-")[1]) == 8
    chat(office, "telegram", "555001", f"/start {code}")
    assert "nomor antrean A-004" in body(office, rows(office)[-1][0])
    office.run("call_next", counter="loket-1")                               # A-004 has 2 ahead -> near
    near = rows(office, "kind = 'near'")
    assert [(r[2], r[3], r[4]) for r in near] == [("telegram", "555001", "pending")]
    office.run("call_next", counter="loket-1")
    office.run("call_next", counter="loket-1")                               # moves again: no second "near"
    assert len(rows(office, "kind = 'near'")) == 1
    office.run("call_next", counter="loket-1")                               # A-004 called
    called = rows(office, "kind = 'called'")
    assert [(r[2], r[3]) for r in called] == [("telegram", "555001")]
    assert "A-004 dipanggil" in body(office, called[0][0])
    assert t["number"] not in body(office, called[0][0])


def test_a_guessed_or_forged_link_code_links_nothing(office):
    office.run("issue_ticket", service="adminduk")
    code = office.run("ticket_status", number="A-001")["link_code"]
    item, mac = code.split("-")
    for forged in (f"{item}-{'a' * 8}", f"t999-{mac}", f"b1-{mac}", f"{item}-{mac[:-1]}"):
        chat(office, "telegram", "666", f"/start {forged}")
        assert "Kode tidak dikenali" in body(office, rows(office)[-1][0])
    with sqlite3.connect(office.db) as db:
        assert db.execute("select count(*) from chat_links").fetchone() == (0,)
    office.run("call_next", counter="loket-1")
    assert rows(office, "kind = 'called'") == []


def test_keywords_and_the_faq_answer_on_the_channel_the_message_came_from(tmp_path):
    faq = [{"answer": "KTP hilang: minta surat kehilangan di polsek.", "questions": ["ktp saya hilang"]}]
    office = Office(tmp_path, telegram=TG, faq=faq)
    chat(office, "telegram", "777", "/jam", key="a1")
    chat(office, "telegram", "777", "ktp saya hilang", key="a2")
    chat(office, "telegram", "777", "ANTRE KTP", key="a3")                  # a chat has no phone number
    got = rows(office)
    assert [(r[0], r[1], r[2], r[3]) for r in got] == [("in:a1", "reply", "telegram", "777"),
                                                       ("in:a2", "reply", "telegram", "777"),
                                                       ("in:a3", "reply", "telegram", "777")]
    assert body(office, "in:a1").startswith("Jam buka")
    assert body(office, "in:a2") == "KTP hilang: minta surat kehilangan di polsek."
    assert "lewat SMS atau situs web" in body(office, "in:a3")
    chat(office, "telegram", "777", "JAM", key="a1")                        # read again after a crash
    assert len(rows(office)) == 3


def test_tickets_taken_by_message_keep_their_channel_and_share_the_webs_quota(office):
    office.sms("081234567890", "ANTRE KTP")
    chat(office, "whatsapp", "6281299998888", "antre ktp")
    with sqlite3.connect(office.db) as db:
        assert db.execute("select number, channel from tickets order by id").fetchall() == [
            ("A-001", "sms"), ("A-002", "whatsapp")]
    created = rows(office, "kind = 'created'")
    assert [(r[2], r[3]) for r in created] == [("sms", "081234567890"), ("whatsapp", "6281299998888")]
    info = office.run("web_info")
    assert next(s for s in info["services"] if s["code"] == "adminduk")["web_used"] == 2
    office.run("call_next", counter="loket-1")
    office.run("call_next", counter="loket-1")
    called = rows(office, "kind = 'called'")
    assert [(r[2], r[3]) for r in called] == [("sms", "081234567890"), ("whatsapp", "6281299998888")]


def test_stop_and_budgets_are_per_channel(tmp_path):
    office = Office(tmp_path, telegram=TG | {"daily_budget": 3, "chat_daily_limit": 2})
    office.q.tick()
    chat(office, "telegram", "1", "jam")
    chat(office, "telegram", "1", "info")
    chat(office, "telegram", "1", "bantuan")                                # third to one chat: its limit
    chat(office, "telegram", "2", "jam")
    chat(office, "telegram", "3", "jam")                                    # fourth of the office: its budget
    office.sms("081234567890", "jam")                                       # SMS has its own budget
    assert [(r[2], r[4], r[5]) for r in rows(office)] == [
        ("telegram", "pending", None), ("telegram", "pending", None), ("telegram", "skipped", "number_budget"),
        ("telegram", "pending", None), ("telegram", "skipped", "office_budget"), ("sms", "pending", None)]

    office = Office(tmp_path / "b", telegram=TG) if (tmp_path / "b").mkdir() is None else None
    office.q.tick()
    office.run("issue_ticket", service="adminduk")
    office.run("issue_ticket", service="adminduk", channel="web", name="Siti", phone="081234567890", notify=True)
    code = office.run("ticket_status", number="A-002")["link_code"]
    chat(office, "telegram", "42", f"/start {code}")
    chat(office, "telegram", "42", "STOP")
    assert "tidak akan menerima pemberitahuan lagi di sini" in body(office, rows(office)[-1][0])
    office.run("call_next", counter="loket-1")
    office.run("call_next", counter="loket-1")
    # The chat stopped (its link is gone); the SMS number did not.
    assert [(r[2], r[4]) for r in rows(office, "kind = 'called'")] == [("sms", "pending")]


def test_a_staff_reply_goes_back_on_the_channel_and_address_given(office):
    rules = office.q.plugins["notify"]
    with office.q.sessions() as s, s.begin():
        for channel, address in (("sms", "081234567890"), ("telegram", "987654"), ("whatsapp", "6281234567890")):
            rules.notify(s, office.clock.now(), f"ask1:{channel}", "reply", address, "Jawaban petugas.", channel=channel)
        with pytest.raises(ValueError):
            rules.notify(s, office.clock.now(), "ask1:fax", "reply", "1", "x", channel="fax")
    assert [(r[2], r[3], r[4]) for r in rows(office)] == [
        ("sms", "081234567890", "pending"), ("telegram", "987654", "pending"), ("whatsapp", "6281234567890", "pending")]


def test_a_channel_that_is_off_gets_nothing(tmp_path):
    office = Office(tmp_path)                                               # SMS only
    rules = office.q.plugins["notify"]
    with office.q.sessions() as s, s.begin():
        assert rules.notify(s, office.clock.now(), "x:1", "reply", "1", "hi", channel="telegram") is None
    assert "link_code" not in office.run("issue_ticket", service="adminduk") | office.run(
        "ticket_status", number="A-001")


def test_the_channels_config_explains_mistakes_and_masks_its_secrets():
    from antre.errors import ConfigError
    with pytest.raises(ConfigError, match=r"\[notify.telegram\] enabled = true needs 'token'.*@BotFather"):
        config.from_dict({"notify": {"telegram": {"enabled": True}}})
    with pytest.raises(ConfigError, match=r"needs token, phone_number_id, app_secret, verify_token"):
        config.from_dict({"notify": {"whatsapp": {"enabled": True}}})
    with pytest.raises(ConfigError, match=r"unknown key 'tokn' \(did you mean 'token'\?\)"):
        config.from_dict({"notify": {"telegram": {"tokn": "x"}}})
    with pytest.raises(ConfigError, match=r"api_base.*no '/' at the end"):
        config.from_dict({"notify": {"telegram": {"api_base": "https://api.telegram.org/"}}})
    with pytest.raises(ConfigError, match=r"whatsapp_number.*international form"):
        config.from_dict({"notify": {"whatsapp_number": "+62 812 3456"}})
    cfg = config.from_dict({"notify": {"telegram": TG, "whatsapp": WA}})
    shown = config.to_toml(cfg)
    for secret in (TG["token"], WA["token"], WA["app_secret"], WA["verify_token"]):
        assert secret not in shown
    assert shown.count("********") >= 4 and "106540352242922" in shown


def test_smsdrc_asks_for_delivery_reports_only_when_the_office_wants_them():
    from antre.ops.notify_cli import smsdrc
    plain = smsdrc(config.from_dict({"notify": {"sms": True}}), "/dev/ttyUSB0")
    assert "logfile = syslog\ndebuglevel = 0\n" in plain and "deliveryreport" not in plain
    wanted = smsdrc(config.from_dict({"notify": {"sms": True, "delivery_reports": True}}), "/dev/ttyUSB0")
    # Reports come into the inbox; the log stays at level 0 (no texts), where it is without reports.
    assert "logfile = syslog\ndebuglevel = 0\ndeliveryreport = sms\n" in wanted and "deliveryreport = log" not in wanted


def test_bookings_letters_and_complaints_answer_their_link_code_and_their_news_reaches_the_chat(office):
    from tests.test_letters import domisili
    from tests.test_complaints import TEXT
    letter = office.run("letter_request", type="domisili", fields=domisili(), channel="web")   # no phone given
    complaint = office.run("complaint_submit", category="pengaduan", topic="infrastruktur", text=TEXT,
                           anonymous=True, channel="web")
    slots = office.run("booking_slots", service="adminduk", date="2026-12-01")
    booking = office.run("book", service="adminduk", date="2026-12-01", slot=slots["slots"][0]["time"],
                         name="Siti", phone="081234567890")
    codes = {"letter": office.run("letter_status", code=letter["code"])["link_code"],
             "complaint": office.run("complaint_status", code=complaint["code"])["link_code"],
             "b": office.run("booking_status", code=booking["code"])["link_code"]}
    for prefix, code in codes.items():
        assert code.startswith(f"{prefix}1-"), code
        chat(office, "whatsapp", "6281299990000", f"Halo, kode saya {code}")
        assert "akan dikirim ke sini" in body(office, rows(office)[-1][0])
    bc = booking["code"]                                            # the booking named as it is read aloud
    assert f"kabar tentang janji temu {bc[:3]}-{bc[3:6]}-{bc[6:]} akan" in body(office, rows(office)[-1][0])
    # A letter's news goes to the chat that follows it, though the resident gave no number for SMS.
    rules = office.q.plugins["notify"]
    with office.q.sessions() as s, s.begin():
        rules.notify(s, office.clock.now(), "letter1:siap_diambil:0", "letter_siap_diambil", None,
                     "Surat Anda sudah siap diambil.")
    assert [(r[1], r[2], r[3]) for r in rows(office, "kind = 'letter_siap_diambil'")] == [
        ("letter_siap_diambil", "whatsapp", "6281299990000")]
