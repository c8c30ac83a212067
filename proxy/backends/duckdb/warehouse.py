"""The embedded warehouse: one DuckDB database file per proxy process, locked down.

Opened once (demo data on first start, the pg_catalog compat layer, then no file, network or
extension access from SQL); each client session gets its own connection (`con.cursor()`),
hence its own transaction (see session.py).
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from proxy.backends.duckdb.catalog import CatalogCache, install_compat_catalog
from proxy.backends.duckdb.catalog.constants import PG_SERVER_VERSION
from proxy.backends.duckdb.mask import install_mask
from proxy.backends.duckdb.session import DuckDBSession
from proxy.backends.duckdb.settings import DEFAULT_SETTINGS
from proxy.backends.duckdb.sql_text import sql_literal
from proxy.wire.types import oid_for_duckdb_type

#: Backend process ids for sessions opened without one (cancel requests name sessions by it).
_pids = itertools.count(20_000)


class DuckDBWarehouse:
    """The embedded warehouse: one DuckDB file, demo data on first start, locked down."""

    def __init__(self, path: str | Path, *, threads: int | None = None, load_demo: bool = True) -> None:
        self.path = Path(path)
        self.threads = threads
        self.load_demo = load_demo
        self.server_version = PG_SERVER_VERSION
        self.duckdb_version = duckdb.__version__
        self.catalog_name = ""
        self._root: Any = None
        self._started_at = datetime.now(timezone.utc)
        self.default_settings: dict[str, str] = dict(DEFAULT_SETTINGS)
        self.catalog_cache = CatalogCache()

    @classmethod
    async def open(cls, path: str | Path, *, threads: int | None = None, load_demo: bool = True) -> DuckDBWarehouse:
        warehouse = cls(path, threads=threads, load_demo=load_demo)
        await warehouse.start()
        return warehouse

    async def start(self) -> None:
        if self._root is None:
            await asyncio.to_thread(self._start)

    def _start(self) -> None:
        """On a worker thread: open the file, load the demo data, install the compat catalog, lock down."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # PostgreSQL semantics where DuckDB lets us choose: integer division truncates, NULLs sort
        # last ascending and first descending. Given at connect so every cursor() inherits them.
        config: dict[str, Any] = {
            "integer_division": True,
            "default_null_order": "nulls_last_on_asc_first_on_desc",
        }
        if self.threads:
            config["threads"] = int(self.threads)
        # The demo goes only into a file this start creates: a user's own database (however
        # empty of `shop`) is never written to.
        new_file = not self.path.exists()
        con = duckdb.connect(str(self.path), config=config)
        try:
            self.catalog_name = con.execute("SELECT current_database()").fetchone()[0]
            # DuckDB's TimeZone cannot be given at connect (ICU loads later) nor set per cursor,
            # so the default PostgreSQL-visible TimeZone is whatever DuckDB runs with.
            self.default_settings = dict(DEFAULT_SETTINGS)
            self.default_settings["timezone"] = con.execute("SELECT current_setting('TimeZone')").fetchone()[0]
            has_shop = con.execute(
                "SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database() "
                "AND schema_name = 'shop'"
            ).fetchone()[0]
            if self.load_demo and new_file and not has_shop:
                from proxy.demo.data import load_into_duckdb

                load_into_duckdb(con)
                con.execute("CHECKPOINT")
            install_compat_catalog(
                con,
                main_database=self.catalog_name,
                duckdb_version=f"v{self.duckdb_version}",
                oid_for_duckdb_type=lambda t: int(oid_for_duckdb_type(t)),
                settings=self.default_settings,
            )
            self._lock_down(con)
        except BaseException:
            con.close()
            raise
        self._root = con

    @staticmethod
    def _lock_down(con: Any) -> None:
        """No file, network, extension or Python-variable access from SQL, and no way back."""
        for statement in (
            "SET python_enable_replacements = false",
            "SET python_scan_all_frames = false",
            "SET allow_persistent_secrets = false",
        ):
            try:
                con.execute(statement)
            except duckdb.Error:
                pass  # not every DuckDB build has the Python or secrets settings
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET allow_community_extensions = false")
        try:
            con.execute("SET allow_unsigned_extensions = false")
        except duckdb.Error:
            pass  # only settable at startup on some versions; false is its default
        con.execute("SET lock_configuration = true")

    async def install_mask(self, configured_key: str | None) -> None:
        """The hash mask's macro and key in the warehouse file (see mask.py)."""
        if self._root is None:
            await self.start()
        await asyncio.to_thread(install_mask, self._root, configured_key)

    async def open_session(self, user: str, database: str, *, backend_pid: int | None = None) -> DuckDBSession:
        if self._root is None:
            await self.start()
        pid = backend_pid if backend_pid is not None else next(_pids)

        def connect() -> Any:
            con = self._root.cursor()
            con.execute(f"SET VARIABLE pp_user = {sql_literal(user)}")
            con.execute(f"SET VARIABLE pp_database = {sql_literal(database)}")
            con.execute(f"SET VARIABLE pp_pid = {int(pid)}")
            con.execute(f"SET VARIABLE pp_started_at = TIMESTAMPTZ {sql_literal(self._started_at.isoformat())}")
            return con

        con = await asyncio.to_thread(connect)
        return DuckDBSession(self, con, user, database, pid)

    async def close(self) -> None:
        root, self._root = self._root, None
        if root is not None:
            await asyncio.to_thread(root.close)
