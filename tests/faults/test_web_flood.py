"""The website cannot lock residents out at the kiosk: a flood of remote tickets from rotating addresses.

Real ``antre serve``, ``antre web`` and mosquitto. Every "attacker" is its own source address
(127.0.7.N on the loopback: the web app sees a different client for each, exactly as it would
on the LAN), with its own cookie, CSRF token and phone number, so the per-address limits never
apply. What must hold: the web takes at most its share of the quota (``[web] web_share``), at
most ``web_tickets_per_minute`` web tickets per service reach the service, and the kiosk then
issues every ticket of the walk-ins' part.
"""

from __future__ import annotations

import http.client
import re
import sqlite3
import time
import urllib.parse
import uuid

import pytest

from tests.conftest import start_office
from tests.support import counters_toml, free_port
from tests.test_web import WebProcess

pytestmark = pytest.mark.timeout(240)

QUOTA = 40
SHARE = 30          # percent: the web may take 12 of adminduk's 40
PER_MINUTE = 20     # web tickets per service per minute, all addresses together
ATTACKERS = 60

SERVICES = f"""
[[services]]
code = "adminduk"
prefix = "A"
name = "Administrasi Kependudukan"
daily_quota = {QUOTA}

[[services]]
code = "surat"
prefix = "B"
name = "Surat Keterangan"
"""


def take_number(port: int, source: str, service: str) -> tuple[int, str]:
    """One resident's visit from ``source``: the form page, then the form sent (status, where it led)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", "/ambil")
        page = conn.getresponse()
        body = page.read().decode()
        cookie = page.getheader("Set-Cookie").split(";")[0]
        csrf = re.search(r'name="csrf" value="([^"]+)"', body)[1]
        rid = re.search(r'name="rid" value="([^"]+)"', body)[1]
        form = urllib.parse.urlencode({"csrf": csrf, "rid": rid, "service": service, "name": "Budi Santoso",
                                       "phone": "0812" + f"{uuid.uuid4().int % 10 ** 8:08d}"})
        conn.request("POST", "/ambil", body=form, headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        reply = conn.getresponse()
        text = reply.read().decode()
        problem = re.search(r'id="problem">([^<]*)<', text)
        return reply.status, reply.getheader("Location") or (problem[1] if problem else "")
    finally:
        conn.close()


def web_tickets(db_path, service: str) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM tickets WHERE channel = 'web' AND service_code = ?",
                          (service,)).fetchone()[0]


def test_a_web_flood_from_rotating_addresses_leaves_the_walk_ins_their_quota(tmp_path, broker):
    port = free_port()
    every_day = "\n".join(f'{d} = "00:00-23:59"' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    extra = f"""
[office.hours]
{every_day}

[web]
host = "127.0.0.1"
port = {port}
web_share = {SHARE}
web_tickets_per_minute = {PER_MINUTE}
phone_daily_limit = 1
"""
    office = start_office(tmp_path, broker, services=SERVICES,
                          counters=counters_toml({"loket-1": ("adminduk", "surat")}), extra=extra)
    web = WebProcess(office.config_path, port, tmp_path / "web.log")
    try:
        web.wait_ready()
        started = time.monotonic()
        results = [take_number(port, f"127.0.7.{i}", "adminduk") for i in range(1, ATTACKERS + 1)]
        surat = [take_number(port, f"127.0.8.{i}", "surat") for i in range(1, ATTACKERS + 1)]
        elapsed = time.monotonic() - started
        made = sum(1 for status, where in results if status == 303)
        share = QUOTA * SHARE // 100
        # The web took exactly its share of adminduk; the others were told why, in Indonesian.
        assert made == share == web_tickets(office.db_path, "adminduk"), results
        refused = [where for status, where in results if status != 303]
        assert any("Jatah nomor dari rumah" in w for w in refused)
        assert any("Banyak orang sedang mengambil nomor" in w for w in refused)   # the global limit
        # Surat has no quota: only the per-service limit holds the flood back (a window is 60 s).
        surat_made = sum(1 for status, _ in surat if status == 303)
        windows = 1 + int(elapsed // 60)
        assert 0 < surat_made == web_tickets(office.db_path, "surat") <= PER_MINUTE * windows

        # Then the residents walk in: every ticket of their part is issued at the kiosk.
        kiosk = office.new_client()
        try:
            walk_ins = [kiosk.request("issue_ticket", service="adminduk") for _ in range(QUOTA - share)]
            assert [r.ok for r in walk_ins] == [True] * (QUOTA - share), [r.code for r in walk_ins if not r.ok]
            assert kiosk.error("issue_ticket", service="adminduk") == "quota_reached"   # the quota still holds
        finally:
            kiosk.stop()
        print(f"\nweb flood: {ATTACKERS} addresses -> adminduk: {made} web tickets (share {share} of {QUOTA}), "
              f"kiosk {QUOTA - share}/{QUOTA - share}; surat (no quota): {surat_made} of {ATTACKERS} "
              f"in {elapsed:.1f} s (limit {PER_MINUTE}/min)")
    finally:
        web.stop()
        office.client.stop()
        office.service.stop()
