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
