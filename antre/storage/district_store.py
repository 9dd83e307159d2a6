"""The district's store: every office's outbox rows in PostgreSQL, exactly once per (office, seq).

Used by ``antre hub`` (the ingester, any number of instances at once) and the district dashboard (read-only).
PostgreSQL is the single truth: instances share nothing else. Each batch is one transaction:

1. the rows, ``INSERT ... ON CONFLICT (office_id, seq) DO NOTHING`` (a row delivered twice, by the bridge's
   QoS 1, a resend, or two instances, is kept once);
2. per office touched, in office order (no deadlock between instances), its bookkeeping row locked
   ``FOR UPDATE``: ``contiguous`` (every row up to it is here) moves up over the rows now present, and the
   first gap above it -- between rows, or up to the office's head -- is what to ask for again.

Only psycopg (3) and SQL: nothing here knows MQTT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS district_events (
    office_id     text        NOT NULL,
    seq           bigint      NOT NULL,
    kind          text        NOT NULL,
    at            timestamptz NOT NULL,
    business_date date        NOT NULL,
    data          jsonb       NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (office_id, seq)
);
CREATE INDEX IF NOT EXISTS ix_district_events_day ON district_events (business_date, office_id, kind);
CREATE TABLE IF NOT EXISTS district_offices (
    office_id        text PRIMARY KEY,
    contiguous       bigint NOT NULL DEFAULT 0,
    max_seq          bigint NOT NULL DEFAULT 0,
    head             bigint NOT NULL DEFAULT 0,
    last_heard       timestamptz,
    resend_asked_at  timestamptz,
    resend_from      bigint,
    resend_to        bigint,
    resends          bigint NOT NULL DEFAULT 0
);
"""
#: Ask an office for the same missing rows again only after this many seconds (its answer may be on the way).
RESEND_AFTER = 10.0
RESEND_MAX = 2000
_SCHEMA_LOCK = 0x616e747265   # pg_advisory_xact_lock key: two hubs starting together create the tables once


