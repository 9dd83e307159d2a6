"""The month's complaints as files to re-enter into SP4N-LAPOR! (docs/complaints.md, "Re-entry into LAPOR!").

One zip (``lapor-YYYY-MM.zip``):

- ``laporan/<code>.xml``: one report per complaint, each the body of one request to LAPOR!'s report intake
  ``POST https://www.lapor.go.id/api/stream/addstream`` (``Content-Type: text/xml; charset=UTF-8``)::

      <?xml version="1.0" encoding="UTF-8"?>
      <lapor token="">
        <pelapor><email/><telpon>0812...</telpon><namadepan>Siti</namadepan><namabelakang>Aminah</namabelakang></pelapor>
        <laporan rahasia="1" anonim="0"><isi>...</isi></laporan>
      </lapor>

  ``token`` is left empty: it is the office's access token from the LAPOR! team, typed in by whoever sends
  the files (Antre never holds it). LAPOR! answers with ``trackingid`` and ``transaksiid``. An anonymous
  complaint has ``anonim="1"`` and empty ``pelapor`` fields (Antre stores no contact for it); every report is
  ``rahasia="1"`` (not to be published: nothing a resident wrote is public without a staff decision). The
  format has no field for the date, the classification or the topic, so ``isi`` starts with one line that
  carries them (``[P-1234-5678-9012 · 07/12/2026 · Pengaduan · Infrastruktur]``) before the resident's text.
  Not written: duplicates merged into another complaint, and complaints whose text was wiped at retention.
- ``daftar.csv``: one row per complaint of the month (UTF-8 with a byte-order mark, so spreadsheet programs
  read it as UTF-8), with what LAPOR!'s admin page asks for by hand: ``klasifikasi`` (Pengaduan, Aspirasi,
  Permintaan Informasi), ``kategori`` (the topic), ``tindak_lanjut`` (the admin's action for the village's
  status), dates as ``DD/MM/YYYY``, and the XML file's name (empty when not written, with why).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from typing import Any, Callable
from xml.etree import ElementTree as ET

from antre.rules.complaint_codes import format_complaint_code

#: LAPOR!'s classification of a report (Klasifikasi Laporan) for each of Antre's categories.
CLASSIFICATION = {"pengaduan": "Pengaduan", "aspirasi": "Aspirasi", "informasi": "Permintaan Informasi"}
#: The LAPOR! admin's action (Pengelolaan Laporan, LAPOR! V3: Verifikasi, Tunda, Bukan Wewenang, Arsipkan) that
#: matches the village's status; "Belum Terverifikasi" while the village has not verified it yet.
ACTION = {"diterima": "Belum Terverifikasi", "diverifikasi": "Verifikasi", "diproses": "Verifikasi",
          "selesai": "Verifikasi", "ditolak": "Arsipkan", "bukan_wewenang": "Bukan Wewenang"}
ENDPOINT = "https://www.lapor.go.id/api/stream/addstream"
MAX_PAGES = 1000   # pages of complaint_export asked for one month at most
CSV_COLUMNS = ("kode", "tanggal", "klasifikasi", "kategori", "status_desa", "tindak_lanjut", "anonim", "rahasia",
               "tanggal_jawab", "berkas", "keterangan")
# XML 1.0 allows tab, newline, carriage return and characters from U+0020 on (not the surrogates, not U+FFFE/F).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str | None) -> str:
    """``text`` without the characters XML 1.0 cannot carry (a resident's control characters, broken input)."""
    return _NOT_XML.sub("", text or "")


def split_name(name: str | None) -> tuple[str, str]:
    """``"Siti Nur Aminah"`` -> ``("Siti", "Nur Aminah")``; one word -> ``(word, "_")`` as LAPOR!'s intake is fed
    by integrations that know no last name; None -> ``("", "")``."""
    words = (name or "").split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:]) or "_"


