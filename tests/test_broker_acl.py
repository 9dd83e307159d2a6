"""The shipped mosquitto config and the generated ACL, checked against a real broker.

A mosquitto process runs broker_config/antre.conf unchanged except for three
lines (password file, ACL file, listener port). Every role is checked against
every topic with real paho clients:

* publish: the client publishes a probe to the topic under test, then a marker
  to its own status topic. An admin subscribed to ``antre/#`` waits for the
  marker; since one client's QoS 1 messages are delivered in order, the probe
  has arrived by then if and only if the broker accepted it. No sleeps.
* read: the client subscribes to the topic under test and to a topic it may
  read (the marker topic); the admin publishes a probe, then the marker. When
  the marker arrives, the probe has arrived too if the client may read it.
  (SUBACK alone is not enough: mosquitto 2.0 grants a subscription that matches a
  write-only ACL line and filters each message on delivery instead.)

The expected permissions below are written out by hand from docs/broker.md,
not derived from antre.ops.broker, so the test checks the code against the spec.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import threading
import time
import tomllib
import uuid
from pathlib import Path

import pytest

paho = pytest.importorskip("paho.mqtt.client")
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from antre import config  # noqa: E402
from antre.ops import broker  # noqa: E402
from antre.link import protocol  # noqa: E402
from antre.cli import main  # noqa: E402
from antre.ops.devtools import find_program  # noqa: E402
from antre.errors import ConfigError  # noqa: E402
from tests.support import ShippedBroker  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONF = ROOT / "broker_config" / "antre.conf"
OFFICE = "sukamaju"
BASE = f"antre/v2/{OFFICE}"
TIMEOUT = 15.0

needs_mosquitto = pytest.mark.skipif(
    find_program("mosquitto") is None or find_program("mosquitto_passwd") is None,
    reason="mosquitto and mosquitto_passwd are not installed (apt install mosquitto)")

DEVICES = [
    broker.Device("kiosk-1", "kiosk"),
    broker.Device("kiosk-2", "kiosk"),
    broker.Device("counter-1", "counter"),
    broker.Device("display-1", "display"),
    broker.Device("web-1", "web"),
    broker.Device("admin", "admin"),
    # The tests' own observer: a second admin login (one login is one connection at a time).
    broker.Device("observer", "admin"),
]
ROLE_USER = {"service": "antre-service", "kiosk": "kiosk-1", "counter": "counter-1",
             "display": "display-1", "web": "web-1", "admin": "admin"}

COUNTER_CMDS = ["call_next", "recall", "skip", "complete", "transfer", "pause", "resume", "bring_back", "call_number"]
KIOSK_CMDS = ["issue_ticket", "check_in", "rate", "ask", "letter_request", "letter_status", "letter_pickup",
              "letter_catalogue", "complaint_submit", "question_submit", "question_status",
              "ticket_status", "complaint_status", "letter_verify", "booking_status",   # the kiosk's QR reader (read-only)
              "faq_common"]   # the Tanya jawab screen's buttons (read-only)
# The letters', complaints' and news commands (docs/protocol.md); the website sends all of them but letter_pickup.
LETTER_CMDS = ["letter_request", "letter_status", "letter_cancel", "letter_pickup", "letter_verify", "letter_list",
               "letter_get", "letter_set_status", "letter_edit", "letter_assign_number", "letter_reserve_number",
               "letter_register", "letter_catalogue", "letter_type_update", "letter_revoke"]
PORTAL_CMDS = ["complaint_submit", "complaint_status", "complaint_add", "complaint_rate", "complaint_list",
               "complaint_get", "complaint_set_status", "complaint_reply", "complaint_note", "complaint_assign",
               "complaint_merge", "complaint_summary", "complaint_export", "news_save", "news_withdraw", "news_list", "news_public",
               "faq_list", "faq_common", "faq_save", "faq_delete", "question_submit", "question_status", "question_list",
               "question_get", "question_answer", "question_dismiss"]
#: "Semua urusan saya" (antre/rules/my_items.py): the website's login only.
ITEMS_CMDS = ["items_code", "items_confirm", "items_list", "items_logout"]
STAFF_CMDS = ["staff_login", "staff_logout", "staff_passwd", "staff_setup", "staff_add", "staff_update", "staff_audit",
              "office_set", "office_settings"]
# The website: residents' commands, the staff console's, and the console's virtual counter (the service
# accepts a counter command from the web only with a signed-in person's session).
WEB_CMDS = ["issue_ticket", "book", "cancel_booking", "ticket_status", "booking_status", "booking_slots", "web_info", "set_web", "ask"] \
    + STAFF_CMDS + COUNTER_CMDS + [c for c in LETTER_CMDS if c != "letter_pickup"] + PORTAL_CMDS + ITEMS_CMDS
# Every command of docs/protocol.md.
ALL_CMDS = ["issue_ticket", "check_in", "rate", "book", "cancel_booking", "ticket_status", "booking_status", "booking_slots",
            "web_info", "set_web", "ask"] + COUNTER_CMDS + STAFF_CMDS + LETTER_CMDS + PORTAL_CMDS + ITEMS_CMDS


# --------------------------------------------------------------------------
# The specification, by hand.
# --------------------------------------------------------------------------

def own_status(role: str, user: str) -> str:
    return f"status/{role}/{user}"


def may_publish(role: str, user: str) -> dict[str, bool]:
    """Topic suffix (after BASE) -> may this role publish it.

    A command's topic names its sender, cmd/ROLE/NAME/COMMAND: each login may publish only under
    its own role and name, only its role's commands.
    """
    topics = [f"cmd/{r}/{user}/{c}" for r in ("kiosk", "counter", "web", "admin") for c in ALL_CMDS] + [
        f"cmd/kiosk/kiosk-2/{c}" for c in KIOSK_CMDS] + [
        "reply/kiosk-1", "reply/kiosk-2", "state", "event/ticket_called",
        own_status(role, user), "status/service/antre-service", "status/kiosk/kiosk-2", f"status/service/{user}",
        "status/counter/someone-else", "ticker", "news", "news/picture/7",
    ]
    allowed: set[str] = {own_status(role, user)}
    if role == "service":   # and the devices' announcements: only the service writes them
        allowed |= {"reply/kiosk-1", "reply/kiosk-2", "state", "event/ticket_called", "news", "news/picture/7"}
    elif role == "kiosk":
        allowed |= {f"cmd/kiosk/{user}/{c}" for c in KIOSK_CMDS}
    elif role == "web":
        allowed |= {f"cmd/web/{user}/{c}" for c in WEB_CMDS} | {"ticker"}  # the staff page edits the running text
    elif role == "counter":
        allowed |= {f"cmd/counter/{user}/{c}" for c in COUNTER_CMDS}
    elif role == "admin":
        allowed |= set(topics)
    return {t: t in allowed for t in topics}


def may_read(role: str, user: str) -> dict[str, bool]:
    """Topic suffix -> may this role receive messages published there."""
    topics = ["cmd/kiosk/kiosk-1/issue_ticket", "cmd/counter/counter-1/call_next", f"reply/{user}",
              "reply/kiosk-2", "state", "event/ticket_called", "event/ticket_completed", "event/ticket_issued",
              "event/letter_status", "status/service/antre-service", "status/kiosk/kiosk-2", "status/counter/counter-1", "ticker",
              "news", "news/picture/7"]
    if role == "admin":
        return {t: True for t in topics}
    allowed: set[str] = set()
    if role == "service":  # commands and presence; not the state or ticker it never uses
        allowed = {"cmd/kiosk/kiosk-1/issue_ticket", "cmd/counter/counter-1/call_next",
                   "status/service/antre-service", "status/kiosk/kiosk-2", "status/counter/counter-1",
                   "news/picture/7"}   # pictures left from before a restart, to clear them
    elif role == "kiosk":  # one event: a finished ticket, for the rating screen; the idle screen's news
        allowed = {f"reply/{user}", "state", "event/ticket_completed", "status/service/antre-service", "news",
                   "news/picture/7"}
    elif role == "counter":  # no events
        allowed = {f"reply/{user}", "state", "status/service/antre-service"}
    elif role == "web":  # one event, letters' new statuses (by a hash of the code) for the live letter pages;
        # tickets' live status comes from the state; the staff page shows the ticker and every device's health
        allowed = {f"reply/{user}", "state", "event/letter_status", "status/service/antre-service", "status/kiosk/kiosk-2",
                   "status/counter/counter-1", "ticker"}
    elif role == "display":
        allowed = {"state", "event/ticket_called", "status/service/antre-service", "status/kiosk/kiosk-2",
                   "status/counter/counter-1", "ticker", "news", "news/picture/7"}
    return {t: t in allowed for t in topics}


def marker_topic(role: str, user: str) -> str:
    """A topic the role may read, used as the marker in read checks."""
    return {"service": "cmd/kiosk/kiosk-1/issue_ticket", "display": "ticker", "admin": "ticker"}.get(
        role, f"reply/{user}")


# --------------------------------------------------------------------------
# A real broker and real clients.
# --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Broker(ShippedBroker):
    """mosquitto running the shipped antre.conf on a free port in ``workdir`` (tests/support.py)."""


class Client:
    """A paho client that records what it receives, with condition waits."""

    def __init__(self, port: int, username: str | None, password: str | None, client_id: str,
                 protocol=paho.MQTTv311):
        self.port = port
        self.cond = threading.Condition()
        self.messages: list[tuple[str, bytes, bool]] = []
        self.subacks: dict[int, list] = {}
        self.connack = None
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        if username is not None:
            self.c.username_pw_set(username, password)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.on_disconnect = self._on_disconnect
        self.disconnected = False

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        with self.cond:
            if self.connack is None:  # the first answer; paho may retry on its own afterwards
                self.connack = reason_code
            self.cond.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self.cond:
            self.disconnected = True
            self.cond.notify_all()

    def _on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self.cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self.cond:
            self.subacks[mid] = list(reason_codes)
            self.cond.notify_all()

    def wait(self, predicate, what: str) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout=TIMEOUT):
                raise AssertionError(f"timed out waiting for {what}")

    def connect(self):
        """Connects and returns the CONNACK reason code (the loop is stopped on refusal)."""
        self.c.connect("127.0.0.1", self.port, keepalive=30)
        self.c.loop_start()
        self.wait(lambda: self.connack is not None or self.disconnected, "CONNACK")
        if self.connack is None or self.connack.is_failure:
            self.close()
        return self.connack

    def subscribe(self, topic: str) -> list:
        rc, mid = self.c.subscribe(topic, qos=1)
        assert rc == paho.MQTT_ERR_SUCCESS
        self.wait(lambda: mid in self.subacks, f"SUBACK for {topic}")
        return self.subacks[mid]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=TIMEOUT)
        assert info.is_published(), f"PUBACK for {topic} not received"

    def received(self, payload: bytes) -> bool:
        with self.cond:
            return any(p == payload for _, p, _ in self.messages)

    def wait_payload(self, payload: bytes, what: str) -> None:
        self.wait(lambda: any(p == payload for _, p, _ in self.messages), what)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture(scope="module")
def setup_files(tmp_path_factory):
    if find_program("mosquitto") is None or find_program("mosquitto_passwd") is None:
        pytest.skip("mosquitto and mosquitto_passwd are not installed (apt install mosquitto)")
    work = tmp_path_factory.mktemp("broker")
    broker.setup(add=DEVICES, out=work / "etc-antre", passwd_file=work / "antre.passwd",
                 acl_file=work / "antre.acl", host="127.0.0.1", office=OFFICE)
    passwords = {name: broker.existing_password(work / "etc-antre" / "devices" / f"{name}.toml")
                 for name in [d.name for d in DEVICES] + [broker.SERVICE_USER]}
    assert all(passwords.values())
    return work, passwords


@pytest.fixture(scope="module")
def running(setup_files):
    work, passwords = setup_files
    b = Broker(work, work / "antre.passwd", work / "antre.acl")
    b.start()
    admin = Client(b.port, "observer", passwords["observer"], "observer")
    assert not admin.connect().is_failure
    admin.subscribe("antre/#")
    yield b, passwords, admin
    admin.close()
    b.stop()


def connect_as(running, user: str, client_id: str | None = None) -> Client:
    b, passwords, _ = running
    c = Client(b.port, user, passwords[user], client_id or user)
    rc = c.connect()
    assert rc is not None and not rc.is_failure, f"{user} could not connect: {rc}"
    return c


def probe() -> bytes:
    return uuid.uuid4().hex.encode()


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["service", "kiosk", "counter", "display", "web", "admin"])
def test_publish_permissions(running, role):
    _, _, admin = running
    user = ROLE_USER[role]
    client = connect_as(running, user)
    wrong = []
    try:
        for suffix, allowed in may_publish(role, user).items():
            payload, marker = probe(), probe()
            client.publish(f"{BASE}/{suffix}", payload)
            client.publish(f"{BASE}/{own_status(role, user)}", marker)
            admin.wait_payload(marker, f"{user}'s marker after publishing to {suffix}")
            if admin.received(payload) != allowed:
                wrong.append(f"{suffix}: expected {'allowed' if allowed else 'denied'}")
    finally:
        client.close()
    assert not wrong, f"{role} ({user}) publish permissions differ from the spec: {wrong}"


@pytest.mark.parametrize("role", ["service", "kiosk", "counter", "display", "web", "admin"])
def test_read_permissions(running, role):
    _, _, admin = running
    user = ROLE_USER[role]
    client = connect_as(running, user)
    wrong = []
    try:
        marker_suffix = marker_topic(role, user)
        assert client.subscribe(f"{BASE}/{marker_suffix}")[0].value == 1
        for suffix, allowed in may_read(role, user).items():
            codes = client.subscribe(f"{BASE}/{suffix}")
            payload, marker = probe(), probe()
            admin.publish(f"{BASE}/{suffix}", payload)
            admin.publish(f"{BASE}/{marker_suffix}", marker)
            client.wait_payload(marker, f"marker on {marker_suffix} for {user}")
            if client.received(payload) != allowed:
                wrong.append(f"{suffix}: expected {'readable' if allowed else 'not readable'}")
            # An allowed subscription must be granted. A forbidden one gets SUBACK 0x80 when no
            # ACL line matches it at all; mosquitto 2.0 grants it when a write-only line matches
            # and then filters every message on delivery -- which is what counts, checked above.
            if allowed and codes[0].is_failure:
                wrong.append(f"{suffix}: SUBACK {codes[0]}, expected granted")
    finally:
        client.close()
    assert not wrong, f"{role} ({user}) read permissions differ from the spec: {wrong}"


def test_wildcard_subscription_reads_only_own_replies(running):
    """kiosk-1 subscribing to every reply topic still gets only its own replies."""
    _, _, admin = running
    kiosk = connect_as(running, "kiosk-1")
    try:
        kiosk.subscribe(f"{BASE}/reply/kiosk-1")
        kiosk.subscribe(f"{BASE}/reply/#")
        kiosk.subscribe("#")
        other, own = probe(), probe()
        admin.publish(f"{BASE}/reply/kiosk-2", other)
        admin.publish(f"{BASE}/reply/kiosk-1", own)
        kiosk.wait_payload(own, "kiosk-1's own reply")
        assert not kiosk.received(other)
    finally:
        kiosk.close()


@pytest.mark.parametrize("user", ["kiosk-1", "counter-1"])
def test_status_wildcard_gives_only_the_service_presence(running, user):
    """The apps subscribe to status/service/+ (protocol.Topics.service_statuses): granted; wider
    subscriptions are filtered to the service's presence."""
    _, _, admin = running
    client = connect_as(running, user)
    try:
        assert not client.subscribe(f"{BASE}/status/service/+")[0].is_failure
        client.subscribe(f"{BASE}/status/#")
        client.subscribe(f"{BASE}/reply/{user}")
        service, other, marker = probe(), probe(), probe()
        admin.publish(f"{BASE}/status/service/antre-service", service)
        admin.publish(f"{BASE}/status/display/display-1", other)
        admin.publish(f"{BASE}/reply/{user}", marker)
        client.wait_payload(marker, "marker")
        assert client.received(service)
        assert not client.received(other)
    finally:
        client.close()


