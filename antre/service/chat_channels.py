"""Telegram and the WhatsApp Cloud API: the internet channels of the outbox, inside ``antre serve``.

Optional and off by default (``[notify.telegram]``, ``[notify.whatsapp]``; docs/channels.md). Three parts:

- :class:`TelegramBot` and :class:`WhatsAppCloud` make exactly the HTTP requests their documentation gives
  (Telegram Bot API ``sendMessage`` and ``getUpdates``; the Cloud API's ``POST /<version>/<phone number
  id>/messages`` with a Bearer token) and read each answer into a :class:`Sent`, :class:`NotSent` or
  :class:`Unknown`: what the API said, or that no answer came.
- :class:`ChatWorker` is a thread that delivers pending outbox rows of those channels, and a second thread
  that long-polls Telegram's ``getUpdates`` (no public address needed: it works behind NAT) and hands each
  message to the service's writer as the local command ``message_received``.
- :class:`WhatsAppWebhook` is the small HTTP server WhatsApp calls (it needs a public HTTPS address in front:
  a reverse proxy): the GET verification (``hub.challenge``), and POSTs of messages and delivery reports
  (``statuses``), each checked against ``X-Hub-Signature-256`` with the app secret before anything is read.

The guarantee (docs/channels.md): a row is marked ``handed_off`` and committed *before* its request is made.
It goes back to ``pending`` (retried, with backoff) only when the API answered that it did not take the
message (its own error answer: Telegram ``ok: false``, a Graph API ``error`` object, a 429) or when no
connection could be made (nothing was sent). A request that got no answer (a timeout after sending, a dropped
connection, a kill -9 of the service between the commit and the answer) is never made again: the row is
``failed`` with the reason ``unknown``. So no message is ever sent twice; one whose fate is unknown is said to
staff as "mungkin terkirim" instead, and a WhatsApp delivery report for it (matched by
``biz_opaque_callback_data``) still settles it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from antre.config import Config
from antre.rules.notify import REPLIES, TELEGRAM, WHATSAPP
from antre.rules.sms_text import mask
from antre.storage.models import FAILED, HANDED_OFF, PENDING, SENT, ChatContact, OutboxMessage

log = logging.getLogger(__name__)

MAX_ANSWER = 4 * 1024 * 1024        # bytes of an API answer read at most (getUpdates of 100 updates fits)
MAX_WEBHOOK = 256 * 1024            # bytes of a webhook POST read at most; more is refused unread (413)
WINDOW = timedelta(hours=24)        # WhatsApp's customer-service window after the resident's last message
WEBHOOK_PATH = "/webhook/whatsapp"


# ---------------------------------------------------------------------- answers

@dataclass(frozen=True)
class Sent:
    """The API took the message; ``handle`` is its id there (Telegram's message_id, WhatsApp's wamid)."""
    handle: str


@dataclass(frozen=True)
class NotSent:
    """Certainly not sent: the API refused it, or no connection could be made. ``retry``: worth trying again
    (after ``wait`` seconds at least); ``reason``: what the staff page says."""
    reason: str
    retry: bool
    wait: float = 0.0
    window_closed: bool = False


@dataclass(frozen=True)
class Unknown:
    """The request may have reached the API but no answer came: never made again."""
    detail: str


Outcome = Sent | NotSent | Unknown


def request_json(method: str, url: str, headers: dict[str, str], body: Any, timeout: float
                 ) -> tuple[int, Any] | NotSent | Unknown:
    """One HTTP request with a JSON body and answer (stdlib ``http.client``, so connecting and sending are
    told apart): ``(status, parsed answer or None)``, :class:`NotSent` when no connection could be made,
    :class:`Unknown` when the request may have gone out but no whole answer came."""
    u = urlsplit(url)
    conn_class = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(u.hostname, u.port, timeout=timeout)
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    try:
        try:
            conn.connect()
        except OSError as exc:
            return NotSent(f"no_connection: {exc.__class__.__name__}", retry=True)
        try:
            path = u.path + (f"?{u.query}" if u.query else "")
            conn.request(method, path, body=data, headers=headers | (
                {"Content-Type": "application/json"} if data is not None else {}))
            resp = conn.getresponse()
            raw = resp.read(MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException) as exc:
            return Unknown(f"{exc.__class__.__name__} after sending")
    finally:
        conn.close()
    if len(raw) > MAX_ANSWER:
        return resp.status, None
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, None


# ---------------------------------------------------------------------- Telegram

class TelegramBot:
    """The Telegram Bot API (``[notify.telegram]``): ``POST <api_base>/bot<token>/<method>`` with JSON."""

    def __init__(self, cfg: Config):
        self.t = cfg.notify.telegram
        self.timeout = cfg.notify.request_timeout

    def _url(self, method: str) -> str:
        return f"{self.t.api_base}/bot{self.t.token}/{method}"

    def send(self, chat_id: str, text: str) -> Outcome:
        """``sendMessage`` with ``chat_id`` and ``text`` (plain text: no parse_mode, so nothing is markup)."""
        answer = request_json("POST", self._url("sendMessage"), {}, {"chat_id": int(chat_id), "text": text},
                              self.timeout)
        if not isinstance(answer, tuple):
            return answer
        status, data = answer
        if not isinstance(data, dict) or "ok" not in data:
            return Unknown(f"HTTP {status} without the Bot API's answer")   # a proxy's page: the API's word is missing
        if data["ok"] is True and isinstance(data.get("result"), dict) and "message_id" in data["result"]:
            return Sent(str(data["result"]["message_id"]))
        code = data.get("error_code") or status
        params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        if code == 429:
            return NotSent("rate_limited", retry=True, wait=float(params.get("retry_after") or 1))
        if code == 403:
            return NotSent("blocked", retry=False)    # the resident blocked the bot or never started it
        if isinstance(code, int) and code >= 500:
            return NotSent("api_error", retry=True)
        return NotSent(f"api_error_{code}", retry=False)

    def updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]] | None:
        """``getUpdates`` (long polling: the call waits up to ``timeout`` seconds for news); None on failure.
        ``offset`` confirms every update before it (Telegram then forgets them)."""
        body: dict[str, Any] = {"timeout": timeout, "allowed_updates": ["message"]}
        if offset is not None:
            body["offset"] = offset
        answer = request_json("POST", self._url("getUpdates"), {}, body, self.timeout + timeout)
        if not isinstance(answer, tuple):
            return None
        status, data = answer
        if not isinstance(data, dict) or data.get("ok") is not True or not isinstance(data.get("result"), list):
            if isinstance(data, dict) and data.get("error_code") == 409:
                log.error("Telegram: another program reads this bot's updates (a webhook is set, or a second "
                          "antre serve): %s", str(data.get("description"))[:200])
            return None
        return [u for u in data["result"] if isinstance(u, dict)]


def telegram_message(update: dict[str, Any]) -> tuple[str, str] | None:
    """``(chat id, text)`` of an update that is a person's text message in a private chat with the bot, else
    None (groups, channels, other bots, stickers, edits: not answered)."""
    msg = update.get("message")
    if not isinstance(msg, dict):
        return None
    chat, sender, text = msg.get("chat"), msg.get("from"), msg.get("text")
    if not isinstance(chat, dict) or chat.get("type") != "private" or not isinstance(text, str):
        return None
    if not isinstance(sender, dict) or sender.get("is_bot") is not False or sender.get("id") != chat.get("id"):
        return None   # in a private chat the chat is the person: anything else is not a resident writing
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or not 0 < chat_id < 2 ** 52:
        return None
    return str(chat_id), text


# ---------------------------------------------------------------------- WhatsApp

#: Graph API error codes that say the message was not sent and may go later (throughput, the pair rate
#: limit, "something went wrong", service unavailable): retried with backoff.
WA_LATER = {4: 60.0, 80007: 60.0, 130429: 10.0, 131056: 6.0, 1: 30.0, 2: 30.0, 131000: 30.0, 131016: 30.0,
            133004: 30.0}
WA_WINDOW = 131047     # "Re-engagement message": more than 24 hours since the resident's last message
WA_REASONS = {131026: "undeliverable", 131049: "not_delivered_by_meta", 131048: "spam_limit",
              131047: "window_closed", 132001: "template_missing", 190: "token_expired", 0: "token_invalid",
              10: "permission", 131031: "account_locked"}


class WhatsAppCloud:
    """The WhatsApp Cloud API (``[notify.whatsapp]``): ``POST <api_base>/<version>/<phone number id>/messages``
    with ``Authorization: Bearer <token>``."""

    def __init__(self, cfg: Config):
        self.w = cfg.notify.whatsapp
        self.timeout = cfg.notify.request_timeout

    @property
    def url(self) -> str:
        return f"{self.w.api_base}/{self.w.api_version}/{self.w.phone_number_id}/messages"

    def text_body(self, to: str, text: str, tag: str) -> dict[str, Any]:
        """A text message (within the 24-hour window)."""
        return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
                "text": {"preview_url": False, "body": text}, "biz_opaque_callback_data": tag}

    def template_body(self, to: str, text: str, tag: str) -> dict[str, Any]:
        """The office's approved template (``template``, one body variable: the message), for when the window
        is closed. A template's variable holds no new lines or tabs, nor more than four spaces in a row."""
        param = re.sub(r" {4,}", "   ", re.sub(r"[\r\n\t]+", " ", text))
        return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
                "template": {"name": self.w.template, "language": {"code": self.w.template_language},
                             "components": [{"type": "body", "parameters": [{"type": "text", "text": param}]}]},
                "biz_opaque_callback_data": tag}

    def send(self, body: dict[str, Any]) -> Outcome:
        answer = request_json("POST", self.url, {"Authorization": f"Bearer {self.w.token}"}, body, self.timeout)
        if not isinstance(answer, tuple):
            return answer
        status, data = answer
        if status == 200 and isinstance(data, dict) and isinstance(data.get("messages"), list) and data["messages"] \
                and isinstance(data["messages"][0], dict) and isinstance(data["messages"][0].get("id"), str):
            return Sent(data["messages"][0]["id"][:120])
        err = data.get("error") if isinstance(data, dict) else None
        if not isinstance(err, dict) or not isinstance(err.get("code"), int):
            return Unknown(f"HTTP {status} without the Graph API's answer")
        code = err["code"]
        if code == WA_WINDOW:
            return NotSent("window_closed", retry=False, window_closed=True)
        if code in WA_LATER:
            return NotSent("rate_limited" if code in (4, 80007, 130429, 131056) else "api_error", retry=True,
                           wait=WA_LATER[code])
        if code in (0, 190):
            log.error("WhatsApp: the access token is refused (%s); [notify.whatsapp] token", code)
        return NotSent(WA_REASONS.get(code, f"api_error_{code}"), retry=False)


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body with the app secret>``, compared in constant
    time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    want = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, header[len("sha256="):].strip().lower())


