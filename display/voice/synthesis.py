"""Voice announcements: "Nomor antrean A dua belas, silakan menuju loket dua".

Three layers, each usable on its own:

* **Text** -- :func:`announcement_phrases` / :func:`announcement_text` say what is
  spoken, in Indonesian (default) or English. Pure functions, no audio.
* **Sound** -- :class:`Synthesizer` (and the one-shot :func:`write_announcement`)
  turns a call into one WAV file: a two-tone chime, short pauses, the spoken
  phrases, repeated ``[display] repeat`` times, at ``[display] volume``. The
  speech comes from espeak-ng's Indonesian voice (``voice = "espeak"``) or from
  clips an office recorded itself (``voice = "clips"``, see ``docs/voice.md``).
  Everything is converted to one format, :data:`RATE` Hz mono 16-bit, in pure
  Python (the :mod:`wave` module; no sox, no audioop).
* **Playback** -- :class:`Announcer` plays calls one after another from a worker
  thread, never overlapping and never cut off, and drops calls that waited
  longer than ``[display] stale_seconds``::

      from antre import config
      from display.voice import Announcer

      cfg = config.load()
      announcer = Announcer(cfg.display, lang=cfg.office.language)
      announcer.announce("A-012", "Loket 2", 2, called_at=event_time)
      ...
      announcer.close()

Runtime needs: ``espeak-ng`` (Debian package ``espeak-ng``) for the espeak voice
and as the fallback for missing clips, and one audio player: ``aplay``
(``alsa-utils``), ``paplay`` (``pulseaudio-utils``) or ``play`` (``sox``), or the
command in ``[display] audio_player``.
"""

from __future__ import annotations

import array
import functools
import logging
import math
import queue
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal, Sequence

from antre.config import DisplayConfig
from antre.errors import AntreError

log = logging.getLogger(__name__)

Lang = Literal["id", "en"]
Style = Literal["words", "digits"]

#: Every file written is mono, 16-bit signed PCM at this rate (espeak-ng's own rate).
RATE = 22050
#: Speech, clips and the chime are each normalised to this peak (half of full
#: scale, -6 dBFS) before the volume is applied, so volume 2.0 reaches full scale
#: and never clips, and clips recorded at different levels sound equally loud.
PEAK = 16384

# Designed pauses, in seconds.
LEAD_IN = 0.15              # before the chime: HDMI/USB audio often swallows the first moment
GAP_AFTER_CHIME = 0.35
GAP_BETWEEN_PHRASES = 0.25  # where announcement_text() has a comma
GAP_BETWEEN_WORDS = 0.04    # between word clips inside one phrase (clips mode)
GAP_BETWEEN_REPEATS = 1.0
TAIL = 0.25

#: espeak-ng settings: a little slower and lower than its defaults (175 wpm, pitch 50).
ESPEAK_SPEED = 140
ESPEAK_PITCH = 45
ESPEAK_VOICES = {"id": "id", "en": "en"}

TICKET_NUMBER = re.compile(r"([A-Z])-(\d{1,6})")


# --------------------------------------------------------------------------
# Errors.
# --------------------------------------------------------------------------

class VoiceError(AntreError):
    """An announcement cannot be made (bad input, missing program or clips)."""


class TicketNumberError(VoiceError, ValueError):
    """The ticket number is not of the form ``A-012``."""


class MissingClipsError(VoiceError, FileNotFoundError):
    """Clips mode needs clips that the clips folder does not have. ``missing`` lists their file names."""

    def __init__(self, clips_dir: Path, missing: Sequence[str]):
        self.clips_dir = Path(clips_dir)
        self.missing = list(missing)
        super().__init__(f"{clips_dir}: missing voice clips: {', '.join(self.missing)} "
                         f"(record them, see docs/voice.md; 'antre announce --check-clips' lists all)")


class PlayerError(VoiceError, RuntimeError):
    """No audio player is available, or it failed."""


# --------------------------------------------------------------------------
# Text.
# --------------------------------------------------------------------------

#: Indonesian names of the letters (EYD/PUEBI), as a caller would say them: Q is "ki", not "kyu".
LETTER_NAMES_ID = {
    "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha", "I": "i",
    "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe", "Q": "ki", "R": "er",
    "S": "es", "T": "te", "U": "u", "V": "fe", "W": "we", "X": "eks", "Y": "ye", "Z": "zet",
}

DIGITS = {
    "id": ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
}

