"""The installed Antre is the whole Antre: every file the code reads at run time is in the wheel.

`scripts/install-pi` installs with a normal (not editable) pip install, which builds a wheel from
pyproject.toml's package list and package-data. A template or asset missing there works in a checkout
and in every other test, and breaks only on the Pi (a console page answering 500). So build the wheel,
as the installer does, from a copy of exactly the files git tracks, and compare.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The folders that are packages, and the names they install under (pyproject.toml [tool.setuptools]).
INSTALLED_AS = {"antre": "antre", "kiosk": "antre_kiosk", "counter": "antre_counter",
                "display": "antre_display", "web": "antre_web"}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", *INSTALLED_AS], cwd=ROOT, capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout")
    src = tmp_path_factory.mktemp("src")
    for name in ["pyproject.toml", "README.md", "LICENSE", *tracked_files()]:
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (whl,) = out.glob("antre-*.whl")
    return zipfile.ZipFile(whl)


def test_every_tracked_file_of_the_packages_is_in_the_wheel(wheel):
    inside = set(wheel.namelist())
    missing = []
    for name in tracked_files():
        folder, _, rest = name.partition("/")
        if "__pycache__" in rest:
            continue
        if f"{INSTALLED_AS[folder]}/{rest}" not in inside:
            missing.append(name)
    assert not missing, f"in git but not in the installed package (pyproject.toml package-data): {missing}"


def test_the_wheel_has_no_generic_top_level_names(wheel):
    tops = {name.split("/", 1)[0] for name in wheel.namelist() if not name.split("/", 1)[0].endswith((".dist-info", ".data"))}
    assert tops == set(INSTALLED_AS.values()), tops
