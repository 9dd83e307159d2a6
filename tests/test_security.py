"""Every device is only itself: attacks on the real broker and service (docs/security.md).

Each test runs mosquitto with the shipped ``broker_config/antre.conf`` and the logins and
ACL that ``antre broker setup`` writes for one office, and ``antre serve`` logged in with
its own login file (``ANTRE_MQTT_FILE``, as systemd hands it over). The attacker holds a
real device's password and does what the security review did.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from antre.ops import broker
from antre.ops.devtools import find_program
from antre.link.mqtt import Reply
from antre.link.protocol import booking_code_ok, new_booking_code, read_presence
from antre.service.server import ADDRESS_MISSES, CHECKIN_MISSES
from antre_display.board import BoardModel
from tests.support import (
    ALL_SERVICES, NO_QUOTA_SERVICES, ServiceProcess, ShippedBroker, TestClient, counters_toml, wait_for,
    write_config,
)

pytestmark = pytest.mark.skipif(find_program("mosquitto") is None or find_program("mosquitto_passwd") is None,
                                reason="mosquitto and mosquitto_passwd are not installed (apt install mosquitto)")

DEVICES = [
    broker.Device("kiosk-1", "kiosk"), broker.Device("kiosk-2", "kiosk"),
    broker.Device("counter-1", "counter"), broker.Device("counter-2", "counter"),
    broker.Device("web-1", "web"), broker.Device("display-1", "display"),
    broker.Device("staff", "admin"),
]
ROLE = {d.name: d.role for d in DEVICES}
# loket-3 is pinned to counter-2 in the configuration; the others follow the devices' presence.
COUNTERS = counters_toml({"loket-1": ALL_SERVICES, "loket-2": ALL_SERVICES}) + f"""
[[counters]]
id = "loket-3"
name = "Loket 3"
services = {json.dumps(list(ALL_SERVICES))}
devices = ["counter-2"]
rating_kiosk = "kiosk-2"
"""
# Bookings for every slot of every day, checked in at any time of the day.
APPOINTMENTS = """
[office.hours]
""" + "".join(f'{d} = "00:00-23:59"\n' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")) + """
[web]
checkin_early_minutes = 600
checkin_late_minutes = 600

