"""From one PostgreSQL statement to what DuckDB runs: parse, rewrite, classify, cache.

Pure (no connection) and cached on the statement's text: sqlglot parses the PostgreSQL
dialect, the rewrites make DuckDB mean what PostgreSQL would (output column names, types DuckDB
cannot carry, the pg_catalog compat layer, function idioms), and the result records what the
session needs to run, describe and type it.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from proxy.backends.duckdb.catalog.constants import COMPAT_CATALOG
from proxy.backends.duckdb.catalog.relations import (
    SCHEMA_RELATIONS,
    STATIC_MACROS,
    STATIC_RELATIONS,
)
from proxy.backends.duckdb.catalog.rewrite import rewrite_catalog_references
from proxy.backends.duckdb.column_names import apply_pg_column_names
from proxy.backends.duckdb.functions import to_duckdb_functions
from proxy.backends.duckdb.pg_types import (
    catalog_text_types,
    declared_parameter_oids,
    pg_output_types,
    rewrite_pg_literal_types,
)
from proxy.backends.duckdb.sql_tree import (
    cte_names,
    parameter_number,
    referenced_tables,
)
from proxy.errors import PgError, SqlState
from proxy.sql.sqlglot_compat import patch_unparseable_types
from proxy.sql.values import values_as_select

# sqlglot logs a warning whenever it falls back to an opaque Command; the backend refuses those
# statements itself, so the warning is noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

@dataclass(frozen=True, slots=True)
class Transpiled:
    """One statement ready for DuckDB. `tree` is shared (cached): copy before changing it."""

    kind: str  # query, insert, update, delete, ctas, ddl
    tag: str  # the CommandComplete verb: SELECT, INSERT, UPDATE, DELETE, CREATE TABLE ...
    duckdb_sql: str
    tree: exp.Expression
    returns_rows: bool
    parameter_count: int
    #: $n -> PostgreSQL OID where the statement itself says so in a way DuckDB types lose ($1::oid[]).
    declared_parameter_oids: tuple[tuple[int, int], ...] = ()
    #: Whether the statement reads the pg_catalog compat views (its oid columns are typed oid).
    reads_catalog: bool = False
    #: (output position, PostgreSQL OID, typmod) of top-level output columns whose PostgreSQL type
    #: DuckDB cannot carry (varchar and jsonb are VARCHAR and JSON there, unconstrained numeric
    #: has a fixed scale): RowDescription and the encoders use these instead.
    output_types: tuple[tuple[int, int, int], ...] = ()
    #: Output column name -> name (19) or "char" (18), for catalog columns PostgreSQL types so
    #: (DuckDB holds them as VARCHAR); applied by name, as `*` over a CTE keeps the names.
    catalog_text_types: tuple[tuple[str, int], ...] = ()
    #: $n cast to unconstrained numeric: bound as DECIMAL with the value's own precision and
    #: scale at execution (DuckDB's DECIMAL has a fixed scale, PostgreSQL's numeric keeps the value's).
    numeric_parameters: frozenset[int] = frozenset()
    #: Reads only compat catalog relations (and its own CTEs): its shape never changes.
    compat_only: bool = False
    #: When its rows are a function of its parameters and of the listed schema-following compat
    #: relations only (static catalogs, deterministic functions): those relations; else None.
    catalog_result_deps: frozenset[str] | None = None


def _ddl_tag(tree: exp.Expression) -> str:
    """PostgreSQL's CommandComplete tag of a DDL statement (CREATE TABLE, DROP VIEW...)."""
    kind = str(tree.args.get("kind") or "").upper()
    if isinstance(tree, exp.Create):
        return f"CREATE {kind}".strip() if kind != "MACRO" else "CREATE FUNCTION"
    if isinstance(tree, exp.Drop):
        return f"DROP {kind}".strip()
    if isinstance(tree, exp.Alter):
        return f"ALTER {kind or 'TABLE'}"
    if isinstance(tree, exp.TruncateTable):
        return "TRUNCATE TABLE"
    if isinstance(tree, exp.Comment):
        return "COMMENT"
    return type(tree).__name__.upper()


def _classify(tree: exp.Expression) -> tuple[str, str, bool]:
    """(kind, CommandComplete tag, returns rows) of a rewritten statement; refuses other kinds."""
    if isinstance(tree, (exp.Query, exp.Values)):
        return "query", "SELECT", True
    if isinstance(tree, exp.Insert):
        return "insert", "INSERT", tree.args.get("returning") is not None
    if isinstance(tree, exp.Update):
        return "update", "UPDATE", tree.args.get("returning") is not None
    if isinstance(tree, exp.Delete):
        return "delete", "DELETE", tree.args.get("returning") is not None
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query) \
            and str(tree.args.get("kind") or "").upper() == "TABLE":
        return "ctas", "SELECT", False
    if isinstance(tree, (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Comment)):
        return "ddl", _ddl_tag(tree), False
    raise PgError(
        SqlState.FEATURE_NOT_SUPPORTED,
        f"{type(tree).__name__.upper()} statements are not supported by the DuckDB warehouse of purpose-proxy",
    )


