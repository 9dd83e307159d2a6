"""``antre hub``: the district's ingester.

paho's network thread only reads messages (:meth:`Hub._message`) onto a queue; one worker thread takes what is
waiting (up to :data:`BATCH`), writes it to PostgreSQL in one transaction (:func:`antre.storage.district_store.ingest`)
and then asks offices for the rows they are missing, on ``antre/v2/{office}/district/resend`` (bridged down
to the office). Every :data:`SWEEP_SECONDS` it also asks again for gaps no new row brought up (an office whose
newest rows were lost, a request whose answer was lost).

Rows come on a shared subscription (``$share/{group}/antre/v2/+/district/event``): the broker gives each row to
one instance of the group, so instances share the load; each also reads every office's retained head. Nothing
is kept between instances but PostgreSQL, so one may be killed at any moment: what it had read and not yet
committed is asked for again by whichever instance sees the gap.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import re
import signal
import ssl
import threading
import time
from datetime import date, datetime
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from antre.link.protocol import encode, read_object
from antre.link.signals import stop_signals_to_main_thread
from antre.storage import district_store
from antre.storage.district_store import Row

log = logging.getLogger("antre.hub")

BATCH = 2000
#: Rows held while PostgreSQL is away; beyond this the oldest are dropped (logged): the offices keep them and the
#: hub asks for them again once the database is back, so memory stays bounded however long the outage.
MAX_PENDING = 200_000
SWEEP_SECONDS = 5.0
MAX_PAYLOAD = 16384
_OFFICE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_KINDS = frozenset({"issued", "called", "completed", "skipped", "transferred", "rating", "letter", "stats"})
EVENTS = "antre/v2/+/district/event"
HEADS = "antre/v2/+/district/head"


def office_of(topic: str) -> str | None:
    """The office a district topic belongs to (``antre/v2/{office}/district/...``), or None."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "antre" or parts[1] != "v2" or parts[3] != "district":
        return None
    return parts[2] if _OFFICE.fullmatch(parts[2]) else None


def read_row(office: str, payload: bytes) -> Row | None:
    """A row from a ``district/event`` payload, trusted for its office by the topic; None (logged) if bad."""
    if len(payload) > MAX_PAYLOAD:
        log.warning("district row from %s refused: %d bytes", office, len(payload))
        return None
    data = read_object(payload, f"district row from {office}")
    if data is None:
        return None
    try:
        seq, kind, body = data["seq"], data["kind"], data["data"]
        if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2**53:
            raise ValueError("seq")
        if kind not in _KINDS:
            raise ValueError("kind")
        if not isinstance(body, dict):
            raise ValueError("data")
        at = datetime.fromisoformat(data["at"])
        if at.tzinfo is None:
            raise ValueError("at")
        day = date.fromisoformat(data["business_date"]).isoformat()
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("district row from %s refused: bad %s", office, exc)
        return None
    return Row(office, seq, kind, at, day, body)


def read_head(payload: bytes) -> int | None:
    data = read_object(payload, "district head") if payload else None
    seq = data.get("seq") if data else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**53 else None


