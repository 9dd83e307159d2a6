"""The kiosk's QR/barcode reader (kiosk/flows/scan.py).

The parser as a pure function, fed what the office prints (ticket QR codes with and without a public website,
slips, a letter's verification QR, the portal's /cek links, bare codes) and hostile payloads (very long,
control characters, other sites' URLs, look-alike hosts, codes with a wrong check digit); the reader's pace
rule (a scanner's burst ending in Enter against a person typing); the live lookups against a real broker and
``antre serve`` with the kiosk's own login; and the real window under Xvfb receiving real X key events
(``xdotool type``): a scan on the start screen shows the ticket's status, a booking's scan checks it in and
prints, the same characters typed slowly do nothing, and a scan in the middle of a form is ignored."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date

import pytest

from antre.link.mqtt import Reply
from antre.link.protocol import new_booking_code
from antre.wording import day_month_year, long_date
from antre.rules.complaint_codes import new_complaint_code
from antre.rules.letter_codes import new_tracking_code
from antre_kiosk import texts
from antre.rules.question_codes import new_question_code
from antre_kiosk.flows.scan import (BOOKING, COMPLAINT, LETTER, LETTER_CHECK, MAX_PAYLOAD, QUESTION, TICKET,
                                    LookupFlow, ScanReader, Scanned, read_code)
from tests.support import TcpPrinter
from tests.test_kiosk_app import kiosks  # noqa: F401 (fixture)
from tests.test_kiosk_flows import answer, kiosk_desk  # noqa: F401 (fixtures)
from tests.test_letters import domisili, sign_in_staff

T = texts.text
SITE = "https://desa.example/antrean/"


def read(payload: str, public_url: str = SITE) -> Scanned | None:
    return read_code(payload, office_id="sukamaju", public_url=public_url)


def test_what_the_office_prints_is_read():
    letter, complaint, booking = new_tracking_code(), new_complaint_code(), new_booking_code()
    assert read("ANTRE|sukamaju|2026-12-07|A-012|0387", "") == Scanned(TICKET, "A-012", "2026-12-07")
    assert read("ANTRE|sukamaju|2026-12-07|B-7") == Scanned(TICKET, "B-007", "2026-12-07")
    assert read(f"{SITE}status/2026-12-07/A-012?kode=0387") == Scanned(TICKET, "A-012", "2026-12-07")
    assert read(f"HTTPS://DESA.example/antrean/pengaduan/{complaint}") == Scanned(COMPLAINT, complaint)
    assert read(f"{SITE}surat/status/{letter}") == Scanned(LETTER, letter)
    token = "AbC_dEf-0123456789xyZ"
    assert read(f"{SITE}surat/cek/{token}") == Scanned(LETTER_CHECK, token)
    assert read(f"{SITE}cek?nomor=a12") == Scanned(TICKET, "A-012")
    assert read(f"{SITE}lacak?kode={letter[:4]}-{letter[4:8]}-{letter[8:]}") == Scanned(LETTER, letter)
    # Bare codes, as a slip's QR without a website, a barcode, or typed on a keyboard wedge.
    assert read(letter, "") == Scanned(LETTER, letter)
    assert read(f" {complaint[0].lower()}-{complaint[1:5]} {complaint[5:]} \r\n", "") == Scanned(COMPLAINT, complaint)
    assert read(booking, "") == Scanned(BOOKING, booking)
    assert read("A-012", "") == Scanned(TICKET, "A-012") and read("c1234", "") == Scanned(TICKET, "C-1234")
    assert read_code("a12", office_id="sukamaju", width=4) == Scanned(TICKET, "A-0012")   # the office's width
    question = new_question_code()
    assert read(f"{question[0]}-{question[1:6]}-{question[6:]}", "") == Scanned(QUESTION, question)
    assert read(f"{SITE}tanya/{question}") == Scanned(QUESTION, question)
    assert read(question[:-1] + str((int(question[-1]) + 1) % 10), "") is None      # its check digit
    assert read(f"{SITE}tanya/kirim") is None
    assert read("T-012", "") == Scanned(TICKET, "T-012")                            # a service lettered T


def test_hostile_and_foreign_payloads_are_refused():
    letter, complaint, booking = new_tracking_code(), new_complaint_code(), new_booking_code()
    bad_digit = lambda code: code[:-1] + str((int(code[-1]) + 1) % 10)  # noqa: E731
    for payload in (
        "", "   ", "A" * (MAX_PAYLOAD + 1), f"{SITE}status/2026-12-07/A-012" + "x" * MAX_PAYLOAD,
        "ANTRE|other-office|2026-12-07|A-012",                 # another office's ticket
        "ANTRE|sukamaju|2026-13-45|A-012", "ANTRE|sukamaju|2026-12-07|DROP TABLE", "ANTRE|sukamaju",
        "ANTRE|sukamaju|2026-12-07|A-012|1|2|3",
        f"https://evil.example/antrean/pengaduan/{complaint}",  # another site
        f"https://desa.example.evil.example/antrean/surat/status/{letter}",
        f"https://evil.example@desa.example/antrean/surat/status/{letter}",   # credentials in the URL
        f"https://desa.example:8443/antrean/surat/status/{letter}",          # another port
        f"https://desa.example/lain/surat/status/{letter}",                  # outside the site's path
        f"https://desa.example/antrean-palsu/surat/status/{letter}",
        f"javascript://desa.example/antrean/surat/status/{letter}", f"file:///antrean/surat/status/{letter}",
        f"{SITE}surat/status/{bad_digit(letter)}", f"{SITE}pengaduan/{bad_digit(complaint)}",
        f"{SITE}surat/cek/short", f"{SITE}surat/cek/{'a' * 20}%00", f"{SITE}admin", f"{SITE}cek?nomor=",
        f"{SITE}status/kemarin/A-012", f"{SITE}status/2026-02-30/A-012",
        "https://[::1", "http://desa.example:99999/antrean/cek?nomor=A1",
        bad_digit(letter), bad_digit(booking), bad_digit(complaint), "12345",
        f"A-012\x00", f"A-\x1b[2J012", f"{letter}\x07", "A-012\u2028", "A-\u0080012",
        "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662",   # Arabic-Indic digits
        "<script>alert(1)</script>", "'; DROP TABLE tickets; --", "A-0123456789",
    ):
        assert read(payload) is None, payload
    assert read(f"{SITE}surat/status/{letter}", "") is None      # without a website, no URL is ours
    assert read(12345) is None                                    # not text at all


def test_a_burst_ending_in_enter_is_a_scan_and_a_person_typing_is_not():
    r = ScanReader(max_gap=0.04, min_length=4, max_length=40, max_pause=1.0)
    t = 100.0

    def burst(text: str, gap: float) -> None:
        nonlocal t
        for ch in text:
            r.char(ch, t)
            t += gap

    burst("A-012", 0.004)
    assert r.enter(t) == "A-012"
    burst("A-012", 0.25)                                        # a person: a quarter second a key
    assert r.enter(t) is None
    burst("081234567890", 0.09)                                 # a fast typist: still a person
    assert r.enter(t) is None
    burst("P-1234-5678-90", 0.003)                              # a burst with one hiccup: a scan
    t += 0.3
    burst("12", 0.003)
    assert r.enter(t) == "P-1234-5678-9012"
    r.char("Z", t)                                              # a stray key, a pause, then a burst
    t += 2.0
    burst("B-007", 0.003)
    assert r.enter(t) == "B-007"
    burst("A-0", 0.001)                                         # too short for a code
    assert r.enter(t) is None
    burst("9" * 100, 0.001)                                     # too long: dropped whole, not cut
    assert r.enter(t) is None
    assert r.enter(t + 0.1) is None                             # Enter alone
    burst("A-012", 0.002)                                       # Enter long after the burst: not the scanner's
    assert r.enter(t + 2.0) is None


def test_lookups_with_the_kiosks_own_login(kiosk_desk):
    desk = kiosk_desk('\n[letters]\npickup_service = "surat"\n')
    c, k = desk.office.client, desk.k
    flow = LookupFlow(k.gate)
    number = c.ok("issue_ticket", service="adminduk", channel="admin")["number"]
    c.ok("issue_ticket", service="adminduk", channel="admin")
    second = c.ok("issue_ticket", service="adminduk", channel="admin")["number"]

    def look(item: Scanned):
        reply = answer(lambda done: flow.look_up(item, done))
        return reply, flow.view(item, reply, "id")

    reply, view = look(Scanned(TICKET, second))
    assert reply.ok and view.title == T("scan_ticket", number=second) and view.status.startswith("Menunggu. 2 orang")
    c.ok("call_next", counter="loket-1")
    _, view = look(Scanned(TICKET, number))
    assert view.status.startswith("Dipanggil! Silakan ke ")
    _, view = look(Scanned(TICKET, "Z-999"))
    assert view.title == T("scan_not_found")
    st = sign_in_staff(c.ok)
    code = c.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    _, view = look(Scanned(LETTER, code))
    assert view.status == T("scan_letter_diperiksa") and view.action is None
    rid = next(i["id"] for i in c.ok("letter_list", **st["kasi"])["items"] if i["code"] == code)
    c.ok("letter_assign_number", request=rid, **st["kasi"])
    c.ok("letter_set_status", request=rid, status="menunggu_ttd", **st["kasi"])
    c.ok("letter_set_status", request=rid, status="siap_diambil", **st["penandatangan"])
    _, view = look(Scanned(LETTER, code))
    assert view.status == T("scan_letter_siap_diambil") and (view.action, view.code) == ("letter_pickup", code)
    token = c.ok("letter_get", request=rid, **st["kasi"])["verify_token"]
    reply, view = look(Scanned(LETTER_CHECK, token))
    assert view.status == T("scan_check_valid")
    # The date the letter was signed as residents read it (6 Desember 2026), not the protocol's 2026-12-06.
    signed = reply.result["signed_on"]
    assert signed not in view.body and day_month_year(date.fromisoformat(signed)) in view.body, view.body
    complaint = c.ok("complaint_submit", category="pengaduan", topic="infrastruktur", text="Lampu jalan mati",
                     anonymous=True, channel="admin")["code"]
    _, view = look(Scanned(COMPLAINT, complaint))
    assert view.status == T("scan_complaint_diterima") and "Lampu" not in view.body   # the resident's words stay off
    assert view.body == "Pengaduan \u00b7 Infrastruktur"                             # which report it is
    asked = answer(lambda done: k.gate.send("question_submit", {"question": "Kapan posyandu buka?",
                                                                 "channel": "kiosk"}, done))
    assert asked.ok, asked
    _, view = look(Scanned(QUESTION, asked.result["code"]))
    assert view.status == T("scan_question_open") and "posyandu" not in view.body + view.title
    # A booking is looked up too (booking_status, read-only): an unknown code is said plainly, not refused.
    reply, view = look(Scanned(BOOKING, new_booking_code()))
    assert reply.code == "booking_not_found" and view.title == T("scan_not_found") and view.action is None
    # What the kiosk still may not ask.
    refused = answer(lambda done: k.gate.send("call_next", {"counter": "loket-1"}, done))
    assert not refused.ok and refused.code == "forbidden"


def test_a_ticket_of_another_day_names_the_day_in_words():
    """A ticket's QR kept from another day: its day as residents read it, in both languages (ticket_status's
    reply as the service words it: ``today`` false, ``business_date`` the ticket's day)."""
    item = Scanned(TICKET, "A-012", "2026-12-06")
    reply = Reply("r1", True, {"number": "A-012", "state": "done", "business_date": "2026-12-06", "today": False})
    assert LookupFlow.view(item, reply, "id").status == "Nomor ini untuk hari lain (Minggu, 6 Desember 2026)."
    assert LookupFlow.view(item, reply, "en").status == "This number is for another day (Sunday, 6 December 2026)."


