"""Group commit (QueueService.execute_many): each command succeeds or fails alone, whatever the batch."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from sqlalchemy import insert

from antre import config
from antre.clock import ManualClock
from antre.errors import CommandError
from antre.storage.models import Meta
from antre.rules.queue import Outcome, QueueService
from antre.storage import open_database


def make_queue(tmp_path) -> QueueService:
    cfg = config.from_dict({"queue": {"enforce_hours": False}})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    return QueueService(cfg, sessions, clock=ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)))


def test_a_rating_sees_what_an_earlier_command_of_the_same_batch_did(tmp_path):
    q = make_queue(tmp_path)
    q.execute("issue_ticket", "i1", {"service": "adminduk"})
    q.execute("call_next", "c1", {"counter": "loket-1"})
    results = q.execute_many([("rate", "r1", {"ticket": "A-001", "score": 4}),
                              ("complete", "d1", {"counter": "loket-1"}),
                              ("rate", "r2", {"ticket": "A-001", "score": 4})])
    assert isinstance(results[0], CommandError) and results[0].code == "not_served"
    assert isinstance(results[1], Outcome) and results[1].result["state"] == "done"
    assert isinstance(results[2], Outcome) and results[2].result["score"] == 4


def test_a_failing_transaction_does_not_take_back_the_committed_ones(tmp_path):
    q = make_queue(tmp_path)
    q.execute("issue_ticket", "i1", {"service": "adminduk"})

    def broken(s, now, **args):          # a handler of another module, with a bug
        raise RuntimeError("disk on fire")

    q.handlers["broken"] = broken
    results = q.execute_many([("call_next", "c1", {"counter": "loket-1"}), ("broken", "b1", {}),
                              ("issue_ticket", "i2", {"service": "surat"})])
    assert isinstance(results[0], Outcome) and results[0].result["number"] == "A-001"   # committed: reported so
    assert results[1].code == "internal_error"
    assert isinstance(results[2], Outcome) and results[2].result["number"] == "B-001"   # not its fault
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select state from tickets where number = 'A-001'").fetchone() == ("called",)
        assert db.execute("select count(*) from tickets").fetchone() == (2,)
    assert q.snapshot()["counters"][0]["serving"]["number"] == "A-001"   # the mirror was reloaded right


def test_one_failing_command_in_a_shared_transaction_costs_the_others_nothing(tmp_path):
    """A command that breaks the group commit is isolated: the group is applied again one by one."""
    q = make_queue(tmp_path)

    def broken(s, now, **args):          # shares the transaction, then fails unexpectedly
        q.issue(s, now, "umum")   # writes before it fails
        raise RuntimeError("disk on fire")

    broken.batch_safe = True
    q.handlers["broken"] = broken
    batch = [("issue_ticket", f"i{n}", {"service": "adminduk"}) for n in range(3)] + [("broken", "b1", {})] + \
        [("issue_ticket", f"j{n}", {"service": "surat"}) for n in range(3)]
    results = q.execute_many(batch)
    assert [getattr(r, "code", None) or r.result["number"] for r in results] == [
        "A-001", "A-002", "A-003", "internal_error", "B-001", "B-002", "B-003"]
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from tickets").fetchone() == (6,)
        assert db.execute("select count(*) from tickets where service_code = 'umum'").fetchone() == (0,)
    assert q.snapshot()["services"][0]["waiting"] == 3


def test_a_handler_that_refuses_after_writing_leaves_nothing_behind(tmp_path):
    q = make_queue(tmp_path)

    def careless(s, now, **args):
        s.execute(insert(Meta).values(key="careless", value="written"))
        raise CommandError("nope", "refused after writing")

    q.handlers["careless"] = careless
    results = q.execute_many([("issue_ticket", "i1", {"service": "adminduk"}), ("careless", "x1", {}),
                              ("issue_ticket", "i2", {"service": "adminduk"})])
    assert [getattr(r, "code", None) or r.result["number"] for r in results] == ["A-001", "nope", "A-002"]
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from meta where key = 'careless'").fetchone() == (0,)
        assert db.execute("select count(*) from requests where request_id = 'x1'").fetchone() == (0,)