[[web.appointments]]
service = "umum"
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "23:45"
every_minutes = 15
capacity = 5
"""


@dataclass
class SecureOffice:
    """One office on a broker with the shipped configuration: logins, a service, a way in for each device."""

    office_id: str
    broker: ShippedBroker
    passwords: dict[str, str]
    service: ServiceProcess
    work: Path
    clients: list

    def login(self, name: str, counters: list[str] | None = None) -> TestClient:
        """A client logged in as device ``name`` (speaking as its role), connected. One per login: the
        broker names every connection after its login, so a second one would replace the first."""
        known = next((c for c in self.clients if c.client_id == name and c.link.connected.is_set()), None)
        if known is not None:
            return known
        c = TestClient(self.broker.url, self.office_id, component=ROLE[name], username=name,
                       password=self.passwords[name], counters=counters)
        self.clients.append(c)
        return c.start()

    def stop(self) -> None:
        for c in self.clients:
            c.stop()
        self.service.stop()
        self.broker.stop()


def start_secure_office(work: Path, queue: str = "") -> SecureOffice:
    office_id = f"s{uuid.uuid4().hex[:8]}"
    b = ShippedBroker(work, work / "antre.passwd", work / "antre.acl")
    broker.setup(add=DEVICES, out=work / "etc", passwd_file=work / "antre.passwd", acl_file=work / "antre.acl",
                 host="127.0.0.1", port=b.port, office=office_id)
    devices = work / "etc" / "devices"
    passwords = {p.stem: broker.existing_password(p) for p in devices.glob("*.toml")}
    b.start()
    cfg = write_config(work / "antre.toml", mqtt_url="mqtt://127.0.0.1:1", db_path=work / "antre.db",
                       office_id=office_id, services=NO_QUOTA_SERVICES, counters=COUNTERS, extra=APPOINTMENTS,
                       queue=queue)
    service = ServiceProcess(cfg, work / "service.log").start(
        env={"ANTRE_MQTT_FILE": str(devices / "antre-service.toml")})
    office = SecureOffice(office_id, b, passwords, service, work, [])
    staff = office.login("staff")
    try:
        staff.wait_state(lambda s: True, "the service's first state")
    except AssertionError:
        office.stop()
        raise AssertionError("service did not start:\n" + service.output())
    return office


@pytest.fixture
def secure(tmp_path):
    office = start_secure_office(tmp_path)
    yield office
    office.stop()


class RawLogin:
    """A bare paho client with a device's password and any client id it likes (the attacker's tool)."""

    def __init__(self, port: int, user: str, password: str, client_id: str):
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
        self.c.username_pw_set(user, password)
        self.connected = threading.Event()
        self.c.on_connect = lambda *a: self.connected.set()
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        wait_for(self.connected.is_set, what=f"{user} to connect as {client_id}")

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def record_presence(client: TestClient, role: str, name: str) -> list[dict]:
    """Every presence message of ``role``/``name`` that ``client`` receives, in order."""
    seen: list[dict] = []
    client.link.subscribe(client.topics.status(role, name), lambda t, p: seen.append(json.loads(p) if p else {}))
    return seen


# ---------------------------------------------------------------------------- 1: client-id takeover

def test_a_login_cannot_take_over_another_clients_id(secure):
    """kiosk-1's password, connecting again and again as 'antre-service' and as 'kiosk-2', knocks nobody off."""
    staff = secure.login("staff")
    service_presence = record_presence(staff, "service", "antre-service")
    wait_for(lambda: service_presence and service_presence[-1].get("online") is True, what="service online")
    kiosk = secure.login("kiosk-2")
    drops = []
    kiosk.link.on_disconnect(lambda: drops.append(time.monotonic()))
    issued = []
    for i in range(14):
        for victim in ("antre-service", "kiosk-2"):
            attacker = RawLogin(secure.broker.port, "kiosk-1", secure.passwords["kiosk-1"], victim)
            attacker.close()
        reply = kiosk.request("issue_ticket", service="umum")
        assert reply.ok, f"ticket {i}: {reply.code} {reply.message}"
        issued.append(reply.result["number"])
    assert len(set(issued)) == 14
    assert drops == [], "kiosk-2 was knocked off the broker"
    assert all(p.get("online") is True for p in service_presence), service_presence
    assert "lost the broker" not in secure.service.output()


# ---------------------------------------------------------------------------- 2: commands bound to senders

def dropped_by_broker(client: TestClient, topic: str, payload: dict) -> bool:
    """Publishes ``payload`` on ``topic``, then a valid command; True if only the latter was answered."""
    rid = f"forged-{uuid.uuid4().hex[:8]}"
    client.publish_raw(topic, json.dumps({"request_id": rid} | payload))
    barrier = client.request("ticket_status" if client.component == "web" else "rate",
                             **({"number": "Z-1"} if client.component == "web" else {"ticket": "Z-1", "score": 4}))
    assert barrier.request_id, barrier
    with client._lock:
        return not any(r.get("request_id") == rid for r in client.replies)


