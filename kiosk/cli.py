"""``antre kiosk``: the touchscreen that issues tickets, prints them and takes ratings.

::

    antre kiosk                               # fullscreen, as on the Pi's touchscreen
    antre kiosk --windowed --size 1280x800    # a window, for a desktop try-out
    antre kiosk --preview-ticket ticket.png   # draw a sample ticket as it prints, then exit

Staff leave the kiosk by holding the office name (top left) for three seconds and
typing the PIN (``[kiosk] staff_pin``). Cheap to import: Kivy is loaded inside
:func:`run`, after its settings are made.
"""

from __future__ import annotations

import argparse
import os
import re
import signal

DEFAULT_SIZE = (1280, 800)


def _size(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{3,4})x(\d{3,4})", value)
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 1280x800, not {value!r}")
    return int(m[1]), int(m[2])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--windowed", action="store_true",
                        help="a window at the top-left of the screen instead of fullscreen")
    parser.add_argument("--size", type=_size, metavar="WxH",
                        help="window size with --windowed (default 1280x800, a 10-inch panel)")
    parser.add_argument("--preview-ticket", metavar="OUT.png",
                        help="write a sample ticket, exactly as it prints, to a PNG file and exit")
    parser.add_argument("--service", metavar="CODE", help="with --preview-ticket: the service (default: the first)")
    parser.add_argument("--lang", choices=("id", "en"),
                        help="with --preview-ticket: the ticket's language (default: [office] language)")


def configure_kivy(width: int, height: int, fullscreen: bool) -> None:
    """Kivy settings that must be made before ``kivy.core.window`` is imported."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    KivyConfig.set("graphics", "width", str(width))
    KivyConfig.set("graphics", "height", str(height))
    KivyConfig.set("graphics", "position", "custom")
    KivyConfig.set("graphics", "left", "0")
    KivyConfig.set("graphics", "top", "0")
    KivyConfig.set("graphics", "resizable", "0")
    KivyConfig.set("graphics", "borderless", "1" if fullscreen else "0")
    KivyConfig.set("graphics", "show_cursor", "0" if fullscreen else "1")
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")
    # Escape never closes the kiosk: leaving needs the staff PIN.
    KivyConfig.set("kivy", "exit_on_escape", "0")


def run(args: argparse.Namespace) -> int:
    from antre import config

    cfg = config.load(args.config)
    if args.preview_ticket:
        from .ticket import preview_ticket

        out = preview_ticket(args.preview_ticket, cfg, service=args.service, lang=args.lang)
        print(f"ticket preview written to {out}")
        return 0

    fullscreen = cfg.kiosk.fullscreen and not args.windowed
    width, height = args.size or DEFAULT_SIZE
    configure_kivy(width, height, fullscreen)
    # systemd stops the kiosk with SIGTERM (Ctrl-C at a terminal sends SIGINT). Installed before SDL
    # starts, so SDL keeps these handlers instead of turning the signal into a close request, which
    # the kiosk refuses without the staff PIN.
    apps: list = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: apps and apps[0].leave(f"signal {signum}"))

    from .app import KioskApp  # imports Kivy's window: after configure_kivy()

    app = KioskApp(cfg)
    apps.append(app)
    app.run()
    return 0
