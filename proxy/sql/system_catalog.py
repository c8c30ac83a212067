"""System catalogs a consumer may read without a purpose: an explicit allow-list.

Clients read pg_catalog and information_schema on connect and for every `\\d`, reflection or
BI metadata browse, before any purpose is declared. Those reads are allowed only for relations
that describe the schema and hold no data values and no other sessions' statements: what
psql's describe commands, SQLAlchemy / asyncpg / psycopg / pgJDBC / psqlODBC introspection read.
Everything else in both schemas is refused with 42501 and the reason, including relations this
list does not know (a newer PostgreSQL's, or a mistyped name): unknown is never allowed.
Names are compared after PostgreSQL's resolution (`proxy.sql.names`): `PG_CATALOG.PG_STATS`,
`"pg_catalog"."pg_stats"` and a bare `pg_stats` are one relation.

Some allowed relations describe the upstream server rather than the proxy's world (databases,
roles, settings): the decision core answers them from the proxy's configuration instead
(`proxy.policy.catalog_views`), on both warehouses.

Columns that hold SQL bodies (view, rule, function definitions) can embed literal data or
policy logic: they are refused by name, and `*` over a relation that has them is refused.
"""

from __future__ import annotations

from sqlglot import exp

from proxy.errors import PgError, SqlState
from proxy.sql.names import INFORMATION_SCHEMA, PG_CATALOG, QualifiedName, identifier_name

__all__ = [
    "PROXY_VIEWS",
    "READABLE_INFORMATION_SCHEMA",
    "READABLE_PG_CATALOG",
    "check_catalog_columns",
    "check_catalog_relation",
    "refusal_reason",
]

# pg_catalog relations that describe schema objects only.
READABLE_PG_CATALOG = frozenset({
    # relations, columns, types, constraints, indexes, defaults, inheritance, partitions
    "pg_class", "pg_namespace", "pg_attribute", "pg_attrdef", "pg_type", "pg_index",
    "pg_constraint", "pg_inherits", "pg_partitioned_table", "pg_depend", "pg_description",
    "pg_enum", "pg_range", "pg_sequence", "pg_trigger", "pg_policy", "pg_foreign_table",
    "pg_statistic_ext",  # the definitions of extended statistics objects, not their values
    "pg_tables", "pg_views", "pg_matviews", "pg_indexes", "pg_rules", "pg_rewrite",
    # functions, operators, access methods, casts, collations, encodings, text search
    "pg_proc", "pg_aggregate", "pg_language", "pg_operator", "pg_opclass", "pg_opfamily",
    "pg_amop", "pg_amproc", "pg_am", "pg_cast", "pg_collation", "pg_conversion",
    "pg_transform", "pg_ts_config", "pg_ts_config_map", "pg_ts_dict", "pg_ts_parser",
    "pg_ts_template",
    # server capabilities that are the same for everyone
    "pg_tablespace", "pg_extension", "pg_available_extensions",
    "pg_available_extension_versions", "pg_event_trigger", "pg_timezone_names",
    "pg_timezone_abbrevs", "pg_publication", "pg_publication_rel", "pg_publication_namespace",
    "pg_publication_tables",
})

# Relations answered for the proxy's own world (see proxy.policy.catalog_views).
PROXY_VIEWS = frozenset({"pg_database", "pg_roles", "pg_user", "pg_auth_members",
                         "pg_settings"})

READABLE_INFORMATION_SCHEMA = frozenset({
    "tables", "columns", "views", "schemata", "table_constraints", "key_column_usage",
    "referential_constraints", "constraint_column_usage", "constraint_table_usage",
    "check_constraints", "check_constraint_routine_usage", "domains", "domain_constraints",
    "domain_udt_usage", "column_domain_usage", "column_udt_usage", "column_column_usage",
    "element_types", "attributes", "user_defined_types", "parameters", "routines",
    "routine_column_usage", "routine_routine_usage", "routine_sequence_usage",
    "routine_table_usage", "sequences", "triggers", "triggered_update_columns",
    "view_column_usage", "view_routine_usage", "view_table_usage", "character_sets",
    "collations", "collation_character_set_applicability", "data_type_privileges",
    "transforms", "information_schema_catalog_name", "sql_features",
    "sql_implementation_info", "sql_parts", "sql_sizing",
})

