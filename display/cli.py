"""``antre display``: the waiting-room TV board with voice announcements.

::

    antre display                       # fullscreen, as on the Pi behind the TV
    antre display --windowed --size 1280x720

Cheap to import: Kivy is loaded inside :func:`run`, after its settings are made.
"""

from __future__ import annotations

import argparse
import logging
import signal

from antre.apps.kivy_window import configure_kivy, window_size

SIZES = ("1920x1080", "1280x720")

log = logging.getLogger("antre.display")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--windowed", action="store_true",
                        help="a window at the top-left of the screen instead of fullscreen")
    parser.add_argument("--size", type=window_size, metavar="WxH",
                        help=f"window size, e.g. {' or '.join(SIZES)} (default: [display] width x height)")
    parser.add_argument("--no-voice", action="store_true", help="no announcements (as [display] voice = 'off')")


def make_announcer(cfg, *, voice_off: bool = False):
    """The :class:`antre_display.voice.Announcer` for this display, or None when the voice is off or unusable
    (the board runs on without sound, and says why in the log)."""
    if voice_off or cfg.display.voice == "off":
        log.info("voice is off: calls are shown, not announced")
        return None
    from .voice import Announcer, VoiceError

    try:
        return Announcer(cfg.display, lang=cfg.office.language)
    except VoiceError as exc:
        log.error("no voice announcements: %s", exc)
        return None


def run(args: argparse.Namespace) -> int:
    from antre import config

    cfg = config.load(args.config)
    width, height = args.size or (cfg.display.width, cfg.display.height)
    fullscreen = cfg.display.fullscreen and not args.windowed
    configure_kivy(width, height, fullscreen, exit_on_escape=not fullscreen)
    announcer = make_announcer(cfg, voice_off=args.no_voice)

    from .app import DisplayApp  # imports Kivy's window: after configure_kivy()

    app = DisplayApp(cfg, announcer)
    # systemd stops with SIGTERM: leave cleanly (presence says offline, the announcer finishes its sentence).
    from kivy.clock import Clock

    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda dt: app.stop()))
    try:
        app.run()
    finally:
        if announcer is not None:
            announcer.close(timeout=5)
    return 0