def test_commands_are_checked_against_their_sender(secure):
    staff = secure.login("staff")
    kiosk = secure.login("kiosk-1")
    counter1 = secure.login("counter-1", counters=["loket-1", "loket-3"])   # claims loket-3: pinned elsewhere
    counter2 = secure.login("counter-2")
    web = secure.login("web-1")
    for _ in range(4):
        assert kiosk.ok("issue_ticket", service="adminduk")

    # A counter device operates its own counter, and no other.
    assert counter1.ok("call_next", counter="loket-1")["number"] == "A-001"
    assert counter1.error("call_next", counter="loket-2") == "forbidden"
    assert counter1.error("pause", counter="loket-2") == "forbidden"
    assert counter1.error("call_next", counter="loket-3") == "forbidden"   # pinned to counter-2
    assert counter2.ok("call_next", counter="loket-3")["number"] == "A-002"
    assert counter2.error("call_next", counter="loket-1") == "forbidden"   # names no counter in its presence
    state = staff.wait_state(lambda s: s["counters"][2]["status"] == "serving")
    assert [c["status"] for c in state["counters"]] == ["serving", "idle", "serving"]

    # Only kiosks issue kiosk and priority tickets; only the website issues web tickets.
    assert web.error("issue_ticket", service="umum", priority="lansia", channel="kiosk") == "forbidden"
    assert web.error("issue_ticket", service="umum") == "forbidden"
    assert kiosk.error("issue_ticket", service="umum", channel="web", name="Siti Aminah",
                       phone="081234567890") == "forbidden"
    assert kiosk.ok("issue_ticket", service="umum", priority="lansia")["priority"] == "lansia"
    assert web.ok("issue_ticket", service="umum", channel="web", name="Siti Aminah",
                  phone="081234567890")["channel"] == "web"
    # Staff tools (an admin login) may do what staff do.
    assert staff.ok("pause", counter="loket-2")["paused"] is True

    # A complaint's channel says where it came from (the inbox, the LAPOR! rows): each login files as itself.
    report = {"category": "aspirasi", "topic": "lainnya", "text": "Lampu jalan mati", "anonymous": True}
    for channel in ("sms", "admin", "kiosk"):
        assert web.error("complaint_submit", **report, channel=channel) == "forbidden"
    assert kiosk.error("complaint_submit", **report) == "forbidden"           # not recorded as 'web'
    assert web.ok("complaint_submit", **report, channel="web")["code"]
    assert kiosk.ok("complaint_submit", **report, channel="kiosk")["code"]

    # The broker drops a command a login publishes under another role, another name, or a command
    # its role does not send: the service never sees it.
    t = kiosk.topics
    assert dropped_by_broker(kiosk, t.command("call_next", "counter", "counter-1"), {"counter": "loket-1"})
    assert dropped_by_broker(kiosk, t.command("issue_ticket", "kiosk", "kiosk-2"), {"service": "umum"})
    assert dropped_by_broker(kiosk, t.command("call_next", "kiosk", "kiosk-1"), {"counter": "loket-1"})
    assert dropped_by_broker(web, t.command("issue_ticket", "admin", "web-1"), {"service": "umum"})
    assert dropped_by_broker(kiosk, f"{t.legacy_base}/cmd/call_next", {"counter": "loket-1"})
    counts = {s["code"]: s["issued_today"] for s in staff.wait_state(lambda s: True)["services"]}
    assert counts == {"adminduk": 4, "surat": 0, "umum": 2}


# ---------------------------------------------------------------------------- 3: stale-command filter

def test_one_sender_cannot_make_anothers_commands_stale(secure):
    kiosk = secure.login("kiosk-1")
    counter = secure.login("counter-1", counters=["loket-1"])
    future = time.time() + 3600 * 24 * 365
    # The review's attack: reply_to naming counter-1 and a far-future clock.
    rid = uuid.uuid4().hex
    kiosk.publish_raw(kiosk.command_topic("issue_ticket"), json.dumps(
        {"request_id": rid, "reply_to": counter.requester.reply_topic, "sent_at": future, "service": "umum"}))
    assert kiosk.raw_reply(rid)["error"]["code"] == "invalid_reply_to"
    # Without reply_to the far-future clock is accepted -- and can only make kiosk-1's own later commands
    # look stale, never another sender's.
    rid = uuid.uuid4().hex
    kiosk.publish_raw(kiosk.command_topic("issue_ticket"), json.dumps(
        {"request_id": rid, "sent_at": future, "service": "umum"}))
    assert kiosk.raw_reply(rid)["ok"] is True
    for _ in range(8):
        kiosk.publish_raw(kiosk.command_topic("issue_ticket"), json.dumps(
            {"request_id": uuid.uuid4().hex, "sent_at": future, "service": "umum"}))
    answered = [counter.request("call_next", counter="loket-1") for _ in range(8)]
    assert [r.ok for r in answered] == [True] * 8, [(r.code, r.message) for r in answered]


