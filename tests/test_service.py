"""The queue service through its public interface: MQTT messages to and from `antre serve`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from tests.conftest import start_office
from tests.support import ALL_SERVICES, ROOT, Mosquitto, TestClient, counters_toml, wait_for

TWO_COUNTERS = counters_toml({"loket-1": ALL_SERVICES, "loket-2": ALL_SERVICES})


# ---------------------------------------------------------------------------- issuing and numbering

def test_issue_ticket_reply_has_what_a_kiosk_shows(office):
    c = office.client
    first = c.ok("issue_ticket", service="adminduk")
    assert first["number"] == "A-001"
    assert first["service"] == "adminduk"
    assert first["service_name"] == "Administrasi Kependudukan (KTP/KK)"
    assert first["ahead"] == 0 and first["estimated_wait_minutes"] == 0
    assert first["issued_at"].endswith("+00:00") and first["state"] == "waiting"
    second = c.ok("issue_ticket", service="adminduk")
    assert second["number"] == "A-002" and second["ahead"] == 1
    # Default service time is 5 minutes; adminduk is served by loket-1 and loket-2.
    assert second["estimated_wait_minutes"] == 3
    assert c.ok("issue_ticket", service="surat")["number"] == "B-001"
    issued = wait_for(lambda: len(c.events_of("ticket_issued")) == 3 and c.events_of("ticket_issued"))
    assert [e["number"] for e in issued] == ["A-001", "A-002", "B-001"]
    st = c.wait_state(lambda s: c.service_state("adminduk")["waiting"] == 2)
    assert c.service_state("adminduk")["last_issued"] == "A-002"
    assert st["office"]["name"] == "Kantor Desa Uji Coba"


def test_state_is_retained_and_seq_increases(office):
    c = office.client
    before = c.state()["seq"]
    c.ok("issue_ticket", service="umum")
    after = c.wait_state(lambda s: s["seq"] > before)["seq"]
    late = office.new_client()  # a display that starts now sees the truth at once
    st = late.wait_state(lambda s: True)
    assert st["seq"] == after and next(s for s in st["services"] if s["code"] == "umum")["waiting"] == 1
    late.stop()


def test_presence_online_and_last_will(office, tmp_path):
    seen = {}
    c = office.client
    c.link.subscribe(c.topics.status("service", office.service.client_id), lambda t, p: seen.update(json.loads(p)))
    wait_for(lambda: seen.get("online") is True, what="service online")
    assert seen["component"] == "service"
    office.service.kill()
    wait_for(lambda: seen.get("online") is False, what="last will: service offline")



@pytest.mark.parametrize("thread", ["the main thread", "another thread"])
def test_sigterm_stops_the_service_cleanly_whichever_thread_the_kernel_gives_it_to(office, thread):
    """A SIGTERM sent to the process goes to any one of its threads that does not block it. CPython runs the
    handler in the main thread only and does not wake that thread from a lock wait: taken by the writer or
    paho's thread, it left ``antre serve`` waiting for good (systemd kills it after TimeoutStopSec, with no
    'stopped' presence, and the next start waits for a service that is gone). Seen under libfaketime, where the
    kernel often picks another thread. ``kill(tid)`` prefers the thread ``tid``: each one is tried."""
    seen = {}
    c = office.client
    c.link.subscribe(c.topics.status("service", office.service.client_id), lambda t, p: seen.update(json.loads(p)))
    wait_for(lambda: seen.get("online") is True, what="service online")
    c.ok("issue_ticket", service="umum")
    pid = office.service.proc.pid
    tids = sorted(int(t.name) for t in (Path("/proc") / str(pid) / "task").iterdir())
    assert len(tids) >= 3, tids   # main, the writer, paho's network thread
    target = pid if thread == "the main thread" else next(t for t in tids if t != pid)
    os.kill(target, signal.SIGTERM)   # a process-wide signal; the kernel tries the thread named first
    code = wait_for(lambda: office.service.proc.poll() is not None and [office.service.proc.returncode], 30,
                    f"the service to stop after SIGTERM to {thread}:\n{office.service.output()[-2000:]}")
    assert code == [0]
    assert "stopping" in office.service.output()
    wait_for(lambda: seen.get("stopped") is True, what="the 'stopped' presence (a clean stop, not a last will)")


# ---------------------------------------------------------------------------- calling

def test_call_next_across_services_oldest_first(office):
    c = office.client
    c.ok("issue_ticket", service="surat")      # B-001, oldest
    c.ok("issue_ticket", service="adminduk")
    c.ok("issue_ticket", service="umum")       # C-001: loket-2 does not serve it
    # loket-2 serves adminduk and surat: B-001 first (older), then A-001, then nothing.
    assert c.ok("call_next", counter="loket-2")["number"] == "B-001"
    called = c.ok("call_next", counter="loket-2")
    assert called["number"] == "A-001"
    assert called["counter"] == {"id": "loket-2", "name": "Loket 2", "number": 2}
    assert c.error("call_next", counter="loket-2") == "queue_empty"
    # "next" while serving completed the previous ticket.
    done = wait_for(lambda: c.events_of("ticket_completed"))
    assert done[0]["number"] == "B-001"
    events = wait_for(lambda: len(c.events_of("ticket_called")) == 2 and c.events_of("ticket_called"))
    assert [e["number"] for e in events] == ["B-001", "A-001"] and not any(e["recall"] for e in events)
    st = c.wait_state(lambda s: s["counters"][1]["serving"] and s["counters"][1]["serving"]["number"] == "A-001")
    assert st["counters"][1]["status"] == "serving"
    assert [x["number"] for x in st["last_calls"]] == ["A-001", "B-001"]


def test_priority_goes_first_within_the_service(office):
    c = office.client
    c.ok("issue_ticket", service="adminduk")
    c.ok("issue_ticket", service="adminduk")
    prio = c.ok("issue_ticket", service="adminduk", priority="lansia")
    assert prio["number"] == "A-003" and prio["priority"] == "lansia" and prio["ahead"] == 0
    assert c.ok("call_next", counter="loket-1")["number"] == "A-003"
    assert c.ok("call_next", counter="loket-1")["number"] == "A-001"
    assert c.error("issue_ticket", service="adminduk", priority="vip") == "invalid_argument"


def test_recall_skip_complete(office):
    c = office.client
    for _ in range(3):
        c.ok("issue_ticket", service="adminduk")
    assert c.error("recall", counter="loket-1") == "nothing_to_recall"
    c.ok("call_next", counter="loket-1")
    seq = c.wait_state(lambda s: s["counters"][0]["serving"] is not None)["seq"]
    again = c.ok("recall", counter="loket-1")
    assert again["number"] == "A-001" and again["recall"] is True
    wait_for(lambda: any(e["recall"] for e in c.events_of("ticket_called")), what="recall event")
    skipped = c.ok("skip", counter="loket-1")
    assert skipped["number"] == "A-001" and skipped["state"] == "no_show"
    assert wait_for(lambda: c.events_of("ticket_skipped"))[0]["number"] == "A-001"
    assert c.error("skip", counter="loket-1") == "nothing_to_skip"
    c.ok("call_next", counter="loket-1")
    done = c.ok("complete", counter="loket-1")
    assert done["number"] == "A-002" and done["state"] == "done"
    assert c.error("complete", counter="loket-1") == "nothing_to_complete"
    # The state after "complete": after "skip" the counter was idle too, so wait for the one that shows
    # A-002 done (rateable), and read everything from that one state, not from whatever came last.
    st = c.wait_state(lambda s: s["seq"] > seq and s["counters"][0]["status"] == "idle"
                      and any(r["number"] == "A-002" for r in s["rateable"]), what="the state after complete")
    assert next(x for x in st["services"] if x["code"] == "adminduk")["waiting"] == 1
    assert [r["number"] for r in st["rateable"]] == ["A-002"]


def test_transfer_keeps_number_and_place(office):
    c = office.client
    first = c.ok("issue_ticket", service="adminduk")   # A-001 at t0
    c.ok("issue_ticket", service="surat")              # B-001 at t1 > t0
    c.ok("call_next", counter="loket-1")               # loket-1 calls A-001
    moved = c.ok("transfer", counter="loket-1", service="surat")
    assert moved["number"] == "A-001" and moved["service"] == "surat" and moved["from_service"] == "adminduk"
    assert moved["issued_at"] == first["issued_at"] and moved["state"] == "waiting"
    assert wait_for(lambda: c.events_of("ticket_transferred"))[0]["number"] == "A-001"
    # In the surat queue, A-001 keeps its original issue time, so it is ahead of B-001.
    assert c.ok("call_next", counter="loket-3")["number"] == "A-001"
    assert c.error("transfer", counter="loket-3", service="surat") == "same_service"
    assert c.error("transfer", counter="loket-3", service="nope") == "unknown_service"
    assert c.error("transfer", counter="loket-1", service="surat") == "nothing_to_transfer"


def test_paused_counter_cannot_call(office):
    c = office.client
    c.ok("issue_ticket", service="adminduk")
    assert c.ok("pause", counter="loket-1")["paused"] is True
    c.wait_state(lambda s: s["counters"][0]["status"] == "paused")
    assert c.error("call_next", counter="loket-1") == "counter_paused"
    # With loket-1 on a break only loket-2 serves adminduk: the estimate doubles.
    c.ok("issue_ticket", service="adminduk")
    c.wait_state(lambda s: c.service_state("adminduk")["estimated_wait_minutes"] == 10)
    c.ok("resume", counter="loket-1")
    assert c.ok("call_next", counter="loket-1")["number"] == "A-001"


def test_daily_quota(tmp_path, broker):
    services = """