def _parameter_count(tree: exp.Expression) -> int:
    """The highest $n the statement names (PostgreSQL's number of parameters)."""
    numbers = (parameter_number(node) for node in tree.find_all(exp.Parameter, exp.Placeholder))
    return max((n for n in numbers if n is not None), default=0)


def _syntax_error(sql: str, error: Exception) -> PgError:
    """PostgreSQL's own message when PostgreSQL's parser (pglast) also rejects the text."""
    try:
        import pglast

        pglast.parser.parse_sql(sql)
    except Exception as pg_error:  # pglast.parser.ParseError
        message = pg_error.args[0] if pg_error.args else str(pg_error)
        return PgError(SqlState.SYNTAX_ERROR, str(message))
    else:
        return PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            "statement is valid PostgreSQL but cannot be translated for the DuckDB warehouse: "
            + str(error).splitlines()[0],
        )


@functools.lru_cache(maxsize=4096)
def transpile(sql: str) -> Transpiled:
    """Parse `sql` (PostgreSQL), apply the catalog compat rewrite, write DuckDB SQL. Cached on the text."""
    patched = patch_unparseable_types(sql)
    try:
        statements = [s for s in sqlglot.parse(patched, read="postgres") if s is not None]
    except (ParseError, TokenError) as error:
        raise _syntax_error(sql, error) from None
    if not statements:
        raise PgError(SqlState.SYNTAX_ERROR, "empty statement")
    if len(statements) > 1:
        raise PgError(SqlState.SYNTAX_ERROR, "cannot insert multiple commands into a prepared statement")
    tree = statements[0]
    if isinstance(tree, exp.Values):  # PostgreSQL names its columns column1, column2...
        tree = values_as_select(tree)

    if isinstance(tree, (exp.Command, exp.Set, exp.Pragma, exp.Use)) or type(tree).__name__ in (
        "Copy", "Grant", "Revoke", "Install", "Attach", "Detach", "Export", "Summarize", "Describe",
    ):
        verb = tree.name.upper() if isinstance(tree, exp.Command) else type(tree).__name__.upper()
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"{verb} is not supported by the DuckDB warehouse of purpose-proxy",
        )

    declared = declared_parameter_oids(tree)
    try:
        output_types = pg_output_types(tree)
        catalog_types = catalog_text_types(tree)
        apply_pg_column_names(tree)
        tree = rewrite_catalog_references(tree)
        numeric_parameters = rewrite_pg_literal_types(tree)
        tree = to_duckdb_functions(tree)
    except PgError:
        raise
    except Exception as error:  # a tree shape the rewrite does not expect: refuse, never guess
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f"cannot translate statement for DuckDB: {type(error).__name__}: {error}") from None

    kind, tag, returns_rows = _classify(tree)
    try:
        duckdb_sql = tree.sql(dialect="duckdb")
    except Exception as error:  # sqlglot UnsupportedError and friends
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"cannot translate statement for DuckDB: {error}") from None
    reads_catalog = any(t.catalog.lower() == COMPAT_CATALOG for t in referenced_tables(tree))
    compat_only, result_deps = _catalog_dependencies(tree) if kind == "query" and reads_catalog else (False, None)
    return Transpiled(kind, tag, duckdb_sql, tree, returns_rows, _parameter_count(tree), declared, reads_catalog,
                      output_types=output_types if returns_rows else (),
                      catalog_text_types=catalog_types if reads_catalog and returns_rows else (),
                      numeric_parameters=numeric_parameters, compat_only=compat_only,
                      catalog_result_deps=result_deps)


#: Functions whose value depends on their arguments only.
_DETERMINISTIC = (exp.And, exp.Or, exp.Not, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Coalesce,
                  exp.ArrayAgg, exp.Count, exp.Min, exp.Max, exp.Any)


def _catalog_dependencies(tree: exp.Expression) -> tuple[bool, frozenset[str] | None]:
    """(compat_only, catalog_result_deps) of a query that reads the compat catalog."""
    ctes = cte_names(tree)
    dynamic: set[str] = set()
    deterministic = True
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            return False, None  # a table function
        name = table.name
        if table.catalog.lower() == COMPAT_CATALOG:
            if name in SCHEMA_RELATIONS:
                dynamic.add(name)
            elif name not in STATIC_RELATIONS:
                deterministic = False
        elif not (not table.catalog and not table.db and name.lower() in ctes):
            return False, None
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if str(node.this).lower() not in STATIC_MACROS:
                deterministic = False
        elif isinstance(node, exp.Func) and not isinstance(node, _DETERMINISTIC):
            deterministic = False
    return True, frozenset(dynamic) if deterministic else None