# ---------------------------------------------------------------------------- 4: forged presence

def test_a_forged_service_presence_is_not_believed(secure):
    """kiosk-1 claims, in every way it can, that the service is online; the TV does not believe it."""
    tv = TestClient(secure.broker.url, secure.office_id, component="display", username="display-1",
                    password=secure.passwords["display-1"])
    board = BoardModel()
    tv.link.subscribe(tv.topics.statuses, lambda topic, payload: (
        (p := read_presence(tv.topics, topic, payload)) and board.apply_status(p[1], p[2] or b"")))
    secure.clients.append(tv.start())
    wait_for(lambda: board.service_online is True, what="the TV to see the service online")

    attacker = RawLogin(secure.broker.port, "kiosk-1", secure.passwords["kiosk-1"], "kiosk-1")
    forged = json.dumps({"online": True, "component": "service", "client_id": "antre-service", "protocol": "2",
                         "time": time.time() + 3600})
    t = tv.topics
    attacker.publish(t.status("kiosk", "kiosk-1"), forged, retain=True)        # its own topic, lying
    attacker.publish(t.status("service", "antre-service"), forged, retain=True)  # dropped by the broker
    attacker.publish(t.status("service", "kiosk-1"), forged, retain=True)        # dropped by the broker
    wait_for(lambda: board.statuses.get("kiosk-1", {}).get("component") == "kiosk",
             what="the TV to read kiosk-1's presence as a kiosk's")

    secure.service.stop()
    wait_for(lambda: board.service_online is False, what="the TV to see the service offline")
    attacker.publish(t.status("kiosk", "kiosk-1"), forged, retain=True)
    later = TestClient(secure.broker.url, secure.office_id, component="display", username="display-1",
                       password=secure.passwords["display-1"])
    fresh = BoardModel()      # a TV that starts now reads only the retained messages
    later.link.subscribe(later.topics.statuses, lambda topic, payload: (
        (p := read_presence(later.topics, topic, payload)) and fresh.apply_status(p[1], p[2] or b"")))
    tv.stop()
    secure.clients.append(later.start())
    wait_for(lambda: "kiosk-1" in fresh.statuses and "antre-service" in fresh.statuses, what="retained presence")
    assert fresh.service_online is False
    attacker.close()


# ---------------------------------------------------------------------------- 5: one sender's garbage

def _raw_json(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


# Any Unicode, lone UTF-16 surrogates included: JSON can carry them as \ud800 escapes, UTF-8 cannot.
any_text = st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=40)
json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_tree = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(any_text, inner, max_size=4), max_leaves=20)


@st.composite
def hostile(draw) -> tuple[str, bytes]:
    """(command, payload): a message only a broken or hostile device would send."""
    command = draw(st.sampled_from(["issue_ticket", "check_in", "rate"]))
    kind = draw(st.sampled_from(["surrogate_id", "surrogate_key", "tree", "bytes", "deep", "deep_inside",
                                 "huge_number", "infinite", "long_digits", "surrogate_value"]))
    rid = draw(any_text)
    if kind == "surrogate_id":       # the review's case: an id that cannot be sent back as UTF-8
        data = json.dumps({"request_id": rid + "\ud800", "service": "umum"}).encode()
    elif kind == "surrogate_key":    # an unknown argument named so: the error message quotes it
        data = json.dumps({"request_id": uuid.uuid4().hex, "service": "umum", draw(any_text) + "\udfff": 1}).encode()
    elif kind == "surrogate_value":
        data = json.dumps({"request_id": uuid.uuid4().hex, "service": draw(any_text) + "\udc80",
                           "code": draw(any_text), "ticket": draw(any_text), "score": 4}).encode()
    elif kind == "tree":
        data = json.dumps(draw(st.dictionaries(any_text, json_tree, max_size=6)) | {"request_id": rid}).encode()
    elif kind == "bytes":
        data = draw(st.binary(max_size=600))
    elif kind == "deep":
        n = draw(st.integers(100, 20_000))
        data = b"[" * n + b"]" * n
    elif kind == "deep_inside":
        n = draw(st.integers(100, 3_000))
        data = b'{"request_id": "x", "service": ' + b"{\"a\":" * n + b"1" + b"}" * n + b"}"
    elif kind == "huge_number":      # an integer no float can hold, where a clock reading goes
        digits = draw(st.integers(310, 4000))
        data = _raw_json('{"request_id": "%s", "service": "umum", "sent_at": 1%s}' % (uuid.uuid4().hex, "0" * digits))
    elif kind == "infinite":
        data = _raw_json('{"request_id": "%s", "service": "umum", "sent_at": %s, "score": 1e999}'
                         % (uuid.uuid4().hex, draw(st.sampled_from(["1e999", "-1e999", "NaN", "Infinity"]))))
    else:                            # longer than Python reads as an integer by default
        data = _raw_json('{"request_id": "%s", "ticket": "A-1", "score": %s}' % (uuid.uuid4().hex, "9" * 5000))
    return command, data


