"""Creating the compat catalog: an in-memory `pg_compat` database with its views and macros."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from proxy.backends.duckdb.catalog.constants import COMPAT_CATALOG, COMPAT_PATH
from proxy.backends.duckdb.catalog.macros import catalog_macros
from proxy.backends.duckdb.catalog.relations import (
    COMPAT_VIEWS,
    EMPTY_PREFIX,
    STATIC_VIEWS,
)
from proxy.backends.duckdb.catalog.views import catalog_views
from proxy.backends.duckdb.sql_text import values_list

if TYPE_CHECKING:
    import duckdb


def install_compat_catalog(
    con: duckdb.DuckDBPyConnection,
    *,
    main_database: str,
    duckdb_version: str,
    oid_for_duckdb_type: Callable[[str], int],
    settings: dict[str, str],
) -> None:
    """Attach the in-memory `pg_compat` catalog and create its macros and views.

    Runs once per process, on the warehouse's root connection, before the configuration is
    locked (ATTACH is still allowed then; the lock keeps clients from attaching anything).
    """
    run = con.execute
    c = COMPAT_PATH
    run(f"ATTACH ':memory:' AS {COMPAT_CATALOG}")
    run(f"CREATE TABLE {c}.pp_settings (name VARCHAR PRIMARY KEY, setting VARCHAR)")
    run(f"INSERT INTO {c}.pp_settings VALUES {values_list(sorted(settings.items()))}")
    # Views use macros and macros use views, and DuckDB binds both when they are created: create
    # in rounds, each statement once everything it names exists.
    pending = list(catalog_macros(oid_for_duckdb_type, duckdb_version))
    for name, select in catalog_views(main_database).items():
        if name in STATIC_VIEWS:
            # Constant rows: a table binds in microseconds where a VALUES list of a hundred rows
            # costs milliseconds at every reference (asyncpg's introspection names pg_type six
            # times). Internal pp_ relations are the tables themselves; catalogs stay views
            # (over a pp_ table), so pg_class still lists them under pg_catalog.
            table = name if name.startswith("pp_") else f"pp_static_{name}"
            run(f"CREATE TABLE {c}.{table} AS {select}")
            if table != name:
                pending.append(f"CREATE VIEW {c}.{name} AS SELECT * FROM {c}.{table}")
        else:
            pending.append(f"CREATE VIEW {c}.{name} AS {select}")
    _run_in_rounds(run, pending)
    for name in COMPAT_VIEWS:
        run(f"CREATE TABLE {c}.{EMPTY_PREFIX}{name} AS SELECT * FROM {c}.{name} LIMIT 0")


def _run_in_rounds(run: Callable[[str], object], pending: list[str]) -> None:
    """Run every statement, retrying those that fail while each round makes progress."""
    while pending:
        failed: list[str] = []
        last_error: Exception | None = None
        for statement in pending:
            try:
                run(statement)
            except Exception as error:  # a dependency is created later in this round or the next
                failed.append(statement)
                last_error = error
        if len(failed) == len(pending):
            assert last_error is not None
            raise last_error
        pending = failed
