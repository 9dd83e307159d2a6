"""The TV display's table of antre.toml, ``[display]`` (the board and its voice): declared here,
next to the code that reads it.

``antre.config`` finds :data:`SECTION` through the ``antre.config`` entry point in pyproject.toml
(docs/architecture.md says where a new option goes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from antre.config import Section, checked, in_range, positive


@dataclass(frozen=True)
class DisplayConfig:
    client_id: str = checked("", doc="empty: 'display-' plus the host name")
    fullscreen: bool = True
    width: int = checked(1920, check=in_range(320, 7680))
    height: int = checked(1080, check=in_range(240, 4320))
    ticker: str = "Selamat datang di Kantor Desa. Siapkan KTP dan KK asli sebelum dipanggil."
    voice: Literal["espeak", "clips", "off"] = "espeak"
    clips_dir: str = ""
    number_style: Literal["words", "digits"] = "words"
    volume: float = checked(1.0, check=in_range(0.0, 2.0))
    repeat: int = checked(1, check=in_range(1, 3))
    stale_seconds: float = checked(60.0, check=positive, doc="calls older than this are not read out")
    highlight_seconds: float = checked(8.0, check=positive)
    audio_player: str = checked("", doc="command that plays a WAV file; empty: aplay, paplay or play")
    staff_alerts: bool = checked(True, doc="a discreet 'Perlu petugas (n)' in a corner while a device needs a "
                                           "person (the staff console lists them); false: never on the TV")



SECTION = Section("display", DisplayConfig, position=30)