def test_client_id_is_not_identity(running):
    """kiosk-1's password with client id 'kiosk-2' does not give access to kiosk-2's replies or status."""
    _, _, admin = running
    spoof = connect_as(running, "kiosk-1", client_id="kiosk-2")
    try:
        spoof.subscribe(f"{BASE}/reply/kiosk-1")
        spoof.subscribe(f"{BASE}/reply/kiosk-2")
        stolen, own = probe(), probe()
        admin.publish(f"{BASE}/reply/kiosk-2", stolen)
        admin.publish(f"{BASE}/reply/kiosk-1", own)
        spoof.wait_payload(own, "kiosk-1's own reply")
        assert not spoof.received(stolen)

        forged, marker = probe(), probe()
        spoof.publish(f"{BASE}/status/kiosk/kiosk-2", forged)
        spoof.publish(f"{BASE}/status/kiosk/kiosk-1", marker)
        admin.wait_payload(marker, "kiosk-1's marker")
        assert not admin.received(forged)
    finally:
        spoof.close()


def test_last_will_on_own_status_is_delivered(running):
    """The presence will (published by the broker for the client) passes the ACL."""
    b, passwords, admin = running
    will = probe()
    c = Client(b.port, "display-1", passwords["display-1"], "display-1")
    c.c.will_set(f"{BASE}/status/display/display-1", will, qos=1, retain=True)
    assert not c.connect().is_failure
    c.c.socket().close()          # a dead network link, not a clean DISCONNECT
    c.c.loop_stop()
    admin.wait_payload(will, "display-1's last will")


