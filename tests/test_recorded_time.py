"""While a doubtful clock holds the business day, letters and complaints are written down with the service's
recorded time (QueueService.recorded_time): the devices' clock when it falls on the held day, else the clock's
time of day moved onto the held day; their created_at/updated_at then agree with their due dates, which count
from the held day. With a trusted clock nothing changes."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from tests.test_letters import domisili, rules_office

WIB = timezone(timedelta(hours=7))
TEXT = "Lampu jalan di depan balai desa mati sejak minggu lalu."


def stamps(tmp_path, table: str) -> list[tuple[datetime, datetime]]:
    with sqlite3.connect(tmp_path / "a.db") as db:
        return [(datetime.fromisoformat(c).replace(tzinfo=timezone.utc), datetime.fromisoformat(u).replace(
            tzinfo=timezone.utc)) for c, u in db.execute(f"select created_at, updated_at from {table} order by id")]


def test_records_take_the_held_day_while_the_clock_is_doubted(tmp_path):
    q, clock, run, error, st = rules_office(tmp_path)   # Monday 2026-12-07 09.00 WIB
    held = run("complaint_submit", category="pengaduan", topic="pelayanan", text=TEXT, anonymous=True)
    assert q.clock_warning is None
    # The clock jumps 1 day and 3 hours ahead; the devices disagree with it (and say nothing of their clock).
    q.clock_doubt = lambda: "devices disagree"
    clock.advance(days=1, hours=3)
    letter = run("letter_request", type="domisili", fields=domisili(), channel="web")
    complaint = run("complaint_submit", category="pengaduan", topic="pelayanan", text=TEXT, anonymous=True)
    assert q.clock_warning is not None and q.today.day.isoformat() == "2026-12-07"
    for created, updated in (stamps(tmp_path, "letter_requests")[-1], stamps(tmp_path, "complaints")[-1]):
        assert created == updated == datetime(2026, 12, 7, 12, 0, tzinfo=WIB)   # 12.00 on the held Monday
    assert letter["created_at"].startswith("2026-12-07") and complaint["created_at"].startswith("2026-12-07")
    assert run("complaint_status", code=complaint["code"])["verify_due"] == \
        run("complaint_status", code=held["code"])["verify_due"]                # due dates from the same day
    # A device's clock on the held day is the better witness: taken as it is.
    seen = datetime(2026, 12, 7, 10, 15, tzinfo=WIB)
    q.clock_device_time = lambda: seen.timestamp()
    run("complaint_add", code=complaint["code"], text="Sudah tiga malam gelap, mohon segera diperbaiki.")
    assert stamps(tmp_path, "complaints")[-1][1] == seen
    # A clock behind the open day: records are kept within the held day too.
    q.clock_device_time = lambda: None
    clock.advance(days=-3)
    run("letter_request", type="domisili", fields=domisili(), channel="web")
    created = stamps(tmp_path, "letter_requests")[-1][0]
    assert created.astimezone(WIB).date().isoformat() == "2026-12-07"
    # Trusted again: the clock as it is.
    q.clock_doubt = lambda: None
    clock.advance(days=3)
    run("letter_request", type="domisili", fields=domisili(), channel="web")
    assert stamps(tmp_path, "letter_requests")[-1][0] == clock.now()