def test_a_waiting_ticket_without_an_estimate_says_no_minutes_and_a_booking_code_is_grouped_as_elsewhere():
    """No estimate yet (estimated_wait_minutes 0 or missing): the people ahead only, never "perkiraan 0 menit";
    a booking's code grouped 3-3-4 with dashes, as the web and SMS show it (format_booking_code)."""
    item = Scanned(TICKET, "A-012", "2026-12-07")
    for minutes in (0, None):
        r = {"number": "A-012", "state": "waiting", "ahead": 3, "today": True, "estimated_wait_minutes": minutes}
        assert LookupFlow.view(item, Reply("r1", True, r), "id").status == "Menunggu. 3 orang di depan Anda."
        assert LookupFlow.view(item, Reply("r1", True, r), "en").status == "Waiting. 3 people ahead of you."
    r = {"number": "A-012", "state": "waiting", "ahead": 3, "today": True, "estimated_wait_minutes": 12}
    assert LookupFlow.view(item, Reply("r1", True, r), "id").status == \
        "Menunggu. 3 orang di depan Anda, perkiraan 12 menit."
    booking = Scanned(BOOKING, "0147718409")
    assert LookupFlow.view(booking, Reply("r1", True, {"state": "booked"}), "id").title == \
        "Kode janji temu 014-771-8409"


