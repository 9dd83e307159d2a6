"""The shipped systemd units, sysusers.d and tmpfiles.d files.

``systemd-analyze verify`` checks each unit inside a throwaway root
(``--root``): the shipped unit is copied there unchanged, next to the host's own
unit files (for targets such as sysinit.target) and an empty executable at
/opt/antre/venv/bin/antre, because verify insists that ExecStart= exists.
Any output at all (an unknown key is only a warning) fails the test. The units are
also verified as scripts/install-pi leaves them: with the drop-in that hands each
unit its own MQTT login.
"""

from __future__ import annotations

import os
import shlex
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from antre.cli import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[1]
UNIT_DIR = ROOT / "systemd"
UNITS = sorted(p.name for p in UNIT_DIR.glob("*.service"))
EXPECTED_UNITS = ["antre-counter.service", "antre-display.service", "antre-kiosk.service", "antre-web.service",
                  "antre.service"]
ANTRE = "/opt/antre/venv/bin/antre"
INSTALLER = ROOT / "scripts" / "install-pi"
ROLE_OF = {"antre.service": "server", "antre-kiosk.service": "kiosk",
           "antre-display.service": "display", "antre-counter.service": "counter", "antre-web.service": "web"}
# Every unit writes only /var/lib/antre, except the website, which writes nothing there.
READ_ONLY_DATA = {"antre-web.service"}

