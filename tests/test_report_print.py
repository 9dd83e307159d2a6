"""The report as the office prints and opens it (issue 16): no heading left alone at the bottom of a page,
the signer from the configuration, every IKM with its respondents and a mark when the sample is too small,
times written 08.30, and CSV files that open right in a spreadsheet set to Indonesian.

A real SQLite file written as the queue writes it (the helpers of test_reports), the real PDF (read back
with pypdf, drawn with pdftoppm) and the CLI as a subprocess."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from antre.reports.ikm import minimum_sample
from antre.reports.pdf import Signer, render_pdf
from antre.reports.tables import SPREADSHEET_ID, build_tables, render_text, write_csv_dir
from antre.storage import open_database
from tests.test_reports import add_rating, add_ticket, antre, make_report, utc

HEADINGS = ("1. Ringkasan", "2. Statistik pelayanan", "3. Indeks Kepuasan Masyarakat", "4. Penilaian cepat",
            "Statistik per hari", "Statistik per layanan", "Statistik per loket", "Jam tersibuk",
            "IKM per unsur pelayanan", "Indeks Kepuasan Masyarakat (IKM)", "Penilaian cepat (wajah) per")
FIRST = date(2026, 11, 2)


def office_db(path: Path, days: int, *, surveys_per_day: int = 1, services=("adminduk", "surat", "umum")) -> str:
    """``days`` business days from 2 November 2026, each with a few tickets and ratings."""
    url = f"sqlite:///{path}"
    engine, Session = open_database(url)
    with Session.begin() as s:
        for i in range(days):
            day = FIRST + timedelta(days=i)
            for k, service in enumerate(services):
                prefix = "ABC"[k]
                t = add_ticket(s, day, f"{prefix}-001", service, utc(day, 1 + k, 0),
                               calls=[(utc(day, 1 + k, 10), f"loket-{k + 1}", service)],
                               end=(utc(day, 1 + k, 25), "completed"), state="done")
                s.flush()
                if k < surveys_per_day:
                    add_rating(s, t, 3, [3, 4, 3, 4, 3, 4, 4, 3, 3])
                else:
                    add_rating(s, t, 4)
    engine.dispose()
    return url


def page_ends(pdf: Path) -> list[str]:
    """The last line of each page's body (the footer, drawn last, left out)."""
    out = []
    for page in PdfReader(pdf).pages:
        lines = [line.strip() for line in page.extract_text().splitlines() if line.strip()]
        body = [line for line in lines if "| dibuat " not in line and not re.match(r"Halaman \d+ dari", line)]
        out.append(body[-1] if body else "")
    return out


def test_no_heading_is_left_alone_at_the_bottom_of_a_page(tmp_path):
    """Periods of 1 to 27 days move every heading down the pages a few millimetres at a time; at no length
    does a page end with a section heading or a table's title."""
    checked = 0
    for days in range(1, 28, 2):
        url = office_db(tmp_path / f"{days}.db", days)
        report = make_report(url, FIRST, FIRST + timedelta(days=days - 1))
        out = tmp_path / f"{days}.pdf"
        out.write_bytes(render_pdf(report, place="Sukamaju", signed_on=date(2026, 12, 1)))
        for n, last in enumerate(page_ends(out), start=1):
            assert not any(last.startswith(h) for h in HEADINGS), f"{days} days: page {n} ends with {last!r}"
            checked += 1
    assert checked >= 30


def test_the_signer_comes_from_the_configuration(tmp_path):
    url = office_db(tmp_path / "a.db", 2)
    conf = tmp_path / "antre.toml"
    conf.write_text('[office]\nname = "Kantor Desa Sukamaju"\ntimezone = "Asia/Jakarta"\n'
                    '[report]\nsigner_name = "Hj. Siti Rahmawati, S.Sos."\nsigner_title = "Kepala Desa Sukamaju"\n'
                    'signer_nip = "19750317 200003 2 004"\nplace = "Cibiru"\n')
    out = tmp_path / "signed.pdf"
    res = antre("--from", "2026-11-02", "--to", "2026-11-03", "--db-url", url, "--config", str(conf),
                "--format", "pdf", "--out", str(out))
    assert res.returncode == 0, res.stderr
    last = PdfReader(out).pages[-1].extract_text()
    for expected in ("Cibiru, ", "Kepala Desa Sukamaju", "Hj. Siti Rahmawati, S.Sos.", "NIP. 19750317 200003 2 004"):
        assert expected in last, expected
    assert "Kepala Seksi Pelayanan" not in last and "NIP. ...." not in last
    # The command line wins over the file; a signer without a number gets no number line.
    conf.write_text('[report]\nsigner_title = "Lurah"\n')
    res = antre("--from", "2026-11-02", "--db-url", url, "--config", str(conf), "--format", "pdf",
                "--out", str(out), "--signer", "Budi Santoso")
    assert res.returncode == 0, res.stderr
    last = PdfReader(out).pages[-1].extract_text()
    assert "Lurah" in last and "Budi Santoso" in last and "NIP" not in last
    # In process: the same from a Signer.
    report = make_report(url)
    pdf = render_pdf(report, place="Sukamaju", signed_on=date(2026, 12, 1),
                     signer=Signer(name="Ani", title="Sekretaris Desa", nip="123", nip_label="NIPD"))
    (tmp_path / "s.pdf").write_bytes(pdf)
    assert "NIPD. 123" in PdfReader(tmp_path / "s.pdf").pages[-1].extract_text()


