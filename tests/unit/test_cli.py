"""The console script answers --version and --help, in-process and as an installed command."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from bridge import __version__
from bridge.cli import COMMANDS, build_parser, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"bridge {__version__}"


def test_help_lists_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "usage: bridge" in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: bridge" in capsys.readouterr().err


def test_console_script_installed() -> None:
    exe = sys.executable.rsplit("/", 1)[0] + "/bridge"
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"bridge {__version__}"


# Modules a start-up must not pay for unless the subcommand needs them (issue 13: --version took
# 0.24 s, a fifth of decoding 2 million records). Asserted on sys.modules, never on time.
HEAVY = ("jsonschema", "cffi", "_cffi_backend", "bridge._native", "confluent_kafka", "redis")
PROBE = """
import json, sys
from bridge.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def is_heavy(module: str) -> bool:
    return any(module == h or module.startswith(h + ".") for h in HEAVY) or module.startswith(
        "bridge._bridge_native"
    )


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], [], ["layout", "--help"]],
)
def test_start_up_imports_no_heavy_module(argv: list[str]) -> None:
    modules = imported_by(*argv)
    assert "bridge.cli" in modules
    assert sorted(m for m in modules if is_heavy(m)) == []


def test_version_and_help_import_no_subcommand() -> None:
    for argv in (["--version"], ["--help"]):
        assert not {m for m in imported_by(*argv) if m.startswith("bridge.commands")}
    # ... while a subcommand that needs the C core does load it (the probe sees imports).
    assert "bridge._native" in imported_by("decode", "--help")


def test_listed_help_is_each_subcommand_own() -> None:
    # --help lists COMMANDS' one-line helps without importing the modules: they must agree.
    full = build_parser("*")
    choices = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    registered = {c.dest: c.help for c in choices._choices_actions}
    assert registered == COMMANDS
