"""The staff console's accounts over real HTTP: ``antre web`` and ``antre serve`` as processes, a real mosquitto,
the service's SQLite file read back for the audit log. Attacks: guessing across many source addresses, a
session reused after signing out, a petugas on admin pages, forms without their CSRF token."""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.support import free_port, wait_for
from tests.test_web import COUNTERS, SERVICES, AddrClient, Http, WebProcess, office_toml
from tests.conftest import start_office
import antre_web.console  # noqa: F401 (adds the console's words to antre_web.texts)
from antre_web import texts
from antre_web.security import hash_pin

T = texts.text
SHARED_PASSWORD = "kata sandi bersama lama"
ADMIN_PASSWORD = "kopi manis pagi hari"
BUDI_PASSWORD = "teh hangat sore hari"


class Console:
    """One office (service, broker) and its ``antre web``, with the older shared password configured."""

    def __init__(self, tmp_path, broker):
        self.port = free_port()
        self.office = start_office(tmp_path, broker, extra=office_toml(
            f'port = {self.port}\nhost = "127.0.0.1"\nstaff_password_hash = "{hash_pin(SHARED_PASSWORD)}"'),
            services=SERVICES, counters=COUNTERS)
        self.web = WebProcess(self.office.config_path, self.port, tmp_path / "web.log")
        self.web.wait_ready()
        self.db = self.office.db_path

    def setup_link(self) -> str:
        found = wait_for(lambda: re.search(r"http://[^ ]+(/staf/setup/[A-Za-z0-9_-]+)", self.web.output()),
                         what="the setup link on antre web's console")
        return found[1]

    def audit(self) -> list[tuple]:
        with sqlite3.connect(self.db) as c:
            return c.execute("select actor, action, subject, device from audit_log order by id").fetchall()

    def client(self, source: str) -> AddrClient:
        return AddrClient(self.port, source)

    def stop(self) -> None:
        self.web.stop()
        self.office.client.stop()
        self.office.service.stop()


@pytest.fixture
def console(tmp_path, broker):
    c = Console(tmp_path, broker)
    yield c
    c.stop()


def shows(page, key: str, **values) -> bool:
    import html
    return T(key, **values) in html.unescape(page.text)


def sign_in(client: AddrClient, name: str, password: str):
    page = client.request("GET", "/staf")
    return client.request("POST", "/staf/masuk", {"csrf": page.csrf(), "name": name, "password": password})


def make_admin(console: Console) -> AddrClient:
    admin = console.client("127.0.20.1")
    link = console.setup_link()
    form = admin.request("GET", link)
    assert form.status == 200 and T("c_setup") in form.text
    made = admin.request("POST", link, {"csrf": form.csrf(), "name": "siti", "full_name": "Siti Aminah",
                                        "password": ADMIN_PASSWORD, "password2": ADMIN_PASSWORD})
    assert made.status == 303 and made.headers["Location"] == "/staf/akun", made.text[:500]
    return admin


def add_account(admin: AddrClient, name: str, role: str, password: str, counters=()):
    page = admin.request("GET", "/staf/akun")
    form = [("csrf", page.csrf()), ("name", name), ("full_name", name.title()), ("role", role),
            ("password", password), ("password2", password)] + [("counters", c) for c in counters]
    import urllib.parse
    return admin.request_raw("POST", "/staf/akun/tambah", urllib.parse.urlencode(form))


def _request_raw(self, method, path, body):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(self.source, 0))
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
               "Content-Type": "application/x-www-form-urlencoded"}
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        from tests.test_web import Page
        return Page(r.status, r.read().decode("utf-8", "replace"), path, r.headers)
    finally:
        conn.close()


AddrClient.request_raw = _request_raw


