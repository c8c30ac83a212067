"""The embedded warehouse: DuckDB in-process, locked down, speaking PostgreSQL semantics.

One DuckDB database (a file) per proxy process. Each client session gets its own DuckDB
connection (`con.cursor()`), hence its own transaction, and its own single worker thread:
DuckDB calls block and a DuckDB connection must never be used by two threads at once, so every
call of a session runs, in order, on that thread, off the event loop. Only `interrupt()` (cancel)
is called from elsewhere, which is what it is for.

Statements arrive in PostgreSQL's dialect (already decided by the policy layer); they are
transpiled by sqlglot (see duckdb_transpile) with the pg_catalog compat rewrite (see
duckdb_catalog), and results stream back with fetchmany.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from proxy.backends.base import (
    Column,
    StatementDescription,
    TransactionStatus,
    WireArguments,
)
from proxy.backends.duckdb_catalog import (
    COMPAT_CATALOG,
    PG_SERVER_VERSION,
    PG_SERVER_VERSION_NUM,
    SCHEMA_RELATIONS,
    install_compat_catalog,
)
from proxy.backends.duckdb_transpile import (
    GENERIC_DECIMAL,
    Transpiled,
    Utility,
    classify_utility,
    decimal_type_for,
    infer_parameter_types,
    map_duckdb_error,
    normalize_duckdb_type,
    referenced_tables,
    returning_as_select,
    transpile,
    with_null_parameters,
    with_parameter_casts,
)
from proxy.errors import PgError, SqlState
from proxy.wire.types import Interval, Oid, oid_for_duckdb_type

T = TypeVar("T")

FETCH_BATCH = 10_000

#: PostgreSQL run-time parameters as a fresh session reports them (SHOW, current_setting).
DEFAULT_SETTINGS: dict[str, str] = {
    "server_version": PG_SERVER_VERSION,
    "server_version_num": PG_SERVER_VERSION_NUM,
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "datestyle": "ISO, MDY",
    "intervalstyle": "postgres",
    "timezone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "application_name": "",
    "search_path": '"$user", public',
    "max_identifier_length": "63",
    "default_transaction_isolation": "read committed",
    "transaction_isolation": "read committed",
    "default_transaction_read_only": "off",
    "transaction_read_only": "off",
    "is_superuser": "off",
    "lc_collate": "C.UTF-8",
    "lc_ctype": "C.UTF-8",
    "lc_messages": "C.UTF-8",
    "block_size": "8192",
    "extra_float_digits": "1",
    "statement_timeout": "0",
    "lock_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
    "client_min_messages": "notice",
    "bytea_output": "hex",
    "max_connections": "100",
    "in_hot_standby": "off",
    "default_text_search_config": "pg_catalog.english",
    "jit": "off",
}

#: What SHOW calls the column (PostgreSQL keeps the canonical spelling).
_CANONICAL_NAMES = {"timezone": "TimeZone", "datestyle": "DateStyle", "intervalstyle": "IntervalStyle"}

_pids = itertools.count(20_000)


def _typmod(duckdb_type: str) -> int:
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if m:
        return ((int(m.group(1)) << 16) | int(m.group(2))) + 4
    return -1


def _column(name: str, duckdb_type: object) -> Column:
    type_text = str(duckdb_type).strip('"')
    oid = oid_for_duckdb_type(type_text)
    return Column(name=name, type_oid=int(oid), type_modifier=_typmod(type_text))


#: Catalog columns PostgreSQL types as oid / oid[]. DuckDB has no oid type, so results that read
#: the compat catalog get these OIDs back by column name (drivers such as asyncpg decode their
#: own introspection results with built-in oid codecs and would otherwise recurse into
#: introspecting int4[]).
_OID_COLUMNS = frozenset({
    "oid", "typelem", "typarray", "typbasetype", "typrelid", "typnamespace", "typowner", "typcollation",
    "atttypid", "attrelid", "attcollation", "relnamespace", "reltype", "reloftype", "relowner", "relam",
    "reltablespace", "reltoastrelid", "relfilenode", "nspowner", "conrelid", "confrelid", "conindid",
    "connamespace", "contypid", "conparentid", "indexrelid", "indrelid", "objoid", "classoid", "adrelid",
    "datdba", "dattablespace", "rngtypid", "rngsubtype", "rngmultitypid", "rngcollation", "elemtype",
    "basetype", "range_subtype", "inhrelid", "inhparent", "enumtypid", "collnamespace", "seqrelid",
    "seqtypid", "pronamespace", "prorettype", "extnamespace", "spcowner", "collowner", "array_oid",
})
_OID_ARRAY_COLUMNS = frozenset({"attrtypoids", "indclass", "indcollation", "proargtypes", "polroles"})
_INTEGER_TYPES = frozenset({"INTEGER", "BIGINT", "SMALLINT", "UINTEGER", "UBIGINT"})


def _with_catalog_oid_types(columns: tuple[Column, ...], duckdb_types: list[str]) -> tuple[Column, ...]:
    out = []
    for column, duck in zip(columns, duckdb_types):
        name = column.name.lower()
        duck = duck.upper().strip('"')
        if name in _OID_COLUMNS and duck in _INTEGER_TYPES:
            column = Column(column.name, int(Oid.OID), column.type_size, -1)
        elif name in _OID_ARRAY_COLUMNS and duck.endswith("[]") and duck[:-2] in _INTEGER_TYPES:
            column = Column(column.name, int(Oid.OID_ARRAY), column.type_size, -1)
        out.append(column)
    return tuple(out)


#: What DuckDB reports (by OID) for a column whose PostgreSQL type it cannot carry; an output
#: type override applies only over its stand-in, so a mismatch never relabels a column.
_STAND_IN = {
    int(Oid.VARCHAR): int(Oid.TEXT), int(Oid.VARCHAR_ARRAY): int(Oid.TEXT_ARRAY),
    int(Oid.JSONB): int(Oid.JSON), int(Oid.JSONB_ARRAY): int(Oid.JSON_ARRAY),
    int(Oid.NUMERIC): int(Oid.NUMERIC), int(Oid.NUMERIC_ARRAY): int(Oid.NUMERIC_ARRAY),
    int(Oid.NAME): int(Oid.TEXT),
}


def _with_output_types(columns: tuple[Column, ...], statement: Transpiled) -> tuple[Column, ...]:
    """PostgreSQL's type for output columns DuckDB types otherwise ('x'::varchar is VARCHAR,
    which reads as text; jsonb is JSON; '12.50'::numeric is DECIMAL(4,2) but numeric without
    typmod; pg_type.typname is name, typtype "char")."""
    if not statement.output_types and not statement.catalog_text_types:
        return columns
    out = list(columns)
    if statement.catalog_text_types:
        by_name = dict(statement.catalog_text_types)
        for i, column in enumerate(out):
            oid = by_name.get(column.name.lower())
            if oid is not None and column.type_oid == int(Oid.TEXT):
                out[i] = Column(column.name, oid, column.type_size, -1, column.table_oid, column.column_number)
    for position, oid, typmod in statement.output_types:
        if position < len(out) and out[position].type_oid == _STAND_IN.get(oid):
            column = out[position]
            out[position] = Column(column.name, oid, column.type_size, typmod, column.table_oid, column.column_number)
    return tuple(out)


def _bindable(value: object) -> object:
    """A decoded parameter as DuckDB's Python API can bind it."""
    if isinstance(value, Interval):
        # DuckDB keeps months, days and microseconds apart, but binds only timedelta (one
        # number) or text; its interval input reads this spelling exactly (not PostgreSQL's
        # '-1 days +23:59:55'). The statement casts it to INTERVAL (explicitly or as described).
        return f"{value.months} months {value.days} days {value.microseconds} microseconds"
    if type(value) is list and any(isinstance(v, (Interval, list)) for v in value):
        return [_bindable(v) for v in value]  # interval[]: text elements, cast by the statement
    return value


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBResultCursor:
    """Rows of one statement; live on the session's connection until drained or exhausted."""

    def __init__(self, session: DuckDBSession, columns: tuple[Column, ...] | None, tag: str,
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
        if self._live:
            self._live = False
        self._session._forget(self)


class DuckDBSession:
    """One client session: its own DuckDB connection, transaction and worker thread."""

    def __init__(self, warehouse: DuckDBWarehouse, con: Any, user: str, database: str, backend_pid: int) -> None:
        self._warehouse = warehouse
        self._con = con
        self.user = user
        self.database = database
        self.backend_pid = backend_pid
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"duckdb-{backend_pid}")
        self._status: TransactionStatus = "I"
        self._pending: DuckDBResultCursor | None = None
        self._settings: dict[str, str] = {}
        # SAVEPOINT emulation: DuckDB has none, so a savepoint is a name and the number of writes
        # done when it was set; rolling back to it works only while nothing was written since.
        self._unsynced: dict[str, str] = {}
        # SQL text -> each $n's DuckDB type as Describe reported it (cast in SQL), so that
        # executing a described statement yields exactly the described column types (a binary
        # int2 parameter must not come back as int4).
        self._described: OrderedDict[str, dict[int, str]] = OrderedDict()
        # (SQL text, casts, per-value numeric types) -> the DuckDB SQL with those casts.
        self._cast_sql: OrderedDict[tuple[object, ...], str] = OrderedDict()
        self._savepoints: list[tuple[str, int]] = []
        self._writes = 0
        self._search_path: list[str] = ["main"]
        self._closed = False

    # -- plumbing --------------------------------------------------------------------------------

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._closed:
            raise PgError(SqlState.CONNECTION_EXCEPTION, "the warehouse session is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def _failed(self, error: BaseException, statement: Transpiled | None = None) -> PgError:
        pg = error if isinstance(error, PgError) else map_duckdb_error(
            error, statement.tree if statement is not None else None)
        if self._status == "T":
            self._status = "E"
        return pg

    async def _fetch_live(self, cursor: DuckDBResultCursor, want: int | None) -> list[tuple[object, ...]]:
        try:
            rows = await self._call(lambda: cursor._read_live(want))
        except BaseException as error:
            self._pending = None
            raise self._failed(error) from None
        if not cursor._live and self._pending is cursor:
            self._pending = None
        return rows

    def _forget(self, cursor: DuckDBResultCursor) -> None:
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

    # -- the contract ----------------------------------------------------------------------------

    @property
    def transaction_status(self) -> TransactionStatus:
        return self._status

    def set_parameters(self, values: Mapping[str, str]) -> None:
        """Run-time parameters the client SET through the proxy's own settings (TimeZone...).

        The session layer answers SET/SHOW itself; calling this after a change makes
        current_setting() and pg_settings-style reads in SQL agree with SHOW. Applied (as DuckDB
        variables) on the session thread just before the next statement.
        """
        for name, value in values.items():
            key = name.lower()
            if self._settings.get(key) != value:
                self._settings[key] = str(value)
                self._unsynced[key] = str(value)

    def _sync_parameters(self) -> None:
        """On the session thread: push parameters changed by set_parameters() into DuckDB."""
        pending, self._unsynced = self._unsynced, {}
        for key, value in pending.items():
            self._con.execute(
                f"SET VARIABLE pp_guc_{re.sub(r'[^a-z0-9_]', '_', key)} = {_quote_literal(value)}")

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

    async def execute(
        self, sql: str, parameters: Sequence[object] = (), wire: WireArguments | None = None
    ) -> DuckDBResultCursor:
        await self._settle_pending()
        utility = classify_utility(sql)
        if self._status == "E" and not (utility and utility.kind in ("commit", "rollback", "rollback_to")):
            raise PgError(
                SqlState.IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )
        if utility is not None:
            return await self._utility(utility)
        try:
            statement = transpile(sql)
        except PgError as error:
            raise self._failed(error) from None
        params = list(parameters)
        if len(params) != statement.parameter_count:
            raise self._failed(PgError(
                SqlState.PROTOCOL_VIOLATION,
                f"bind message supplies {len(params)} parameters, but prepared statement requires "
                f"{statement.parameter_count}",
            ))

        params = [_bindable(p) for p in params]

        def run() -> DuckDBResultCursor:
            if self._unsynced:
                self._sync_parameters()
            duck_sql = statement.duckdb_sql
            if params:
                casts = self._described.get(sql)
                if casts is None:
                    casts = self._text_parameter_casts(statement, params) \
                        if any(isinstance(p, str) for p in params) else {}
                numeric = _numeric_parameter_types(statement, params)
                for n in statement.numeric_parameters:
                    value = params[n - 1] if n - 1 < len(params) else None
                    if isinstance(value, Decimal) and len(value.as_tuple().digits) > 38:
                        # DuckDB binds a Decimal it cannot hold as a double: as text, the cast
                        # to DECIMAL(38,s) rounds it exactly instead.
                        params[n - 1] = format(value, "f")
                if casts or numeric:
                    duck_sql = self._sql_with_casts(sql, statement, casts, numeric)
            con = self._con
            cache_key = None
            if statement.catalog_result_deps is not None:
                try:
                    frozen_params = tuple(_frozen(p) for p in params)
                    hash(frozen_params)
                except TypeError:
                    frozen_params = None
                if frozen_params is not None:
                    fingerprint = tuple(_frozen(con.execute(SCHEMA_RELATIONS[name]).fetchone())
                                        for name in sorted(statement.catalog_result_deps))
                    cache_key = (duck_sql, frozen_params, fingerprint)
                    cached = self._warehouse.catalog_cache.result(cache_key)
                    if cached is not None:
                        return DuckDBResultCursor(self, cached[0], statement.tag, rows=list(cached[1]))
            if params:
                con.execute(duck_sql, params)
            else:
                con.execute(duck_sql)
            cursor = self._result(statement, con)
            if cache_key is not None and cursor.columns is not None:
                cursor._drain()
                cursor._live = False
                self._warehouse.catalog_cache.keep_result(cache_key, cursor.columns, cursor._buffer)
            return cursor

        try:
            cursor = await self._call(run)
        except BaseException as error:
            raise self._failed(error, statement) from None
        if statement.kind != "query" and self._status == "T":
            self._writes += 1
        if cursor._live:
            self._pending = cursor
        return cursor

    async def describe(self, sql: str, parameter_oids: Sequence[int] = ()) -> StatementDescription:
        utility = classify_utility(sql)
        if utility is not None:
            if utility.kind == "show":
                return StatementDescription(tuple(parameter_oids), self._show_columns(utility.name or ""))
            return StatementDescription(tuple(parameter_oids), None)
        statement = transpile(sql)
        cache_key = (sql, tuple(int(o) for o in parameter_oids)) if statement.compat_only else None
        if cache_key is not None:
            cached = self._warehouse.catalog_cache.description(cache_key)
            if cached is not None:
                description, casts = cached
                if casts:
                    self._remember_casts(sql, casts)
                return description
        await self._settle_pending()

        def work() -> StatementDescription:
            types = self._parameter_types(statement)
            declared = dict(statement.declared_parameter_oids)
            count = max(statement.parameter_count, len(parameter_oids))
            oids: list[int] = []
            duck_types: dict[int, str] = {}
            for n in range(1, count + 1):
                explicit = parameter_oids[n - 1] if n - 1 < len(parameter_oids) else 0
                explicit = explicit or declared.get(n, 0)
                if explicit:
                    oids.append(int(explicit))
                    duck_types[n] = types.get(n) or _duckdb_type_for_oid(int(explicit))
                else:
                    inferred = types.get(n, "VARCHAR")
                    oids.append(int(oid_for_duckdb_type(normalize_duckdb_type(inferred))))
                    duck_types[n] = inferred
            columns = self._result_columns(statement, duck_types)
            # Unconstrained numeric keeps the value's own scale (DuckDB's DECIMAL has a fixed
            # one): such parameters are typed per value at execution, not here.
            casts = {n: t for n, t in duck_types.items()
                     if t != GENERIC_DECIMAL and n not in statement.numeric_parameters}
            if casts:
                self._remember_casts(sql, casts)
            description = StatementDescription(tuple(oids), columns)
            if cache_key is not None:
                self._warehouse.catalog_cache.keep_description(cache_key, (description, casts))
            return description

        try:
            return await self._call(work)
        except PgError:
            raise
        except BaseException as error:
            raise map_duckdb_error(error) from None

    # -- statements the session answers itself -------------------------------------------------

    async def _utility(self, utility: Utility) -> DuckDBResultCursor:
        kind = utility.kind
        if kind == "begin":
            if self._status == "I":
                await self._run_plain("BEGIN TRANSACTION")
                self._status = "T"
            return DuckDBResultCursor(self, None, utility.tag)
        if kind in ("commit", "rollback"):
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
        if kind in ("savepoint", "release", "rollback_to"):
            return await self._savepoint(utility)
        if kind == "set":
            await self._set(utility.name or "", utility.value or "")
            return DuckDBResultCursor(self, None, "SET")
        if kind == "reset":
            name = utility.name or ""
            if name == "all":
                for key in list(self._settings):
                    await self._set(key, "DEFAULT")
            else:
                await self._set(name, "DEFAULT")
            return DuckDBResultCursor(self, None, "RESET")
        if kind == "show":
            return self._show(utility.name or "")
        if kind == "discard":
            for key in list(self._settings):
                await self._set(key, "DEFAULT")
            return DuckDBResultCursor(self, None, utility.tag)
        if kind == "noop":
            return DuckDBResultCursor(self, None, utility.tag)
        raise self._failed(PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"{utility.value or utility.tag} is not supported by the DuckDB warehouse of purpose-proxy",
        ))

    async def _savepoint(self, utility: Utility) -> DuckDBResultCursor:
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

    async def _run_plain(self, sql: str) -> None:
        try:
            await self._call(lambda: self._con.execute(sql))
        except BaseException as error:
            raise map_duckdb_error(error) from None

    async def _set(self, name: str, value: str) -> None:
        name = name.lower()
        if value.upper() == "DEFAULT":
            self._settings.pop(name, None)
            value = self._warehouse.default_settings.get(name, "")
            reset = True
        else:
            if name in ("server_version", "server_version_num", "server_encoding", "lc_collate", "lc_ctype",
                        "block_size", "max_identifier_length", "integer_datetimes", "max_connections"):
                raise self._failed(PgError("55P02", f'parameter "{name}" cannot be changed'))
            self._settings[name] = value
            reset = False
        statements = [f"SET VARIABLE pp_guc_{re.sub(r'[^a-z0-9_]', '_', name)} = {_quote_literal(value)}"]
        if name == "search_path":
            known = await self._call(self._known_schemas)
            statements.append(self._search_path_statement(value, reset, known))
        for statement in statements:
            try:
                await self._run_plain(statement)
            except PgError as error:
                raise self._failed(error) from None

    def _known_schemas(self) -> set[str]:
        rows = self._con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ?", [self._warehouse.catalog_name]
        ).fetchall()
        return {r[0] for r in rows}

    def _search_path_statement(self, value: str, reset: bool, known: set[str]) -> str:
        """DuckDB's search_path from PostgreSQL's: known schemas only, `public` read as `main`."""
        wanted = [] if reset else [p.strip().strip('"') for p in value.split(",") if p.strip()]
        schemas = []
        for part in wanted:
            name = "main" if part.lower() == "public" else part
            if name in known and name not in schemas:
                schemas.append(name)
        if "main" not in schemas:
            schemas.append("main")
        self._search_path = schemas
        return f"SET search_path = {_quote_literal(','.join(schemas))}"

    def _setting(self, name: str) -> str | None:
        name = name.lower()
        if name == "session_authorization":
            return self.user
        if name in self._settings:
            return self._settings[name]
        return self._warehouse.default_settings.get(name)

    def _show_columns(self, name: str) -> tuple[Column, ...]:
        if name == "all":
            return (Column("name", int(Oid.TEXT)), Column("setting", int(Oid.TEXT)),
                    Column("description", int(Oid.TEXT)))
        return (Column(_CANONICAL_NAMES.get(name.lower(), name.lower()), int(Oid.TEXT)),)

    def _show(self, name: str) -> DuckDBResultCursor:
        if name == "all":
            keys = sorted(set(self._warehouse.default_settings) | set(self._settings))
            rows = [(_CANONICAL_NAMES.get(k, k), self._setting(k), "") for k in keys]
            return DuckDBResultCursor(self, self._show_columns(name), "SHOW", rows=rows)
        value = self._setting(name)
        if value is None:
            raise self._failed(PgError(SqlState.UNDEFINED_OBJECT, f'unrecognized configuration parameter "{name}"'))
        return DuckDBResultCursor(self, self._show_columns(name), "SHOW", rows=[(value,)])

    # -- on the session thread -------------------------------------------------------------------

    def _result(self, statement: Transpiled, con: Any) -> DuckDBResultCursor:
        description = con.description
        if statement.kind in ("insert", "update", "delete", "ctas") and not statement.returns_rows:
            count = 0
            if description:
                row = con.fetchone()
                count = int(row[0]) if row and row[0] is not None else 0
            return DuckDBResultCursor(self, None, statement.tag, count=count)
        if statement.kind == "ddl" or not description:
            return DuckDBResultCursor(self, None, statement.tag)
        columns = tuple(_column(d[0], d[1]) for d in description)
        if statement.reads_catalog:
            columns = _with_catalog_oid_types(columns, [str(d[1]) for d in description])
        columns = _with_output_types(columns, statement)
        return DuckDBResultCursor(self, columns, statement.tag, live=True)

    def _column_types(self, statement: Transpiled) -> dict[tuple[str, str, str], dict[str, str]]:
        names = sorted({t.name.lower() for t in referenced_tables(statement.tree)})
        if not names:
            return {}
        placeholders = ", ".join("?" for _ in names)
        rows = self._con.execute(
            "SELECT database_name, schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            f"WHERE lower(table_name) IN ({placeholders}) ORDER BY column_index",
            names,
        ).fetchall()
        out: dict[tuple[str, str, str], dict[str, str]] = {}
        for db, schema, table, column, data_type in rows:
            out.setdefault((db, schema, table), {})[column] = data_type
        return out

    def _parameter_types(self, statement: Transpiled) -> dict[int, str]:
        if not statement.parameter_count:
            return {}
        return infer_parameter_types(
            statement.tree, self._column_types(statement),
            default_catalog=self._warehouse.catalog_name, search_path=self._search_path,
        )

    def _remember_casts(self, sql: str, casts: dict[int, str]) -> None:
        self._described[sql] = casts
        self._described.move_to_end(sql)
        while len(self._described) > 256:
            self._described.popitem(last=False)

    def _text_parameter_casts(self, statement: Transpiled, params: list[object]) -> dict[int, str]:
        """Text values for typed placeholders: cast them in SQL, as PostgreSQL would coerce them."""
        types = self._parameter_types(statement)
        return {
            n: t for n, t in types.items()
            if n - 1 < len(params) and isinstance(params[n - 1], str) and t.upper() not in ("VARCHAR", "TEXT")
        }

    def _sql_with_casts(self, sql: str, statement: Transpiled, casts: Mapping[int, str],
                        numeric: Mapping[int, str]) -> str:
        key = (sql, tuple(sorted(casts.items())), tuple(sorted(numeric.items())))
        duck_sql = self._cast_sql.get(key)
        if duck_sql is None:
            duck_sql = with_parameter_casts(statement.tree, casts, numeric)
            self._cast_sql[key] = duck_sql
            while len(self._cast_sql) > 512:
                self._cast_sql.popitem(last=False)
        else:
            self._cast_sql.move_to_end(key)
        return duck_sql

    def _result_columns(self, statement: Transpiled, duck_types: dict[int, str]) -> tuple[Column, ...] | None:
        if statement.kind == "query":
            query = statement.tree
        elif statement.returns_rows:
            query = returning_as_select(statement.tree)
            if query is None:
                return None
        else:
            return None
        bound = with_null_parameters(query, duck_types).sql(dialect="duckdb")
        # DESCRIBE binds the query and reports its columns; it never runs it.
        rows = self._con.execute(f"DESCRIBE {bound}").fetchall()
        columns = tuple(_column(row[0], row[1]) for row in rows)
        if statement.reads_catalog:
            columns = _with_catalog_oid_types(columns, [str(row[1]) for row in rows])
        return _with_output_types(columns, statement)


