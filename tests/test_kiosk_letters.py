"""The kiosk's "Ambil surat" flow (kiosk/flows/letters.py) without a window, against a real broker and
``antre serve``: typos caught before sending, refusals in the resident's words, and a ready letter's pickup
ticket printed on a TCP printer stand-in and called at the counter."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from antre_kiosk import logic, texts
from antre_kiosk.flows import Message
from antre_kiosk.flows import letter_form  # noqa: F401 (its words join antre_kiosk.texts)
from antre_kiosk.flows.issuing import IssuingFlow
from antre_kiosk.flows.letters import MISTYPED, SEND, LetterPickupFlow
from tests.conftest import start_office
from tests.support import DEADLINE, TcpPrinter, wait_for
from tests.test_kiosk_app import kiosks  # noqa: F401 (fixture)
from tests.test_kiosk_flows import answer, kiosk_desk  # noqa: F401 (fixture)
from tests.test_letters import domisili, sign_in_staff


def test_ambil_surat_catches_typos_says_why_not_and_prints_a_pickup_ticket(kiosk_desk):
    desk = kiosk_desk('\n[letters]\npickup_service = "surat"\n')
    office, k, printer, stand_in = desk.office, desk.k, desk.printer, desk.stand_in
    c = office.client
    st = sign_in_staff(c.ok)
    code = c.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
    rid = next(i["id"] for i in c.ok("letter_list", **st["kasi"])["items"] if i["code"] == code)
    flow = LetterPickupFlow(k.gate)

    typo = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]
    for d in typo[:6]:
        assert flow.key(d) is None
    assert flow.shown == f"{typo[:4]} {typo[4:6]}__ ____"
    assert flow.key("ok") is None                    # OK waits for all twelve digits
    for d in typo[6:] + "7":                         # one too many is ignored
        flow.key(d)
    assert flow.typed == typo and flow.key("ok") == MISTYPED
    assert flow.mistyped == Message("warning.png", "letter_failed", "letter_mistyped")
    flow.key("del")
    assert flow.typed == typo[:-1]

    def send(typed: str):
        flow.reset()
        for d in typed:
            flow.key(d)
        assert flow.key("ok") == SEND
        return answer(lambda done: flow.pickup(flow.typed, done))

    reply = send(code)                               # still being checked
    assert flow.refusal(reply).body_key == "letter_err_letter_not_ready"
    assert texts.text("letter_err_letter_not_ready").startswith("Surat Anda masih diproses")
    c.ok("letter_assign_number", request=rid, **st["kasi"])
    c.ok("letter_set_status", request=rid, status="menunggu_ttd", **st["kasi"])
    c.ok("letter_set_status", request=rid, status="siap_diambil", **st["penandatangan"])
    reply = send(code)
    assert reply.ok, reply
    result = reply.result
    assert result["service"] == "surat" and result["channel"] == "kiosk"
    # Printed like any ticket, on the network printer.
    row = next(r for r in logic.service_rows(c.state(), k.cfg.services) if r.code == "surat")
    issuing = IssuingFlow(k.gate, public_url="")
    printed, done = [], threading.Event()
    printer.submit(issuing.ticket_info(result, row), k.cfg.office,
                   on_done=lambda res: (printed.append(res), done.set()))
    assert done.wait(DEADLINE) and printed[0].ok
    data = wait_for(lambda: b"".join(stand_in.connections) or None, what="bytes at the printer")
    assert result["number"].encode() in data and code.encode() not in data
    assert c.ok("call_next", counter="loket-3")["number"] == result["number"]
    assert flow.refusal(send(code)).body_key == "letter_err_pickup_taken"
    assert code not in office.service.output()


@pytest.mark.gui
def test_ambil_surat_on_the_kiosk_screen_prints_the_pickup_ticket(tmp_path, broker, kiosks):
    printer = TcpPrinter()
    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "{kiosk_id}"\nprinter = "{printer.url}"\n'
                                                  f'\n[letters]\npickup_service = "surat"\n')
    try:
        c = office.client
        st = sign_in_staff(c.ok)
        code = c.ok("letter_request", type="domisili", fields=domisili(), channel="web")["code"]
        rid = next(i["id"] for i in c.ok("letter_list", **st["kasi"])["items"] if i["code"] == code)
        k = kiosks(office)
        k.wait_widget("letter_pickup")
        k.screenshot("letters-home")
        k.touch("letter_pickup")
        k.wait_screen("checkin")
        ui = k.ui()
        assert ui["widgets"]["checkin:prompt"]["text"] == texts.text("letter_prompt")
        for digit in code[:11]:
            k.touch(f"code:{digit}")
        assert k.ui()["widgets"]["code:ok"]["disabled"]          # OK waits for all 12 digits
        k.touch(f"code:{(int(code[11]) + 1) % 10}")              # the last digit wrong: caught here
        k.touch("code:ok")
        ui = k.wait(lambda ui: ui["screen"] == "message", "the typo caught at the kiosk")
        assert ui["widgets"]["message:body"]["text"] == texts.text("letter_mistyped")
        k.touch("message:home")
        k.touch("letter_pickup")
        for digit in code:
            k.touch(f"code:{digit}")
        k.wait(lambda ui: ui["widgets"]["checkin:shown"]["text"] == f"{code[:4]} {code[4:8]} {code[8:]}",
               "the typed code in groups of four")
        k.screenshot("letters-keypad")
        k.touch("code:ok")
        ui = k.wait(lambda ui: ui["screen"] == "message", "not ready yet")
        assert ui["widgets"]["message:body"]["text"] == texts.text("letter_err_letter_not_ready")
        k.screenshot("letters-not-ready")
        k.touch("message:home")
        c.ok("letter_assign_number", request=rid, **st["kasi"])
        c.ok("letter_set_status", request=rid, status="menunggu_ttd", **st["kasi"])
        c.ok("letter_set_status", request=rid, status="siap_diambil", **st["penandatangan"])
        k.touch("letter_pickup")
        for digit in code:
            k.touch(f"code:{digit}")
        k.touch("code:ok")
        ui = k.wait(lambda ui: ui["screen"] == "ticket" and ui["widgets"]["ticket:number"]["text"] == "B-001",
                    "the pickup ticket on screen")
        printer.wait_for(b"B-001")
        k.screenshot("letters-ticket")
        assert c.ok("call_next", counter="loket-3")["number"] == "B-001"
    finally:
        printer.close()
        office.client.stop()
        office.service.stop()


def test_ajukan_surat_one_question_at_a_time_with_big_keys_then_a_printed_slip(kiosk_desk):
    from datetime import date as date_

    from antre_kiosk.flows.letter_form import CHOICE, DATE, DIGITS, LETTERS, LetterFormFlow, slip
    from tests.test_letters import NIK_F

    desk = kiosk_desk('\n[web]\npublic_url = "https://desa.example"\n')
    office, k = desk.office, desk.k
    flow = LetterFormFlow(k.gate, k.cfg.letters.types, today=lambda: date_(2026, 12, 7))

    def type_in(text: str) -> None:
        for ch in text:
            flow.key("space" if ch == " " else ch)

    flow.start("domisili")
    assert flow.kind == LETTERS and flow.step == (1, 7) and not flow.back()
    type_in("SITI 4MINAH")
    assert flow.next() == "lf_p_name" and flow.field.name == "nama"          # a digit in a name
    for _ in range(6):
        flow.key("del")
    type_in("AMINAH")
    assert flow.typed == "SITI AMINAH" and flow.next() is None
    assert flow.kind == DIGITS
    type_in("3204055403900X00")                                              # the X is not a key here
    assert flow.typed == NIK_F[:15] and flow.next() == "lf_p_nik_length"
    type_in("15")                                                            # one digit fits, no more
    assert flow.typed == NIK_F[:15] + "1" and flow.shown == "3204 0554 0390 0001"
    assert flow.next() is None
    type_in("BANDUNG")
    flow.next()
    assert flow.kind == DATE
    type_in("3102")
    assert flow.shown == "31-02-____" and flow.next() == "lf_p_date"
    type_in("1990")
    assert flow.next() == "lf_p_date"                                         # no 31 February
    for _ in range(8):
        flow.key("del")
    type_in("01012030")
    assert flow.next() == "lf_p_future_date"
    for _ in range(8):
        flow.key("del")
    type_in("15031990")                                                       # a real date, not the NIK's
    assert flow.next() is None and flow.kind == CHOICE
    assert flow.next() == "lf_p_choice"
    flow.choose("Laki-laki")                                                  # not the NIK's either
    assert flow.next() is None
    type_in("RT 02 RW 05 DUSUN CIKONENG")
    flow.next()
    type_in("MELAMAR KERJA")
    assert flow.last and flow.next() == "lf_p_nik_birth_mismatch" and flow.field.name == "tanggal_lahir"
    assert flow.shown == "15-03-1990"                                         # what was typed, to correct
    for _ in range(8):
        flow.key("del")
    type_in("14031990")
    assert flow.next() is None and flow.field.name == "jenis_kelamin" and flow.typed == "Laki-laki"
    flow.choose("Perempuan")
    assert flow.next() is None and flow.next() is None and flow.next() == "done"
    reply = answer(lambda done: flow.submit(done))
    assert reply.ok and reply.result["channel"] == "kiosk"
    message = flow.sent(reply)
    assert message.title_key == "lf_sent" and message.values["code"].replace("-", "") == reply.result["code"]
    assert flow.values == {}                                                 # the answers are forgotten
    data = desk.print_blocks(slip(reply.result, k.cfg.office, public_url=k.cfg.web.public_url))
    assert message.values["code"].encode() in data and f"/surat/status/{reply.result['code']}".encode() in data
    assert b"SITI" not in data and NIK_F.encode() not in data                 # no personal data on the slip
    st = sign_in_staff(office.client.ok)
    rid = next(i["id"] for i in office.client.ok("letter_list", **st["kasi"])["items"]
               if i["code"] == reply.result["code"])
    got = office.client.ok("letter_get", request=rid, **st["kasi"])
    assert got["fields"]["tanggal_lahir"] == "1990-03-14" and got["holder_name"] == "SITI AMINAH"
    assert "SITI" not in office.service.output()


@pytest.mark.gui
def test_ajukan_surat_on_the_kiosk_screen_with_big_keys(tmp_path, broker, kiosks):
    printer = TcpPrinter()
    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "{kiosk_id}"\nprinter = "{printer.url}"\n'
                                                  f'\n[letters]\nkiosk_form = true\npickup_service = "surat"\n')
    try:
        k = kiosks(office)
        k.wait_widget("letter_request")
        k.wait_widget("letter_pickup")
        k.screenshot("letter-home-both")
        k.touch("letter_request")
        k.wait_screen("lettertypes")
        k.screenshot("letter-form-types")
        k.touch("lettertype:kehilangan")
        k.wait_screen("letterform")

        def type_in(text: str, pad: str = "kb") -> None:
            for ch in text:
                k.touch(f"{pad}:{'space' if ch == ' ' else ch}")

        def shown(text: str) -> None:
            k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"] == text, f"'{text}' typed")

        type_in("BUDI 5")
        k.touch("letterform:next")
        k.wait(lambda ui: ui["widgets"]["letterform:problem"]["text"] == texts.text("lf_p_name"), "the name problem")
        k.screenshot("letter-form-name-problem")
        k.touch("kb:del")
        type_in("SANTOSO")
        shown("BUDI SANTOSO")
        k.touch("letterform:next")
        k.wait(lambda ui: "NIK" in ui["widgets"]["letterform:prompt"]["text"], "the NIK question")
        type_in("3204051403900002", pad="lf")
        shown("3204 0514 0390 0002")
        ui = k.wait(lambda ui: ui["settled"], "the NIK's pad drawn")
        # One way on: the screen's Lanjut; the pad has no OK key of its own doing the same.
        assert "lf:ok" not in ui["widgets"] and ui["widgets"]["letterform:next"]["text"] == texts.text("lf_next")
        assert "lf:del" in ui["widgets"]
        k.screenshot("letter-form-nik")
        k.touch("letterform:next")
        k.wait(lambda ui: "Alamat" in ui["widgets"]["letterform:prompt"]["text"], "the address question")
        type_in("RT 1 RW 2")
        k.touch("letterform:next")
        type_in("KTP")
        k.touch("letterform:next")
        k.wait(lambda ui: "Tanggal hilang" in ui["widgets"]["letterform:prompt"]["text"], "the date question")
        type_in("01122026", pad="lf")
        shown("01-12-2026")
        k.touch("letterform:next")
        k.wait(lambda ui: "Tempat hilang" in ui["widgets"]["letterform:prompt"]["text"], "the last question")
        type_in("PASAR")
        k.touch("letterform:next")
        ui = k.wait(lambda ui: ui["screen"] == "message", "the request sent")
        assert ui["widgets"]["message:title"]["text"] == texts.text("lf_sent")
        code = ui["widgets"]["message:body"]["text"].split(": ", 1)[1][:14]
        printer.wait_for(code.encode())
        k.screenshot("letter-form-sent")
        status = office.client.ok("letter_status", code=code.replace("-", ""))
        assert status["type"] == "kehilangan" and status["channel"] == "kiosk"
    finally:
        printer.close()
        office.client.stop()
        office.service.stop()


def held(k):
    """The kiosk's process stopped (every thread), then let go: taps made meanwhile wait in X and reach
    the kiosk together, in one frame."""
    os.kill(k.proc.pid, signal.SIGSTOP)

    def stopped() -> bool:
        states = []
        for task in Path(f"/proc/{k.proc.pid}/task").iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except OSError:
                continue
        return bool(states) and all(s in "TtZX" for s in states)
    wait_for(stopped, what="the kiosk's threads to stop")
    return lambda: os.kill(k.proc.pid, signal.SIGCONT)


def corner(k, uid: str, ui: dict) -> tuple[int, int]:
    """A point inside ``uid`` near its bottom-left corner, checked to lie in the window's bottom-left
    100 x 100 px: where a new Kivy widget sits (size 100 x 100 at (0, 0)) until it is laid out."""
    w, win = ui["widgets"][uid], ui["window"]
    x, y = w["x"] + 8, w["y"] + w["h"] - 8
    assert x < 100 and win["height"] - y < 100, (uid, w, win)
    return win["left"] + x, win["top"] + y


def key_at(ui: dict, prefix: str, point: tuple[int, int]) -> str | None:
    """The key (``prefix:<key>``) whose rectangle holds the window point ``point``."""
    win = ui["window"]
    x, y = point[0] - win["left"], point[1] - win["top"]
    for uid, w in ui["widgets"].items():
        if uid.startswith(prefix) and w["x"] <= x < w["x"] + w["w"] and w["y"] <= y < w["y"] + w["h"]:
            return uid[len(prefix):]
    return None


@pytest.mark.gui
def test_keys_typed_right_after_lanjut_go_to_the_next_question_none_lost(tmp_path, broker, kiosks):
    """A quick resident presses Lanjut and types the next answer before the kiosk has drawn the next
    question: on a busy kiosk the taps reach it together, in one frame. Every key lands in the next
    field -- none lost on keys that are being rebuilt and not yet laid out. The kiosk is held (SIGSTOP)
    while the taps are made, so they always come in one batch."""
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "kiosk-{os.urandom(3).hex()}"\n'
                                                  f'\n[letters]\nkiosk_form = true\n')

    try:
        k = kiosks(office)
        k.touch("letter_request")
        k.touch("lettertype:kehilangan")
        k.wait_screen("letterform")
        for ch in "BUDI":
            k.touch(f"kb:{ch}")
        k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"] == "BUDI", "the name typed")
        ui = k.wait(lambda ui: ui["settled"], "the name's keys drawn")
        resume = held(k)
        points = [k.centre(uid, ui) for uid in ("kb:K", "kb:T", "kb:P")]
        try:                                    # Lanjut, then the next answer at once, on the same keys
            k.click(*k.centre("letterform:next", ui))
            for point in points:
                k.click(*point)
        finally:
            resume()
        ui = k.wait(lambda ui: ui["settled"] and "NIK" in ui["widgets"]["letterform:prompt"]["text"],
                    "the NIK question")
        # The keys under the finger changed with the question (letters -> the digit pad): the new keys were
        # placed before the taps were handled, so each tap pressed the pad's key at that spot -- the one the
        # resident sees there -- or nothing where it fell between keys; no key still at the window's corner.
        pressed = [key for key in (key_at(ui, "lf:", point) for point in points) if key is not None]
        assert pressed and all(key.isdigit() for key in pressed), pressed
        assert ui["widgets"]["letterform:shown"]["text"] == "".join(pressed)
        for _ in pressed:
            k.touch("lf:del")
        k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"] == "", "the digits deleted")
        for d in "3204051403900002":
            k.touch(f"lf:{d}")
        k.touch("letterform:next")
        ui = k.wait(lambda ui: ui["settled"] and "Alamat" in ui["widgets"]["letterform:prompt"]["text"],
                    "the address question")
        for ch in "RT 1":
            k.touch(f"kb:{'space' if ch == ' ' else ch}")
        ui = k.wait(lambda ui: ui["settled"] and ui["widgets"]["letterform:shown"]["text"] == "RT 1", "the address")
        resume = held(k)
        try:
            for uid in ("letterform:next", "kb:K", "kb:T", "kb:P"):
                k.click(*k.centre(uid, ui))
        finally:
            resume()
        ui = k.wait(lambda ui: ui["settled"] and "Barang" in ui["widgets"]["letterform:prompt"]["text"],
                    "the question after the address")
        k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"] == "KTP", "KTP in the next field")
    finally:
        office.client.stop()
        office.service.stop()


@pytest.mark.gui
def test_a_choice_goes_on_by_itself_and_kembali_shows_it_marked(tmp_path, broker, kiosks):
    """Surat domisili's sex (Laki-laki / Perempuan, not the last question): one tap on a choice goes on to the
    next question, no Lanjut beside the choices; Kembali comes back to it with the choice marked, and a tap on
    another choice goes on with that one. Sent, the request holds the choice made last."""
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "kiosk-{os.urandom(3).hex()}"\n'
                                                  f'\n[letters]\nkiosk_form = true\n')
    try:
        k = kiosks(office)
        k.touch("letter_request")
        k.touch("lettertype:domisili")
        k.wait_screen("letterform")

        def reply_with(text: str, prompt: str, pad: str = "kb") -> None:
            k.wait(lambda ui: ui["settled"] and prompt in ui["widgets"]["letterform:prompt"]["text"], prompt)
            for ch in text:
                k.touch(f"{pad}:{'space' if ch == ' ' else ch}")
            k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"].replace(" ", "").replace("-", "")
                   == text.replace(" ", ""), f"'{text}' typed")
            k.touch("letterform:next")

        reply_with("SITI AMINAH", "Nama")
        reply_with("3204055403900002", "NIK", pad="lf")
        reply_with("BANDUNG", "Tempat lahir")
        reply_with("14031990", "Tanggal lahir", pad="lf")
        ui = k.wait(lambda ui: ui["settled"] and "choice:Perempuan" in ui["widgets"], "the sex question")
        assert "letterform:next" not in ui["widgets"]           # the choice itself goes on
        assert not any(w.get("selected") for uid, w in ui["widgets"].items() if uid.startswith("choice:"))
        k.screenshot("letter-form-choice")
        k.touch("choice:Laki-laki")                             # one tap: the next question
        ui = k.wait(lambda ui: ui["settled"] and "Alamat" in ui["widgets"]["letterform:prompt"]["text"], "Alamat")
        assert "choice:Laki-laki" not in ui["widgets"]
        k.touch("letterform:back")
        ui = k.wait(lambda ui: ui["settled"] and "choice:Laki-laki" in ui["widgets"], "back to the choice")
        assert ui["widgets"]["choice:Laki-laki"].get("selected") and not ui["widgets"]["choice:Perempuan"].get("selected")
        assert ui["widgets"]["letterform:shown"]["text"] == "Laki-laki"
        k.screenshot("letter-form-choice-marked")
        k.touch("choice:Perempuan")                             # changed: on again, with the new one
        reply_with("RT 1 RW 2", "Alamat")
        reply_with("MELAMAR KERJA", "keperluan")
        ui = k.wait(lambda ui: ui["screen"] == "message", "the request sent")
        assert ui["widgets"]["message:title"]["text"] == texts.text("lf_sent")
        code = ui["widgets"]["message:body"]["text"].split(": ", 1)[1][:14].replace("-", "")
        st = sign_in_staff(office.client.ok)
        rid = next(i["id"] for i in office.client.ok("letter_list", **st["kasi"])["items"] if i["code"] == code)
        assert office.client.ok("letter_get", request=rid, **st["kasi"])["fields"]["jenis_kelamin"] == "Perempuan"
    finally:
        office.client.stop()
        office.service.stop()


@pytest.mark.gui
def test_kembali_tapped_twice_while_the_keys_change_goes_back_twice(tmp_path, broker, kiosks):
    """On the NIK question (the digit pad) Kembali is tapped twice, quickly, on a busy kiosk: the first goes
    back to the name, whose letter keys replace the pad; the second, at Kembali's place near the window's
    bottom-left corner, must go back again -- not press a new letter key not yet laid out (Kivy leaves
    new widgets at (0, 0), 100 x 100 px, until the next frame) and change the name."""
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "kiosk-{os.urandom(3).hex()}"\n'
                                                  f'\n[letters]\nkiosk_form = true\n')
    try:
        k = kiosks(office)
        k.touch("letter_request")
        k.touch("lettertype:kehilangan")
        k.wait_screen("letterform")
        for ch in "BUDI":
            k.touch(f"kb:{ch}")
        k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"] == "BUDI", "the name typed")
        k.touch("letterform:next")
        ui = k.wait(lambda ui: ui["settled"] and "NIK" in ui["widgets"]["letterform:prompt"]["text"]
                    and "lf:0" in ui["widgets"], "the NIK question and its pad")
        back = corner(k, "letterform:back", ui)
        resume = held(k)
        try:
            k.click(*k.centre("letterform:back", ui))
            k.click(*back)
        finally:
            resume()
        ui = k.wait(lambda ui: ui["settled"] and ui["screen"] == "lettertypes", "the letter types again")
        k.touch("lettertype:kehilangan")
        ui = k.wait(lambda ui: ui["settled"] and ui["screen"] == "letterform" and "kb:A" in ui["widgets"],
                    "the form afresh")
        assert ui["widgets"]["letterform:shown"]["text"] == ""
    finally:
        office.client.stop()
        office.service.stop()


@pytest.mark.gui
def test_a_letter_form_left_half_typed_is_forgotten_and_its_nik_never_read_aloud(tmp_path, broker, kiosks):
    """A resident who walks away from 'Ajukan surat' mid-form: after the idle timeout the kiosk is back on
    the start screen and no form holds the name or NIK typed. "Dengarkan" on the NIK question says how many
    digits and the last two, never the NIK (the screen shows it whole)."""
    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "{kiosk_id}"\nidle_seconds = 4.0\n'
                                                  f'\n[letters]\nkiosk_form = true\npickup_service = "surat"\n')
    try:
        k = kiosks(office)
        k.wait_widget("letter_request")
        k.touch("letter_request")
        k.wait_screen("lettertypes")
        k.touch("lettertype:kehilangan")
        k.wait_screen("letterform")
        for ch in "BUDI":
            k.touch(f"kb:{ch}")
        k.touch("letterform:next")
        k.wait(lambda ui: "NIK" in ui["widgets"]["letterform:prompt"]["text"], "the NIK question")
        for d in "3204051403900002":
            k.touch(f"lf:{d}")
        ui = k.wait(lambda ui: ui["settled"] and ui["widgets"]["letterform:shown"]["text"] == "3204 0514 0390 0002",
                    "the NIK shown whole")
        assert ui["typed_held"] == ["letter_form"]
        asked = ui["speech"]["asked"]
        k.touch("listen")
        ui = k.wait(lambda ui: ui["speech"]["asked"] > asked and ui["speech"]["screen"] == "letterform", "read aloud")
        said = ui["speech"]["text"]
        assert "Nomor sudah diketik, 16 angka, berakhiran 0 2" in said, said
        assert "3204" not in said and "0002" not in said and "BUDI" not in said, said
        ui = k.wait(lambda ui: ui["screen"] == "home", "back to the start screen after the idle timeout")
        assert ui["typed_held"] == []                          # the name and NIK are forgotten
    finally:
        office.client.stop()
        office.service.stop()


@pytest.mark.gui
def test_the_kiosk_offers_the_catalogue_as_the_kasi_keeps_it(tmp_path, broker, kiosks):
    """The kiosk offered every configured type, also one the kasi switched off (the resident typed the whole
    form to be refused). It now reads ``letter_catalogue``, every page: here the kasi's long requirements on
    every type make more than one, and the type switched off is the last."""
    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "{kiosk_id}"\n'
                                                  f'\n[letters]\nkiosk_form = true\npickup_service = "surat"\n')
    try:
        c = office.client
        kasi = sign_in_staff(c.ok)["kasi"]["session"]
        line = ("KTP asli " + "é" * 11) * 10   # 1.55 bytes a character: 20 lines are one command's most
        codes = ["domisili", "usaha", "sktm", "skck", "nikah", "kelahiran", "kematian",
                 "pindah", "kehilangan"]
        for code in codes:
            c.ok("letter_type_update", type=code, requirements=[f"{n:02d} {line}"[:200] for n in range(20)],
                 session=kasi)
        c.ok("letter_type_update", type="kehilangan", active=False, session=kasi)
        assert c.ok("letter_catalogue")["next"] is not None        # more than one page
        k = kiosks(office)
        k.wait_widget("letter_request")
        k.touch("letter_request")
        k.wait_screen("lettertypes")
        ui = k.wait(lambda ui: ui["catalogue_reads"]["ok"] >= 1 and ui["settled"]
                    and "lettertype:pindah" in ui["widgets"], "the catalogue read and drawn")
        assert "lettertype:kehilangan" not in ui["widgets"]
        k.screenshot("letter-types-kasi-catalogue")
    finally:
        office.client.stop()
        office.service.stop()


FARM_TYPES = '''
[[letters.types]]
code = "keterangan-tani"
name = "Surat Keterangan Petani"
purpose = "Untuk pupuk bersubsidi."
fields = [{name = "nama", label = "Nama petani", type = "name"}, {name = "nik", label = "NIK petani", type = "nik"}]

[[letters.types]]
code = "keterangan-nelayan"
name = "Surat Keterangan Nelayan"
fields = [{name = "nama", label = "Nama nelayan", type = "name"}, {name = "nik", label = "NIK", type = "nik"}]
'''


@pytest.mark.gui
def test_ajukan_surat_offers_the_offices_catalogue_not_the_kiosks_file(tmp_path, broker, kiosks):
    """A kiosk on its own Pi has its own configuration file, here without the office's letter types (so the
    built-in sample set: kehilangan, domisili, ...). "Ajukan surat" offers the office's types with their
    forms as the service has them, and a type the kasi switches off in the console is gone the next time
    a resident opens the list, without restarting the kiosk."""
    kiosk_id = f"kiosk-{os.urandom(3).hex()}"
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "{kiosk_id}"\n'
                                                  f'\n[letters]\nkiosk_form = true\n' + FARM_TYPES)
    try:
        kiosk_config = tmp_path / "kiosk.toml"
        kiosk_config.write_text(office.config_path.read_text().replace(FARM_TYPES, "\n"))
        assert "keterangan-tani" not in kiosk_config.read_text() and "kiosk_form = true" in kiosk_config.read_text()

        class KioskPi:
            config_path = kiosk_config
        k = kiosks(KioskPi)
        k.touch("letter_request")
        ui = k.wait_screen("lettertypes")
        shown = sorted(uid for uid in ui["widgets"] if uid.startswith("lettertype:"))
        assert shown == ["lettertype:keterangan-nelayan", "lettertype:keterangan-tani"], shown
        k.screenshot("letter-types-from-the-office")
        k.touch("lettertype:keterangan-tani")
        k.wait(lambda ui: ui["screen"] == "letterform" and "Nama petani" in ui["widgets"]["letterform:prompt"]["text"],
               "the office's own question")
        k.touch("letterform:back")       # the first question's Kembali: back to the list
        k.wait_screen("lettertypes")
        st = sign_in_staff(office.client.ok)
        office.client.ok("letter_type_update", type="keterangan-nelayan", active=False, **st["kasi"])
        k.touch("lettertypes:back")
        k.wait_screen("home")
        k.touch("letter_request")
        ui = k.wait(lambda ui: ui["screen"] == "lettertypes" and ui["settled"], "the list again")
        shown = sorted(uid for uid in ui["widgets"] if uid.startswith("lettertype:"))
        assert shown == ["lettertype:keterangan-tani"], shown
        # Switched off too: the start screen no longer offers "Ajukan surat" (read again while idle, or at the tap).
        office.client.ok("letter_type_update", type="keterangan-tani", active=False, **st["kasi"])
        k.touch("lettertypes:back")
        k.wait_screen("home")
        k.touch("letter_request")
        ui = k.wait(lambda ui: ui["settled"] and "letter_request" not in ui["widgets"], "Ajukan surat gone")
        assert ui["screen"] == "home"
    finally:
        office.client.stop()
        office.service.stop()


@pytest.mark.gui
def test_lanjut_and_kirim_are_drawn_whole_when_they_come_and_change(tmp_path, broker, kiosks):
    """The form's green button is hidden beside choices and comes back after one (Lanjut), and turns into
    Kirim on the last question: no frame is drawn with it empty or with its old words (it showed for a frame
    after the sex question, after Kembali to it and a new choice, and on the last question; the kiosk counts
    such frames under ANTRE_UI_DUMP)."""
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "kiosk-{os.urandom(3).hex()}"\n'
                                                  f'\n[letters]\nkiosk_form = true\n')
    try:
        k = kiosks(office)
        k.touch("letter_request")
        k.touch("lettertype:domisili")

        def at(prompt: str) -> dict:
            return k.wait(lambda ui: ui["settled"] and prompt in ui["widgets"].get("letterform:prompt", {})
                          .get("text", ""), prompt)

        def reply_with(text: str, prompt: str, pad: str = "kb") -> None:
            at(prompt)
            for ch in text:
                k.touch(f"{pad}:{'space' if ch == ' ' else ch}")
            k.wait(lambda ui: ui["widgets"]["letterform:shown"]["text"].replace(" ", "").replace("-", "")
                   == text.replace(" ", ""), f"'{text}' typed")
            k.touch("letterform:next")

        reply_with("SITI AMINAH", "Nama")
        reply_with("3204055403900002", "NIK", pad="lf")
        reply_with("BANDUNG", "Tempat lahir")
        reply_with("14031990", "Tanggal lahir", pad="lf")
        k.wait(lambda ui: ui["settled"] and "choice:Perempuan" in ui["widgets"], "the sex question")
        k.touch("choice:Laki-laki")
        at("Alamat")
        k.touch("letterform:back")
        k.wait(lambda ui: ui["settled"] and "choice:Laki-laki" in ui["widgets"], "back to the choice")
        k.touch("choice:Perempuan")
        reply_with("RT 1 RW 2", "Alamat")
        ui = at("keperluan")
        assert ui["widgets"]["letterform:next"]["text"] == texts.text("lf_send")
        assert ui["unfinished_frames"].get("letterform", 0) == 0, ui["unfinished_frames"]
        # The complaint form the same: its button comes back after the kind and topic, and after the contact.
        from tests.test_kiosk_help import type_text
        k.touch("letterform:back")
        k.wait(lambda ui: ui["settled"] and "Alamat" in ui["widgets"]["letterform:prompt"]["text"], "back")
        for _ in range(6):
            k.touch("letterform:back")
            k.wait(lambda ui: ui["settled"], "one question back")
        k.wait_screen("lettertypes")
        k.touch("lettertypes:back")
        k.touch("help")
        k.touch("help:complaint")
        k.wait(lambda ui: ui["settled"] and "rchoice:pengaduan" in ui["widgets"], "the kinds")
        k.touch("rchoice:pengaduan")
        k.wait(lambda ui: ui["settled"] and "rchoice:lainnya" in ui["widgets"], "the topics")
        k.touch("rchoice:lainnya")
        k.wait(lambda ui: ui["settled"] and "tk:ABCDE" in ui["widgets"], "the letter groups")
        type_text(k, "LAMPU")
        k.touch("report:next")
        k.wait(lambda ui: ui["settled"] and "rchoice:hp" in ui["widgets"], "the contact")
        k.touch("rchoice:hp")
        ui = k.wait(lambda ui: ui["settled"] and "rk:1" in ui["widgets"], "the phone keypad")
        assert ui["widgets"]["report:next"]["text"]
        assert ui["unfinished_frames"].get("report", 0) == 0, ui["unfinished_frames"]
    finally:
        office.client.stop()
        office.service.stop()


@pytest.mark.gui
def test_the_letter_form_in_english_names_the_letter_in_english(tmp_path, broker, kiosks):
    """The list says 'Certificate of residence'; the form's step line then named it 'Surat Keterangan
    Domisili'."""
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "kiosk-{os.urandom(3).hex()}"\n'
                                                  f'\n[letters]\nkiosk_form = true\n')
    try:
        k = kiosks(office)
        k.wait_widget("letter_request")
        k.touch("lang")
        k.wait(lambda ui: ui["lang"] == "en" and ui["settled"], "English")
        k.touch("letter_request")
        ui = k.wait(lambda ui: ui["screen"] == "lettertypes" and "lettertype:domisili" in ui["widgets"], "the list")
        name = ui["widgets"]["lettertype:domisili"]["text"]
        assert name and "Surat" not in name, name
        k.touch("lettertype:domisili")
        ui = k.wait(lambda ui: ui["screen"] == "letterform" and ui["settled"], "the form")
        assert ui["widgets"]["letterform:step"]["text"] == f"{name} · {texts.text('lf_step', 'en', n=1, total=7)}"
    finally:
        office.client.stop()
        office.service.stop()


