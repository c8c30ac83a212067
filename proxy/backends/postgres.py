"""PostgreSQL as the warehouse: decided statements go upstream, results come back byte for byte.

Each client session leases one upstream connection from the pool for its lifetime (session
pooling). Statements travel as Parse/Bind/Describe/Execute/Sync with the client's own parameter
bytes and result formats; DataRow, NoticeResponse and COPY messages are relayed to the client
unchanged. Only metadata is decoded: RowDescription (for Describe), ParameterDescription,
CommandComplete, ReadyForQuery and errors.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence

import structlog

from proxy.backends import pg_wire as wire
from proxy.backends.base import (
    Column,
    StatementDescription,
    TransactionStatus,
    WireArguments,
)
from proxy.backends.local import LocalResult
from proxy.backends.pg_connect import (
    UpstreamConnection,
    connect,
    connection_lost,
    retryable,
)
from proxy.backends.pg_mask import install_mask_function
from proxy.backends.pg_pool import ConnectionPool
from proxy.errors import PgError, SqlState
from proxy.settings import PostgresSettings
from proxy.wire.protocol import Backend

log = structlog.get_logger(__name__)

# Settings the warehouse must know because it renders values in text (the proxy owns them).
RENDERING_SETTINGS = ("TimeZone", "DateStyle", "IntervalStyle", "extra_float_digits")
_ROW = Backend.DATA_ROW
MAX_BATCH_MESSAGES = 10_000
MAX_BATCH_ROWS = 10_000
CANCEL_REPEAT_S = 0.05  # first repeat of a CancelRequest while the statement still runs
_RELAYED = frozenset({
    Backend.NOTICE_RESPONSE, Backend.COPY_DATA, Backend.COPY_DONE, Backend.COPY_OUT_RESPONSE,
})


def _text_parameter(value: object) -> bytes | None:
    """A decoded value back in PostgreSQL's text input form (when no client bytes exist)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, bytes | bytearray | memoryview):
        return b"\\x" + bytes(value).hex().encode("ascii")
    if hasattr(value, "isoformat"):
        return value.isoformat().encode("ascii")  # type: ignore[union-attr]
    return str(value).encode("utf-8")


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class RelayCursor:
    """One statement's reply from the warehouse, read lazily so large results stream."""

    raw = True

    def __init__(
        self,
        session: PostgresSession,
        columns: tuple[Column, ...] | None,
        row_description: bytes | None,
        relayed: list[bytes],
    ) -> None:
        self._session = session
        self._columns = columns
        self.row_description = row_description
        # Messages already read but not handed out: (is a DataRow, message bytes).
        self._buffer: deque[tuple[bool, bytes]] = deque((False, m) for m in relayed)
        self._tag = ""
        self._error: PgError | None = None
        self._complete = False  # ReadyForQuery was read
        self.rows_read = 0

    @property
    def columns(self) -> tuple[Column, ...] | None:
        return self._columns

    @property
    def exhausted(self) -> bool:
        return self._complete and not self._buffer

    async def _read_one(self) -> None:
        kind, payload = await self._session.read()
        if kind == _ROW or kind in _RELAYED:
            self._buffer.append((kind == _ROW, wire.message(kind, payload)))
        elif kind == Backend.COMMAND_COMPLETE:
            self._tag = wire.command_tag(payload)
        elif kind == Backend.ERROR_RESPONSE:
            self._error = self._session.upstream_error(payload)
        elif kind == Backend.READY_FOR_QUERY:
            self._complete = True
            self._session.finished(self)

    async def fetch_raw(self, max_rows: int | None) -> list[bytes]:
        out: list[bytes] = []
        rows = 0
        connection = self._session.connection
        # Bounded by rows as asked, and by messages, so COPY data streams in batches too.
        while (max_rows is None or rows < max_rows) and len(out) < MAX_BATCH_MESSAGES:
            if self._buffer:
                is_row, message = self._buffer.popleft()
                out.append(message)
                rows += is_row
                continue
            if self._complete or connection.broken:
                break
            want = MAX_BATCH_ROWS if max_rows is None else min(max_rows - rows, MAX_BATCH_ROWS)
            chunk, count = await self._session.read_rows(want)
            if count:  # a run of DataRows, handed on as one slice of the warehouse's bytes
                out.append(chunk)
                rows += count
            else:
                await self._read_one()
        self.rows_read += rows
        if self._error is not None and self._complete:
            error, self._error = self._error, None
            raise error
        return out

    async def read_rest(self) -> None:
        """Keep the remaining reply in memory (the connection is needed for something else)."""
        while not self._complete and not self._session.connection.broken:
            await self._read_one()

    async def fetch(self, max_rows: int | None) -> list[tuple[object, ...]]:
        """Completion only: a relayed result's rows are never decoded."""
        before = self.rows_read
        await self.fetch_raw(None)
        if self.rows_read != before:
            raise PgError(SqlState.INTERNAL_ERROR, "a relayed result was read as values")
        return []

    def command_tag(self) -> str:
        return self._tag

    async def close(self) -> None:
        """Discard the rest of the reply: the connection must reach ReadyForQuery, but the
        rows nobody will read are dropped as they arrive, never collected (a cursor closed
        early on a 100 MB result must not cost 100 MB)."""
        self._buffer.clear()
        while not self._complete and not self._session.connection.broken:
            await self._read_one()
            self._buffer.clear()


