"""The kiosk's flows without a window: each controller in ``kiosk/flows`` against a real broker and a real
``antre serve`` (commands sent with the kiosk's own client id), and printing to a real TCP printer stand-in.

The window tests (test_kiosk_app.py, test_kiosk_checkin.py) check the same flows by touch; these check the
decisions one by one, including the ones a touch cannot easily reach (a command refused while the kiosk is
offline, a rating left unfinished when the next ticket's prompt arrives)."""

from __future__ import annotations

import json
import os
import threading

import pytest

from antre import config
from antre.link.mqtt import MqttLink, Reply, Requester, client_id_for
from antre.link.protocol import Topics, new_booking_code
from antre_kiosk import logic, texts
from antre_kiosk.flows import Message
from antre_kiosk.flows.checkin import MISTYPED, SEND, CheckinFlow
from antre_kiosk.flows.home import can_issue, home, service_subtext
from antre_kiosk.flows.issuing import IssuingFlow, print_state, ticket_view
from antre_kiosk.flows.printer_status import PrinterStatus
from antre_kiosk.flows.rating import ASK_MORE, NEXT_ELEMENT, NumberKeypad, RatingFlow
from antre_kiosk.flows.rating import SEND as SEND_RATING
from antre_kiosk.flows.staff import StaffPin
from antre_kiosk.printer import TicketPrinter
from tests.conftest import start_office
from tests.support import DEADLINE, TcpPrinter, free_port, wait_for

T = texts.text


class KioskSide:
    """What the kiosk app builds from its configuration: the link with the kiosk's client id, and the gate."""

    def __init__(self, office):
        self.office = office
        self.cfg = config.load(office.config_path)
        self.topics = Topics(self.cfg.office.id)
        self.client_id = client_id_for(self.cfg, "kiosk")
        self.link = MqttLink(self.cfg.mqtt, self.topics, self.client_id, "kiosk")
        self.gate = logic.CommandGate(Requester(self.link), timeout=5.0, attempts=3)

    def start(self) -> "KioskSide":
        self.link.start()
        wait_for(self.link.connected.is_set, what="the kiosk's link")
        return self

    def rows(self) -> list[logic.ServiceRow]:
        return logic.service_rows(self.office.client.state(), self.cfg.services)

    def row(self, code: str = "adminduk") -> logic.ServiceRow:
        return next(r for r in self.rows() if r.code == code)


def answer(send) -> Reply:
    """Calls ``send(on_reply)`` and waits for the one reply (which arrives on a background thread)."""
    replies: list[Reply] = []
    done = threading.Event()
    rid = send(lambda reply: (replies.append(reply), done.set()))
    assert rid is not None, "nothing was sent"
    assert done.wait(DEADLINE), "no reply"
    assert len(replies) == 1
    return replies[0]


@pytest.fixture
def kiosk_office(tmp_path, broker):
    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "{kiosk_id}"\n'
                                                  f'\n[web]\npublic_url = "https://desa.example/antrean/"\n')
    side = KioskSide(office).start()
    yield side
    side.link.stop()
    office.client.stop()
    office.service.stop()


class KioskDesk:
    """An office (``antre serve``), the kiosk's side of the link and a printer on a TCP stand-in: what a
    flow that prints a slip needs (``kiosk_desk``)."""

    def __init__(self, tmp_path, broker, extra: str = ""):
        kiosk_id = f"kiosk-{os.urandom(3).hex()}"
        self.office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "{kiosk_id}"\n{extra}')
        self.k = KioskSide(self.office).start()
        self.stand_in = TcpPrinter()
        self.printer = TicketPrinter(self.stand_in.url, check_on_start=False, timeout=5)

    def print_blocks(self, blocks) -> bytes:
        """Prints ``blocks`` and returns the bytes the printer received."""
        printed, done = [], threading.Event()
        self.printer.submit_blocks(blocks, on_done=lambda res: (printed.append(res), done.set()))
        assert done.wait(DEADLINE) and printed[0].ok, printed
        return wait_for(lambda: b"".join(self.stand_in.connections) or None, what="bytes at the printer")

    def close(self) -> None:
        self.printer.close(timeout=5)
        self.stand_in.close()
        self.k.link.stop()
        self.office.client.stop()
        self.office.service.stop()


