"""Configuration: defaults, validation messages people can act on, masking, the CLI."""

import dataclasses
import os
import subprocess
import sys

import pytest

from antre import config
from antre.errors import ConfigError
from tests.support import ROOT


def antre(*args, env=None):
    return subprocess.run([sys.executable, "-m", "antre", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=60)


def test_defaults_describe_a_sample_office():
    cfg = config.load_defaults()
    assert cfg.office.name == "Kantor Desa Sukamaju"
    assert len(cfg.services) >= 3 and len(cfg.counters) >= 3
    assert any(len(c.services) > 1 for c in cfg.counters)
    assert cfg.base_topic == "antre/v2/sukamaju"


def test_missing_default_file_gives_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTRE_CONFIG", raising=False)
    monkeypatch.setattr(config, "DEFAULT_PATH", tmp_path / "absent.toml")
    assert config.load().source == "<built-in defaults>"


def test_env_var_names_the_file(tmp_path, monkeypatch):
    p = tmp_path / "a.toml"
    p.write_text('[office]\nid = "desa-x"\nname = "Kantor Desa X"\n')
    monkeypatch.setenv("ANTRE_CONFIG", str(p))
    assert config.load().office.id == "desa-x"


def test_explicit_missing_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml")


@pytest.mark.parametrize("text, message", [
    ('[mqtt]\nusrname = "x"\n', r"\[mqtt\] unknown key 'usrname' \(did you mean 'username'\?\)"),
    ('[ofice]\n', r"unknown key 'ofice' \(did you mean 'office'\?\)"),
    ('[office]\ntimezone = "Jakarta"\n', r"'office.timezone' = 'Jakarta' must be an IANA time zone"),
    ('[office]\nhours.mon = "15:00-08:00"\n', r"'office.hours.mon' = '15:00-08:00' must be 'HH:MM-HH:MM'"),
    ('[mqtt]\nurl = "http://x"\n', r"'mqtt.url' = 'http://x' must look like 'mqtt://host:1883'"),
    ('[queue]\nnumber_width = "3"\n', r"'queue.number_width' must be a whole number, not '3'"),
    ('[queue]\nnumber_width = 9\n', r"'queue.number_width' = 9 must be between 1 and 6"),
    ('[[services]]\ncode = "a"\nname = "A"\nprefix = "AA"\n', r"'services\[0\].prefix' = 'AA' must be one capital"),
    ('[[services]]\ncode = "a"\nname = "A"\n', r"\[services\[0\]\] missing required key 'prefix'"),
    ('[[services]]\ncode="a"\nname="A"\nprefix="A"\n[[services]]\ncode="b"\nname="B"\nprefix="A"\n',
     r"two services have prefix 'A'"),
    ('[[counters]]\nid = "l1"\nname = "Loket 1"\nservices = ["adminduc"]\n',
     r"counter 'l1' serves unknown service 'adminduc' \(did you mean 'adminduk'\?\)"),
    ('[kiosk]\nprinter = "lpt1"\n', r"'kiosk.printer' = 'lpt1' must be 'none' or a URL"),
    ('[[counters]]\nid = "l1"\nname = "Loket 1"\nservices = ["adminduk"]\ndevices = ["Meja 1"]\n',
     r"'counters\[0\].devices' = \['Meja 1'\] must be a list of broker login names"),
    ('office = 3\n', r"'office' must be a table"),
    ('[office\n', r"not valid TOML"),
])
def test_bad_values_name_file_key_and_fix(tmp_path, text, message):
    p = tmp_path / "antre.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        config.load(p)
    assert str(p) in str(err.value)


@pytest.mark.parametrize("text, message", [
    ('[kiosck]\n', r"unknown key 'kiosck' \(did you mean 'kiosk'\?\)"),
    ('[kiosk]\nprintr = "none"\n', r"\[kiosk\] unknown key 'printr' \(did you mean 'printer'\?\)"),
    ('[counter]\nrequest_timeout = 0\n', r"'counter.request_timeout' = 0.0 must be greater than 0"),
    ('[[counter.gpio]]\ncounter = "loket-9"\n', r"\[counter\] wiring names unknown counter 'loket-9'"),
    ('[display]\nvoice = "festival"\n', r"'display.voice' must be 'espeak' or 'clips' or 'off', not 'festival'"),
    ('[kiosk]\nmode = "rating"\n', r"kiosk.mode = 'rating' needs kiosk.rating_counter"),
    # [web]: the website's own options and the service's rules for it, one table with two owners
    ('[web]\nprot = 8080\n', r"\[web\] unknown key 'prot' \(did you mean 'port'\?\)"),
    ('[web]\nweb_shar = 10\n', r"\[web\] unknown key 'web_shar' \(did you mean 'web_share'\?\)"),
    ('[web]\npublic_url = "antre.desa.id"\n', r"'web.public_url' = 'antre.desa.id' must be empty or an address"),
    ('[[web.appointments]]\nservice = "surta"\n', r"names unknown service 'surta' \(did you mean 'surat'\?\)"),
    ('[web]\nstaff_pin_hash = 3\n', r"'web.staff_pin_hash' must be a string, not 3"),
])
def test_each_apps_table_is_checked_like_the_cores(tmp_path, text, message):
    """The kiosk, counter, display and web tables are declared in the apps' own packages
    (kiosk/config.py, ...) and found through entry points; their mistakes read the same."""
    p = tmp_path / "antre.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(p)


def test_each_app_declares_its_table_next_to_its_code():
    cfg = config.load_defaults()
    owners = {name: type(cfg.app(name)).__module__ for name in ("kiosk", "counter", "display", "web")}
    assert owners == {"kiosk": "antre_kiosk.config", "counter": "antre_counter.config", "display": "antre_display.config",
                      "web": "antre_web.config"}
    assert [t.name for t in config.tables()] == ["kiosk", "counter", "display", "web"]
    # the service's rules for the website stay in the core, and the website's table extends them
    assert isinstance(cfg.web, config.WebRulesConfig) and cfg.web.web_share == 30 and cfg.web.port == 8080
    assert config.Config() == cfg
    changed = cfg.replace(kiosk=dataclasses.replace(cfg.kiosk, paper_width=58), queue=cfg.queue)
    assert changed.kiosk.paper_width == 58 and cfg.kiosk.paper_width == 80 and changed.display is cfg.display
    with pytest.raises(AttributeError, match="no table 'kiosks'"):
        cfg.kiosks


def test_a_table_whose_declaration_cannot_be_imported_says_how_to_fix_it(tmp_path):
    """An environment installed before an app's table moved (its entry point names a module that is not
    there): a sentence saying to bootstrap again, not a traceback."""
    dist = tmp_path / "antre_stale-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: antre-stale\nVersion: 0\n")
    (dist / "entry_points.txt").write_text("[antre.config]\nstale = antre_no_such_app.config:SECTION\n")
    r = antre("config", "check", env=os.environ | {"PYTHONPATH": str(tmp_path), "ANTRE_CONFIG": ""})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "(antre_no_such_app.config:SECTION) cannot be imported" in r.stderr and "scripts/bootstrap" in r.stderr


