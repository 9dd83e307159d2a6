"""Voice announcements: text, synthesis (espeak-ng and recorded clips), the Announcer and ``antre announce``.

The audio checks measure the files themselves: format and length with the ``wave``
module, loudness with ``sox stat``, and the order of clips by giving each test clip
its own tone (made with ``sox synth``) and reading the tones back by frequency.
"""

from __future__ import annotations

import array
import dataclasses
import logging
import math
import random
import shutil
import subprocess
import sys
import threading
import time
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from antre import config
from antre_display import voice
from antre_display.config import DisplayConfig
from antre_display.voice import (
    Announcer, Call, MissingClipsError, PlayerError, Synthesizer, TicketNumberError, VoiceError,
    announcement_clips, announcement_phrases, announcement_text, write_announcement,
)

ROOT = Path(__file__).resolve().parent.parent
needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed")
needs_sox = pytest.mark.skipif(not shutil.which("sox"), reason="sox not installed")
DEADLINE = 60.0


def settings(**changes) -> DisplayConfig:
    return dataclasses.replace(config.load_defaults().display, **changes)


# --------------------------------------------------------------------------
# Measuring audio.
# --------------------------------------------------------------------------

def read(path) -> tuple[array.array, int]:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        a = array.array("h")
        a.frombytes(w.readframes(w.getnframes()))
        return a, w.getframerate()


def duration(path) -> float:
    a, rate = read(path)
    return len(a) / rate


def sox_stat(path) -> dict[str, float]:
    out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True).stderr
    stats = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        try:
            stats[key.strip()] = float(value.strip())
        except ValueError:
            pass
    return stats


def segments(path, *, frame: float = 0.01, threshold: float = 0.02) -> list[tuple[bool, float, float]]:
    """(loud?, start, length) runs of 10 ms frames, loud meaning RMS above ``threshold`` of full scale."""
    a, rate = read(path)
    n = int(frame * rate)
    flags = []
    for i in range(0, len(a) - n + 1, n):
        rms = math.sqrt(sum(s * s for s in a[i:i + n]) / n) / 32768
        flags.append(rms > threshold)
    runs, start = [], 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            runs.append((flags[start], start * frame, (i - start) * frame))
            start = i
    return runs


def longest_inner_silence(path) -> float:
    runs = segments(path)
    inner = runs[1:-1] if runs and not runs[0][0] else runs[:-1]
    return max((length for loud, _, length in inner if not loud), default=0.0)


def frequency(samples, rate) -> float:
    """Frequency of a steady tone from its upward crossings (with hysteresis, so noise
    around zero does not count twice)."""
    h = 0.1 * max((abs(s) for s in samples), default=0)
    ups, low = [], False
    for i, s in enumerate(samples):
        if s < -h:
            low = True
        elif s > h and low:
            ups.append(i)
            low = False
    if len(ups) < 2:
        return 0.0
    return (len(ups) - 1) * rate / (ups[-1] - ups[0])


def tone_sequence(path, tones: dict[str, float], *, tolerance_hz: float = 8.0) -> list[str]:
    """The clip names heard in order: each loud run that is a steady tone (both halves
    the same frequency) matching one test tone; "?" for anything else (speech)."""
    a, rate = read(path)
    heard = []
    for loud, start, length in segments(path):
        if not loud or length < 0.1:
            continue
        i, j = int((start + 0.02) * rate), int((start + length - 0.02) * rate)
        mid = (i + j) // 2
        f, f1, f2 = frequency(a[i:j], rate), frequency(a[i:mid], rate), frequency(a[mid:j], rate)
        name, f0 = min(tones.items(), key=lambda kv: abs(kv[1] - f))
        steady = abs(f1 - f2) <= 0.01 * f
        heard.append(name if steady and abs(f - f0) <= tolerance_hz else "?")
    return heard


# --------------------------------------------------------------------------
# Text.
# --------------------------------------------------------------------------

