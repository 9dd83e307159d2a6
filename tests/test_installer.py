"""scripts/install-pi, run for real into throwaway roots (``--root``).

Under --root the installer writes every file into the root and only prints the
commands that act on the running system (apt-get, pip, systemctl,
systemd-sysusers, udevadm). ``antre broker setup`` writes files only, so it runs
for real, through ANTRE_BIN (this checkout's antre).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from antre import config
from antre.link.mqtt import client_id_for

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install-pi"

needs_passwd = pytest.mark.skipif(shutil.which("mosquitto_passwd") is None,
                                  reason="mosquitto_passwd is not installed (apt install mosquitto)")


@pytest.fixture
def antre_bin(tmp_path) -> Path:
    wrapper = tmp_path / "antre"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m antre "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def install(root: Path, *args: str, antre_bin: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ}
    if antre_bin is not None:
        env["ANTRE_BIN"] = str(antre_bin)
    result = subprocess.run(["bash", str(SCRIPT), "--root", str(root), *args],
                            capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert result.returncode == 0, f"install-pi failed:\n{result.stdout}\n{result.stderr}"
    return result


def tree_hash(root: Path) -> str:
    """Paths, modes, owners, link targets and contents of everything under root."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        h.update(f"{path.relative_to(root)} {st.st_mode:o} {st.st_uid}:{st.st_gid}".encode())
        if path.is_symlink():
            h.update(os.readlink(path).encode())
        elif path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def lines(result: subprocess.CompletedProcess) -> list[str]:
    return result.stdout.splitlines()


UNIT = {"server": "antre.service", "kiosk": "antre-kiosk.service", "display": "antre-display.service",
        "counter": "antre-counter.service", "web": "antre-web.service"}
COMPONENT = {"server": "service", "kiosk": "kiosk", "display": "display", "counter": "counter", "web": "web"}
PIN_NOTE = "note: the staff page (/staf) has no password yet: run '/opt/antre/venv/bin/antre web --hash-password', put the"


def this_host() -> str:
    """The host part of the logins the installer makes for device roles on the server Pi."""
    return re.sub(r"[^a-z0-9_-]", "-", socket.gethostname().split(".")[0].lower()).lstrip("-_") or "pi"


def login_dropin(root: Path, role: str) -> Path:
    return root / "etc/systemd/system" / f"{UNIT[role]}.d" / "antre-login.conf"


def unit_config(root: Path, role: str, monkeypatch) -> config.Config:
    """The configuration the role's unit sees: antre.toml plus the login its drop-in hands it.

    The drop-in must be exactly LoadCredential=mqtt:<file> and ANTRE_MQTT_FILE=%d/mqtt; systemd
    copies <file> to $CREDENTIALS_DIRECTORY/mqtt, so here the file itself stands in for the copy.
    """
    text = login_dropin(root, role).read_text()
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body[0] == "[Service]" and body[2] == "Environment=ANTRE_MQTT_FILE=%d/mqtt", text
    key, _, path = body[1].partition("=")
    assert key == "LoadCredential" and path.startswith("mqtt:/etc/antre/devices/"), text
    login = root / path.removeprefix("mqtt:/")
    assert login.stat().st_mode & 0o777 == 0o600  # root only: systemd, not the antre user, reads it
    monkeypatch.setenv("ANTRE_MQTT_FILE", str(login))
    try:
        return config.load(root / "etc/antre/antre.toml")
    finally:
        monkeypatch.delenv("ANTRE_MQTT_FILE")


def snippet(path: Path, name: str, role: str, password: str = "a-long-random-password-123456",
            url: str = "mqtt://10.0.0.2:1883") -> Path:
    """A login file as `antre broker setup` writes it on the server."""
    path.write_text(f"# Antre MQTT login for '{name}' (role: {role}), written by `antre broker setup`.\n"
                    f"# Copy to that Pi and install it with: install-pi --device-config {name}.toml. Keep it secret.\n"
                    f'[mqtt]\nurl = "{url}"\nusername = "{name}"\npassword = "{password}"\nclient_id = "{name}"\n')
    return path


# --------------------------------------------------------------------------
# --dry-run: the plan per role, and nothing written
# --------------------------------------------------------------------------

