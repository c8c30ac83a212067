"""The rows of one statement, streamed from DuckDB in batches, and PostgreSQL's command tag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from proxy.backends.base import Column
from proxy.backends.duckdb.columns import result_columns

if TYPE_CHECKING:
    from proxy.backends.duckdb.transpile import Transpiled
    from proxy.backends.duckdb.worker import SessionWorker

#: Rows asked of DuckDB at a time.
FETCH_BATCH = 10_000


class DuckDBResultCursor:
    """Rows of one statement; live on the session's connection until drained or exhausted."""

    def __init__(self, session: SessionWorker, columns: tuple[Column, ...] | None, tag: str,
                 *, rows: list[tuple[object, ...]] | None = None, live: bool = False,
                 count: int | None = None) -> None:
        self._session = session
        self._columns = columns
        self._tag = tag
        self._buffer: list[tuple[object, ...]] = list(rows or [])
        self._live = live
        self._count = count
        self._returned = 0
        self._closed = False

    @property
    def columns(self) -> tuple[Column, ...] | None:
        return self._columns

    @property
    def exhausted(self) -> bool:
        return not self._live and not self._buffer

    def command_tag(self) -> str:
        n = self._count if self._count is not None else self._returned
        if self._tag == "INSERT":
            return f"INSERT 0 {n}"
        if self._tag in ("SELECT", "UPDATE", "DELETE", "MERGE", "COPY", "FETCH", "MOVE"):
            return f"{self._tag} {n}"
        return self._tag

    async def fetch(self, max_rows: int | None) -> list[tuple[object, ...]]:
        if self._closed:
            return []
        if max_rows is not None and max_rows <= 0:
            max_rows = None
        out: list[tuple[object, ...]] = []
        if self._buffer:
            take = len(self._buffer) if max_rows is None else min(max_rows, len(self._buffer))
            out = self._buffer[:take]
            del self._buffer[:take]
        if self._live and (max_rows is None or len(out) < max_rows):
            want = None if max_rows is None else max_rows - len(out)
            out.extend(await self._session._fetch_live(self, want))
        self._returned += len(out)
        return out

    def _read_live(self, want: int | None) -> list[tuple[object, ...]]:
        """On the session thread: up to `want` rows (all when None) from the DuckDB result."""
        con = self._session._con
        rows: list[tuple[object, ...]] = []
        try:
            while want is None or len(rows) < want:
                batch_size = FETCH_BATCH if want is None else min(FETCH_BATCH, want - len(rows))
                batch = con.fetchmany(batch_size)
                rows.extend(batch)
                if len(batch) < batch_size:
                    self._live = False
                    break
        except Exception:
            self._live = False
            raise
        return rows

    def _drain(self) -> None:
        """On the session thread: keep the remaining rows in memory and free the connection."""
        if self._live:
            self._buffer.extend(self._read_live(None))

    async def close(self) -> None:
        self._closed = True
        self._buffer.clear()
        self._live = False
        self._session._forget(self)


def result_cursor(session: SessionWorker, statement: Transpiled, con: Any) -> DuckDBResultCursor:
    """On the session thread, just after `statement` ran on `con`: its cursor.

    Writes without RETURNING report their row count (DuckDB returns it as a one-row result);
    queries stream from DuckDB's open result.
    """
    description = con.description
    if statement.kind in ("insert", "update", "delete", "ctas") and not statement.returns_rows:
        count = 0
        if description:
            row = con.fetchone()
            count = int(row[0]) if row and row[0] is not None else 0
        return DuckDBResultCursor(session, None, statement.tag, count=count)
    if statement.kind == "ddl" or not description:
        return DuckDBResultCursor(session, None, statement.tag)
    return DuckDBResultCursor(session, result_columns(description, statement), statement.tag, live=True)
