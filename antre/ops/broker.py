"""``antre broker``: logins and access rules for the mosquitto broker.

Every device (kiosk, counter box, display, the web app) logs in to mosquitto with
its own user name and a random password, and may touch only the topics its
*role* needs. This module generates, from one list of devices:

* the mosquitto password file (hashed with ``mosquitto_passwd -U``),
* the mosquitto ACL file (:func:`acl_text`, a pure function),
* one ``[mqtt]`` TOML login file per device, ``/etc/antre/devices/NAME.toml``
  (mode 0600: it holds the password),
* the queue service's own login (user ``antre-service``).

A unit reads its login through ``ANTRE_MQTT_FILE`` (its ``[mqtt]`` table overrides
antre.toml's): ``scripts/install-pi`` writes a drop-in per unit that hands the
unit its file with systemd's ``LoadCredential=``. On another Pi the file is
installed with ``install-pi --device-config NAME.toml``.

Example, on the server Pi::

    sudo antre broker setup --devices kiosk-1:kiosk,counter-1:counter,display-1:display \\
        --host antre-server.local
    sudo systemctl reload mosquitto
    sudo cat /etc/antre/devices/kiosk-1.toml     # copy to kiosk-1: install-pi --device-config

Running it again keeps every existing password (and leaves unchanged files
untouched); ``--rotate`` makes new ones. Devices named on earlier runs are kept
in ``/etc/antre/broker-devices.toml`` until removed with ``--remove``.

Identity: the ACL grants a device its own reply and status topics by **user
name** (``%u`` and literal names), never by client id, because a client id is
not authenticated: anyone could connect as ``kiosk-2`` with kiosk-1's password.
Reply topics are named after the client id (``{base}/reply/{client_id}``), so a
device's client id must equal its user name. The snippets written here set both.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from antre.errors import AntreError, ConfigError
from antre.link.protocol import ROLE_COMMANDS, Topics

SERVICE_USER = "antre-service"
ROLES = ("service", "kiosk", "counter", "display", "web", "admin")

DEFAULT_OUT = Path("/etc/antre")
DEFAULT_PASSWD = Path("/etc/mosquitto/antre.passwd")
DEFAULT_ACL = Path("/etc/mosquitto/antre.acl")
REGISTRY_NAME = "broker-devices.toml"

# The commands each role sends, and no others (antre/link/protocol.py: the service checks them again).
COUNTER_COMMANDS = ROLE_COMMANDS["counter"]
KIOSK_COMMANDS = ROLE_COMMANDS["kiosk"]
# The website: remote tickets, appointments, live status, and the staff page's service switches.
WEB_COMMANDS = ROLE_COMMANDS["web"]

# Role templates. "{base}" is "antre/v2/<office or +>", "{user}" the device's user name, "{role}"
# its role. Every login writes its own presence, {base}/status/{role}/{user}, and a sending role
# its commands under {base}/cmd/{role}/{user}/: so the topic says who sent it, and the broker
# guarantees it (with use_username_as_clientid, the client id is the user name too).
_OWN_PRESENCE = ("write", "{base}/status/{role}/{user}")
# Protocol 1 devices' presence, so the service can name an outdated device in its log.
_LEGACY_PRESENCE = ("write", "{legacy}/status/{user}")
_SERVICE_PRESENCE = ("read", "{base}/status/service/+")
ROLE_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "service": (
        ("read", "{base}/cmd/#"),
        ("write", "{base}/reply/#"),
        ("write", "{base}/state"),
        ("write", "{base}/event/#"),
        ("read", "{base}/status/#"),
        _OWN_PRESENCE,
        # The district outbox (docs/district.md): rows and the head out, resend requests in (by the bridge).
        # Village information for the TV and the kiosk: the document, and one picture per item (read too, so
        # pictures of items it no longer publishes, left from before a restart, are found and cleared).
        ("write", "{base}/news"),
        ("readwrite", "{base}/news/picture/+"),
        ("write", "{base}/district/event"),
        ("write", "{base}/district/head"),
        ("read", "{base}/district/resend"),
        # Protocol 1: devices are told (the old service presence says offline) and logged.
        ("read", "{legacy}/cmd/#"),
        ("read", "{legacy}/status/+"),
        ("write", "{legacy}/status/{user}"),
        ("write", "{legacy}/reply/#"),
    ),
    # The kiosk needs one event: a finished ticket, to offer the rating screen.
    "kiosk": tuple(("write", "{base}/cmd/{role}/{user}/" + c) for c in KIOSK_COMMANDS) + (
        ("read", "{base}/reply/{user}"),
        ("read", "{base}/state"),
        ("read", "{base}/event/ticket_completed"),
        ("read", "{base}/news"),
        ("read", "{base}/news/picture/+"),
        _SERVICE_PRESENCE, _OWN_PRESENCE, _LEGACY_PRESENCE,
    ),
    # One event: a letter request's new status (by a hash of its tracking code), for the live letter
    # status pages; tickets are followed from the state and ticket_status. The staff page writes the
    # retained ticker (the TV's running text) and shows it, hence readwrite; it shows every
    # device's health (printer, counters online, the service's storage and clock): every presence.
    "web": tuple(("write", "{base}/cmd/{role}/{user}/" + c) for c in WEB_COMMANDS) + (
        ("read", "{base}/reply/{user}"),
        ("read", "{base}/state"),
        ("read", "{base}/event/letter_status"),
        ("read", "{base}/event/complaint_status"),
        ("readwrite", "{base}/ticker"),
        ("read", "{base}/status/#"),
        _OWN_PRESENCE, _LEGACY_PRESENCE,
    ),
    # A counter needs its replies and the state (its counter's status), no events.
    "counter": tuple(("write", "{base}/cmd/{role}/{user}/" + c) for c in COUNTER_COMMANDS) + (
        ("read", "{base}/reply/{user}"),
        ("read", "{base}/state"),
        _SERVICE_PRESENCE, _OWN_PRESENCE, _LEGACY_PRESENCE,
    ),
    # The TV: calls to announce, every presence (service online, counters' devices), the ticker.
    "display": (
        ("read", "{base}/state"),
        ("read", "{base}/event/ticket_called"),
        ("read", "{base}/status/#"),
        ("read", "{base}/ticker"),
        ("read", "{base}/news"),
        ("read", "{base}/news/picture/+"),
        _OWN_PRESENCE, _LEGACY_PRESENCE,
    ),
    "admin": (
        ("readwrite", "antre/#"),
        ("read", "$SYS/#"),
    ),
}

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


@dataclass(frozen=True, order=True)
class Device:
    """One broker login: ``name`` is both the MQTT user name and the client id."""
    name: str
    role: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigError(f"device name {self.name!r}: must be 1-32 characters of a-z, 0-9, '-' or '_', "
                              "starting with a letter or digit")
        if self.role not in ROLES:
            raise ConfigError(f"device {self.name!r}: unknown role {self.role!r} (roles: {', '.join(ROLES)})")
        if (self.name == SERVICE_USER) != (self.role == "service"):
            raise ConfigError(f"device {self.name!r}: only '{SERVICE_USER}' has the role 'service'")


def parse_devices(text: str) -> list[Device]:
    """Parses ``kiosk-1:kiosk,display-1:display`` into devices."""
    devices: list[Device] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, role = item.partition(":")
        if not sep:
            raise ConfigError(f"--devices: {item!r} must be NAME:ROLE, e.g. kiosk-1:kiosk "
                              f"(roles: {', '.join(r for r in ROLES if r != 'service')})")
        devices.append(Device(name.strip(), role.strip()))
    names = [d.name for d in devices]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"--devices: {name!r} is named twice")
    return devices


def acl_text(devices: Iterable[Device], office: str = "+") -> str:
    """The mosquitto ACL file for ``devices`` (the service's login is always included).

    ``office`` is the office id the rules are limited to; ``+`` allows any office
    on this broker. The result depends only on the arguments (sorted by name).
    """
    if office != "+" and not _NAME.fullmatch(office):
        raise ConfigError(f"office id {office!r} is not a valid id")
    topics = Topics(office)
    by_name = {d.name: d for d in devices}
    by_name.setdefault(SERVICE_USER, Device(SERVICE_USER, "service"))
    lines = [
        "# Antre: mosquitto ACL, generated by `antre broker setup`. Do not edit: re-run it.",
        "# Roles and topics: docs/broker.md and docs/security.md. Each login may write only under its own",
        "# role and name; mosquitto's use_username_as_clientid makes its client id its name too.",
        f"# Office: {office if office != '+' else 'any office on this broker (+)'}.",
    ]
    for device in sorted(by_name.values()):
        lines += ["", f"# role: {device.role}", f"user {device.name}"]
        for access, topic in ROLE_RULES[device.role]:
            lines.append(f"topic {access} "
                         + topic.format(base=topics.base, legacy=topics.legacy_base, user=device.name,
                                        role=device.role))
    return "\n".join(lines) + "\n"


def device_snippet(device: Device, password: str, url: str) -> str:
    """A device's login file: the ``[mqtt]`` table it reads through ``ANTRE_MQTT_FILE``.

    scripts/install-pi reads the role from the first line: keep its ``(role: ROLE)`` form.
    """
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if device.role == "service":
        use = "The queue service's login on this server (antre.service reads it)."
    else:
        use = f"Copy to that Pi and install it with: install-pi --device-config {device.name}.toml."
    return (
        f"# Antre MQTT login for '{device.name}' (role: {device.role}), written by `antre broker setup`.\n"
        f"# {use} Keep it secret.\n"
        f"[mqtt]\n"
        f"url = {q(url)}\n"
        f"username = {q(device.name)}\n"
        f"password = {q(password)}\n"
        f"client_id = {q(device.name)}\n"
    )


def new_password() -> str:
    """A random password: 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


# --------------------------------------------------------------------------
# mosquitto password file
# --------------------------------------------------------------------------

def password_matches(encoded: str, password: str) -> bool:
    """True if a mosquitto password-file hash (``$6$`` or ``$7$`` form) is ``password``'s."""
    parts = encoded.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":          # $7$iterations$salt$hash: PBKDF2-SHA512
            salt, want = base64.b64decode(parts[3]), base64.b64decode(parts[4])
            got = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
        elif len(parts) == 4 and parts[1] == "6":        # $6$salt$hash: SHA512(password + salt)
            salt, want = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            got = hashlib.sha512(password.encode() + salt).digest()
        else:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(got, want)


def read_password_file(path: Path) -> dict[str, str]:
    """User name -> hash from a mosquitto password file (empty if absent)."""
    if not path.exists():
        return {}
    users: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#") and ":" in line:
            user, _, encoded = line.partition(":")
            users[user] = encoded
    return users


def password_file_current(path: Path, passwords: dict[str, str]) -> bool:
    """True if ``path`` holds exactly these users with these passwords."""
    existing = read_password_file(path)
    return existing.keys() == passwords.keys() and all(
        password_matches(existing[u], p) for u, p in passwords.items())


def write_password_file(path: Path, passwords: dict[str, str], mosquitto_passwd: str = "mosquitto_passwd") -> None:
    """Writes a fresh password file with ``mosquitto_passwd -U`` (passwords never appear in argv)."""
    tool = shutil.which(mosquitto_passwd)
    if tool is None:
        raise AntreError(f"'{mosquitto_passwd}' not found: install the mosquitto package "
                         "(apt install mosquitto) or pass --mosquitto-passwd PATH")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".antre-passwd-", dir=path.parent)   # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.writelines(f"{user}:{pw}\n" for user, pw in sorted(passwords.items()))
        result = subprocess.run([tool, "-U", tmp], capture_output=True, text=True)
        if result.returncode != 0:
            raise AntreError(f"mosquitto_passwd failed: {result.stderr.strip() or result.stdout.strip()}")
        _set_broker_file_mode(Path(tmp), secret=True)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _set_broker_file_mode(path: Path, *, secret: bool) -> None:
    """root:mosquitto 0640 when run as root on a broker host, so mosquitto can read it."""
    if os.geteuid() == 0:
        try:
            import grp
            gid = grp.getgrnam("mosquitto").gr_gid
        except KeyError:
            gid = None
        if gid is not None:
            os.chown(path, 0, gid)
            os.chmod(path, 0o640)
            return
    os.chmod(path, 0o600 if secret else 0o644)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------

