"""SCENARIO.md's writes, through psycopg and psql against a proxy of their own (they change data).

ingestion loads shop tables (INSERT, UPDATE, DELETE, COPY FROM); analytics and marketing
create tables in `sandbox` whose columns carry the labels of what flowed into them; data never
flows into a column labelled less strictly; everything else, DDL included, is refused.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import errors

from tests.support.clients import psql_binary, run_psql, table
from tests.support.proxy_process import ProxyProcess, start_proxy
from tests.support.requirements import require

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def writable(request, tmp_path_factory: pytest.TempPathFactory):
    """A proxy on its own copy of the demo warehouse, so writes do not disturb other tests;
    on both warehouses, with identical outcomes."""
    workdir = tmp_path_factory.mktemp("writes")
    if request.param == "duckdb":
        running = start_proxy(workdir, workdir / "acme.duckdb")
        yield running
        running.stop()
        return
    from tests.support.postgres import ClusterUnavailable
    from tests.support.warehouses import demo_postgres

    try:
        context = demo_postgres(workdir / "pg")
        warehouse = context.__enter__()
    except ClusterUnavailable as exc:
        require(False, str(exc))
    try:
        running = start_proxy(workdir, workdir / "unused.duckdb", backend="postgres",
                              postgres=warehouse.proxy_settings())
        yield running
        running.stop()
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def proxy(request, proxy):
    if request.param == "postgres":
        return request.getfixturevalue("postgres_proxy")
    return proxy


def connect(proxy: ProxyProcess, user: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(**proxy.conninfo(user), autocommit=True, **kwargs)


def test_ingestion_inserts_updates_and_deletes(writable):
    with connect(writable, "etl") as conn:
        conn.execute("INSERT INTO shop.products (id, name, category, price_cents) "
                     "VALUES (5001, 'Kettle', 'kitchen', 2599)")
        conn.execute("UPDATE shop.products SET price_cents = price_cents + 1 WHERE id = 5001")
        assert conn.execute("SELECT name, price_cents FROM shop.products WHERE id = 5001"
                            ).fetchone() == ("Kettle", 2600)
        assert conn.execute("DELETE FROM shop.products WHERE id = 5001").rowcount == 1
        assert conn.execute("SELECT count(*) FROM shop.products WHERE id = 5001").fetchone() == (0,)


def test_ingestion_copy_from_stdin(writable):
    with connect(writable, "etl") as conn:
        with conn.cursor().copy(
            "COPY shop.products (id, name, category, price_cents) FROM STDIN"
        ) as copy:
            copy.write_row((5101, "Tab\tand\\backslash", "test", 100))
            copy.write_row((5102, "Second", "test", 200))
        got = conn.execute("SELECT id, name FROM shop.products WHERE id > 5100 ORDER BY id"
                           ).fetchall()
        assert got == [(5101, "Tab\tand\\backslash"), (5102, "Second")]
        csv = io.StringIO("id,name,category,price_cents\n5103,\"Quoted, comma\",test,300\n")
        with conn.cursor().copy("COPY shop.products (id, name, category, price_cents) "
                                "FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
            copy.write(csv.getvalue())
        assert conn.execute("SELECT name FROM shop.products WHERE id = 5103").fetchone() == (
            "Quoted, comma",)
        conn.execute("DELETE FROM shop.products WHERE id > 5100")


def test_copy_from_with_psql(writable):
    require(psql_binary() is not None, "psql binary")
    result = run_psql(writable, "-c", r"\copy shop.products (id, name, category, price_cents) "
                      "from stdin", user="etl", stdin="5201\tFrom psql\ttest\t1\n\\.\n")
    assert result.returncode == 0, result.stderr
    with connect(writable, "etl") as conn:
        assert conn.execute("DELETE FROM shop.products WHERE id = 5201").rowcount == 1


@pytest.mark.parametrize("sql", [
    "INSERT INTO shop.products (id, name, category, price_cents) VALUES (5301, 'x', 'y', 1)",
    "UPDATE shop.products SET name = 'x' WHERE id = 1",
    "DELETE FROM shop.orders WHERE id = 1",
    "COPY shop.products (id) FROM STDIN",
])
def test_other_purposes_may_not_write_shop_tables(writable, sql):
    with connect(writable, "ana") as conn:
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute(sql)
    assert '"analytics"' in failure.value.diag.message_primary
    assert failure.value.diag.message_hint


@pytest.mark.parametrize("sql", [
    "DROP TABLE shop.orders",
    "CREATE TABLE shop.evil (x int)",
    "ALTER TABLE shop.customers ADD COLUMN x int",
    "TRUNCATE shop.orders",
    "CREATE TABLE sandbox.plain (x int)",
    "CREATE VIEW sandbox.v AS SELECT 1",
    "GRANT SELECT ON shop.customers TO PUBLIC",
])
def test_ddl_is_refused_even_for_ingestion(writable, sql):
    with connect(writable, "etl") as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM shop.orders").fetchone() == (
            len(table("orders")),)


def test_data_never_flows_into_a_less_strictly_labelled_column(writable):
    with connect(writable, "etl") as conn:
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute("INSERT INTO shop.products (name) SELECT email FROM shop.customers")
        assert "pii.contact.email" in failure.value.diag.message_primary
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE shop.products SET name = (SELECT full_name FROM shop.customers "
                         "WHERE id = 1) WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM shop.products").fetchone() == (
            len(table("products")),)


def test_sandbox_table_carries_the_labels_of_its_sources(writable):
    with connect(writable, "ana") as conn:
        conn.execute("CREATE TABLE sandbox.customer_hashes AS "
                     "SELECT country, email AS contact, count(*) AS n FROM shop.customers "
                     "GROUP BY country, email")
        rows = conn.execute("SELECT country, contact, n FROM sandbox.customer_hashes").fetchall()
    assert len(rows) == len(table("customers"))
    emails = {c["email"] for c in table("customers")}
    assert not {contact for _, contact, _ in rows} & emails  # hashed on the way in
    recorded = yaml.safe_load(
        (writable_state(writable) / "catalog" / "recorded-sandbox.yaml").read_text()
    )
    columns = recorded["tables"]["customer_hashes"]["columns"]
    assert columns["contact"]["labels"] == ["pii.contact.email"]
    assert columns["country"]["labels"] == ["geo.country"]
    # The count's value is decided by grouping on country and email: it carries their labels.
    assert columns["n"]["labels"] == ["geo.country", "pii.contact.email"]
    # The rows are about every customer, marketing reads only consenting ones, and the table
    # kept no customer key to filter by (groups of one person are no aggregates): refused.
    with connect(writable, "mark") as conn:
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute("SELECT contact FROM sandbox.customer_hashes LIMIT 1")
    assert "shop.customers.id" in failure.value.diag.message_primary
    assert "HAVING count(DISTINCT" in failure.value.diag.message_hint
    # With the key kept, marketing reads only consenting customers' rows, and the sandbox
    # column holds only what analytics saw (hashes), even though marketing may read email raw.
    with connect(writable, "ana") as conn:
        conn.execute("CREATE TABLE sandbox.keyed_hashes AS "
                     "SELECT id, email AS contact FROM shop.customers")
    with connect(writable, "mark") as conn:
        got = conn.execute("SELECT id, contact FROM sandbox.keyed_hashes").fetchall()
    consenting = {c["id"] for c in table("customers") if c["marketing_consent"]}
    assert {ident for ident, _ in got} == consenting
    assert not {contact for _, contact in got} & emails


def test_later_reads_of_a_sandbox_table_are_governed_by_its_labels(writable):
    with connect(writable, "mark") as conn:
        conn.execute("CREATE TABLE sandbox.consenting AS SELECT id, email FROM shop.customers")
        assert conn.execute("SELECT count(*) FROM sandbox.consenting").fetchone()[0] > 0
    with connect(writable, "sam") as conn:  # support may not create, but may it read? no rule
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO sandbox.consenting SELECT id, email FROM shop.customers")


def test_insert_select_into_sandbox_checks_label_flow(writable):
    with connect(writable, "ana") as conn:
        conn.execute("CREATE TABLE sandbox.countries AS SELECT DISTINCT country FROM shop.customers")
        conn.execute("INSERT INTO sandbox.countries SELECT country FROM shop.customers LIMIT 1")
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute("INSERT INTO sandbox.countries SELECT email FROM shop.customers")
        assert "pii.contact.email" in failure.value.diag.message_primary


def test_sandbox_tables_are_refused_outside_the_sandbox_and_twice(writable):
    with connect(writable, "ana") as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE shop.copy AS SELECT id FROM shop.customers")
        conn.execute("CREATE TABLE sandbox.once AS SELECT id FROM shop.customers")
        with pytest.raises(errors.DuplicateTable):
            conn.execute("CREATE TABLE sandbox.once AS SELECT id FROM shop.customers")


def test_recorded_tables_survive_a_restart(tmp_path):
    """Labels and row policy both survive: after a restart, marketing still reads only the
    consenting customers' rows of analytics' table, and support only its country's."""
    first = start_proxy(tmp_path / "one", tmp_path / "acme.duckdb",
                        state_dir=str(tmp_path / "state"))
    try:
        with connect(first, "ana") as conn:
            conn.execute("CREATE TABLE sandbox.kept AS "
                         "SELECT id, country, email FROM shop.customers")
            conn.execute("CREATE TABLE sandbox.keyless AS SELECT country, email FROM shop.customers")
    finally:
        first.stop()
    second = start_proxy(tmp_path / "two", tmp_path / "acme.duckdb",
                         state_dir=str(tmp_path / "state"))
    customers = table("customers")
    try:
        with connect(second, "mark") as conn:
            with pytest.raises(errors.InsufficientPrivilege):  # email is not predicate-only...
                conn.execute("SELECT phone FROM shop.customers")
            got = conn.execute("SELECT count(*) FROM sandbox.kept").fetchone()
            assert got == (sum(1 for c in customers if c["marketing_consent"]),)
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM sandbox.keyless")
        with connect(second, "sam") as conn:
            # support may read pii.contact.email: governed (DE rows only), not closed
            got = conn.execute("SELECT DISTINCT country FROM sandbox.kept").fetchall()
            assert got == [("DE",)]
            assert conn.execute("SELECT count(email) FROM sandbox.kept").fetchone() == (
                sum(1 for c in customers if c["country"] == "DE"),)
        with connect(second, "ana") as conn:  # analytics filters nothing: every row
            assert conn.execute("SELECT count(*) FROM sandbox.keyless").fetchone() == (
                len(customers),)
    finally:
        second.stop()


