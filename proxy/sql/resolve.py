"""Resolve a statement against the annotated catalog: every relation and column must be known.

sqlglot's qualifier lets unknown tables through silently, so relations are checked here first;
then `qualify` expands `*`, `t.*` and `TABLE t` and attaches every column to its table alias,
which is what lineage needs. The search path is pinned (`"$user", public`): an unqualified
name that is not a CTE names nothing in the catalog.
"""

from __future__ import annotations

import re
import weakref

from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from proxy.catalog.model import Catalog
from proxy.errors import PgError, SqlState

METADATA_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
RESERVED_PREFIX = "_pp_"  # names the rewriter gives its own CTEs


_schemas: dict[int, tuple[weakref.ref[Catalog], MappingSchema]] = {}


def catalog_schema(catalog: Catalog) -> MappingSchema:
    """The catalog as sqlglot's schema; built once per catalog version (catalogs are immutable)."""
    cached = _schemas.get(id(catalog))
    if cached is not None and cached[0]() is catalog:
        return cached[1]
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for table in catalog:
        mapping.setdefault(table.schema, {})[table.name] = {
            column.name: column.type or "text" for column in table.columns
        }
    schema = MappingSchema(mapping, dialect="postgres", normalize=False)
    _schemas[id(catalog)] = (weakref.ref(catalog), schema)
    return schema


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


# pg_catalog relations a client may name without a schema (pg_catalog is searched first).
PG_CATALOG_RELATIONS = frozenset({
    "pg_class", "pg_namespace", "pg_attribute", "pg_type", "pg_index", "pg_constraint",
    "pg_database", "pg_roles", "pg_user", "pg_proc", "pg_description", "pg_am", "pg_attrdef",
    "pg_collation", "pg_inherits", "pg_tables", "pg_views", "pg_matviews", "pg_indexes",
    "pg_enum", "pg_range", "pg_tablespace", "pg_extension", "pg_settings", "pg_sequence",
    "pg_sequences", "pg_trigger", "pg_rewrite", "pg_depend", "pg_shdescription", "pg_policy",
    "pg_partitioned_table", "pg_foreign_table", "pg_statistic_ext", "pg_publication",
    "pg_publication_rel", "pg_event_trigger", "pg_language", "pg_operator", "pg_opclass",
    "pg_auth_members", "pg_cast", "pg_conversion", "pg_aggregate",
})
# Relations that hold data values, secrets or other sessions' SQL: never readable.
FORBIDDEN_METADATA = frozenset({
    "pg_statistic", "pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic_ext_data",
    "pg_stat_activity", "pg_stat_statements", "pg_authid", "pg_shadow", "pg_user_mapping",
    "pg_user_mappings", "pg_largeobject", "pg_largeobject_metadata", "pg_file_settings",
    "pg_hba_file_rules", "pg_ident_file_mappings",
    "pg_stat_get_activity", "pg_replication_slots", "pg_subscription",
})


# Catalog columns that hold SQL bodies (views, rules, functions), which can embed literal data
# or policy logic: refused like pg_get_viewdef() and pg_get_functiondef() are.
FORBIDDEN_METADATA_COLUMNS = frozenset({
    "definition", "prosrc", "prosqlbody", "probin", "ev_action", "ev_qual", "view_definition",
    "routine_definition",
})


# Catalogs with such columns, where `*` would read them.
BODY_RELATIONS = frozenset({"pg_views", "pg_matviews", "pg_proc", "pg_rewrite", "views",
                            "routines"})


def metadata_relation(table: exp.Table) -> bool:
    """A system catalog relation: pg_catalog.x, information_schema.x, or a known bare pg_x."""
    if table.db:
        return table.db in METADATA_SCHEMAS
    # pg_catalog is searched first: a bare name of one of its relations means that relation.
    return table.name in PG_CATALOG_RELATIONS or table.name in FORBIDDEN_METADATA


def reads_catalog_data(expression: exp.Expression) -> bool:
    """Whether the statement reads any relation other than system catalogs.

    System catalogs that hold data values or other sessions' SQL are refused here outright;
    a statement mixing system catalogs with data relations is refused too (fail closed).
    """
    tables = referenced_tables(expression)
    system = [table for table in tables if metadata_relation(table)]
    for table in system:
        if table.name in FORBIDDEN_METADATA:
            raise PgError(
                SqlState.INSUFFICIENT_PRIVILEGE,
                f'permission denied for relation {table.name}: it holds data values or other '
                "sessions' statements",
                hint="Statistics and activity views are not readable through purpose-proxy.",
            )
    if system:
        for column in expression.find_all(exp.Column):
            if column.name.lower() in FORBIDDEN_METADATA_COLUMNS:
                raise PgError(
                    SqlState.INSUFFICIENT_PRIVILEGE,
                    f'permission denied for catalog column "{column.name}": it holds SQL '
                    "bodies that can embed data",
                    hint="View, rule and function definitions are not readable through "
                    "purpose-proxy.",
                )
        if any(isinstance(star, exp.Star) for star in expression.find_all(exp.Star)) and any(
            table.name in BODY_RELATIONS for table in system
        ):
            raise PgError(
                SqlState.INSUFFICIENT_PRIVILEGE,
                "SELECT * on a catalog that holds SQL bodies is not allowed",
                hint="Name the columns you need (not the definitions).",
            )
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
        if table.db in METADATA_SCHEMAS or catalog.table(table.db, table.name) is None:
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