@pytest.fixture
def kiosk_desk(tmp_path, broker):
    """``kiosk_desk(extra_toml)``: a :class:`KioskDesk`, closed after the test."""
    made: list[KioskDesk] = []

    def make(extra: str = "") -> KioskDesk:
        made.append(KioskDesk(tmp_path, broker, extra))
        return made[-1]
    yield make
    for desk in made:
        desk.close()


def serve(office, number_of: str = "adminduk", counter: str = "loket-1") -> str:
    """A ticket issued, called and completed by staff; its number."""
    number = office.client.ok("issue_ticket", service=number_of, channel="admin")["number"]
    assert office.client.ok("call_next", counter=counter)["number"] == number
    office.client.ok("complete", counter=counter)
    return number


# ---------------------------------------------------------------------- issuing


def test_issuing_sends_one_ticket_with_the_kiosk_id_and_says_what_the_ticket_screen_shows(kiosk_office):
    k = kiosk_office
    flow = IssuingFlow(k.gate, public_url=k.cfg.web.public_url)
    row = k.row()
    reply = answer(lambda done: flow.issue(row, logic.OK, False, "lansia", done))
    assert reply.ok
    result = reply.result
    events = wait_for(lambda: k.office.client.events_of("ticket_issued") or None, what="ticket_issued")
    assert [(e["number"], e.get("priority")) for e in events] == [(result["number"], "lansia")]

    view = ticket_view(result, row, "printing", "id")
    assert view.number == result["number"]
    assert view.service_label == row.name
    assert view.priority_label == f"{T('priority')}: {T('priority_lansia')}"
    assert view.ahead_text == T("ahead_none")
    assert view.print_text == T("printing")
    # The rating code is on the screen too (for a ticket that did not print), in both languages.
    code = result["rating_code"]
    assert len(code) == 4 and code.isdigit()
    assert view.rating_text == T("ticket_rating_code", code=code) == f"Kode penilaian: {code}"
    assert ticket_view(result, row, "failed", "en").rating_text == f"Rating code: {code}"
    for bad in (None, "", "12", "12345", "12a4", 1234, "\u0661\u0662\u0663\u0664"):
        assert ticket_view({**result, "rating_code": bad}, row, "printing", "id").rating_text == ""
    en = ticket_view(result, row, "failed", "en")
    assert en.priority_label == f"{T('priority', 'en')}: {T('priority_lansia', 'en')}"
    assert en.print_text == T("print_failed", "en")

    second = answer(lambda done: flow.issue(row, logic.OK, False, "", done)).result
    assert second.get("priority") is None and int(second["ahead"]) == 1   # the first one is still waiting
    view = ticket_view(second, row, "printed", "id")
    assert view.priority_label == "" and view.ahead_text == T("ahead", n=1)
    assert view.print_text == T("printed")
    assert ticket_view(second, row, "none", "id").print_text == T("no_printer")

    info = flow.ticket_info(second, row)
    assert info.number == second["number"]
    # The service's rating code is printed and carried by the QR code's status link.
    assert len(second["rating_code"]) == 4 and info.rating_code == second["rating_code"]
    assert info.status_url == (f"https://desa.example/antrean/status/{info.business_date.isoformat()}/"
                               f"{second['number']}?kode={second['rating_code']}")
    with pytest.raises(ValueError):
        flow.ticket_info({"number": "A-001"}, row)   # no date, no service: nothing sensible to print


def test_issuing_sends_nothing_when_the_button_cannot_work(kiosk_office):
    k = kiosk_office
    flow = IssuingFlow(k.gate)
    row = k.row()
    full = logic.ServiceRow(row.code, row.name, row.name_en, row.prefix, 0, 0, True, ())
    never = []
    assert flow.issue(None, logic.OK, False, "", never.append) is None
    assert flow.issue(row, logic.CLOSED, False, "", never.append) is None
    assert flow.issue(row, logic.SERVICE_OFFLINE, False, "", never.append) is None
    assert flow.issue(row, logic.OK, True, "", never.append) is None          # already busy
    assert flow.issue(full, logic.OK, False, "", never.append) is None        # quota reached
    # A command sent after them is the first the service sees.
    number = answer(lambda done: flow.issue(row, logic.OK, False, "", done)).result["number"]
    events = wait_for(lambda: k.office.client.events_of("ticket_issued") or None, what="ticket_issued")
    assert [e["number"] for e in events] == [number] and never == []


