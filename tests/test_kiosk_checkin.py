"""The kiosk's "Saya sudah daftar": a resident who booked on the website types the code on the big
keypad and gets a real ticket, shown and printed like any other, ahead of the walk-ins."""

from __future__ import annotations

import os

import pytest

from antre.link.protocol import new_booking_code
from antre_kiosk import texts
from tests.support import TcpPrinter, wait_for
from tests.test_kiosk_app import Kiosk, kiosks  # noqa: F401 (fixture)
from tests.test_web import office_toml, phone, start_noon_office

pytestmark = pytest.mark.gui
T = texts.text


def test_booking_code_typed_at_the_kiosk_issues_and_prints_a_ticket_ahead_of_walk_ins(tmp_path, broker, kiosks):
    printer = TcpPrinter()
    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_noon_office(tmp_path, broker, office_toml() + f'\n[kiosk]\nclient_id = "{kiosk_id}"\n'
                                                                 f'printer = "{printer.url}"\n')
    try:
        today = office.client.state()["business_date"]
        slots = office.client.ok("booking_slots", service="adminduk", date=today)["slots"]
        slot = next(s["time"] for s in slots if s["free"] and not s["past"])
        booking = office.client.ok("book", service="adminduk", date=today, slot=slot, name="Dewi Lestari",
                                   phone=phone())
        walk_in = office.client.ok("issue_ticket", service="adminduk")["number"]

        k = kiosks(office)
        k.wait_widget("checkin")
        k.screenshot("checkin-home")
        k.touch("checkin")
        k.wait_screen("checkin")
        code = booking["code"]
        swap = next(i for i in range(len(code) - 1) if code[i] != code[i + 1])
        mistyped = code[:swap] + code[swap + 1] + code[swap] + code[swap + 2:]   # two neighbours swapped
        unknown = next(c for c in iter(new_booking_code, None) if c != code)
        for digit in mistyped[:6]:
            k.touch(f"code:{digit}")
        assert k.ui()["widgets"]["code:ok"]["disabled"]   # OK waits for all 10 digits
        for digit in mistyped[6:]:
            k.touch(f"code:{digit}")
        k.touch("code:ok")
        ui = k.wait(lambda ui: ui["screen"] == "message", "the typo caught at the kiosk")
        assert ui["widgets"]["message:body"]["text"] == T("checkin_mistyped")
        k.touch("message:home")

        k.touch("checkin")
        for digit in unknown:                   # a well-formed code of nobody's booking
            k.touch(f"code:{digit}")
        k.screenshot("checkin-keypad")
        k.touch("code:ok")
        ui = k.wait(lambda ui: ui["screen"] == "message", "the refusal")
        assert ui["widgets"]["message:body"]["text"] == T("checkin_err_booking_not_found")
        k.screenshot("checkin-not-found")
        k.touch("message:home")

        k.touch("checkin")
        for digit in booking["code"]:
            k.touch(f"code:{digit}")
        k.wait(lambda ui: ui["widgets"]["checkin:shown"]["text"] == " ".join(booking["code"]), "the typed code")
        k.touch("code:ok")
        ui = k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:number"]["text"] == "A-002",
                    "the checked-in ticket on screen")
        assert "Administrasi Kependudukan" in ui["widgets"]["ticket:service"]["text"]
        assert ui["widgets"]["ticket:ahead"]["text"].startswith(T("ahead_none"))
        printer.wait_for(b"A-002")
        k.wait(lambda ui: ui["widgets"]["ticket:print"]["text"] == T("printed"), "'take your ticket'")
        k.screenshot("checkin-ticket")
        # The booked resident is called before the walk-in who came earlier.
        assert office.client.ok("call_next", counter="loket-1")["number"] == "A-002"
        assert office.client.ok("call_next", counter="loket-1")["number"] == walk_in
        wait_for(lambda: [e["channel"] for e in office.client.events_of("ticket_issued")] == ["kiosk", "kiosk"],
                 what="two ticket_issued events")
    finally:
        printer.close()
        office.client.stop()
        office.service.stop()
