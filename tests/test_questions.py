"""The FAQ in the database and the staff inbox of residents' questions (antre/rules/questions.py), as rules on a
real SQLite file with a manual clock: [[notify.faq]] seeds the table once; the kasi or an admin edits it
(a petugas may not), bad entries are refused with clear codes, the assistant answers from the new entries at
once without a restart; a question the assistant is unsure of lands in the inbox once, its answer goes back on
its channel through the outbox; a portal question gets a code; floods are capped; every view and change is
audited; old questions are deleted."""

from __future__ import annotations

import json
import sqlite3
import tomllib
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from antre.errors import CommandError
from antre.rules.question_codes import clean_question_code, format_question_code, new_question_code
from tests.test_letters import sign_in_again, sign_in_staff
from tests.support import wait_for
from tests.test_notify_rules import Office

FAQ = tomllib.loads((Path(__file__).parent.parent / "bench" / "faq" / "faq.toml").read_text())["notify"]["faq"]
P = "081234567890"


@pytest.fixture
def office(tmp_path):
    o = Office(tmp_path, faq=FAQ)
    o.st = sign_in_staff(o.run)
    return o


def err(office, cmd, **args):
    with pytest.raises(CommandError) as exc:
        office.q.execute(cmd, uuid.uuid4().hex, args)
    return exc.value.code


def rows(office, sql):
    with sqlite3.connect(office.db) as db:
        return db.execute(sql).fetchall()


def test_the_config_seeds_the_table_once_and_the_console_edits_it_live(office, tmp_path):
    kasi, admin, petugas = office.st["kasi"], office.st["admin"], office.st["petugas"]
    entries = office.run("faq_list", **kasi)["entries"]
    assert len(entries) == len(FAQ) and entries[1]["answer"] == " ".join(FAQ[1]["answer"].split())
    assert office.run("ask", question="ktp sy ilang gmn")["answer"].startswith("KTP hilang")
    assert err(office, "faq_list", **petugas) == "forbidden"
    new = dict(questions=["jadwal posyandu balita", "kapan posyandu"], answer="Posyandu: Rabu pertama tiap bulan, "
               "08.00 di balai desa.", links=["https://sukamaju.desa.id/posyandu"])
    assert err(office, "faq_save", **new, **petugas) == "forbidden"
    assert office.run("ask", question="kapan jadwal posyandu")["answer"] is None
    e = office.run("faq_save", **new, **kasi)
    # Rebuilt on commit, no restart: the next question is answered from the new entry.
    assert office.run("ask", question="kapan jadwal posyandu")["answer"] == \
        "Posyandu: Rabu pertama tiap bulan, 08.00 di balai desa. https://sukamaju.desa.id/posyandu"
    # Off: not answered; on again by an admin; deleted.
    office.run("faq_save", entry=e["id"], **(new | {"active": False}), **admin)
    assert office.run("ask", question="kapan jadwal posyandu")["answer"] is None
    office.run("faq_save", entry=e["id"], **new, **admin)
    assert office.run("ask", question="kapan jadwal posyandu")["answer"] is not None
    office.run("faq_delete", entry=e["id"], **kasi)
    assert office.run("ask", question="kapan jadwal posyandu")["answer"] is None
    assert err(office, "faq_delete", entry=e["id"], **kasi) == "faq_not_found"
    # Bad entries: clear codes.
    assert err(office, "faq_save", **(new | {"answer": " \n "}), **kasi) == "empty_text"
    assert err(office, "faq_save", **(new | {"answer": "x" * 1001}), **kasi) == "text_too_long"
    assert err(office, "faq_save", **(new | {"answer": "<script>alert(1)</script>"}), **kasi) == "markup_not_allowed"
    assert err(office, "faq_save", **(new | {"questions": ["<img src=x onerror=alert(1)>"]}), **kasi) == \
        "markup_not_allowed"
    assert err(office, "faq_save", **(new | {"links": ["javascript:alert(1)"]}), **kasi) == "invalid_link"
    assert err(office, "faq_save", **(new | {"questions": []}), **kasi) == "missing_questions"
    assert err(office, "faq_save", **(new | {"questions": ["q"] * 31}), **kasi) == "too_many_questions"
    assert err(office, "faq_save", entry=9999, **new, **kasi) == "faq_not_found"
    actions = rows(office, "select actor, action from audit_log where action like 'faq.%' order by id")
    assert actions == [("setup", "faq.seed"), ("bu-kasi", "faq.save"), ("admin", "faq.save"), ("admin", "faq.save"),
                       ("bu-kasi", "faq.delete")]
    # A restart with another [[notify.faq]]: the table stays the truth (seeded once).
    office2 = Office(tmp_path, faq=FAQ[:2])
    assert len(office2.run("faq_list", **sign_in_again(office2.run)["kasi"])["entries"]) == len(FAQ)


