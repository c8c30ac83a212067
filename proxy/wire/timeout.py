"""statement_timeout: cancel a statement in the warehouse when it runs too long."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from proxy.errors import PgError, SqlState
from proxy.session_settings import SessionSettings


class StatementTimer:
    """statement_timeout: cancel the warehouse statement when it runs too long."""

    def __init__(self, settings: SessionSettings, cancel: Callable[[], None]) -> None:
        self._settings = settings
        self._cancel = cancel
        self._handle: asyncio.TimerHandle | None = None
        self._fired = False

    def _fire(self) -> None:
        self._fired = True
        self._cancel()

    def __enter__(self) -> StatementTimer:
        timeout_ms = self._settings.statement_timeout_ms
        if timeout_ms > 0:
            self._handle = asyncio.get_running_loop().call_later(timeout_ms / 1000, self._fire)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self._fired and isinstance(exc, PgError) and exc.sqlstate == SqlState.QUERY_CANCELED:
            exc.message = "canceling statement due to statement timeout"