_PHRASES = {
    "id": {"recall": "Panggilan ulang", "intro": "Nomor antrean", "go": "silakan menuju", "counter": "loket"},
    "en": {"recall": "Calling again", "intro": "Number", "go": "please go to", "counter": "counter"},
}

#: Every word Indonesian num2words uses for 0 ... 999 999 (ticket numbers have at most 6 digits).
NUMBER_WORDS_ID = (
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
    "sepuluh", "sebelas", "belas", "puluh", "seratus", "ratus", "seribu", "ribu",
)

#: espeak-ng's Indonesian voice reads the ambiguous letter e by a rule that gets these
#: words wrong (it says "bèlas", "èmpat", "lokət"); give it the phonemes instead.
#: Letter names take close e as in PUEBI: "be" is [be], not [bɛ].
ESPEAK_ID_PHONEMES = {
    "belas": "[[b@l'as]]", "sebelas": "[[s@b@l'as]]", "empat": "[[@mp'at]]", "enam": "[[@n'am]]",
    "loket": "[[l'okEt]]", "antrean": "[[antR2'ean]]",
    "be": "[[b'e]]", "ce": "[[tS'e]]", "de": "[[d'e]]", "ge": "[[g'e]]", "je": "[[dZ'e]]",
    "pe": "[[p'e]]", "te": "[[t'e]]", "fe": "[[f'e]]", "we": "[[w'e]]", "ye": "[[j'e]]",
}


def parse_ticket_number(number: str) -> tuple[str, int]:
    """``"A-012"`` -> ``("A", 12)``. Raises :class:`TicketNumberError` for anything else."""
    m = TICKET_NUMBER.fullmatch(number) if isinstance(number, str) else None
    if not m:
        raise TicketNumberError(f"ticket number must look like 'A-012' (one capital letter, '-', "
                                f"1 to 6 digits), not {number!r}")
    return m[1], int(m[2])


def number_words(value: int, *, style: Style = "words", lang: Lang = "id") -> str:
    """12 -> "dua belas" (words) or "satu dua" (digits). Leading zeros are never spoken."""
    if value < 0:
        raise ValueError("negative numbers are not spoken")
    if style == "digits":
        return " ".join(DIGITS[lang][int(d)] for d in str(value))
    if style != "words":
        raise ValueError(f"style must be 'words' or 'digits', not {style!r}")
    from num2words import num2words
    return num2words(value, lang=lang)


def counter_number_from(counter_name: str, counter_number: int | None = None) -> int | None:
    """The number to speak for a counter: ``counter_number`` if given (0 counts as not given),
    else the last number in its name ("Loket 2" -> 2), else None."""
    if counter_number:
        return int(counter_number)
    found = re.findall(r"\d+", counter_name or "")
    return int(found[-1]) if found else None


def _check_lang(lang: str) -> None:
    if lang not in _PHRASES:
        raise VoiceError(f"language must be 'id' or 'en', not {lang!r}")


def announcement_phrases(number: str, counter_name: str, counter_number: int | None = None, *,
                         style: Style = "words", lang: Lang = "id", recall: bool = False) -> list[str]:
    """What is said, phrase by phrase::

        >>> announcement_phrases("A-012", "Loket 2")
        ['Nomor antrean', 'a', 'dua belas', 'silakan menuju', 'loket dua']
        >>> announcement_phrases("B-105", "Loket 3", style="digits", lang="en")
        ['Number', 'B', 'one zero five', 'please go to', 'counter three']

    Letters are spoken by their Indonesian names ("be", "ce", "ki" ...). The counter
    is "loket <number>" when a number is known (``counter_number``, else the last
    number in ``counter_name``); otherwise its name as written ("Meja Informasi").
    The counter number is always read as a number, whatever ``style``. A recall starts
    with "Panggilan ulang", so someone who heard the first call knows it is the same number.
    """
    _check_lang(lang)
    letter, value = parse_ticket_number(number)
    words = _PHRASES[lang]
    n = counter_number_from(counter_name, counter_number)
    if n is not None:
        counter = f"{words['counter']} {number_words(n, lang=lang)}"
    else:
        counter = counter_name.strip()
        if not counter:
            raise VoiceError("counter name is empty and no counter number was given")
    spoken_letter = LETTER_NAMES_ID[letter] if lang == "id" else letter
    phrases = [words["intro"], spoken_letter, number_words(value, style=style, lang=lang), words["go"], counter]
    return [words["recall"], *phrases] if recall else phrases


