"""Resolve a statement against the annotated catalog: every relation and column must be known.

sqlglot's qualifier lets unknown tables through silently, so relations are checked here first,
by the names PostgreSQL resolves (`proxy.sql.names`); then `qualify` expands `*`, `t.*` and
`TABLE t` and attaches every column to its table alias, which is what lineage needs. The search
path is pinned (`"$user", public`): an unqualified name that is not a CTE or a pg_catalog
relation names nothing in the catalog.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections import OrderedDict

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from proxy.catalog.model import Catalog
from proxy.errors import PgError, SqlState
from proxy.sql.names import relation_name
from proxy.sql.system_catalog import check_catalog_columns, check_catalog_relation

RESERVED_PREFIX = "_pp_"  # names the rewriter gives its own CTEs


# Catalog versions come and go (every reload, every recorded table): the cache keeps the
# few most recent, and forgets a catalog as soon as nothing else holds it.
SCHEMA_CACHE_SIZE = 4
_schemas: OrderedDict[int, tuple[weakref.ref[Catalog], MappingSchema]] = OrderedDict()


def catalog_schema(catalog: Catalog) -> MappingSchema:
    """The catalog as sqlglot's schema; built once per catalog version (catalogs are immutable)."""
    cached = _schemas.get(id(catalog))
    if cached is not None and cached[0]() is catalog:
        _schemas.move_to_end(id(catalog))
        return cached[1]
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for table in catalog:
        mapping.setdefault(table.schema, {})[table.name] = {
            column.name: column.type or "text" for column in table.columns
        }
    schema = MappingSchema(mapping, dialect="postgres", normalize=False)
    key = id(catalog)
    _schemas[key] = (weakref.ref(catalog, functools.partial(_forget, key)), schema)
    _schemas.move_to_end(key)
    while len(_schemas) > SCHEMA_CACHE_SIZE:
        _schemas.popitem(last=False)
    return schema


def _forget(key: int, _collected: object = None) -> None:
    """A cached catalog was garbage-collected: drop its entry."""
    entry = _schemas.get(key)
    if entry is not None and entry[0]() is None:  # not a newer catalog at a reused id
        del _schemas[key]


def cached_schema_count() -> int:
    """How many catalog versions the schema cache holds (bounded by SCHEMA_CACHE_SIZE)."""
    return len(_schemas)


def cte_names(expression: exp.Expression) -> set[str]:
    return {cte.alias_or_name for cte in expression.find_all(exp.CTE)}


def referenced_tables(expression: exp.Expression) -> list[exp.Table]:
    """Real relations (not CTE references, not table functions) the statement names."""
    ctes = cte_names(expression)
    tables = []
    for table in expression.find_all(exp.Table):
        if isinstance(table.this, exp.Func) or not table.name:
            continue
        if not table.args.get("db") and table.name in ctes:
            continue
        tables.append(table)
    return tables


def metadata_relation(table: exp.Table) -> bool:
    """A system catalog relation (pg_catalog or information_schema), as PostgreSQL resolves it."""
    return relation_name(table).is_system


def reads_catalog_data(expression: exp.Expression) -> bool:
    """Whether the statement reads any relation other than system catalogs.

    System catalogs are readable only from the allow-list (`proxy.sql.system_catalog`);
    a statement mixing system catalogs with data relations is refused (fail closed).
    """
    tables = referenced_tables(expression)
    system = [name for name in map(relation_name, tables) if name.is_system]
    for name in system:
        check_catalog_relation(name)
    if system:
        check_catalog_columns(expression, system)
    if system and len(system) != len(tables):
        raise PgError(
            SqlState.INSUFFICIENT_PRIVILEGE,
            "a statement may not read system catalogs and data tables together",
            hint="Query the catalog and the data in separate statements.",
        )
    return bool(tables) and not system


def unknown_relation(table: exp.Table) -> PgError:
    name = ".".join(part for part in (table.db, table.name) if part)
    hint = None
    if not table.db:
        hint = "Name tables with their schema, e.g. shop.customers."
    return PgError(
        SqlState.UNDEFINED_TABLE,
        f'relation "{name}" does not exist or is not in the purpose-proxy catalog',
        hint=hint or "Only annotated tables can be read: ask the data owners to annotate it.",
    )


def check_relations(expression: exp.Expression, catalog: Catalog) -> None:
    for table in referenced_tables(expression):
        if table.args.get("catalog"):
            raise PgError(
                SqlState.FEATURE_NOT_SUPPORTED,
                "cross-database references are not implemented: "
                f"{table.sql(dialect='postgres')}",
            )
        name = relation_name(table)
        if name.is_system:
            check_catalog_relation(name)  # a refused catalog says why; an allowed one is
            raise unknown_relation(table)  # never read together with data
        if name.schema is None or catalog.table(name.schema, name.name) is None:
            raise unknown_relation(table)
    for node in expression.find_all(exp.Identifier):
        # Case-insensitively: DuckDB matches identifiers regardless of case and quoting.
        if node.name.lower().startswith(RESERVED_PREFIX):
            raise PgError(
                SqlState.INSUFFICIENT_PRIVILEGE,
                f'identifier "{node.name}" uses a prefix reserved by purpose-proxy',
            )


def qualify_statement(expression: exp.Expression, catalog: Catalog) -> exp.Expression:
    """A copy of `expression` with columns qualified and stars expanded, or a clear error."""
    check_relations(expression, catalog)
    try:
        return qualify(
            expression.copy(),
            schema=catalog_schema(catalog),
            dialect="postgres",
            validate_qualify_columns=True,
            quote_identifiers=False,
            identify=False,
        )
    except OptimizeError as exc:
        text = str(exc).split(". Line:")[0]
        match = re.match(r"Column '(.+)' could not be resolved", text)
        message = (f'column "{match.group(1)}" does not exist or is not annotated in the '
                   "purpose-proxy catalog") if match else f"{text} (purpose-proxy catalog)"
        raise PgError(
            SqlState.UNDEFINED_COLUMN,
            message,
            hint="Only columns listed in the catalog can be read; check the spelling or ask "
            "the data owners to annotate the column.",
        ) from None
    except SqlglotError as exc:
        raise PgError(
            SqlState.INSUFFICIENT_PRIVILEGE,
            f"purpose-proxy could not analyze the statement: {exc}",
        ) from None