def plain_url(url: str) -> str:
    """A SQLAlchemy-style ``postgresql+psycopg://`` URL as libpq takes it."""
    for prefix in ("postgresql+psycopg://", "postgres+psycopg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Row:
    """One outbox row as received (``office`` from the topic, never from the payload)."""

    office: str
    seq: int
    kind: str
    at: datetime
    business_date: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Resend:
    """Rows ``first`` .. ``last`` of ``office`` to ask for again."""

    office: str
    first: int
    last: int


def connect(url: str):
    import psycopg
    return psycopg.connect(plain_url(url), autocommit=False)


def create_schema(conn) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        conn.execute(SCHEMA)


def _gap(cur, office: str, contiguous: int, head: int) -> tuple[int, tuple[int, int] | None]:
    """``(new contiguous, range to ask for or None)`` for ``office`` whose rows up to ``contiguous`` are all here
    (``head``: the greatest number known, from the office's head or its rows)."""
    cur.execute("SELECT 1 FROM district_events WHERE office_id = %s AND seq = %s", (office, contiguous + 1))
    if cur.fetchone() is not None:
        # The end of the run that starts at contiguous + 1: the first row without a successor.
        cur.execute("""SELECT e.seq FROM district_events e
                       WHERE e.office_id = %s AND e.seq > %s
                         AND NOT EXISTS (SELECT 1 FROM district_events n
                                         WHERE n.office_id = e.office_id AND n.seq = e.seq + 1)
                       ORDER BY e.seq LIMIT 1""", (office, contiguous))
        contiguous = cur.fetchone()[0]
    if head > contiguous:
        # Everything from the first missing row up to the head: rows already here come again and are skipped,
        # but when many gaps are scattered (an instance killed mid-batch took every other row with it) one
        # request repairs them all instead of one request per gap.
        return contiguous, (contiguous + 1, head)
    return contiguous, None


def ingest(conn, rows: Iterable[Row], heads: dict[str, int] | None = None, *,
           now: datetime | None = None, resend_after: float = RESEND_AFTER) -> tuple[int, list[Resend]]:
    """Writes ``rows`` (and offices' ``heads``) in one transaction; returns ``(rows new, resends to ask)``.

    Idempotent: a row already stored is skipped. A resend is returned at most once per ``resend_after``
    seconds per office, across every instance (decided under the office's row lock)."""
    now = now or datetime.now(timezone.utc)
    rows = list(rows)
    heads = dict(heads or {})
    offices = sorted({r.office for r in rows} | set(heads))
    resends: list[Resend] = []
    inserted = 0
    with conn.transaction(), conn.cursor() as cur:
        if offices:
            # Bookkeeping rows first, then locked in one order: two instances never wait on each other in a cycle.
            cur.executemany("INSERT INTO district_offices (office_id) VALUES (%s) ON CONFLICT DO NOTHING",
                            [(o,) for o in offices])
            cur.execute("SELECT office_id, contiguous, max_seq, head, resend_asked_at FROM district_offices "
                        "WHERE office_id = ANY(%s) ORDER BY office_id FOR UPDATE", (offices,))
            book = {r[0]: r[1:] for r in cur.fetchall()}
        if rows:
            cur.execute(
                """INSERT INTO district_events (office_id, seq, kind, at, business_date, data)
                   SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::timestamptz[], %s::date[],
                                        %s::jsonb[])
                   ON CONFLICT (office_id, seq) DO NOTHING""",
                ([r.office for r in rows], [r.seq for r in rows], [r.kind for r in rows], [r.at for r in rows],
                 [r.business_date for r in rows], [json.dumps(r.data) for r in rows]))
            inserted = cur.rowcount
        top: dict[str, int] = {}
        for r in rows:
            top[r.office] = max(top.get(r.office, 0), r.seq)
        for office in offices:
            contiguous, max_seq, head, asked_at = book[office]
            max_seq = max(max_seq, top.get(office, 0))
            head = max(head, heads.get(office, 0), max_seq)
            contiguous, gap = _gap(cur, office, contiguous, head)
            ask = gap is not None and (asked_at is None or (now - asked_at).total_seconds() >= resend_after)
            if ask:
                first, last = gap
                last = min(last, first + RESEND_MAX - 1)
                resends.append(Resend(office, first, last))
                cur.execute("""UPDATE district_offices SET contiguous = %s, max_seq = %s, head = %s, last_heard = %s,
                               resend_asked_at = %s, resend_from = %s, resend_to = %s, resends = resends + 1
                               WHERE office_id = %s""", (contiguous, max_seq, head, now, now, first, last, office))
            else:
                cur.execute("""UPDATE district_offices SET contiguous = %s, max_seq = %s, head = %s, last_heard = %s
                               WHERE office_id = %s""", (contiguous, max_seq, head, now, office))
    return inserted, resends


def sweep(conn, *, now: datetime | None = None, resend_after: float = RESEND_AFTER, limit: int = 200) -> list[Resend]:
    """Offices still missing rows whose last request is older than ``resend_after``: asked again. Offices
    another instance is working on right now are skipped (``SKIP LOCKED``)."""
    now = now or datetime.now(timezone.utc)
    resends: list[Resend] = []
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("""SELECT office_id, contiguous, head FROM district_offices
                       WHERE contiguous < greatest(head, max_seq)
                         AND (resend_asked_at IS NULL OR resend_asked_at <= %s - make_interval(secs => %s))
                       ORDER BY office_id LIMIT %s FOR UPDATE SKIP LOCKED""", (now, resend_after, limit))
        for office, contiguous, head in cur.fetchall():
            contiguous, gap = _gap(cur, office, contiguous, head)
            if gap is None:
                cur.execute("UPDATE district_offices SET contiguous = %s WHERE office_id = %s", (contiguous, office))
                continue
            first, last = gap[0], min(gap[1], gap[0] + RESEND_MAX - 1)
            resends.append(Resend(office, first, last))
            cur.execute("""UPDATE district_offices SET contiguous = %s, resend_asked_at = %s, resend_from = %s,
                           resend_to = %s, resends = resends + 1 WHERE office_id = %s""",
                        (contiguous, now, first, last, office))
    return resends


# ---------------------------------------------------------------------- the dashboard's reads

STAFF_SCHEMA = """
CREATE TABLE IF NOT EXISTS district_staff (
    name          text PRIMARY KEY,
    full_name     text NOT NULL,
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS district_sessions (
    token_hash text PRIMARY KEY,
    name       text NOT NULL REFERENCES district_staff (name),
    expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS district_audit (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL DEFAULT ''
);
"""
_OFFICES_SQL = """
WITH today AS (
    SELECT office_id, seq, kind, at, data FROM district_events
    WHERE business_date = %(day)s AND kind IN ('issued', 'called', 'completed', 'skipped', 'transferred')
), last_kind AS (
    SELECT DISTINCT ON (office_id, data->>'number') office_id, kind
    FROM today ORDER BY office_id, data->>'number', seq DESC
), first_call AS (
    SELECT DISTINCT ON (office_id, data->>'number') office_id,
           extract(epoch FROM at - (data->>'issued_at')::timestamptz) / 60 AS wait_min
    FROM today WHERE kind = 'called' ORDER BY office_id, data->>'number', seq
), ratings AS (
    SELECT office_id, count(*) AS n,
           avg((data->'elements'->>0)::int) e1, avg((data->'elements'->>1)::int) e2,
           avg((data->'elements'->>2)::int) e3, avg((data->'elements'->>3)::int) e4,
           avg((data->'elements'->>4)::int) e5, avg((data->'elements'->>5)::int) e6,
           avg((data->'elements'->>6)::int) e7, avg((data->'elements'->>7)::int) e8,
           avg((data->'elements'->>8)::int) e9
    FROM district_events
    WHERE kind = 'rating' AND business_date >= %(month)s AND business_date <= %(day)s
      AND jsonb_typeof(data->'elements') = 'array'
    GROUP BY office_id
), letters AS (
    SELECT office_id, count(*) AS signed FROM district_events
    WHERE kind = 'letter' AND data->>'status' = 'siap_diambil'
      AND business_date >= %(month)s AND business_date <= %(day)s
    GROUP BY office_id
), stats AS (
    SELECT DISTINCT ON (office_id) office_id, data FROM district_events
    WHERE kind = 'stats' AND business_date > %(day)s - 31   -- an office silent for a month shows no counts
    ORDER BY office_id, seq DESC
)
SELECT o.office_id, o.last_heard, o.contiguous, o.head,
       (SELECT count(*) FROM last_kind l WHERE l.office_id = o.office_id AND l.kind IN ('issued', 'transferred')),
       (SELECT count(*) FROM today t WHERE t.office_id = o.office_id AND t.kind = 'issued'),
       (SELECT avg(wait_min) FROM first_call f WHERE f.office_id = o.office_id),
       r.n, r.e1, r.e2, r.e3, r.e4, r.e5, r.e6, r.e7, r.e8, r.e9,
       coalesce(l.signed, 0), s.data
FROM district_offices o
LEFT JOIN ratings r ON r.office_id = o.office_id
LEFT JOIN letters l ON l.office_id = o.office_id
LEFT JOIN stats s ON s.office_id = o.office_id
ORDER BY o.office_id
"""


def create_staff_schema(conn) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK + 1,))
        conn.execute(SCHEMA + STAFF_SCHEMA)


