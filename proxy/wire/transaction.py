"""The transaction status a client sees, including failures the warehouse never saw.

A statement the proxy rejects inside a transaction block must abort that transaction, as any
PostgreSQL error would: later statements get 25P02 until ROLLBACK, and COMMIT rolls back.
The warehouse knows nothing of the rejection, so this wrapper keeps that state and presents
the combined status to the session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from proxy.backends.base import (
    ResultCursor,
    StatementDescription,
    TransactionStatus,
    WarehouseSession,
    WireArguments,
)
from proxy.backends.local import LocalResult
from proxy.errors import PgError, SqlState

_ENDS_TRANSACTION = ("ROLLBACK", "ABORT", "COMMIT", "END")


def in_failed_transaction() -> PgError:
    return PgError(
        SqlState.IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )


class AbortableSession:
    """A WarehouseSession whose transaction the proxy can mark failed."""

    def __init__(self, inner: WarehouseSession) -> None:
        self.inner = inner
        self._failed = False
        # A cancel for the statement in flight, kept until the statement ends: one landing
        # while the proxy is between two warehouse calls (Describe, then Execute) would
        # otherwise find nothing running upstream and be lost.
        self._cancel_requested = False

    @property
    def transaction_status(self) -> TransactionStatus:
        return "E" if self._failed else self.inner.transaction_status

    @property
    def keeps_cursors(self) -> bool:
        return self.inner.keeps_cursors

    def fail(self) -> None:
        """An error raised by the proxy (a rejection): aborts an open transaction block."""
        if self.inner.transaction_status != "I":
            self._failed = True

    async def execute(
        self, sql: str, parameters: Sequence[object], wire: WireArguments | None = None
    ) -> ResultCursor:
        self._apply_cancel()
        if not self._failed:
            return await self.inner.execute(sql, parameters, wire)
        words = sql.split(None, 2)
        verb = words[0].upper() if words else ""
        if verb not in _ENDS_TRANSACTION:
            raise in_failed_transaction()
        if verb in ("COMMIT", "END"):
            sql, tag = "ROLLBACK", "ROLLBACK"  # COMMIT of a failed transaction rolls back
        else:
            tag = None
        cursor = await self.inner.execute(sql, parameters)
        await cursor.fetch(None)
        self._failed = self.inner.transaction_status != "I" and not (
            len(words) > 1 and words[1].upper() == "TO"  # ROLLBACK TO SAVEPOINT recovers
        )
        return LocalResult(tag or cursor.command_tag()) if tag else cursor

    async def describe(self, sql: str, parameter_oids: Sequence[int]) -> StatementDescription:
        self._apply_cancel()
        return await self.inner.describe(sql, parameter_oids)

    def cancel(self, *, in_flight: bool = True) -> None:
        """Interrupt what runs upstream; with `in_flight`, also refuse the statement's next
        warehouse call (a cancel for an idle session is dropped, as PostgreSQL does)."""
        if in_flight:
            self._cancel_requested = True
        self.inner.cancel()

    def statement_ended(self) -> None:
        """ReadyForQuery was sent: a cancel that found nothing more to stop is forgotten."""
        self._cancel_requested = False

    def _apply_cancel(self) -> None:
        if self._cancel_requested:
            self._cancel_requested = False
            raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")

    def set_parameters(self, values: Mapping[str, str]) -> None:
        self.inner.set_parameters(values)

    async def close(self) -> None:
        await self.inner.close()
