"""Shared pieces of the fault-injection tests: an office without quotas, DB dumps, history checks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support import ALL_SERVICES, NO_QUOTA_SERVICES, counters_toml

SERVICES = NO_QUOTA_SERVICES
COUNTERS = counters_toml({"loket-1": ALL_SERVICES, "loket-2": ALL_SERVICES, "loket-3": ("surat", "umum"),
                          "loket-4": ("adminduk", "umum")})

SERVICE_CODES = ("adminduk", "surat", "umum")
COUNTER_IDS = ("loket-1", "loket-2", "loket-3", "loket-4")

# kind -> (allowed from_state, to_state). The state machine of docs/protocol.md / antre/rules/queue.py.
LEGAL = {
    "issued": ({None}, "waiting"),
    "called": ({"waiting"}, "called"),
    "recalled": ({"called"}, "called"),
    "completed": ({"called"}, "done"),
    "skipped": ({"called"}, "no_show"),
    "transferred": ({"called"}, "waiting"),
    "expired": ({"waiting", "called"}, "expired"),
}
TERMINAL = {"done", "no_show", "expired"}


def connect(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)


def dump(db_path: Path) -> dict:
    """The time-independent content of a database: what a replay must reproduce exactly."""
    with connect(db_path) as db:
        tickets = db.execute(
            "SELECT business_date, number, service_code, issued_service_code, priority_kind, channel, state, "
            "counter_id, call_count, transfer_count FROM tickets ORDER BY id").fetchall()
        events = db.execute(
            "SELECT t.number, e.kind, e.from_state, e.to_state, e.counter_id, e.service_code "
            "FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id ORDER BY e.id").fetchall()
        counters = db.execute(
            "SELECT c.counter_id, c.paused, t.number FROM counter_states c "
            "LEFT JOIN tickets t ON t.id = c.current_ticket_id ORDER BY c.counter_id").fetchall()
        ratings = db.execute(
            "SELECT t.number, r.score, r.counter_id FROM ratings r JOIN tickets t ON t.id = r.ticket_id "
            "ORDER BY r.id").fetchall()
        seq = db.execute("SELECT value FROM meta WHERE key = 'state_seq'").fetchone()
    return {"tickets": tickets, "events": events, "counters": counters, "ratings": ratings,
            "seq": seq[0] if seq else None}


def check_histories(db_path: Path) -> int:
    """Asserts every ticket's events form a legal path ending in its current state. Returns #tickets."""
    with connect(db_path) as db:
        states = dict(db.execute("SELECT id, state FROM tickets"))
        rows = db.execute("SELECT ticket_id, kind, from_state, to_state FROM ticket_events ORDER BY id").fetchall()
    paths: dict[int, list[tuple]] = {}
    for tid, kind, frm, to in rows:
        paths.setdefault(tid, []).append((kind, frm, to))
    assert set(paths) == set(states), "tickets without history, or history without ticket"
    for tid, path in paths.items():
        assert path[0][0] == "issued", f"ticket {tid} does not start with 'issued': {path}"
        current = None
        for kind, frm, to in path:
            assert kind in LEGAL, f"ticket {tid}: unknown event kind {kind}"
            allowed_from, allowed_to = LEGAL[kind]
            assert current not in TERMINAL, f"ticket {tid}: event after terminal state: {path}"
            assert frm == current and frm in allowed_from and to == allowed_to, \
                f"ticket {tid}: illegal step {kind} {frm}->{to} after {current}: {path}"
            current = to
        assert current == states[tid], f"ticket {tid}: history ends in {current}, ticket says {states[tid]}"
    return len(states)
