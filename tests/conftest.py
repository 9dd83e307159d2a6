"""Shared fixtures: one real mosquitto per test session, one `antre serve` per test (own office id and DB)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import Mosquitto, ServiceProcess, TestClient, Xvfb, write_config


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Mosquitto:
    b = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield b
    b.stop()


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
