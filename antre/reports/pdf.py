"""The printed report (A4, Bahasa Indonesia), ready to sign, made with fpdf2.

Text uses DejaVu Sans from matplotlib's own font folder, so the PDF looks the
same on every machine and every Indonesian character prints.
"""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from antre.config import ReportConfig
from antre.reports import charts
from antre.reports.stats import Report
from antre.reports.tables import Table, build_tables, display, hour_span, period_text, tanggal, _ikm_sentence
from antre.wording import clock_time

# fontTools logs every glyph subset at INFO, and `antre` logs INFO by default.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT = "DejaVu"
MARGIN = 15  # mm
GREY = (232, 232, 232)


def font_folder() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


class ReportPDF(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        folder = font_folder()
        self.add_font(FONT, "", str(folder / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(folder / "DejaVuSans-Bold.ttf"))
        self.add_font(FONT, "I", str(folder / "DejaVuSans-Oblique.ttf"))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=18)
        self.set_title("Laporan Pelayanan dan IKM")
        self.set_creator("Antre")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(100, 100, 100)
        self.cell(0, 4, self.footer_text, align="L")
        self.set_x(MARGIN)
        self.cell(0, 4, f"Halaman {self.page_no()} dari {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


HEADING_HEIGHT = 10  # mm: the gap above a heading and its line
PARAGRAPH_NEED = 14  # mm: a short paragraph (two lines) kept with the heading above it


def _heading(pdf: FPDF, text: str, keep_with: float) -> None:
    """A section heading, kept with what follows it (keep-with-next): ``keep_with`` mm of the next block
    (:func:`_table_need` for a table) must fit on the page under the heading, else both start a new page."""
    if pdf.will_page_break(HEADING_HEIGHT + keep_with):
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)


def _paragraph(pdf: FPDF, text: str, size: float = 9, style: str = "") -> None:
    pdf.set_font(FONT, style, size)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)


PAD = 1.0  # mm of cell padding left and right
EXPANDING = {"name"}  # text columns that wrap and take the width left over


def column_widths(pdf: FPDF, table: Table, size: float) -> list[float]:
    """Column widths in mm, measured: a number column is as wide as its widest value or heading word;
    name columns share what is left of the page and wrap."""
    page = pdf.epw - 0.05  # a hair under: fpdf2 refuses a table wider than the page by a rounding error
    needs, expanding = [], []
    for i, c in enumerate(table.columns):
        pdf.set_font(FONT, "B", size)
        head = max((pdf.get_string_width(w) for w in c.label.split()), default=0)
        pdf.set_font(FONT, "", size)
        cells = [display(r[i], c.kind) for r in table.rows]
        if table.total and table.total[i] is not None:
            pdf.set_font(FONT, "B", size)
            cells_w = [pdf.get_string_width(display(table.total[i], c.kind))]
            pdf.set_font(FONT, "", size)
        else:
            cells_w = []
        cells_w += [pdf.get_string_width(x) for x in cells]
        widest = max(cells_w, default=0)
        if c.key in EXPANDING:
            longest_word = max((pdf.get_string_width(w) for x in cells for w in x.split()), default=0)
            needs.append(max(head, longest_word) + 2 * PAD + 0.5)
            expanding.append((i, widest + 2 * PAD + 0.5))
        else:
            needs.append(max(head, widest) + 2 * PAD + 0.5)
    spare = page - sum(needs)
    if spare < 0:  # too wide even with names wrapped: shrink everything alike
        return [w * page / sum(needs) for w in needs]
    if expanding:
        wants = {i: max(full - needs[i], 0) for i, full in expanding}
        total_want = sum(wants.values())
        for i, want in wants.items():
            needs[i] += spare * want / total_want if total_want > spare else want
        if total_want < spare:  # room to spare: stretch the table to the full width
            extra = (spare - total_want) / len(needs)
            needs = [w + extra for w in needs]
    return needs


def _table_height(pdf: FPDF, table: Table, size: float) -> float:
    """A generous estimate of the table's height in mm, to keep small tables on one page."""
    row = size * 0.5 + 1.6
    lines = len(table.rows) + (1 if table.total else 0)
    wrapped = sum(1 for r in table.rows for v in r if isinstance(v, str) and len(v) > 30)
    return 8 + 2 * row + (lines + wrapped) * row + (8 if table.note else 0)


