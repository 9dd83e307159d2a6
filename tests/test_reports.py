"""Reports: statistics and IKM from a real SQLite file, every output format, and the CLI's errors.

The fixture office (Asia/Jakarta, UTC+7) has two business days of known tickets
and ratings; every expected number below is worked out by hand in the comments.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from antre.storage.models import Rating, Ticket, TicketEvent
from antre.reports import ReportError
from antre.reports.cli import ProgressBar, default_place, open_readonly
from antre.reports.ikm import ELEMENTS, classify, compute_ikm, compute_quick, round_half_up
from antre.reports.stats import build_report, percentile90
from antre.reports.tables import build_tables, csv_text, render_text, to_json_dict
from antre.storage import open_database

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
TZ = ZoneInfo("Asia/Jakarta")
DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 3)
SERVICES = {"adminduk": "Administrasi Kependudukan (KTP/KK)", "surat": "Surat Keterangan (domisili, usaha, nikah)",
            "umum": "Pengaduan dan Layanan Lainnya"}
COUNTERS = {"loket-1": "Loket 1", "loket-2": "Loket 2", "loket-3": "Loket 3"}


def utc(day: date, hh: int, mm: int) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=timezone.utc)


def add_ticket(session, day, number, service, issued, *, calls=(), end=None, state="waiting", transfer=None):
    """A ticket with its events, written as antre.rules.queue writes them. ``calls``: [(time, counter, service)],
    a call at the same counter and service as the one before being a re-call (which, as in the queue, does
    not move ``called_at``); ``end``: (time, kind); ``transfer``: (time, counter, new service), recorded on
    the event as the new service."""
    prefix, seq = number.split("-")
    recall = [bool(i) and calls[i - 1][1:] == c[1:] for i, c in enumerate(calls)]
    last_call = next((c[0] for c, r in zip(reversed(calls), reversed(recall)) if not r), None)
    final_service = transfer[2] if transfer else service
    t = Ticket(business_date=day, prefix=prefix, seq=int(seq), number=number, service_code=final_service,
               issued_service_code=service, priority=0, channel="kiosk", state=state,
               counter_id=calls[-1][1] if calls else None, issued_at=issued,
               first_called_at=calls[0][0] if calls else None, called_at=last_call,
               finished_at=end[0] if end else None, call_count=len(calls), transfer_count=1 if transfer else 0)
    session.add(t)
    session.flush()
    events = [TicketEvent(ticket_id=t.id, at=issued, kind="issued", from_state=None, to_state="waiting",
                          service_code=service)]
    for i, (at, counter, svc) in enumerate(calls):
        kind = "recalled" if recall[i] else "called"
        if transfer and at > transfer[0] and transfer[0] >= events[-1].at:
            events.append(TicketEvent(ticket_id=t.id, at=transfer[0], kind="transferred", from_state="called",
                                      to_state="waiting", counter_id=transfer[1], service_code=transfer[2]))
        events.append(TicketEvent(ticket_id=t.id, at=at, kind=kind, from_state="waiting", to_state="called",
                                  counter_id=counter, service_code=svc))
    if end:
        to = {"completed": "done", "skipped": "no_show", "expired": "expired"}[end[1]]
        events.append(TicketEvent(ticket_id=t.id, at=end[0], kind=end[1], from_state="called", to_state=to,
                                  counter_id=t.counter_id, service_code=final_service))
    session.add_all(events)
    return t


def add_rating(session, ticket, score, elements=None):
    values = dict(zip([f"u{k}" for k in range(1, 10)], elements or [None] * 9))
    session.add(Rating(ticket_id=ticket.id, business_date=ticket.business_date, service_code=ticket.service_code,
                       counter_id=ticket.counter_id, score=score, created_at=ticket.finished_at, **values))


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    engine, Session = open_database(url)
    with Session.begin() as s:
        # Day 1 (Monday 2 November 2026). Local time = UTC + 7.
        t1 = add_ticket(s, DAY1, "A-001", "adminduk", utc(DAY1, 1, 0),  # 08:00 local
                        calls=[(utc(DAY1, 1, 10), "loket-1", "adminduk")],
                        end=(utc(DAY1, 1, 25), "completed"), state="done")  # wait 10, service 15
        t2 = add_ticket(s, DAY1, "A-002", "adminduk", utc(DAY1, 1, 5),
                        calls=[(utc(DAY1, 1, 25), "loket-1", "adminduk"), (utc(DAY1, 1, 27), "loket-1", "adminduk")],
                        end=(utc(DAY1, 1, 37), "completed"), state="done")  # wait 20, service 12 (recall: same call)
        add_ticket(s, DAY1, "B-001", "surat", utc(DAY1, 1, 30),
                   calls=[(utc(DAY1, 1, 40), "loket-3", "surat")],
                   end=(utc(DAY1, 1, 45), "skipped"), state="no_show")  # wait 10
        t4 = add_ticket(s, DAY1, "B-002", "surat", utc(DAY1, 2, 0),  # 09:00 local
                        calls=[(utc(DAY1, 2, 30), "loket-2", "surat"), (utc(DAY1, 2, 50), "loket-3", "umum")],
                        transfer=(utc(DAY1, 2, 35), "loket-2", "umum"),
                        end=(utc(DAY1, 3, 10), "completed"), state="done")  # wait 30 (surat), service 20 (umum)
        add_ticket(s, DAY1, "C-001", "umum", utc(DAY1, 2, 10), end=(utc(DAY1, 8, 0), "expired"), state="expired")
        # Day 2.
        t6 = add_ticket(s, DAY2, "A-001", "adminduk", utc(DAY2, 2, 0),
                        calls=[(utc(DAY2, 2, 40), "loket-2", "adminduk")],
                        end=(utc(DAY2, 3, 0), "completed"), state="done")  # wait 40, service 20
        add_ticket(s, DAY2, "A-002", "adminduk", utc(DAY2, 2, 20))  # still waiting
        s.flush()
        add_rating(s, t1, 4, [4, 4, 3, 4, 4, 4, 4, 3, 4])
        add_rating(s, t2, 3, [3, 4, 3, 4, 3, 4, 4, 3, 3])
        add_rating(s, t4, 2, [3, 3, 2, 4, 3, 3, 4, 2, 3])
        add_rating(s, t6, 4)  # quick face rating only
    engine.dispose()
    return url


def make_report(url, start=DAY1, end=DAY2, progress=None):
    engine = open_readonly(url)
    from sqlalchemy.orm import Session
    with Session(engine) as session:
        report = build_report(session, start, end, tz=TZ, office_name="Kantor Desa Sukamaju",
                              service_names=SERVICES, counter_names=COUNTERS,
                              now=datetime(2026, 11, 4, 9, 0, tzinfo=TZ), progress=progress)
    engine.dispose()
    return report


def approx_min(value):
    return pytest.approx(value, abs=1e-9)


# --------------------------------------------------------------------------
# IKM arithmetic.
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value, letter", [
    ("100.00", "A"), ("88.31", "A"), ("88.30", "B"), ("76.61", "B"), ("76.60", "C"),
    ("65.00", "C"), ("64.99", "D"), ("25.00", "D"),
])
def test_category_bands(value, letter):
    assert classify(Decimal(value)).letter == letter


def test_category_labels():
    assert [classify(Decimal(v)).label for v in ("90", "80", "70", "50")] == \
        ["Sangat Baik", "Baik", "Kurang Baik", "Tidak Baik"]


def test_values_between_bands_are_rounded_half_up_first():
    assert round_half_up(Fraction(88305, 1000)) == Decimal("88.31")
    assert classify(Fraction(88305, 1000)).letter == "A"
    assert round_half_up(Fraction(883049999, 10000000)) == Decimal("88.30")
    assert classify(Fraction(883049999, 10000000)).letter == "B"
    assert classify(76.605).letter == "B"
    assert classify(Fraction(6499, 100)).letter == "D"
    with pytest.raises(ValueError):
        classify(Decimal("24.99"))


def surveys_with_total(n, total):
    """n complete surveys whose 9n scores add up to ``total`` (scores 1-4)."""
    scores = [1] * (9 * n)
    extra = total - 9 * n
    for i in range(len(scores)):
        step = min(3, extra)
        scores[i] += step
        extra -= step
    assert extra == 0 and sum(scores) == total
    return [scores[9 * k:9 * k + 9] for k in range(n)]


@pytest.mark.parametrize("n, total, index, letter", [
    (24, 763, "88.31", "A"),  # 25*763/216 = 88.3101...
    (19, 604, "88.30", "B"),  # 25*604/171 = 88.3040...
    (19, 524, "76.61", "B"),  # 25*524/171 = 76.6081... rounds up into B
    (26, 717, "76.60", "C"),  # 25*717/234 = 76.6025...
    (5, 117, "65.00", "C"),   # 25*117/45 = 65 exactly
    (38, 889, "64.99", "D"),  # 25*889/342 = 64.9853...
])
def test_ikm_at_band_boundaries(n, total, index, letter):
    result = compute_ikm(surveys_with_total(n, total))
    assert result.respondents == n
    assert result.exact == Fraction(25 * total, 9 * n)
    assert result.index == Decimal(index)
    assert result.category.letter == letter


def test_ikm_weight_is_exactly_one_ninth():
    # Eight elements at 4 and one at 1: mean NRR = 33/9, IKM = 91.666... -> 91.67.
    # With a 0.11 weight it would be 33 * 0.11 * 25 = 90.75.
    result = compute_ikm([[4, 4, 4, 4, 4, 4, 4, 4, 1]])
    assert result.index == Decimal("91.67")
    assert result.elements[8].converted == Decimal("25.00")
    assert result.weakest.code == "U9" and result.weakest.category.letter == "D"


def test_zero_respondents():
    result = compute_ikm([])
    assert (result.respondents, result.index, result.category, result.weakest) == (0, None, None, None)
    quick = compute_quick([])
    assert (quick.respondents, quick.index, quick.category) == (0, None, None)
    assert quick.counts == {4: 0, 3: 0, 2: 0, 1: 0}


def test_bad_scores_are_refused():
    with pytest.raises(ValueError):
        compute_ikm([[5, 4, 4, 4, 4, 4, 4, 4, 4]])
    with pytest.raises(ValueError):
        compute_ikm([[4, 4]])
    with pytest.raises(ValueError):
        compute_quick([0])


def test_percentile90_nearest_rank():
    assert percentile90([]) is None
    assert percentile90([7]) == 7
    assert percentile90([10, 20, 30, 40]) == 40  # ceil(3.6) = 4th
    assert percentile90(list(range(1, 11))) == 9  # ceil(9) = 9th
    assert percentile90(list(range(1, 12))) == 10  # ceil(9.9) = 10th


# --------------------------------------------------------------------------
# Statistics from the database.
# --------------------------------------------------------------------------

def test_totals_and_days(db):
    r = make_report(db)
    t = r.total
    assert (t.issued, t.served, t.no_show, t.transferred_out, t.expired, t.open) == (7, 4, 1, 1, 1, 1)
    # Waits 10, 20, 10, 30, 40 -> mean 22, P90 = 5th of 5 = 40. Service 15, 12, 20, 20 -> 16.75, P90 20.
    assert (t.wait.count, t.wait.mean, t.wait.p90) == (5, approx_min(22), approx_min(40))
    assert (t.service.count, t.service.mean, t.service.p90) == (4, approx_min(16.75), approx_min(20))
    d1, d2 = r.days[DAY1], r.days[DAY2]
    assert (d1.issued, d1.served, d1.no_show, d1.transferred_out, d1.expired, d1.open) == (5, 3, 1, 1, 1, 0)
    assert (d1.wait.mean, d1.wait.p90) == (approx_min(17.5), approx_min(30))  # 10, 20, 10, 30
    assert (d1.service.mean, d1.service.p90) == (approx_min(47 / 3), approx_min(20))  # 15, 12, 20
    assert (d2.issued, d2.served, d2.open, d2.wait.mean, d2.service.mean) == (2, 1, 1, approx_min(40), approx_min(20))
    assert list(r.days) == [DAY1, DAY2]


def test_per_service(db):
    r = make_report(db)
    assert list(r.services) == ["adminduk", "surat", "umum"]
    a, s, u = r.services["adminduk"], r.services["surat"], r.services["umum"]
    assert (a.issued, a.served, a.open, a.transferred_in, a.transferred_out) == (4, 3, 1, 0, 0)
    assert (a.wait.mean, a.wait.p90) == (approx_min(70 / 3), approx_min(40))  # 10, 20, 40
    assert (a.service.mean, a.service.p90) == (approx_min(47 / 3), approx_min(20))  # 15, 12, 20
    # B-002 waited 30 min in surat, was moved to umum and served there in 20 min.
    assert (s.issued, s.transferred_out, s.no_show, s.served) == (2, 1, 1, 0)
    assert (s.wait.mean, s.wait.p90, s.service.count) == (approx_min(20), approx_min(30), 0)
    assert (u.issued, u.transferred_in, u.served, u.expired, u.wait.count) == (1, 1, 1, 1, 0)
    assert u.service.mean == approx_min(20)
    for t in (a, s, u):  # every ticket ends somewhere
        assert t.issued + t.transferred_in - t.transferred_out == t.served + t.no_show + t.expired + t.open


def test_per_counter_and_hours(db):
    r = make_report(db)
    assert list(r.counters) == ["loket-1", "loket-2", "loket-3"]
    l1, l2, l3 = (r.counters[c] for c in COUNTERS)
    assert (l1.called, l1.served, l1.wait.mean, l1.wait.p90, l1.service.mean, l1.service.p90) == \
        (2, 2, approx_min(15), approx_min(20), approx_min(13.5), approx_min(15))  # service 15, 12
    assert (l2.called, l2.served, l2.transferred_out, l2.wait.mean, l2.service.mean) == \
        (2, 1, 1, approx_min(35), approx_min(20))
    assert (l3.called, l3.served, l3.no_show, l3.wait.mean, l3.service.mean) == \
        (2, 1, 1, approx_min(10), approx_min(20))
    # Local hours: 08:00, 08:05, 08:30 | 09:00, 09:10, 09:00, 09:20.
    assert r.hours[8] == 3 and r.hours[9] == 4 and sum(r.hours) == 7
    assert r.busiest_hours() == [9, 8]


def test_ikm_from_database(db):
    r = make_report(db)
    ikm = r.ikm
    assert ikm.respondents == 3
    # Element totals over the three surveys: 10, 11, 8, 12, 10, 11, 12, 8, 10 (sum 92).
    assert [e.total for e in ikm.elements] == [10, 11, 8, 12, 10, 11, 12, 8, 10]
    assert ikm.elements[0].nrr == Fraction(10, 3) and ikm.elements[0].converted == Decimal("83.33")
    assert ikm.elements[2].converted == Decimal("66.67") and ikm.elements[2].category.letter == "C"
    assert ikm.elements[3].converted == Decimal("100.00") and ikm.elements[3].category.letter == "A"
    assert [e.name for e in ikm.elements] == list(ELEMENTS)
    # IKM = (92/3) / 9 * 25 = 2300/27 = 85.185... -> 85.19, B Baik.
    assert ikm.exact == Fraction(2300, 27)
    assert ikm.index == Decimal("85.19") and ikm.category.label == "Baik"
    assert ikm.weakest.code == "U3"  # 8/3, tied with U8: the first one
    # Per service: adminduk 65/2 / 9 * 25 = 90.277... -> 90.28 A; umum 27 / 9 * 25 = 75 C.
    assert r.ikm_by_service["adminduk"].index == Decimal("90.28")
    assert r.ikm_by_service["umum"].index == Decimal("75.00")
    assert r.ikm_by_service["umum"].category.letter == "C"
    assert "surat" not in r.ikm_by_service


def test_quick_rating_is_separate_from_ikm(db):
    r = make_report(db)
    q = r.quick
    # Faces 4, 3, 2, 4: mean 13/4 -> 81.25 B. The fourth has no survey and is not in the IKM.
    assert (q.respondents, q.mean, q.index, q.category.letter) == (4, Fraction(13, 4), Decimal("81.25"), "B")
    assert q.counts == {4: 2, 3: 1, 2: 1, 1: 0}
    assert r.quick_by_service["adminduk"].index == Decimal("91.67")  # 4, 3, 4
    assert r.quick_by_service["umum"].index == Decimal("50.00")
    assert {k: v.index for k, v in r.quick_by_counter.items()} == \
        {"loket-1": Decimal("87.50"), "loket-2": Decimal("100.00"), "loket-3": Decimal("50.00")}


def test_period_without_surveys(db):
    r = make_report(db, DAY2, DAY2)  # one quick rating, no survey
    assert r.ikm.respondents == 0 and r.ikm.index is None
    assert r.quick.respondents == 1
    text = render_text(r)
    assert "belum ada responden survei" in text
    assert json.loads(json.dumps(to_json_dict(r)))["ikm"]["index"] is None


def test_empty_period_and_progress(db):
    calls = []
    r = make_report(db, date(2026, 10, 1), date(2026, 10, 31), progress=lambda *a: calls.append(a))
    assert r.is_empty
    assert len(calls) == 31 and calls[-1] == (31, 31, date(2026, 10, 31))
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    bar(5, 10, date(2026, 10, 5))
    bar.close()
    assert stream.getvalue() == "\rMembaca data [#####.....] 5/10 hari (2026-10-05)\r\033[K"


def test_transfer_recorded_with_old_service_on_event(tmp_path):
    """The transfer event may carry the service the ticket left; the next event shows where it went."""
    engine, Session = open_database(f"sqlite:///{tmp_path}/b.db")
    with Session.begin() as s:
        t = add_ticket(s, DAY1, "B-001", "surat", utc(DAY1, 1, 0),
                       calls=[(utc(DAY1, 1, 5), "loket-2", "surat"), (utc(DAY1, 1, 20), "loket-3", "umum")],
                       transfer=(utc(DAY1, 1, 10), "loket-2", "umum"), end=(utc(DAY1, 1, 30), "completed"),
                       state="done")
        s.flush()
        for ev in t.events:
            if ev.kind == "transferred":
                ev.service_code = "surat"
    engine.dispose()
    r = make_report(f"sqlite:///{tmp_path}/b.db", DAY1, DAY1)
    assert r.services["surat"].transferred_out == 1 and r.services["umum"].transferred_in == 1
    assert r.services["umum"].served == 1


def test_report_does_not_touch_a_database_without_antre_tables(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE something (x)")
    with pytest.raises(ReportError, match="tidak berisi data Antre"):
        open_readonly(f"sqlite:///{path}")
    with sqlite3.connect(path) as con:
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["something"]
    with pytest.raises(ReportError, match="tidak ada"):
        open_readonly(f"sqlite:///{tmp_path}/missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_default_place():
    assert default_place("Kantor Desa Sukamaju") == "Sukamaju"
    assert default_place("Kantor Kelurahan Cibiru Wetan") == "Cibiru Wetan"
    assert default_place("Balai Desa") == "Balai Desa"


# --------------------------------------------------------------------------
# Formats, through the CLI.
# --------------------------------------------------------------------------

def antre(*args, cwd=None):
    return subprocess.run([PYTHON, "-m", "antre", "report", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=240)


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "antre.toml"
    path.write_text("[office]\nname = \"Kantor Desa Sukamaju\"\ntimezone = \"Asia/Jakarta\"\n")
    return str(path)


def test_cli_text(db, conf):
    res = antre("--from", "2026-11-02", "--to", "2026-11-03", "--db-url", db, "--config", conf)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Kantor Desa Sukamaju" in out and "2 November 2026 s.d. 3 November 2026" in out
    assert "IKM 85,19: mutu B (Baik), 3 responden; unsur terendah U3 Waktu Penyelesaian" in out
    assert "02-11-2026" in out and "Membaca data" not in res.stderr
    day_line = next(line for line in out.splitlines() if line.startswith("02-11-2026"))
    assert day_line.split() == ["02-11-2026", "5", "3", "1", "1", "1", "0", "17,5", "30,0", "15,7", "20,0"]


def test_cli_json(db, conf, tmp_path):
    out = tmp_path / "r.json"
    res = antre("--from", "2026-11-02", "--to", "2026-11-03", "--db-url", db, "--config", conf,
                "--format", "json", "--out", str(out))
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["format"] == "antre-report/1"
    assert data["period"] == {"from": "2026-11-02", "to": "2026-11-03", "days": 2}
    assert data["totals"]["issued"] == 7 and data["totals"]["wait_minutes"] == {"count": 5, "mean": 22.0, "p90": 40.0}
    assert data["ikm"]["index"] == 85.19 and data["ikm"]["index_fraction"] == "2300/27"
    assert data["ikm"]["category"]["letter"] == "B" and data["ikm"]["weakest_element"] == "U3"
    assert data["ikm"]["elements"][2]["nrr_fraction"] == "8/3"
    assert data["quick_rating"]["index"] == 81.25
    assert [d["date"] for d in data["days"]] == ["2026-11-02", "2026-11-03"]
    assert data["busiest_hours"] == [9, 8] and data["hours"][9] == {"hour": 9, "issued": 4}
    # And to standard output.
    res = antre("--from", "2026-11-03", "--db-url", db, "--config", conf, "--format", "json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["totals"]["issued"] == 2


def test_cli_csv(db, conf, tmp_path):
    folder = tmp_path / "csv"
    res = antre("--from", "2026-11-01", "--to", "2026-11-03", "--db-url", db, "--config", conf,
                "--format", "csv", "--out", str(folder))
    assert res.returncode == 0, res.stderr

    def read(name):
        with open(folder / f"{name}.csv", newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    days = read("days")
    assert [d["date"] for d in days] == ["2026-11-01", "2026-11-02", "2026-11-03"]  # every day, even empty ones
    assert days[1]["issued"] == "5" and float(days[1]["wait_mean_min"]) == 17.5 and days[0]["wait_mean_min"] == ""
    services = {r["service"]: r for r in read("services")}
    assert services["surat"]["transferred_out"] == "1" and services["umum"]["transferred_in"] == "1"
    elements = read("ikm_elements")
    assert [e["element"] for e in elements] == [f"U{k}" for k in range(1, 10)]
    assert elements[2]["converted"] == "66.67" and elements[2]["category"] == "C"
    summary = read("ikm_summary")
    assert summary[0]["scope"] == "all" and summary[0]["ikm"] == "85.19" and summary[0]["respondents"] == "3"
    assert read("quick_summary")[0]["index"] == "81.25"
    assert len(read("hours")) == 24 and read("summary")[0]["issued"] == "7"
    counters = {r["counter"]: r for r in read("counters")}
    assert counters["loket-2"]["transferred"] == "1"


def test_csv_table_round_trip(db):
    tables = {t.name: t for t in build_tables(make_report(db), compact=False)}
    rows = list(csv.reader(io.StringIO(csv_text(tables["quick_counters"]))))
    assert rows[0] == ["key", "name", "respondents", "score_4", "score_3", "score_2", "score_1", "index", "category"]
    assert rows[1][:3] == ["loket-1", "Loket 1", "2"] and rows[1][7] == "87.50"


def test_cli_png(db, conf, tmp_path):
    folder = tmp_path / "png"
    res = antre("--from", "2026-11-02", "--to", "2026-11-03", "--db-url", db, "--config", conf,
                "--format", "png", "--out", str(folder))
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["ikm-per-unsur.png", "tiket-per-hari.png", "waktu-tunggu-per-layanan.png"]
    for p in folder.iterdir():
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_cli_pdf(db, conf, tmp_path):
    out = tmp_path / "laporan.pdf"
    res = antre("--from", "2026-11-02", "--to", "2026-11-03", "--db-url", db, "--config", conf,
                "--format", "pdf", "--out", str(out), "--signer", "Siti Rahmawati, S.Sos.")
    assert res.returncode == 0, res.stderr
    reader = PdfReader(out)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("KANTOR DESA SUKAMAJU", "LAPORAN PELAYANAN DAN INDEKS KEPUASAN MASYARAKAT",
                     "Periode: 2 November 2026 s.d. 3 November 2026", "Kepala Seksi Pelayanan",
                     "Siti Rahmawati, S.Sos.", "Sukamaju, ", "85,19", "Waktu Penyelesaian",
                     "Penanganan Pengaduan, Saran dan Masukan", "Statistik per layanan", "Loket 3"):
        assert expected in text, expected
    assert len(reader.pages) >= 2
    images = sum(len(page.images) for page in reader.pages)
    assert images == 3


def test_cli_pdf_without_surveys(db, conf, tmp_path):
    out = tmp_path / "l.pdf"
    res = antre("--from", "2026-11-03", "--db-url", db, "--config", conf, "--format", "pdf", "--out", str(out))
    assert res.returncode == 0, res.stderr
    text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "IKM belum dapat dihitung" in text and "Kepala Seksi Pelayanan" in text


# --------------------------------------------------------------------------
# Errors: a clear message and exit code 2, never a traceback.
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--from", "2026-13-01"], "bukan tanggal yang valid"),
    (["--from", "2026-11-02", "--to", "kemarin"], "bukan tanggal yang valid"),
    (["--from", "2026-11-03", "--to", "2026-11-02"], "sesudah --to"),
    (["--from", "2026-10-01", "--to", "2026-10-31"], "tidak ada tiket atau penilaian"),
])
def test_cli_errors(db, conf, args, message):
    res = antre(*args, "--db-url", db, "--config", conf)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    if "tidak ada tiket" in message:
        assert "2026-11-02 s.d. 2026-11-03" in res.stderr  # says where the data is


def test_cli_unreachable_databases(tmp_path, conf):
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    notdb = tmp_path / "junk.db"
    notdb.write_bytes(b"this is not a database" * 100)
    cases = [
        (f"sqlite:///{tmp_path}/nope.db", "tidak ada"),
        (f"sqlite:///{tmp_path}/no/such/folder/a.db", "tidak ada"),
        (f"sqlite:///{other}", "tidak berisi data Antre"),
        (f"sqlite:///{notdb}", "tidak dapat dibuka"),
        ("postgresql+psycopg://antre@127.0.0.1:1/antre", "tidak dapat dibuka"),
        ("not a url", "bukan URL database"),
    ]
    for url, message in cases:
        res = antre("--from", "2026-11-02", "--db-url", url, "--config", conf)
        assert res.returncode == 2, (url, res.stderr)
        assert message in res.stderr and "Traceback" not in res.stderr, (url, res.stderr)
    assert not (tmp_path / "nope.db").exists()


def test_report_reads_what_the_queue_writes(tmp_path):
    """End to end with the real QueueService: issue, call, transfer, complete and rate, then report."""
    from antre import config
    from antre.clock import ManualClock
    from antre.rules.queue import QueueService

    url = f"sqlite:///{tmp_path}/q.db"
    engine, Session = open_database(url)
    clock = ManualClock(utc(DAY1, 1, 0))  # Monday 08:00 local
    queue = QueueService(config.load_defaults(), Session, clock)
    steps = [
        (0, "issue_ticket", {"service": "adminduk"}),   # A-001 at 08:00
        (5, "issue_ticket", {"service": "surat"}),      # B-001 at 08:05
        (5, "call_next", {"counter": "loket-1"}),       # A-001 at 08:10: waited 10
        (5, "call_next", {"counter": "loket-3"}),       # B-001 at 08:15: waited 10
        (1, "transfer", {"counter": "loket-3", "service": "umum"}),
        (4, "complete", {"counter": "loket-1"}),        # A-001 at 08:20: served 10
        (5, "call_next", {"counter": "loket-3"}),       # B-001 again at 08:25, now in umum
        (8, "complete", {"counter": "loket-3"}),        # 08:33: served 8
        (1, "rate", {"ticket": "A-001", "score": 4, "elements": [4] * 9}),
        (0, "rate", {"ticket": "B-001", "score": 3, "elements": [3] * 9}),
    ]
    for i, (minutes, command, args) in enumerate(steps):
        clock.advance(minutes=minutes)
        queue.execute(command, f"r{i}", args)
    engine.dispose()

    r = make_report(url, DAY1, DAY1)
    t = r.total
    assert (t.issued, t.served, t.transferred_out, t.no_show, t.open) == (2, 2, 1, 0, 0)
    assert (t.wait.mean, t.service.mean) == (approx_min(10), approx_min(9))
    assert (r.services["surat"].transferred_out, r.services["surat"].wait.mean) == (1, approx_min(10))
    assert (r.services["umum"].transferred_in, r.services["umum"].served) == (1, 1)
    assert r.services["umum"].service.mean == approx_min(8)
    l3 = r.counters["loket-3"]
    assert (l3.called, l3.served, l3.transferred_out) == (1, 1, 1)
    # NRR 3.5 on every element: IKM 87.50 (B); faces 4 and 3: 87.50 too, counted apart.
    assert (r.ikm.respondents, r.ikm.index, r.ikm.category.letter) == (2, Decimal("87.50"), "B")
    assert r.quick_by_counter["loket-1"].index == Decimal("100.00")
