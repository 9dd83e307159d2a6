""""Semua urusan saya" as rules (antre/rules/my_items.py) on a real SQLite file with a manual clock: the code
goes through the notify outbox (budgets, STOP), confirms once, expires, burns after wrong tries; the list shows
only the confirmed number's open items (never an anonymous complaint's); no table holds the number; the same
answer whether or not a number has anything."""

from __future__ import annotations

import re
import secrets
import sqlite3
import uuid

import pytest

from antre.errors import CommandError
from antre.rules import my_items
from tests.test_letters import domisili
from tests.test_notify_rules import Office

MINE, OTHER, STRANGER = "081234560001", "081234560002", "081234560003"


@pytest.fixture
def office(tmp_path):
    return Office(tmp_path)


def error(office, cmd, **args) -> str:
    with pytest.raises(CommandError) as exc:
        office.q.execute(cmd, uuid.uuid4().hex, args)
    return exc.value.code


def sent_code(office, phone: str) -> str:
    rows = office.outbox(f"kind = 'login_code' and phone = '{phone}' and state != 'skipped'")
    assert rows, office.outbox()
    body = rows[-1][3]
    return re.search(r"kode Anda (\d{6})", body)[1]


def token() -> str:
    return secrets.token_urlsafe(32)


def items_of(office, session: str) -> list[dict]:
    return office.run("items_list", session=session)["items"]


def test_a_number_confirmed_by_sms_sees_its_own_open_items_only(office, tmp_path):
    run = office.run
    mine = run("issue_ticket", service="adminduk", channel="web", name="Siti Aminah", phone=MINE)
    run("issue_ticket", service="adminduk", channel="web", name="Budi Santoso", phone=OTHER)
    day = mine["business_date"]
    slot = next(s["time"] for s in run("booking_slots", service="adminduk", date=day)["slots"] if s["free"] and not s["past"])
    booking = run("book", service="adminduk", date=day, slot=slot, name="Siti Aminah", phone=MINE)
    letter = run("letter_request", type="domisili", fields=domisili(), channel="web", phone=MINE)
    complaint = run("complaint_submit", category="pengaduan", topic="pelayanan", text="Jalan rusak", name="Siti Aminah",
                    phone=MINE, channel="web")
    anonymous = run("complaint_submit", category="pengaduan", topic="pelayanan", text="Pungli", anonymous=True,
                    phone=MINE, channel="web")
    assert run("items_code", phone="+62 812-3456-0001", address="10.0.0.5") == {"sent": True, "minutes": 10}
    code = sent_code(office, MINE)
    # A wrong code is answered (and counted), the right one opens a session, and never twice (no replay).
    session = token()
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    assert run("items_confirm", phone=MINE, code=wrong, session=session) == {"confirmed": False}
    assert error(office, "items_list", session=session) == "not_signed_in"
    assert run("items_confirm", phone=MINE, code=code, session=session)["confirmed"] is True
    assert run("items_confirm", phone=MINE, code=code, session=token()) == {"confirmed": False}
    got = {(i["kind"], i["code"]) for i in items_of(office, session)}
    assert got == {("ticket", mine["number"]), ("booking", booking["code"]), ("letter", letter["code"]),
                   ("complaint", complaint["code"])}
    assert anonymous["code"] not in str(items_of(office, session))
    # Someone else's number: nothing without its code, whatever they type.
    other_session = token()
    run("items_code", phone=OTHER, address="10.0.0.6")
    theirs = sent_code(office, OTHER)
    for guess in {"000000", "123456", code} - {theirs}:   # MINE's own code too
        assert run("items_confirm", phone=OTHER, code=guess, session=other_session) == {"confirmed": False}
    assert error(office, "items_list", session=other_session) == "not_signed_in"
    # Sign out ends it; expiry ends it.
    run("items_logout", session=session)
    assert error(office, "items_list", session=session) == "not_signed_in"
    # The tables hold no number: only keyed hashes.
    with sqlite3.connect(tmp_path / "a.db") as db:
        for table in ("phone_codes", "phone_sessions"):
            dump = str(db.execute(f"select * from {table}").fetchall())
            assert MINE not in dump and MINE[1:] not in dump and session not in dump
            assert not re.search(rf"(?<![0-9a-f]){code}(?![0-9a-f])", dump)   # not the code (a hash may hold its digits)


