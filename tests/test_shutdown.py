"""Stopping the proxy as an operator does: SIGTERM (smart, with a grace period), SIGINT (fast).

Anchors: PostgreSQL's smart/fast shutdown and pgbouncer's SHUTDOWN WAIT_FOR_CLIENTS. SIGTERM
stops accepting at once, ends idle sessions at once (FATAL 57P01), lets a running statement
finish within `shutdown_grace_period`, then cancels what still runs -- upstream too, so no
statement outlives the proxy on the warehouse. SIGINT does not wait. Both are logged.

A statement is kept running deterministically by a lock the test holds on the warehouse.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.proxy_process import ProxyProcess, start_proxy

pytestmark = pytest.mark.timeout(120)

BLOCKED = "SELECT count(*) FROM shop.products"


def wait_until(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def log_of(proxy: ProxyProcess) -> str:
    return (proxy.audit_file.parent / "proxy.log").read_text()


def refuses_connections(proxy: ProxyProcess) -> bool:
    try:
        psycopg.connect(**proxy.conninfo("ana"), connect_timeout=5).close()
    except psycopg.OperationalError:
        return True
    return False


def waiting_on_lock(admin: psycopg.Connection, role: str) -> bool:
    return bool(admin.execute(
        "SELECT 1 FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock' "
        "AND query LIKE %s", (role, "%products%")).fetchall())


def active_upstream(admin: psycopg.Connection, role: str) -> list[Any]:
    return admin.execute(
        "SELECT pid, state, query FROM pg_stat_activity WHERE usename = %s "
        "AND state = 'active'", (role,)).fetchall()


class Running:
    """A client statement run in a thread; its outcome once it ends."""

    def __init__(self, proxy: ProxyProcess) -> None:
        self.conn = psycopg.connect(**proxy.conninfo("etl"), autocommit=True)
        self.result: Any = None
        self.error: psycopg.Error | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self.conn.execute(BLOCKED).fetchone()
        except psycopg.Error as error:
            self.error = error

    def join(self) -> None:
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()


@pytest.fixture
def pg_proxy(tmp_path: Path, demo_postgres_warehouse: Any, request: pytest.FixtureRequest):
    grace = getattr(request, "param", 60)
    proxy = start_proxy(tmp_path / "proxy", tmp_path / "unused.duckdb", backend="postgres",
                        postgres=demo_postgres_warehouse.proxy_settings(),
                        shutdown_grace_period=grace)
    yield proxy
    proxy.stop()


@pytest.fixture
def locked(demo_postgres_warehouse: Any):
    """An admin connection holding an exclusive lock on shop.products (until it commits)."""
    with psycopg.connect(demo_postgres_warehouse.admin_conninfo) as admin, \
            psycopg.connect(demo_postgres_warehouse.admin_conninfo, autocommit=True) as viewer:
        admin.execute("LOCK TABLE shop.products IN ACCESS EXCLUSIVE MODE")
        yield admin, viewer
        admin.rollback()


@pytest.mark.postgres
def test_sigterm_lets_a_running_statement_finish_and_ends_idle_sessions(
    pg_proxy: ProxyProcess, locked: Any, demo_postgres_warehouse: Any
) -> None:
    admin, viewer = locked
    role = demo_postgres_warehouse.role
    idle = psycopg.connect(**pg_proxy.conninfo("ana"), autocommit=True)
    running = Running(pg_proxy)
    assert wait_until(lambda: waiting_on_lock(viewer, role)), viewer.execute(
        "SELECT usename, state, wait_event_type, query FROM pg_stat_activity").fetchall()

    pg_proxy.process.send_signal(signal.SIGTERM)
    assert wait_until(lambda: refuses_connections(pg_proxy))
    # The idle session was ended at once, with PostgreSQL's words for it.
    with pytest.raises(psycopg.OperationalError) as ended:
        idle.execute("SELECT 1")
    assert "administrator command" in str(ended.value) or idle.closed
    # The running statement is still waiting, and the proxy waits for it.
    assert waiting_on_lock(viewer, role)
    assert pg_proxy.process.poll() is None

    admin.commit()  # the lock goes: the statement finishes within the grace period
    running.join()
    assert running.error is None, running.error
    assert running.result == (60,)
    assert pg_proxy.process.wait(timeout=30) == 0
    log = log_of(pg_proxy)
    assert "shutdown requested" in log and "signal=SIGTERM" in log
    assert "grace period over" not in log
    assert "purpose-proxy stopped" in log
    running.conn.close()
    idle.close()


@pytest.mark.postgres
@pytest.mark.parametrize("pg_proxy", [1], indirect=True)
def test_sigterm_cancels_upstream_statements_past_the_grace_period(
    pg_proxy: ProxyProcess, locked: Any, demo_postgres_warehouse: Any
) -> None:
    _, viewer = locked
    role = demo_postgres_warehouse.role
    running = Running(pg_proxy)
    assert wait_until(lambda: waiting_on_lock(viewer, role))
    pg_proxy.process.send_signal(signal.SIGTERM)
    running.join()
    assert running.error is not None
    assert running.error.sqlstate in ("57P01", "57014", None), running.error
    assert pg_proxy.process.wait(timeout=30) == 0
    # Nothing the proxy started runs on after it is gone (the lock is still held).
    assert wait_until(lambda: not active_upstream(viewer, role), timeout=5), \
        active_upstream(viewer, role)
    log = log_of(pg_proxy)
    assert "grace period over" in log and "purpose-proxy stopped" in log
    running.conn.close()


@pytest.mark.postgres
def test_sigint_is_fast_and_cancels_upstream(
    pg_proxy: ProxyProcess, locked: Any, demo_postgres_warehouse: Any
) -> None:
    _, viewer = locked
    role = demo_postgres_warehouse.role
    running = Running(pg_proxy)
    assert wait_until(lambda: waiting_on_lock(viewer, role))
    pg_proxy.process.send_signal(signal.SIGINT)  # the grace period (60 s) does not apply
    running.join()
    assert running.error is not None
    assert pg_proxy.process.wait(timeout=30) == 0
    assert wait_until(lambda: not active_upstream(viewer, role), timeout=5), \
        active_upstream(viewer, role)
    log = log_of(pg_proxy)
    assert "signal=SIGINT" in log and "mode=fast" in log and "purpose-proxy stopped" in log
    running.conn.close()


def test_sigterm_on_the_embedded_warehouse(tmp_path: Path) -> None:
    proxy = start_proxy(tmp_path / "proxy", tmp_path / "acme.duckdb", shutdown_grace_period=60)
    try:
        idle = psycopg.connect(**proxy.conninfo("ana"), autocommit=True)
        assert idle.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
        proxy.process.send_signal(signal.SIGTERM)
        assert proxy.process.wait(timeout=30) == 0  # nothing runs: no grace period spent
        with pytest.raises(psycopg.OperationalError):
            idle.execute("SELECT 1")
        assert refuses_connections(proxy)
        log = log_of(proxy)
        assert "shutdown requested" in log and "purpose-proxy stopped" in log
        events = [e for e in proxy.audit_events() if e.get("event") == "connection"]
        assert [e["event_kind"] for e in events] == ["start", "end"]
        idle.close()
    finally:
        if proxy.process.poll() is None:
            proxy.process.kill()