def _table_need(pdf: FPDF, table: Table, size: float, keep_with: float = 0) -> float:
    """The mm a table needs on the page where it starts: all of it when shorter than half a page (plus
    ``keep_with``), else its title, heading row and a few rows."""
    height = _table_height(pdf, table, size) + keep_with
    return min(height, 25) if height > pdf.eph / 2 else height


def _table(pdf: FPDF, table: Table, size: float = 7.5, keep_with: float = 0) -> None:
    """Title, table and note. A table shorter than half a page is not split over two pages;
    ``keep_with`` mm more are kept with it (e.g. the signature after the last table)."""
    if pdf.will_page_break(_table_need(pdf, table, size, keep_with)):
        pdf.add_page()
    pdf.set_font(FONT, "B", 9.5)
    pdf.cell(0, 6, table.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", size)
    if not table.rows:
        _paragraph(pdf, "Tidak ada data.", size, "I")
        return
    widths = column_widths(pdf, table, size)
    pdf.set_font(FONT, "", size)
    aligns = tuple("LEFT" if c.kind == "text" else "RIGHT" for c in table.columns)
    heads = FontFace(emphasis="BOLD", fill_color=GREY)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(col_widths=widths, width=sum(widths), align="LEFT", text_align=aligns,
                   line_height=size * 0.5, padding=(0.8, PAD), headings_style=heads, v_align="MIDDLE") as t:
        head = t.row()
        for c in table.columns:
            head.cell(c.label, align="CENTER")
        for k, row in enumerate(table.rows):
            r = t.row(style=bold if k in table.highlight else None)
            for value, c in zip(row, table.columns):
                r.cell(display(value, c.kind))
        if table.total:
            r = t.row(style=bold)
            for value, c in zip(table.total, table.columns):
                r.cell("" if value is None else display(value, c.kind))
    if table.note:
        pdf.ln(1)
        _paragraph(pdf, table.note, 7, "I")
    pdf.ln(2)


def _png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _image(pdf: FPDF, data: bytes) -> None:
    w_px, h_px = _png_size(data)
    width = pdf.w - 2 * MARGIN
    height = width * h_px / w_px
    if pdf.will_page_break(height + 2):
        pdf.add_page()
    pdf.image(io.BytesIO(data), x=MARGIN, w=width, h=height)
    pdf.ln(3)


SIGNATURE_HEIGHT = 55  # mm


@dataclass(frozen=True)
class Signer:
    """Who signs the report: ``[report]`` of the configuration (``--signer`` and friends override it)."""

    name: str = ""
    title: str = "Kepala Seksi Pelayanan"
    nip: str = ""
    nip_label: str = "NIP"

    @classmethod
    def from_config(cls, report: ReportConfig, **override: str) -> "Signer":
        values = {"name": report.signer_name, "title": report.signer_title, "nip": report.signer_nip,
                  "nip_label": report.signer_nip_label}
        return cls(**(values | {k: v for k, v in override.items() if v}))


def _signature(pdf: FPDF, place: str, signed_on: date, signer: Signer) -> None:
    if pdf.will_page_break(SIGNATURE_HEIGHT):
        pdf.add_page()
    pdf.ln(8)
    x = pdf.w - MARGIN - 75
    pdf.set_font(FONT, "", 10)
    lines = [f"{place}, {tanggal(signed_on)}"] + [line for line in signer.title.splitlines() if line.strip()]
    for text in lines:
        pdf.set_x(x)
        pdf.multi_cell(75, 5.5, text, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(22)
    pdf.set_x(x)
    pdf.set_font(FONT, "BU" if signer.name else "", 10)
    pdf.cell(75, 5.5, signer.name or "(" + "." * 60 + ")", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    if signer.nip:
        pdf.set_x(x)
        pdf.cell(75, 5.5, f"{signer.nip_label}. {signer.nip}", align="C", new_x="LMARGIN", new_y="NEXT")


def render_pdf(report: Report, *, place: str, signed_on: date, signer: str | Signer = "") -> bytes:
    """The whole report as PDF bytes. ``signer``: a :class:`Signer`, or only a name (the default title)."""
    if isinstance(signer, str):
        signer = Signer(name=signer)
    made = report.generated_at
    pdf = ReportPDF(f"{report.office_name} | Laporan {period_text(report)} | dibuat {tanggal(made)} "
                    f"{clock_time(made)}")
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 8, report.office_name.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    if report.office_address:
        pdf.set_font(FONT, "", 9)
        pdf.cell(0, 5, report.office_address, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_line_width(0.6)
    pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.line(MARGIN, pdf.get_y() + 0.9, pdf.w - MARGIN, pdf.get_y() + 0.9)
    pdf.ln(5)
    pdf.set_font(FONT, "B", 12)
    pdf.cell(0, 6, "LAPORAN PELAYANAN DAN INDEKS KEPUASAN MASYARAKAT (IKM)", align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, f"Periode: {period_text(report)}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    tables = {t.name: t for t in build_tables(report, compact=True)}
    images = charts.render_all(report)
    t = report.total

    _heading(pdf, "1. Ringkasan", 60)
    w, s = t.wait, t.service
    summary = [
        ("Tiket diambil", display(t.issued, "int")),
        ("Dilayani", display(t.served, "int")),
        ("Tidak hadir saat dipanggil", display(t.no_show, "int")),
        ("Dialihkan ke layanan lain", display(t.transferred_out, "int")),
        ("Kedaluwarsa (belum dipanggil saat tutup)", display(t.expired, "int")),
        ("Waktu tunggu rata-rata / P90", f"{display(w.mean, 'min')} / {display(w.p90, 'min')} menit"),
        ("Waktu layanan rata-rata / P90", f"{display(s.mean, 'min')} / {display(s.p90, 'min')} menit"),
        ("Jam tersibuk", ", ".join(hour_span(h) for h in report.busiest_hours()) or "-"),
    ]
    if t.open:
        summary.insert(5, ("Belum selesai", display(t.open, "int")))
    q = report.quick
    quick = "belum ada penilaian" if q.index is None else \
        f"{display(q.index, 'index')} (mutu {q.category.letter}, {q.category.label}; {q.respondents} penilai)"
    summary.append(("Indeks penilaian cepat (wajah)", quick))
    pdf.set_font(FONT, "", 9.5)
    for label, value in summary:
        pdf.cell(80, 5.5, label)
        pdf.cell(0, 5.5, ": " + value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    _paragraph(pdf, _ikm_sentence(report), 9.5, "B")

    _heading(pdf, "2. Statistik pelayanan", _table_need(pdf, tables["days"], 7.5))
    _table(pdf, tables["days"])
    _image(pdf, images["tickets_per_day"])
    _table(pdf, tables["services"], size=7)
    _image(pdf, images["waiting_per_service"])
    _table(pdf, tables["counters"], size=7)
    _table(pdf, tables["hours"], size=8)
    if "letters" in tables:
        _table(pdf, tables["letters"], size=7)
    if "complaints" in tables:
        _table(pdf, tables["complaints"], size=7)

    _heading(pdf, "3. Indeks Kepuasan Masyarakat (IKM), PermenPANRB 14/2017",
             PARAGRAPH_NEED if report.ikm.index is None else _table_need(pdf, tables["ikm_elements"], 8))
    if report.ikm.index is None:
        _paragraph(pdf, "Belum ada responden yang mengisi survei 9 unsur pada periode ini, "
                        "sehingga IKM belum dapat dihitung.", 9.5, "I")
    else:
        _table(pdf, tables["ikm_elements"], size=8)
        _table(pdf, tables["ikm_summary"], size=8)
        _image(pdf, images["ikm_per_element"])
    if report.incomplete_surveys:
        _paragraph(pdf, f"{report.incomplete_surveys} survei tidak lengkap (tidak semua 9 unsur diisi) "
                        f"tidak dihitung.", 8, "I")

    _heading(pdf, "4. Penilaian cepat (wajah) di kios", PARAGRAPH_NEED if report.quick.respondents == 0 else
             _table_need(pdf, tables["quick_services"], 8))
    if report.quick.respondents == 0:
        _paragraph(pdf, "Belum ada penilaian cepat pada periode ini.", 9.5, "I")
    else:
        _table(pdf, tables["quick_services"], size=8)
        _table(pdf, tables["quick_counters"], size=8, keep_with=SIGNATURE_HEIGHT)

    _signature(pdf, place, signed_on, signer)
    return bytes(pdf.output())
