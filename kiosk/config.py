"""The kiosk's table of antre.toml, ``[kiosk]``: declared here, next to the code that reads it.

``antre.config`` finds :data:`SECTION` through the ``antre.config`` entry point in pyproject.toml
and checks the ``[kiosk]`` table against :class:`KioskConfig` like its own tables (unknown keys,
"did you mean ...?"). A new kiosk option is one more field here (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from antre.config import Config, Section, checked, in_range, positive
from antre.errors import ConfigError
from antre.secret_check import KIOSK_PIN_MIN, patterned

SAMPLE_STAFF_PIN = "1234"


def printer_url(value: str) -> str | None:
    if value == "none":
        return None
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in ("usb", "tcp", "serial", "file", "cups", "dummy"):
        return ("must be 'none' or a URL: usb://VID:PID, tcp://host:9100, serial:///dev/ttyUSB0, "
                "file:///dev/usb/lp0, cups://NAME")
    return None


@dataclass(frozen=True)
class KioskConfig:
    client_id: str = checked("", doc="empty: 'kiosk-' plus the host name")
    printer: str = checked("none", check=printer_url)
    paper_width: Literal[58, 80] = 80
    print_timeout: float = checked(8.0, check=positive, doc="seconds")
    printer_check_seconds: float = checked(15.0, check=in_range(1, 600),
                                           doc="how often a printer in trouble is checked again (seconds); a "
                                               "healthy one every four times that")
    ticket_screen_seconds: float = checked(8.0, check=positive)
    ticket_screen_seconds_no_print: float = checked(30.0, check=positive)
    idle_seconds: float = checked(60.0, check=positive)
    screen_inches: float = checked(0.0, check=in_range(0.0, 100.0),
                                   doc="the touchscreen's diagonal in inches, for touch targets of 20 mm and "
                                       "readable text; 0: the usual panel for the resolution (10.1 at 1280x800, "
                                       "7 at 800x480, 21.5 at 1080x1920)")
    late_tap_seconds: float = checked(1.5, check=in_range(0.0, 60.0),
                                      doc="after a screen times out, touches on the start screen are ignored "
                                          "this long (a finger meant for the old screen's button)")
    mode: Literal["full", "rating"] = checked("full", doc="'rating' shows only the rating prompt for one counter")
    rating_counter: str = checked("", doc="with mode = 'rating': the counter id this screen faces")
    staff_pin: str = checked(SAMPLE_STAFF_PIN, doc="leaves kiosk mode; change it", secret=True)
    fullscreen: bool = True
    touch_sound: bool = True
    voice: Literal["espeak", "off"] = checked(
        "espeak", doc="spoken guidance (the 'Dengarkan' button on every screen) with espeak-ng, the TV's voice; "
                      "'off' hides the button")
    speak_screens: bool = checked(False, doc="read each screen aloud when it opens, without a touch on "
                                             "'Dengarkan'")
    audio_player: str = checked("", doc="command that plays a WAV file ({} marks the file); empty: aplay, "
                                        "paplay or play")
    volume: float = checked(1.0, check=in_range(0.0, 2.0))



def _check(cfg: Config) -> None:
    kiosk = cfg.kiosk
    if kiosk.mode == "rating" and cfg.counter_by_id(kiosk.rating_counter) is None:
        raise ConfigError(f"{cfg.source}: kiosk.mode = 'rating' needs kiosk.rating_counter set to a counter id")


def _weak_secrets(kiosk: KioskConfig) -> list[str]:
    if kiosk.staff_pin == SAMPLE_STAFF_PIN:
        return [f"[kiosk] staff_pin is the sample's default '{SAMPLE_STAFF_PIN}': anyone who has read the "
                f"sample can leave kiosk mode; set your own ({KIOSK_PIN_MIN}+ digits, e.g. from "
                "'antre config secrets')"]
    if len(kiosk.staff_pin) < KIOSK_PIN_MIN or patterned(kiosk.staff_pin):
        return [f"[kiosk] staff_pin is easy to guess (shorter than {KIOSK_PIN_MIN} digits, or a pattern); "
                "set another one (e.g. from 'antre config secrets')"]
    return []


SECTION = Section("kiosk", KioskConfig, position=10, check=_check, weak_secrets=_weak_secrets)
