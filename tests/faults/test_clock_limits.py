"""The "semua urusan saya" code limits (antre/rules/my_items.py) across a clock set back, on a real ``antre serve``
under libfaketime on a real broker and SQLite file: codes asked while the Pi's clock was a day ahead are stamped a
day late, and counted against the address's and the number's limits until real time caught up with them. A
resident was locked out of their items for as long as the clock had been wrong.
"""

from __future__ import annotations

import sqlite3

import pytest

from antre.rules import my_items
from tests.faults.test_clock import LIBFAKETIME, FakeClock, wait_clock
from tests.faults.test_records import spool_folders, start, stop

pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(not LIBFAKETIME.exists(), reason="libfaketime is not installed (Debian: faketime)")]
MINE = "081234560001"
ADDRESS = "2001:db8:77:1::5"


def code_rows(db) -> list[str]:
    """The code hashes of the codes asked so far, oldest first: '-' for one the number's limit held back."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as c:
        return [h for (h,) in c.execute("SELECT code_hash FROM phone_codes ORDER BY id")]


def test_codes_asked_while_the_clock_was_ahead_do_not_lock_a_resident_out(tmp_path, broker):
    fake = FakeClock(tmp_path / "faketime")
    spool = tmp_path / "spool"
    spool_folders(spool)
    notify = f'\n[notify]\nsms = true\nspool = "{spool}"\npoll_seconds = 0.2\n'
    office = start(tmp_path, broker, tmp_path / "antre.db", env=fake.env, notify=notify)
    try:
        c = office.client
        fake.set("+1d")
        wait_clock(office, "wrong")
        for i in range(my_items.PER_ADDRESS_HOUR):   # the number's limit, then the address's
            c.ok("items_code", phone=MINE if i < my_items.PER_NUMBER_HOUR else f"08123457{i:04d}",
                 address=f"2001:db8:77:1::{i + 10:x}")
        assert c.error("items_code", phone=MINE, address=ADDRESS) == "too_many_attempts"
        fake.set("+0")                                # set right
        wait_clock(office, "ok")
        assert c.ok("items_code", phone=MINE, address=ADDRESS)["sent"]
        assert code_rows(office.db_path)[-1] != "-"   # a code went to the number, not held back by its limit
        # Codes asked now count as ever.
        for i in range(1, my_items.PER_ADDRESS_HOUR):
            c.ok("items_code", phone=f"08123458{i:04d}", address=ADDRESS)
        assert c.error("items_code", phone=MINE, address=ADDRESS) == "too_many_attempts"
    finally:
        stop(office)
