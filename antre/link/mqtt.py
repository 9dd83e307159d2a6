"""One MQTT link per process, shared by the service and every device app.

:class:`MqttLink` wraps paho-mqtt 2.x the way every Antre component needs it:

- broker URL, credentials and TLS from ``[mqtt]`` (``mqtt://`` or ``mqtts://``);
- TCP_NODELAY on the socket (without it each small reply can wait ~40 ms for a
  delayed ACK);
- a retained presence message ``{base}/status/{component}/{client_id}`` published on every
  connect, with a last will saying offline;
- subscriptions made in ``on_connect``, so a reconnect renews them;
- reconnects with backoff by itself; callbacks never block paho's network thread
  for long (handlers are expected to hand work over, e.g. to a queue).

:class:`Requester` sends commands and matches replies by ``request_id``. It
refuses at once when the link is down: a press is never queued for a stale
replay minutes later.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from antre.config import MqttConfig
from antre.link.protocol import Topics, encode, read_object, status_payload

log = logging.getLogger(__name__)

Handler = Callable[[str, bytes], None]


def _matches(pattern: str, topic: str) -> bool:
    return paho.topic_matches_sub(pattern, topic)


class MqttLink:
    """A resilient connection to the office broker.

    :param settings: the ``[mqtt]`` section.
    :param topics: topic names for this office.
    :param client_id: MQTT client id (also the status topic's last level). With the shipped broker
        configuration it is the login's user name (the broker replaces any other).
    :param component: the login's role: ``service``, ``kiosk``, ``counter``, ``display``, ``web`` or
        ``admin``. Commands and presence are published under it, and the broker lets each login use only
        its own role and name.
    :param probe: a short look only (:func:`antre.service.instance.check_broker`): no presence, no last will, no
        reconnecting.
    """

    def __init__(self, settings: MqttConfig, topics: Topics, client_id: str, component: str, *,
                 probe: bool = False):
        self.settings = settings
        self.topics = topics
        self.client_id = client_id
        self.component = component
        self.connected = threading.Event()
        self._handlers: list[tuple[str, int, Handler]] = []
        self._on_connect: list[Callable[[], None]] = []
        self._on_disconnect: list[Callable[[], None]] = []
        self._status_extra: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self.probe = probe
        url = urlsplit(settings.url)
        self.host = url.hostname or "localhost"
        self.port = url.port or (8883 if url.scheme == "mqtts" else 1883)
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311,
                        clean_session=True, reconnect_on_failure=not probe)
        if settings.username:
            c.username_pw_set(settings.username, settings.password or None)
        if url.scheme == "mqtts":
            c.tls_set(ca_certs=settings.ca_file or None, certfile=settings.cert_file or None,
                      keyfile=settings.key_file or None, cert_reqs=ssl.CERT_REQUIRED)
        self.client = c
        self._set_will()
        c.reconnect_delay_set(min_delay=1, max_delay=max(1, int(settings.reconnect_max_delay)))
        c.max_queued_messages_set(1000)
        c.on_socket_open = self._socket_open
        c.on_connect = self._connected
        c.on_disconnect = self._disconnected
        c.on_message = self._message

    # ------------------------------------------------------------------ set-up

    def subscribe(self, pattern: str, handler: Handler, qos: int = 1) -> None:
        """Calls ``handler(topic, payload)`` for each message matching ``pattern`` (on paho's thread)."""
        with self._lock:
            self._handlers.append((pattern, qos, handler))
        if self.connected.is_set():
            self.client.subscribe(pattern, qos)

    def on_connect(self, fn: Callable[[], None]) -> None:
        self._on_connect.append(fn)

    def on_disconnect(self, fn: Callable[[], None]) -> None:
        self._on_disconnect.append(fn)

    def start(self) -> None:
        """Connects in the background; keeps reconnecting until :meth:`stop`."""
        self.client.connect_async(self.host, self.port, keepalive=self.settings.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        if self.connected.is_set() and not self.probe:
            # "stopped": a clean goodbye, unlike the last will (see antre.service.instance).
            info = self.client.publish(self.topics.status(self.component, self.client_id),
                                       encode(status_payload(self.component, self.client_id, False,
                                                             **self._status_extra, stopped=True)),
                                       qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()

    # ------------------------------------------------------------------ publishing

    def publish(self, topic: str, payload: dict[str, Any] | bytes | str, *, qos: int = 1,
                retain: bool = False) -> paho.MQTTMessageInfo:
        data = encode(payload) if isinstance(payload, dict) else payload
        return self.client.publish(topic, data, qos=qos, retain=retain)

    def set_status(self, **extra: Any) -> None:
        """Adds fields to the retained presence message (e.g. ``printer="paper_out"``) and republishes it."""
        self._status_extra.update(extra)
        self._set_will()
        if self.connected.is_set():
            self._publish_status()

    def _set_will(self) -> None:
        """The last will: the presence, saying offline (used from the next connection on)."""
        if not self.probe:
            self.client.will_set(self.topics.status(self.component, self.client_id),
                                 encode(status_payload(self.component, self.client_id, False, **self._status_extra)),
                                 qos=1, retain=True)

    def _publish_status(self) -> None:
        self.publish(self.topics.status(self.component, self.client_id),
                     status_payload(self.component, self.client_id, True, **self._status_extra), retain=True)

    # ------------------------------------------------------------------ paho callbacks

    def _socket_open(self, client, userdata, sock) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):  # TLS-wrapped or non-TCP sockets
            pass

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker %s:%d refused the connection: %s", self.host, self.port, reason_code)
            return
        log.info("connected to broker %s:%d as %s", self.host, self.port, self.client_id)
        with self._lock:
            subs = sorted({(p, q) for p, q, _ in self._handlers})
        if subs:
            client.subscribe(subs)
        if not self.probe:
            self._publish_status()
        self.connected.set()
        for fn in self._on_connect:
            fn()

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._stopping:
            log.warning("lost the broker %s:%d (%s); reconnecting", self.host, self.port, reason_code)
        for fn in self._on_disconnect:
            fn()

    def _message(self, client, userdata, msg: paho.MQTTMessage) -> None:
        with self._lock:
            handlers = [h for p, _, h in self._handlers if _matches(p, msg.topic)]
        for h in handlers:
            try:
                h(msg.topic, msg.payload)
            except Exception:  # a handler bug must not kill the network thread
                log.exception("handler for %s failed", msg.topic)


@dataclass(frozen=True)
class Reply:
    """A command's outcome as a client sees it."""

    request_id: str
    ok: bool
    result: dict[str, Any] | None = None
    code: str | None = None
    message: str | None = None
    details: dict[str, Any] | None = None   # an error's facts for the sender to show (see docs/protocol.md)

    @classmethod
    def failed(cls, request_id: str, code: str, message: str) -> "Reply":
        return cls(request_id, False, None, code, message)


class Requester:
    """Sends commands over a link and delivers each reply (or a timeout) to a callback, exactly once."""

    def __init__(self, link: MqttLink):
        self.link = link
        self.reply_topic = link.topics.reply(link.client_id)
        self._pending: dict[str, tuple[Callable[[Reply], None], threading.Timer]] = {}
        self._lock = threading.Lock()
        link.subscribe(self.reply_topic, self._on_reply)

    def send(self, command: str, args: dict[str, Any], on_reply: Callable[[Reply], None], *,
             timeout: float = 3.0, request_id: str | None = None) -> str:
        """Publishes a command. ``on_reply`` runs on a background thread with the :class:`Reply`.

        When the broker is unreachable the reply is an immediate ``offline`` failure; when no
        answer comes within ``timeout`` seconds it is a ``timeout`` failure.
        """
        rid = request_id or uuid.uuid4().hex
        if not self.link.connected.is_set():
            threading.Thread(target=on_reply, args=(Reply.failed(rid, "offline", "not connected to the broker"),),
                             daemon=True).start()
            return rid
        timer = threading.Timer(timeout, self._expire, args=(rid,))
        timer.daemon = True
        with self._lock:
            self._pending[rid] = (on_reply, timer)
        timer.start()
        self.link.publish(self.link.topics.command(command, self.link.component, self.link.client_id),
                          {"request_id": rid, "sent_at": round(time.time(), 3)} | args)
        return rid

    def request(self, command: str, args: dict[str, Any], *, timeout: float = 3.0,
                request_id: str | None = None) -> Reply:
        """Blocking form of :meth:`send`."""
        done = threading.Event()
        box: list[Reply] = []

        def got(reply: Reply) -> None:
            box.append(reply)
            done.set()

        self.send(command, args, got, timeout=timeout, request_id=request_id)
        done.wait(timeout + 5)
        return box[0] if box else Reply.failed(request_id or "", "timeout", "no reply")

    def _take(self, rid: str):
        with self._lock:
            return self._pending.pop(rid, None)

    def _expire(self, rid: str) -> None:
        entry = self._take(rid)
        if entry:
            entry[0](Reply.failed(rid, "timeout", "the queue service did not answer in time"))

    def _on_reply(self, topic: str, payload: bytes) -> None:
        data = read_object(payload, f"reply on {topic}")
        rid = data.get("request_id") if data is not None else None
        entry = self._take(rid) if isinstance(rid, str) else None
        if entry is None:
            return  # a late reply to a request that already timed out
        callback, timer = entry
        timer.cancel()
        if data.get("ok"):
            reply = Reply(rid, True, data.get("result") or {})
        else:
            err = data.get("error") or {}
            details = err.get("details")
            reply = Reply(rid, False, None, err.get("code", "error"), err.get("message", ""),
                          details if isinstance(details, dict) else None)
        callback(reply)


def client_id_for(cfg, component: str) -> str:
    """The MQTT client id of ``component``: the login's user name when there is one (the shipped broker
    configuration replaces any other client id by it), else ``[mqtt] client_id``, else the component
    section's ``client_id``, else a default from the host name."""
    if cfg.mqtt.username:
        if cfg.mqtt.client_id and cfg.mqtt.client_id != cfg.mqtt.username:
            log.warning("[mqtt] client_id %r differs from the login %r: using %r (the broker names every "
                        "client after its login)", cfg.mqtt.client_id, cfg.mqtt.username, cfg.mqtt.username)
        return cfg.mqtt.username
    if cfg.mqtt.client_id:
        return cfg.mqtt.client_id
    section = cfg.app(component)
    return default_client_id(getattr(section, "client_id", ""), component)


def default_client_id(configured: str, component: str) -> str:
    """The configured id, or ``component-hostname`` (``antre-service`` for the service)."""
    if configured:
        return configured
    if component == "service":
        return "antre-service"
    host = socket.gethostname().split(".")[0].lower() or "host"
    return f"{component}-{host}"