def test_copy_to_stdout_is_rewritten_like_a_query(proxy):
    with connect(proxy, "ana") as conn:
        with conn.cursor().copy("COPY shop.customers (id, email, full_name) TO STDOUT") as copy:
            lines = [bytes(chunk).decode() for chunk in copy]
        with pytest.raises(errors.InsufficientPrivilege):
            with conn.cursor().copy("COPY (SELECT phone FROM shop.customers) TO STDOUT") as copy:
                list(copy)
    assert len(lines) == len(table("customers"))
    emails = {c["email"] for c in table("customers")}
    for line in lines:
        ident, email, name = line.rstrip("\n").split("\t")
        assert email not in emails and len(email) == 64 and name == "[REDACTED]"


def test_copy_to_stdout_csv_and_binary(proxy):
    with connect(proxy, "ana") as conn:
        with conn.cursor().copy("COPY (SELECT id, country FROM shop.customers ORDER BY id "
                                "LIMIT 2) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            text = b"".join(bytes(c) for c in copy).decode()
        first = table("customers")[:2]
        assert text == "id,country\n" + "".join(f"{c['id']},{c['country']}\n" for c in first)
        cursor = conn.cursor()
        with cursor.copy("COPY (SELECT id, country FROM shop.customers ORDER BY id LIMIT 2) "
                         "TO STDOUT WITH (FORMAT binary)") as copy:
            copy.set_types(["int4", "text"])
            assert list(copy.rows()) == [(c["id"], c["country"]) for c in first]


@pytest.mark.parametrize("sql", [
    "COPY shop.customers TO '/tmp/purpose-proxy-leak.csv'",
    "COPY shop.products FROM '/etc/passwd'",
    "COPY (SELECT 1) TO PROGRAM 'id'",
])
def test_copy_to_files_and_programs_is_refused(proxy, sql):
    with connect(proxy, "etl") as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql)
    assert not Path("/tmp/purpose-proxy-leak.csv").exists()


