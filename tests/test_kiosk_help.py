"""Tanya & lapor on the kiosk's screen (kiosk/flows/callback.py, kiosk/flows/faq.py), by real pointer clicks
under Xvfb against a real mosquitto and ``antre serve``: the short complaint form typed on the grouped keys
(two touches a letter) and sent anonymously, the call-back request with a phone number, each with its slip
on a TCP printer stand-in and its code on screen; the FAQ's common questions as buttons, an answer shown large,
and a question the assistant is not sure of offering the call back."""

from __future__ import annotations

import re

import pytest

from antre_kiosk import texts
from antre_kiosk.app import KEY_GROUPS
from antre_kiosk.flows import faq  # noqa: F401 (its words join antre_kiosk.texts)
from tests.support import TcpPrinter
from tests.test_kiosk_app import kiosks, offices  # noqa: F401 (fixtures)
from tests.test_kiosk_letters import corner, held, key_at
from tests.test_letters import sign_in_staff

pytestmark = pytest.mark.gui
T = texts.text
ANSWER = "Syarat akta kelahiran: surat keterangan lahir, KK dan KTP orang tua. Gratis."
FAQ = f'''
[[notify.faq]]
answer = "{ANSWER}"
questions = ["Apa syarat membuat akta kelahiran?", "syarat akta lahir anak"]

[[notify.faq]]
answer = "Kantor desa buka Senin sampai Jumat pukul 08.00 sampai 15.00."
questions = ["Jam berapa kantor desa buka?", "jam buka kantor"]
'''


def type_text(k, text: str) -> None:
    """Types ``text`` on the grouped keys: the group, then the letter (a space is one key)."""
    for ch in text:
        if ch == " ":
            k.touch("tk:space")
            continue
        group = next(g for g, letters in KEY_GROUPS.items() if ch in letters)
        k.touch(f"tk:{group}")
        k.touch(f"tk:{ch}")


def shown(k, text: str) -> None:
    k.wait(lambda ui: ui["widgets"]["report:shown"]["text"] == text, f"'{text}' shown")


def test_a_complaint_typed_on_the_big_keys_is_sent_anonymously_and_its_slip_printed(offices, kiosks):
    printer = TcpPrinter()
    try:
        office = offices(f'printer = "{printer.url}"\n')
        k = kiosks(office)
        k.touch("help")
        k.wait_screen("help")
        k.touch("help:complaint")
        ui = k.wait(lambda ui: ui["settled"] and ui["screen"] == "report" and "rchoice:pengaduan" in ui["widgets"],
                    "the kinds")
        assert "report:next" not in ui["widgets"]                # a choice goes on by itself: no Lanjut beside it
        k.screenshot("complaint-kinds")
        k.touch("rchoice:aspirasi")                              # one tap: on to the topics
        k.wait(lambda ui: ui["settled"] and "rchoice:infrastruktur" in ui["widgets"], "the topics")
        k.touch("report:back")                                   # back: the choice made is marked
        ui = k.wait(lambda ui: ui["settled"] and "rchoice:aspirasi" in ui["widgets"], "the kinds again")
        assert ui["widgets"]["rchoice:aspirasi"].get("selected") and not ui["widgets"]["rchoice:pengaduan"].get("selected")
        k.touch("rchoice:aspirasi")                              # the same again: on, as before
        k.wait(lambda ui: ui["settled"] and "rchoice:infrastruktur" in ui["widgets"], "the topics")
        k.screenshot("complaint-topics")
        k.touch("rchoice:infrastruktur")
        k.wait(lambda ui: ui["widgets"]["report:prompt"]["text"] == T("cp_text"), "the text question")
        k.touch("tk:ABCDE")
        k.wait_widget("tk:groups")
        k.screenshot("complaint-group-open")
        k.touch("tk:groups")                                     # back to the groups without a letter
        type_text(k, "JALAN RT 3 RUSAK")
        shown(k, "JALAN RT 3 RUSAK")
        k.touch("tk:del")
        k.touch("tk:KLMNO")
        k.touch("tk:K")
        shown(k, "JALAN RT 3 RUSAK")
        k.screenshot("complaint-text")
        k.touch("report:next")
        k.wait(lambda ui: "rchoice:anonim" in ui["widgets"], "anonymous or a phone")
        assert T("cb_step", n=4, total=5) in k.ui()["widgets"]["report:step"]["text"]
        k.touch("rchoice:anonim")                                # ends the form: only marked, Kirim sends
        ui = k.wait(lambda ui: ui["widgets"].get("report:next", {}).get("text") == T("cb_send"), "Kirim")
        assert ui["screen"] == "report" and ui["widgets"]["rchoice:anonim"].get("selected")
        # Anonymous is the form's last question: the step line says so, as Kirim does.
        assert T("cb_step", n=4, total=4) in ui["widgets"]["report:step"]["text"], ui["widgets"]["report:step"]
        k.touch("report:next")
        ui = k.wait(lambda ui: ui["screen"] == "message", "the report sent")
        assert ui["widgets"]["message:title"]["text"] == T("cp_sent")
        code = re.search(r"P-\d{4}-\d{4}-\d{4}", ui["widgets"]["message:body"]["text"])[0]
        printer.wait_for(code.encode())
        k.screenshot("complaint-sent")
        status = office.client.ok("complaint_status", code=code.replace("-", ""))
        assert (status["category"], status["topic"], status["anonymous"]) == ("aspirasi", "infrastruktur", True)
        assert status["thread"][0]["text"] == "JALAN RT 3 RUSAK"
        assert "RUSAK" not in k.output() and "RUSAK" not in office.service.output()
    finally:
        printer.close()


