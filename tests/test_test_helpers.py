"""The test helpers keep each test's queue service alone with its client id on the shared broker.

Two services with one MQTT client id on one broker push each other off it (mosquitto closes the older
connection), again and again: a test on them fails at random. tests/support.py gives each service a client
id of its own; tests/conftest.py fails any test during which a service's id was taken over anyway."""

from __future__ import annotations

from tests.conftest import start_office
from tests.support import Mosquitto, TestClient, service_takeovers, wait_for


def test_two_offices_on_the_shared_broker_have_services_of_their_own_ids(tmp_path, broker):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    start = broker.log_path.stat().st_size
    a = start_office(tmp_path / "a", broker)
    b = start_office(tmp_path / "b", broker)
    try:
        assert a.service.client_id != b.service.client_id
        for office in (a, b):   # each connected under its own id, and both answer
            wait_for(lambda o=office: f"as {o.service.client_id} " in broker.log_path.read_text(errors="replace"),
                     what=f"{office.service.client_id} to connect")
            assert office.client.ok("issue_ticket", service="adminduk")["number"] == "A-001"
        a.service.stop()
        a.service.start()   # a restart keeps its id, as a real service keeps antre-service
        a.client.wait_service()
        assert a.client.ok("issue_ticket", service="adminduk")["number"] == "A-002"
        assert b.client.ok("issue_ticket", service="adminduk")["number"] == "A-002"
        assert service_takeovers(broker.log_path, start) == []
    finally:
        for office in (a, b):
            office.client.stop()
            office.service.stop()


def test_a_taken_over_service_id_is_found_in_the_brokers_log(tmp_path):
    """What the autouse check reads: the real mosquitto's line when a second client takes a service's id."""
    b = Mosquitto(tmp_path).start()
    first = TestClient(b.url, "tx", client_id="antre-service-same").start()
    try:
        assert service_takeovers(b.log_path) == []
        second = TestClient(b.url, "tx", client_id="antre-service-same").start()
        wait_for(lambda: service_takeovers(b.log_path) == ["antre-service-same"], what="the takeover in the log")
        second.stop()
        kiosks = [TestClient(b.url, "tx", client_id="kiosk-x").start() for _ in range(2)]   # not a service's id
        wait_for(lambda: "Client kiosk-x already connected" in b.log_path.read_text(), what="the kiosk's takeover")
        for k in kiosks:
            k.stop()
    finally:
        first.stop()
        b.stop()
    assert service_takeovers(b.log_path) == ["antre-service-same"]
