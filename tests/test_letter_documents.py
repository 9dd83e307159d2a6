"""Letters as PDF (WeasyPrint): the letterhead, number, Indonesian date, signer, the QR code read back from
the rendered page (pdftoppm, then zbar) and pointing at the verification page; paper sizes; the office's
own templates; what a resident typed stays text; the register as PDF and CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import uuid
from datetime import date, datetime, timezone

import pytest

pytest.importorskip("weasyprint")
pyzbar = pytest.importorskip("pyzbar.pyzbar")
from PIL import Image  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from antre import config  # noqa: E402
from antre.clock import ManualClock  # noqa: E402
from antre.documents.letter import TemplateError, render_letter_html, render_letter_pdf, verify_url  # noqa: E402
from antre.documents.register import register_csv, register_pdf  # noqa: E402
from antre.rules.queue import QueueService  # noqa: E402
from antre.service.server import PLUGINS  # noqa: E402
from antre.storage import open_database  # noqa: E402
from tests.test_letters import sign_in_staff  # noqa: E402

MM = 72 / 25.4
FIELDS = {"nama": "Siti Aminah", "nik": "3204055403900001", "tempat_lahir": "Bandung", "tanggal_lahir": "1990-03-14",
          "jenis_kelamin": "Perempuan", "alamat": "RT 02 RW 05 Dusun Cikoneng",
          "keperluan": "melamar kerja <img src=http://example.com/x.png> & co"}


def make_letter(tmp_path, cfg, *, sign=True):
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    q = QueueService(cfg, sessions, clock=ManualClock(datetime(2026, 12, 7, 2, tzinfo=timezone.utc)), plugins=PLUGINS)

    def run(c, **a):
        return q.execute(c, uuid.uuid4().hex, a).result
    st = sign_in_staff(run)
    k = st["kasi"]
    run("letter_request", type="domisili", channel="web", fields=FIELDS)
    rid = run("letter_list", **k)["items"][0]["id"]
    run("letter_assign_number", request=rid, **k)
    hand = run("letter_reserve_number", classification="045", subject="Undangan musdes", recipient="Ketua BPD", **k)
    if sign:
        run("letter_set_status", request=rid, status="menunggu_ttd", **k)
        run("letter_set_status", request=rid, status="siap_diambil", **st["penandatangan"])
    return run("letter_get", request=rid, **k), run("letter_register", year=2026, **k)["rows"], hand


def page_png(pdf: bytes, tmp_path, dpi: int = 110) -> Image.Image:
    src = tmp_path / f"{uuid.uuid4().hex}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(src), str(src.with_suffix(""))], check=True)
    return Image.open(src.with_suffix(".png"))


def pdf_text(pdf: bytes) -> str:
    return " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages)


def test_a_signed_letter_with_letterhead_number_date_signer_and_a_qr_that_verifies(tmp_path):
    cfg = config.from_dict({"web": {"public_url": "https://sukamaju.desa.id"},
                            "letters": {"signers": [{"id": "kades", "name": "Asep Sunandar", "title": "Kepala Desa Sukamaju",
                                                     "nip": "19700101 199003 1 005"}]}})
    letter, _, _ = make_letter(tmp_path, cfg)
    url = verify_url(cfg, letter["verify_token"])
    assert url == f"https://sukamaju.desa.id/surat/cek/{letter['verify_token']}"
    pdf = render_letter_pdf(cfg, letter, verify=url, today=date(2026, 12, 9))
    text = " ".join(pdf_text(pdf).split())
    for words in ("PEMERINTAH KABUPATEN BANDUNG", "KECAMATAN CIBIRU", "DESA SUKAMAJU", "Jl. Raya Sukamaju No. 1",
                  "SURAT KETERANGAN DOMISILI", "Nomor: 474.4/001/2001/XII/2026", "Siti Aminah", "3204055403900001",
                  "14 Maret 1990", "Sukamaju, 7 Desember 2026",   # the day it was signed, not the day printed
                  "ASEP SUNANDAR", "NIP. 19700101 199003 1 005", "berlaku sampai dengan tanggal 5 Juni 2027",
                  "<img src=http://example.com/x.png> & co"):   # what the resident typed is text, not markup
        assert words in text, words
    assert "DRAF" not in text
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert round(float(page.mediabox.width) / MM) == 215 and round(float(page.mediabox.height) / MM) == 330  # F4
    codes = pyzbar.decode(page_png(pdf, tmp_path))
    assert [c.data.decode() for c in codes] == [url]


def test_a4_a_draft_and_the_offices_own_template(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "surat.html").write_text("<html><head><style>@page { size: {{ paper }}; } {{ css | safe }}</style></head>"
                                       "<body><h1>{{ title }}</h1><p>{{ letters.desa }} {{ number }}</p>"
                                       "{% if draft %}<p>DRAF</p>{% endif %}<p>{{ values.keperluan }}</p></body></html>")
    cfg = config.from_dict({"letters": {"paper": "A4", "templates": str(folder)}})
    letter, _, _ = make_letter(tmp_path, cfg, sign=False)
    pdf = render_letter_pdf(cfg, letter, verify=verify_url(cfg, letter["verify_token"]), today=date(2026, 12, 7))
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert round(float(page.mediabox.width) / MM) == 210 and round(float(page.mediabox.height) / MM) == 297
    text = pdf_text(pdf)
    assert "Desa Sukamaju 474.4/001/2001/XII/2026" in text and "DRAF" in text and "& co" in text
    html = render_letter_html(cfg, letter, verify="x", today=date(2026, 12, 7))
    assert "&lt;img src=http://example.com/x.png&gt; &amp; co" in html
    (folder / "surat.html").write_text("{{ office.__class__.__mro__ }}")   # the sandbox refuses
    with pytest.raises(TemplateError):
        render_letter_html(cfg, letter, verify="x", today=date(2026, 12, 7))
    (folder / "surat.html").write_text("{% if %}")
    with pytest.raises(TemplateError, match="surat.html"):
        render_letter_html(cfg, letter, verify="x", today=date(2026, 12, 7))


def test_the_register_as_csv_and_pdf(tmp_path):
    cfg = config.load_defaults()
    _, rows, hand = make_letter(tmp_path, cfg)
    table = list(csv.reader(io.StringIO(register_csv(rows).lstrip("\ufeff"))))
    assert table[0] == ["No", "Nomor Surat", "Tanggal", "Kode", "Perihal", "Atas Nama", "Keterangan", "Petugas"]
    assert table[1] == ["1", "474.4/001/2001/XII/2026", "07-12-2026", "474.4", "Surat Keterangan Domisili",
                        "S*** A*****", "Siap diambil", "bu-kasi"]
    assert table[2][1] == hand["number"] == "045/001/2001/XII/2026" and table[2][6] == "Diketik manual"
    pdf = register_pdf(cfg, 2026, rows, today=date(2026, 12, 7))
    text = " ".join(pdf_text(pdf).split())
    assert "BUKU AGENDA SURAT KELUAR TAHUN 2026" in text and "474.4/001/2001/XII/2026" in text
    assert "S*** A*****" in text and "Siti" not in text and "Jumlah: 2 nomor surat (1 diketik manual)" in text
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)   # A4 landscape