def test_taps_queued_while_a_key_group_opens_land_on_the_keys_shown_there(offices, kiosks):
    """Each touch of a key group rebuilds the keys. On a busy kiosk (held with SIGSTOP while tapping) the
    next taps arrive in the same frame: the group's new keys are already in place, so a second tap where
    ABCDE was types the letter now there (A), and a tap at Kembali's place -- near the window's bottom-left
    corner, where Kivy leaves a new key until it is laid out -- goes back instead of typing a letter."""
    office = offices()
    k = kiosks(office)
    k.touch("help")
    k.wait_screen("help")
    k.touch("help:complaint")
    k.touch("rchoice:aspirasi")
    k.wait(lambda ui: ui["settled"] and "rchoice:infrastruktur" in ui["widgets"], "the topics")
    k.touch("rchoice:infrastruktur")
    ui = k.wait(lambda ui: ui["settled"] and ui["widgets"]["report:prompt"]["text"] == T("cp_text")
                and "tk:ABCDE" in ui["widgets"], "the text question")
    group = k.centre("tk:ABCDE", ui)
    resume = held(k)
    try:
        k.click(*group)
        k.click(*group)
    finally:
        resume()
    ui = k.wait(lambda ui: ui["settled"] and ui["widgets"]["report:shown"]["text"] == "A"
                and "tk:ABCDE" in ui["widgets"], "A typed, the groups back")
    k.touch("tk:ABCDE")
    ui = k.wait(lambda ui: ui["settled"] and "tk:A" in ui["widgets"], "the group open")
    assert key_at(ui, "tk:", group) == "A"                  # the key that the second tap pressed
    k.touch("tk:groups")
    ui = k.wait(lambda ui: ui["settled"] and "tk:FGHIJ" in ui["widgets"], "the groups")
    back = corner(k, "report:back", ui)
    resume = held(k)
    try:
        k.click(*k.centre("tk:FGHIJ", ui))
        k.click(*back)
    finally:
        resume()
    ui = k.wait(lambda ui: ui["settled"] and ui["widgets"]["report:prompt"]["text"] == T("cb_topic"),
                "back to the topics")
    assert "tk:F" not in ui["widgets"] and "rchoice:infrastruktur" in ui["widgets"]


