"""Does one session's statement stall the others? A bystander's `SELECT 1` latency while
another session sends one pathological statement to a real proxy (embedded DuckDB).

    .venv/bin/python -m bench.analysis_stall [and|or|in|nest|union|string] [size] \
        [analysis_setting=value ...]

e.g. `... and 6000` (the default budgets refuse it), `... or 3000` (decided: seconds of analysis),
`... and 6000 max_parse_nodes=50000 max_seconds=60` (the budgets raised).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from tests.support.proxy_process import start_proxy

SHAPES = {
    "and": lambda n: "SELECT count(*) FROM shop.customers WHERE "
    + " AND ".join(f"id <> {i}" for i in range(n)),
    "or": lambda n: "SELECT count(*) FROM shop.customers WHERE "
    + " OR ".join(f"id = {i}" for i in range(n)),
    "in": lambda n: "SELECT count(*) FROM shop.customers WHERE id IN ("
    + ", ".join(str(i) for i in range(n)) + ")",
    "nest": lambda n: "SELECT count(*) FROM shop.customers WHERE id = " + "(" * n + "1" + ")" * n,
    "union": lambda n: " UNION ALL ".join(
        f"SELECT id FROM shop.customers WHERE id = {i}" for i in range(n)),
    "string": lambda n: "SELECT count(*) FROM shop.customers WHERE country = '" + "x" * n + "'",
}


def main() -> None:
    shape = sys.argv[1] if len(sys.argv) > 1 else "and"
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
    limits = {k: float(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])}
    sql = SHAPES[shape](size)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proxy = start_proxy(work, work / "acme.duckdb", **({"analysis": limits} if limits else {}))
        try:
            conninfo = proxy.conninfo("ana")
            outcome: dict[str, object] = {}

            def attack() -> None:
                started = time.monotonic()
                try:
                    with psycopg.connect(**conninfo, autocommit=True) as conn:  # type: ignore[arg-type]
                        conn.execute(sql).fetchall()
                    outcome["result"] = "answered"
                except psycopg.Error as error:
                    outcome["result"] = f"{error.sqlstate} {error.diag.message_primary}"
                outcome["seconds"] = time.monotonic() - started

            latencies = []
            with psycopg.connect(**conninfo, autocommit=True) as bystander:  # type: ignore[arg-type]
                bystander.execute("SELECT 1").fetchall()
                attacker = threading.Thread(target=attack)
                attacker.start()
                while attacker.is_alive():
                    started = time.monotonic()
                    bystander.execute("SELECT 1").fetchall()
                    latencies.append((time.monotonic() - started) * 1000)
                    time.sleep(0.02)
                attacker.join()
        finally:
            proxy.stop()
    print(f"{shape} {size}: {len(sql):,} bytes, {outcome['seconds']:.2f} s -> {outcome['result']}")
    if latencies:
        latencies.sort()
        print(f"bystander SELECT 1: n={len(latencies)} p50={statistics.median(latencies):.1f} ms "
              f"p99={latencies[int(len(latencies) * 0.99)]:.1f} ms max={latencies[-1]:.1f} ms")


if __name__ == "__main__":
    main()