@pytest.mark.parametrize("number, words", [
    ("A-001", "satu"), ("A-010", "sepuluh"), ("A-011", "sebelas"), ("A-012", "dua belas"),
    ("A-020", "dua puluh"), ("A-021", "dua puluh satu"), ("A-100", "seratus"),
    ("A-101", "seratus satu"), ("A-111", "seratus sebelas"),
    ("A-999", "sembilan ratus sembilan puluh sembilan"), ("A-1000", "seribu"),
    ("A-1001", "seribu satu"), ("A-2021", "dua ribu dua puluh satu"),
    ("A-9999", "sembilan ribu sembilan ratus sembilan puluh sembilan"),
    ("A-12000", "dua belas ribu"), ("A-100000", "seratus ribu"), ("A-0", "nol"),
])
def test_numbers_read_as_indonesian_words_without_leading_zeros(number, words):
    assert announcement_phrases(number, "Loket 1")[2] == words


def test_the_example_from_the_brief():
    assert announcement_phrases("A-012", "Loket 2") == \
        ["Nomor antrean", "a", "dua belas", "silakan menuju", "loket dua"]
    assert announcement_text("A-012", "Loket 2") == "Nomor antrean, a, dua belas, silakan menuju, loket dua"


@pytest.mark.parametrize("number, words", [
    ("A-012", "satu dua"), ("A-105", "satu nol lima"), ("A-001", "satu"), ("A-000", "nol"),
    ("A-999", "sembilan sembilan sembilan"), ("A-1040", "satu nol empat nol"),
])
def test_digits_style_reads_each_digit_without_leading_zeros(number, words):
    assert announcement_phrases(number, "Loket 1", style="digits")[2] == words


LETTERS = {
    "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha", "I": "i",
    "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe", "Q": "ki", "R": "er",
    "S": "es", "T": "te", "U": "u", "V": "fe", "W": "we", "X": "eks", "Y": "ye", "Z": "zet",
}


@pytest.mark.parametrize("letter", sorted(LETTERS))
def test_letters_are_spoken_by_their_indonesian_names(letter):
    assert announcement_phrases(f"{letter}-001", "Loket 1")[1] == LETTERS[letter]
    assert announcement_phrases(f"{letter}-001", "Loket 1", lang="en")[1] == letter


def test_english():
    assert announcement_phrases("A-012", "Loket 2", lang="en") == \
        ["Number", "A", "twelve", "please go to", "counter two"]
    assert announcement_phrases("B-105", "Loket 3", style="digits", lang="en")[2] == "one zero five"
    assert announcement_text("C-020", "Loket 1", lang="en") == "Number, C, twenty, please go to, counter one"


@pytest.mark.parametrize("name, number, spoken", [
    ("Loket 2", None, "loket dua"),
    ("Loket 12", None, "loket dua belas"),
    ("Loket 2", 5, "loket lima"),          # the configured number wins over the name
    ("Loket 3", 0, "loket tiga"),          # 0 in the config means: take it from the name
    ("Pelayanan KTP", 4, "loket empat"),
    ("Meja Informasi", None, "Meja Informasi"),
])
def test_counter_phrase(name, number, spoken):
    assert announcement_phrases("A-001", name, number)[-1] == spoken


def test_counter_without_name_or_number_is_an_error():
    with pytest.raises(VoiceError):
        announcement_phrases("A-001", "  ")


@pytest.mark.parametrize("bad", ["A012", "a-012", "AA-012", "A-", "-012", "A-1234567", "", "A-01 ", None, 12])
def test_bad_ticket_numbers_are_refused(bad):
    with pytest.raises(TicketNumberError, match="A-012"):
        announcement_phrases(bad, "Loket 1")


def test_number_clips_cover_every_ticket_number_and_none_is_spare():
    from num2words import num2words
    rng = random.Random(7)
    numbers = list(range(10_000)) + [rng.randrange(10_000, 1_000_000) for _ in range(2000)] + [999_999]
    used = set()
    for n in numbers:
        words = num2words(n, lang="id").split()
        assert set(words) <= set(voice.NUMBER_WORDS_ID), n
        used.update(words)
    assert used == set(voice.NUMBER_WORDS_ID)


def test_clip_groups_follow_the_spoken_order():
    groups = announcement_clips("A-012", "Loket 2")
    assert [[w.clip for w in g] for g in groups] == \
        [["nomor_antrean"], ["huruf_a"], ["dua", "belas"], ["silakan_menuju_loket", "dua"]]
    assert [[w.clip for w in g] for g in announcement_clips("Q-105", "Loket 1", style="digits")][1:3] == \
        [["huruf_q"], ["satu", "nol", "lima"]]
    last = announcement_clips("A-001", "Meja Informasi")[-1]
    assert last == [voice.Word(None, "silakan menuju Meja Informasi")]


