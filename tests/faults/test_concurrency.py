"""Concurrency: four counters press "next" at the same time, over and over.

Each ticket must be called exactly once -- by one counter, announced once --
and none may be skipped over while someone else still waits.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.conftest import start_office
from tests.faults.conftest import SERVICE_CODES, SERVICES, check_histories, connect
from tests.support import ALL_SERVICES, counters_toml, wait_for

TICKETS = 240
COUNTERS4 = counters_toml({f"loket-{i}": ALL_SERVICES for i in range(1, 5)})

pytestmark = pytest.mark.timeout(180)


def test_four_counters_call_each_ticket_exactly_once(tmp_path, broker):
    office = start_office(tmp_path, broker, services=SERVICES, counters=COUNTERS4,
                          extra="")
    observer = office.client
    kiosks = [office.new_client() for _ in range(2)]
    counters = [office.new_client() for _ in range(4)]
    try:
        issued: list[str] = []
        lock = threading.Lock()

        def issue(k, client):
            for i in range(TICKETS // len(kiosks)):
                r = client.ok("issue_ticket", service=SERVICE_CODES[(i + k) % 3])
                with lock:
                    issued.append(r["number"])

        threads = [threading.Thread(target=issue, args=(k, c)) for k, c in enumerate(kiosks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(issued) == TICKETS == len(set(issued))

        called: dict[str, list[str]] = {f"loket-{i}": [] for i in range(1, 5)}
        barrier = threading.Barrier(4)
        errors: list[str] = []

        def press(counter_id, client):
            barrier.wait(30)
            while True:
                reply = client.request("call_next", counter=counter_id)
                if not reply.ok:
                    if reply.code != "queue_empty":
                        errors.append(f"{counter_id}: {reply.code} {reply.message}")
                    return
                called[counter_id].append(reply.result["number"])

        threads = [threading.Thread(target=press, args=(f"loket-{i + 1}", c)) for i, c in enumerate(counters)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(150)
        assert not errors
        everything = [n for calls in called.values() for n in calls]
        dupes = [n for n, k in Counter(everything).items() if k > 1]
        assert not dupes, f"called more than once: {dupes}"
        assert sorted(everything) == sorted(issued), "some ticket was never called"
        assert all(len(calls) > 5 for calls in called.values()), f"a counter starved: {called}"

        # Every display saw each call exactly once.
        wait_for(lambda: len(observer.events_of("ticket_called")) >= TICKETS, what="all ticket_called events")
        announced = Counter(e["number"] for e in observer.events_of("ticket_called"))
        assert set(announced) == set(issued) and set(announced.values()) == {1}

        # The database agrees: one 'called' event per ticket; each counter ends serving its last call.
        with connect(office.db_path) as db:
            per_ticket = Counter(n for (n,) in db.execute(
                "SELECT t.number FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
                "WHERE e.kind = 'called'"))
            serving = dict(db.execute(
                "SELECT c.counter_id, t.number FROM counter_states c JOIN tickets t ON t.id = c.current_ticket_id"))
            states = Counter(s for (s,) in db.execute("SELECT state FROM tickets"))
        assert set(per_ticket.values()) == {1} and len(per_ticket) == TICKETS
        assert serving == {cid: calls[-1] for cid, calls in called.items()}
        assert states == {"done": TICKETS - 4, "called": 4}
        check_histories(office.db_path)
    finally:
        for c in (*kiosks, *counters):
            c.stop()
        office.client.stop()
        office.service.stop()
