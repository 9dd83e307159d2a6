"""A simulated month: 30 business days of random valid traffic on an accelerated clock.

The queue server runs in-process with a :class:`~antre.clock.ManualClock`, but
every command still travels over MQTT through a real broker. The test keeps
its own model of every ticket (from the replies alone) and checks that:

- numbering restarts each business day (the first ticket of each prefix is 001);
- tickets still open at the end of a day are closed as ``expired`` by the next
  day's first command, and nothing from an earlier day stays open;
- every ticket's history (``ticket_events``) is a legal path through the state
  machine ending in its state;
- the report (``antre.reports``) adds up: per day and in total, issued, served,
  no-show, expired and transfers equal the model's counts, and the ratings too.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from antre.clock import ManualClock
from antre.service.server import QueueServer
from tests.faults.conftest import COUNTERS, COUNTER_IDS, SERVICE_CODES, SERVICES, check_histories, connect
from tests.support import TestClient, service_config, write_config

TZ = ZoneInfo("Asia/Jakarta")
DAYS = 30
FIRST_DAY = date(2026, 11, 2)  # a Monday

pytestmark = pytest.mark.timeout(240)


def business_days(first: date, n: int) -> list[date]:
    out, d = [], first
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(timezone.utc)


def test_thirty_business_days(tmp_path, broker):
    rng = random.Random(30)
    office_id = f"m{rng.getrandbits(32):08x}"
    db = tmp_path / "antre.db"
    cfg = service_config(write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=db,
                                       office_id=office_id, services=SERVICES, counters=COUNTERS))
    days = business_days(FIRST_DAY, DAYS)
    clock = ManualClock(at(days[0], 7, 30))
    server = QueueServer(cfg, clock=clock)
    server.start()
    client = TestClient(broker.url, office_id).start()
    # The model: number -> state, per day; counters' current ticket; expected report figures.
    expected: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    ratings = 0
    try:
        client.wait_state(lambda s: True, "the first state")
        counter_services = {c.id: set(c.services) for c in cfg.counters}
        for day_no, day in enumerate(days):
            clock.set(at(day, 8, 0))
            state: dict[str, tuple[str, str]] = {}  # number -> (state, service) for today
            serving: dict[str, str | None] = {c: None for c in COUNTER_IDS}
            paused: set[str] = set()
            first_number: dict[str, str] = {}
            done_today: list[str] = []
            for _ in range(rng.randint(35, 55)):
                clock.advance(minutes=rng.randint(1, 6))
                r = rng.random()
                if r < 0.3:
                    svc = rng.choice(SERVICE_CODES)
                    args = {"service": svc}
                    if rng.random() < 0.15:
                        args["priority"] = "lansia"
                    t = client.ok("issue_ticket", **args)
                    state[t["number"]] = ("waiting", svc)
                    first_number.setdefault(t["number"][0], t["number"])
                    expected[day]["issued"] += 1
                    continue
                cid = rng.choice(COUNTER_IDS)
                if r < 0.7:
                    waiting = [n for n, (s, svc) in state.items() if s == "waiting" and svc in counter_services[cid]]
                    if cid in paused or not waiting:
                        code = client.error("call_next", counter=cid)
                        assert code == ("counter_paused" if cid in paused else "queue_empty")
                        continue
                    t = client.ok("call_next", counter=cid)
                    assert t["number"] in waiting
                    if serving[cid]:
                        state[serving[cid]] = ("done", state[serving[cid]][1])
                        expected[day]["served"] += 1
                        done_today.append(serving[cid])
                    state[t["number"]] = ("called", t["service"])
                    serving[cid] = t["number"]
                elif r < 0.85 and serving[cid]:
                    command = rng.choice(["complete", "complete", "skip", "recall", "transfer"])
                    args = {"counter": cid}
                    if command == "transfer":
                        args["service"] = rng.choice([s for s in SERVICE_CODES if s != state[serving[cid]][1]])
                    t = client.ok(command, **args)
                    assert t["number"] == serving[cid]
                    if command == "recall":
                        continue
                    if command == "transfer":
                        state[t["number"]] = ("waiting", args["service"])
                        expected[day]["transferred"] += 1
                    else:
                        state[t["number"]] = ("done" if command == "complete" else "no_show", state[t["number"]][1])
                        expected[day]["served" if command == "complete" else "no_show"] += 1
                        if command == "complete":
                            done_today.append(t["number"])
                    serving[cid] = None
                elif r < 0.89:
                    command = "resume" if cid in paused else "pause"
                    client.ok(command, counter=cid)
                    paused.symmetric_difference_update({cid})
                elif done_today:
                    number = done_today.pop(rng.randrange(len(done_today)))
                    client.ok("rate", ticket=number, score=rng.randint(1, 4),
                              elements=[rng.randint(1, 4) for _ in range(9)] if rng.random() < 0.5 else None)
                    ratings += 1
            # numbering restarted today
            assert all(n.endswith("-001") for n in first_number.values()), first_number
            expected[day]["expired"] = sum(1 for s, _ in state.values() if s in ("waiting", "called"))
            for cid in paused:
                client.ok("resume", counter=cid)
        # The next business day's first command closes the last day.
        clock.set(at(days[-1] + timedelta(days=3), 8, 0))
        client.ok("issue_ticket", service="umum")
    finally:
        client.stop()
        server.stop()

    with connect(db) as conn:
        still_open = conn.execute("SELECT count(*) FROM tickets WHERE business_date < ? AND state IN "
                                  "('waiting', 'called')", ((days[-1] + timedelta(days=1)).isoformat(),)).fetchone()[0]
        expiries = conn.execute(
            "SELECT t.business_date, e.at FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
            "WHERE e.kind = 'expired'").fetchall()
        per_day_numbers = conn.execute(
            "SELECT business_date, prefix, min(seq), max(seq), count(*) FROM tickets GROUP BY business_date, prefix"
        ).fetchall()
    assert still_open == 0
    assert len(expiries) == sum(e["expired"] for e in expected.values()) > 0
    for bdate, when in expiries:  # closed by a later day's first command, not during its own day
        assert when[:10] > bdate
    for _, _, lo, hi, n in per_day_numbers:
        assert (lo, hi) == (1, n), "numbers of a day are not 1..n"
    tickets = check_histories(db)

    # The report adds up.
    from antre.reports.stats import build_report
    from antre.storage import open_database
    engine, sessions = open_database(cfg.database.url)
    try:
        with sessions() as s:
            report = build_report(s, days[0], days[-1], tz=TZ)
    finally:
        engine.dispose()
    for day in days:
        got, want = report.days[day], expected[day]
        assert (got.issued, got.served, got.no_show, got.expired, got.transferred_out) == \
            (want["issued"], want["served"], want["no_show"], want["expired"], want["transferred"]), day
    total = report.total
    assert total.issued == sum(e["issued"] for e in expected.values()) == tickets - 1
    assert total.served == sum(e["served"] for e in expected.values())
    assert report.rating_count == ratings
    print(f"\nmonth: {DAYS} business days, {tickets - 1} tickets, {total.served} served, "
          f"{total.no_show} no-show, {total.expired} expired, {total.transferred_out} transfers, {ratings} ratings")