@pytest.mark.parametrize("username,password,client_id", [
    (None, None, "anon"),
    ("kiosk-1", "wrong-password", "kiosk-1"),
    ("nobody", "whatever-password", "nobody"),
])
def test_refused_logins(running, username, password, client_id):
    b, _, _ = running
    c = Client(b.port, username, password, client_id)
    rc = c.connect()
    assert rc is not None and rc.is_failure, f"login {username!r} should be refused"
    assert str(rc) == "Not authorized"  # MQTT 3.1.1 CONNACK 5, as paho names it


def test_empty_client_id_refused(running):
    """Every client must name itself. Raw CONNECT, because paho retries this case with an id of its own."""
    b, passwords, _ = running

    def utf8(s: str) -> bytes:
        return len(s.encode()).to_bytes(2, "big") + s.encode()
    # MQTT 3.1.1 CONNECT: clean session, user name and password flags, keepalive 30, empty client id.
    body = utf8("MQTT") + bytes([4, 0b11000010]) + (30).to_bytes(2, "big") + utf8("") \
        + utf8("kiosk-1") + utf8(passwords["kiosk-1"])
    with socket.create_connection(("127.0.0.1", b.port), timeout=TIMEOUT) as s:
        s.sendall(bytes([0x10, len(body)]) + body)
        connack = s.recv(4)
    assert connack == bytes([0x20, 0x02, 0x00, 0x02])  # CONNACK 2: identifier rejected


