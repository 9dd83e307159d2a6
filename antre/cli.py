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

from antre import __version__
from antre.errors import AntreError

# name -> (module, one-line help). Order is the order shown by --help.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("antre.service.server", "run the queue service (the one authority over tickets)"),
    "kiosk": ("antre_kiosk.cli", "run the touchscreen kiosk that issues tickets and takes ratings"),
    "counter": ("antre_counter.cli", "run the counter buttons (GPIO or keyboard) for one or more counters"),
    "display": ("antre_display.cli", "run the waiting-room TV board with voice announcements"),
    "announce": ("antre_display.announce_cli", "write one announcement to a WAV file, exactly as the display plays it"),
    "web": ("antre_web.cli", "run the residents' website (tickets from home, appointments, live status) and staff page"),
    "report": ("antre.reports.cli", "daily statistics and the satisfaction index (IKM)"),
    "config": ("antre.ops.config_cli", "check a configuration file and print the effective settings"),
    "broker": ("antre.ops.broker", "set up the mosquitto broker: device passwords, ACL and device configs"),
    "notify": ("antre.ops.notify_cli", "messages to residents: the outbox's state (read-only), gammu-smsd's config"),
    "backup": ("antre.ops.backup:backup", "write a consistent copy of the database"),
    "restore": ("antre.ops.backup:restore", "restore the database from a backup"),
    "staff": ("antre.ops.staff_cli", "staff accounts of the console: add, passwd, disable, enable, list"),
    "district": ("antre.ops.district_bridge", "district transport: the district broker's logins; ask for a resend"),
    "district-web": ("antre_web.district.cli", "the district dashboard over the hub's PostgreSQL (read-only); adduser NAME"),
    "hub": ("antre.hub.ingest", "the district's ingester: offices' outbox rows into PostgreSQL, exactly once"),
    "demo": ("antre.ops.demo", "run the whole system on this machine (broker, service, kiosk, display, counter)"),
}


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH",
                        help="configuration file (default: $ANTRE_CONFIG or /etc/antre/antre.toml; "
                             "built-in sample office when neither exists)")
    common.add_argument("-v", "--verbose", action="count", default=0, help="debug log output")
    return common


def _load(target: str):
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser. Only the ``selected`` subcommand's module is imported (``None``: all of them), so
    ``antre counter`` on a small Pi never loads the database or GUI code of the other parts."""
    parser = argparse.ArgumentParser(
        prog="antre",
        description="Antre: offline queue system for village offices. "
                    "Each part of the system is one subcommand; run 'antre SUBCOMMAND --help' for its options.",
    )
    parser.add_argument("--version", action="version", version=f"antre {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    common = _common()
    for name, (target, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                           parents=[common])
        if selected is not None and name != selected:
            continue
        try:
            module = _load(target)
        except ModuleNotFoundError as exc:
            # A part whose package is not installed: say which extra brings it.
            missing = exc.name
            p.set_defaults(_run=lambda args, missing=missing: _not_installed(args.command, missing))
            continue
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


EXTRAS = {"kiosk": "kiosk", "display": "display", "announce": "display", "counter": "counter",
          "report": "reports", "web": "web", "district-web": "web"}


def _not_installed(command: str, missing: str | None) -> int:
    print(f"antre {command}: this part is not installed (missing Python package {missing!r}); "
          f"{_install_hint(EXTRAS.get(command, 'all'))}", file=sys.stderr)
    return 2


def _install_hint(extra: str) -> str:
    """How to add an extra, as a command that works as typed: into this very environment from this
    checkout, or, for an installed Pi, the installer with the role."""
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "pyproject.toml").is_file():
        role = {"reports": "server"}.get(extra, extra)
        return (f"run scripts/install-pi again with --role {role} added to this Pi's roles (docs/install.md)"
                if role in ("server", "kiosk", "display", "counter", "web") else
                f"install it with: {sys.executable} -m pip install 'antre[{extra}]'")
    sudo = "" if os.access(sys.prefix, os.W_OK) else "sudo "
    return f"install it with: {sudo}{sys.executable} -m pip install -e '{checkout}[{extra}]'"


def setup_logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity >= 1 else logging.INFO
    # Under systemd, journald adds its own time stamps.
    fmt = "%(levelname)s %(name)s: %(message)s" if os.environ.get("INVOCATION_ID") else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    selected = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(selected if selected in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args._run(args) or 0)
    except AntreError as exc:
        print(f"antre {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in ("kivy", "escpos", "gpiozero", "evdev", "matplotlib", "fpdf",
                                                   "starlette", "uvicorn", "jinja2", "psycopg"):
            return _not_installed(args.command, exc.name)
        raise
