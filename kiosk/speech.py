"""The kiosk's voice: reads a screen's :class:`~antre_kiosk.flows.guidance.Guidance` aloud through the kiosk's own
speaker, with espeak-ng (the voice the TV uses: :mod:`antre.voice`).

:class:`Speaker` renders the phrases into one WAV file and plays it with ``aplay``/``paplay``/``play``
or ``[kiosk] audio_player`` on its own thread. A new request stops what is playing (the resident
moved on): the kiosk never reads out a screen that is gone. No Kivy here.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from antre.errors import VoiceError
from antre.voice.audio import (
    GAP_BETWEEN_PHRASES, LEAD_IN, TAIL, CommandPlayer, PlayerError, Samples, _join, _scaled, silence, write_wav,
)
from antre.voice.espeak import EspeakVoice

log = logging.getLogger(__name__)


class Speaker:
    """Speaks phrases in ``id`` or ``en``. ``voice`` is ``[kiosk] voice`` ("espeak" or "off")."""

    def __init__(self, voice: str = "espeak", *, audio_player: str = "", volume: float = 1.0):
        self.voice = voice
        self.audio_player = audio_player
        self.volume = volume
        self._voices: dict[str, EspeakVoice] = {}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: tuple[list[str], str, Callable[[str | None], None] | None] | None = None
        self._player: CommandPlayer | PlayerError | None = None   # looked up once, on the first sound
        self._closed = False
        self._thread: threading.Thread | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="antre-kiosk-voice-"))

    @property
    def enabled(self) -> bool:
        return self.voice != "off"

    def render(self, phrases: Sequence[str], lang: str = "id") -> Samples:
        """The phrases as one sound: a short lead-in, the phrases with pauses between them, a tail, at
        ``volume``. Raises :class:`~antre.errors.VoiceError` (no espeak-ng, or it failed)."""
        if not self.enabled:
            raise VoiceError("[kiosk] voice is 'off'")
        lang = "en" if lang == "en" else "id"
        if lang not in self._voices:
            self._voices[lang] = EspeakVoice(lang)  # type: ignore[arg-type]
        voice = self._voices[lang]
        out = silence(LEAD_IN)
        out.extend(_join([voice.say(p) for p in phrases], GAP_BETWEEN_PHRASES))
        out.extend(silence(TAIL))
        return out if self.volume == 1.0 else _scaled(out, self.volume)

    def say(self, phrases: Sequence[str], lang: str = "id",
            on_done: Callable[[str | None], None] | None = None) -> None:
        """Speaks ``phrases`` on the speaker's thread, stopping anything still playing. ``on_done(error)``
        runs on that thread when it has been played (error None) or could not be (the reason)."""
        if not self.enabled or not phrases:
            return
        with self._lock:
            if self._closed:
                return
            self._pending = (list(phrases), lang, on_done)
            if isinstance(self._player, CommandPlayer):
                self._player.stop()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kiosk-voice", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        n = 0
        while True:
            with self._lock:
                while self._pending is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                phrases, lang, on_done = self._pending  # type: ignore[misc]
                self._pending = None
            n += 1
            error = None
            try:
                wav = write_wav(self._tmp / f"say-{n % 2}.wav", self.render(phrases, lang))
                self._play(wav)
            except (VoiceError, OSError) as exc:
                error = str(exc)
                log.warning("spoken guidance failed: %s", exc)
            if on_done is not None:
                on_done(error)

    def player(self) -> CommandPlayer:
        """``[kiosk] audio_player`` or the first of aplay/paplay/play, found once (a kiosk without any
        says why on each "Dengarkan", without searching the PATH again)."""
        if self._player is None:
            try:
                self._player = CommandPlayer(self.audio_player)
            except PlayerError as exc:
                self._player = exc
        if isinstance(self._player, PlayerError):
            raise PlayerError(str(self._player))
        return self._player

    def _play(self, wav: Path) -> None:
        with self._lock:
            if self._pending is not None:   # already replaced by a newer screen
                return
        # A request that comes between this check and the player's start is played after this one.
        self.player()(wav)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if isinstance(self._player, CommandPlayer):
                self._player.stop()
            self._wake.notify_all()