def offices_overview(conn, day, month_start) -> list[dict[str, Any]]:
    """One dict per office: last heard, rows missing, waiting now, tickets today, mean wait (minutes, first call
    minus issue), IKM elements' means this month (``elements``: nine means or None) and ratings counted,
    letters signed this month, the latest counts (letters, complaints)."""
    out = []
    for r in conn.execute(_OFFICES_SQL, {"day": day, "month": month_start}).fetchall():
        counts = (r[18] or {}).get("counts", {}) if isinstance(r[18], dict) else {}
        out.append({
            "office": r[0], "last_heard": r[1], "missing": max(0, (r[3] or 0) - (r[2] or 0)),
            "waiting": r[4], "tickets_today": r[5], "avg_wait": float(r[6]) if r[6] is not None else None,
            "ratings": r[7] or 0,
            "elements": [float(x) for x in r[8:17]] if r[7] else None,
            "letters_signed": r[17], "letters": counts.get("letters") or {}, "complaints": counts.get("complaints") or {},
        })
    return out


def office_days(conn, office: str, first, last) -> list[tuple]:
    """``(day, issued, completed, skipped)`` per business day of ``office`` from ``first`` to ``last``."""
    return conn.execute(
        """SELECT business_date, count(*) FILTER (WHERE kind = 'issued'), count(*) FILTER (WHERE kind = 'completed'),
                  count(*) FILTER (WHERE kind = 'skipped')
           FROM district_events WHERE office_id = %s AND business_date BETWEEN %s AND %s
             AND kind IN ('issued', 'completed', 'skipped')
           GROUP BY business_date ORDER BY business_date""", (office, first, last)).fetchall()


def office_services(conn, office: str, day) -> list[tuple]:
    """``(service, issued, completed, skipped)`` of ``office`` on ``day``."""
    return conn.execute(
        """SELECT data->>'service', count(*) FILTER (WHERE kind = 'issued'),
                  count(*) FILTER (WHERE kind = 'completed'), count(*) FILTER (WHERE kind = 'skipped')
           FROM district_events WHERE office_id = %s AND business_date = %s
             AND kind IN ('issued', 'completed', 'skipped')
           GROUP BY 1 ORDER BY 1""", (office, day)).fetchall()


__all__ = ["Row", "Resend", "connect", "create_schema", "ingest", "sweep", "plain_url", "SCHEMA",
           "create_staff_schema", "offices_overview", "office_days", "office_services"]
