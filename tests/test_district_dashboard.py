"""The district dashboard in a real headless Chromium over a real PostgreSQL filled by the hub's own ingest: sign in,
every office's figures, rank by IKM, drill down, CSV and PDF; no way in without an account (docs/district.md)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from antre.storage import district_store
from antre.storage.district_store import Row
from tests.support import ROOT, Postgres, free_port, port_open, wait_for
from tests.test_web import CHROMIUM

pytestmark = pytest.mark.postgres
PASSWORD = "kopi tubruk kabupaten"
TZ = ZoneInfo("Asia/Jakarta")


@pytest.fixture(scope="module")
def pg():
    if Postgres.bindir() is None:
        pytest.skip("PostgreSQL server is not installed")
    p = Postgres().start()
    yield p
    p.stop()


def fill(url: str) -> None:
    """Three offices' rows through the hub's ingest: sukamaju busy and rated well, cibiru rated poorly with an
    overdue complaint, mekarsari silent since yesterday."""
    now = datetime.now(timezone.utc)
    day = now.astimezone(TZ).date().isoformat()
    conn = district_store.connect(url)
    try:
        district_store.create_schema(conn)

        def office(name: str, tickets: int, called: int, score: int, signed: int, complaints: dict, heard):
            rows, seq = [], 0

            def add(kind, data, at):
                nonlocal seq
                seq += 1
                rows.append(Row(name, seq, kind, at, day, data))
            for i in range(1, tickets + 1):
                issued = now - timedelta(minutes=60 - i)
                add("issued", {"number": f"A-{i:03d}", "service": "adminduk", "issued_at": issued.isoformat(),
                               "channel": "kiosk", "counter": None}, issued)
            for i in range(1, called + 1):
                issued = now - timedelta(minutes=60 - i)
                add("called", {"number": f"A-{i:03d}", "service": "adminduk", "issued_at": issued.isoformat(),
                               "counter": "loket-1", "recall": False}, issued + timedelta(minutes=10))
                add("completed", {"number": f"A-{i:03d}", "service": "adminduk", "issued_at": issued.isoformat(),
                                  "counter": "loket-1"}, issued + timedelta(minutes=15))
                add("rating", {"number": f"A-{i:03d}", "service": "adminduk", "score": score,
                               "elements": [score] * 9, "business_date": day}, issued + timedelta(minutes=16))
            for _ in range(signed):
                add("letter", {"status": "siap_diambil"}, now)
            add("stats", {"business_date": day, "counts": {"letters": {"open": 4, "overdue": 1},
                                                           "complaints": complaints}}, now)
            district_store.ingest(conn, rows, {name: seq}, now=heard)
        office("sukamaju", 12, 8, 4, 3, {"open": 1, "overdue": 0}, now)
        office("cibiru", 5, 2, 2, 0, {"open": 3, "overdue": 2}, now)
        office("mekarsari", 2, 1, 3, 1, {"open": 0, "overdue": 0}, now - timedelta(days=1))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def dashboard(pg):
    import uvicorn

    from antre_web.district.app import Dashboard
    fill(pg.url)
    done = subprocess.run([sys.executable, "-m", "antre", "district-web", "--db-url", pg.url, "adduser", "dinas",
                           "--full-name", "Staf Dinas PMD"], input=PASSWORD + "\n", capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Dashboard(pg.url).app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: port_open(port), what="the dashboard to listen")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def shot(page, tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.png"
    page.screenshot(path=str(out), full_page=True)
    extra = os.environ.get("ANTRE_SHOTS_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(extra) / out.name)
    return out


def test_district_staff_see_rank_drill_down_and_export(dashboard, tmp_path, pg):
    from playwright.sync_api import expect, sync_playwright
    from pypdf import PdfReader

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID",
                                       accept_downloads=True).new_page()
            page.goto(dashboard + "/")
            expect(page).to_have_url(dashboard + "/masuk")
            page.fill("#name", "dinas")
            page.fill("#password", "salah sekali kata sandinya")
            page.click("#masuk")
            expect(page.get_by_role("alert")).to_contain_text("Nama atau kata sandi salah")
            page.fill("#name", "dinas")
            page.fill("#password", PASSWORD)
            page.click("#masuk")
            expect(page.locator("#offices")).to_be_visible()
            expect(page.locator("#online-count")).to_have_text("2")
            suka = page.locator('tr[data-office="sukamaju"]')
            expect(suka.locator(".waiting")).to_have_text("4")      # 12 issued, 8 called
            expect(suka.locator(".tickets")).to_have_text("12")
            expect(suka.locator(".wait")).to_have_text("10 mnt")
            expect(suka.locator(".ikm")).to_contain_text("100.00 (A)")
            expect(suka.locator(".letters")).to_have_text("3")
            cib = page.locator('tr[data-office="cibiru"]')
            expect(cib.locator(".ikm")).to_contain_text("50.00 (D)")
            expect(cib.locator(".complaints")).to_have_text("3 / 2")
            expect(page.locator('tr[data-office="mekarsari"]')).to_contain_text("Luring")
            shot(page, tmp_path, "district-overview")
            # Rank by IKM: best first.
            page.click("#urut-ikm")
            expect(page.locator("#offices tbody tr").first).to_have_attribute("data-office", "sukamaju")
            expect(page.locator("#offices tbody tr").last).to_have_attribute("data-office", "cibiru")
            page.click("#urut-aduan")
            expect(page.locator("#offices tbody tr").first).to_have_attribute("data-office", "cibiru")
            # CSV and PDF, in the ranked order.
            with page.expect_download() as d:
                page.click("#csv")
            text = Path(d.value.path()).read_text()
            lines = text.splitlines()
            assert lines[0].startswith("peringkat/rank,kantor/office")
            assert lines[1].startswith("1,cibiru,ya,") and ",50.00,D," in lines[1]
            with page.expect_download() as d:
                page.click("#pdf")
            pdf_bytes = Path(d.value.path()).read_bytes()
            (tmp_path / "district.pdf").write_bytes(pdf_bytes)
            if os.environ.get("ANTRE_SHOTS_DIR"):
                (Path(os.environ["ANTRE_SHOTS_DIR"]) / "district.pdf").write_bytes(pdf_bytes)
            pdf_text = PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
            assert "Dasbor Kabupaten" in pdf_text and "sukamaju" in pdf_text and "cibiru" in pdf_text
            # Drill down.
            page.click('a[href="/kantor/sukamaju"]')
            expect(page.locator("#office-name")).to_have_text("sukamaju")
            expect(page.locator("#services")).to_contain_text("adminduk")
            expect(page.locator("#days tbody tr")).to_have_count(1)
            shot(page, tmp_path, "district-office")
            page.goto(dashboard + "/kantor/tidak-ada")
            expect(page.locator("main")).to_contain_text("Kantor tidak ditemukan")
            # Signed out: nothing shows any more, not even the files.
            page.goto(dashboard + "/")
            page.click("text=Keluar")
            expect(page).to_have_url(dashboard + "/masuk")
            page.goto(dashboard + "/ekspor.csv")
            expect(page).to_have_url(dashboard + "/masuk")
        finally:
            browser.close()
    conn = district_store.connect(pg.url)
    try:
        actions = [r[0] for r in conn.execute("SELECT action FROM district_audit ORDER BY id")]
    finally:
        conn.close()
    assert actions[:3] == ["staff.add", "staff.login_failed", "staff.login"]
    assert "district.export" in actions and "district.view" in actions


def test_no_account_no_data(dashboard):
    import urllib.request
    for path in ("/", "/kantor/sukamaju", "/ekspor.csv", "/ekspor.pdf"):
        req = urllib.request.Request(dashboard + path, headers={"Cookie": "antre_district=" + "x" * 43})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(req)
            raise AssertionError(f"{path} answered without an account")
        except urllib.error.HTTPError as exc:
            assert exc.code == 303 and exc.headers["Location"] == "/masuk", path


def csrf_of(opener, url: str) -> str:
    """The sign-in page's CSRF token (its cookie goes into the opener's jar)."""
    import re
    with opener.open(url) as r:
        return re.search(r'name="csrf" value="([^"]+)"', r.read().decode())[1]


def test_a_sign_in_from_another_page_is_refused(dashboard, pg):
    """Login CSRF: a form posted from another site's page carries no token of this browser's (or one that
    does not match its cookie): refused with 403 before the password is tried, even the right one; no
    session, no audit row of a sign-in. Signing out needs the token too."""
    import urllib.parse
    import urllib.request

    def post(opener, path: str, fields: dict) -> tuple[int, str]:
        """The status and the cookies set."""
        try:
            with opener.open(dashboard + path, urllib.parse.urlencode(fields).encode()) as r:
                return r.status, "; ".join(r.headers.get_all("Set-Cookie") or [])
        except urllib.error.HTTPError as exc:
            return exc.code, "; ".join(exc.headers.get_all("Set-Cookie") or [])

    def logins() -> int:
        conn = district_store.connect(pg.url)
        try:
            return conn.execute("SELECT count(*) FROM district_audit WHERE action LIKE 'staff.login%%'").fetchone()[0]
        finally:
            conn.close()

    before = logins()
    stranger = urllib.request.build_opener(NoRedirect)
    assert post(stranger, "/masuk", {"name": "dinas", "password": PASSWORD})[0] == 403
    browser = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor())
    token = csrf_of(browser, dashboard + "/masuk")
    other = csrf_of(urllib.request.build_opener(), dashboard + "/masuk")     # another browser's token
    assert other != token
    status, cookies = post(browser, "/masuk", {"name": "dinas", "password": PASSWORD, "csrf": other})
    assert status == 403 and "antre_district" not in cookies
    assert logins() == before
    status, cookies = post(browser, "/masuk", {"name": "dinas", "password": PASSWORD, "csrf": token})
    assert status == 303 and "antre_district=" in cookies
    assert logins() == before + 1
    assert post(browser, "/keluar", {})[0] == 403                        # no token: still signed in
    with browser.open(dashboard + "/") as r:
        assert r.status == 200 and b"data-office=" in r.read()
    assert post(browser, "/keluar", {"csrf": token})[0] == 303


import urllib.request as _u  # noqa: E402


class NoRedirect(_u.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_guessing_a_password_is_throttled(dashboard, pg):
    """Five wrong passwords from one address lock it out for a while; the right password is then not even tried
    (so a guess that happens to be right does not get in), and the page says so in plain words."""
    import urllib.parse
    import urllib.request

    import uvicorn

    from antre_web.district.app import Dashboard
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Dashboard(pg.url).app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: port_open(port), what="a second dashboard to listen")
        opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor())
        token = csrf_of(opener, f"http://127.0.0.1:{port}/masuk")

        def sign_in(password: str) -> tuple[int, str]:
            body = urllib.parse.urlencode({"name": "dinas", "password": password, "csrf": token}).encode()
            try:
                with opener.open(urllib.request.Request(f"http://127.0.0.1:{port}/masuk", data=body)) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read().decode()

        for i in range(5):
            code, _ = sign_in(f"salah {i} salah salah")
            assert code == 401
        code, page = sign_in(PASSWORD)
        assert code == 429, code
        assert "Terlalu banyak percobaan yang salah" in page
    finally:
        server.should_exit = True
        thread.join(10)
