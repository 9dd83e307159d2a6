"""The transport to the district: two real mosquitto processes -- an office broker bridging to a central one over
TLS with the office's own login -- a real `antre serve`, `antre hub` and PostgreSQL. The central broker goes away
and comes back: nothing is lost, nothing doubled. An office's login cannot write another office's topics."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from antre.errors import ConfigError
from antre.hub.ingest import Hub
from antre.ops import devtools
from antre.ops.district_bridge import bridge_conf_text, central_conf_text, central_setup, parse_district_url
from antre.storage import district_store
from tests.conftest import start_office
from tests.support import Mosquitto, Postgres, free_port, port_open, wait_for

pytestmark = pytest.mark.postgres
# mosquitto started as root drops to user mosquitto, which cannot read the test's private folders: stay as we are.
RUN_AS = f"user {pwd.getpwuid(os.getuid()).pw_name}\n"


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 / localhost (openssl), made for this test."""
    ca_key, ca, key, csr, crt = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.crt"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
        "-days", "2", "-subj", "/CN=Antre test district CA")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=localhost")
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(crt), "-days", "2", "-extfile", str(ext))
    return ca, crt, key


class Central:
    """The district's mosquitto: TLS only, logins and ACL from antre.ops.district_bridge, persistence on."""

    def __init__(self, folder: Path, ca: Path, crt: Path, key: Path):
        self.folder = folder
        self.port = free_port()
        (folder / "data").mkdir(exist_ok=True)
        self.conf = folder / "central.conf"
        self.conf.write_text(central_conf_text(port=self.port, ca_file=ca, cert_file=crt, key_file=key,
                                               passwd_file=folder / "passwd", acl_file=folder / "acl",
                                               bind="127.0.0.1")
                             + f"persistence_location {folder / 'data'}/\nautosave_interval 1\n"
                             + "log_dest stderr\nlog_type all\n" + RUN_AS)
        self.log = folder / "central.log"
        self.proc = None

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def start(self) -> "Central":
        self.proc = subprocess.Popen([devtools.find_program("mosquitto"), "-c", str(self.conf)],
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, what="central to listen")
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        wait_for(lambda: not port_open(self.port), what="central to stop listening")


def stored(pg, office: str) -> list[int]:
    conn = district_store.connect(pg.url)
    try:
        return [r[0] for r in conn.execute("SELECT seq FROM district_events WHERE office_id = %s ORDER BY seq",
                                           (office,))]
    finally:
        conn.close()


def outbox_seqs(db: Path) -> list[int]:
    import sqlite3
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("select seq from district_outbox order by seq")]


@pytest.fixture(scope="module")
def pg():
    if Postgres.bindir() is None:
        pytest.skip("PostgreSQL server is not installed")
    p = Postgres().start()
    yield p
    p.stop()


def tls_client(central: Central, ca: Path, user: str, password: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=paho.MQTTv311)
    c.username_pw_set(user, password)
    c.tls_set(ca_certs=str(ca))
    return c


def test_an_office_bridged_over_tls_loses_nothing_while_the_district_is_down(tmp_path, pg):
    office_id = f"desa{uuid.uuid4().hex[:6]}"
    ca, crt, key = make_ca(tmp_path)
    central_dir = tmp_path / "central"
    central_dir.mkdir()
    passwords = central_setup(central_dir, [office_id, "desa-lain"], ["hub"])
    central = Central(central_dir, ca, crt, key).start()
    bridge = bridge_conf_text(office_id, central.url, passwords[office_id], ca)
    office_broker = Mosquitto(tmp_path / "office-broker", extra=RUN_AS + bridge).start()
    (tmp_path / "office").mkdir()
    office = start_office(tmp_path / "office", office_broker, office_id=office_id)
    hub = Hub(central.url, pg.url, "hub", username="hub", password=passwords["hub"], ca_file=str(ca),
              resend_after=2.0)
    hub.start()
    try:
        wait_for(hub.connected.is_set, what="the hub to log in over TLS")
        c = office.client
        for _ in range(5):
            c.ok("issue_ticket", service="adminduk")
        c.ok("call_next", counter="loket-1")
        wait_for(lambda: stored(pg, office_id) == outbox_seqs(office.db_path) and len(stored(pg, office_id)) >= 6,
                 timeout=30, what="the first rows at the district")

        # The district's broker goes away (killed); the office keeps working and its rows queue up.
        central.stop(signal.SIGKILL)
        for _ in range(20):
            c.ok("issue_ticket", service="adminduk")
        c.ok("call_next", counter="loket-1")
        c.ok("complete", counter="loket-1")
        c.ok("rate", ticket="A-002", score=4)
        made = outbox_seqs(office.db_path)
        assert len(made) >= 6 + 23
        central.start()
        wait_for(lambda: stored(pg, office_id) == made, timeout=60, what="every row after the district came back")
        conn = district_store.connect(pg.url)
        try:
            n, distinct = conn.execute("SELECT count(*), count(DISTINCT seq) FROM district_events WHERE office_id = %s",
                                       (office_id,)).fetchone()
        finally:
            conn.close()
        assert n == distinct == len(made)   # exactly once
        # Nothing else of the office crossed: no commands, replies, state or presence at the district.
        log = central.log.read_text()
        assert f"antre/v2/{office_id}/state" not in log and f"antre/v2/{office_id}/cmd" not in log
    finally:
        hub.stop()
        office.client.stop()
        office.service.stop()
        office_broker.stop()
        central.stop()