def test_oversized_message_disconnects(running):
    """max_packet_size: a payload over 64 KiB is not delivered and the sender is cut off."""
    _, _, admin = running
    kiosk = connect_as(running, "kiosk-1")
    big = b"x" * 70_000
    kiosk.c.publish(f"{BASE}/cmd/kiosk/kiosk-1/issue_ticket", big, qos=1)
    kiosk.wait(lambda: kiosk.disconnected, "the broker to disconnect the sender")
    kiosk.c.loop_stop()
    marker = probe()
    admin.publish(f"{BASE}/ticker", marker)
    admin.wait_payload(marker, "admin's own marker")
    assert not admin.received(big)


def test_retained_state_survives_restart(setup_files, tmp_path):
    work, passwords = setup_files
    b = Broker(tmp_path, work / "antre.passwd", work / "antre.acl")
    b.start()
    try:
        service = Client(b.port, "antre-service", passwords["antre-service"], "antre-service")
        assert not service.connect().is_failure
        state = b'{"serving": "A-012", "' + probe() + b'": 1}'
        service.publish(f"{BASE}/state", state, retain=True)
        service.close()
        b.stop()
        assert (tmp_path / "data" / "mosquitto.db").exists()
        b.start()
        display = Client(b.port, "display-1", passwords["display-1"], "display-1")
        assert not display.connect().is_failure
        display.subscribe(f"{BASE}/state")
        display.wait_payload(state, "retained state after a broker restart")
        assert display.messages[-1][2] is True  # still flagged retained
        display.close()
    finally:
        b.stop()


