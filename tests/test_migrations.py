"""Migrations after 0009 (news pictures, chat channels, phone items, questions): one head; an office's
database at 0009 with rows in it upgrades to the head without losing a row, and downgrades back to 0009 and up
again, on SQLite and on PostgreSQL. The tables the migrations alter in batch mode (SQLite copies the whole
table) carry a row each, so a lost or changed row would show."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from antre.storage import MIGRATIONS, SCHEMA_HEAD, create_db_engine, schema_version
from antre.storage.models import Base
from tests.support import Postgres

BASE = "0009"
NEW_TABLES = {"chat_links", "chat_contacts", "phone_codes", "phone_sessions", "faq_entries", "resident_questions"}
# Tables that 0010..head alter (news gains picture, outbox gains delivery/delivery_at).
ALTERED = ("news", "outbox")


def _alembic(conn) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _move(engine, target: str, down: bool = False) -> None:
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(_alembic(conn), target)


def _value(column: sa.Column, i: int):
    t = column.type
    if isinstance(t, sa.Boolean):
        return True
    if isinstance(t, sa.Integer):
        return i
    if isinstance(t, (sa.Float, sa.Numeric)):
        return 1.5
    if isinstance(t, sa.DateTime):
        return dt.datetime(2026, 11, 30, 1, 2, 3)
    if isinstance(t, sa.Date):
        return dt.date(2026, 11, 30)
    if isinstance(t, sa.LargeBinary):
        return b"x"
    length = getattr(t, "length", None) or 40
    return f"v{i}-{column.name}"[:length]


def _fill(engine, table_name: str) -> dict:
    """One row with every column set, as the 0009 schema has it; returns the row as written."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
    row = {c.name: _value(c, n + 1) for n, c in enumerate(table.columns)
           if not (c.primary_key and isinstance(c.type, sa.Integer))}
    with engine.begin() as conn:
        conn.execute(table.insert().values(**row))
    return row


def _rows(engine, table_name: str, columns) -> list[tuple]:
    table = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*(table.c[c] for c in columns)))]


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
        return {n: conn.execute(sa.text(f'select count(*) from "{n}"')).scalar() for n in names}


def test_one_head_and_it_is_the_schema_head():
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_heads() == [SCHEMA_HEAD]
    # every revision after 0009 is on the one line down to it
    line = [r.revision for r in script.walk_revisions(BASE, SCHEMA_HEAD)]
    assert line[0] == SCHEMA_HEAD and line[-1] == BASE and len(line) == len(set(line))


def _round_trip(url: str) -> None:
    engine = create_db_engine(url)
    try:
        _move(engine, BASE)
        assert schema_version(engine) == BASE
        assert not NEW_TABLES & set(sa.inspect(engine).get_table_names())
        written = {t: _fill(engine, t) for t in ALTERED}
        before = _counts(engine)

        _move(engine, "head")
        assert schema_version(engine) == SCHEMA_HEAD
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        after = _counts(engine)
        assert {t: n for t, n in after.items() if t in before} == before
        assert all(after[t] == 0 for t in NEW_TABLES)
        for t, row in written.items():
            assert len(_rows(engine, t, row)) == 1
            _same_row(engine, t, row)
        # the new columns are empty on the old rows
        assert _rows(engine, "news", ["picture"]) == [(None,)]
        assert _rows(engine, "outbox", ["delivery", "delivery_at"]) == [(None, None)]

        _move(engine, BASE, down=True)
        assert schema_version(engine) == BASE
        assert not NEW_TABLES & set(sa.inspect(engine).get_table_names())
        assert _counts(engine) == before
        for t, row in written.items():
            _same_row(engine, t, row)

        _move(engine, "head")
        assert schema_version(engine) == SCHEMA_HEAD
        assert {t: n for t, n in _counts(engine).items() if t in before} == before
    finally:
        engine.dispose()


def _same_row(engine, table_name: str, row: dict) -> None:
    """The row reads back as written (times compared without their zone: PostgreSQL may add one)."""
    [got] = _rows(engine, table_name, row)
    for value, (name, sent) in zip(got, row.items()):
        if isinstance(value, dt.datetime):
            value = value.replace(tzinfo=None)
        assert value == sent, (table_name, name, value, sent)


def test_sqlite_upgrades_from_0009_with_data_and_downgrades(tmp_path):
    _round_trip(f"sqlite:///{tmp_path}/office.db")


@pytest.fixture(scope="module")
def postgres():
    if Postgres.bindir() is None:
        pytest.skip("PostgreSQL server not installed (the README's test command installs it)")
    pg = Postgres().start()
    yield pg
    pg.stop()


@pytest.mark.postgres
def test_postgresql_upgrades_from_0009_with_data_and_downgrades(postgres):
    _round_trip(postgres.url)
