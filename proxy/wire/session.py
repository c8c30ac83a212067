"""The post-startup session: simple and extended query protocol as an explicit state machine.

The session owns protocol state (prepared statements, portals, the skip-until-Sync rule) and
nothing else: which statements may run is the gate's business, how they run is the
warehouse's. Errors become ErrorResponse in exactly one place, `_fail`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from enum import Enum, auto

import structlog

from proxy.audit import AuditLog
from proxy.backends.base import (
    Column,
    ResultCursor,
    StatementDescription,
    WarehouseSession,
    WireArguments,
)
from proxy.context import SessionContext
from proxy.errors import PgError, SqlState, protocol_violation
from proxy.policy.decision import CopyIn, CopyOut
from proxy.routing import (
    AppliedPurpose,
    Forward,
    Gate,
    ProxyCommand,
    Route,
    withhold_error_text,
)
from proxy.session_settings import purpose_set_by
from proxy.sql.identifiers import quote_identifier
from proxy.sql.budget import parse_within_budget
from proxy.sql.statements import Statement
from proxy.wire import backend as msg
from proxy.wire.analysis import AnalysisPool
from proxy.wire.commands import ProxyCommands
from proxy.wire.copy import (
    client_copy_data,
    copy_in,
    copy_out,
    options_sql,
)
from proxy.wire.copy_format import CopyOptions
from proxy.wire.frontend import (
    Bind,
    Close,
    CopyData,
    CopyDone,
    CopyFail,
    Describe,
    Execute,
    Flush,
    FrontendMessage,
    Parse,
    PasswordData,
    Query,
    Sync,
    Terminate,
    Unsupported,
)
from proxy.wire.portals import Portal, PreparedStatement, missing
from proxy.wire.protocol import Frontend
from proxy.wire.results import RowEncoder, parameter_formats, result_formats
from proxy.wire.statement_audit import StatementAudit
from proxy.wire.stream import MessageStream
from proxy.wire.timeout import StatementTimer
from proxy.wire.transaction import AbortableSession
from proxy.wire.types import decode_binary, decode_text

log = structlog.get_logger(__name__)

TRANSACTION_CONTROL = "TransactionStmt"


class SessionState(Enum):
    IDLE = auto()  # between queries; ReadyForQuery has been sent
    EXTENDED = auto()  # inside an extended-protocol batch, before its Sync
    EXTENDED_FAILED = auto()  # an error happened in the batch: discard messages until Sync
    COPY_IN = auto()  # receiving CopyData for COPY ... FROM STDIN
    CLOSED = auto()


class Session:
    """Serves one authenticated client until Terminate, disconnect or a fatal error."""

    def __init__(
        self,
        stream: MessageStream,
        context: SessionContext,
        warehouse: WarehouseSession,
        gate: Gate,
        audit: AuditLog,
        analysis: AnalysisPool,
        batch_rows: int = 1000,
    ) -> None:
        self.stream = stream
        self.context = context
        self.warehouse = AbortableSession(warehouse)
        self.gate = gate
        self.analysis = analysis
        self.statement_audit = StatementAudit(audit, context)
        self.batch_rows = batch_rows
        self.state = SessionState.IDLE
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self.commands = ProxyCommands(
            context, self.warehouse, self._forget_statement, self._protocol_portal
        )

    # --- main loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while self.state is not SessionState.CLOSED:
                try:
                    message = await self.stream.read_message()
                except PgError as error:
                    if error.is_fatal:
                        raise
                    await self._fail(error)  # e.g. invalid UTF-8 inside a Query: 22021
                    if self.state is SessionState.IDLE:
                        await self._ready()
                    continue
                await self._dispatch(message)
        finally:
            await self._close_portals(all_portals=True)
            await self.commands.close_all()

    async def _protocol_portal(self, name: str) -> tuple[ResultCursor, AppliedPurpose] | None:
        """A bound portal's rows, for SQL FETCH/MOVE naming it (started if need be)."""
        portal = self.portals.get(name)
        if portal is None or portal.route is None:
            return None
        if portal.cursor is None:
            portal.route = self._in_force(portal.route)
            portal.cursor = await self._start(portal.route, portal.parameters, portal.wire)
        return portal.cursor, portal.route.applied

    def _forget_statement(self, name: str | None) -> None:
        """DEALLOCATE name / DEALLOCATE ALL."""
        if name is None:
            self.statements.clear()
        elif self.statements.pop(name, None) is None:
            raise missing("S", name)

    async def _dispatch(self, message: FrontendMessage) -> None:
        if isinstance(message, Terminate):
            self.state = SessionState.CLOSED
        elif isinstance(message, Sync):
            await self._sync()
        elif isinstance(message, Flush):
            await self.stream.flush()
        elif isinstance(message, Query):
            if self.state is not SessionState.EXTENDED_FAILED:
                await self._simple_query(message.sql)
        elif isinstance(message, Parse | Bind | Describe | Execute | Close):
            await self._extended(message)
        elif isinstance(message, Unsupported) and message.type_byte == Frontend.FUNCTION_CALL:
            await self._fail(PgError(
                SqlState.PROTOCOL_VIOLATION, "fastpath function calls are not supported"
            ))
            if self.state is SessionState.IDLE:
                await self._ready()
        elif isinstance(message, Unsupported | PasswordData | CopyData | CopyDone | CopyFail):
            raise protocol_violation(
                f"unexpected message type 0x{getattr(message, 'type_byte', Frontend.PASSWORD):02x}"
                " outside of its protocol phase"
            )

    async def _fail(self, error: PgError) -> None:
        """Report a statement-level error; in the extended protocol, skip until Sync.

        Inside a transaction block any error aborts the transaction, including the ones the
        warehouse never saw (rejections, bad parameters).
        """
        self.warehouse.fail()
        self.stream.write(msg.error_response(error))
        if self.state is SessionState.EXTENDED:
            self.state = SessionState.EXTENDED_FAILED

    async def _ready(self) -> None:
        if self.warehouse.transaction_status == "I" and self.context.settings.in_transaction:
            # The transaction ended without a COMMIT the proxy saw (a failed COMMIT, a lost
            # warehouse connection): it was rolled back, and so are its SETs.
            await self.commands.transaction_ended(committed=False)
        for name, value in self.context.settings.take_changes():
            self.stream.write(msg.parameter_status(name, value))
        self.stream.write(msg.ready_for_query(self.warehouse.transaction_status))
        self.warehouse.statement_ended()
        await self.stream.flush()

    # --- simple query ------------------------------------------------------------------------

    async def _simple_query(self, sql: str) -> None:
        try:
            routes = await self._decide(sql)
        except PgError as error:
            self.statement_audit.rejected(sql, error)
            await self._fail(error)
            await self._ready()
            return
        if not routes:
            self.stream.write(msg.EMPTY_QUERY_RESPONSE)
            await self._ready()
            return
        implicit = (
            len(routes) > 1
            and self.warehouse.transaction_status == "I"
            and all(route.statement.kind != TRANSACTION_CONTROL for route in routes)
        )
        try:
            if implicit:
                await self._run_hidden("BEGIN")
            for route in routes:
                await self._run_simple(route)
            if implicit:
                await self._run_hidden("COMMIT")
        except PgError as error:
            if implicit and self.warehouse.transaction_status != "I":
                await self._run_hidden("ROLLBACK")
            await self._fail(error)
        if self.portals and self.warehouse.transaction_status == "I":
            # A COMMIT or ROLLBACK sent as a simple query ends the portals of its transaction.
            await self._close_portals(all_portals=True)
        await self._ready()

    async def _decide(self, sql: str, prepared: bool = False) -> list[Route]:
        """Parse and route `sql` on an analysis thread, within the analysis budgets: deciding
        a large statement takes seconds of CPU, which must not stall the other sessions."""

        def work() -> list[Route]:
            statements = parse_within_budget(sql, self.analysis.budget)
            if prepared and len(statements) > 1:
                raise PgError(
                    SqlState.SYNTAX_ERROR,
                    "cannot insert multiple commands into a prepared statement",
                )
            return self._route_all(statements)

        return await self.analysis.run(work)

    def _route_all(self, statements: Sequence[Statement]) -> list[Route]:
        """Every statement is routed (and so checked) before any of them runs.

        A `SET purpose` early in the string governs the statements after it, as it would
        once run, so they are decided under the purpose they will run under.
        """
        context = self.context
        routes = []
        for statement in statements:
            routes.append(self.gate(statement, context))
            purpose = purpose_set_by(statement.node)
            if purpose is not None:
                context = replace(context, purpose_override=purpose)
        return routes

    async def _run_hidden(self, sql: str) -> None:
        """BEGIN/COMMIT/ROLLBACK of an implicit transaction (several statements in one Query):
        SETs in it are transactional, as in PostgreSQL."""
        cursor = await self.warehouse.execute(sql, ())
        await cursor.fetch(None)
        await cursor.close()
        if sql != "BEGIN":
            await self.commands.transaction_ended(committed=cursor.command_tag() == "COMMIT")

    async def _copy(self, route: Forward, parameters: Sequence[object]) -> str:
        """COPY TO STDOUT / FROM STDIN as the decision allowed it; returns the tag."""
        effect = route.effect
        assert isinstance(effect, CopyOut | CopyIn)
        options = CopyOptions.from_statement(effect.options)
        relay = self.warehouse.inner if getattr(self.warehouse.inner, "relays_copy", False) else None
        if isinstance(effect, CopyIn):
            previous, self.state = self.state, SessionState.COPY_IN
            try:
                if relay is not None:  # the client's CopyData goes to the warehouse as sent
                    sql = (f"COPY {quote_identifier(effect.schema, effect.table)} "
                           f"({', '.join(quote_identifier(c) for c in effect.columns)}) FROM STDIN"
                           f"{options_sql(effect.options)}")
                    return await relay.copy_in(
                        sql, client_copy_data(self.stream, len(effect.columns))
                    )
                rows = await copy_in(self.stream, self.warehouse, effect, options)
            finally:
                self.state = previous
            return f"COPY {rows}"
        if relay is not None:  # the warehouse runs COPY; its messages are relayed as sent
            cursor = await relay.copy_out(
                f"COPY ({route.sql}) TO STDOUT{options_sql(effect.options)}"
            )
            while not cursor.exhausted:
                self.stream.write(b"".join(await cursor.fetch_raw(None)))
                await self.stream.flush()
            return cursor.command_tag()
        cursor = await self._start(route, parameters)
        try:
            rows = await copy_out(self.stream, cursor, options, self.context.settings.timezone,
                                  self.batch_rows)
        finally:
            await cursor.close()
        return f"COPY {rows}"

    async def _run_simple(self, route: Route) -> None:
        started = time.monotonic()
        rows = 0
        route = self._in_force(route)
        was_in_transaction = self.warehouse.transaction_status != "I"
        if isinstance(route, Forward) and isinstance(route.effect, CopyOut | CopyIn):
            try:
                with self._statement_timer():
                    tag = await self._copy(route, ())
            except PgError as error:
                withhold_error_text(route, error)
                self.statement_audit.executed(route, started, 0, error)
                raise
            self.stream.write(msg.command_complete(tag))
            self.statement_audit.executed(route, started, int(tag.split()[1]), None)
            return
        try:
            with self._statement_timer():
                cursor = await self._start(route, ())
                try:
                    if cursor.columns is not None:
                        binary = getattr(cursor, "binary_results", False)
                        formats = (1 if binary else 0,) * len(cursor.columns)
                        relayed = getattr(cursor, "row_description", None)
                        self.stream.write(
                            relayed or msg.row_description(cursor.columns, formats)
                        )
                        encoder = RowEncoder(cursor.columns, formats, self.context.settings.timezone)
                        rows = await self._send_rows(cursor, encoder, None)
                    elif getattr(cursor, "raw", False):  # notices of the warehouse, relayed
                        self.stream.write(b"".join(await cursor.fetch_raw(None)))
                    else:
                        await cursor.fetch(None)
                    tag = cursor.command_tag()
                finally:
                    await cursor.close()
        except PgError as error:
            withhold_error_text(route, error)
            self.statement_audit.executed(route, started, rows, error)
            raise
        self.stream.write(msg.command_complete(tag))
        self.statement_audit.executed(route, started, rows, None)
        await self._completed(route, tag, was_in_transaction)

    async def _send_rows(self, cursor: ResultCursor, encoder: RowEncoder, limit: int | None) -> int:
        """Stream rows in batches, waiting for the client to keep up (bounded memory).

        A relaying warehouse's rows are its own DataRow messages, passed on byte for byte.
        """
        raw = getattr(cursor, "raw", False)
        sent = 0
        while limit is None or sent < limit:
            want = self.batch_rows if limit is None else min(self.batch_rows, limit - sent)
            if raw:
                before = cursor.rows_read  # type: ignore[attr-defined]
                messages = await cursor.fetch_raw(want)  # type: ignore[attr-defined]
                self.stream.write(b"".join(messages))
                got = cursor.rows_read - before  # type: ignore[attr-defined]
            else:
                rows = await cursor.fetch(want)
                if rows:
                    self.stream.write(encoder.encode_many(rows))
                got = len(rows)
            sent += got
            await self.stream.flush_when_full()
            if got < want:
                break
        return sent

    # --- statement execution (shared) --------------------------------------------------------

    async def _start(
        self, route: Route, parameters: Sequence[object], wire: WireArguments | None = None
    ) -> ResultCursor:
        if isinstance(route, ProxyCommand):
            return await self.commands.run(route, parameters, wire)
        return await self.warehouse.execute(route.sql, parameters, wire)

    async def _completed(self, route: Route, tag: str, was_in_transaction: bool) -> None:
        """A statement succeeded: record tables it created; settings and cursors follow
        transaction control (COMMIT, ROLLBACK, savepoints)."""
        if isinstance(route, Forward):
            self.gate.completed(route)
            if route.statement.kind == TRANSACTION_CONTROL:
                await self.commands.transaction_statement(
                    route.statement.node, tag, was_in_transaction
                )

    def _stale(self, route: Route) -> bool:
        """Decided under other declarations or another configuration than now in force."""
        applied = route.applied
        return (applied.declared != self.context.declared_purpose
                or applied.configuration != self.gate.configuration())

    def _in_force(self, route: Route) -> Route:
        """The route decided under the purpose in force now.

        A route is decided once (at Parse, or before a query string runs); a SET purpose,
        RESET purpose or rolled-back SET since then, or a reload of the configuration, changes
        what the statement may do, so it is decided again. A refusal now is the usual 42501, raised where the statement runs."""
        if not self._stale(route):
            return route
        try:
            return self.gate(route.statement, self.context)
        except PgError as error:
            self.statement_audit.rejected(route.statement.text, error)
            raise

    def _statement_timer(self) -> StatementTimer:
        return StatementTimer(self.context.settings, self.warehouse.cancel)

    def cancel(self) -> None:
        """CancelRequest from another connection: interrupt whatever runs now, and what the
        statement in flight would still send upstream (nothing is in flight while the session
        waits idle for its client)."""
        idle = self.stream.waiting and self.state is SessionState.IDLE
        self.warehouse.cancel(in_flight=not idle)

    # --- extended query ----------------------------------------------------------------------

    async def _extended(self, message: Parse | Bind | Describe | Execute | Close) -> None:
        if self.state is SessionState.EXTENDED_FAILED:
            return
        self.state = SessionState.EXTENDED
        try:
            if isinstance(message, Parse):
                await self._parse(message)
            elif isinstance(message, Bind):
                await self._bind(message)
            elif isinstance(message, Describe):
                await self._describe(message)
            elif isinstance(message, Execute):
                await self._execute(message)
            else:
                await self._close(message)
        except PgError as error:
            if error.is_fatal:
                raise
            await self._fail(error)

    async def _parse(self, message: Parse) -> None:
        if message.statement and message.statement in self.statements:
            raise PgError(
                SqlState.DUPLICATE_PREPARED_STATEMENT,
                f'prepared statement "{message.statement}" already exists',
            )
        try:
            routes = await self._decide(message.sql, prepared=True)
        except PgError as error:
            self.statement_audit.rejected(message.sql, error)
            raise
        self.statements[message.statement] = PreparedStatement(
            message.statement, routes[0] if routes else None, message.parameter_oids
        )
        self.stream.write(msg.PARSE_COMPLETE)

    async def _statement_description(self, prepared: PreparedStatement) -> StatementDescription:
        if prepared.description is None:
            route = prepared.route
            if route is None:
                prepared.description = StatementDescription((), None)
            elif isinstance(route, ProxyCommand):
                oids = prepared.parameter_oids
                if route.sql is not None:  # DECLARE ... CURSOR FOR <query with $n>
                    oids = (await self.warehouse.describe(route.sql, oids)).parameter_oids
                prepared.description = StatementDescription(oids, self.commands.describe(route))
            else:
                prepared.description = await self.warehouse.describe(
                    route.sql, prepared.parameter_oids
                )
        return prepared.description

    async def _bind(self, message: Bind) -> None:
        prepared = self.statements.get(message.statement)
        if prepared is None:
            raise missing("S", message.statement)
        if message.portal and message.portal in self.portals:
            raise PgError(SqlState.DUPLICATE_CURSOR, f'cursor "{message.portal}" already exists')
        description = await self._statement_description(prepared)
        route = prepared.route
        if route is not None and self._stale(route):
            route = self._in_force(route)
            await self._same_result(message.statement, description, route)
            prepared.route = route
        oids = description.parameter_oids
        if len(message.parameters) != len(oids):
            raise PgError(
                SqlState.PROTOCOL_VIOLATION,
                f"bind message supplies {len(message.parameters)} parameters, but prepared "
                f'statement "{message.statement}" requires {len(oids)}',
            )
        formats = parameter_formats(message.parameter_formats, len(oids))
        parameters = tuple(
            None if raw is None
            else decode_binary(raw, oid) if fmt
            else decode_text(raw, oid, timezone=self.context.settings.timezone)
            for raw, oid, fmt in zip(message.parameters, oids, formats, strict=True)
        )
        columns = description.columns
        output_formats = result_formats(message.result_formats, len(columns or ()))
        if message.portal == "" and "" in self.portals:
            await self._drop_portal("")
        wire = WireArguments(oids, formats, message.parameters, output_formats)
        self.portals[message.portal] = Portal(
            message.portal, prepared, parameters, output_formats, columns, wire, route=route
        )
        self.stream.write(msg.BIND_COMPLETE)

    async def _same_result(
        self, name: str, description: StatementDescription, route: Route
    ) -> None:
        """A statement decided again must keep the parameters and result columns the client
        was told about (it may have cached them): otherwise 0A000, as PostgreSQL answers when
        a prepared statement's result type changes. Clients then prepare it again."""
        if isinstance(route, ProxyCommand) and route.sql is None:
            return  # SET/SHOW/...: their result does not depend on the decision
        sql = route.sql
        assert sql is not None
        now = await self.warehouse.describe(sql, description.parameter_oids)
        columns = description.columns
        if isinstance(route, ProxyCommand):  # DECLARE: what the statement returns is no rows
            columns, now = None, StatementDescription(now.parameter_oids, None)

        def shape(cols: Sequence[Column] | None) -> list[tuple[str, int]] | None:
            return None if cols is None else [(c.name, c.type_oid) for c in cols]

        if now.parameter_oids != description.parameter_oids or shape(now.columns) != shape(
            columns
        ):
            raise PgError(
                SqlState.FEATURE_NOT_SUPPORTED,
                "cached plan must not change result type",
                detail=f'Prepared statement "{name}" returns other columns under the purpose '
                f'"{route.applied.purpose}" now in force.',
                hint="Prepare the statement again.",
                # PostgreSQL's routine name: drivers (asyncpg) recognize the error by it and
                # prepare the statement again by themselves.
                extra={"F": "plancache.c", "R": "RevalidateCachedQuery"},
            )

    async def _describe(self, message: Describe) -> None:
        if message.kind == "S":
            prepared = self.statements.get(message.name)
            if prepared is None:
                raise missing("S", message.name)
            description = await self._statement_description(prepared)
            self.stream.write(msg.parameter_description(description.parameter_oids))
            columns = description.columns
            formats = (0,) * len(columns or ())
        else:
            portal = self.portals.get(message.name)
            sql_cursor = self.commands.cursors.get(message.name)
            if portal is not None:
                columns, formats = portal.columns, portal.formats
            elif sql_cursor is not None:  # a DECLAREd cursor is a portal too (psycopg asks)
                columns = sql_cursor.columns
                formats = (1 if sql_cursor.binary else 0,) * len(columns or ())
            else:
                raise missing("P", message.name)
        if columns is None:
            self.stream.write(msg.NO_DATA)
        else:
            self.stream.write(msg.row_description(columns, formats))

    async def _execute(self, message: Execute) -> None:
        portal = self.portals.get(message.portal)
        if portal is None:
            raise missing("P", message.portal)
        route = portal.route
        if route is None:
            self.stream.write(msg.EMPTY_QUERY_RESPONSE)
            return
        if portal.completed_tag is not None:
            self.stream.write(msg.command_complete(portal.completed_tag))
            return
        route = portal.route = await self._portal_route(portal, route)
        was_in_transaction = self.warehouse.transaction_status != "I"
        if isinstance(route, Forward) and isinstance(route.effect, CopyOut | CopyIn):
            try:
                with self._statement_timer():
                    portal.completed_tag = await self._copy(route, portal.parameters)
            except PgError as error:
                withhold_error_text(route, error)
                self.statement_audit.executed(route, portal.started, 0, error)
                await self._drop_portal(portal.name)
                raise
            self.stream.write(msg.command_complete(portal.completed_tag))
            self.statement_audit.executed(route, portal.started, 0, None)
            return
        limit = message.max_rows if message.max_rows > 0 else None
        try:
            with self._statement_timer():
                if portal.cursor is None:
                    portal.cursor = await self._start(route, portal.parameters, portal.wire)
                sent = 0
                if portal.cursor.columns is not None:
                    encoder = RowEncoder(
                        portal.cursor.columns, portal.formats, self.context.settings.timezone
                    )
                    sent = await self._send_rows(portal.cursor, encoder, limit)
                    portal.rows_sent += sent
                elif getattr(portal.cursor, "raw", False):
                    self.stream.write(b"".join(await portal.cursor.fetch_raw(None)))
                else:
                    await portal.cursor.fetch(None)
        except PgError as error:
            withhold_error_text(route, error)
            self.statement_audit.executed(route, portal.started, portal.rows_sent, error)
            await self._drop_portal(portal.name)
            raise
        if limit is not None and sent == limit:
            self.stream.write(msg.PORTAL_SUSPENDED)
            return
        portal.completed_tag = _tag_of_this_execute(portal.cursor.command_tag(), sent)
        await portal.cursor.close()
        self.stream.write(msg.command_complete(portal.completed_tag))
        self.statement_audit.executed(route, portal.started, portal.rows_sent, None)
        await self._completed(route, portal.completed_tag, was_in_transaction)

    async def _portal_route(self, portal: Portal, route: Route) -> Route:
        """The portal's route under the purpose in force at Execute (a SET may have run since
        Bind). A portal already delivering rows keeps going only under its own purpose."""
        if not self._stale(route):
            return route
        now = self._in_force(route)
        if portal.cursor is None:
            description = StatementDescription(
                portal.statement.description.parameter_oids
                if portal.statement.description else (),
                portal.columns,
            )
            await self._same_result(portal.statement.name, description, now)
            return now
        if now.applied.purpose != route.applied.purpose:
            raise PgError(
                SqlState.INSUFFICIENT_PRIVILEGE,
                f'portal "{portal.name}" was opened under purpose "{route.applied.purpose}"; '
                f'the purpose in force is "{now.applied.purpose or "none"}"',
                hint="Read it to the end under the purpose it was opened under, or execute the "
                "statement again.",
            )
        return route

    async def _close(self, message: Close) -> None:
        if message.kind == "S":
            self.statements.pop(message.name, None)
        else:
            await self._drop_portal(message.name)
        self.stream.write(msg.CLOSE_COMPLETE)

    async def _drop_portal(self, name: str) -> None:
        portal = self.portals.pop(name, None)
        if portal is not None and portal.cursor is not None:
            await portal.cursor.close()

    async def _close_portals(self, all_portals: bool) -> None:
        for name in list(self.portals):
            if all_portals or name == "":
                await self._drop_portal(name)

    async def _sync(self) -> None:
        self.state = SessionState.IDLE
        # Portals live until the end of their transaction, as in PostgreSQL.
        if self.warehouse.transaction_status == "I":
            await self._close_portals(all_portals=True)
        await self._ready()


def _tag_of_this_execute(tag: str, sent: int) -> str:
    """PostgreSQL counts the rows of the last Execute in a resumed portal's SELECT / FETCH
    tag, not the portal's total (`SELECT 1` after 3 + 3 of 7 rows)."""
    verb, _, count = tag.partition(" ")
    if verb in ("SELECT", "FETCH") and count.isdigit():
        return f"{verb} {sent}"
    return tag