def test_an_office_login_cannot_write_another_office_or_read_its_resends(tmp_path):
    ca, crt, key = make_ca(tmp_path)
    passwords = central_setup(tmp_path, ["desa-a", "desa-b"], ["hub"])
    central = Central(tmp_path, ca, crt, key).start()
    seen: list[tuple[str, bytes]] = []
    try:
        watcher = tls_client(central, ca, "hub", passwords["hub"])
        watcher.on_message = lambda cl, u, m: seen.append((m.topic, m.payload))
        watcher.connect("127.0.0.1", central.port)
        watcher.subscribe("antre/v2/+/district/#", 1)
        watcher.loop_start()
        a = tls_client(central, ca, "desa-a", passwords["desa-a"])
        got_a: list[str] = []
        a.on_message = lambda cl, u, m: got_a.append(m.topic)
        a.connect("127.0.0.1", central.port)
        a.loop_start()
        a.subscribe("antre/v2/desa-b/district/resend", 1)   # another office's requests: not granted
        a.subscribe("antre/v2/desa-a/district/resend", 1)
        a.publish("antre/v2/desa-b/district/event", b'{"seq": 1}', qos=1).wait_for_publish(10)
        a.publish("antre/v2/desa-b/district/head", b'{"seq": 99}', qos=1, retain=True).wait_for_publish(10)
        a.publish("antre/v2/desa-a/cmd/admin/x/call_next", b'{}', qos=1).wait_for_publish(10)
        a.publish("antre/v2/desa-a/district/event", b'{"marker": 1}', qos=1).wait_for_publish(10)
        wait_for(lambda: any(t == "antre/v2/desa-a/district/event" for t, _ in seen), what="its own row")
        assert [t for t, _ in seen] == ["antre/v2/desa-a/district/event"]   # the others were refused
        watcher.publish("antre/v2/desa-b/district/resend", b'{"from": 1, "to": 2}', qos=1).wait_for_publish(10)
        watcher.publish("antre/v2/desa-a/district/resend", b'{"from": 1, "to": 2}', qos=1).wait_for_publish(10)
        wait_for(lambda: got_a, what="its own resend request")
        assert got_a == ["antre/v2/desa-a/district/resend"]
        # A wrong password, and no TLS at all, do not get in.
        bad = tls_client(central, ca, "desa-a", "wrong-password")
        refused = threading.Event()
        bad.on_connect = lambda cl, u, f, reason, p=None: reason.is_failure and refused.set()
        bad.connect("127.0.0.1", central.port)
        bad.loop_start()
        wait_for(refused.is_set, what="the wrong password to be refused")
        bad.loop_stop()
        plain = paho.Client(CallbackAPIVersion.VERSION2, client_id="plain", protocol=paho.MQTTv311)
        plain.username_pw_set("desa-a", passwords["desa-a"])
        accepted, dropped = threading.Event(), threading.Event()
        plain.on_connect = lambda cl, u, f, reason, p=None: (not reason.is_failure) and accepted.set()
        plain.on_disconnect = lambda *a, **k: dropped.set()
        plain.connect("127.0.0.1", central.port)   # the TCP connection opens; the TLS listener drops it
        plain.loop_start()
        wait_for(dropped.is_set, what="a login without TLS to be dropped")
        plain.loop_stop()
        assert not accepted.is_set()
        a.loop_stop()
        watcher.loop_stop()
    finally:
        central.stop()


