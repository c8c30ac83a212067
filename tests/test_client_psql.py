"""psql (the real binary) against the running proxy: queries, meta-commands, TLS, errors."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import asyncpg
import pytest

from tests.support.clients import (
    SHOP_TABLES,
    customers_by_id,
    pg_text,
    psql_binary,
    run_psql,
    table,
)
from tests.support.proxy_process import ProxyProcess, start_proxy
from tests.support.requirements import require

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _psql_available() -> None:
    require(psql_binary() is not None, "the psql binary (postgresql-client) is not installed")


def lines(text: str) -> list[str]:
    return text.splitlines()


# --- queries ---------------------------------------------------------------------------------


def test_count_of_customers(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-At", "-c", "SELECT count(*) FROM shop.customers")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{len(table('customers'))}\n"
    assert result.stdout == "1200\n"


def test_exact_rows_of_customers(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-F", ",", "-c",
        "SELECT id, country, marketing_consent, created_at FROM shop.customers "
        "WHERE id IN (1, 2, 3, 500, 1200) ORDER BY id",
    )
    assert result.returncode == 0, result.stderr
    customers = customers_by_id()
    expected = [
        ",".join(pg_text(customers[i][c]) for c in ("id", "country", "marketing_consent", "created_at"))
        for i in (1, 2, 3, 500, 1200)
    ]
    assert lines(result.stdout) == expected


def test_whole_products_table(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-F", "|", "-c", "SELECT id, name, category, price_cents FROM shop.products ORDER BY id"
    )
    assert result.returncode == 0, result.stderr
    expected = ["|".join(pg_text(v) for v in row.values()) for row in table("products")]
    assert len(expected) == 60
    assert lines(result.stdout) == expected


def test_aggregate_matches_demo_data(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-F", ",", "-c",
        "SELECT status, count(*), sum(total_cents) FROM shop.orders GROUP BY status ORDER BY status",
    )
    assert result.returncode == 0, result.stderr
    counts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for order in table("orders"):
        counts[order["status"]] += 1
        totals[order["status"]] += order["total_cents"]
    expected = [f"{status},{counts[status]},{totals[status]}" for status in sorted(counts)]
    assert lines(result.stdout) == expected


def test_several_statements_in_one_simple_query(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-c",
        "SELECT 1; SELECT 'two'; SELECT count(*) FROM shop.products; SELECT max(id) FROM shop.customers",
    )
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == ["1", "two", "60", "1200"]


def test_error_in_a_multi_statement_query_stops_the_rest(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-v", "VERBOSITY=verbose", "-c", "SELECT 1; SELECT 1/0; SELECT 3"
    )
    assert result.returncode == 1
    assert lines(result.stdout) == ["1"]
    assert "ERROR:  22012: division by zero" in result.stderr


def test_explicit_transaction_in_one_query(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-At", "-c", "BEGIN; SELECT 5; COMMIT")
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == ["BEGIN", "5", "COMMIT"]


def test_separate_c_options_share_one_session(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-q",
        "-c", "SET application_name = 'psql-session-test'",
        "-c", "SHOW application_name",
    )
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == ["psql-session-test"]


# --- meta-commands (pg_catalog as psql 15 queries it) ------------------------------------------


def test_dt_lists_the_seven_shop_tables(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-At", "-c", r"\dt shop.*")
    assert result.returncode == 0, result.stderr
    rows = [line.split("|") for line in lines(result.stdout)]
    assert [r[:3] for r in rows] == [["shop", name, "table"] for name in SHOP_TABLES]
    assert all(len(r) == 4 and r[3] for r in rows)  # every table has an owner


def test_dt_table_output_has_postgres_layout(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-c", r"\dt shop.*")
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert out[0].strip() == "List of relations"
    assert [c.strip() for c in out[1].split("|")] == ["Schema", "Name", "Type", "Owner"]
    assert set(out[2]) <= {"-", "+"}
    assert [c.strip() for c in out[3].split("|")][:3] == ["shop", "customers", "table"]
    assert "(7 rows)" in out


def test_d_customers_columns_and_types(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-A", "-c", r"\d shop.customers")
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == [
        'Table "shop.customers"',
        "Column|Type|Collation|Nullable|Default",
        "id|integer||not null|",
        "email|text||not null|",
        "full_name|text||not null|",
        "phone|text|||",
        "birth_date|date|||",
        "country|text||not null|",
        "marketing_consent|boolean||not null|",
        "created_at|timestamp without time zone||not null|",
        "Indexes:",
        '    "customers_pkey" PRIMARY KEY, btree (id)',
    ]


def test_d_orders_bigint_column(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-A", "-c", r"\d shop.orders")
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout)[:7] == [
        'Table "shop.orders"',
        "Column|Type|Collation|Nullable|Default",
        "id|integer||not null|",
        "customer_id|integer||not null|",
        "ordered_at|timestamp without time zone||not null|",
        "status|text||not null|",
        "total_cents|bigint||not null|",
    ]


def test_d_of_a_missing_table(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-A", "-c", r"\d shop.no_such_table")
    assert result.returncode == 1
    assert 'Did not find any relation named "shop.no_such_table".' in result.stderr


def test_dn_lists_schema_shop(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-At", "-c", r"\dn")
    assert result.returncode == 0, result.stderr
    schemas = {line.split("|")[0] for line in lines(result.stdout)}
    assert "shop" in schemas
    assert not any(s.startswith("pg_") or s == "information_schema" for s in schemas)


def test_l_lists_database_acme(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-At", "-c", r"\l")
    assert result.returncode == 0, result.stderr
    rows = {line.split("|")[0]: line.split("|") for line in lines(result.stdout) if "|" in line}
    assert "acme" in rows
    assert rows["acme"][2] == "UTF8"


# --- TLS -------------------------------------------------------------------------------------


def test_sslmode_require_and_conninfo_reports_ssl(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-c", r"\conninfo", "-At", "-c", "SELECT 1", sslmode="require")
    assert result.returncode == 0, result.stderr
    assert f'You are connected to database "acme" as user "ana" on host "{proxy.host}"' in result.stdout
    assert "SSL connection (protocol: TLSv1." in result.stdout
    assert result.stdout.rstrip().endswith("1")


def test_sslmode_disable_has_no_ssl(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-c", r"\conninfo", sslmode="disable")
    assert result.returncode == 0, result.stderr
    assert 'You are connected to database "acme" as user "ana"' in result.stdout
    assert "SSL connection" not in result.stdout


# --- authentication and startup errors --------------------------------------------------------


def _connect_error(proxy: ProxyProcess, user: str, password: str, database: str) -> asyncpg.PostgresError:
    """asyncpg exposes the SQLSTATE of a startup-time ErrorResponse (libpq/psycopg do not)."""

    async def attempt() -> asyncpg.PostgresError:
        try:
            con = await asyncpg.connect(
                host=proxy.host, port=proxy.port, user=user, password=password,
                database=database, ssl=False, timeout=10,
            )
        except asyncpg.PostgresError as e:
            return e
        await con.close()
        raise AssertionError("connection unexpectedly succeeded")

    return asyncio.run(attempt())


def test_wrong_password_fails(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-c", "SELECT 1", password="not-the-password")
    assert result.returncode == 2
    assert 'FATAL:  password authentication failed for user "ana"' in result.stderr
    error = _connect_error(proxy, "ana", "not-the-password", "acme")
    assert error.sqlstate == "28P01"
    assert isinstance(error, asyncpg.InvalidPasswordError)


def test_unknown_user_fails_like_a_wrong_password(proxy: ProxyProcess) -> None:
    # PostgreSQL's SCRAM does a mock exchange for unknown roles and answers 28P01, so that
    # a client cannot tell an unknown user from a wrong password.
    result = run_psql(proxy, "-c", "SELECT 1", user="nobody", password="nobody")
    assert result.returncode == 2
    assert 'FATAL:  password authentication failed for user "nobody"' in result.stderr
    assert _connect_error(proxy, "nobody", "nobody", "acme").sqlstate == "28P01"


def test_unknown_database_fails(proxy: ProxyProcess) -> None:
    result = run_psql(proxy, "-c", "SELECT 1", dbname="no_such_db")
    assert result.returncode == 2
    assert 'FATAL:  database "no_such_db" does not exist' in result.stderr
    error = _connect_error(proxy, "ana", "ana", "no_such_db")
    assert error.sqlstate == "3D000"
    assert isinstance(error, asyncpg.InvalidCatalogNameError)


# --- session settings ---------------------------------------------------------------------------


def test_set_and_show_timezone(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-q",
        "-c", "SHOW TimeZone",
        "-c", "SET TimeZone = 'Europe/Berlin'",
        "-c", "SHOW TimeZone",
        "-c", "SELECT timestamptz '2024-01-01 12:00:00+00'",
        "-c", "SELECT timestamptz '2024-07-01 12:00:00+00'",
    )
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert out[0] in ("UTC", "Etc/UTC", "GMT")
    assert out[1:] == ["Europe/Berlin", "2024-01-01 13:00:00+01", "2024-07-01 14:00:00+02"]


def test_current_setting_follows_set_timezone(proxy: ProxyProcess) -> None:
    result = run_psql(
        proxy, "-At", "-q",
        "-c", "SET TimeZone = 'Europe/Berlin'",
        "-c", "SELECT current_setting('TimeZone')",
    )
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == ["Europe/Berlin"]


# --- transactions -----------------------------------------------------------------------------


def test_error_in_transaction_aborts_it_until_rollback(proxy: ProxyProcess) -> None:
    script = "\n".join([
        "BEGIN;",
        "SELECT 1/0;",
        r"\echo after_error=:SQLSTATE",
        "SELECT count(*) FROM shop.customers;",
        r"\echo in_failed=:SQLSTATE",
        "ROLLBACK;",
        r"\echo after_rollback=:SQLSTATE",
        "SELECT count(*) FROM shop.customers;",
        r"\echo recovered=:SQLSTATE",
        "",
    ])
    result = run_psql(proxy, "-At", "-q", stdin=script)
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == [
        "after_error=22012",
        "in_failed=25P02",
        "after_rollback=00000",
        "1200",
        "recovered=00000",
    ]
    assert "ERROR:  division by zero" in result.stderr
    assert (
        "ERROR:  current transaction is aborted, commands ignored until end of transaction block"
        in result.stderr
    )


# --- a second proxy: TLS off, trust authentication ---------------------------------------------


@pytest.fixture(scope="module")
def plain_trust_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir = tmp_path_factory.mktemp("proxy-plain-trust")
    running = start_proxy(workdir, workdir / "acme.duckdb", tls={"mode": "off"}, auth="trust")
    yield running
    running.stop()


def test_without_tls_sslmode_require_is_refused(plain_trust_proxy: ProxyProcess) -> None:
    result = run_psql(plain_trust_proxy, "-c", "SELECT 1", sslmode="require")
    assert result.returncode == 2
    assert "server does not support SSL, but SSL was required" in result.stderr


def test_without_tls_sslmode_prefer_falls_back_to_plain(plain_trust_proxy: ProxyProcess) -> None:
    result = run_psql(
        plain_trust_proxy, "-c", r"\conninfo", "-At", "-c", "SELECT count(*) FROM shop.customers",
        sslmode="prefer",
    )
    assert result.returncode == 0, result.stderr
    assert "SSL connection" not in result.stdout
    assert result.stdout.rstrip().endswith("1200")


def test_trust_authentication_needs_no_password(plain_trust_proxy: ProxyProcess) -> None:
    result = run_psql(
        plain_trust_proxy, "-At", "-c", "SELECT current_user", user="mark", password="anything"
    )
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == ["mark"]
