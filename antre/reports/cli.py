"""``antre report``: statistics and the IKM for a period, as text, JSON, CSV, PNG or PDF.

The database is only read: no migration runs, and SQLite connections are set
to ``query_only``. Heavy imports (matplotlib, fpdf2) happen inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from antre.reports import ReportError
from antre.reports.tables import default_place  # noqa: F401 (the --place default)

FORMATS = ("text", "json", "csv", "csv-id", "pdf", "png")
PROGRESS_MIN_DAYS = 32  # a progress bar for ranges longer than a month


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' bukan tanggal yang valid; gunakan YYYY-MM-DD, misalnya 2026-11-30 "
            f"(not a valid date; use YYYY-MM-DD)") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", type=_date, required=True, metavar="YYYY-MM-DD",
                        help="first business day of the period")
    parser.add_argument("--to", dest="end", type=_date, metavar="YYYY-MM-DD",
                        help="last business day, inclusive (default: the same as --from)")
    parser.add_argument("--db-url", metavar="URL", help="database URL (default: database.url of the configuration)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (default, to the terminal), json, csv (a folder of files for programs), "
                             "csv-id (the same for a spreadsheet set to Indonesian: Indonesian headings, ';', "
                             "decimal comma), "
                             "png (a folder of charts) or pdf (the printable report)")
    parser.add_argument("--out", metavar="PATH",
                        help="file (text, json, pdf) or folder (csv, csv-id, png) to write; text and json default to "
                             "standard output, the others to a name with the period in the current folder")
    parser.add_argument("--place", help="place on the PDF signature line (default: from the office name)")
    parser.add_argument("--signer", default="", help="name printed under the PDF signature (default: [report] "
                                                     "signer_name, else a dotted line)")
    parser.add_argument("--signer-title", default="", help="the signer's position (default: [report] signer_title)")
    parser.add_argument("--signer-nip", default="", help="the signer's staff number (default: [report] signer_nip)")


def _write_folder(folder: Path, fmt: str, write):
    """``write(folder)`` for a format that writes one folder of files; its refusals as report errors."""
    if folder.exists() and not folder.is_dir():
        raise ReportError(f"{folder} sudah ada dan bukan folder; --format {fmt} menulis satu folder "
                          f"(exists and is not a folder)")
    try:
        return write(folder)
    except OSError as exc:
        raise ReportError(f"tidak dapat menulis {folder} (cannot write): {exc.strerror}") from None


def open_readonly(url: str):
    """:func:`antre.storage.open_readonly`, its refusal worded as a report error."""
    from antre.errors import DatabaseUnavailable
    from antre.storage import open_readonly as open_database_readonly

    try:
        return open_database_readonly(url)
    except DatabaseUnavailable as exc:
        raise ReportError(str(exc)) from None


class ProgressBar:
    """A one-line bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream = stream
        self.width = width
        self.drawn = False

    def __call__(self, done: int, total: int, day: date) -> None:
        filled = self.width * done // total
        self.stream.write(f"\rMembaca data [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done}/{total} hari ({day.isoformat()})")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """Erases the bar, so the terminal shows only the report."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _target(args: argparse.Namespace, suffix: str) -> Path:
    name = f"laporan-antre-{args.start.isoformat()}_{args.end.isoformat()}{suffix}"
    if not args.out:
        return Path(name)
    out = Path(args.out)
    if suffix.endswith(".pdf") and out.is_dir():
        return out / name
    return out


def _write(path: Path, data: str | bytes) -> None:
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"tidak dapat menulis {path} (cannot write): {exc.strerror}") from None


def run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm import Session

    from antre import config
    from antre.reports.stats import build_report, data_range
    from antre.reports.tables import period_text, render_json, render_text, write_csv_dir

    if args.end is None:
        args.end = args.start
    if args.start > args.end:
        raise ReportError(f"--from {args.start} sesudah --to {args.end}; tanggal awal harus sebelum "
                          f"tanggal akhir (--from is after --to)")
    cfg = config.load(args.config)
    engine = open_readonly(args.db_url or cfg.database.effective_url)
    tz = cfg.office.tz
    n_days = (args.end - args.start).days + 1
    bar = ProgressBar() if n_days >= PROGRESS_MIN_DAYS and sys.stderr.isatty() else None
    try:
        with Session(engine) as session:
            report = build_report(
                session, args.start, args.end, tz=tz, office_name=cfg.office.name,
                office_address=cfg.office.address,
                service_names={s.code: s.name for s in cfg.services},
                counter_names={c.id: c.name for c in cfg.counters},
                letter_names={t.code: t.name for t in cfg.letters.types},
                complaint_topics=cfg.complaints.topics, progress=bar)
            known = data_range(session) if report.is_empty else None
    except DBAPIError as exc:
        raise ReportError(f"gagal membaca database (cannot read the database): {exc.orig}") from None
    finally:
        if bar is not None:
            bar.close()
        engine.dispose()

    if report.is_empty:
        hint = (f"; database berisi data {known[0].isoformat()} s.d. {known[1].isoformat()}" if known
                else "; database belum berisi tiket")
        raise ReportError(f"tidak ada tiket atau penilaian pada {period_text(report)}{hint} "
                          f"(no tickets or ratings in this period)")

    fmt = args.format
    if fmt in ("text", "json"):
        text = render_text(report) if fmt == "text" else render_json(report)
        if args.out:
            _write(Path(args.out), text)
            print(f"Laporan ditulis ke {args.out}")
        else:
            sys.stdout.write(text)
        return 0
    if fmt in ("csv", "csv-id"):
        from antre.reports.tables import MACHINE, SPREADSHEET_ID

        form = MACHINE if fmt == "csv" else SPREADSHEET_ID
        paths = _write_folder(_target(args, "-" + fmt), fmt, lambda folder: write_csv_dir(report, folder, form))
    elif fmt == "png":
        from antre.reports.charts import write_charts

        paths = _write_folder(_target(args, "-grafik"), fmt, lambda folder: write_charts(report, folder))
        if report.ikm.index is None:
            print("Catatan: belum ada responden survei IKM, grafik IKM tidak dibuat "
                  "(no IKM survey answers: no IKM chart).", file=sys.stderr)
    else:
        from antre.reports.pdf import Signer, render_pdf

        path = _target(args, ".pdf")
        signed_on = datetime.now(tz).date()
        data = render_pdf(report, place=args.place or cfg.report.place or default_place(cfg.office.name),
                          signed_on=signed_on, signer=Signer.from_config(cfg.report, name=args.signer,
                                                                         title=args.signer_title, nip=args.signer_nip))
        _write(path, data)
        paths = [path]
    for p in paths:
        print(p)
    return 0