@pytest.mark.gui
def test_a_questions_example_is_grey_and_only_a_problem_is_red(tmp_path, broker, kiosks):
    """Under the answer the form shows what is wrong with it (red) or the question's example ("misalnya:
    anak kandung"): the example was red too, and read as a mistake before anything was typed."""
    office = start_office(tmp_path, broker, extra=f'\n[kiosk]\nclient_id = "kiosk-{os.urandom(3).hex()}"\n'
                                                  f'\n[letters]\nkiosk_form = true\n')
    red = [1.0, 0.55, 0.5, 1.0]
    try:
        k = kiosks(office)
        k.touch("letter_request")
        k.touch("lettertype:kematian")
        k.wait(lambda ui: ui["settled"] and "kb:A" in ui["widgets"], "the name's keys")
        for ch in "BUDI 5":
            k.touch(f"kb:{'space' if ch == ' ' else ch}")
        k.touch("letterform:next")
        ui = k.wait(lambda ui: ui["widgets"]["letterform:problem"]["text"] == texts.text("lf_p_name"), "the problem")
        assert ui["widgets"]["letterform:problem"]["color"] == red
        k.touch("kb:del")
        k.touch("kb:del")
        k.touch("letterform:next")
        k.wait(lambda ui: ui["settled"] and "lf:1" in ui["widgets"], "the NIK's pad")
        for ch in "3204051403900002":
            k.touch(f"lf:{ch}")
        k.touch("letterform:next")
        ui = k.wait(lambda ui: ui["settled"] and "Hubungan" in ui["widgets"]["letterform:prompt"]["text"], "Hubungan")
        problem = ui["widgets"]["letterform:problem"]
        assert problem["text"] == "misalnya: anak kandung" and problem["color"] != red, problem
        k.screenshot("letter-form-example")
    finally:
        office.client.stop()
        office.service.stop()