# --------------------------------------------------------------------------
# The generator itself
# --------------------------------------------------------------------------

def test_acl_text_is_a_pure_function_of_the_devices():
    text = broker.acl_text(DEVICES)
    assert text == broker.acl_text(list(reversed(DEVICES)))
    assert text.count("\nuser ") == len(DEVICES) + 1  # plus the service's own login
    assert "user antre-service\ntopic read antre/v2/+/cmd/#\n" in text
    assert "pattern" not in text   # every rule names its login: nothing is granted by a client id
    kiosk = text.split("user kiosk-1\n")[1].split("\n\n")[0].splitlines()
    assert kiosk == [
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/issue_ticket",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/check_in",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/rate",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/letter_request",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/letter_status",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/letter_pickup",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/letter_catalogue",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/ask",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/complaint_submit",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/question_submit",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/question_status",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/ticket_status",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/complaint_status",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/letter_verify",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/booking_status",
        "topic write antre/v2/+/cmd/kiosk/kiosk-1/faq_common",
        "topic read antre/v2/+/reply/kiosk-1",
        "topic read antre/v2/+/state",
        "topic read antre/v2/+/event/ticket_completed",
        "topic read antre/v2/+/news",
        "topic read antre/v2/+/news/picture/+",
        "topic read antre/v2/+/status/service/+",
        "topic write antre/v2/+/status/kiosk/kiosk-1",
        "topic write antre/v1/+/status/kiosk-1",
    ]
    web = text.split("user web-1\n")[1].split("\n\n")[0].splitlines()
    assert web == [
        "topic write antre/v2/+/cmd/web/web-1/issue_ticket",
        "topic write antre/v2/+/cmd/web/web-1/book",
        "topic write antre/v2/+/cmd/web/web-1/cancel_booking",
        "topic write antre/v2/+/cmd/web/web-1/ticket_status",
        "topic write antre/v2/+/cmd/web/web-1/booking_status",
        "topic write antre/v2/+/cmd/web/web-1/booking_slots",
        "topic write antre/v2/+/cmd/web/web-1/web_info",
        "topic write antre/v2/+/cmd/web/web-1/set_web",
        "topic write antre/v2/+/cmd/web/web-1/ask",
        *(f"topic write antre/v2/+/cmd/web/web-1/{c}" for c in protocol.COMMANDS
          if c.startswith("letter_") and c != "letter_pickup"),
    ] + [f"topic write antre/v2/+/cmd/web/web-1/{c}" for c in STAFF_CMDS + COUNTER_CMDS] + [
        f"topic write antre/v2/+/cmd/web/web-1/{c}" for c in protocol.COMMANDS
        if c.startswith(("complaint_", "news_", "faq_", "question_"))] + [
        f"topic write antre/v2/+/cmd/web/web-1/{c}" for c in ITEMS_CMDS] + [
        "topic read antre/v2/+/reply/web-1",
        "topic read antre/v2/+/state",
        "topic read antre/v2/+/event/letter_status",
        "topic read antre/v2/+/event/complaint_status",
        "topic readwrite antre/v2/+/ticker",
        "topic read antre/v2/+/status/#",
        "topic write antre/v2/+/status/web/web-1",
        "topic write antre/v1/+/status/web-1",
    ]


