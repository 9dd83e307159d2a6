"""Opening the database: engine settings that make an acknowledged ticket durable.

SQLite is the default. Every connection runs in WAL mode with
``synchronous=FULL`` (a commit is on disk before the reply is sent, so a ticket
survives a power cut) and a ``busy_timeout``. A PostgreSQL URL works unchanged.
The schema is brought to the newest Alembic revision on every start.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import sessionmaker

from antre.errors import ConfigError, DatabaseUnavailable

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. Checked against antre/storage/migrations by the tests; when the database is already
# there, Alembic (and its few megabytes) is not even imported.
SCHEMA_HEAD = "0013"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    # After a checkpoint the WAL file is cut back to 1 MB, so it does not keep space a full disk needs.
    cur.execute("PRAGMA journal_size_limit=1048576")
    cur.close()


def create_db_engine(url: str) -> Engine:
    """An Engine for ``url`` with Antre's durability settings applied on every connection. Its errors never
    carry a statement's parameters (``hide_parameters``): they are residents' data, and errors get logged."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            if not folder.exists():
                raise ConfigError(f"database folder {folder} does not exist (create it, or set database.url)")
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    return engine


def schema_version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("select version_num from alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Upgrades the schema to the newest revision (a no-op when it already is)."""
    if schema_version(engine) == SCHEMA_HEAD:
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_database(url: str) -> tuple[Engine, sessionmaker]:
    """Engine plus session factory, with the schema migrated. Raises ConfigError when unreachable."""
    engine = create_db_engine(url)
    try:
        migrate(engine)
    except OperationalError as exc:
        path = sqlite_path(url)
        if path is not None and path.exists() and not StorageWatch(engine, url).writable():
            raise not_writable(path) from None
        raise ConfigError(f"cannot open database {make_url(url).render_as_string(hide_password=True)}: "
                          f"{exc.orig}") from None
    return engine, sessionmaker(engine, expire_on_commit=False)


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


# ---------------------------------------------------------------------- health of the storage

OK, LOW, FULL, READ_ONLY = "ok", "low", "full", "read_only"
MB = 1024 * 1024


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


class StorageWatch:
    """Keeps an eye on the disk under a SQLite database: free space, a reserve, writability.

    - ``probe()`` measures free space and whether the file system is read-only; ``state`` is
      ``ok``, ``low`` (less than ``warn_free_mb``), ``full`` or ``read_only``.
    - A *reserve* file of ``reserve_mb`` next to the database is given back when the disk is full
      (``recover``), so the office can finish the day; it is made again once there is room.
    - ``trouble(exc)`` tells whether a failed transaction failed because of the storage, and which way.
    - ``recover(code)``: a full disk gives back the reserve and checkpoints the WAL; a read-only one
      drops every pooled connection (a connection opened read-only stays so) and tests a fresh one.
    For PostgreSQL nothing is measured and everything is ``ok``.
    """

    def __init__(self, engine: Engine, url: str, warn_free_mb: float = 200.0, reserve_mb: float = 20.0):
        self.engine = engine
        self.path = sqlite_path(url)
        self.warn_bytes = int(warn_free_mb * MB)
        self.reserve_bytes = int(reserve_mb * MB)
        self.reserve = self.path.with_name(self.path.name + ".reserve") if self.path else None
        self.state = OK
        self.free_bytes: int | None = None

    # ------------------------------------------------------------------ measuring

    def probe(self) -> str:
        """Measures the disk; makes the reserve when there is room. Returns the new ``state``."""
        if self.path is None:
            return self.state
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return self.state
        self.free_bytes = st.f_bavail * st.f_frsize
        if st.f_flag & os.ST_RDONLY or (self.state == READ_ONLY and not self.writable()):
            self.state = READ_ONLY
            return self.state
        if self.state == READ_ONLY:
            log.warning("the database is writable again")
            self.engine.dispose()
        has_reserve = self.reserve_bytes == 0 or (self.reserve is not None and self.reserve.exists())
        if not has_reserve and self.free_bytes >= 2 * self.reserve_bytes:
            has_reserve = self._make_reserve()
        if not has_reserve or (self.reserve_bytes == 0 and self.free_bytes < MB):
            self.state = FULL       # running on the reserve: finish the day, then make room
        elif self.free_bytes < self.warn_bytes:
            self.state = LOW
        else:
            self.state = OK
        return self.state

    def writable(self) -> bool:
        """Whether a fresh connection can commit a write (one row of ``meta``, ``write_check``).

        A real commit: a file system the kernel turned read-only after an error (ext4 ``emergency_ro``)
        still lets a transaction begin, and ``statvfs`` may not say read-only."""
        if self.path is None:
            return True
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=5)
            try:
                with conn:
                    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('write_check', ?)",
                                 (str(round(time.time())),))
            finally:
                conn.close()
            return True
        except sqlite3.Error:
            return False

    def message(self) -> str:
        """For staff, in Indonesian; empty when all is well."""
        free = "" if self.free_bytes is None else f" (sisa {self.free_bytes / MB:.0f} MB)"
        return {
            LOW: f"Penyimpanan hampir penuh{free}: hapus berkas yang tidak perlu atau ganti kartu SD.",
            FULL: f"Penyimpanan penuh{free}: antrean memakai cadangan terakhir. Kosongkan ruang hari ini.",
            READ_ONLY: "Database tidak bisa ditulis (hanya-baca): antrean tidak bisa berubah. Periksa kartu SD.",
        }.get(self.state, "")

    # ------------------------------------------------------------------ failures

    def trouble(self, exc: BaseException) -> str | None:
        """``storage_full`` / ``storage_read_only`` when ``exc`` came from the storage, else None."""
        if self.path is None:
            return None
        orig = getattr(exc, "orig", exc)
        if not isinstance(orig, (sqlite3.Error, OSError)):
            return None
        code = getattr(orig, "sqlite_errorcode", None) or 0
        primary = code & 0xFF
        if primary == 13 or getattr(orig, "errno", None) == errno.ENOSPC:    # SQLITE_FULL
            self.probe()
            self.state = FULL
            return "storage_full"
        if primary == 8 or getattr(orig, "errno", None) == errno.EROFS:      # SQLITE_READONLY
            self.state = READ_ONLY
            return "storage_read_only"
        if primary in (10, 14):                                              # SQLITE_IOERR, SQLITE_CANTOPEN
            state = self.probe()
            if state == READ_ONLY or not self.writable():
                self.state = READ_ONLY
                return "storage_read_only"
            if self.free_bytes is not None and self.free_bytes < MB:
                self.state = FULL
                return "storage_full"
        return None

    def recover(self, code: str) -> bool:
        """Tries to make the next attempt succeed. True when something changed that may help."""
        if code == "storage_full":
            freed = self._release_reserve()
            return self.checkpoint() or freed
        if code == "storage_read_only":
            self.engine.dispose()   # close every file: a connection opened read-only stays read-only
            return self.writable()
        return False

    def checkpoint(self) -> bool:
        """Moves the WAL into the database and truncates it. True when it succeeded."""
        try:
            with self.engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            return bool(busy is not None and busy[0] == 0)
        except Exception as exc:  # noqa: BLE001 - best effort on a full disk
            log.warning("WAL checkpoint failed: %s", exc)
            return False

    # ------------------------------------------------------------------ the reserve

    def _make_reserve(self) -> bool:
        try:
            with open(self.reserve, "wb") as f:
                f.truncate(0)
                os.posix_fallocate(f.fileno(), 0, self.reserve_bytes)
                os.fsync(f.fileno())
            log.info("storage reserve of %.0f MB made: %s", self.reserve_bytes / MB, self.reserve)
            return True
        except OSError as exc:
            log.warning("cannot make the storage reserve %s: %s", self.reserve, exc)
            try:
                self.reserve.unlink()
            except OSError:
                pass
            return False

    def _release_reserve(self) -> bool:
        if self.reserve is None or not self.reserve.exists():
            return False
        try:
            self.reserve.unlink()
        except OSError:
            return False
        log.error("the disk is full: the %.0f MB storage reserve was given back so the office can finish the day",
                  self.reserve_bytes / MB)
        return True


