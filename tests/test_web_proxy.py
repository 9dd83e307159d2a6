"""Who may say, in X-Forwarded-For, which address a request comes from: the reverse proxy on this machine,
however it reaches ``antre web``. On Debian ``localhost`` is 127.0.0.1 and ::1, so an ``antre web`` kept to this
machine (``host = "localhost"``) listens on both, and nginx's ``proxy_pass http://localhost:PORT`` takes turns
between them. uvicorn believed 127.0.0.1 alone: over ::1 every resident behind the proxy was one address (and
its X-Forwarded-For ignored), so one guesser used up the code budget of all. A real ``antre web`` listening on
::1 (this test machine's /etc/hosts has no ::1 localhost), a proxy's requests from ::1; that nobody else is
believed is tests/test_web_follow.py's test_a_forged_forwarded_for_does_not_reset_the_budget."""

from __future__ import annotations

import http.client

import pytest

from antre.link.protocol import new_booking_code
from antre.ops.devtools import port_open
from antre.service.server import ADDRESS_MISSES
from tests.support import free_port, wait_for
from tests.test_web import WebProcess, office_toml, start_noon_office


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker):
    tmp = tmp_path_factory.mktemp("web-proxy")
    port = free_port()
    office = start_noon_office(tmp, broker, office_toml(f'port = {port}\nhost = "::1"'))
    web = WebProcess(office.config_path, port, tmp / "web.log")
    office.web, office.port = web, port
    try:
        wait_for(lambda: port_open(port, "::1"), what="antre web to listen on ::1")
        wait_for(lambda: b'role="alert"' not in get(office, "/"), what="antre web to see the office")
        yield office
    finally:
        web.stop()
        office.client.stop()
        office.service.stop()


def get(site, path: str, forwarded: str | None = None) -> bytes:
    conn = http.client.HTTPConnection("::1", site.port, timeout=30)
    try:
        conn.request("GET", path, headers={"X-Forwarded-For": forwarded} if forwarded else {})
        r = conn.getresponse()
        return r.read() if r.status == 200 else str(r.status).encode()
    finally:
        conn.close()


def guess(site, forwarded: str) -> int:
    """One unknown booking code on /cek, sent by the proxy over ::1 for the resident at ``forwarded``."""
    conn = http.client.HTTPConnection("::1", site.port, timeout=30)
    try:
        conn.request("GET", f"/cek?kode={new_booking_code()}", headers={"X-Forwarded-For": forwarded})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def test_the_local_proxy_over_ipv6_names_each_resident(site):
    statuses = [guess(site, "198.51.100.1, 2001:db8:1:1::5") for _ in range(ADDRESS_MISSES + 1)]
    assert statuses == [404] * ADDRESS_MISSES + [429], statuses
    # Another resident behind the same proxy still has a budget of their own (was 429: the proxy's)
    assert [guess(site, r) for r in ("2001:db8:1:2::5", "203.0.113.8")] == [404, 404]