def test_the_faq_answers_large_and_an_unsure_answer_offers_the_call_back(offices, kiosks):
    printer = TcpPrinter()
    try:
        office = offices(f'printer = "{printer.url}"\n{FAQ}')
        k = kiosks(office)
        k.touch("info:adminduk")                                 # from a service's requirements ...
        k.touch("info:ask")
        k.wait_screen("faq")
        k.touch("faq:back")
        k.touch("help:ask")                                      # ... or from Tanya & lapor
        ui = k.wait(lambda ui: ui["screen"] == "faq" and "faq:1" in ui["widgets"], "the common questions")
        assert ui["widgets"]["faq:0"]["text"] == "Apa syarat membuat akta kelahiran?"
        k.screenshot("faq")
        k.touch("faq:0")
        ui = k.wait(lambda ui: ui["screen"] == "answer", "the answer")
        assert ui["widgets"]["answer:title"]["text"] == ANSWER
        assert "answer:callback" not in ui["widgets"]            # sure: no call back offered
        k.screenshot("faq-answer")
        k.touch("listen")
        ui = k.wait(lambda ui: ui["speech"]["asked"] >= 1 and ui["speech"]["screen"] == "answer", "read aloud")
        assert ANSWER.split(":")[0] in ui["speech"]["text"]
        k.touch("answer:back")
        k.touch("faq:type")
        k.wait(lambda ui: ui["screen"] == "report" and ui["widgets"]["report:prompt"]["text"] == T("ask_prompt"),
               "the question's keys")
        type_text(k, "PAJAK SAPI")
        shown(k, "PAJAK SAPI")
        k.touch("report:next")
        ui = k.wait(lambda ui: ui["screen"] == "answer" and ui["widgets"]["answer:title"]["text"]
                    == T("answer_unsure"), "not sure")
        assert not ui["widgets"]["answer:callback"]["disabled"]
        k.screenshot("faq-unsure")
        # The call back, offered instead of a guess: the whole request on the kiosk's keys.
        k.touch("answer:callback")
        k.wait(lambda ui: ui["screen"] == "report" and "rchoice:informasi" in ui["widgets"], "the call back")
        k.touch("rchoice:informasi")
        k.wait(lambda ui: ui["settled"] and "rchoice:bansos" in ui["widgets"], "the topics")
        k.touch("rchoice:bansos")
        k.wait(lambda ui: ui["widgets"]["report:prompt"]["text"] == T("cb_name"), "the name")
        type_text(k, "SITI")
        k.touch("report:next")
        k.wait(lambda ui: "rk:1" in ui["widgets"], "the phone keypad")
        for d in "081234567890":
            k.touch(f"rk:{d}")
        ui = k.wait(lambda ui: ui["settled"] and ui["widgets"]["report:shown"]["text"] == "081234567890",
                    "the number shown whole")
        assert "rk:ok" not in ui["widgets"] and ui["widgets"]["report:next"]["text"] == T("cb_next")  # one way on
        k.screenshot("callback-phone")
        # "Dengarkan" in the waiting room: how many digits and the last two, never the number.
        asked = ui["speech"]["asked"]
        k.touch("listen")
        ui = k.wait(lambda ui: ui["speech"]["asked"] > asked and ui["speech"]["screen"] == "report", "read aloud")
        said = ui["speech"]["text"]
        assert "Nomor sudah diketik, 12 angka, berakhiran 9 0" in said, said
        assert "081234567890" not in said and "0812" not in said and "567890" not in said, said
        k.touch("report:next")
        k.wait(lambda ui: ui["widgets"]["report:prompt"]["text"] == T("cb_note"), "the note")
        k.touch("report:next")
        ui = k.wait(lambda ui: ui["screen"] == "message", "the request sent")
        assert ui["widgets"]["message:title"]["text"] == T("cb_sent")
        code = re.search(r"P-\d{4}-\d{4}-\d{4}", ui["widgets"]["message:body"]["text"])[0]
        data = printer.wait_for(code.encode())
        assert b"SITI" not in data and b"34567890" not in data
        staff = sign_in_staff(office.client.ok)
        item = next(i for i in office.client.ok("complaint_list", **staff["kasi"])["items"]
                    if i["code"] == code.replace("-", ""))
        full = office.client.ok("complaint_get", complaint=item["id"], **staff["kasi"])
        assert (full["contact_phone"], full["contact_name"], full["channel"]) == ("081234567890", "SITI", "kiosk")
        assert "PAJAK" not in k.output() and "PAJAK" not in office.service.output()
    finally:
        printer.close()