def test_espeak_gets_phonemes_for_words_its_rules_misread():
    assert voice.espeak_text("dua belas") == "dua [[b@l'as]]"
    assert voice.espeak_text("loket empat") == "[[l'okEt]] [[@mp'at]]"
    assert voice.espeak_text("dua belas", "en") == "dua belas"


# --------------------------------------------------------------------------
# espeak-ng synthesis.
# --------------------------------------------------------------------------

CHIME_SECONDS = len(voice.chime()) / voice.RATE
FIXED = voice.LEAD_IN + CHIME_SECONDS + voice.GAP_AFTER_CHIME + voice.TAIL


@needs_espeak
@needs_sox
def test_espeak_announcement_wav(tmp_path):
    path = write_announcement(tmp_path / "a.wav", "A-012", "Loket 2", settings=settings())
    assert path == tmp_path / "a.wav"
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (22050, 1, 2)
    d = duration(path)
    assert 5.0 < d < 10.0
    stat = sox_stat(path)
    assert stat["RMS     amplitude"] > 0.03
    assert 0.45 < stat["Maximum amplitude"] <= 0.51        # normalised to PEAK at volume 1.0
    # Pauses only where designed: the longest quiet run inside is the one after the chime.
    assert longest_inner_silence(path) < voice.GAP_AFTER_CHIME + 0.3
    # It opens with the chime: the first note is E5.
    a, rate = read(path)
    start = int((voice.LEAD_IN + 0.1) * rate)
    assert frequency(a[start:start + int(0.25 * rate)], rate) == pytest.approx(659.25, rel=0.02)


@needs_espeak
def test_english_and_digits_announcements(tmp_path):
    en = write_announcement(tmp_path / "en.wav", "A-012", "Loket 2", settings=settings(), lang="en")
    words = write_announcement(tmp_path / "w.wav", "A-999", "Loket 2", settings=settings())
    digits = write_announcement(tmp_path / "d.wav", "A-999", "Loket 2", settings=settings(number_style="digits"))
    assert 5.0 < duration(en) < 10.0
    assert longest_inner_silence(en) < voice.GAP_AFTER_CHIME + 0.3
    # "sembilan ratus sembilan puluh sembilan" is longer than "sembilan sembilan sembilan".
    assert duration(words) > duration(digits) > FIXED + 2.0


@needs_espeak
def test_repeat_plays_the_speech_again_after_a_pause(tmp_path):
    once = duration(write_announcement(tmp_path / "1.wav", "B-007", "Loket 3", settings=settings(repeat=1)))
    twice = duration(write_announcement(tmp_path / "2.wav", "B-007", "Loket 3", settings=settings(repeat=2)))
    speech = once - FIXED
    assert speech > 2.0
    assert twice == pytest.approx(once + voice.GAP_BETWEEN_REPEATS + speech, abs=0.001)


@needs_espeak
@needs_sox
@pytest.mark.parametrize("volume, peak", [(0.5, 0.25), (2.0, 1.0)])
def test_volume_scales_the_whole_announcement(tmp_path, volume, peak):
    path = write_announcement(tmp_path / "v.wav", "A-012", "Loket 2", settings=settings(volume=volume))
    assert sox_stat(path)["Maximum amplitude"] == pytest.approx(peak, abs=0.01)


@needs_espeak
def test_volume_zero_is_silent_and_voice_off_refuses(tmp_path):
    a, _ = read(write_announcement(tmp_path / "z.wav", "A-012", "Loket 2", settings=settings(volume=0.0)))
    assert max(abs(s) for s in a) == 0
    with pytest.raises(VoiceError, match="off"):
        write_announcement(tmp_path / "off.wav", "A-012", "Loket 2", settings=settings(voice="off"))
    with pytest.raises(TicketNumberError):
        write_announcement(tmp_path / "bad.wav", "A12", "Loket 2", settings=settings())
    assert not (tmp_path / "bad.wav").exists()


# --------------------------------------------------------------------------
# Clips mode. Each clip is a 0.2 s tone of its own frequency, in assorted formats.
# --------------------------------------------------------------------------