HOST_UNIT_DIRS = [Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")]


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> every value (systemd keys may repeat; configparser loses that)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"{path.name}: key outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def words(unit: dict, section: str, key: str) -> list[str]:
    return [w for v in unit.get(section, {}).get(key, []) for w in v.split()]


def one(unit: dict, section: str, key: str) -> str:
    values = unit.get(section, {}).get(key, [])
    assert len(values) == 1, f"[{section}] {key}= should be set once, found {values}"
    return values[0]


def environment(unit: dict) -> dict[str, str]:
    return dict(w.split("=", 1) for w in words(unit, "Service", "Environment"))


def test_every_component_has_a_unit():
    assert UNITS == EXPECTED_UNITS


@pytest.mark.parametrize("name", UNITS)
def test_common_hardening_and_restart(name):
    unit = parse_unit(UNIT_DIR / name)
    s = "Service"
    assert one(unit, s, "User") == "antre"
    assert one(unit, s, "Group") == "antre"
    assert one(unit, s, "Restart") == "always"
    assert float(one(unit, s, "RestartSec")) > 0
    assert float(one(unit, s, "TimeoutStopSec")) > 0
    assert one(unit, "Unit", "StartLimitIntervalSec") == "0"
    assert one(unit, s, "ProtectSystem") == "strict"
    assert ("/var/lib/antre" in words(unit, s, "ReadWritePaths")) == (name not in READ_ONLY_DATA)
    for key in ("ProtectHome", "PrivateTmp", "NoNewPrivileges", "ProtectKernelTunables",
                "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID", "LockPersonality"):
        assert one(unit, s, key) == "true", key
    assert one(unit, s, "CapabilityBoundingSet") == ""
    assert one(unit, s, "WorkingDirectory") == "/var/lib/antre"
    assert environment(unit)["ANTRE_CONFIG"] == "/etc/antre/antre.toml"
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


@pytest.mark.parametrize("name", UNITS)
def test_exec_start_runs_a_real_subcommand(name):
    unit = parse_unit(UNIT_DIR / name)
    argv = one(unit, "Service", "ExecStart").split()
    assert argv[0] == ANTRE
    assert argv[1] in SUBCOMMANDS
    expected = {"antre.service": "serve", "antre-kiosk.service": "kiosk", "antre-display.service": "display",
                "antre-counter.service": "counter", "antre-web.service": "web"}[name]
    assert argv[1] == expected


def test_queue_service_is_notify_with_watchdog_after_broker():
    unit = parse_unit(UNIT_DIR / "antre.service")
    assert one(unit, "Service", "Type") == "notify"
    assert int(one(unit, "Service", "WatchdogSec")) >= 10
    assert "mosquitto.service" in words(unit, "Unit", "After")
    assert "mosquitto.service" in words(unit, "Unit", "Wants")
    assert one(unit, "Service", "PrivateDevices") == "true"  # no hardware at all
    assert words(unit, "Service", "SupplementaryGroups") == []


def test_website_has_no_devices_and_reads_the_data_folder_only():
    unit = parse_unit(UNIT_DIR / "antre-web.service")
    s = "Service"
    assert {"mosquitto.service", "network-online.target"} <= set(words(unit, "Unit", "Wants"))
    assert {"mosquitto.service", "network-online.target"} <= set(words(unit, "Unit", "After"))
    assert one(unit, s, "Type") == "exec"
    assert one(unit, s, "PrivateDevices") == "true"
    assert words(unit, s, "SupplementaryGroups") == []
    # Writes only residents' complaint photos (web/photos.py), in their own folder made by tmpfiles.d.
    assert words(unit, s, "ReadWritePaths") == ["/var/lib/antre/complaint-photos"]
    assert words(unit, s, "ReadOnlyPaths") == ["/var/lib/antre"]
    assert "d /var/lib/antre/complaint-photos 0750 antre antre -" in (UNIT_DIR / "tmpfiles.d/antre.conf").read_text()
    assert words(unit, s, "AmbientCapabilities") == []  # [web] port 8080: no CAP_NET_BIND_SERVICE
    env = environment(unit)
    # The database's default place, /var/lib/antre/antre.db, reached through the read-only fallback
    # (antre.config.DatabaseConfig.effective_url): XDG_DATA_HOME/antre is that same folder.
    assert env["XDG_DATA_HOME"] + "/antre" == "/var/lib/antre"
    # matplotlib's cache in the unit's own writable cache directory.
    assert env["MPLCONFIGDIR"] == "/var/cache/" + one(unit, s, "CacheDirectory")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare(1) to make a private read-only mount")
def test_website_report_reads_the_database_on_a_read_only_mount(tmp_path):
    """The staff report as antre-web.service runs it: /var/lib/antre mounted read-only, the unit's
    environment, and antre serve holding the database open (WAL). A private mount namespace
    (unshare -m) stands in for ProtectSystem=strict + ReadOnlyPaths=/var/lib/antre."""
    from datetime import date, datetime, timezone

    from antre.storage.models import Ticket, TicketEvent
    from antre.storage import open_database

    data = tmp_path / "data"
    data.mkdir()
    day = date(2026, 11, 2)
    issued = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
    engine, Session = open_database(f"sqlite:///{data}/antre.db")
    with Session.begin() as session:
        t = Ticket(business_date=day, prefix="A", seq=1, number="A-001", service_code="adminduk",
                   issued_service_code="adminduk", priority=0, channel="kiosk", state="waiting",
                   issued_at=issued, call_count=0, transfer_count=0)
        session.add(t)
        session.flush()
        session.add(TicketEvent(ticket_id=t.id, at=issued, kind="issued", from_state=None, to_state="waiting",
                                service_code="adminduk"))
    holder = engine.connect()  # antre serve: the database stays open in WAL mode
    try:
        report = tmp_path / "report.zip"
        script = (
            "from datetime import date; from antre.config import load_defaults; "
            "from antre_web.app import build_report_file; "
            f"d = date({day.year}, {day.month}, {day.day}); "
            "zipped = build_report_file(load_defaults(), d, d, 'csv'); "
            f"open({str(report)!r}, 'wb').write(zipped)"
        )
        unit_env = environment(parse_unit(UNIT_DIR / "antre-web.service"))

        def run_report(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ANTRE_"))}
            env.update(HOME="/var/lib/antre", PYTHONPATH=str(ROOT), **env_extra)  # antre's home (sysusers.d)
            shell = ("set -e; mount -t tmpfs antre-test /var/lib; mkdir /var/lib/antre; "
                     f"mount --bind {data} /var/lib/antre; mount -o remount,bind,ro /var/lib/antre; "
                     "if touch /var/lib/antre/probe 2>/dev/null; then echo writable >&2; exit 9; fi; "
                     f'exec "{sys.executable}" -c "$0"')
            return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", shell, script],
                                  capture_output=True, text=True, env=env, timeout=120)

        result = run_report({"XDG_DATA_HOME": unit_env["XDG_DATA_HOME"]})
        assert result.returncode == 0, result.stderr
        with zipfile.ZipFile(report) as zf:
            text = "\n".join(zf.read(n).decode() for n in zf.namelist())
        assert "adminduk" in text
        # The default database location is /var/lib/antre/antre.db whenever that file exists, also on a
        # read-only mount, so the report works without the unit's XDG_DATA_HOME as well.
        report.unlink()
        result = run_report({})
        assert result.returncode == 0, result.stderr
        assert report.exists()
    finally:
        holder.close()
        engine.dispose()


@pytest.mark.parametrize("name,groups", [
    ("antre.service", set()),
    ("antre-counter.service", {"gpio", "input"}),
    ("antre-kiosk.service", {"render", "video", "input", "lp", "dialout"}),
    ("antre-display.service", {"render", "video", "input", "audio"}),
    ("antre-web.service", set()),
])
def test_device_access_is_only_what_the_part_needs(name, groups):
    unit = parse_unit(UNIT_DIR / name)
    assert set(words(unit, "Service", "SupplementaryGroups")) == groups


@pytest.mark.parametrize("name", ["antre-kiosk.service", "antre-display.service"])
def test_screens_start_on_kms_without_a_desktop(name):
    unit = parse_unit(UNIT_DIR / name)
    env = environment(unit)
    assert env["SDL_VIDEODRIVER"] == "kmsdrm"
    assert env["KIVY_WINDOW"] == "sdl2"
    assert env["KIVY_HOME"].startswith("/var/lib/antre/")  # writable under ProtectSystem=strict
    assert "getty@tty1.service" in words(unit, "Unit", "Conflicts")
    assert "PrivateDevices" not in unit["Service"]  # would hide /dev/dri and /dev/input


def test_groups_named_by_units_exist_or_are_created():
    """A missing supplementary group stops a unit from starting: each must come from sysusers."""
    ours = {line.split()[1] for line in (UNIT_DIR / "sysusers.d" / "antre.conf").read_text().splitlines()
            if line.startswith(("g ", "u "))}
    debian_basic = {"lp", "dialout", "video", "audio"}  # systemd's basic.conf on Debian and Raspberry Pi OS
    for name in UNITS:
        for group in words(parse_unit(UNIT_DIR / name), "Service", "SupplementaryGroups"):
            assert group in ours | debian_basic, f"{name}: group {group} is neither in sysusers.d nor basic.conf"


def test_printer_udev_rule_covers_common_vendors():
    rules = [line for line in (UNIT_DIR / "udev" / "60-antre-printers.rules").read_text().splitlines()
             if line and not line.startswith("#")]
    vendors = set()
    for rule in rules:
        m = re.fullmatch(r'SUBSYSTEM=="usb", ENV\{DEVTYPE\}=="usb_device", ATTR\{idVendor\}=="([0-9a-f]{4})", '
                         r'GROUP="lp", MODE="0660"', rule)
        assert m, f"unexpected rule: {rule}"
        vendors.add(m[1])
    assert vendors == {"0416", "0483", "04b8"}


# --------------------------------------------------------------------------
# systemd tools, in a throwaway root
# --------------------------------------------------------------------------

def _host_unit_dir() -> Path | None:
    return next((d for d in HOST_UNIT_DIRS if (d / "sysinit.target").exists()), None)


needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or _host_unit_dir() is None,
    reason="systemd-analyze or the host's systemd unit files are not installed (apt install systemd)")