def test_shared_password_until_the_first_admin_then_personal_accounts(console):
    # Before any admin: the old shared password still opens the old staff page, with the notice.
    old = console.client("127.0.20.9")
    page = old.request("GET", "/staf")
    assert shows(page, "c_shared_hint")
    assert old.request("POST", "/staf/masuk", {"csrf": page.csrf(), "password": SHARED_PASSWORD}).status == 303
    board = old.request("GET", "/staf")
    assert T("board") in board.text and 'id="shared-banner"' in board.text, re.sub(r"\s+", " ", board.text)[:3000]
    # ... but never a page of the accounts era.
    assert old.request("GET", "/staf/akun").status == 303

    # The setup form needs its CSRF token like every other, and a link not printed by antre web is nothing.
    link = console.setup_link()
    forged = console.client("127.0.20.3").request("POST", link, {"name": "mallory", "password": ADMIN_PASSWORD,
                                                                 "password2": ADMIN_PASSWORD})
    assert forged.status == 403
    assert console.client("127.0.20.3").request("GET", "/staf/setup/" + "x" * 32).status == 404
    admin = make_admin(console)
    # The setup link works once.
    assert console.client("127.0.20.2").request("GET", console.setup_link()).status == 404
    accounts = admin.request("GET", "/staf/akun")
    assert accounts.status == 200 and 'id="account-siti"' in accounts.text
    assert "Siti Aminah" in accounts.text

    # From now on the shared password opens nothing, and its old session is dead too.
    assert T("board") not in old.request("GET", "/staf").text
    again = console.client("127.0.20.10")
    page = again.request("GET", "/staf")
    refused = again.request("POST", "/staf/masuk", {"csrf": page.csrf(), "password": SHARED_PASSWORD})
    assert refused.status == 403 and refused.problem() == T("c_shared_gone")
    assert [row[:3] for row in console.audit()] == [("setup", "staff.add", "siti")]


def test_roles_sessions_and_the_audit_trail(console):
    admin = make_admin(console)
    made = add_account(admin, "budi", "petugas", BUDI_PASSWORD, counters=["loket-1"])
    assert made.status == 303, made.text[:800]
    assert 'id="account-budi"' in admin.request("GET", "/staf/akun").text

    budi = console.client("127.0.21.1")
    assert sign_in(budi, "budi", BUDI_PASSWORD).status == 303
    home = budi.request("GET", "/staf")
    assert T("board") in home.text and "Budi" in home.text
    # A petugas on an admin page and an admin form: refused, nothing made.
    assert budi.request("GET", "/staf/akun").status == 403
    sneak = add_account(budi, "eve", "admin", "eve punya sandi panjang")
    assert sneak.status == 403
    assert "eve" not in admin.request("GET", "/staf/akun").text

    # Nor the kasi's switches and running text: refused, nothing changed.
    assert budi.request("POST", "/staf/layanan", {"csrf": home.csrf(), "service": "adminduk", "kind": "remote",
                                                 "value": "off"}).headers["Location"] == "/staf"
    assert 'id="toggle-remote-adminduk"' not in home.text and 'name="text"' not in home.text
    assert budi.request("POST", "/staf/teks", {"csrf": home.csrf(), "text": "dibajak"}).headers["Location"] == "/staf"
    assert "dibajak" not in console.web.output()

    # The session copied to another address works until budi signs out, then nowhere.
    thief = AddrClient(console.port, "127.0.21.99", cookies=budi.cookies)
    assert T("board") in thief.request("GET", "/staf").text
    assert budi.request("POST", "/staf/keluar", {"csrf": home.csrf()}).status == 303
    assert T("board") not in thief.request("GET", "/staf").text
    assert T("board") not in budi.request("GET", "/staf").text
    # Even for another antre web reading the same database: the session is revoked at the service.
    with sqlite3.connect(console.db) as c:
        assert c.execute("select count(*) from staff_sessions where revoked_at is null and account_id = "
                         "(select id from staff_accounts where name = 'budi')").fetchone() == (0,)

    # A password change ends the sessions: signed in twice, changed in one, both are out.
    one, two = console.client("127.0.21.2"), console.client("127.0.21.3")
    for c in (one, two):
        assert sign_in(c, "budi", BUDI_PASSWORD).status == 303
    page = one.request("GET", "/staf/sandi")
    changed = one.request("POST", "/staf/sandi", {"csrf": page.csrf(), "password": BUDI_PASSWORD,
                                                 "new_password": "sandi baru budi panjang",
                                                 "new_password2": "sandi baru budi panjang"})
    assert changed.status == 200 and shows(changed, "c_password_changed")
    assert T("board") not in two.request("GET", "/staf").text
    assert sign_in(two, "budi", BUDI_PASSWORD).status == 403
    assert sign_in(two, "budi", "sandi baru budi panjang").status == 303

    # The admin ends budi's sessions (a phone left signed in): out, and budi signs in again.
    page = admin.request("GET", "/staf/akun")
    assert admin.request("POST", "/staf/akun/ubah", {"csrf": page.csrf(), "name": "budi",
                                                    "what": "end_sessions"}).status == 303
    assert T("board") not in two.request("GET", "/staf").text
    assert sign_in(two, "budi", "sandi baru budi panjang").status == 303

    # Disabled by the admin: out at once.
    page = admin.request("GET", "/staf/akun")
    assert admin.request("POST", "/staf/akun/ubah", {"csrf": page.csrf(), "name": "budi",
                                                    "what": "disable"}).status == 303
    assert T("board") not in two.request("GET", "/staf").text

    actions = [(actor, action, subject) for actor, action, subject, _ in console.audit()]
    assert actions[:2] == [("setup", "staff.add", "siti"), ("siti", "staff.add", "budi")]
    assert ("budi", "staff.login", "budi") in actions and ("budi", "staff.logout", "budi") in actions
    assert ("budi", "staff.update", "budi") in actions        # own password
    assert actions[-1] == ("siti", "staff.update", "budi")    # disabled
    assert actions.count(("siti", "staff.update", "budi")) == 2   # and the sessions ended before
    devices = {device for *_, device in console.audit()}
    assert "web 127.0.21.1" in devices and "web 127.0.20.1" in devices


