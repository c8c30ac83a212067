"""DuckDB exceptions as the PostgreSQL errors (SQLSTATE and wording) a PostgreSQL user expects."""

from __future__ import annotations

import re

import duckdb
from sqlglot import exp

from proxy.backends.duckdb.sql_tree import referenced_tables
from proxy.errors import PgError, SqlState

_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")


def _clean(message: str) -> str:
    """DuckDB's message without its "Binder Error: " prefix and LINE/caret context."""
    message = message.split("\n\nLINE ", 1)[0].split("\nLINE ", 1)[0].strip()
    message = _PREFIX.sub("", message, count=1)
    return message.strip()


_PG_TYPE_NAMES = {"INT32": "integer", "INT64": "bigint", "INT16": "smallint", "INT8": "smallint",
                  "DOUBLE": "double precision", "FLOAT": "real", "BOOL": "boolean", "DATE": "date",
                  "TIMESTAMP": "timestamp", "UUID": "uuid", "INTERVAL": "interval", "DECIMAL": "numeric",
                  "INTEGER": "integer", "BIGINT": "bigint", "SMALLINT": "smallint", "BOOLEAN": "boolean",
                  "TIME": "time"}


def _qualified_relation(name: str, tree: exp.Expression | None) -> str:
    """DuckDB names only the table; PostgreSQL repeats the reference as written (shop.nope)."""
    if tree is not None:
        for table in referenced_tables(tree):
            if table.name == name and table.db:
                return f"{table.db}.{table.name}"
    return name


def map_duckdb_error(error: BaseException, tree: exp.Expression | None = None) -> PgError:
    """The PostgreSQL error a PostgreSQL user would expect for a DuckDB exception."""
    kind = type(error).__name__
    raw = str(error)
    message = _clean(raw)

    if isinstance(error, duckdb.InterruptException):
        return PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
    if isinstance(error, duckdb.TransactionException):
        if "aborted" in raw.lower():
            return PgError(
                SqlState.IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )
        if "conflict" in raw.lower():
            return PgError("40001", "could not serialize access due to concurrent update", detail=message)
        return PgError(SqlState.INVALID_TRANSACTION_STATE, message)
    if isinstance(error, duckdb.ParserException):
        m = re.search(r'syntax error at or near "([^"]*)"', raw)
        if m:
            return PgError(SqlState.SYNTAX_ERROR, f'syntax error at or near "{m.group(1)}"')
        if "syntax error at end of input" in raw:
            return PgError(SqlState.SYNTAX_ERROR, "syntax error at end of input")
        return PgError(SqlState.SYNTAX_ERROR, message)
    if isinstance(error, duckdb.ConstraintException):
        m = re.search(r'Duplicate key "([^"]*)" violates (primary key|unique) constraint', raw)
        if m:
            key = m.group(1)
            col, _, val = key.partition(": ")
            return PgError("23505", "duplicate key value violates unique constraint",
                           detail=f"Key ({col})=({val}) already exists.")
        m = re.search(r'NOT NULL constraint failed: ([\w."]+)', raw)
        if m:
            table, _, column = m.group(1).replace('"', "").rpartition(".")
            return PgError("23502", f'null value in column "{column}" of relation "{table}" violates not-null constraint')
        if "foreign key" in raw.lower():
            return PgError("23503", message)
        if "check constraint" in raw.lower():
            return PgError("23514", message)
        return PgError("23000", message)
    if isinstance(error, duckdb.ConversionException):
        m = re.search(r"Could not convert string '([^']*)' to (\w+)", raw)
        if m:
            pg_type = _PG_TYPE_NAMES.get(m.group(2).upper(), m.group(2).lower())
            return PgError(SqlState.INVALID_TEXT_REPRESENTATION,
                           f'invalid input syntax for type {pg_type}: "{m.group(1)}"')
        if "out of range" in raw.lower() or "overflow" in raw.lower():
            return PgError("22003", message)
        return PgError(SqlState.INVALID_TEXT_REPRESENTATION, message)
    if isinstance(error, duckdb.OutOfRangeException):
        return PgError("22003", message)
    if "Division by zero" in raw or "division by zero" in raw:
        return PgError(SqlState.DIVISION_BY_ZERO, "division by zero")
    if isinstance(error, duckdb.CatalogException):
        m = re.search(r"Table with name ([^ ]+) does not exist", raw)
        if m:
            relation = _qualified_relation(m.group(1), tree)
            return PgError(SqlState.UNDEFINED_TABLE, f'relation "{relation}" does not exist')
        m = re.search(r"Schema with name ([^ ]+) does not exist", raw)
        if m:
            return PgError("3F000", f'schema "{m.group(1)}" does not exist')
        m = re.search(r"(?:Scalar|Table|Aggregate|Macro) Function with name ([^ ]+) does not exist", raw)
        if m:
            return PgError(SqlState.UNDEFINED_FUNCTION, f"function {m.group(1)} does not exist",
                           hint="No function matches the given name and argument types.")
        m = re.search(r"with name \"?([^\" ]+)\"? already exists", raw)
        if m:
            return PgError("42P07", f'relation "{m.group(1)}" already exists')
        m = re.search(r"Type with name ([^ ]+) does not exist", raw)
        if m:
            return PgError(SqlState.UNDEFINED_OBJECT, f'type "{m.group(1)}" does not exist')
        if "does not exist" in raw:
            return PgError(SqlState.UNDEFINED_OBJECT, message)
        return PgError(SqlState.UNDEFINED_TABLE, message)
    if isinstance(error, duckdb.BinderException):
        m = re.search(r'Referenced column "?([^"]+?)"? not found', raw)
        if m:
            return PgError(SqlState.UNDEFINED_COLUMN, f'column "{m.group(1)}" does not exist')
        m = re.search(r'Referenced table "?([^"]+?)"? not found', raw)
        if m:
            return PgError(SqlState.UNDEFINED_TABLE, f'missing FROM-clause entry for table "{m.group(1)}"')
        m = re.search(r'Table "?([^"]+?)"? does not have a column named "?([^"]+?)"?(\s|$)', raw)
        if m:
            return PgError(SqlState.UNDEFINED_COLUMN,
                           f'column "{m.group(2)}" of relation "{m.group(1)}" does not exist')
        if "No function matches" in raw or "Could not choose a best candidate" in raw:
            return PgError(SqlState.UNDEFINED_FUNCTION, message,
                           hint="You might need to add explicit type casts.")
        if "must appear in the GROUP BY clause" in raw or "GROUP BY" in raw:
            return PgError("42803", message)
        if "Cannot compare values" in raw or "cannot be cast" in raw.lower():
            return PgError("42804", message)
        return PgError("42000", message)
    if isinstance(error, duckdb.PermissionException):
        return PgError(SqlState.INSUFFICIENT_PRIVILEGE, f"permission denied: {message}")
    if isinstance(error, duckdb.InvalidInputException):
        if "configuration has been locked" in raw or "Cannot change configuration" in raw:
            return PgError("55P02", message)
        return PgError(SqlState.INVALID_PARAMETER_VALUE, message)
    if isinstance(error, duckdb.NotImplementedException):
        return PgError(SqlState.FEATURE_NOT_SUPPORTED, message)
    if isinstance(error, duckdb.OutOfMemoryException):
        return PgError("53200", "out of memory", detail=message)
    if isinstance(error, PgError):
        return error
    return PgError(SqlState.INTERNAL_ERROR, f"{kind}: {message}" if message else kind)