def test_secrets_are_masked_in_errors_and_output(tmp_path):
    p = tmp_path / "antre.toml"
    p.write_text('[mqtt]\nusername = "kiosk-1"\npassword = "s3cret-pass"\n[kiosk]\nstaff_pin = "9876"\n')
    out = config.to_toml(config.load(p))
    assert "s3cret-pass" not in out and "9876" not in out
    assert 'password = "********"' in out
    assert "s3cret-pass" in config.to_toml(config.load(p), mask=False)


def test_printed_config_loads_back_identically(tmp_path):
    cfg = config.load_defaults()
    p = tmp_path / "sample.toml"
    p.write_text(config.to_toml(cfg, mask=False))
    assert config.load(p) == cfg


def test_counters_may_be_pinned_to_their_devices(tmp_path):
    p = tmp_path / "antre.toml"
    p.write_text('[[counters]]\nid = "l1"\nname = "Loket 1"\nservices = ["adminduk"]\ndevices = ["counter-meja1"]\n')
    assert config.load(p).counters[0].devices == ["counter-meja1"]


def test_cli_config_check_ok_and_error(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[mqtt]\npassword = "hunter22"\n')
    r = antre("config", "check", str(good))
    assert r.returncode == 0, r.stderr
    assert f"# {good}: OK" in r.stdout and "hunter22" not in r.stdout and "********" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[database]\nurl = "mysql://x"\n')
    r = antre("config", "check", str(bad))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad}: 'database.url' = 'mysql://x' must be a SQLAlchemy URL" in r.stderr


