"""The ``antre`` command.

Each subcommand lives in a module (or a ``module:object``) with two functions, kept cheap to import (no
Kivy or matplotlib at import time, so ``antre --help`` is instant on a Pi)::

    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...

Every subcommand accepts ``--config PATH`` (or ``ANTRE_CONFIG``) and ``-v``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from . import __version__
from .errors import AntreError

# name -> (module, one-line help). Order is the order shown by --help.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("antre.server", "run the queue service (the one authority over tickets)"),
    "kiosk": ("kiosk.cli", "run the touchscreen kiosk that issues tickets and takes ratings"),
    "counter": ("counter.cli", "run the counter buttons (GPIO or keyboard) for one or more counters"),
    "display": ("display.cli", "run the waiting-room TV board with voice announcements"),
    "announce": ("display.announce_cli", "write one announcement to a WAV file, exactly as the display plays it"),
    "report": ("antre.reports.cli", "daily statistics and the satisfaction index (IKM)"),
    "config": ("antre.config_cli", "check a configuration file and print the effective settings"),
    "broker": ("antre.broker", "set up the mosquitto broker: device passwords, ACL and device configs"),
    "backup": ("antre.backup:backup", "write a consistent copy of the database"),
    "restore": ("antre.backup:restore", "restore the database from a backup"),
    "demo": ("antre.demo", "run the whole system on this machine (broker, service, kiosk, display, counter)"),
}


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH",
                        help="configuration file (default: $ANTRE_CONFIG or /etc/antre/antre.toml; "
                             "built-in sample office when neither exists)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="debug log output")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="antre",
        description="Antre: offline queue system for village offices. "
                    "Each part of the system is one subcommand; run 'antre SUBCOMMAND --help' for its options.",
    )
    parser.add_argument("--version", action="version", version=f"antre {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    common = _common()
    for name, (target, help_text) in SUBCOMMANDS.items():
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            if attr:
                module = getattr(module, attr)
        except ModuleNotFoundError as exc:
            # A part not installed (e.g. a headless server without the kiosk extra) is simply not offered.
            if exc.name and module_name.startswith(exc.name.split(".")[0]):
                continue
            raise
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                           parents=[common])
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def setup_logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity >= 1 else logging.INFO
    # Under systemd, journald adds its own time stamps.
    fmt = "%(levelname)s %(name)s: %(message)s" if os.environ.get("INVOCATION_ID") else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args._run(args) or 0)
    except AntreError as exc:
        print(f"antre {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
