"""Every cursor and portal command a client can send, through both warehouses.

SQL cursors (DECLARE/FETCH/MOVE/CLOSE) and protocol portals (asyncpg's cursors: Execute with a
row limit, `MOVE FORWARD n FROM "<portal>"`) are answered by the proxy; whatever the command,
the answer is rows, a tag, or a clear error -- never an internal error (XX000).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import psycopg
import pytest

from tests.support.proxy_process import ProxyProcess

pytestmark = pytest.mark.timeout(120)

PRODUCTS = "SELECT id FROM shop.products ORDER BY id"  # ids 1..60 in the demo


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def any_proxy(request: pytest.FixtureRequest) -> ProxyProcess:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("postgres_proxy")
    return request.getfixturevalue("proxy")


def _run(conn: psycopg.Connection, sql: str) -> tuple[str, list[int]]:
    """The command tag and the first column of the rows."""
    cursor = conn.execute(sql)
    rows = [row[0] for row in cursor.fetchall()] if cursor.description else []
    return str(cursor.statusmessage), rows


def test_sql_cursor_commands_move_and_fetch_forward(any_proxy: ProxyProcess) -> None:
    with psycopg.connect(**any_proxy.conninfo("etl")) as conn:
        conn.execute(f"DECLARE c CURSOR FOR {PRODUCTS}")
        assert _run(conn, "FETCH c") == ("FETCH 1", [1])
        assert _run(conn, "FETCH 2 c") == ("FETCH 2", [2, 3])
        assert _run(conn, "FETCH NEXT FROM c") == ("FETCH 1", [4])
        assert _run(conn, "FETCH FORWARD 3 FROM c") == ("FETCH 3", [5, 6, 7])
        assert _run(conn, "MOVE c") == ("MOVE 1", [])
        assert _run(conn, "MOVE 2 IN c") == ("MOVE 2", [])
        assert _run(conn, "MOVE FORWARD 5 FROM c") == ("MOVE 5", [])
        assert _run(conn, "MOVE NEXT FROM c") == ("MOVE 1", [])
        assert _run(conn, "FETCH c") == ("FETCH 1", [17])
        assert _run(conn, "MOVE FORWARD 40 FROM c") == ("MOVE 40", [])
        assert _run(conn, "FETCH ALL FROM c") == ("FETCH 3", [58, 59, 60])
        assert _run(conn, "MOVE 5 c") == ("MOVE 0", [])
        assert _run(conn, "FETCH c") == ("FETCH 0", [])
        conn.execute("CLOSE c")
        conn.execute(f"DECLARE d CURSOR FOR {PRODUCTS}")
        assert _run(conn, "MOVE ALL IN d") == ("MOVE 60", [])
        assert _run(conn, "MOVE FORWARD ALL FROM d") == ("MOVE 0", [])
        conn.execute(f"DECLARE e BINARY CURSOR FOR {PRODUCTS}")
        assert _run(conn, "MOVE 59 e")[0] == "MOVE 59"
        assert conn.execute("FETCH e").fetchall()  # one binary row
        conn.execute("CLOSE ALL")
        conn.commit()
        conn.execute(f"DECLARE h CURSOR WITH HOLD FOR {PRODUCTS}")
        conn.commit()
        assert _run(conn, "MOVE 10 h") == ("MOVE 10", [])
        assert _run(conn, "FETCH 1 h") == ("FETCH 1", [11])
        conn.execute("CLOSE h")
        conn.commit()


DIRECTIONS = [
    ("FETCH PRIOR FROM c", "FETCH 1", [1]), ("FETCH BACKWARD 1 FROM c", "FETCH 1", [1]),
    ("FETCH ABSOLUTE 3 FROM c", "FETCH 1", [3]), ("FETCH RELATIVE 2 FROM c", "FETCH 1", [4]),
    ("FETCH FIRST FROM c", "FETCH 1", [1]), ("FETCH LAST FROM c", "FETCH 1", [60]),
    ("FETCH -1 FROM c", "FETCH 1", [1]), ("MOVE BACKWARD 2 IN c", "MOVE 1", []),
    ("MOVE ABSOLUTE 1 IN c", "MOVE 1", []), ("MOVE LAST IN c", "MOVE 1", []),
    ("MOVE BACKWARD ALL IN c", "MOVE 1", []),
]


@pytest.mark.parametrize(("command", "tag", "rows"), DIRECTIONS)
def test_every_direction_on_a_warehouse_that_keeps_cursors(
    postgres_proxy: ProxyProcess, command: str, tag: str, rows: list[int]
) -> None:
    """PostgreSQL keeps the cursor: FETCH and MOVE in any direction answer as it does."""
    with psycopg.connect(**postgres_proxy.conninfo("etl")) as conn:
        conn.execute(f"DECLARE c CURSOR FOR {PRODUCTS}")
        conn.execute("FETCH 2 FROM c")
        assert _run(conn, command) == (tag, rows)
        conn.execute(f"DECLARE s SCROLL CURSOR FOR {PRODUCTS}")
        assert _run(conn, "FETCH LAST FROM s") == ("FETCH 1", [60])
        assert _run(conn, "FETCH ABSOLUTE 7 FROM s") == ("FETCH 1", [7])


@pytest.mark.parametrize("command", [command for command, _, _ in DIRECTIONS])
def test_backward_directions_on_the_embedded_warehouse_are_clear_errors(
    proxy: ProxyProcess, command: str
) -> None:
    with psycopg.connect(**proxy.conninfo("etl")) as conn:
        conn.execute(f"DECLARE c CURSOR FOR {PRODUCTS}")
        conn.execute("FETCH 2 FROM c")
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(command)
        assert failure.value.sqlstate == "0A000", failure.value
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


@pytest.mark.parametrize("command", ["FETCH 1 FROM nosuch", "MOVE 1 IN nosuch", "CLOSE nosuch"])
def test_unknown_cursors_are_clear_errors(any_proxy: ProxyProcess, command: str) -> None:
    with psycopg.connect(**any_proxy.conninfo("etl")) as conn:
        conn.execute(f"DECLARE c CURSOR FOR {PRODUCTS}")
        conn.execute("FETCH 2 FROM c")
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(command)
        assert failure.value.sqlstate == "34000", failure.value
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_refused_declarations_are_clear_errors(any_proxy: ProxyProcess, proxy: ProxyProcess) -> None:
    with psycopg.connect(**any_proxy.conninfo("etl"), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as failure:  # outside a transaction block
            conn.execute(f"DECLARE n CURSOR FOR {PRODUCTS}")
        assert failure.value.sqlstate == "25P01", failure.value
    with psycopg.connect(**proxy.conninfo("etl")) as conn:  # the embedded warehouse
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(f"DECLARE s SCROLL CURSOR FOR {PRODUCTS}")
        assert failure.value.sqlstate == "0A000", failure.value


def test_asyncpg_portal_cursors_forward_fetch_and_fetchrow(any_proxy: ProxyProcess) -> None:
    async def main() -> dict[str, Any]:
        conn = await asyncpg.connect(any_proxy.dsn("etl"))
        out: dict[str, Any] = {}
        try:
            async with conn.transaction():
                cursor = await conn.cursor(PRODUCTS)
                out["first"] = (await cursor.fetchrow())["id"]
                out["skipped"] = await cursor.forward(10)  # MOVE FORWARD 10 FROM "<portal>"
                out["batch"] = [r["id"] for r in await cursor.fetch(3)]
                out["skipped_again"] = await cursor.forward(5)
                out["next"] = (await cursor.fetchrow())["id"]
                out["past_end"] = await cursor.forward(100)
                out["after"] = await cursor.fetchrow()
                prepared = await conn.prepare(PRODUCTS)
                second = await prepared.cursor()
                out["prepared_skip"] = await second.forward(59)
                out["prepared_last"] = [r["id"] for r in await second.fetch(5)]
                out["iterated"] = [r["id"] async for r in conn.cursor(PRODUCTS, prefetch=7)]
        finally:
            await conn.close()
        return out

    out = asyncio.run(main())
    assert out == {
        "first": 1, "skipped": 10, "batch": [12, 13, 14], "skipped_again": 5, "next": 20,
        "past_end": 40, "after": None, "prepared_skip": 59, "prepared_last": [60],
        "iterated": list(range(1, 61)),
    }


@pytest.mark.parametrize("binary", [False, True])
def test_named_cursors_return_true_values_in_every_format(
    any_proxy: ProxyProcess, binary: bool
) -> None:
    """A server-side cursor with binary results once relayed text bytes under a binary
    RowDescription: 1 read as 822083584. Values must be the values, in both formats."""
    sql = ("SELECT id, price_cents, name, price_cents::numeric / 100 AS price "
           "FROM shop.products ORDER BY id")
    with psycopg.connect(**any_proxy.conninfo("etl")) as conn:
        expected = conn.execute(sql).fetchall()
        with conn.cursor("named", binary=binary) as cursor:
            cursor.itersize = 7
            cursor.execute(sql)
            assert cursor.fetchmany(3) == expected[:3]
            assert list(cursor) == expected[3:]
        conn.execute(f"DECLARE d CURSOR FOR {sql}")
        with conn.cursor(binary=binary) as cursor:
            assert cursor.execute("FETCH 5 FROM d").fetchall() == expected[:5]
        with conn.cursor(binary=not binary) as cursor:
            assert cursor.execute("FETCH 5 FROM d").fetchall() == expected[5:10]
