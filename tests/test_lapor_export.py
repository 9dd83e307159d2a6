"""The LAPOR! re-entry export (antre/rules/complaint_export.py, web/lapor.py) checked against the format it is
built to (docs/complaints.md, "Re-entry into LAPOR!"): the ``addstream`` XML's element and attribute names and
order, UTF-8 with its declaration, the classification and status mapping, dates in the office's time zone,
anonymous reports without anyone's name or number, hostile text that stays text; the command is for a kasi
only, audited, and its reply never enters the request log; and the real console download over HTTP."""

from __future__ import annotations

import csv
import http.client
import io
import json
import sqlite3
import zipfile
from datetime import datetime, timezone
from xml.etree import ElementTree as ET

import pytest

from antre.rules.complaint_codes import format_complaint_code
from antre_web.lapor import ACTION, CLASSIFICATION, CSV_COLUMNS, addstream_xml, build_zip, split_name
from tests.support import free_port
from tests.test_letters import PASSWORD, rules_office, sign_in_staff
from tests.test_web import AddrClient, WebProcess, office_toml, start_noon_office

NASTY = 'Jalan rusak </isi><pelapor>x</pelapor> & "kutip" \x00\x07\x1b café ꦗꦮ 🙏 <script>alert(1)</script>'


def row(**over):
    base = {"code": "P123456789017", "created_at": "2026-12-31T23:30:00+07:00", "category": "pengaduan",
            "topic": "infrastruktur", "status": "diterima", "channel": "web", "anonymous": False,
            "name": "Siti Nur Aminah", "phone": "081234567890", "text": "Lampu jalan mati", "wiped": False,
            "merged_into": None, "answered_on": None}
    return base | over


def parse(xml: bytes) -> ET.Element:
    assert xml.startswith(b"<?xml version='1.0' encoding='utf-8'?>") or xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(xml)


def test_one_report_is_an_addstream_body():
    root = parse(addstream_xml(row(), "Jalan, jembatan, lampu, air"))
    assert root.tag == "lapor" and root.attrib == {"token": ""}
    assert [c.tag for c in root] == ["pelapor", "laporan"]
    who = root.find("pelapor")
    assert [c.tag for c in who] == ["email", "telpon", "namadepan", "namabelakang"]
    assert [c.text or "" for c in who] == ["", "081234567890", "Siti", "Nur Aminah"]
    report = root.find("laporan")
    assert report.attrib == {"rahasia": "1", "anonim": "0"} and [c.tag for c in report] == ["isi"]
    # No field for date, classification or topic: the first line of isi carries them (office date: 31/12).
    first, text = report.find("isi").text.split("\n", 1)
    assert first == "[P-1234-5678-9017 · 31/12/2026 · Pengaduan · Jalan, jembatan, lampu, air]"
    assert text == "Lampu jalan mati"


def test_anonymous_reports_name_no_one_and_hostile_text_stays_text():
    root = parse(addstream_xml(row(anonymous=True, name="Should Not Appear", phone="0899", text=NASTY), "Lainnya"))
    assert all((c.text or "") == "" for c in root.find("pelapor"))
    assert root.find("laporan").attrib == {"rahasia": "1", "anonim": "1"}
    isi = root.find("isi") if root.find("isi") is not None else root.find("laporan/isi")
    assert "</isi><pelapor>x</pelapor>" in isi.text and "<script>alert(1)</script>" in isi.text
    assert "café ꦗꦮ 🙏" in isi.text and "\x00" not in isi.text and "\x1b" not in isi.text
    assert len(root.findall(".//pelapor")) == 1


def test_mappings_cover_every_category_and_status():
    from antre.rules.complaint_codes import CATEGORIES, STATUSES
    assert set(CLASSIFICATION) == set(CATEGORIES)
    assert set(CLASSIFICATION.values()) == {"Pengaduan", "Aspirasi", "Permintaan Informasi"}
    assert set(ACTION) == set(STATUSES)
    assert set(ACTION.values()) <= {"Belum Terverifikasi", "Verifikasi", "Bukan Wewenang", "Arsipkan"}
    assert split_name("Budi") == ("Budi", "_") and split_name(None) == ("", "")


def read_zip(data: bytes) -> tuple[dict[str, bytes], list[dict[str, str]]]:
    zf = zipfile.ZipFile(io.BytesIO(data))
    files = {n: zf.read(n) for n in zf.namelist()}
    raw = files["daftar.csv"]
    assert raw.startswith("\ufeff".encode())
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    return files, table