def test_config_check_warns_about_default_and_guessable_secrets(tmp_path):
    sample = tmp_path / "sample.toml"
    sample.write_text(antre("config", "sample").stdout)
    r = antre("config", "check", str(sample))
    assert r.returncode == 0 and f"# {sample}: OK, 1 warning(s)" in r.stdout
    assert "antre config check: warning: [kiosk] staff_pin is the sample's default '1234'" in r.stderr
    assert antre("config", "check", "--strict", str(sample)).returncode == 1
    for pin in ("1111", "123456", "98765432", "2580"):
        weak = tmp_path / "weak.toml"
        weak.write_text(f'[kiosk]\nstaff_pin = "{pin}"\n[web]\nstaff_pin_hash = "scrypt$1$8$1$aa$bb"\n'
                        '[mqtt]\npassword = "antre123"\n')
        r = antre("config", "check", str(weak))
        assert r.returncode == 0 and r.stderr.count("warning:") == 3, (pin, r.stderr)
        assert "[kiosk] staff_pin is easy to guess" in r.stderr and "staff_password_hash" in r.stderr
    made = antre("config", "secrets", "--roles", "kiosk,web")
    good = tmp_path / "good.toml"
    good.write_text(made.stdout)
    r = antre("config", "check", "--strict", str(good))
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    pin = config.load(good).kiosk.staff_pin
    assert f"Kiosk staff PIN (PIN petugas kios): {pin}" in made.stderr and pin not in r.stdout


def test_cli_help_is_clear():
    r = antre("--help")
    assert r.returncode == 0 and "serve" in r.stdout and "config" in r.stdout
    r = antre("serve", "--help")
    assert r.returncode == 0 and "--mqtt-url" in r.stdout and "--db-url" in r.stdout


def test_serve_refuses_bad_flags_clearly(tmp_path):
    r = antre("serve", "--mqtt-url", "tcp://nowhere", "--db-url", f"sqlite:///{tmp_path}/a.db")
    assert r.returncode == 2 and "--mqtt-url 'tcp://nowhere' must look like" in r.stderr
    r = antre("serve", "--db-url", f"sqlite:///{tmp_path}/missing/dir/a.db")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_device_credentials_file_overrides_mqtt(tmp_path, monkeypatch):
    main = tmp_path / "antre.toml"
    main.write_text('[mqtt]\nurl = "mqtt://server.local:1883"\nusername = "shared"\n')
    device = tmp_path / "kiosk-1.toml"
    device.write_text('[mqtt]\nusername = "kiosk-1"\npassword = "pw"\nclient_id = "kiosk-1"\n')
    monkeypatch.setenv("ANTRE_MQTT_FILE", str(device))
    cfg = config.load(main)
    assert (cfg.mqtt.url, cfg.mqtt.username, cfg.mqtt.client_id) == ("mqtt://server.local:1883", "kiosk-1", "kiosk-1")
    from antre.link.mqtt import client_id_for
    assert client_id_for(cfg, "kiosk") == "kiosk-1"
    device.write_text('[kiosk]\nprinter = "none"\n')
    with pytest.raises(ConfigError, match="only an \\[mqtt\\] table belongs here"):
        config.load(main)
