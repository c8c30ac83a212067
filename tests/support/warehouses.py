"""A PostgreSQL warehouse loaded with the Acme Shop demo, for running the proxy in front of it.

The machine's PostgreSQL (127.0.0.1:5432, trust for `postgres`) is used when it answers: a
scratch database and a warehouse role of the test's own, dropped afterwards. Where it does not,
a throwaway cluster is started from the local PostgreSQL binaries (tests/support/postgres.py).
The demo is loaded with the real `purpose-proxy load-demo` command.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.postgres import Cluster, throwaway_cluster

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DemoWarehouse:
    host: str
    port: int
    database: str
    role: str
    password: str
    admin_conninfo: str  # a superuser on the scratch database, for setup and inspection

    def proxy_settings(self, **overrides: object) -> dict[str, object]:
        """The `postgres:` section of a proxy config pointing at this warehouse."""
        return {"host": self.host, "port": self.port, "database": self.database,
                "user": self.role, "password": self.password, "sslmode": "prefer", **overrides}


def _load_demo(admin_dsn: str, role: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "proxy", "load-demo", "--dsn", admin_dsn, "--drop",
         "--grant-to", role],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load-demo failed:\n{result.stdout}\n{result.stderr}")


def _prepare(
    admin: dict[str, object], host: str, port: int, user: str, password: str | None
) -> DemoWarehouse:
    suffix = f"{os.getpid()}_{secrets.token_hex(3)}"
    database, role, role_password = f"pp_demo_{suffix}", f"pp_proxy_{suffix}", secrets.token_hex(12)
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD %s'.replace("%s", f"'{role_password}'"))
    auth = f"{user}:{password}@" if password else f"{user}@"
    _load_demo(f"postgresql://{auth}{host}:{port}/{database}", role)
    db_admin = f"host={host} port={port} dbname={database} user={user}" + (
        f" password={password}" if password else "")
    return DemoWarehouse(host, port, database, role, role_password, db_admin)


def _drop(admin: dict[str, object], warehouse: DemoWarehouse) -> None:
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{warehouse.database}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{warehouse.role}"')


@contextmanager
def demo_postgres(tmp_dir: Path) -> Iterator[DemoWarehouse]:
    """Raises tests.support.postgres.ClusterUnavailable when no PostgreSQL can be had."""
    local: dict[str, object] = {"host": "127.0.0.1", "port": 5432, "dbname": "postgres",
                                "user": "postgres", "connect_timeout": 3}
    try:
        psycopg.connect(**local).close()
        reachable = True
    except psycopg.OperationalError:
        reachable = False
    if reachable:
        warehouse = _prepare(local, "127.0.0.1", 5432, "postgres", None)
        try:
            yield warehouse
        finally:
            _drop(local, warehouse)
        return
    with throwaway_cluster(tmp_dir) as cluster:
        admin = cluster.conninfo()
        yield _prepare(admin, cluster.host, cluster.port, cluster.superuser, cluster.password)


def demo_on_cluster(cluster: Cluster) -> DemoWarehouse:
    """A fresh demo database and warehouse role in a throwaway cluster (the cluster goes away
    with everything in it, so nothing needs dropping)."""
    return _prepare(cluster.conninfo(), cluster.host, cluster.port, cluster.superuser,
                    cluster.password)