def day(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%d/%m/%Y")


def addstream_xml(row: dict[str, Any], topic: str, token: str = "") -> bytes:
    """One complaint as the body of a LAPOR! ``addstream`` request (UTF-8 bytes with the XML declaration)."""
    root = ET.Element("lapor", token=token)
    who = ET.SubElement(root, "pelapor")
    first, last = ("", "") if row["anonymous"] else split_name(row.get("name"))
    for tag, value in (("email", ""), ("telpon", "" if row["anonymous"] else row.get("phone") or ""),
                       ("namadepan", first), ("namabelakang", last)):
        ET.SubElement(who, tag).text = xml_text(value)
    report = ET.SubElement(root, "laporan", rahasia="1", anonim="1" if row["anonymous"] else "0")
    head = (f"[{format_complaint_code(row['code'])} · {day(row['created_at'])} · "
            f"{CLASSIFICATION.get(row['category'], row['category'])} · {topic}]")
    ET.SubElement(report, "isi").text = xml_text(f"{head}\n{row['text']}")
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def build_zip(rows: list[dict[str, Any]], month: str, topic: Callable[[str], str]) -> bytes:
    """The zip for ``month``: ``laporan/<code>.xml`` per complaint that can be re-entered, and ``daftar.csv``."""
    buf = io.BytesIO()
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(CSV_COLUMNS)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for r in rows:
            name, note = f"laporan/{r['code']}.xml", ""
            if r.get("merged_into"):
                name, note = "", f"digabung ke {format_complaint_code(r['merged_into'])}"
            elif r.get("wiped") or not r.get("text"):
                name, note = "", "teks sudah dihapus (masa simpan)"
            else:
                zf.writestr(name, addstream_xml(r, topic(r["topic"])))
            writer.writerow([format_complaint_code(r["code"]), day(r["created_at"]),
                             CLASSIFICATION.get(r["category"], r["category"]), topic(r["topic"]), r["status"],
                             ACTION.get(r["status"], ""), "ya" if r["anonymous"] else "tidak", "ya",
                             day(r["answered_on"]) if r.get("answered_on") else "", name, note])
        zf.writestr("daftar.csv", "\ufeff" + table.getvalue())
        zf.writestr("BACA-SAYA.txt", README.format(month=month, endpoint=ENDPOINT))
    return buf.getvalue()


README = """Pengaduan bulan {month} untuk dimasukkan kembali ke SP4N-LAPOR!

- laporan/*.xml: satu laporan per berkas, isi permintaan POST ke {endpoint}
  (Content-Type: text/xml; charset=UTF-8). Isi atribut token dengan token akses dari tim LAPOR!.
  LAPOR! menjawab dengan trackingid dan transaksiid: catat di kolom keterangan.
- daftar.csv: semua pengaduan bulan ini dengan klasifikasi, kategori dan tindak lanjut yang dipilih
  di halaman admin LAPOR! (Verifikasi, Bukan Wewenang, Arsipkan).
- Laporan anonim tidak membawa nama atau nomor. Semua laporan bertanda rahasia.
Berkas ini berisi data pribadi: simpan dan hapus sesuai aturan kantor.
"""


__all__ = ["addstream_xml", "build_zip", "CLASSIFICATION", "ACTION", "CSV_COLUMNS", "split_name", "xml_text",
           "ENDPOINT"]


# ---------------------------------------------------------------------- the console's download


def routes(w) -> list:
    """``/staf/pengaduan/lapor?bulan=YYYY-MM`` (kasi): the zip above. The service audits it (``complaint.export``)."""
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from .complaints_texts import ct, topic_label
    from .console import console_command, require_role

    async def download(request: Request) -> Response:
        require_role(request, "kasi")
        lang = w.lang(request)
        month = (request.query_params.get("bulan") or w.today().strftime("%Y-%m"))[:7]
        rows: list[dict[str, Any]] = []
        after: int | None = None
        for _ in range(MAX_PAGES):   # the service answers a month in pages (one MQTT message each)
            reply = await console_command(request, "complaint_export",
                                          {"month": month} | ({"after": after} if after else {}))
            if not reply.ok:
                text = ct("s_lapor_err", lang, detail=reply.code)
                return w.render(request, "console/message.html", 400 if reply.code == "invalid_argument" else 503,
                                text=text)
            rows += reply.result["rows"]
            after = reply.result.get("next")
            if not after:
                break
        else:
            return w.render(request, "console/message.html", 503, text=ct("s_lapor_err", lang, detail="too_many"))
        data = build_zip(rows, month, lambda t: topic_label(t, "id"))
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="lapor-{month}.zip"', "Cache-Control": "no-store"})

    return [Route("/staf/pengaduan/lapor", download)]