@pytest.mark.parametrize("role,unit,packages", [
    ("server", "antre.service", ["mosquitto", "mosquitto-clients", "chrony", "gammu-smsd"]),
    ("kiosk", "antre-kiosk.service", ["libgles2", "libgbm1", "libusb-1.0-0"]),
    ("display", "antre-display.service", ["espeak-ng", "sox", "alsa-utils", "libgles2"]),
    ("counter", "antre-counter.service", ["python3-evdev"]),
    ("web", "antre-web.service", ["libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"]),
])
def test_dry_run_plans_each_role(tmp_path, role, unit, packages):
    result = install(tmp_path, "--dry-run", "--role", role)
    out = lines(result)
    apt = next(line for line in out if line.startswith("would run: apt-get install"))
    for pkg in ["python3-venv", *packages]:
        assert f" {pkg}" in apt, f"{role}: {pkg} missing from {apt}"
    if role == "web":  # Python from pip; from Debian only the venv and Pango with fonts for the letters' PDFs
        assert apt == ("would run: apt-get install -y --no-install-recommends python3-venv python3-pip "
                       "libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core")
    # Package lists first: a fresh image has none.
    assert out.index("would run: apt-get update") < out.index(apt)
    # Raspberry Pi OS's own GPIO package only where the archive has it (plain Debian: lgpio from pip).
    optional = "  and where the archive has them (Raspberry Pi OS): python3-lgpio"
    assert (optional in out) == (role == "counter")
    # `antre` on PATH, as docs/install.md uses it.
    assert "would create link: /usr/local/bin/antre -> /opt/antre/venv/bin/antre" in out
    assert f"would install: /etc/systemd/system/{unit} (mode 0644)" in out
    assert f"would run: systemctl enable --now {unit}" in out
    assert "would run: systemd-sysusers antre.conf" in out
    assert "would install: /etc/sysusers.d/antre.conf (mode 0644)" in out
    assert "would install: /etc/tmpfiles.d/antre.conf (mode 0644)" in out
    assert "would install: /etc/antre/antre.toml (mode 0640)" in out
    extras = {"server": "reports", "kiosk": "kiosk", "display": "display", "counter": "counter,pi", "web": "web"}[role]
    assert f"would run: /opt/antre/venv/bin/pip install --upgrade --upgrade-strategy only-if-needed {ROOT}[{extras}]" in out
    other_units = set(UNIT.values()) - {unit}
    assert not any(u in line for line in out for u in other_units)
    # Role-specific parts, and only for that role.
    assert ("would install: /etc/mosquitto/conf.d/antre.conf (mode 0644)" in out) == (role == "server")
    assert any(" broker setup " in line for line in out) == (role == "server")
    assert ("would install: /etc/chrony/conf.d/antre.conf (mode 0644)" in out) == (role == "server")
    assert ("would install: /etc/udev/rules.d/60-antre-printers.rules (mode 0644)" in out) == (role == "kiosk")
    # The server role's login is made here; a device role's comes from the server (--device-config).
    dropin = f"would install: /etc/systemd/system/{unit}.d/antre-login.conf (mode 0644)"
    assert (dropin in out) == (role == "server")
    assert any(line.startswith(f"note: {unit} has no MQTT login of its own yet") for line in out) == (role != "server")
    assert (PIN_NOTE in out) == (role == "web")
    assert out[-1].startswith("Dry run: ") and out[-1].endswith(" file changes planned, nothing changed.")
    assert int(out[-1].split()[2]) == sum(line.startswith("would install:") or line.startswith("would create")
                                          for line in out)
    assert list(tmp_path.iterdir()) == []  # a dry run writes nothing


def test_dry_run_with_several_roles_and_options(tmp_path):
    out = lines(install(tmp_path, "--dry-run", "--role", "display", "--role", "counter", "--role", "display",
                        "--server", "10.0.0.2", "--rtc"))
    assert out[0].startswith("== Installing Antre (roles: display counter) ")  # a role named twice counts once
    assert "would install: /etc/systemd/system/antre-display.service (mode 0644)" in out
    assert "would install: /etc/systemd/system/antre-counter.service (mode 0644)" in out
    assert "would install: /etc/systemd/timesyncd.conf.d/antre.conf (mode 0644)" in out
    assert "would add to /boot/firmware/config.txt: dtoverlay=i2c-rtc,ds3231" in out
    pip = next(line for line in out if "pip install" in line)
    assert pip.endswith("[display,counter,pi]")
    assert sum("enable --now antre-display.service" in line for line in out) == 1
    apt = next(line for line in out if line.startswith("would run: apt-get install"))
    assert apt.split().count("libgles2") == 1  # de-duplicated
    assert list(tmp_path.iterdir()) == []


def test_dry_run_uninstall_plans_nothing_on_an_empty_root(tmp_path):
    out = lines(install(tmp_path, "--dry-run", "--uninstall"))
    assert out[-1] == "Dry run: 0 file changes planned, nothing changed."


@pytest.mark.parametrize("args,message", [
    ([], "name at least one --role"),
    (["--role", "printer"], "unknown role 'printer'"),
    (["--role", "server", "--office", "Kantor Desa"], "--office"),
    (["--bogus"], "unknown option: --bogus"),
    (["--role", "kiosk", "--device-config", "/nonexistent/kiosk-1.toml"], "no such file"),
])
def test_bad_options_are_refused(tmp_path, args, message):
    result = install(tmp_path, *args, check=False)
    assert result.returncode == 2
    assert message in result.stderr


