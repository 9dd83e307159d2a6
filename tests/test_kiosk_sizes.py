"""Every kiosk screen at every supported panel: 1280x800 (10.1"), 800x480 (7") and portrait 1080x1920
(21.5"). Under Xvfb, the real widget tree is walked on each screen: every touch target is at least 20 mm
(``antre_kiosk.layout``: from the panel's size), lies inside the window and overlaps no other, and no text is
smaller than the floor for that panel (20 px on the 7-inch one). A screenshot of each screen at each size
goes to the test's folder (and ``$ANTRE_SHOTS_DIR``) to be looked at."""

from __future__ import annotations

import pytest

from antre_kiosk import texts
from antre_kiosk.layout import metrics
from tests.support import Xvfb
from tests.test_kiosk_app import kiosks, offices, serve  # noqa: F401 (fixtures)
from tests.test_kiosk_speech import APPOINTMENTS

pytestmark = pytest.mark.gui
T = texts.text
SIZES = ["1280x800", "800x480", "1080x1920"]


@pytest.fixture(scope="module")
def xvfb():
    """A display tall enough for the portrait kiosk (one per test module here)."""
    x = Xvfb(1920, 1920).start()
    yield x
    x.stop()


def check(k, name: str, size: str, screen: str | None = None) -> dict:
    """Screenshot of the screen ``name`` (its screen's name, with - for _, unless ``screen`` names it), and its
    sizes checked."""
    screen = screen or name.replace("-", "_")
    screen = {"rate_element": "rate_face", "home_closed": "home", "home_all_entries": "home", "rate_pick_many": "rate_pick",
              "rate_code": "rate_keypad", "rate_code_wrong": "message"}.get(screen, screen)
    ui = k.wait(lambda ui: ui["screen"] == screen and ui["settled"] and ui.get("sizes", {}).get("targets"),
                f"{name} laid out")
    k.screenshot(f"{size}-{name}")
    ui = k.ui()
    s = ui["sizes"]
    w, h = (int(v) for v in size.split("x"))
    m = metrics(w, h)
    assert s["tp"] == m.target_px and s["min_font"] == m.min_font_px and s["portrait"] == m.portrait
    small = [t for t in s["targets"] if t["w"] < m.target_px or t["h"] < m.target_px]
    scrolled = [t["tag"] for t in s["targets"] if "visible" in t and (t["w"], t["h"]) != (t["visible"]["w"],
                                                                                        t["visible"]["h"])]
    full_min = min(min(t["w"], t["h"]) for t in s["targets"])
    # A target in a list that scrolls is checked where it is drawn (the rest is reached by scrolling).
    for t in s["targets"]:
        t.update(t.get("visible", {}))
    assert not small, f"{size} {name}: targets under 20 mm ({m.target_px} px): {small}"
    outside = [t for t in s["targets"] if t["x"] < 0 or t["y"] < 0 or t["x"] + t["w"] > w + 1
               or t["y"] + t["h"] > h + 1]
    assert not outside, f"{size} {name}: targets outside the window: {outside}"
    ts = s["targets"]
    overlaps = [(a["tag"], b["tag"]) for i, a in enumerate(ts) for b in ts[i + 1:]
                if a["x"] < b["x"] + b["w"] - 1 and b["x"] < a["x"] + a["w"] - 1
                and a["y"] < b["y"] + b["h"] - 1 and b["y"] < a["y"] + a["h"] - 1
                and not _nested(a, b)]
    assert not overlaps, f"{size} {name}: overlapping targets {overlaps}"
    assert s["smallest_text"]["px"] >= m.min_font_px, f"{size} {name}: {s['smallest_text']}"
    # A key of one character (letter, digit): the character is drawn large, its font size at least 55 % of
    # the key's height (capitals about 40 % of it and more).
    small_chars = [(t["tag"], t["char"]) for t in s["targets"] if "char" in t and t["char"] < 0.55]
    assert not small_chars, f"{size} {name}: small characters on keys {small_chars}"
    chars = [t["char"] for t in s["targets"] if "char" in t]
    if chars:
        print(f"{size} {name}: one-character keys' font / key height {min(chars)}..{max(chars)}")
    print(f"{size} {name}: smallest target {full_min} px (floor {m.target_px}), "
          f"smallest text {s['smallest_text']['px']} px (floor {m.min_font_px})")
    if size != "800x480":
        assert not scrolled, f"{size} {name}: only the 7-inch panel may need scrolling: {scrolled}"
    return ui