def test_an_sms_question_lands_in_the_inbox_once_and_the_answer_goes_back_by_sms(office):
    kasi, petugas, admin = office.st["kasi"], office.st["petugas"], office.st["admin"]
    office.sms(P, "harga pupuk subsidi berapa sekarang", key="m1")
    assert "kami teruskan ke petugas" in office.last_reply()
    office.sms(P, "harga pupuk subsidi berapa sekarang", key="m1")        # the same SMS read again
    office.sms(P, "\x01\x02 \x03 \x04\x05")                                  # nothing printable: not stored
    assert "belum paham" in office.last_reply()
    office.sms(P, "apa kabar")                                             # chit-chat: not for the inbox
    assert "belum paham" in office.last_reply()
    inbox = office.run("question_list", **petugas)
    [q] = inbox["items"]
    assert q["channel"] == "sms" and q["text"] == "harga pupuk subsidi berapa sekarang" and q["to"] == "0812****7890"
    assert P not in json.dumps(inbox)
    assert err(office, "question_list", **admin) == "forbidden"
    office.sms(P, "STOP")                                                  # no notices: but they asked this
    office.run("question_answer", question=q["id"], text="Harga eceran tertinggi urea Rp 2.250/kg.", **petugas)
    [(key, kind, phone, body, state, _, _)] = office.outbox("kind = 'question_answer'")
    assert (key, phone, state) == (f"q{q['id']}-{q['code']}:answer", P, "pending") and "Rp 2.250/kg" in body
    # Another session answering it again, or dismissing it: refused; the first answer stands.
    assert err(office, "question_answer", question=q["id"], text="lain", **kasi) == "already_answered"
    assert err(office, "question_dismiss", question=q["id"], **kasi) == "question_closed"
    assert office.run("question_list", state="answered", **kasi)["items"][0]["answered_by"] == "loket-satu"
    assert err(office, "question_answer", question=q["id"], text="<b>x</b>", **kasi) == "already_answered"
    # "Make this an FAQ entry" (kasi): then the assistant answers the same question itself.
    e = office.run("faq_save", questions=[q["text"]], answer="Harga eceran tertinggi urea Rp 2.250/kg.",
                   question=q["id"], **kasi)
    assert office.run("question_get", question=q["id"], **kasi)["faq"] == e["id"]
    office.sms("082222222222", "harga pupuk subsidi berapa")
    assert office.last_reply().startswith("Harga eceran tertinggi")
    audit = [a for (a,) in rows(office, "select action from audit_log where action like 'question.%' order by id")]
    assert audit == ["question.list", "question.answer", "question.list", "question.view"]
    # Nothing of the text or the number in the request log (the changes' replies are kept there).
    logged = json.dumps(rows(office, "select reply from requests"))
    assert "pupuk" not in logged and P not in logged


