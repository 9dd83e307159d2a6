"""``antre config check [PATH]``: validate a file, print the effective settings and warn about weak secrets
and about ``[[notify.faq]]`` entries the first seed would leave out (the console's rules; never an error);
``antre config sample``; ``antre config secrets``: fresh secrets for a new installation."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from antre import config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a configuration file and print the effective config (secrets "
                                         "masked); warn about default or weak secrets and FAQ entries that "
                                         "would not be seeded")
    check.add_argument("path", nargs="?", help="file to check (default: the one 'antre serve' would read)")
    check.add_argument("--strict", action="store_true", help="exit with status 1 when there is a warning")
    sub.add_parser("sample", help="print the built-in sample configuration as TOML, a starting point to edit")
    gen = sub.add_parser("secrets", help="print new random secrets as TOML tables for antre.toml ([kiosk] staff_pin, "
                                         "[web] staff_password_hash) and write their clear values to a note")
    gen.add_argument("--roles", default="kiosk,web", help="roles of this Pi, comma-separated (default: kiosk,web)")
    gen.add_argument("--notes", metavar="FILE", help="write the clear values here (mode 0600) instead of stderr")


def run(args: argparse.Namespace) -> int:
    if args.action == "sample":
        print(config.to_toml(config.load_defaults(), mask=False), end="")
        return 0
    if args.action == "secrets":
        return secrets_command(args)
    from antre.secret_check import weak_secrets

    cfg = config.load(args.path or args.config)
    warnings = weak_secrets(cfg) + config.faq_warnings(cfg)
    print(f"# {cfg.source}: OK" + (f", {len(warnings)} warning(s)" if warnings else ""))
    for w in warnings:
        print(f"antre config check: warning: {w}", file=sys.stderr)
    print(config.to_toml(cfg), end="")
    return 1 if warnings and args.strict else 0


def secrets_command(args: argparse.Namespace) -> int:
    from antre.secret_check import generate

    roles = {r.strip() for r in args.roles.split(",") if r.strip()}
    toml, note = generate(roles)
    if args.notes and note:
        path = Path(args.notes)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("Antre: secrets made at installation. Note them somewhere safe, then delete this file.\n"
                     + note + "\n")
        os.chmod(path, 0o600)
    elif note:
        print(note, file=sys.stderr)
    print(toml, end="\n" if toml else "")
    return 0