# ---------------------------------------------------------------------- delivery

class ChatWorker:
    """The delivery thread of the internet channels, and Telegram's long-polling thread.

    ``submit(command, request_id, args)`` runs a local command on the service's writer thread
    (:meth:`antre.service.server.QueueServer.run_local`)."""

    def __init__(self, cfg: Config, sessions: sessionmaker, submit: Callable[[str, str, dict], str],
                 clock: Callable[[], datetime] | None = None):
        self.cfg = cfg
        self.n = cfg.notify
        self.sessions = sessions
        self.submit = submit
        self.now = clock or (lambda: datetime.now(timezone.utc))
        self.telegram = TelegramBot(cfg) if self.n.telegram.enabled else None
        self.whatsapp = WhatsAppCloud(cfg) if self.n.whatsapp.enabled else None
        self.webhook = WhatsAppWebhook(cfg, sessions, submit, self.now) if self.whatsapp else None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._paused: dict[str, datetime] = {}    # channel -> no request before (a 429's retry_after)
        self._threads = [threading.Thread(target=self._deliver_loop, name="antre-chat-out", daemon=True)]
        if self.telegram:
            self._threads.append(threading.Thread(target=self._poll_loop, name="antre-telegram-in", daemon=True))
        self._offset: int | None = None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c, on in ((TELEGRAM, self.telegram), (WHATSAPP, self.whatsapp)) if on)

    def start(self) -> None:
        self.settle_unknown()
        if self.webhook:
            self.webhook.start()
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.webhook:
            self.webhook.stop()
        # The delivery thread finishes a request under way (its answer is recorded, not left unknown); the
        # polling thread may be inside a long poll and is not waited for (a daemon thread: nothing to save).
        deliver, *poll = self._threads
        if deliver.is_alive():
            deliver.join(timeout=self.n.request_timeout + 5)
        for t in poll:
            t.join(timeout=1)

    # ------------------------------------------------------------------ crash recovery

    def settle_unknown(self) -> None:
        """Rows left ``handed_off`` by a crash: their request may have gone out, so they are never made again;
        ``failed`` with the reason ``unknown`` (a WhatsApp delivery report can still settle them)."""
        now = self.now()
        with self.sessions() as s, s.begin():
            rows = s.scalars(select(OutboxMessage).where(OutboxMessage.state == HANDED_OFF,
                                                         OutboxMessage.channel.in_(self.channels))).all()
            for row in rows:
                row.state, row.reason, row.done_at = FAILED, "unknown", now
                log.warning("outbox %s: its %s request may or may not have gone out before the service stopped; "
                            "not sent again", row.key, row.channel)

    # ------------------------------------------------------------------ outbox -> API

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver()
            except Exception:  # noqa: BLE001 - the queue goes on; tried again next round
                log.exception("internet channels: a delivery round failed; trying again")
            self._wake.wait(self.n.poll_seconds)
            self._wake.clear()

    def deliver(self) -> int:
        """One round: every due pending row of the channels that are on; how many requests were made."""
        now = self.now()
        channels = [c for c in self.channels if self._paused.get(c, now) <= now]
        if not channels:
            return 0
        with self.sessions() as s:
            due = s.scalars(select(OutboxMessage.id).where(
                OutboxMessage.state == PENDING, OutboxMessage.channel.in_(channels),
                OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.id).limit(50)).all()
        made = 0
        for row_id in due:
            if self._stop.is_set():
                break
            made += self.deliver_one(row_id)
        return made

    def deliver_one(self, row_id: int) -> int:
        now = self.now()
        # 1. Marked handed_off and committed before the request: a crash after this never repeats it.
        with self.sessions() as s, s.begin():
            row = s.get(OutboxMessage, row_id)
            if row is None or row.state != PENDING or not row.phone:
                return 0
            if self._paused.get(row.channel, now) > now:
                return 0
            channel, address, body, kind, attempt = row.channel, row.phone, row.body, row.kind, row.attempt + 1
            if not re.fullmatch(r"-?[1-9]\d{0,15}" if channel == TELEGRAM else r"[1-9]\d{6,14}", address):
                row.state, row.reason, row.done_at = FAILED, "bad_address", now
                log.warning("outbox %s: %s is no %s address; not sent", row.key, mask(address), channel)
                return 0
            template = False
            if channel == WHATSAPP and kind not in REPLIES:
                contact = s.get(ChatContact, (WHATSAPP, address))
                template = contact is None or now - contact.last_inbound_at >= WINDOW
                if template and not self.n.whatsapp.template:
                    row.state, row.reason, row.done_at = FAILED, "window_closed", now
                    log.info("outbox %s: WhatsApp's 24-hour window is closed and no template is set; not sent",
                             row.key)
                    return 0
            row.state, row.attempt, row.handle, row.handed_off_at = HANDED_OFF, attempt, None, now
        # 2. The request.
        result = self._send(channel, address, body, row_id, attempt, template)
        if isinstance(result, NotSent) and result.window_closed and not template and self.n.whatsapp.template:
            result = self._send(channel, address, body, row_id, attempt, True)   # not sent: the template instead
        # 3. What the API said.
        done = self.now()
        with self.sessions() as s, s.begin():
            row = s.get(OutboxMessage, row_id)
            if row is None or row.state != HANDED_OFF or row.attempt != attempt:
                return 1
            if isinstance(result, Sent):
                row.state, row.handle, row.reason, row.done_at = SENT, result.handle, None, done
                log.info("outbox %s: sent by %s", row.key, channel)
            elif isinstance(result, Unknown):
                row.state, row.reason, row.done_at = FAILED, "unknown", done
                log.warning("outbox %s: %s (%s to %s); not sent again", row.key, result.detail, channel,
                            mask(address))
            elif result.retry and result.reason == "rate_limited":
                # The API's own limit: the whole channel waits, and this try does not count as an attempt.
                until = done + timedelta(seconds=max(result.wait, 1.0))
                self._paused[channel] = until
                row.state, row.reason, row.attempt, row.next_attempt_at = PENDING, "rate_limited", attempt - 1, until
                log.warning("%s: rate limited; the channel waits %.0f s", channel, result.wait)
            elif result.retry and attempt < self.n.max_attempts:
                wait = max(result.wait, self.n.retry_seconds * 2 ** (attempt - 1))
                row.state, row.reason, row.next_attempt_at = PENDING, result.reason, done + timedelta(seconds=wait)
                log.info("outbox %s: %s not sent (%s, attempt %d); again in %.0f s", row.key, channel,
                         result.reason, attempt, wait)
            else:
                row.state, row.reason, row.done_at = FAILED, result.reason[:120], done
                log.warning("outbox %s: %s refused it (%s); given up", row.key, channel, result.reason)
        return 1

    def _send(self, channel: str, address: str, body: str, row_id: int, attempt: int, template: bool) -> Outcome:
        if channel == TELEGRAM:
            return self.telegram.send(address, body)
        tag = f"antre-{row_id}a{attempt}"
        wa = self.whatsapp
        return wa.send(wa.template_body(address, body, tag) if template else wa.text_body(address, body, tag))

    # ------------------------------------------------------------------ Telegram -> service

    def _poll_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            got = self.poll(self.n.telegram.poll_seconds)
            if got is None:
                failures += 1
                self._stop.wait(min(60.0, self.n.poll_seconds * 2 ** min(failures, 6)))   # offline: back off
            else:
                failures = 0

    def poll(self, timeout: int) -> int | None:
        """One ``getUpdates``: each private text message handed to the writer; how many, or None on failure.

        The offset moves past an update only once its command is committed (or refused for good): a crash in
        between gets it again from Telegram, and its request id (``tg-<update id>``) makes it a replay."""
        updates = self.telegram.updates(self._offset, timeout)
        if updates is None:
            return None
        handled = 0
        for update in sorted(updates, key=lambda u: u.get("update_id", 0)):
            uid = update.get("update_id")
            if not isinstance(uid, int) or isinstance(uid, bool):
                continue
            msg = telegram_message(update)
            if msg is not None:
                chat_id, text = msg
                status = self.submit("message_received", f"tg-{uid}", {
                    "channel": TELEGRAM, "address": chat_id, "text": text[:1000], "message_key": f"tg{uid}"})
                if status == "later":
                    log.warning("Telegram message could not be applied now; read again next time")
                    return handled
                if status == "failed":
                    log.error("Telegram message %d could not be answered (a fault); skipped", uid)
                handled += 1
            self._offset = uid + 1
        self._wake.set()   # answers are in the outbox: deliver them now
        return handled