def _buttons(ui) -> list[str]:
    return [ui["widgets"][f"faq:{i}"]["text"] for i in range(8) if f"faq:{i}" in ui["widgets"]]


def test_the_common_questions_are_the_consoles_live_and_none_when_the_service_is_gone(offices, kiosks):
    """The buttons come from the service (``faq_common``) each time the screen opens: an entry the kasi adds or
    changes in the console shows, one switched off goes, and no service means no buttons (never the config's)."""
    office = offices(FAQ)
    k = kiosks(office)
    kasi = sign_in_staff(office.client.ok)["kasi"]
    k.touch("help")
    k.touch("help:ask")
    ui = k.wait(lambda ui: ui["screen"] == "faq" and "faq:1" in ui["widgets"], "the seeded questions")
    assert _buttons(ui) == ["Apa syarat membuat akta kelahiran?", "Jam berapa kantor desa buka?"]
    # The console (as web/questions_console.py sends it): a new entry, and the second one reworded.
    akta, jam = office.client.ok("faq_list", **kasi)["entries"]
    office.client.ok("faq_save", questions=["Kapan jadwal posyandu balita?"], answer="Rabu pertama tiap bulan, "
                     "08.00 di balai desa.", **kasi)
    office.client.ok("faq_save", entry=jam["id"], questions=["Jam buka kantor desa?", *jam["questions"]],
                     answer=jam["answer"], **kasi)
    k.touch("faq:back")
    k.touch("help:ask")
    ui = k.wait(lambda ui: ui["screen"] == "faq" and "faq:2" in ui["widgets"], "the new button")
    assert _buttons(ui) == ["Apa syarat membuat akta kelahiran?", "Jam buka kantor desa?",
                            "Kapan jadwal posyandu balita?"]
    k.screenshot("faq-live")
    k.touch("faq:2")
    ui = k.wait(lambda ui: ui["screen"] == "answer", "the new entry's answer")
    assert ui["widgets"]["answer:title"]["text"] == "Rabu pertama tiap bulan, 08.00 di balai desa."
    # Switched off in the console: gone when the screen opens again (answer:back opens it).
    office.client.ok("faq_save", entry=akta["id"], questions=akta["questions"], answer=akta["answer"], active=False,
                     **kasi)
    k.touch("answer:back")
    ui = k.wait(lambda ui: ui["screen"] == "faq" and _buttons(ui) and "faq:2" not in ui["widgets"],
                "the switched-off entry gone")
    assert _buttons(ui) == ["Jam buka kantor desa?", "Kapan jadwal posyandu balita?"]
    # The service gone: the screen opens with no buttons at all (Tanya sendiri stays), not the config's seed.
    office.service.stop()
    k.touch("faq:back")
    failed = k.ui()["faq_replies"]["failed"]
    k.touch("help:ask")
    ui = k.wait(lambda ui: ui["faq_replies"]["failed"] > failed, "faq_common unanswered")
    assert ui["screen"] == "faq" and _buttons(ui) == [] and "faq:type" in ui["widgets"]
    k.screenshot("faq-service-gone")