def _nested(a: dict, b: dict) -> bool:
    def inside(p, q):
        return (p["x"] >= q["x"] and p["y"] >= q["y"] and p["x"] + p["w"] <= q["x"] + q["w"]
                and p["y"] + p["h"] <= q["y"] + q["h"])
    return inside(a, b) or inside(b, a)


@pytest.mark.parametrize("size", SIZES)
def test_every_screen_has_big_targets_and_readable_text(offices, kiosks, size):
    office = offices('staff_pin = "2468"\n' + APPOINTMENTS)
    number = serve(office)
    office.client.wait_state(lambda s: s["rateable"], "a rateable ticket")
    k = kiosks(office, size=size)
    ui = k.wait(lambda ui: all(ui["widgets"].get(f"service:{c}", {}).get("subtext", "x") in
                               ui["widgets"].get(f"service:{c}", {}).get("drawn", "") for c in ("adminduk", "surat", "umum")),
                "each service's name and its line drawn")
    check(k, "home", size)
    k.touch("info:adminduk")
    check(k, "info", size)
    k.touch("info:back")
    k.touch("rate")
    check(k, "rate-pick", size)
    k.touch(f"rate:{number}")
    check(k, "rate-face", size)
    k.touch("face:3")
    check(k, "rate-more", size)
    k.touch("more:yes")
    k.wait(lambda ui: ui["screen"] == "rate_face" and ui["widgets"].get("face:title", {}).get("text")
           == texts.element_question(0), "the first question")
    check(k, "rate-element", size)
    k.touch("face:back")
    k.touch("rate")
    k.touch("rate_pick:type")
    k.touch("prefix:A")
    check(k, "rate-keypad", size)
    k.touch("keypad:back")
    k.touch("rate_pick:back")
    k.touch("checkin")
    check(k, "checkin", size)
    k.touch("checkin:back")
    k.touch("service:surat")
    k.wait_screen("ticket")
    w = check(k, "ticket", size)["widgets"]
    # Nothing is drawn under the top bar or over the next line (the 7-inch panel ran out of height once):
    # the number, its service, the queue, the rating code, then "Selesai", top to bottom.
    assert w["ticket:rating_code"]["text"].startswith("Kode penilaian: ")
    top = w["listen"]["y"] + w["listen"]["h"]
    for tag in ("ticket:number", "ticket:service", "ticket:ahead", "ticket:rating_code", "ticket:done"):
        assert w[tag]["y"] >= top - 1, f"{size}: {tag} overlaps what is above it: {w[tag]}"
        top = w[tag]["y"] + w[tag]["h"]
    assert top <= int(size.split("x")[1]) + 1
    k.touch("ticket:done")
    k.touch("rate")
    k.touch("rate_pick:type")
    for key in ("prefix:A", "key:1", "key:ok", "face:4", "more:no"):
        k.touch(key)
    k.wait(lambda ui: ui["screen"] == "message" and ui["widgets"]["message:title"]["text"], "the message")
    check(k, "message", size)
    k.touch("message:home")
    k.hold("staff_corner", lambda ui: ui["screen"] == "pin")
    check(k, "pin", size)


