"""Notifications as rules (antre/rules/notify.py), on a real SQLite file with a manual clock, no broker:
the outbox is written with the event, once per event; opt-in, STOP, budgets, reminders, retention; and the
SMS keywords, forgiving of case, spacing and typos, answered in one SMS where possible."""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from antre import config
from antre.clock import ManualClock
from antre.rules.keywords import best, read
from antre.rules.queue import QueueService
from antre.rules.sms_text import mask, msisdn, sms_parts
from antre.service.server import PLUGINS
from antre.storage import open_database

EVERY_DAY = {d: "07:00-16:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
MONDAY_9 = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)   # 09:00 WIB


def make(tmp_path, **notify):
    cfg = config.from_dict({
        "queue": {"enforce_hours": False}, "office": {"hours": EVERY_DAY},
        "counters": [{"id": "loket-1", "name": "Loket 1", "services": ["adminduk", "surat", "umum"]}],
        "web": {"public_url": "https://antre.sukamaju.desa.id", "phone_daily_limit": 5,
                "appointments": [{"service": "adminduk", "days": list(EVERY_DAY)}]},
        "notify": {"sms": True} | notify})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    clock = ManualClock(MONDAY_9)
    q = QueueService(cfg, sessions, clock=clock, plugins=PLUGINS)
    return q, clock


class Office:
    def __init__(self, tmp_path, **notify):
        self.q, self.clock = make(tmp_path, **notify)
        self.db = tmp_path / "a.db"

    def run(self, cmd, request_id=None, **args):
        return self.q.execute(cmd, request_id or uuid.uuid4().hex, args).result

    def sms(self, phone, text, key=None):
        key = key or uuid.uuid4().hex[:32]
        return self.q.execute("sms_received", f"sms-{key}", {"phone": phone, "text": text, "message_key": key}).result

    def outbox(self, where="1=1"):
        with sqlite3.connect(self.db) as db:
            return db.execute(f"select key, kind, phone, body, state, reason, parts from outbox where {where} "
                              "order by id").fetchall()

    def last_reply(self):
        return self.outbox()[-1][3]


@pytest.fixture
def office(tmp_path):
    return Office(tmp_path)


def test_a_remote_ticket_with_opt_in_gets_its_messages_with_the_events_once_each(office):
    p = "081234567890"
    t = office.run("issue_ticket", service="adminduk", channel="web", name="Siti", phone=p, notify=True)
    for i in range(5):
        office.run("issue_ticket", service="adminduk")             # walk-ins behind
    # Nobody ahead: created, and "sebentar lagi" is not needed (already near).
    [(key, kind, phone, body, state, _, parts)] = office.outbox()
    assert (key, kind, phone, state) == ("t1:created", "created", p, "pending")
    assert t["number"] in body and "https://antre.sukamaju.desa.id/status/2026-11-30/A-001" in body
    assert parts == 1 == sms_parts(body)
    # Opt-out of SMS by default: a web ticket without notify gets nothing.
    office.run("issue_ticket", service="adminduk", channel="web", name="Ani", phone="082222222222")
    assert len(office.outbox()) == 1
    office.run("call_next", counter="loket-1")
    office.run("recall", counter="loket-1")                            # a recall is not a second message
    office.run("skip", counter="loket-1")
    kinds = [r[1] for r in office.outbox()]
    assert kinds == ["created", "called", "no_show"]
    called = office.outbox("kind = 'called'")[0][3]
    assert "A-001 dipanggil" in called and "Loket 1" in called
    # A command replayed with its request id changes nothing, and makes no second message.
    rid = uuid.uuid4().hex
    office.run("issue_ticket", request_id=rid, service="surat", channel="web", name="Budi", phone="083333333333",
               notify=True)
    office.run("issue_ticket", request_id=rid, service="surat", channel="web", name="Budi", phone="083333333333",
               notify=True)
    assert [r[1] for r in office.outbox()].count("created") == 2


