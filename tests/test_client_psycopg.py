"""psycopg 3 against the running proxy: simple and extended protocol, text and binary,
prepared statements, pipelines, cursors, transactions, errors, cancel, timeouts, TLS and
ParameterStatus."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.pq import ExecStatus, Format, TransactionStatus

from tests.support.clients import LONG_STATEMENT, customers_by_id, table
from tests.support.proxy_process import ProxyProcess

pytestmark = pytest.mark.timeout(60)

CUSTOMER_COLUMNS = ("id", "country", "marketing_consent", "created_at")
CUSTOMER_SELECT = "SELECT id, country, marketing_consent, created_at FROM shop.customers"


def connect(proxy: ProxyProcess, user: str = "ana", **kwargs: Any) -> psycopg.Connection[Any]:
    kwargs.setdefault("connect_timeout", 10)
    kwargs.setdefault("sslmode", "disable")
    return psycopg.connect(**proxy.conninfo(user), **kwargs)


@pytest.fixture
def conn(proxy: ProxyProcess) -> Iterator[psycopg.Connection[Any]]:
    with connect(proxy) as connection:
        yield connection


def expected_customers(ids: list[int]) -> list[tuple[Any, ...]]:
    customers = customers_by_id()
    return [tuple(customers[i][c] for c in CUSTOMER_COLUMNS) for i in ids]


# --- ParameterStatus and session settings ---------------------------------------------------


def test_parameter_status_values(proxy: ProxyProcess) -> None:
    with connect(proxy, application_name="psycopg-client-test") as conn:
        info = conn.info
        assert info.parameter_status("server_version") is not None
        assert info.server_version == 160000
        assert (info.parameter_status("server_version") or "").startswith("16")
        assert info.parameter_status("server_encoding") == "UTF8"
        assert info.parameter_status("client_encoding") == "UTF8"
        assert info.parameter_status("standard_conforming_strings") == "on"
        assert info.parameter_status("integer_datetimes") == "on"
        assert info.parameter_status("DateStyle") == "ISO, MDY"
        assert info.parameter_status("application_name") == "psycopg-client-test"
        timezone_status = info.parameter_status("TimeZone")
        assert timezone_status
        # The reported values agree with what SHOW answers in the same session.
        assert conn.execute("SHOW TimeZone").fetchone() == (timezone_status,)
        assert conn.execute("SHOW application_name").fetchone() == ("psycopg-client-test",)
        assert conn.execute("SHOW client_encoding").fetchone() == ("UTF8",)
        assert info.backend_pid != 0
        assert info.encoding == "utf-8"


def test_current_setting_reads_connection_parameters(proxy: ProxyProcess) -> None:
    with connect(proxy, application_name="psycopg-client-test") as conn:
        row = conn.execute(
            "SELECT current_setting('application_name'), current_setting('server_version_num')"
        ).fetchone()
        assert row == ("psycopg-client-test", "160000")


def test_set_reports_new_parameter_status(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    conn.execute("SET TimeZone = 'Europe/Berlin'")
    assert conn.info.parameter_status("TimeZone") == "Europe/Berlin"
    conn.execute("SET application_name = 'renamed'")
    assert conn.info.parameter_status("application_name") == "renamed"
    row = conn.execute("SELECT timestamptz '2024-01-01 12:00:00+00'").fetchone()
    assert row is not None
    assert row[0] == datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
    assert row[0].utcoffset() == timedelta(hours=1)


def test_set_is_undone_by_rollback(conn: psycopg.Connection[Any]) -> None:
    # In PostgreSQL, SET inside a transaction block is rolled back with it.
    before = conn.execute("SHOW TimeZone").fetchone()
    conn.execute("SET TimeZone = 'Asia/Tokyo'")
    assert conn.execute("SHOW TimeZone").fetchone() == ("Asia/Tokyo",)
    conn.rollback()
    assert conn.execute("SHOW TimeZone").fetchone() == before


# --- simple query protocol ------------------------------------------------------------------


def test_simple_protocol_several_statements(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor()
    cur.execute(
        "SELECT 1 AS a; SELECT 'two' AS b, 2.5::float8 AS c; "
        "SELECT count(*) FROM shop.customers WHERE country = 'DE'"
    )
    results = [cur.fetchall()]
    while cur.nextset():
        results.append(cur.fetchall())
    de = sum(1 for c in table("customers") if c["country"] == "DE")
    assert results == [[(1,)], [("two", 2.5)], [(de,)]]


def test_simple_protocol_rows(conn: psycopg.Connection[Any]) -> None:
    cur = conn.execute(f"{CUSTOMER_SELECT} WHERE id BETWEEN 10 AND 19 ORDER BY id")
    assert cur.pgresult is not None and cur.pgresult.status == ExecStatus.TUPLES_OK
    assert cur.fetchall() == expected_customers(list(range(10, 20)))
    assert [(d.name, d.type_code) for d in cur.description or []] == [
        ("id", 23), ("country", 25), ("marketing_consent", 16), ("created_at", 1114),
    ]


# --- extended query protocol ------------------------------------------------------------------


def test_extended_protocol_text_parameters(conn: psycopg.Connection[Any]) -> None:
    cur = conn.execute(
        f"{CUSTOMER_SELECT} WHERE country = %s AND id <= %s AND marketing_consent = %s ORDER BY id",
        ("DE", 100, True),
    )
    ids = [c["id"] for c in table("customers")
           if c["country"] == "DE" and c["id"] <= 100 and c["marketing_consent"]]
    assert ids
    assert cur.fetchall() == expected_customers(ids)
    assert cur.pgresult is not None and cur.pgresult.fformat(0) == Format.TEXT


def test_extended_protocol_parameter_types(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute(
        "SELECT %s::int8 + 1, %s::text || '!', %s::date + 1, %s::numeric * 2, %s IS NULL",
        (2**40, "héllo", date(2024, 2, 28), Decimal("1.25"), None),
    ).fetchone()
    assert row == (2**40 + 1, "héllo!", date(2024, 2, 29), Decimal("2.50"), True)


def test_binary_results(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor(binary=True)
    cur.execute(
        "SELECT o.id, o.customer_id, o.ordered_at, o.status, o.total_cents "
        "FROM shop.orders o WHERE o.id <= %s ORDER BY o.id",
        (25,),
    )
    rows = cur.fetchall()
    expected = [tuple(o.values()) for o in table("orders")[:25]]
    assert rows == expected
    assert cur.pgresult is not None
    assert [cur.pgresult.fformat(i) for i in range(5)] == [Format.BINARY] * 5
    assert [d.type_code for d in cur.description or []] == [23, 23, 1114, 25, 20]


BINARY_VALUES: list[tuple[str, Any]] = [
    ("bool", True),
    ("small-int", 5),
    ("negative-int", -300),
    ("int4", 70000),
    ("int8", 2**40),
    ("float8", 1.5),
    ("numeric", Decimal("12.50")),
    ("text", "héllo wörld ✓"),
    ("bytea", b"\x00\xff\x10"),
    ("date", date(2024, 2, 29)),
    ("time", dtime(13, 14, 15, 123456)),
    ("timestamp", datetime(2024, 1, 2, 3, 4, 5, 678900)),
    ("timestamptz", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ("interval", timedelta(days=2, hours=3)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("int-array", [1, 2, 3]),
    ("text-array", ["a", None, "b c"]),
]


@pytest.mark.parametrize(("name", "value"), BINARY_VALUES, ids=[n for n, _ in BINARY_VALUES])
def test_binary_parameter_and_result_round_trip(
    conn: psycopg.Connection[Any], name: str, value: Any
) -> None:
    cur = conn.cursor(binary=True)
    cur.execute("SELECT %b", (value,))
    (got,) = cur.fetchone() or (None,)
    assert got == value
    assert cur.pgresult is not None and cur.pgresult.fformat(0) == Format.BINARY
    if isinstance(value, Decimal):
        assert str(got) == str(value)


def test_text_parameter_and_binary_result(conn: psycopg.Connection[Any]) -> None:
    cur = conn.cursor(binary=True)
    cur.execute("SELECT %t::int4, %t::text, %t::bool", (7, "x", False))
    assert cur.fetchone() == (7, "x", False)


# --- prepared statements ----------------------------------------------------------------------


def test_prepared_statement_reused_many_times(conn: psycopg.Connection[Any]) -> None:
    customers = customers_by_id()
    cur = conn.cursor()
    for customer_id in range(1, 41):
        cur.execute(
            "SELECT id, country FROM shop.customers WHERE id = %s", (customer_id,), prepare=True
        )
        assert cur.fetchall() == [(customer_id, customers[customer_id]["country"])]


def test_named_protocol_statement_prepare_describe_execute(conn: psycopg.Connection[Any]) -> None:
    customers = customers_by_id()
    pgconn = conn.pgconn
    prepared = pgconn.prepare(
        b"by_country", b"SELECT id, created_at FROM shop.customers WHERE country = $1 AND id < $2 ORDER BY id"
    )
    assert prepared.status == ExecStatus.COMMAND_OK, prepared.error_message
    described = pgconn.describe_prepared(b"by_country")
    assert described.status == ExecStatus.COMMAND_OK
    assert [described.param_type(i) for i in range(described.nparams)] == [25, 23]
    assert [(described.fname(i), described.ftype(i)) for i in range(described.nfields)] == [
        (b"id", 23), (b"created_at", 1114),
    ]
    for country in ("DE", "FR", "US", "GB", "NL", "ES", "DE"):
        result = pgconn.exec_prepared(b"by_country", [country.encode(), b"200"])
        assert result.status == ExecStatus.TUPLES_OK, result.error_message
        ids = [int(result.get_value(r, 0) or b"0") for r in range(result.ntuples)]
        assert ids == [i for i, c in customers.items() if c["country"] == country and i < 200]
    # A binary parameter and binary results on the same statement.
    result = pgconn.exec_prepared(
        b"by_country", [b"NL", (20).to_bytes(4, "big")], param_formats=[0, 1], result_format=1
    )
    assert result.status == ExecStatus.TUPLES_OK, result.error_message
    ids = [int.from_bytes(result.get_value(r, 0) or b"", "big") for r in range(result.ntuples)]
    assert ids == [i for i, c in customers.items() if c["country"] == "NL" and i < 20]


def test_deallocate_removes_a_prepared_statement(conn: psycopg.Connection[Any]) -> None:
    pgconn = conn.pgconn
    assert pgconn.prepare(b"short_lived", b"SELECT $1::int4 * 2").status == ExecStatus.COMMAND_OK
    result = pgconn.exec_prepared(b"short_lived", [b"21"])
    assert result.get_value(0, 0) == b"42"
    assert pgconn.exec_(b"DEALLOCATE short_lived").status == ExecStatus.COMMAND_OK
    result = pgconn.exec_prepared(b"short_lived", [b"21"])
    assert result.status == ExecStatus.FATAL_ERROR
    assert result.error_field(ord("C")) == b"26000"  # invalid_sql_statement_name


def test_executemany_returning(conn: psycopg.Connection[Any]) -> None:
    customers = customers_by_id()
    cur = conn.cursor()
    params = [(i, f"c{i}") for i in (3, 30, 300, 1199)]
    cur.executemany(
        "SELECT id, country, %s::text AS tag FROM shop.customers WHERE id = %s",
        [(tag, i) for i, tag in params],
        returning=True,
    )
    results = [cur.fetchall()]
    while cur.nextset():
        results.append(cur.fetchall())
    assert results == [[(i, customers[i]["country"], tag)] for i, tag in params]


def test_pipeline_mode(conn: psycopg.Connection[Any]) -> None:
    with conn.pipeline():
        first = conn.execute("SELECT count(*) FROM shop.products WHERE category = %s", ("Books",))
        second = conn.execute("SELECT max(price_cents) FROM shop.products")
        third = conn.execute("SELECT %s::int4 + %s::int4", (40, 2))
    products = table("products")
    assert first.fetchone() == (sum(1 for p in products if p["category"] == "Books"),)
    assert second.fetchone() == (max(p["price_cents"] for p in products),)
    assert third.fetchone() == (42,)


def test_named_server_side_cursor(conn: psycopg.Connection[Any]) -> None:
    # psycopg's named cursors are SQL cursors: DECLARE ... CURSOR, FETCH FORWARD n, CLOSE.
    with conn.cursor(name="all_customers") as cur:
        cur.itersize = 100
        cur.execute("SELECT id, country FROM shop.customers ORDER BY id")
        assert cur.fetchmany(3) == [(c["id"], c["country"]) for c in table("customers")[:3]]
        rest = [row for row in cur]
    assert [r[0] for r in rest] == list(range(4, 1201))


# --- transactions and errors ------------------------------------------------------------------


def test_transaction_status_commit_and_rollback(conn: psycopg.Connection[Any]) -> None:
    assert conn.info.transaction_status == TransactionStatus.IDLE
    conn.execute("SELECT 1")
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    conn.commit()
    assert conn.info.transaction_status == TransactionStatus.IDLE
    conn.execute("SELECT count(*) FROM shop.orders")
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    conn.rollback()
    assert conn.info.transaction_status == TransactionStatus.IDLE


def test_error_in_transaction_then_rollback(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT 1")
    with pytest.raises(errors.DivisionByZero) as excinfo:
        conn.execute("SELECT 1/0")
    assert excinfo.value.sqlstate == "22012"
    assert conn.info.transaction_status == TransactionStatus.INERROR
    with pytest.raises(errors.InFailedSqlTransaction) as excinfo2:
        conn.execute("SELECT 2")
    assert excinfo2.value.sqlstate == "25P02"
    assert conn.info.transaction_status == TransactionStatus.INERROR
    conn.rollback()
    assert conn.info.transaction_status == TransactionStatus.IDLE
    assert conn.execute("SELECT count(*) FROM shop.customers").fetchone() == (1200,)


def test_transaction_block_autocommit(proxy: ProxyProcess) -> None:
    with connect(proxy, autocommit=True) as conn:
        assert conn.info.transaction_status == TransactionStatus.IDLE
        with conn.transaction():
            conn.execute("SELECT 1")
            assert conn.info.transaction_status == TransactionStatus.INTRANS
        assert conn.info.transaction_status == TransactionStatus.IDLE
        with pytest.raises(errors.DivisionByZero):
            with conn.transaction():
                conn.execute("SELECT 1/0")
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert conn.execute("SELECT 3").fetchone() == (3,)


def test_nested_transaction_uses_savepoint(proxy: ProxyProcess) -> None:
    # PostgreSQL rolls back to the savepoint and the outer transaction goes on (SELECT 2 answers
    # 2). The DuckDB warehouse cannot: DuckDB has no savepoints and aborts the whole transaction
    # on any error, so ROLLBACK TO SAVEPOINT after an error is refused (0A000, which psycopg
    # logs and ignores) and the transaction stays failed until it is rolled back (README:
    # "DuckDB warehouse: known differences from PostgreSQL").
    with connect(proxy, autocommit=True) as conn:
        with pytest.raises(errors.InFailedSqlTransaction):
            with conn.transaction():
                assert conn.execute("SELECT 1").fetchone() == (1,)
                with pytest.raises(errors.DivisionByZero):
                    with conn.transaction():  # SAVEPOINT; ROLLBACK TO SAVEPOINT on error
                        conn.execute("SELECT 1/0")
                assert conn.info.transaction_status == TransactionStatus.INERROR
                conn.execute("SELECT 2")
        assert conn.info.transaction_status == TransactionStatus.IDLE
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_syntax_error_then_connection_usable(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.SyntaxError) as excinfo:
        conn.execute("SELEC id FROM shop.customers")
    assert excinfo.value.sqlstate == "42601"
    assert excinfo.value.diag.severity == "ERROR"
    assert excinfo.value.diag.message_primary
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)


def test_syntax_error_with_parameters(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    with pytest.raises(errors.SyntaxError) as excinfo:
        conn.execute("SELECT FROM WHERE %s", (1,))
    assert excinfo.value.sqlstate == "42601"
    assert conn.info.transaction_status == TransactionStatus.IDLE
    assert conn.execute("SELECT %s::int4", (5,)).fetchone() == (5,)


def test_undefined_table(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(errors.UndefinedTable) as excinfo:
        conn.execute("SELECT * FROM shop.no_such_table")
    assert excinfo.value.sqlstate == "42P01"


# --- cancel and statement_timeout ---------------------------------------------------------------


def _run_long(conn: psycopg.Connection[Any], outcome: dict[str, Any]) -> None:
    started = time.monotonic()
    try:
        conn.execute(LONG_STATEMENT)
        outcome["result"] = "finished"
    except psycopg.Error as e:
        outcome["result"] = e
    outcome["elapsed"] = time.monotonic() - started


@pytest.mark.timeout(30)
@pytest.mark.parametrize("method", ["cancel_safe", "cancel"])
def test_cancel_a_long_statement(proxy: ProxyProcess, method: str) -> None:
    with connect(proxy) as conn:
        timer = threading.Timer(0.5, getattr(conn, method))
        timer.start()
        started = time.monotonic()
        try:
            with pytest.raises(errors.QueryCanceled) as excinfo:
                conn.execute(LONG_STATEMENT)
        finally:
            timer.cancel()
        assert time.monotonic() - started < 10
        assert excinfo.value.sqlstate == "57014"
        assert "canceling statement due to user request" in str(excinfo.value)
        assert conn.info.transaction_status == TransactionStatus.INERROR
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM shop.customers").fetchone() == (1200,)


@pytest.mark.timeout(30)
def test_cancel_never_touches_another_session(proxy: ProxyProcess) -> None:
    with connect(proxy, autocommit=True) as first, connect(proxy, autocommit=True) as second:
        assert first.info.backend_pid != second.info.backend_pid
        first_outcome: dict[str, Any] = {}
        second_outcome: dict[str, Any] = {}
        first_thread = threading.Thread(target=_run_long, args=(first, first_outcome))
        second_thread = threading.Thread(target=_run_long, args=(second, second_outcome))
        first_thread.start()
        second_thread.start()
        try:
            time.sleep(0.5)
            first.cancel_safe()
            first_thread.join(10)
            assert not first_thread.is_alive()
            assert isinstance(first_outcome["result"], errors.QueryCanceled)
            # The second session's statement is still running a second later.
            time.sleep(1.0)
            assert second_thread.is_alive(), f"second session ended: {second_outcome}"
        finally:
            second.cancel_safe()
            second_thread.join(10)
        assert isinstance(second_outcome["result"], errors.QueryCanceled)
        assert second_outcome["elapsed"] >= 1.4
        assert first.execute("SELECT 1").fetchone() == (1,)
        assert second.execute("SELECT 2").fetchone() == (2,)


@pytest.mark.timeout(30)
def test_statement_timeout(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    conn.execute("SET statement_timeout = '200ms'")
    started = time.monotonic()
    with pytest.raises(errors.QueryCanceled) as excinfo:
        conn.execute(LONG_STATEMENT)
    elapsed = time.monotonic() - started
    assert excinfo.value.sqlstate == "57014"
    assert "statement timeout" in str(excinfo.value)
    assert 0.15 <= elapsed < 5
    # Short statements still run under the timeout, and the session is usable.
    assert conn.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
    conn.execute("RESET statement_timeout")
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_show_statement_timeout_keeps_the_unit(conn: psycopg.Connection[Any]) -> None:
    conn.autocommit = True
    conn.execute("SET statement_timeout = '200ms'")
    assert conn.execute("SHOW statement_timeout").fetchone() == ("200ms",)
    conn.execute("SET statement_timeout = 0")
    assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


# --- TLS ----------------------------------------------------------------------------------------


def test_tls_sslmode_require(proxy: ProxyProcess) -> None:
    with connect(proxy, sslmode="require") as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute(f"{CUSTOMER_SELECT} WHERE id = %s", (42,)).fetchall() == expected_customers([42])


def test_tls_sslmode_disable(proxy: ProxyProcess) -> None:
    with connect(proxy, sslmode="disable") as conn:
        assert not conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_wrong_password_is_refused(proxy: ProxyProcess) -> None:
    with pytest.raises(psycopg.OperationalError) as excinfo:
        psycopg.connect(**{**proxy.conninfo("mark"), "password": "wrong"}, connect_timeout=10)
    assert 'password authentication failed for user "mark"' in str(excinfo.value)


# --- text output of literals, as PostgreSQL prints them -------------------------------------------

TEXT_OUTPUTS: list[tuple[str, str, bytes, int]] = [
    ("bytea-hex", r"SELECT '\x00ff'::bytea", rb"\x00ff", 17),
    # PostgreSQL prints "1 year 2 mons 3 days 04:05:06" and "-1 days +00:00:05". DuckDB keeps the
    # fields, but its Python API hands over an interval as one timedelta (a month is 30 days), so
    # the DuckDB warehouse prints the days it gets, and a negative mixed interval normalised to one
    # sign (README: "DuckDB warehouse: known differences from PostgreSQL").
    ("interval-months", "SELECT interval '1 year 2 months 3 days 04:05:06'", b"423 days 04:05:06", 1186),
    ("interval-negative", "SELECT interval '-1 days 5 seconds'", b"-23:59:55", 1186),
    ("numeric-scale", "SELECT '12.50'::numeric", b"12.50", 1700),
    ("numeric-typmod", "SELECT 1.25::numeric(10, 2)", b"1.25", 1700),
    ("jsonb", """SELECT '{"b": 1, "a": "x"}'::jsonb""", b'{"a": "x", "b": 1}', 3802),
    ("json", """SELECT '{"b": 1, "a": "x"}'::json""", b'{"b": 1, "a": "x"}', 114),
    ("int4-array", "SELECT ARRAY[1, 2, NULL]::int4[]", b"{1,2,NULL}", 1007),
    ("text-array", "SELECT ARRAY['a', 'b c', NULL]", b'{a,"b c",NULL}', 1009),
    ("varchar", "SELECT 'x'::varchar", b"x", 1043),
    ("bool", "SELECT true", b"t", 16),
    ("date", "SELECT date '2024-02-29'", b"2024-02-29", 1082),
    ("time", "SELECT time '13:14:15.5'", b"13:14:15.5", 1083),
    ("timestamptz", "SELECT timestamptz '2024-07-01 12:00:00+02'", b"2024-07-01 10:00:00+00", 1184),
    ("uuid", "SELECT uuid '12345678-1234-5678-1234-567812345678'", b"12345678-1234-5678-1234-567812345678", 2950),
    ("float8", "SELECT 0.1::float8", b"0.1", 701),
]


@pytest.mark.parametrize(
    ("name", "sql", "text", "oid"), TEXT_OUTPUTS, ids=[t[0] for t in TEXT_OUTPUTS]
)
def test_text_output_of_literals(
    conn: psycopg.Connection[Any], name: str, sql: str, text: bytes, oid: int
) -> None:
    conn.autocommit = True
    conn.execute("SET TimeZone = 'UTC'")
    cur = conn.execute(sql)
    assert cur.pgresult is not None
    assert cur.pgresult.get_value(0, 0) == text
    assert cur.pgresult.ftype(0) == oid
