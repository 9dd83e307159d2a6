"""Complaints (pengaduan, aspirasi, permintaan informasi), the rules in process on a real SQLite file with a
manual clock: submission (anonymous stores nothing that names anyone), the public view (never an internal
note, never the other resident's words of a merged duplicate), statuses with reasons and referral, service
levels on the office calendar, assignment, replies and the SMS hook, rating, the monthly summary, retention,
and every staff view audited."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta, timezone

import pytest

from antre import config
from antre.rules.complaint_codes import (clean_complaint_code, complaint_code_ok, format_complaint_code,
                                    new_complaint_code)
from tests.test_letters import rules_office, sign_in_again

TEXT = "Lampu jalan di RT 03 mati sejak dua minggu, jalan gelap sekali."


def audit_rows(tmp_path, action: str) -> list[tuple]:
    db = sqlite3.connect(tmp_path / "a.db")
    try:
        return db.execute("SELECT actor, action, subject FROM audit_log WHERE action = ?", (action,)).fetchall()
    finally:
        db.close()


def test_codes():
    codes = {new_complaint_code() for _ in range(100)}
    assert len(codes) == 100 and all(complaint_code_ok(c) for c in codes)
    c = next(iter(codes))
    assert format_complaint_code(c) == f"P-{c[1:5]}-{c[5:9]}-{c[9:]}"
    assert clean_complaint_code(format_complaint_code(c).lower()) == c
    assert not complaint_code_ok(c[:-1] + str((int(c[-1]) + 1) % 10)) and not complaint_code_ok(c[1:])


def test_config_topics_checked():
    with pytest.raises(config.ConfigError, match="topic"):
        config.from_dict({"complaints": {"topics": ["Jalan Rusak"]}})
    with pytest.raises(config.ConfigError, match="did you mean 'topics'"):
        config.from_dict({"complaints": {"topic": ["jalan"]}})
    assert config.from_dict({"complaints": {"topics": ["jalan", "air"]}}).complaints.topics == ["jalan", "air"]


def test_submit_follow_answer_rate_with_roles_notes_and_audit(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path, '[notify]\nsms = true\n')   # Monday 7 Dec 2026, 09.00
    assert error("complaint_submit", category="keluhan", topic="pelayanan", text=TEXT, anonymous=True) == "unknown_category"
    assert error("complaint_submit", category="pengaduan", topic="jalan", text=TEXT, anonymous=True) == "unknown_topic"
    assert error("complaint_submit", category="pengaduan", topic="infrastruktur", text=" \n ", anonymous=True) == "empty_text"
    assert error("complaint_submit", category="pengaduan", topic="infrastruktur", text="x" * 2001,
                 anonymous=True) == "text_too_long"
    assert error("complaint_submit", category="pengaduan", topic="infrastruktur", text=TEXT) == "missing_contact"
    assert error("complaint_submit", category="pengaduan", topic="infrastruktur", text=TEXT, photo="../etc/passwd",
                 anonymous=True) == "invalid_photo"
    r = run("complaint_submit", category="pengaduan", topic="infrastruktur", text=TEXT + "\x00\x1b[31m",
            name="Budi Santoso", phone="081234567890", notify=True)
    code = r["code"]
    assert complaint_code_ok(code) and r["status"] == "diterima"
    # 3 working days: Tue, Wed, Thu; the answer in 10: up to Monday 21 December (weekends closed).
    assert r["verify_due"] == "2026-12-10" and r["answer_due"] == "2026-12-21"
    assert r["thread"] == [{"kind": "resident", "at": r["created_at"], "text": TEXT + "[31m", "from": "warga"}]
    assert "Budi" not in json.dumps(r) and "0812" not in json.dumps(r)
    # Anonymous: no contact stored even when the form sent one.
    a = run("complaint_submit", category="aspirasi", topic="lingkungan", text="Mohon tambah tempat sampah.",
            anonymous=True, name="Siti Aminah", phone="081299998888", notify=True)
    db = sqlite3.connect(tmp_path / "a.db")
    row = db.execute("SELECT contact_name, contact_phone, notify, anonymous FROM complaints WHERE code = ?",
                     (a["code"],)).fetchone()
    db.close()
    assert row == (None, None, 0, 1)

    inbox = run("complaint_list", **st["kasi"])
    assert [i["code"] for i in inbox["items"]] == [code, a["code"]] and inbox["counts"]["diterima"] == 2
    item = inbox["items"][0]
    assert item["masked_name"] == "B*** S******" and "text" not in item and not item["overdue"]
    assert error("complaint_list", **st["admin"]) == "forbidden"             # an admin reads no complaints
    cid = item["id"]
    # A petugas sees and handles only what is assigned to them.
    assert run("complaint_list", **st["petugas"])["items"] == []
    assert error("complaint_get", complaint=cid, **st["petugas"]) == "forbidden"
    assert error("complaint_assign", complaint=cid, to="loket-satu", **st["petugas"]) == "forbidden"
    assert error("complaint_assign", complaint=cid, to="admin", **st["kasi"]) == "unknown_account"
    run("complaint_assign", complaint=cid, to="loket-satu", **st["kasi"])
    full = run("complaint_get", complaint=cid, **st["petugas"])
    assert full["contact_name"] == "Budi Santoso" and full["contact_phone"] == "081234567890"
    assert audit_rows(tmp_path, "complaint.view") == [("loket-satu", "complaint.view", f"complaint {cid}")]

    # Internal note: in the staff's thread, never in the resident's.
    run("complaint_note", complaint=cid, text="RAHASIA: cek ke Pak RT dulu", **st["petugas"])
    run("complaint_set_status", complaint=cid, status="diverifikasi", **st["petugas"])
    pub = run("complaint_status", code=code)
    assert pub["status"] == "diverifikasi" and "RAHASIA" not in json.dumps(pub) and "loket-satu" not in json.dumps(pub)
    assert error("complaint_set_status", complaint=cid, status="selesai", **st["kasi"]) == "invalid_transition"
    assert error("complaint_set_status", complaint=cid, status="ditolak", **st["kasi"]) == "missing_argument"
    assert error("complaint_rate", code=code, rating=5) == "not_answered"
    run("complaint_add", code=code, text="Sekarang juga ada kabel menjuntai.")
    clock.advance(days=2)
    st = sign_in_again(run)   # a session lasts a working day
    out = run("complaint_reply", complaint=cid, text="Sudah diperbaiki oleh petugas PLN hari ini.", final=True,
              **st["kasi"])
    assert out["status"] == "selesai" and out["sms"] == 1
    db = sqlite3.connect(tmp_path / "a.db")
    sms = db.execute("SELECT kind, phone, body FROM outbox").fetchall()
    db.close()
    assert len(sms) == 1 and sms[0][:2] == ("complaint_answered", "081234567890") and format_complaint_code(code) in sms[0][2]
    pub = run("complaint_status", code=code)
    assert [m["from"] for m in pub["thread"]] == ["warga", "petugas", "warga", "petugas", "petugas"]
    assert pub["can_rate"] and error("complaint_rate", code=code, rating=6) == "invalid_argument"
    run("complaint_rate", code=code, rating=4)
    assert audit_rows(tmp_path, "complaint.answer")[0][0] == "bu-kasi"

    # Not the village's business: the reason and where to go instead are what the resident reads.
    b = run("complaint_submit", category="pengaduan", topic="pelayanan", text="SIM saya hilang", anonymous=True)
    bid = next(i["id"] for i in run("complaint_list", **st["kasi"])["items"] if i["code"] == b["code"])
    assert error("complaint_set_status", complaint=bid, status="bukan_wewenang", reason="Urusan kepolisian",
                 **st["kasi"]) == "missing_argument"
    run("complaint_set_status", complaint=bid, status="bukan_wewenang", reason="Urusan kepolisian",
        refer_to="Satpas Polres Bandung, Jl. Bhayangkara 1", **st["kasi"])
    pub = run("complaint_status", code=b["code"])
    assert pub["status"] == "bukan_wewenang" and pub["refer_to"].startswith("Satpas") and not pub["can_add"]
    assert error("complaint_add", code=b["code"], text="halo") == "complaint_closed"


def test_merged_duplicates_follow_the_answer_but_never_see_each_other(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path)
    one = run("complaint_submit", category="pengaduan", topic="infrastruktur", text="Jembatan Cikoneng retak.",
              name="Budi Santoso", phone="081234567890")
    two = run("complaint_submit", category="pengaduan", topic="infrastruktur", text="Jembatan retak, rumah saya No. 7",
              anonymous=True)
    ids = {i["code"]: i["id"] for i in run("complaint_list", **st["kasi"])["items"]}
    assert error("complaint_merge", complaint=ids[two["code"]], into=ids[two["code"]], **st["kasi"]) == "invalid_merge"
    run("complaint_merge", complaint=ids[two["code"]], into=ids[one["code"]], **st["kasi"])
    assert [i["code"] for i in run("complaint_list", **st["kasi"])["items"]] == [one["code"]]
    assert error("complaint_merge", complaint=ids[one["code"]], into=ids[two["code"]], **st["kasi"]) == "invalid_merge"
    run("complaint_reply", complaint=ids[one["code"]], text="Perbaikan dijadwalkan pekan depan.", final=True,
        **st["kasi"])
    pub2 = run("complaint_status", code=two["code"])
    assert pub2["status"] == "selesai" and pub2["merged"]
    assert "Perbaikan dijadwalkan" in json.dumps(pub2) and "Cikoneng" not in json.dumps(pub2)
    pub1 = run("complaint_status", code=one["code"])
    assert "No. 7" not in json.dumps(pub1)
    assert run("complaint_get", complaint=ids[one["code"]], **st["kasi"])["duplicates"][0]["code"] == two["code"]


def test_overdue_on_the_office_calendar_and_the_monthly_summary(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path, '[office]\nholidays = ["2026-12-08", "2026-12-09"]\n')
    r = run("complaint_submit", category="informasi", topic="bansos", text="Kapan BLT cair?", anonymous=True)
    assert r["verify_due"] == "2026-12-14"   # Tue and Wed are holidays: Thu, Fri, Mon
    clock.advance(days=7)          # Monday 14th: due today, not late yet
    st = sign_in_again(run)
    assert not run("complaint_list", **st["kasi"])["items"][0]["overdue"]
    clock.advance(days=1)
    st = sign_in_again(run)
    item = run("complaint_list", **st["kasi"])["items"][0]
    assert item["verify_overdue"] and not item["answer_overdue"]
    assert run("complaint_list", **st["kasi"])["overdue"] == 1
    run("complaint_reply", complaint=item["id"], text="Pencairan tahap 4 tanggal 20.", final=True, **st["kasi"])
    s = run("complaint_summary", month="2026-12", **st["kasi"])
    assert s["total"] == 1 and s["per"]["topic"] == {"bansos": 1} and s["per"]["status"] == {"selesai": 1}
    assert s["answered_on_time"] == 1 and s["verified_on_time"] == 0 and s["median_days"] == 8.0
    assert s["rows"][0]["category"] == "informasi" and "text" not in s["rows"][0]
    assert error("complaint_summary", month="2026-13", **st["kasi"]) == "invalid_argument"
    assert run("complaint_summary", month="2026-11", **st["kasi"])["total"] == 0


def test_retention_wipes_contact_words_and_the_photo_file(tmp_path):
    folder = tmp_path / "complaint-photos"
    folder.mkdir()
    q, clock, run, error, st = rules_office(tmp_path, f'[complaints]\nphoto_dir = "{folder}"\n')
    photo = "ab" * 32 + ".jpg"
    (folder / photo).write_bytes(b"jpeg")
    (folder / ("cd" * 32 + ".jpg")).write_bytes(b"another resident's")
    r = run("complaint_submit", category="pengaduan", topic="pelayanan", text="Antrean lama", name="Budi Santoso",
            phone="081234567890", photo=photo)
    cid = run("complaint_list", **st["kasi"])["items"][0]["id"]
    run("complaint_reply", complaint=cid, text="Terima kasih, kami tambah loket.", final=True, **st["kasi"])
    rules = q.plugins["complaints"]
    with q.sessions() as s, s.begin():
        assert rules.purge(s, clock.now() + timedelta(days=731)) == 1
    db = sqlite3.connect(tmp_path / "a.db")
    assert db.execute("SELECT contact_name, contact_phone, text FROM complaints").fetchone() == (None, None, None)
    texts = [t for (t,) in db.execute("SELECT text FROM complaint_messages WHERE kind = 'resident'")]
    db.close()
    assert texts == [None]
    assert "kami tambah loket" in json.dumps(run("complaint_status", code=r["code"]))
    assert sorted(f.name for f in folder.iterdir()) == ["cd" * 32 + ".jpg"]   # only that complaint's photo went


def test_complaints_per_topic_in_the_report_tables_csv_and_pdf(tmp_path):
    import io

    from pypdf import PdfReader
    from sqlalchemy.orm import Session

    from antre.reports.pdf import render_pdf
    from antre.reports.stats import build_report
    from antre.reports.tables import build_tables, csv_text
    from antre.storage import open_readonly

    q, clock, run, error, st = rules_office(tmp_path)   # Monday 7 December 2026, 09.00
    cfg = q.cfg

    def submit(topic, **extra):
        code = run("complaint_submit", category="pengaduan", topic=topic, text="Laporan Budi No. 7",
                   name="Budi Santoso", phone="081234567890", **extra)["code"]
        return next(i["id"] for i in run("complaint_list", **st["kasi"])["items"] if i["code"] == code)

    run("issue_ticket", service="adminduk")
    a, b, c, d = submit("infrastruktur"), submit("infrastruktur"), submit("bansos"), submit("bansos")
    run("complaint_merge", complaint=b, into=a, **st["kasi"])
    clock.advance(hours=12)
    st = sign_in_again(run)
    run("complaint_reply", complaint=a, text="Sudah diperbaiki.", final=True, **st["kasi"])       # half a day
    run("complaint_set_status", complaint=c, status="bukan_wewenang", reason="Urusan dinas sosial",
        refer_to="Dinas Sosial Kabupaten", **st["kasi"])
    engine = open_readonly(f"sqlite:///{tmp_path}/a.db")
    try:
        with Session(engine) as s:
            report = build_report(s, date(2026, 12, 7), date(2026, 12, 7), tz=cfg.office.tz, office_name="Desa",
                                  complaint_topics=cfg.complaints.topics,
                                  now=datetime(2026, 12, 28, 8, tzinfo=timezone.utc))   # d is late by then
    finally:
        engine.dispose()
    assert list(report.complaints) == ["infrastruktur", "bansos"]             # the office's topic order
    inf, ban = report.complaints["infrastruktur"], report.complaints["bansos"]
    assert (inf.received, inf.answered, inf.on_time, inf.merged, inf.open) == (2, 1, 1, 1, 0)
    assert inf.median_days == 0.5
    assert (ban.received, ban.refused, ban.open, ban.late, ban.answered) == (2, 1, 1, 1, 0)
    table = next(t for t in build_tables(report) if t.name == "complaints")
    assert table.rows[0][:8] == ["infrastruktur", 2, 1, 1, 0, 0, 0, 1]
    assert table.total[:8] == ["Jumlah", 4, 1, 1, 1, 1, 1, 1]
    assert "days_median" in csv_text(table).splitlines()[0]
    pdf = render_pdf(report, place="Sukamaju", signed_on=date(2026, 12, 28))
    text = " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Pengaduan, aspirasi dan permintaan informasi per topik" in text
    assert "Budi" not in text and "No. 7" not in text and "0812" not in text