def test_giliran_anda_sebentar_lagi_when_n_or_fewer_are_ahead_once(tmp_path):
    office = Office(tmp_path, near_ahead=2)
    for _ in range(4):
        office.run("issue_ticket", service="adminduk")
    office.run("issue_ticket", service="adminduk", channel="web", name="Siti", phone="081234567890", notify=True)
    assert [r[1] for r in office.outbox()] == ["created"]          # 4 ahead
    office.run("call_next", counter="loket-1")                     # 3 ahead
    assert [r[1] for r in office.outbox()] == ["created"]
    office.run("call_next", counter="loket-1")                     # 2 ahead: now
    near = office.outbox("kind = 'near'")
    assert len(near) == 1 and "giliran Anda sebentar lagi" in near[0][3] and "tinggal 2 orang" in near[0][3]
    assert near[0][6] == 1
    office.run("call_next", counter="loket-1")
    office.run("call_next", counter="loket-1")
    assert len(office.outbox("kind = 'near'")) == 1                # once
    office.run("call_next", counter="loket-1")
    assert [r[1] for r in office.outbox()] == ["created", "near", "called"]


def test_near_counts_each_subscribers_place_in_its_own_queue_with_one_query(tmp_path):
    """Priority first, then arrival, per service: who gets "sebentar lagi" is who has near_ahead or fewer
    before it by WebRules._ahead (the ticket page's count); found with one query per command, not one per
    subscriber."""
    from sqlalchemy import event, select

    from antre.storage.models import Ticket
    office = Office(tmp_path, near_ahead=2)
    engine = office.q.sessions.kw["bind"]
    phones = iter(f"08123456{i:04d}" for i in range(100))
    near_at_creation = set()
    for service in ("adminduk", "surat") * 4:
        r = office.run("issue_ticket", service=service, channel="web", name="Siti", phone=next(phones), notify=True)
        if r["ahead"] <= 2:
            near_at_creation.add(int(office.outbox()[-1][0][1:].split(":")[0]))   # from its 'created' key
        office.run("issue_ticket", service=service)
    office.run("issue_ticket", service="surat", priority="lansia")            # ahead of every surat ticket
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cur, sql, params, ctx, many: seen.append(sql))
    office.run("call_next", counter="loket-1")
    selects = [q for q in seen if q.lstrip().upper().startswith("SELECT")]
    assert len([q for q in selects if "notify_subscriptions" in q]) == 2   # _subscription_of, _near ...
    assert len(selects) <= 4, selects    # ... (and the request log): not one more per subscriber
    for _ in range(3):
        office.run("call_next", counter="loket-1")
    office.run("skip", counter="loket-1")
    with office.q.sessions() as s:
        web = office.q.plugins["notify"].web
        waiting = s.scalars(select(Ticket).where(Ticket.channel == "web", Ticket.state == "waiting")).all()
        ahead = {t.id: web._ahead(s, t) for t in waiting}
    told = {int(key[1:].split(":")[0]) for key, *_ in office.outbox("kind = 'near'")}
    assert told   # some were told on the way ...
    assert {i for i, n in ahead.items() if n <= 2} - near_at_creation <= told   # ... every one near now ...
    assert not {i for i, n in ahead.items() if n > 2} & told                     # ... and nobody still far


def test_stop_ends_notifications_mulai_starts_them_and_replies_still_go(office):
    p = "081234567890"
    office.sms(p, "antre ktp")
    office.run("issue_ticket", service="adminduk")
    office.sms(p, "  Stop ")
    assert "tidak akan menerima SMS" in office.last_reply()
    office.run("call_next", counter="loket-1")                     # would be "called": no subscription any more
    assert office.outbox("kind = 'called'") == []
    t = office.run("issue_ticket", service="surat", channel="web", name="Siti", phone=p, notify=True)
    created = [r for r in office.outbox("kind = 'created'") if t["number"] in r[3]]
    assert created and created[0][4] == "pending"                  # the answer to a form is still sent
    office.run("call_next", counter="loket-1")
    office.run("call_next", counter="loket-1")
    called = [r for r in office.outbox("kind = 'called'") if t["number"] in r[3]]
    assert called and called[0][4:6] == ("skipped", "opted_out")
    office.sms(p, "MULAI")
    assert "aktif lagi" in office.last_reply()


