"""The service's per-address code budget (antre/service/server.py, ``GUESSED``/``PER_ADDRESS``) must not grow
without end: the website names a browser address with each lookup, and someone with many addresses (a mobile
operator's pool, an IPv6 prefix) could otherwise add an entry per address for as long as the service runs, on a
Raspberry Pi. A real in-process service on a real broker and SQLite file, asked as the website asks."""

from __future__ import annotations

import pytest

from antre.rules.complaint_codes import new_complaint_code
from antre.rules.letter_codes import new_tracking_code
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
    for i in range(200):   # a guesser on 200 networks (sites): at most MAX_GUESSERS entries are kept
        assert web.error("complaint_status", code=new_complaint_code(), address=f"2001:{i + 1:x}:1::1") == \
            "complaint_not_found"
        assert len(server._checkins) <= 50
    # The budget still holds for one address within its window.
    for _ in range(ADDRESS_MISSES):
        web.error("complaint_status", code=new_complaint_code(), address="203.0.113.5")
    assert web.error("complaint_status", code=code, address="203.0.113.5") == "too_many_attempts"


def test_one_ipv6_prefix_is_one_address_for_the_budget(running):
    """One phone on IPv6 privacy addresses (a new address every few hours or at each reconnection) or anyone
    with a /64 got a fresh budget of unknown codes from every address: endless guesses. An IPv6 address counts by
    its /64; an IPv4-mapped one as its IPv4 address."""
    server, web = running
    for i in range(ADDRESS_MISSES):   # each miss from another address of the same /64
        assert web.error("complaint_status", code=new_complaint_code(),
                         address=f"2001:db8:5:6:{i:x}:{i * 7:x}:9a:{i + 1:x}") == "complaint_not_found"
    assert web.error("complaint_status", code=new_complaint_code(), address="2001:db8:5:6:ffff::1") == \
        "too_many_attempts"
    assert web.error("letter_status", code=new_tracking_code(), address="2001:db8:5:6::77") == "too_many_attempts"
    # The next /64 is another network: its own budget.
    assert web.error("complaint_status", code=new_complaint_code(), address="2001:db8:5:7::1") == \
        "complaint_not_found"
    # IPv4 counts by the whole address, written plainly or IPv4-mapped (a dual-stack socket's way).
    for i in range(ADDRESS_MISSES):
        address = "198.51.100.7" if i % 2 else "::ffff:198.51.100.7"
        assert web.error("complaint_status", code=new_complaint_code(), address=address) == "complaint_not_found"
    assert web.error("complaint_status", code=new_complaint_code(), address="::ffff:c633:6407") == \
        "too_many_attempts"
    assert web.error("complaint_status", code=new_complaint_code(), address="198.51.100.8") == \
        "complaint_not_found"


def test_what_a_limit_counts_an_address_by():
    from antre.addresses import limit_key

    assert limit_key("2001:db8:1:2:a1b2:c3d4:e5f6:789") == limit_key("2001:DB8:1:2::1") == "2001:db8:1:2::/64"
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("::ffff:203.0.113.5") == limit_key("203.0.113.5") == "203.0.113.5"
    assert limit_key("203.0.113.6") != limit_key("203.0.113.5")
    assert limit_key("fe80::1%eth0") == "fe80::/64"
    assert limit_key("?") == "?" and limit_key("testclient") == "testclient"


def test_a_flood_of_addresses_does_not_give_a_kiosk_or_a_held_address_a_fresh_budget(running, monkeypatch):
    """Past MAX_GUESSERS the oldest half of the entries went, whatever they held: a flood of new browser
    addresses (each one miss) forgot a kiosk that had used its budget, and an address held at its own, so both
    could guess again at once. Now the addresses with the fewest misses go first, devices last."""
    from antre.service.server import CHECKIN_MISSES

    server, web = running
    kiosk = TestClient(server.cfg.mqtt.url, server.cfg.office.id, client_id="kiosk-1",
                       component="kiosk").start()
    try:
        monkeypatch.setattr(server_mod, "MAX_GUESSERS", 50)
        for _ in range(CHECKIN_MISSES):
            assert kiosk.error("letter_status", code=new_tracking_code()) == "letter_not_found"
        for _ in range(ADDRESS_MISSES):
            assert web.error("complaint_status", code=new_complaint_code(), address="203.0.113.9") == \
                "complaint_not_found"
        for i in range(200):   # someone else on 200 networks (sites), one miss each
            assert web.error("complaint_status", code=new_complaint_code(), address=f"2001:{i + 1:x}:1::1") == \
                "complaint_not_found"
            assert len(server._checkins) <= 50
        assert kiosk.error("letter_status", code=new_tracking_code()) == "too_many_attempts"
        assert web.error("complaint_status", code=new_complaint_code(), address="203.0.113.9") == \
            "too_many_attempts"
    finally:
        kiosk.stop()


def test_an_ipv6_site_is_one_budget_too(running):
    """A /48 (a site's usual allocation, free from a tunnel broker) holds 65 536 /64s, each its own budget of
    ADDRESS_MISSES: about 1.3 million guesses in ten minutes. The site has a budget too (SITE_MISSES), so one
    holder of a /48 cannot go past it by moving to the next /64; another site, or IPv4, is not held up."""
    from antre.service.server import SITE_MISSES

    server, web = running
    per_net = ADDRESS_MISSES // 2
    for i in range(SITE_MISSES):   # half a /64's budget each, from ever new /64s of one /48
        assert web.error("complaint_status", code=new_complaint_code(),
                         address=f"2001:db8:77:{i // per_net:x}::{i % per_net + 1:x}") == "complaint_not_found"
    assert web.error("complaint_status", code=new_complaint_code(), address="2001:db8:77:ffff::1") == \
        "too_many_attempts"
    assert web.error("letter_status", code=new_tracking_code(), address="2001:db8:77:fffe::1") == "too_many_attempts"
    assert web.error("complaint_status", code=new_complaint_code(), address="2001:db8:78::1") == "complaint_not_found"
    assert web.error("complaint_status", code=new_complaint_code(), address="203.0.113.77") == "complaint_not_found"
    # A refused guess left no empty entry behind
    assert all(server._checkins.values())
