"""The contract between a client session and the warehouse that runs its statements.

The session speaks PostgreSQL's protocol; a backend only sees SQL text (already decided and,
when needed, rewritten by the decision core) and parameter values. Keeping the contract this
small is what lets the decision core sit between the two without either knowing about it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

TransactionStatus = Literal["I", "T", "E"]


@dataclass(frozen=True, slots=True)
class Column:
    """One field of a RowDescription."""

    name: str
    type_oid: int
    type_size: int = -1
    type_modifier: int = -1
    table_oid: int = 0
    column_number: int = 0


@dataclass(frozen=True, slots=True)
class StatementDescription:
    """What Describe reports, found without executing anything.

    `columns is None` means the statement returns no rows (NoData).
    """

    parameter_oids: tuple[int, ...]
    columns: tuple[Column, ...] | None


@dataclass(frozen=True, slots=True)
class WireArguments:
    """The client's own Bind values and formats, for a warehouse that relays them unchanged
    (PostgreSQL): parameters are not re-encoded, results come back in the formats asked."""

    parameter_oids: tuple[int, ...]
    parameter_formats: tuple[int, ...]
    parameters: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


class ResultCursor(Protocol):
    """The rows of one executing statement, pulled in batches so large results stream."""

    @property
    def columns(self) -> tuple[Column, ...] | None: ...

    async def fetch(self, max_rows: int | None) -> list[tuple[object, ...]]:
        """Up to `max_rows` more rows (all remaining when None); [] when exhausted."""
        ...

    @property
    def exhausted(self) -> bool: ...

    def command_tag(self) -> str:
        """The CommandComplete tag (e.g. 'SELECT 3', 'INSERT 0 1'), valid once exhausted."""
        ...

    async def close(self) -> None: ...


class RawResultCursor(ResultCursor, Protocol):
    """Rows relayed as the warehouse's own protocol messages, never decoded.

    `fetch_raw` returns complete backend messages: at most `max_rows` DataRows, with any
    NoticeResponse (or COPY messages) that came between them, in order.
    """

    raw: bool  # True
    row_description: bytes | None  # the warehouse's RowDescription message, as sent

    async def fetch_raw(self, max_rows: int | None) -> list[bytes]: ...


class WarehouseSession(Protocol):
    """One client session's connection to the warehouse."""

    #: SQL cursors (DECLARE ... FETCH) live in the warehouse itself: FETCH, MOVE and CLOSE are
    #: relayed, so every direction, SCROLL and the client's result formats behave exactly as
    #: PostgreSQL's. Otherwise the proxy keeps each cursor's rows and fetches forward only.
    keeps_cursors: bool

    @property
    def transaction_status(self) -> TransactionStatus: ...

    async def describe(self, sql: str, parameter_oids: Sequence[int]) -> StatementDescription:
        """Parameter and result types of `sql` (postgres dialect, $n placeholders)."""
        ...

    async def execute(
        self, sql: str, parameters: Sequence[object], wire: WireArguments | None = None
    ) -> ResultCursor:
        """Run one statement (postgres dialect) with already-decoded parameter values; `wire`
        carries the client's raw values and formats for relaying warehouses."""
        ...

    def cancel(self) -> None:
        """Interrupt the running statement; safe to call from any thread or task."""
        ...

    def set_parameters(self, values: Mapping[str, str]) -> None:
        """The session's run-time parameters (the proxy answers SET/SHOW itself), so that
        current_setting() inside SQL agrees with SHOW."""
        ...

    async def close(self) -> None: ...


class Warehouse(Protocol):
    """A backing warehouse: opens sessions, reports its version."""

    server_version: str

    async def install_mask(self, configured_key: str | None) -> None:
        """Install `_purpose_proxy.mask_hash(text)` and its key (the configured one, else the
        one stored in the warehouse, else a new one stored there); see backends/mask_key.py.
        Raises PgError when it cannot, or when the configured key differs from the stored one."""
        ...

    async def open_session(self, user: str, database: str) -> WarehouseSession: ...

    async def close(self) -> None: ...
