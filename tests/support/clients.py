"""Helpers shared by the real-client tests (tests/test_client_*.py).

Expected values come from `proxy.demo.data.demo_rows()`, the same deterministic generator that
fills the warehouse, so that every assertion compares what a client received over the wire
with rows computed independently of the proxy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from typing import Any

from proxy.demo.data import demo_rows
from tests.support.proxy_process import ProxyProcess

#: A statement that runs far longer than any test waits (10,000^3 rows), for cancel tests.
LONG_STATEMENT = "SELECT count(*) FROM shop.web_events a, shop.web_events b, shop.web_events c"

SHOP_TABLES = sorted(
    ["customers", "orders", "order_items", "payments", "products", "support_tickets", "web_events"]
)


def table(name: str) -> list[dict[str, Any]]:
    """The demo rows of one shop table, as dicts, in generation (= id) order."""
    columns, rows = demo_rows()[name]
    return [dict(zip(columns, row)) for row in rows]


def customers_by_id() -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in table("customers")}


def pg_text(value: Any) -> str:
    """A value as PostgreSQL's text output prints it (for the types of the demo tables)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


# --- psql ------------------------------------------------------------------------------------


def psql_binary() -> str | None:
    return shutil.which("psql")


def psql_conninfo(proxy: ProxyProcess, user: str = "ana", **params: str) -> str:
    options = {"host": proxy.host, "port": str(proxy.port), "dbname": proxy.database, "user": user}
    options.update(params)
    return " ".join(f"{k}={v}" for k, v in options.items())


def run_psql(
    proxy: ProxyProcess,
    *args: str,
    user: str = "ana",
    password: str | None = None,
    stdin: str | None = None,
    timeout: float = 30,
    **params: str,
) -> subprocess.CompletedProcess[str]:
    """Run the real psql binary against the proxy (no psqlrc, C locale, PGPASSWORD)."""
    binary = psql_binary()
    assert binary is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(
        PGPASSWORD=user if password is None else password,
        PGCONNECT_TIMEOUT="10",
        LC_ALL="C.UTF-8",
        LANG="C.UTF-8",
        PAGER="",
        PSQL_PAGER="",
    )
    return subprocess.run(
        [binary, "-X", "--no-password", psql_conninfo(proxy, user, **params), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
