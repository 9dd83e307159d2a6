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
import signal

from antre.apps.kivy_window import configure_kivy, window_size

DEFAULT_SIZE = (1280, 800)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--windowed", action="store_true",
                        help="a window at the top-left of the screen instead of fullscreen")
    parser.add_argument("--size", type=window_size, metavar="WxH",
                        help="window size with --windowed (default 1280x800, a 10-inch panel)")
    parser.add_argument("--preview-ticket", metavar="OUT.png",
                        help="write a sample ticket, exactly as it prints, to a PNG file and exit")
    parser.add_argument("--service", metavar="CODE", help="with --preview-ticket: the service (default: the first)")
    parser.add_argument("--lang", choices=("id", "en"),
                        help="with --preview-ticket: the ticket's language (default: [office] language)")


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
    configure_kivy(width, height, fullscreen, exit_on_escape=False)
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
