"""The outgoing-letter register (buku agenda surat keluar) of a year, as CSV and PDF.

Rows are the service's ``letter_register`` result: numbers, dates, types or subjects, and masked names only.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from antre.config import Config
from antre.wording import day_month_year

STATUS_TEXT = {"manual": "Diketik manual", "diperiksa": "Diproses", "belum_lengkap": "Diproses",
               "menunggu_ttd": "Menunggu tanda tangan", "siap_diambil": "Siap diambil",
               "sudah_diambil": "Sudah diambil", "dibatalkan": "Dibatalkan", "revoked": "Dicabut"}
COLUMNS = ("No", "Nomor Surat", "Tanggal", "Kode", "Perihal", "Atas Nama", "Keterangan", "Petugas")


def _row(i: int, r: dict[str, Any]) -> list[str]:
    return [str(i), r["number"], date.fromisoformat(r["issued_on"]).strftime("%d-%m-%Y"), r["classification"],
            r["subject"], r["masked_name"], STATUS_TEXT.get(r["status"], r["status"]), r["actor"]]


def register_csv(rows: list[dict[str, Any]]) -> str:
    """CSV (comma-separated, UTF-8 with a BOM so that spreadsheet programs read the names right)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for i, r in enumerate(rows, 1):
        w.writerow(_row(i, r))
    return "\ufeff" + buf.getvalue()


def register_pdf(cfg: Config, year: int, rows: list[dict[str, Any]], *, today: date) -> bytes:
    from antre.documents.letter import _css, environment, html_to_pdf

    env = environment(cfg)
    html = env.get_template("register.html").render(
        letters=cfg.letters, year=year, columns=COLUMNS, rows=[_row(i, r) for i, r in enumerate(rows, 1)],
        printed=day_month_year(today), css=_css(env, "surat.css"), count=len(rows),
        manual=sum(1 for r in rows if r["manual"]))
    return html_to_pdf(html)


__all__ = ["register_csv", "register_pdf", "COLUMNS"]