def test_codes_expire_burn_and_are_limited_without_telling_anything(office):
    run, clock = office.run, office.q.clock
    # No items at all: the very same answer.
    assert run("items_code", phone=STRANGER, address="10.0.0.9") == {"sent": True, "minutes": 10}
    code = sent_code(office, STRANGER)
    session = token()
    clock.advance(minutes=my_items.CODE_MINUTES, seconds=1)
    assert run("items_confirm", phone=STRANGER, code=code, session=session) == {"confirmed": False}   # expired
    run("items_code", phone=STRANGER, address="10.0.0.9")
    code = sent_code(office, STRANGER)
    for _ in range(my_items.MAX_ATTEMPTS):
        bad = f"{(int(code) + 7) % 10 ** 6:06d}"
        assert run("items_confirm", phone=STRANGER, code=bad, session=session) == {"confirmed": False}
    assert run("items_confirm", phone=STRANGER, code=code, session=session) == {"confirmed": False}   # burnt
    # The number's hourly limit: the same answer, no SMS.
    run("items_code", phone=STRANGER, address="10.0.0.10")
    before = len(office.outbox("kind = 'login_code'"))
    assert run("items_code", phone=STRANGER, address="10.0.0.11") == {"sent": True, "minutes": 10}
    assert len(office.outbox("kind = 'login_code'")) == before
    # One address asking for many numbers: refused after five an hour.
    for i in range(my_items.PER_ADDRESS_HOUR):
        run("items_code", phone=f"08123457{i:04d}", address="10.0.0.99")
    assert error(office, "items_code", phone="081234579999", address="10.0.0.99") == "too_many_attempts"
    clock.advance(hours=1, seconds=1)
    assert run("items_code", phone="081234579999", address="10.0.0.99")["sent"]


def test_one_ipv6_prefix_is_one_address_for_the_code_limit(office):
    """A phone on IPv6 privacy addresses, or anyone with a /64, asked from a new address each time and never met
    the per-address limit: codes for any number, without end. An IPv6 address counts by its /64, an
    IPv4-mapped one as its IPv4 address."""
    for i in range(my_items.PER_ADDRESS_HOUR):
        office.run("items_code", phone=f"08123457{i:04d}", address=f"2001:db8:aa:bb:{i + 1:x}:1234:5678:9abc")
    assert error(office, "items_code", phone="081234579999", address="2001:db8:aa:bb::42") == "too_many_attempts"
    assert office.run("items_code", phone="081234579999", address="2001:db8:aa:bc::42")["sent"]   # the next /64
    for i in range(my_items.PER_ADDRESS_HOUR):
        address = "203.0.113.9" if i % 2 else "::ffff:203.0.113.9"
        office.run("items_code", phone=f"08123458{i:04d}", address=address)
    assert error(office, "items_code", phone="081234589999", address="::ffff:203.0.113.9") == "too_many_attempts"
    assert error(office, "items_code", phone="081234589999", address="203.0.113.9") == "too_many_attempts"
    assert office.run("items_code", phone="081234589999", address="203.0.113.10")["sent"]


def test_an_opted_out_number_gets_no_code_and_the_answer_does_not_say_so(office):
    office.sms(MINE, "STOP")
    assert office.run("items_code", phone=MINE, address="10.0.0.5") == {"sent": True, "minutes": 10}
    rows = office.outbox("kind = 'login_code'")
    assert rows and rows[-1][4] == "skipped" and rows[-1][5] == "opted_out"


def test_the_code_counts_in_the_sms_budget(tmp_path):
    office = Office(tmp_path, number_daily_limit=1)
    office.run("items_code", phone=MINE, address="10.0.0.5")
    office.run("items_code", phone=MINE, address="10.0.0.5")
    states = [r[4:6] for r in office.outbox("kind = 'login_code'")]
    assert states[0][0] != "skipped" and states[1] == ("skipped", "number_budget")


def test_without_sms_the_answer_says_so(tmp_path):
    office = Office(tmp_path, sms=False)
    assert error(office, "items_code", phone=MINE) == "sms_off"


def test_codes_and_sessions_are_deleted_a_day_later(office, tmp_path):
    office.run("items_code", phone=MINE, address="10.0.0.5")
    session = token()
    assert office.run("items_confirm", phone=MINE, code=sent_code(office, MINE), session=session)["confirmed"]
    office.q.clock.advance(days=2)
    office.q.tick()   # opens the new business day: its hooks run
    with sqlite3.connect(tmp_path / "a.db") as db:
        assert db.execute("select count(*) from phone_codes").fetchone() == (0,)
        assert db.execute("select count(*) from phone_sessions").fetchone() == (0,)


def test_codes_from_many_addresses_cannot_spend_the_offices_sms_budget(tmp_path):
    """Attack: one person with many addresses (mobile data reconnects, IPv6) asks codes for made-up numbers, 5 an
    hour from each address. Without an office-wide cap every SMS of the day went to strangers' phones and the
    queue's own messages were skipped as 'office_budget'. Login codes may take only their share of the budget."""
    office = Office(tmp_path, daily_budget=40)
    refused = sent = 0
    for i in range(60):
        try:
            office.run("items_code", phone=f"0813{i:08d}", address=f"10.1.{i // 5}.{i % 5}")
            sent += 1
        except CommandError as exc:
            assert exc.code == "too_many_attempts"
            refused += 1
    codes = office.outbox("kind = 'login_code' and state != 'skipped'")
    assert len(codes) <= 40 * my_items.BUDGET_SHARE and refused == 60 - sent > 0
    # The queue's own messages still go out.
    office.run("issue_ticket", service="adminduk", channel="web", name="Siti", phone=MINE, notify=True)
    [(_, _, _, _, state, reason, _)] = office.outbox("kind = 'created'")
    assert (state, reason) == ("pending", None)
    # A resident's own number still gets its code once the day has passed.
    office.q.clock.advance(days=1, hours=1)
    assert office.run("items_code", phone=OTHER, address="10.9.9.9")["sent"]


