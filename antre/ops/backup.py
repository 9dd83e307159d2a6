"""``antre backup`` and ``antre restore``: a consistent copy of the SQLite database, and back.

The copy uses SQLite's online backup API, so it is consistent even while ``antre serve`` keeps
writing. A restore first checks the backup (integrity, an Antre schema), keeps a copy of the
database it replaces, then copies the backup in with the same API.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy.engine import make_url

from antre import config
from antre.errors import AntreError


class BackupError(AntreError, OSError):
    """A backup or restore could not be made; the message says why and what to do."""


def sqlite_path(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError("antre backup copies SQLite databases; for PostgreSQL use pg_dump / pg_restore")
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("the database is in memory; there is nothing to back up")
    return Path(parsed.database)


def check_backup(path: Path) -> int:
    """Raises BackupError unless ``path`` is an intact Antre database. Returns its ticket count."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            if db.execute("pragma integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{path}: the file is damaged (integrity check failed)")
            tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
            if not {"tickets", "alembic_version"} <= tables:
                raise BackupError(f"{path}: not an Antre database")
            return db.execute("select count(*) from tickets").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a database ({exc})") from None


def copy_database(source: Path, target: Path) -> None:
    """Consistent copy with the online backup API (safe while the source is being written)."""
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    with sqlite3.connect(target) as dst:
        dst.execute("pragma journal_mode=WAL")


def make_backup(db_url: str, out: Path | None = None, now: datetime | None = None) -> Path:
    source = sqlite_path(db_url)
    if not source.is_file():
        raise BackupError(f"{source}: database not found (is database.url right?)")
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = Path(out) if out else source.parent / "backups" / f"antre-{stamp}.db"
    if target.is_dir():
        target = target / f"antre-{stamp}.db"
    if target.exists():
        raise BackupError(f"{target}: already exists; choose another --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_database(source, target)
    check_backup(target)
    return target


def restore_backup(backup: Path, db_url: str, now: datetime | None = None) -> tuple[int, Path | None]:
    """Replaces the database with ``backup``. Returns the ticket count and where the old database was kept."""
    tickets = check_backup(backup)
    target = sqlite_path(db_url)
    kept = None
    if target.exists():
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        kept = target.with_name(f"{target.stem}.before-restore-{stamp}{target.suffix}")
        copy_database(target, kept)
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return tickets, kept


def _db_url(args: argparse.Namespace) -> str:
    return args.db_url or config.load(args.config).database.effective_url


def _backup_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", help="database URL (default: [database] url of the configuration)")
    parser.add_argument("--out", type=Path, help="backup file or folder (default: backups/ beside the database)")


def _backup_run(args: argparse.Namespace) -> int:
    path = make_backup(_db_url(args), args.out)
    print(path)
    return 0


def _restore_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("backup", type=Path, help="a file written by 'antre backup'")
    parser.add_argument("--db-url", help="database URL (default: [database] url of the configuration)")
    parser.add_argument("--yes", action="store_true", help="do not ask before replacing the database")


def _restore_run(args: argparse.Namespace) -> int:
    url = _db_url(args)
    tickets = check_backup(args.backup)
    if not args.yes:
        if not sys.stdin.isatty():
            raise BackupError("restore replaces the database; stop 'antre serve' first, then run again with --yes")
        answer = input(f"Replace {sqlite_path(url)} with {args.backup} ({tickets} tickets)? "
                       "Stop 'antre serve' first. [y/N] ")
        if answer.strip().lower() not in ("y", "yes", "ya"):
            print("nothing changed")
            return 1
    tickets, kept = restore_backup(args.backup, url)
    print(f"restored {tickets} tickets from {args.backup}" + (f"; the previous database is kept in {kept}" if kept else ""))
    return 0


backup = SimpleNamespace(add_arguments=_backup_args, run=_backup_run)
restore = SimpleNamespace(add_arguments=_restore_args, run=_restore_run)