def test_rebuilt_buttons_are_drawn_whole_from_their_first_frame(offices, kiosks):
    """The letter types, the FAQ's questions and the forms' keys are buttons made afresh when their screen
    opens (the FAQ's when the service answers). The kiosk counts every frame it draws while a button shown
    has no words yet, another text's words, or still sits where Kivy puts a new widget before its layout:
    none, on first opening, opening again, after a language change and on the forms' changing keys (the
    start screen's buttons have always been kept and changed in place)."""
    office = offices(f'\n{FAQ}\n[letters]\nkiosk_form = true\n')
    k = kiosks(office)
    for lang_round in range(2):
        k.touch("letter_request")
        k.wait(lambda ui: ui["settled"] and ui["screen"] == "lettertypes", "the letter types")
        k.touch("lettertypes:back")
        k.touch("letter_request")
        k.wait(lambda ui: ui["settled"] and ui["screen"] == "lettertypes", "the letter types again")
        k.touch("lettertype:domisili")
        k.wait(lambda ui: ui["settled"] and "kb:A" in ui["widgets"], "the name's keys")
        for ch in "SITI":
            k.touch(f"kb:{ch}")
        k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"] == "SITI", "the name typed")
        k.touch("letterform:next")
        k.wait(lambda ui: ui["settled"] and "lf:0" in ui["widgets"], "the NIK's pad")
        k.touch("letterform:back")
        k.wait(lambda ui: ui["settled"] and "kb:A" in ui["widgets"], "the name's keys again")
        k.touch("letterform:back")
        k.touch("lettertypes:back")
        k.touch("help")
        k.touch("help:ask")
        k.wait(lambda ui: ui["settled"] and ui["screen"] == "faq" and "faq:1" in ui["widgets"], "the questions")
        k.touch("faq:back")
        k.touch("help:ask")
        ui = k.wait(lambda ui: ui["settled"] and ui["screen"] == "faq" and "faq:1" in ui["widgets"]
                    and ui["faq_replies"]["ok"] == 2 * lang_round + 2, "the questions again")
        k.touch("faq:back")
        k.touch("help:complaint")
        k.wait(lambda ui: ui["settled"] and "rchoice:aspirasi" in ui["widgets"], "the kinds")
        k.touch("rchoice:aspirasi")
        k.wait(lambda ui: ui["settled"] and "rchoice:infrastruktur" in ui["widgets"], "the topics")
        k.touch("report:back")
        k.touch("report:back")
        k.touch("help:back")
        ui = k.wait(lambda ui: ui["settled"] and ui["screen"] == "home", "the start screen")
        if lang_round == 0:
            k.touch("lang")
            k.wait(lambda ui: ui["settled"] and ui["lang"] == "en", "English")
    unfinished = {s: n for s, n in ui["unfinished_frames"].items() if s in ("lettertypes", "letterform", "faq", "report")}
    assert unfinished == {}, ui["unfinished_frames"]


def test_a_double_tap_on_a_choice_goes_on_once(offices, kiosks):
    """A choice goes on by itself, so an impatient double tap's second touch would press what the next
    question put under the finger (here a topic). It is swallowed: the topics are shown, none chosen."""
    office = offices()
    k = kiosks(office)
    k.touch("help")
    k.touch("help:complaint")
    ui = k.wait(lambda ui: ui["settled"] and "rchoice:pengaduan" in ui["widgets"], "the kinds")
    ignored = ui["ignored_taps"]
    x, y = k.centre("rchoice:pengaduan", ui)
    spot = (x - ui["widgets"]["rchoice:pengaduan"]["w"] // 4, y)      # where a topic button will be
    k.click(*spot, times=2)
    ui = k.wait(lambda ui: ui["settled"] and "rchoice:lainnya" in ui["widgets"] and ui["ignored_taps"] > ignored,
                "the topics, the second tap ignored")
    assert key_at(ui, "rchoice:", spot) is not None                  # a topic is where the second tap fell
    assert ui["widgets"]["report:prompt"]["text"] == T("cb_topic")
    assert not any(w.get("selected") for uid, w in ui["widgets"].items() if uid.startswith("rchoice:"))
    k.touch("report:back")                                            # the kind was chosen once
    ui = k.wait(lambda ui: ui["settled"] and ui["widgets"].get("rchoice:pengaduan", {}).get("selected"), "back")
