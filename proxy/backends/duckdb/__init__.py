"""The embedded warehouse: DuckDB in-process, locked down, speaking PostgreSQL semantics.

One DuckDB database (a file) per proxy process (warehouse.py). Each client session gets its own
DuckDB connection, hence its own transaction, and its own single worker thread (session.py,
worker.py). Statements arrive in PostgreSQL's dialect; they are transpiled by sqlglot
(transpile.py) with the pg_catalog compat rewrite (catalog/), and results stream back with
fetchmany (cursor.py).
"""

from __future__ import annotations

from proxy.backends.duckdb.catalog.constants import COMPAT_CATALOG
from proxy.backends.duckdb.cursor import DuckDBResultCursor
from proxy.backends.duckdb.session import DuckDBSession
from proxy.backends.duckdb.settings import DEFAULT_SETTINGS
from proxy.backends.duckdb.warehouse import DuckDBWarehouse

__all__ = ["DuckDBWarehouse", "DuckDBSession", "DuckDBResultCursor", "COMPAT_CATALOG", "DEFAULT_SETTINGS"]
