"""Storage: durable SQLite settings, migrations that match the models, PostgreSQL unchanged."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from antre import config
from antre.storage.models import Base
from antre.service.server import QueueServer
from antre.storage import open_database, table_names
from tests.support import Postgres, TestClient, service_config, write_config


def test_sqlite_connections_are_durable(tmp_path):
    engine, _ = open_database(f"sqlite:///{tmp_path}/a.db")
    with engine.connect() as conn:
        assert conn.execute(text("pragma journal_mode")).scalar() == "wal"
        assert conn.execute(text("pragma synchronous")).scalar() == 2   # FULL
        assert conn.execute(text("pragma busy_timeout")).scalar() == 5000
        assert conn.execute(text("pragma foreign_keys")).scalar() == 1


def test_migrations_create_exactly_the_models(tmp_path):
    engine, _ = open_database(f"sqlite:///{tmp_path}/a.db")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert "alembic_version" in table_names(engine)


def test_migrating_twice_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path}/a.db"
    open_database(url)
    open_database(url)
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from antre.storage import MIGRATIONS, SCHEMA_HEAD
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head == SCHEMA_HEAD   # storage skips Alembic when a database is at SCHEMA_HEAD
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [(head,)]


def test_hot_path_query_uses_the_index(tmp_path):
    open_database(f"sqlite:///{tmp_path}/a.db")
    with sqlite3.connect(tmp_path / "a.db") as db:
        plan = " ".join(r[-1] for r in db.execute(
            "explain query plan select * from tickets where business_date = '2026-11-30' and state = 'waiting' "
            "and service_code in ('a', 'b') order by priority desc, issued_at, id limit 1"))
    assert "ix_ticket_queue" in plan and "SCAN tickets" not in plan


@pytest.fixture(scope="module")
def postgres():
    if Postgres.bindir() is None:
        pytest.skip("PostgreSQL server not installed (the README's test command installs it)")
    pg = Postgres().start()
    yield pg
    pg.stop()


@pytest.mark.postgres
def test_the_queue_works_unchanged_on_postgresql(postgres, broker, tmp_path):
    path = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "unused.db")
    cfg = service_config(path)
    cfg = cfg.replace(database=config.DatabaseConfig(url=postgres.url))
    server = QueueServer(cfg)
    server.start()
    c = TestClient(broker.url, cfg.office.id).start()
    try:
        c.wait_state(lambda s: True)
        assert c.ok("issue_ticket", service="adminduk")["number"] == "A-001"
        assert c.ok("issue_ticket", service="adminduk", priority="ibu_hamil")["number"] == "A-002"
        assert c.ok("call_next", counter="loket-1")["number"] == "A-002"
        c.ok("complete", counter="loket-1")
        c.ok("rate", ticket="A-002", score=4)
        rid = uuid.uuid4().hex
        first = c.request("issue_ticket", request_id=rid, service="surat")
        assert c.request("issue_ticket", request_id=rid, service="surat").result == first.result
        st = c.wait_state(lambda s: s["services"][1]["waiting"] == 1)
        assert st["services"][0]["waiting"] == 1 and st["last_calls"][0]["number"] == "A-002"
        with server.engine.connect() as conn:
            assert conn.execute(text("select count(*) from tickets")).scalar() == 3
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        c.stop()
        server.stop()


def test_a_database_error_never_carries_the_rows_values(tmp_path):
    """The service logs storage errors ('storage trouble (storage_full: ...)', internal errors with their
    traceback): SQLAlchemy's message lists the statement's parameters, which are a resident's name, NIK, phone
    or complaint text. The engine hides them: the log keeps the statement, never the values."""
    import sqlalchemy.exc

    engine, _ = open_database(f"sqlite:///{tmp_path}/a.db")
    nik = "3201234567890001"
    with pytest.raises(sqlalchemy.exc.StatementError) as exc:
        with engine.begin() as conn:
            conn.execute(text("insert into no_such_table (nik) values (:nik)"), {"nik": nik})
    assert "no_such_table" in str(exc.value) and nik not in str(exc.value) and nik not in repr(exc.value)
