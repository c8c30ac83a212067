"""The Acme Shop demo data: deterministic, shaped like SCENARIO.md, loadable into DuckDB and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import date, datetime

import duckdb
import pytest

from tests.support.requirements import require

from proxy.demo import data
from proxy.demo.data import (
    SCHEMA_DDL,
    TABLE_COLUMNS,
    demo_rows,
    load_into_duckdb,
    load_into_postgres,
)

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

EXPECTED_COLUMNS = {
    "customers": ["id", "email", "full_name", "phone", "birth_date", "country", "marketing_consent", "created_at"],
    "orders": ["id", "customer_id", "ordered_at", "status", "total_cents"],
    "order_items": ["order_id", "product_id", "quantity"],
    "payments": ["id", "order_id", "paid_at", "card_number", "amount_cents"],
    "support_tickets": ["id", "customer_id", "opened_at", "channel", "body"],
    "web_events": ["id", "customer_id", "event_time", "url", "ip_address"],
    "products": ["id", "name", "category", "price_cents"],
}


def test_generation_is_deterministic() -> None:
    first = demo_rows()
    demo_rows.cache_clear()
    try:
        second = demo_rows()
    finally:
        demo_rows.cache_clear()
    assert first == second
    assert first is not second


def test_tables_and_columns_match_the_scenario() -> None:
    rows = demo_rows()
    assert set(rows) == set(EXPECTED_COLUMNS)
    for table, columns in EXPECTED_COLUMNS.items():
        assert rows[table][0] == columns
        assert [c for c, _ in TABLE_COLUMNS[table]] == columns
        assert all(len(r) == len(columns) for r in rows[table][1])


def test_counts_consent_and_countries() -> None:
    rows = demo_rows()
    customers = rows["customers"][1]
    assert len(customers) >= 1000
    assert len(rows["products"][1]) == 60
    assert len(rows["orders"][1]) >= 2500
    assert len(rows["order_items"][1]) > len(rows["orders"][1])
    assert len(rows["payments"][1]) > 2000
    assert len(rows["support_tickets"][1]) >= 300
    assert len(rows["web_events"][1]) >= 5000

    consenting = sum(1 for c in customers if c[6])
    assert 0.4 < consenting / len(customers) < 0.6
    countries = {c[5] for c in customers}
    assert "DE" in countries and len(countries) >= 5
    assert sum(1 for c in customers if c[5] == "DE") >= 100


def test_values_look_real() -> None:
    rows = demo_rows()
    customers = rows["customers"][1]
    emails = [c[1] for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z.]+\d+@[a-z0-9.-]+\.[a-z.]+", e) for e in emails)
    assert all(re.fullmatch(r"\+\d{1,2}( \d+)+", c[3]) for c in customers)
    assert any(c[3].startswith("+49 15") for c in customers if c[5] == "DE")
    assert all(isinstance(c[4], date) and date(1940, 1, 1) < c[4] < date(2010, 1, 1) for c in customers)
    assert all(isinstance(c[7], datetime) for c in customers)

    for payment in rows["payments"][1]:
        card = payment[3]
        assert isinstance(card, str) and re.fullmatch(r"\d{16}", card)
        digits = [int(d) for d in card]
        checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
        assert checksum % 10 == 0  # Luhn-valid, like a real card number
    for event in rows["web_events"][1]:
        assert event[3].startswith("https://")
        octets = event[4].split(".")
        assert len(octets) == 4 and all(0 <= int(o) <= 255 for o in octets)
    bodies = [t[4] for t in rows["support_tickets"][1]]
    assert len(set(bodies)) > 100 and all(len(b) > 20 for b in bodies)

    # Referential consistency: every reference points at an existing row.
    customer_ids = {c[0] for c in customers}
    order_ids = {o[0] for o in rows["orders"][1]}
    product_ids = {p[0] for p in rows["products"][1]}
    assert all(o[1] in customer_ids for o in rows["orders"][1])
    assert all(i[0] in order_ids and i[1] in product_ids for i in rows["order_items"][1])
    assert all(p[1] in order_ids for p in rows["payments"][1])
    assert all(t[1] in customer_ids for t in rows["support_tickets"][1])
    assert all(e[1] is None or e[1] in customer_ids for e in rows["web_events"][1])


def test_no_wall_clock_in_generation() -> None:
    source = open(data.__file__, encoding="utf-8").read()
    assert "datetime.now" not in source and "date.today" not in source and "time.time" not in source


def test_ddl_and_load_into_duckdb_fast() -> None:
    con = duckdb.connect()
    started = time.perf_counter()
    load_into_duckdb(con)
    assert time.perf_counter() - started < 5
    for table, (names, rows) in demo_rows().items():
        assert con.execute(f"SELECT count(*) FROM shop.{table}").fetchone()[0] == len(rows)
    types = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'shop' AND table_name = 'customers'"
    ).fetchall())
    assert types == {
        "id": "INTEGER", "email": "VARCHAR", "full_name": "VARCHAR", "phone": "VARCHAR", "birth_date": "DATE",
        "country": "VARCHAR", "marketing_consent": "BOOLEAN", "created_at": "TIMESTAMP",
    }
    assert con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'orders' "
                       "AND column_name = 'total_cents'").fetchone()[0] == "BIGINT"
    first = con.execute("SELECT * FROM shop.customers ORDER BY id LIMIT 1").fetchone()
    assert first == demo_rows()["customers"][1][0]


# --- PostgreSQL ------------------------------------------------------------------------------------


def _postgres_or_skip() -> object:
    asyncpg = pytest.importorskip("asyncpg")

    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as error:  # noqa: BLE001 - any failure means "no server here"
        require(False, f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {error!r}")
    return asyncpg


class _ScratchDatabase:
    def __init__(self, asyncpg: object) -> None:
        self.asyncpg = asyncpg
        self.name = f"scratch_demo_{uuid.uuid4().hex[:10]}"
        self.dsn = f"postgresql://postgres@127.0.0.1:5432/{self.name}"

    async def _admin(self, sql: str) -> None:
        conn = await self.asyncpg.connect(PG_ADMIN_DSN)  # type: ignore[attr-defined]
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def __enter__(self) -> _ScratchDatabase:
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_ddl_is_accepted_by_postgres() -> None:
    asyncpg = _postgres_or_skip()
    with _ScratchDatabase(asyncpg) as db:
        async def run() -> list[tuple[str, str, str]]:
            conn = await asyncpg.connect(db.dsn)  # type: ignore[attr-defined]
            try:
                async with conn.transaction():
                    for ddl in SCHEMA_DDL:
                        await conn.execute(ddl)
                rows = await conn.fetch(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'shop' ORDER BY table_name, ordinal_position"
                )
                return [tuple(r) for r in rows]
            finally:
                await conn.close()

        columns = asyncio.run(run())
    by_table: dict[str, dict[str, str]] = {}
    for table, column, data_type in columns:
        by_table.setdefault(table, {})[column] = data_type
    assert {t: list(c) for t, c in by_table.items()} == EXPECTED_COLUMNS
    assert by_table["customers"]["created_at"] == "timestamp without time zone"
    assert by_table["customers"]["birth_date"] == "date"
    assert by_table["customers"]["marketing_consent"] == "boolean"
    assert by_table["orders"]["total_cents"] == "bigint"
    assert by_table["payments"]["card_number"] == "text"


@pytest.mark.postgres
def test_load_into_postgres_twice() -> None:
    asyncpg = _postgres_or_skip()
    with _ScratchDatabase(asyncpg) as db:
        async def run() -> dict[str, int]:
            await load_into_postgres(db.dsn)
            await load_into_postgres(db.dsn)  # drops and recreates: same rows, no duplicates
            conn = await asyncpg.connect(db.dsn)  # type: ignore[attr-defined]
            try:
                counts = {t: await conn.fetchval(f"SELECT count(*) FROM shop.{t}") for t in EXPECTED_COLUMNS}
                counts["_first_email"] = await conn.fetchval("SELECT email FROM shop.customers WHERE id = 1")
                counts["_de"] = await conn.fetchval("SELECT count(*) FROM shop.customers WHERE country = 'DE'")
                return counts
            finally:
                await conn.close()

        counts = asyncio.run(run())
    rows = demo_rows()
    for table in EXPECTED_COLUMNS:
        assert counts[table] == len(rows[table][1])
    assert counts["_first_email"] == rows["customers"][1][0][1]
    assert counts["_de"] == sum(1 for c in rows["customers"][1] if c[5] == "DE")


def _schemas_in(path) -> set[str]:
    with duckdb.connect(str(path)) as con:
        return {row[0] for row in con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
        ).fetchall()}


def test_the_embedded_warehouse_never_adds_the_demo_to_an_existing_file(tmp_path):
    from proxy.backends.duckdb import DuckDBWarehouse

    users_own = tmp_path / "mine.duckdb"
    with duckdb.connect(str(users_own)) as con:
        con.execute("CREATE SCHEMA sales")
        con.execute("CREATE TABLE sales.deals (id INTEGER)")
    fresh = tmp_path / "fresh.duckdb"

    async def open_and_close(path) -> None:
        warehouse = DuckDBWarehouse(path)
        await warehouse.start()
        await warehouse.close()

    asyncio.run(open_and_close(users_own))
    assert "shop" not in _schemas_in(users_own)
    assert "sales" in _schemas_in(users_own)
    asyncio.run(open_and_close(fresh))  # a file this start creates: the demo
    assert "shop" in _schemas_in(fresh)