def test_a_portal_question_gets_a_code_and_an_sms_only_when_asked_for(office):
    kasi = office.st["kasi"]
    a = office.run("question_submit", question="Kapan  pembagian BLT bulan ini?", channel="web", address="10.0.0.5")
    assert clean_question_code(format_question_code(a["code"])) == a["code"] and not a["sms"]
    b = office.run("question_submit", question="Apakah bisa urus KK hari Sabtu?", channel="web", phone="0813 1111 2222",
                   notify=True, address="10.0.0.6")
    assert b["sms"]
    assert err(office, "question_submit", question="x y z", channel="web", notify=True) == "missing_argument"
    assert err(office, "question_submit", question="x y z", channel="web", phone="12345") == "invalid_phone"
    assert err(office, "question_submit", question="   ", channel="web") == "empty_text"
    st = office.run("question_status", code=a["code"])
    assert st == st | {"state": "open", "question": "Kapan pembagian BLT bulan ini?", "answer": None}
    assert err(office, "question_status", code=new_question_code()) == "question_not_found"
    ids = {i["code"]: i["id"] for i in office.run("question_list", **kasi)["items"]}
    office.run("question_answer", question=ids[a["code"]], text="Tanggal 15, di balai desa.", **kasi)
    office.run("question_answer", question=ids[b["code"]], text="Tidak, Senin-Jumat saja.", **kasi)
    assert office.run("question_status", code=a["code"])["answer"] == "Tanggal 15, di balai desa."
    sms = office.outbox("kind = 'question_answer'")
    assert [(r[2], "Senin-Jumat" in r[3]) for r in sms] == [("081311112222", True)]   # only the one who opted in
    got = {r[0]: r[1] for r in rows(office, "select code, reply_state from resident_questions")}
    assert got == {a["code"]: "page_only", b["code"]: "queued"}
    # The number is wiped like the outbox's (retention_days 0: when the answer's day is over); an open
    # question keeps its number until it is answered.
    c = office.run("question_submit", question="Kapan posyandu lansia?", channel="web", phone="081399998888",
                   notify=True, address="10.0.0.7")
    office.clock.advance(days=1)
    office.run("issue_ticket", service="adminduk")       # opens the day: retention runs
    kept = {r[0]: r[1] for r in rows(office, "select code, address from resident_questions")}
    assert kept == {a["code"]: None, b["code"]: None, c["code"]: "081399998888"}
    assert office.run("question_status", code=b["code"])["answer"] == "Tidak, Senin-Jumat saja."


def test_the_inbox_cannot_be_flooded_from_one_sender_or_from_everywhere(tmp_path):
    office = Office(tmp_path, faq=FAQ, question_daily_limit=3, question_office_daily=5)
    for i in range(3):
        office.run("question_submit", question=f"pertanyaan nomor {i} dari situs", channel="web", address="10.0.0.9")
    assert err(office, "question_submit", question="satu lagi dari situs", channel="web",
               address="10.0.0.9") == "too_many_questions"
    # One number by SMS: stored up to its limit, then told plainly, nothing stored.
    for i in range(3):
        office.sms(P, f"pertanyaan sms nomor {i} tentang pupuk")
    office.sms(P, "pertanyaan sms nomor 4 tentang pupuk")
    assert "belum paham" in office.last_reply()
    # Everyone together: the office's cap (5 here) holds against rotating addresses.
    assert len(rows(office, "select id from resident_questions")) == 5
    assert err(office, "question_submit", question="dari alamat lain", channel="web",
               address="10.0.0.77") == "too_many_questions"
    # The next day the sender may ask again; after question_retention_days the questions are deleted.
    office.clock.advance(days=1)
    office.run("question_submit", question="pertanyaan hari berikutnya", channel="web", address="10.0.0.9")
    office.clock.advance(days=61)
    office.run("issue_ticket", service="adminduk")       # opens the day: retention runs
    assert rows(office, "select count(*) from resident_questions") == [(0,)]
    assert rows(office, "select action from audit_log where action = 'question.purge'") == [("question.purge",)]


def test_question_codes():
    c = new_question_code()
    assert c[0] == "T" and len(c) == 11 and clean_question_code(c.lower()) == c
    assert clean_question_code(format_question_code(c)) == c
    bad = c[:-1] + str((int(c[-1]) + 1) % 10)
    assert clean_question_code(bad) == "" and clean_question_code("T123") == "" and clean_question_code("") == ""


