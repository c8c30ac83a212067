"""Statements the proxy answers itself: SET/RESET/SHOW, DEALLOCATE and SQL-level cursors.

Cursors (DECLARE/FETCH/MOVE/CLOSE): the query a cursor runs is decided (and rewritten) like
any other statement at DECLARE. A warehouse that keeps SQL cursors (PostgreSQL) then holds the
cursor itself: DECLARE runs there with the decided query, and FETCH, MOVE and CLOSE (which read
nothing but the cursor) are relayed, so every direction, SCROLL and the result formats a client
asks for behave exactly as PostgreSQL's. For DuckDB the proxy keeps the rows and hands them out
FETCH by FETCH, forward only; anything else is refused, not guessed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pglast import ast
from pglast.enums import FetchDirection, TransactionStmtKind
from pglast.stream import RawStream

from proxy.backends.base import Column, ResultCursor, WarehouseSession, WireArguments
from proxy.backends.local import LocalResult
from proxy.context import SessionContext
from proxy.errors import PgError, SqlState
from proxy.routing import AppliedPurpose, ProxyCommand, withhold_text
from proxy.session_settings import apply_variable_set, show_value
from proxy.sql.identifiers import quote_identifier
from proxy.wire import backend as msg
from proxy.wire.types import Oid

CURSOR_OPT_BINARY = 0x0001
CURSOR_OPT_SCROLL = 0x0002
CURSOR_OPT_NO_SCROLL = 0x0004
CURSOR_OPT_HOLD = 0x0020
FETCH_ALL = 2**63 - 1


@dataclass
class SqlCursor:
    name: str
    result: ResultCursor | None  # None: the cursor lives in the warehouse (keeps_cursors)
    binary: bool
    hold: bool
    withhold_error_text: bool = False
    described: tuple[Column, ...] | None = None  # a warehouse cursor's columns
    applied: AppliedPurpose = AppliedPurpose()  # the purpose its query was decided under

    @property
    def columns(self) -> tuple[Column, ...] | None:
        return self.described if self.result is None else self.result.columns


class _WarehouseFetch:
    """FETCH / MOVE relayed to a cursor the warehouse keeps: its messages pass untouched."""

    raw = True

    def __init__(self, result: ResultCursor, withhold: bool) -> None:
        self._result = result
        self._withhold = withhold
        self.row_description: bytes | None = getattr(result, "row_description", None)

    @property
    def rows_read(self) -> int:
        return self._result.rows_read  # type: ignore[attr-defined,no-any-return]

    @property
    def columns(self) -> tuple[Column, ...] | None:
        return self._result.columns

    @property
    def exhausted(self) -> bool:
        return self._result.exhausted

    async def fetch_raw(self, max_rows: int | None) -> list[bytes]:
        try:
            return await self._result.fetch_raw(max_rows)  # type: ignore[attr-defined,no-any-return]
        except PgError as error:
            if self._withhold:
                withhold_text(error, "cursor")
            raise

    async def fetch(self, max_rows: int | None) -> list[tuple[object, ...]]:
        await self.fetch_raw(None)  # MOVE: no rows, only completion
        return []

    def command_tag(self) -> str:
        return self._result.command_tag()

    async def close(self) -> None:
        await self._result.close()


class _FetchResult:
    """FETCH's rows: a window onto a cursor, tagged `FETCH n` / `MOVE n` when done."""

    def __init__(self, cursor: SqlCursor, count: int, move: bool) -> None:
        self._cursor = cursor
        self._remaining = count
        self._move = move
        self._seen = 0
        self.binary_results = cursor.binary
        # A relaying warehouse's cursor: its DataRow messages pass through untouched.
        self._relayed = bool(getattr(cursor.result, "raw", False))
        self.raw = self._relayed and not move
        self.row_description = getattr(cursor.result, "row_description", None)

    @property
    def rows_read(self) -> int:
        return self._seen

    async def fetch_raw(self, max_rows: int | None) -> list[bytes]:
        want = self._remaining if max_rows is None else min(max_rows, self._remaining)
        if not want:
            return []
        result = self._cursor.result
        before = result.rows_read  # type: ignore[attr-defined]
        messages = await result.fetch_raw(want)  # type: ignore[attr-defined]
        got = result.rows_read - before  # type: ignore[attr-defined]
        self._remaining = 0 if got < want else self._remaining - got
        self._seen += got
        return messages

    @property
    def columns(self) -> tuple[Column, ...] | None:
        return None if self._move else self._cursor.columns

    @property
    def exhausted(self) -> bool:
        return self._remaining == 0

    async def fetch(self, max_rows: int | None) -> list[tuple[object, ...]]:
        if self._relayed:
            # MOVE over relayed rows: counted as they pass, never decoded (they cannot be).
            await self.fetch_raw(max_rows)
            return []
        want = self._remaining if max_rows is None else min(max_rows, self._remaining)
        try:
            rows = await self._cursor.result.fetch(want) if want else []
        except PgError as error:
            if self._cursor.withhold_error_text:
                withhold_text(error, "cursor")
            raise
        self._remaining = 0 if len(rows) < want else self._remaining - len(rows)
        self._seen += len(rows)
        return [] if self._move else rows

    def command_tag(self) -> str:
        return f"{'MOVE' if self._move else 'FETCH'} {self._seen}"

    async def close(self) -> None:
        return None