def announcement_text(number: str, counter_name: str, counter_number: int | None = None, *,
                      style: Style = "words", lang: Lang = "id", recall: bool = False) -> str:
    """The phrases joined with commas (a pause for a TTS engine):
    ``"Nomor antrean, a, dua belas, silakan menuju, loket dua"``."""
    return ", ".join(announcement_phrases(number, counter_name, counter_number, style=style, lang=lang,
                                          recall=recall))


# --------------------------------------------------------------------------
# Clips: the file names an office records.
# --------------------------------------------------------------------------

CHIME_CLIP = "chime"
RECALL_CLIP = "panggilan_ulang"   # optional, like the chime: espeak-ng says it when absent
INTRO_CLIP = "nomor_antrean"
GO_TO_COUNTER_CLIP = "silakan_menuju_loket"


def letter_clip(letter: str) -> str:
    return f"huruf_{letter.lower()}"


#: Every clip a complete clips folder has (file name = this + ".wav"), in recording order.
#: ``chime.wav`` is optional and not listed: without it the built-in chime is used.
#: ``panggilan_ulang.wav`` ("panggilan ulang", said before a recall) is optional too.
CLIP_NAMES: tuple[str, ...] = (
    INTRO_CLIP, *(letter_clip(c) for c in LETTER_NAMES_ID), *NUMBER_WORDS_ID, GO_TO_COUNTER_CLIP,
)

#: What to say when recording each clip.
CLIP_WORDS: dict[str, str] = {
    INTRO_CLIP: "nomor antrean",
    **{letter_clip(c): name for c, name in LETTER_NAMES_ID.items()},
    **{w: w for w in NUMBER_WORDS_ID},
    GO_TO_COUNTER_CLIP: "silakan menuju loket",
    RECALL_CLIP: "panggilan ulang",
}


@dataclass(frozen=True)
class Word:
    """One piece of an announcement in clips mode: the clip to play (file stem, or None
    when no clip can exist for it, such as a counter's name) and what espeak-ng says
    instead when the clip is missing."""
    clip: str | None
    text: str


def announcement_clips(number: str, counter_name: str, counter_number: int | None = None, *,
                       style: Style = "words", recall: bool = False) -> list[list[Word]]:
    """The Indonesian announcement as groups of clips; a pause goes between groups::

        >>> [[w.clip for w in g] for g in announcement_clips("A-012", "Loket 2")]
        [['nomor_antrean'], ['huruf_a'], ['dua', 'belas'], ['silakan_menuju_loket', 'dua']]
    """
    letter, value = parse_ticket_number(number)
    groups = [
        [Word(INTRO_CLIP, CLIP_WORDS[INTRO_CLIP])],
        [Word(letter_clip(letter), LETTER_NAMES_ID[letter])],
        [Word(w, w) for w in number_words(value, style=style, lang="id").split()],
    ]
    n = counter_number_from(counter_name, counter_number)
    if n is not None:
        groups.append([Word(GO_TO_COUNTER_CLIP, CLIP_WORDS[GO_TO_COUNTER_CLIP]),
                       *(Word(w, w) for w in number_words(n, lang="id").split())])
    else:
        groups.append([Word(None, f"silakan menuju {counter_name.strip()}")])
    return [[Word(RECALL_CLIP, CLIP_WORDS[RECALL_CLIP])], *groups] if recall else groups


def needed_clips(letters: str | None = None) -> list[str]:
    """The clip names needed; with ``letters`` (the services' prefixes, e.g. "ABC") only those letters."""
    if letters is None:
        return list(CLIP_NAMES)
    keep = {letter_clip(c) for c in letters}
    return [n for n in CLIP_NAMES if not n.startswith("huruf_") or n in keep]


def check_clips(clips_dir: str | Path, letters: str | None = None) -> list[str]:
    """File names of the clips missing from ``clips_dir`` (empty when complete).
    ``letters`` limits the letter clips to those prefixes."""
    d = Path(clips_dir)
    return [f"{name}.wav" for name in needed_clips(letters) if not (d / f"{name}.wav").is_file()]


# --------------------------------------------------------------------------
# Audio: 16-bit mono samples at RATE in an array('h').
# --------------------------------------------------------------------------

Samples = array.array


def silence(seconds: float) -> Samples:
    return array.array("h", bytes(2 * int(round(seconds * RATE))))