def test_issuing_offline_says_no_ticket_was_made(kiosk_office):
    k = kiosk_office
    offline = MqttLink(k.cfg.mqtt, k.topics, f"{k.client_id}-off", "kiosk")   # never started
    flow = IssuingFlow(logic.CommandGate(Requester(offline), timeout=5, attempts=3))
    reply = answer(lambda done: flow.issue(k.row(), logic.OK, False, "", done))
    assert not reply.ok and reply.code == "offline"
    message = flow.refusal(reply)
    assert message == Message("warning.png", "issue_failed", "err_offline")
    assert "Tidak ada tiket yang dibuat" in T(message.body_key)
    # An error the kiosk has no words of its own for (a service the office does not have) is still a
    # message a resident can read.
    online = IssuingFlow(k.gate)
    nosuch = logic.ServiceRow("nosuch", "Tidak ada", "", "X", 0, 0, False, ())
    refused = answer(lambda done: online.issue(nosuch, logic.OK, False, "", done))
    assert not refused.ok and f"err_{refused.code}" not in texts.TEXTS
    assert online.refusal(refused) == Message("warning.png", "issue_failed", "err_other")


def test_a_ticket_from_the_flow_prints_on_the_network_printer(kiosk_office):
    k = kiosk_office
    stand_in = TcpPrinter()
    printer = TicketPrinter(stand_in.url, check_on_start=False, timeout=5)
    try:
        flow = IssuingFlow(k.gate, public_url=k.cfg.web.public_url)
        row = k.row()
        result = answer(lambda done: flow.issue(row, logic.OK, False, "", done)).result
        printed = []
        done = threading.Event()
        printer.submit(flow.ticket_info(result, row), k.cfg.office,
                       on_done=lambda res: (printed.append(res), done.set()))
        assert done.wait(DEADLINE)
        assert printed[0].ok and printed[0].number == result["number"]
        data = wait_for(lambda: b"".join(stand_in.connections) or None, what="bytes at the printer")
        assert result["number"].encode() in data
        state = print_state(printed[0], printer.enabled)
        assert state == "printed" and ticket_view(result, row, state, "id").print_text == T("printed")

        # No answer from the printer: the screen says to note the number; no printer at all: it says so.
        for url, expected in ((f"tcp://127.0.0.1:{free_port()}", "failed"), ("none", "none")):
            other = TicketPrinter(url, check_on_start=False, timeout=3)
            try:
                got = []
                done = threading.Event()
                other.submit(flow.ticket_info(result, row), k.cfg.office,
                             on_done=lambda res: (got.append(res), done.set()))
                assert done.wait(DEADLINE)
                assert not got[0].ok and print_state(got[0], other.enabled) == expected
            finally:
                other.close(timeout=5)
        assert ticket_view(result, row, "failed", "id").print_text == T("print_failed")
        assert ticket_view(result, row, "none", "id").print_text == T("no_printer")
    finally:
        printer.close(timeout=5)


# ---------------------------------------------------------------------- home