FORMATS = [  # rate, channels, bits, encoding: recorders produce all sorts
    (22050, 1, 16, "signed-integer"), (44100, 2, 16, "signed-integer"), (48000, 1, 24, "signed-integer"),
    (16000, 1, 8, "unsigned-integer"), (44100, 1, 32, "signed-integer"), (48000, 2, 32, "floating-point"),
]


def _tone_table(names) -> dict[str, float]:
    return {name: 300.0 + 55.0 * i for i, name in enumerate(names)}


TONES = _tone_table([*voice.CLIP_NAMES, "chime"])


def make_clip(path: Path, freq: float, fmt=FORMATS[0], seconds: float = 0.2) -> None:
    rate, channels, bits, encoding = fmt
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", str(bits), "-e", encoding, str(path),
                    "synth", str(seconds), "sine", str(freq), "vol", "0.6"], check=True)


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    if not shutil.which("sox"):
        pytest.skip("sox not installed")
    d = tmp_path_factory.mktemp("clips")
    for i, name in enumerate(voice.CLIP_NAMES):
        make_clip(d / f"{name}.wav", TONES[name], FORMATS[i % len(FORMATS)])
    return d


@pytest.fixture
def clips(tmp_path, clip_folder) -> Path:
    d = tmp_path / "clips"
    shutil.copytree(clip_folder, d)
    return d


def test_clip_folder_is_complete(clips):
    assert voice.check_clips(clips) == []
    (clips / "belas.wav").unlink()
    (clips / "huruf_q.wav").unlink()
    assert voice.check_clips(clips) == ["huruf_q.wav", "belas.wav"]
    assert voice.check_clips(clips, letters="ABC") == ["belas.wav"]
    assert len(voice.needed_clips("ABC")) == len(voice.CLIP_NAMES) - 23


def test_clips_are_assembled_in_order_after_the_builtin_chime(tmp_path, clips):
    path = write_announcement(tmp_path / "c.wav", "A-012", "Loket 2", settings=settings(voice="clips", clips_dir=str(clips)))
    loud, start, length = next(r for r in segments(path) if r[0])   # the built-in ding-dong comes first
    assert start == pytest.approx(voice.LEAD_IN, abs=0.011) and 1.0 < length <= CHIME_SECONDS
    assert tone_sequence(path, TONES)[1:] == \
        ["nomor_antrean", "huruf_a", "dua", "belas", "silakan_menuju_loket", "dua"]
    assert longest_inner_silence(path) < voice.GAP_AFTER_CHIME + 0.3
    # 6 clips of 0.2 s (trimmed to exactly their sound), 3 phrase gaps, 2 word gaps.
    speech = 6 * 0.2 + 3 * voice.GAP_BETWEEN_PHRASES + 2 * voice.GAP_BETWEEN_WORDS
    assert duration(path) == pytest.approx(FIXED + speech, abs=0.02)


def test_clips_with_recorded_chime_digits_and_repeat(tmp_path, clips):
    make_clip(clips / "chime.wav", TONES["chime"], (44100, 2, 16, "signed-integer"), seconds=0.5)
    s = settings(voice="clips", clips_dir=str(clips), number_style="digits", repeat=2)
    path = write_announcement(tmp_path / "c.wav", "Z-105", "Loket 12", settings=s)
    once = ["huruf_z", "satu", "nol", "lima", "silakan_menuju_loket", "dua", "belas"]
    assert tone_sequence(path, TONES) == ["chime", "nomor_antrean", *once, "nomor_antrean", *once]


def test_missing_clip_is_spoken_by_espeak_with_a_warning(tmp_path, clips, caplog):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng not installed")
    (clips / "belas.wav").unlink()
    s = settings(voice="clips", clips_dir=str(clips))
    with caplog.at_level(logging.WARNING, logger="antre_display.voice"):
        path = write_announcement(tmp_path / "c.wav", "A-012", "Loket 2", settings=s)
    assert "belas.wav" in caplog.text
    heard = [t for t in tone_sequence(path, TONES)[1:] if t != "?"]
    assert heard == ["nomor_antrean", "huruf_a", "dua", "silakan_menuju_loket", "dua"]
    plain = write_announcement(tmp_path / "full.wav", "A-011", "Loket 2", settings=s)   # "sebelas" has its clip
    assert duration(path) > duration(plain)   # espeak's "belas" is there, not silence

    with pytest.raises(MissingClipsError) as err:
        write_announcement(tmp_path / "strict.wav", "A-012", "Loket 2", settings=s, strict_clips=True)
    assert err.value.missing == ["belas.wav"]
    assert "belas.wav" in str(err.value) and str(clips) in str(err.value)


