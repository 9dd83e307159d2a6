"""The console's SMS page (/staf/sms, web/notify_console.py) over real HTTP with antre web and antre serve: a
Kasi or the admin sees the day's messages with masked numbers and the cost; each showing is in the audit log;
a petugas is refused."""

from __future__ import annotations

import html
import sqlite3

from tests.conftest import start_office
from tests.support import free_port, wait_for
from tests.test_console import (
    BUDI_PASSWORD, COUNTERS, SERVICES, SHARED_PASSWORD, Console, add_account, make_admin, sign_in,
)
from tests.test_web import WebProcess, office_toml
from antre_web.security import hash_pin


class SmsConsole(Console):
    def __init__(self, tmp_path, broker):
        spool = tmp_path / "spool"
        for d in ("inbox", "outbox", "sent", "error"):
            (spool / d).mkdir(parents=True)
        self.port = free_port()
        self.office = start_office(tmp_path, broker, extra=office_toml(
            f'port = {self.port}\nhost = "127.0.0.1"\nstaff_password_hash = "{hash_pin(SHARED_PASSWORD)}"')
            + f'\n[notify]\nsms = true\nspool = "{spool}"\npoll_seconds = 0.1\ncost_per_sms = 350\n',
            services=SERVICES, counters=COUNTERS)
        self.web = WebProcess(self.office.config_path, self.port, tmp_path / "web.log")
        self.web.wait_ready()
        self.db = self.office.db_path


def test_the_sms_page_shows_the_day_masked_with_its_cost_and_is_audited(tmp_path, broker):
    c = SmsConsole(tmp_path, broker)
    try:
        admin = make_admin(c)
        empty = admin.request("GET", "/staf/sms")
        assert empty.status == 200 and "SMS ke warga" in empty.text and 'id="nav-sms"' in empty.text
        c.office.client.ok("issue_ticket", service="adminduk", channel="web", name="Siti", phone="081234567890",
                           notify=True)
        with sqlite3.connect(c.db) as db:
            wait_for(lambda: db.execute("select state from outbox").fetchall() == [("handed_off",)],
                     what="the message handed to the spool")
        page = admin.request("GET", "/staf/sms")
        text = html.unescape(page.text)
        assert "0812****7890" in text and "081234567890" not in text and "nomor dari rumah" in text
        assert "diserahkan ke modem" in text and "1 SMS, biaya Rp 350" in text
        assert ("siti", "sms.view") in [(a, b) for a, b, *_ in c.audit()]
        # A letter's news (the letters plug-in writes kind letter_<status>) is named in words too.
        with sqlite3.connect(c.db) as db:
            db.execute("insert into outbox (key, kind, channel, phone, phone_key, body, parts, business_date, state, "
                       "attempt, next_attempt_at, created_at) select 'letter9:siap_diambil:0', "
                       "'letter_siap_diambil', channel, phone, phone_key, body, parts, business_date, 'skipped', 0, "
                       "next_attempt_at, created_at from outbox")
        assert "surat: siap diambil" in html.unescape(admin.request("GET", "/staf/sms").text)
        # The internet channels' rows (docs/channels.md): their channel, state and delivery report in words.
        with sqlite3.connect(c.db) as db:
            for key, channel, phone, state, reason, delivery in (
                    ("x:wa", "whatsapp", "6281234567890", "sent", None, "read"),
                    ("x:tg", "telegram", "5550001", "failed", "unknown", None),
                    ("x:wa2", "whatsapp", "6281299990000", "failed", "window_closed", None)):
                db.execute("insert into outbox (key, kind, channel, phone, phone_key, body, parts, business_date, "
                           "state, reason, delivery, attempt, next_attempt_at, created_at) select ?, 'reply', ?, ?, "
                           "phone_key, body, 1, business_date, ?, ?, ?, 1, next_attempt_at, created_at from outbox "
                           "limit 1", (key, channel, phone, state, reason, delivery))
        text = html.unescape(admin.request("GET", "/staf/sms").text)
        assert "WhatsApp" in text and "Telegram" in text and "sudah dibaca" in text
        assert "mungkin terkirim: jawaban tidak datang, tidak dikirim ulang" in text
        assert "lewat 24 jam sejak pesan terakhir warga" in text
        assert "6281234567890" not in text and "6281*****7890" in text
        assert "1 SMS, biaya Rp 350" in text                                  # chats cost no pulsa
        assert add_account(admin, "budi", "petugas", BUDI_PASSWORD, counters=["loket-1"]).status == 303
        budi = c.client("127.0.20.2")
        sign_in(budi, "budi", BUDI_PASSWORD)
        refused = budi.request("GET", "/staf/sms")
        assert refused.status == 403 and "0812" not in refused.text and 'id="nav-sms"' not in refused.text
    finally:
        c.stop()