def test_home_names_the_problem_and_what_each_button_says():
    state = {"open": False, "hours_today": "08.00-12.00", "office": {"name": "Desa Sukamaju"},
             "rateable": [{"number": f"A-{i:03d}"} for i in range(12)], "services": []}
    closed = home(logic.CLOSED, state, busy=False, priority="", lang="id", office_name="Kantor")
    assert closed.banner == T("closed", hours="08.00-12.00") and closed.title == T("no_tickets_now")
    assert closed.office_name == "Desa Sukamaju" and closed.can_rate
    assert closed.rateable == [f"A-{i:03d}" for i in range(8)]
    down = home(logic.BROKER_DOWN, None, busy=False, priority="", lang="en", office_name="Kantor")
    assert down.banner == T("broker_down", "en") and not down.can_rate and down.office_name == "Kantor"
    chosen = home(logic.OK, {"services": []}, busy=False, priority="lansia", lang="id", office_name="K")
    assert chosen.banner == "" and chosen.title == T("priority_chosen", kind=T("priority_lansia"))
    assert home(logic.OK, {}, busy=True, priority="lansia", lang="id", office_name="K").title == T("please_wait")

    row = logic.ServiceRow("adminduk", "Adminduk", "Civil registry", "A", 3, 12, False, ())
    assert service_subtext(row, logic.OK, "id") == f"{T('waiting', n=3)}  \u2022  {T('wait_minutes', m=12)}"
    assert service_subtext(row, logic.SERVICE_OFFLINE, "id") == ""     # the counts would be stale
    full = logic.ServiceRow("adminduk", "Adminduk", "", "A", 3, 12, True, ())
    assert service_subtext(full, logic.OK, "en") == T("quota_reached", "en")
    assert can_issue(row, logic.OK, False)
    assert not can_issue(full, logic.OK, False) and not can_issue(row, logic.OK, True)
    assert not can_issue(row, logic.CLOSED, False)


def test_no_queue_is_not_served_at_once_while_every_counter_for_it_is_busy(kiosk_office):
    """Defect 4: "Tidak ada antrean • langsung dilayani" only while a counter for the service is free."""
    k = kiosk_office
    rows = {r.code: r for r in k.rows()}
    assert rows["adminduk"].counter_free
    assert service_subtext(rows["adminduk"], logic.OK, "id") == f"{T('waiting_none')}  \u2022  {T('wait_now')}"
    # Loket 1 and Loket 2 (the counters for adminduk) each call someone; nobody else waits.
    for counter in ("loket-1", "loket-2"):
        k.office.client.ok("issue_ticket", service="adminduk", channel="admin")
        k.office.client.ok("call_next", counter=counter)
    k.office.client.wait_state(lambda s: all(c["status"] == "serving" for c in s["counters"]
                                             if c["id"] in ("loket-1", "loket-2")), "both counters serving")
    rows = {r.code: r for r in k.rows()}
    busy = rows["adminduk"]
    assert busy.waiting == 0 and not busy.counter_free
    said = service_subtext(busy, logic.OK, "id")
    assert T("wait_now") not in said and said == f"{T('waiting_none')}  \u2022  {T('wait_next')}"
    # Loket 3 is idle: "umum" is still served at once.
    assert rows["umum"].counter_free and T("wait_now") in service_subtext(rows["umum"], logic.OK, "id")
    # A paused counter is no free counter either.
    k.office.client.ok("complete", counter="loket-1")
    k.office.client.ok("pause", counter="loket-1")
    k.office.client.wait_state(lambda s: any(c["id"] == "loket-1" and c["status"] == "paused"
                                             for c in s["counters"]), "loket-1 paused")
    assert not {r.code: r for r in k.rows()}["adminduk"].counter_free