def check_writable(engine: Engine, url: str) -> None:
    """Raises ConfigError with a clear message when the database cannot be written (checked at start)."""
    watch = StorageWatch(engine, url)
    if watch.path is not None and not watch.writable():
        raise not_writable(watch.path)


def not_writable(path: Path) -> ConfigError:
    """The error for a database the service cannot write: why, and what to do."""
    try:
        read_only_fs = bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        read_only_fs = False
    problem = "is on a read-only file system" if read_only_fs else "is not writable"
    owner = ""
    try:
        st = path.stat()
        owner = f" (file mode {st.st_mode & 0o777:o}, owner uid {st.st_uid}; running as uid {os.geteuid()})"
    except OSError:
        pass
    return ConfigError(f"database {path} {problem}{owner}: the queue service must be able to write it. "
                       f"Fix the permissions (sudo chown antre: {path} {path.parent}) or the disk "
                       "(an SD card turned read-only: check it with fsck), then the service starts again by itself")


#: The tables a reader of the database needs.
NEEDED_TABLES = {"tickets", "ticket_events", "ratings"}


def open_readonly(url: str):
    """A read-only Engine on an existing Antre database, checked to hold Antre's tables. Never creates
    anything (reports, the staff page). Raises :class:`~antre.errors.DatabaseUnavailable`."""
    from sqlalchemy import create_engine, event, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"'{url}' bukan URL database yang valid (not a valid database URL)") from None
    shown = parsed.render_as_string(hide_password=True)
    try:
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database
            if not path or path == ":memory:":
                raise DatabaseUnavailable(f"{shown}: laporan butuh file database (a report needs a database file)")
            if not Path(path).is_file():
                raise DatabaseUnavailable(f"file database {path} tidak ada; periksa database.url atau --db-url "
                                  f"(database file does not exist)")
            engine = create_engine(url, connect_args={"timeout": 5}, hide_parameters=True)

            @event.listens_for(engine, "connect")
            def _read_only(dbapi_conn, _record) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout=5000")
                cur.execute("PRAGMA query_only=ON")
                cur.close()
        else:
            engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
        names = set(inspect(engine).get_table_names())
    except (DBAPIError, NoSuchModuleError, ImportError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(f"database {shown} tidak dapat dibuka (cannot open database): {reason}") from None
    missing = NEEDED_TABLES - names
    if missing:
        raise DatabaseUnavailable(f"database {shown} tidak berisi data Antre (has no Antre data: "
                          f"tables {', '.join(sorted(missing))} missing); jalankan 'antre serve' sekali "
                          f"untuk membuatnya")
    return engine