def test_a_scanned_booking_names_its_service_day_and_slot_and_offers_check_in_only_when_it_can():
    """booking_status's reply as the service words it: the service's name, the day in words and the slot as
    08.30 (Indonesian first, English second), the check-in window; the green button only for a booking of
    today still to be checked in. The reply carries no name or phone, and nothing else of it is shown."""
    item = Scanned(BOOKING, "0147718409")
    r = {"code": "0147718409", "service": "adminduk", "service_name": "Adminduk (KTP, KK)", "date": "2026-12-07",
         "slot": "08:30", "state": "booked", "checkin_from": "08:15", "checkin_until": "08:45", "ticket": None}
    view = LookupFlow.view(item, Reply("r1", True, r), "id", today="2026-12-07")
    assert view.status == T("scan_booking_body") and (view.action, view.code) == ("check_in", "0147718409")
    assert view.body == ("Adminduk (KTP, KK)\nSenin, 7 Desember 2026, pukul 08.30\n"
                         "Nomor antrean bisa dicetak pukul 08.15 sampai 08.45.")
    en = LookupFlow.view(item, Reply("r1", True, r), "en", today="2026-12-07")
    assert en.body.startswith("Adminduk (KTP, KK)\nMonday, 7 December 2026, at 08.30\n")
    # The service as the kiosk names it in the resident's language (the reply names it in Indonesian only).
    en = LookupFlow.view(item, Reply("r1", True, r), "en", today="2026-12-07",
                         names={"adminduk": "Population records", "umum": "Other"})
    assert en.body.startswith("Population records\nMonday, 7 December 2026, at 08.30\n")
    ticket = LookupFlow.view(Scanned(TICKET, "A-012"), Reply("r2", True, {
        "number": "A-012", "service": "adminduk", "service_name": "Adminduk (KTP, KK)", "state": "waiting",
        "ahead": 0, "today": True}), "en", names={"adminduk": "Population records"})
    assert ticket.body == "Population records"
    letter = LookupFlow.view(Scanned(LETTER, "578825931614"), Reply("r3", True, {
        "code": "578825931614", "type": "domisili", "type_name": "Surat Keterangan Domisili", "status": "diproses"}),
        "en", names={"letter:domisili": "Certificate of residence"})
    assert letter.body == "Certificate of residence"
    other = LookupFlow.view(item, Reply("r1", True, r | {"date": "2026-12-09"}), "id", today="2026-12-07")
    assert other.action is None and other.status == T("scan_booking_other_day")
    assert other.body == "Adminduk (KTP, KK)\nRabu, 9 Desember 2026, pukul 08.30"
    done = LookupFlow.view(item, Reply("r1", True, r | {"state": "checked_in", "ticket": {"number": "A-007"}}), "id",
                           today="2026-12-07")
    assert done.action is None and done.status == "Sudah dicetak. Nomor antrean Anda A-007."
    for state in ("cancelled", "expired"):
        view = LookupFlow.view(item, Reply("r1", True, r | {"state": state}), "id", today="2026-12-07")
        assert view.action is None and view.status == T(f"scan_booking_{state}") and "08.30" in view.body


