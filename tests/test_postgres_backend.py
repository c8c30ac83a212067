"""The PostgreSQL warehouse end to end: real clients -> proxy process -> real PostgreSQL.

What is checked here is what a user of the relay would notice: binary results arrive exactly
as PostgreSQL sent them, cancel reaches the right statement without the warehouse's keys ever
reaching the client, the pool says clearly when it is full, faults (a client killed inside a
transaction, a warehouse restart) neither commit nor hang anything, TLS to the warehouse is
really used, a large result streams through in bounded memory, and COPY is relayed.

Most tests use the session-wide proxy in front of the demo warehouse (`postgres_proxy`).
Restarts and TLS need a server of their own: two throwaway clusters, one per concern, started
once for the module.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
import yaml
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import ExecStatus

from tests.support.clients import (
    LONG_STATEMENT,
    SHOP_TABLES,
    psql_binary,
    run_psql,
    table,
)
from tests.support.postgres import (
    Cluster,
    ClusterUnavailable,
    free_port,
    throwaway_cluster,
)
from tests.support.proxy_process import REPO, ProxyProcess, start_proxy
from tests.support.raw_client import RawConnection, query
from tests.support.requirements import require

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]

HEX64 = re.compile(r"^[0-9a-f]{64}$")
PINNED_SEARCH_PATH = '"$user", public'  # PostgresSettings.search_path, the default
# Ids of rows the tests insert into shop.products (the demo's run 1..60); removed afterwards.
KILLED_ID, RESTART_ID, COPY_IDS = 990_001, 990_002, (990_010, 990_011, 990_012)


def connect(proxy: ProxyProcess, user: str, **kwargs: Any) -> psycopg.Connection:
    return psycopg.connect(**proxy.conninfo(user), autocommit=True, **kwargs)


def admin(warehouse: Any) -> psycopg.Connection:
    return psycopg.connect(warehouse.admin_conninfo, autocommit=True)


def products_with_ids(warehouse: Any, ids: tuple[int, ...]) -> list[tuple[Any, ...]]:
    with admin(warehouse) as conn:
        return conn.execute(
            "SELECT id, name, category, price_cents FROM shop.products WHERE id = ANY(%s) "
            "ORDER BY id", (list(ids),),
        ).fetchall()


def delete_products(warehouse: Any, ids: tuple[int, ...]) -> None:
    with admin(warehouse) as conn:
        conn.execute("DELETE FROM shop.products WHERE id = ANY(%s)", (list(ids),))


def sessions_of(conn: psycopg.Connection, role: str) -> list[tuple[int, str, str]]:
    """(pid, state, query) of the warehouse backends the proxy's role has open."""
    return conn.execute(
        "SELECT pid, state, query FROM pg_stat_activity WHERE usename = %s AND backend_type = "
        "'client backend' ORDER BY pid", (role,),
    ).fetchall()


