"""asyncpg against the running proxy: binary protocol, prepared statements, type round trips,
portals with row limits (cursors), TLS and authentication errors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import asyncpg
import pytest

from tests.support.clients import customers_by_id, table
from tests.support.proxy_process import ProxyProcess

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")


async def _connect(proxy: ProxyProcess, **kwargs: Any) -> asyncpg.Connection:
    kwargs.setdefault("ssl", False)
    return await asyncpg.connect(
        host=proxy.host, port=proxy.port, user="ana", password="ana",
        database=proxy.database, timeout=10, **kwargs,
    )


def run(proxy: ProxyProcess, body: Callable[[asyncpg.Connection], Awaitable[T]], **kwargs: Any) -> T:
    """A new connection as ana: run `body(connection)`, close; all inside one event loop."""

    async def main() -> T:
        con = await _connect(proxy, **kwargs)
        try:
            return await asyncio.wait_for(body(con), timeout=30)
        finally:
            await con.close(timeout=5)

    return asyncio.run(main())


class SharedSession:
    """One connection for many small tests, so that asyncpg's type introspection (one query
    per connection and set of unknown types) is paid once, as in a real application."""

    def __init__(self, proxy: ProxyProcess) -> None:
        self.proxy = proxy
        self.loop = asyncio.new_event_loop()
        self.con = self.loop.run_until_complete(_connect(proxy))

    def run(self, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        async def main() -> T:
            if self.con.is_closed():
                self.con = await _connect(self.proxy)
            try:
                return await asyncio.wait_for(body(self.con), timeout=30)
            finally:
                if not self.con.is_closed() and self.con.is_in_transaction():
                    await self.con.execute("ROLLBACK")

        return self.loop.run_until_complete(main())

    def close(self) -> None:
        if not self.con.is_closed():
            self.loop.run_until_complete(self.con.close(timeout=5))
        self.loop.close()


@pytest.fixture(scope="module")
def shared(proxy: ProxyProcess) -> Iterator[SharedSession]:
    session = SharedSession(proxy)
    # Warm asyncpg's codec cache with every array type in one statement (one introspection);
    # a failure here is not hidden: each round trip below then introspects its own type.
    array_types = sorted({t for t, _, _ in ROUND_TRIPS if t.endswith("[]")})
    warm_up = "SELECT " + ", ".join(f"${i + 1}::{t}" for i, t in enumerate(array_types))

    async def prepare(con: asyncpg.Connection) -> None:
        try:
            await con.prepare(warm_up)
        except asyncpg.PostgresError:
            pass

    session.run(prepare)
    yield session
    session.close()


# --- fetch / fetchrow / fetchval ------------------------------------------------------------


def test_fetch_fetchrow_fetchval(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> None:
        assert await con.fetchval("SELECT count(*) FROM shop.customers") == 1200
        customers = customers_by_id()
        row = await con.fetchrow(
            "SELECT id, country, marketing_consent, created_at FROM shop.customers WHERE id = $1", 77
        )
        assert row is not None
        assert dict(row) == {k: customers[77][k] for k in ("id", "country", "marketing_consent", "created_at")}
        rows = await con.fetch(
            "SELECT id, country FROM shop.customers WHERE country = $1 AND id <= $2 ORDER BY id", "FR", 150
        )
        assert [tuple(r) for r in rows] == [
            (i, "FR") for i, c in customers.items() if c["country"] == "FR" and i <= 150
        ]
        assert await con.fetchrow("SELECT id FROM shop.customers WHERE id = $1", 99999) is None
        assert await con.fetchval("SELECT NULL::int4") is None

    run(proxy, body)


def test_fetch_joined_and_aggregated_rows(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> list[asyncpg.Record]:
        return await con.fetch(
            "SELECT p.category, sum(i.quantity)::int8 AS units "
            "FROM shop.order_items i JOIN shop.products p ON p.id = i.product_id "
            "GROUP BY p.category ORDER BY p.category"
        )

    rows = run(proxy, body)
    category = {p["id"]: p["category"] for p in table("products")}
    units: dict[str, int] = {}
    for item in table("order_items"):
        units[category[item["product_id"]]] = units.get(category[item["product_id"]], 0) + item["quantity"]
    assert [(r["category"], r["units"]) for r in rows] == sorted(units.items())


def test_binary_result_of_every_column_type_in_the_demo(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> list[asyncpg.Record]:
        return await con.fetch(
            "SELECT id, order_id, paid_at, amount_cents FROM shop.payments WHERE id <= 10 ORDER BY id"
        )

    rows = run(proxy, body)
    expected = [(p["id"], p["order_id"], p["paid_at"], p["amount_cents"]) for p in table("payments")[:10]]
    assert [tuple(r) for r in rows] == expected


# --- prepared statements ------------------------------------------------------------------------


def test_prepared_statement_reused(proxy: ProxyProcess) -> None:
    customers = customers_by_id()

    async def body(con: asyncpg.Connection) -> None:
        statement = await con.prepare(
            "SELECT id, country, created_at FROM shop.customers WHERE id = $1"
        )
        assert [t.oid for t in statement.get_parameters()] == [23]
        assert [(a.name, a.type.oid) for a in statement.get_attributes()] == [
            ("id", 23), ("country", 25), ("created_at", 1114),
        ]
        for customer_id in range(1, 61):
            row = await statement.fetchrow(customer_id)
            c = customers[customer_id]
            assert tuple(row) == (customer_id, c["country"], c["created_at"])
        assert await statement.fetchval(1200) == 1200
        many = await con.prepare(
            "SELECT id FROM shop.customers WHERE country = $1 AND marketing_consent = $2 ORDER BY id"
        )
        for country in ("DE", "ES"):
            for consent in (True, False):
                got = [r[0] for r in await many.fetch(country, consent)]
                assert got == [
                    i for i, c in customers.items()
                    if c["country"] == country and c["marketing_consent"] is consent
                ]

    run(proxy, body)


def test_statement_cache_reuses_server_side_statements(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> list[int]:
        return [await con.fetchval("SELECT $1::int4 * 3", i) for i in range(50)]

    assert run(proxy, body) == [i * 3 for i in range(50)]


# --- type round trips: SELECT $1::<type> in binary ------------------------------------------------

ROUND_TRIPS: list[tuple[str, Any, int]] = [
    ("bool", True, 16),
    ("bool", False, 16),
    ("int2", -32768, 21),
    ("int4", 2147483647, 23),
    ("int8", -9223372036854775808, 20),
    ("float4", 1.5, 700),
    ("float8", 3.141592653589793, 701),
    ("float8", float("inf"), 701),
    ("numeric", Decimal("12345.678"), 1700),
    ("numeric", Decimal("12.50"), 1700),
    ("numeric", Decimal("0.000001"), 1700),
    ("numeric", Decimal("-98765432109876543210.0123456789"), 1700),
    ("text", "héllo wörld ✓ 😀", 25),
    ("text", "", 25),
    ("varchar", "abc", 1043),
    ("bytea", bytes(range(256)), 17),
    ("bytea", b"", 17),
    ("date", date(2024, 2, 29), 1082),
    ("date", date(1, 1, 1), 1082),
    ("time", time(13, 14, 15, 123456), 1083),
    ("timestamp", datetime(2024, 1, 2, 3, 4, 5, 678900), 1114),
    ("timestamptz", datetime(2024, 7, 1, 10, 0, tzinfo=timezone.utc), 1184),
    ("timestamptz", datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), 1184),
    ("interval", timedelta(days=3, hours=1, microseconds=5), 1186),
    ("interval", timedelta(seconds=-5), 1186),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678"), 2950),
    ("json", '{"b": [1, 2], "a": null}', 114),
    ("jsonb", '{"a": null, "b": [1, 2]}', 3802),
    ("int2[]", [1, -2, None], 1005),
    ("int4[]", [1, 2, None, 4], 1007),
    ("int8[]", [2**40, -1], 1016),
    ("float4[]", [0.5, -1.25], 1021),
    ("float8[]", [1.5, None], 1022),
    ("numeric[]", [Decimal("1.5"), Decimal("-2.25")], 1231),
    ("bool[]", [True, False, None], 1000),
    ("text[]", ["a", "b c", None, ""], 1009),
    ("varchar[]", ["x", "y"], 1015),
    ("bytea[]", [b"\x00\x01", b""], 1001),
    ("date[]", [date(2024, 1, 1), date(1999, 12, 31)], 1182),
    ("time[]", [time(1, 2, 3)], 1183),
    ("timestamp[]", [datetime(2024, 1, 1, 8, 30)], 1115),
    ("timestamptz[]", [datetime(2024, 1, 1, 8, 30, tzinfo=timezone.utc)], 1185),
    ("interval[]", [timedelta(hours=1), timedelta(days=2)], 1187),
    ("uuid[]", [uuid.UUID(int=5), uuid.UUID(int=2**128 - 1)], 2951),
    ("json[]", ['{"a": 1}', "[]"], 199),
    ("jsonb[]", ['{"a": 1}', "[]"], 3807),
    ("int4[]", [], 1007),
]


@pytest.mark.parametrize(
    ("type_name", "value", "oid"),
    ROUND_TRIPS,
    ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(ROUND_TRIPS)],
)
def test_round_trip(shared: SharedSession, type_name: str, value: Any, oid: int) -> None:
    async def body(con: asyncpg.Connection) -> tuple[Any, Any, list[int], list[int]]:
        statement = await con.prepare(f"SELECT $1::{type_name} AS v")
        got = await statement.fetchval(value)
        null = await statement.fetchval(None)
        return (got, null, [t.oid for t in statement.get_parameters()],
                [a.type.oid for a in statement.get_attributes()])

    got, null, parameter_oids, result_oids = shared.run(body)
    assert parameter_oids == [oid]
    assert result_oids == [oid]
    assert got == value
    assert null is None
    if isinstance(value, Decimal):
        assert str(got) == str(value)  # the scale survives, as in PostgreSQL's numeric
    if isinstance(value, datetime) and value.tzinfo is not None:
        assert got.utcoffset() == timedelta(0)  # timestamptz comes back in UTC (TimeZone)


def test_several_parameters_of_different_types(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> asyncpg.Record:
        return await con.fetchrow(
            "SELECT $1::int4 + $2::int8 AS n, $3::text || $4::varchar AS s, $5::date + $6::int4 AS d, "
            "$7::bool AND $8::bool AS b, $9::float8 * 2 AS f, $10::bytea AS raw",
            40, 2, "ab", "cd", date(2024, 2, 28), 1, True, False, 1.25, b"\x01\x02",
        )

    row = run(proxy, body)
    assert dict(row) == {"n": 42, "s": "abcd", "d": date(2024, 2, 29), "b": False, "f": 2.5, "raw": b"\x01\x02"}


def test_interval_with_months(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> Any:
        return await con.fetchval("SELECT interval '1 year 2 months 3 days 04:05:06'")

    # PostgreSQL sends months=14, days=3, which asyncpg decodes with years of 365 days and
    # months of 30: 365 + 2 * 30 + 3 = 428 days. The DuckDB warehouse sends days=423: DuckDB
    # keeps months, but its Python API returns an interval as one timedelta (a month is 30 days
    # there, a year 12 months: 14 * 30 + 3 = 423), so the months are gone before the proxy sees
    # the value (README: "DuckDB warehouse: known differences from PostgreSQL").
    assert run(proxy, body) == timedelta(days=423, hours=4, minutes=5, seconds=6)


def test_jsonb_output_is_normalised(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> Any:
        return await con.fetchval("""SELECT '{"b": 1, "a": "x"}'::jsonb""")

    assert run(proxy, body) == '{"a": "x", "b": 1}'


# --- cursors: portals with row limits (Execute n -> PortalSuspended) -------------------------------


def test_cursor_fetch_in_a_transaction(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> list[list[int]]:
        batches = []
        async with con.transaction():
            cursor = await con.cursor(
                "SELECT id FROM shop.customers WHERE id <= $1 ORDER BY id", 23
            )
            for _ in range(6):
                batches.append([r["id"] for r in await cursor.fetch(5)])
            assert await cursor.fetchrow() is None
        return batches

    assert run(proxy, body) == [
        [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15],
        [16, 17, 18, 19, 20], [21, 22, 23], [],
    ]


def test_cursor_forward_and_fetchrow(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> tuple[Any, Any, int]:
        async with con.transaction():
            cursor = await con.cursor("SELECT id, country FROM shop.customers ORDER BY id")
            first = await cursor.fetchrow()
            skipped = await cursor.forward(98)
            hundredth = await cursor.fetchrow()
        return first, hundredth, skipped

    first, hundredth, skipped = run(proxy, body)
    customers = customers_by_id()
    assert tuple(first) == (1, customers[1]["country"])
    assert skipped == 98
    assert tuple(hundredth) == (100, customers[100]["country"])


def test_cursor_iteration_with_prefetch(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> list[int]:
        async with con.transaction():
            return [r["id"] async for r in con.cursor("SELECT id FROM shop.customers ORDER BY id", prefetch=100)]

    assert run(proxy, body) == list(range(1, 1201))


# --- errors, TLS ------------------------------------------------------------------------------------


def test_error_then_connection_usable(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> Any:
        with pytest.raises(asyncpg.PostgresSyntaxError) as excinfo:
            await con.fetch("SELEC 1")
        assert excinfo.value.sqlstate == "42601"
        with pytest.raises(asyncpg.DivisionByZeroError):
            await con.fetchval("SELECT 1 / $1::int4", 0)
        with pytest.raises(asyncpg.UndefinedTableError):
            await con.fetchval("SELECT count(*) FROM shop.nope")
        return await con.fetchval("SELECT 1 / $1::int4", 1)

    assert run(proxy, body) == 1


def test_failed_transaction_block(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> Any:
        tr = con.transaction()
        await tr.start()
        with pytest.raises(asyncpg.DivisionByZeroError):
            await con.fetchval("SELECT 1/0")
        with pytest.raises(asyncpg.InFailedSQLTransactionError) as excinfo:
            await con.fetchval("SELECT 1")
        assert excinfo.value.sqlstate == "25P02"
        await tr.rollback()
        return await con.fetchval("SELECT count(*) FROM shop.products")

    assert run(proxy, body) == 60


def test_tls_required(proxy: ProxyProcess) -> None:
    async def body(con: asyncpg.Connection) -> tuple[Any, bool]:
        return (
            await con.fetchval("SELECT count(*) FROM shop.orders"),
            con._transport.get_extra_info("ssl_object") is not None,  # noqa: SLF001
        )

    count, encrypted = run(proxy, body, ssl="require")
    assert count == len(table("orders"))
    assert encrypted


def test_wrong_password(proxy: ProxyProcess) -> None:
    async def attempt() -> None:
        await asyncpg.connect(
            host=proxy.host, port=proxy.port, user="sam", password="nope",
            database=proxy.database, ssl=False, timeout=10,
        )

    with pytest.raises(asyncpg.InvalidPasswordError) as excinfo:
        asyncio.run(attempt())
    assert excinfo.value.sqlstate == "28P01"
    assert 'password authentication failed for user "sam"' in str(excinfo.value)
