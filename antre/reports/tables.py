"""The report as tables (text, CSV, PDF share them) and as a JSON document.

A :class:`Table` holds raw values (int, float minutes, Fraction, Decimal, str,
None); each renderer formats them: Indonesian style with a decimal comma for the
terminal and the PDF, plain machine values for CSV.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from antre.wording import clock_time, day_month_year as tanggal  # '1 November 2026'
from antre.reports.ikm import FACES, Category, IkmResult, QuickResult, minimum_sample
from antre.reports.stats import Durations, Report, Tally, percentile90

JSON_FORMAT = "antre-report/1"


@dataclass(frozen=True)
class Column:
    key: str  # CSV header
    label: str  # Indonesian heading
    kind: str = "int"  # text, int, min, nrr, index, pct


@dataclass
class Table:
    name: str  # CSV file name without .csv
    title: str  # Indonesian heading
    columns: list[Column]
    rows: list[list[Any]]
    total: list[Any] | None = None  # shown under the rows in text and PDF; not in CSV
    note: str = ""
    highlight: frozenset[int] = frozenset()  # row indexes printed bold in the PDF


# --------------------------------------------------------------------------
# Formatting.
# --------------------------------------------------------------------------

#: Dropped from the office name to get the place on the signature line.
PLACE_PREFIXES = ("Kantor Desa ", "Kantor Kelurahan ", "Kantor Kepala Desa ", "Kantor ")


def default_place(office_name: str) -> str:
    for prefix in PLACE_PREFIXES:
        if office_name.startswith(prefix) and len(office_name) > len(prefix):
            return office_name[len(prefix):]
    return office_name


def hour_span(hour: int) -> str:
    """``08.00–08.59``: one hour of the day, written as EYD writes times."""
    return f"{clock_time(time(hour, 0))}–{clock_time(time(hour, 59))}"


def period_text(report: Report) -> str:
    if report.start == report.end:
        return tanggal(report.start)
    return f"{tanggal(report.start)} s.d. {tanggal(report.end)}"


def _comma(text: str) -> str:
    return text.replace(".", ",")


def display(value: Any, kind: str) -> str:
    """A value as shown to staff: '-' for none, decimal comma."""
    if value is None:
        return "-"
    if kind == "text":
        return str(value)
    if kind == "int":
        return f"{value:,}".replace(",", ".")
    if kind == "min":
        return _comma(f"{float(value):.1f}")
    if kind == "nrr":
        return _comma(f"{float(value):.3f}")
    if kind == "index":
        return _comma(f"{Decimal(value):.2f}") if isinstance(value, Decimal) else _comma(f"{float(value):.2f}")
    if kind == "pct":
        return _comma(f"{float(value):.1f}") + " %"
    return str(value)


def machine(value: Any) -> str:
    """A value as written to CSV: '' for none, decimal point."""
    if value is None:
        return ""
    if isinstance(value, Fraction):
        return f"{float(value):.6f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _cat(category: Category | None) -> str | None:
    return None if category is None else f"{category.letter} ({category.label})"


# --------------------------------------------------------------------------
# Tables.
# --------------------------------------------------------------------------

_TIME_COLUMNS = [
    Column("wait_mean_min", "Tunggu", "min"), Column("wait_p90_min", "P90 tunggu", "min"),
    Column("service_mean_min", "Layanan", "min"), Column("service_p90_min", "P90 layanan", "min"),
]


def _times(t: Tally) -> list[Any]:
    w, s = t.wait, t.service
    return [w.mean, w.p90, s.mean, s.p90]


def build_tables(report: Report, *, compact: bool = True) -> list[Table]:
    """All tables of the report. ``compact`` leaves out days without tickets (text and PDF)."""
    tables: list[Table] = []
    time_note = ("Waktu dalam menit. Tunggu: rata-rata dari ambil tiket sampai panggilan pertama; "
                 "layanan: rata-rata dari panggilan terakhir sampai selesai. "
                 "P90: 9 dari 10 warga tidak lebih lama dari nilai ini.")

    day_cols = [Column("date", "Tanggal", "text"), Column("issued", "Tiket"), Column("served", "Dilayani"),
                Column("no_show", "Tidak hadir"), Column("transferred", "Dialihkan"),
                Column("expired", "Kedaluwarsa"), Column("open", "Belum selesai")] + _TIME_COLUMNS
    rows = []
    for day, t in report.days.items():
        if compact and not t.issued:
            continue
        label = day.strftime("%d-%m-%Y") if compact else day.isoformat()
        rows.append([label, t.issued, t.served, t.no_show, t.transferred_out, t.expired, t.open] + _times(t))
    tot = report.total
    tables.append(Table("days", "Statistik per hari", day_cols, rows,
                        total=["Jumlah", tot.issued, tot.served, tot.no_show, tot.transferred_out, tot.expired,
                               tot.open] + _times(tot),
                        note=time_note + (" Hari tanpa tiket tidak ditampilkan." if compact else "")))

    svc_cols = [Column("service", "Kode", "text"), Column("name", "Layanan", "text"), Column("issued", "Tiket"),
                Column("transferred_in", "Pindah masuk"), Column("transferred_out", "Pindah keluar"),
                Column("served", "Dilayani"), Column("no_show", "Tidak hadir"), Column("expired", "Kedaluwarsa"),
                Column("open", "Belum selesai")] + _TIME_COLUMNS
    rows = [[code, report.service_name(code), t.issued, t.transferred_in, t.transferred_out, t.served,
             t.no_show, t.expired, t.open] + _times(t) for code, t in report.services.items()]
    tables.append(Table("services", "Statistik per layanan", svc_cols, rows,
                        note="Tiket dihitung pada layanan saat diambil; hasil akhir (dilayani, tidak hadir, "
                             "kedaluwarsa) pada layanan terakhir setelah dialihkan."))

    ctr_cols = [Column("counter", "Kode", "text"), Column("name", "Loket", "text"),
                Column("called", "Dipanggil"), Column("served", "Dilayani"), Column("no_show", "Tidak hadir"),
                Column("transferred", "Dialihkan"), Column("expired", "Kedaluwarsa"),
                Column("open", "Belum selesai")] + _TIME_COLUMNS
    rows = [[cid, report.counter_name(cid), t.called, t.served, t.no_show, t.transferred_out, t.expired,
             t.open] + _times(t) for cid, t in report.counters.items()]
    tables.append(Table("counters", "Statistik per loket", ctr_cols, rows))

    busiest = report.busiest_hours()
    total_issued = sum(report.hours) or 1
    hour_rows = [[hour_span(h), n, 100 * n / total_issued,
                  "tersibuk" if h in busiest else ""]
                 for h, n in enumerate(report.hours) if n or not compact]
    tables.append(Table("hours", f"Jam tersibuk (tiket diambil per jam, waktu {report.timezone})",
                        [Column("hour", "Jam", "text"), Column("issued", "Tiket"), Column("share_pct", "Bagian", "pct"),
                         Column("mark", "", "text")], hour_rows))

    tables.append(ikm_element_table(report.ikm))
    summary_rows = []
    for scope, name, result in [("all", "Seluruh layanan", report.ikm)] + [
            (code, report.service_name(code), r) for code, r in report.ikm_by_service.items()]:
        weakest = result.weakest
        users, needed = ikm_sample(report, scope, result)
        summary_rows.append(["-" if compact and scope == "all" else scope, name, result.respondents, users, needed,
                             result.index, result.category.letter if result.category else None,
                             result.category.label if result.category else None,
                             weakest.code if weakest else None,
                             SAMPLE_SHORT if result.respondents < needed else ""])
    tables.append(Table("ikm_summary", "Indeks Kepuasan Masyarakat (IKM)",
                        [Column("scope", "Kode", "text"), Column("name", "Cakupan", "text"),
                         Column("respondents", "Responden"), Column("served", "Dilayani"),
                         Column("min_sample", "Sampel minimal"), Column("ikm", "IKM", "index"),
                         Column("category", "Mutu", "text"), Column("performance", "Kinerja", "text"),
                         Column("weakest_element", "Unsur terendah", "text"),
                         Column("sample_note", "Catatan", "text")], summary_rows,
                        note=SAMPLE_NOTE))

    quick_cols = [Column("key", "Kode", "text"), Column("name", "Nama", "text"), Column("respondents", "Penilai")] + \
        [Column(f"score_{s}", FACES[s]) for s in (4, 3, 2, 1)] + \
        [Column("index", "Indeks", "index"), Column("category", "Mutu", "text")]
    for name, title, groups, namer in (
            ("quick_services", "Penilaian cepat (wajah) per layanan", report.quick_by_service, report.service_name),
            ("quick_counters", "Penilaian cepat (wajah) per loket", report.quick_by_counter, report.counter_name)):
        rows = [[k or "-", namer(k), q.respondents] + [q.counts[s] for s in (4, 3, 2, 1)] +
                [q.index, _cat(q.category)] for k, q in groups.items()]
        q = report.quick
        tables.append(Table(name, title, quick_cols, rows,
                            total=["", "Jumlah", q.respondents] + [q.counts[s] for s in (4, 3, 2, 1)] +
                                  [q.index, _cat(q.category)],
                            note="Indeks = rata-rata nilai wajah (4 Sangat Puas ... 1 Tidak Puas) x 25; "
                                 "terpisah dari IKM."))
    if report.letters:
        rows = [[code, report.letter_names.get(code, code), t.requested, t.signed, t.collected, t.cancelled, t.open,
                 t.late, t.mean_days, t.p90_days] for code, t in report.letters.items()]
        tot = [sum(getattr(t, k) for t in report.letters.values())
               for k in ("requested", "signed", "collected", "cancelled", "open", "late")]
        every = [d for t in report.letters.values() for d in t.days]
        tables.append(Table("letters", "Surat keterangan per jenis (permohonan pada periode ini)",
                            [Column("type", "Kode", "text"), Column("name", "Jenis surat", "text"),
                             Column("requested", "Diajukan"), Column("signed", "Ditandatangani"),
                             Column("collected", "Diambil"), Column("cancelled", "Dibatalkan"),
                             Column("open", "Masih diproses"), Column("late", "Lewat perkiraan"),
                             Column("days_mean", "Lama proses (hari)", "min"),
                             Column("days_p90", "P90 (hari)", "min")], rows,
                            total=["", "Jumlah", *tot, sum(every) / len(every) if every else None,
                                   percentile90(every)],
                            note="Lama proses: dari permohonan sampai ditandatangani. Lewat perkiraan: ditandatangani "
                                 "sesudah, atau masih diproses melewati, perkiraan selesai jenis suratnya."))
    if report.complaints:
        rows = [[topic, c.received, c.answered, c.on_time, c.refused, c.open, c.late, c.merged, c.median_days]
                for topic, c in report.complaints.items()]
        tot = [sum(getattr(c, k) for c in report.complaints.values())
               for k in ("received", "answered", "on_time", "refused", "open", "late", "merged")]
        every = sorted(d for c in report.complaints.values() for d in c.days)
        median = (every[(len(every) - 1) // 2] + every[len(every) // 2]) / 2 if every else None
        tables.append(Table("complaints", "Pengaduan, aspirasi dan permintaan informasi per topik (masuk pada periode ini)",
                            [Column("topic", "Topik", "text"), Column("received", "Masuk"),
                             Column("answered", "Dijawab"), Column("on_time", "Tepat waktu"),
                             Column("refused", "Ditolak / bukan wewenang"), Column("open", "Masih diproses"),
                             Column("late", "Terlambat"), Column("merged", "Digabung"),
                             Column("days_median", "Median sampai dijawab (hari)", "min")], rows,
                            total=["Jumlah", *tot, median],
                            note="Tepat waktu: dijawab paling lambat pada batas [complaints] answer_days hari kerja "
                                 "(kalender kantor). Terlambat: belum dijawab dan melewati batas itu. Digabung: "
                                 "duplikat yang mengikuti laporan lain."))
    if compact and not report.total.open:
        for table in tables[:3]:
            _drop_column(table, "open")
    return tables


#: The mark of an IKM from fewer respondents than the sampling table asks for.
SAMPLE_SHORT = "sampel kurang"
SAMPLE_NOTE = ("Sampel minimal: jumlah responden yang diperlukan untuk jumlah warga yang dilayani, menurut tabel "
               "Krejcie dan Morgan yang dipakai pedoman PermenPANRB 14/2017 (tingkat kepercayaan 95 %, galat 5 %). "
               "IKM bertanda \"sampel kurang\" dihitung dari responden yang lebih sedikit: belum dapat dijadikan "
               "kesimpulan mutu pelayanan.")


def ikm_sample(report: Report, scope: str, result: IkmResult) -> tuple[int, int]:
    """(residents served in the scope, respondents the sampling table asks for): ``scope`` is ``"all"`` or
    a service code. A scope with more respondents than served tickets counts the respondents."""
    tally = report.total if scope == "all" else report.services.get(scope)
    users = max(tally.served if tally else 0, result.respondents)
    return users, minimum_sample(users)


def _drop_column(table: Table, key: str) -> None:
    i = next(k for k, c in enumerate(table.columns) if c.key == key)
    del table.columns[i]
    for row in table.rows + ([table.total] if table.total else []):
        del row[i]


def ikm_element_table(ikm: IkmResult) -> Table:
    rows = [[e.code, e.name, e.total, e.nrr, e.weighted, e.converted, e.category.letter, e.category.label]
            for e in ikm.elements]
    total = None
    if ikm.index is not None:
        total = ["", "IKM = jumlah NRR tertimbang x 25", None, None,
                 sum((e.weighted for e in ikm.elements), Fraction(0)), ikm.index,
                 ikm.category.letter, ikm.category.label]
    weakest = frozenset({ikm.elements.index(ikm.weakest)}) if ikm.weakest else frozenset()
    return Table("ikm_elements", f"IKM per unsur pelayanan ({ikm.respondents} responden)",
                 [Column("element", "Unsur", "text"), Column("name", "Nama unsur", "text"),
                  Column("total", "Jumlah nilai"), Column("nrr", "NRR", "nrr"),
                  Column("nrr_weighted", "NRR tertimbang", "nrr"), Column("converted", "NRR x 25", "index"),
                  Column("category", "Mutu", "text"), Column("performance", "Kinerja", "text")], rows,
                 total=total, highlight=weakest,
                 note="Cetak tebal: unsur terendah. NRR = jumlah nilai / responden; NRR tertimbang = NRR x 1/9. "
                      "Nilai dibulatkan ke 2 desimal (setengah ke atas) lalu digolongkan: "
                      "A 88,31-100; B 76,61-88,30; C 65,00-76,60; D 25,00-64,99.")


# --------------------------------------------------------------------------
# Text.
# --------------------------------------------------------------------------

def render_text(report: Report) -> str:
    out = [report.office_name, f"Laporan pelayanan dan IKM: {period_text(report)}", ""]
    t = report.total
    out.append(f"Tiket: {t.issued}   dilayani: {t.served}   tidak hadir: {t.no_show}   "
               f"dialihkan: {t.transferred_out}   kedaluwarsa: {t.expired}   belum selesai: {t.open}")
    out.append(_ikm_sentence(report))
    out.append("")
    for table in build_tables(report, compact=True):
        if table.name == "ikm_elements" and report.ikm.index is None:
            continue
        if not table.rows and table.name != "days":
            continue
        out.append(_text_table(table))
    return "\n".join(out).rstrip() + "\n"


def _ikm_sentence(report: Report) -> str:
    ikm = report.ikm
    extra = f" ({report.incomplete_surveys} survei tidak lengkap diabaikan)" if report.incomplete_surveys else ""
    if ikm.index is None:
        return f"IKM: belum ada responden survei 9 unsur pada periode ini{extra}."
    w = ikm.weakest
    users, needed = ikm_sample(report, "all", ikm)
    caveat = (f" Sampel kurang: {ikm.respondents} responden dari {display(users, 'int')} warga yang dilayani, "
              f"minimal {display(needed, 'int')} (Krejcie dan Morgan); hasil ini belum dapat dijadikan kesimpulan."
              if ikm.respondents < needed else "")
    return (f"IKM {display(ikm.index, 'index')}: mutu {ikm.category.letter} ({ikm.category.label}), "
            f"{ikm.respondents} responden; unsur terendah {w.code} {w.name} "
            f"(NRR {display(w.nrr, 'nrr')}){extra}.{caveat}")


def _text_table(table: Table) -> str:
    head = [c.label for c in table.columns]
    body = [[display(v, c.kind) for v, c in zip(row, table.columns)] for row in table.rows]
    foot = [display(v, c.kind) if v is not None else "" for v, c in zip(table.total, table.columns)] \
        if table.total and table.rows else None
    widths = [max(len(x) for x in col) for col in zip(head, *body, *([foot] if foot else []))]
    right = [c.kind != "text" for c in table.columns]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [table.title, "=" * len(table.title), line(head), rule]
    lines += [line(r) for r in body] or ["(tidak ada data)"]
    if foot:
        lines += [rule, line(foot)]
    if table.note:
        lines.append(table.note)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# CSV.
# --------------------------------------------------------------------------

def csv_text(table: Table) -> str:
    """The table as machine CSV (English keys, ``,``, decimal point)."""
    return csv_text_as(table, MACHINE)


#: Headings of the CSV-only tables and of columns without a heading of their own (spreadsheet form).
CSV_LABELS = {
    "from": "Dari", "to": "Sampai", "issued": "Tiket", "called": "Dipanggil", "served": "Dilayani",
    "no_show": "Tidak hadir", "transferred": "Dialihkan", "expired": "Kedaluwarsa", "open": "Belum selesai",
    "wait_mean_min": "Tunggu", "wait_p90_min": "P90 tunggu", "service_mean_min": "Layanan",
    "service_p90_min": "P90 layanan", "respondents": "Penilai", "mean": "Rata-rata nilai", "index": "Indeks",
    "category": "Mutu", "mark": "Keterangan", **{f"score_{s}": FACES[s] for s in (4, 3, 2, 1)},
}
UNITS = {"min": " (menit)", "pct": " (%)"}


@dataclass(frozen=True)
class CsvForm:
    """How a CSV file is written. :data:`MACHINE` for programs (English keys, ``,``, decimal point);
    :data:`SPREADSHEET_ID` opens as it should in a spreadsheet set to Indonesian (LibreOffice Calc, Excel,
    Google Sheets with the Indonesia locale): Indonesian headings, ``;`` between fields, a decimal comma,
    and a UTF-8 byte order mark so the spreadsheet reads the file as UTF-8."""

    name: str
    delimiter: str
    decimal: str
    headings: str  # "keys" or "labels"
    encoding: str
    lineterminator: str


MACHINE = CsvForm("csv", ",", ".", "keys", "utf-8", "\n")
SPREADSHEET_ID = CsvForm("csv-id", ";", ",", "labels", "utf-8-sig", "\r\n")


def csv_heading(column: Column) -> str:
    """A column's Indonesian heading for a spreadsheet, with its unit: ``Tunggu (menit)``."""
    return (column.label or CSV_LABELS.get(column.key, column.key)) + UNITS.get(column.kind, "")


