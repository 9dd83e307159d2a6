"""The service's per-address code budget (antre/service/server.py, ``GUESSED``/``PER_ADDRESS``) must not grow
without end: the website names a browser address with each lookup, and someone with many addresses (a mobile
operator's pool, an IPv6 prefix) could otherwise add an entry per address for as long as the service runs, on a
Raspberry Pi. A real in-process service on a real broker and SQLite file, asked as the website asks."""

from __future__ import annotations

import pytest

from antre.rules.complaint_codes import new_complaint_code
from antre.service import server as server_mod
from antre.service.server import ADDRESS_MISSES, QueueServer
from tests.support import TestClient, service_config, write_config


@pytest.fixture
def running(tmp_path, broker):
    path = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "antre.db")
    server = QueueServer(service_config(path))
    server.start()
    web = TestClient(broker.url, server.cfg.office.id, client_id="web-1", component="web").start()
    web.wait_state(lambda s: True)
    yield server, web
    web.stop()
    server.stop()


def test_found_codes_leave_no_entry_and_the_budget_is_bounded(running, monkeypatch):
    server, web = running
    code = web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web", anonymous=True,
                  text="Lampu jalan mati")["code"]
    for i in range(200):   # residents following their own report from many addresses: nothing to remember
        assert web.ok("complaint_status", code=code, address=f"2001:db8::{i:x}")["code"] == code
    assert len(server._checkins) == 0
    monkeypatch.setattr(server_mod, "MAX_GUESSERS", 50)
    for i in range(200):   # a guesser on 200 addresses: at most MAX_GUESSERS entries are kept
        assert web.error("complaint_status", code=new_complaint_code(), address=f"2001:db8:1::{i:x}") == \
            "complaint_not_found"
        assert len(server._checkins) <= 50
    # The budget still holds for one address within its window.
    for _ in range(ADDRESS_MISSES):
        web.error("complaint_status", code=new_complaint_code(), address="203.0.113.5")
    assert web.error("complaint_status", code=code, address="203.0.113.5") == "too_many_attempts"
