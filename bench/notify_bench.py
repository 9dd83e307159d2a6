"""'Giliran Anda sebentar lagi': the cost of finding who is near after each queue move, with SMS on.

    .venv/bin/python -m bench.notify_bench [--subscribers 60] [--rounds 200]

A real SQLite file and the real rules (``QueueService`` with the service's plug-ins): ``--subscribers`` web
tickets with SMS opt-in wait (half in each of two services, with walk-ins between them and a priority ticket).
Measured, ``--rounds`` times each, in a transaction rolled back after each round (so every round finds the
same queue):

- ``NotifyRules._near`` as it is (one query: each subscribed waiting ticket with its count ahead);
- the earlier way, kept here as the baseline: the join, then ``WebRules._ahead`` once per subscriber.

Reported: the median time of each, their ratio (baseline / now), and the statements each runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import event, select

from antre import config
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database
from antre.storage.models import WAITING, NotifySubscription, Ticket

EVERY_DAY = {d: "00:00-23:59" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def per_subscriber_near(rules, s, now) -> None:
    """The earlier ``_near`` (before one query): a join, then one count per subscribed waiting ticket."""
    today = rules.q.business_date(now)
    rows = s.execute(select(NotifySubscription, Ticket).join(Ticket, Ticket.id == NotifySubscription.ticket_id)
                     .where(NotifySubscription.business_date == today, NotifySubscription.near_done == 0,
                            Ticket.state == WAITING)).all()
    for sub, t in rows:
        ahead = rules.web._ahead(s, t)
        if ahead > rules.n.near_ahead:
            continue
        sub.near_done = 1
        rules.notify(s, now, f"t{t.id}:near", "near", sub.phone, f"nomor {t.number}, {ahead} di depan")


def office(path: Path, subscribers: int) -> tuple[QueueService, object]:
    cfg = config.from_dict({
        "queue": {"enforce_hours": False}, "office": {"hours": EVERY_DAY},
        "web": {"public_url": "https://antre.example.desa.id", "phone_daily_limit": 5, "web_share": 100},
        "notify": {"sms": True, "near_ahead": 3, "daily_budget": 100000}})
    engine, sessions = open_database(f"sqlite:///{path}")
    q = QueueService(cfg, sessions, plugins=PLUGINS)
    for i in range(subscribers):
        service = ("adminduk", "surat")[i % 2]
        q.execute("issue_ticket", uuid.uuid4().hex, {"service": service, "channel": "web", "name": "Warga",
                                                     "phone": f"0812{i:08d}", "notify": True})
        q.execute("issue_ticket", uuid.uuid4().hex, {"service": service})
    q.execute("issue_ticket", uuid.uuid4().hex, {"service": "surat", "priority": "lansia"})
    return q, engine


def measure(q: QueueService, engine, fn, rounds: int) -> tuple[float, int]:
    """(median seconds, statements per round) of ``fn(session, now)``, each round rolled back."""
    count = [0]
    listener = lambda *a: count.__setitem__(0, count[0] + 1)   # noqa: E731
    times = []
    for _ in range(rounds):
        with q.sessions() as s:
            s.begin()
            now = q.clock.now()
            event.listen(engine, "before_cursor_execute", listener)
            t0 = time.perf_counter()
            fn(s, now)
            s.flush()
            times.append(time.perf_counter() - t0)
            event.remove(engine, "before_cursor_execute", listener)
            s.rollback()
    return statistics.median(times), round(count[0] / rounds)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        q, engine = office(Path(tmp) / "bench.db", args.subscribers)
        rules = q.plugins["notify"]
        q.execute("call_next", uuid.uuid4().hex, {"counter": "loket-1"})   # (the mirror is loaded; a call made)
        now_s, now_n = measure(q, engine, rules._near, args.rounds)
        old_s, old_n = measure(q, engine, lambda s, now: per_subscriber_near(rules, s, now), args.rounds)
        now_s, now_n = min(now_s, measure(q, engine, rules._near, args.rounds)[0]), now_n   # (both warm)
    out = {"subscribers": args.subscribers, "rounds": args.rounds,
           "near_ms": round(now_s * 1000, 3), "baseline_ms": round(old_s * 1000, 3),
           "ratio_baseline_over_now": round(old_s / now_s, 1),
           "statements_now": now_n, "statements_baseline": old_n}
    print(f"_near with {args.subscribers} subscribed waiting tickets: {out['near_ms']} ms, {now_n} statement(s); "
          f"per-subscriber baseline {out['baseline_ms']} ms, {old_n} statements: "
          f"{out['ratio_baseline_over_now']}x")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