class _WarningResult(LocalResult):
    """A command that completed with a warning (NoticeResponse) before its CommandComplete."""

    raw = True

    def __init__(self, tag: str, warning: PgError) -> None:
        super().__init__(tag)
        self._messages = [msg.notice_response(warning)]

    async def fetch_raw(self, max_rows: int | None) -> list[bytes]:
        messages, self._messages = self._messages, []
        return messages


def _other_purpose(name: str, opened: AppliedPurpose, now: AppliedPurpose) -> PgError:
    return PgError(
        SqlState.INSUFFICIENT_PRIVILEGE,
        f'cursor "{name}" was opened under purpose "{opened.purpose}"; the purpose in force is '
        f'"{now.purpose or "none"}"',
        hint=f'Its rows were decided for "{opened.purpose}": fetch them under that purpose, or '
        "declare the cursor again under the purpose in force.",
    )


def _no_cursor(name: str) -> PgError:
    return PgError(SqlState.INVALID_CURSOR_NAME, f'cursor "{name}" does not exist')


class ProxyCommands:
    """Runs one session's proxy commands against its settings, cursors and statements."""

    def __init__(
        self,
        context: SessionContext,
        warehouse: WarehouseSession,
        forget_statement: Callable[[str | None], None],
        protocol_portal: Callable[[str], Awaitable[tuple[ResultCursor, AppliedPurpose] | None]],
    ) -> None:
        self.context = context
        self.warehouse = warehouse
        self.cursors: dict[str, SqlCursor] = {}
        self._forget_statement = forget_statement
        # Cursors and protocol-level portals share one namespace in PostgreSQL: asyncpg
        # sends `MOVE FORWARD n FROM "<portal>"` for a portal it bound.
        self._protocol_portal = protocol_portal

    async def run(
        self, route: ProxyCommand, parameters: Sequence[object], wire: WireArguments | None = None
    ) -> ResultCursor:
        """`wire`: the client's Bind (extended protocol), whose result formats a FETCH from a
        warehouse-kept cursor honours, as PostgreSQL does."""
        node = route.statement.node
        kind = route.statement.kind
        if self.warehouse.transaction_status == "E" and kind != "ClosePortalStmt":
            raise PgError(
                SqlState.IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )
        if kind == "VariableShowStmt":
            applied = route.applied
            name, value = show_value(self.context.settings, node, (applied.purpose, applied.source))
            return LocalResult("SHOW", (Column(name, Oid.TEXT),), [(value,)])
        if kind == "VariableSetStmt":
            return self._set(node)
        if kind == "DeallocateStmt":
            self._forget_statement(None if node.isall else node.name)
            return LocalResult("DEALLOCATE ALL" if node.isall else "DEALLOCATE")
        if kind == "DeclareCursorStmt":
            return await self._declare(node, route, parameters)
        if kind == "FetchStmt":
            return await self._fetch(node, wire, route.applied)
        if kind == "ClosePortalStmt":
            await self._close(node.portalname)
            return LocalResult("CLOSE CURSOR")
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"{kind} is not supported")

    def describe(self, route: ProxyCommand) -> tuple[Column, ...] | None:
        kind = route.statement.kind
        if kind == "VariableShowStmt":
            name, _ = show_value(self.context.settings, route.statement.node, (None, "none"))
            return (Column(name, Oid.TEXT),)
        if kind == "FetchStmt" and not route.statement.node.ismove:
            cursor = self.cursors.get(route.statement.node.portalname)
            if cursor is None:
                raise _no_cursor(route.statement.node.portalname)
            return cursor.columns
        return None

    # --- SET, with PostgreSQL's transactional semantics ----------------------------------------

    def _set(self, node: ast.VariableSetStmt) -> LocalResult:
        settings = self.context.settings
        in_transaction = self.warehouse.transaction_status != "I"
        tag, warning = apply_variable_set(settings, node, in_transaction)
        self.warehouse.set_parameters(settings.values)
        return LocalResult(tag) if warning is None else _WarningResult(tag, warning)

    async def transaction_statement(
        self, node: ast.TransactionStmt, tag: str, was_in_transaction: bool
    ) -> None:
        """A transaction control statement succeeded: settings and cursors follow it."""
        settings = self.context.settings
        kind = node.kind
        if kind == TransactionStmtKind.TRANS_STMT_SAVEPOINT:
            settings.savepoint(node.savepoint_name)
        elif kind == TransactionStmtKind.TRANS_STMT_RELEASE:
            settings.release(node.savepoint_name)
        elif kind == TransactionStmtKind.TRANS_STMT_ROLLBACK_TO:
            settings.rollback_to(node.savepoint_name)
            self.warehouse.set_parameters(settings.values)
        elif (
            kind in (TransactionStmtKind.TRANS_STMT_COMMIT, TransactionStmtKind.TRANS_STMT_ROLLBACK)
            and was_in_transaction
        ):
            await self.transaction_ended(committed=tag == "COMMIT")

    async def transaction_ended(self, committed: bool) -> None:
        """After COMMIT/ROLLBACK: undo SETs of a rolled-back transaction (and SET LOCALs of any),
        drop its cursors."""
        settings = self.context.settings
        if settings.in_transaction:
            settings.end_transaction(committed)
            self.warehouse.set_parameters(settings.values)
        for name, cursor in list(self.cursors.items()):
            if not (cursor.hold and committed):
                if cursor.result is None:  # the warehouse closed it with the transaction
                    del self.cursors[name]
                else:
                    await self._close(name)

    # --- cursors -------------------------------------------------------------------------------

    async def _declare(
        self, node: ast.DeclareCursorStmt, route: ProxyCommand, parameters: Sequence[object]
    ) -> LocalResult:
        """The cursor's query runs now, decided under the purpose in force now (as PostgreSQL
        runs it at DECLARE); its rows are then fetched only under that purpose."""
        sql, withhold, applied = route.sql, route.withhold_error_text, route.applied
        assert sql is not None
        options = node.options or 0
        hold = bool(options & CURSOR_OPT_HOLD)
        if not hold and self.warehouse.transaction_status == "I":
            raise PgError(SqlState.NO_ACTIVE_SQL_TRANSACTION,
                          "DECLARE CURSOR can only be used in transaction blocks")
        if node.portalname in self.cursors:
            raise PgError(SqlState.DUPLICATE_CURSOR,
                          f'cursor "{node.portalname}" already exists')
        binary = bool(options & CURSOR_OPT_BINARY)
        if self.warehouse.keeps_cursors:
            described = (await self.warehouse.describe(sql, ())).columns
            declared = await self.warehouse.execute(_declare_sql(node, sql), parameters)
            await declared.fetch(None)
            await declared.close()
            self.cursors[node.portalname] = SqlCursor(
                node.portalname, None, binary, hold, withhold, described, applied
            )
            return LocalResult("DECLARE CURSOR")
        if options & CURSOR_OPT_SCROLL:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "SCROLL cursors are not supported on the embedded warehouse",
                          hint="Declare the cursor NO SCROLL (the default) and fetch forward.")
        # A relaying warehouse sends the cursor's rows in the format the cursor promises.
        wire = WireArguments((), (), (), (1,)) if binary else None
        result = await self.warehouse.execute(sql, parameters, wire)
        self.cursors[node.portalname] = SqlCursor(
            node.portalname, result, binary, hold, withhold, applied=applied
        )
        return LocalResult("DECLARE CURSOR")

    async def _fetch(
        self, node: ast.FetchStmt, wire: WireArguments | None, applied: AppliedPurpose
    ) -> _FetchResult | _WarehouseFetch:
        """Rows of a cursor, only under the purpose its query was decided under: they were
        produced for that purpose when it was declared."""
        cursor = self.cursors.get(node.portalname)
        if cursor is not None and cursor.applied.purpose not in (None, applied.purpose):
            raise _other_purpose(node.portalname, cursor.applied, applied)
        if cursor is not None and cursor.result is None:
            # Simple protocol: the cursor's own format; extended: the formats of the Bind.
            formats = wire.result_formats if wire is not None else (int(cursor.binary),)
            try:
                result = await self.warehouse.execute(
                    RawStream()(node), (), WireArguments((), (), (), formats)
                )
            except PgError as error:
                if cursor.withhold_error_text:
                    withhold_text(error, "cursor")
                raise
            return _WarehouseFetch(result, cursor.withhold_error_text)
        if cursor is None:
            portal = await self._protocol_portal(node.portalname)
            if portal is None:
                raise _no_cursor(node.portalname)
            cursor = SqlCursor(node.portalname, portal[0], binary=False, hold=False,
                               applied=portal[1])
            if cursor.applied.purpose not in (None, applied.purpose):
                raise _other_purpose(node.portalname, cursor.applied, applied)
        if node.direction != FetchDirection.FETCH_FORWARD or node.howMany < 0:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "only forward FETCH and MOVE are supported through purpose-proxy")
        return _FetchResult(cursor, node.howMany, bool(node.ismove))

    async def _close(self, name: str | None) -> None:
        if name is None:
            for each in list(self.cursors):
                await self._close(each)
            return
        cursor = self.cursors.pop(name, None)
        if cursor is None:
            raise _no_cursor(name)
        if cursor.result is not None:
            await cursor.result.close()
        elif self.warehouse.transaction_status != "E":  # a failed transaction's go with it
            closed = await self.warehouse.execute(f"CLOSE {quote_identifier(name)}", ())
            await closed.fetch(None)
            await closed.close()

    async def close_all(self) -> None:
        await self._close(None)


def _declare_sql(node: ast.DeclareCursorStmt, query: str) -> str:
    """DECLARE for the warehouse, around the decided query (never the client's own text)."""
    options = node.options or 0
    words = ["DECLARE", quote_identifier(node.portalname)]
    if options & CURSOR_OPT_BINARY:
        words.append("BINARY")
    if options & CURSOR_OPT_SCROLL:
        words.append("SCROLL")
    elif options & CURSOR_OPT_NO_SCROLL:
        words.append("NO SCROLL")
    words.append("CURSOR WITH HOLD" if options & CURSOR_OPT_HOLD else "CURSOR")
    return " ".join(words) + " FOR " + query
