"""Telegram and the WhatsApp Cloud API as channels of the outbox (antre/service/chat_channels.py), against a
local HTTP server that checks every request exactly as their documentation specifies (tests/chat_api.py):
a real SQLite file, the real queue rules and delivery code, no mocks. Retries with backoff, rate limits
(Telegram 429 retry_after, WhatsApp error codes), the 24-hour window and templates, inbound messages by
long polling and by a signed webhook, hostile inbound refused, delivery reports; and the end-to-end kill -9
of ``antre serve`` mid-delivery, after which nothing is sent twice."""

from __future__ import annotations

import hashlib
import re
import hmac
import http.client
import json
import socket
import sqlite3
import uuid
from datetime import timedelta

import pytest

from antre import config
from antre.clock import ManualClock
from antre.rules.queue import QueueService
from antre.service.chat_channels import ChatWorker, WhatsAppWebhook
from antre.service.server import PLUGINS
from antre.storage import open_database
from tests.chat_api import TG_TOKEN, WA_PHONE_ID, WA_TOKEN, WA_VERSION, FakeApis, tg_error, wa_error
from tests.support import wait_for
from tests.test_notify_rules import EVERY_DAY, MONDAY_9

APP_SECRET = "0123456789abcdef-app-secret"
VERIFY = "antre-verify-7c1f"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def apis():
    a = FakeApis().start()
    yield a
    a.stop()


def channels(apis, **over):
    tg = {"enabled": True, "token": TG_TOKEN, "bot_name": "SukamajuBot", "api_base": apis.url, "poll_seconds": 1}
    wa = {"enabled": True, "token": WA_TOKEN, "phone_number_id": WA_PHONE_ID, "api_base": apis.url,
          "api_version": WA_VERSION, "app_secret": APP_SECRET, "verify_token": VERIFY,
          "listen": f"127.0.0.1:{free_port()}", "template": "antre_kabar", "template_language": "id"}
    tg.update(over.pop("telegram", {}))
    wa.update(over.pop("whatsapp", {}))
    return {"telegram": tg, "whatsapp": wa, "retry_seconds": 0.2, "max_attempts": 3, "request_timeout": 3,
            "poll_seconds": 0.1} | over


class Desk:
    """An office (real SQLite, real rules) and a ChatWorker whose submit runs the command in the queue."""

    def __init__(self, tmp_path, apis, **over):
        self.cfg = config.from_dict({
            "queue": {"enforce_hours": False}, "office": {"hours": EVERY_DAY},
            "counters": [{"id": "loket-1", "name": "Loket 1", "services": ["adminduk", "surat", "umum"]}],
            "web": {"public_url": "https://antre.sukamaju.desa.id", "phone_daily_limit": 5},
            "notify": channels(apis, **over)})
        _, self.sessions = open_database(f"sqlite:///{tmp_path}/a.db")
        self.db = tmp_path / "a.db"
        self.clock = ManualClock(MONDAY_9)
        self.q = QueueService(self.cfg, self.sessions, clock=self.clock, plugins=PLUGINS)
        self.q.tick()
        self.worker = ChatWorker(self.cfg, self.sessions, self.submit, clock=self.clock.now)

    def submit(self, command, request_id, args):
        self.q.execute(command, request_id, args)
        return "done"

    def run(self, cmd, **args):
        return self.q.execute(cmd, uuid.uuid4().hex, args).result

    def chat(self, channel, address, text):
        key = uuid.uuid4().hex[:24]
        return self.submit("message_received", key, {"channel": channel, "address": address, "text": text,
                                                     "message_key": key})

    def rows(self, where="1=1"):
        with sqlite3.connect(self.db) as db:
            return db.execute(f"select key, channel, phone, state, reason, attempt, handle, delivery from outbox "
                              f"where {where} order by id").fetchall()

    def deliver_all(self, rounds=10):
        for _ in range(rounds):
            self.worker.deliver()


