"""One address cannot flood the staff's question inbox through the website (``[notify] question_daily_limit``),
through the real ``antre web``, ``antre serve`` and mosquitto. Its own module: its office must not run beside
tests/test_web_questions.py's (two services on one broker share the service's MQTT client id)."""

from __future__ import annotations

import sqlite3

from tests.support import free_port
from tests.test_web import Http, WebProcess, office_toml, start_noon_office
from tests.test_web_questions import send


def test_one_address_cannot_flood_the_inbox(tmp_path, broker):
    port = free_port()
    office = start_noon_office(tmp_path, broker, office_toml(f'port = {port}\nhost = "127.0.0.1"')
                               + "\n[notify]\nquestion_daily_limit = 3\n")
    web = WebProcess(office.config_path, port, tmp_path / "web.log")
    try:
        web.wait_ready()
        h = Http(web.url)
        pages = [send(h, f"Pertanyaan banjir nomor {i} tentang irigasi sawah") for i in range(4)]
        assert all("/tanya/T" in p.url for p in pages[:3])
        assert "Terlalu banyak pertanyaan dari sini hari ini" in pages[-1].text
        with sqlite3.connect(office.db_path) as c:
            assert c.execute("select count(*) from resident_questions").fetchone()[0] == 3
    finally:
        web.stop()
        office.client.stop()
        office.service.stop()