def wait_until(condition: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def failed_start(workdir: Path, timeout: float = 60, **settings: Any) -> tuple[int, str, float]:
    """Run `purpose-proxy serve` with a config that must not come up: (exit code, log, s).

    start_proxy() only reports a failed start as RuntimeError; the exit code matters too.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "host": "127.0.0.1", "port": 0, "state_dir": str(workdir / "state"),
        "catalog_dir": str(REPO / "catalog"), "policies_dir": str(REPO / "policies"),
        "duckdb": {"path": str(workdir / "unused.duckdb")},
        "audit_log": str(workdir / "audit.jsonl"), "backend": "postgres", **settings,
    }
    config_file = workdir / "proxy.yaml"
    config_file.write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURPOSE_PROXY_")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "proxy", "serve", "--config", str(config_file)],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )
    elapsed = time.monotonic() - started
    assert "listening on" not in result.stdout, "the proxy came up"
    return result.returncode, result.stdout + result.stderr, elapsed


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def proxy(postgres_proxy: ProxyProcess) -> ProxyProcess:
    return postgres_proxy


@pytest.fixture(scope="module")
def warehouse(demo_postgres_warehouse: Any) -> Any:
    return demo_postgres_warehouse


# --- throwaway clusters: one restarted, one hostssl-only ---------------------------------------


@dataclass
class Private:
    """A throwaway cluster with the demo loaded into database `acme` for role `role`."""

    cluster: Cluster
    role: str
    password: str
    database: str = "acme"

    def proxy_settings(self, **overrides: Any) -> dict[str, Any]:
        return {"host": self.cluster.host, "port": self.cluster.port, "database": self.database,
                "user": self.role, "password": self.password,
                "sslmode": "require" if self.cluster.ssl else "disable", **overrides}

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(**self.cluster.conninfo(dbname=self.database), autocommit=True)


def _private_cluster(tmp_dir: Path, **options: Any) -> Iterator[Private]:
    try:
        with throwaway_cluster(tmp_dir, **options) as cluster:
            role, password = "pp_warehouse", secrets.token_hex(12)
            cluster.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")  # SCRAM verifier
            cluster.execute("CREATE DATABASE acme")
            result = subprocess.run(
                [sys.executable, "-m", "proxy", "load-demo", "--dsn",
                 cluster.dsn(dbname="acme"), "--drop", "--grant-to", role],
                cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            yield Private(cluster, role, password)
    except ClusterUnavailable as exc:
        require(False, f"no throwaway PostgreSQL cluster: {exc}")


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    yield from _private_cluster(tmp_path_factory.mktemp("pg-restart"))


@pytest.fixture(scope="module")
def restartable_proxy(
    tmp_path_factory: pytest.TempPathFactory, restartable: Private
) -> Iterator[ProxyProcess]:
    # The role's own default search_path differs from the proxy's: only pinning keeps it.
    restartable.cluster.execute(f"ALTER ROLE {restartable.role} SET search_path = shop")
    workdir = tmp_path_factory.mktemp("proxy-restart")
    running = start_proxy(workdir, workdir / "unused.duckdb", backend="postgres",
                          postgres=restartable.proxy_settings())
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tls_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Private]:
    yield from _private_cluster(tmp_path_factory.mktemp("pg-tls"), ssl=True)


# --- 1. the relay keeps binary results as PostgreSQL sent them ---------------------------------


def _binary_result(conninfo: dict[str, Any], sql: str, params: list[str]) -> tuple[
    list[int], list[list[bytes | None]]
]:
    """Column type OIDs and the raw binary field bytes libpq received (no decoding at all)."""
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        result = conn.pgconn.exec_params(
            sql.encode(), [p.encode() for p in params], result_format=1
        )
        assert result.status == ExecStatus.TUPLES_OK, result.error_message
        oids = [result.ftype(i) for i in range(result.nfields)]
        rows = [[result.get_value(r, c) for c in range(result.nfields)]
                for r in range(result.ntuples)]
        return oids, rows


def _forwarded_sql(proxy: ProxyProcess, statement: str) -> str:
    """The SQL the proxy sent upstream for `statement` (the decision event)."""
    decisions = [e for e in proxy.audit_events()
                 if e.get("event") == "decision" and e.get("statement") == statement]
    assert decisions, f"no decision recorded for {statement!r}"
    return str(decisions[-1].get("rewritten") or statement)


@pytest.mark.parametrize(("user", "sql", "params"), [
    # Masked (keyed hash), parameterized: integer, timestamp, boolean, text.
    ("ana", ("SELECT id, created_at, marketing_consent, email FROM shop.customers "
             "WHERE id = $1"), ["7"]),
    # Every column type of the demo tables, raw: integer, text, date, boolean, timestamp, bigint.
    ("etl", "SELECT * FROM shop.customers WHERE id <= $1 ORDER BY id", ["50"]),
    ("etl", "SELECT * FROM shop.payments WHERE id <= $1 ORDER BY id", ["50"]),
])
def test_binary_rows_are_the_bytes_postgresql_sends(proxy, warehouse, user, sql, params):
    through_proxy = _binary_result(proxy.conninfo(user), sql, params)
    direct = {"host": warehouse.host, "port": warehouse.port, "dbname": warehouse.database,
              "user": warehouse.role, "password": warehouse.password}
    from_postgres = _binary_result(direct, _forwarded_sql(proxy, sql), params)
    assert through_proxy[1], "no rows"
    assert through_proxy == from_postgres


def _demo_tuples(name: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(row.values()) for row in table(name))


def test_asyncpg_binary_values_equal_the_demo_data(proxy, warehouse):
    customers = {row["id"]: row for row in table("customers")}

    async def main() -> None:
        conn = await asyncpg.connect(proxy.dsn("ana"))
        direct_args = conninfo_to_dict(warehouse.admin_conninfo)
        direct = await asyncpg.connect(
            host=direct_args["host"], port=int(direct_args["port"]),
            user=direct_args["user"], password=direct_args.get("password"),
            database=direct_args["dbname"],
        )
        try:
            sql = ("SELECT id, created_at, marketing_consent FROM shop.customers "
                   "WHERE id = $1")
            statement = await conn.prepare(sql)
            assert [(a.name, a.type.name) for a in statement.get_attributes()] == [
                ("id", "int4"), ("created_at", "timestamp"), ("marketing_consent", "bool")]
            for customer_id in (1, 2, 600, 1200):
                row = await statement.fetchrow(customer_id)
                c = customers[customer_id]
                assert tuple(row) == (customer_id, c["created_at"], c["marketing_consent"])
            assert await statement.fetchrow(999_999) is None
            # Every column of every demo table (etl reads them raw): values and Python types
            # as asyncpg decodes PostgreSQL's own binary output.
            etl = await asyncpg.connect(proxy.dsn("etl"))
            try:
                for name in SHOP_TABLES:
                    got = await etl.fetch(f"SELECT * FROM shop.{name}")
                    assert sorted(tuple(r) for r in got) == _demo_tuples(name), name
                    reference = await direct.fetch(f"SELECT * FROM shop.{name} LIMIT 1")
                    assert list(got[0].keys()) == list(reference[0].keys())
                    for column in reference[0].keys():  # noqa: SIM118 (a Record)
                        # a NULL in one row says nothing about the type: compare non-NULLs
                        value = next((r[column] for r in got if r[column] is not None), None)
                        ref = await direct.fetchval(
                            f"SELECT {column} FROM shop.{name} WHERE {column} IS NOT NULL "
                            "LIMIT 1")
                        assert type(value) is type(ref), (name, column)
            finally:
                await etl.close()
        finally:
            await conn.close()
            await direct.close()

    asyncio.run(main())


# --- 2. cancel -----------------------------------------------------------------------------


def test_cancel_interrupts_the_statement_and_hides_the_warehouse_keys(proxy, warehouse):
    with connect(proxy, "etl") as conn, admin(warehouse) as inspector:
        client_pid = conn.info.backend_pid
        upstream: list[int] = []
        timing: dict[str, float] = {}
        seen: dict[str, bool] = {}

        def cancel_when_running() -> None:
            def running() -> bool:
                # Any of the proxy's round trips for the statement will do: a cancel landing
                # between two of them is remembered and applied to the next one.
                upstream[:] = [pid for (pid,) in inspector.execute(
                    "SELECT pid FROM pg_stat_activity WHERE usename = %s AND state = 'active' "
                    "AND query LIKE '%%web_events%%'", (warehouse.role,))]
                return bool(upstream)

            seen["running"] = wait_until(running, timeout=30)
            timing["cancel"] = time.monotonic()
            conn.cancel()

        canceller = threading.Thread(target=cancel_when_running)
        canceller.start()
        with pytest.raises(errors.QueryCanceled) as failure:
            conn.execute(LONG_STATEMENT)
        latency = time.monotonic() - timing["cancel"]
        canceller.join()
        assert seen["running"]
        assert failure.value.sqlstate == "57014"
        print(f"\ncancel latency: {latency * 1000:.1f} ms")
        # The statement ran on a warehouse backend whose pid the client never saw.
        assert len(upstream) == 1
        assert client_pid != upstream[0]
        # ... and the warehouse stopped running it; the session goes on.
        assert wait_until(lambda: not any(
            state == "active" and "web_events" in sql
            for _, state, sql in sessions_of(inspector, warehouse.role)), timeout=5)
        assert conn.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)


def test_the_client_cancel_key_is_not_the_warehouses(proxy, warehouse):
    """BackendKeyData is the proxy's own: sent to the warehouse itself it cancels nothing."""
    raw = RawConnection(proxy.host, proxy.port)
    try:
        login = raw.login("etl")
        key = next(r for r in login if r.type == b"K")
        client_pid, client_secret = struct.unpack("!I", key.payload[:4])[0], key.payload[4:]
        with admin(warehouse) as inspector:
            raw.send(query("SELECT count(*) FROM shop.products"))
            raw.read_until(b"Z")
            pids = [pid for pid, *_ in sessions_of(inspector, warehouse.role)]
            assert client_pid not in pids
            # The warehouse's own key for any of the proxy's backends cannot be the client's:
            # a CancelRequest with the client's key, sent to the warehouse, reaches nothing.
            raw.send(query(LONG_STATEMENT))
            assert wait_until(lambda: any(
                state == "active" and "web_events" in sql
                for _, state, sql in sessions_of(inspector, warehouse.role)), timeout=10)
            with socket.create_connection((warehouse.host, warehouse.port)) as direct:
                direct.sendall(struct.pack("!III", 16, 80877102, client_pid) + client_secret)
                direct.recv(1)  # the server closes when done
            time.sleep(0.3)
            assert any(state == "active" and "web_events" in sql
                       for _, state, sql in sessions_of(inspector, warehouse.role))
            # Through the proxy, the same key cancels it.
            with socket.create_connection((proxy.host, proxy.port)) as via_proxy:
                via_proxy.sendall(struct.pack("!III", 16, 80877102, client_pid) + client_secret)
                via_proxy.recv(1)
            replies = raw.read_until(b"Z")
            assert [r.fields()["C"] for r in replies if r.type == b"E"] == ["57014"]
    finally:
        raw.close()


def test_no_false_warning_about_an_existing_sandbox_schema(proxy, warehouse):
    """The warehouse role may not CREATE in the database; the sandbox exists all the same,
    so the proxy must not warn that it could not be created."""
    with admin(warehouse) as inspector:
        assert inspector.execute(
            "SELECT has_database_privilege(%s, current_database(), 'CREATE'), "
            "EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'sandbox')",
            (warehouse.role,)).fetchone() == (False, True)
    log = (proxy.audit_file.parent / "proxy.log").read_text()
    assert "catalog introspection" in log  # the start-up lines are there
    assert "schema not created" not in log


def test_oid_array_casts_reach_postgresql_as_written(proxy):
    """The placeholder the analyzer parses `oid[]` with never reaches the warehouse."""
    with connect(proxy, "ana") as conn:
        rows = conn.execute(
            "SELECT id, email FROM shop.customers WHERE id::oid = ANY(CAST('{1,2}' AS oid[])) "
            "AND 'shop.customers'::regclass = ANY('{shop.customers}'::regclass[]) ORDER BY id"
        ).fetchall()
    assert [row[0] for row in rows] == [1, 2]
    assert all(HEX64.match(row[1]) for row in rows)  # masked: the statement was rewritten


# --- 3. pool exhaustion --------------------------------------------------------------------


def test_pool_exhaustion_is_a_clear_53300_within_the_timeout(tmp_path, warehouse):
    small = start_proxy(tmp_path / "proxy", tmp_path / "unused.duckdb", backend="postgres",
                        postgres=warehouse.proxy_settings(pool_size=2, pool_timeout=0.5))
    try:
        async def main() -> dict[str, float]:
            first = await asyncpg.connect(small.dsn("ana"))
            second = await asyncpg.connect(small.dsn("etl"))
            started = time.monotonic()
            with pytest.raises(asyncpg.exceptions.TooManyConnectionsError) as failure:
                await asyncpg.connect(small.dsn("sam"))
            waited = time.monotonic() - started
            assert failure.value.sqlstate == "53300"
            assert "pool_size 2" in str(failure.value)
            assert "0.5s" in str(failure.value)
            assert 0.45 <= waited < 1.5, waited
            # The held sessions are unaffected.
            assert await first.fetchval("SELECT count(*) FROM shop.products") == 60
            # A waiter is served as soon as a session ends (FIFO wait queue).
            waiter = asyncio.create_task(asyncpg.connect(small.dsn("sam")))
            await asyncio.sleep(0.15)
            await first.close()
            third = await waiter
            assert await third.fetchval("SELECT count(*) FROM shop.customers") > 0
            await third.close()
            await second.close()
            # Both slots free again: a new session starts at once.
            started_again = time.monotonic()
            fourth = await asyncpg.connect(small.dsn("ana"))
            assert await fourth.fetchval("SELECT 1") == 1
            await fourth.close()
            return {"timeout": waited, "fresh": time.monotonic() - started_again}

        timings = asyncio.run(main())
        print(f"\npool timeout answered after {timings['timeout'] * 1000:.0f} ms")
        # psycopg (libpq) reports it the same way.
        with connect(small, "ana"), connect(small, "etl"), \
                pytest.raises(psycopg.OperationalError, match="pool_size 2"):
            connect(small, "sam")
    finally:
        small.stop()


# --- 4. a client killed inside a transaction -----------------------------------------------


def test_client_killed_mid_transaction_commits_nothing(proxy, warehouse):
    raw = RawConnection(proxy.host, proxy.port)
    try:
        raw.login("etl")
        raw.send(query("BEGIN"))
        raw.read_until(b"Z")
        raw.send(query("INSERT INTO shop.products (id, name, category, price_cents) "
                       f"VALUES ({KILLED_ID}, 'killed client', 'Test', 1)"))
        replies = raw.read_until(b"Z")
        assert [r.payload for r in replies if r.type == b"C"] == [b"INSERT 0 1\0"]
        assert replies[-1].payload == b"T"
        with admin(warehouse) as inspector:
            in_transaction = [pid for pid, state, _ in sessions_of(inspector, warehouse.role)
                              if state == "idle in transaction"]
            assert len(in_transaction) == 1
            # Killed: RST, no Terminate, no COMMIT.
            raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()
            assert wait_until(lambda: not any(
                state == "idle in transaction"
                for _, state, _ in sessions_of(inspector, warehouse.role)), timeout=5), \
                sessions_of(inspector, warehouse.role)
        assert products_with_ids(warehouse, (KILLED_ID,)) == []
        # The row lock went with the transaction: the same key inserts at once (and commits).
        with connect(proxy, "etl") as conn:
            conn.execute("INSERT INTO shop.products (id, name, category, price_cents) "
                         f"VALUES ({KILLED_ID}, 'after the kill', 'Test', 2)")
        assert products_with_ids(warehouse, (KILLED_ID,)) == [
            (KILLED_ID, "after the kill", "Test", 2)]
    finally:
        raw.close()
        delete_products(warehouse, (KILLED_ID,))


# --- 5. warehouse restart mid-session ------------------------------------------------------


def test_warehouse_restart_fails_one_statement_then_recovers(restartable, restartable_proxy):
    reader = connect(restartable_proxy, "ana")
    writer = connect(restartable_proxy, "etl")
    try:
        assert reader.execute("SELECT count(*) FROM shop.customers").fetchone() == (1200,)
        writer.execute("BEGIN")
        writer.execute("INSERT INTO shop.products (id, name, category, price_cents) "
                       f"VALUES ({RESTART_ID}, 'during restart', 'Test', 3)")
        assert writer.info.transaction_status.name == "INTRANS"

        restartable.cluster.restart()

        started = time.monotonic()
        with pytest.raises(psycopg.Error) as failure:
            reader.execute("SELECT count(*) FROM shop.customers")
        assert failure.value.sqlstate in ("57P01", "08006"), failure.value
        assert time.monotonic() - started < 5
        assert not reader.closed  # the client's session survives the warehouse's
        assert reader.execute("SELECT count(*) FROM shop.customers").fetchone() == (1200,)

        # Inside a transaction: the failure, then 25P02 until ROLLBACK, as in PostgreSQL.
        with pytest.raises(psycopg.Error) as failure:
            writer.execute("SELECT count(*) FROM shop.products")
        assert failure.value.sqlstate in ("57P01", "08006"), failure.value
        assert writer.info.transaction_status.name == "INERROR"
        with pytest.raises(errors.InFailedSqlTransaction):
            writer.execute("SELECT count(*) FROM shop.products")
        writer.execute("ROLLBACK")
        assert writer.info.transaction_status.name == "IDLE"
        assert writer.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
        assert writer.info.transaction_status.name == "IDLE"
        with restartable.admin() as inspector:
            assert inspector.execute(
                "SELECT count(*) FROM shop.products WHERE id = %s", (RESTART_ID,)
            ).fetchone() == (0,)
        # New sessions work too (the pool replaced its dead idle connections).
        with connect(restartable_proxy, "sam") as fresh:
            assert fresh.execute("SELECT count(*) FROM shop.customers").fetchone()[0] > 0
    finally:
        reader.close()
        writer.close()


def test_commit_after_the_warehouse_went_away_rolls_back(restartable, restartable_proxy):
    with connect(restartable_proxy, "etl") as writer:
        writer.execute("BEGIN")
        writer.execute("INSERT INTO shop.products (id, name, category, price_cents) "
                       f"VALUES ({RESTART_ID}, 'committed after restart?', 'Test', 4)")
        restartable.cluster.restart()
        with pytest.raises(psycopg.Error) as failure:
            writer.execute("COMMIT")
        assert failure.value.sqlstate in ("57P01", "08006"), failure.value
        assert writer.execute("ROLLBACK").statusmessage == "ROLLBACK"
        assert writer.info.transaction_status.name == "IDLE"
        assert writer.execute("SELECT 1").fetchone() == (1,)
    with restartable.admin() as inspector:
        assert inspector.execute(
            "SELECT count(*) FROM shop.products WHERE id = %s", (RESTART_ID,)
        ).fetchone() == (0,)


def test_a_long_outage_fails_statements_cleanly_then_recovers(restartable, restartable_proxy):
    """The warehouse stays down across several statements: each fails with a connection
    error (never XX000), a transaction stays failed until ROLLBACK, the sessions survive, and
    the first statement after the warehouse is back works."""
    reader = connect(restartable_proxy, "ana")
    writer = connect(restartable_proxy, "etl")
    try:
        assert reader.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
        writer.execute("BEGIN")
        writer.execute("SELECT count(*) FROM shop.products")
        restartable.cluster.stop()
        try:
            for _ in range(3):  # the outage outlasts several statements
                with pytest.raises(psycopg.OperationalError) as failure:
                    reader.execute("SELECT count(*) FROM shop.products")
                assert failure.value.sqlstate in ("57P01", "08006", "08001"), failure.value
                assert not reader.closed
            with pytest.raises(psycopg.OperationalError) as failure:
                writer.execute("SELECT count(*) FROM shop.products")
            assert failure.value.sqlstate in ("57P01", "08006", "08001"), failure.value
            assert writer.info.transaction_status.name == "INERROR"
            with pytest.raises(errors.InFailedSqlTransaction):
                writer.execute("SELECT 1")
            writer.execute("ROLLBACK")
            assert writer.info.transaction_status.name == "IDLE"
            with pytest.raises(psycopg.OperationalError) as failure:
                writer.execute("SELECT count(*) FROM shop.products")
            assert failure.value.sqlstate in ("08006", "08001"), failure.value
        finally:
            restartable.cluster.start()
        assert reader.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
        assert writer.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
        assert not reader.closed and not writer.closed
    finally:
        reader.close()
        writer.close()
    log = (restartable_proxy.audit_file.parent / "proxy.log").read_text()
    assert "not leased" not in log and "internal error" not in log


def test_pinned_search_path_beats_the_roles_default(restartable, restartable_proxy):
    """The role's own `search_path = shop` never applies: the proxy pins its own path."""
    with restartable.admin() as inspector:
        assert inspector.execute(
            "SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
            "WHERE r.rolname = %s", (restartable.role,)).fetchone() == (["search_path=shop"],)
    with connect(restartable_proxy, "ana") as conn:
        assert conn.execute("SHOW search_path").fetchone() == (PINNED_SEARCH_PATH,)
        assert conn.execute(
            "SELECT current_setting('search_path')").fetchone() == (PINNED_SEARCH_PATH,)


# --- 6. TLS to the warehouse ---------------------------------------------------------------


def test_verify_full_tls_to_the_warehouse(tmp_path, tls_only):
    cluster = tls_only.cluster
    assert cluster.ca_file is not None
    running = start_proxy(
        tmp_path / "proxy", tmp_path / "unused.duckdb", backend="postgres",
        postgres=tls_only.proxy_settings(sslmode="verify-full", sslrootcert=str(cluster.ca_file)),
    )
    try:
        with connect(running, "etl") as conn:
            assert conn.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
            with tls_only.admin() as inspector:
                ssl_rows = inspector.execute(
                    "SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a "
                    "USING (pid) WHERE a.usename = %s", (tls_only.role,)).fetchall()
            assert ssl_rows and all(ssl for ssl, _ in ssl_rows), ssl_rows
            assert all(version in ("TLSv1.2", "TLSv1.3") for _, version in ssl_rows)
    finally:
        running.stop()


def test_sslmode_disable_against_a_hostssl_only_warehouse_fails_at_start(tmp_path, tls_only):
    code, output, elapsed = failed_start(tmp_path, postgres=tls_only.proxy_settings(
        sslmode="disable"))
    assert code != 0
    assert f"the warehouse at 127.0.0.1:{tls_only.cluster.port} refused the proxy's connection" \
        in output, output
    assert "The warehouse requires TLS: postgres.sslmode is 'disable'" in output, output
    assert "no encryption" in output  # the warehouse's own words, as the detail
    # A refusal is not retried: it will not pass by itself.
    assert "retrying" not in output
    assert elapsed < 8, elapsed
    print(f"\nsslmode=disable refused after {elapsed:.1f} s")


@pytest.mark.parametrize("problem", ["missing", "not a certificate"])
def test_an_unusable_ca_file_fails_at_start_without_retrying(tmp_path, tls_only, problem):
    """Retrying cannot make a CA file appear: the start fails at once, with the fix."""
    ca = tmp_path / "ca.pem"
    if problem != "missing":
        ca.write_text("not a certificate\n")
    code, output, _ = failed_start(tmp_path / "run", postgres=tls_only.proxy_settings(
        sslmode="verify-full", sslrootcert=str(ca)))
    assert code != 0
    assert str(ca) in output and "postgres.sslrootcert" in output, output
    assert "retrying" not in output, output


# --- 7. a 100 MB result streams in bounded memory ------------------------------------------

BIG = "SELECT repeat('x', 1000) FROM generate_series(1, 100000)"
BIG_BYTES = 100_000 * 1000
MAX_GROWTH_KIB = 40 * 1024


def test_100mb_through_a_psycopg_server_side_cursor(proxy):
    pid = proxy.process.pid
    with psycopg.connect(**proxy.conninfo("etl")) as conn:  # a transaction: DECLARE ... CURSOR
        conn.execute("SELECT 1").fetchone()
        before = rss_kib(pid)
        peak, total, rows = before, 0, 0
        with conn.cursor(name="big") as cursor:
            cursor.itersize = 2000
            cursor.execute(BIG)
            for (value,) in cursor:
                total += len(value)
                rows += 1
                if rows % 5000 == 0:
                    peak = max(peak, rss_kib(pid))
        peak = max(peak, rss_kib(pid))
    print(f"\npsycopg server-side cursor: RSS before {before / 1024:.1f} MiB, "
          f"peak {peak / 1024:.1f} MiB (+{(peak - before) / 1024:.1f} MiB "
          f"for {total / 2**20:.0f} MiB)")
    assert (rows, total) == (100_000, BIG_BYTES)
    assert peak - before < MAX_GROWTH_KIB


def test_100mb_through_an_asyncpg_cursor_and_a_plain_query(proxy):
    pid = proxy.process.pid

    async def main() -> tuple[int, int, int]:
        conn = await asyncpg.connect(proxy.dsn("etl"))
        try:
            await conn.fetchval("SELECT 1")
            before = peak = rss_kib(pid)
            total = rows = 0
            async with conn.transaction():  # Execute with a row limit: suspended portals
                async for record in conn.cursor(BIG, prefetch=2000):
                    total += len(record[0])
                    rows += 1
                    if rows % 5000 == 0:
                        peak = max(peak, rss_kib(pid))
            assert (rows, total) == (100_000, BIG_BYTES)
            return before, max(peak, rss_kib(pid)), rows
        finally:
            await conn.close()

    before, peak, _ = asyncio.run(main())
    print(f"\nasyncpg cursor: RSS before {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
          f"(+{(peak - before) / 1024:.1f} MiB)")
    assert peak - before < MAX_GROWTH_KIB
    # One Execute without a limit, read row by row by the client (psycopg's stream()).
    with connect(proxy, "etl") as conn:
        before = peak = rss_kib(pid)
        total = rows = 0
        for (value,) in conn.cursor().stream(BIG):
            total += len(value)
            rows += 1
            if rows % 5000 == 0:
                peak = max(peak, rss_kib(pid))
    print(f"psycopg stream(): RSS before {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
          f"(+{(peak - before) / 1024:.1f} MiB)")
    assert (rows, total) == (100_000, BIG_BYTES)
    assert peak - before < MAX_GROWTH_KIB


class PeakRss:
    """Samples a process's RSS every few milliseconds in a thread; `peak` in KiB."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = self.peak = rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:  # noqa: PYI034
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kib(self.pid))

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / 1024


def test_a_result_abandoned_early_is_discarded_not_collected(proxy, warehouse):
    """A cursor closed after 1,000 of 100,000 rows, and a client gone mid-result: the rest
    of the 100 MB is read off the warehouse connection and dropped, not held in memory."""
    with psycopg.connect(**proxy.conninfo("etl")) as conn, PeakRss(proxy.process.pid) as rss:
        with conn.cursor(name="abandoned") as cursor:
            cursor.itersize = 1000
            cursor.execute(BIG)
            assert len(cursor.fetchmany(1000)) == 1000
        # The session goes on, in the same transaction.
        assert conn.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
        raw = RawConnection(proxy.host, proxy.port)
        raw.login("etl")
        raw.send(query(BIG))
        assert [raw.read().type for _ in range(3)] == [b"T", b"D", b"D"]
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raw.close()
        with admin(warehouse) as inspector:
            # The killed client's statement was stopped (not run to its end for nobody) and
            # its warehouse connection is idle again.
            assert wait_until(lambda: not any(
                state == "active" for _, state, _ in sessions_of(inspector, warehouse.role)
            ), timeout=10), sessions_of(inspector, warehouse.role)
    print(f"\nabandoned results: RSS before {rss.before / 1024:.1f} MiB, "
          f"peak {rss.peak / 1024:.1f} MiB (+{rss.growth_mib:.1f} MiB)")
    assert rss.peak - rss.before < MAX_GROWTH_KIB


def test_a_statement_between_fetches_keeps_memory_bounded(tmp_path, warehouse):
    """psycopg's named cursor is a SQL cursor the warehouse keeps: a statement between its
    FETCHes finds no result to read first, and the rows stay in the warehouse."""
    running = start_proxy(tmp_path / "proxy", tmp_path / "unused.duckdb", backend="postgres",
                          postgres=warehouse.proxy_settings())
    try:
        with psycopg.connect(**running.conninfo("etl")) as conn, \
                PeakRss(running.process.pid) as rss:
            with conn.cursor(name="batches") as cursor:
                cursor.itersize = 1000
                cursor.execute(BIG)
                rows = 0
                while batch := cursor.fetchmany(20_000):
                    rows += len(batch)
                    conn.execute("SELECT count(*) FROM shop.products").fetchone()
            assert rows == 100_000
        print(f"\nstatements between FETCHes: +{rss.growth_mib:.1f} MiB")
        assert rss.peak - rss.before < MAX_GROWTH_KIB
    finally:
        running.stop()


# --- 8. warehouse unreachable at start -----------------------------------------------------


def test_unreachable_warehouse_is_a_clear_error_at_start(tmp_path):
    port = free_port()  # nothing listens there
    code, output, elapsed = failed_start(tmp_path, postgres={
        "host": "127.0.0.1", "port": port, "database": "acme", "user": "nobody",
        "password": "x", "sslmode": "disable", "connect_timeout": 2})
    print(f"\nunreachable warehouse: exit {code} after {elapsed:.1f} s")
    assert code != 0
    assert f"could not connect to the warehouse at 127.0.0.1:{port}" in output, output
    assert "Connection refused" in output
    assert "retrying" in output  # it did retry before giving up
    assert elapsed < 20


# --- 9. session safety -----------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "SELECT * FROM pg_catalog.pg_stats",
    "SELECT query FROM pg_catalog.pg_stat_activity",
    "SELECT * FROM pg_catalog.pg_statistic",
    "SELECT * FROM pg_catalog.pg_stats_ext",
    "SELECT most_common_vals FROM pg_catalog.pg_stats WHERE tablename = 'customers'",
])
def test_statistics_and_activity_are_not_readable(proxy, sql):
    with connect(proxy, "ana") as conn:
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute(sql)
        assert "not readable through purpose-proxy" in (failure.value.diag.message_hint or "")
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM pg_stats",
    "SELECT query FROM pg_stat_activity",
    "SELECT * FROM pg_statistic",
])
def test_bare_statistics_names_are_refused(proxy, sql):
    """PostgreSQL resolves these bare names in pg_catalog; the proxy refuses them all."""
    with connect(proxy, "ana") as conn:
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(sql)
        assert failure.value.sqlstate in ("42501", "42P01")
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_bare_statistics_names_are_refused_as_forbidden(proxy):
    with connect(proxy, "ana") as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SELECT * FROM pg_stats")


def test_search_path_is_the_pinned_one(proxy):
    with connect(proxy, "ana") as conn:
        assert conn.execute("SHOW search_path").fetchone() == (PINNED_SEARCH_PATH,)
        assert conn.execute(
            "SELECT current_setting('search_path')").fetchone() == (PINNED_SEARCH_PATH,)


# --- 10. COPY through the relay --------------------------------------------------------------

COPY_OUT = "COPY (SELECT id, email FROM shop.customers ORDER BY id LIMIT 3) TO STDOUT"


def test_copy_out_relays_masked_values(proxy):
    with connect(proxy, "ana") as conn:
        with conn.cursor().copy(COPY_OUT) as copy:
            rows = [tuple(row) for row in copy.rows()]
        selected = conn.execute(
            "SELECT id, email FROM shop.customers ORDER BY id LIMIT 3").fetchall()
    assert [int(i) for i, _ in rows] == [1, 2, 3]
    assert all(HEX64.match(email) for _, email in rows), rows
    assert [(int(i), e) for i, e in rows] == selected  # the same keyed hash as a SELECT
    raw_emails = {c["email"] for c in table("customers")}
    assert not {e for _, e in rows} & raw_emails


def test_copy_out_with_psql(proxy):
    require(psql_binary() is not None, "the psql binary (postgresql-client) is not installed")
    result = run_psql(proxy, "-X", "-c", COPY_OUT, user="ana")
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [i for i, _ in lines] == ["1", "2", "3"]
    assert all(HEX64.match(email) for _, email in lines), lines


def test_copy_in_loads_rows(proxy, warehouse):
    rows = [(i, f"copied {i}", "Test", 100 + n) for n, i in enumerate(COPY_IDS)]
    try:
        with connect(proxy, "etl") as conn:
            cursor = conn.cursor()
            with cursor.copy(
                "COPY shop.products (id, name, category, price_cents) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            assert cursor.rowcount == 3
            assert cursor.statusmessage == "COPY 3"
        assert products_with_ids(warehouse, COPY_IDS) == rows
    finally:
        delete_products(warehouse, COPY_IDS)
    assert products_with_ids(warehouse, COPY_IDS) == []
