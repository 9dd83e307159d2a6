"""A reply over the shipped broker's max_packet_size (64 KiB, broker_config/antre.conf) made mosquitto drop the
service itself: every device lost it and the asker got no answer. The service now answers ``reply_too_large``
instead and stays connected. A real in-process service on a mosquitto with the shipped limit."""

from __future__ import annotations

import pytest

from antre import config
from antre.rules import complaint_export
from antre.service.server import QueueServer
from tests.support import Mosquitto, TestClient, write_config
from tests.test_letters import sign_in_staff


@pytest.fixture
def running(tmp_path):
    b = Mosquitto(tmp_path / "mosquitto", extra="max_packet_size 65536\n").start()
    path = write_config(tmp_path / "antre.toml", mqtt_url=b.url, db_path=tmp_path / "antre.db")
    server = QueueServer(config.load(path))
    server.start()
    web = TestClient(b.url, server.cfg.office.id, client_id="web-1", component="web").start()
    web.wait_state(lambda s: True)
    yield server, web
    web.stop()
    server.stop()
    b.stop()


def test_an_oversized_reply_is_refused_and_the_service_stays_connected(running, monkeypatch):
    server, web = running
    kasi = sign_in_staff(web.ok)["kasi"]["session"]
    made = [web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                   text=f"Laporan {i}: " + "Jalan desa rusak parah dan berlubang di banyak tempat. " * 34,
                   name="Siti Aminah", phone=f"0812987{i:05d}")["code"] for i in range(50)]
    month = web.ok("complaint_status", code=made[0])["created_at"][:7]
    monkeypatch.setattr(complaint_export, "PAGE_BYTES", 10 ** 9)   # one page for the whole month: too large
    assert web.error("complaint_export", month=month, session=kasi) == "reply_too_large"
    assert web.ok("complaint_status", code=made[-1])["code"] == made[-1]
    assert server.link.connected.is_set()
