"""One DuckDB connection driven from one thread, with at most one result open on it.

DuckDB calls block and a DuckDB connection must never be used by two threads at once, so every
call of a session runs, in order, on the session's own worker thread, off the event loop. Only
`interrupt()` (cancel) is called from elsewhere, which is what it is for. DuckDB keeps one open
result per connection: one still streaming is buffered before the connection is used again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from proxy.backends.base import TransactionStatus
from proxy.backends.duckdb.errors import map_duckdb_error
from proxy.errors import PgError, SqlState

if TYPE_CHECKING:
    from proxy.backends.duckdb.cursor import DuckDBResultCursor
    from proxy.backends.duckdb.transpile import Transpiled
    from proxy.backends.duckdb.warehouse import DuckDBWarehouse

T = TypeVar("T")


class SessionWorker:
    """A session's connection, its worker thread, its live result and its transaction status."""

    def __init__(self, warehouse: DuckDBWarehouse, con: Any, user: str, database: str, backend_pid: int) -> None:
        self._warehouse = warehouse
        self._con = con
        self.user = user
        self.database = database
        self.backend_pid = backend_pid
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"duckdb-{backend_pid}")
        self._status: TransactionStatus = "I"
        self._pending: DuckDBResultCursor | None = None
        self._closed = False

    @property
    def transaction_status(self) -> TransactionStatus:
        return self._status

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the session's thread."""
        if self._closed:
            raise PgError(SqlState.CONNECTION_EXCEPTION, "the warehouse session is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    async def _run_plain(self, sql: str) -> None:
        """Run a statement the session wrote itself (no parameters, no result)."""
        try:
            await self._call(lambda: self._con.execute(sql))
        except BaseException as error:
            raise map_duckdb_error(error) from None

    def _failed(self, error: BaseException, statement: Transpiled | None = None) -> PgError:
        """The PostgreSQL error for a failed statement; an open transaction is now aborted."""
        pg = error if isinstance(error, PgError) else map_duckdb_error(
            error, statement.tree if statement is not None else None)
        if self._status == "T":
            self._status = "E"
        return pg

    async def _fetch_live(self, cursor: DuckDBResultCursor, want: int | None) -> list[tuple[object, ...]]:
        """For the cursor: up to `want` more rows of its DuckDB result."""
        try:
            rows = await self._call(lambda: cursor._read_live(want))
        except BaseException as error:
            self._pending = None
            raise self._failed(error) from None
        if not cursor._live and self._pending is cursor:
            self._pending = None
        return rows

    def _forget(self, cursor: DuckDBResultCursor) -> None:
        """For the cursor: it was closed, the connection's result is no longer its."""
        if self._pending is cursor:
            self._pending = None

    async def _settle_pending(self) -> None:
        """DuckDB keeps one open result per connection: buffer the earlier one before reusing it."""
        pending, self._pending = self._pending, None
        if pending is not None and pending._live:
            try:
                await self._call(pending._drain)
            except BaseException as error:
                # The earlier portal is now broken; its error belongs to it, not to this statement.
                pending._live = False
                pending._buffer.clear()
                self._failed(error)

    def cancel(self) -> None:
        try:
            self._con.interrupt()
        except Exception:
            pass

    async def close(self) -> None:
        if self._closed:
            return
        self.cancel()  # a statement still running for a departed client is not worth finishing
        self._pending = None
        con = self._con

        def shut() -> None:
            try:
                con.close()
            except Exception:
                pass

        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)
