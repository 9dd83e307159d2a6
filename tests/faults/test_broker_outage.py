"""Broker outage: mosquitto stopped for several seconds mid-traffic, then started again.

The broker keeps no persistence, so everything retained is gone when it comes
back: the service must reconnect by itself and publish its presence and the
retained state again; every client reconnects; the counter app (a real ``antre
counter`` process, keyboard mode) and the display app (a real ``antre display``
window on Xvfb) come back online by themselves, and a key press on the counter
after the outage calls the next ticket. Requests that were cut off are retried
with their own request_id: no ticket is lost or issued twice, and each ticket
is called once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest

from tests.conftest import start_office
from tests.faults.conftest import COUNTERS, SERVICE_CODES, SERVICES, check_histories, connect
from tests.support import ROOT, Mosquitto, TestClient, wait_for

OUTAGE_S = 5.0
TRANSIENT = {"timeout", "offline"}

pytestmark = pytest.mark.timeout(200)


class Presence:
    """Watches the retained presence topics: who is online, and when they last said so."""

    def __init__(self, client: TestClient):
        self.online: dict[str, float] = {}
        self.lock = threading.Lock()
        client.link.subscribe(client.topics.statuses, self._status)

    def _status(self, topic, payload):
        if not payload:
            return
        data = json.loads(payload)
        with self.lock:
            if data.get("online"):
                self.online[data.get("component", "?") + ":" + topic.rsplit("/", 1)[1]] = time.monotonic()
            else:
                self.online.pop(data.get("component", "?") + ":" + topic.rsplit("/", 1)[1], None)

    def since(self, component: str, t: float) -> bool:
        with self.lock:
            return any(k.startswith(component + ":") and at > t for k, at in self.online.items())


def app(name: str, office, log, extra=(), env=None):
    return subprocess.Popen([sys.executable, "-m", "antre", name, "--config", str(office.config_path), *extra],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                            env=os.environ | (env or {}))


def definitive(client: TestClient, command: str, rid: str, args: dict):
    """Sends (again) until the service answers; waits for the link while the broker is away."""
    for _ in range(40):
        if not client.link.connected.is_set():
            wait_for(client.link.connected.is_set, 30, "the client to reconnect")
        reply = client.request(command, timeout=3, request_id=rid, **args)
        if reply.code not in TRANSIENT:
            return reply
    raise AssertionError(f"{command} {rid} never answered")


def test_broker_restart_mid_traffic(tmp_path, xvfb):
    broker = Mosquitto(tmp_path / "mosquitto").start()
    (tmp_path / "office").mkdir()
    office = start_office(tmp_path / "office", broker, services=SERVICES, counters=COUNTERS)
    presence = Presence(office.client)
    kiosk, counter = office.new_client(), office.new_client()
    logs = open(tmp_path / "apps.log", "wb")
    counter_app = app("counter", office, logs, ["--keyboard", "loket-3"])
    display_app = app("display", office, logs, ["--windowed", "--size", "1280x720", "--no-voice"],
                      xvfb.env() | {"KIVY_NO_ARGS": "1", "KIVY_LOG_MODE": "PYTHON"})
    issued: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def kiosk_loop():
        i = 0
        try:
            while not stop.is_set():
                args = {"service": SERVICE_CODES[i % 3]}
                reply = definitive(kiosk, "issue_ticket", f"out-{uuid.uuid4().hex[:16]}", args)
                assert reply.ok, reply
                issued.append(reply.result["number"])
                i += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def counter_loop():
        try:
            while not stop.is_set():
                definitive(counter, "call_next", f"out-{uuid.uuid4().hex[:16]}", {"counter": "loket-1"})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    try:
        start = time.monotonic()
        wait_for(lambda: presence.since("counter", 0) and presence.since("display", 0), 90,
                 "the counter and display apps to come online:\n" + (tmp_path / "apps.log").read_text())
        threads = [threading.Thread(target=kiosk_loop), threading.Thread(target=counter_loop)]
        for t in threads:
            t.start()
        wait_for(lambda: len(issued) >= 15, what="traffic before the outage")
        broker.stop()
        down_at = time.monotonic()
        assert not errors
        time.sleep(OUTAGE_S)  # the fault: the broker is away for this long
        before_restart = len(issued)
        broker.start()
        back = time.monotonic()
        for who in ("service", "counter", "display"):
            wait_for(lambda: presence.since(who, back), 60, f"{who} to come back online")
        wait_for(lambda: len(issued) >= before_restart + 15, what="traffic after the outage")
        stop.set()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert time.monotonic() - start < 180

        # A fresh subscriber sees the retained state again, and it is the database's truth.
        fresh = office.new_client()
        try:
            state = fresh.wait_state(lambda s: True, "the retained state after the restart")
            with connect(office.db_path) as db:
                seq = int(db.execute("SELECT value FROM meta WHERE key='state_seq'").fetchone()[0])
                waiting = Counter(s for (s,) in db.execute("SELECT service_code FROM tickets WHERE state='waiting'"))
            state = fresh.wait_state(lambda s: s["seq"] == seq, "the state to catch up with the database")
            assert {s["code"]: s["waiting"] for s in state["services"]} == {c: waiting.get(c, 0) for c in SERVICE_CODES}
        finally:
            fresh.stop()

        # The counter app reconnected by itself: a key press after the outage calls the next ticket.
        issued.append(kiosk.ok("issue_ticket", service="surat")["number"])
        n_called = len(office.client.events_of("ticket_called"))
        counter_app.stdin.write(b"+\n")
        counter_app.stdin.flush()
        wait_for(lambda: any(e["counter"]["id"] == "loket-3" for e in office.client.events_of("ticket_called")
                             [n_called:]), what="the counter app's call after the outage")
        assert counter_app.poll() is None and display_app.poll() is None

        # Nothing lost, nothing doubled; each ticket called (announced) once.
        assert len(issued) == len(set(issued))
        with connect(office.db_path) as db:
            numbers = sorted(n for (n,) in db.execute("SELECT number FROM tickets"))
            calls = Counter(n for (n,) in db.execute(
                "SELECT t.number FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id WHERE e.kind='called'"))
        assert numbers == sorted(issued)
        assert set(calls.values()) == {1}
        check_histories(office.db_path)
        print(f"\nbroker outage: {OUTAGE_S:.0f} s down after {before_restart} tickets "
              f"({back - down_at:.1f} s incl. stop), {len(issued)} tickets, {sum(calls.values())} calls")
    finally:
        stop.set()
        for p in (counter_app, display_app):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
        logs.close()
        for c in (kiosk, counter):
            c.stop()
        office.client.stop()
        office.service.stop()
        broker.stop()
