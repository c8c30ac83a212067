"""`purpose-proxy load-demo`: the Acme Shop demo into any PostgreSQL, with clear failures.

Against the local PostgreSQL (127.0.0.1:5432, trust auth for postgres), each test in a scratch
database of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from proxy.cli import main
from proxy.demo.data import TABLE_ORDER, demo_rows
from tests.support.requirements import require

REPO = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"

pytestmark = pytest.mark.postgres


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def postgres_unreachable() -> str | None:
    async def probe() -> None:
        await _admin("SELECT 1")

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        return f"PostgreSQL at {PG_ADMIN_DSN}: {exc!r}"
    return None


@contextmanager
def scratch_database(prefix: str = "pp_test") -> Iterator[str]:
    """A fresh database for one test, its DSN yielded; dropped (with its sessions) afterwards."""
    problem = postgres_unreachable()
    require(problem is None, problem or "")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(dsn, sql, *args))


def _counts(dsn: str) -> dict[str, int]:
    return {
        table: fetch(dsn, f"SELECT count(*) FROM shop.{table}")[0][0] for table in TABLE_ORDER
    }


def _schemas(dsn: str) -> set[str]:
    rows = fetch(dsn, "SELECT nspname FROM pg_namespace WHERE nspname IN ('shop', 'sandbox')")
    return {row[0] for row in rows}


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """As a user runs it: a process, so a traceback would show on stderr."""
    return subprocess.run(
        [sys.executable, "-m", "proxy", *args],
        cwd=REPO, check=False, capture_output=True, text=True, timeout=120,
    )


def test_loads_the_demo_and_prints_what_it_did(capsys: pytest.CaptureFixture[str]) -> None:
    with scratch_database() as dsn:
        assert main(["load-demo", "--dsn", dsn]) == 0
        out = capsys.readouterr().out

        expected = {table: len(rows) for table, (_, rows) in demo_rows().items()}
        assert _counts(dsn) == expected
        assert _schemas(dsn) == {"shop", "sandbox"}
        assert fetch(dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'sandbox'")[0][0] == 0
        for table, count in expected.items():
            assert f"shop.{table}" in out and f"{count} rows" in out
        assert "sandbox" in out


def test_refuses_to_replace_existing_data_without_drop() -> None:
    with scratch_database() as dsn:
        assert _run_cli("load-demo", "--dsn", dsn).returncode == 0
        fetch(dsn, "CREATE TABLE sandbox.mine AS SELECT 1 AS x")
        fetch(dsn, "DELETE FROM shop.customers WHERE id > 10")

        again = _run_cli("load-demo", "--dsn", dsn)
        assert again.returncode == 1
        assert "schema shop already exists" in again.stderr and "--drop" in again.stderr
        assert "Traceback" not in again.stderr
        assert fetch(dsn, "SELECT count(*) FROM shop.customers")[0][0] == 10  # untouched

        # --if-missing: a deployment's start-up, run on every `up`: leaves the data, succeeds.
        keep = _run_cli("load-demo", "--dsn", dsn, "--if-missing")
        assert keep.returncode == 0, keep.stderr
        assert "left as it is" in keep.stdout
        assert fetch(dsn, "SELECT count(*) FROM shop.customers")[0][0] == 10
        assert fetch(dsn, "SELECT count(*) FROM sandbox.mine")[0][0] == 1

        # --drop: shop and sandbox from scratch.
        dropped = _run_cli("load-demo", "--dsn", dsn, "--drop")
        assert dropped.returncode == 0, dropped.stderr
        assert _counts(dsn) == {t: len(rows) for t, (_, rows) in demo_rows().items()}
        assert fetch(dsn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'sandbox'")[0][0] == 0


def test_drop_and_if_missing_exclude_each_other() -> None:
    result = _run_cli("load-demo", "--dsn", "postgresql://x@127.0.0.1/x", "--drop", "--if-missing")
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


def test_grants_the_proxy_role_what_it_needs() -> None:
    with scratch_database() as dsn:
        role = f"pp_role_{uuid.uuid4().hex[:8]}"
        asyncio.run(_admin(f'CREATE ROLE "{role}" LOGIN'))
        try:
            result = _run_cli("load-demo", "--dsn", dsn, "--grant-to", role)
            assert result.returncode == 0, result.stderr
            assert f"granted {role}" in result.stdout
            as_role = dsn.replace("postgres@", f"{role}@", 1)
            assert fetch(as_role, "SELECT count(*) FROM shop.orders")[0][0] == len(
                demo_rows()["orders"][1]
            )
            fetch(as_role, "CREATE TABLE sandbox.copy AS SELECT id FROM shop.products")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                fetch(as_role, "CREATE TABLE shop.not_here (x int)")
        finally:
            fetch(dsn, f'DROP OWNED BY "{role}"')
            asyncio.run(_admin(f'DROP ROLE "{role}"'))


def test_unknown_grant_role_is_a_clear_error() -> None:
    with scratch_database() as dsn:
        result = _run_cli("load-demo", "--dsn", dsn, "--grant-to", "no_such_role_pp")
        assert result.returncode == 1
        assert "role 'no_such_role_pp' does not exist" in result.stderr
        assert "Traceback" not in result.stderr
        assert _schemas(dsn) == set()  # checked before anything is loaded


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        # Nothing listens on port 1; the password must not be echoed.
        ("postgresql://postgres:s3cret@127.0.0.1:1/acme", "cannot reach PostgreSQL"),
        ("postgresql://postgres@nonexistent-host.invalid:5432/acme", "cannot reach PostgreSQL"),
        ("mysql://postgres@127.0.0.1/acme", "invalid DSN"),
    ],
)
def test_unreachable_or_invalid_target_is_a_clear_error(dsn: str, expected: str) -> None:
    result = _run_cli("load-demo", "--dsn", dsn, "--timeout", "5")
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_missing_database_and_unknown_role_are_clear_errors() -> None:
    problem = postgres_unreachable()
    require(problem is None, problem or "")
    missing = _run_cli("load-demo", "--dsn", f"postgresql://postgres@{PG_HOST}:{PG_PORT}/no_such_db_pp")
    assert missing.returncode == 1
    assert 'database "no_such_db_pp" does not exist' in missing.stderr
    assert "Traceback" not in missing.stderr

    # Authentication: an unknown role fails authentication (28000) whatever pg_hba says.
    denied = _run_cli("load-demo", "--dsn", f"postgresql://no_such_user_pp@{PG_HOST}:{PG_PORT}/postgres")
    assert denied.returncode == 1
    assert "authentication failed" in denied.stderr
    assert "Traceback" not in denied.stderr
