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

from antre.service.server import QueueServer
from tests.support import TestClient, service_config, wait_for, write_config

PASSWORD = "kopi manis pagi hari"


@pytest.fixture
def running(tmp_path, broker):
    path = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "antre.db",
                        extra="[staff]\nlockout_failures = 3\n")
    server = QueueServer(service_config(path))
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


# ---------------------------------------------------------------------- password changes, resets, the setup link

NEW = "teh hangat sore hari"


def signed_in(c, name="budi", password=PASSWORD) -> str:
    c.ok("staff_login", name=name, password=password, session=(token := secrets.token_urlsafe(32)))
    return token


def sessions_of(db, name) -> list:
    with sqlite3.connect(db) as d:
        return d.execute("select s.revoked_at from staff_sessions s join staff_accounts a on a.id = s.account_id "
                         "where a.name = ?", (name,)).fetchall()


def test_password_changes_and_resets_wait_for_their_hashing_off_the_writer(running):
    server, c, db = running
    budi = signed_in(c)
    admin = signed_in(c, "admin")
    signed_in(c)   # a second session of budi's: ended with the change too
    c.ok("staff_add", session=admin, name="dewi", role="petugas", password=PASSWORD, counters=["loket-1"])
    gate = hold(server)
    try:
        changed = send(c, "staff_passwd", session=budi, password=PASSWORD, new_password=NEW)
        reset = send(c, "staff_update", session=admin, name="dewi", password=NEW)   # an admin's reset
        added = send(c, "staff_add", session=admin, name="sari", role="kasi", password=NEW)
        issued = c.ok("issue_ticket", service="adminduk")          # answered while all three wait
        assert c.ok("call_next", counter="loket-1")["number"] == issued["number"]
        assert all(answered(c, rid) is None for rid in (changed, reset, added))
        assert server.signins.pending == 3
    finally:
        gate.set()
    assert c.raw_reply(changed)["result"] == {"changed": True, "signed_out": True}
    assert c.raw_reply(reset)["ok"] and c.raw_reply(added)["result"]["account"]["name"] == "sari"
    assert server.signins.pending == 0
    # Applied as before: budi's sessions ended, the new passwords work, the old ones do not, all audited.
    assert all(r[0] is not None for r in sessions_of(db, "budi"))
    for name in ("budi", "dewi", "sari"):
        assert c.ok("staff_login", name=name, password=NEW, session=secrets.token_urlsafe(32))["signed_in"]
    assert c.ok("staff_login", name="budi", password=PASSWORD, session=secrets.token_urlsafe(32))["reason"] == "wrong"
    with sqlite3.connect(db) as d:
        rows = d.execute("select actor, action, subject, detail from audit_log where action in "
                         "('staff.update', 'staff.add') order by id").fetchall()
    assert [(a, act, sub) for a, act, sub, _ in rows[-3:]] == [
        ("budi", "staff.update", "budi"), ("admin", "staff.update", "dewi"), ("admin", "staff.add", "sari")]
    assert json.loads(rows[-3][3]) == {"password": "changed", "sessions_ended": 2}
    assert all(NEW not in (r[3] or "") for r in rows)


def test_a_wrong_current_password_is_refused_and_changes_nothing(running):
    server, c, db = running
    budi = signed_in(c)
    gate = hold(server)
    try:
        rid = send(c, "staff_passwd", session=budi, password="not my password", new_password=NEW)
    finally:
        gate.set()
    reply = c.raw_reply(rid)
    assert not reply["ok"] and reply["error"]["code"] == "password_wrong"
    assert sessions_of(db, "budi")[-1][0] is None   # still signed in
    assert c.ok("staff_login", name="budi", password=PASSWORD, session=secrets.token_urlsafe(32))["signed_in"]


def test_what_refuses_a_change_is_checked_before_the_hashing_and_again_when_it_is_applied(running):
    server, c, db = running
    budi, admin = signed_in(c), signed_in(c, "admin")
    gate = hold(server)
    try:   # refused before any hashing: answered at once while the thread is held
        for command, args, code in (
                ("staff_passwd", {"session": secrets.token_urlsafe(32), "password": PASSWORD, "new_password": NEW},
                 "not_signed_in"),
                ("staff_passwd", {"session": budi, "password": PASSWORD, "new_password": "short"}, "weak_password"),
                ("staff_add", {"session": budi, "name": "sari", "role": "kasi", "password": NEW}, "forbidden"),
                ("staff_add", {"session": admin, "name": "budi", "role": "kasi", "password": NEW}, "name_taken"),
                ("staff_update", {"session": budi, "name": "budi", "password": NEW}, "forbidden"),
                ("staff_setup", {"name": "kedua", "password": NEW}, "setup_done")):
            reply = c.raw_reply(send(c, command, **args))
            assert not reply["ok"] and reply["error"]["code"] == code, (command, reply)
        assert server.signins.pending == 0
        # ... and again when applied: budi's session ends while the change waits for its hashing.
        rid = send(c, "staff_passwd", session=budi, password=PASSWORD, new_password=NEW)
        wait_for(lambda: server.signins.pending == 1, what="the change to wait for its hashing")
        c.ok("staff_update", session=admin, name="budi", end_sessions=True)
    finally:
        gate.set()
    reply = c.raw_reply(rid)
    assert not reply["ok"] and reply["error"]["code"] == "not_signed_in"
    assert c.ok("staff_login", name="budi", password=PASSWORD, session=secrets.token_urlsafe(32))["signed_in"]


def test_of_two_setup_links_hashed_at_the_same_time_only_the_first_makes_an_admin(tmp_path, broker):
    path = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "antre.db")
    server = QueueServer(service_config(path))
    server.start()
    c = TestClient(broker.url, server.cfg.office.id).start()
    try:
        c.wait_state(lambda s: True)
        gate = hold(server)
        try:
            first = send(c, "staff_setup", name="pertama", password=NEW)
            second = send(c, "staff_setup", name="kedua", password=NEW)
            wait_for(lambda: server.signins.pending == 2, what="both setups to wait for their hashing")
        finally:
            gate.set()
        assert c.raw_reply(first)["result"]["account"]["name"] == "pertama"
        assert c.raw_reply(second)["error"]["code"] == "setup_done"
        with sqlite3.connect(tmp_path / "antre.db") as d:
            assert d.execute("select name from staff_accounts").fetchall() == [("pertama",)]
    finally:
        c.stop()
        server.stop()


def test_a_flood_of_password_changes_is_refused_busy_beyond_the_waiting_limit(running):
    from antre.service.signins import PENDING_MAX
    server, c, _ = running
    admin = signed_in(c, "admin")
    gate = hold(server)
    try:
        queued = [send(c, "staff_update", session=admin, name="budi", password=f"{NEW} {i}")
                  for i in range(PENDING_MAX)]
        wait_for(lambda: server.signins.pending == PENDING_MAX, what="the changes to be queued")
        over = c.raw_reply(send(c, "staff_update", session=admin, name="budi", password=NEW))
        assert not over["ok"] and over["error"]["code"] == "busy"
    finally:
        gate.set()
    assert all(c.raw_reply(rid)["ok"] for rid in queued)
    assert c.ok("staff_login", name="budi", password=f"{NEW} {PENDING_MAX - 1}",
                session=secrets.token_urlsafe(32))["signed_in"]


def test_the_hash_argument_cannot_be_sent_by_a_device(running):
    _, c, _ = running
    admin = signed_in(c, "admin")
    reply = c.request("staff_update", session=admin, name="budi", password=NEW,
                      hashed="$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
    assert not reply.ok and reply.code == "unknown_argument"