@pytest.mark.parametrize("size", SIZES)
def test_rating_code_keypad_fits(offices, kiosks, size):
    """Defect 7's code keypad ([queue] rating_code_required: the ticket's 4 digits after its number): the same
    sizes, with two digits typed, and its refusal of a wrong code."""
    office = offices(queue="rating_code_required = true")
    issued = office.client.ok("issue_ticket", service="adminduk", channel="admin")
    number, code = issued["number"], issued["rating_code"]
    assert office.client.ok("call_next", counter="loket-1")["number"] == number
    office.client.ok("complete", counter="loket-1")
    office.client.wait_state(lambda s: s["rateable"], "a rateable ticket")
    k = kiosks(office, size=size)
    k.touch("rate")
    k.touch(f"rate:{number}")
    k.wait(lambda ui: ui["screen"] == "rate_keypad"
           and ui["widgets"]["keypad:prompt"]["text"] == T("rate_code_prompt"), "the code prompt")
    wrong = "0000" if code != "0000" else "1111"
    for d in wrong[:2]:
        k.touch(f"key:{d}")
    k.wait(lambda ui: ui["widgets"]["keypad:shown"]["text"] == wrong[:2] + "__", "two digits typed")
    ui = check(k, "rate-code", size)
    assert "prefix:A" not in ui["widgets"]
    for d in wrong[2:]:
        k.touch(f"key:{d}")
    for key in ("key:ok", "face:4", "more:no"):
        k.touch(key)
    k.wait(lambda ui: ui["screen"] == "message" and ui["widgets"]["message:title"]["text"]
           == T("rate_err_rating_code_wrong", number=number), "the wrong code refused")
    check(k, "rate-code-wrong", size)