def test_budgets_per_office_and_per_number_are_kept_and_shown(tmp_path):
    office = Office(tmp_path, daily_budget=3, number_daily_limit=2)
    office.sms("081111111111", "jam")
    office.sms("081111111111", "info")
    office.sms("081111111111", "bantuan")                          # third to one number: over its limit
    office.sms("082222222222", "jam")
    office.sms("083333333333", "jam")                              # fourth of the office: over its budget
    states = [(r[2], r[4], r[5]) for r in office.outbox()]
    assert states == [("081111111111", "pending", None), ("081111111111", "pending", None),
                      ("081111111111", "skipped", "number_budget"), ("082222222222", "pending", None),
                      ("083333333333", "skipped", "office_budget")]
    office.clock.advance(days=1)
    office.sms("083333333333", "jam")                              # a new day, a new budget
    assert office.outbox()[-1][4] == "pending"


def test_an_sms_read_twice_is_answered_once(office):
    office.sms("081234567890", "ANTRE KTP", key="k" * 32)
    office.sms("081234567890", "ANTRE KTP", key="k" * 32)
    assert len(office.outbox()) == 1
    with sqlite3.connect(office.db) as db:
        assert db.execute("select count(*) from tickets").fetchone() == (1,)
        # The request log keeps no number.
        assert "081234567890" not in str(db.execute("select * from requests").fetchall())


def test_keywords_answer_in_plain_indonesian_and_one_sms(office):
    p = "081234567890"
    replies = {}
    for text in ("antri  ktp", "setatus a1", "STATUS A-001", "syrat surat", "Jam", "INFO", "bantuan", "batal",
                 "STATUS Z-999", "ANTRE", "apa kabar"):
        office.sms(p, text)
        replies[text] = office.last_reply()
    assert "nomor antrean Anda A-001" in replies["antri  ktp"]
    assert replies["setatus a1"] == replies["STATUS A-001"] == "Nomor A-001: menunggu, 0 orang di depan Anda."
    assert replies["syrat surat"].startswith("Syarat Surat Keterangan: KTP, KK, Surat pengantar RT/RW")
    assert "Senin-Minggu 07.00-16.00" in replies["Jam"] and "Sekarang buka" in replies["Jam"]
    assert "Kantor Desa Sukamaju" in replies["INFO"]
    assert "ANTRE <layanan>" in replies["bantuan"]
    assert "BATAL lalu kode" in replies["batal"]
    assert "tidak ditemukan" in replies["STATUS Z-999"]
    assert "Layanan apa?" in replies["ANTRE"]
    assert "belum paham" in replies["apa kabar"]
    for text, reply in replies.items():
        assert sms_parts(reply) == 1, (text, len(reply), reply)


def test_refusals_are_said_not_raised(tmp_path):
    office = Office(tmp_path)
    p = "081234567890"
    for _ in range(5):
        office.sms(p, "antre surat")
    office.sms(p, "antre surat")
    assert office.last_reply() == "Nomor HP ini sudah mencapai batas nomor antrean hari ini."
    with sqlite3.connect(office.db) as db:
        assert db.execute("select count(*) from tickets").fetchone() == (5,)


def test_booking_reminders_the_day_before_and_the_hour_before_and_batal(office):
    p = "081234567890"
    b = office.run("book", service="adminduk", date="2026-12-01", slot="10:00", name="Siti", phone=p, notify=True)
    office.q.tick()
    assert office.outbox() == []                                   # 25 hours ahead: nothing yet
    office.clock.set(datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc) - timedelta(hours=24))   # slot 10:00 WIB
    office.q.tick()
    office.q.tick()
    [day] = office.outbox()
    c = b["code"]
    grouped = f"{c[:3]}-{c[3:6]}-{c[6:]}"                          # read aloud in 3-3-4, as a phone number
    assert day[0] == f"b1:day" and f"Kode {grouped}," in day[3] and f"BATAL {c}" in day[3] and "pukul 10.00" in day[3] and "Selasa 1/12" in day[3]
    office.clock.set(datetime(2026, 12, 1, 2, 15, tzinfo=timezone.utc))   # 09:15 WIB
    office.q.tick()
    assert [r[0] for r in office.outbox()] == ["b1:day", "b1:hour"]
    office.sms("089999999999", f"BATAL {b['code']}")                # another number cannot cancel it
    assert "tidak ditemukan" in office.last_reply()
    office.sms(p, f"STATUS {grouped}")                             # the grouped form is read back as the code
    assert office.last_reply().startswith(f"Janji {grouped}: 1/12 pukul 10.00, aktif")
    office.sms(p, f"status {c[:3]} {c[3:6]} {c[6:]}")
    assert "aktif" in office.last_reply()
    office.sms(p, f"batal {grouped}")
    assert f"Janji temu {grouped} sudah dibatalkan" in office.last_reply()


