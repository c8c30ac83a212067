"""How SQL names the compat catalog: text fragments for its views and macros, and sqlglot
nodes for the statements the rewrite points at it."""

from __future__ import annotations

from sqlglot import exp

from proxy.backends.duckdb.catalog.constants import (
    COMPAT_CATALOG,
    COMPAT_PATH,
    COMPAT_SCHEMA,
    PG_TEMP_OID,
)


def pg_schema_sql(schema: str, temporary: str = "false") -> str:
    """PostgreSQL's name of a DuckDB schema: DuckDB's default `main` is PostgreSQL's `public`,
    and temporary objects live in pg_temp."""
    return f"(CASE WHEN {temporary} THEN 'pg_temp' WHEN {schema} = 'main' THEN 'public' ELSE {schema} END)"


def namespace_oid_sql(schema_oid: str, temporary: str) -> str:
    """The namespace OID of an object: its schema's, or pg_temp's for temporary objects."""
    return f"CAST(CASE WHEN {temporary} THEN {PG_TEMP_OID} ELSE {schema_oid} END AS BIGINT)"


def compat_table(name: str) -> exp.Table:
    """`pg_compat.main.<name>`, as a table reference."""
    return exp.Table(
        this=exp.to_identifier(name),
        db=exp.to_identifier(COMPAT_SCHEMA),
        catalog=exp.to_identifier(COMPAT_CATALOG),
    )


def compat_call(name: str, args: list[exp.Expression]) -> exp.Expression:
    """A call of the compat macro `name`, qualified so DuckDB's same-named function is never reached."""
    return exp.Anonymous(this=f"{COMPAT_PATH}.{name}", expressions=args)
