"""The console script answers --version and --help, in-process and as an installed command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bridge import __version__
from bridge.cli import main


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