@pytest.fixture(scope="module")
def fuzz_office(tmp_path_factory):
    office = start_secure_office(tmp_path_factory.mktemp("fuzz"))
    office.valid = [office.login("kiosk-2"), office.login("web-1"), office.login("counter-1", counters=["loket-1"])]
    office.hostile = office.login("kiosk-1")
    yield office
    office.stop()


VALID = [("issue_ticket", {"service": "umum"}), ("web_info", {}), ("pause", {"counter": "loket-1"})]


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(batch=st.lists(hostile(), min_size=1, max_size=12))
def test_garbage_from_one_sender_never_costs_another_sender_a_command(fuzz_office, batch):
    """While kiosk-1 sends garbage, every command of three other devices sent at the same time is answered."""
    office = fuzz_office
    replies: list[Reply] = []
    lock = threading.Lock()

    def got(reply: Reply) -> None:
        with lock:
            replies.append(reply)

    def attack() -> None:
        for command, payload in batch:
            office.hostile.publish_raw(office.hostile.command_topic(command), payload)

    attacker = threading.Thread(target=attack)
    attacker.start()
    sent = 0
    for _ in range(4):
        for client, (command, args) in zip(office.valid, VALID):
            client.requester.send(command, args, got, timeout=20)
            sent += 1
    attacker.join(30)
    wait_for(lambda: len(replies) == sent, what="every valid command's reply")
    failed = [(r.code, r.message) for r in replies if not r.ok]
    assert not failed, failed
    assert office.service.proc.poll() is None, office.service.output()[-3000:]
    # The hostile sender still gets its own answers, too.
    assert office.hostile.request("rate", ticket="Z-1", score=4).code == "ticket_not_found"


# ---------------------------------------------------------------------------- 8: booking codes

