"""Fills a database with closed tickets from past business days, fast.

The schema comes from :func:`antre.storage.open_database` (Alembic, exactly as
the service creates it); the rows go in with plain ``executemany`` on the raw
DB-API connection, in the storage format SQLAlchemy uses (dates
``YYYY-MM-DD``, naive-UTC datetimes ``YYYY-MM-DD HH:MM:SS.ffffff``). Each
ticket gets a realistic history: issued, called, then done / no_show /
expired, i.e. three ``ticket_events`` rows.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from antre.storage import open_database

PER_DAY = 300
SERVICES = (("A", "adminduk"), ("B", "surat"), ("C", "umum"))
COUNTERS = ("loket-1", "loket-2", "loket-3", "loket-4")
FMT = "%Y-%m-%d %H:%M:%S.%f"


def seed_history(db_url: str, tickets: int, *, before: date | None = None, chunk: int = 50_000) -> None:
    """Writes ``tickets`` closed tickets on the business days before ``before`` (default today)."""
    engine, _ = open_database(db_url)
    rng = random.Random(7)
    before = before or date.today()
    days = -(-tickets // PER_DAY)
    first = before - timedelta(days=days)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            cur.execute("PRAGMA synchronous=OFF")  # seeding only; the service uses FULL
        ph = "?" if sqlite else "%s"
        t_sql = (f"INSERT INTO tickets (id, business_date, prefix, seq, number, service_code, issued_service_code, "
                 f"priority, priority_kind, channel, state, counter_id, issued_at, first_called_at, called_at, "
                 f"finished_at, call_count, transfer_count) VALUES ({', '.join([ph] * 18)})")
        e_sql = (f"INSERT INTO ticket_events (ticket_id, at, kind, from_state, to_state, counter_id, service_code) "
                 f"VALUES ({', '.join([ph] * 7)})")
        tid = 0
        t_rows, e_rows = [], []
        seqs: dict[tuple[date, str], int] = {}
        for n in range(tickets):
            day = first + timedelta(days=n // PER_DAY)
            prefix, code = SERVICES[n % 3]
            seq = seqs.get((day, prefix), 0) + 1
            seqs[(day, prefix)] = seq
            tid += 1
            issued = datetime(day.year, day.month, day.day, 1, 0) + timedelta(seconds=n % PER_DAY * 60)
            called = issued + timedelta(seconds=rng.randint(60, 3600))
            finished = called + timedelta(seconds=rng.randint(60, 900))
            r = rng.random()
            end = ("done", "completed") if r < 0.9 else ("no_show", "skipped") if r < 0.97 else ("expired", "expired")
            counter = COUNTERS[n % 4]
            ts = lambda d: d.strftime(FMT)  # noqa: E731
            t_rows.append((tid, day.isoformat(), prefix, seq, f"{prefix}-{seq:06d}", code, code, 0, None, "kiosk",
                           end[0], counter, ts(issued), ts(called), ts(called), ts(finished), 1, 0))
            e_rows.append((tid, ts(issued), "issued", None, "waiting", None, code))
            e_rows.append((tid, ts(called), "called", "waiting", "called", counter, code))
            e_rows.append((tid, ts(finished), end[1], "called", end[0], counter, code))
            if len(t_rows) >= chunk:
                cur.executemany(t_sql, t_rows)
                cur.executemany(e_sql, e_rows)
                raw.commit()
                t_rows, e_rows = [], []
                seqs = {k: v for k, v in seqs.items() if k[0] == day}
        if t_rows:
            cur.executemany(t_sql, t_rows)
            cur.executemany(e_sql, e_rows)
        raw.commit()
        if sqlite:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            cur.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), %s)", (tid,))
            raw.commit()
        cur.close()
    finally:
        raw.close()
        engine.dispose()