def test_numbers_are_wiped_after_retention(tmp_path):
    office = Office(tmp_path, retention_days=1)
    office.sms("081234567890", "jam")
    with sqlite3.connect(office.db) as db:
        db.execute("update outbox set state = 'sent'")
    office.clock.advance(days=1)
    office.q.tick()
    assert office.outbox()[0][2] == "081234567890"
    office.clock.advance(days=1)
    office.q.tick()
    assert office.outbox()[0][2] is None
    with sqlite3.connect(office.db) as db:
        assert "081234567890" not in str(db.execute("select * from sms_optouts").fetchall())


def test_numbers_are_wiped_when_a_command_opens_the_day_and_not_while_the_clock_holds_it(tmp_path):
    """The purge is a new-day hook: it runs with the first command of a new day (no tick needed), once, and
    not while a doubtful clock holds the old day open (the day is not changed then)."""
    office = Office(tmp_path, retention_days=0)
    office.sms("081234567890", "jam")
    with sqlite3.connect(office.db) as db:
        db.execute("update outbox set state = 'sent'")
    office.q.clock_doubt = lambda: "devices disagree"
    office.clock.advance(days=1)
    office.run("issue_ticket", service="adminduk")
    assert office.q.clock_warning is not None and office.outbox()[0][2] == "081234567890"   # held: kept
    office.q.clock_doubt = lambda: None
    office.run("issue_ticket", service="adminduk")           # the day changes with this command ...
    assert office.q.clock_warning is None and office.outbox()[0][2] is None   # ... and the number is wiped
    office.sms("081234567891", "jam")                                          # today's stay
    with sqlite3.connect(office.db) as db:
        db.execute("update outbox set state = 'sent'")
    office.q.tick()
    office.run("issue_ticket", service="adminduk")
    assert office.outbox()[-1][2] == "081234567891"


def test_reading_keywords_and_services():
    assert {(r.keyword, r.argument.lower()) for r in (read("ANTREKTP"), read("antre ktp"), read("Antri   KTP"),
                                                       read("antre: ktp"))} == {("ANTRE", "ktp")}
    assert read("setatus A12") == read("STATUS A12") == read("Status: A12")
    assert read("jam berapa buka?").keyword == "JAM"
    assert read("bagaimana cara membuat akta kelahiran").keyword is None
    choices = {"adminduk": ["Administrasi Kependudukan (KTP/KK)", "KTP dan KK"],
               "surat": ["Surat Keterangan (domisili, usaha, nikah)"]}
    assert best("ktp", choices) == "adminduk" and best("domisili", choices) == "surat"
    assert best("zzz", choices) is None
    assert msisdn("+62 812-3456-7890") == "081234567890" and msisdn("TELKOMSEL") is None
    assert mask("081234567890") == "0812****7890"
    assert sms_parts("a" * 160) == 1 and sms_parts("a" * 161) == 2 and sms_parts("é" * 160) == 1
    assert sms_parts("Rp 5.000 – lunas") == 1                     # UCS-2 (the dash), still short
    assert sms_parts("ä" + "€" * 80) == 2 and sms_parts("日本") == 1 and sms_parts("日" * 71) == 2


