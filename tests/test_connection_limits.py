"""max_connections counts established sessions; the handshake has its own bound.

A connection still in startup or authentication holds no session slot (so a burst of
connections, or slow and silent clients, cannot refuse real sessions), and it is dropped once
`authentication_timeout` has passed, as PostgreSQL's setting of that name does.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import asyncpg
import psycopg
import pytest

from tests.support.proxy_process import ProxyProcess, start_proxy
from tests.support.raw_client import RawConnection

pytestmark = pytest.mark.timeout(120)

LIMIT = 5


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir = tmp_path_factory.mktemp("limited")  # a DuckDB file is one process's alone
    running = start_proxy(workdir, workdir / "acme.duckdb", max_connections=LIMIT,
                          authentication_timeout=3, tls={"mode": "off"})
    yield running
    running.stop()


def test_silent_connections_hold_no_session_slot(limited: ProxyProcess) -> None:
    silent = [socket.create_connection((limited.host, limited.port)) for _ in range(3 * LIMIT)]
    sessions: list[psycopg.Connection] = []
    try:
        for _ in range(LIMIT):
            sessions.append(psycopg.connect(**limited.conninfo("ana"), autocommit=True))
        for conn in sessions:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(**limited.conninfo("ana"))
        assert "too many clients" in str(refused.value)
        assert f"max_connections is {LIMIT}" in str(refused.value)
    finally:
        for conn in sessions:
            conn.close()
        for sock in silent:
            sock.close()
    # The slots are free again once the sessions ended.
    with psycopg.connect(**limited.conninfo("ana")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_burst_is_refused_only_beyond_the_limit(limited: ProxyProcess) -> None:
    burst = 4 * LIMIT

    async def main() -> tuple[int, list[str]]:
        attempts = await asyncio.gather(
            *(asyncpg.connect(limited.dsn("ana"), ssl=False) for _ in range(burst)),
            return_exceptions=True)
        connected = [c for c in attempts if isinstance(c, asyncpg.Connection)]
        refusals = [getattr(e, "sqlstate", repr(e)) for e in attempts
                    if not isinstance(e, asyncpg.Connection)]
        for conn in connected:
            await conn.close()
        return len(connected), refusals

    connected, refusals = asyncio.run(main())
    assert connected == LIMIT
    assert refusals == ["53300"] * (burst - LIMIT)


def test_a_silent_client_is_dropped_after_the_authentication_timeout(
    limited: ProxyProcess,
) -> None:
    raw = RawConnection(limited.host, limited.port, timeout=60)
    try:
        reply = raw.read()  # blocks until the proxy gives up on the handshake
        if reply is not None:  # the error is sent when it can be; the close always happens
            assert reply.type == b"E"
            assert "timeout during startup" in reply.fields()["M"]
            assert "authentication_timeout" in reply.fields()["D"]
            assert raw.read() is None
    finally:
        raw.close()