def _numeric_parameter_types(statement: Transpiled, params: Sequence[object]) -> dict[int, str]:
    """For each $n the statement casts to unconstrained numeric: the DECIMAL of its value."""
    out: dict[int, str] = {}
    for n in statement.numeric_parameters:
        if n - 1 < len(params) and params[n - 1] is not None:
            exact = decimal_type_for(params[n - 1])
            if exact is not None:
                out[n] = exact
    return out


def _frozen(value: object) -> object:
    """A parameter value as a dict key (lists become tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


class CatalogCache:
    """What drivers ask of the compat catalog on every new connection (asyncpg's type
    introspection: ~50 ms of DuckDB planning each time), shared by the warehouse's sessions.

    * descriptions of statements that read only compat relations, whose shapes never change;
    * rows of statements whose rows follow only their parameters, static catalogs and DuckDB's
      list of schemas, keyed by a fingerprint of that list read in the asking session's own
      transaction (so a schema created, even uncommitted, is never answered from before it).
    """

    MAX_ENTRIES = 256
    MAX_ROWS = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._descriptions: OrderedDict[tuple[object, ...], tuple[StatementDescription, dict[int, str]]] = \
            OrderedDict()
        self._results: OrderedDict[tuple[object, ...], tuple[tuple[Column, ...], tuple[tuple[object, ...], ...]]] = \
            OrderedDict()

    @staticmethod
    def _get(store: OrderedDict[Any, Any], key: tuple[object, ...]) -> Any:
        found = store.get(key)
        if found is not None:
            store.move_to_end(key)
        return found

    def _put(self, store: OrderedDict[Any, Any], key: tuple[object, ...], value: object) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self.MAX_ENTRIES:
            store.popitem(last=False)

    def description(self, key: tuple[object, ...]) -> tuple[StatementDescription, dict[int, str]] | None:
        with self._lock:
            return self._get(self._descriptions, key)

    def keep_description(self, key: tuple[object, ...], value: tuple[StatementDescription, dict[int, str]]) -> None:
        with self._lock:
            self._put(self._descriptions, key, value)

    def result(self, key: tuple[object, ...]) -> tuple[tuple[Column, ...], tuple[tuple[object, ...], ...]] | None:
        with self._lock:
            return self._get(self._results, key)

    def keep_result(self, key: tuple[object, ...], columns: tuple[Column, ...], rows: list[tuple[object, ...]]) -> None:
        if len(rows) <= self.MAX_ROWS:
            with self._lock:
                self._put(self._results, key, (columns, tuple(rows)))


def _duckdb_type_for_oid(oid: int) -> str:
    return _OID_TO_DUCKDB.get(oid, "VARCHAR")


_OID_TO_DUCKDB = {
    16: "BOOLEAN", 17: "BLOB", 20: "BIGINT", 21: "SMALLINT", 23: "INTEGER", 25: "VARCHAR", 26: "BIGINT",
    700: "REAL", 701: "DOUBLE", 1043: "VARCHAR", 1042: "VARCHAR", 1082: "DATE", 1083: "TIME",
    1114: "TIMESTAMP", 1184: "TIMESTAMP WITH TIME ZONE", 1186: "INTERVAL", 1700: "DECIMAL(38,10)",
    2950: "UUID", 114: "JSON", 3802: "JSON", 1000: "BOOLEAN[]", 1005: "SMALLINT[]", 1007: "INTEGER[]",
    1016: "BIGINT[]", 1009: "VARCHAR[]", 1015: "VARCHAR[]", 1021: "REAL[]", 1022: "DOUBLE[]",
    1028: "BIGINT[]", 1182: "DATE[]", 1115: "TIMESTAMP[]", 1231: "DECIMAL(38,10)[]", 2951: "UUID[]",
}


class DuckDBWarehouse:
    """The embedded warehouse: one DuckDB file, demo data on first start, locked down."""

    def __init__(self, path: str | Path, *, threads: int | None = None, load_demo: bool = True) -> None:
        self.path = Path(path)
        self.threads = threads
        self.load_demo = load_demo
        self.server_version = PG_SERVER_VERSION
        self.duckdb_version = duckdb.__version__
        self.catalog_name = ""
        self._root: Any = None
        self._started_at = datetime.now(timezone.utc)
        self.default_settings: dict[str, str] = dict(DEFAULT_SETTINGS)
        self.catalog_cache = CatalogCache()

    @classmethod
    async def open(cls, path: str | Path, *, threads: int | None = None, load_demo: bool = True) -> DuckDBWarehouse:
        warehouse = cls(path, threads=threads, load_demo=load_demo)
        await warehouse.start()
        return warehouse

    async def start(self) -> None:
        if self._root is None:
            await asyncio.to_thread(self._start)

    def _start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # PostgreSQL semantics where DuckDB lets us choose: integer division truncates, NULLs sort
        # last ascending and first descending. Given at connect so every cursor() inherits them.
        config: dict[str, Any] = {
            "integer_division": True,
            "default_null_order": "nulls_last_on_asc_first_on_desc",
        }
        if self.threads:
            config["threads"] = int(self.threads)
        con = duckdb.connect(str(self.path), config=config)
        try:
            self.catalog_name = con.execute("SELECT current_database()").fetchone()[0]
            # DuckDB's TimeZone cannot be given at connect (ICU loads later) nor set per cursor,
            # so the default PostgreSQL-visible TimeZone is whatever DuckDB runs with.
            self.default_settings = dict(DEFAULT_SETTINGS)
            self.default_settings["timezone"] = con.execute("SELECT current_setting('TimeZone')").fetchone()[0]
            has_shop = con.execute(
                "SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database() "
                "AND schema_name = 'shop'"
            ).fetchone()[0]
            if self.load_demo and not has_shop:
                from proxy.demo.data import load_into_duckdb

                load_into_duckdb(con)
                con.execute("CHECKPOINT")
            install_compat_catalog(
                con,
                main_database=self.catalog_name,
                duckdb_version=f"v{self.duckdb_version}",
                oid_for_duckdb_type=lambda t: int(oid_for_duckdb_type(t)),
                settings=self.default_settings,
            )
            self._lock_down(con)
        except BaseException:
            con.close()
            raise
        self._root = con

    @staticmethod
    def _lock_down(con: Any) -> None:
        """No file, network, extension or Python-variable access from SQL, and no way back."""
        for statement in (
            "SET python_enable_replacements = false",
            "SET python_scan_all_frames = false",
            "SET allow_persistent_secrets = false",
        ):
            try:
                con.execute(statement)
            except duckdb.Error:
                pass  # not every DuckDB build has the Python or secrets settings
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET allow_community_extensions = false")
        try:
            con.execute("SET allow_unsigned_extensions = false")
        except duckdb.Error:
            pass  # only settable at startup on some versions; false is its default
        con.execute("SET lock_configuration = true")

    async def open_session(self, user: str, database: str, *, backend_pid: int | None = None) -> DuckDBSession:
        if self._root is None:
            await self.start()
        pid = backend_pid if backend_pid is not None else next(_pids)

        def connect() -> Any:
            con = self._root.cursor()
            con.execute(f"SET VARIABLE pp_user = {_quote_literal(user)}")
            con.execute(f"SET VARIABLE pp_database = {_quote_literal(database)}")
            con.execute(f"SET VARIABLE pp_pid = {int(pid)}")
            con.execute(f"SET VARIABLE pp_started_at = TIMESTAMPTZ {_quote_literal(self._started_at.isoformat())}")
            return con

        con = await asyncio.to_thread(connect)
        return DuckDBSession(self, con, user, database, pid)

    async def close(self) -> None:
        root, self._root = self._root, None
        if root is not None:
            await asyncio.to_thread(root.close)


__all__ = ["DuckDBWarehouse", "DuckDBSession", "DuckDBResultCursor", "COMPAT_CATALOG", "DEFAULT_SETTINGS"]