def test_acl_text_can_be_limited_to_one_office():
    text = broker.acl_text(DEVICES, office="cibiru")
    topics = [line.split()[-1] for line in text.splitlines() if line.startswith(("topic", "pattern"))]
    assert all(t.startswith(("antre/v2/cibiru/", "antre/v1/cibiru/")) for t in topics if not t.startswith(("antre/#", "$SYS/")))
    assert not [t for t in topics if "/+/" in t.replace("/service/+", "")]
    with pytest.raises(ConfigError):
        broker.acl_text(DEVICES, office="a/b")


@pytest.mark.parametrize("text,message", [
    ("kiosk-1", "must be NAME:ROLE"),
    ("kiosk-1:printer", "unknown role 'printer'"),
    ("Kiosk 1:kiosk", "device name"),
    ("kiosk-1:kiosk,kiosk-1:web", "named twice"),
    ("antre-service:kiosk", "only 'antre-service'"),
    ("other:service", "only 'antre-service'"),
    ("k/#:kiosk", "device name"),
])
def test_parse_devices_refuses_bad_lists(text, message):
    with pytest.raises(ConfigError, match=message):
        broker.parse_devices(text)


def test_parse_devices():
    assert broker.parse_devices(" kiosk-1:kiosk, display-1:display ,") == [
        broker.Device("kiosk-1", "kiosk"), broker.Device("display-1", "display")]


