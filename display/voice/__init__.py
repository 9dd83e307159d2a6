"""Voice announcements: "Nomor antrean A dua belas, silakan menuju loket dua".

Four modules, bottom to top, each usable on its own:

* :mod:`.words` -- what is said: :func:`announcement_phrases` /
  :func:`announcement_text` in Indonesian (default) or English, and for recorded
  clips :func:`announcement_clips` and the folder's :data:`CLIP_NAMES`. Pure
  functions, no audio.
* :mod:`.audio` -- sound without speech: :data:`RATE` Hz mono 16-bit samples,
  WAV files in pure Python (the :mod:`wave` module; no sox, no audioop), the
  chime, and playing a finished file (:class:`CommandPlayer`).
* :mod:`.synthesis` -- :class:`Synthesizer` (and the one-shot
  :func:`write_announcement`) turns a call into one WAV file: a two-tone chime,
  short pauses, the spoken phrases, repeated ``[display] repeat`` times, at
  ``[display] volume``. The speech comes from espeak-ng's Indonesian voice
  (``voice = "espeak"``) or from clips an office recorded itself
  (``voice = "clips"``, see ``docs/voice.md``).
* :mod:`.announcer` -- :class:`Announcer` plays calls one after another from a
  worker thread, never overlapping and never cut off, and drops calls that waited
  longer than ``[display] stale_seconds``::

      from antre import config
      from antre_display.voice import Announcer

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

from .words import (  # noqa: F401
    CHIME_CLIP, CLIP_NAMES, CLIP_WORDS, DIGITS, GO_TO_COUNTER_CLIP, INTRO_CLIP, LETTER_NAMES_ID, NUMBER_WORDS_ID,
    RECALL_CLIP, TICKET_NUMBER, Lang, Style, TicketNumberError, VoiceError, Word, announcement_clips,
    announcement_phrases, announcement_text, check_clips, counter_number_from, letter_clip, needed_clips,
    number_words, parse_ticket_number,
)
from antre.voice.audio import (  # noqa: F401
    GAP_AFTER_CHIME, GAP_BETWEEN_PHRASES, GAP_BETWEEN_REPEATS, GAP_BETWEEN_WORDS, LEAD_IN, PEAK, RATE, TAIL,
    CommandPlayer, Player, PlayerError, Samples, chime, find_player_command, normalise, peak_of, read_wav, silence,
    trim, wav_duration, write_wav,
)
from .synthesis import (  # noqa: F401
    ESPEAK_ID_PHONEMES, ESPEAK_PITCH, ESPEAK_SPEED, ESPEAK_VOICES, ClipLibrary, EspeakVoice, MissingClipsError,
    Synthesizer, espeak_text, write_announcement,
)
from .announcer import (  # noqa: F401
    Announcer, Call,
)

__all__ = [
    "Lang", "Style", "RATE", "PEAK", "LEAD_IN", "GAP_AFTER_CHIME", "GAP_BETWEEN_PHRASES", "GAP_BETWEEN_WORDS",
    "GAP_BETWEEN_REPEATS", "TAIL", "ESPEAK_SPEED", "ESPEAK_PITCH", "ESPEAK_VOICES", "TICKET_NUMBER", "VoiceError",
    "TicketNumberError", "MissingClipsError", "PlayerError", "LETTER_NAMES_ID", "DIGITS", "NUMBER_WORDS_ID",
    "ESPEAK_ID_PHONEMES", "parse_ticket_number", "number_words", "counter_number_from", "announcement_phrases",
    "announcement_text", "CHIME_CLIP", "RECALL_CLIP", "INTRO_CLIP", "GO_TO_COUNTER_CLIP", "letter_clip",
    "CLIP_NAMES", "CLIP_WORDS", "Word", "announcement_clips", "needed_clips", "check_clips", "Samples", "silence",
    "peak_of", "normalise", "trim", "read_wav", "write_wav", "wav_duration", "chime", "espeak_text", "EspeakVoice",
    "ClipLibrary", "Synthesizer", "write_announcement", "Player", "find_player_command", "CommandPlayer", "Call",
    "Announcer",
]
