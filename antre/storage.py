"""Opening the database: engine settings that make an acknowledged ticket durable.

SQLite is the default. Every connection runs in WAL mode with
``synchronous=FULL`` (a commit is on disk before the reply is sent, so a ticket
survives a power cut) and a ``busy_timeout``. A PostgreSQL URL works unchanged.
The schema is brought to the newest Alembic revision on every start.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import sessionmaker

from .errors import ConfigError

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration. Checked against antre/migrations by the tests; when the database is already
# there, Alembic (and its few megabytes) is not even imported.
SCHEMA_HEAD = "0002"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def create_db_engine(url: str) -> Engine:
    """An Engine for ``url`` with Antre's durability settings applied on every connection."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            if not folder.exists():
                raise ConfigError(f"database folder {folder} does not exist (create it, or set database.url)")
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
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
        raise ConfigError(f"cannot open database {make_url(url).render_as_string(hide_password=True)}: "
                          f"{exc.orig}") from None
    return engine, sessionmaker(engine, expire_on_commit=False)


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
