"""The daemon's logs: one JSON object per line on stderr (python-json-logger), with the file
and inbox context the daemon passes in ``extra``. Messages name files, counts and offsets,
never record contents, and the configuration is only ever shown redacted."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["json_logging"]


def json_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # RFC 3339, UTC
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # "N changes detected" on every drop is not news.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