@pytest.mark.parametrize("size", SIZES)
def test_closed_office_keeps_the_service_names_and_says_when_it_opens(tmp_path, broker, kiosks, size):
    """Defect 2 on screen: closed today, open tomorrow 08.00-09.00: every service keeps its name, its line
    says when it opens again, the banner too; nothing can be taken and the sizes still hold."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from antre.wording import DAYS
    from tests.conftest import start_office

    now = datetime.now(ZoneInfo("Asia/Jakarta"))
    tomorrow = now + timedelta(days=1)
    hours = "\n".join(f'{d} = "{"08:00-09:00" if d == tomorrow.strftime("%a").lower() else "closed"}"'
                      for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    office = start_office(tmp_path, broker, enforce_hours=True,
                          extra=f'\n[office.hours]\n{hours}\n\n[kiosk]\nclient_id = "kiosk-closed-{size}"\n')
    try:
        k = kiosks(office, size=size)
        when = f"besok, {DAYS['id'][tomorrow.weekday()]} pukul 08.00"
        line = f"{T('closed_short')}  \u2022  {T('opens_next', when=when)}"
        ui = k.wait(lambda ui: ui["availability"] == "closed" and all(
            ui["widgets"].get(f"service:{c}", {}).get("subtext") == line
            and line in ui["widgets"][f"service:{c}"].get("drawn", "") for c in ("adminduk", "surat", "umum")),
            "the closed office's buttons")
        assert ui["banner"] == T("closed_next", when=when)
        for code, name in (("adminduk", "Administrasi Kependudukan (KTP/KK)"), ("surat", "Surat Keterangan"),
                           ("umum", "Pengaduan dan Layanan Lainnya")):
            w = ui["widgets"][f"service:{code}"]
            assert w["text"].startswith(name) and w["disabled"] and name.split()[0] in w["drawn"]
        check(k, "home-closed", size)
    finally:
        office.client.stop()
        office.service.stop()


def test_many_rateable_numbers_fit_or_scroll_on_the_small_panel(offices, kiosks):
    """Eight numbers to pick from on the 7-inch panel: the list scrolls instead of running over the
    buttons under it; every target is still 20 mm and none overlap."""
    office = offices()
    numbers = [serve(office) for _ in range(8)]
    office.client.wait_state(lambda s: len(s["rateable"]) == 8, "eight rateable tickets")
    k = kiosks(office, size="800x480")
    k.touch("rate")
    k.wait(lambda ui: f"rate:{numbers[-1]}" in ui["widgets"], "the numbers listed")
    ui = check(k, "rate-pick-many", "800x480")
    assert not ui["widgets"]["rate_pick:type"]["disabled"]


@pytest.mark.parametrize("size", SIZES)
def test_every_entry_on_still_fits_the_start_screen(offices, kiosks, size):
    """Every other way in switched on (booking code, letter pickup, the letter form, rating): at 1280x800
    they stand two by two instead of scrolling; on the 7-inch panel the priority choice is a column at the
    right, so all three service rows show whole (they showed two, the third cut by the scroll area's edge)."""
    office = offices(APPOINTMENTS + '\n[letters]\nkiosk_form = true\npickup_service = "surat"\n')
    k = kiosks(office, size=size)
    entries = ("checkin", "letter_pickup", "letter_request", "rate", "help")
    k.wait(lambda ui: all(t in ui["widgets"] for t in entries + ("service:umum",)), "every entry and service")
    ui = check(k, "home-all-entries", size)
    drawn = {t["tag"]: t for t in ui["sizes"]["targets"]}
    w = ui["widgets"]
    for code in ("adminduk", "surat", "umum"):
        assert drawn[f"service:{code}"]["h"] == w[f"service:{code}"]["h"], f"{size}: service:{code} cut"
    if size == "1280x800":
        assert w["checkin"]["y"] == w["letter_pickup"]["y"] and w["checkin"]["x"] < w["letter_pickup"]["x"]
    if size == "800x480":
        assert w["priority:lansia"]["x"] > w["service:adminduk"]["x"] + w["service:adminduk"]["w"]


@pytest.mark.parametrize("size", SIZES)
def test_tanya_and_lapor_screens_have_big_targets(offices, kiosks, size):
    """Tanya & lapor: the chooser, the report form's choices, topics, grouped letter keys (the groups and the
    widest group, the digits), the phone keypad, the FAQ's questions and an unsure answer with its call back."""
    from tests.test_kiosk_help import FAQ, type_text

    office = offices(FAQ)
    k = kiosks(office, size=size)
    k.wait_widget("help")
    k.touch("help")
    check(k, "help", size)
    k.touch("help:complaint")
    k.wait(lambda ui: "rchoice:pengaduan" in ui["widgets"], "the kinds")
    check(k, "report-kinds", size, "report")
    k.touch("rchoice:pengaduan")                 # a choice goes on by itself
    k.wait(lambda ui: ui["settled"] and "rchoice:lainnya" in ui["widgets"], "the topics")
    check(k, "report-topics", size, "report")
    k.touch("rchoice:lainnya")
    k.wait(lambda ui: "tk:ABCDE" in ui["widgets"], "the letter groups")
    type_text(k, "LAMPU MATI")
    check(k, "report-letters", size, "report")
    k.touch("tk:0-9")
    k.wait(lambda ui: "tk:0" in ui["widgets"], "the digits group")
    check(k, "report-digits-group", size, "report")
    k.touch("tk:groups")
    k.touch("report:next")
    k.touch("rchoice:hp")
    k.wait(lambda ui: "rk:1" in ui["widgets"], "the phone keypad")
    k.touch("rk:0")
    check(k, "report-phone", size, "report")
    for prompt in ("cp_contact", "cp_text", "cb_topic", "cb_category"):     # Kembali, one question at a time
        k.touch("report:back")
        k.wait(lambda ui: ui["widgets"]["report:prompt"]["text"] == T(prompt), f"back to '{T(prompt)}'")
    k.touch("report:back")
    k.wait_screen("help")
    k.touch("help:ask")
    k.wait(lambda ui: "faq:1" in ui["widgets"], "the common questions")
    check(k, "faq", size)
    k.touch("faq:type")
    k.wait(lambda ui: "tk:ABCDE" in ui["widgets"], "the question's keys")
    type_text(k, "SAPI")
    k.touch("report:next")
    k.wait(lambda ui: ui["screen"] == "answer" and "answer:callback" in ui["widgets"], "the unsure answer")
    check(k, "answer", size)
    # The QR reader's status screen, scanned by real key events: a ticket's (a booking's, with its green
    # check-in button, is looked up live since booking_status: tests/test_kiosk_scan.py's window test).
    from tests.test_kiosk_scan import scan

    number = office.client.ok("issue_ticket", service="adminduk", channel="admin")["number"]
    scan(k, number)
    k.wait(lambda ui: ui["screen"] == "scan" and ui["widgets"]["scan:title"]["text"] == T("scan_ticket", number=number),
           "the ticket's status")
    check(k, "scan", size)


@pytest.mark.parametrize("size", SIZES)
def test_ajukan_surat_screens_have_big_targets(offices, kiosks, size):
    """Ajukan surat: the letter types, and the form's letter keyboard, digit pad and choices (with one marked).
    On the portrait panel the question stands above its keys, as on the report form: beside them, ten letter
    keys across were 61 px wide (under 20 mm) with their letters cut; the step line was 13 px on the 7-inch
    panel (floor 20)."""
    office = offices('\n[letters]\nkiosk_form = true\n')
    k = kiosks(office, size=size)
    k.wait_widget("letter_request")
    k.touch("letter_request")
    k.wait(lambda ui: ui["screen"] == "lettertypes" and "lettertype:domisili" in ui["widgets"], "the letter types")
    check(k, "lettertypes", size)
    k.touch("lettertype:domisili")
    k.wait(lambda ui: ui["screen"] == "letterform" and "kb:A" in ui["widgets"], "the name's keyboard")
    for ch in "SITI":
        k.touch(f"kb:{ch}")
    k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"] == "SITI", "the name typed")
    # The full keyboard (ten keys across) is not held to 20 mm on the 7- and 10-inch panels (the report
    # form's grouped letters are); its words are held to the panel's smallest text, and in portrait each key
    # to 20 mm, under the question rather than squeezed beside it.
    ui = k.wait(lambda ui: ui["settled"] and ui["sizes"].get("targets"), "the keyboard laid out")
    k.screenshot(f"{size}-letterform-keyboard")
    w, m = ui["widgets"], metrics(*(int(v) for v in size.split("x")))
    assert ui["sizes"]["smallest_text"]["px"] >= m.min_font_px, (size, ui["sizes"]["smallest_text"])
    for tag in ("letterform:back", "letterform:next"):
        assert min(w[tag]["w"], w[tag]["h"]) >= m.target_px, (size, tag, w[tag])
    # The step line: the letter's name too where there is room; on the 7-inch panel the step alone (at the
    # panel's smallest text the name took three lines in a box for two, its first and last cut).
    # Every letter as large as the others (W and M were drawn at 44 % of the key's height, the rest at 62 %:
    # the keys' padding of BigButton's kv rule overrode the keyboard's none, and the widest letters shrank).
    small_chars = [(t["tag"], t["char"]) for t in ui["sizes"]["targets"] if "char" in t and t["char"] < 0.55]
    assert not small_chars, (size, small_chars)
    step = "Langkah 1 dari 7"
    assert w["letterform:step"]["text"] == (step if m.compact else f"Surat Keterangan Domisili · {step}")
    if m.portrait:
        keys = [t for t in ui["sizes"]["targets"] if t["tag"].startswith("kb:")]
        assert min(min(t["w"], t["h"]) for t in keys) >= m.target_px, (size, keys)
        assert w["letterform:shown"]["y"] + w["letterform:shown"]["h"] <= w["kb:1"]["y"], w
    k.touch("letterform:next")
    k.wait(lambda ui: ui["settled"] and "lf:1" in ui["widgets"], "the NIK's pad")
    for ch in "3204":
        k.touch(f"lf:{ch}")
    check(k, "letterform-pad", size, "letterform")
    for key in ("lf:del",) * 4:
        k.touch(key)
    for ch in "3204055403900002":
        k.touch(f"lf:{ch}")
    k.touch("letterform:next")
    k.wait(lambda ui: ui["settled"] and "Tempat lahir" in ui["widgets"]["letterform:prompt"]["text"], "Tempat lahir")
    for ch in "BANDUNG":
        k.touch(f"kb:{ch}")
    k.touch("letterform:next")
    k.wait(lambda ui: ui["settled"] and "lf:1" in ui["widgets"], "the date's pad")
    for ch in "14031990":
        k.touch(f"lf:{ch}")
    k.touch("letterform:next")
    k.wait(lambda ui: ui["settled"] and "choice:Perempuan" in ui["widgets"], "the sex question")
    k.touch("choice:Laki-laki")
    k.wait(lambda ui: ui["settled"] and "Alamat" in ui["widgets"]["letterform:prompt"]["text"], "Alamat")
    k.touch("letterform:back")
    k.wait(lambda ui: ui["settled"] and ui["widgets"].get("choice:Laki-laki", {}).get("selected"), "the choice marked")
    check(k, "letterform-choice", size, "letterform")
