"""Enough of PostgreSQL's pg_catalog, on DuckDB, for psql, SQLAlchemy and the drivers.

DuckDB ships partial pg_catalog views, but with DuckDB's own type ids (13 for INTEGER, where
PostgreSQL says 23) and without the functions psql calls (pg_get_userbyid, pg_get_indexdef,
regclass casts...). Instead of patching DuckDB's, the backend keeps its own compat catalog:

* an in-memory database attached as `pg_compat` (shared by every connection of the instance,
  rebuilt at each start, never written to the warehouse file) holds views named like
  PostgreSQL's catalogs (pg_class, pg_attribute, pg_type...) computed from DuckDB's
  duckdb_tables()/duckdb_columns()/duckdb_constraints(), with PostgreSQL type OIDs, and
  macros for the functions (format_type, pg_get_userbyid, pg_table_is_visible...): see
  views.py, empty_views.py, pg_type.py, macros.py and install.py;
* `rewrite_catalog_references` (rewrite.py, casts.py) is a sqlglot transform on the
  statement's tree that points it at the compat catalog;
* cache.py keeps what drivers ask of it on every connection.

Limits: OIDs of user relations are DuckDB catalog OIDs (stable while the process runs), only
primary-key/unique indexes are listed, there is one owner role, and pg_proc / pg_operator are
not provided (\\df, \\do fail).
"""

from __future__ import annotations

from proxy.backends.duckdb.catalog.cache import CatalogCache
from proxy.backends.duckdb.catalog.constants import COMPAT_CATALOG
from proxy.backends.duckdb.catalog.install import install_compat_catalog
from proxy.backends.duckdb.catalog.rewrite import rewrite_catalog_references

__all__ = ["COMPAT_CATALOG", "CatalogCache", "install_compat_catalog", "rewrite_catalog_references"]
