"""Speech: espeak-ng (offline) or an office's recorded clips, assembled into one announcement.

:class:`Synthesizer` (and the one-shot :func:`write_announcement`) turns a call
into one WAV file: a two-tone chime, short pauses, the spoken phrases, repeated
``[display] repeat`` times, at ``[display] volume``. The speech comes from
espeak-ng's Indonesian voice (``voice = "espeak"``) or from clips an office
recorded itself (``voice = "clips"``, see ``docs/voice.md``).
"""

from __future__ import annotations

import array
import logging
from pathlib import Path
from typing import Sequence

from antre.voice.audio import (
    GAP_AFTER_CHIME, GAP_BETWEEN_PHRASES, GAP_BETWEEN_REPEATS, GAP_BETWEEN_WORDS, LEAD_IN, TAIL, Samples,
    _join, _scaled, chime, normalise, read_wav, silence, trim, write_wav,
)
from antre.voice.espeak import (  # noqa: F401 (antre_display.voice's names for them)
    ESPEAK_ID_PHONEMES, ESPEAK_PITCH, ESPEAK_SPEED, ESPEAK_VOICES, EspeakVoice, espeak_text,
)
from ..config import DisplayConfig
from .words import (
    CHIME_CLIP, RECALL_CLIP, Lang, VoiceError, Word, _check_lang,
    announcement_clips, announcement_phrases, parse_ticket_number,
)

log = logging.getLogger(__package__)  # "antre_display.voice", as before the split

class MissingClipsError(VoiceError, FileNotFoundError):
    """Clips mode needs clips that the clips folder does not have. ``missing`` lists their file names."""

    def __init__(self, clips_dir: Path, missing: Sequence[str]):
        self.clips_dir = Path(clips_dir)
        self.missing = list(missing)
        super().__init__(f"{clips_dir}: missing voice clips: {', '.join(self.missing)} "
                         f"(record them, see docs/voice.md; 'antre announce --check-clips' lists all)")


# --------------------------------------------------------------------------
# Speech sources.
# --------------------------------------------------------------------------

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
