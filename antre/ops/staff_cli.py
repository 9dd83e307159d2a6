"""``antre staff``: staff accounts of the console, from the server's shell.

    antre staff add budi --role petugas --counters loket-1 --full-name "Budi Santoso"
    antre staff passwd budi
    antre staff disable budi      (and: enable)
    antre staff list

Passwords are read twice from the terminal (not echoed), or as one line from a pipe. Each change is
written with its audit row (actor ``cli:USER``) in one transaction, through the same functions the
service uses for the console's commands (:mod:`antre.rules.staff`). This tool writes the service's
database directly, as ``antre restore`` does: the service keeps no copy of accounts in memory, so it
sees the change at the next command. Run it on the server, as the user that owns the database.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from antre import config as config_mod


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", help="database URL, overrides [database] url")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="make an account (asks for its password)")
    add.add_argument("name", help="the name to sign in with: lower-case letters, digits, '.', '_', '-'")
    add.add_argument("--role", required=True, choices=("petugas", "kasi", "penandatangan", "admin"),
                     help="petugas: counter staff; kasi: Kasi Pelayanan; penandatangan: signs letters; "
                          "admin: accounts and devices")
    add.add_argument("--counters", default="", help="counters this person may operate, e.g. loket-1,loket-2")
    add.add_argument("--full-name", default="", help="the person's name as shown in the console")
    passwd = sub.add_parser("passwd", help="set a new password (ends the account's sessions)")
    passwd.add_argument("name")
    for verb, text in (("disable", "stop an account from signing in (ends its sessions)"),
                       ("enable", "let a disabled account sign in again")):
        p = sub.add_parser(verb, help=text)
        p.add_argument("name")
    sub.add_parser("list", help="list the accounts")


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Kata sandi (password, 12+ characters): ")
        if first != getpass.getpass("Ulangi kata sandi (repeat): "):
            raise SystemExit("antre staff: kata sandi tidak sama (the passwords differ)")
        return first
    return sys.stdin.readline().rstrip("\n")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in this environment
        return f"cli:uid{os.getuid()}"


def run(args: argparse.Namespace) -> int:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)   # the schema's upgrade steps are not news here
    from antre.errors import CommandError
    from antre.rules import staff
    from antre.storage import open_database

    cfg = config_mod.with_overrides(config_mod.load(args.config), db_url=args.db_url)
    engine, sessions = open_database(cfg.database.effective_url)
    now = staff.utcnow()
    device = f"cli {os.uname().nodename}"
    try:
        if args.action == "list":
            with sessions() as s:
                accounts = staff.list_accounts(s)
            if not accounts:
                print("Belum ada akun petugas (no staff accounts yet): antre staff add NAME --role admin")
            for a in accounts:
                print(f"{a.name:<20} {a.role:<14} {'DISABLED' if a.disabled else 'aktif':<9} "
                      f"{','.join(a.counters) or '-':<20} {a.full_name}")
            return 0
        with sessions() as s, s.begin():
            if args.action == "add":
                counters = [c.strip() for c in args.counters.split(",") if c.strip()]
                account = staff.add_account(s, cfg, now, _actor(), device, args.name, args.role, _password(),
                                            args.full_name, counters)
                print(f"Akun {account.name} ({account.role}) dibuat (account made)")
            elif args.action == "passwd":
                staff.update_account(s, cfg, now, _actor(), device, args.name, password=_password())
                print(f"Kata sandi {args.name} diganti; sesinya berakhir (password changed; its sessions ended)")
            else:
                staff.update_account(s, cfg, now, _actor(), device, args.name, disabled=args.action == "disable")
                print(f"Akun {args.name}: {'nonaktif' if args.action == 'disable' else 'aktif'} "
                      f"({args.action}d)")
        return 0
    except CommandError as exc:
        print(f"antre staff: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
