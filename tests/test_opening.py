"""Opening hours and holidays (``antre.opening``), the configuration's refusal of slots outside them,
and the booking rules residents meet: no slot on a closed day, one phone cannot fill a slot, cancelling
frees the slot and may be repeated. Rules in process, with a manual clock and a real SQLite file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from antre import config, opening
from antre.clock import ManualClock
from antre.errors import CommandError, ConfigError
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database
from tests.support import ROOT

WIB = ZoneInfo("Asia/Jakarta")
OFFICE = config.OfficeConfig(holidays=["2026-12-25", "2026-12-07"])


def at(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WIB)


# ---------------------------------------------------------------------- opening hours


def test_open_and_next_opening_skip_weekends_and_holidays():
    # Friday 4 December 2026: open 08.00-11.30 (the sample's hours).
    assert opening.is_open(OFFICE, at(2026, 12, 4, 8, 0))
    assert not opening.is_open(OFFICE, at(2026, 12, 4, 11, 30))
    assert not opening.is_open(OFFICE, at(2026, 12, 4, 7, 59))
    # Before opening: today. After closing on Friday: not Saturday/Sunday, and Monday 7th is a holiday.
    assert opening.next_opening(OFFICE, at(2026, 12, 4, 7, 0)) == at(2026, 12, 4, 8, 0)
    assert opening.next_opening(OFFICE, at(2026, 12, 4, 12, 0)) == at(2026, 12, 8, 8, 0)
    # A holiday on an open weekday is closed all day.
    assert not opening.is_open(OFFICE, at(2026, 12, 25, 9, 0))
    assert opening.hours_on(OFFICE, date(2026, 12, 25)) is None
    assert opening.is_holiday(OFFICE, date(2026, 12, 25)) and not opening.is_holiday(OFFICE, date(2026, 12, 24))
    # Any zone in, the office's zone out.
    assert opening.is_open(OFFICE, datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc))   # 09.00 WIB
    never = config.OfficeConfig(hours=config.OpeningHours(**{d: "closed" for d in config.WEEKDAYS}))
    assert opening.next_opening(never, at(2026, 12, 4, 9)) is None and opening.opens_text(never, at(2026, 12, 4, 9)) == ""


def test_when_it_opens_next_is_said_as_residents_read_it():
    assert opening.opens_text(OFFICE, at(2026, 12, 4, 6, 0)) == "hari ini pukul 08.00"
    assert opening.opens_text(OFFICE, at(2026, 12, 8, 16, 0)) == "besok, Rabu pukul 08.00"
    assert opening.opens_text(OFFICE, at(2026, 12, 8, 16, 0), "en") == "tomorrow, Wednesday at 08:00"
    assert opening.opens_text(OFFICE, at(2026, 12, 4, 12, 0)) == "Selasa, 8 Desember 2026 pukul 08.00"
    assert opening.week_text(OFFICE) == "Senin–Kamis 08.00–15.00, Jumat 08.00–11.30, Sabtu–Minggu tutup"
    assert opening.week_text(OFFICE, "en") == "Monday–Thursday 08:00–15:00, Friday 08:00–11:30, Saturday–Sunday closed"
    assert opening.open_days(OFFICE, date(2026, 12, 4), 5) == [date(2026, 12, 4), date(2026, 12, 8)]


# ---------------------------------------------------------------------- configuration


def test_holidays_must_be_dates():
    assert config.from_dict({"office": {"holidays": ["2026-12-25"]}}).office.holidays == ["2026-12-25"]
    for bad in (["25-12-2026"], ["2026-02-30"], ["natal"]):
        with pytest.raises(ConfigError, match="office.holidays"):
            config.from_dict({"office": {"holidays": bad}})


@pytest.mark.parametrize("slots, hours, expect", [
    # Friday closes at 11.30: a slot at 11.30 would start with the door shut.
    ({"days": ["fri"], "start": "08:00", "end": "12:00"}, {}, "11:30 on 'fri' start outside the opening hours"),
    ({"days": ["mon"], "start": "07:00", "end": "09:00"}, {}, "07:00, 07:30 on 'mon'"),
    ({"days": ["sat"]}, {}, "days include 'sat', but [office.hours] sat = \"closed\""),
    ({"days": ["mon"], "start": "14:00", "end": "16:00"}, {"mon": "08:00-14:00"}, "14:00, 14:30, 15:00 ..."),
])
def test_appointment_slots_outside_opening_hours_are_refused(slots, hours, expect):
    data = {"web": {"appointments": [{"service": "adminduk"} | slots]}}
    if hours:
        data["office"] = {"hours": hours}
    with pytest.raises(ConfigError) as err:
        config.from_dict(data, "antre.toml")
    assert "[[web.appointments]] for 'adminduk'" in str(err.value) and expect in str(err.value)


def test_slots_inside_opening_hours_are_accepted():
    cfg = config.from_dict({"web": {"appointments": [
        {"service": "adminduk", "days": ["mon", "fri"], "start": "08:00", "end": "11:30", "every_minutes": 30}]}})
    assert cfg.web.appointments[0].days == ["mon", "fri"]


def _config_check(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "antre.toml"
    path.write_text(text)
    return subprocess.run([sys.executable, "-m", "antre", "config", "check", str(path), "--strict"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_config_check_refuses_slots_outside_hours_and_warns_on_default_secrets(tmp_path):
    # Slots on Saturday, when the sample office is closed: refused, naming the file and what to change.
    out = _config_check(tmp_path, '[[web.appointments]]\nservice = "adminduk"\ndays = ["mon", "sat"]\n')
    assert out.returncode != 0
    assert "antre.toml" in out.stderr and "days include 'sat'" in out.stderr and "closed" in out.stderr
    # The sample's secrets: the kiosk PIN 1234 and an older short staff PIN are warned about.
    out = _config_check(tmp_path, '[kiosk]\nstaff_pin = "1234"\n[web]\nstaff_pin_hash = "scrypt$1$1$1$a$b"\n')
    assert out.returncode == 1, out.stderr
    assert "warning: [kiosk] staff_pin is the sample's default '1234'" in out.stderr
    assert "warning: [web] staff_pin_hash is a short PIN" in out.stderr
    assert "2 warning(s)" in out.stdout and 'staff_pin = "********"' in out.stdout   # secrets are masked
    assert 'staff_pin = "1234"' not in out.stdout
    # Own secrets and slots inside the hours: clean.
    out = _config_check(tmp_path, '[kiosk]\nstaff_pin = "48201937"\n[[web.appointments]]\nservice = "adminduk"\n'
                                  'days = ["mon", "tue"]\nstart = "08:00"\nend = "12:00"\n')
    assert out.returncode == 0, out.stderr
    assert "warning" not in out.stderr and ": OK\n" in out.stdout


# ---------------------------------------------------------------------- bookings


def _queue(tmp_path, *, holidays=(), web=None):
    cfg = config.from_dict({
        "office": {"holidays": list(holidays)},
        "web": {"phone_daily_limit": 5, "booking_days_ahead": 10} | (web or {}) | {"appointments": [
            {"service": "adminduk", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "11:00",
             "every_minutes": 30, "capacity": 3}]}})
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    clock = ManualClock(datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc))   # Thursday 08.00 WIB
    q = QueueService(cfg, sessions, clock=clock, plugins=PLUGINS)

    def run(cmd, rid=None, **args):
        try:
            return q.execute(cmd, rid or uuid.uuid4().hex, args).result
        except CommandError as exc:
            return exc.code

    return q, run, clock


def test_no_slots_on_closed_days_and_holidays(tmp_path):
    q, run, _ = _queue(tmp_path, holidays=["2026-12-08"])
    friday = run("booking_slots", service="adminduk", date="2026-12-04")["slots"]
    # Friday closes at 11.30: the 08.00-10.30 slots (all inside) are offered.
    assert [s["time"] for s in friday] == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30"]
    assert run("booking_slots", service="adminduk", date="2026-12-05")["slots"] == []   # Saturday
    assert run("booking_slots", service="adminduk", date="2026-12-08")["slots"] == []   # a holiday
    assert run("book", service="adminduk", date="2026-12-08", slot="09:00", name="Siti",
               phone="081234567890") == "invalid_slot"
    # The state says whether today is a holiday and when the office opens next.
    state = q.snapshot()
    assert state["open"] is True and state["holiday"] is False
    assert state["next_open"] == "2026-12-04T01:00:00+00:00"


def test_one_phone_cannot_fill_a_slot_and_cancelling_frees_it(tmp_path):
    q, run, _ = _queue(tmp_path)
    phone = "081234567890"
    first = run("book", service="adminduk", date="2026-12-04", slot="09:00", name="Siti", phone=phone)
    assert first["state"] == "booked"
    # The same phone, the same slot: refused (limit 1 per slot), though the slot has room and the day's limit too.
    assert run("book", service="adminduk", date="2026-12-04", slot="09:00", name="Siti",
               phone="+62 812-3456-7890".replace(" ", "").replace("-", "").replace("+62", "0")) == \
        "phone_slot_limit_reached"
    assert run("book", service="adminduk", date="2026-12-04", slot="09:30", name="Siti", phone=phone)["state"] \
        == "booked"
    others = [run("book", service="adminduk", date="2026-12-04", slot="09:00", name="Budi",
                  phone=f"08111111111{i}") for i in range(2)]
    assert [o["state"] for o in others] == ["booked", "booked"]
    slots = {s["time"]: s for s in run("booking_slots", service="adminduk", date="2026-12-04")["slots"]}
    assert slots["09:00"]["free"] == 0

    # Cancel: the wrong phone learns nothing; the right one cancels; again (a reload) says the same.
    assert run("cancel_booking", code=first["code"], phone="089999999999") == "booking_not_found"
    cancelled = run("cancel_booking", code=first["code"], phone=phone)
    assert cancelled["state"] == "cancelled" and cancelled["slot"] == "09:00"
    assert run("cancel_booking", code=first["code"], phone=phone) == cancelled
    slots = {s["time"]: s for s in run("booking_slots", service="adminduk", date="2026-12-04")["slots"]}
    assert slots["09:00"]["free"] == 1
    assert run("book", service="adminduk", date="2026-12-04", slot="09:00", name="Citra",
               phone="082222222222")["state"] == "booked"
    assert run("check_in", code=first["code"]) == "booking_not_found"   # another day; and cancelled anyway
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select state from bookings where code = ?", (first["code"],)).fetchone() == ("cancelled",)


def test_the_per_slot_limit_is_configurable_and_a_used_booking_cannot_be_cancelled(tmp_path):
    q, run, clock = _queue(tmp_path, web={"phone_slot_limit": 2, "retention_days": 1})
    phone = "081234567890"
    a, b = (run("book", service="adminduk", date="2026-12-03", slot="10:00", name="Siti", phone=phone)
            for _ in range(2))
    assert a["state"] == b["state"] == "booked"
    assert run("book", service="adminduk", date="2026-12-03", slot="10:00", name="Siti",
               phone=phone) == "phone_slot_limit_reached"
    clock.advance(minutes=100)                                  # 09.40: check-in is open for 10.00
    assert run("check_in", code=a["code"])["booking"] == a["code"]
    assert run("cancel_booking", code=a["code"], phone=phone) == "already_checked_in"
    clock.advance(days=1)
    assert run("cancel_booking", code=b["code"], phone=phone) == "booking_expired"
    clock.advance(days=1)                          # past the retention: the phone number is gone
    assert run("cancel_booking", code=b["code"], phone=phone) == "booking_not_found"


def test_the_state_follows_the_office_opening_and_closing_without_a_command(tmp_path):
    q, run, clock = _queue(tmp_path, holidays=["2026-12-04"])
    clock.set(datetime(2026, 12, 3, 0, 59, tzinfo=timezone.utc))      # Thursday 07.59 WIB
    q.tick()
    assert q.snapshot()["open"] is False and q.snapshot()["next_open"] == "2026-12-03T01:00:00+00:00"
    clock.advance(minutes=1)                                           # 08.00: open
    assert q.tick() is True                                            # the service republishes the state
    assert q.snapshot()["open"] is True
    assert q.tick() is False                                           # nothing changed since
    clock.advance(hours=7)                                             # 15.00: closed; Friday is a holiday
    assert q.tick() is True
    state = q.snapshot()
    assert state["open"] is False and state["next_open"] == "2026-12-07T01:00:00+00:00"   # Monday 08.00