def xdotool(k, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=os.environ | k.xvfb.env(), check=True, timeout=30)


def scan(k, payload: str, delay_ms: int = 2) -> None:
    """Real X key events into the kiosk's window, as a keyboard-wedge scanner types them."""
    x, y = k.centre("listen")
    k._move(x, y + 200)
    xdotool(k, "type", "--delay", str(delay_ms), payload)
    xdotool(k, "key", "Return")


@pytest.mark.gui
def test_scans_in_the_kiosk_window_show_the_status_check_in_and_are_ignored_mid_flow(tmp_path, broker, kiosks):
    from tests.test_web import office_toml, phone, start_noon_office

    printer = TcpPrinter()
    office = start_noon_office(tmp_path, broker, office_toml() + f'\n[kiosk]\nclient_id = "kiosk-{os.urandom(3).hex()}"\n'
                                                                 f'printer = "{printer.url}"\n')
    try:
        c = office.client
        today = c.state()["business_date"]
        slot = next(s["time"] for s in c.ok("booking_slots", service="adminduk", date=today)["slots"]
                    if s["free"] and not s["past"])
        booking = c.ok("book", service="adminduk", date=today, slot=slot, name="Dewi Lestari", phone=phone())["code"]
        number = c.ok("issue_ticket", service="adminduk", channel="admin")["number"]
        k = kiosks(office)
        k.wait_widget("help")
        scan(k, f"ANTRE|{office.office_id}|{c.state()['business_date']}|{number}|0000")
        ui = k.wait(lambda ui: ui["screen"] == "scan", "the scanned ticket's status")
        assert ui["widgets"]["scan:title"]["text"] == T("scan_ticket", number=number)
        assert ui["widgets"]["scan:status"]["text"] == T("scan_waiting_next")
        assert "scan:action" not in ui["widgets"]
        k.screenshot("scan-ticket")
        k.touch("scan:back")
        k.wait_screen("home")
        scan(k, number, delay_ms=300)                          # a person typing the same: nothing happens
        ui = k.wait(lambda ui: ui["scans"]["typed"] == 1, "the typed Enter seen")
        assert ui["screen"] == "home" and ui["scans"]["read"] == 1
        scan(k, "https://evil.example/pengaduan/P123")         # another site's code: said plainly
        ui = k.wait(lambda ui: ui["screen"] == "message", "an unknown code")
        assert ui["widgets"]["message:title"]["text"] == T("scan_unknown")
        k.touch("message:home")
        scan(k, booking)
        ui = k.wait(lambda ui: ui["screen"] == "scan" and "scan:action" in ui["widgets"], "the booking's check-in")
        assert ui["widgets"]["scan:action"]["text"] == T("scan_booking_action")
        # The booking's service, day and slot under its code (booking_status), never the name or phone.
        body = ui["widgets"]["scan:body"]["text"]
        day = date.fromisoformat(today)
        assert "Administrasi Kependudukan" in body and long_date(day) in body and f"pukul {slot.replace(':', '.')}" in body, body
        assert "Dewi" not in json.dumps(ui)
        k.screenshot("scan-booking")
        # In English the service is named in English, as on the start screen (the reply's name is Indonesian).
        k.touch("scan:back")
        k.wait_screen("home")
        k.touch("lang")
        k.wait(lambda ui: ui["lang"] == "en" and ui["settled"], "English")
        scan(k, booking)
        ui = k.wait(lambda ui: ui["screen"] == "scan" and "scan:action" in ui["widgets"], "the booking in English")
        body = ui["widgets"]["scan:body"]["text"]
        assert body.startswith("Population records\n") and f"at {slot.replace(':', '.')}" in body, body
        k.touch("scan:action")
        ui = k.wait(lambda ui: ui["screen"] == "ticket", "the booking's ticket")
        printer.wait_for(ui["widgets"]["ticket:number"]["text"].encode())
        k.touch("ticket:done")
        # In the middle of a form a scan is ignored: the form stays as it was.
        k.touch("help")
        k.touch("help:complaint")
        k.wait(lambda ui: ui["screen"] == "report" and "rchoice:pengaduan" in ui["widgets"], "the form")
        scan(k, number)
        ui = k.wait(lambda ui: ui["scans"]["ignored"] == 1, "the scan ignored")
        assert ui["screen"] == "report"
    finally:
        printer.close()
        office.client.stop()
        office.service.stop()


def test_a_scanned_letter_names_its_type_and_the_staffs_reason_when_documents_are_missing():
    """letter_status's summary: the letter's type under the status, and for belum_lengkap / dibatalkan the
    staff's reason (what to bring); no reason shown for other states."""
    item = Scanned(LETTER, "123456789012")
    r = {"code": "123456789012", "type": "domisili", "type_name": "Surat Keterangan Domisili",
         "status": "belum_lengkap", "reason": "Bawa fotokopi KK"}
    view = LookupFlow.view(item, Reply("r1", True, r), "id")
    assert view.status == T("scan_letter_belum_lengkap")
    assert view.body == "Surat Keterangan Domisili\nKeterangan petugas: Bawa fotokopi KK"
    view = LookupFlow.view(item, Reply("r1", True, r | {"status": "diperiksa"}), "id")
    assert view.body == "Surat Keterangan Domisili"
