"""The web's commands through MQTT against ``antre serve``: remote tickets with per-phone limits,
bookings, check-in, ticket status, staff switches; and the retention of names and phone numbers
(in process, with a manual clock and a real SQLite file)."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from antre import config
from antre.clock import ManualClock
from antre.errors import CommandError
from antre.link.protocol import booking_code_ok, new_booking_code
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database
from tests.test_web import office_toml, phone, start_noon_office


@pytest.fixture
def noon_office(tmp_path, broker):
    o = start_noon_office(tmp_path, broker, office_toml())
    yield o
    o.client.stop()
    o.service.stop()


def test_remote_tickets_need_a_name_and_phone_and_respect_limits_and_switches(noon_office):
    c = noon_office.client
    p = phone()
    assert c.error("issue_ticket", service="adminduk", channel="web", name="Siti") == "missing_argument"
    assert c.error("issue_ticket", service="adminduk", channel="web", name="Siti", phone="123") == "invalid_argument"
    assert c.error("issue_ticket", service="adminduk", channel="web", name="3201234567890123",
                   phone=p) == "invalid_argument"                              # a NIK is not a name
    assert c.error("issue_ticket", service="adminduk", name="Siti", phone=p) == "invalid_argument"  # kiosk
    assert c.error("issue_ticket", service="adminduk", channel="web", name="Siti", phone=p,
                   priority="lansia") == "invalid_argument"
    first = c.ok("issue_ticket", service="adminduk", channel="web", name="Siti", phone="+62 " + p[1:])
    assert first["channel"] == "web" and "phone" not in first and "name" not in first
    c.ok("issue_ticket", service="adminduk", channel="web", name="Siti", phone=p)    # same number, normalised
    assert c.error("issue_ticket", service="surat", channel="web", name="Siti", phone=p) == "phone_limit_reached"
    assert c.error("issue_ticket", service="umum", channel="web", name="Siti", phone=phone()) == "remote_disabled"
    # Staff switch remote tickets off for a service, and on again; web_info tells the web app.
    assert c.ok("set_web", service="surat", remote=False) == {"service": "surat", "remote": False,
                                                              "appointments": False}
    assert c.error("issue_ticket", service="surat", channel="web", name="Ani", phone=phone()) == "remote_disabled"
    info = {s["code"]: s for s in c.ok("web_info")["services"]}
    assert info["surat"]["remote"] is False and info["adminduk"]["remote"] is True
    assert info["adminduk"]["appointments"] is True and info["umum"]["remote_configured"] is False
    c.ok("set_web", service="surat", remote=True)
    c.ok("issue_ticket", service="surat", channel="web", name="Ani", phone=phone())
    # surat's quota is 1: the web gets the same quota_reached as the kiosk.
    assert c.error("issue_ticket", service="surat", channel="web", name="Ani", phone=phone()) == "quota_reached"
    # The personal data is in its own table, not in the tickets; and never in the service's log.
    with sqlite3.connect(noon_office.db_path) as db:
        assert db.execute("select count(*) from remote_contacts where phone = ?", (p,)).fetchone() == (2,)
        assert "Siti" not in str(db.execute("select * from tickets").fetchall())
    assert p not in noon_office.service.output() and "Siti" not in noon_office.service.output()


def test_booking_check_in_and_status(noon_office):
    c = noon_office.client
    today = c.state()["business_date"]
    slots = c.ok("booking_slots", service="adminduk", date=today)["slots"]
    assert slots[0]["time"] == "06:00" and slots[-1]["time"] == "17:45" and slots[0]["past"]
    free = [s["time"] for s in slots if not s["past"]]
    near, far = free[0], free[-1]
    p = phone()
    booking = c.ok("book", service="adminduk", date=today, slot=near, name="Dewi", phone=p)
    assert len(booking["code"]) == 10 and booking_code_ok(booking["code"]) and booking["slot"] == near
    assert c.error("book", service="adminduk", date=today, slot=near, name="Eko", phone=phone()) == "slot_full"
    assert c.error("book", service="adminduk", date=today, slot="06:00", name="Eko", phone=phone()) == "slot_passed"
    assert c.error("book", service="adminduk", date=today, slot="06:07", name="Eko", phone=phone()) == "invalid_slot"
    assert c.error("book", service="surat", date=today, slot=near, name="Eko", phone=phone()) \
        == "appointments_disabled"
    later = (datetime.fromisoformat(today) + timedelta(days=4)).date().isoformat()
    assert c.error("book", service="adminduk", date=later, slot=near, name="Eko", phone=phone()) \
        == "date_out_of_range"
    tomorrow = (datetime.fromisoformat(today) + timedelta(days=1)).date().isoformat()
    tb = c.ok("book", service="adminduk", date=tomorrow, slot="09:00", name="Dewi", phone=p)
    c.ok("book", service="adminduk", date=tomorrow, slot="09:15", name="Dewi", phone=p)
    assert c.error("book", service="adminduk", date=tomorrow, slot="09:30", name="Dewi", phone=p) \
        == "phone_limit_reached"                                         # 2 bookings a day per phone
    far_booking = c.ok("book", service="adminduk", date=today, slot=far, name="Fajar", phone=phone())

    # Another day's code is answered as an unknown one: a guess learns nothing.
    unknown = new_booking_code()
    other_day, nowhere = c.request("check_in", code=tb["code"]), c.request("check_in", code=unknown)
    assert (other_day.code, other_day.message.replace(tb["code"], "#")) == \
        (nowhere.code, nowhere.message.replace(unknown, "#")) == ("booking_not_found", "no booking with this code")
    assert c.error("check_in", code=far_booking["code"]) == "too_early"   # 17:45, and it is about noon
    gita = phone()
    cancelled = c.ok("book", service="adminduk", date=tomorrow, slot="10:00", name="Gita", phone=gita)
    assert c.error("cancel_booking", code=cancelled["code"], phone=phone()) == "booking_not_found"
    assert c.ok("cancel_booking", code=cancelled["code"], phone=gita)["state"] == "cancelled"
    assert c.error("check_in", code=cancelled["code"]) == "booking_not_found"   # tomorrow's: as if unknown
    today_cancelled = c.ok("book", service="adminduk", date=today, slot=free[1], name="Gita", phone=gita)
    c.ok("cancel_booking", code=today_cancelled["code"], phone=gita)
    assert c.error("check_in", code=today_cancelled["code"]) == "booking_cancelled"
    c.ok("book", service="adminduk", date=tomorrow, slot="10:00", name="Hadi", phone=phone())  # free again

    walk = c.ok("issue_ticket", service="adminduk")
    ticket = c.ok("check_in", code=booking["code"], channel="kiosk")
    assert ticket["ahead"] == 0 and ticket["booking"] == booking["code"]
    st = c.ok("ticket_status", number=walk["number"])
    assert st["state"] == "waiting" and st["ahead"] == 1 and st["counter"] is None and st["today"]
    seq = c.wait_state(lambda s: next(x for x in s["services"] if x["code"] == "adminduk")["last_issued"]
                       == ticket["number"], "the state after the check-in")["seq"]
    c.ok("ticket_status", number=walk["number"], date=today)           # reading changes nothing
    assert c.error("ticket_status", number="A-999") == "ticket_not_found"
    assert c.ok("call_next", counter="loket-1")["number"] == ticket["number"]
    called = c.ok("ticket_status", number=ticket["number"])
    assert called["state"] == "called" and called["counter"] == {"id": "loket-1", "name": "Loket 1", "number": 1}
    assert c.ok("ticket_status", number=walk["number"])["ahead"] == 0
    assert c.wait_state(lambda s: s["seq"] > seq)["seq"] == seq + 1    # only call_next bumped it


def test_names_and_phone_numbers_are_deleted_after_their_day(tmp_path):
    every_day = {d: "07:00-16:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    cfg = config.from_dict({
        "queue": {"enforce_hours": False}, "office": {"hours": every_day},
        "web": {"retention_days": 1, "appointments": [{"service": "adminduk", "days": list(every_day)}]}})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc))   # Monday 09:00 WIB
    q = QueueService(cfg, sessions, clock=clock, plugins=PLUGINS)

    def run(cmd, **args):
        return q.execute(cmd, uuid.uuid4().hex, args).result

    run("issue_ticket", service="adminduk", channel="web", name="Siti", phone="081234567890")
    run("book", service="adminduk", date="2026-11-30", slot="10:00", name="Budi", phone="081111111111")
    run("book", service="adminduk", date="2026-12-01", slot="10:00", name="Citra", phone="082222222222")

    def personal():
        with sqlite3.connect(tmp_path / "a.db") as db:
            return (db.execute("select name, phone from remote_contacts").fetchall(),
                    db.execute("select name, phone, state from bookings order by id").fetchall())

    clock.advance(days=1)                       # retention 1 day: still kept on the next day
    run("issue_ticket", service="surat")
    assert personal()[0] == [("Siti", "081234567890")]
    clock.advance(days=1)
    q.tick()                                    # a new day purges, even before anyone takes a ticket
    contacts, bookings = personal()
    assert contacts == []
    assert bookings == [(None, None, "expired"), ("Citra", "082222222222", "expired")]
    with pytest.raises(CommandError) as err:
        run("check_in", code="123456")
    assert err.value.code == "booking_not_found"


def test_web_tickets_and_bookings_share_the_webs_part_of_the_quota_and_walk_ins_keep_theirs(tmp_path):
    every_day = {d: "07:00-16:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    cfg = config.from_dict({
        "queue": {"enforce_hours": False, "number_width": 2}, "office": {"hours": every_day},
        "services": [{"code": "adminduk", "name": "KTP", "prefix": "A", "daily_quota": 10},
                     {"code": "umum", "name": "Umum", "prefix": "C"}],
        "counters": [{"id": "loket-1", "name": "Loket 1", "services": ["adminduk", "umum"]}],
        "web": {"web_share": 30, "phone_daily_limit": 20,
                "appointments": [{"service": "adminduk", "days": list(every_day), "capacity": 5}]}})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    q = QueueService(cfg, sessions, clock=ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)),
                     plugins=PLUGINS)

    def run(cmd, **args):
        try:
            return q.execute(cmd, uuid.uuid4().hex, args).result
        except CommandError as exc:
            return exc.code

    web = dict(channel="web", name="Siti")
    # The web's share of adminduk: 30 % of 10 = 3, tickets and that day's bookings together.
    run("book", service="adminduk", date="2026-11-30", slot="10:00", name="Budi", phone="081111111111")
    assert run("issue_ticket", service="adminduk", phone="081234567890", **web)["number"] == "A-01"
    run("book", service="adminduk", date="2026-11-30", slot="10:30", name="Budi", phone="081111111112")
    assert run("issue_ticket", service="adminduk", phone="081234567891", **web) == "web_share_reached"
    assert run("book", service="adminduk", date="2026-11-30", slot="11:00", name="Budi",
               phone="081111111113") == "web_share_reached"
    # Another day has its own share.
    assert run("book", service="adminduk", date="2026-12-01", slot="11:00", name="Budi",
               phone="081111111113")["state"] == "booked"
    info = {s["code"]: s for s in run("web_info")["services"]}
    assert (info["adminduk"]["web_quota"], info["adminduk"]["web_used"]) == (3, 3)
    # A service without a quota: 30 % of its 99 two-digit numbers.
    assert info["umum"]["web_quota"] == 29
    # Walk-ins: the rest of the quota (10 minus the one web ticket), whatever the web tried.
    walk_ins = [run("issue_ticket", service="adminduk") for _ in range(10)]
    assert [w["number"] for w in walk_ins[:9]] == [f"A-{i:02d}" for i in range(2, 11)]
    assert walk_ins[9] == "quota_reached"


def test_ticket_qr_opens_the_status_page_when_the_site_is_public():
    from antre_kiosk.ticket import QR, TicketInfo, layout

    cfg = config.load_defaults()
    info = TicketInfo(number="A-012", service="adminduk", service_name="Adminduk",
                      issued_at=datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc),
                      business_date=datetime(2026, 11, 30).date())
    qr = lambda i: next(b.payload for b in layout(i, cfg.office) if isinstance(b, QR))  # noqa: E731
    assert qr(info) == "ANTRE|sukamaju|2026-11-30|A-012"
    url = "https://antre.sukamaju.desa.id/status/2026-11-30/A-012"
    assert qr(TicketInfo(**{**info.__dict__, "status_url": url})) == url
