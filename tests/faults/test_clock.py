"""Clock jumps: the service's clock moved a day forward or back with libfaketime, on a running
``antre serve`` and across restarts, while open tickets wait.

What must hold: no open ticket is ever lost (none stays ``expired``), the office is never locked
(every command after the clock is corrected is answered and applied, none is refused as
``clock_wrong`` or dropped as stale), and staff are told while the clock is wrong: the service's
presence says ``clock: "wrong"`` with a message starting "Jam Pi salah".
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import start_office
from tests.faults.conftest import COUNTERS, SERVICES, check_histories
from tests.support import DEADLINE, ServiceProcess, wait_for

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(not LIBFAKETIME.exists(), reason="libfaketime is not installed (Debian: faketime)")]
OPEN_TICKETS = 9


class FakeClock:
    """The service's wall clock offset through a libfaketime timestamp file (re-read every second).

    The monotonic clock is left alone, as when NTP or ``date -s`` steps a real clock."""

    def __init__(self, path: Path):
        self.path = path
        self.set("+0")

    def set(self, offset: str) -> None:
        self.path.write_text(offset + "\n")

    @property
    def env(self) -> dict[str, str]:
        return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME_TIMESTAMP_FILE": str(self.path),
                "FAKETIME_CACHE_DURATION": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def tickets(db: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as c:
        return {f"{d}/{n}": (s, d) for d, n, s in c.execute("SELECT business_date, number, state FROM tickets")}


def open_office(tmp_path, broker):
    fake = FakeClock(tmp_path / "faketime")
    office = start_office(tmp_path, broker, services=SERVICES, counters=COUNTERS)
    office.service.stop()   # started again under libfaketime
    office.service = ServiceProcess(office.config_path, tmp_path / "service.log", env=fake.env).start()
    office.client.wait_service()
    return office, fake


def restart(office, fake: FakeClock, offset: str) -> None:
    office.service.stop()
    office.client.wait_service(online=False)
    fake.set(offset)
    office.service.start()
    office.client.wait_service()


def applied(office, command: str, **args) -> dict:
    """The command is answered (not dropped) and applied (not refused)."""
    reply = office.client.request(command, timeout=DEADLINE, **args)
    assert reply.ok, f"{command} refused: {reply.code}: {reply.message}\n{office.service.output()[-3000:]}"
    return reply.result


def fill(office) -> str:
    """Open tickets: one called, the others waiting. Returns the business day (office time zone)."""
    days = {applied(office, "issue_ticket", service=s)["business_date"]
            for s in ("adminduk", "surat", "umum") * (OPEN_TICKETS // 3)}
    applied(office, "call_next", counter="loket-1")
    assert len(days) == 1
    return days.pop()


def assert_all_open(office, today: str) -> None:
    states = tickets(office.db_path)
    expired = [k for k, (s, _) in states.items() if s == "expired"]
    assert not expired, f"tickets lost to a wrong clock: {expired}"
    assert {d for _, d in states.values()} == {today}
    check_histories(office.db_path)


def wait_clock(office, verdict: str):
    wait_for(lambda: office.client.service_status.get("clock") == verdict, 40,
             f"the service's presence to say clock {verdict}:\n{office.service.output()[-3000:]}")
    return office.client.service_status


def test_clock_jumps_a_day_forward_while_running_and_back(tmp_path, broker):
    office, fake = open_office(tmp_path, broker)
    try:
        today = fill(office)
        fake.set("+1d")
        status = wait_clock(office, "wrong")   # noticed by the service itself (a jump; devices disagree)
        assert status["clock_message"].startswith("Jam Pi salah: jam menunjukkan ")
        assert status["business_date"] == today
        # The office goes on, on the open day: nothing expired, numbering continues.
        t = applied(office, "issue_ticket", service="adminduk")
        assert t["business_date"] == today and t["number"] == "A-004"
        assert office.client.wait_state(lambda s: s["business_date"] == today)
        assert_all_open(office, today)

        fake.set("+0")                         # corrected
        wait_clock(office, "ok")
        called = applied(office, "call_next", counter="loket-2")
        assert called["business_date"] == today
        assert applied(office, "issue_ticket", service="umum")["number"] == "C-004"
        assert_all_open(office, today)
        assert "stale" not in office.service.output()
        print(f"\nclock +1 day while running: {OPEN_TICKETS + 2} tickets, 0 expired, 0 refused, 0 dropped")
    finally:
        office.client.stop()
        office.service.stop()


def test_restart_on_a_clock_a_day_ahead_is_undone_then_corrected(tmp_path, broker):
    office, fake = open_office(tmp_path, broker)
    try:
        today = fill(office)
        # A reboot with a clock a day ahead: the service has no evidence yet and opens "tomorrow" at its first
        # tick ... (waited for: a command that came before that tick would find the day not changed yet and
        # only hold it, so there would be nothing to undo)
        restart(office, fake, "+1d")
        tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
        office.client.wait_state(lambda s: s["business_date"] == tomorrow, "the service to open 'tomorrow'")
        # ... until the first device speaks: its clock says today, and nothing happened "tomorrow" yet,
        # so the day change is undone and today stays open.
        t = applied(office, "issue_ticket", service="surat")
        assert t["business_date"] == today and t["number"] == "B-004"
        status = wait_clock(office, "wrong")
        assert status["clock_message"].startswith("Jam Pi salah") and status["business_date"] == today
        assert_all_open(office, today)
        assert "was undone" in office.service.output()

        restart(office, fake, "+0")             # the clock is set right (and the service restarted)
        assert wait_clock(office, "ok")["business_date"] == today
        assert applied(office, "call_next", counter="loket-1")["business_date"] == today
        assert applied(office, "issue_ticket", service="surat")["number"] == "B-005"
        assert_all_open(office, today)
        print(f"\nrestart on +1 day: the day change (expiring {OPEN_TICKETS} tickets) was undone at the first "
              "device command; 0 lost")
    finally:
        office.client.stop()
        office.service.stop()


def test_restart_on_a_clock_a_day_behind_keeps_the_office_open(tmp_path, broker):
    office, fake = open_office(tmp_path, broker)
    try:
        today = fill(office)
        restart(office, fake, "-1d")
        t = applied(office, "issue_ticket", service="umum")   # not clock_wrong: the open day goes on
        assert t["business_date"] == today and t["number"] == "C-004"
        assert wait_clock(office, "wrong")["clock_message"].startswith("Jam Pi salah")
        fake.set("+0")
        wait_for(lambda: applied(office, "recall", counter="loket-1")
                 and office.client.service_status.get("clock") == "ok", 40, "the warning to go")
        assert applied(office, "issue_ticket", service="umum")["number"] == "C-005"
        assert_all_open(office, today)
    finally:
        office.client.stop()
        office.service.stop()
