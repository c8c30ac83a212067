"""Which compat relations and macros a statement may name, and which of them never change.

The statement rewrite points pg_catalog references at COMPAT_VIEWS; the transpiler reads the
rest to decide whether a catalog query's description or rows can be cached (see cache.py).
"""

from __future__ import annotations

from proxy.backends.duckdb.catalog.constants import COMPAT_PATH
from proxy.backends.duckdb.catalog.empty_views import ALWAYS_EMPTY_VIEWS
from proxy.backends.duckdb.catalog.views import catalog_views

_VIEW_NAMES = tuple(catalog_views("x"))  # the names do not depend on the database's

#: The catalogs statements name (pg_class, pg_type...); pp_* relations are internal.
COMPAT_VIEWS: frozenset[str] = frozenset(name for name in _VIEW_NAMES if not name.startswith("pp_"))
#: Catalog views whose rows never change (no table function, no session variable): the constant
#: ones and the always-empty ones.
STATIC_VIEWS = frozenset({"pp_catalog_oids", "pg_type", "pp_type_display", "pg_am", "pg_collation",
                          "pg_tablespace"}) | frozenset(ALWAYS_EMPTY_VIEWS)
#: Prefix of the empty, same-typed stand-in of each catalog view (see rewrite._prune_dead_branches).
EMPTY_PREFIX = "pp_empty_"
#: Compat relations whose rows are the same for every session at any time.
STATIC_RELATIONS = STATIC_VIEWS | frozenset(EMPTY_PREFIX + name for name in COMPAT_VIEWS)
#: Compat relations whose rows follow only DuckDB's schemas, with the query that fingerprints them.
SCHEMA_RELATIONS = {
    "pg_namespace": "SELECT list(oid ORDER BY oid), list(schema_name ORDER BY oid) FROM duckdb_schemas() "
                    "WHERE database_name NOT IN ('temp', 'system')",
}
#: Compat macros that read only static relations.
STATIC_MACROS = frozenset({f"{COMPAT_PATH}.{name}" for name in ("pp_regtype_name", "format_type", "pp_regtype_oid")})