# Why notable relations are refused (refusal does not depend on this table: anything not
# allow-listed above is refused). Keys ending in '*' are prefixes.
_REASONS: dict[str, str] = {
    "pg_statistic": "it holds column statistics: most common values and histograms of the data",
    "pg_stats": "it holds column statistics: most common values and histograms of the data",
    "pg_stats_ext*": "it holds column statistics: most common values of the data",
    "pg_statistic_ext_data": "it holds column statistics: most common values of the data",
    "pg_stat_activity": "it shows other sessions' statements",
    "pg_stat_statements*": "it shows other sessions' statements",
    "pg_stat_*": "it shows server activity and statistics of other sessions",
    "pg_statio_*": "it shows server activity and statistics of other sessions",
    "pg_locks": "it shows other sessions' locks and transactions",
    "pg_prepared_statements": "the warehouse connection is shared: it shows other sessions' "
    "statements",
    "pg_cursors": "the warehouse connection is shared: it shows other sessions' statements",
    "pg_prepared_xacts": "it shows other sessions' transactions",
    "pg_largeobject*": "large objects are data outside the annotated catalog",
    "pg_authid": "it holds the warehouse's roles and password hashes",
    "pg_shadow": "it holds the warehouse's roles and password hashes",
    "pg_group": "it lists the warehouse's roles, not the proxy's users",
    "pg_db_role_setting": "role and database settings can hold secrets",
    "pg_user_mapping*": "user mappings hold credentials of other servers",
    "pg_foreign_server": "it holds connection options of other servers",
    "pg_foreign_data_wrapper": "it holds connection options of other servers",
    "pg_subscription*": "subscriptions hold connection strings with credentials",
    "pg_replication*": "replication state of the warehouse",
    "pg_file_settings": "it reads the server's configuration files",
    "pg_hba_file_rules": "it reads the server's authentication configuration",
    "pg_ident_file_mappings": "it reads the server's authentication configuration",
    "pg_config": "it shows the server's build and file system layout",
    "pg_sequences": "its last_value shows sequence state (how many rows were written)",
    "pg_policies": "it prints row security policy expressions, which can embed data",
    "pg_shdescription": "it describes the warehouse's other databases and roles",
    "pg_shdepend": "it describes the warehouse's other databases and roles",
    "pg_default_acl": "it lists the warehouse's roles, not the proxy's users",
    "pg_init_privs": "it lists the warehouse's roles, not the proxy's users",
    "pg_seclabel*": "security labels are not offered",
    "pg_shseclabel": "security labels are not offered",
    "pg_shmem_allocations": "server internals",
    "pg_backend_memory_contexts": "server internals",
    "pg_wait_events": "server internals",
    "pg_aios": "server internals",
    "pg_parameter_acl": "it lists the warehouse's roles, not the proxy's users",
    "pg_toast*": "TOAST relations hold data values",
    # information_schema
    "table_privileges": "it lists the warehouse's roles, not the proxy's users",
    "column_privileges": "it lists the warehouse's roles, not the proxy's users",
    "routine_privileges": "it lists the warehouse's roles, not the proxy's users",
    "udt_privileges": "it lists the warehouse's roles, not the proxy's users",
    "usage_privileges": "it lists the warehouse's roles, not the proxy's users",
    "role_*": "it lists the warehouse's roles, not the proxy's users",
    "applicable_roles": "it lists the warehouse's roles, not the proxy's users",
    "enabled_roles": "it lists the warehouse's roles, not the proxy's users",
    "administrable_role_authorizations": "it lists the warehouse's roles, not the proxy's users",
    "user_mapping*": "user mappings hold credentials of other servers",
    "foreign_*": "it holds options of other servers",
    "column_options": "it holds options of other servers",
    "_pg_*": "internal relations of information_schema",
}

_CATALOG_HINT = (
    "This catalog is not readable through purpose-proxy: metadata readable without a purpose "
    "is an allow-list of catalogs that hold no data values and no other sessions' statements "
    "(README, \"System catalogs\"). Read data through the annotated tables under a granted "
    "purpose."
)


def refusal_reason(name: str) -> str:
    """Why a system catalog relation is not readable."""
    reason = _REASONS.get(name)
    if reason is None:
        for key, text in _REASONS.items():
            if key.endswith("*") and name.startswith(key[:-1]):
                return text
    return reason or "it is not on purpose-proxy's list of catalogs that hold no data values"


def readable(name: QualifiedName) -> bool:
    if name.schema == PG_CATALOG:
        return name.name in READABLE_PG_CATALOG or name.name in PROXY_VIEWS
    if name.schema == INFORMATION_SCHEMA:
        return name.name in READABLE_INFORMATION_SCHEMA
    return False


def check_catalog_relation(name: QualifiedName) -> None:
    """Refuse a system catalog relation that is not allow-listed (42501, with the reason)."""
    if not readable(name):
        raise PgError(
            SqlState.INSUFFICIENT_PRIVILEGE,
            f"permission denied for relation {name}: {refusal_reason(name.name)}",
            hint=_CATALOG_HINT,
        )


# Catalog columns that hold SQL bodies (views, rules, functions), which can embed literal data
# or policy logic: refused like pg_get_viewdef() and pg_get_functiondef() are.
BODY_COLUMNS = frozenset({
    "definition", "prosrc", "prosqlbody", "probin", "ev_action", "ev_qual", "view_definition",
    "routine_definition",
})

# Catalogs with such columns, where `*` would read them.
BODY_RELATIONS = frozenset({
    QualifiedName(PG_CATALOG, "pg_views"), QualifiedName(PG_CATALOG, "pg_matviews"),
    QualifiedName(PG_CATALOG, "pg_proc"), QualifiedName(PG_CATALOG, "pg_rewrite"),
    QualifiedName(PG_CATALOG, "pg_rules"), QualifiedName(INFORMATION_SCHEMA, "views"),
    QualifiedName(INFORMATION_SCHEMA, "routines"),
})


def check_catalog_columns(expression: exp.Expression, relations: list[QualifiedName]) -> None:
    """Refuse definition columns, and `*` over catalogs that have them."""
    for column in expression.find_all(exp.Column):
        name = identifier_name(column.this)
        if name in BODY_COLUMNS:
            raise PgError(
                SqlState.INSUFFICIENT_PRIVILEGE,
                f'permission denied for catalog column "{name}": it holds SQL bodies that '
                "can embed data",
                hint="View, rule and function definitions are not readable through "
                "purpose-proxy.",
            )
    if any(relation in BODY_RELATIONS for relation in relations) and any(
        isinstance(star, exp.Star) for star in expression.find_all(exp.Star)
    ):
        raise PgError(
            SqlState.INSUFFICIENT_PRIVILEGE,
            "SELECT * on a catalog that holds SQL bodies is not allowed",
            hint="Name the columns you need (not the definitions).",
        )
