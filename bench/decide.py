"""How long the decision core takes per statement (pure: no server, no warehouse).

    .venv/bin/python -m bench.decide
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from proxy.check import check
from proxy.policy import load_deployment

REPO = Path(__file__).resolve().parents[1]
STATEMENTS = {
    "constant": ("ana", "SELECT 1"),
    "masked select": ("ana", "SELECT id, email, full_name, country FROM shop.customers WHERE id < 10"),
    "aggregate + k guard": ("ana", "SELECT country, count(*), avg(extract(year FROM birth_date)) "
                            "FROM shop.customers GROUP BY country"),
    "row filter join": ("sam", "SELECT t.body, c.email FROM shop.support_tickets t "
                        "JOIN shop.customers c ON c.id = t.customer_id WHERE t.channel = 'email'"),
    "rejection": ("ana", "SELECT phone FROM shop.customers"),
    "psql \\d query": ("ana", "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "
                       "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.relname OPERATOR(pg_catalog.~) '^(customers)$' COLLATE "
                       "pg_catalog.default AND n.nspname OPERATOR(pg_catalog.~) '^(shop)$' "
                       "COLLATE pg_catalog.default ORDER BY 2, 3"),
}


def main(rounds: int = 200) -> None:
    deployment = load_deployment(REPO / "catalog", REPO / "policies")
    print(f"{'statement':<22} {'median ms':>10} {'p95 ms':>8}")
    for name, (user, sql) in STATEMENTS.items():
        check(deployment, user, None, sql)  # warm caches
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            check(deployment, user, None, sql)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        print(f"{name:<22} {statistics.median(samples):>10.2f} "
              f"{samples[int(len(samples) * 0.95)]:>8.2f}")


if __name__ == "__main__":
    main()