class PostgresSession:
    """One client session's leased upstream connection."""

    relays_copy = True
    keeps_cursors = True

    def __init__(self, warehouse: PostgresWarehouse, connection: UpstreamConnection) -> None:
        self._warehouse = warehouse
        self.connection = connection
        # False once a broken connection went back to the pool and no replacement could be
        # had yet (the warehouse is down): the next statement leases again, however late.
        self._leased = True
        self._active: RelayCursor | None = None
        self._buffered: list[bytes] = []
        self._unsynced: dict[str, str] = {}
        self._synced: dict[str, str] = {}
        self._lost_transaction = False
        self._cancels: set[asyncio.Task[None]] = set()
        self._cancel_pending = False
        self._canceller: asyncio.Task[None] | None = None

    # --- state --------------------------------------------------------------------------------

    @property
    def transaction_status(self) -> TransactionStatus:
        if self._lost_transaction:
            return "E"
        if self.connection.broken or self.connection.closed:
            # Its transaction went with it (and the client acknowledged that with ROLLBACK):
            # the next statement runs on a new connection, outside any transaction.
            return "I"
        return self.connection.transaction_status  # type: ignore[return-value]

    def set_parameters(self, values: Mapping[str, str]) -> None:
        for name in RENDERING_SETTINGS:
            value = values.get(name.lower())
            if value is not None and self._synced.get(name) != value:
                self._unsynced[name] = value

    def cancel(self) -> None:
        """CancelRequest to the warehouse with the upstream keys (which clients never see).

        A single CancelRequest can be lost: PostgreSQL ignores one that lands while the
        backend reads its next protocol message (between Parse and Execute, say), and one that
        lands during a preparatory round trip (SET, reconnect) finds nothing to stop. So the
        cancel is remembered for the call in progress: repeated while its statement runs
        upstream, and raised before its statement is sent.
        """
        self._cancel_pending = True
        if self._canceller is None or self._canceller.done():
            self._canceller = asyncio.get_running_loop().create_task(self._cancel_while_busy())

    async def _cancel_while_busy(self) -> None:
        delay = CANCEL_REPEAT_S
        while self._cancel_pending and self._leased and not self.connection.ready:
            sent = asyncio.get_running_loop().create_task(self._cancel_upstream())
            self._cancels.add(sent)
            sent.add_done_callback(self._cancels.discard)
            await asyncio.shield(sent)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _quiesce_cancels(self) -> None:
        """No CancelRequest may be in transit when a new statement is sent: it could stop
        that one instead of the one it was meant for."""
        if self._canceller is not None and not self._canceller.done():
            self._canceller.cancel()
        if self._cancels:
            await asyncio.wait(set(self._cancels))

    async def _cancel_upstream(self) -> None:
        try:
            await self.connection.cancel()
        except PgError as error:  # unreachable: nothing of ours runs there either
            log.info("cancel request to the warehouse failed", error=error.message)

    async def read(self) -> tuple[int, bytes]:
        try:
            kind, payload = await self.connection.read_message()
        except PgError:
            self._lose_connection()
            raise
        if kind == Backend.PARAMETER_STATUS and not self.connection.assumptions_hold:
            self._lose_connection()
            raise PgError(
                SqlState.CONNECTION_FAILURE,
                "the warehouse changed a setting the proxy's SQL analysis relies on "
                f"({wire.parameter_status(payload)[0]}); the connection was closed",
            )
        return kind, payload

    async def read_rows(self, max_rows: int) -> tuple[bytes, int]:
        try:
            return await self.connection.read_data_rows(max_rows)
        except PgError:
            self._lose_connection()
            raise

    def upstream_error(self, payload: bytes) -> PgError:
        error = wire.error(payload)
        if error.severity in ("FATAL", "PANIC"):  # the upstream connection ends, not the client's
            error.severity = "ERROR"
            self._lose_connection()
        return error

    def _lose_connection(self) -> None:
        if self.connection.transaction_status != "I":
            self._lost_transaction = True  # the client must see its transaction fail
        self.connection.abort()

    def finished(self, cursor: RelayCursor) -> None:
        if self._active is cursor:
            self._active = None

    async def _ready_connection(self) -> UpstreamConnection:
        """Before a new command: finish any suspended result, reconnect if the link broke."""
        if self._active is not None:
            active, self._active = self._active, None
            await active.read_rest()  # a suspended portal stays readable, from memory
        if self.connection.broken or not self._leased:
            if self._leased:
                self._leased = False
                await self._warehouse.pool.release(self.connection, broken=True)
            self.connection = await self._warehouse.pool.acquire()
            self._leased = True
            self._synced.clear()
            self._unsynced = dict(self._unsynced)
        await self._quiesce_cancels()
        if self._unsynced:
            statements = "; ".join(
                f"SET {name} = {_quote_literal(value)}" for name, value in self._unsynced.items()
            )
            await self._simple(statements)
            self._synced.update(self._unsynced)
            self._unsynced.clear()
        if self._cancel_pending:  # cancelled while the statement was not yet sent
            self._cancel_pending = False
            raise PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
        return self.connection

    async def _simple(self, sql: str) -> None:
        self.connection.write(wire.query(sql))
        await self.connection.flush()
        error = None
        while True:
            kind, payload = await self.read()
            if kind == Backend.ERROR_RESPONSE:
                error = self.upstream_error(payload)
            elif kind == Backend.READY_FOR_QUERY:
                break
        if error is not None:
            raise error

    # --- statements ---------------------------------------------------------------------------

    async def describe(self, sql: str, parameter_oids: Sequence[int]) -> StatementDescription:
        self._cancel_pending = False  # the caller checked for earlier cancels
        conn = await self._ready_connection()
        conn.write(wire.parse("", sql, parameter_oids) + wire.describe("S", "") + wire.SYNC)
        await conn.flush()
        oids: tuple[int, ...] = ()
        columns: tuple[Column, ...] | None = None
        error = None
        while True:
            kind, payload = await self.read()
            if kind == Backend.PARAMETER_DESCRIPTION:
                oids = wire.parameter_description(payload)
            elif kind == Backend.ROW_DESCRIPTION:
                columns = wire.row_description(payload)
            elif kind == Backend.ERROR_RESPONSE:
                error = self.upstream_error(payload)
            elif kind == Backend.READY_FOR_QUERY:
                break
        if error is not None:
            raise error
        return StatementDescription(oids, columns)

    async def execute(
        self, sql: str, parameters: Sequence[object], wire_arguments: WireArguments | None = None
    ) -> RelayCursor | LocalResult:
        if self._lost_transaction:
            return self._after_lost_transaction(sql)
        self._cancel_pending = False  # the caller checked for earlier cancels
        conn = await self._ready_connection()
        oids, formats, values, result_formats = self._bind_values(parameters, wire_arguments)
        conn.write(
            wire.parse("", sql, oids)
            + wire.bind("", "", formats, values, result_formats)
            + wire.describe("P", "")
            + wire.execute("", 0)
            + wire.SYNC
        )
        await conn.flush()
        return await self._reply()

    async def _reply(self) -> RelayCursor:
        """Read up to the result's description; rows stay in the socket until fetched."""
        relayed: list[bytes] = []
        while True:
            kind, payload = await self.read()
            if kind in (Backend.PARSE_COMPLETE, Backend.BIND_COMPLETE):
                continue
            if kind == Backend.ROW_DESCRIPTION:
                cursor = RelayCursor(self, wire.row_description(payload),
                                     wire.message(kind, payload), relayed)
            elif kind == Backend.NO_DATA:
                cursor = RelayCursor(self, None, None, relayed)
            elif kind == Backend.NOTICE_RESPONSE:
                relayed.append(wire.message(kind, payload))
                continue
            elif kind == Backend.ERROR_RESPONSE:
                error = self.upstream_error(payload)
                while kind != Backend.READY_FOR_QUERY and not self.connection.broken:
                    kind, payload = await self.read()
                raise error
            else:
                raise PgError(SqlState.PROTOCOL_VIOLATION,
                              f"unexpected message {chr(kind)!r} from the warehouse")
            self._active = cursor
            return cursor

    def _bind_values(
        self, parameters: Sequence[object], arguments: WireArguments | None
    ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[bytes | None, ...], tuple[int, ...]]:
        if arguments is not None and len(arguments.parameters) == len(parameters):
            # The client's own bytes and formats: nothing is re-encoded on the way.
            return (arguments.parameter_oids, arguments.parameter_formats,
                    arguments.parameters, arguments.result_formats)
        values = tuple(_text_parameter(value) for value in parameters)
        result_formats = arguments.result_formats if arguments is not None else ()
        return (), (), values, result_formats

    def _after_lost_transaction(self, sql: str) -> LocalResult:
        """The upstream connection (and the client's transaction) is gone: only ROLLBACK or
        COMMIT (which rolls back) end the failed block, as in PostgreSQL."""
        verb = sql.split(None, 1)[0].upper() if sql.strip() else ""
        if verb in ("ROLLBACK", "ABORT", "COMMIT", "END"):
            self._lost_transaction = False
            return LocalResult("ROLLBACK")
        raise PgError(
            SqlState.IN_FAILED_SQL_TRANSACTION,
            "current transaction is aborted, commands ignored until end of transaction block",
            hint="The connection to the warehouse was lost during the transaction; ROLLBACK.",
        )

    # --- COPY ---------------------------------------------------------------------------------

    async def copy_out(self, sql: str) -> RelayCursor:
        """COPY (...) TO STDOUT: CopyOutResponse, CopyData and CopyDone are relayed as sent."""
        self._cancel_pending = False  # the caller checked for earlier cancels
        conn = await self._ready_connection()
        conn.write(wire.query(sql))
        await conn.flush()
        cursor = RelayCursor(self, None, None, [])
        self._active = cursor
        return cursor

    async def copy_in(self, sql: str, chunks: AsyncIterator[bytes]) -> str:
        """COPY ... FROM STDIN: the client's CopyData payloads are passed through unchanged."""
        self._cancel_pending = False  # the caller checked for earlier cancels
        conn = await self._ready_connection()
        conn.write(wire.query(sql))
        await conn.flush()
        error = None
        tag = ""
        while True:
            kind, payload = await self.read()
            if kind == Backend.COPY_IN_RESPONSE:
                try:
                    async for chunk in chunks:
                        conn.write(wire.copy_data(chunk))
                        await conn.flush()
                except PgError as client_error:  # CopyFail, or bad input from the client
                    conn.write(wire.copy_fail(client_error.message))
                    await conn.flush()
                    error = client_error
                else:
                    conn.write(wire.COPY_DONE)
                    await conn.flush()
            elif kind == Backend.COMMAND_COMPLETE:
                tag = wire.command_tag(payload)
            elif kind == Backend.ERROR_RESPONSE:
                error = error or self.upstream_error(payload)
            elif kind == Backend.READY_FOR_QUERY:
                break
        if error is not None:
            raise error
        return tag

    async def close(self) -> None:
        if self._canceller is not None:
            self._canceller.cancel()
        cursor, self._active = self._active, None
        if not self._leased:  # already given back when the warehouse went away
            return
        self._leased = False
        broken = self.connection.broken
        if cursor is not None and not cursor.exhausted and not broken:
            # Nobody will read the rest: stop the statement (the session is ending, so its
            # transaction goes anyway), then read up to ReadyForQuery so the connection can
            # be reused. Awaited first, so the cancel cannot reach the connection's next user.
            await self._cancel_upstream()
            try:
                await asyncio.wait_for(cursor.close(), timeout=5)
            except (PgError, TimeoutError):
                broken = True
        await self._warehouse.pool.release(self.connection, broken=broken)