def test_staff_list_shows_state_and_cost_with_masked_numbers(tmp_path, capsys):
    office = Office(tmp_path, daily_budget=2)
    office.sms("081234567890", "jam")
    office.sms("081234567890", "info")
    office.sms("081234567890", "bantuan")                          # over the office's budget
    cfg = tmp_path / "antre.toml"
    cfg.write_text('[notify]\ncost_per_sms = 350\ndaily_budget = 2\n[office]\ntimezone = "Asia/Jakarta"\n')
    from antre.cli import main
    assert main(["notify", "list", "--config", str(cfg), "--db-url", f"sqlite:///{office.db}",
                 "--date", "2026-11-30"]) == 0
    out = capsys.readouterr().out
    assert "081234567890" not in out and out.count("0812****7890") == 3
    assert "09.00  reply" in out and "menunggu" in out and "anggaran harian kantor habis" in out
    assert "biaya" not in out                                       # nothing handed off yet: nothing spent
    with sqlite3.connect(office.db) as db:
        db.execute("update outbox set state = 'sent' where state = 'pending'")
    main(["notify", "list", "--config", str(cfg), "--db-url", f"sqlite:///{office.db}", "--date", "2026-11-30"])
    assert "Terkirim/diserahkan: 2 SMS, biaya Rp 700" in capsys.readouterr().out


def test_free_questions_get_the_faqs_answer_when_it_is_sure_and_otherwise_the_fallback(tmp_path):
    import tomllib
    from pathlib import Path
    faq = tomllib.loads((Path(__file__).parent.parent / "bench" / "faq" / "faq.toml").read_text())["notify"]["faq"]
    office = Office(tmp_path, faq=faq)
    office.sms("081234567890", "ktp sy ilang gmn")                   # shorthand, Jakarta slang
    assert office.last_reply().startswith("KTP hilang: minta surat kehilangan")
    office.sms("081234567890", "syarat akta kelhiran anak")        # a typo, stemming (kelahiran -> lahir)
    assert office.last_reply().startswith("Akta kelahiran:")
    office.sms("081234567890", "harga pupuk subsidi berapa")        # not in the FAQ: left to a person
    assert "kami teruskan ke petugas" in office.last_reply()        # the staff inbox (tests/test_questions.py)


def test_the_assistant_normalises_shorthand_regional_words_and_typos():
    from antre.config import FaqEntry
    from antre.rules.faq import Assistant
    a = Assistant([FaqEntry(answer="A", questions=["bagaimana cara membuat kartu keluarga baru"]),
                   FaqEntry(answer="B", questions=["berapa biaya membuat surat keterangan"])])
    assert a.normalise("piye carane gawe KK anyar?")[:2] == ["bagaimana", "cara"]
    assert "lahir" in a.normalise("akta kelahiran")                  # Sastrawi stems
    assert a.normalise("brp biaya bikin surat ketrangan") == a.normalise("berapa biaya buat surat keterangan")
    assert a.answer("brp biaya bikin surat ketrangan") == "B"
    assert a.answer("kumaha nyieun kartu keluarga anyar") == "A"
    assert a.answer("jadwal posyandu") is None


def test_real_words_are_never_corrected_into_an_faqs_word_but_typos_still_are():
    """``balik`` (to return) once became ``balai`` and answered "pinjam balai desa": a real Indonesian word (a
    root of Sastrawi's dictionary, or one that stems to one) is left as written; a typo is still corrected."""
    import tomllib
    from pathlib import Path
    from antre.config import FaqEntry
    from antre.rules.faq import Assistant
    faq = tomllib.loads((Path(__file__).parent.parent / "bench" / "faq" / "faq.toml").read_text())["notify"]["faq"]
    entries = [FaqEntry(**e) for e in faq] + [
        FaqEntry(answer="Balai desa boleh dipinjam untuk hajatan: ajukan ke sekretaris desa 7 hari sebelumnya.",
                 questions=["pinjam balai desa", "sewa balai desa untuk hajatan"]),
        FaqEntry(answer="Posyandu tiap Rabu pertama di balai desa.", questions=["jadwal posyandu bulan ini"])]
    a = Assistant(entries)
    balai = len(entries) - 2
    # Real words that are a letter or two from an FAQ word: not answered with that word's entry.
    for question in ("kapan saya bisa balik ke desa", "urus balik nama motor di desa", "balik nama"):
        assert "balai" not in a.normalise(question)
        assert a.match(question).index != balai, question
    assert a.answer("harga surat") is None                              # harga is not warga (the complaints entry)
    assert "harga" in a.normalise("harga surat") and "warga" not in a.normalise("harga surat")
    assert "mampu" not in a.normalise("lampu rumah mati")                # lampu is not mampu (SKTM)
    assert "jalan" not in a.normalise("jualan online")                   # jualan stems to jual
    assert "ulang" not in a.normalise("ktp jadi bulan depan")            # bulan is not ulang (cetak ulang)
    assert a.is_word("balik") and a.is_word("persyaratannya") and not a.is_word("kelhiran")
    # Typos, which are not words, are still corrected to the FAQ's words.
    assert a.normalise("syarat akta kelhiran") == a.normalise("syarat akta kelahiran")
    assert a.normalise("surat domisli") == a.normalise("surat domisili")
    assert a.normalise("ngelamar kerja") == a.normalise("melamar kerja")
    assert a.answer("syarat akta kelhiran anak").startswith("Akta kelahiran:")
    assert a.answer("mau pinjam balai desa buat nikahan").startswith("Balai desa")
    # "sarat" is a word (laden), but in a question to the village office it is how many write "syarat".
    assert a.normalise("sarat srt domisili") == a.normalise("syarat surat domisili")