def csv_value(value: Any, form: CsvForm) -> str:
    text = machine(value)
    if form.decimal != "." and isinstance(value, (float, Fraction, Decimal)):
        text = text.replace(".", form.decimal)
    return text


def csv_text_as(table: Table, form: CsvForm) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=form.delimiter, lineterminator=form.lineterminator)
    writer.writerow([c.key if form.headings == "keys" else csv_heading(c) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(v, form) for v in row])
    return buf.getvalue()


def write_csv_dir(report: Report, folder: Path, form: CsvForm = MACHINE) -> list[Path]:
    """One CSV file per table (every day of the period in days.csv, every hour in hours.csv), in ``form``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    tables = build_tables(report, compact=False)
    # The quick-rating totals and the IKM line have no row of their own in CSV: ikm_summary and
    # quick_summary carry them.
    q = report.quick
    tables.append(Table("quick_summary", "", [Column("respondents", ""), Column("mean", ""),
                                              Column("index", ""), Column("category", "")] +
                        [Column(f"score_{s}", "") for s in (4, 3, 2, 1)],
                        [[q.respondents, q.mean, q.index, q.category.letter if q.category else None] +
                         [q.counts[s] for s in (4, 3, 2, 1)]]))
    t = report.total
    tables.append(Table("summary", "", [Column(k, "") for k in (
        "from", "to", "issued", "called", "served", "no_show", "transferred", "expired", "open",
        "wait_mean_min", "wait_p90_min", "service_mean_min", "service_p90_min")],
        [[report.start.isoformat(), report.end.isoformat(), t.issued, t.called, t.served, t.no_show,
          t.transferred_out, t.expired, t.open] + _times(t)]))
    for table in tables:
        path = folder / f"{table.name}.csv"
        with path.open("w", encoding=form.encoding, newline="") as fh:
            fh.write(csv_text_as(table, form))
        paths.append(path)
    return paths


# --------------------------------------------------------------------------
# JSON.
# --------------------------------------------------------------------------

def _num(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (Decimal, Fraction)):
        return float(value)
    return value


def _durations(d: Durations) -> dict[str, Any]:
    return {"count": d.count, "mean": d.mean, "p90": d.p90}


def _tally(t: Tally) -> dict[str, Any]:
    return {"issued": t.issued, "called": t.called, "served": t.served, "no_show": t.no_show,
            "expired": t.expired, "open": t.open, "transferred_in": t.transferred_in,
            "transferred_out": t.transferred_out,
            "wait_minutes": _durations(t.wait), "service_minutes": _durations(t.service)}


def _category(c: Category | None) -> dict[str, str] | None:
    return None if c is None else {"letter": c.letter, "label": c.label, "label_en": c.label_en}


def _ikm(r: IkmResult) -> dict[str, Any]:
    w = r.weakest
    return {
        "respondents": r.respondents,
        "index": _num(r.index),
        "index_exact": _num(r.exact),
        "index_fraction": None if r.exact is None else f"{r.exact.numerator}/{r.exact.denominator}",
        "category": _category(r.category),
        "weakest_element": w.code if w else None,
        "elements": [{
            "code": e.code, "name": e.name, "total": e.total, "nrr": float(e.nrr),
            "nrr_fraction": f"{e.nrr.numerator}/{e.nrr.denominator}", "nrr_weighted": float(e.weighted),
            "converted": float(e.converted), "category": _category(e.category),
        } for e in r.elements],
    }


def _quick(q: QuickResult) -> dict[str, Any]:
    return {"respondents": q.respondents, "counts": {str(s): q.counts[s] for s in (4, 3, 2, 1)},
            "mean": _num(q.mean), "index": _num(q.index), "category": _category(q.category)}


def to_json_dict(report: Report) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "office": {"name": report.office_name, "address": report.office_address, "timezone": report.timezone},
        "period": {"from": report.start.isoformat(), "to": report.end.isoformat(), "days": report.day_count},
        "generated_at": report.generated_at.isoformat(timespec="seconds"),
        "totals": _tally(report.total),
        "days": [{"date": d.isoformat(), **_tally(t)} for d, t in report.days.items()],
        "services": [{"code": c, "name": report.service_name(c), **_tally(t)} for c, t in report.services.items()],
        "counters": [{"id": c or None, "name": report.counter_name(c), **_tally(t)}
                     for c, t in report.counters.items()],
        "hours": [{"hour": h, "issued": n} for h, n in enumerate(report.hours)],
        "busiest_hours": report.busiest_hours(),
        "ikm": {**_ikm(report.ikm), "incomplete_surveys": report.incomplete_surveys,
                "by_service": [{"code": c, "name": report.service_name(c), **_ikm(r)}
                               for c, r in report.ikm_by_service.items()]},
        "quick_rating": {**_quick(report.quick),
                         "by_service": [{"code": c, "name": report.service_name(c), **_quick(q)}
                                        for c, q in report.quick_by_service.items()],
                         "by_counter": [{"id": c or None, "name": report.counter_name(c), **_quick(q)}
                                        for c, q in report.quick_by_counter.items()]},
    }


def render_json(report: Report) -> str:
    return json.dumps(to_json_dict(report), ensure_ascii=False, indent=2) + "\n"
