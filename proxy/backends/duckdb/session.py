"""A client session on the embedded warehouse: execute and describe PostgreSQL statements.

Statements arrive in PostgreSQL's dialect (already decided by the policy layer). Transaction
control and run-time parameters are answered by the session itself (transactions.py,
settings.py); everything else is transpiled (transpile.py), its parameters typed and bound as
PostgreSQL would (parameter_types.py, parameters.py), and run on the session's own connection
and thread (worker.py), its rows streaming back through a cursor (cursor.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from proxy.backends.base import Column, StatementDescription, WireArguments
from proxy.backends.duckdb.catalog.cache import result_key
from proxy.backends.duckdb.columns import described_columns
from proxy.backends.duckdb.cursor import DuckDBResultCursor, result_cursor
from proxy.backends.duckdb.duckdb_types import (
    GENERIC_DECIMAL,
    duckdb_type_for_oid,
    normalize_duckdb_type,
)
from proxy.backends.duckdb.errors import map_duckdb_error
from proxy.backends.duckdb.parameter_types import (
    infer_parameter_types,
    referenced_column_types,
)
from proxy.backends.duckdb.parameters import (
    ParameterCasts,
    bindable,
    numeric_parameter_types,
    text_value_casts,
    wide_decimals_as_text,
)
from proxy.backends.duckdb.settings import RuntimeSettings, show_columns
from proxy.backends.duckdb.transactions import TransactionControl
from proxy.backends.duckdb.transpile import Transpiled, transpile
from proxy.backends.duckdb.utility import Utility, classify_utility
from proxy.backends.local import LocalResult
from proxy.errors import PgError, SqlState
from proxy.wire.types import Oid, oid_for_duckdb_type

#: EXPLAIN exactly as the decision core writes it (proxy.policy.decide: costs always off).
_EXPLAIN = re.compile(r"^EXPLAIN \(COSTS OFF(?:, FORMAT (\w+))?\) (.*)$", re.S)
_ESTIMATE = re.compile(r"~\s*[\d,.]+\s*rows?|Estimated Cardinality", re.I)

if TYPE_CHECKING:
    from proxy.backends.duckdb.warehouse import DuckDBWarehouse


class DuckDBSession(TransactionControl, RuntimeSettings):
    """One client session: its own DuckDB connection, transaction and worker thread."""

    keeps_cursors = False  # DuckDB has no SQL cursors: the proxy keeps them

    def __init__(self, warehouse: DuckDBWarehouse, con: Any, user: str, database: str, backend_pid: int) -> None:
        super().__init__(warehouse, con, user, database, backend_pid)
        self._casts = ParameterCasts()

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
        explained = _EXPLAIN.match(sql)
        if explained is not None:
            return await self._explain(explained.group(2), explained.group(1))  # type: ignore[return-value]
        try:
            # seconds of sqlglot work for a large statement: on the session's thread
            statement = await self._call(lambda: transpile(sql))
        except PgError as error:
            raise self._failed(error) from None
        params = list(parameters)
        if len(params) != statement.parameter_count:
            raise self._failed(PgError(
                SqlState.PROTOCOL_VIOLATION,
                f"bind message supplies {len(params)} parameters, but prepared statement requires "
                f"{statement.parameter_count}",
            ))

        params = [bindable(p) for p in params]

        def run() -> DuckDBResultCursor:
            if self._unsynced:
                self._sync_parameters()
            duck_sql = self._bound_sql(sql, statement, params) if params else statement.duckdb_sql
            con = self._con
            cache = self._warehouse.catalog_cache
            cache_key = result_key(con, duck_sql, params, statement.catalog_result_deps)
            if cache_key is not None:
                cached = cache.result(cache_key)
                if cached is not None:
                    return DuckDBResultCursor(self, cached[0], statement.tag, rows=list(cached[1]))
            if params:
                con.execute(duck_sql, params)
            else:
                con.execute(duck_sql)
            cursor = result_cursor(self, statement, con)
            if cache_key is not None and cursor.columns is not None:
                cursor._drain()
                cache.keep_result(cache_key, cursor.columns, cursor._buffer)
            return cursor

        try:
            cursor = await self._call(run)
        except BaseException as error:
            raise self._failed(error, statement) from None
        if statement.kind != "query":
            self._count_write()
        if cursor._live:
            self._pending = cursor
        return cursor

    async def _explain(self, query: str, explain_format: str | None) -> LocalResult:
        """EXPLAIN as the decision core sends it (COSTS OFF): DuckDB's physical plan, one text
        row per line under PostgreSQL's column name."""
        if explain_format is not None:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          f"EXPLAIN (FORMAT {explain_format}) is not supported by the DuckDB "
                          "warehouse", hint="The embedded warehouse explains in text only.")
        statement = transpile(query)
        if statement.parameter_count:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "EXPLAIN of a statement with parameters is not supported by the "
                          "DuckDB warehouse")

        def run() -> list[tuple[object, ...]]:
            if self._unsynced:
                self._sync_parameters()
            self._con.execute("EXPLAIN " + statement.duckdb_sql)
            plan = "\n".join(str(row[-1]) for row in self._con.fetchall())
            # Cardinality estimates come from statistics over hidden rows too: left out.
            return [(line,) for line in plan.splitlines()
                    if line.strip() and not _ESTIMATE.search(line)]

        try:
            rows = await self._call(run)
        except BaseException as error:
            raise self._failed(error, statement) from None
        return LocalResult("EXPLAIN", (Column("QUERY PLAN", Oid.TEXT),), rows)

    async def describe(self, sql: str, parameter_oids: Sequence[int] = ()) -> StatementDescription:
        if _EXPLAIN.match(sql):
            return StatementDescription(tuple(parameter_oids), (Column("QUERY PLAN", Oid.TEXT),))
        utility = classify_utility(sql)
        if utility is not None:
            if utility.kind == "show":
                return StatementDescription(tuple(parameter_oids), show_columns(utility.name or ""))
            return StatementDescription(tuple(parameter_oids), None)
        statement = await self._call(lambda: transpile(sql))
        cache_key = (sql, tuple(int(o) for o in parameter_oids)) if statement.compat_only else None
        if cache_key is not None:
            cached = self._warehouse.catalog_cache.description(cache_key)
            if cached is not None:
                description, casts = cached
                if casts:
                    self._casts.remember(sql, casts)
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
                    duck_types[n] = types.get(n) or duckdb_type_for_oid(int(explicit))
                else:
                    inferred = types.get(n, "VARCHAR")
                    oids.append(int(oid_for_duckdb_type(normalize_duckdb_type(inferred))))
                    duck_types[n] = inferred
            columns = described_columns(self._con, statement, duck_types)
            # Unconstrained numeric keeps the value's own scale (DuckDB's DECIMAL has a fixed
            # one): such parameters are typed per value at execution, not here.
            casts = {n: t for n, t in duck_types.items()
                     if t != GENERIC_DECIMAL and n not in statement.numeric_parameters}
            if casts:
                self._casts.remember(sql, casts)
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

    async def _utility(self, utility: Utility) -> DuckDBResultCursor:
        """A statement the session answers itself (see utility.py)."""
        kind = utility.kind
        if kind == "begin":
            return await self._begin(utility.tag)
        if kind in ("commit", "rollback"):
            return await self._end(kind)
        if kind in ("savepoint", "release", "rollback_to"):
            return await self._savepoint(utility)
        if kind in ("set", "reset", "show", "discard"):
            return await self._parameter_statement(utility)
        if kind == "noop":
            return DuckDBResultCursor(self, None, utility.tag)
        raise self._failed(PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"{utility.value or utility.tag} is not supported by the DuckDB warehouse of purpose-proxy",
        ))

    # -- on the session thread -------------------------------------------------------------------

    def _bound_sql(self, sql: str, statement: Transpiled, params: list[object]) -> str:
        """The DuckDB SQL to run with `params`, typed as PostgreSQL would type them; rewrites in
        place the values DuckDB would bind wrongly."""
        casts = self._casts.described(sql)
        if casts is None:
            casts = text_value_casts(self._parameter_types(statement), params) \
                if any(isinstance(p, str) for p in params) else {}
        numeric = numeric_parameter_types(statement.numeric_parameters, params)
        wide_decimals_as_text(statement.numeric_parameters, params)
        if casts or numeric:
            return self._casts.sql_with_casts(sql, statement.tree, casts, numeric)
        return statement.duckdb_sql

    def _parameter_types(self, statement: Transpiled) -> dict[int, str]:
        """Each $n's DuckDB type, inferred from where it stands (see parameter_types.py)."""
        if not statement.parameter_count:
            return {}
        return infer_parameter_types(
            statement.tree, referenced_column_types(self._con, statement.tree),
            default_catalog=self._warehouse.catalog_name, search_path=self._search_path,
        )
