"""Production code does not run on the test oracles: no module of bridge/ but the command line
(bridge/commands/, where ``--reference`` and ``--hexdump`` use it on purpose) and the reference
itself imports the reference decoder or the test-data encoder."""

from __future__ import annotations

import ast
from pathlib import Path

BRIDGE = Path(__file__).resolve().parents[2] / "bridge"
ORACLES = {"bridge.decode.reference", "bridge.decode.encoder"}
ALLOWED = {BRIDGE / "commands", BRIDGE / "decode" / "reference.py"}
# Left of issue 16: ODO files are framed by the reference's record_extent until the C walk
# reports a record's extent. This list may only shrink (the test fails on a stale entry).
KNOWN = {("decode/framing.py", "bridge.decode.reference")}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_production_module_imports_a_test_oracle() -> None:
    offending = set()
    for path in sorted(BRIDGE.rglob("*.py")):
        if any(path == a or a in path.parents for a in ALLOWED):
            continue
        for module in _imports(path) & ORACLES:
            offending.add((path.relative_to(BRIDGE).as_posix(), module))
    assert offending - KNOWN == set(), "production modules import a test oracle"
    assert KNOWN - offending == set(), "a known import is gone: drop it from KNOWN"


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from bridge.decode import reference\nimport bridge.decode.encoder\n")
    assert _imports(module) >= ORACLES
