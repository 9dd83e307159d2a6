"""The kiosk's "Dengarkan" (listen) button on every screen: real espeak-ng speech, rendered to a WAV file by
the kiosk's own audio player command (here ``cp``, standing in for ``aplay``), checked with sox to be
real sound, and the text spoken is the screen's question and its choices."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from antre_kiosk import texts
from antre_kiosk.flows.guidance import Guidance, said
from tests.support import wait_for
from tests.test_kiosk_app import kiosks, offices, ratings, serve  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.gui,
              pytest.mark.skipif(not shutil.which("espeak-ng") or not shutil.which("sox"),
                                 reason="needs espeak-ng and sox (scripts/bootstrap installs them)")]
T = texts.text

APPOINTMENTS = """
[[web.appointments]]
service = "adminduk"
days = ["mon", "tue", "wed", "thu", "fri"]
start = "08:00"
end = "11:00"
"""


def sound_of(wav) -> dict[str, float]:
    """sox's statistics of a WAV file: length (s), RMS and maximum amplitude (0..1)."""
    out = subprocess.run(["sox", str(wav), "-n", "stat"], capture_output=True, text=True, timeout=30).stderr
    stat = {}
    for key, name in (("Length (seconds)", "length"), ("RMS     amplitude", "rms"), ("Maximum amplitude", "max")):
        m = re.search(re.escape(key) + r":\s+([-\d.]+)", out)
        assert m, out
        stat[name] = float(m[1])
    return stat


class Listener:
    """Touches "Dengarkan" and waits until the kiosk has played what it said into ``said.wav``."""

    def __init__(self, k, wav):
        self.k = k
        self.wav = wav

    def listen(self, screen: str) -> tuple[dict, str]:
        ui = self.k.wait(lambda ui: ui["screen"] == screen and ui["settled"], f"screen {screen}")
        asked, before = ui["speech"]["asked"], ui["speech"]["done"]
        if self.wav.exists():
            self.wav.unlink()
        for attempt in range(3):
            # A click in the first moments after the window appears can be lost under Xvfb: touch again
            # until the kiosk has taken it (it counts the requests it got).
            self.k.touch("listen")
            try:
                wait_for(lambda: self.k.ui()["speech"]["asked"] > asked, timeout=5, what="the touch taken")
                break
            except AssertionError:
                if attempt == 2:
                    raise
        ui = self.k.wait(lambda ui: ui["speech"]["done"] > before, f"the {screen} screen spoken")
        assert ui["speech"]["asked"] == asked + 1
        assert ui["speech"]["error"] == "" and ui["speech"]["screen"] == screen, ui["speech"]
        stat = sound_of(self.wav)
        assert stat["length"] > 1.0 and stat["rms"] > 0.01 and stat["max"] > 0.2, (screen, stat)
        self.k.screenshot(f"listen-{screen}")
        return ui, ui["speech"]["text"]


def parts(text: str) -> list[str]:
    return text.split(" | ")


