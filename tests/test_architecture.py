"""The shape of the code (docs/architecture.md): layers whose arrows point down, no import cycles.

The layers are import-linter contracts in pyproject.toml (``[tool.importlinter]``); cycles are found
with grimp, the import graph import-linter is built on. Both run in a subprocess on a source tree, so the
last test can run them on a copy of the tree with a wrong import added and see them refuse it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

# In the test extra (pyproject.toml); a .venv made before it was added needs: .venv/bin/pip install import-linter
pytest.importorskip("importlinter", reason="import-linter is not installed: .venv/bin/pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
# The import names of the packages, and the folder each sits in (pyproject.toml: [tool.setuptools] package-dir).
FOLDERS = {"antre": "antre", "antre_kiosk": "kiosk", "antre_counter": "counter", "antre_display": "display",
           "antre_web": "web"}
PACKAGES = tuple(FOLDERS)

_CHECK = r"""
import importlib.util, json, os, sys, tomllib
import grimp

# The apps install under other names than their folders (antre_kiosk from kiosk/): import them from this
# tree's folders, as pyproject.toml maps them, not from wherever the environment has them installed.
class Folders:
    dirs = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"]

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        folder = cls.dirs.get(name)
        if folder and "." not in name:
            init = os.path.abspath(os.path.join(folder, "__init__.py"))
            return importlib.util.spec_from_file_location(name, init, submodule_search_locations=[os.path.dirname(init)])
        return None


sys.meta_path.insert(0, Folders)
from importlinter.cli import lint_imports

packages = sys.argv[1:]
graph = grimp.build_graph(*packages, exclude_type_checking_imports=True)
cycles = set()
for module in graph.modules:
    for imported in graph.find_modules_directly_imported_by(module):
        back = graph.find_shortest_chain(importer=imported, imported=module)
        if back:
            cycles.add(" -> ".join((module,) + tuple(back)))
rc = lint_imports(config_filename="pyproject.toml", no_cache=True, no_logo=True)
print(json.dumps({"lint": rc, "cycles": sorted(cycles)}))
"""


def _check(root: Path) -> tuple[dict, str]:
    proc = subprocess.run([sys.executable, "-c", _CHECK, *PACKAGES], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "PYTHONSAFEPATH": "1"},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    *report, last = proc.stdout.strip().splitlines()
    return json.loads(last), "\n".join(report)


def test_layers_hold_and_there_are_no_import_cycles():
    result, report = _check(ROOT)
    assert result["cycles"] == []
    assert result["lint"] == 0, report
    assert "0 broken" in report


def test_every_part_of_the_core_has_a_layer():
    """A new module under antre/ must be placed in a layer, or the layer rules would not see it."""
    layers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]["layers"]
    named = {name.strip() for layer in layers for name in layer.split("|")}
    parts = {f"antre.{p.stem}" for p in (ROOT / "antre").iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").is_file()) and p.stem not in ("__init__", "__main__")}
    assert parts - named == set()
    assert named - parts - set(PACKAGES) == set()


def test_the_checks_refuse_a_core_that_imports_an_app_or_a_cycle(tmp_path):
    """Attack the checks themselves: the same tree with the queue importing the kiosk, and with the storage
    importing the queue (which imports the storage) must fail both ways."""
    tree = tmp_path / "tree"
    tree.mkdir()
    for folder in FOLDERS.values():
        shutil.copytree(ROOT / folder, tree / folder, ignore=shutil.ignore_patterns("__pycache__", "*.png", "*.wav"))
    shutil.copy(ROOT / "pyproject.toml", tree)

    queue = tree / "antre" / "rules" / "queue.py"
    queue.write_text(queue.read_text() + "\nfrom antre_kiosk import ticket  # upward\n")
    storage = tree / "antre" / "storage" / "models.py"
    storage.write_text(storage.read_text() + "\nimport antre.rules.queue  # cycle\n")

    result, report = _check(tree)
    assert result["lint"] != 0
    assert "antre.rules.queue -> antre_kiosk.ticket" in report
    assert any(c.startswith("antre.storage.models -> antre.rules.queue") or "antre.storage.models" in c
               for c in result["cycles"])


# ---------------------------------------------------------------------- the installed names


APP_FOLDERS = [f for f in FOLDERS.values() if f != "antre"]
_BARE = re.compile(rf"^\s*(?:from|import)\s+({'|'.join(APP_FOLDERS)})(?:\.\w+)*(?:\s|$|,)", re.M)


def test_no_module_imports_an_app_by_its_folder_name():
    """kiosk/ installs as antre_kiosk: importing it by the folder's name works only by chance, from the top
    of a checkout (and would load a second copy of the module), never from an installed package."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if {".venv", "build", "node_modules"} & set(path.relative_to(ROOT).parts):
            continue
        for m in _BARE.finditer(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(ROOT)}: {m.group(0).strip()}  (write antre_{m.group(1)})")
    assert found == []


def test_every_package_is_installed_under_its_namespaced_name():
    """pyproject.toml lists every package (folders with an __init__.py), the apps' under antre_...; the
    installed distribution has no top-level kiosk, counter, display or web."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"": "."} | {name: folder for name, folder in FOLDERS.items() if name != "antre"}
    on_disk = set()
    for name, folder in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                on_disk.add(".".join((name,) + init.parent.relative_to(ROOT / folder).parts))
    assert on_disk - set(setuptools["packages"]) == set(), "add these to [tool.setuptools] packages"
    assert set(setuptools["packages"]) - on_disk == set()
    top = {p.split(".")[0] for p in setuptools["packages"]}
    assert top == set(PACKAGES) and not top & set(APP_FOLDERS)
