"""A faithful lightweight office for district tests and benchmarks: the wire behaviour of ``antre serve``'s
district outbox (``antre/service/district_link.py``) without a queue.

Each :class:`SimOffice` holds its rows (1, 2, 3 ... like ``district_outbox``), publishes them on
``antre/v2/{office}/district/event``, keeps its retained head, and answers resend requests from what it
holds -- so a test can make it "go offline" (rows kept, not published) or lose rows on the way, exactly the
faults the hub must repair. Many offices share one MQTT connection per :class:`SimFleet` when the broker
lets that login write every office's topics (a test broker), or one connection each (``per_office``).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

KINDS = ("issued", "called", "completed", "rating")


class SimOffice:
    def __init__(self, office: str):
        self.office = office
        self.rows: list[dict[str, Any]] = []
        self.online = True
        self.resent = 0
        self.lock = threading.Lock()

    def topic(self, what: str) -> str:
        return f"antre/v2/{self.office}/district/{what}"

    def make(self, n: int, start: datetime | None = None) -> list[dict[str, Any]]:
        """Appends ``n`` rows (a ticket's life: issued, called, completed, rated) and returns them."""
        start = start or datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)
        made = []
        with self.lock:
            for _ in range(n):
                seq = len(self.rows) + 1
                ticket = (seq - 1) // 4 + 1
                kind = KINDS[(seq - 1) % 4]
                at = start + timedelta(seconds=seq * 30)
                data: dict[str, Any] = {"number": f"A-{ticket:03d}", "service": "adminduk", "priority": None,
                                        "channel": "kiosk", "issued_at": (start + timedelta(seconds=ticket * 120))
                                        .isoformat(), "business_date": at.date().isoformat(), "counter": None}
                if kind in ("called", "completed"):
                    data["counter"] = "loket-1"
                if kind == "rating":
                    data = {"number": data["number"], "service": "adminduk", "counter": "loket-1", "score": 4,
                            "elements": [4] * 9, "business_date": data["business_date"]}
                row = {"office": self.office, "seq": seq, "kind": kind, "at": at.isoformat(),
                       "business_date": at.date().isoformat(), "data": data}
                self.rows.append(row)
                made.append(row)
        return made


class SimFleet:
    """Offices publishing through one broker connection (``username``/``password`` for a broker with logins)."""

    def __init__(self, mqtt_url: str, offices: list[SimOffice], *, client_id: str = "sim-fleet",
                 username: str = "", password: str = "", ca_file: str = ""):
        import ssl
        from urllib.parse import urlsplit
        self.offices = {o.office: o for o in offices}
        url = urlsplit(mqtt_url)
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311, clean_session=True)
        if username:
            c.username_pw_set(username, password)
        if url.scheme == "mqtts":
            c.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        c.max_inflight_messages_set(200)
        c.max_queued_messages_set(0)
        c.on_connect = self._connected
        c.on_message = self._message
        self.client = c
        self.connected = threading.Event()
        self.host, self.port = url.hostname, url.port or 1883

    def start(self) -> "SimFleet":
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _connected(self, client, userdata, flags, reason, properties=None) -> None:
        for o in self.offices.values():
            client.subscribe(o.topic("resend"), 1)
        self.connected.set()

    def _message(self, client, userdata, msg) -> None:
        office = self.offices.get(msg.topic.split("/")[2])
        if office is None or not office.online:
            return
        wanted = json.loads(msg.payload)
        with office.lock:
            rows = office.rows[wanted["from"] - 1:min(wanted["to"], len(office.rows))]
        for row in rows:
            client.publish(office.topic("event"), json.dumps(row), qos=1)
        office.resent += len(rows)

    def publish(self, office: SimOffice, rows: list[dict[str, Any]], *, head: bool = True) -> None:
        """Publishes ``rows`` (unless the office is offline) and then its head."""
        if not office.online:
            return
        info = None
        for row in rows:
            info = self.client.publish(office.topic("event"), json.dumps(row), qos=1)
        if head:
            info = self.publish_head(office)
        if info is not None:
            info.wait_for_publish(timeout=30)

    def publish_head(self, office: SimOffice):
        return self.client.publish(office.topic("head"), json.dumps(
            {"seq": len(office.rows), "time": datetime.now(timezone.utc).isoformat()}), qos=1, retain=True)
