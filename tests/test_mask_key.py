"""The hash mask's key never appears in SQL text, clients never reach it, replicas share it.

The rewrite calls `_purpose_proxy.mask_hash(value::text)`; each warehouse keeps the key beside
that function (proxy/backends/mask_key.py). Proven for real:
- PostgreSQL: a cluster of the test's own records everything it can (log_statement=all,
  every duration, Bind parameters in full, auto_explain plans of nested statements,
  pg_stat_statements with nested statements); masked statements run through the proxy in every
  protocol path, then the key is searched for in pg_stat_activity, pg_stat_statements, pg_stats,
  the server log, the audit log and the proxy's own log;
- DuckDB: the warehouse's query log (duckdb_logs, trace level) over real sessions, and the
  profiler's output for the exact SQL the proxy runs;
- clients cannot call the function or read (or change) the key in any spelling, on both
  warehouses;
- proxy processes with the same key, or with none (the warehouse's), hash identically, on both
  warehouses and across them; a different configured key stops a proxy at start.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from proxy.backends.duckdb import DuckDBWarehouse
from proxy.backends.duckdb.transpile import transpile
from proxy.check import check
from proxy.config_files import ConfigError
from proxy.policy import load_deployment
from proxy.policy.decision import Allow
from tests.support.clients import table
from tests.support.postgres import (
    Cluster,
    ClusterUnavailable,
    server_binaries,
    throwaway_cluster,
)
from tests.support.proxy_process import REPO, ProxyProcess, start_proxy
from tests.support.requirements import require
from tests.support.warehouses import DemoWarehouse, demo_on_cluster

KEY = f"mask-key-canary-{secrets.token_hex(12)}"
OTHER_KEY = f"other-mask-key-{secrets.token_hex(12)}"
EMAILS = {row["id"]: row["email"] for row in table("customers")}
MASKED_QUERY = "SELECT id, email FROM shop.customers ORDER BY id"


def digest(key: str, value: str) -> str:
    """The hash mask as it has always been: hex SHA-256 of key || value::text."""
    return hashlib.sha256((key + value).encode("utf-8")).hexdigest()


def assert_no_key(text: str, where: str, key: str = KEY) -> None:
    for trace in (key, key.encode().hex(), key.upper()):
        assert trace not in text, f"the mask key is in {where}"


def hashes(proxy: ProxyProcess, user: str = "ana") -> dict[int, str]:
    with psycopg.connect(**proxy.conninfo(user), autocommit=True) as conn:
        return dict(conn.execute(MASKED_QUERY).fetchall())  # type: ignore[arg-type]


# --- warehouses and proxies ------------------------------------------------------------------


def _preloaded() -> list[str]:
    lib = server_binaries().parent / "lib"
    return [name for name in ("pg_stat_statements", "auto_explain")
            if (lib / f"{name}.so").exists()]


def _recording_config(preload: list[str]) -> dict[str, str]:
    config = {
        "log_statement": "'all'",
        "log_min_duration_statement": "0",
        "log_parameter_max_length": "-1",
        "log_parameter_max_length_on_error": "-1",
        "log_min_error_statement": "'info'",
        "log_error_verbosity": "'verbose'",
        "track_activity_query_size": "'16kB'",
    }
    if preload:
        config["shared_preload_libraries"] = "'" + ",".join(preload) + "'"
    if "pg_stat_statements" in preload:
        config["pg_stat_statements.track"] = "'all'"
        config["pg_stat_statements.track_utility"] = "on"
    if "auto_explain" in preload:
        config.update({
            "auto_explain.log_min_duration": "0",
            "auto_explain.log_nested_statements": "on",
            "auto_explain.log_verbose": "on",
        })
    return config


@pytest.fixture(scope="module")
def preloaded() -> list[str]:
    try:
        return _preloaded()
    except ClusterUnavailable as exc:
        require(False, str(exc))
        raise


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, preloaded: list[str]) -> Iterator[Cluster]:
    """A PostgreSQL server that records every statement it runs."""
    try:
        with throwaway_cluster(tmp_path_factory.mktemp("pg-recording"),
                               extra_config=_recording_config(preloaded)) as running:
            yield running
    except ClusterUnavailable as exc:
        require(False, str(exc))


@pytest.fixture(scope="module")
def warehouse(cluster: Cluster, preloaded: list[str]) -> DemoWarehouse:
    demo = demo_on_cluster(cluster)
    if "pg_stat_statements" in preloaded:
        cluster.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", dbname=demo.database)
    return demo


def _pg_proxy(workdir: Path, demo: DemoWarehouse, **settings: object) -> ProxyProcess:
    return start_proxy(workdir, workdir / "unused.duckdb", backend="postgres",
                       postgres=demo.proxy_settings(), **settings)


@pytest.fixture(scope="module")
def pg_proxy(tmp_path_factory: pytest.TempPathFactory, warehouse: DemoWarehouse
             ) -> Iterator[ProxyProcess]:
    running = _pg_proxy(tmp_path_factory.mktemp("mask-pg"), warehouse, mask_key=KEY)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def duck_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir = tmp_path_factory.mktemp("mask-duckdb")
    running = start_proxy(workdir, workdir / "acme.duckdb", mask_key=KEY)
    yield running
    running.stop()


@pytest.fixture(params=["duckdb", "postgres"])
def any_proxy(request: pytest.FixtureRequest) -> ProxyProcess:
    return request.getfixturevalue("duck_proxy" if request.param == "duckdb" else "pg_proxy")


# --- PostgreSQL: nothing that records statements holds the key -------------------------------


def _masked_statements(conn: psycopg.Connection) -> dict[int, str]:
    """Masked reads through every path a client has; returns what the simple protocol gave."""
    result = conn.pgconn.exec_(MASKED_QUERY.encode())  # simple query protocol
    assert result.error_message == b"", result.error_message
    simple = {int(result.get_value(r, 0) or b"0"): (result.get_value(r, 1) or b"").decode()
              for r in range(result.ntuples)}
    for customer in (1, 2, 3):  # extended protocol, a named prepared statement, parameters
        conn.execute("SELECT email FROM shop.customers WHERE id = %s", (customer,),
                     prepare=True).fetchall()
    conn.execute("SELECT email, count(*) FROM shop.customers GROUP BY email").fetchall()
    conn.execute("SELECT a.email FROM shop.customers a JOIN shop.customers b "
                 "ON a.email = b.email WHERE a.id < 5").fetchall()
    with conn.cursor().copy("COPY (SELECT id, email FROM shop.customers) TO STDOUT") as copy:
        b"".join(bytes(chunk) for chunk in copy)
    with conn.transaction():
        conn.execute("DECLARE masked CURSOR FOR SELECT email FROM shop.customers")
        conn.execute("FETCH 5 FROM masked").fetchall()
    with pytest.raises(psycopg.Error):  # a warehouse error: logged with its statement
        conn.execute("SELECT pg_catalog.to_date(email, 'YYYY') FROM shop.customers").fetchall()
    # Last: the statement pg_stat_activity shows for this session's upstream connection.
    conn.execute("SELECT email FROM shop.customers WHERE id = 1").fetchall()
    return simple


def test_postgres_records_hold_the_masked_statements_but_never_the_key(
    pg_proxy: ProxyProcess, warehouse: DemoWarehouse, cluster: Cluster, preloaded: list[str]
) -> None:
    with psycopg.connect(**pg_proxy.conninfo("ana"), autocommit=True) as conn:
        simple = _masked_statements(conn)
        activity = "\n".join(str(q) for (q,) in cluster.execute(
            "SELECT coalesce(query, '') FROM pg_catalog.pg_stat_activity"))
    assert simple == {i: digest(KEY, email) for i, email in EMAILS.items()}
    assert "_purpose_proxy.mask_hash(" in activity  # the rewrite is there to be seen...
    assert_no_key(activity, "pg_stat_activity")  # ...and the key is not

    cluster.execute("ANALYZE", dbname=warehouse.database)
    stats = cluster.execute("SELECT * FROM pg_catalog.pg_stats WHERE schemaname = '_purpose_proxy'",
                            dbname=warehouse.database)
    assert [row[2] for row in stats] == ["only_row"]  # no statistics (no sample) of the key
    assert_no_key(repr(stats), "pg_stats")
    if "pg_stat_statements" in preloaded:
        statements = "\n".join(q for (q,) in cluster.execute(
            "SELECT query FROM pg_stat_statements", dbname=warehouse.database))
        assert "_purpose_proxy.mask_hash(" in statements
        assert "FROM _purpose_proxy.mask_key" in statements  # the function's own statement
        assert_no_key(statements, "pg_stat_statements")

    server_log = cluster.log_file.read_text(errors="replace")
    assert "_purpose_proxy.mask_hash(" in server_log  # log_statement=all logged the rewrites
    assert "COPY _purpose_proxy.mask_key (key) FROM STDIN" in server_log  # and the install
    assert "parameters: $1 = '" in server_log  # Bind values are logged: why the key is COPYed
    if "auto_explain" in preloaded:
        assert "Query Text:" in server_log
    assert_no_key(server_log, "the server log")
    assert_no_key(pg_proxy.audit_file.read_text(), "the audit log")
    assert_no_key((pg_proxy.audit_file.parent / "proxy.log").read_text(), "the proxy's log")
    assert not (pg_proxy.audit_file.parent / "state" / "mask.key").exists()


def test_the_postgres_key_is_readable_by_the_proxy_role_only(
    tmp_path: Path, pg_proxy: ProxyProcess, warehouse: DemoWarehouse, cluster: Cluster
) -> None:
    db, role = warehouse.database, warehouse.role
    cluster.execute("DROP ROLE IF EXISTS outsider")
    cluster.execute("CREATE ROLE outsider LOGIN PASSWORD 'outsider'")
    try:
        # Grants made by the owner (by mistake, or by default privileges) are taken back.
        with psycopg.connect(host=warehouse.host, port=warehouse.port, dbname=db, user=role,
                             password=warehouse.password, autocommit=True) as owner:
            owner.execute("GRANT USAGE ON SCHEMA _purpose_proxy TO outsider")
            owner.execute("GRANT SELECT ON _purpose_proxy.mask_key TO outsider, PUBLIC")
            owner.execute("GRANT EXECUTE ON FUNCTION _purpose_proxy.mask_hash(text) TO outsider")
            # Labels in a COMMENT do not bring the proxy's schema into the catalog.
            owner.execute("COMMENT ON COLUMN _purpose_proxy.mask_key.key IS 'labels: none'")
        restarted = _pg_proxy(tmp_path, warehouse, mask_key=KEY)
        try:
            with psycopg.connect(**restarted.conninfo("etl"), autocommit=True) as conn:
                with pytest.raises(psycopg.errors.UndefinedTable):
                    conn.execute("SELECT key FROM _purpose_proxy.mask_key")
        finally:
            restarted.stop()
        (facts,) = cluster.execute(
            "SELECT has_schema_privilege('outsider', '_purpose_proxy', 'USAGE'), "
            "has_table_privilege('outsider', '_purpose_proxy.mask_key', 'SELECT'), "
            "has_function_privilege('outsider', '_purpose_proxy.mask_hash(text)', 'EXECUTE'), "
            "(SELECT pg_get_userbyid(relowner) FROM pg_class "
            " WHERE oid = '_purpose_proxy.mask_key'::regclass), "
            "(SELECT prosecdef FROM pg_proc WHERE oid = '_purpose_proxy.mask_hash(text)'::regprocedure), "
            "(SELECT proconfig FROM pg_proc WHERE oid = '_purpose_proxy.mask_hash(text)'::regprocedure), "
            "(SELECT pg_get_userbyid(proowner) FROM pg_proc "
            " WHERE oid = '_purpose_proxy.mask_hash(text)'::regprocedure), "
            "(SELECT count(*) FROM _purpose_proxy.mask_key)", dbname=db)
        assert facts == (False, False, False, role, True, ["search_path=pg_catalog, pg_temp"],
                         role, 1)
        with psycopg.connect(host=warehouse.host, port=warehouse.port, dbname=db,
                             user="outsider", password="outsider", autocommit=True) as outsider:
            for sql in ("SELECT * FROM _purpose_proxy.mask_key",
                        "SELECT _purpose_proxy.mask_hash('guess')"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    outsider.execute(sql)
    finally:
        cluster.execute("REVOKE ALL ON SCHEMA _purpose_proxy FROM outsider", dbname=db)
        cluster.execute("DROP OWNED BY outsider", dbname=db)
        cluster.execute("DROP ROLE outsider")


# --- replicas: one key per deployment --------------------------------------------------------


def test_postgres_replicas_hash_alike_and_a_different_key_stops_the_start(
    tmp_path: Path, pg_proxy: ProxyProcess, warehouse: DemoWarehouse
) -> None:
    expected = {i: digest(KEY, email) for i, email in EMAILS.items()}
    assert hashes(pg_proxy) == expected
    same = _pg_proxy(tmp_path / "same", warehouse, mask_key=KEY)
    unset = _pg_proxy(tmp_path / "unset", warehouse)  # takes the warehouse's key
    try:
        assert hashes(same) == expected
        assert hashes(unset) == expected
        assert not (tmp_path / "unset" / "state" / "mask.key").exists()
    finally:
        same.stop()
        unset.stop()
    with pytest.raises(RuntimeError) as failure:
        _pg_proxy(tmp_path / "other", warehouse, mask_key=OTHER_KEY)
    message = str(failure.value)
    assert "differs from the key the warehouse already holds" in message
    assert_no_key(message, "the start failure")
    assert_no_key(message, "the start failure", OTHER_KEY)
    assert hashes(pg_proxy) == expected  # the stored key was left as it was


def test_postgres_generated_key_is_one_per_deployment(tmp_path: Path, cluster: Cluster) -> None:
    fresh = demo_on_cluster(cluster)
    first = _pg_proxy(tmp_path / "first", fresh)
    second = _pg_proxy(tmp_path / "second", fresh)
    try:
        got = hashes(first)
        assert hashes(second) == got
    finally:
        first.stop()
        second.stop()
    ((stored,),) = cluster.execute(
        "SELECT convert_from(key, 'UTF8') FROM _purpose_proxy.mask_key", dbname=fresh.database)
    assert len(stored) == 64 and stored != KEY
    assert got == {i: digest(stored, email) for i, email in EMAILS.items()}
    for name in ("first", "second"):
        assert not (tmp_path / name / "state" / "mask.key").exists()
        assert_no_key((tmp_path / name / "proxy.log").read_text(), "the proxy's log", stored)
        assert_no_key((tmp_path / name / "audit.jsonl").read_text(), "the audit log", stored)
    assert_no_key(cluster.log_file.read_text(errors="replace"), "the server log", stored)


def test_duckdb_hashes_equal_postgres_hashes_for_the_same_key(
    tmp_path: Path, duck_proxy: ProxyProcess, pg_proxy: ProxyProcess
) -> None:
    got = hashes(duck_proxy)
    assert got == hashes(pg_proxy) == {i: digest(KEY, email) for i, email in EMAILS.items()}
    other = start_proxy(tmp_path, tmp_path / "other.duckdb", mask_key=KEY)  # another file
    try:
        assert hashes(other) == got
    finally:
        other.stop()


def test_duckdb_keeps_its_key_in_the_warehouse_file(tmp_path: Path) -> None:
    path = tmp_path / "acme.duckdb"
    first = start_proxy(tmp_path / "first", path)  # no key anywhere: generated, stored
    try:
        generated = hashes(first)
    finally:
        first.stop()
    assert not (tmp_path / "first" / "state" / "mask.key").exists()
    again = start_proxy(tmp_path / "again", path)
    try:
        assert hashes(again) == generated
    finally:
        again.stop()
    with pytest.raises(RuntimeError) as failure:
        start_proxy(tmp_path / "other", path, mask_key=OTHER_KEY)
    assert "differs from the key the warehouse already holds" in str(failure.value)
    con = duckdb.connect(str(path), read_only=True)
    try:
        ((stored,),) = con.execute("SELECT key FROM _purpose_proxy.mask_key").fetchall()
    finally:
        con.close()
    assert generated == {i: digest(bytes(stored).decode(), e) for i, e in EMAILS.items()}


def test_postgres_start_fails_clearly_without_its_schema(tmp_path: Path, cluster: Cluster,
                                                          warehouse: DemoWarehouse) -> None:
    cluster.execute("DROP ROLE IF EXISTS bare")
    cluster.execute("CREATE ROLE bare LOGIN PASSWORD 'bare'")
    cluster.execute("DROP DATABASE IF EXISTS bare_db")
    cluster.execute("CREATE DATABASE bare_db")
    try:
        for database, says in ((warehouse.database, "owned by another role"),
                               ("bare_db", "permission denied for database bare_db")):
            settings = warehouse.proxy_settings(user="bare", password="bare", database=database)
            with pytest.raises(RuntimeError) as failure:
                start_proxy(tmp_path / database, tmp_path / "unused.duckdb", backend="postgres",
                            postgres=settings)
            message = str(failure.value)
            assert "the hash mask cannot be installed" in message and says in message
            assert "CREATE SCHEMA _purpose_proxy AUTHORIZATION bare" in message
    finally:
        cluster.execute("DROP DATABASE IF EXISTS bare_db")
        cluster.execute("DROP ROLE bare")


def test_the_catalog_cannot_describe_the_proxy_schema(tmp_path: Path) -> None:
    shutil.copytree(REPO / "catalog", tmp_path / "catalog")
    (tmp_path / "catalog" / "proxy.yaml").write_text(
        "schema: _purpose_proxy\ntables:\n  mask_key:\n    columns:\n"
        "      key: {type: bytea, labels: []}\n")
    with pytest.raises(ConfigError, match="_purpose_proxy is the proxy's own"):
        load_deployment(tmp_path / "catalog", REPO / "policies")


# --- clients never reach the function or the key ---------------------------------------------

ATTACKS = [
    # The function: a hash oracle (etl reads raw values: raw -> hash unmasks everyone's hashes).
    "SELECT _purpose_proxy.mask_hash('guess')",
    "SELECT _PURPOSE_PROXY.MASK_HASH('guess')",
    'SELECT "_purpose_proxy"."mask_hash"(\'guess\')',
    'SELECT "_purpose_proxy".mask_hash(\'guess\')',
    'SELECT _purpose_proxy."mask_hash"(\'guess\')',
    'SELECT U&"\\005fpurpose_proxy".mask_hash(\'guess\')',
    "SELECT acme._purpose_proxy.mask_hash('guess')",
    "SELECT mask_hash('guess')",
    "SELECT pg_catalog.mask_hash('guess')",
    "SELECT _purpose_proxy.mask_hash(email) FROM shop.customers",
    "SELECT id FROM shop.customers WHERE email = _purpose_proxy.mask_hash('guess')",
    "SELECT * FROM _purpose_proxy.mask_hash('guess')",
    "SELECT x FROM ROWS FROM (_purpose_proxy.mask_hash('guess')) AS t(x)",
    "WITH g AS (SELECT 'guess' AS v) SELECT _purpose_proxy.mask_hash(v) FROM g",
    "SELECT (SELECT _purpose_proxy.mask_hash('guess'))",
    "SELECT format('%s', _purpose_proxy.mask_hash('guess'))",
    "PREPARE oracle(text) AS SELECT _purpose_proxy.mask_hash($1)",
    "EXPLAIN SELECT _purpose_proxy.mask_hash('guess')",
    "DECLARE oracle CURSOR FOR SELECT _purpose_proxy.mask_hash('guess')",
    # The key.
    "SELECT * FROM _purpose_proxy.mask_key",
    "SELECT key FROM _PURPOSE_PROXY.MASK_KEY",
    'SELECT * FROM "_purpose_proxy"."mask_key"',
    'SELECT * FROM "_purpose_proxy".mask_key',
    'SELECT * FROM U&"\\005fpurpose_proxy".mask_key',
    "SELECT * FROM acme._purpose_proxy.mask_key",
    "TABLE _purpose_proxy.mask_key",
    "SELECT * FROM mask_key",
    "SELECT encode(key, 'hex') FROM _purpose_proxy.mask_key",
    "SELECT (SELECT key FROM _purpose_proxy.mask_key)",
    "SELECT id FROM shop.customers WHERE EXISTS (SELECT 1 FROM _purpose_proxy.mask_key "
    "WHERE get_byte(key, 0) > 64)",
    "WITH k AS (SELECT * FROM _purpose_proxy.mask_key) SELECT * FROM k",
    "SELECT * FROM shop.customers c, _purpose_proxy.mask_key k",
    "SELECT * FROM shop.customers UNION ALL SELECT * FROM _purpose_proxy.mask_key",
    "COPY _purpose_proxy.mask_key TO STDOUT",
    "COPY (SELECT * FROM _purpose_proxy.mask_key) TO STDOUT",
    "DECLARE k CURSOR FOR SELECT * FROM _purpose_proxy.mask_key",
    "SELECT * FROM query_table('_purpose_proxy.mask_key')",
    "SELECT * FROM query('SELECT * FROM _purpose_proxy.mask_key')",
    "SELECT * FROM duckdb_functions()",
    # Changing them: an identity "hash" would unmask every value.
    "CREATE OR REPLACE FUNCTION _purpose_proxy.mask_hash(value text) RETURNS text "
    "LANGUAGE sql AS $$ SELECT value $$",
    "CREATE OR REPLACE MACRO _purpose_proxy.mask_hash(value) AS value",
    "DROP FUNCTION _purpose_proxy.mask_hash(text)",
    "ALTER FUNCTION _purpose_proxy.mask_hash(text) RENAME TO old",
    "DROP SCHEMA _purpose_proxy CASCADE",
    "DROP TABLE _purpose_proxy.mask_key",
    "TRUNCATE _purpose_proxy.mask_key",
    "DELETE FROM _purpose_proxy.mask_key",
    "UPDATE _purpose_proxy.mask_key SET key = 'known'",
    "INSERT INTO _purpose_proxy.mask_key VALUES (false, 'known')",
    "CREATE TABLE sandbox.stolen AS SELECT * FROM _purpose_proxy.mask_key",
    "INSERT INTO sandbox.stolen SELECT * FROM _purpose_proxy.mask_key",
    "CREATE VIEW sandbox.stolen_view AS SELECT * FROM _purpose_proxy.mask_key",
    "COPY _purpose_proxy.mask_key FROM STDIN",
    "SET search_path = _purpose_proxy",
    "GRANT SELECT ON _purpose_proxy.mask_key TO PUBLIC",
]


@pytest.mark.parametrize("user", ["ana", "etl"])
def test_clients_never_reach_the_function_or_the_key(any_proxy: ProxyProcess, user: str) -> None:
    allowed = []
    with psycopg.connect(**any_proxy.conninfo(user), autocommit=True) as conn:
        for sql in ATTACKS:
            try:
                cursor = conn.execute(sql)
                rows = cursor.fetchall() if cursor.description else []
            except psycopg.Error as error:
                assert error.sqlstate != "XX000", (sql, str(error))
                assert_no_key(f"{error} {error.diag.message_detail} {error.diag.message_hint}",
                              f"the error of {sql!r}")
                continue
            allowed.append(sql)
            assert_no_key(repr(rows), f"the rows of {sql!r}")
        # Whatever path search_path took, the unqualified names resolve to nothing allowed.
        for sql in ("SELECT mask_hash('guess')", "SELECT * FROM mask_key"):
            with pytest.raises(psycopg.Error):
                conn.execute(sql)
    assert allowed == [], f"allowed: {allowed}"
    assert hashes(any_proxy) == {i: digest(KEY, email) for i, email in EMAILS.items()}


# --- DuckDB: neither its query log nor its profiler holds the key ----------------------------

DUCKDB_MASKED = [
    MASKED_QUERY,
    "SELECT email, count(*) FROM shop.customers GROUP BY email",
    "SELECT a.email FROM shop.customers a JOIN shop.customers b ON a.email = b.email",
]


def test_duckdb_query_log_and_profiles_never_hold_the_key(tmp_path: Path, monkeypatch: Any
                                                           ) -> None:
    lock_down = DuckDBWarehouse._lock_down

    def logging_lock_down(con: Any) -> None:  # DuckDB's query log on, before the lock
        con.execute("CALL enable_logging(level = 'trace')")
        lock_down(con)

    monkeypatch.setattr(DuckDBWarehouse, "_lock_down", staticmethod(logging_lock_down))
    deployment = load_deployment(REPO / "catalog", REPO / "policies")
    path = tmp_path / "acme.duckdb"
    rewritten = []
    for sql in DUCKDB_MASKED:
        (decision,) = check(deployment, "ana", None, sql)
        assert isinstance(decision, Allow) and "_purpose_proxy.mask_hash(" in decision.sql
        rewritten.append(decision.sql)

    async def run() -> tuple[list[Any], str]:
        warehouse = DuckDBWarehouse(path)
        await warehouse.start()
        await warehouse.install_mask(KEY)
        results = []
        try:
            for sql in rewritten:
                session = await warehouse.open_session("ana", "acme")
                cursor = await session.execute(sql, ())
                results.append(await cursor.fetch(None))
                await session.close()
            logs = warehouse._root.execute("SELECT * FROM duckdb_logs").fetchall()
        finally:
            await warehouse.close()
        return results, repr(logs)

    results, logs = asyncio.run(run())
    assert dict(results[0]) == {i: digest(KEY, email) for i, email in EMAILS.items()}
    assert "_purpose_proxy.mask_hash(" in logs and "_purpose_proxy.mask_key" in logs
    assert_no_key(logs, "duckdb_logs")

    profile = tmp_path / "profile.json"
    con = duckdb.connect(str(path))
    try:
        con.execute("SET enable_profiling = 'json'")
        con.execute("SET profiling_mode = 'detailed'")
        con.execute(f"SET profiling_output = '{profile}'")
        for sql in rewritten:
            duck_sql = transpile(sql).duckdb_sql
            assert "_purpose_proxy.mask_hash(" in duck_sql
            con.execute(duck_sql).fetchall()
            text = profile.read_text()
            assert "mask_hash" in text or "mask_key" in text, "the profile shows the query"
            assert_no_key(text, "DuckDB's profile")
            plan = con.execute(f"EXPLAIN ANALYZE {duck_sql}").fetchall()
            assert_no_key(repr(plan), "EXPLAIN ANALYZE")
    finally:
        con.close()
