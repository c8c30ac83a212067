"""The PostgreSQL relay against PostgreSQL itself: round trips and rows/s, with and without
the proxy in between (as etl, whose reads need no masks, so the cost measured is the proxy's).

    .venv/bin/python -m bench.postgres_relay
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import asyncpg

from tests.support.proxy_process import start_proxy
from tests.support.warehouses import demo_postgres

BIG = "SELECT id, repeat('x', 100) FROM generate_series(1, 500000) AS id"


async def measure(label: str, dsn: str) -> None:
    con = await asyncpg.connect(dsn)
    start = time.perf_counter()
    for _ in range(1000):
        await con.fetchval("SELECT 1")
    trips = 1000 / (time.perf_counter() - start)
    start = time.perf_counter()
    rows = await con.fetch("SELECT * FROM shop.web_events")
    table = len(rows) / (time.perf_counter() - start)
    start = time.perf_counter()
    count = 0
    async with con.transaction():
        async for _ in con.cursor(BIG, prefetch=10_000):
            count += 1
    stream = count / (time.perf_counter() - start)
    await con.close()
    print(f"{label:<10} {trips:>10,.0f} SELECT 1/s {table:>12,.0f} rows/s (web_events, binary) "
          f"{stream:>12,.0f} rows/s (500k streamed)")


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, demo_postgres(Path(workdir)) as warehouse:
        direct = (f"postgresql://{warehouse.role}:{warehouse.password}@{warehouse.host}:"
                  f"{warehouse.port}/{warehouse.database}")
        proxy = start_proxy(Path(workdir) / "proxy", Path(workdir) / "unused.duckdb",
                            backend="postgres", postgres=warehouse.proxy_settings(),
                            audit_log="off")
        try:
            asyncio.run(measure("direct", direct))
            asyncio.run(measure("proxy", proxy.dsn("etl")))
        finally:
            proxy.stop()


if __name__ == "__main__":
    main()