def test_booking_codes_cannot_be_guessed_through_a_kiosk(secure):
    staff, web = secure.login("staff"), secure.login("web-1")
    kiosk1, kiosk2 = secure.login("kiosk-1"), secure.login("kiosk-2")
    today = staff.wait_state(lambda s: True)["business_date"]
    slots = web.ok("booking_slots", service="umum", date=today)["slots"]
    slot = next(s["time"] for s in slots if s["free"] and not s["past"])
    booking = web.ok("book", service="umum", date=today, slot=slot, name="Dewi Lestari", phone="081234567890")
    code = booking["code"]
    assert len(code) == 10 and booking_code_ok(code)
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    later = web.ok("book", service="umum", date=tomorrow, slot="09:00", name="Dewi Lestari", phone="081234567890")

    # A burst of guesses from one kiosk: a few are looked up, the rest refused unread.
    rids = [uuid.uuid4().hex for _ in range(30)]
    for rid in rids:
        kiosk1.publish_raw(kiosk1.command_topic("check_in"), json.dumps(
            {"request_id": rid, "code": next(c for c in iter(new_booking_code, None) if c != code)}))
    answers = [kiosk1.raw_reply(rid)["error"]["code"] for rid in rids]
    assert answers.count("booking_not_found") == CHECKIN_MISSES
    assert answers.count("too_many_attempts") == len(rids) - CHECKIN_MISSES
    # Now even the right code is refused to that kiosk...
    assert kiosk1.error("check_in", code=code) == "too_many_attempts"

    # ...while the resident at the other kiosk is not held up. A typo is caught by the check digit and
    # costs no attempt; another day's code is answered exactly like an unknown one.
    swap = next(i for i in range(9) if code[i] != code[i + 1])
    for _ in range(2 * CHECKIN_MISSES):
        assert kiosk2.error("check_in", code=code[:swap] + code[swap + 1] + code[swap] + code[swap + 2:]) \
            == "invalid_argument"
    unknown = next(c for c in iter(new_booking_code, None) if c not in (code, later["code"]))
    other_day, nowhere = kiosk2.request("check_in", code=later["code"]), kiosk2.request("check_in", code=unknown)
    assert (other_day.code, other_day.message.replace(later["code"], "#")) == \
        (nowhere.code, nowhere.message.replace(unknown, "#")) == ("booking_not_found", "no booking with this code")
    ticket = kiosk2.ok("check_in", code=code)
    assert ticket["booking"] == code and ticket["channel"] == "kiosk"


def test_letter_and_complaint_codes_cannot_be_guessed_per_device_or_per_browser_address(secure):
    """letter_status and complaint_status share the code budget: five unknown codes per kiosk, and from the
    website per browser address (the website as a whole is never locked, and without an address it is not
    counted here: its own per-address page limit is in front)."""
    from antre.rules.complaint_codes import new_complaint_code
    from antre.rules.letter_codes import new_tracking_code
    from tests.test_letters import domisili
    web, kiosk1, kiosk2 = secure.login("web-1"), secure.login("kiosk-1"), secure.login("kiosk-2")
    letter = kiosk1.ok("letter_request", type="domisili", fields=domisili(), channel="kiosk")["code"]
    complaint = web.ok("complaint_submit", category="pengaduan", topic="pelayanan", channel="web",
                       text="Lampu jalan di depan balai desa mati sejak minggu lalu.", anonymous=True)["code"]
    # Found codes do not count; the sixth unknown one in ten minutes is refused, then even a right one.
    for _ in range(3):
        assert kiosk1.ok("letter_status", code=letter)["code"] == letter
    for _ in range(CHECKIN_MISSES):
        assert kiosk1.error("letter_status", code=new_tracking_code()) == "letter_not_found"
    assert kiosk1.error("letter_status", code=letter) == "too_many_attempts"
    assert kiosk1.error("letter_pickup", code=letter) == "too_many_attempts"   # the same budget
    assert kiosk2.ok("letter_status", code=letter)["code"] == letter            # another kiosk is not held up
    # The website: one address guesses, another resident at another address still gets an answer.
    attacker, resident = {"address": "203.0.113.9"}, {"address": "198.51.100.20"}
    for _ in range(ADDRESS_MISSES):
        assert web.error("complaint_status", code=new_complaint_code(), **attacker) == "complaint_not_found"
    assert web.error("complaint_status", code=complaint, **attacker) == "too_many_attempts"
    assert web.error("letter_status", code=letter, **attacker) == "too_many_attempts"
    assert web.ok("complaint_status", code=complaint, **resident)["code"] == complaint
    assert web.ok("letter_status", code=letter, **resident)["code"] == letter
    for _ in range(ADDRESS_MISSES + 1):   # no address: the service does not count (the website's limits do)
        assert web.error("complaint_status", code=new_complaint_code()) == "complaint_not_found"
    assert web.ok("complaint_status", code=complaint)["code"] == complaint
    assert web.error("letter_status", code=letter, address="x" * 65) == "invalid_argument"


