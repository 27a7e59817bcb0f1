"""Shared fixtures: the real copybooks under ../shared/realdata, and a helper for inline text."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REALDATA

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "copybooks"


@pytest.fixture(scope="session")
def realdata() -> Path:
    return REALDATA


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def fixed(text: str) -> str:
    """Indent inline copybook text into area A (column 8) of fixed format."""
    return "\n".join(
        ("       " + line) if line.strip() else "" for line in text.strip("\n").splitlines()
    )
