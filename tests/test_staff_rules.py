"""Staff accounts, sessions, lockout and the audit log (antre/rules/staff.py), and the two counter actions
staff asked for (bring back a no-show, call a number): on a real SQLite file, no broker."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from antre import config
from antre.clock import ManualClock
from antre.errors import CommandError
from antre.rules import staff
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database

PASSWORD = "kopi manis pagi hari"


@pytest.fixture
def office(tmp_path):
    cfg = config.from_dict({"queue": {"enforce_hours": False}})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc))
    q = QueueService(cfg, sessions, clock=clock, plugins=PLUGINS)
    return q, sessions, clock, tmp_path / "a.db"


def run(q, command, **args):
    return q.execute(command, uuid.uuid4().hex, args).result


def error(q, command, **args) -> str:
    with pytest.raises(CommandError) as exc:
        q.execute(command, uuid.uuid4().hex, args)
    return exc.value.code


def token() -> str:
    return secrets.token_urlsafe(32)


def audit_rows(db):
    with sqlite3.connect(db) as c:
        return c.execute("select actor, action, subject, device, detail from audit_log order by id").fetchall()


def make_admin(q) -> str:
    session = token()
    assert run(q, "staff_setup", name="admin", password=PASSWORD, session=session, address="10.0.0.1")["signed_in"]
    return session


def test_first_admin_by_setup_once_then_accounts_by_the_admin(office):
    q, sessions, clock, db = office
    admin = make_admin(q)
    assert error(q, "staff_setup", name="mallory", password=PASSWORD) == "setup_done"   # once only
    run(q, "staff_add", session=admin, name="budi", role="petugas", password="budi punya sandi", counters=["loket-1"])
    assert error(q, "staff_add", session=admin, name="budi", role="kasi", password=PASSWORD) == "name_taken"
    assert error(q, "staff_add", session=admin, name="sri", role="kasi", password="short") == "weak_password"
    assert error(q, "staff_add", session=admin, name="sri", role="kasi", password=PASSWORD,
                 counters=["loket-9"]) == "unknown_counter"
    with sessions() as s:
        budi = staff.find_account(s, "budi")
        assert budi.password_hash.startswith("$argon2id$") and "budi punya sandi" not in budi.password_hash
        assert [a.name for a in staff.list_accounts(s)] == ["admin", "budi"]
    rows = audit_rows(db)
    assert rows[0][:3] == ("setup", "staff.add", "admin") and rows[0][3] == "web 10.0.0.1"
    assert rows[1][:3] == ("admin", "staff.add", "budi")
    assert len(rows) == 2   # refused commands leave no trace of a change


def test_a_petugas_cannot_manage_accounts(office):
    q, *_ = office
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="budi", role="petugas", password=PASSWORD)
    budi = token()
    assert run(q, "staff_login", name="budi", password=PASSWORD, session=budi)["signed_in"]
    assert error(q, "staff_add", session=budi, name="eve", role="admin", password=PASSWORD) == "forbidden"
    assert error(q, "staff_update", session=budi, name="budi", role="admin") == "forbidden"
    assert error(q, "staff_add", session=token(), name="eve", role="admin", password=PASSWORD) == "not_signed_in"


def test_sessions_end_at_logout_password_change_disable_and_expiry(office):
    q, sessions, clock, db = office
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="budi", role="kasi", password=PASSWORD)
    one, two = token(), token()
    for t in (one, two):
        assert run(q, "staff_login", name="budi", password=PASSWORD, session=t)["signed_in"]
    now = clock.now()
    with sessions() as s:
        assert staff.session_account(s, one, now).name == "budi"
    run(q, "staff_logout", session=one)
    with sessions() as s:
        assert staff.session_account(s, one, now) is None and staff.session_account(s, two, now) is not None
    # A password change ends every session of the account, the one used for it too.
    run(q, "staff_passwd", session=two, password=PASSWORD, new_password="sandi baru yang panjang")
    with sessions() as s:
        assert staff.session_account(s, two, now) is None
    assert not run(q, "staff_login", name="budi", password=PASSWORD, session=token())["signed_in"]
    three = token()
    assert run(q, "staff_login", name="budi", password="sandi baru yang panjang", session=three)["signed_in"]
    run(q, "staff_update", session=admin, name="budi", disabled=True)
    with sessions() as s:
        assert staff.session_account(s, three, now) is None
    assert run(q, "staff_login", name="budi", password="sandi baru yang panjang",
               session=token())["reason"] == "wrong"   # disabled: as a wrong password
    # Expiry: [staff] session_hours (10) after signing in.
    with sessions() as s:
        assert staff.session_account(s, admin, now + timedelta(hours=9)) is not None
        assert staff.session_account(s, admin, now + timedelta(hours=10, seconds=1)) is None
    actions = [r[1] for r in audit_rows(db)]
    assert actions.count("staff.login") == 3 and "staff.logout" in actions and actions.count("staff.update") == 2


def test_the_last_admin_cannot_be_disabled(office):
    q, *_ = office
    admin = make_admin(q)
    assert error(q, "staff_update", session=admin, name="admin", disabled=True) == "last_admin"
    assert error(q, "staff_update", session=admin, name="admin", role="kasi") == "last_admin"


def test_lockout_per_account_and_unknown_names_alike(office):
    q, sessions, clock, db = office
    q.handlers["staff_login"].__self__.limits.free = 100   # the global backoff has its own test
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="budi", role="petugas", password=PASSWORD)
    answers = [run(q, "staff_login", name="budi", password=f"wrong guess {i:04d}", session=token())["reason"]
               for i in range(5)]
    assert answers == ["wrong"] * 4 + ["locked"]
    # Locked: even the right password is not checked now.
    assert run(q, "staff_login", name="budi", password=PASSWORD, session=token())["reason"] == "locked"
    clock.advance(seconds=15 * 60 + 1)
    assert run(q, "staff_login", name="budi", password=PASSWORD, session=token())["signed_in"]
    # A name without an account locks the same way, so the answer does not tell which names exist.
    answers = [run(q, "staff_login", name="nobody", password=f"wrong guess {i:04d}", session=token())["reason"]
               for i in range(6)]
    assert answers == ["wrong"] * 4 + ["locked", "locked"]
    with sqlite3.connect(db) as c:
        assert c.execute("select count(*) from audit_log where action='staff.login_failed'").fetchone()[0] == 10


def test_global_backoff_across_names_and_addresses(office):
    """Ten wrong passwords a day from anywhere are free; then each attempt waits, unchecked, whoever sends it."""
    q, sessions, clock, db = office
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="budi", role="petugas", password=PASSWORD)
    for i in range(10):
        answer = run(q, "staff_login", name=f"guess{i}", password=f"wrong guess {i:04d}", session=token(),
                     address=f"10.0.{i}.1")
        assert answer["reason"] == "wrong"
        clock.advance(seconds=1)
    answer = run(q, "staff_login", name="budi", password=PASSWORD, session=token(), address="10.9.9.9")
    assert answer == {"signed_in": False, "reason": "wait", "retry_after": 14}   # not even checked
    clock.advance(seconds=15)
    assert run(q, "staff_login", name="budi", password=PASSWORD, session=token())["signed_in"]


def test_global_backoff_after_many_wrong_passwords_from_anywhere():
    limits = staff.LoginLimits(free=10, base=15, cap=600)
    for i in range(10):
        assert limits.global_wait(now=i) == 0
        limits.failed(now=i)
    assert limits.global_wait(now=10) == pytest.approx(14.0)
    limits.failed(now=30)
    assert limits.global_wait(now=31) == pytest.approx(29.0)   # doubling
    for i in range(20):
        limits.failed(now=100 + i)
    assert limits.global_wait(now=120) == pytest.approx(599.0)   # capped at 10 minutes


def test_console_counter_only_for_the_counters_assigned(office):
    q, sessions, clock, db = office
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="budi", role="petugas", password=PASSWORD, counters=["loket-1"])
    budi = token()
    run(q, "staff_login", name="budi", password=PASSWORD, session=budi, address="10.0.0.7")
    run(q, "issue_ticket", service="adminduk")
    run(q, "issue_ticket", service="surat")
    assert run(q, "call_next", counter="loket-1", session=budi, address="10.0.0.7")["number"] == "A-001"
    assert error(q, "call_next", counter="loket-2", session=budi) == "forbidden"
    assert error(q, "call_next", counter="loket-1", session=token()) == "not_signed_in"
    run(q, "staff_logout", session=budi)
    assert error(q, "complete", counter="loket-1", session=budi) == "not_signed_in"
    counter_rows = [r for r in audit_rows(db) if r[1].startswith("counter.")]
    assert counter_rows == [("budi", "counter.call_next", "loket-1", "web 10.0.0.7", '{"ticket": "A-001"}')]
    # A counter device's buttons (no session) work as before.
    assert run(q, "complete", counter="loket-1")["state"] == "done"


def test_bring_back_a_no_show_and_call_a_number(office):
    q, *_ = office
    for _ in range(3):
        run(q, "issue_ticket", service="adminduk")
    run(q, "issue_ticket", service="surat")
    assert run(q, "call_next", counter="loket-1")["number"] == "A-001"
    run(q, "skip", counter="loket-1")
    assert error(q, "bring_back", counter="loket-1", number="A-002") == "ticket_not_no_show"   # still waiting
    # Out of order: A-003 before A-002.
    assert run(q, "call_number", counter="loket-1", number="A-003")["number"] == "A-003"
    assert error(q, "call_number", counter="loket-1", number="A-003") == "ticket_not_waiting"
    assert error(q, "call_number", counter="loket-1", number="B-001") == "not_for_counter"
    # The late resident: A-001 is called again; A-003 (being served) is completed first, as with "next".
    back = run(q, "bring_back", counter="loket-1", number="A-001")
    assert back["number"] == "A-001" and back["state"] == "called" and back["counter"]["id"] == "loket-1"
    state = q.snapshot()
    assert state["counters"][0]["serving"]["number"] == "A-001"
    assert state["last_calls"][0]["number"] == "A-001"
    assert next(s for s in state["services"] if s["code"] == "adminduk")["waiting"] == 1   # A-002 only
    assert run(q, "complete", counter="loket-1")["state"] == "done"
    assert error(q, "bring_back", counter="loket-1", number="A-001") == "ticket_not_no_show"
    run(q, "pause", counter="loket-1")
    assert error(q, "call_number", counter="loket-1", number="A-002") == "counter_paused"


def test_staff_audit_records_a_view_and_needs_a_session(office):
    q, sessions, clock, db = office
    admin = make_admin(q)
    run(q, "staff_audit", session=admin, action="audit.export", subject="2026-11", detail="csv", address="10.0.0.1")
    assert audit_rows(db)[-1] == ("admin", "audit.export", "2026-11", "web 10.0.0.1", "csv")
    assert error(q, "staff_audit", session=token(), action="audit.export") == "not_signed_in"
    # Nobody writes a sign-in, a change, or a kasi's action this way.
    run(q, "staff_add", session=admin, name="budi", role="petugas", password=PASSWORD)
    budi = token()
    run(q, "staff_login", name="budi", password=PASSWORD, session=budi)
    assert error(q, "staff_audit", session=budi, action="staff.login") == "forbidden"
    assert error(q, "staff_audit", session=budi, action="audit.export") == "forbidden"
    assert error(q, "staff_audit", session=budi, action="office.ticker") == "forbidden"
    run(q, "staff_audit", session=budi, action="ticket.view", subject="A-001")


def test_old_audit_rows_go_at_a_new_day(office):
    q, sessions, clock, db = office
    make_admin(q)
    clock.advance(days=731)
    run(q, "issue_ticket", service="adminduk")   # the first command of a new day
    assert audit_rows(db) == []


def test_console_switches_need_a_kasi_and_are_audited(office):
    q, sessions, clock, db = office
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="ani", role="kasi", password=PASSWORD)
    run(q, "staff_add", session=admin, name="budi", role="petugas", password=PASSWORD)
    ani, budi = token(), token()
    run(q, "staff_login", name="ani", password=PASSWORD, session=ani)
    run(q, "staff_login", name="budi", password=PASSWORD, session=budi)
    assert error(q, "set_web", service="adminduk", remote=False, session=budi) == "forbidden"
    assert error(q, "set_web", service="adminduk", remote=False, session=admin) == "forbidden"
    run(q, "set_web", service="adminduk", remote=False, session=ani, address="10.0.0.3")
    assert audit_rows(db)[-1] == ("ani", "office.set_web", "adminduk", "web 10.0.0.3", '{"remote": false}')
    run(q, "set_web", service="adminduk", remote=True)   # an operator's tool, without a session: as before


def test_weekly_settings_by_a_kasi_obey_the_configuration_schema(office):
    """Closing days and services on/off and their requirements: checked like the TOML file, audited, in the state,
    obeyed by tickets and appointments, and kept across a restart of the service."""
    q, sessions, clock, db = office
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="ani", role="kasi", password=PASSWORD)
    run(q, "staff_add", session=admin, name="budi", role="petugas", password=PASSWORD)
    ani, budi = token(), token()
    run(q, "staff_login", name="ani", password=PASSWORD, session=ani)
    run(q, "staff_login", name="budi", password=PASSWORD, session=budi)
    today = q.snapshot()["business_date"]
    assert error(q, "office_set", session=budi, holidays=[today]) == "forbidden"
    # The file's schema: a date that is not one.
    assert error(q, "office_set", session=ani, holidays=["2026-02-30"]) == "invalid_settings"
    assert error(q, "office_set", session=ani, holidays=["30-11-2026"]) == "invalid_settings"
    assert error(q, "office_set", session=ani, service="nope", active=False) == "unknown_service"

    run(q, "office_set", session=ani, service="surat", active=False)
    run(q, "office_set", session=ani, service="adminduk", requirements=["KTP asli", " ", "KK asli"])
    state = q.snapshot()
    svc = {s["code"]: s for s in state["services"]}
    assert svc["surat"]["active"] is False and svc["adminduk"]["requirements"] == ["KTP asli", "KK asli"]
    assert error(q, "issue_ticket", service="surat") == "service_inactive"
    run(q, "office_set", session=ani, holidays=[today])
    state = q.snapshot()
    assert state["holiday"] is True and state["hours_today"] is None
    assert not q.is_open(clock.now())
    rows = [r for r in audit_rows(db) if r[1].startswith("office.")]
    assert [(r[0], r[1], r[2]) for r in rows] == [("ani", "office.service", "surat"),
                                                  ("ani", "office.service", "adminduk"),
                                                  ("ani", "office.calendar", "calendar")]
    assert json.loads(rows[-1][4]) == {"holidays_added": [today], "holidays_removed": []}

    # A restart of the service keeps them (they are in its database).
    q2 = QueueService(config.from_dict({"queue": {"enforce_hours": False}}), sessions, clock=clock, plugins=PLUGINS)
    state = q2.snapshot()
    assert state["holiday"] is True
    assert {s["code"]: s["active"] for s in state["services"]}["surat"] is False
    settings = q2.execute("office_settings", "r1", {}).result
    assert settings["holidays"] == [today]


def test_appointments_obey_the_office_calendar(tmp_path):
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    cfg = config.from_dict({"queue": {"enforce_hours": False},
                            "office": {"hours": {d: "07:00-16:00" for d in every_day}},
                            "web": {"appointments": [{"service": "adminduk", "days": every_day}]}})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc))   # Monday 09:00 WIB
    q = QueueService(cfg, sessions, clock=clock, plugins=PLUGINS)
    admin = make_admin(q)
    run(q, "staff_add", session=admin, name="ani", role="kasi", password=PASSWORD)
    ani = token()
    run(q, "staff_login", name="ani", password=PASSWORD, session=ani)
    assert run(q, "booking_slots", service="adminduk", date="2026-12-01")["slots"]
    run(q, "office_set", session=ani, holidays=["2026-12-01"])
    assert run(q, "booking_slots", service="adminduk", date="2026-12-01")["slots"] == []
    assert error(q, "book", service="adminduk", date="2026-12-01", slot="10:00", name="Budi",
                 phone="081111111111") == "invalid_slot"
    run(q, "office_set", session=ani, holidays=[])   # opened again
    assert run(q, "booking_slots", service="adminduk", date="2026-12-01")["slots"]


def test_antre_staff_command(tmp_path):
    """``antre staff add / passwd / disable / enable / list``, as the installer runs it on the server."""
    import subprocess
    import sys

    from tests.support import ROOT

    cfg = tmp_path / "antre.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/a.db"\n')

    def staff_cmd(*args, password=None):
        return subprocess.run([sys.executable, "-m", "antre", "staff", "--config", str(cfg), *args],
                              input=(password + "\n") if password is not None else "", capture_output=True,
                              text=True, cwd=ROOT, timeout=60)

    assert "antre staff add NAME --role admin" in staff_cmd("list").stdout
    made = staff_cmd("add", "siti", "--role", "admin", "--full-name", "Siti Aminah", password=PASSWORD)
    assert made.returncode == 0, made.stderr
    short = staff_cmd("add", "budi", "--role", "petugas", password="pendek")
    assert short.returncode == 2 and "weak_password" in short.stderr
    assert staff_cmd("add", "budi", "--role", "petugas", "--counters", "loket-9", password=PASSWORD).returncode == 2
    assert staff_cmd("add", "budi", "--role", "petugas", "--counters", "loket-1", password=PASSWORD).returncode == 0
    assert staff_cmd("add", "Budi!", "--role", "petugas", password=PASSWORD).returncode == 2
    assert staff_cmd("disable", "siti").returncode == 2            # the last admin
    assert staff_cmd("passwd", "budi", password="sandi baru budi panjang").returncode == 0
    assert staff_cmd("disable", "budi").returncode == 0
    listed = staff_cmd("list").stdout
    assert re.search(r"budi\s+petugas\s+DISABLED\s+loket-1", listed) and re.search(r"siti\s+admin\s+aktif", listed)
    with sqlite3.connect(tmp_path / "a.db") as c:
        rows = c.execute("select actor, action, subject, detail from audit_log order by id").fetchall()
        hashes = [h for (h,) in c.execute("select password_hash from staff_accounts")]
    assert [r[1:3] for r in rows] == [("staff.add", "siti"), ("staff.add", "budi"), ("staff.update", "budi"),
                                      ("staff.update", "budi")]
    assert all(r[0].startswith("cli:") for r in rows) and '"password": "changed"' in rows[2][3]
    assert all(h.startswith("$argon2id$") for h in hashes) and PASSWORD not in str(rows)
