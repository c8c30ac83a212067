"""Transaction control the session answers itself: BEGIN, COMMIT, ROLLBACK and savepoints.

DuckDB has no savepoints, so they are emulated: a savepoint is a name and the number of writes
done when it was set; rolling back to it works only while nothing was written since.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxy.backends.duckdb.cursor import DuckDBResultCursor
from proxy.backends.duckdb.utility import Utility
from proxy.backends.duckdb.worker import SessionWorker
from proxy.errors import PgError, SqlState

if TYPE_CHECKING:
    from proxy.backends.duckdb.warehouse import DuckDBWarehouse


class TransactionControl(SessionWorker):
    """The session's transaction block and its emulated savepoints."""

    def __init__(self, warehouse: DuckDBWarehouse, con: Any, user: str, database: str, backend_pid: int) -> None:
        super().__init__(warehouse, con, user, database, backend_pid)
        self._savepoints: list[tuple[str, int]] = []  # (name, writes when set)
        self._writes = 0

    def _count_write(self) -> None:
        """A statement that may have written ran: savepoints set before it can no longer be
        rolled back to."""
        if self._status == "T":
            self._writes += 1

    async def _begin(self, tag: str) -> DuckDBResultCursor:
        if self._status == "I":
            await self._run_plain("BEGIN TRANSACTION")
            self._status = "T"
        return DuckDBResultCursor(self, None, tag)

    async def _end(self, kind: str) -> DuckDBResultCursor:
        """COMMIT or ROLLBACK (a failed transaction's COMMIT rolls back, as PostgreSQL's does)."""
        tag = "ROLLBACK" if kind == "rollback" or self._status == "E" else "COMMIT"
        if self._status == "I":
            return DuckDBResultCursor(self, None, tag)
        try:
            await self._run_plain("COMMIT" if tag == "COMMIT" else "ROLLBACK")
        except PgError as error:
            if tag == "COMMIT":
                self._status = "I"
                try:
                    await self._run_plain("ROLLBACK")
                except PgError:
                    pass
                raise error from None
            # A transaction DuckDB already ended is what ROLLBACK wanted anyway.
        finally:
            self._status = "I"
            self._savepoints.clear()
        return DuckDBResultCursor(self, None, tag)

    async def _savepoint(self, utility: Utility) -> DuckDBResultCursor:
        """SAVEPOINT, RELEASE and ROLLBACK TO."""
        name = utility.name or ""
        if self._status == "I":
            raise PgError("25P01", f"{utility.tag} can only be used in transaction blocks")
        if utility.kind == "savepoint":
            self._savepoints.append((name, self._writes))
            return DuckDBResultCursor(self, None, "SAVEPOINT")
        index = next((i for i in range(len(self._savepoints) - 1, -1, -1) if self._savepoints[i][0] == name), None)
        if index is None:
            raise self._failed(PgError("3B001", f'savepoint "{name}" does not exist'))
        if utility.kind == "release":
            del self._savepoints[index:]
            return DuckDBResultCursor(self, None, "RELEASE")
        # ROLLBACK TO: possible only if nothing was written since and DuckDB's transaction lives.
        if self._writes != self._savepoints[index][1]:
            self._status = "E"
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "ROLLBACK TO SAVEPOINT after writes is not supported by the DuckDB warehouse",
                          hint="Roll back the whole transaction.")
        if self._status == "E":
            try:
                await self._run_plain("SELECT 1")
            except PgError:
                raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                              "ROLLBACK TO SAVEPOINT after an error is not supported by the DuckDB warehouse",
                              hint="Roll back the whole transaction.") from None
            self._status = "T"
        del self._savepoints[index + 1:]
        return DuckDBResultCursor(self, None, "ROLLBACK")