def test_closed_office_keeps_the_names_and_says_when_it_opens(tmp_path, broker):
    """Defect 2 (kiosk): the banner gives today's hours and the next opening; each button keeps its name
    and says when it opens; the service's state carries ``next_open``."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from antre.wording import DAYS
    from antre_kiosk.flows.home import opens_next

    zone = "Asia/Jakarta"
    now = datetime.now(ZoneInfo(zone))
    tomorrow = (now + timedelta(days=1)).strftime("%a").lower()
    hours = "\n".join(f'{d} = "{"08:00-09:00" if d == tomorrow else "closed"}"'
                      for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    office = start_office(tmp_path, broker, enforce_hours=True, extra=f"\n[office.hours]\n{hours}\n")
    try:
        state = office.client.state()
        assert state["open"] is False and state["hours_today"] is None
        opens = datetime.fromisoformat(state["next_open"]).astimezone(ZoneInfo(zone))
        assert (opens.date(), opens.hour, opens.minute) == ((now + timedelta(days=1)).date(), 8, 0)
        tomorrow_id = f"besok, {DAYS['id'][opens.weekday()]} pukul 08.00"
        assert opens_next(state, "id") == tomorrow_id
        assert opens_next(state, "en") == f"tomorrow, {DAYS['en'][opens.weekday()]} at 08:00"
        view = home(logic.CLOSED, state, busy=False, priority="", lang="id", office_name="K")
        assert view.banner == T("closed_next", when=tomorrow_id)
        cfg = config.load(office.config_path)
        for row in logic.service_rows(state, cfg.services):
            assert row.label("id") == cfg.service(row.code).name                 # the name stays
            said = service_subtext(row, logic.CLOSED, "id", state)
            assert said == f"{T('closed_short')}  \u2022  {T('opens_next', when=tomorrow_id)}"
            assert not can_issue(row, logic.CLOSED, False)
        # Later than tomorrow: the day and date; a time already past says nothing.
        later = dict(state, next_open=(datetime(2026, 12, 14, 1, 0, tzinfo=timezone.utc)).isoformat())
        assert opens_next(later, "id", now=datetime(2026, 12, 11, 16, 0, tzinfo=ZoneInfo(zone))) == \
            "Senin, 14 Desember 2026 pukul 08.00"
        assert opens_next(later, "id", now=datetime(2026, 12, 15, 9, 0, tzinfo=ZoneInfo(zone))) == ""
        both = dict(state, hours_today="08:00-15:00")
        assert home(logic.CLOSED, both, busy=False, priority="", lang="id", office_name="K").banner == \
            T("closed_hours_next", hours="08.00\u201315.00", when=tomorrow_id)
    finally:
        office.client.stop()
        office.service.stop()


# ---------------------------------------------------------------------- check-in


def test_checkin_catches_typos_before_sending_and_checks_in_a_booking(tmp_path, broker):
    from tests.test_web import office_toml, phone, start_noon_office

    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_noon_office(tmp_path, broker, office_toml() + f'\n[kiosk]\nclient_id = "{kiosk_id}"\n')
    k = KioskSide(office).start()
    try:
        today = office.client.state()["business_date"]
        slots = office.client.ok("booking_slots", service="adminduk", date=today)["slots"]
        slot = next(s["time"] for s in slots if s["free"] and not s["past"])
        code = office.client.ok("book", service="adminduk", date=today, slot=slot, name="Dewi Lestari",
                                phone=phone())["code"]
        office.client.ok("issue_ticket", service="adminduk")   # a walk-in, already waiting

        flow = CheckinFlow(k.gate)
        swap = next(i for i in range(len(code) - 1) if code[i] != code[i + 1])
        mistyped = code[:swap] + code[swap + 1] + code[swap] + code[swap + 2:]
        for digit in mistyped[:4]:
            assert flow.key(digit) is None
        assert flow.shown == " ".join(mistyped[:4] + "_" * (len(code) - 4))
        assert not flow.complete and flow.key("ok") is None     # OK waits for every digit
        for digit in mistyped[4:] + "9":                          # one too many is ignored
            flow.key(digit)
        assert flow.typed == mistyped and flow.complete
        assert flow.key("ok") == MISTYPED
        assert office.client.events_of("booking_checked_in") == []

        flow.key("del")
        assert flow.typed == mistyped[:-1] and not flow.complete
        flow.reset()
        unknown = next(c for c in iter(new_booking_code, None) if c != code)
        for digit in unknown:
            flow.key(digit)
        assert flow.key("ok") == SEND
        reply = answer(lambda done: flow.check_in(flow.typed, done))
        assert not reply.ok
        assert flow.refusal(reply) == Message("warning.png", "checkin_unknown", "checkin_err_booking_not_found")

        flow.reset()
        for digit in code:
            flow.key(digit)
        assert flow.key("ok") == SEND
        reply = answer(lambda done: flow.check_in(flow.typed, done))
        assert reply.ok, reply
        row = flow.row_for(reply.result, logic.service_rows(office.client.state(), k.cfg.services))
        assert row.code == "adminduk" and row.name
        assert int(reply.result["ahead"]) == 0                  # a booking goes ahead of the walk-in
        assert ticket_view(reply.result, row, "printing", "id").ahead_text == T("ahead_none")

        # A used code says so, with the number it already printed (from the reply's details).
        again = answer(lambda done: flow.check_in(code, done))
        assert again.code == "already_checked_in" and again.details == {"number": reply.result["number"]}
        used = flow.refusal(again)
        assert used == Message("ticket.png", "checkin_used", "checkin_err_already_checked_in_number",
                               {"number": reply.result["number"]})
        assert T(used.title_key) != T("checkin_unknown")
        assert reply.result["number"] in T(used.body_key, **used.values)
        # Too early: the message says from when the code works.
        late_slot = [s["time"] for s in slots if s["free"] and not s["past"]][-1]
        later = office.client.ok("book", service="adminduk", date=today, slot=late_slot, name="Budi Santoso",
                                 phone=phone())
        early = answer(lambda done: flow.check_in(later["code"], done))
        assert early.code == "too_early"
        assert early.details == {"slot": late_slot, "checkin_from": later["checkin_from"]}
        msg = flow.refusal(early)
        assert (msg.title_key, msg.body_key) == ("checkin_early", "checkin_err_too_early_from")
        said = T(msg.body_key, **msg.values)
        assert later["checkin_from"].replace(":", ".") in said and late_slot.replace(":", ".") in said, said
        # A service the kiosk does not list still gets a ticket screen.
        assert flow.row_for({"service": "x", "service_name": "Lain"}, []).label("id") == "Lain"
    finally:
        k.link.stop()
        office.client.stop()
        office.service.stop()


# ---------------------------------------------------------------------- rating


def test_rating_with_every_question_and_refusals_in_the_residents_words(kiosk_office):
    k = kiosk_office
    number = serve(k.office)
    flow = RatingFlow(k.gate)
    assert flow.face(4) is None                                 # no rating open: a stray touch
    flow.start(number)
    assert flow.face(4) == ASK_MORE
    flow.details()
    answers = [4, 3, 4, 2, 4, 4, 3, 4, 1]
    steps = [flow.face(a) for a in answers]
    assert steps == [NEXT_ELEMENT] * 8 + [SEND_RATING] and flow.element_index == 9
    reply = answer(lambda done: flow.send(True, done))
    assert reply.ok and flow.finished(reply, number) == Message("check.png", "thanks")
    assert flow.number is None and not flow.has_score          # closed: a stray touch does nothing
    got = wait_for(lambda: k.office.client.events_of("rating_received") or None, what="rating_received")
    assert (got[0]["number"], got[0]["score"], got[0]["elements"]) == (number, 4, answers)

    flow.start(number)
    flow.face(4)
    twice = answer(lambda done: flow.send(False, done))
    message = flow.finished(twice, number)
    assert message == Message("check.png", "rate_err_already_rated", values={"number": number})
    assert number in T(message.title_key, **message.values)

    flow.start("Z-999")
    flow.face(2)
    missing = flow.finished(answer(lambda done: flow.send(False, done)), "Z-999")
    assert missing.icon == "warning.png" and missing.title_key == "rate_err_ticket_not_found"


def test_an_overall_score_left_unsent_goes_quietly_when_the_next_prompt_comes(kiosk_office):
    k = kiosk_office
    first, second = serve(k.office), serve(k.office)
    flow = RatingFlow(k.gate)
    flow.start(first)
    assert flow.face(3) == ASK_MORE and flow.has_score
    flow.start(first)                  # the same ticket again: nothing sent, the answer starts over
    assert not flow.has_score
    flow.face(3)
    flow.start(second)                 # the next resident: the first one's score still counts
    assert flow.number == second and not flow.has_score
    got = wait_for(lambda: k.office.client.events_of("rating_received") or None, what="the quiet rating")
    assert [(g["number"], g["score"], g["elements"]) for g in got] == [(first, 3, None)]


def test_typed_numbers_become_ticket_numbers():
    pad = NumberKeypad()
    for key in "B12":
        assert pad.key(key, 3) is None
    assert pad.shown(3) == "B-012"
    pad.key("del", 3)
    pad.key("del", 3)
    assert pad.shown(3) == "B" and pad.key("ok", 3) is None          # a letter alone is no number
    pad.key("7", 3)
    assert pad.key("ok", 3) == "B-007"
    pad.key("C", 3)                                                   # a letter starts a new number
    assert pad.typed == "C"
    # Digits typed before the letter are kept (defect 7): "1", "2", then "A" is A-012.
    pad.reset()
    for key in ("1", "2", "A"):
        pad.key(key, 3)
    assert pad.typed == "A12" and pad.shown(3) == "A-012" and pad.key("ok", 3) == "A-012"
    pad.key("C", 3)                                                   # a new letter after a number: fresh
    assert pad.typed == "C"
    for key in "1234567":
        pad.key(key, 3)
    assert pad.typed == "C123456" and pad.number(3) is None          # too long for 3 digits
    pad.reset()
    assert pad.shown(3) == "_"


# ---------------------------------------------------------------------- staff


def test_staff_pin_leaves_only_with_the_right_pin():
    pin = StaffPin("2468")
    for key in "2467":
        pin.key(key)
    assert pin.key("ok") is False and pin.error_key == "pin_wrong" and pin.entered == ""
    assert pin.key("2") is False and pin.error_key == ""              # typing again clears the error
    for key in "4689":
        pin.key(key)
    pin.key("del")
    assert pin.entered == "2468" and pin.key("ok") is True
    pin.reset()
    for _ in range(20):
        pin.key("1")
    assert pin.entered == "1" * 12
    hostile = StaffPin("1234")
    for key in ("1", "2", "3", "4", "\n", "ok"):
        hostile.key(key)
    assert hostile.error_key == "pin_wrong"


# ---------------------------------------------------------------------- printer status


def presence_of(office, client_id: str, messages: list) -> None:
    topic = office.client.topics.status("kiosk", client_id)
    office.client.link.subscribe(topic, lambda t, p: messages.append(json.loads(p)))


def test_printer_status_is_published_for_staff_and_checked_again_sooner_when_in_trouble(kiosk_office):
    k = kiosk_office
    messages: list[dict] = []
    presence_of(k.office, k.client_id, messages)
    healthy = TcpPrinter()
    gone = f"tcp://127.0.0.1:{free_port()}"   # nothing listens there
    printers = [TicketPrinter(healthy.url, check_on_start=False, timeout=3),
                TicketPrinter(gone, check_on_start=False, timeout=3), TicketPrinter("none")]
    try:
        every = k.cfg.kiosk.printer_check_seconds
        status = PrinterStatus(printers[0], k.link, check_seconds=every)
        status.publish_current()
        wait_for(lambda: any(m.get("printer") == "ok" for m in messages), what="printer ok in the presence")

        def checked(status: PrinterStatus) -> tuple[str, float]:
            results = []
            done = threading.Event()
            assert status.check(lambda res: (results.append(res), done.set()))
            assert done.wait(DEADLINE)
            return results[0].status, status.checked(results[0])

        assert checked(status) == ("ok", every * 4)   # a healthy printer is checked less often
        trouble = PrinterStatus(printers[1], k.link, check_seconds=every)
        state, seconds = checked(trouble)
        assert state == "offline" and seconds == every
        last = wait_for(lambda: next((m for m in reversed(messages) if m.get("printer") == "offline"), None),
                        what="printer offline in the presence")
        assert last["printer_message"] and last.get("online", True)
        assert PrinterStatus(printers[2], k.link, check_seconds=every).check(lambda res: None) is False   # no printer: no checks
    finally:
        for p in printers:
            p.close(timeout=5)


def test_the_flows_and_the_voice_load_without_kivy():
    """What the controllers need is plain Python: importing them (and the display's voice) loads no Kivy."""
    import subprocess
    import sys

    from tests.support import ROOT

    def kivy_modules(extra: str = "") -> int:
        code = ("import sys, antre_kiosk.flows.home, antre_kiosk.flows.issuing, antre_kiosk.flows.checkin, antre_kiosk.flows.rating, "
                f"antre_kiosk.flows.staff, antre_kiosk.flows.printer_status, antre_display.voice{extra}; "
                "print(len([m for m in sys.modules if m.split('.')[0] == 'kivy']))")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env=os.environ | {"KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"})
        assert out.returncode == 0, out.stderr
        return int(out.stdout.strip().splitlines()[-1])

    assert kivy_modules() == 0
    assert kivy_modules(", kivy.properties") > 0     # the probe does see Kivy when something loads it
