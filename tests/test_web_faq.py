"""The residents' question page (/tanya) and the read-only command ``ask``: the FAQ assistant that answers SMS
answers on the website too, through antre web and antre serve (a real broker)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import start_office
from tests.support import TestClient, free_port
from tests.test_web import Http, WebProcess

FAQ = Path(__file__).parent.parent / "bench" / "faq" / "faq.toml"


def test_the_question_page_answers_when_sure_and_sends_to_a_person_otherwise(tmp_path, broker):
    port = free_port()
    office = start_office(tmp_path, broker, extra=f'\n[web]\nport = {port}\nhost = "127.0.0.1"\n\n'
                                                   + FAQ.read_text())
    web = WebProcess(office.config_path, port, tmp_path / "web.log")
    try:
        web.wait_ready()
        h = Http(web.url)
        assert 'href="/tanya"' in h.get("/").text
        page = h.get("/tanya")
        assert page.status == 200 and 'name="q"' in page.text

        def ask(q: str):
            return h.post("/tanya", {"csrf": h.get("/tanya").csrf(), "q": q})

        answer = ask("ktp sy ilang gmn, nama saya Siti 081234567890")
        entries = tomllib.loads(FAQ.read_text())["notify"]["faq"]
        assert entries[1]["answer"] in answer.text.replace("&#39;", "'")
        unsure = ask("harga pupuk subsidi berapa")
        assert "belum bisa menjawab" in unsure.text and "SMS BANTUAN" in unsure.text
        assert ask("x" * 301).status == 400
        assert h.post("/tanya", {"q": "syarat ktp"}).status == 403          # no CSRF token
        # The command itself: web and kiosk may ask; a counter may not; the answer is null when unsure.
        assert office.client.ok("ask", question="syarat akta kelahiran")["answer"].startswith("Akta kelahiran")
        assert office.client.ok("ask", question="kapan panen raya")["answer"] is None
        counter = TestClient(broker.url, office.office_id, "counter-x", component="counter").start()
        kiosk = TestClient(broker.url, office.office_id, "kiosk-x", component="kiosk").start()
        try:
            assert counter.error("ask", question="syarat ktp") == "forbidden"
            assert kiosk.ok("ask", question="syarat bikin ktp")["answer"].startswith("Syarat KTP-el")
            assert kiosk.error("ask", question="x" * 301) == "invalid_argument"
        finally:
            counter.stop()
            kiosk.stop()
        # Nothing of the questions in the logs.
        assert "081234567890" not in web.output() and "081234567890" not in office.service.output()
        assert "pupuk" not in office.service.output()
    finally:
        web.stop()
        office.client.stop()
        office.service.stop()
