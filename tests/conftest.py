"""Shared fixtures: one real mosquitto per test session, one `antre serve` per test (own office id and DB)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import Mosquitto, ServiceProcess, TestClient, Xvfb, service_takeovers, write_config


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Mosquitto:
    b = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield b
    b.stop()


@pytest.fixture(autouse=True)
def one_service_per_client_id(request):
    """Fails a test on the session's broker during which one queue service's MQTT client id was taken over.

    Every service the helpers start has a client id of its own (tests/support.py, ``service_client_id``);
    two with the same id on one broker -- a service built another way, or a leftover of an earlier test --
    would push each other off the broker again and again, and the test would fail at random, later, with a
    timeout. This says so at once, with the id. The broker's log is read from where it stood at the start."""
    if "broker" not in request.fixturenames:
        yield
        return
    log_path = request.getfixturevalue("broker").log_path
    start = log_path.stat().st_size if log_path.exists() else 0
    yield
    taken = service_takeovers(log_path, start)
    if taken:
        pytest.fail(f"two queue services with the client id(s) {', '.join(taken)} were on the test broker at "
                    "once and took the id over from each other (start services with tests/support.py's "
                    "ServiceProcess or service_config, or give such a test a broker of its own)", pytrace=False)


@dataclass
class Office:
    """A running service for one test: its config file, database, process and an admin client."""

    config_path: Path
    db_path: Path
    office_id: str
    service: ServiceProcess
    client: TestClient
    broker: Mosquitto

    def new_client(self, client_id: str | None = None) -> TestClient:
        return TestClient(self.broker.url, self.office_id, client_id).start()


def start_office(tmp_path: Path, broker: Mosquitto, **config) -> Office:
    office_id = config.pop("office_id", None) or f"t{os.urandom(4).hex()}"
    db = tmp_path / "antre.db"
    cfg = write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=db, office_id=office_id, **config)
    service = ServiceProcess(cfg, tmp_path / "service.log").start()
    client = TestClient(broker.url, office_id).start()
    try:
        client.wait_state(lambda s: True, "the service's first retained state")
    except AssertionError:
        service.stop()
        raise AssertionError("service did not publish state:\n" + service.output())
    return Office(cfg, db, office_id, service, client, broker)


@pytest.fixture
def office(tmp_path, broker) -> Office:
    o = start_office(tmp_path, broker)
    yield o
    o.client.stop()
    o.service.stop()


@pytest.fixture(scope="session")
def xvfb():
    """One X display per test process (1920x1080); Kivy apps open real windows on it."""
    x = Xvfb().start()
    yield x
    x.stop()
