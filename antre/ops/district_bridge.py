"""The transport to the district: mosquitto's own bridge, over TLS, with a per-office login (docs/district.md).

Office side (:func:`bridge_conf_text`, written by ``antre broker setup --district-url``): the office's broker
connects out to the district's broker and carries three topics of its own office only --
``{base}/district/event`` and ``{base}/district/head`` out, ``{base}/district/resend`` in -- with a persistent
session (``cleansession false``), so rows published while the link is down wait in the office broker's queue
and go when it is back. Nothing else of the office (commands, replies, presence, names) crosses.

District side (:func:`central_conf_text`, :func:`central_acl_text`, :func:`central_setup`): a TLS listener,
one login per office whose ACL lets it write only its own office's district topics (``%u`` is the login, and
the login is the office id), and logins for the hubs that read every office's rows and write resend requests.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from antre.errors import ConfigError
from antre.link.protocol import Topics

DEFAULT_BRIDGE_CONF = Path("/etc/mosquitto/conf.d/antre-district.conf")
DEFAULT_CA = Path("/etc/antre/district-ca.pem")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")


def parse_district_url(url: str) -> tuple[str, int]:
    """``(host, port)`` of ``mqtts://host[:8883]``. Only TLS: an office never bridges in clear text."""
    parts = urlsplit(url)
    if parts.scheme != "mqtts":
        raise ConfigError(f"--district-url {url!r}: must be mqtts://HOST[:PORT] (TLS only)")
    if not parts.hostname or not _HOST.fullmatch(parts.hostname) or parts.path not in ("", "/") \
            or parts.username or parts.query:
        raise ConfigError(f"--district-url {url!r}: must be mqtts://HOST[:PORT], nothing else")
    try:
        port = parts.port or 8883
    except ValueError:
        raise ConfigError(f"--district-url {url!r}: bad port") from None
    return parts.hostname, port


def _check_office(office: str) -> None:
    if not _NAME.fullmatch(office):
        raise ConfigError(f"office id {office!r}: 1-32 characters of a-z, 0-9, '-' or '_'")


def bridge_conf_text(office: str, district_url: str, password: str, ca_file: Path | str = DEFAULT_CA) -> str:
    """The office broker's bridge to the district (a mosquitto conf.d file; holds the office's password)."""
    _check_office(office)
    host, port = parse_district_url(district_url)
    if not password or any(c in password for c in "\n\r \t"):
        raise ConfigError("district password: must be given, without spaces or line breaks")
    t = Topics(office)
    return f"""# Antre: the bridge to the district, written by `antre broker setup --district-url`. Do not edit: re-run it.
# Carries only this office's district outbox (docs/district.md); the office works the same without it.
connection antre-district
address {host}:{port}
bridge_protocol_version mqttv311
remote_clientid {office}
remote_username {office}
remote_password {password}
# TLS: the district's certificate is checked against this CA and the host name.
bridge_cafile {ca_file}
bridge_insecure false
bridge_tls_version tlsv1.2
# A persistent session both ways: rows published while the link is down wait here and go when it is back
# (up to max_queued_messages; beyond that the hub asks the office to resend what it missed).
cleansession false
start_type automatic
restart_timeout 2 60
keepalive_interval 30
try_private false
notifications true
notification_topic {t.base}/district/bridge
topic {t.district_event} out 1
topic {t.district_head} out 1
topic {t.district_resend} in 1
"""


def central_acl_text(hubs: list[str]) -> str:
    """The district broker's ACL: each office login (its name is its office id) writes only its own office's
    district topics and reads only its own resend requests; hubs read every office's and ask any to resend."""
    for h in hubs:
        _check_office(h)
    lines = [
        "# Antre: the district broker's ACL (docs/district.md). An office's login is its office id (%u).",
        "pattern write antre/v2/%u/district/event",
        "pattern write antre/v2/%u/district/head",
        "pattern write antre/v2/%u/district/bridge",
        "pattern read antre/v2/%u/district/resend",
    ]
    for h in sorted(hubs):
        lines += ["", f"user {h}", "topic read antre/v2/+/district/#", "topic write antre/v2/+/district/resend"]
    return "\n".join(lines) + "\n"


def central_conf_text(*, port: int, ca_file: Path, cert_file: Path, key_file: Path, passwd_file: Path,
                      acl_file: Path, bind: str = "") -> str:
    """A district broker's listener settings (a mosquitto conf.d file)."""
    return f"""# Antre: the district broker (docs/district.md).
per_listener_settings false
allow_anonymous false
password_file {passwd_file}
acl_file {acl_file}
persistence true
# A week offline is ~10 000 rows per office: queued for a hub that is away, then asked for again.
max_queued_messages 20000
set_tcp_nodelay true
listener {port}{(' ' + bind) if bind else ''}
cafile {ca_file}
certfile {cert_file}
keyfile {key_file}
tls_version tlsv1.2
use_username_as_clientid true
"""