def test_chats_questions_and_complaints_come_back_on_the_chat(tmp_path):
    """A Telegram question the assistant cannot answer and an ADUAN from WhatsApp: stored with their channel,
    the staff's answers go back on that channel (the outbox's channel column), never by SMS."""
    from tests.test_notify_channels import TG, WA, chat

    office = Office(tmp_path, faq=FAQ, telegram=TG, whatsapp=WA)
    office.q.tick()
    st = sign_in_staff(office.run)
    chat(office, "telegram", "555001", "kapan pembagian pupuk subsidi musim ini", key="u1")
    chat(office, "telegram", "555001", "kapan pembagian pupuk subsidi musim ini", key="u1")   # delivered twice
    [q] = office.run("question_list", **st["kasi"])["items"]
    assert q["channel"] == "telegram" and q["to"] is not None and "555001" not in q["to"]
    office.run("question_answer", question=q["id"], text="Mulai 15 Desember.", **st["kasi"])
    with sqlite3.connect(office.db) as db:
        [(channel, addr, body)] = db.execute("select channel, phone, body from outbox "
                                             "where kind = 'question_answer'").fetchall()
    assert (channel, addr) == ("telegram", "555001") and "Mulai 15 Desember" in body

    chat(office, "whatsapp", "6281234567890", "ADUAN jembatan di dusun dua retak parah")
    with sqlite3.connect(office.db) as db:
        [(cid, ch, phone, topic)] = db.execute("select id, channel, contact_phone, topic from complaints").fetchall()
        reply = db.execute("select body from outbox where channel = 'whatsapp' order by id desc").fetchone()[0]
    assert (ch, phone, topic) == ("whatsapp", None, "infrastruktur") and "laporan diterima" in reply
    office.run("complaint_reply", complaint=cid, text="Sudah dicek, diperbaiki pekan depan.", final=True, **st["kasi"])
    with sqlite3.connect(office.db) as db:
        answered = db.execute("select channel, phone from outbox where kind = 'complaint_answered'").fetchall()
    assert answered == [("whatsapp", "6281234567890")]


