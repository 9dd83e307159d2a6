"""booking_status was opened to the kiosk role (its QR reader shows a scanned booking). Over the shipped broker
configuration with ``antre broker setup`` logins and a real ``antre serve``: a kiosk login learns a booking's
service, day and slot, never the name or phone; its unknown codes count against its own budget, shared with
check_in (5 per 10 minutes, then even a right code is refused), naming a browser address does not move it to
the website's larger budget, and another kiosk is not held up."""

from __future__ import annotations

import json

from antre.link.protocol import new_booking_code
from antre.service.server import CHECKIN_MISSES
from tests.test_security import secure  # noqa: F401 - the fixture


def test_a_kiosk_learns_no_person_and_guesses_within_its_own_budget(secure):  # noqa: F811
    staff, web = secure.login("staff"), secure.login("web-1")
    kiosk1, kiosk2 = secure.login("kiosk-1"), secure.login("kiosk-2")
    today = staff.wait_state(lambda s: True)["business_date"]
    slot = next(s["time"] for s in web.ok("booking_slots", service="umum", date=today)["slots"]
                if s["free"] and not s["past"])
    code = web.ok("book", service="umum", date=today, slot=slot, name="Dewi Lestari", phone="081234567890")["code"]

    seen = kiosk1.ok("booking_status", code=code)
    assert seen["code"] == code and seen["slot"] == slot and seen["state"] == "booked"
    assert not {"name", "phone", "masked_name", "contact"} & set(seen)
    text = json.dumps(seen)
    assert "Dewi" not in text and "Lestari" not in text and "1234567890" not in text

    unknown = iter(c for c in iter(new_booking_code, None) if c != code)
    for _ in range(CHECKIN_MISSES - 1):   # an address named by a kiosk does not make it the website's guesser
        assert kiosk1.error("booking_status", code=next(unknown), address="203.0.113.5") == "booking_not_found"
    assert kiosk1.error("check_in", code=next(unknown)) == "booking_not_found"          # the same budget
    assert kiosk1.error("booking_status", code=code) == "too_many_attempts"
    assert kiosk1.error("booking_status", code=code, address="198.51.100.9") == "too_many_attempts"
    assert kiosk1.error("check_in", code=code) == "too_many_attempts"
    assert kiosk2.ok("booking_status", code=code)["code"] == code                       # its own budget
