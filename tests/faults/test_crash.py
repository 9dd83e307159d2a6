"""Crash: `kill -9` of `antre serve` at random moments during bursts of mixed commands.

Several rounds. In each, a kiosk and three counters send random commands as fast
as the service answers; at a random moment the service process is killed with
SIGKILL and started again. Every request that got no answer is then sent again
with its own request_id until it is answered. Afterwards:

- every request has exactly one definitive answer, and every acknowledged
  (ok) answer is the one stored in the service's request log -- nothing
  acknowledged was lost;
- every acknowledged issue_ticket has its ticket, with the acknowledged number,
  and there is no other ticket (0 lost, 0 duplicated numbers);
- replaying the applied commands, in the order the service committed them, on
  an empty database gives exactly the same tickets, histories, counters,
  ratings and state seq;
- ``PRAGMA integrity_check`` is ok after every crash.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import replace

import pytest

from antre import config as config_mod
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database
from tests.conftest import start_office
from tests.faults.conftest import COUNTERS, SERVICE_CODES, SERVICES, check_histories, dump
from tests.support import ServiceProcess, wait_for

ROUNDS = 5
BURST = 60  # commands per client per round, at most
TRANSIENT = {"timeout", "offline"}

pytestmark = pytest.mark.timeout(240)


class Ledger:
    """Every request sent: its command and args, and its definitive reply (if any yet)."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, dict]] = {}
        self.replies: dict[str, object] = {}
        self.order: list[str] = []
        self.lock = threading.Lock()

    def new(self, command: str, args: dict) -> str:
        rid = f"crash-{uuid.uuid4().hex[:20]}"
        with self.lock:
            self.sent[rid] = (command, args)
            self.order.append(rid)
        return rid

    def answered(self, rid: str, reply) -> None:
        with self.lock:
            assert rid not in self.replies, f"{rid} answered twice"
            self.replies[rid] = reply

    def pending(self) -> list[str]:
        with self.lock:
            return [r for r in self.order if r not in self.replies]


def kiosk_work(client, ledger: Ledger, rng: random.Random, stop: threading.Event) -> None:
    for _ in range(BURST):
        if stop.is_set():
            return
        args = {"service": rng.choice(SERVICE_CODES)}
        if rng.random() < 0.2:
            args["priority"] = rng.choice(["lansia", "disabilitas", "ibu_hamil"])
        rid = ledger.new("issue_ticket", args)
        reply = client.request("issue_ticket", timeout=3, request_id=rid, **args)
        if reply.code in TRANSIENT:
            return  # the service is gone: this kiosk would show "offline" now
        ledger.answered(rid, reply)


def counter_work(client, counter: str, ledger: Ledger, rng: random.Random, stop: threading.Event) -> None:
    done: list[str] = []
    for _ in range(BURST):
        if stop.is_set():
            return
        r = rng.random()
        if r < 0.45:
            command, args = "call_next", {}
        elif r < 0.55:
            command, args = "recall", {}
        elif r < 0.65:
            command, args = "skip", {}
        elif r < 0.75:
            command, args = "complete", {}
        elif r < 0.82:
            command, args = "transfer", {"service": rng.choice(SERVICE_CODES)}
        elif r < 0.87:
            command, args = rng.choice(["pause", "resume"]), {}
        elif done:
            command, args = "rate", {"ticket": rng.choice(done), "score": rng.randint(1, 4)}
        else:
            command, args = "resume", {}
        if command != "rate":
            args["counter"] = counter
        rid = ledger.new(command, args)
        reply = client.request(command, timeout=3, request_id=rid, **args)
        if reply.code in TRANSIENT:
            return
        ledger.answered(rid, reply)
        if reply.ok and command == "complete":
            done.append(reply.result["number"])