def test_rating_codes_cannot_be_guessed_and_only_the_counters_rating_kiosk_rates_without_one(tmp_path):
    office = start_secure_office(tmp_path, queue="rating_code_required = true")
    try:
        staff, kiosk1, kiosk2 = office.login("staff"), office.login("kiosk-1"), office.login("kiosk-2")
        counter1 = office.login("counter-1", counters=["loket-1"])
        counter2 = office.login("counter-2")
        staff.wait_state(lambda s: True)
        a1 = kiosk1.ok("issue_ticket", service="umum")
        a2 = kiosk1.ok("issue_ticket", service="umum")
        a3 = kiosk1.ok("issue_ticket", service="umum")
        codes = [a["rating_code"] for a in (a1, a2, a3)]
        assert all(len(c) == 4 and c.isdigit() for c in codes), codes
        # The code goes to the issuing kiosk only: never in the public event.
        issued = wait_for(lambda: len(staff.events_of("ticket_issued")) >= 3 and staff.events_of("ticket_issued"))
        assert not any("rating_code" in e for e in issued), issued
        first = counter1.ok("call_next", counter="loket-1")["number"]
        counter1.ok("complete", counter="loket-1")
        third = counter2.ok("call_next", counter="loket-3")["number"]
        assert third != first
        counter2.ok("complete", counter="loket-3")
        code_of = {a["number"]: a["rating_code"] for a in (a1, a2, a3)}

        # Without the code: refused to an ordinary kiosk, and to the rating kiosk for another counter's ticket.
        assert kiosk1.error("rate", ticket=first, score=4) == "rating_code_required"
        assert kiosk2.error("rate", ticket=first, score=4) == "rating_code_required"
        assert kiosk1.error("rate", ticket=third, score=4) == "rating_code_required"
        # The rating kiosk bound to loket-3 rates what loket-3 completed without a code.
        assert kiosk2.ok("rate", ticket=third, score=3)["counter"] == "loket-3"
        assert kiosk2.error("rate", ticket=third, score=4) == "already_rated"

        # A wrong code and a ticket that does not exist are answered alike.
        wrong = next(f"{i:04d}" for i in range(10_000) if f"{i:04d}" != code_of[first])
        nowhere = kiosk2.request("rate", ticket="Z-999", score=4, code=wrong)
        bad = kiosk2.request("rate", ticket=first, score=4, code=wrong)
        assert (nowhere.code, nowhere.message.replace("Z-999", "#")) == (bad.code, bad.message.replace(first, "#")) \
            == ("rating_code_wrong", "the rating code does not match ticket #")

        # A burst of guesses from one kiosk login: a few are checked, the rest refused unread.
        rids = [uuid.uuid4().hex for _ in range(30)]
        guesses = [f"{i:04d}" for i in range(10_000) if f"{i:04d}" != code_of[first]][:len(rids)]
        for rid, guess in zip(rids, guesses):
            kiosk1.publish_raw(kiosk1.command_topic("rate"), json.dumps(
                {"request_id": rid, "ticket": first, "score": 1, "code": guess}))
        answers = [kiosk1.raw_reply(rid)["error"]["code"] for rid in rids]
        assert answers.count("rating_code_wrong") == CHECKIN_MISSES
        assert answers.count("too_many_attempts") == len(rids) - CHECKIN_MISSES
        assert kiosk1.error("rate", ticket=first, score=1, code=code_of[first]) == "too_many_attempts"
        # The ticket's holder, at the other kiosk, still rates with the printed code: once.
        rid = uuid.uuid4().hex
        r = kiosk2.request("rate", ticket=first, score=4, code=code_of[first], request_id=rid)
        assert r.ok and r.result["counter"] == "loket-1", (r.code, r.message)
        again = kiosk2.request("rate", ticket=first, score=4, code=code_of[first], request_id=rid)
        assert again.ok and again.result == r.result   # a retry of the same request gets the same answer
        assert kiosk2.error("rate", ticket=first, score=2, code=code_of[first]) == "already_rated"
        with sqlite3.connect(office.work / "antre.db") as db:
            assert sorted(db.execute("select score from ratings").fetchall()) == [(3,), (4,)]
    finally:
        office.stop()


# ---------------------------------------------------------------------------- 6: one service per office

