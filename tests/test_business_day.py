"""Day rollover, opening hours and a clock that goes backwards, with an injectable clock.

The service runs in-process here (so the test can move its clock) but is still driven over MQTT.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from antre.clock import ManualClock
from antre.service.server import QueueServer
from tests.support import TestClient, service_config, wait_for, write_config

WIB = timezone(timedelta(hours=7))


@pytest.fixture
def running(tmp_path, broker):
    servers = []

    def start(clock, enforce_hours=False):
        path = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "antre.db",
                            enforce_hours=enforce_hours)
        cfg = service_config(path)
        server = QueueServer(cfg, clock=clock)
        server.start()
        client = TestClient(broker.url, cfg.office.id).start()
        client.wait_state(lambda s: True)
        servers.append((server, client))
        return server, client

    yield start
    for server, client in servers:
        client.stop()
        server.stop()


def test_numbering_restarts_each_day_and_yesterday_expires(running, tmp_path):
    clock = ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=WIB))   # Monday 09:00 WIB
    server, c = running(clock)
    assert c.ok("issue_ticket", service="adminduk")["number"] == "A-001"
    assert c.ok("issue_ticket", service="adminduk")["number"] == "A-002"
    c.ok("call_next", counter="loket-1")
    # 16:59 UTC is still Monday in Jakarta; 17:00 UTC is Tuesday 00:00 WIB.
    clock.set(datetime(2026, 11, 30, 16, 59, tzinfo=timezone.utc))
    assert c.ok("issue_ticket", service="adminduk")["number"] == "A-003"
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=WIB))
    t = c.ok("issue_ticket", service="adminduk")
    assert t["number"] == "A-001" and t["business_date"] == "2026-12-01" and t["ahead"] == 0
    st = c.wait_state(lambda s: s["business_date"] == "2026-12-01" and s["services"][0]["waiting"] == 1)
    assert st["counters"][0]["serving"] is None and st["last_calls"] == []
    with sqlite3.connect(tmp_path / "antre.db") as db:
        rows = db.execute("select business_date, number, state from tickets order by id").fetchall()
        kinds = db.execute("select count(*) from ticket_events where kind = 'expired'").fetchone()
    # Yesterday's tickets are closed as expired, never deleted.
    assert rows == [("2026-11-30", "A-001", "expired"), ("2026-11-30", "A-002", "expired"),
                    ("2026-11-30", "A-003", "expired"), ("2026-12-01", "A-001", "waiting")]
    assert kinds == (3,)


def test_rollover_happens_without_any_command(running, monkeypatch):
    monkeypatch.setattr("antre.service.server.TICK_SECONDS", 0.2)
    clock = ManualClock(datetime(2026, 11, 30, 14, 0, tzinfo=WIB))
    server, c = running(clock)
    c.ok("issue_ticket", service="surat")
    c.wait_state(lambda s: c.service_state("surat")["waiting"] == 1)
    clock.set(datetime(2026, 12, 1, 7, 30, tzinfo=WIB))
    st = c.wait_state(lambda s: s["business_date"] == "2026-12-01", what="the periodic tick to open a new day")
    assert next(x for x in st["services"] if x["code"] == "surat")["waiting"] == 0


def test_office_hours_are_enforced(running):
    clock = ManualClock(datetime(2026, 11, 30, 7, 59, tzinfo=WIB))   # Monday, before 08:00
    server, c = running(clock, enforce_hours=True)
    reply = c.request("issue_ticket", service="adminduk")
    assert reply.code == "office_closed" and "opening hours" in reply.message
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=WIB))
    assert c.ok("issue_ticket", service="adminduk")["number"] == "A-001"
    clock.set(datetime(2026, 12, 4, 11, 30, tzinfo=WIB))             # Friday closes at 11:30
    assert c.error("issue_ticket", service="adminduk") == "office_closed"
    clock.set(datetime(2026, 12, 5, 9, 0, tzinfo=WIB))               # Saturday: closed
    assert c.error("issue_ticket", service="adminduk") == "office_closed"
    st = c.wait_state(lambda s: s["business_date"] == "2026-12-05")
    assert st["open"] is False and st["hours_today"] is None


def test_clock_going_back_a_day_keeps_the_open_day(running, caplog):
    clock = ManualClock(datetime(2026, 12, 2, 9, 0, tzinfo=WIB))
    server, c = running(clock)
    assert c.ok("issue_ticket", service="umum")["number"] == "C-001"
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=WIB))   # e.g. a Pi booted without a time source
    # The office is not locked: the open day goes on, and staff are told the clock is wrong.
    t = c.ok("issue_ticket", service="umum")
    assert t["number"] == "C-002" and t["business_date"] == "2026-12-02"
    assert server.queue.clock_warning.startswith("Jam Pi salah: jam menunjukkan 1 Desember 2026 09.00")
    wait_for(lambda: c.service_status.get("clock") == "wrong", what="the warning in the service's presence")
    assert any("clock doubtful" in r.message for r in caplog.records)
    clock.set(datetime(2026, 12, 2, 9, 5, tzinfo=WIB))
    assert c.ok("issue_ticket", service="umum")["number"] == "C-003"
    assert server.queue.clock_warning is None
    wait_for(lambda: c.service_status.get("clock") == "ok", what="the warning gone")


def test_estimated_wait_uses_todays_service_times(running):
    clock = ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=WIB))
    server, c = running(clock)
    for _ in range(4):
        c.ok("issue_ticket", service="umum")        # only loket-3 serves umum
    c.ok("call_next", counter="loket-3")
    clock.advance(minutes=12)
    c.ok("complete", counter="loket-3")             # one measured service: 12 minutes
    t = c.ok("issue_ticket", service="umum")
    assert t["ahead"] == 3 and t["estimated_wait_minutes"] == 36