def central_setup(out: Path, offices: list[str], hubs: list[str], *, mosquitto_passwd: str = "mosquitto_passwd",
                  passwords: dict[str, str] | None = None) -> dict[str, str]:
    """Writes ``out/passwd`` (every office and hub), ``out/acl`` and ``out/logins/NAME.password`` (each given to
    its office's installer, ``--district-password-file``). Existing passwords are kept. Returns them."""
    out = Path(out)
    names = list(offices) + list(hubs)
    for n in names:
        _check_office(n)
    if len(set(names)) != len(names):
        raise ConfigError("an office and a hub, or two of them, have the same name")
    logins = out / "logins"
    logins.mkdir(parents=True, exist_ok=True)
    os.chmod(logins, 0o700)
    passwords = dict(passwords or {})
    for n in names:
        f = logins / f"{n}.password"
        if n not in passwords:
            passwords[n] = f.read_text().strip() if f.exists() else secrets.token_urlsafe(24)
        f.write_text(passwords[n] + "\n")
        os.chmod(f, 0o600)
    passwd = out / "passwd"
    passwd.write_text("")
    os.chmod(passwd, 0o600)
    for n in names:
        subprocess.run([mosquitto_passwd, "-b", str(passwd), n, passwords[n]], check=True, capture_output=True)
    (out / "acl").write_text(central_acl_text(hubs))
    return passwords


def write_bridge(office: str, district_url: str, password_file: Path, ca_file: Path = DEFAULT_CA,
                 conf: Path = DEFAULT_BRIDGE_CONF) -> bool:
    """Writes the office's bridge file (mode 0640: it holds the password); True when it changed."""
    password = Path(password_file).read_text().strip()
    if not Path(ca_file).is_file():
        raise ConfigError(f"--district-ca {ca_file}: no such file (the district's CA certificate)")
    text = bridge_conf_text(office, district_url, password, ca_file)
    conf = Path(conf)
    if conf.exists() and conf.read_text() == text:
        return False
    conf.parent.mkdir(parents=True, exist_ok=True)
    tmp = conf.with_name(conf.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o640)
    try:
        import grp
        os.chown(tmp, 0, grp.getgrnam("mosquitto").gr_gid)
    except (KeyError, PermissionError, ImportError):
        pass   # not root, or no mosquitto group (a test): the mode alone
    os.replace(tmp, conf)
    return True


# ---------------------------------------------------------------------- `antre district`

def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = sub.add_parser("central", help="the district broker's logins and ACL: one login per office, hub logins")
    c.add_argument("--offices", required=True, metavar="ID,...", help="office ids (each office's login)")
    c.add_argument("--hubs", default="hub", metavar="NAME,...", help="hub logins (default hub)")
    c.add_argument("--out", type=Path, required=True, help="folder for passwd, acl and logins/NAME.password")
    r = sub.add_parser("resend", help="ask this office's service to publish its district rows FROM..TO again")
    r.add_argument("first", type=int)
    r.add_argument("last", type=int)


def run(args: argparse.Namespace) -> int:
    if args.action == "central":
        split = lambda text: [n.strip() for n in text.split(",") if n.strip()]  # noqa: E731
        central_setup(args.out, split(args.offices), split(args.hubs))
        print(f"wrote {args.out / 'passwd'}, {args.out / 'acl'}, {args.out / 'logins'}/NAME.password")
        return 0
    from antre import config
    from antre.link.mqtt import MqttLink
    from antre.link.protocol import encode
    if not 1 <= args.first <= args.last:
        raise ConfigError("resend: FROM and TO must be 1 <= FROM <= TO")
    cfg = config.load(args.config)
    topics = Topics(cfg.office.id)
    link = MqttLink(cfg.mqtt, topics, cfg.mqtt.client_id or f"admin-{os.uname().nodename}"[:32], "admin")
    link.start()
    if not link.connected.wait(10):
        raise ConfigError(f"cannot reach the broker {cfg.mqtt.url}")
    info = link.publish(topics.district_resend, encode({"from": args.first, "to": args.last, "by": "cli"}))
    info.wait_for_publish(10)
    link.stop()
    print(f"asked {cfg.office.id} to publish district rows {args.first}-{args.last} again")
    return 0
