"""Latency and throughput through a real proxy process (embedded DuckDB demo), and its memory.

    .venv/bin/python -m bench.throughput
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import asyncpg
import psycopg

from tests.support.proxy_process import start_proxy


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(label: str, count: int, unit: str, action) -> None:
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {count / elapsed:>12,.0f} {unit}/s  ({elapsed * 1000:,.0f} ms)")


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        proxy = start_proxy(Path(workdir), Path(workdir) / "acme.duckdb", audit_log="off")
        try:
            pid = proxy.process.pid
            print(f"proxy RSS at start: {rss_mib(pid):.0f} MiB")
            with psycopg.connect(**proxy.conninfo("etl"), autocommit=True) as conn:
                def round_trips(n: int = 2000) -> None:
                    for _ in range(n):
                        conn.execute("SELECT 1")
                timed("SELECT 1 round trips (psycopg, extended)", 2000, "stmt", round_trips)

                def masked(n: int = 300) -> None:
                    with psycopg.connect(**proxy.conninfo("ana"), autocommit=True) as ana:
                        for i in range(n):
                            ana.execute("SELECT email FROM shop.customers WHERE id = %s", [i])
                timed("masked point query (ana, extended)", 300, "stmt", masked)

                def web_events() -> None:
                    assert len(conn.execute("SELECT * FROM shop.web_events").fetchall()) == 10_000
                timed("SELECT * FROM web_events (psycopg text)", 10_000, "rows", web_events)

                big = ("SELECT a.id, a.url, b.id FROM shop.web_events a, "
                       "(SELECT id FROM shop.web_events LIMIT 200) b")
                before = rss_mib(pid)

                def stream_big() -> None:
                    with conn.cursor(name="big") as cursor:
                        cursor.execute(big)
                        count = 0
                        while rows := cursor.fetchmany(10_000):
                            count += len(rows)
                    assert count == 2_000_000

                with conn.transaction():
                    timed("2M-row cross join streamed (named cursor)", 2_000_000, "rows",
                          stream_big)
                print(f"proxy RSS before/after the 2M-row result: {before:.0f} / "
                      f"{rss_mib(pid):.0f} MiB")

            async def binary() -> None:
                con = await asyncpg.connect(proxy.dsn("etl"))
                start = time.perf_counter()
                rows = await con.fetch("SELECT * FROM shop.web_events")
                elapsed = time.perf_counter() - start
                await con.close()
                print(f"{'SELECT * FROM web_events (asyncpg binary)':<44} "
                      f"{len(rows) / elapsed:>12,.0f} rows/s  ({elapsed * 1000:,.0f} ms)")

            asyncio.run(binary())
        finally:
            proxy.stop()


if __name__ == "__main__":
    main()