def integrity(db_path) -> str:
    with sqlite3.connect(db_path, timeout=10) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def test_kill_9_during_bursts_loses_and_duplicates_nothing(tmp_path, broker):
    rng = random.Random(20261130)
    office = start_office(tmp_path, broker, services=SERVICES, counters=COUNTERS)
    ledger = Ledger()
    kiosk = office.new_client()
    counters = {cid: office.new_client() for cid in ("loket-1", "loket-2", "loket-3")}
    service: ServiceProcess = office.service
    kills = 0
    stats = {"retried": 0, "committed_unacknowledged": 0}
    try:
        for round_no in range(ROUNDS):
            stop = threading.Event()
            threads = [threading.Thread(target=kiosk_work, args=(kiosk, ledger, random.Random(rng.random()), stop))]
            threads += [threading.Thread(target=counter_work, args=(c, cid, ledger, random.Random(rng.random()), stop))
                        for cid, c in counters.items()]
            before = len(ledger.order)
            for t in threads:
                t.start()
            # The fault: SIGKILL at a random moment once the burst is under way (not a synchronisation).
            wait_for(lambda: len(ledger.order) >= before + rng.randint(5, 60), what="the burst to start")
            time.sleep(rng.uniform(0.0, 0.3))
            service.kill()
            kills += 1
            stop.set()
            for t in threads:
                t.join(30)
            assert integrity(office.db_path) == "ok"
            with sqlite3.connect(office.db_path) as db:
                in_log = {r for (r,) in db.execute("SELECT request_id FROM requests")}
            unanswered = ledger.pending()
            stats["retried"] += len(unanswered)
            stats["committed_unacknowledged"] += sum(1 for r in unanswered if r in in_log)
            service = ServiceProcess(office.config_path, tmp_path / f"service-{round_no}.log").start()
            office.service = service
            # Retry everything unanswered, with its own request_id, until the service answers.
            for rid in ledger.pending():
                command, args = ledger.sent[rid]
                client = kiosk if command == "issue_ticket" else counters.get(args.get("counter"), kiosk)
                reply = None
                for _ in range(20):
                    reply = client.request(command, timeout=5, request_id=rid, **args)
                    if reply.code not in TRANSIENT:
                        break
                assert reply is not None and reply.code not in TRANSIENT, \
                    f"{command} {rid} never answered after restart:\n{service.output()[-2000:]}"
                ledger.answered(rid, reply)
        service.stop()
    finally:
        for c in (kiosk, *counters.values()):
            c.stop()
        office.client.stop()
        office.service.stop()

    assert kills == ROUNDS
    assert not ledger.pending()
    assert integrity(office.db_path) == "ok"

    # Acknowledged == applied: each ok answer is exactly what the request log holds, and vice versa.
    with sqlite3.connect(office.db_path) as db:
        logged = db.execute("SELECT request_id, command, reply FROM requests ORDER BY rowid").fetchall()
    ok = {rid: r for rid, r in ledger.replies.items() if r.ok}
    assert {rid for rid, _, _ in logged} == set(ok), "applied commands differ from acknowledged ones"
    for rid, command, reply in logged:
        assert ledger.sent[rid][0] == command
        assert json.loads(reply) == ok[rid].result, f"{rid}: acknowledged reply differs from the stored one"

    # Tickets: exactly one per acknowledged issue_ticket, with the acknowledged number.
    issued = [r.result["number"] for rid, r in ok.items() if ledger.sent[rid][0] == "issue_ticket"]
    assert len(issued) == len(set(issued)), "a ticket number was handed out twice"
    state = dump(office.db_path)
    assert sorted(t[1] for t in state["tickets"]) == sorted(issued)
    assert len(issued) > 20 and sum(1 for rid in ok if ledger.sent[rid][0] == "call_next") > 10
    check_histories(office.db_path)

    # Replay the applied commands in commit order on an empty database: same final state.
    cfg = config_mod.load(office.config_path)
    replay_db = tmp_path / "replay.db"
    cfg = cfg.replace(database=replace(cfg.database, url=f"sqlite:///{replay_db}"))
    engine, sessions = open_database(cfg.database.url)
    try:
        q = QueueService(cfg, sessions, plugins=PLUGINS)  # as the service builds it
        q.tick()  # the service ticks once at start-up, opening the business day
        for rid, command, reply in logged:
            outcome = q.execute(command, rid, ledger.sent[rid][1])
            stored = json.loads(reply)
            assert outcome.result.get("number") == stored.get("number"), f"replay of {rid} diverged"
    finally:
        engine.dispose()
    assert dump(replay_db) == state
    print(f"\ncrash: {kills} kills, {len(ledger.order)} requests ({len(ok)} applied, {len(issued)} tickets), "
          f"{stats['retried']} retried after restart, of which {stats['committed_unacknowledged']} had been "
          f"committed before the kill but not acknowledged")
