"""Run-time parameters: SET, RESET, SHOW and DISCARD, answered by the session itself.

Values live in the session; each is also mirrored into a DuckDB variable (pp_guc_<name>) so
that current_setting() inside SQL agrees with SHOW, and search_path is translated into
DuckDB's (`public` is DuckDB's `main`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from proxy.backends.base import Column
from proxy.backends.duckdb.catalog.constants import (
    PG_SERVER_VERSION,
    PG_SERVER_VERSION_NUM,
)
from proxy.backends.duckdb.cursor import DuckDBResultCursor
from proxy.backends.duckdb.sql_text import sql_literal
from proxy.backends.duckdb.utility import Utility
from proxy.backends.duckdb.worker import SessionWorker
from proxy.errors import PgError, SqlState
from proxy.wire.types import Oid

if TYPE_CHECKING:
    from proxy.backends.duckdb.warehouse import DuckDBWarehouse

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

#: Parameters fixed by the server: SET refuses them.
_READ_ONLY = frozenset({"server_version", "server_version_num", "server_encoding", "lc_collate", "lc_ctype",
                        "block_size", "max_identifier_length", "integer_datetimes", "max_connections"})


def _variable_statement(name: str, value: str) -> str:
    """The DuckDB variable current_setting(name) reads in SQL, set to `value`."""
    return f"SET VARIABLE pp_guc_{re.sub(r'[^a-z0-9_]', '_', name)} = {sql_literal(value)}"


def show_columns(name: str) -> tuple[Column, ...]:
    """The RowDescription of SHOW `name` (SHOW ALL has three columns)."""
    if name == "all":
        return (Column("name", int(Oid.TEXT)), Column("setting", int(Oid.TEXT)),
                Column("description", int(Oid.TEXT)))
    return (Column(_CANONICAL_NAMES.get(name.lower(), name.lower()), int(Oid.TEXT)),)


class RuntimeSettings(SessionWorker):
    """The session's run-time parameters, as SET through the proxy or in SQL."""

    def __init__(self, warehouse: DuckDBWarehouse, con: Any, user: str, database: str, backend_pid: int) -> None:
        super().__init__(warehouse, con, user, database, backend_pid)
        self._settings: dict[str, str] = {}
        self._unsynced: dict[str, str] = {}  # set by set_parameters(), not yet mirrored into DuckDB
        self._search_path: list[str] = ["main"]  # DuckDB's schemas, as SET search_path chose them

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
            self._con.execute(_variable_statement(key, value))

    async def _parameter_statement(self, utility: Utility) -> DuckDBResultCursor:
        """SET, RESET, SHOW or DISCARD."""
        kind = utility.kind
        name = utility.name or ""
        if kind == "set":
            await self._set(name, utility.value or "")
            return DuckDBResultCursor(self, None, "SET")
        if kind == "reset":
            if name == "all":
                await self._reset_all()
            else:
                await self._set(name, "DEFAULT")
            return DuckDBResultCursor(self, None, "RESET")
        if kind == "show":
            return self._show(name)
        await self._reset_all()  # DISCARD
        return DuckDBResultCursor(self, None, utility.tag)

    async def _reset_all(self) -> None:
        for key in list(self._settings):
            await self._set(key, "DEFAULT")

    async def _set(self, name: str, value: str) -> None:
        """SET name = value, or back to the warehouse's default for DEFAULT."""
        name = name.lower()
        if value.upper() == "DEFAULT":
            self._settings.pop(name, None)
            value = self._warehouse.default_settings.get(name, "")
            reset = True
        else:
            if name in _READ_ONLY:
                raise self._failed(PgError("55P02", f'parameter "{name}" cannot be changed'))
            self._settings[name] = value
            reset = False
        statements = [_variable_statement(name, value)]
        if name == "search_path":
            known = await self._call(self._known_schemas)
            statements.append(self._search_path_statement(value, reset, known))
        for statement in statements:
            try:
                await self._run_plain(statement)
            except PgError as error:
                raise self._failed(error) from None

    def _known_schemas(self) -> set[str]:
        """On the session thread: the warehouse's schemas, as this session's transaction sees them."""
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
        return f"SET search_path = {sql_literal(','.join(schemas))}"

    def _setting(self, name: str) -> str | None:
        """The session's value of a parameter (None when there is no such parameter)."""
        name = name.lower()
        if name == "session_authorization":
            return self.user
        if name in self._settings:
            return self._settings[name]
        return self._warehouse.default_settings.get(name)

    def _show(self, name: str) -> DuckDBResultCursor:
        if name == "all":
            keys = sorted(set(self._warehouse.default_settings) | set(self._settings))
            rows = [(_CANONICAL_NAMES.get(k, k), self._setting(k), "") for k in keys]
            return DuckDBResultCursor(self, show_columns(name), "SHOW", rows=rows)
        value = self._setting(name)
        if value is None:
            raise self._failed(PgError(SqlState.UNDEFINED_OBJECT, f'unrecognized configuration parameter "{name}"'))
        return DuckDBResultCursor(self, show_columns(name), "SHOW", rows=[(value,)])
