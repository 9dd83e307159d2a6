"""``antre counter``: drive one or more counters from GPIO buttons or keyboards.

::

    antre counter                          # the [[counter.gpio]] / [[counter.keyboard]] wiring in the config
    antre counter --keyboard loket-1       # this terminal (or a pipe) is loket-1's keypad

Cheap to import: gpiozero and evdev are loaded inside :func:`run`.
"""

from __future__ import annotations

import argparse
import logging
import signal

log = logging.getLogger("counter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keyboard", metavar="COUNTER",
                        help="drive counter COUNTER (e.g. loket-1) from standard input instead of the configured "
                             "wiring: keys + next, * recall, - skip, Enter done, / pause, . transfer; "
                             "a pipe is read one key per line")
    parser.add_argument("--mqtt-url", help="broker URL, overrides [mqtt] url")


def run(args: argparse.Namespace) -> int:

    from antre import config as config_mod

    from .app import CounterApp

    cfg = config_mod.with_overrides(config_mod.load(args.config), mqtt_url=args.mqtt_url)
    app = CounterApp(cfg, keyboard=args.keyboard)
    signal.signal(signal.SIGTERM, lambda *_: app.request_stop())
    signal.signal(signal.SIGINT, lambda *_: app.request_stop())
    app.start()
    try:
        app.wait()
    finally:
        log.info("stopping")
        app.stop()
    return 0