def test_a_second_service_for_the_office_refuses_to_start_and_a_killed_one_comes_back(secure, tmp_path):
    kiosk = secure.login("kiosk-1")
    login = {"ANTRE_MQTT_FILE": str(secure.work / "etc" / "devices" / "antre-service.toml")}
    first_pid = secure.service.proc.pid
    issued: list[Reply] = []
    running = threading.Event()
    running.set()

    def keep_issuing() -> None:
        while running.is_set():
            issued.append(kiosk.request("issue_ticket", service="umum"))

    worker = threading.Thread(target=keep_issuing)
    worker.start()
    try:
        # A leftover server with a database of its own, on the same broker and login.
        other = tmp_path / "other"
        other.mkdir()
        cfg = write_config(other / "antre.toml", mqtt_url="mqtt://127.0.0.1:1", db_path=other / "antre.db",
                           office_id=secure.office_id, services=NO_QUOTA_SERVICES, counters=COUNTERS)
        second = ServiceProcess(cfg, other / "service.log").start(env=login)
        assert second.proc.wait(timeout=60) == 3
        said = second.output()
        assert f"another antre serve for office {secure.office_id} is running on" in said
        assert f"pid {first_pid}" in said and str(secure.work / "antre.db") in said
        # The same database: refused at once, by the database lock.
        same = ServiceProcess(secure.service.config_path, other / "same.log").start(env=login)
        assert same.proc.wait(timeout=60) == 3
        assert f"another antre serve already uses the database {secure.work / 'antre.db'}" in same.output()
    finally:
        running.clear()
        worker.join(60)
    # Every command was answered by the first service (commands in flight during the second one's look
    # may time out on the device, which retries them), and nothing went to the other database.
    answered = [r for r in issued if r.ok]
    assert answered and all(r.code == "timeout" for r in issued if not r.ok), {r.code for r in issued}
    secure.login("staff").wait_state(
        lambda s: next(x for x in s["services"] if x["code"] == "umum")["issued_today"] == len(answered))
    with sqlite3.connect(other / "antre.db") as db:
        assert db.execute("select count(*) from tickets").fetchone() == (0,)

    # kill -9: no goodbye, the retained presence still says online. The restarted service looks,
    # hears nothing from the dead one, and takes over.
    secure.service.kill()
    t0 = time.monotonic()
    secure.service.start(env=login)
    wait_for(lambda: kiosk.request("issue_ticket", service="umum", timeout=2).ok, timeout=60,
             what="the restarted service to answer")
    took = time.monotonic() - t0
    print(f"\nservice back {took:.1f} s after kill -9 and restart")
    assert "did not answer" in secure.service.output() and "taking over" in secure.service.output()


def test_two_services_started_at_once_end_up_as_one(secure, tmp_path):
    """Both look at the same moment and see nobody: they meet on the broker, and the younger gives way."""
    login = {"ANTRE_MQTT_FILE": str(secure.work / "etc" / "devices" / "antre-service.toml")}
    secure.service.stop()   # a clean stop: nobody runs the office now
    services = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        cfg = write_config(folder / "antre.toml", mqtt_url="mqtt://127.0.0.1:1", db_path=folder / "antre.db",
                           office_id=secure.office_id, services=NO_QUOTA_SERVICES, counters=COUNTERS)
        services.append(ServiceProcess(cfg, folder / "service.log"))
    for s in services:
        s.start(env=login)
    try:
        gone = wait_for(lambda: [s for s in services if s.proc.poll() is not None], timeout=90,
                        what="one of the two to give way")
        assert len(gone) == 1 and gone[0].proc.returncode == 3, [s.output()[-2000:] for s in services]
        stays = next(s for s in services if s is not gone[0])
        assert "another antre serve for office" in gone[0].output()
        kiosk = secure.login("kiosk-1")
        wait_for(lambda: kiosk.request("issue_ticket", service="umum", timeout=2).ok, timeout=60,
                 what="the remaining service to answer")
        assert stays.proc.poll() is None
    finally:
        for s in services:
            s.stop()