def test_a_booking_with_opt_in_keeps_its_messages_after_check_in(office):
    p = "081234567890"
    b = office.run("book", service="adminduk", date="2026-11-30", slot="09:30", name="Siti", phone=p, notify=True)
    office.run("check_in", code=b["code"])
    office.run("issue_ticket", service="adminduk")
    office.run("call_next", counter="loket-1")                     # the booked ticket goes first
    called = office.outbox("kind = 'called'")
    assert len(called) == 1 and called[0][2] == p and "A-001 dipanggil" in called[0][3]


def test_no_booking_reminder_goes_while_the_clock_is_doubtful(office):
    """A clock a day ahead (the day held open, staff warned "Jam Pi salah") sends no reminder at the wrong time:
    tomorrow's hour-before reminder would go a day early, once (its key), and never at the right time."""
    p = "081234567890"
    office.run("book", service="adminduk", date="2026-12-01", slot="10:00", name="Siti", phone=p, notify=True)
    office.q.tick()
    office.q.clock_doubt = lambda: "the clock jumped"
    office.clock.set(datetime(2026, 12, 1, 2, 15, tzinfo=timezone.utc))   # 09:15 WIB tomorrow: a day ahead
    office.q.tick()
    assert office.q.clock_warning and office.q.clock_warning.startswith("Jam Pi salah")
    assert office.outbox() == []
    office.q.clock_doubt = lambda: None                                   # the clock is set right
    office.clock.set(datetime(2026, 12, 1, 2, 15, tzinfo=timezone.utc))
    office.q.tick()
    assert office.q.clock_warning is None
    assert [r[0] for r in office.outbox()] == ["b1:hour"]


def test_a_message_gammu_never_confirmed_is_given_up_wiped_and_its_spool_file_removed(tmp_path):
    """Rows handed to gammu-smsd and never confirmed (the daemon stopped) stayed ``handed_off`` with their
    number for good, and their file waited in the daemon's outbox/ (to be sent days late). Past retention they
    are given up like pending ones, the number wiped, and the worker deletes the file: real spool folders."""
    from antre.service.notify_worker import NotifyWorker

    spool = tmp_path / "spool"
    for sub in ("inbox", "outbox", "sent", "error"):
        (spool / sub).mkdir(parents=True)
    office = Office(tmp_path, retention_days=1, spool=str(spool))
    office.sms("081234567890", "jam")
    office.sms("081234567891", "jam")
    worker = NotifyWorker(office.q.cfg, office.q.sessions, lambda *a: "done", clock=office.clock.now)
    worker.spool.check()
    worker.deliver()
    waiting = sorted(p.name for p in (spool / "outbox").iterdir())
    assert len(waiting) == 2 and [r[4] for r in office.outbox()] == ["handed_off", "handed_off"]
    os.replace(spool / "outbox" / waiting[1], spool / "error" / waiting[1])   # one failed, never read back
    office.clock.advance(days=1)
    office.q.tick()
    worker.clean()
    assert [r[2] for r in office.outbox()] == ["081234567890", "081234567891"]   # within retention: kept
    assert (spool / "outbox" / waiting[0]).exists() and (spool / "error" / waiting[1]).exists()
    office.clock.advance(days=1)
    office.q.tick()
    assert [(r[2], r[4], r[5]) for r in office.outbox()] == [(None, "failed", "expired")] * 2
    worker.clean()
    assert not [*(spool / "outbox").iterdir(), *(spool / "error").iterdir()]
    worker.deliver()
    worker.confirm()                                           # nothing is handed again or read back
    assert not list((spool / "outbox").iterdir()) and [r[4] for r in office.outbox()] == ["failed"] * 2
    with sqlite3.connect(office.db) as db:
        assert "1234567890" not in str(db.execute("select * from outbox").fetchall())


