"""Idioms drivers and BI tools send, answered alike on both warehouses (issue: clients work
unchanged): current date/time, json_agg, VALUES as a statement, a bare boolean parameter,
asyncpg's copy_from_query with arguments."""

from __future__ import annotations

import asyncio
import io
from datetime import date, datetime

import asyncpg
import psycopg
import pytest

from tests.support.proxy_process import ProxyProcess

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def any_proxy(request: pytest.FixtureRequest) -> ProxyProcess:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_proxy")
    return request.getfixturevalue("proxy")


def _query(proxy: ProxyProcess, user: str, sql: str) -> tuple[list[str], list[tuple[object, ...]]]:
    with psycopg.connect(**proxy.conninfo(user)) as conn:
        cursor = conn.execute(sql)
        return [d.name for d in cursor.description or ()], cursor.fetchall()


def test_now_and_current_date(any_proxy: ProxyProcess) -> None:
    names, rows = _query(any_proxy, "etl", "SELECT now(), current_date, localtimestamp AS t")
    assert names == ["now", "current_date", "t"]
    ((now, today, stamp),) = rows
    assert isinstance(now, datetime) and isinstance(stamp, datetime) and isinstance(today, date)


def test_json_agg_of_rows_and_values(any_proxy: ProxyProcess) -> None:
    _, rows = _query(any_proxy, "etl", "SELECT json_agg(t) FROM (SELECT id, name FROM "
                     "shop.products ORDER BY id LIMIT 2) t")
    assert rows == [([{"id": 1, "name": "Chef's Knife"}, {"id": 2, "name": "Cast Iron Skillet"}],)]
    _, rows = _query(any_proxy, "etl", "SELECT json_agg(id ORDER BY id DESC) FROM shop.products "
                     "WHERE id <= 3")
    assert rows == [([3, 2, 1],)]


def test_values_as_a_statement(any_proxy: ProxyProcess) -> None:
    assert _query(any_proxy, "ana", "VALUES (1, 'a'), (2, 'b')") == (
        ["column1", "column2"], [(1, "a"), (2, "b")])
    assert _query(any_proxy, "ana", "VALUES (2, 'b'), (1, 'a') ORDER BY 1 LIMIT 1") == (
        ["column1", "column2"], [(1, "a")])
    # Governed data inside VALUES is decided and rewritten like any query.
    assert _query(any_proxy, "mark", "VALUES ((SELECT count(*) FROM shop.customers "
                  "WHERE NOT marketing_consent))")[1] == [(0,)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _query(any_proxy, "ana", "VALUES ((SELECT phone FROM shop.customers LIMIT 1))")
    with psycopg.connect(**any_proxy.conninfo("ana")) as conn:
        with conn.cursor().copy("COPY (VALUES (1, 'x'), (2, NULL)) TO STDOUT") as copy:
            assert b"".join(bytes(block) for block in copy) == b"1\tx\n2\t\\N\n"


def test_asyncpg_bare_boolean_parameter_and_copy_from_query(any_proxy: ProxyProcess) -> None:
    async def main() -> tuple[list[int], list[int], bytes]:
        conn = await asyncpg.connect(any_proxy.dsn("etl"))
        try:
            on = [r["id"] for r in await conn.fetch(
                "SELECT id FROM shop.products WHERE $1 ORDER BY id LIMIT 2", True)]
            off = [r["id"] for r in await conn.fetch(
                "SELECT id FROM shop.products WHERE $1 ORDER BY id LIMIT 2", False)]
            out = io.BytesIO()
            await conn.copy_from_query(
                "SELECT id, name FROM shop.products WHERE id < $1 AND name <> $2 ORDER BY id",
                3, "it's", output=out)
            return on, off, out.getvalue()
        finally:
            await conn.close()

    on, off, copied = asyncio.run(main())
    assert (on, off) == ([1, 2], [])
    assert copied == b"1\tChef's Knife\n2\tCast Iron Skillet\n"