def test_clips_mode_needs_an_existing_folder(tmp_path):
    with pytest.raises(VoiceError, match="clips_dir"):
        Synthesizer(settings(voice="clips", clips_dir=""))
    with pytest.raises(VoiceError, match="does not exist"):
        Synthesizer(settings(voice="clips", clips_dir=str(tmp_path / "nope")))


def test_a_clip_that_is_not_a_wav_file_is_named_in_the_error(tmp_path, clips):
    (clips / "huruf_a.wav").write_bytes(b"ID3 this is an mp3")
    with pytest.raises(VoiceError, match="huruf_a.wav"):
        write_announcement(tmp_path / "c.wav", "A-012", "Loket 2", settings=settings(voice="clips", clips_dir=str(clips)))


# --------------------------------------------------------------------------
# The Announcer.
# --------------------------------------------------------------------------

def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class RecordingPlayer:
    """Stands in for aplay: records each file (name, content, length) and when it played.
    ``hold`` keeps the first playback going until the test releases it."""

    def __init__(self, tmp: Path, hold: threading.Event | None = None):
        self.tmp = tmp
        self.hold = hold
        self.played: list[dict] = []
        self.playing = 0
        self.max_playing = 0
        self.lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        with self.lock:
            self.playing += 1
            self.max_playing = max(self.max_playing, self.playing)
        start = time.monotonic()
        copy = self.tmp / f"played-{len(self.played)}.wav"
        shutil.copyfile(path, copy)
        if self.hold is not None and not self.played:
            assert self.hold.wait(DEADLINE)
        end = time.monotonic()
        with self.lock:
            self.playing -= 1
            self.played.append({"name": path.name, "copy": copy, "seconds": duration(path),
                                "start": start, "end": end})


@needs_espeak
def test_two_calls_play_one_after_the_other_completely(tmp_path):
    hold = threading.Event()
    player = RecordingPlayer(tmp_path, hold)
    spoken: list[Call] = []
    s = settings()
    with Announcer(s, player=player, on_spoken=lambda call, path: spoken.append(call)) as announcer:
        t0 = datetime.now(timezone.utc)
        announcer.announce("A-001", "Loket 1", 1, called_at=t0)
        wait_for(lambda: player.playing == 1, "the first announcement to start")
        announcer.announce("B-002", "Loket 2", 2, called_at=t0 + timedelta(milliseconds=100))
        hold.set()
        assert announcer.wait_until_idle(DEADLINE)
    assert [c.number for c in spoken] == ["A-001", "B-002"]
    assert player.max_playing == 1
    first, second = player.played
    assert second["start"] >= first["end"]
    # Each played file is the whole announcement, byte for byte.
    for rec, (number, name, n) in zip(player.played, [("A-001", "Loket 1", 1), ("B-002", "Loket 2", 2)]):
        expected = write_announcement(tmp_path / f"{number}.wav", number, name, n, settings=s)
        assert rec["copy"].read_bytes() == expected.read_bytes()
        assert rec["seconds"] == duration(expected) > 5.0
    assert not Path(announcer._tmp.name).exists()     # close() removed the temporary files


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@needs_espeak
def test_stale_calls_are_dropped(tmp_path):
    clock = FakeClock()
    s = settings(stale_seconds=60.0)
    dropped: list[tuple[str, str]] = []

    def slow_player(path):          # a playback that takes two minutes on the fake clock
        player(path)
        clock.now += timedelta(seconds=120)

    player = RecordingPlayer(tmp_path)
    with Announcer(s, player=slow_player, clock=clock,
                   on_dropped=lambda call, reason: dropped.append((call.number, reason))) as announcer:
        announcer.announce("A-001", "Loket 1", called_at=clock.now - timedelta(seconds=61))   # already stale
        announcer.announce("A-002", "Loket 1", called_at=clock.now - timedelta(seconds=59))   # just in time
        announcer.announce("A-003", "Loket 1", called_at=clock.now)    # stale once A-002 has played
        assert announcer.wait_until_idle(DEADLINE)
    assert [p["name"].split("-", 1)[1] for p in player.played] == ["A-002.wav"]
    assert [n for n, _ in dropped] == ["A-001", "A-003"]
    assert all(reason.startswith("stale") for _, reason in dropped)