def test_guessing_from_many_addresses_locks_the_account_and_slows_everyone(console):
    admin = make_admin(console)
    assert add_account(admin, "budi", "petugas", BUDI_PASSWORD).status == 303
    # Five wrong passwords for budi, each from its own address: the account locks (the web's per-address
    # limit never triggers).
    answers = [sign_in(console.client(f"127.0.22.{i}"), "budi", f"tebakan salah {i:03d}") for i in range(1, 6)]
    assert [a.status for a in answers] == [403] * 4 + [429]
    assert re.fullmatch(T("c_locked", time=r"\d\d\.\d\d"), answers[-1].problem())
    # Locked: the right password from a fresh address does not get in either.
    assert sign_in(console.client("127.0.22.50"), "budi", BUDI_PASSWORD).status == 429
    # More guesses at other names from yet more addresses: after ten wrong passwords a day, everyone waits.
    more = [sign_in(console.client(f"127.0.23.{i}"), f"nama{i}", f"tebakan salah {i:03d}") for i in range(1, 8)]
    assert more[-1].status == 429 and re.fullmatch(T("c_wait", time=r"\d\d\.\d\d"), more[-1].problem())
    siti = console.client("127.0.22.60")
    assert sign_in(siti, "siti", ADMIN_PASSWORD).status == 429    # not even checked while waiting
    failed = [row for row in console.audit() if row[1] == "staff.login_failed"]
    assert len(failed) == 10 and {row[3] for row in failed} >= {"web 127.0.22.1", "web 127.0.23.1"}


CONSOLE_FORMS = [("/staf/masuk", {"name": "siti", "password": ADMIN_PASSWORD}),
                 ("/staf/keluar", {}),
                 ("/staf/sandi", {"password": ADMIN_PASSWORD, "new_password": "x" * 12, "new_password2": "x" * 12}),
                 ("/staf/akun/tambah", {"name": "eve", "role": "admin", "password": "x" * 12, "password2": "x" * 12}),
                 ("/staf/akun/ubah", {"name": "siti", "what": "disable"}),
                 ("/staf/layanan", {"service": "adminduk", "kind": "remote", "value": "off"}),
                 ("/staf/teks", {"text": "dibajak"}),
                 ("/staf/loket/tekan", {"counter": "loket-1", "action": "next", "rid": "2" * 32}),
                 ("/staf/kantor/libur", {"action": "add", "date": "2030-01-01"}),
                 ("/staf/kantor/layanan", {"service": "adminduk", "action": "active", "value": "off"})]


def test_every_console_form_needs_its_csrf_token(console):
    admin = make_admin(console)
    page = admin.request("GET", "/staf/akun")
    console.office.client.ok("issue_ticket", service="adminduk")
    for path, form in CONSOLE_FORMS:
        for token in (None, "a-token-from-another-site"):
            sent = form | ({"csrf": token} if token else {})
            refused = admin.request("POST", path, sent)
            assert refused.status == 403, (path, token, refused.status)
    # Still signed in, still the only account, nothing changed.
    assert 'id="account-siti"' in admin.request("GET", "/staf/akun").text
    assert "eve" not in admin.request("GET", "/staf/akun").text
    assert [row[1] for row in console.audit()] == ["staff.add"]
    assert page.csrf()


