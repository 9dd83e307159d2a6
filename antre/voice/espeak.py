"""espeak-ng, offline: the voice the TV's announcements and the kiosk's spoken guidance share.

:class:`EspeakVoice` speaks Indonesian (``id``) or English (``en``) and returns trimmed, normalised
samples (:mod:`antre.voice.audio`). Runtime need: ``espeak-ng`` (Debian package ``espeak-ng``).
"""

from __future__ import annotations

import array
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from antre.errors import VoiceError

from .audio import Samples, normalise, read_wav, trim

Lang = Literal["id", "en"]

#: espeak-ng settings: a little slower and lower than its defaults (175 wpm, pitch 50).
ESPEAK_SPEED = 140
ESPEAK_PITCH = 45
ESPEAK_VOICES = {"id": "id", "en": "en"}

#: espeak-ng's Indonesian voice reads the ambiguous letter e by a rule that gets these
#: words wrong (it says "bèlas", "èmpat", "lokət"); give it the phonemes instead.
#: Letter names take close e as in PUEBI: "be" is [be], not [bɛ].
ESPEAK_ID_PHONEMES = {
    "belas": "[[b@l'as]]", "sebelas": "[[s@b@l'as]]", "empat": "[[@mp'at]]", "enam": "[[@n'am]]",
    "loket": "[[l'okEt]]", "antrean": "[[antR2'ean]]",
    "be": "[[b'e]]", "ce": "[[tS'e]]", "de": "[[d'e]]", "ge": "[[g'e]]", "je": "[[dZ'e]]",
    "pe": "[[p'e]]", "te": "[[t'e]]", "fe": "[[f'e]]", "we": "[[w'e]]", "ye": "[[j'e]]",
}




def _phonemes(word: str) -> str:
    core = word.rstrip(",.?!:;")
    return ESPEAK_ID_PHONEMES.get(core.lower(), core) + word[len(core):]


def espeak_text(phrase: str, lang: Lang = "id") -> str:
    """The phrase as handed to espeak-ng, with phonemes for words its rules misread (punctuation after a
    word is kept: espeak-ng pauses there)."""
    if lang != "id":
        return phrase
    return " ".join(_phonemes(w) for w in phrase.split())


class EspeakVoice:
    """espeak-ng, offline. ``say(text)`` returns trimmed, normalised samples; results are cached."""

    def __init__(self, lang: Lang = "id", *, speed: int = ESPEAK_SPEED, pitch: int = ESPEAK_PITCH,
                 executable: str | None = None):
        if lang not in ESPEAK_VOICES:
            raise VoiceError(f"language must be 'id' or 'en', not {lang!r}")
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