@needs_mosquitto
def test_password_hashes_from_mosquitto_passwd_are_recognised(tmp_path):
    f = tmp_path / "pw"
    f.write_text("kiosk-1:s3cret-password\n")
    subprocess.run(["mosquitto_passwd", "-U", str(f)], check=True)
    encoded = broker.read_password_file(f)["kiosk-1"]
    assert encoded.startswith("$7$")
    assert broker.password_matches(encoded, "s3cret-password")
    assert not broker.password_matches(encoded, "s3cret-passwore")
    assert not broker.password_matches("garbage", "x")


@needs_mosquitto
def test_setup_keeps_passwords_rotates_and_removes(tmp_path):
    paths = dict(out=tmp_path / "etc", passwd_file=tmp_path / "passwd", acl_file=tmp_path / "acl", host="srv")
    first = broker.setup(add=broker.parse_devices("kiosk-1:kiosk,display-1:display"), **paths)
    snippet = tmp_path / "etc/devices"
    pw = {p.stem: broker.existing_password(p) for p in snippet.glob("*.toml")}
    assert set(pw) == {"antre-service", "kiosk-1", "display-1"}
    assert len(set(pw.values())) == 3 and all(len(p) >= 32 for p in pw.values())
    assert (snippet.stat().st_mode & 0o777) == 0o700
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in snippet.iterdir())
    assert tmp_path / "passwd" in first.written and first.broker_changed

    # Each snippet is a valid [mqtt] section for the device's antre.toml.
    for name in pw:
        cfg = config.from_dict(tomllib.loads((snippet / f"{name}.toml").read_text()))
        assert cfg.mqtt.username == name and cfg.mqtt.password == pw[name]
        assert cfg.mqtt.client_id == name

    # Again with nothing new: nothing written, same passwords, password file untouched.
    mtime = (tmp_path / "passwd").stat().st_mtime_ns
    again = broker.setup(**paths)
    assert again.written == [] and not again.broker_changed
    assert (tmp_path / "passwd").stat().st_mtime_ns == mtime
    assert {p.stem: broker.existing_password(p) for p in snippet.glob("*.toml")} == pw

    # Adding a device keeps the others (earlier devices come from broker-devices.toml).
    broker.setup(add=[broker.Device("counter-1", "counter")], **paths)
    assert [d.name for d in broker.load_registry(tmp_path / "etc" / broker.REGISTRY_NAME)] == [
        "counter-1", "display-1", "kiosk-1"]
    assert broker.existing_password(snippet / "kiosk-1.toml") == pw["kiosk-1"]

    # Rotating one device changes only its password; the file hashes follow.
    broker.setup(rotate=["kiosk-1"], **paths)
    new = broker.existing_password(snippet / "kiosk-1.toml")
    assert new != pw["kiosk-1"]
    assert broker.existing_password(snippet / "display-1.toml") == pw["display-1"]
    hashes = broker.read_password_file(tmp_path / "passwd")
    assert broker.password_matches(hashes["kiosk-1"], new)
    assert not broker.password_matches(hashes["kiosk-1"], pw["kiosk-1"])

    broker.setup(remove=["display-1"], **paths)
    assert not (snippet / "display-1.toml").exists()
    assert "display-1" not in broker.read_password_file(tmp_path / "passwd")
    assert "user display-1" not in (tmp_path / "acl").read_text()
    with pytest.raises(ConfigError, match="no such device"):
        broker.setup(remove=["display-1"], **paths)
    with pytest.raises(ConfigError, match="queue service's own login"):
        broker.setup(remove=["antre-service"], **paths)


@needs_mosquitto
def test_cli_setup_list_and_acl(tmp_path, capsys):
    common = ["--out", str(tmp_path / "etc"), "--passwd-file", str(tmp_path / "pw"), "--acl-file", str(tmp_path / "acl")]
    assert main(["broker", "setup", "--devices", "kiosk-1:kiosk", "--host", "srv.lan", *common]) == 0
    out = capsys.readouterr().out
    assert f"wrote      {tmp_path / 'pw'}" in out and "systemctl reload mosquitto" in out
    assert main(["broker", "setup", "--rotate", *common]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["broker", "list", *common]) == 0
    assert "kiosk-1" in capsys.readouterr().out
    assert main(["broker", "acl", *common]) == 0
    assert capsys.readouterr().out == (tmp_path / "acl").read_text()
    assert main(["broker", "setup", "--devices", "kiosk-1", *common]) == 2  # AntreError -> exit 2