def test_a_session_ends_at_its_minute_and_a_token_is_never_taken_twice(office):
    """Expiry and fixation: a session opens nothing after SESSION_MINUTES, and a token already used (even one
    the browser was handed by someone else) is never bound to another number's confirmation."""
    office.run("items_code", phone=MINE, address="10.0.0.5")
    session = token()
    assert office.run("items_confirm", phone=MINE, code=sent_code(office, MINE), session=session)["confirmed"]
    assert office.run("items_list", session=session)["items"] == []
    office.run("items_code", phone=OTHER, address="10.0.0.6")
    # The same token offered with another number's right code: refused, and MINE's session is untouched.
    assert office.run("items_confirm", phone=OTHER, code=sent_code(office, OTHER), session=session) == \
        {"confirmed": False}
    office.q.clock.advance(minutes=my_items.SESSION_MINUTES - 1)
    assert office.run("items_list", session=session)["items"] == []
    office.q.clock.advance(minutes=1)
    assert error(office, "items_list", session=session) == "not_signed_in"


def test_a_number_written_with_other_digits_is_not_another_number(office):
    """'08１234560001' (a full-width digit) or Arabic-Indic digits passed Python's \\d: every such spelling of one
    number was a number of its own, with its own code limits and SMS budget, so a resident's phone could be
    flooded with codes. Only 0-9 make a number."""
    fullwidth = {str(d): chr(0xFF10 + d) for d in range(10)}
    arabic = {str(d): chr(0x0660 + d) for d in range(10)}
    for i in range(2, len(MINE)):
        for digits in (fullwidth, arabic):
            odd = MINE[:i] + digits[MINE[i]] + MINE[i + 1:]
            assert error(office, "items_code", phone=odd, address="10.0.0.5") == "invalid_argument", odd
    assert office.outbox("kind = 'login_code'") == []


def test_a_clock_set_back_does_not_stretch_a_code_or_a_session(office):
    """A code or a session made while the clock was a day ahead (then set right, e.g. by NTP) lives no longer
    than its minutes from then on: it was stamped to expire a day late, and a code would have opened the
    items for a day and a session would have stayed open a day."""
    clock = office.q.clock
    clock.advance(days=1)                                   # the clock is a day ahead
    office.run("items_code", phone=MINE, address="10.0.0.5")
    code = sent_code(office, MINE)
    office.run("items_code", phone=OTHER, address="10.0.0.6")
    session = token()
    assert office.run("items_confirm", phone=OTHER, code=sent_code(office, OTHER), session=session)["confirmed"]
    clock.advance(days=-1)                                  # set right
    clock.advance(minutes=my_items.CODE_MINUTES, seconds=1)
    assert office.run("items_confirm", phone=MINE, code=code, session=token()) == {"confirmed": False}
    clock.advance(minutes=my_items.SESSION_MINUTES - my_items.CODE_MINUTES)
    assert error(office, "items_list", session=session) == "not_signed_in"


def test_codes_stamped_while_the_clock_was_ahead_do_not_hold_the_limits(tmp_path):
    """Codes asked while the clock was a day ahead are stamped a day late: once the clock was set right they
    counted against the address's, the number's and the office's limits until real time caught up, so a
    resident was locked out of their items for as long as the clock had been wrong. Codes made now still
    count."""
    office = Office(tmp_path, daily_budget=24)   # the office's cap: 6 codes a day
    clock = office.q.clock
    clock.advance(days=1)                                   # the clock is a day ahead
    for i in range(my_items.PER_ADDRESS_HOUR):
        office.run("items_code", phone=MINE if i < my_items.PER_NUMBER_HOUR else f"08123457{i:04d}",
                   address="10.0.0.99")
    office.run("items_code", phone=OTHER, address="10.0.0.98")
    assert error(office, "items_code", phone=STRANGER, address="10.0.0.99") == "too_many_attempts"
    assert error(office, "items_code", phone=STRANGER, address="10.0.0.97") == "too_many_attempts"   # office cap
    clock.advance(days=-1, minutes=5)                       # set right (a few minutes later)
    before = len(office.outbox(f"kind = 'login_code' and phone = '{MINE}'"))
    assert office.run("items_code", phone=MINE, address="10.0.0.99")["sent"]
    assert len(office.outbox(f"kind = 'login_code' and phone = '{MINE}'")) == before + 1   # a code went out
    for i in range(1, my_items.PER_ADDRESS_HOUR):
        office.run("items_code", phone=f"08123458{i:04d}", address="10.0.0.99")
    assert error(office, "items_code", phone=STRANGER, address="10.0.0.99") == "too_many_attempts"   # now's count