# ---------------------------------------------------------------------- WhatsApp -> service

class WhatsAppWebhook:
    """The webhook WhatsApp calls: ``GET``/``POST`` on ``/webhook/whatsapp`` at ``[notify.whatsapp] listen``.

    It must be reachable by Meta over HTTPS with a valid certificate (a reverse proxy such as Caddy or nginx
    in front; docs/channels.md). Nothing in a POST is read unless its signature is right."""

    def __init__(self, cfg: Config, sessions: sessionmaker, submit: Callable[[str, str, dict], str],
                 now: Callable[[], datetime]):
        self.w = cfg.notify.whatsapp
        self.sessions = sessions
        self.submit = submit
        self.now = now
        self.server: ThreadingHTTPServer | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    def start(self) -> None:
        """Listens (``[notify.whatsapp] listen``); the service has the database's lock by then."""
        host, port = self.w.listen.rsplit(":", 1)
        self.server = ThreadingHTTPServer((host, int(port)), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="antre-whatsapp-webhook", daemon=True).start()
        log.info("WhatsApp: webhook listening on %s:%s%s", host, self.address[1], WEBHOOK_PATH)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "antre"
            sys_version = ""
            timeout = 10

            def log_message(self, fmt: str, *args: Any) -> None:   # no query strings (tokens) in the log
                pass

            def _answer(self, status: int, text: str = "") -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                u = urlsplit(self.path)
                if u.path != WEBHOOK_PATH:
                    return self._answer(404)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                token = q.get("hub.verify_token", "")
                if q.get("hub.mode") == "subscribe" and hook.w.verify_token \
                        and hmac.compare_digest(token.encode(), hook.w.verify_token.encode()) \
                        and re.fullmatch(r"[A-Za-z0-9_-]{1,200}", q.get("hub.challenge", "")):
                    log.info("WhatsApp: webhook verified")
                    return self._answer(200, q["hub.challenge"])
                log.warning("WhatsApp: a webhook verification with a wrong token was refused")
                return self._answer(403)

            def do_POST(self) -> None:
                if urlsplit(self.path).path != WEBHOOK_PATH:
                    return self._answer(404)
                try:
                    length = int(self.headers.get("Content-Length", ""))
                except ValueError:
                    return self._answer(411)
                if length < 0 or length > MAX_WEBHOOK:
                    self.close_connection = True
                    return self._answer(413)
                body = self.rfile.read(length)
                if not signature_ok(hook.w.app_secret, body, self.headers.get("X-Hub-Signature-256")):
                    log.warning("WhatsApp: a webhook POST with a missing or wrong signature was refused")
                    return self._answer(403)
                try:
                    data = json.loads(body)
                except (ValueError, RecursionError):
                    return self._answer(400)
                try:
                    status = hook.handle(data)
                except Exception:  # noqa: BLE001 - a malformed payload is refused, the server goes on
                    log.exception("WhatsApp: a webhook payload could not be read")
                    return self._answer(400)
                # 503: Meta retries later (a message the writer could not take now is not lost).
                return self._answer(503 if status == "later" else 200)

        return Handler

    def handle(self, data: Any) -> str:
        """A signed webhook payload: residents' text messages to the writer, delivery reports to the outbox.
        ``"later"`` when a message could not be applied now (the whole POST is then retried by Meta; the ones
        already applied are replays)."""
        if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
            return "done"
        for entry in data.get("entry") or []:
            for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
                value = change.get("value") if isinstance(change, dict) else None
                if not isinstance(value, dict) or change.get("field") != "messages":
                    continue
                meta = value.get("metadata") or {}
                if not isinstance(meta, dict) or str(meta.get("phone_number_id")) != self.w.phone_number_id:
                    log.warning("WhatsApp: a webhook for another phone number id was ignored")
                    continue
                for status in value.get("statuses") or []:
                    if isinstance(status, dict):
                        self.report(status)
                for msg in value.get("messages") or []:
                    if self._message(msg) == "later":
                        return "later"
        return "done"

    def _message(self, msg: Any) -> str:
        if not isinstance(msg, dict):
            return "done"
        sender, mid = msg.get("from"), msg.get("id")
        text = (msg.get("text") or {}).get("body") if msg.get("type") == "text" else None
        if not (isinstance(sender, str) and re.fullmatch(r"[1-9]\d{6,14}", sender) and isinstance(mid, str)
                and isinstance(text, str)):
            return "done"   # not a person's text (a picture, a reaction, a malformed entry): not answered
        key = "wa" + hashlib.sha256(mid.encode()).hexdigest()[:30]
        status = self.submit("message_received", f"wa-{key}", {
            "channel": WHATSAPP, "address": sender, "text": text[:1000], "message_key": key})
        if status == "failed":
            log.error("WhatsApp message from %s could not be answered (a fault)", mask(sender))
        return status

    DELIVERY_RANK = {"delivered": 1, "read": 2, "failed": 3}

    def report(self, status: dict[str, Any]) -> None:
        """A delivery report (``sent``, ``delivered``, ``read``, ``failed``) on its outbox row: matched by the
        message's wamid, or by our ``biz_opaque_callback_data`` (a row whose answer never came). Reports come
        in any order: ``read`` is never turned back into ``delivered``."""
        wamid, what = status.get("id"), status.get("status")
        tag = status.get("biz_opaque_callback_data")
        if what not in ("sent", "delivered", "read", "failed") or not isinstance(wamid, str):
            return
        m = re.fullmatch(r"antre-(\d+)a(\d+)", tag) if isinstance(tag, str) else None
        now = self.now()
        with self.sessions() as s, s.begin():
            row = s.scalars(select(OutboxMessage).where(OutboxMessage.channel == WHATSAPP,
                                                        OutboxMessage.handle == wamid[:120])).first()
            if row is None and m is not None:
                row = s.get(OutboxMessage, int(m[1]))
                if row is not None and (row.channel != WHATSAPP or row.attempt != int(m[2])):
                    row = None
            if row is None:
                return
            if row.state in (HANDED_OFF, FAILED) and row.reason in (None, "unknown") and what != "failed":
                row.state, row.reason, row.handle = SENT, None, wamid[:120]   # it did go out
                row.done_at = row.done_at or now
            if what == "failed":
                errors = status.get("errors") or [{}]
                code = errors[0].get("code") if isinstance(errors[0], dict) else None
                row.delivery, row.delivery_at = "failed", now
                row.reason = WA_REASONS.get(code, f"api_error_{code}") if code is not None else "undeliverable"
            elif what != "sent" and self.DELIVERY_RANK[what] > self.DELIVERY_RANK.get(row.delivery or "", 0):
                row.delivery, row.delivery_at = what, now


__all__ = ["ChatWorker", "TelegramBot", "WhatsAppCloud", "WhatsAppWebhook", "Sent", "NotSent", "Unknown",
           "signature_ok", "telegram_message"]
