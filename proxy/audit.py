"""Audit events: one JSON line per connection and per statement, through structlog.

The audit log is evidence, so events are plain dictionaries with stable keys; the sink is a
file, stdout or stderr, chosen by `audit_log` in the settings. Every event names the proxy
instance that wrote it (several proxies may feed one collector). Refusals and rejections are
logged at level warning, everything else at info.

A file sink holds statement text, literals included: it is created readable by the owner
only (0600), and `reopen()` (on SIGHUP) starts writing to a new file at the same path after
logrotate moved the old one away.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
from typing import Any, Literal, TextIO

import structlog

FILE_MODE = 0o600


def new_instance_id() -> str:
    """A random id of this proxy process, unique enough to tell instances apart in a log."""
    return secrets.token_hex(6)


class AuditLog:
    """A bound structlog logger writing JSON lines to one sink."""

    def __init__(self, sink: str = "stderr", instance: str | None = None) -> None:
        self.instance = instance or new_instance_id()
        self._path: str | None = None
        self._file: TextIO | None = None
        if sink == "off":
            self._logger = None
            return
        if sink == "stderr":
            stream = sys.stderr
        elif sink == "stdout":
            stream = sys.stdout
        else:
            self._path = sink
            self._file = stream = _open_private(sink)
        self._logger = self._bind(stream)

    def _bind(self, stream: TextIO) -> Any:
        return structlog.wrap_logger(
            structlog.PrintLogger(stream),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(sort_keys=False, default=str),
            ],
        ).bind(instance=self.instance)

    def event(self, name: str, *, level: Literal["info", "warning"] = "info",
              **fields: Any) -> None:
        if self._logger is None:
            return
        if level == "warning":
            self._logger.warning(name, **fields)
        else:
            self._logger.info(name, **fields)

    def reopen(self) -> None:
        """Write to a fresh file at the configured path (after logrotate renamed the old one);
        stdout and stderr have nothing to reopen."""
        if self._path is None:
            return
        new = _open_private(self._path)
        old, self._file = self._file, new
        self._logger = self._bind(new)
        if old is not None:
            old.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _open_private(path: str) -> TextIO:
    """Append to `path`, creating it 0600 (an existing file keeps the mode its owner gave it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    return open(fd, "a", encoding="utf-8", buffering=1)


def fingerprint(sql: str) -> str:
    """A short stable id of a statement's text, to group events about the same query."""
    return hashlib.sha256(sql.encode("utf-8")).hexdigest()[:16]