def _scaled(samples: Sequence[float], gain: float) -> Samples:
    return array.array("h", (max(-32768, min(32767, int(round(s * gain)))) for s in samples))


def peak_of(samples: Sequence[int]) -> int:
    return max((abs(s) for s in samples), default=0)


def normalise(samples: Samples, peak: int = PEAK) -> Samples:
    """Scales so the loudest sample is ``peak``. Silence stays silence."""
    top = peak_of(samples)
    return _scaled(samples, peak / top) if top else array.array("h", samples)


def trim(samples: Samples, *, threshold: float = 0.04, margin: float = 0.02) -> Samples:
    """Cuts the quiet lead and tail (below ``threshold`` of the peak), keeping ``margin`` seconds."""
    top = peak_of(samples)
    if not top:
        return array.array("h")
    limit = top * threshold
    n = len(samples)
    first = next(i for i in range(n) if abs(samples[i]) > limit)
    last = next(i for i in range(n - 1, -1, -1) if abs(samples[i]) > limit)
    keep = int(margin * RATE)
    return samples[max(0, first - keep):min(n, last + keep + 1)]


def _resample(samples: Sequence[int], src: int, dst: int) -> Samples:
    """Linear interpolation; a moving average first when going down, against aliasing."""
    if src == dst or not samples:
        return array.array("h", samples)
    data: Sequence[float] = samples
    width = int(round(src / dst))
    if width >= 2:
        acc = [0]
        for s in samples:
            acc.append(acc[-1] + s)
        half = width // 2
        n = len(samples)
        data = [(acc[min(n, i + width - half)] - acc[max(0, i - half)]) / width for i in range(n)]
    step = src / dst
    n_in = len(data)
    n_out = int(n_in * dst / src)
    out = array.array("h", bytes(2 * n_out))
    for k in range(n_out):
        x = k * step
        i = int(x)
        a = data[i]
        b = data[i + 1] if i + 1 < n_in else a
        out[k] = max(-32768, min(32767, int(round(a + (b - a) * (x - i)))))
    return out


_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


