"""Staff sign-ins' password checks run off the service's writer thread (antre/service/signins.py), with the
locks checked first and again when the verdict is applied, names without an account treated alike, and
every attempt audited. A real `QueueServer` on a real mosquitto and SQLite file; the check thread is held
with a real gate (a task of ours queued on its pool first), so nothing here depends on timing."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid

import pytest

from antre import config
from antre.service.server import QueueServer
from tests.support import TestClient, wait_for, write_config

PASSWORD = "kopi manis pagi hari"


@pytest.fixture
def running(tmp_path, broker):
    path = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "antre.db",
                        extra="[staff]\nlockout_failures = 3\n")
    server = QueueServer(config.load(path))
    server.start()
    c = TestClient(broker.url, server.cfg.office.id).start()
    c.wait_state(lambda s: True)
    c.ok("staff_setup", name="admin", password=PASSWORD)
    c.ok("staff_login", name="admin", password=PASSWORD, session=(token := secrets.token_urlsafe(32)))
    c.ok("staff_add", session=token, name="budi", role="petugas", password=PASSWORD, counters=["loket-1"])
    yield server, c, tmp_path / "antre.db"
    c.stop()
    server.stop()


def send(c: TestClient, command: str, **args) -> str:
    rid = uuid.uuid4().hex
    c.publish_raw(c.command_topic(command), json.dumps({"request_id": rid, **args}))
    return rid


def answered(c: TestClient, rid: str) -> dict | None:
    return next((r for r in list(c.replies) if r.get("request_id") == rid), None)


def hold(server: QueueServer) -> threading.Event:
    """Keeps the check thread busy until the returned gate is set (a task queued on its pool before ours)."""
    gate, started = threading.Event(), threading.Event()
    server.signins.pool.submit(lambda: (started.set(), gate.wait(60)))
    wait_for(started.is_set, what="the check thread to be held")
    return gate


def login(c, name, password=PASSWORD):
    return send(c, "staff_login", name=name, password=password, session=secrets.token_urlsafe(32))


def test_counter_and_kiosk_commands_are_answered_while_sign_ins_wait_for_their_check(running):
    server, c, _ = running
    gate = hold(server)
    try:
        waiting = [login(c, "budi"), login(c, "nobody-here", "a wrong password!")]   # an unknown name too
        issued = c.ok("issue_ticket", service="adminduk")          # answered while both sign-ins wait
        assert c.ok("call_next", counter="loket-1")["number"] == issued["number"]
        assert all(answered(c, rid) is None for rid in waiting)    # (they really were waiting: checked later)
    finally:
        gate.set()
    good, unknown = (c.raw_reply(rid)["result"] for rid in waiting)
    assert good["signed_in"] is True and good["account"]["name"] == "budi"
    assert unknown == {"signed_in": False, "reason": "wrong", "retry_after": 0}


def test_a_lock_that_comes_while_attempts_are_checked_wins_over_a_right_password(running):
    server, c, db = running
    gate = hold(server)
    try:
        wrong = [login(c, "budi", f"wrong password {i}") for i in range(3)]
        right = login(c, "budi")                                    # checked before the lock existed ...
    finally:
        gate.set()
    assert [c.raw_reply(rid)["result"]["reason"] for rid in wrong] == ["wrong"] * 2 + ["locked"]
    assert c.raw_reply(right)["result"]["reason"] == "locked"      # ... but applied after it: refused
    with sqlite3.connect(db) as d:
        rows = d.execute("select action, detail from audit_log where subject = 'budi' and action like "
                         "'staff.login%' order by id").fetchall()
    assert [a for a, _ in rows] == ["staff.login_failed"] * 3 and json.loads(rows[-1][1]) == {"locked": True}


def test_locked_names_are_answered_at_once_with_or_without_an_account(running):
    server, c, _ = running
    for i in range(3):
        c.ok("staff_login", name="budi", password=f"wrong password {i}", session=secrets.token_urlsafe(32))
        c.ok("staff_login", name="siapa", password=f"wrong password {i}", session=secrets.token_urlsafe(32))
    gate = hold(server)
    try:   # no check is made for either while the thread is held: both answered now, the same way
        answers = [c.raw_reply(login(c, name))["result"] for name in ("budi", "siapa")]
    finally:
        gate.set()
    assert [a["reason"] for a in answers] == ["locked", "locked"]
    assert abs(answers[0]["retry_after"] - answers[1]["retry_after"]) <= 2
    assert server.signins.pending == 0
    # The global wait (10 wrong passwords a day from anywhere) is answered at once too.
    for i in range(5):
        c.ok("staff_login", name=f"tamu{i}", password="wrong password", session=secrets.token_urlsafe(32))
    gate = hold(server)
    try:
        assert c.raw_reply(login(c, "admin"))["result"]["reason"] == "wait"
    finally:
        gate.set()


def test_the_check_argument_cannot_be_sent_by_a_device(running):
    _, c, _ = running
    reply = c.request("staff_login", name="budi", password="x" * 12, session=secrets.token_urlsafe(32),
                      checked=["$argon2id$v=19$m=19456,t=2,p=1$x", True])
    assert not reply.ok and reply.code == "unknown_argument"


def test_a_flood_of_sign_ins_waits_for_at_most_a_few_checks_and_the_rest_are_told_to_wait(running):
    from antre.service.signins import PENDING_MAX
    server, c, _ = running
    gate = hold(server)
    try:
        queued = [login(c, "budi") for _ in range(PENDING_MAX)]
        wait_for(lambda: server.signins.pending == PENDING_MAX, what="the checks to be queued")
        over = c.raw_reply(login(c, "budi"))["result"]     # answered at once, unchecked, nothing counted
        assert over == {"signed_in": False, "reason": "wait", "retry_after": 5}
    finally:
        gate.set()
    assert all(c.raw_reply(rid)["result"]["signed_in"] for rid in queued)
    assert server.signins.pending == 0
