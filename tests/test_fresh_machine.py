"""What a new user meets before anything runs: hints that name commands which work as typed.

The set-up itself (scripts/bootstrap, scripts/demo, scripts/install-pi on a minimal Debian 12) is tried
for real by scripts/fresh-check, which CI runs; these are the messages it relies on.
"""

import os
import shlex
import subprocess
import sys

from tests.support import ROOT


def run_antre(*args: str, env: dict[str, str] | None = None, code: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "ANTRE_DEMO_COMMAND")}
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "antre", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=base | (env or {}), timeout=60)


def test_the_demo_without_a_display_names_the_command_that_was_used(tmp_path):
    r = run_antre("demo", "--out", str(tmp_path / "d"))
    assert r.returncode == 2
    assert "no desktop to open windows on (DISPLAY is not set); try 'antre demo --headless'" in r.stderr
    # scripts/demo says so: its users may not have `antre` on PATH.
    r = run_antre("demo", "--out", str(tmp_path / "d"), env={"ANTRE_DEMO_COMMAND": "scripts/demo"})
    assert r.returncode == 2 and "try 'scripts/demo --headless'" in r.stderr
    assert (ROOT / "scripts/demo").stat().st_mode & 0o111


def test_a_part_that_is_not_installed_says_how_to_add_it_to_this_environment():
    code = "import sys; sys.modules['kivy'] = None\nfrom antre.cli import main\nsys.exit(main(['kiosk']))"
    r = run_antre(code=code)
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("antre kiosk: this part is not installed (missing Python package 'kivy")
    hint = shlex.split(line.split("install it with: ", 1)[1])
    if hint[0] == "sudo":
        hint = hint[1:]
    # This environment's own Python and pip, and this checkout with the kiosk's extra.
    assert hint[:5] == [sys.executable, "-m", "pip", "install", "-e"] and hint[5] == f"{ROOT}[kiosk]"
    assert os.access(hint[0], os.X_OK) and (ROOT / "pyproject.toml").is_file()