class Hub:
    """One ingester instance. ``start()``, then ``stop()``.

    :param mqtt_url: the district broker (``mqtts://host:8883`` with ``ca_file``).
    :param db_url: PostgreSQL (``postgresql://user@host/db``).
    :param client_id: this instance's name (unique per instance).
    :param group: the shared subscription's group: instances of one group share the rows.
    """

    def __init__(self, mqtt_url: str, db_url: str, client_id: str, *, group: str = "hub", username: str = "",
                 password: str = "", ca_file: str = "", resend_after: float = district_store.RESEND_AFTER):
        from urllib.parse import urlsplit
        self.db_url = db_url
        self.group = group
        self.resend_after = resend_after
        self._jobs: queue.Queue[tuple[str, str, bytes]] = queue.Queue()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="hub-writer", daemon=True)
        self.ingested = 0
        self.asked: list[district_store.Resend] = []
        url = urlsplit(mqtt_url)
        self.host, self.port = url.hostname or "localhost", url.port or (8883 if url.scheme == "mqtts" else 1883)
        # A clean session: an instance that dies leaves the shared group at once, so the broker gives its share
        # of new rows to the living ones (a persistent session would keep taking a share while it is away).
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311,
                        clean_session=True)
        if username:
            c.username_pw_set(username, password or None)
        if url.scheme == "mqtts":
            c.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        c.reconnect_delay_set(1, 10)
        c.max_inflight_messages_set(100)
        c.on_connect = self._connected
        c.on_message = self._message
        self.client = c
        self.connected = threading.Event()
        c.on_disconnect = lambda *a, **k: self.connected.clear()

    def start(self) -> None:
        conn = district_store.connect(self.db_url)
        try:
            district_store.create_schema(conn)
        finally:
            conn.close()
        self._worker.start()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self._stop.set()
        self.client.disconnect()
        self.client.loop_stop()
        self._worker.join(timeout=30)

    # ------------------------------------------------------------------ paho thread

    def _connected(self, client, userdata, flags, reason, properties=None) -> None:
        if reason.is_failure:
            log.error("district broker refused the connection: %s", reason)
            return
        client.subscribe(f"$share/{self.group}/{EVENTS}", 1)
        client.subscribe(HEADS, 1)   # retained: every office's newest number at once
        self.connected.set()

    def _message(self, client, userdata, msg) -> None:
        office = office_of(msg.topic)
        if office is None:
            return
        self._jobs.put((msg.topic.rsplit("/", 1)[-1], office, msg.payload))

    # ------------------------------------------------------------------ worker thread

    def _run(self) -> None:
        conn = None
        pending: list[tuple[str, str, bytes]] = []
        last_sweep = 0.0
        while not self._stop.is_set():
            try:
                pending.append(self._jobs.get(timeout=0.5))
            except queue.Empty:
                pass
            while len(pending) < BATCH:
                try:
                    pending.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                if conn is None or conn.closed:
                    conn = district_store.connect(self.db_url)
                if pending:
                    self._write(conn, pending)
                    pending = []
                if time.monotonic() - last_sweep >= SWEEP_SECONDS:
                    last_sweep = time.monotonic()
                    self._ask(district_store.sweep(conn, resend_after=self.resend_after))
            except Exception:  # noqa: BLE001 - the database away: keep what was read, try again
                log.exception("could not write to PostgreSQL; trying again")
                if len(pending) > MAX_PENDING:
                    log.warning("dropping %d rows held while PostgreSQL is away; they will be asked for again",
                                len(pending) - MAX_PENDING)
                    del pending[:len(pending) - MAX_PENDING]
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass
                conn = None
                self._stop.wait(1.0)
        if conn is not None:
            conn.close()

    def _write(self, conn, pending: list[tuple[str, str, bytes]]) -> None:
        rows: dict[tuple[str, int], Row] = {}
        heads: dict[str, int] = {}
        for what, office, payload in pending:
            if what == "event":
                row = read_row(office, payload)
                if row is not None:
                    rows[(row.office, row.seq)] = row
            elif what == "head":
                seq = read_head(payload)
                if seq is not None:
                    heads[office] = max(heads.get(office, 0), seq)
        new, resends = district_store.ingest(conn, rows.values(), heads, resend_after=self.resend_after)
        self.ingested += new
        self._ask(resends)

    def _ask(self, resends: list[district_store.Resend]) -> None:
        for r in resends:
            log.info("asking %s for rows %d-%d", r.office, r.first, r.last)
            self.client.publish(f"antre/v2/{r.office}/district/resend",
                                encode({"from": r.first, "to": r.last, "by": self.client._client_id.decode()}),
                                qos=1)
            self.asked.append(r)


# ---------------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt-url", required=True, help="the district broker (mqtts://host:8883)")
    parser.add_argument("--db-url", required=True, help="PostgreSQL (postgresql://user@host/db)")
    parser.add_argument("--client-id", default=f"hub-{os.uname().nodename}"[:32],
                        help="this instance's name: unique per instance (default hub-HOSTNAME)")
    parser.add_argument("--group", default="hub", help="shared subscription group (default hub)")
    parser.add_argument("--username", default="", help="login on the district broker (password: $ANTRE_HUB_PASSWORD)")
    parser.add_argument("--ca-file", default="", help="CA certificate of the district broker (mqtts)")


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    # SIGTERM/SIGINT go to the main thread only (antre/link/signals.py): taken by the ingest or paho's thread
    # they left stop.wait() below waiting for good (systemd killed the hub after TimeoutStopSec).
    with stop_signals_to_main_thread():
        hub = Hub(args.mqtt_url, args.db_url, args.client_id, group=args.group, username=args.username,
                  password=os.environ.get("ANTRE_HUB_PASSWORD", ""), ca_file=args.ca_file)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        hub.start()
    log.info("antre hub %s: broker %s, database %s", args.client_id, args.mqtt_url,
             district_store.plain_url(args.db_url).split("@")[-1])
    stop.wait()
    hub.stop()
    return 0