def test_a_spool_that_cannot_be_written_never_puts_the_number_in_the_log(tmp_path, caplog):
    """gammu-smsd's file names hold the number (``..._00_+6281234567890_...``). An OSError writing one (a full or
    read-only spool) named the file, and the worker logged the error with its traceback: every resident's number
    waiting then went into the journal. The error staff and the log get names no file."""
    import logging

    from antre.service.notify_worker import NotifyWorker
    from tests.support import wait_for

    spool = tmp_path / "spool"
    for sub in ("inbox", "outbox", "sent", "error"):
        (spool / sub).mkdir(parents=True)
    office = Office(tmp_path, spool=str(spool), poll_seconds=0.05)
    office.sms("081234567890", "jam")
    worker = NotifyWorker(office.q.cfg, office.q.sessions, lambda *a: "done", clock=office.clock.now)
    worker.spool.check()
    from antre.storage.models import OutboxMessage
    with office.q.sessions() as s:
        row = s.query(OutboxMessage).one()
        name = worker.spool.name_for(row, row.attempt + 1)
    assert "6281234567890" in name
    (worker.spool.tmp / name).mkdir()       # the write fails with an OSError that names the file
    caplog.set_level(logging.DEBUG)
    worker.start()
    try:
        wait_for(lambda: worker.trouble is not None, 30, "the SMS trouble")
    finally:
        worker.stop()
    assert "SMS" in caplog.text and "1234567890" not in caplog.text
    assert [r[4] for r in office.outbox()] == ["pending"]


def test_an_incoming_sms_stamped_ahead_of_the_clock_is_still_read(tmp_path):
    """An inbox file counts as complete once unchanged for a settle time. That was ``time.time() - mtime``: with
    the clock behind the file's stamp (set back after gammu-smsd wrote it, or another process's clock) it stayed
    below the settle time and the SMS was never read. Now measured on the monotonic clock from when the file was
    first seen unchanged. A real spool folder; the file's stamp set a day ahead; fails before."""
    import time

    from antre.service.notify_worker import GammuSpool
    from tests.support import wait_for

    spool = GammuSpool(tmp_path / "spool", "t1")
    inbox = spool.inbox
    inbox.mkdir(parents=True)
    path = inbox / "IN20261207_080000_00_+6281200000009_00.txt"
    path.write_bytes("\ufeffjam".encode("utf-16-be"))
    ahead = time.time() + 86400
    os.utime(path, (ahead, ahead))
    assert spool.incoming(settle=1.0) == []        # just seen: not settled yet
    [sms] = wait_for(lambda: spool.incoming(settle=1.0), what="the SMS stamped a day ahead to be read")
    assert sms.text == "jam" and sms.sender == "+6281200000009"
    # One still being written (changed since last looked at) waits for its settle time again.
    other = inbox / "IN20261207_080001_00_+6281200000008_00.txt"
    other.write_bytes("\ufeffsya".encode("utf-16-be"))
    spool.incoming(settle=1.0)
    other.write_bytes("\ufeffsyarat".encode("utf-16-be"))
    assert [s.sender for s in spool.incoming(settle=1.0)] == ["+6281200000009"]
    wait_for(lambda: len(spool.incoming(settle=1.0)) == 2, what="the second SMS once unchanged")
