"""``antre web``: the residents' website and the staff page (Starlette + uvicorn). Cheap to import."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

log = logging.getLogger("antre.web")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: [web] host, 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (default: [web] port, 8080)")
    parser.add_argument("--mqtt-url", help="broker URL, overrides [mqtt] url")
    parser.add_argument("--hash-pin", action="store_true",
                        help="read a staff PIN (twice, not echoed; or one line from a pipe) and print the line "
                             "to put in [web] staff_pin_hash, then exit")


def hash_pin_command() -> int:
    from .security import hash_pin

    if sys.stdin.isatty():
        pin = getpass.getpass("PIN petugas baru (new staff PIN): ")
        if pin != getpass.getpass("Ulangi PIN (repeat): "):
            print("PIN tidak sama (the PINs differ)", file=sys.stderr)
            return 2
    else:
        pin = sys.stdin.readline().rstrip("\n")
    if not 4 <= len(pin) <= 32:
        print("PIN harus 4-32 karakter (a PIN needs 4-32 characters)", file=sys.stderr)
        return 2
    print(f'staff_pin_hash = "{hash_pin(pin)}"')
    return 0


def run(args: argparse.Namespace) -> int:
    if args.hash_pin:
        return hash_pin_command()

    import uvicorn

    from antre import config as config_mod

    from .app import create_app

    cfg = config_mod.with_overrides(config_mod.load(args.config), mqtt_url=args.mqtt_url)
    host = args.host or cfg.web.host
    port = args.port or cfg.web.port
    app = create_app(cfg)
    log.info("antre web for %s on http://%s:%d (broker %s)", cfg.office.name, host, port, cfg.mqtt.url)
    # The access log shows paths only (ticket numbers, never names or phone numbers: those are in POST bodies).
    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=3,
                proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False)
    return 0
