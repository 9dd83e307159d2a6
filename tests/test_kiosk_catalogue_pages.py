"""The kiosk's reading of the letter catalogue (antre_kiosk.flows.letter_form CatalogueReader) over a real mosquitto:
it follows ``next`` page after page, so a ``next`` that comes back to a page already read (a service's bug, or
a catalogue changed between pages) kept the kiosk asking for ever and the list never came. A scripted service
peer on the real broker gives such pages; the real service gives the office's types, each once."""

from __future__ import annotations

import json
import threading

from antre.link.protocol import error_reply, ok_reply
from antre_kiosk.flows.letter_form import MAX_CATALOGUE_PAGES, CatalogueReader
from tests.support import TestClient, wait_for
from tests.test_reply_size import start_running

OFFICE = "katalog"


def form(code: str) -> dict:
    return {"code": code, "name": f"Surat {code}", "purpose": "", "requirements": ["KTP"], "days": 1, "cost": 0,
            "fields": [{"name": "nama", "label": "Nama", "type": "name"}, {"name": "nik", "label": "NIK", "type": "nik"}]}


def answering(broker, pages, role: str = "kiosk") -> tuple[TestClient, list]:
    """A peer on the broker answering ``role``'s letter_catalogue: ``pages(after)`` gives (types, next), or None
    for the service's answer to an ``after`` that is no type of its catalogue (invalid_argument)."""
    service = TestClient(broker.url, OFFICE, client_id="scripted-service", component="service")
    asked: list = []

    def answer(topic: str, payload: bytes) -> None:
        msg = json.loads(payload)
        asked.append(msg.get("after"))
        page = pages(msg.get("after"))
        if page is None:
            data = error_reply(msg["request_id"], "invalid_argument",
                               f"'after' is not a letter type of the catalogue: {msg.get('after')}")
        elif role == "kiosk":
            data = ok_reply(msg["request_id"], {"types": [form(c) for c in page[0]], "next": page[1]})
        else:
            data = ok_reply(msg["request_id"], {"overrides": {c: {"active": False} for c in page[0]},
                                                "next": page[1]})
        service.link.publish(service.topics.reply(topic.split("/")[-2]), data)

    service.link.subscribe(service.topics.command("letter_catalogue", role, "+"), answer)
    return service.start(), asked


def read(reader: CatalogueReader):
    box: list = []
    done = threading.Event()
    reader.read(lambda types: (box.append(types), done.set()))
    wait_for(done.is_set, what="the catalogue's reading to end")
    return box[0]


def test_a_next_that_comes_back_ends_the_reading(broker):
    kiosk = TestClient(broker.url, OFFICE, client_id="kiosk-1", component="kiosk").start()
    try:
        # 'b' points back to 'a': a -> b -> a -> b ... (was: asked for ever, the list never came)
        service, asked = answering(broker, lambda after: ({None: (["a"], "a"), "a": (["b"], "b"),
                                                           "b": (["a"], "a")}[after]))
        try:
            assert read(CatalogueReader(kiosk.requester, timeout=5)) is None
            assert asked == [None, "a", "b"]
        finally:
            service.stop()
        # A 'next' equal to the page just asked, and pages that never end: stopped, bounded
        service, asked = answering(broker, lambda after: (["a"], "a"))
        try:
            assert read(CatalogueReader(kiosk.requester, timeout=5)) is None and asked == [None, "a"]
        finally:
            service.stop()
        service, asked = answering(broker, lambda after: ([f"t{int((after or 't0')[1:]) + 1}"],
                                                          f"t{int((after or 't0')[1:]) + 1}"))
        try:
            assert read(CatalogueReader(kiosk.requester, timeout=5)) is None
            assert len(asked) == MAX_CATALOGUE_PAGES
        finally:
            service.stop()
        # A type given twice (the catalogue changed between pages) is offered once
        service, asked = answering(broker, lambda after: {None: (["a", "b"], "b"), "b": (["b", "c"], None)}[after])
        try:
            assert [t.code for t in read(CatalogueReader(kiosk.requester, timeout=5))] == ["a", "b", "c"]
        finally:
            service.stop()
    finally:
        kiosk.stop()


def test_a_catalogue_changed_between_pages_is_read_again_from_the_start(broker, tmp_path):
    """The service restarted between two pages with a configuration without the type the first page ended at:
    it refuses that 'after'. The kiosk kept its last list (a type since taken out stayed on offer) and the
    website showed its configuration alone (a type the kasi switched off was offered); both read again from the
    first page, once."""
    import asyncio

    from antre.config import load
    from antre_web.bridge import Bridge
    from antre_web.letters import catalogue_overrides
    from tests.support import write_config

    changed = {"done": False}

    def pages(after):
        if not changed["done"]:   # the first page of the old catalogue; then the service 'restarts'
            changed["done"] = True
            return ["a", "gone"], "gone"
        return None if after == "gone" else (["a", "c"], None)

    kiosk = TestClient(broker.url, OFFICE, client_id="kiosk-1", component="kiosk").start()
    service, asked = answering(broker, pages)
    try:
        assert [t.code for t in read(CatalogueReader(kiosk.requester, timeout=5))] == ["a", "c"]
        assert asked == [None, "gone", None]
        changed["done"] = False   # a catalogue that keeps changing: read again once, then given up
        service.stop()
        service, asked = answering(broker, lambda after: (["a", "gone"], "gone") if after is None else None)
        assert read(CatalogueReader(kiosk.requester, timeout=5)) is None and asked == [None, "gone", None, "gone"]
    finally:
        service.stop()
        kiosk.stop()

    cfg = load(write_config(tmp_path / "antre.toml", mqtt_url=broker.url, db_path=tmp_path / "antre.db",
                            office_id=OFFICE))

    async def website(pages) -> tuple:
        service, asked = answering(broker, pages, role="web")
        bridge = Bridge(cfg)
        bridge.start(asyncio.get_running_loop())
        try:
            await asyncio.to_thread(wait_for, bridge.link.connected.is_set)
            return await catalogue_overrides(bridge, 10), asked
        finally:
            bridge.stop()
            service.stop()

    changed["done"] = False
    assert asyncio.run(website(pages)) == ({"a": {"active": False}, "c": {"active": False}}, [None, "gone", None])
    assert asyncio.run(website(lambda after: (["a", "gone"], "gone") if after is None else None)) == \
        (None, [None, "gone", None, "gone"])


def test_the_real_service_gives_every_active_type_once(tmp_path):
    b, server, web = start_running(tmp_path)
    kiosk = TestClient(b.url, server.cfg.office.id, client_id="kiosk-1", component="kiosk").start()
    try:
        types = read(CatalogueReader(kiosk.requester, timeout=5))
        assert [t.code for t in types] == [t.code for t in server.cfg.letters.types if t.active]
    finally:
        kiosk.stop()
        web.stop()
        server.stop()
        b.stop()