def test_listen_reads_each_screen_aloud(offices, kiosks, tmp_path):
    wav = tmp_path / "said.wav"
    office = offices(f'audio_player = "cp {{}} {wav}"\nstaff_pin = "2468"\n' + APPOINTMENTS)
    number = serve(office)
    office.client.wait_state(lambda s: s["rateable"], "a rateable ticket")
    k = kiosks(office)
    ear = Listener(k, wav)

    # Home: the question, then every service with its line, check-in, priority, rating.
    ui, text = ear.listen("home")
    w = ui["widgets"]
    assert ui["widgets"]["listen"]["text"] == "Dengarkan" and ui["widgets"]["listen"]["h"] >= 90
    spoken = parts(text)
    assert spoken[0] == w["home:title"]["text"] == T("choose_service")
    for code in ("adminduk", "surat", "umum"):
        assert f'{w[f"service:{code}"]["text"]}, {w[f"service:{code}"]["subtext"]}' in spoken
    assert f"{w['checkin']['text']}, {T('checkin_sub')}" in spoken
    assert w["rate"]["text"] in spoken and any(w["priority:lansia"]["text"] in p for p in spoken)
    home_len = sound_of(wav)["length"]

    # Info: the service, its requirements, back and take a number.
    k.touch("info:adminduk")
    ui, text = ear.listen("info")
    w = ui["widgets"]
    assert parts(text)[0] == w["info:title"]["text"] and "KTP" in text
    assert parts(text)[-3:] == [w["info:back"]["text"], w["info:ask"]["text"], w["info:take"]["text"]]
    k.touch("info:back")

    # Rating: pick, faces, more, an IKM question, keypad.
    k.touch("rate")
    ui, text = ear.listen("rate_pick")
    assert parts(text)[0] == ui["widgets"]["rate_pick:title"]["text"]
    assert number in parts(text) and ui["widgets"]["rate_pick:type"]["text"] in parts(text)
    k.touch(f"rate:{number}")
    ui, text = ear.listen("rate_face")
    w = ui["widgets"]
    assert parts(text)[0] == w["face:title"]["text"] == T("rate_question")
    assert [w[f"face:{n}"]["text"] for n in (4, 3, 2, 1)] == parts(text)[-5:-1]
    k.touch("face:3")
    ui, text = ear.listen("rate_more")
    assert parts(text) == [T("more_question"), ui["widgets"]["more:no"]["text"], ui["widgets"]["more:yes"]["text"]]
    k.touch("more:yes")
    ui, text = ear.listen("rate_face")
    w = ui["widgets"]
    assert parts(text)[:2] == [texts.element_question(0), texts.element_name(0)]
    assert [w[f"face:{n}"]["text"] for n in (4, 3, 2, 1)] == [texts.element_answer(0, n) for n in (4, 3, 2, 1)]
    assert parts(text)[-5:-1] == [texts.element_answer(0, n) for n in (4, 3, 2, 1)]
    k.touch("face:back")                                       # leaves; the face is still recorded
    wait_for(lambda: ratings(office), what="the face rating")
    k.touch("rate")
    k.touch("rate_pick:type")
    k.touch("prefix:A")
    ui, text = ear.listen("rate_keypad")
    assert parts(text)[0] == T("rate_type_prompt") and "A" in parts(text) and T("delete") in parts(text)
    assert T("ok") not in parts(text)     # not offered until a whole number is typed (the key is off)
    k.touch("keypad:back")
    k.touch("rate_pick:back")

    # Check-in keypad, and the message a refusal shows.
    k.touch("checkin")
    ui, text = ear.listen("checkin")
    # The buttons shown, in the layout's order: "Kembali", then the keypad's own keys (not its digits).
    assert parts(text)[:3] == [ui["widgets"]["checkin:prompt"]["text"], ui["widgets"]["checkin:back"]["text"],
                               T("delete")]
    assert not any(p.isdigit() for p in parts(text))
    k.touch("checkin:back")

    # A ticket: the number and what to do, then "Selesai"; in English the English voice speaks.
    k.touch("lang")
    k.wait(lambda ui: ui["lang"] == "en", "English")
    k.touch("service:surat")
    ui, text = ear.listen("ticket")
    w = ui["widgets"]
    assert ui["speech"]["lang"] == "en" and w["listen"]["text"] == "Listen"
    assert parts(text)[0] == f"{T('your_number', 'en')}: {w['ticket:number']['text']}"
    assert w["ticket:service"]["text"] in parts(text) and parts(text)[-1] == w["ticket:done"]["text"]
    # The rating code is shown and read digit by digit.
    code = w["ticket:rating_code"]["text"].removeprefix("Rating code: ")
    assert len(code) == 4 and code.isdigit(), w["ticket:rating_code"]["text"]
    assert f"Rating code: {' '.join(code)}" in parts(text)
    k.touch("ticket:done")
    k.touch("lang")
    k.wait(lambda ui: ui["lang"] == "id", "Indonesian")

    # A message screen (a rating refused: the ticket was rated already).
    k.touch("rate")
    k.touch("rate_pick:type")
    for key in ("prefix:A", "key:1", "key:ok", "face:4", "more:no"):
        k.touch(key)
    ui, text = ear.listen("message")
    assert parts(text)[0] == ui["widgets"]["message:title"]["text"] == T("rate_err_already_rated", number=number)
    assert parts(text)[-1] == ui["widgets"]["message:home"]["text"]
    k.touch("message:home")

    # The staff PIN pad.
    k.hold("staff_corner", lambda ui: ui["screen"] == "pin")
    ui, text = ear.listen("pin")
    assert parts(text)[:3] == [T("staff_pin"), ui["widgets"]["pin:cancel"]["text"], T("delete")]
    assert home_len > 5    # the start screen says a lot: the services and their lines


def test_speak_screens_reads_each_screen_when_it_opens(offices, kiosks, tmp_path):
    wav = tmp_path / "said.wav"
    office = offices(f'audio_player = "cp {{}} {wav}"\nspeak_screens = true')
    k = kiosks(office)
    k.wait_widget("service:adminduk")
    k.touch("info:umum")
    ui = k.wait(lambda ui: ui["speech"]["screen"] == "info" and ui["speech"]["done"] >= 1, "info spoken by itself")
    assert parts(ui["speech"]["text"])[0] == ui["widgets"]["info:title"]["text"]
    assert sound_of(wav)["rms"] > 0.01


def test_voice_off_hides_the_button(offices, kiosks):
    office = offices('voice = "off"')
    k = kiosks(office)
    ui = k.wait(lambda ui: "service:adminduk" in ui["widgets"], "home")
    assert "listen" not in ui["widgets"]       # zero width: not on screen