# --------------------------------------------------------------------------
# Real runs into a throwaway root
# --------------------------------------------------------------------------

@needs_passwd
def test_server_install_writes_files_and_second_run_changes_nothing(tmp_path, antre_bin, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    args = ["--role", "server", "--devices", "kiosk-1:kiosk,counter-1:counter,display-1:display",
            "--broker-host", "antre-server.local", "--office", "cibiru"]
    first = install(root, *args, antre_bin=antre_bin)
    assert "Done: 0 changes." not in first.stdout

    expect = {
        "etc/systemd/system/antre.service": ROOT / "systemd/antre.service",
        "etc/sysusers.d/antre.conf": ROOT / "systemd/sysusers.d/antre.conf",
        "etc/tmpfiles.d/antre.conf": ROOT / "systemd/tmpfiles.d/antre.conf",
        "etc/mosquitto/conf.d/antre.conf": ROOT / "broker_config/antre.conf",
        "etc/mosquitto/conf.d/antre-tls.conf.example": ROOT / "broker_config/antre-tls.conf.example",
    }
    for rel, src in expect.items():
        assert (root / rel).read_bytes() == src.read_bytes(), rel
        assert (root / rel).stat().st_mode & 0o777 == 0o644
    assert not (root / "etc/systemd/system/antre-kiosk.service").exists()
    assert not (root / "etc/udev/rules.d/60-antre-printers.rules").exists()
    assert "local stratum 10" in (root / "etc/chrony/conf.d/antre.conf").read_text()

    # Broker logins: one snippet per device plus the service's, all private.
    devices = root / "etc/antre/devices"
    assert sorted(p.name for p in devices.iterdir()) == [
        "antre-service.toml", "counter-1.toml", "display-1.toml", "kiosk-1.toml"]
    kiosk = tomllib.loads((devices / "kiosk-1.toml").read_text())["mqtt"]
    assert kiosk["url"] == "mqtt://antre-server.local:1883"
    assert kiosk["username"] == kiosk["client_id"] == "kiosk-1"
    assert (devices / "kiosk-1.toml").stat().st_mode & 0o777 == 0o600
    assert "user kiosk-1" in (root / "etc/mosquitto/antre.acl").read_text()
    users = [line.split(":")[0] for line in (root / "etc/mosquitto/antre.passwd").read_text().splitlines()]
    assert sorted(users) == ["antre-service", "counter-1", "display-1", "kiosk-1"]

    # antre.toml: valid, the office id and the broker's address, no login (it is 0640 root:antre).
    toml = root / "etc/antre/antre.toml"
    assert toml.stat().st_mode & 0o777 == 0o640
    cfg = config.load(toml)
    assert cfg.office.id == "cibiru"
    assert (cfg.mqtt.url, cfg.mqtt.username, cfg.mqtt.password) == ("mqtt://localhost:1883", "", "")
    # The service logs in as antre-service (role service), from its unit's drop-in.
    cfg = unit_config(root, "server", monkeypatch)
    assert (cfg.mqtt.url, cfg.mqtt.username) == ("mqtt://localhost:1883", "antre-service")
    assert cfg.mqtt.password == tomllib.loads((devices / "antre-service.toml").read_text())["mqtt"]["password"]
    assert client_id_for(cfg, "service") == "antre-service"
    # Every rule is limited to this office (docs/security.md, least privilege).
    acl = (root / "etc/mosquitto/antre.acl").read_text()
    assert "user antre-service\ntopic read antre/v2/cibiru/cmd/#" in acl
    assert "/+/" not in acl.replace("status/service/+", "")

    before = tree_hash(root)
    second = install(root, *args, antre_bin=antre_bin)
    assert lines(second)[-1] == "Done: 0 changes."
    assert not any(line.startswith(("installed:", "directory:", "added to")) for line in lines(second))
    assert tree_hash(root) == before


@needs_passwd
def test_antre_toml_is_never_overwritten(tmp_path, antre_bin):
    install(tmp_path, "--role", "server", "--broker-host", "srv", antre_bin=antre_bin)
    toml = tmp_path / "etc/antre/antre.toml"
    edited = toml.read_text().replace('id = "sukamaju"', 'id = "mekarsari"')
    toml.write_text(edited)
    result = install(tmp_path, "--role", "server", "--broker-host", "srv", "--office", "other", antre_bin=antre_bin)
    assert "kept: /etc/antre/antre.toml (exists; never overwritten)" in lines(result)
    assert toml.read_text() == edited


@needs_passwd
def test_server_with_device_roles_gives_each_part_its_own_login(tmp_path, antre_bin, monkeypatch):
    roles = ["server", "kiosk", "display", "counter", "web"]
    args = [a for r in roles for a in ("--role", r)] + ["--devices", "kiosk-1:kiosk", "--broker-host", "srv"]
    first = install(tmp_path, *args, antre_bin=antre_bin)
    host = this_host()
    registry = tomllib.loads((tmp_path / "etc/antre/broker-devices.toml").read_text())["devices"]
    acl = (tmp_path / "etc/mosquitto/antre.acl").read_text()
    for role in roles:
        name = "antre-service" if role == "server" else f"{role}-{host}"
        if role != "server":
            assert registry[name] == role  # a login of the part's own role, not admin
        assert f"# role: {COMPONENT[role]}\nuser {name}\n" in acl
        cfg = unit_config(tmp_path, role, monkeypatch)
        assert cfg.mqtt.username == cfg.mqtt.client_id == name
        assert client_id_for(cfg, COMPONENT[role]) == name  # the ACL's reply/status topics are by user name
        assert cfg.mqtt.url == ("mqtt://localhost:1883" if role == "server" else "mqtt://srv:1883")
        assert f"skipped (--root): systemctl enable --now {UNIT[role]}" in lines(first)
    assert registry["kiosk-1"] == "kiosk"  # the devices named with --devices are there too
    assert "antre-local" not in acl and "# role: admin" not in acl
    assert (tmp_path / "etc/udev/rules.d/60-antre-printers.rules").exists()

    before = tree_hash(tmp_path)
    second = install(tmp_path, *args, antre_bin=antre_bin)
    assert lines(second)[-1] == "Done: 0 changes."
    assert not any("try-restart" in line for line in lines(second))
    assert tree_hash(tmp_path) == before


@needs_passwd
def test_the_old_shared_admin_login_is_removed(tmp_path, antre_bin, monkeypatch):
    """Pis installed before each part had its own login carry antre-local (role admin): it goes."""
    out = tmp_path / "etc/antre"
    subprocess.run([str(antre_bin), "broker", "setup", "--host", "srv", "--devices", "antre-local:admin",
                    "--out", str(out), "--passwd-file", str(tmp_path / "etc/mosquitto/antre.passwd"),
                    "--acl-file", str(tmp_path / "etc/mosquitto/antre.acl")], check=True, capture_output=True)
    assert "user antre-local" in (tmp_path / "etc/mosquitto/antre.acl").read_text()
    args = ["--role", "server", "--role", "kiosk", "--broker-host", "srv"]
    result = install(tmp_path, *args, antre_bin=antre_bin)
    assert any(line.endswith("--remove antre-local") and " broker setup " in line for line in lines(result))
    assert "antre-local" not in (tmp_path / "etc/mosquitto/antre.acl").read_text()
    assert "antre-local" not in (out / "broker-devices.toml").read_text()
    assert not (out / "devices/antre-local.toml").exists()
    passwd = (tmp_path / "etc/mosquitto/antre.passwd").read_text()
    assert sorted(line.split(":")[0] for line in passwd.splitlines()) == ["antre-service", f"kiosk-{this_host()}"]
    assert unit_config(tmp_path, "kiosk", monkeypatch).mqtt.username == f"kiosk-{this_host()}"
    assert lines(install(tmp_path, *args, antre_bin=antre_bin))[-1] == "Done: 0 changes."


@needs_passwd
def test_a_login_rewritten_on_the_server_restarts_its_unit(tmp_path, antre_bin):
    args = ["--role", "server", "--role", "display", "--broker-host", "srv"]
    install(tmp_path, *args, antre_bin=antre_bin)
    login = tmp_path / f"etc/antre/devices/display-{this_host()}.toml"
    login.write_text(login.read_text().replace('url = "mqtt://srv:1883"', 'url = "mqtt://old:1883"'))
    out = lines(install(tmp_path, *args, antre_bin=antre_bin))
    assert "skipped (--root): systemctl try-restart antre-display.service" in out
    assert not any("try-restart antre.service" in line for line in out)
    assert 'url = "mqtt://srv:1883"' in login.read_text()


def test_device_install_uses_the_login_from_the_server(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    login = snippet(tmp_path / "display-1.toml", "display-1", "display")
    args = ["--role", "display", "--server", "10.0.0.2", "--device-config", str(login), "--rtc"]
    first = lines(install(root, *args))
    assert not any(line.startswith("note:") for line in first)
    installed = root / "etc/antre/devices/display-1.toml"
    assert installed.read_bytes() == login.read_bytes()
    assert (root / "etc/antre/devices").stat().st_mode & 0o777 == 0o700
    cfg = config.load(root / "etc/antre/antre.toml")
    assert (cfg.mqtt.url, cfg.mqtt.username, cfg.mqtt.password) == ("mqtt://10.0.0.2:1883", "", "")
    cfg = unit_config(root, "display", monkeypatch)
    assert (cfg.mqtt.url, cfg.mqtt.username, cfg.mqtt.client_id) == ("mqtt://10.0.0.2:1883", "display-1", "display-1")
    assert client_id_for(cfg, "display") == "display-1"
    assert "NTP=10.0.0.2" in (root / "etc/systemd/timesyncd.conf.d/antre.conf").read_text().splitlines()
    assert (root / "boot/firmware/config.txt").read_text() == "dtoverlay=i2c-rtc,ds3231\n"
    assert not (root / "etc/mosquitto").exists()

    before = tree_hash(root)
    assert lines(install(root, *args))[-1] == "Done: 0 changes."
    assert tree_hash(root) == before


def test_web_install_logs_in_as_web_and_generates_the_staff_password(tmp_path, antre_bin, monkeypatch):
    """A website Pi: the web login from the server, and a staff password generated (by the real
    `antre config secrets`) into antre.toml as a hash, its clear value in a root-only note."""
    root = tmp_path / "root"
    root.mkdir()
    login = snippet(tmp_path / "web-1.toml", "web-1", "web")
    args = ["--role", "web", "--server", "10.0.0.2", "--device-config", str(login)]
    first = lines(install(root, *args, antre_bin=antre_bin))
    assert "skipped (--root): systemctl enable --now antre-web.service" in first
    assert f"skipped (--root): /opt/antre/venv/bin/pip install --upgrade --upgrade-strategy only-if-needed {ROOT}[web]" \
        in first
    assert (root / "etc/systemd/system/antre-web.service").read_bytes() == (ROOT / "systemd/antre-web.service").read_bytes()
    assert not (root / "etc/udev").exists() and not (root / "etc/mosquitto").exists()
    cfg = unit_config(root, "web", monkeypatch)
    assert (cfg.mqtt.url, cfg.mqtt.username) == ("mqtt://10.0.0.2:1883", "web-1")
    assert client_id_for(cfg, "web") == "web-1"  # the ACL gives web-1 its replies by user name
    assert PIN_NOTE not in first
    note = root / "etc/antre/first-secrets.txt"
    assert oct(note.stat().st_mode & 0o777) == "0o600"
    password = re.search(r"/staf\): (\S+)", note.read_text())[1]
    from antre_web.security import verify_pin
    assert len(password) >= 12 and verify_pin(password, cfg.web.staff_password_hash)
    assert password not in (root / "etc/antre/antre.toml").read_text()
    assert any(line.startswith("note: /etc/antre/first-secrets.txt") for line in first)

    # Once: the same run changes nothing and generates nothing new.
    again = lines(install(root, *args, antre_bin=antre_bin))
    assert again[-1] == "Done: 0 changes." and PIN_NOTE not in again
    assert unit_config(root, "web", monkeypatch).web.staff_password_hash == cfg.web.staff_password_hash


def test_kiosk_install_never_keeps_the_sample_staff_pin(tmp_path, antre_bin):
    root = tmp_path / "root"
    root.mkdir()
    login = snippet(tmp_path / "kiosk-1.toml", "kiosk-1", "kiosk")
    install(root, "--role", "kiosk", "--server", "10.0.0.2", "--device-config", str(login), antre_bin=antre_bin)
    cfg = config.load(root / "etc/antre/antre.toml")
    assert cfg.kiosk.staff_pin != "1234" and len(cfg.kiosk.staff_pin) == 8 and cfg.kiosk.staff_pin.isdigit()
    assert cfg.kiosk.staff_pin in (root / "etc/antre/first-secrets.txt").read_text()
    checked = subprocess.run([str(antre_bin), "config", "check", "--strict", str(root / "etc/antre/antre.toml")],
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "warning" not in checked.stderr, checked.stderr


def test_device_pi_with_two_roles_gets_one_login_per_role(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    display = snippet(tmp_path / "display-2.toml", "display-2", "display")
    counter = snippet(tmp_path / "counter-2.toml", "counter-2", "counter", password="another-long-password-98765")
    args = ["--role", "display", "--role", "counter", "--server", "10.0.0.2",
            "--device-config", str(counter), "--device-config", str(display)]
    install(root, *args)
    assert unit_config(root, "display", monkeypatch).mqtt.username == "display-2"
    cfg = unit_config(root, "counter", monkeypatch)
    assert (cfg.mqtt.username, cfg.mqtt.password) == ("counter-2", "another-long-password-98765")
    assert client_id_for(cfg, "counter") == "counter-2"
    assert lines(install(root, *args))[-1] == "Done: 0 changes."

    # A new password from the server (--rotate): installed, and only that unit restarts.
    snippet(counter, "counter-2", "counter", password="a-rotated-long-password-4242")
    out = lines(install(root, *args))
    assert "installed: /etc/antre/devices/counter-2.toml" in out
    assert "skipped (--root): systemctl try-restart antre-counter.service" in out
    assert not any("try-restart antre-display.service" in line for line in out)
    assert unit_config(root, "counter", monkeypatch).mqtt.password == "a-rotated-long-password-4242"


def test_a_hand_made_login_without_header_fits_a_single_role(tmp_path, monkeypatch):
    login = tmp_path / "kiosk.toml"
    login.write_text('[mqtt]\nurl = "mqtts://srv:8883"\nusername = "kiosk-3"\npassword = "pw-long-enough-1234"\n')
    root = tmp_path / "root"
    root.mkdir()
    install(root, "--role", "kiosk", "--device-config", str(login))
    cfg = unit_config(root, "kiosk", monkeypatch)
    assert (cfg.mqtt.url, cfg.mqtt.username) == ("mqtts://srv:8883", "kiosk-3")


@pytest.mark.parametrize("roles,files,message", [
    (["display"], [("kiosk-1", "kiosk")], "the login of 'kiosk-1' has role 'kiosk'; this Pi's roles are: display"),
    (["kiosk"], [("kiosk-1", "kiosk"), ("kiosk-2", "kiosk")], "two logins for role 'kiosk' (kiosk-1, kiosk-2)"),
    (["kiosk"], [("web-1", "web")], "has role 'web'"),
    (["server", "kiosk"], [("kiosk-1", "kiosk")], "--device-config is for Pis without the server role"),
    (["kiosk", "display"], [("kiosk-1", "")], "cannot tell its role"),
    (["kiosk"], [("Not A Name", "kiosk")], "no 'username = \"NAME\"' line"),
])
def test_wrong_logins_are_refused_before_anything_changes(tmp_path, roles, files, message):
    root = tmp_path / "root"
    root.mkdir()
    args = [a for r in roles for a in ("--role", r)]
    for name, role in files:
        f = snippet(tmp_path / f"{len(args)}.toml", name, role)
        if not role:
            f.write_text("\n".join(line for line in f.read_text().splitlines() if not line.startswith("#")) + "\n")
        args += ["--device-config", str(f)]
    result = install(root, *args, check=False)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert list(root.iterdir()) == []


def test_changed_unit_file_is_replaced_and_restarted(tmp_path):
    install(tmp_path, "--role", "counter")
    unit = tmp_path / "etc/systemd/system/antre-counter.service"
    unit.write_text(unit.read_text() + "# local edit\n")
    out = lines(install(tmp_path, "--role", "counter"))
    assert "installed: /etc/systemd/system/antre-counter.service" in out
    assert "skipped (--root): systemctl try-restart antre-counter.service" in out
    assert unit.read_bytes() == (ROOT / "systemd/antre-counter.service").read_bytes()


@needs_passwd
def test_uninstall_removes_what_install_added_and_keeps_data(tmp_path, antre_bin):
    install(tmp_path, "--role", "server", "--role", "kiosk", "--role", "web", "--broker-host", "srv",
            antre_bin=antre_bin)
    assert login_dropin(tmp_path, "kiosk").exists() and login_dropin(tmp_path, "web").exists()
    override = tmp_path / "etc/systemd/system/antre-kiosk.service.d/override.conf"  # systemctl edit
    override.write_text("[Service]\nEnvironment=KIVY_ROTATION=90\n")
    (tmp_path / "var/lib/antre").mkdir(parents=True)
    (tmp_path / "var/lib/antre/antre.db").write_bytes(b"data")
    out = lines(install(tmp_path, "--uninstall"))
    assert "skipped (--root): systemctl disable --now antre.service" in out
    assert "skipped (--root): systemctl disable --now antre-web.service" in out
    for gone in ("etc/systemd/system/antre.service", "etc/systemd/system/antre-kiosk.service",
                 "etc/systemd/system/antre-web.service", "etc/systemd/system/antre-web.service.d",
                 "etc/udev/rules.d/60-antre-printers.rules", "etc/mosquitto/conf.d/antre.conf",
                 "etc/sysusers.d/antre.conf", "etc/tmpfiles.d/antre.conf", "etc/chrony/conf.d/antre.conf",
                 "etc/systemd/system/antre.service.d", "etc/systemd/system/antre-kiosk.service.d/antre-login.conf"):
        assert not (tmp_path / gone).exists(), gone
    assert override.exists()  # the admin's own drop-in stays
    assert (tmp_path / "etc/antre/antre.toml").exists()
    assert (tmp_path / "var/lib/antre/antre.db").read_bytes() == b"data"
    assert lines(install(tmp_path, "--uninstall"))[-1] == "Done: 0 changes."

    install(tmp_path, "--uninstall", "--purge")
    assert not (tmp_path / "etc/antre").exists()
    assert not (tmp_path / "var/lib/antre").exists()


# --------------------------------------------------------------------------
# Every role on its own, for real into a staging root
# --------------------------------------------------------------------------

@pytest.mark.parametrize("role", list(UNIT))
def test_each_role_installs_into_a_staging_root(tmp_path, antre_bin, role):
    if role == "server" and shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is not installed (apt install mosquitto)")
    root = tmp_path / "root"
    root.mkdir()
    args = ["--role", role, "--broker-host" if role == "server" else "--server", "srv"]
    out = lines(install(root, *args, antre_bin=antre_bin))
    assert out.index("skipped (--root): apt-get update") < next(
        i for i, line in enumerate(out) if line.startswith("skipped (--root): apt-get install"))
    assert (root / "etc/systemd/system" / UNIT[role]).read_bytes() == (ROOT / "systemd" / UNIT[role]).read_bytes()
    # `antre` is on PATH on the installed system: /usr/local/bin is on every PATH, sudo's secure_path too.
    link = root / "usr/local/bin/antre"
    assert link.is_symlink() and os.readlink(link) == "/opt/antre/venv/bin/antre"
    cfg = config.load(root / "etc/antre/antre.toml")   # what `antre config check` reads: valid
    assert cfg.mqtt.url == ("mqtt://localhost:1883" if role == "server" else "mqtt://srv:1883")
    assert ("\n[web]\n" in (root / "etc/antre/antre.toml").read_text()) == (role == "web")
    sms = root / "etc/systemd/system" / f"{UNIT[role]}.d" / "antre-sms.conf"   # gammu-smsd's spool (docs/sms.md)
    assert sms.exists() == (role == "server")
    if role == "server":
        assert "SupplementaryGroups=gammu\nReadWritePaths=-/var/spool/gammu\n" in sms.read_text()
    before = tree_hash(root)
    assert lines(install(root, *args, antre_bin=antre_bin))[-1] == "Done: 0 changes."
    assert tree_hash(root) == before

    out = lines(install(root, "--uninstall"))
    assert "removed: /usr/local/bin/antre" in out and not link.is_symlink() and not sms.exists()


def test_a_file_of_the_admins_own_is_not_replaced_by_the_link(tmp_path):
    own = tmp_path / "usr/local/bin/antre"
    own.parent.mkdir(parents=True)
    own.write_text("#!/bin/sh\necho mine\n")
    out = lines(install(tmp_path, "--role", "display"))
    assert "kept: /usr/local/bin/antre (not a link; /opt/antre/venv/bin/antre is not linked there)" in out
    assert own.read_text() == "#!/bin/sh\necho mine\n"
    install(tmp_path, "--uninstall")
    assert own.read_text() == "#!/bin/sh\necho mine\n"


@needs_passwd
@pytest.mark.parametrize("role", ["web", "kiosk"])
def test_a_role_added_later_gets_its_section_in_the_existing_antre_toml(tmp_path, antre_bin, role):
    """antre.toml is written once; a role installed later still gets its section, appended with its own
    new secret (clear value in a root-only note of its own), and the admin's edits are kept."""
    install(tmp_path, "--role", "server", "--broker-host", "srv", antre_bin=antre_bin)
    toml = tmp_path / "etc/antre/antre.toml"
    assert f"[{role}]" not in toml.read_text()
    edited = toml.read_text().replace('id = "sukamaju"', 'id = "mekarsari"')
    toml.write_text(edited)

    args = ["--role", "server", "--role", role, "--broker-host", "srv"]
    dry = lines(install(tmp_path, "--dry-run", *args, antre_bin=antre_bin))
    assert f"would add to /etc/antre/antre.toml: [{role}]" in dry and toml.read_text() == edited
    out = lines(install(tmp_path, *args, antre_bin=antre_bin))
    assert f"added to /etc/antre/antre.toml: [{role}] (the {role} role is new on this Pi)" in out
    text = toml.read_text()
    assert text.startswith(edited) and text.count(f"\n[{role}]\n") == 1
    cfg = config.load(toml)
    assert cfg.office.id == "mekarsari"
    note = tmp_path / f"etc/antre/first-secrets-{role}.txt"
    assert oct(note.stat().st_mode & 0o777) == "0o600"
    if role == "web":
        from antre_web.security import verify_pin
        password = re.search(r"/staf\): (\S+)", note.read_text())[1]
        assert verify_pin(password, cfg.web.staff_password_hash) and password not in text
        assert PIN_NOTE not in out
    else:
        assert cfg.kiosk.staff_pin != "1234" and cfg.kiosk.staff_pin in note.read_text()
    # Valid; for the kiosk also free of weak secrets (--strict; a server+web Pi keeps the sample's unused kiosk PIN).
    strict = ["--strict"] if role == "kiosk" else []
    checked = subprocess.run([str(antre_bin), "config", "check", *strict, str(toml)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert lines(install(tmp_path, *args, antre_bin=antre_bin))[-1] == "Done: 0 changes."
    assert toml.read_text() == text


# --------------------------------------------------------------------------
# The package steps, against the real archive and the real package index
# --------------------------------------------------------------------------

def planned_packages(tmp_path: Path, role: str) -> tuple[list[str], str]:
    out = lines(install(tmp_path, "--dry-run", "--role", role))
    apt = next(line for line in out if line.startswith("would run: apt-get install"))
    pip = next(line for line in out if "/bin/pip install " in line)
    return apt.split("--no-install-recommends ", 1)[1].split(), pip.rsplit(" ", 1)[1]


@pytest.mark.skipif(shutil.which("apt-get") is None or not Path("/var/lib/apt/lists").is_dir()
                    or not any(Path("/var/lib/apt/lists").glob("*_Packages*")),
                    reason="needs apt-get with package lists (Debian; run apt-get update)")
@pytest.mark.parametrize("role", list(UNIT))
def test_each_roles_debian_packages_install_on_an_empty_system(tmp_path, role):
    """apt resolves the installer's package list on a system with nothing installed (an empty dpkg
    status), from this machine's archive: every name exists in Debian 12 and its dependencies resolve.
    Raspberry Pi OS's own packages are outside the list (they are asked for only where they exist)."""
    packages, _ = planned_packages(tmp_path, role)
    status = tmp_path / "status"
    status.write_text("")
    r = subprocess.run(["apt-get", "install", "--simulate", "--no-install-recommends", "-o",
                        f"Dir::State::status={status}", "-o", "Debug::NoLocking=1", *packages],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "\nInst python3-dev " not in r.stdout and "\nInst gcc " not in r.stdout   # nothing to compile with
    if role == "counter":
        assert "Inst python3-evdev " in r.stdout


@pytest.mark.skipif(not Path("/usr/lib/python3/dist-packages/evdev").is_dir(),
                    reason="needs Debian's python3 with python3-evdev (apt install python3-evdev python3-venv)")
def test_the_counter_venv_takes_evdev_from_debian_and_builds_nothing(tmp_path):
    """The installer's venv (Debian's python3, --system-site-packages) and its pip command for the
    counter role: pip resolves everything from wheels or Debian, so no compiler and no Python.h."""
    _, requirement = planned_packages(tmp_path, "counter")
    assert requirement == f"{ROOT}[counter,pi]"
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    report = tmp_path / "report.json"
    r = subprocess.run([str(venv / "bin/pip"), "install", "--dry-run", "--quiet", "--report", str(report),
                        "--upgrade", "--upgrade-strategy", "only-if-needed", requirement],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    import json
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert "antre" in names and "gpiozero" in names
    assert "evdev" not in names   # Debian's python3-evdev 1.6 satisfies evdev>=1.6: nothing to compile


@needs_passwd
def test_district_url_writes_the_bridge_with_the_office_login_and_a_second_run_changes_nothing(tmp_path, antre_bin):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n")
    (tmp_path / "pw").write_text("the-office-district-secret-123\n")
    args = ["--role", "server", "--office", "cibiru", "--district-url", "mqtts://mqtt.bandungkab.go.id",
            "--district-ca", str(tmp_path / "ca.pem"), "--district-password-file", str(tmp_path / "pw")]
    first = install(root, *args, antre_bin=antre_bin)
    bridge = root / "etc/mosquitto/conf.d/antre-district.conf"
    text = bridge.read_text()
    assert "address mqtt.bandungkab.go.id:8883" in text
    assert "remote_username cibiru\n" in text and "remote_password the-office-district-secret-123\n" in text
    assert f"bridge_cafile {root}/etc/antre/district-ca.pem" in text
    assert "topic antre/v2/cibiru/district/event out 1" in text
    assert bridge.stat().st_mode & 0o777 == 0o640
    assert (root / "etc/antre/district.password").stat().st_mode & 0o777 == 0o600
    assert "the-office-district-secret" not in first.stdout + first.stderr
    before = tree_hash(root)
    second = install(root, *args, antre_bin=antre_bin)
    assert lines(second)[-1] == "Done: 0 changes."
    assert tree_hash(root) == before
    # Half the options is refused before anything changes.
    refused = install(root, "--role", "server", "--district-url", "mqtts://h", antre_bin=antre_bin, check=False)
    assert refused.returncode != 0 and "--district-ca" in refused.stderr
