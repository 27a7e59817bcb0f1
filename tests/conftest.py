"""Suite-wide checks. The real mainframe files are part of the test suite, not an extra: a run
without them fails at once instead of skipping the tests that anchor the decoders."""

from __future__ import annotations

from pathlib import Path

import pytest

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not (REALDATA / "README.md").is_file():
        raise pytest.UsageError(
            f"the real mainframe data is missing: expected {REALDATA} "
            "(the shared/ folder beside this repository)"
        )