def test_bridge_settings_refuse_what_would_be_unsafe():
    assert parse_district_url("mqtts://mqtt.bandungkab.go.id") == ("mqtt.bandungkab.go.id", 8883)
    for bad in ("mqtt://host:1883", "mqtts://", "mqtts://host/x", "mqtts://u:p@host", "host:8883",
                "mqtts://host:99999", "mqtts://ho st"):
        with pytest.raises(ConfigError):
            parse_district_url(bad)
    with pytest.raises(ConfigError):
        bridge_conf_text("Desa A", "mqtts://h", "pw")
    with pytest.raises(ConfigError):
        bridge_conf_text("desa-a", "mqtts://h", "pw\ntopic # both 1")   # no injected bridge lines
    text = bridge_conf_text("desa-a", "mqtts://h:8884", "s3cret")
    topics = [line for line in text.splitlines() if line.startswith("topic ")]
    assert topics == ["topic antre/v2/desa-a/district/event out 1", "topic antre/v2/desa-a/district/head out 1",
                      "topic antre/v2/desa-a/district/resend in 1"]
    assert "bridge_insecure false" in text and "cleansession false" in text and "address h:8884" in text


def test_the_shipped_office_broker_with_its_acl_carries_rows_out_and_resend_requests_in(tmp_path, pg):
    """The office broker as installed (broker_config/antre.conf, `antre broker setup` logins and ACL) plus the
    bridge file: the service logs in as antre-service; a resend request from the district comes in through the
    bridge and the service answers it."""
    from antre.ops import broker as broker_setup
    from tests.support import ShippedBroker, TestClient, write_config, ServiceProcess
    office_id = f"desa{uuid.uuid4().hex[:6]}"
    ca, crt, key = make_ca(tmp_path)
    central_dir = tmp_path / "central"
    central_dir.mkdir()
    passwords = central_setup(central_dir, [office_id], ["hub"])
    central = Central(central_dir, ca, crt, key).start()
    (tmp_path / "office").mkdir()
    office_broker = ShippedBroker(tmp_path / "office", tmp_path / "antre.passwd", tmp_path / "antre.acl")
    etc = tmp_path / "etc-antre"
    broker_setup.setup(add=[broker_setup.Device("admin-1", "admin")], out=etc, passwd_file=tmp_path / "antre.passwd",
                       acl_file=tmp_path / "antre.acl", host="127.0.0.1", port=office_broker.port, office=office_id)
    service_login = etc / "devices" / "antre-service.toml"   # the service's own login, on this broker's port
    service_login.write_text(service_login.read_text().replace("mqtt://localhost:1883",
                                                               f"mqtt://127.0.0.1:{office_broker.port}"))
    (tmp_path / "office" / "conf.d" / "antre-district.conf").write_text(
        bridge_conf_text(office_id, central.url, passwords[office_id], ca))
    office_broker.start()
    cfg = write_config(tmp_path / "antre.toml", mqtt_url=office_broker.url, db_path=tmp_path / "antre.db",
                       office_id=office_id)
    service = ServiceProcess(cfg, tmp_path / "service.log").start(
        env={"ANTRE_MQTT_FILE": str(etc / "devices" / "antre-service.toml")})
    admin_pw = broker_setup.existing_password(etc / "devices" / "admin-1.toml")
    client = TestClient(office_broker.url, office_id, username="admin-1", password=admin_pw).start()
    hub = Hub(central.url, pg.url, "hub", username="hub", password=passwords["hub"], ca_file=str(ca),
              resend_after=1.0)
    hub.start()
    try:
        client.wait_state(lambda s: True, "the service's state")
        for _ in range(4):
            client.ok("issue_ticket", service="adminduk")
        wait_for(lambda: stored(pg, office_id) == outbox_seqs(tmp_path / "antre.db") and stored(pg, office_id),
                 timeout=30, what="the rows at the district through the shipped broker")
        # The district loses rows 2-3 (say a restore of an old backup): the hub asks, the request goes in
        # through the bridge, the service publishes them again.
        conn = district_store.connect(pg.url)
        with conn.transaction():
            conn.execute("DELETE FROM district_events WHERE office_id = %s AND seq IN (2, 3)", (office_id,))
            conn.execute("UPDATE district_offices SET contiguous = 1, resend_asked_at = NULL WHERE office_id = %s",
                         (office_id,))
        conn.close()
        wait_for(lambda: stored(pg, office_id) == outbox_seqs(tmp_path / "antre.db"), timeout=30,
                 what="rows 2-3 resent through the bridge")
        assert "district: resent" in service.output()
    finally:
        hub.stop()
        client.stop()
        service.stop()
        office_broker.stop()
        central.stop()