def test_the_assistant_built_from_the_database_answers_as_the_one_from_the_configuration(office):
    """Moving the FAQ into the database does not change the matching (bench/faq_bench.py's figures hold)."""
    from antre.config import FaqEntry
    from antre.rules.faq import Assistant

    direct = Assistant([FaqEntry(**e) for e in FAQ])
    bench = Path(__file__).parent.parent / "bench" / "faq"
    questions = [line.split("\t")[0] for f in ("heldout.tsv", "untouched.tsv")
                 for line in (bench / f).read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(questions) > 60
    for q in questions:
        assert office.run("ask", question=q)["answer"] == direct.answer(q), q


def test_who_may_send_the_question_commands_over_mqtt(tmp_path, broker):
    """With a real broker and ``antre serve``: a kiosk leaves questions on channel kiosk only and reads its
    code's answer; a counter may not; the website may not claim the kiosk's channel; a kiosk's residents
    share one screen, so the per-sender limit does not apply to it (a per-kiosk limit does)."""
    from tests.conftest import start_office
    from tests.support import TestClient

    office = start_office(tmp_path, broker, extra="\n[notify]\nquestion_daily_limit = 1\n\n"
                          + (Path(__file__).parent.parent / "bench" / "faq" / "faq.toml").read_text())
    kiosk = TestClient(broker.url, office.office_id, "kiosk-q", component="kiosk").start()
    counter = TestClient(broker.url, office.office_id, "counter-q", component="counter").start()
    web = TestClient(broker.url, office.office_id, "web-q", component="web").start()
    try:
        codes = [kiosk.ok("question_submit", question=f"pertanyaan kiosk nomor {i} tentang sawah",
                          channel="kiosk")["code"] for i in range(3)]
        assert len(set(codes)) == 3
        assert kiosk.ok("question_status", code=codes[0])["state"] == "open"
        assert kiosk.error("question_submit", question="dari kiosk", channel="web") == "forbidden"
        assert web.error("question_submit", question="dari situs", channel="kiosk") == "forbidden"
        assert counter.error("question_submit", question="x y z", channel="kiosk") == "forbidden"
        assert kiosk.error("question_list", session="x" * 43) == "forbidden"
        assert kiosk.error("faq_save", session="x" * 43, questions=["a"], answer="b") == "forbidden"
        assert web.error("faq_save", session="x" * 43, questions=["a"], answer="b") == "not_signed_in"
        web.ok("question_submit", question="pertanyaan dari situs", channel="web", address="10.1.1.1")
        assert web.error("question_submit", question="lagi dari situs", channel="web",
                         address="10.1.1.1") == "too_many_questions"
        assert "sawah" not in office.service.output()
    finally:
        for c in (kiosk, counter, web):
            c.stop()
        office.client.stop()
        office.service.stop()


def test_each_kiosk_has_a_daily_question_limit_of_its_own_over_mqtt(tmp_path, broker):
    """A kiosk counted only against the office's limit (300 a day for everyone), so one kiosk could use up the
    day's questions of the whole office. Each kiosk device now has ``question_kiosk_daily``, counted by the
    client id of its topic (a kiosk cannot name another: the argument is set by the service only)."""
    from tests.conftest import start_office
    from tests.support import TestClient

    office = start_office(tmp_path, broker, extra="\n[notify]\nquestion_kiosk_daily = 3\nquestion_office_daily = 5\n")
    one = TestClient(broker.url, office.office_id, "kiosk-1", component="kiosk").start()
    two = TestClient(broker.url, office.office_id, "kiosk-2", component="kiosk").start()
    web = TestClient(broker.url, office.office_id, "web-k", component="web").start()
    try:
        for i in range(3):
            one.ok("question_submit", question=f"pertanyaan kiosk satu nomor {i}", channel="kiosk")
        assert one.error("question_submit", question="satu lagi dari kiosk satu", channel="kiosk") \
            == "too_many_questions"
        assert one.error("question_submit", question="menyamar", channel="kiosk", kiosk="kiosk-9") \
            == "unknown_argument"
        two.ok("question_submit", question="pertanyaan dari kiosk dua", channel="kiosk")   # its own count
        web.ok("question_submit", question="pertanyaan dari situs", channel="web", address="10.1.1.2")
        assert two.error("question_submit", question="kiosk dua lagi", channel="kiosk") == "too_many_questions"
    finally:
        for c in (one, two, web):
            c.stop()
        office.client.stop()
        office.service.stop()


def test_an_answer_after_the_inbox_was_emptied_by_retention_still_goes(office):
    """Retention deletes old questions; when it empties the table SQLite numbers the next question from 1
    again. Its answer must still reach its sender: the outbox is idempotent on its key, and a key made from the
    question's id alone was the deleted question's, so the new answer was taken as already sent (the console
    said "queued", the resident got nothing)."""
    office.sms(P, "harga pupuk subsidi berapa sekarang")
    [q] = office.run("question_list", **office.st["petugas"])["items"]
    office.run("question_answer", question=q["id"], text="Rp 2.250/kg.", **office.st["petugas"])
    office.clock.advance(days=61)
    office.run("issue_ticket", service="adminduk")       # opens the day: retention deletes the question
    assert rows(office, "select count(*) from resident_questions") == [(0,)]
    other = "082233445566"
    office.sms(other, "kapan lomba burung merpati tingkat kecamatan")
    st = sign_in_again(office.run)
    [q2] = office.run("question_list", **st["petugas"])["items"]
    done = office.run("question_answer", question=q2["id"], text="Minggu depan di lapangan.", **st["petugas"])
    assert done["reply"] == "queued"
    sent = [(r[2], r[3], r[4]) for r in office.outbox("kind = 'question_answer'")]
    assert sent[-1][0] == other and "Minggu depan di lapangan." in sent[-1][1] and sent[-1][2] == "pending"


def test_a_full_inbox_still_fits_in_one_reply(tmp_path, broker):
    """The office takes question_office_daily (300) questions a day; the inbox listed up to 200 whole rows in one
    reply, which passed the service's reply limit (64 512 bytes, under the shipped broker's packet size) at
    about 120 long questions: the staff got reply_too_large -- the inbox could not be shown, so the flood could
    not even be dismissed. The list now stops before the limit and says how many more there are; answered ones
    (with their answers) alike. With the real ``antre serve`` over MQTT."""
    from tests.conftest import start_office
    from tests.support import TestClient

    office = start_office(tmp_path, broker, extra="\n[notify]\nquestion_kiosk_daily = 300\n")   # one kiosk fills it
    kiosk = TestClient(broker.url, office.office_id, "kiosk-full", component="kiosk").start()
    try:
        st = sign_in_staff(office.client.ok)
        words = "mohon penjelasan tentang jadwal pembagian bantuan pupuk dan bibit di dusun kami "
        for i in range(200):
            kiosk.ok("question_submit", question=f"{i} " + (words * 4)[:290], channel="kiosk")
        first = office.client.ok("question_list", **st["petugas"])
        assert first["counts"]["open"] == 200 and 0 < len(first["items"]) < 200 and first["more"] == 200 - len(first["items"])
        assert [i["text"].split()[0] for i in first["items"]] == [str(i) for i in range(len(first["items"]))]
        for item in first["items"][:5]:
            office.client.ok("question_answer", question=item["id"], text="Jawaban panjang. " * 58, **st["petugas"])
        answered = office.client.ok("question_list", state="answered", **st["petugas"])
        assert len(answered["items"]) == 5 and answered["more"] == 0
    finally:
        kiosk.stop()
        office.client.stop()
        office.service.stop()


def test_the_faq_book_never_outgrows_one_reply(tmp_path, broker):
    """faq_list answers the whole book in one reply, and every page of the console's FAQ (the list, editing,
    the delete confirmation) asks for it: past the service's 64 512-byte reply limit (about 45 entries made
    from long questions with "Jadikan FAQ") the kasi got reply_too_large and could no longer edit or delete
    anything. A save that would make the book too big for one reply is refused (faq_full); the book stays
    readable, and an entry can still be changed to something shorter. With the real ``antre serve``."""
    from antre.service.server import MAX_REPLY_BYTES
    from tests.conftest import start_office

    office = start_office(tmp_path, broker)
    try:
        kasi = sign_in_staff(office.client.ok)["kasi"]
        long = dict(questions=[f"pertanyaan panjang nomor {{}} tentang {'sawah ' * 25}".strip()],
                    answer="Jawaban yang panjang sekali. " * 34)
        saved = 0
        for i in range(80):
            reply = office.client.request("faq_save", questions=[long["questions"][0].format(i)],
                                          answer=long["answer"], **kasi)
            if not reply.ok:
                assert reply.code == "faq_full", reply.code
                break
            saved += 1
        assert 0 < saved < 80
        book = office.client.request("faq_list", **kasi)
        assert book.ok and len(book.result["entries"]) == saved
        assert len(json.dumps(book.result, ensure_ascii=False).encode()) < MAX_REPLY_BYTES
        first = book.result["entries"][0]
        office.client.ok("faq_save", entry=first["id"], questions=first["questions"], answer="Singkat.", **kasi)
        office.client.ok("faq_delete", entry=first["id"], **kasi)
    finally:
        office.client.stop()
        office.service.stop()


def test_faq_common_gives_the_first_way_of_asking_of_the_switched_on_entries_in_the_consoles_order(office):
    kasi = office.st["kasi"]
    entries = office.run("faq_list", **kasi)["entries"]
    first = [e["questions"][0] for e in entries if e["active"]]
    assert office.run("faq_common") == {"questions": first[:4]}          # public: no session, no answers
    assert office.run("faq_common", limit=2) == {"questions": first[:2]}
    assert err(office, "faq_common", limit=9) == "invalid_argument"       # bounded: 8 at most
    assert err(office, "faq_common", limit=0) == "invalid_argument"
    e = entries[0]
    office.run("faq_save", entry=e["id"], questions=["Syarat KTP baru?", *e["questions"]], answer=e["answer"],
               links=e["links"], **kasi)
    assert office.run("faq_common")["questions"][0] == "Syarat KTP baru?"   # a change: at once
    office.run("faq_save", entry=e["id"], questions=["Syarat KTP baru?"], answer=e["answer"], active=False, **kasi)
    assert office.run("faq_common") == {"questions": first[1:5]}            # switched off: gone
    office.run("faq_delete", entry=entries[1]["id"], **kasi)
    assert office.run("faq_common") == {"questions": first[2:6]}
    for x in entries[2:]:
        office.run("faq_delete", entry=x["id"], **kasi)
    assert office.run("faq_common") == {"questions": []}


def _faq_toml(entries: list[dict]) -> str:
    import json as _json
    return "".join("\n[[notify.faq]]\n" + "".join(f"{k} = {_json.dumps(v, ensure_ascii=False)}\n" for k, v in e.items())
                   for e in entries)


@pytest.mark.parametrize("entry, words", [
    ({"questions": ["jam buka"], "answer": "<b>Buka</b> 08.00"}, "no HTML tags"),
    ({"questions": ["jam buka"], "answer": "Lihat javascript:alert(1)"}, "no HTML tags or script links"),
    ({"questions": ["jam <script>buka"], "answer": "08.00"}, "no HTML tags"),
    ({"questions": ["jam buka"], "answer": "x" * 1001}, "at most 1000 characters"),
    ({"questions": ["j" * 201], "answer": "08.00"}, "at most 200 characters"),
    ({"questions": [f"tanya {i}" for i in range(31)], "answer": "08.00"}, "at most 30 question variants"),
    ({"questions": ["jam buka"], "answer": "08.00", "links": ["javascript:alert(1)"]}, "http:// or https://"),
    ({"questions": ["jam buka"], "answer": "08.00", "links": ["ftp://desa.id/a"]}, "http:// or https://"),
    ({"questions": ["jam buka"], "answer": "08.00", "links": [f"https://desa.id/{i}" for i in range(6)]},
     "at most 5 links"),
    ({"questions": [], "answer": "08.00"}, "at least one way residents ask it"),
    ({"questions": ["jam buka"], "answer": " \n "}, "the answer is empty"),
])
def test_config_check_warns_of_a_seed_entry_the_console_would_refuse_and_still_passes(tmp_path, entry, words):
    """[[notify.faq]] was seeded unchecked: HTML, script links and texts of any length reached the FAQ (and the
    resident's SMS and web page). ``antre config check`` names what faq_save would refuse -- as a warning: the
    configuration still loads (the queue must not stop over an FAQ text), and --strict fails on it."""
    import subprocess
    import sys

    from tests.support import write_config

    path = write_config(tmp_path / "antre.toml", mqtt_url="mqtt://127.0.0.1:1", db_path=tmp_path / "a.db",
                        extra=_faq_toml([{"questions": ["kapan kantor buka"], "answer": "Senin-Jumat 08.00."}, entry]))
    done = subprocess.run([sys.executable, "-m", "antre", "config", "check", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [x for x in done.stderr.splitlines() if "[[notify.faq]]" in x]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("antre config check: warning: [[notify.faq]] #2 (") and words in lines[0] \
        and "console would refuse" in lines[0], done.stderr
    assert len(lines[0]) < 400   # never the entry's whole text
    strict = subprocess.run([sys.executable, "-m", "antre", "config", "check", "--strict", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert strict.returncode == 1


def _book(n):
    return [{"questions": [f"pertanyaan {i} varian {j} " + "tentang pelayanan kantor desa " * 5 for j in range(3)],
             "answer": f"Jawaban {i}: " + "datang ke kantor desa membawa KTP dan KK asli. " * 18,
             "links": [f"https://sukamaju.desa.id/layanan/{i}"]} for i in range(n)]


def test_the_seed_takes_the_good_entries_in_order_and_stops_before_the_book_is_too_big(tmp_path, caplog):
    """The seeded book never breaks faq_list (one reply under the service's 64 512 bytes): bad entries are
    left out, and the seed stops before FAQ_BYTES; the configuration still loads; what is left out is logged
    (first 40 characters only) and counted in the audit row."""
    import logging

    from antre import config
    from antre.faq_text import FAQ_BYTES

    bad = {"questions": ["<b>jam buka</b> " + "sangat panjang " * 10], "answer": "08.00"}
    entries = _book(2) + [bad] + _book(60)[2:]   # ~1.3 kB each: full after about 37
    cfg = config.from_dict({"queue": {"enforce_hours": False}, "notify": {"sms": True, "faq": entries}})
    warnings = config.faq_warnings(cfg)
    start = " ".join(bad["questions"][0].split())[:40]
    assert len(start) == 40 and warnings[0].startswith(f"[[notify.faq]] #3 ('{start}'): not taken: the question "
                                                       "must be plain text")
    over = [w for w in warnings if f"over {FAQ_BYTES} bytes" in w]
    assert len(over) == 1 and warnings[-1].startswith("[[notify.faq]] #61 ")
    first_out = int(over[0].split("#")[1].split(" ")[0])
    assert len(warnings) == 1 + 61 - first_out + 1
    with caplog.at_level(logging.INFO, logger="antre"):
        office = Office(tmp_path, faq=entries)
        st = sign_in_staff(office.run)
        listed = office.run("faq_list", **st["kasi"])
    taken = first_out - 2   # #1..#(first_out-1) without #3
    assert [e["questions"][0].split(" varian")[0] for e in listed["entries"]] == \
        [f"pertanyaan {i}" for i in [0, 1] + list(range(2, first_out - 2))]
    assert len(listed["entries"]) == taken
    assert len(json.dumps({"ok": True, "result": listed}, ensure_ascii=False).encode()) < 64_512
    logged = [r.getMessage() for r in caplog.records if "FAQ seed" in r.getMessage()]
    assert len(logged) == 61 - taken and all("sangat panjang sangat panjang sangat" not in m for m in logged)
    detail = rows(office, "select detail from audit_log where action = 'faq.seed'")
    assert [json.loads(d) for (d,) in detail] == [{"entries": taken, "skipped": 61 - taken, "in_config": 61}]


def test_a_question_and_its_answer_take_the_held_day_while_the_clock_is_doubted(office):
    """A clock far ahead (a Pi without a battery clock, or a wrong NTP answer) is doubted and the business day
    is held: the question's created_at and its answered_at are the service's recorded time on the held day,
    as letters', complaints' and the outbox's are. Stamped with the wrong clock, an answered question's number
    would be wiped only a year after that wrong date (retention counts from answered_at)."""
    office.run("issue_ticket", service="adminduk")   # the day is open
    held = office.q.today.day
    office.q.clock_doubt = lambda: "devices disagree"
    office.clock.advance(days=400)
    a = office.run("question_submit", question="Kapan posyandu balita bulan ini?", channel="web",
                   phone="081377776666", notify=True, address="10.0.0.8")
    assert office.q.clock_warning is not None and office.q.today.day == held
    kasi = sign_in_again(office.run)["kasi"]
    [qid] = [i["id"] for i in office.run("question_list", **kasi)["items"] if i["code"] == a["code"]]
    office.run("question_answer", question=qid, text="Tanggal 10, di posyandu RW 2.", **kasi)
    tz = office.q.tz
    [(created, answered)] = rows(office, f"select created_at, answered_at from resident_questions where id = {qid}")
    from datetime import datetime, timezone
    for stamp in (created, answered):
        at = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc)
        assert at.astimezone(tz).date() == held, stamp
    st = office.run("question_status", code=a["code"])
    assert st["asked_at"][:10] == held.isoformat() and st["answered_at"] is not None


def test_a_real_service_starts_with_a_bad_seed_entry_seeds_the_good_ones_and_later_says_the_config_is_unused(
        tmp_path, broker):
    """``antre serve`` on an upgraded office whose [[notify.faq]] has an entry the console would refuse: it
    comes up, seeds the good entries, logs the bad one once; restarted (the FAQ is seeded), one line says the
    configuration's FAQ is no longer used and nothing about its entries."""
    from tests.conftest import start_office

    good = {"questions": ["kapan kantor buka"], "answer": "Senin-Jumat 08.00."}
    bad = {"questions": ["jam buka"], "answer": "<script>alert(1)</script>"}
    o = start_office(tmp_path, broker, extra=_faq_toml([good, bad, good | {"questions": ["syarat ktp"]}]))
    try:
        with sqlite3.connect(o.db_path) as db:
            assert db.execute("select questions from faq_entries order by id").fetchall() == \
                [('["kapan kantor buka"]',), ('["syarat ktp"]',)]
        out = o.service.output()
        assert out.count("[[notify.faq]] #2 ('jam buka'): not taken: the answer must be plain text") == 1, out
        assert "2 of the configuration's 3 entries taken" in out
        o.service.stop()
        size = len(out)
        o.service.start()
        o.client.wait_service(True)
        wait_for(lambda: "is no longer used" in o.service.output()[size:], what="the 'no longer used' line")
        again = o.service.output()[size:]
        assert again.count("[[notify.faq]] (3 entries) is no longer used") == 1 and "#2" not in again, again
    finally:
        o.client.stop()
        o.service.stop()
