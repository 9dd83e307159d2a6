"""Pure protocol rules: stale-command detection that does not trust device clocks; the service's presence."""

import json

from antre.link.presence import ServicePresence
from antre.link.protocol import Freshness, Topics, read_presence


def test_a_late_command_is_stale_whatever_the_senders_clock():
    f = Freshness(max_age=5)
    skew = -3600.0                                # the kiosk's clock is an hour slow
    assert f.age("kiosk-1", 1000.0 + skew, now=1000.05) is None
    assert f.age("kiosk-1", 1010.0 + skew, now=1010.02) is None
    late = f.age("kiosk-1", 1020.0 + skew, now=1032.0)   # held up 12 s in the network
    assert late is not None and 11.5 < late < 12.5
    assert f.age("kiosk-1", 1040.0 + skew, now=1040.03) is None   # normal again


def test_each_sender_has_its_own_offset():
    f = Freshness(max_age=5)
    assert f.age("a", 100.0, now=100.0) is None
    assert f.age("b", 50.0, now=100.0) is None     # b's clock is 50 s slow: fine
    assert f.age("a", 110.0, now=120.0) is not None


def test_a_clock_set_back_costs_one_refusal_not_a_day():
    f = Freshness(max_age=5)
    assert f.age("c", 100.0, now=100.0) is None
    # The counter's clock is stepped back by ten minutes (NTP came online).
    assert f.age("c", 110.0 - 600, now=110.0) is not None
    assert f.age("c", 115.0 - 600, now=115.0) is None
    assert f.age("c", 120.0 - 600, now=120.0) is None


def test_no_sent_at_or_disabled_is_never_stale():
    assert Freshness(5).age("x", None, now=100.0) is None
    assert Freshness(0).age("x", 1.0, now=100.0) is None


def test_presence_teaches_the_offset_before_the_first_command():
    f = Freshness(max_age=5)
    f.observe("counter-1", sent_at=500.0, now=500.01)     # status message on connect
    assert f.age("counter-1", 500.0, now=530.0) is not None   # its very first command is already judged


def test_service_online_is_one_answer_from_every_service_presence():
    """A service that moved to a client id of its own leaves its old presence behind: offline from the old id
    and online from the new one, in either order, is online; a kiosk saying it is "service" is not heard."""
    topics = Topics("desa-x")
    old, new = topics.status("service", "antre-service"), topics.status("service", "antre-pi2")
    online = json.dumps({"online": True}).encode()
    offline = json.dumps({"online": False}).encode()
    for order in ([(old, offline), (new, online)], [(new, online), (old, offline)]):
        p = ServicePresence()
        assert p.online is None
        for topic, payload in order:
            assert p.update(read_presence(topics, topic, payload)) is True
        assert p.online is True
    p = ServicePresence()
    assert p.update(read_presence(topics, topics.status("kiosk", "kiosk-1"),
                                  json.dumps({"online": True, "component": "service"}).encode())) is False
    assert p.update(read_presence(topics, old, offline)) and p.online is False
    assert p.update(read_presence(topics, old, b"")) and p.online is None      # cleared: not known any more
    assert p.update(read_presence(topics, old, b"")) is False                   # clearing the unknown changes nothing
