"""A local stand-in for the Telegram Bot API and the WhatsApp Cloud API: a real HTTP server on a free port
that checks every request exactly as their documentation specifies and answers as the real APIs do.

Telegram (https://core.telegram.org/bots/api): ``POST /bot<token>/sendMessage`` with a JSON body of exactly
``chat_id`` (an integer) and ``text`` (1-4096 characters), answered ``{"ok": true, "result": Message}`` or
``{"ok": false, "error_code", "description"[, "parameters": {"retry_after"}]}``; ``POST /bot<token>/getUpdates``
with ``offset``, ``timeout``, ``allowed_updates``, answered with the updates not yet confirmed (an update is
confirmed by a later call whose offset is past it), waiting up to ``timeout`` seconds when there are none.

WhatsApp (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages): ``POST
/<version>/<phone number id>/messages`` with ``Authorization: Bearer <token>`` and a JSON body with
``messaging_product: "whatsapp"``, ``recipient_type: "individual"``, ``to``, ``type`` ``text`` (``text:
{preview_url, body}``) or ``template`` (``template: {name, language: {code}, components}``), answered
``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}`` or a Graph API
``{"error": {"message", "type", "code", "error_data", "fbtrace_id"}}``.

Anything else is recorded in ``violations`` (and answered 400/404), so a test that ends with an empty list
proves every request was right. ``script`` holds answers to give instead of the normal one, in order.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WA_TOKEN = "EAAGm0PX4ZCpsBAtesttoken"
WA_PHONE_ID = "106540352242922"
WA_VERSION = "v21.0"


def wa_error(code: int, message: str, status: int = 400) -> tuple[int, dict]:
    return status, {"error": {"message": f"(#{code}) {message}", "type": "OAuthException", "code": code,
                              "error_data": {"messaging_product": "whatsapp", "details": message},
                              "fbtrace_id": "AbCdEfGh123"}}


def tg_error(code: int, description: str, **parameters: Any) -> tuple[int, dict]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


class FakeApis:
    """Both APIs on one local server (``url`` is what ``api_base`` is set to)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []        # every well-formed send: {"api", "to", "body"}
        self.violations: list[str] = []
        self.script: dict[str, deque] = {"telegram": deque(), "whatsapp": deque()}
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0
        self.hold = threading.Event()                    # while set... see hang()
        self.hold.set()
        self.arrived = threading.Event()
        self.next_id = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "FakeApis":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def hang(self) -> None:
        """Sends from now on are received (recorded) but not answered until :meth:`release`."""
        self.hold.clear()

    def release(self) -> None:
        self.hold.set()

    def sent(self, api: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["api"] == api]

    def texts(self, api: str) -> list[str]:
        out = []
        for r in self.sent(api):
            b = r["body"]
            out.append(b.get("text") if api == "telegram" else
                       (b["text"]["body"] if b["type"] == "text" else
                        b["template"]["components"][0]["parameters"][0]["text"]))
        return out

    def add_update(self, text: str, chat_id: int = 5550001, **over: Any) -> int:
        with self.lock:
            uid = 900000 + len(self.updates)
            msg = {"message_id": len(self.updates) + 1, "date": int(time.time()), "text": text,
                   "from": {"id": chat_id, "is_bot": False, "first_name": "Siti", "language_code": "id"},
                   "chat": {"id": chat_id, "first_name": "Siti", "type": "private"}}
            msg.update(over)
            self.updates.append({"update_id": uid, "message": msg})
            return uid

    # ------------------------------------------------------------------ the server

    def _bad(self, why: str) -> None:
        with self.lock:
            self.violations.append(why)

    def _handler(self):
        apis = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                apis._bad(f"GET {self.path}: both APIs are called with POST here")
                self._json(404, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
                    apis._bad(f"{self.path}: Content-Type {self.headers.get('Content-Type')!r}")
                try:
                    body = json.loads(raw)
                except ValueError:
                    apis._bad(f"{self.path}: body is not JSON")
                    return self._json(400, {})
                if self.path.startswith("/bot"):
                    return self.telegram(body)
                if self.path.startswith(f"/{WA_VERSION}/"):
                    return self.whatsapp(body)
                apis._bad(f"POST {self.path}: no such API path")
                return self._json(404, {})

            # -------------------------------------------------------- Telegram
            def telegram(self, body):
                token, _, method = self.path[len("/bot"):].partition("/")
                if token != TG_TOKEN:
                    apis._bad(f"Telegram: wrong token in the path")
                    return self._json(*tg_error(401, "Unauthorized"))
                if method == "getUpdates":
                    return self.get_updates(body)
                if method != "sendMessage":
                    apis._bad(f"Telegram: unexpected method {method}")
                    return self._json(*tg_error(404, "Not Found: method not found"))
                if set(body) != {"chat_id", "text"}:
                    apis._bad(f"Telegram sendMessage: fields {sorted(body)}")
                if not isinstance(body.get("chat_id"), int) or isinstance(body.get("chat_id"), bool):
                    apis._bad(f"Telegram sendMessage: chat_id {body.get('chat_id')!r} is not an integer")
                text = body.get("text")
                if not isinstance(text, str) or not 1 <= len(text) <= 4096:
                    apis._bad("Telegram sendMessage: text missing or longer than 4096")
                with apis.lock:
                    apis.requests.append({"api": "telegram", "to": body.get("chat_id"), "body": body})
                    scripted = apis.script["telegram"].popleft() if apis.script["telegram"] else None
                apis.arrived.set()
                apis.hold.wait()
                if scripted is not None:
                    return self._json(*scripted)
                with apis.lock:
                    apis.next_id += 1
                    mid = apis.next_id
                return self._json(200, {"ok": True, "result": {
                    "message_id": mid, "date": int(time.time()), "text": text,
                    "from": {"id": 123456789, "is_bot": True, "first_name": "Kantor Desa", "username": "SukamajuBot"},
                    "chat": {"id": body.get("chat_id"), "first_name": "Siti", "type": "private"}}})

            def get_updates(self, body):
                extra = set(body) - {"offset", "timeout", "allowed_updates", "limit"}
                if extra:
                    apis._bad(f"Telegram getUpdates: unknown fields {sorted(extra)}")
                timeout = body.get("timeout", 0)
                if not isinstance(timeout, int) or timeout < 0:
                    apis._bad(f"Telegram getUpdates: timeout {timeout!r}")
                offset = body.get("offset")
                deadline = time.monotonic() + min(timeout, 2)    # a short wait is enough for a test
                while True:
                    with apis.lock:
                        if offset is not None:
                            apis.confirmed = max(apis.confirmed, offset)
                        pending = [u for u in apis.updates if u["update_id"] >= apis.confirmed]
                    if pending or time.monotonic() >= deadline:
                        return self._json(200, {"ok": True, "result": pending[:100]})
                    time.sleep(0.05)

            # -------------------------------------------------------- WhatsApp
            def whatsapp(self, body):
                if self.path != f"/{WA_VERSION}/{WA_PHONE_ID}/messages":
                    apis._bad(f"WhatsApp: path {self.path}")
                    return self._json(*wa_error(100, "Invalid parameter"))
                if self.headers.get("Authorization") != f"Bearer {WA_TOKEN}":
                    apis._bad("WhatsApp: Authorization is not 'Bearer <token>'")
                    return self._json(*wa_error(190, "Access token has expired", 401))
                problems = []
                if body.get("messaging_product") != "whatsapp":
                    problems.append("messaging_product")
                if body.get("recipient_type") != "individual":
                    problems.append("recipient_type")
                if not isinstance(body.get("to"), str) or not body["to"].isdigit():
                    problems.append("to")
                kind = body.get("type")
                allowed = {"messaging_product", "recipient_type", "to", "type", "biz_opaque_callback_data"}
                if kind == "text":
                    t = body.get("text")
                    if not isinstance(t, dict) or set(t) - {"body", "preview_url"} or not isinstance(t.get("body"), str) \
                            or not 1 <= len(t["body"]) <= 4096:
                        problems.append("text")
                    allowed.add("text")
                elif kind == "template":
                    t = body.get("template")
                    ok = (isinstance(t, dict) and isinstance(t.get("name"), str)
                          and isinstance(t.get("language"), dict) and isinstance(t["language"].get("code"), str)
                          and all(c.get("type") in ("header", "body", "button") for c in t.get("components", [])))
                    if ok:
                        for c in t.get("components", []):
                            for p in c.get("parameters", []):
                                if p.get("type") == "text" and ("\n" in p["text"] or "\t" in p["text"]
                                                                or "     " in p["text"]):
                                    ok = False
                    if not ok:
                        problems.append("template")
                    allowed.add("template")
                else:
                    problems.append(f"type {kind!r}")
                if set(body) - allowed:
                    problems.append(f"fields {sorted(set(body) - allowed)}")
                if len(body.get("biz_opaque_callback_data", "")) > 512:
                    problems.append("biz_opaque_callback_data longer than 512")
                if problems:
                    apis._bad(f"WhatsApp messages: {', '.join(problems)}")
                    return self._json(*wa_error(100, "Invalid parameter"))
                with apis.lock:
                    apis.requests.append({"api": "whatsapp", "to": body["to"], "body": body})
                    scripted = apis.script["whatsapp"].popleft() if apis.script["whatsapp"] else None
                apis.arrived.set()
                apis.hold.wait()
                if scripted is not None:
                    return self._json(*scripted)
                with apis.lock:
                    apis.next_id += 1
                    wamid = f"wamid.HBgLNjI4MTIzNDU2Nzg5MBUCABEYEj{apis.next_id}"
                return self._json(200, {"messaging_product": "whatsapp",
                                        "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                        "messages": [{"id": wamid}]})

        return Handler
