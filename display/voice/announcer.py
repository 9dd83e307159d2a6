"""The announcer queue: calls played one after another, never overlapping, stale ones dropped."""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from antre.voice.audio import CommandPlayer, Player

from ..config import DisplayConfig
from .synthesis import Synthesizer
from .words import Lang, VoiceError, _check_lang, parse_ticket_number

log = logging.getLogger(__package__)  # "antre_display.voice", as before the split


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

    @property
    def busy(self) -> bool:
        """True while a call is waiting or being announced (the TV shows no slide then)."""
        with self._idle:
            return self._pending > 0

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
