"""docs/api.md's examples run as written, and import nothing of bridge but ``bridge`` itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

import bridge

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"


def snippets(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def private_uses(source: str) -> set[str]:
    """What ``source`` reaches of bridge beyond its public surface: an import of a submodule
    (``bridge.decode.native``, ``from bridge.api import ...``) or ``bridge.NAME`` for a NAME
    not in ``bridge.__all__`` (dunders such as ``__all__`` aside)."""
    public = set(bridge.__all__)
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bridge."))
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("bridge."):
                found.add(node.module)
            elif node.module == "bridge":
                found.update(f"bridge.{a.name}" for a in node.names if a.name not in public)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "bridge"
            and node.attr not in public
            and not node.attr.startswith("__")
        ):
            found.add(f"bridge.{node.attr}")
    return found


def test_the_examples_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = snippets(DOC.read_text())
    assert len(blocks) >= 8
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{DOC}#{i}", "exec"), namespace)
    out = capsys.readouterr().out
    # What the comments in the examples say they print.
    assert "ACCT-MASTER-REC 300" in out
    assert "1000 996" in out
    assert "988 12" in out
    assert "(996, 27)" in out
    assert "[0, 1] 608" in out
    assert "dry-run 988 12" in out
    frame = namespace["frame"]
    assert type(frame).__module__.startswith("pandas")
    assert len(frame) == len(namespace["rows"]) == 996


def test_the_examples_use_the_public_api_alone() -> None:
    for block in snippets(DOC.read_text()):
        assert private_uses(block) == set(), block


@pytest.mark.parametrize(
    "source",
    [
        "from bridge.decode.native import NativeDecoder",
        "import bridge.mapping.program",
        "from bridge.api import decode",
        "from bridge import api",
        "import bridge\nbridge.cli.main([])",
    ],
)
def test_a_private_import_is_caught(source: str) -> None:
    assert private_uses(source) != set()


def test_the_public_api_tests_use_the_public_api_alone() -> None:
    for name in ("test_api.py", "test_api_docs.py"):
        assert private_uses((Path(__file__).parent / name).read_text()) == set(), name
