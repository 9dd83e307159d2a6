"""``antre web``: the residents' website and the staff page (Starlette + uvicorn). Cheap to import."""

from __future__ import annotations

import argparse
import getpass
import logging
import re
import sys

log = logging.getLogger("antre.web")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: [web] host, 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (default: [web] port, 8080)")
    parser.add_argument("--mqtt-url", help="broker URL, overrides [mqtt] url")
    parser.add_argument("--hash-password", action="store_true",
                        help="read a staff password (twice, not echoed; or one line from a pipe) of at least 12 "
                             "characters and print the line to put in [web] staff_password_hash, then exit")
    parser.add_argument("--hash-pin", action="store_true",
                        help="older: the same for a short PIN ([web] staff_pin_hash); use --hash-password")


def hash_secret_command(kind: str) -> int:
    """``--hash-password`` (``kind`` "password") or the older ``--hash-pin`` ("pin")."""
    from .security import PASSWORD_MIN_LENGTH, hash_pin

    word = "Kata sandi" if kind == "password" else "PIN"
    if sys.stdin.isatty():
        secret = getpass.getpass(f"{word} petugas baru (new staff {kind}): ")
        if secret != getpass.getpass(f"Ulangi {word.lower()} (repeat): "):
            print(f"{word} tidak sama (the {kind}s differ)", file=sys.stderr)
            return 2
    else:
        secret = sys.stdin.readline().rstrip("\n")
    if kind == "password":
        if not PASSWORD_MIN_LENGTH <= len(secret) <= 256:
            print(f"Kata sandi harus minimal {PASSWORD_MIN_LENGTH} karakter, misalnya empat kata acak "
                  f"(a password needs at least {PASSWORD_MIN_LENGTH} characters, e.g. four random words)",
                  file=sys.stderr)
            return 2
        print(f'staff_password_hash = "{hash_pin(secret)}"')
        return 0
    if not 4 <= len(secret) <= 32:
        print("PIN harus 4-32 karakter (a PIN needs 4-32 characters)", file=sys.stderr)
        return 2
    print("antre web: a PIN is short and easy to guess; use --hash-password and [web] staff_password_hash",
          file=sys.stderr)
    print(f'staff_pin_hash = "{hash_pin(secret)}"')
    return 0


def run(args: argparse.Namespace) -> int:
    if args.hash_password or args.hash_pin:
        return hash_secret_command("password" if args.hash_password else "pin")

    import uvicorn

    from antre import config as config_mod

    from .app import create_app

    cfg = config_mod.with_overrides(config_mod.load(args.config), mqtt_url=args.mqtt_url)
    host = args.host or cfg.web.host
    port = args.port or cfg.web.port
    app = create_app(cfg)
    log.info("antre web for %s on http://%s:%d (broker %s)", cfg.office.name, host, port, cfg.mqtt.url)
    # The access log shows paths only (ticket numbers, never names or phone numbers: those are in POST bodies),
    # and no code from a link (?kode=: a ticket's rating code from its QR, a booking code).
    logging.getLogger("uvicorn.access").addFilter(hide_codes)
    uvicorn.run(app, host=host, port=port, log_config=None, timeout_graceful_shutdown=3,
                proxy_headers=True, forwarded_allow_ips=LOCAL_PROXY, server_header=False)
    return 0


#: Whose X-Forwarded-For is believed: a reverse proxy on this machine, over IPv4 or IPv6 loopback (on Debian
#: ``localhost`` is both, and nginx's ``proxy_pass http://localhost:PORT`` takes turns; believing 127.0.0.1
#: alone made every resident who came over ::1 one address). Nobody else may name an address.
LOCAL_PROXY = ["127.0.0.1", "::1"]

_CODE_IN_LINK = re.compile(r"(?i)\b(kode=)[^&\s\"]*")
#: Pages whose path carries a code (where /cek sends a resident): a booking's, a letter's, a report's.
_CODE_IN_PATH = re.compile(r"(?i)^(/janji/kode/|/surat/status/|/pengaduan/)[Pp]?\d{6,}")
#: A question's page, /tanya/<code> (its holder reads the question and the staff's answer): whatever follows
#: /tanya/ but the form's own /tanya/kirim, as typed (T-12345-67890, t1234567890, with %20 for spaces).
_QUESTION_IN_PATH = re.compile(r"(?i)^(/tanya/)(?!kirim(?:[?#]|$))[^?#\s]+")


def _hide(text: str) -> str:
    text = _CODE_IN_PATH.sub(r"\1***", _CODE_IN_LINK.sub(r"\1***", text))
    return _QUESTION_IN_PATH.sub(r"\1***", text)


def hide_codes(record: logging.LogRecord) -> bool:
    """An access log line with every ``kode=`` value in its path, and the code in the path of a booking's,
    letter's, report's or question's page, replaced by ``***``."""
    if isinstance(record.args, tuple):
        record.args = tuple(_hide(a) if isinstance(a, str) else a for a in record.args)
    return True