@needs_espeak
def test_recall_is_announced_again(tmp_path):
    player = RecordingPlayer(tmp_path)
    spoken: list[Call] = []
    with Announcer(settings(), player=player, on_spoken=lambda call, path: spoken.append(call)) as announcer:
        announcer.announce("C-010", "Loket 3", 3)
        assert announcer.wait_until_idle(DEADLINE)
        announcer.announce("C-010", "Loket 3", 3, recall=True)
        assert announcer.wait_until_idle(DEADLINE)
    assert [(c.number, c.recall) for c in spoken] == [("C-010", False), ("C-010", True)]
    first, again = (p["copy"] for p in player.played)
    # The recall says "Panggilan ulang" first, then exactly the first call.
    assert voice.wav_duration(again) > voice.wav_duration(first) + 0.5
    recall_file = write_announcement(tmp_path / "recall.wav", "C-010", "Loket 3", 3, settings=settings(),
                                     recall=True)
    assert again.read_bytes() == recall_file.read_bytes()


def test_recall_phrases_and_clips():
    assert announcement_phrases("A-012", "Loket 2", recall=True)[:2] == ["Panggilan ulang", "Nomor antrean"]
    assert announcement_phrases("A-012", "Loket 2", lang="en", recall=True)[0] == "Calling again"
    groups = voice.announcement_clips("A-012", "Loket 2", recall=True)
    assert [w.clip for w in groups[0]] == ["panggilan_ulang"] and voice.CLIP_WORDS["panggilan_ulang"]
    assert "panggilan_ulang" not in voice.needed_clips()   # optional, like the chime


def test_voice_off_drops_every_call_without_a_player():
    dropped = []
    with Announcer(settings(voice="off"), on_dropped=lambda call, reason: dropped.append(reason)) as announcer:
        announcer.announce("A-001", "Loket 1")
        assert announcer.wait_until_idle(DEADLINE)
    assert dropped == ["voice is off"]


@needs_espeak
def test_close_lets_the_current_announcement_finish_and_drops_the_rest(tmp_path):
    hold = threading.Event()
    player = RecordingPlayer(tmp_path, hold)
    spoken, dropped = [], []
    announcer = Announcer(settings(), player=player, on_spoken=lambda c, p: spoken.append(c.number),
                          on_dropped=lambda c, r: dropped.append((c.number, r)))
    announcer.announce("A-001", "Loket 1")
    wait_for(lambda: player.playing == 1, "playback to start")
    announcer.announce("A-002", "Loket 1")
    announcer.announce("A-003", "Loket 1")
    closer = threading.Thread(target=announcer.close)
    closer.start()
    wait_for(lambda: announcer._closing, "close() to begin")
    hold.set()
    closer.join(DEADLINE)
    assert not closer.is_alive()
    assert spoken == ["A-001"]
    assert dropped == [("A-002", "closing"), ("A-003", "closing")]
    with pytest.raises(VoiceError, match="closed"):
        announcer.announce("A-004", "Loket 1")


@needs_espeak
def test_a_failing_player_does_not_stop_the_queue(tmp_path):
    played, dropped = [], []

    def flaky(path):
        if not dropped:
            raise PlayerError("aplay failed (1): device busy")
        played.append(path.name)

    with Announcer(settings(), player=flaky, on_dropped=lambda c, r: dropped.append((c.number, r))) as announcer:
        announcer.announce("A-001", "Loket 1")
        announcer.announce("A-002", "Loket 1")
        assert announcer.wait_until_idle(DEADLINE)
    assert dropped == [("A-001", "player failed: aplay failed (1): device busy")]
    assert [n.split("-", 1)[1] for n in played] == ["A-002.wav"]


def test_bad_number_is_refused_at_once():
    with Announcer(settings(), player=lambda path: None) as announcer:
        with pytest.raises(TicketNumberError):
            announcer.announce("12", "Loket 1")