def write_if_changed(path: Path, text: str, mode: int) -> bool:
    """Atomically writes ``text`` unless the file already holds it. Returns True if written."""
    if path.exists() and path.read_text() == text:
        if (path.stat().st_mode & 0o777) != mode:
            os.chmod(path, mode)
            return True
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True


def load_registry(path: Path) -> list[Device]:
    """Devices named on earlier runs (``broker-devices.toml``)."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("devices", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [devices] must be a table of NAME = \"ROLE\"")
    return [Device(name, str(role)) for name, role in table.items()]


def registry_office(path: Path) -> str | None:
    """The office the ACL was limited to on an earlier run (``office`` in ``broker-devices.toml``)."""
    if not path.exists():
        return None
    try:
        office = tomllib.loads(path.read_text()).get("office")
    except tomllib.TOMLDecodeError:
        return None
    return office if isinstance(office, str) and (office == "+" or _NAME.fullmatch(office)) else None


def registry_text(devices: Iterable[Device], office: str | None = None) -> str:
    lines = ["# Antre broker devices (user name = client id -> role), kept by `antre broker setup`."]
    if office:
        lines += ["# The office every rule of the ACL is limited to ('+': any office on this broker).",
                  f'office = "{office}"']
    lines += ["[devices]"]
    lines += [f'"{d.name}" = "{d.role}"' for d in sorted(devices)]
    return "\n".join(lines) + "\n"


def existing_password(snippet: Path) -> str | None:
    """The password in a snippet written earlier, or None."""
    if not snippet.exists():
        return None
    try:
        mqtt = tomllib.loads(snippet.read_text()).get("mqtt", {})
    except tomllib.TOMLDecodeError:
        return None
    pw = mqtt.get("password") if isinstance(mqtt, dict) else None
    return pw if isinstance(pw, str) and len(pw) >= 16 else None


@dataclass
class SetupResult:
    devices: list[Device]
    written: list[Path]
    unchanged: list[Path]
    removed: list[Path]
    broker_changed: bool
    """The password file or the ACL changed: mosquitto must reload."""


def setup(*, add: Iterable[Device] = (), remove: Iterable[str] = (), rotate: Iterable[str] | bool = (),
          out: Path = DEFAULT_OUT, passwd_file: Path = DEFAULT_PASSWD, acl_file: Path = DEFAULT_ACL,
          host: str = "localhost", port: int = 1883, office: str | None = None,
          mosquitto_passwd: str = "mosquitto_passwd") -> SetupResult:
    """Brings the password file, ACL and device snippets in line with the device list.

    ``rotate`` is True for every device or a set of names. Existing passwords are
    otherwise kept, and files whose content would not change are not rewritten. ``office``
    limits every rule to that office (``+``: any); None keeps the one recorded by an earlier
    run, else ``+``.
    """
    out = Path(out)
    registry_path = out / REGISTRY_NAME
    devices = {d.name: d for d in load_registry(registry_path)}
    office = office or registry_office(registry_path) or "+"
    acl_text((), office)   # refuses a bad office id before anything is written
    remove = set(remove)
    if SERVICE_USER in remove:
        raise ConfigError(f"--remove: '{SERVICE_USER}' is the queue service's own login")
    unknown = remove - devices.keys() - {d.name for d in add}
    if unknown:
        raise ConfigError(f"--remove: no such device: {', '.join(sorted(unknown))}")
    for d in add:
        devices[d.name] = d
    for name in remove:
        devices.pop(name, None)
    devices[SERVICE_USER] = Device(SERVICE_USER, "service")
    if rotate is not True:
        unknown = set(rotate) - devices.keys()
        if unknown:
            raise ConfigError(f"--rotate: no such device: {', '.join(sorted(unknown))}")

    written: list[Path] = []
    unchanged: list[Path] = []
    removed: list[Path] = []

    def record(path: Path, changed: bool) -> None:
        (written if changed else unchanged).append(path)

    snippets = out / "devices"
    snippets.mkdir(parents=True, exist_ok=True)
    if (snippets.stat().st_mode & 0o777) != 0o700:
        os.chmod(snippets, 0o700)
    passwords: dict[str, str] = {}
    for d in sorted(devices.values()):
        snippet = snippets / f"{d.name}.toml"
        keep = None if (rotate is True or d.name in set(rotate or ())) else existing_password(snippet)
        passwords[d.name] = keep or new_password()
        url = f"mqtt://{'localhost' if d.role == 'service' else host}:{port}"
        record(snippet, write_if_changed(snippet, device_snippet(d, passwords[d.name], url), 0o600))
    for name in sorted(remove):
        stale = snippets / f"{name}.toml"
        if stale.exists():
            stale.unlink()
            removed.append(stale)

    record(registry_path, write_if_changed(
        registry_path, registry_text((d for d in devices.values() if d.role != "service"), office), 0o644))

    passwd_file = Path(passwd_file)
    if password_file_current(passwd_file, passwords):
        unchanged.append(passwd_file)
    else:
        write_password_file(passwd_file, passwords, mosquitto_passwd)
        written.append(passwd_file)

    acl_file = Path(acl_file)
    acl = acl_text(devices.values(), office)
    if acl_file.exists() and acl_file.read_text() == acl:
        unchanged.append(acl_file)
    else:
        write_if_changed(acl_file, acl, 0o600)
        _set_broker_file_mode(acl_file, secret=False)
        written.append(acl_file)
    return SetupResult(sorted(devices.values()), written, unchanged, removed,
                       broker_changed=passwd_file in written or acl_file in written)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _default_host() -> str:
    name = socket.gethostname().split(".")[0]
    return f"{name}.local"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    s = sub.add_parser("setup", help="create or update device logins, the ACL and per-device config snippets")
    s.add_argument("--devices", default="", metavar="NAME:ROLE,...",
                   help="devices to add or update, e.g. kiosk-1:kiosk,display-1:display,counter-1:counter "
                        f"(roles: {', '.join(r for r in ROLES if r != 'service')}); "
                        "devices from earlier runs are kept")
    s.add_argument("--remove", default="", metavar="NAME,...", help="devices to delete")
    s.add_argument("--rotate", nargs="?", const="*", default="", metavar="NAME,...",
                   help="new passwords: for the named devices, or for every login when given alone")
    s.add_argument("--host", default=None,
                   help="host name or address devices use to reach the broker (default: this host's name + .local)")
    s.add_argument("--port", type=int, default=1883, help="broker port written into device snippets (default 1883)")
    s.add_argument("--office", default=None,
                   help="limit every rule to this office id ('+': any office on this broker; default: the office "
                        "of an earlier run, else [office] id of the configuration)")
    _paths(s)
    s.add_argument("--mosquitto-passwd", default="mosquitto_passwd", metavar="PATH",
                   help="the mosquitto_passwd program (default: from PATH)")
    s.add_argument("--district-url", default=None, metavar="mqtts://HOST[:PORT]",
                   help="bridge this office's district outbox to the district's broker (docs/district.md); "
                        "needs --district-password-file")
    s.add_argument("--district-password-file", type=Path, default=None, metavar="FILE",
                   help="this office's password on the district broker (from 'antre district central')")
    s.add_argument("--district-ca", type=Path, default=Path("/etc/antre/district-ca.pem"), metavar="FILE",
                   help="the district broker's CA certificate (default /etc/antre/district-ca.pem)")
    s.add_argument("--district-conf", type=Path, default=Path("/etc/mosquitto/conf.d/antre-district.conf"),
                   metavar="FILE", help="where the bridge is written (default /etc/mosquitto/conf.d/antre-district.conf)")

    lst = sub.add_parser("list", help="list the devices known to the broker setup")
    _paths(lst)
    acl = sub.add_parser("acl", help="print the ACL the current device list gives")
    _paths(acl)
    acl.add_argument("--office", default=None, help="limit the ACL to this office id (default: as setup)")


def _paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"directory for the device list and device snippets (default {DEFAULT_OUT})")
    p.add_argument("--passwd-file", type=Path, default=DEFAULT_PASSWD,
                   help=f"mosquitto password file (default {DEFAULT_PASSWD})")
    p.add_argument("--acl-file", type=Path, default=DEFAULT_ACL, help=f"mosquitto ACL file (default {DEFAULT_ACL})")


def _config_office(args: argparse.Namespace) -> str:
    """``[office] id`` of the configuration (``--config``, ``ANTRE_CONFIG`` or /etc/antre/antre.toml)."""
    from antre import config
    return config.load(getattr(args, "config", None)).office.id


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        devices = load_registry(args.out / REGISTRY_NAME)
        print(f"{SERVICE_USER:<24} service")
        for d in sorted(devices):
            print(f"{d.name:<24} {d.role:<8} {args.out / 'devices' / (d.name + '.toml')}")
        return 0
    if args.action == "acl":
        registry = args.out / REGISTRY_NAME
        print(acl_text(load_registry(registry), args.office or registry_office(registry) or _config_office(args)),
              end="")
        return 0

    rotate: bool | list[str] = True if args.rotate == "*" else _names(args.rotate)
    result = setup(
        add=parse_devices(args.devices), remove=_names(args.remove), rotate=rotate,
        out=args.out, passwd_file=args.passwd_file, acl_file=args.acl_file,
        host=args.host or _default_host(), port=args.port,
        office=args.office or registry_office(args.out / REGISTRY_NAME) or _config_office(args),
        mosquitto_passwd=args.mosquitto_passwd,
    )
    if args.district_url:
        from antre.ops.district_bridge import write_bridge
        if args.district_password_file is None:
            raise ConfigError("--district-url needs --district-password-file (the office's district login)")
        office = args.office or registry_office(args.out / REGISTRY_NAME) or _config_office(args)
        if write_bridge(office, args.district_url, args.district_password_file, args.district_ca, args.district_conf):
            result.written.append(args.district_conf)
            result.broker_changed = True
        else:
            result.unchanged.append(args.district_conf)
    for path in result.written:
        print(f"wrote      {path}")
    for path in result.removed:
        print(f"removed    {path}")
    for path in result.unchanged:
        print(f"unchanged  {path}")
    if args.district_url and args.district_conf in result.written:
        print("Restart the broker to start the bridge: systemctl restart mosquitto")
    elif result.broker_changed:
        print("Reload the broker to apply: systemctl reload mosquitto")
    print(f"Device logins: {args.out / 'devices'}/NAME.toml; copy each to its Pi and install it there with "
          "'install-pi --device-config NAME.toml' (docs/install.md)")
    return 0
