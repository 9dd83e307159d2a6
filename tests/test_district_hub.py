"""`antre hub` against a real PostgreSQL and a real mosquitto: exactly once per (office, seq), gaps asked for and
repaired, two instances at once (shared subscription), an instance killed -9 mid-ingest (docs/district.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from antre.hub.ingest import Hub, read_row
from antre.ops.district_sim import SimFleet, SimOffice
from antre.storage import district_store
from tests.support import ROOT, Postgres, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg():
    if Postgres.bindir() is None:
        pytest.skip("PostgreSQL server is not installed")
    p = Postgres().start()
    yield p
    p.stop()


def offices(n: int) -> list[SimOffice]:
    tag = uuid.uuid4().hex[:6]
    return [SimOffice(f"o{tag}-{i:03d}") for i in range(n)]


def stored(pg, names: list[str]) -> dict[str, list[int]]:
    conn = district_store.connect(pg.url)
    try:
        rows = conn.execute("SELECT office_id, seq FROM district_events WHERE office_id = ANY(%s) "
                            "ORDER BY office_id, seq", (names,)).fetchall()
    finally:
        conn.close()
    out: dict[str, list[int]] = {n: [] for n in names}
    for office, seq in rows:
        out[office].append(seq)
    return out


def complete(pg, fleet: list[SimOffice]):
    have = stored(pg, [o.office for o in fleet])
    return all(have[o.office] == list(range(1, len(o.rows) + 1)) for o in fleet) and have


def hub(broker, pg, name: str, **kw) -> Hub:
    h = Hub(broker.url, pg.url, f"{name}-{uuid.uuid4().hex[:6]}", group=f"g{uuid.uuid4().hex[:6]}"
            if kw.pop("own_group", False) else kw.pop("group", "hub"), resend_after=kw.pop("resend_after", 1.0), **kw)
    h.start()
    wait_for(h.connected.is_set, what=f"{name} to connect")
    return h


def test_two_hubs_share_the_rows_and_keep_each_exactly_once(broker, pg):
    fleet = offices(20)
    group = f"g{uuid.uuid4().hex[:6]}"
    a, b = hub(broker, pg, "hub-a", group=group), hub(broker, pg, "hub-b", group=group)
    sim = SimFleet(broker.url, fleet, client_id=f"sim-{uuid.uuid4().hex[:6]}").start()
    try:
        wait_for(sim.connected.is_set)
        for o in fleet:
            rows = o.make(40)
            sim.publish(o, rows)
            sim.publish(o, rows[10:25], head=False)   # delivered twice (QoS 1, a retry): kept once
        wait_for(lambda: complete(pg, fleet), timeout=60, what="every row of every office")
        # Each row inserted once, by one of them (counted just after each commit).
        wait_for(lambda: a.ingested + b.ingested >= 20 * 40, what="both instances' counts")
        assert a.ingested + b.ingested == 20 * 40
        assert a.ingested > 0 and b.ingested > 0, "both instances took a share"
        conn = district_store.connect(pg.url)
        try:
            book = conn.execute("SELECT office_id, contiguous, head FROM district_offices WHERE office_id = ANY(%s)",
                                ([o.office for o in fleet],)).fetchall()
        finally:
            conn.close()
        assert sorted(book) == sorted((o.office, 40, 40) for o in fleet)
    finally:
        sim.stop()
        a.stop()
        b.stop()


def test_an_office_offline_for_a_week_is_asked_for_what_it_missed(broker, pg):
    fleet = offices(3)
    h = hub(broker, pg, "hub-gap", own_group=True)
    sim = SimFleet(broker.url, fleet, client_id=f"sim-{uuid.uuid4().hex[:6]}").start()
    try:
        wait_for(sim.connected.is_set)
        away = fleet[0]
        for o in fleet:
            sim.publish(o, o.make(12))
        wait_for(lambda: complete(pg, fleet), what="the first rows")
        # Offline: rows made and kept, nothing reaches the district (a bridge queue that overflowed).
        away.online = False
        missed = away.make(7 * 300)   # a week of a small office
        away.online = True
        # Back: only its newest rows come through (the queue kept the last few); the gap is asked for.
        sim.publish(away, away.make(5))
        wait_for(lambda: complete(pg, fleet), timeout=90, what="the week's rows, asked for again")
        assert away.resent >= len(missed)
        asked = [r for r in h.asked if r.office == away.office]
        assert asked[0].first == 13 and asked[0].last == 12 + district_store.RESEND_MAX   # at most 2000 a request
        # (other tests' offices on this broker may be asked too: their heads are retained here)
        assert {r.office for r in h.asked if r.office in {o.office for o in fleet}} == {away.office}
    finally:
        sim.stop()
        h.stop()


def test_newest_rows_that_never_came_are_found_from_the_head(broker, pg):
    fleet = offices(1)
    o = fleet[0]
    h = hub(broker, pg, "hub-tail", own_group=True)
    sim = SimFleet(broker.url, fleet, client_id=f"sim-{uuid.uuid4().hex[:6]}").start()
    try:
        wait_for(sim.connected.is_set)
        rows = o.make(10)
        sim.publish(o, rows[:6], head=False)
        sim.publish_head(o).wait_for_publish(10)   # head 10: rows 7-10 committed, never published
        wait_for(lambda: complete(pg, fleet), what="rows 7-10 from the head")
        assert any(r.first == 7 and r.last == 10 for r in h.asked)
    finally:
        sim.stop()
        h.stop()


def test_a_hub_killed_mid_ingest_loses_nothing_and_duplicates_nothing(broker, pg, tmp_path):
    fleet = offices(30)
    group = f"g{uuid.uuid4().hex[:6]}"
    env = os.environ | {"PYTHONUNBUFFERED": "1"}

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "antre", "hub", "--mqtt-url", broker.url, "--db-url", pg.url,
                                 "--client-id", name, "--group", group], cwd=ROOT, env=env,
                                stdout=open(tmp_path / f"{name}.log", "ab"), stderr=subprocess.STDOUT)

    first = start(f"h1-{group}")
    other = hub(broker, pg, "hub-other", group=group)
    sim = SimFleet(broker.url, fleet, client_id=f"sim-{uuid.uuid4().hex[:6]}").start()
    try:
        wait_for(sim.connected.is_set)
        wait_for(lambda: "antre hub" in (tmp_path / f"h1-{group}.log").read_text(), what="the hub process to run")
        for o in fleet[:15]:
            sim.publish(o, o.make(200))
        wait_for(lambda: sum(map(len, stored(pg, [o.office for o in fleet]).values())) > 0, what="ingest to begin")
        first.kill()   # SIGKILL, mid-ingest
        first.wait()
        for o in fleet[15:]:
            sim.publish(o, o.make(200))
        second = start(f"h1-{group}")   # the same instance comes back
        try:
            try:
                wait_for(lambda: complete(pg, fleet), timeout=120, what="every row after the kill")
            except AssertionError:
                have = stored(pg, [o.office for o in fleet])
                raise AssertionError({o: (len(s), s[-1] if s else None) for o, s in have.items()})
        finally:
            second.terminate()
            second.wait(30)
        conn = district_store.connect(pg.url)
        try:
            count, distinct = conn.execute("SELECT count(*), count(DISTINCT (office_id, seq)) FROM district_events "
                                           "WHERE office_id = ANY(%s)", ([o.office for o in fleet],)).fetchone()
        finally:
            conn.close()
        assert count == distinct == 30 * 200
    finally:
        if first.poll() is None:
            first.kill()
        sim.stop()
        other.stop()


def test_hostile_rows_are_refused():
    ok = b'{"seq": 1, "kind": "issued", "at": "2026-11-30T01:00:00+00:00", "business_date": "2026-11-30", "data": {}}'
    assert read_row("sukamaju", ok).seq == 1
    for bad in (b'{"seq": 0, "kind": "issued", "at": "2026-11-30T01:00:00+00:00", "business_date": "2026-11-30", "data": {}}',
                b'{"seq": 1, "kind": "drop table", "at": "2026-11-30T01:00:00+00:00", "business_date": "2026-11-30", "data": {}}',
                b'{"seq": 1, "kind": "issued", "at": "2026-11-30T01:00:00", "business_date": "2026-11-30", "data": {}}',
                b'{"seq": 1, "kind": "issued", "at": "x", "business_date": "2026-11-30", "data": {}}',
                b'{"seq": 1, "kind": "issued", "at": "2026-11-30T01:00:00+00:00", "business_date": "2026-11-30", "data": []}',
                b'{"seq": true, "kind": "issued", "at": "2026-11-30T01:00:00+00:00", "business_date": "2026-11-30", "data": {}}',
                b'not json', b'{"seq": 1}', b'{"x": "' + b'a' * 20000 + b'"}'):
        assert read_row("sukamaju", bad) is None


@pytest.mark.parametrize("thread", ["the main thread", "another thread"])
def test_antre_hub_stops_on_sigterm_whichever_thread_the_kernel_gives_it_to(broker, pg, tmp_path, thread):
    """Like ``antre serve`` (tests/test_service.py): a SIGTERM sent to the process goes to any one of its threads
    that does not block it, and CPython runs the handler in the main thread only without waking it from
    ``stop.wait()``: taken by the ingest or paho's thread, ``antre hub`` waited for good (systemd killed it after
    TimeoutStopSec). ``kill(tid)`` prefers the thread ``tid``: each one is tried."""
    name = f"hsig-{uuid.uuid4().hex[:6]}"
    log = tmp_path / f"{name}.log"
    proc = subprocess.Popen([sys.executable, "-m", "antre", "hub", "--mqtt-url", broker.url, "--db-url", pg.url,
                             "--client-id", name, "--group", f"g{uuid.uuid4().hex[:6]}"], cwd=ROOT,
                            env=os.environ | {"PYTHONUNBUFFERED": "1"}, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "antre hub" in log.read_text(), what="the hub process to run")
        tasks = Path("/proc") / str(proc.pid) / "task"
        tids = wait_for(lambda: len(list(tasks.iterdir())) >= 3 and sorted(int(t.name) for t in tasks.iterdir()),
                        what="the hub's threads (main, ingest, paho's network thread)")
        target = proc.pid if thread == "the main thread" else next(t for t in tids if t != proc.pid)
        os.kill(target, signal.SIGTERM)   # a process-wide signal; the kernel tries the thread named first
        code = wait_for(lambda: proc.poll() is not None and [proc.returncode], 30,
                        f"the hub to stop after SIGTERM to {thread}:\n{log.read_text()[-2000:]}")
        assert code == [0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