def test_guidance_writes_numbers_and_times_as_said():
    g = Guidance("Nomor antrean Anda: A-012", ["Buka lagi besok pukul 08.30", "perkiraan ± 5 menit"], ["Selesai"])
    assert g.phrases("id") == ["Nomor antrean Anda: a, dua belas.", "Buka lagi besok pukul delapan tiga puluh.",
                               "perkiraan sekitar 5 menit.", "Pilihan:", "Selesai."]
    assert said("Your number: B-105", "en") == "Your number: B, one hundred and five."
    assert g.text() == "Nomor antrean Anda: A-012 | Buka lagi besok pukul 08.30 | perkiraan ± 5 menit | Selesai"


def test_rating_only_screen_is_spoken_too(offices, kiosks, tmp_path):
    wav = tmp_path / "said.wav"
    office = offices(f'audio_player = "cp {{}} {wav}"\nmode = "rating"\nrating_counter = "loket-2"')
    k = kiosks(office)
    ui, text = Listener(k, wav).listen("rate_wait")
    assert parts(text) == [T("rate_wait"), ui["widgets"]["wait:sub"]["text"]]
    assert "Loket 2" in text


def test_a_newer_flows_screens_are_spoken_from_their_own_words(offices, kiosks, tmp_path):
    """Screens added later (here 'Ajukan surat') need no words of their own for "Dengarkan": their
    title or prompt and their buttons are read."""
    wav = tmp_path / "said.wav"
    office = offices(f'audio_player = "cp {{}} {wav}"\n\n[letters]\nkiosk_form = true\npickup_service = "surat"\n')
    k = kiosks(office)
    ear = Listener(k, wav)
    ui, text = ear.listen("home")
    w = ui["widgets"]["letter_request"]
    assert f"{w['text']}, {w['subtext']}" in parts(text)
    k.touch("letter_request")
    ui, text = ear.listen("lettertypes")
    w = ui["widgets"]
    assert parts(text)[0] == w["lettertypes:title"]["text"]
    buttons = [v["text"] for tag, v in w.items() if tag.startswith("lettertype:")]
    assert buttons and all(any(b in p for p in parts(text)) for b in buttons)
    assert w["lettertypes:back"]["text"] in parts(text)
    k.touch("lettertype:kehilangan")
    ui, text = ear.listen("letterform")
    assert parts(text)[0] == ui["widgets"]["letterform:prompt"]["text"]
    assert ui["widgets"]["letterform:next"]["text"] in parts(text)


def test_listen_reads_the_rating_code_prompt(offices, kiosks, tmp_path):
    """With [queue] rating_code_required, "Dengarkan" on the code keypad says what to type and where it is
    printed, then the digits typed so far one by one, then the keys."""
    wav = tmp_path / "said.wav"
    office = offices(f'audio_player = "cp {{}} {wav}"', queue="rating_code_required = true")
    number = serve(office)
    office.client.wait_state(lambda s: s["rateable"], "a rateable ticket")
    k = kiosks(office)
    ear = Listener(k, wav)
    k.touch("rate")
    k.touch(f"rate:{number}")
    k.wait(lambda ui: ui["screen"] == "rate_keypad"
           and ui["widgets"]["keypad:prompt"]["text"] == T("rate_code_prompt"), "the code prompt")
    k.touch("key:0")
    k.touch("key:3")
    k.wait(lambda ui: ui["widgets"]["keypad:shown"]["text"] == "03__", "two digits typed")
    ui, text = ear.listen("rate_keypad")
    # The keys shown and on, in the layout's order ("OK" waits for the four digits).
    assert parts(text) == [T("rate_code_prompt"), "0 3", T("back"), T("delete")], text


def test_a_new_request_stops_the_sound_playing_and_the_player_is_found_once(tmp_path):
    """Speaker (no window): the kiosk's player is antre.voice's CommandPlayer, looked up once; a newer
    screen's words stop the older ones at once (their on_done has no error), and close() stops the last."""
    from antre_kiosk.speech import Speaker

    log = tmp_path / "played"
    speaker = Speaker(audio_player=f"sh -c 'echo \"$0\" >> {log}; exec sleep 60' {{}}")
    done: list[str | None] = []
    try:
        speaker.say(["Silakan pilih layanan"], "id", on_done=done.append)
        wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == 1, what="the first words playing")
        player = speaker.player()
        speaker.say(["Nomor antrean Anda"], "id", on_done=done.append)
        wait_for(lambda: done == [None], what="the first words stopped without an error")
        wait_for(lambda: len(log.read_text().splitlines()) == 2, what="the newer words playing")
        assert speaker.player() is player
    finally:
        speaker.close()
    wait_for(lambda: done == [None, None], what="close() stops the last words")