def test_every_ikm_shows_its_respondents_and_a_small_sample_is_marked(tmp_path):
    # Krejcie and Morgan's published table, which the regulation's sampling guidance uses.
    assert [minimum_sample(n) for n in (5, 30, 75, 150, 300, 1500)] == [5, 28, 63, 108, 169, 306]
    # 20 days, three services: 20 served each; adminduk answered the survey every day (20 of 20),
    # surat once (1 of 20): surat's IKM is marked, adminduk's is not.
    url = office_db(tmp_path / "a.db", 20, surveys_per_day=1)
    with open_database(url)[1].begin() as s:
        from antre.storage.models import Rating
        r = s.query(Rating).filter(Rating.service_code == "surat").first()
        for k, v in enumerate([2, 2, 2, 2, 2, 2, 2, 2, 2], start=1):
            setattr(r, f"u{k}", v)
    report = make_report(url, FIRST, FIRST + timedelta(days=19))
    table = next(t for t in build_tables(report) if t.name == "ikm_summary")
    rows = {r[0]: dict(zip([c.key for c in table.columns], r)) for r in table.rows}
    assert (rows["adminduk"]["respondents"], rows["adminduk"]["served"], rows["adminduk"]["min_sample"],
            rows["adminduk"]["sample_note"]) == (20, 20, 19, "")
    assert (rows["surat"]["respondents"], rows["surat"]["served"], rows["surat"]["min_sample"],
            rows["surat"]["sample_note"]) == (1, 20, 19, "sampel kurang")
    assert rows["surat"]["category"] == "D"               # shown, but marked: one person is not the office
    assert rows["-"]["respondents"] == 21 and rows["-"]["served"] == 60 and rows["-"]["sample_note"] == "sampel kurang"
    text = render_text(report)
    assert "Sampel kurang: 21 responden dari 60 warga yang dilayani, minimal 52" in text
    out = tmp_path / "ikm.pdf"
    out.write_bytes(render_pdf(report, place="Sukamaju", signed_on=date(2026, 12, 1)))
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert "sampel kurang" in pdf_text and "Sampel minimal" in pdf_text and "Krejcie" in pdf_text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(out), str(tmp_path / "page")], check=True, timeout=120)
        assert len(list(tmp_path.glob("page-*.png"))) == len(PdfReader(out).pages)


def test_times_in_the_report_are_written_with_a_period(tmp_path):
    url = office_db(tmp_path / "a.db", 2)
    report = make_report(url)
    text = render_text(report)
    assert "08.00–08.59" in text and "08:00" not in text
    hours = next(t for t in build_tables(report) if t.name == "hours")
    assert all(re.fullmatch(r"\d\d\.00–\d\d\.59", r[0]) for r in hours.rows)
    out = tmp_path / "t.pdf"
    out.write_bytes(render_pdf(report, place="Sukamaju", signed_on=date(2026, 12, 1)))
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(out).pages)
    assert not re.search(r"\b\d\d:\d\d\b", pdf_text), re.findall(r"\b\d\d:\d\d\b", pdf_text)
    assert re.search(r"\| dibuat 4 November 2026 09\.00", pdf_text)


def test_csv_for_a_spreadsheet_set_to_indonesian(tmp_path):
    url = office_db(tmp_path / "a.db", 2)
    report = make_report(url)
    paths = {p.stem: p for p in write_csv_dir(report, tmp_path / "id", SPREADSHEET_ID)}
    raw = paths["ikm_elements"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw          # UTF-8 with BOM, CRLF
    # Read back as a spreadsheet set to Indonesian reads it: ';' between fields, ',' as the decimal mark.
    with paths["ikm_elements"].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == ["Unsur", "Nama unsur", "Jumlah nilai", "NRR", "NRR tertimbang", "NRR x 25", "Mutu", "Kinerja"]
    u3 = next(r for r in rows if r[0] == "U3")
    assert u3[1] == "Waktu Penyelesaian"
    assert Decimal(u3[3].replace(",", ".")) == Decimal("3.000000") and "." not in u3[3]
    with paths["days"].open(encoding="utf-8-sig", newline="") as fh:
        days = list(csv.DictReader(fh, delimiter=";"))
    assert list(days[0])[:3] == ["Tanggal", "Tiket", "Dilayani"] and "Tunggu (menit)" in days[0]
    assert days[0]["Tanggal"] == "2026-11-02" and days[0]["Tiket"] == "3"
    assert days[0]["Tunggu (menit)"] == "10,0000"
    with paths["summary"].open(encoding="utf-8-sig", newline="") as fh:
        summary = next(csv.DictReader(fh, delimiter=";"))
    assert summary["Dari"] == "2026-11-02" and summary["Dilayani"] == "6"
    # The machine form is unchanged: English keys, ',' and a decimal point, no BOM.
    res = antre("--from", "2026-11-02", "--to", "2026-11-03", "--db-url", url, "--format", "csv",
                "--out", str(tmp_path / "m"))
    assert res.returncode == 0, res.stderr
    machine = (tmp_path / "m" / "days.csv").read_bytes()
    assert machine.startswith(b"date,issued,served") and b"10.0000" in machine
    res = antre("--from", "2026-11-02", "--to", "2026-11-03", "--db-url", url, "--format", "csv-id",
                "--out", str(tmp_path / "c"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "c" / "days.csv").read_bytes() == paths["days"].read_bytes()
