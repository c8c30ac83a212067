"""Shared fixtures: one real proxy process (embedded DuckDB demo) for the whole test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.proxy_process import ProxyProcess, start_proxy


@pytest.fixture(scope="session")
def demo_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo database file for the run (created by the first proxy that opens it)."""
    return tmp_path_factory.mktemp("warehouse") / "acme.duckdb"


@pytest.fixture(scope="session")
def proxy(tmp_path_factory: pytest.TempPathFactory, demo_duckdb: Path) -> Iterator[ProxyProcess]:
    """The proxy as a user runs it: SCRAM auth, self-signed TLS, DuckDB demo warehouse."""
    running = start_proxy(tmp_path_factory.mktemp("proxy"), demo_duckdb)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def demo_postgres_warehouse(tmp_path_factory: pytest.TempPathFactory):
    """The demo loaded into a real PostgreSQL (the machine's, or a throwaway cluster)."""
    from tests.support.postgres import ClusterUnavailable
    from tests.support.requirements import require
    from tests.support.warehouses import demo_postgres

    try:
        with demo_postgres(tmp_path_factory.mktemp("pg-warehouse")) as warehouse:
            yield warehouse
    except ClusterUnavailable as exc:
        require(False, f"no PostgreSQL for the PostgreSQL-warehouse tests: {exc}")


@pytest.fixture(scope="session")
def postgres_proxy(tmp_path_factory: pytest.TempPathFactory, demo_postgres_warehouse):
    """The proxy in front of PostgreSQL, as docker-compose runs it (SCRAM to the warehouse)."""
    running = start_proxy(
        tmp_path_factory.mktemp("proxy-pg"),
        tmp_path_factory.mktemp("unused") / "unused.duckdb",
        backend="postgres",
        postgres=demo_postgres_warehouse.proxy_settings(),
    )
    yield running
    running.stop()