class PostgresWarehouse:
    def __init__(self, settings: PostgresSettings) -> None:
        self.settings = settings
        self.pool = ConnectionPool(settings)
        self.server_version = "16.0"

    async def start(self, attempts: int = 5, delay: float = 1.0) -> None:
        """Check the warehouse answers before serving; retry a few times, then fail clearly.

        Only what may pass is retried (unreachable, starting up, too many connections); a
        refusal (credentials, pg_hba.conf, TLS required) or an unusable database fails at once.
        """
        for attempt in range(1, attempts + 1):
            try:
                probe = await connect(self.settings)
            except PgError as error:
                if attempt == attempts or not retryable(error):
                    log.error("the warehouse cannot be used; the proxy does not start",
                              error=error.message, detail=error.detail, hint=error.hint,
                              attempts=attempt)
                    raise
                log.warning("warehouse not reachable yet; retrying", attempt=attempt,
                            error=error.message)
                await asyncio.sleep(delay * attempt)
                continue
            self.server_version = probe.server_version
            await probe.close()
            return

    async def install_mask(self, configured_key: str | None) -> None:
        """The hash mask's function and key in the warehouse (see pg_mask.py)."""
        await install_mask_function(self.settings, configured_key)

    async def open_session(self, user: str, database: str) -> PostgresSession:
        started = time.monotonic()
        connection = await self.pool.acquire()
        log.debug("warehouse connection leased", user=user,
                  wait_ms=round((time.monotonic() - started) * 1000, 2))
        return PostgresSession(self, connection)

    async def close(self) -> None:
        await self.pool.close()


__all__ = ["PostgresSession", "PostgresWarehouse", "RelayCursor", "connection_lost"]