[[services]]
code = "ktp"
name = "KTP"
prefix = "A"
daily_quota = 2

[[counters]]
id = "loket-1"
name = "Loket 1"
services = ["ktp"]
"""
    o = start_office(tmp_path, broker, services=services)
    try:
        c = o.client
        c.ok("issue_ticket", service="ktp")
        c.ok("issue_ticket", service="ktp")
        reply = c.request("issue_ticket", service="ktp")
        assert not reply.ok and reply.code == "quota_reached" and "quota of 2" in reply.message
        c.wait_state(lambda s: s["services"][0]["quota_reached"] is True)
        # Calling does not give quota back: it counts tickets issued today.
        c.ok("call_next", counter="loket-1")
        assert c.error("issue_ticket", service="ktp") == "quota_reached"
    finally:
        o.client.stop()
        o.service.stop()


# ---------------------------------------------------------------------------- ratings

def test_rating_code_is_given_to_the_issuer_and_checked_whenever_sent(office):
    c = office.client
    a, b = c.ok("issue_ticket", service="adminduk"), c.ok("issue_ticket", service="adminduk")
    assert a["rating_code"].isdigit() and len(a["rating_code"]) == 4
    for _ in range(2):
        c.ok("call_next", counter="loket-1")
    c.ok("complete", counter="loket-1")
    wrong = "0000" if a["rating_code"] != "0000" else "0001"
    assert c.error("rate", ticket="A-001", score=4, code=wrong) == "rating_code_wrong"
    assert c.error("rate", ticket="A-001", score=4, code="12a4") == "invalid_argument"
    assert c.ok("rate", ticket="A-001", score=4, code=a["rating_code"])["number"] == "A-001"
    # Not required by default ([queue] rating_code_required): a kiosk without the code keypad still rates.
    assert c.ok("rate", ticket="A-002", score=2)["number"] == "A-002"
    # The code survives a restart: derived from the secret kept in the database, not from memory.
    with sqlite3.connect(office.db_path) as db:
        assert len(db.execute("select value from meta where key = 'rating.secret'").fetchone()[0]) == 64


def test_rating_once_after_service(office):
    c = office.client
    c.ok("issue_ticket", service="adminduk")
    assert c.error("rate", ticket="A-001", score=4) == "not_served"
    c.ok("call_next", counter="loket-1")
    c.ok("complete", counter="loket-1")
    r = c.ok("rate", ticket="A-001", score=3, elements=[4, 3, 3, 4, 3, 4, 4, 3, 2], comment="Cepat dan ramah")
    assert r["score"] == 3 and r["counter"] == "loket-1"
    ev = wait_for(lambda: c.events_of("rating_received"))[0]
    assert ev["number"] == "A-001" and ev["elements"][8] == 2
    assert c.error("rate", ticket="A-001", score=4) == "already_rated"
    assert c.error("rate", ticket="A-999", score=4) == "ticket_not_found"
    assert c.error("rate", ticket="A-001", score=5) == "invalid_argument"
    assert c.error("rate", ticket="A-001", score=4, elements=[4, 4]) == "invalid_argument"
    c.wait_state(lambda s: s["rateable"] == [])
    with sqlite3.connect(office.db_path) as db:
        assert db.execute("select score, u1, u9, comment from ratings").fetchall() == [(3, 4, 2, "Cepat dan ramah")]


# ---------------------------------------------------------------------------- idempotency

def test_repeated_request_id_returns_same_reply_and_changes_nothing(office):
    c = office.client
    rid = "kiosk-touch-" + uuid.uuid4().hex
    first = c.request("issue_ticket", request_id=rid, service="surat")
    again = c.request("issue_ticket", request_id=rid, service="surat")
    assert first.ok and again.ok and again.result == first.result
    assert c.ok("issue_ticket", service="surat")["number"] == "B-002"
    assert c.error("call_next", request_id=rid, counter="loket-3") == "request_id_reused"
    # ... also after a restart: the request log is in the same transaction as the ticket.
    office.service.kill()
    c.wait_service(online=False)
    office.service.start()
    c.wait_service(online=True)
    replay = c.request("issue_ticket", request_id=rid, service="surat")
    assert replay.ok and replay.result == first.result
    with sqlite3.connect(office.db_path) as db:
        assert db.execute("select count(*) from tickets").fetchone() == (2,)


# ---------------------------------------------------------------------------- bad input

BAD_INPUTS = [
    ("issue_ticket", b"{not json", None),                           # no request_id readable: answered without
    ("issue_ticket", b"\xff\xfe\x00garbage", None),                 # not UTF-8: answered without request_id
    ("issue_ticket", b"[1, 2, 3]", None),
    ("issue_ticket", {"service": 7}, "invalid_argument"),
    ("issue_ticket", {"service": "adminduk", "extra": 1}, "unknown_argument"),
    ("issue_ticket", {}, "missing_argument"),
    ("issue_ticket", {"service": "bogus"}, "unknown_service"),
    ("issue_ticket", {"service": "adminduk", "channel": "fax"}, "invalid_argument"),
    ("call_next", {"counter": "loket-9"}, "unknown_counter"),
    ("call_next", {"counter": ["loket-1"]}, "invalid_argument"),
    ("call_next", {"counter": "loket-1"}, "queue_empty"),
    ("complete", {"counter": "loket-1"}, "nothing_to_complete"),
    ("rate", {"ticket": "A-1", "score": True}, "invalid_argument"),
    ("launch_rockets", {}, "unknown_command"),
]


@pytest.mark.parametrize("command, payload, code", BAD_INPUTS,
                         ids=[f"{c}-{code or i}" for i, (c, _, code) in enumerate(BAD_INPUTS)])
def test_bad_input_gets_a_specific_error_and_changes_nothing(office, command, payload, code):
    c = office.client
    c.ok("issue_ticket", service="umum")
    seq = c.wait_state(lambda s: c.service_state("umum")["waiting"] == 1)["seq"]
    topic = c.command_topic(command)
    rid = uuid.uuid4().hex
    if isinstance(payload, dict):
        payload = json.dumps({"request_id": rid} | payload).encode()
    c.publish_raw(topic, payload)
    # The sender is known from the topic, so even unreadable payloads get an answer.
    reply = c.raw_reply(rid if code is not None else None)
    assert reply["ok"] is False and reply["error"]["message"]
    if code is not None:
        assert reply["error"]["code"] == code
    assert "refused" in office.service.output()
    # The service is alive, and nothing changed.
    assert c.ok("issue_ticket", service="umum")["number"] == "C-002"
    st = c.wait_state(lambda s: c.service_state("umum")["waiting"] == 2)
    assert st["seq"] == seq + 1
    assert "Traceback" not in office.service.output()


def test_oversize_payload_is_refused_with_a_reply(office):
    c = office.client
    payload = json.dumps({"request_id": "big-1", "service": "adminduk", "comment": "x" * 50_000}).encode()
    c.publish_raw(c.command_topic("issue_ticket"), payload)
    reply = c.raw_reply("big-1")
    assert reply["error"]["code"] == "payload_too_large"
    assert c.ok("issue_ticket", service="adminduk")["number"] == "A-001"


# ---------------------------------------------------------------------------- crash and concurrency

def test_kill_9_mid_burst_then_retry_loses_and_duplicates_nothing(office):
    """kill -9 the service during a burst; retrying every request with its own id recovers exactly."""
    c = office.client
    ids = [f"burst-{i}-{uuid.uuid4().hex[:6]}" for i in range(60)]
    replies: dict[str, object] = {}
    lock = threading.Lock()

    def record(reply):
        with lock:
            replies[reply.request_id] = reply

    for i, rid in enumerate(ids):
        c.requester.send("issue_ticket", {"service": ("adminduk", "surat", "umum")[i % 3]}, record,
                         timeout=5, request_id=rid)
        if i == 20:
            wait_for(lambda: sum(1 for r in list(replies.values()) if r.ok) >= 5, what="some acknowledged")
            office.service.kill()
    wait_for(lambda: len(replies) == len(ids), timeout=30, what="every first attempt to end")
    acknowledged = {rid: r.result for rid, r in list(replies.items()) if r.ok}
    c.wait_service(online=False)
    office.service.start()
    c.wait_service(online=True)
    final = {}
    for rid, svc in zip(ids, [("adminduk", "surat", "umum")[i % 3] for i in range(len(ids))]):
        r = c.request("issue_ticket", request_id=rid, service=svc)
        assert r.ok, (rid, r.code, r.message)
        final[rid] = r.result
    for rid, result in acknowledged.items():   # an acknowledged ticket is never lost or changed
        assert final[rid] == result
    numbers = [r["number"] for r in final.values()]
    assert len(set(numbers)) == len(ids)       # no number twice
    st = c.wait_state(lambda s: sum(x["waiting"] for x in s["services"]) == len(ids))
    assert {x["code"]: x["waiting"] for x in st["services"]} == {"adminduk": 20, "surat": 20, "umum": 20}
    with sqlite3.connect(office.db_path) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select count(*) from tickets").fetchone() == (len(ids),)


def test_two_counters_pressing_together_never_share_a_ticket(tmp_path, broker):
    o = start_office(tmp_path, broker, counters=TWO_COUNTERS)
    try:
        c = o.client
        n = 60
        for i in range(n):
            c.ok("issue_ticket", service=("adminduk", "surat", "umum")[i % 3])
        got = {"loket-1": [], "loket-2": []}
        start = threading.Barrier(2)

        def press(counter):
            desk = o.new_client()
            try:
                start.wait()
                while True:
                    r = desk.request("call_next", counter=counter)
                    if not r.ok:
                        assert r.code == "queue_empty", r
                        return
                    got[counter].append(r.result["number"])
            finally:
                desk.stop()

        threads = [threading.Thread(target=press, args=(k,)) for k in got]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        everything = got["loket-1"] + got["loket-2"]
        assert len(everything) == n and len(set(everything)) == n
        assert got["loket-1"] and got["loket-2"]
        called = wait_for(lambda: len(c.events_of("ticket_called")) == n and c.events_of("ticket_called"))
        assert sorted(e["number"] for e in called) == sorted(everything)
    finally:
        o.client.stop()
        o.service.stop()


# ---------------------------------------------------------------------------- no configuration at all

def test_serve_runs_with_no_config(tmp_path):
    # Its own broker: with no configuration its client id is the default antre-service (tests/support.py's
    # service_client_id says why no other test's service may share a broker with it).
    (tmp_path / "mq").mkdir()
    broker = Mosquitto(tmp_path / "mq").start()
    env = {k: v for k, v in os.environ.items() if k not in ("ANTRE_CONFIG", "ANTRE_MQTT_FILE")} | {
        "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "antre", "serve", "--mqtt-url", broker.url], cwd=tmp_path,
                            env=env | {"PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    c = TestClient(broker.url, "sukamaju").start()
    try:
        st = c.wait_state(lambda s: s["office"]["name"] == "Kantor Desa Sukamaju")
        assert [s["prefix"] for s in st["services"]] == ["A", "B", "C"]
        assert (tmp_path / "data" / "antre" / "antre.db").exists()
    finally:
        c.stop()
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode()
        broker.stop()
    assert proc.returncode == 0, out


def test_the_service_warns_at_start_about_a_default_secret(office):
    # The test office keeps the sample's kiosk staff PIN: the log says so, naming the file.
    wait_for(lambda: "staff_pin is the sample's default '1234'" in office.service.output(),
             what="the warning about the default kiosk PIN")
    assert str(office.config_path) in next(line for line in office.service.output().splitlines()
                                           if "staff_pin is the sample's default" in line)


def test_ticket_status_read_from_the_state_equals_the_services_answer(office):
    """What a status page derives from the retained state (antre/rules/ticket_view.py) is what ticket_status
    says, for every open ticket, through priorities, transfers, calls and a paused counter."""
    from antre.rules.ticket_view import StateIndex

    c = office.client
    for i in range(12):
        c.ok("issue_ticket", service=("adminduk", "surat")[i % 2], priority="lansia" if i % 5 == 4 else None)
    c.ok("call_next", counter="loket-1")
    c.ok("call_next", counter="loket-2")
    c.ok("transfer", counter="loket-2", service="umum")
    c.ok("call_next", counter="loket-2")
    c.ok("pause", counter="loket-3")
    c.ok("issue_ticket", service="umum")
    c.ok("call_next", counter="loket-1")
    # The state after the last command: the one after the second call_next also had 10 waiting and both
    # counters busy, so also wait for the 13th ticket and the paused counter.
    state = c.wait_state(lambda s: sum(x["waiting"] for x in s["services"]) == 10 and
                         sum(x["issued_today"] for x in s["services"]) == 13 and
                         s["counters"][2]["status"] == "paused" and
                         all(k["status"] != "idle" for k in s["counters"][:2]), "the state after the mix")
    ix = StateIndex(state)
    assert len(ix.open) == 12
    for number, derived in ix.open.items():
        told = c.ok("ticket_status", number=number)
        for key in ("state", "service", "ahead", "estimated_wait_minutes"):
            assert derived[key] == told[key], (number, key, derived, told)
        assert (derived["counter"] or {}).get("name") == (told["counter"] or {}).get("name")
    last = max(int(n.split("-")[1]) for n in ix.open if n.startswith("A-"))
    assert ix.issued(f"A-{last:03d}") and not ix.issued(f"A-{last + 1:03d}") and not ix.issued("Z-001")


# ---------------------------------------------------------------------------- staleness

def test_a_command_that_arrives_on_time_is_applied_however_long_it_waits_behind_the_writer(tmp_path, broker):
    """A command's age is measured when it arrives, not when the writer thread gets to it: under load the
    service's own backlog must not make a command that came on time look stale ('refused as stale ... not
    applied', and the device's press lost). The writer is held (a job of ours that blocks it) while a command
    arrives on time, and let go only after ``max_command_age``: it must be applied. Fails before the fix."""
    import time

    from antre.service.server import QueueServer
    from tests.support import service_config, write_config

    path = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "antre.db",
                        queue="max_command_age = 1")
    server = QueueServer(service_config(path))
    server.start()
    c = TestClient(broker.url, server.cfg.office.id).start()
    gate, held = threading.Event(), threading.Event()

    class Hold:
        """Stands for a local job's 'done' event: setting it keeps the writer thread until the gate opens."""
        def set(self):
            held.set()
            gate.wait(60)

    try:
        c.wait_state(lambda s: True)
        assert c.ok("issue_ticket", service="umum")["number"]   # learns the sender's clock offset
        server._jobs.put(("local", "no_such_command", uuid.uuid4().hex, {}, Hold(), []))
        wait_for(held.is_set, what="the writer to be held")
        rid = uuid.uuid4().hex
        c.publish_raw(c.command_topic("issue_ticket"),
                      json.dumps({"request_id": rid, "sent_at": round(time.time(), 3), "service": "umum"}))
        wait_for(lambda: server._jobs.qsize() >= 1, what="the command to reach the service while its writer is held")
        since = time.monotonic()
        wait_for(lambda: time.monotonic() - since > 2.0, what="more than max_command_age to pass")
        gate.set()
        reply = c.raw_reply(rid)
        assert reply.get("ok") is True, reply
        wait_for(lambda: len(c.events_of("ticket_issued")) == 2, what="the second ticket's event")
    finally:
        gate.set()
        c.stop()
        server.stop()
