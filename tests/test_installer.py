"""scripts/install-pi, run for real into throwaway roots (``--root``).

Under --root the installer writes every file into the root and only prints the
commands that act on the running system (apt-get, pip, systemctl,
systemd-sysusers, udevadm). ``antre broker setup`` writes files only, so it runs
for real, through ANTRE_BIN (this checkout's antre).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from antre import config

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


# --------------------------------------------------------------------------
# --dry-run: the plan per role, and nothing written
# --------------------------------------------------------------------------

@pytest.mark.parametrize("role,unit,packages", [
    ("server", "antre.service", ["mosquitto", "mosquitto-clients", "chrony"]),
    ("kiosk", "antre-kiosk.service", ["libgles2", "libgbm1", "libusb-1.0-0"]),
    ("display", "antre-display.service", ["espeak-ng", "sox", "alsa-utils", "libgles2"]),
    ("counter", "antre-counter.service", ["python3-lgpio"]),
])
def test_dry_run_plans_each_role(tmp_path, role, unit, packages):
    result = install(tmp_path, "--dry-run", "--role", role)
    out = lines(result)
    apt = next(line for line in out if line.startswith("would run: apt-get install"))
    for pkg in ["python3-venv", *packages]:
        assert f" {pkg}" in apt, f"{role}: {pkg} missing from {apt}"
    assert f"would install: /etc/systemd/system/{unit} (mode 0644)" in out
    assert f"would run: systemctl enable --now {unit}" in out
    assert "would run: systemd-sysusers antre.conf" in out
    assert "would install: /etc/sysusers.d/antre.conf (mode 0644)" in out
    assert "would install: /etc/tmpfiles.d/antre.conf (mode 0644)" in out
    assert "would install: /etc/antre/antre.toml (mode 0640)" in out
    extras = {"server": "reports", "kiosk": "kiosk", "display": "display", "counter": "counter,pi"}[role]
    assert f"would run: /opt/antre/venv/bin/pip install --upgrade --upgrade-strategy only-if-needed {ROOT}[{extras}]" in out
    other_units = {"antre.service", "antre-kiosk.service", "antre-display.service", "antre-counter.service"} - {unit}
    assert not any(u in line for line in out for u in other_units)
    # Role-specific parts, and only for that role.
    assert ("would install: /etc/mosquitto/conf.d/antre.conf (mode 0644)" in out) == (role == "server")
    assert any(" broker setup " in line for line in out) == (role == "server")
    assert ("would install: /etc/chrony/conf.d/antre.conf (mode 0644)" in out) == (role == "server")
    assert ("would install: /etc/udev/rules.d/60-antre-printers.rules (mode 0644)" in out) == (role == "kiosk")
    assert out[-1].startswith("Dry run: ") and out[-1].endswith(" file changes planned, nothing changed.")
    assert int(out[-1].split()[2]) == sum(line.startswith("would install:") or line.startswith("would create")
                                          for line in out)
    assert list(tmp_path.iterdir()) == []  # a dry run writes nothing


def test_dry_run_with_several_roles_and_options(tmp_path):
    out = lines(install(tmp_path, "--dry-run", "--role", "display", "--role", "counter",
                        "--server", "10.0.0.2", "--rtc"))
    assert "would install: /etc/systemd/system/antre-display.service (mode 0644)" in out
    assert "would install: /etc/systemd/system/antre-counter.service (mode 0644)" in out
    assert "would install: /etc/systemd/timesyncd.conf.d/antre.conf (mode 0644)" in out
    assert "would add to /boot/firmware/config.txt: dtoverlay=i2c-rtc,ds3231" in out
    pip = next(line for line in out if "pip install" in line)
    assert pip.endswith("[display,counter,pi]")
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
])
def test_bad_options_are_refused(tmp_path, args, message):
    result = install(tmp_path, *args, check=False)
    assert result.returncode == 2
    assert message in result.stderr


# --------------------------------------------------------------------------
# Real runs into a throwaway root
# --------------------------------------------------------------------------

@needs_passwd
def test_server_install_writes_files_and_second_run_changes_nothing(tmp_path, antre_bin):
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

    # antre.toml: valid, carries the service's login and the office id.
    toml = root / "etc/antre/antre.toml"
    assert toml.stat().st_mode & 0o777 == 0o640
    cfg = config.load(toml)
    assert cfg.office.id == "cibiru"
    assert cfg.mqtt.username == "antre-service"
    assert cfg.mqtt.password == tomllib.loads((devices / "antre-service.toml").read_text())["mqtt"]["password"]

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
def test_server_with_device_roles_uses_a_local_login_without_client_id(tmp_path, antre_bin):
    install(tmp_path, "--role", "server", "--role", "kiosk", "--broker-host", "srv", antre_bin=antre_bin)
    cfg = config.load(tmp_path / "etc/antre/antre.toml")
    assert cfg.mqtt.username == "antre-local"
    assert cfg.mqtt.client_id == ""  # service and kiosk keep their own ids
    assert "user antre-local\ntopic readwrite antre/#" in (tmp_path / "etc/mosquitto/antre.acl").read_text()
    assert (tmp_path / "etc/udev/rules.d/60-antre-printers.rules").exists()
    assert (tmp_path / "etc/systemd/system/antre-kiosk.service").exists()


def test_device_install_uses_the_snippet_from_the_server(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    snippet = tmp_path / "display-1.toml"
    snippet.write_text('# from the server\n[mqtt]\nurl = "mqtt://10.0.0.2:1883"\nusername = "display-1"\n'
                       'password = "a-long-random-password-123456"\nclient_id = "display-1"\n')
    args = ["--role", "display", "--server", "10.0.0.2", "--device-config", str(snippet), "--rtc"]
    install(root, *args)
    cfg = config.load(root / "etc/antre/antre.toml")
    assert (cfg.mqtt.url, cfg.mqtt.username, cfg.mqtt.client_id) == ("mqtt://10.0.0.2:1883", "display-1", "display-1")
    assert "NTP=10.0.0.2" in (root / "etc/systemd/timesyncd.conf.d/antre.conf").read_text().splitlines()
    assert (root / "boot/firmware/config.txt").read_text() == "dtoverlay=i2c-rtc,ds3231\n"
    assert not (root / "etc/mosquitto").exists()

    before = tree_hash(root)
    assert lines(install(root, *args))[-1] == "Done: 0 changes."
    assert tree_hash(root) == before


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
    install(tmp_path, "--role", "server", "--role", "kiosk", "--broker-host", "srv", antre_bin=antre_bin)
    (tmp_path / "var/lib/antre").mkdir(parents=True)
    (tmp_path / "var/lib/antre/antre.db").write_bytes(b"data")
    out = lines(install(tmp_path, "--uninstall"))
    assert "skipped (--root): systemctl disable --now antre.service" in out
    for gone in ("etc/systemd/system/antre.service", "etc/systemd/system/antre-kiosk.service",
                 "etc/udev/rules.d/60-antre-printers.rules", "etc/mosquitto/conf.d/antre.conf",
                 "etc/sysusers.d/antre.conf", "etc/tmpfiles.d/antre.conf", "etc/chrony/conf.d/antre.conf"):
        assert not (tmp_path / gone).exists(), gone
    assert (tmp_path / "etc/antre/antre.toml").exists()
    assert (tmp_path / "var/lib/antre/antre.db").read_bytes() == b"data"
    assert lines(install(tmp_path, "--uninstall"))[-1] == "Done: 0 changes."

    install(tmp_path, "--uninstall", "--purge")
    assert not (tmp_path / "etc/antre").exists()
    assert not (tmp_path / "var/lib/antre").exists()
