"""Sound without speech: 16-bit mono samples at :data:`RATE`, WAV files, the chime, and playback.

Everything is converted to one format in pure Python (the :mod:`wave` module; no
sox, no audioop). A :data:`Player` plays a finished WAV file: :class:`CommandPlayer`
runs ``aplay``/``paplay``/``play`` or a configured command (``[display] audio_player``,
``[kiosk] audio_player``). Shared by the TV's announcements and the kiosk's spoken guidance.
"""

from __future__ import annotations

import array
import functools
import math
import shlex
import shutil
import subprocess
import sys
import threading
import wave
from pathlib import Path
from typing import Callable, Sequence

from antre.errors import VoiceError

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


class PlayerError(VoiceError, RuntimeError):
    """No audio player is available, or it failed."""


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
            raise PlayerError(f"audio_player: command {argv[0]!r} not found")
        return argv
    for name, args in _KNOWN_PLAYERS:
        exe = shutil.which(name)
        if exe:
            return [exe, *args]
    raise PlayerError("no audio player found: install alsa-utils (aplay), pulseaudio-utils (paplay) "
                      "or sox (play), or set audio_player ([display] or [kiosk])")


class CommandPlayer:
    """A :data:`Player` that runs an external command such as ``aplay -q FILE`` and waits for it. The
    command is looked up once, when the player is made; :meth:`stop` ends what is playing (from another
    thread), and that call returns quietly."""

    def __init__(self, audio_player: str = ""):
        self.argv = find_player_command(audio_player)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._stopped: subprocess.Popen | None = None

    def __call__(self, path: Path) -> None:
        argv = [str(path) if a == "{}" else a for a in self.argv]
        if "{}" not in self.argv:
            argv.append(str(path))
        timeout = wav_duration(path) * 2 + 10
        with self._lock:
            proc = self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.PIPE)
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise PlayerError(f"{argv[0]} did not finish playing {path} within {timeout:.0f} s") from None
        finally:
            with self._lock:
                self._proc = None
                stopped, self._stopped = self._stopped is proc, None
        if proc.returncode != 0 and not stopped:
            err = stderr.decode(errors="replace").strip().splitlines()
            raise PlayerError(f"{argv[0]} failed ({proc.returncode}): {err[-1] if err else 'no message'}")

    def stop(self) -> bool:
        """Ends the sound playing now, if any (True when one was stopped)."""
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                return False
            self._stopped = proc
            proc.terminate()
            return True

    def __repr__(self) -> str:
        return f"CommandPlayer({shlex.join(self.argv)!r})"