@pytest.fixture
def fake_root(tmp_path):
    root = tmp_path / "root"
    host = _host_unit_dir()
    shutil.copytree(host, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    exe = root / ANTRE.lstrip("/")
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return root


def verify(root: Path, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", "--generators=no", name],
        capture_output=True, text=True, timeout=120, env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify(fake_root, name):
    shutil.copy2(UNIT_DIR / name, fake_root / "etc/systemd/system" / name)
    result = verify(fake_root, name)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, f"systemd-analyze verify {name}:\n{output}"


@needs_analyze
@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify_with_the_installers_login_dropin(fake_root, tmp_path, name):
    """install-pi into the root, then verify the unit as systemd will load it: unit + drop-in."""
    role = ROLE_OF[name]
    env = {**os.environ}
    args = ["bash", str(INSTALLER), "--root", str(fake_root), "--role", role]
    if role == "server":
        if shutil.which("mosquitto_passwd") is None:
            pytest.skip("mosquitto_passwd is not installed (apt install mosquitto)")
        wrapper = tmp_path / "antre"
        wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m antre "$@"\n')
        wrapper.chmod(0o755)
        env["ANTRE_BIN"] = str(wrapper)
        args += ["--broker-host", "srv"]
        login = "antre-service"
    else:
        login = f"{role}-1"
        f = tmp_path / f"{login}.toml"
        f.write_text(f"# Antre MQTT login for '{login}' (role: {role}), written by `antre broker setup`.\n"
                     f'[mqtt]\nurl = "mqtt://srv:1883"\nusername = "{login}"\npassword = "pw-0123456789abcdef"\n'
                     f'client_id = "{login}"\n')
        args += ["--server", "srv", "--device-config", str(f)]
    subprocess.run(args, check=True, capture_output=True, text=True, env=env, timeout=120)
    dropin = fake_root / "etc/systemd/system" / f"{name}.d" / "antre-login.conf"
    assert parse_unit(dropin) == {"Service": {
        "LoadCredential": [f"mqtt:/etc/antre/devices/{login}.toml"],
        "Environment": ["ANTRE_MQTT_FILE=%d/mqtt"]}}
    assert (fake_root / f"etc/antre/devices/{login}.toml").is_file()
    assert (fake_root / "etc/systemd/system" / name).read_bytes() == (UNIT_DIR / name).read_bytes()
    result = verify(fake_root, name)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, f"systemd-analyze verify {name} + {dropin.name}:\n{output}"


@needs_analyze
def test_verify_harness_reports_problems(fake_root):
    """The check above can fail: a typo and a missing program are both reported."""
    broken = (UNIT_DIR / "antre.service").read_text().replace("ProtectHome=", "ProtectHoem=") \
        .replace("bin/antre serve", "bin/antre-missing serve")
    (fake_root / "etc/systemd/system/antre.service").write_text(broken)
    result = verify(fake_root, "antre.service")
    output = result.stdout + result.stderr
    assert "Unknown key" in output and "ProtectHoem" in output
    assert "antre-missing" in output and result.returncode != 0
    # Drop-ins are read too: a typo there is reported.
    dropin = fake_root / "etc/systemd/system/antre.service.d/antre-login.conf"
    dropin.parent.mkdir()
    dropin.write_text("[Service]\nLoadCredentail=mqtt:/etc/antre/devices/antre-service.toml\n")
    output = verify(fake_root, "antre.service").stderr
    assert "Unknown key" in output and "LoadCredentail" in output and "antre-login.conf" in output


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers / systemd-tmpfiles not installed (apt install systemd)")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: systemd-tmpfiles gives the directories to the antre user")
def test_sysusers_and_tmpfiles_create_user_and_directories(tmp_path):
    root = tmp_path / "root"
    (root / "etc/sysusers.d").mkdir(parents=True)
    (root / "etc/tmpfiles.d").mkdir(parents=True)
    shutil.copy2(UNIT_DIR / "sysusers.d/antre.conf", root / "etc/sysusers.d/antre.conf")
    shutil.copy2(UNIT_DIR / "tmpfiles.d/antre.conf", root / "etc/tmpfiles.d/antre.conf")
    subprocess.run(["systemd-sysusers", f"--root={root}", "antre.conf"], check=True, capture_output=True)
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    assert passwd["antre"][6] == "/usr/sbin/nologin"
    uid, gid = int(passwd["antre"][2]), int(passwd["antre"][3])
    assert uid < 1000  # a system user
    groups = {line.split(":")[0] for line in (root / "etc/group").read_text().splitlines()}
    assert {"antre", "gpio", "input", "render"} <= groups

    subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create", "antre.conf"], check=True, capture_output=True)
    for d in ("var/lib/antre", "var/lib/antre/backups", "var/lib/antre/complaint-photos", "run/antre"):
        st = (root / d).stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o750), d


@pytest.mark.parametrize("name", sorted(p.name for p in (UNIT_DIR / "district").glob("*.service")))
def test_district_units_run_a_real_subcommand_with_the_sandbox(name):
    """The district server's units (systemd/district/: not installed on an office Pi)."""
    import argparse

    from antre.cli import build_parser
    unit = parse_unit(UNIT_DIR / "district" / name)
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    assert argv[0] == ANTRE and argv[1] in ("hub", "district-web")
    # The options parse (${VARS} stand for the EnvironmentFile's values).
    args = build_parser(argv[1]).parse_args([a.replace("${", "X").replace("}", "") for a in argv[1:]])
    assert isinstance(args, argparse.Namespace)
    assert one(unit, "Service", "User") == "antre" and one(unit, "Service", "Restart") == "always"
    for key in ("ProtectHome", "PrivateTmp", "NoNewPrivileges", "RestrictSUIDSGID"):
        assert one(unit, "Service", key) == "true", key
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert one(unit, "Service", "CapabilityBoundingSet") == ""
