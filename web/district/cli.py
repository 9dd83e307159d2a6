"""``antre district-web``: the district dashboard (Starlette + uvicorn); ``adduser NAME`` makes an account."""

from __future__ import annotations

import argparse
import getpass
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", required=True, help="the hub's PostgreSQL (postgresql://user@host/db)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    parser.add_argument("--timezone", default="Asia/Jakarta", help="the district's time zone (default Asia/Jakarta)")
    parser.add_argument("action", nargs="?", choices=["serve", "adduser"], default="serve")
    parser.add_argument("name", nargs="?", help="adduser: the account's name")
    parser.add_argument("--full-name", default="", help="adduser: the person's name")


def run(args: argparse.Namespace) -> int:
    from antre_web.district.app import Dashboard, add_staff
    if args.action == "adduser":
        if not args.name:
            print("antre district-web adduser NAME", file=sys.stderr)
            return 2
        password = getpass.getpass("Kata sandi (password): ") if sys.stdin.isatty() else sys.stdin.readline().strip()
        try:
            add_staff(args.db_url, args.name, args.full_name or args.name, password)
        except ValueError as exc:
            print(f"antre district-web: {exc}", file=sys.stderr)
            return 2
        print(f"account {args.name} ready (read-only district dashboard)")
        return 0
    import uvicorn
    uvicorn.run(Dashboard(args.db_url, args.timezone).app, host=args.host, port=args.port, log_level="warning")
    return 0