def _read_riff(path: Path) -> tuple[int, int, int, int, bytes]:
    """(format tag, channels, rate, bytes per sample, sample data) of a WAV file.

    Read by hand because :mod:`wave` in Python 3.11 refuses WAVE_FORMAT_EXTENSIBLE,
    which recorders (and sox) write for 24-bit and float files."""
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("no RIFF/WAVE header")
    fmt = None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            if len(body) < 16:
                raise ValueError("short fmt chunk")
            tag = int.from_bytes(body[0:2], "little")
            channels = int.from_bytes(body[2:4], "little")
            rate = int.from_bytes(body[4:8], "little")
            bits = int.from_bytes(body[14:16], "little")
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = int.from_bytes(body[24:26], "little")     # first bytes of the sub-format GUID
            fmt = (tag, channels, rate, (bits + 7) // 8)
        elif cid == b"data":
            if fmt is None:
                raise ValueError("data before fmt chunk")
            return (*fmt, body)
        pos += 8 + size + (size & 1)
    raise ValueError("no data chunk")


def read_wav(path: str | Path) -> Samples:
    """Reads a WAV file -- PCM 8/16/24/32-bit or float, any rate and channel count --
    and returns it as :data:`RATE` Hz mono 16-bit samples."""
    path = Path(path)
    hint = f"convert it, e.g. 'sox IN -r {RATE} -c 1 -b 16 {path.name}'"
    try:
        tag, channels, rate, width, raw = _read_riff(path)
    except OSError as exc:
        raise VoiceError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise VoiceError(f"{path}: not a WAV file ({exc}); {hint}") from None
    if not channels or not rate:
        raise VoiceError(f"{path}: WAV header has no channels or rate; {hint}")
    raw = raw[:len(raw) // (width * channels) * width * channels]
    if tag == _FLOAT and width in (4, 8):
        floats = array.array("f" if width == 4 else "d")
        floats.frombytes(raw)
        if sys.byteorder == "big":
            floats.byteswap()
        pcm = _scaled(floats, 32767)
    elif tag == _PCM and width == 1:
        pcm = array.array("h", ((b - 128) << 8 for b in raw))
    elif tag == _PCM and width in (2, 3, 4):
        if width > 2:   # keep the two most significant bytes of each little-endian sample
            hi = bytearray(len(raw) // width * 2)
            hi[0::2] = raw[width - 2::width]
            hi[1::2] = raw[width - 1::width]
            raw = bytes(hi)
        pcm = array.array("h")
        pcm.frombytes(raw)
        if sys.byteorder == "big":
            pcm.byteswap()
    else:
        raise VoiceError(f"{path}: unsupported WAV encoding (format {tag}, {8 * width}-bit); {hint}")
    if channels > 1:
        pcm = array.array("h", (sum(frame) // channels
                                for frame in zip(*(pcm[c::channels] for c in range(channels)))))
    return _resample(pcm, rate, RATE)


def write_wav(path: str | Path, samples: Samples) -> Path:
    out = array.array("h", samples)
    if sys.byteorder == "big":
        out.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(out.tobytes())
    return Path(path)


def wav_duration(path: str | Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


@functools.lru_cache(maxsize=1)
def _chime_bytes() -> bytes:
    notes = ((0.0, 659.25), (0.45, 523.25))     # E5 then C5: "ding-dong"
    ring = 0.9
    total = int((notes[-1][0] + ring) * RATE)
    buf = [0.0] * total
    two_pi = 2 * math.pi
    for start, f in notes:
        s0 = int(start * RATE)
        n = int(ring * RATE)
        fade = int(0.1 * RATE)      # each note ends smoothly: no click where it stops
        for i in range(n):
            t = i / RATE
            env = min(1.0, t / 0.004, (n - i) / fade) * math.exp(-t / 0.28)
            buf[s0 + i] += env * (math.sin(two_pi * f * t)
                                  + 0.3 * math.exp(-t / 0.12) * math.sin(two_pi * 2 * f * t)
                                  + 0.12 * math.exp(-t / 0.06) * math.sin(two_pi * 2.76 * f * t))
    top = max(abs(v) for v in buf)
    return _scaled(buf, PEAK / top).tobytes()


def chime() -> Samples:
    """The built-in two-tone "ding-dong" (E5 then C5, about 1.35 s), normalised to :data:`PEAK`."""
    out = array.array("h")
    out.frombytes(_chime_bytes())
    return out


def _join(parts: Sequence[Samples], gap: float) -> Samples:
    out = array.array("h")
    pause = silence(gap)
    for i, part in enumerate(parts):
        if i:
            out.extend(pause)
        out.extend(part)
    return out


# --------------------------------------------------------------------------
# Speech sources.
# --------------------------------------------------------------------------

def espeak_text(phrase: str, lang: Lang = "id") -> str:
    """The phrase as handed to espeak-ng, with phonemes for words its rules misread."""
    if lang != "id":
        return phrase
    return " ".join(ESPEAK_ID_PHONEMES.get(w.lower(), w) for w in phrase.split())


class EspeakVoice:
    """espeak-ng, offline. ``say(text)`` returns trimmed, normalised samples; results are cached."""

    def __init__(self, lang: Lang = "id", *, speed: int = ESPEAK_SPEED, pitch: int = ESPEAK_PITCH,
                 executable: str | None = None):
        _check_lang(lang)
        self.lang = lang
        self.speed = speed
        self.pitch = pitch
        self.executable = executable or shutil.which("espeak-ng") or shutil.which("espeak")
        self._cache: dict[str, bytes] = {}

    @property
    def available(self) -> bool:
        return bool(self.executable)

    def say(self, phrase: str) -> Samples:
        text = espeak_text(phrase, self.lang)
        if text not in self._cache:
            if not self.executable:
                raise VoiceError("espeak-ng is not installed (sudo apt install espeak-ng); "
                                 "or record clips and set [display] voice = 'clips'")
            with tempfile.TemporaryDirectory(prefix="antre-espeak-") as tmp:
                out = Path(tmp) / "say.wav"
                argv = [self.executable, "-v", ESPEAK_VOICES[self.lang], "-s", str(self.speed),
                        "-p", str(self.pitch), "-w", str(out), "--stdin"]
                try:
                    proc = subprocess.run(argv, input=text.encode(), capture_output=True, timeout=30)
                except subprocess.TimeoutExpired:
                    raise VoiceError(f"espeak-ng took more than 30 s to say {phrase!r}") from None
                if proc.returncode != 0 or not out.exists():
                    raise VoiceError(f"espeak-ng failed ({proc.returncode}) saying {phrase!r}: "
                                     f"{proc.stderr.decode(errors='replace').strip()}")
                samples = normalise(trim(read_wav(out)))
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[text] = samples.tobytes()
        out_samples = array.array("h")
        out_samples.frombytes(self._cache[text])
        return out_samples


class ClipLibrary:
    """An office's recorded clips (``<clips_dir>/<name>.wav``), converted, trimmed and
    normalised on first use and cached until the file changes."""

    def __init__(self, clips_dir: str | Path):
        self.clips_dir = Path(clips_dir)
        self._cache: dict[str, tuple[float, bytes]] = {}

    def path(self, name: str) -> Path:
        return self.clips_dir / f"{name}.wav"

    def has(self, name: str) -> bool:
        return self.path(name).is_file()

    def get(self, name: str) -> Samples:
        p = self.path(name)
        mtime = p.stat().st_mtime
        cached = self._cache.get(name)
        if cached is None or cached[0] != mtime:
            samples = normalise(trim(read_wav(p)))
            if not samples:
                raise VoiceError(f"{p}: the clip is silent")
            cached = (mtime, samples.tobytes())
            self._cache[name] = cached
        out = array.array("h")
        out.frombytes(cached[1])
        return out


# --------------------------------------------------------------------------
# Putting an announcement together.
# --------------------------------------------------------------------------

class Synthesizer:
    """Renders calls to sound with one display's settings, keeping espeak and clip caches
    between calls. :class:`Announcer` holds one; :func:`write_announcement` makes one per call.

    ``settings.voice``: ``"espeak"`` speaks with espeak-ng; ``"clips"`` assembles the
    recorded clips in ``settings.clips_dir`` (English always uses espeak-ng; a missing
    clip is spoken by espeak-ng with a warning, or raises :class:`MissingClipsError` when
    ``strict_clips`` is true or espeak-ng is absent); ``"off"`` refuses (no sound).
    """

    def __init__(self, settings: DisplayConfig, *, strict_clips: bool = False):
        self.settings = settings
        self.strict_clips = strict_clips
        self._espeak: dict[str, EspeakVoice] = {}
        self._clips: ClipLibrary | None = None
        if settings.voice == "clips":
            if not settings.clips_dir:
                raise VoiceError("[display] voice = 'clips' needs clips_dir, the folder with the recorded clips")
            if not Path(settings.clips_dir).is_dir():
                raise VoiceError(f"[display] clips_dir: folder {settings.clips_dir!r} does not exist")
            self._clips = ClipLibrary(settings.clips_dir)

    def espeak(self, lang: Lang) -> EspeakVoice:
        if lang not in self._espeak:
            self._espeak[lang] = EspeakVoice(lang)
        return self._espeak[lang]

    def speech(self, number: str, counter_name: str, counter_number: int | None = None, *,
               lang: Lang = "id", recall: bool = False) -> Samples:
        """The spoken part once, without chime: phrases with :data:`GAP_BETWEEN_PHRASES` between them."""
        _check_lang(lang)
        style = self.settings.number_style
        if self._clips is not None and lang == "id":
            return self._from_clips(announcement_clips(number, counter_name, counter_number, style=style,
                                                       recall=recall))
        if self._clips is not None:
            log.info("no English clips: speaking %s with espeak-ng", number)
        voice = self.espeak(lang)
        phrases = announcement_phrases(number, counter_name, counter_number, style=style, lang=lang, recall=recall)
        return _join([voice.say(p) for p in phrases], GAP_BETWEEN_PHRASES)

    def _from_clips(self, groups: list[list[Word]]) -> Samples:
        assert self._clips is not None
        clips = self._clips
        missing = sorted({f"{w.clip}.wav" for g in groups for w in g
                          if w.clip and w.clip != RECALL_CLIP and not clips.has(w.clip)})
        espeak = self.espeak("id")
        if missing and (self.strict_clips or not espeak.available):
            raise MissingClipsError(clips.clips_dir, missing)
        if missing:
            log.warning("%s: missing clips %s; espeak-ng speaks those words", clips.clips_dir, ", ".join(missing))
        parts = []
        for group in groups:
            words = []
            for w in group:
                if w.clip and clips.has(w.clip):
                    words.append(clips.get(w.clip))
                else:
                    if w.clip is None:
                        log.info("no clip can exist for %r: espeak-ng says it", w.text)
                    words.append(espeak.say(w.text))
            parts.append(_join(words, GAP_BETWEEN_WORDS))
        return _join(parts, GAP_BETWEEN_PHRASES)

    def chime(self) -> Samples:
        if self._clips is not None and self._clips.has(CHIME_CLIP):
            return self._clips.get(CHIME_CLIP)
        return chime()

    def render(self, number: str, counter_name: str, counter_number: int | None = None, *,
               lang: Lang = "id", recall: bool = False) -> Samples:
        """The whole announcement: lead-in, chime, speech (``repeat`` times), tail, at ``volume``."""
        parse_ticket_number(number)
        if self.settings.voice == "off":
            raise VoiceError("[display] voice is 'off': announcements are silent")
        speech = self.speech(number, counter_name, counter_number, lang=lang, recall=recall)
        out = silence(LEAD_IN)
        out.extend(self.chime())
        out.extend(silence(GAP_AFTER_CHIME))
        out.extend(_join([speech] * self.settings.repeat, GAP_BETWEEN_REPEATS))
        out.extend(silence(TAIL))
        volume = self.settings.volume
        return out if volume == 1.0 else _scaled(out, volume)

    def write(self, path: str | Path, number: str, counter_name: str, counter_number: int | None = None, *,
              lang: Lang = "id", recall: bool = False) -> Path:
        return write_wav(path, self.render(number, counter_name, counter_number, lang=lang, recall=recall))


def write_announcement(path: str | Path, number: str, counter_name: str, counter_number: int | None = None, *,
                       settings: DisplayConfig, lang: Lang = "id", strict_clips: bool = False,
                       recall: bool = False) -> Path:
    """Writes the announcement exactly as the display plays it to ``path`` (RATE Hz mono
    16-bit WAV) and returns the path::

        write_announcement("/tmp/a.wav", "A-012", "Loket 2", settings=config.load().display)
    """
    return Synthesizer(settings, strict_clips=strict_clips).write(
        path, number, counter_name, counter_number, lang=lang, recall=recall)


# --------------------------------------------------------------------------
# Playback.
# --------------------------------------------------------------------------

Player = Callable[[Path], None]
"""Plays a WAV file and returns when it has finished."""

_KNOWN_PLAYERS = (("aplay", ["-q"]), ("paplay", []), ("play", ["-q"]))


def find_player_command(audio_player: str = "") -> list[str]:
    """The command that plays a WAV file: ``audio_player`` split like a shell would
    (``{}`` marks where the file goes, else it is appended), else the first of
    ``aplay``, ``paplay`` and sox's ``play`` on the PATH."""
    if audio_player.strip():
        argv = shlex.split(audio_player)
        if not shutil.which(argv[0]):
            raise PlayerError(f"[display] audio_player: command {argv[0]!r} not found")
        return argv
    for name, args in _KNOWN_PLAYERS:
        exe = shutil.which(name)
        if exe:
            return [exe, *args]
    raise PlayerError("no audio player found: install alsa-utils (aplay), pulseaudio-utils (paplay) "
                      "or sox (play), or set [display] audio_player")


class CommandPlayer:
    """A :data:`Player` that runs an external command such as ``aplay -q FILE`` and waits for it."""

    def __init__(self, audio_player: str = ""):
        self.argv = find_player_command(audio_player)

    def __call__(self, path: Path) -> None:
        argv = [str(path) if a == "{}" else a for a in self.argv]
        if "{}" not in self.argv:
            argv.append(str(path))
        timeout = wav_duration(path) * 2 + 10
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PlayerError(f"{argv[0]} did not finish playing {path} within {timeout:.0f} s") from None
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise PlayerError(f"{argv[0]} failed ({proc.returncode}): {err[-1] if err else 'no message'}")

    def __repr__(self) -> str:
        return f"CommandPlayer({shlex.join(self.argv)!r})"


@dataclass(frozen=True)
class Call:
    """One request to announce a ticket."""
    number: str
    counter_name: str
    counter_number: int | None
    called_at: datetime
    recall: bool = False
    lang: Lang = "id"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.astimezone()   # naive means local time


_STOP = object()


class Announcer:
    """Plays announcements one after another from one worker thread.

    :meth:`announce` returns at once; the worker renders each call (see
    :class:`Synthesizer`) and hands the WAV file to ``player``, which blocks until
    playback ends, so announcements never overlap and are never cut off. A call
    whose turn comes more than ``settings.stale_seconds`` after ``called_at`` is
    dropped: after a burst of calls nobody needs to hear a number called minutes
    ago. With ``settings.voice = "off"`` every call is dropped at once.

    ``player`` defaults to :class:`CommandPlayer` (``settings.audio_player``, else
    aplay/paplay/play; :class:`PlayerError` here when there is none). Tests pass a
    callable instead. ``on_spoken(call, wav_path)`` runs after a call was played,
    ``on_dropped(call, reason)`` when one was not; both run in the worker thread,
    must not block, and must hand anything for the GUI to its main thread.
    ``clock`` returns the current time (timezone-aware).
    """

    def __init__(self, settings: DisplayConfig, *, lang: Lang = "id", player: Player | None = None,
                 on_spoken: Callable[[Call, Path], None] | None = None,
                 on_dropped: Callable[[Call, str], None] | None = None,
                 clock: Callable[[], datetime] = _utc_now, synthesizer: Synthesizer | None = None):
        _check_lang(lang)
        self.settings = settings
        self.lang = lang
        self.on_spoken = on_spoken
        self.on_dropped = on_dropped
        self._clock = clock
        self._off = settings.voice == "off"
        self._synth = None if self._off else (synthesizer or Synthesizer(settings))
        self._player = player if (player is not None or self._off) else CommandPlayer(settings.audio_player)
        self._tmp = tempfile.TemporaryDirectory(prefix="antre-voice-")
        self._seq = 0
        self._pending = 0
        self._idle = threading.Condition()
        self._closing = False
        self._queue: "queue.SimpleQueue[object]" = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="antre-announcer", daemon=True)
        self._thread.start()

    # -- public ---------------------------------------------------------------

    def announce(self, number: str, counter_name: str, counter_number: int | None = None,
                 called_at: datetime | None = None, recall: bool = False, *, lang: Lang | None = None) -> Call:
        """Queues a call and returns at once. ``called_at`` defaults to now; a naive time is local time.
        Raises :class:`TicketNumberError` for a malformed number and :class:`VoiceError` after :meth:`close`."""
        parse_ticket_number(number)
        call = Call(number, counter_name, counter_number or None,
                    _aware(called_at) if called_at else self._clock(), recall, lang or self.lang)
        with self._idle:
            if self._closing:
                raise VoiceError("the announcer is closed")
            self._pending += 1
        self._queue.put(call)
        return call

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Blocks until every queued call was played or dropped; False if ``timeout`` (seconds) ran out."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = 30.0) -> None:
        """Stops: the announcement playing now finishes, calls still waiting are dropped."""
        with self._idle:
            if self._closing:
                return
            self._closing = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("announcer still playing after %s s; leaving it", timeout)
        else:
            self._tmp.cleanup()

    def __enter__(self) -> "Announcer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- worker ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, Call)
            try:
                self._handle(item)
            except Exception:   # the worker must survive anything one call does
                log.exception("announcing %s failed", item.number)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _drop(self, call: Call, reason: str) -> None:
        log.info("not announcing %s at %s: %s", call.number, call.counter_name, reason)
        self._hook(self.on_dropped, call, reason)

    def _hook(self, hook: Callable | None, *args: object) -> None:
        if hook is None:
            return
        try:
            hook(*args)
        except Exception:
            log.exception("announcer hook %r failed", hook)

    def _handle(self, call: Call) -> None:
        if self._closing:
            return self._drop(call, "closing")
        if self._off:
            return self._drop(call, "voice is off")
        age = (_aware(self._clock()) - call.called_at).total_seconds()
        if age > self.settings.stale_seconds:
            return self._drop(call, f"stale: called {age:.0f} s ago (stale_seconds = {self.settings.stale_seconds:g})")
        assert self._synth is not None and self._player is not None
        self._seq += 1
        path = Path(self._tmp.name) / f"{self._seq:06d}-{call.number}.wav"
        try:
            self._synth.write(path, call.number, call.counter_name, call.counter_number, lang=call.lang,
                              recall=call.recall)
        except VoiceError as exc:
            log.error("cannot announce %s: %s", call.number, exc)
            return self._drop(call, f"error: {exc}")
        try:
            log.info("announcing %s at %s%s", call.number, call.counter_name, " (recall)" if call.recall else "")
            try:
                self._player(path)
            except Exception as exc:
                log.error("playing %s failed: %s", call.number, exc)
                return self._drop(call, f"player failed: {exc}")
            self._hook(self.on_spoken, call, path)
        finally:
            path.unlink(missing_ok=True)