def test_audit_log_for_kasi_and_admin_only_with_an_export_that_is_itself_recorded(console):
    admin = make_admin(console)
    assert add_account(admin, "ani", "kasi", BUDI_PASSWORD).status == 303
    assert add_account(admin, "budi", "petugas", BUDI_PASSWORD, counters=["loket-1"]).status == 303
    budi, ani = console.client("127.0.24.1"), console.client("127.0.24.2")
    assert sign_in(budi, "budi", BUDI_PASSWORD).status == 303
    assert sign_in(ani, "ani", BUDI_PASSWORD).status == 303
    assert budi.request("GET", "/staf/audit").status == 403
    assert budi.request("GET", "/staf/audit.csv").status == 403
    page = ani.request("GET", "/staf/audit")
    assert page.status == 200 and "staff.add" in page.text and "budi" in page.text
    only_logins = ani.request("GET", "/staf/audit?petugas=budi&tindakan=staff.login")
    assert "staff.login" in only_logins.text and "staff.add" not in only_logins.text
    # Append-only: no way to change a row through the console.
    assert ani.request("POST", "/staf/audit", {"csrf": page.csrf()}).status == 405
    assert admin.request("GET", "/staf/audit").status == 200
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", console.port, timeout=30, source_address=("127.0.24.2", 0))
    conn.request("GET", "/staf/audit.csv", headers={"Cookie": f"antre_staff={ani.cookies['antre_staff']}"})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    text = body.decode("utf-8")
    assert text.startswith("\ufeffWaktu;Petugas;Tindakan;Objek;Perangkat;Rincian\r\n")
    assert ";siti;staff.add;budi;web 127.0.20.1;" in text
    assert re.search(r"\r\n\d{4}-\d\d-\d\d \d\d\.\d\d\.\d\d;", text)
    assert console.audit()[-1][:2] == ("ani", "audit.export")
    assert ani.request("GET", "/staf/audit?dari=kemarin").status == 400


def test_weekly_settings_by_a_kasi(console):
    admin = make_admin(console)
    assert add_account(admin, "ani", "kasi", BUDI_PASSWORD).status == 303
    assert add_account(admin, "budi", "petugas", BUDI_PASSWORD).status == 303
    budi, ani = console.client("127.0.25.1"), console.client("127.0.25.2")
    assert sign_in(budi, "budi", BUDI_PASSWORD).status == 303 and sign_in(ani, "ani", BUDI_PASSWORD).status == 303
    assert budi.request("GET", "/staf/kantor").status == 403
    page = ani.request("GET", "/staf/kantor")
    assert page.status == 200 and 'id="add-closed-day"' in page.text
    assert budi.request("POST", "/staf/kantor/libur", {"csrf": page.csrf(), "action": "add", "date": "2030-01-01",
                                                     "reason": "x"}).status == 403
    # Requirements and a service switched off: on the residents' service page at once.
    saved = ani.request("POST", "/staf/kantor/layanan", {"csrf": page.csrf(), "service": "adminduk",
                                                        "action": "requirements",
                                                        "requirements": "KTP asli\r\n\r\nFotokopi KK 2 lembar\r\n"})
    assert saved.status == 303
    wait_for(lambda: "Fotokopi KK 2 lembar" in Http(console.web.url).get("/layanan").text,
             what="the new requirements on /layanan")
    assert ani.request("POST", "/staf/kantor/layanan", {"csrf": page.csrf(), "service": "surat", "action": "active",
                                                       "value": "off"}).status == 303
    assert console.office.client.error("issue_ticket", service="surat") == "service_inactive"
    # A closing day: the schema refuses a date that is none; today closes the office.
    today = console.office.client.state()["business_date"]
    bad = ani.request("POST", "/staf/kantor/libur", {"csrf": page.csrf(), "action": "add", "date": "2026-02-30"})
    assert bad.status == 400
    ok = ani.request("POST", "/staf/kantor/libur", {"csrf": page.csrf(), "action": "add", "date": today})
    assert ok.status == 303
    console.office.client.wait_state(lambda s: s.get("holiday") is True, "the office closed today")
    listed = ani.request("GET", "/staf/kantor")
    assert f'id="closed-{today}"' in listed.text
    assert ani.request("POST", "/staf/kantor/libur", {"csrf": page.csrf(), "action": "remove",
                                                     "date": today}).status == 303
    console.office.client.wait_state(lambda s: s.get("holiday") is False, "the office open again")
    actions = [(a, act, subj) for a, act, subj, _ in console.audit() if act.startswith("office.")]
    assert actions == [("ani", "office.service", "adminduk"), ("ani", "office.service", "surat"),
                       ("ani", "office.calendar", "calendar"), ("ani", "office.calendar", "calendar")]