def test_the_zip_lists_every_complaint_and_writes_only_what_can_be_re_entered():
    rows = [row(), row(code="P000000000002", category="aspirasi", status="bukan_wewenang", anonymous=True,
                   name=None, phone=None, answered_on="2027-01-04"),
            row(code="P000000000003", merged_into="P123456789017"), row(code="P000000000004", text=None, wiped=True)]
    files, table = read_zip(build_zip(rows, "2026-12", str.capitalize))
    assert sorted(n for n in files if n.startswith("laporan/")) == ["laporan/P000000000002.xml",
                                                                     "laporan/P123456789017.xml"]
    assert list(table[0]) == list(CSV_COLUMNS) and len(table) == 4
    assert table[1]["klasifikasi"] == "Aspirasi" and table[1]["tindak_lanjut"] == "Bukan Wewenang"
    assert table[1]["tanggal_jawab"] == "04/01/2027" and table[1]["anonim"] == "ya"
    assert table[2]["berkas"] == "" and table[2]["keterangan"].startswith("digabung ke P-1234-5678-9017")
    assert table[3]["berkas"] == "" and "dihapus" in table[3]["keterangan"]
    assert "BACA-SAYA.txt" in files


def test_the_command_is_for_a_kasi_audited_and_kept_out_of_the_request_log(tmp_path):
    q, clock, run, error, staff = rules_office(tmp_path)
    named = run("complaint_submit", category="informasi", topic="bansos", text=NASTY, name="Budi Santoso",
                phone="081298761234", channel="web")
    anon = run("complaint_submit", category="pengaduan", topic="pelayanan", text="Pungli di loket", anonymous=True,
               name="Rahasia Sekali", phone="081298769999", channel="web")
    month = clock.now().astimezone(q.tz).strftime("%Y-%m")
    assert error("complaint_export", month=month, session=staff["petugas"]["session"]) == "forbidden"
    assert error("complaint_export", month=month, session=staff["admin"]["session"]) == "forbidden"
    assert error("complaint_export", month="2026-13", session=staff["kasi"]["session"]) == "invalid_argument"
    # Hostile months: other scripts' digits (Python's \\d takes them), and years a date cannot hold.
    for hostile in ("\u0662\u0660\u0662\u0666-\u0661\u0662", "0000-01", "9999-12"):
        assert error("complaint_export", month=hostile, session=staff["kasi"]["session"]) == "invalid_argument"
    out = run("complaint_export", month=month, session=staff["kasi"]["session"], address="10.0.0.8")
    by_code = {r["code"]: r for r in out["rows"]}
    assert by_code[named["code"]]["name"] == "Budi Santoso" and by_code[named["code"]]["phone"] == "081298761234"
    assert by_code[anon["code"]]["name"] is None and by_code[anon["code"]]["phone"] is None
    assert "Rahasia" not in str(out) and "9999" not in str(out)
    with sqlite3.connect(tmp_path / "a.db") as db:
        audited = db.execute("select actor, action, device, detail from audit_log where action = 'complaint.export'"
                             ).fetchall()
        assert len(audited) == 1 and audited[0][:3] == ("bu-kasi", "complaint.export", "web 10.0.0.8")
        assert '"rows": 2' in audited[0][3] and "Budi" not in audited[0][3]
        logged = " ".join(r for (r,) in db.execute("select reply from requests"))
        assert "Budi Santoso" not in logged and "081298761234" not in logged


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-lapor")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(f'port = {port}\nhost = "127.0.0.1"'))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    web.wait_ready()
    office.web, office.port = web, port
    office.staff = sign_in_staff(office.client.ok)
    yield office
    web.stop()
    office.client.stop()
    office.service.stop()