def writable_state(proxy: ProxyProcess) -> Path:
    return proxy.audit_file.parent / "state"


def test_check_cli_prints_the_decision():
    result = subprocess.run(
        # The interpreter running the tests, not a virtualenv path a clone may not have.
        [sys.executable, "-m", "proxy", "check", "--user", "ana", "--json",
         "SELECT email, phone FROM shop.customers"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 1
    decision = yaml.safe_load(result.stdout)[0]
    assert decision["decision"] == "reject" and decision["sqlstate"] == "42501"
    assert "pii.contact.phone" in decision["message"]


@pytest.mark.parametrize(("user", "sql"), [
    # A VALUES row that reads a denied column into a sandbox table.
    ("ana", "INSERT INTO sandbox.countries VALUES ((SELECT phone FROM shop.customers LIMIT 1))"),
    # Reads hidden in clauses of a write that are not its feeding SELECT.
    ("etl", "INSERT INTO shop.products (id, name, category, price_cents) VALUES (1, 'a', 'b', 2) "
            "RETURNING (SELECT email FROM shop.customers LIMIT 1)"),
    ("etl", "UPDATE shop.products SET price_cents = 1 WHERE id = 1 "
            "RETURNING (SELECT count(*) FROM shop.orders)"),
])
def test_writes_never_read_data_outside_the_analysis(user, sql):
    from dataclasses import replace

    from proxy.catalog.model import ColumnEntry
    from proxy.check import check
    from proxy.policy import load_deployment

    repo = Path(__file__).resolve().parents[1]
    deployment = load_deployment(repo / "catalog", repo / "policies")
    deployment = replace(deployment, catalog=deployment.catalog.with_table(
        "sandbox", "countries", [ColumnEntry("country", "text", frozenset({"geo.country"}))]))
    (decision,) = check(deployment, user, None, sql)
    assert type(decision).__name__ == "Reject" and decision.sqlstate == "42501"
