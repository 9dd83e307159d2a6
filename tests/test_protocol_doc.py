"""docs/protocol.md is the device contract: checked mechanically against antre/link/protocol.py, the service's
read-only commands, the broker ACL the code generates, and every error code the service's code can answer.

The tables are read as written (``| `command` | arguments | ... |``; ``| role | commands | ... |``;
``| code | when |``), so a command, argument, role grant or error code added on one side only fails here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from antre import config
from antre.link import protocol
from antre.ops import broker
from antre.rules.queue import QueueService
from antre.service.server import PLUGINS
from antre.storage import open_database

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
# Arguments the doc names by a convention instead of a backticked name: *staff* means `session` and `address`?.
CONVENTION = {"session": ("*staff*",), "address": ("*staff*",)}


def _rows(header: str) -> list[list[str]]:
    """The body rows of every table whose header row starts with ``| {header} |``."""
    rows, inside = [], False
    for line in DOC.splitlines():
        if line.startswith(f"| {header} |"):
            inside = True
            continue
        if not line.startswith("|"):
            inside = False
            continue
        if inside and not line.startswith("|---"):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def _command_rows() -> dict[str, list[str]]:
    """command -> the argument cells of its rows (a command may have several: issue_ticket on the web)."""
    found: dict[str, list[str]] = {}
    for cells in _rows("command"):
        for name in re.findall(r"`([a-z_]+)`", cells[0].split("(")[0]):
            found.setdefault(name, []).append(cells[1])
    return found


def test_every_command_has_a_row_and_every_row_is_a_command():
    rows = _command_rows()
    assert sorted(set(protocol.COMMANDS) - set(rows)) == [], "commands without a row in docs/protocol.md"
    assert sorted(set(rows) - set(protocol.COMMANDS)) == [], "rows in docs/protocol.md for no command"


@pytest.mark.parametrize("command", sorted(protocol.COMMANDS))
def test_every_argument_is_named_in_the_commands_row(command):
    cells = " ".join(_command_rows()[command])
    named = set(re.findall(r"`([a-z_]+)`", cells))
    if command in protocol.COUNTER_COMMANDS + ("set_web",):
        # One sentence names them for all: "Every counter command (...) also takes `session` and `address`".
        assert re.search(r"Every counter command .* also takes `session` and `address`", DOC)
        assert re.search(r"`set_web` takes `session` and `address` too", DOC)
        named |= {"session", "address"}
    missing = [a for a in protocol.COMMANDS[command]
               if a not in named and not any(c in cells for c in CONVENTION.get(a, ()))]
    assert missing == [], f"{command}: arguments the code takes that its row does not name"


def _granted(cell: str) -> set[str]:
    """The commands a roles-table cell grants: names, `prefix_*` (with 'but `x`' exceptions), the counter commands."""
    if cell.startswith("every command"):
        return set(protocol.COMMANDS)
    names = set(re.findall(r"`([a-z_]+)`", cell))
    for prefix in re.findall(r"`([a-z]+)_\*`", cell):
        names |= {c for c in protocol.COMMANDS if c.startswith(prefix + "_")}
    names -= set(re.findall(r"but `([a-z_]+)`", cell))
    if "the counter commands" in cell:
        names |= set(protocol.COUNTER_COMMANDS)
    return names & set(protocol.COMMANDS)


def test_the_roles_table_grants_what_role_commands_grants():
    table = {re.sub(r"[`]", "", cells[0]): _granted(cells[1]) for cells in _rows("role")}
    assert set(table) == set(protocol.SENDER_ROLES)
    for role in protocol.SENDER_ROLES:
        code = set(protocol.ROLE_COMMANDS[role])
        assert (sorted(code - table[role]), sorted(table[role] - code)) == ([], []), \
            f"{role}: (in ROLE_COMMANDS only, in docs/protocol.md only)"


def test_the_generated_broker_acl_grants_exactly_role_commands():
    devices = [broker.Device(f"{role}-1", role) for role in protocol.SENDER_ROLES if role != "admin"]
    acl = broker.acl_text(devices, "sukamaju")
    for d in devices:
        block = acl.split(f"user {d.name}\n", 1)[1].split("\nuser ", 1)[0]
        written = set(re.findall(rf"topic write antre/v2/sukamaju/cmd/{d.role}/{d.name}/([a-z_]+)\n", block + "\n"))
        assert written == set(protocol.ROLE_COMMANDS[d.role]), d.role
        assert f"cmd/{d.role}/{d.name}/#" not in block and "cmd/#" not in block.replace("read", "")


def test_the_read_only_commands_are_the_documented_ones(tmp_path):
    _, sessions = open_database(f"sqlite:///{tmp_path}/a.db")
    q = QueueService(config.from_dict({}), sessions, plugins=PLUGINS)
    line = re.search(r"^- Read-only commands .*?(?=\n\n|\n- )", DOC, re.M | re.S)
    assert line, "docs/protocol.md lists the read-only commands in a bullet starting '- Read-only commands'"
    documented = set(re.findall(r"`([a-z_]+)`", line.group(0))) & set(protocol.COMMANDS)
    assert (sorted(q.read_only - documented), sorted(documented - q.read_only)) == ([], [])
    assert q.read_only <= set(q.handlers) and q.read_only <= set(protocol.COMMANDS)


_ERROR_CLASSES = {"CommandError", "BadRequest", "NotFound", "Forbidden", "Conflict"}
# Calls whose code is their second argument.
_CODE_SECOND = {"error_reply", "_require_current"}


def _raised_codes() -> dict[str, str]:
    """Every literal error code in antre/: the first argument of a CommandError (or subclass), the second of
    error_reply and of the queue's _require_current, and the storage's trouble codes."""
    codes: dict[str, str] = {}
    for path in sorted((ROOT / "antre").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            at = 0 if fn in _ERROR_CLASSES else 1 if fn in _CODE_SECOND else None
            if at is None or len(node.args) <= at:
                continue
            arg = node.args[at]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                codes.setdefault(arg.value, f"{path.relative_to(ROOT)}:{node.lineno}")
    for code in ("storage_full", "storage_read_only", "nothing_to_skip", "nothing_to_complete"):
        codes.setdefault(code, "antre/storage, antre/rules/queue.py")
    return codes


def test_every_error_code_the_service_answers_is_documented():
    codes = _raised_codes()
    assert len(codes) > 60   # the walk found the codes at all
    missing = {c: where for c, where in codes.items() if f"`{c}`" not in DOC}
    assert missing == {}, "error codes the code answers that docs/protocol.md never names"


def test_every_code_in_an_error_table_is_answered_somewhere():
    codes = set(_raised_codes())
    tabled = {c for cells in _rows("code") for c in re.findall(r"`([a-z_]+)`", cells[0])}
    retired = {"clock_wrong"}   # documented as no longer sent
    assert sorted(tabled - codes - retired) == []
