"""``antre config check [PATH]``: validate a file and print the effective settings."""

from __future__ import annotations

import argparse

from . import config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a configuration file and print the effective config (secrets masked)")
    check.add_argument("path", nargs="?", help="file to check (default: the one 'antre serve' would read)")
    sub.add_parser("sample", help="print the built-in sample configuration as TOML, a starting point to edit")


def run(args: argparse.Namespace) -> int:
    if args.action == "sample":
        print(config.to_toml(config.load_defaults(), mask=False), end="")
        return 0
    cfg = config.load(args.path or args.config)
    print(f"# {cfg.source}: OK")
    print(config.to_toml(cfg), end="")
    return 0
