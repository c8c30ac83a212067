"""Audit events: one JSON line per connection and per statement, through structlog.

The audit log is evidence, so events are plain dictionaries with stable keys; the sink is a
file, stdout or stderr, chosen by `audit_log` in the settings.
"""

from __future__ import annotations

import hashlib
import sys
from typing import Any, TextIO

import structlog


class AuditLog:
    """A bound structlog logger writing JSON lines to one sink."""

    def __init__(self, sink: str = "stderr") -> None:
        self._file: TextIO | None = None
        if sink == "off":
            self._logger = None
            return
        if sink == "stderr":
            stream = sys.stderr
        elif sink == "stdout":
            stream = sys.stdout
        else:
            self._file = stream = open(sink, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        self._logger = structlog.wrap_logger(
            structlog.PrintLogger(stream),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(sort_keys=False, default=str),
            ],
        )

    def event(self, name: str, **fields: Any) -> None:
        if self._logger is not None:
            self._logger.info(name, **fields)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def fingerprint(sql: str) -> str:
    """A short stable id of a statement's text, to group events about the same query."""
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()[:16]
