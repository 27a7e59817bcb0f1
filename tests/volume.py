"""How much the heavy tests generate: the full volume in ``make test``, about a tenth in
``make test-quick`` (``BRIDGE_TEST_VOLUME=0.1``). The differential runs read their sizes from
here; what they assert does not change with the volume."""

from __future__ import annotations

import os

VOLUME = float(os.environ.get("BRIDGE_TEST_VOLUME", "1"))


def volume(n: int, least: int = 1) -> int:
    """``n`` at the run's volume, never below ``least``."""
    return max(least, round(n * VOLUME))