@needs_espeak
def test_command_player_runs_the_configured_command(tmp_path):
    wav = write_announcement(tmp_path / "a.wav", "A-012", "Loket 2", settings=settings())
    dest = tmp_path / "played.wav"
    voice.CommandPlayer(f"cp {{}} {dest}")(wav)          # "{}" marks where the file goes
    assert dest.read_bytes() == wav.read_bytes()
    with pytest.raises(PlayerError, match="not found"):
        voice.CommandPlayer("no-such-player-antre -q")
    with pytest.raises(PlayerError, match="false"):
        voice.CommandPlayer("false")(wav)
    # stop() ends what is playing, from another thread; the call playing it returns without an error.
    player = voice.CommandPlayer("sh -c 'echo started > \"$0.started\"; exec sleep 60' {}")
    assert not player.stop()                             # nothing playing
    done: list[object] = []
    playing = threading.Thread(target=lambda: done.append(player(wav) or "returned"))
    playing.start()
    wait_for(lambda: Path(f"{wav}.started").exists(), "the player started")
    assert player.stop()
    playing.join(timeout=DEADLINE)
    assert not playing.is_alive() and done == ["returned"]
    # Announcer picks up [display] audio_player.
    dest2 = tmp_path / "played2.wav"
    with Announcer(settings(audio_player=f"cp {{}} {dest2}")) as announcer:
        announcer.announce("A-012", "Loket 2", 2)
        assert announcer.wait_until_idle(DEADLINE)
    assert dest2.read_bytes() == wav.read_bytes()


# --------------------------------------------------------------------------
# antre announce.
# --------------------------------------------------------------------------

def antre(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "antre", "announce", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@needs_espeak
def test_cli_writes_what_the_display_plays(tmp_path):
    cfg = tmp_path / "antre.toml"
    cfg.write_text('[display]\nrepeat = 2\nvolume = 0.8\nnumber_style = "digits"\n')
    out = tmp_path / "a.wav"
    proc = antre("A-012", "--counter", "Loket 2", "--out", str(out), "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [str(out), "Nomor antrean, a, satu dua, silakan menuju, loket dua"]
    expected = write_announcement(tmp_path / "e.wav", "A-012", "Loket 2", settings=config.load(cfg).display)
    assert out.read_bytes() == expected.read_bytes()

    # A counter id from the configuration brings its name and number; English on request.
    proc = antre("B-105", "--counter", "loket-3", "--lang", "en", "--out", str(tmp_path / "b.wav"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1] == "Number, B, one hundred and five, please go to, counter three"
    assert duration(tmp_path / "b.wav") > 5.0


def test_cli_refuses_a_bad_ticket_number(tmp_path):
    proc = antre("A12", "--counter", "Loket 2", "--out", str(tmp_path / "x.wav"))
    assert proc.returncode == 2
    assert "A-012" in proc.stderr and "'A12'" in proc.stderr
    assert not (tmp_path / "x.wav").exists()
    proc = antre("A-012", "--out", str(tmp_path / "x.wav"))
    assert proc.returncode == 2 and "--counter" in proc.stderr


def test_cli_checks_a_clip_folder(clips):
    proc = antre("--check-clips", "--clips-dir", str(clips), "--all-letters")
    assert proc.returncode == 0, proc.stderr
    assert f"{len(voice.CLIP_NAMES)} of {len(voice.CLIP_NAMES)} clips" in proc.stdout
    (clips / "ribu.wav").unlink()
    (clips / "huruf_z.wav").unlink()        # the sample office's services use A, B and C only
    proc = antre("--check-clips", "--clips-dir", str(clips))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == ['missing ribu.wav  (say: "ribu")',
                                        f"{len(voice.CLIP_NAMES) - 24} of {len(voice.CLIP_NAMES) - 23} clips present in {clips}"]
    proc = antre("--check-clips", "--clips-dir", str(clips), "--all-letters")
    assert 'missing huruf_z.wav  (say: "zet")' in proc.stdout


def test_cli_assembles_clips(tmp_path, clips):
    out = tmp_path / "c.wav"
    proc = antre("D-020", "--counter", "Loket 1", "--voice", "clips", "--clips-dir", str(clips), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert tone_sequence(out, TONES)[1:] == ["nomor_antrean", "huruf_d", "dua", "puluh", "silakan_menuju_loket", "satu"]