def get_bytes(client: AddrClient, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30, source_address=(client.source, 0))
    try:
        conn.request("GET", path, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def sign_in(site, name: str, source: str) -> AddrClient:
    c = AddrClient(site.port, source)
    page = c.request("GET", "/staf")
    assert c.request("POST", "/staf/masuk", {"csrf": page.csrf(), "name": name, "password": PASSWORD}).status == 303
    return c


def test_the_kasi_downloads_the_month_from_the_console(site):
    c = site.client
    named = c.ok("complaint_submit", category="pengaduan", topic="infrastruktur", text="Jembatan retak",
                 name="Siti Aminah", phone="081234500011", channel="web")
    anon = c.ok("complaint_submit", category="aspirasi", topic="pelayanan", text="Tambah kursi tunggu",
                anonymous=True, channel="web")
    month = named["created_at"][:7]
    kasi = sign_in(site, "bu-kasi", "127.0.0.51")
    assert 'id="lapor"' in kasi.request("GET", f"/staf/pengaduan/ringkasan?bulan={month}").text
    status, headers, data = get_bytes(kasi, f"/staf/pengaduan/lapor?bulan={month}")
    assert status == 200 and headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"] == f'attachment; filename="lapor-{month}.zip"'
    files, table = read_zip(data)
    mine = parse(files[f"laporan/{named['code']}.xml"])
    assert mine.find("pelapor/namadepan").text == "Siti" and mine.find("pelapor/telpon").text == "081234500011"
    theirs = parse(files[f"laporan/{anon['code']}.xml"])
    assert theirs.find("laporan").get("anonim") == "1" and not theirs.find("pelapor/telpon").text
    assert {format_complaint_code(named["code"]), format_complaint_code(anon["code"])} <= {r["kode"] for r in table}
    # A hostile month is a plain 400, never a server error.
    for hostile in ("%D9%A2%D9%A0%D9%A2%D9%A6-%D9%A1%D9%A2", "0000-01", "9999-12", "2026-1%0d"):
        status, headers, body = get_bytes(kasi, f"/staf/pengaduan/lapor?bulan={hostile}")
        assert status == 400 and b"PK" not in body[:2], (hostile, status)
    # A petugas and an admin get no file; a stranger is sent to sign in.
    petugas = sign_in(site, "loket-satu", "127.0.0.52")
    assert get_bytes(petugas, f"/staf/pengaduan/lapor?bulan={month}")[0] == 403
    stranger = AddrClient(site.port, "127.0.0.53")
    status, headers, body = get_bytes(stranger, f"/staf/pengaduan/lapor?bulan={month}")
    assert status != 200 and b"PK" not in body[:2]


def test_a_full_month_passes_the_shipped_broker(tmp_path):
    """The shipped mosquitto.conf drops a client that sends a packet over 64 KiB (max_packet_size): a month of
    long complaints must still reach the kasi's download, and the service must stay connected."""
    from tests.test_security import start_secure_office

    office = start_secure_office(tmp_path)
    try:
        web = office.login("web-1")
        staff = sign_in_staff(web.ok)
        made = []
        for i in range(50):
            text = f"Laporan {i}: " + ("Jalan desa rusak parah dan berlubang di banyak tempat. " * 60)[:1900]
            made.append(web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                               text=text, name="Siti Aminah", phone=f"0812987{i:05d}")["code"])
        month = web.ok("complaint_status", code=made[0])["created_at"][:7]
        rows, after, pages = [], None, 0
        while True:   # as the website asks: page after page, each one MQTT message under the broker's limit
            extra = {"after": after} if after else {}
            reply = web.request("complaint_export", month=month, session=staff["kasi"]["session"], timeout=30, **extra)
            assert reply.ok, (reply.code, office.service.output()[-3000:])
            assert len(json.dumps(reply.result, ensure_ascii=False).encode()) < 60_000
            rows, after, pages = rows + reply.result["rows"], reply.result["next"], pages + 1
            if after is None:
                break
        assert pages > 1 and "lost the broker" not in office.service.output()
        assert {r["code"] for r in rows} == set(made) and all(len(r["text"]) > 1800 for r in rows)
        assert rows[7]["name"] == "Siti Aminah" and rows[7]["phone"] == "081298700007"
        files, table = read_zip(build_zip(rows, month, str))
        assert len(table) == 50 and all(f"laporan/{c}.xml" in files for c in made)
        # The service is still there for everyone else.
        assert web.ok("complaint_status", code=made[-1])["code"] == made[-1]
    finally:
        office.stop()


def test_a_month_in_several_pages_is_one_download(site):
    c = site.client
    made = [c.ok("complaint_submit", category="aspirasi", topic="pelayanan", channel="web",
                 text=f"Usul {i}: " + "Tambah kursi tunggu dan kipas angin di ruang pelayanan. " * 34,
                 name="Budi Santoso", phone=f"0813555{i:05d}")["code"] for i in range(30)]
    month = c.ok("complaint_status", code=made[0])["created_at"][:7]
    kasi = sign_in(site, "bu-kasi", "127.0.0.54")
    status, headers, data = get_bytes(kasi, f"/staf/pengaduan/lapor?bulan={month}")
    assert status == 200
    files, table = read_zip(data)
    assert all(f"laporan/{code}.xml" in files for code in made)
    assert {format_complaint_code(code) for code in made} <= {r["kode"] for r in table}
    assert len({r["kode"] for r in table}) == len(table)   # no complaint twice across pages
