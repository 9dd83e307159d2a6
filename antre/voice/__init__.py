"""Speech both the TV and the kiosk use: sound in one format and espeak-ng.

- :mod:`.audio`: :data:`~antre.voice.audio.RATE` Hz mono 16-bit samples, WAV files in pure Python,
  the chime, and playing a finished file (:class:`~antre.voice.audio.CommandPlayer`);
- :mod:`.espeak`: :class:`~antre.voice.espeak.EspeakVoice`, espeak-ng's Indonesian or English voice.

What is said lives with each app: the TV's announcements in ``display/voice/`` (which adds the
office's recorded clips), the kiosk's guidance in ``kiosk/flows/guidance.py`` and ``kiosk/speech.py``.
"""