def test_telegram_send_is_exactly_the_documented_request_and_its_answer_is_recorded(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    desk.chat("telegram", "5550001", "jam")
    desk.deliver_all()
    assert apis.violations == []
    [req] = apis.sent("telegram")
    assert req["body"]["chat_id"] == 5550001 and req["body"]["text"].startswith("Jam buka")
    [(key, channel, address, state, reason, attempt, handle, _)] = desk.rows()
    assert (channel, address, state, reason, attempt) == ("telegram", "5550001", "sent", None, 1)
    assert handle.isdigit()                                                # Telegram's message_id


def test_telegram_429_waits_retry_after_for_the_whole_channel_and_then_sends_once(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    apis.script["telegram"].append(tg_error(429, "Too Many Requests: retry after 30", retry_after=30))
    desk.chat("telegram", "1", "jam")
    desk.chat("telegram", "2", "info")
    desk.worker.deliver()
    assert len(apis.sent("telegram")) == 1                                 # the second waits with the channel
    assert [(r[3], r[4], r[5]) for r in desk.rows()] == [("pending", "rate_limited", 0), ("pending", None, 0)]
    desk.clock.advance(seconds=29)
    desk.worker.deliver()
    assert len(apis.sent("telegram")) == 1
    desk.clock.advance(seconds=2)
    desk.deliver_all()
    assert len(apis.sent("telegram")) == 3 and [r[3] for r in desk.rows()] == ["sent", "sent"]
    assert [r[5] for r in desk.rows()] == [1, 1]                           # a 429 is no failed attempt
    assert apis.violations == []


def test_errors_are_retried_with_backoff_then_given_up_and_refusals_are_not_retried(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    for _ in range(3):
        apis.script["telegram"].append(tg_error(502, "Bad Gateway"))
    apis.script["telegram"].append(tg_error(403, "Forbidden: bot was blocked by the user"))
    desk.chat("telegram", "1", "jam")
    desk.worker.deliver()
    assert desk.rows()[0][3:6] == ("pending", "api_error", 1)
    desk.worker.deliver()                                                  # not due yet: backoff
    assert len(apis.sent("telegram")) == 1
    desk.clock.advance(seconds=0.25)
    desk.worker.deliver()
    assert desk.rows()[0][3:6] == ("pending", "api_error", 2)
    desk.clock.advance(seconds=0.3)                                        # 0.2 * 2: not yet
    desk.worker.deliver()
    assert len(apis.sent("telegram")) == 2
    desk.clock.advance(seconds=0.2)
    desk.worker.deliver()
    assert desk.rows()[0][3:6] == ("failed", "api_error", 3)               # max_attempts
    desk.chat("telegram", "2", "jam")
    desk.deliver_all()
    assert desk.rows()[1][3:6] == ("failed", "blocked", 1)                 # the resident blocked the bot
    assert len(apis.sent("telegram")) == 4 and apis.violations == []


def test_no_answer_means_never_again_a_connection_refused_means_retry(tmp_path, apis):
    desk = Desk(tmp_path, apis, telegram={"api_base": f"http://127.0.0.1:{free_port()}"})   # nothing listens
    desk.chat("telegram", "1", "jam")
    desk.worker.deliver()
    assert desk.rows()[0][3:6] == ("pending", "no_connection: ConnectionRefusedError", 1)
    # A proxy's page instead of the API's answer: the request may have reached Telegram; not made again.
    desk2 = Desk(tmp_path / "b" if (tmp_path / "b").mkdir() is None else None, apis)
    apis.script["telegram"].append((502, "<html>Bad Gateway</html>"))
    desk2.chat("telegram", "1", "jam")
    desk2.deliver_all()
    assert desk2.rows()[0][3:6] == ("failed", "unknown", 1) and len(apis.sent("telegram")) == 1


def test_whatsapp_text_in_the_window_template_outside_it_and_error_codes(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    wa = "6281234567890"
    desk.chat("whatsapp", wa, "jam")                                       # the resident wrote: window open
    desk.run("issue_ticket", service="adminduk")
    code = desk.run("ticket_status", number="A-001")["link_code"]
    desk.chat("whatsapp", wa, f"Halo, saya ikut nomor ini {code}")
    desk.deliver_all()
    bodies = [r["body"] for r in apis.sent("whatsapp")]
    assert [b["type"] for b in bodies] == ["text", "text"]
    assert bodies[0]["to"] == wa and bodies[0]["text"]["preview_url"] is False
    assert bodies[0]["biz_opaque_callback_data"].startswith("antre-")
    # The resident last wrote 25 hours ago (the window is closed): a notice goes as the office's template,
    # its text the template's variable.
    from antre.storage.models import ChatContact
    with desk.sessions() as s, s.begin():
        s.get(ChatContact, ("whatsapp", wa)).last_inbound_at = desk.clock.now() - timedelta(hours=25)
    desk.run("call_next", counter="loket-1")
    desk.deliver_all()
    last = apis.sent("whatsapp")[-1]["body"]
    assert last["type"] == "template" and last["template"]["name"] == "antre_kabar"
    assert last["template"]["language"] == {"code": "id"}
    assert "A-001 dipanggil" in last["template"]["components"][0]["parameters"][0]["text"]
    # The API says the window is closed (131047) for a reply: not sent, so sent again as the template.
    apis.script["whatsapp"].append(wa_error(131047, "Re-engagement message"))
    rules = desk.q.plugins["notify"]
    with desk.sessions() as s, s.begin():
        rules.notify(s, desk.clock.now(), "ask9:reply", "reply", wa, "Jawaban petugas: bisa.", channel="whatsapp")
    desk.deliver_all()
    assert [r["body"]["type"] for r in apis.sent("whatsapp")[-2:]] == ["text", "template"]
    assert desk.rows("key = 'ask9:reply'")[0][3] == "sent"
    # Throughput (130429) and the pair rate (131056): later; undeliverable (131026): given up.
    apis.script["whatsapp"].extend([wa_error(130429, "Rate limit hit", 429), None,   # None: the normal answer
                                    wa_error(131026, "Message undeliverable")])
    with desk.sessions() as s, s.begin():
        rules.notify(s, desk.clock.now(), "ask10:reply", "reply", wa, "Satu.", channel="whatsapp")
        rules.notify(s, desk.clock.now(), "ask11:reply", "reply", "6289999999999", "Dua.", channel="whatsapp")
    desk.worker.deliver()
    assert desk.rows("key = 'ask10:reply'")[0][3:5] == ("pending", "rate_limited")
    desk.clock.advance(seconds=11)
    desk.deliver_all()
    assert desk.rows("key = 'ask10:reply'")[0][3] == "sent"
    assert desk.rows("key = 'ask11:reply'")[0][3:5] == ("failed", "undeliverable")
    assert apis.violations == []


def test_without_a_template_a_closed_window_is_not_sent(tmp_path, apis):
    desk = Desk(tmp_path, apis, whatsapp={"template": ""})
    desk.run("issue_ticket", service="adminduk")
    code = desk.run("ticket_status", number="A-001")["link_code"]
    desk.chat("whatsapp", "6281234567890", code)
    desk.deliver_all()
    from antre.storage.models import ChatContact
    with desk.sessions() as s, s.begin():
        s.get(ChatContact, ("whatsapp", "6281234567890")).last_inbound_at = desk.clock.now() - timedelta(hours=24)
    desk.run("call_next", counter="loket-1")
    desk.deliver_all()
    assert desk.rows("key like 't1:called%'")[0][3:5] == ("failed", "window_closed")
    assert len(apis.sent("whatsapp")) == 1                                 # only the answer to the link


def test_telegram_long_polling_answers_once_links_by_deep_link_and_ignores_non_private(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    desk.run("issue_ticket", service="adminduk")
    desk.run("issue_ticket", service="adminduk")
    code = desk.run("ticket_status", number="A-002")["link_code"]
    apis.add_update(f"/start {code}", chat_id=777)
    apis.add_update("/start t2-aaaaaaaa", chat_id=778)                     # a guessed code
    apis.add_update("jam", chat_id=-100200300,                              # a group: not answered
                    chat={"id": -100200300, "title": "Warga RT 3", "type": "group"})
    apis.add_update("jam", chat_id=779, **{"from": {"id": 1, "is_bot": False, "first_name": "x"}})   # forged
    apis.add_update("halo", chat_id=780, **{"from": {"id": 780, "is_bot": True, "first_name": "bot"}})
    assert desk.worker.poll(0) == 2
    assert desk.worker.poll(0) == 0                                        # confirmed: not given again
    desk.worker._offset = None                                              # a crash before confirming ...
    apis.confirmed = 0
    assert desk.worker.poll(0) == 2                                        # ... read again: replays
    desk.deliver_all()
    texts = {r["to"]: r["body"]["text"] for r in apis.sent("telegram")}
    assert set(texts) == {777, 778} and len(apis.sent("telegram")) == 2    # each answered once
    assert "nomor antrean A-002" in texts[777] and "Kode tidak dikenali" in texts[778]
    desk.run("call_next", counter="loket-1")                               # A-002 is next -> near
    desk.deliver_all()
    assert "giliran Anda sebentar lagi" in apis.sent("telegram")[-1]["body"]["text"]
    assert apis.violations == []


def post(port, body: bytes, signature: str | None, path="/webhook/whatsapp", length=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body) if length is None else length)}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    c.request("POST", path, body=body, headers=headers)
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def sign(body: bytes, secret=APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def wa_payload(*, messages=(), statuses=(), phone_id=WA_PHONE_ID) -> bytes:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "6281100000000", "phone_number_id": phone_id}}
    if messages:
        value["contacts"] = [{"profile": {"name": "Siti"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}).encode()


def wa_text(sender, text, mid=None):
    return {"from": sender, "id": mid or f"wamid.{uuid.uuid4().hex}", "timestamp": "1764900000", "type": "text",
            "text": {"body": text}}


@pytest.fixture
def hook(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    w = WhatsAppWebhook(desk.cfg, desk.sessions, desk.submit, desk.clock.now)
    w.start()
    yield desk, w.address[1]
    w.stop()


def test_the_webhook_verification_answers_the_challenge_only_to_the_right_token(hook):
    _, port = hook
    def get(query):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/webhook/whatsapp?" + query)
        r = c.getresponse()
        return r.status, r.read()
    assert get(f"hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY}") == (200, b"1158201444")
    assert get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong")[0] == 403
    assert get(f"hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={VERIFY}")[0] == 403
    assert get(f"hub.mode=subscribe&hub.challenge=<script>&hub.verify_token={VERIFY}")[0] == 403


def test_a_signed_message_is_answered_once_and_hostile_posts_are_refused_unread(hook, apis):
    desk, port = hook
    msg = wa_text("6281234567890", "jam", mid="wamid.ABGGFlA5Fpa")
    body = wa_payload(messages=[msg])
    assert post(port, body, sign(body)) == (200, b"")
    assert post(port, body, sign(body)) == (200, b"")                      # Meta retries: a replay
    assert [(r[1], r[2]) for r in desk.rows()] == [("whatsapp", "6281234567890")]
    # Wrong secret, no signature, a tampered body, another phone number id, too big, not JSON, wrong path.
    forged = wa_payload(messages=[wa_text("6289876543210", "jam")])
    assert post(port, forged, sign(forged, "not-the-secret"))[0] == 403
    assert post(port, forged, None)[0] == 403
    assert post(port, forged.replace(b"jam", b"JAM"), sign(forged))[0] == 403
    other = wa_payload(messages=[wa_text("6289876543210", "jam")], phone_id="999")
    assert post(port, other, sign(other))[0] == 200
    huge = b"{" + b" " * (300 * 1024) + b"}"
    assert post(port, huge[:10], sign(huge), length=len(huge))[0] == 413   # refused before reading
    assert post(port, b"not json", sign(b"not json"))[0] == 400
    assert post(port, body, sign(body), path="/other")[0] == 404
    odd = wa_payload(messages=[{"from": "62812'; drop", "id": "x", "type": "text", "text": {"body": "jam"}},
                               {"from": "6281234567891", "id": "y", "type": "image", "image": {"id": "1"}}])
    assert post(port, odd, sign(odd))[0] == 200
    assert len(desk.rows()) == 1                                           # none of them was answered


def test_delivery_reports_reach_the_outbox_in_any_order_and_settle_an_unknown_send(hook, apis):
    desk, port = hook
    wa = "6281234567890"
    desk.chat("whatsapp", wa, "jam")
    desk.deliver_all()
    [row] = desk.rows()
    wamid = row[6]
    def status(what, **extra):
        body = wa_payload(statuses=[{"id": wamid, "status": what, "timestamp": "1764900000", "recipient_id": wa}
                                    | extra])
        assert post(port, body, sign(body))[0] == 200
    status("sent")
    status("read")
    status("delivered")                                                    # late: read stays
    assert desk.rows()[0][7] == "read"
    # A request whose answer never came (failed, unknown) is settled by its report, matched by our tag.
    desk.chat("whatsapp", wa, "info")
    apis.script["whatsapp"].append((502, "<html>proxy</html>"))
    desk.deliver_all()
    row2 = desk.rows()[-1]
    assert row2[3:5] == ("failed", "unknown")
    body = wa_payload(statuses=[{"id": "wamid.late", "status": "delivered", "timestamp": "1764900001",
                                 "recipient_id": wa, "biz_opaque_callback_data": apis.sent("whatsapp")[-1]["body"][
                                     "biz_opaque_callback_data"]}])
    assert post(port, body, sign(body))[0] == 200
    assert desk.rows()[-1][3:8] == ("sent", None, 1, "wamid.late", "delivered")
    body = wa_payload(statuses=[{"id": "wamid.late", "status": "failed", "timestamp": "1764900002",
                                 "recipient_id": wa, "errors": [{"code": 131026, "title": "Message undeliverable"}]}])
    assert post(port, body, sign(body))[0] == 200
    assert desk.rows()[-1][4] == "undeliverable"


def test_rows_left_handed_off_by_a_crash_are_never_sent_again(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    desk.chat("telegram", "1", "jam")
    with sqlite3.connect(desk.db) as db:                                   # as a kill -9 mid-request leaves it
        db.execute("update outbox set state = 'handed_off', attempt = 1")
    desk.worker.settle_unknown()
    desk.deliver_all()
    assert desk.rows()[0][3:5] == ("failed", "unknown") and apis.sent("telegram") == []


def test_kill_9_of_the_service_mid_delivery_sends_nothing_twice(tmp_path, broker, apis):
    """``antre serve`` for real: residents write to the bot (long polling), the answers go out; the service is
    killed -9 while a sendMessage is in flight (the API has received it, its answer not yet back), and again
    later; after each restart every chat has had exactly one answer, and the one whose answer never came is
    ``failed`` ("unknown"), not sent again."""
    from tests.conftest import start_office
    extra = (f'\n[notify]\npoll_seconds = 0.1\nretry_seconds = 0.2\nrequest_timeout = 3\n'
             f'\n[notify.telegram]\nenabled = true\ntoken = "{TG_TOKEN}"\napi_base = "{apis.url}"\npoll_seconds = 1\n')
    apis.hang()                                                            # requests arrive, answers wait
    for chat in range(1, 7):
        apis.add_update("jam", chat_id=chat)
    office = start_office(tmp_path, broker, extra=extra)
    try:
        wait_for(lambda: apis.arrived.is_set(), what="the first sendMessage in flight")
        office.service.kill()                                              # mid-request
        office.client.wait_service(False)
        apis.release()
        in_flight = {r["to"] for r in apis.sent("telegram")}
        assert len(in_flight) == 1
        office.service.start()
        office.client.wait_service(True)
        for chat in range(7, 10):
            apis.add_update("info", chat_id=chat)
        wait_for(lambda: len({r["to"] for r in apis.sent("telegram")}) == 9, what="every chat answered")
        apis.arrived.clear()
        apis.hang()
        apis.add_update("bantuan", chat_id=10)
        wait_for(lambda: apis.arrived.is_set() and len(apis.sent("telegram")) == 10, what="the tenth in flight")
        office.service.kill()                                              # again, mid-request
        office.client.wait_service(False)
        apis.release()
        office.service.start()
        office.client.wait_service(True)
        with sqlite3.connect(office.db_path) as db:
            wait_for(lambda: db.execute("select count(*) from outbox where state in ('pending', 'handed_off')"
                                        ).fetchone() == (0,), what="the outbox settled")
            rows = db.execute("select phone, state, reason from outbox order by id").fetchall()
        per_chat = {}
        for r in apis.sent("telegram"):
            per_chat[r["to"]] = per_chat.get(r["to"], 0) + 1
        assert per_chat == {chat: 1 for chat in range(1, 11)}, per_chat    # nothing sent twice
        assert len(rows) == 10
        unknown = sorted(int(p) for p, state, reason in rows if (state, reason) == ("failed", "unknown"))
        assert unknown == sorted(in_flight | {10})                         # the two cut off mid-request
        assert all(state == "sent" for p, state, _ in rows if int(p) not in unknown)
        assert apis.violations == []
    finally:
        office.client.stop()
        office.service.stop()


def test_the_status_page_links_telegram_and_whatsapp_and_the_deep_link_follows_the_ticket(tmp_path, broker, apis):
    """The resident's status page (antre web) shows the bot's deep link ``https://t.me/<bot>?start=<code>`` and a
    wa.me click-to-chat link with the ticket typed in; Telegram sends ``/start <code>`` when they press Start,
    and from then on the ticket's news comes to that chat."""
    import html as html_mod
    from urllib.parse import parse_qs, urlsplit

    from tests.conftest import start_office
    from tests.test_web import Http, WebProcess, office_toml

    port = free_port()
    extra = (office_toml(f'port = {port}\nhost = "127.0.0.1"\npublic_url = "https://antre.sukamaju.desa.id"')
             + f'\n[notify]\npoll_seconds = 0.1\nrequest_timeout = 3\nwhatsapp_number = "6281100001111"\n'
             + f'\n[notify.telegram]\nenabled = true\ntoken = "{TG_TOKEN}"\napi_base = "{apis.url}"\n'
             + 'bot_name = "SukamajuBot"\npoll_seconds = 1\n')
    office = start_office(tmp_path, broker, extra=extra)
    web = WebProcess(office.config_path, port, tmp_path / "web.log")
    try:
        web.wait_ready()
        c = office.client
        c.ok("issue_ticket", service="adminduk")
        t = c.ok("issue_ticket", service="adminduk")                        # A-002, taken at the kiosk
        page = Http(web.url).get(f"/status/{t['business_date']}/{t['number']}")
        assert page.status == 200
        text = html_mod.unescape(page.text)
        tg = re.search(r'id="chat-telegram" href="([^"]+)"', text)[1]
        wa = re.search(r'id="chat-whatsapp" href="([^"]+)"', text)[1]
        assert "Ikuti kabarnya di Telegram" in text and "Tanya lewat WhatsApp" in text
        code = tg.rsplit("start=", 1)[1]
        assert tg == f"https://t.me/SukamajuBot?start={code}" and re.fullmatch(r"t\d+-[a-z2-7]{8}", code)
        assert urlsplit(wa).netloc == "wa.me" and urlsplit(wa).path == "/6281100001111"
        from datetime import date
        from antre.wording import day_month_year
        assert parse_qs(urlsplit(wa).query)["text"] == [
            f"Halo Kantor Desa Uji Coba, saya ingin bertanya tentang nomor antrean {t['number']} tanggal "
            f"{day_month_year(date.fromisoformat(t['business_date']))}."]   # no code: the Cloud API is off
        # In Chromium on a phone: the chat section is on the page, its buttons within the screen.
        from playwright.sync_api import expect, sync_playwright

        from tests.test_web import CHROMIUM
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            try:
                pg = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                         locale="id-ID").new_page()
                pg.goto(f"{web.url}/status/{t['business_date']}/{t['number']}")
                expect(pg.locator("#chat-telegram")).to_be_visible()
                expect(pg.locator("#chat-whatsapp")).to_have_attribute("href", wa)
                assert pg.evaluate("document.documentElement.scrollWidth") <= 390
                pg.screenshot(path=str(tmp_path / "status-chat-phone.png"), full_page=True)
            finally:
                browser.close()
        # The resident presses Start in Telegram: the bot receives "/start <code>".
        apis.add_update(f"/start {code}", chat_id=4242)
        wait_for(lambda: any("nomor antrean A-002" in x for x in apis.texts("telegram")), what="the link answered")
        c.ok("call_next", counter="loket-1")
        wait_for(lambda: any("sebentar lagi" in x for x in apis.texts("telegram")), what="'giliran Anda sebentar lagi'")
        c.ok("call_next", counter="loket-1")
        wait_for(lambda: any("A-002 dipanggil" in x for x in apis.texts("telegram")), what="'dipanggil'")
        assert {r["to"] for r in apis.sent("telegram")} == {4242} and apis.violations == []
        # A letter request's and a complaint's pages carry their own deep links and click-to-chat text.
        from tests.test_complaints import TEXT
        from tests.test_letters import domisili
        letter = c.ok("letter_request", type="domisili", fields=domisili(), channel="web")
        complaint = c.ok("complaint_submit", category="pengaduan", topic="infrastruktur", text=TEXT,
                         anonymous=True, channel="web")
        for path, prefix, words in ((f"/surat/status/{letter['code']}", "letter", "permohonan surat"),
                                    (f"/pengaduan/{complaint['code']}", "complaint", "laporan")):
            text = html_mod.unescape(Http(web.url).get(path).text)
            link = re.search(r'id="chat-telegram" href="https://t.me/SukamajuBot\?start=([^"]+)"', text)
            assert link and re.fullmatch(rf"{prefix}\d+-[a-z2-7]{{8}}", link[1]), path
            wa = re.search(r'id="chat-whatsapp" href="([^"]+)"', text)[1]
            assert parse_qs(urlsplit(wa).query)["text"][0].startswith(
                f"Halo Kantor Desa Uji Coba, saya ingin bertanya tentang {words} ")
    finally:
        web.stop()
        office.client.stop()
        office.service.stop()


def test_a_bad_address_from_a_caller_is_refused_before_any_request(tmp_path, apis):
    desk = Desk(tmp_path, apis)
    rules = desk.q.plugins["notify"]
    with desk.sessions() as s, s.begin():
        rules.notify(s, desk.clock.now(), "x:1", "reply", "@someone", "Hai", channel="telegram")
        rules.notify(s, desk.clock.now(), "x:2", "reply", "+62 812", "Hai", channel="whatsapp")
    desk.deliver_all()
    assert [r[3:5] for r in desk.rows()] == [("failed", "bad_address"), ("failed", "bad_address")]
    assert apis.requests == [] and apis.violations == []


def test_a_deeply_nested_or_odd_webhook_payload_is_refused_and_the_webhook_goes_on(hook):
    desk, port = hook
    nested = b"[" * 100000 + b"]" * 100000
    assert post(port, nested[:200000], sign(nested[:200000]))[0] in (400, 413)
    odd = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": {"metadata": {"phone_number_id": WA_PHONE_ID}, "statuses": [
            {"id": 5, "status": "read"}, "x"], "messages": "not a list"}}]}]}).encode()
    assert post(port, odd, sign(odd))[0] in (200, 400)
    body = wa_payload(messages=[wa_text("6281234567890", "jam")])
    assert post(port, body, sign(body)) == (200, b"")                     # still serving
    assert len(desk.rows()) == 1
