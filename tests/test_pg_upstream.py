"""The proxy as a *client* of a PostgreSQL warehouse: codec, connect (TLS, auth), cancel, pool.

Most tests run against the shared server on 127.0.0.1:5432 (trust authentication), in a
scratch role and database created here and dropped at the end; when it is unreachable a
throwaway cluster stands in. TLS and password authentication need a server configured for
them: one throwaway cluster (hostssl only, SCRAM, its own CA) is started for the module.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest

from proxy.backends import pg_wire
from proxy.backends.base import Column
from proxy.backends.pg_connect import (
    UpstreamConnection,
    cancel_request,
    connect,
    escape_option_value,
)
from proxy.backends.pg_pool import ConnectionPool
from proxy.errors import PgError, SqlState
from proxy.settings import PostgresSettings
from proxy.wire import backend as server_encode
from proxy.wire import frontend as server_decode
from tests.support.postgres import (
    Cluster,
    ClusterUnavailable,
    free_port,
    throwaway_cluster,
)
from tests.support.requirements import require

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(60)]

ROLE = "pp_upstream_test"
DATABASE = "pp_upstream_test"
PASSWORD = "pp-upstream-secret"
T = TypeVar("T")


def run(body: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
    async def main() -> T:
        return await asyncio.wait_for(body(), timeout)

    return asyncio.run(main())


async def simple_query(conn: UpstreamConnection, sql: str) -> list[tuple[str, bytes]]:
    """Send a Query; return every message up to and including ReadyForQuery."""
    conn.write(pg_wire.query(sql))
    await conn.flush()
    messages = []
    while True:
        type_byte, payload = await conn.read_message()
        messages.append((chr(type_byte), payload))
        if type_byte == ord("Z"):
            return messages


def text_rows(messages: list[tuple[str, bytes]]) -> list[tuple[str | None, ...]]:
    return [
        tuple(None if v is None else v.decode() for v in pg_wire.data_row(payload))
        for kind, payload in messages if kind == "D"
    ]


def errors(messages: list[tuple[str, bytes]]) -> list[PgError]:
    return [pg_wire.error(payload) for kind, payload in messages if kind == "E"]


async def scalar(conn: UpstreamConnection, sql: str) -> str | None:
    messages = await simple_query(conn, sql)
    assert not errors(messages), errors(messages)
    return text_rows(messages)[0][0]


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Warehouse:
    """A server with the scratch role and database, and a superuser connection for setup."""

    admin: dict[str, Any]  # psycopg.connect kwargs

    def settings(self, **overrides: Any) -> PostgresSettings:
        values: dict[str, Any] = {
            "host": self.admin["host"], "port": self.admin["port"], "database": DATABASE,
            "user": ROLE, "password": PASSWORD, "sslmode": "disable", "connect_timeout": 10,
        }
        values.update(overrides)
        return PostgresSettings(**values)

    def execute(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(**self.admin, autocommit=True) as conn:
            cursor = conn.execute(sql.encode(), params)  # type: ignore[arg-type]
            return list(cursor.fetchall()) if cursor.description else []

    def terminate(self, process_id: int) -> None:
        assert self.execute("SELECT pg_terminate_backend(%s)", [process_id]) == [(True,)]


def _drop_scratch(warehouse: Warehouse) -> None:
    warehouse.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    warehouse.execute(f"DROP ROLE IF EXISTS {ROLE}")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The shared server, else a throwaway cluster; with the scratch role and database."""
    shared = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres",
              "connect_timeout": 3}
    with ExitStack() as stack:
        try:
            psycopg.connect(**shared).close()
            found = Warehouse(shared)
        except psycopg.OperationalError:
            try:
                cluster = stack.enter_context(throwaway_cluster(tmp_path_factory.mktemp("pg")))
            except ClusterUnavailable as exc:
                require(False, f"PostgreSQL on 127.0.0.1:5432, or a throwaway cluster: {exc}")
                raise
            found = Warehouse(cluster.conninfo())
        _drop_scratch(found)  # leftovers of an interrupted run
        stack.callback(_drop_scratch, found)
        with psycopg.connect(**found.admin, autocommit=True) as conn:
            conn.execute("SET password_encryption = 'scram-sha-256'")
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'".encode())
        found.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        yield found


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """hostssl only, SCRAM by default; the certificate names `localhost` only."""
    hba = ["hostssl all pp_md5 127.0.0.1/32 md5", "hostssl all pp_clear 127.0.0.1/32 password"]
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(throwaway_cluster(
                tmp_path_factory.mktemp("pg-tls"), ssl=True, cert_hosts=("localhost",),
                extra_hba=hba,
            ))
        except ClusterUnavailable as exc:
            require(False, f"a throwaway PostgreSQL cluster: {exc}")
            raise
        cluster.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        cluster.execute("CREATE ROLE pp_clear LOGIN PASSWORD 'clear-secret'")
        cluster.execute("CREATE ROLE pp_nonstd LOGIN PASSWORD 'nonstd-secret'")
        cluster.execute("ALTER ROLE pp_nonstd SET standard_conforming_strings = off")
        with psycopg.connect(**cluster.conninfo(), autocommit=True) as conn:
            conn.execute("SET password_encryption = 'md5'")
            conn.execute("CREATE ROLE pp_md5 LOGIN PASSWORD 'md5-secret'")
        yield cluster


def tls_settings(cluster: Cluster, **overrides: Any) -> PostgresSettings:
    values: dict[str, Any] = {"user": ROLE, "password": PASSWORD, "sslmode": "require"}
    values.update(overrides)
    return cluster.postgres_settings(**values)


def connect_error(settings: PostgresSettings) -> PgError:
    async def body() -> PgError:
        with pytest.raises(PgError) as caught:
            conn = await connect(settings)
            await conn.close()
        return caught.value

    return run(body)


# --- codec, without a server ---------------------------------------------------------------


def _split(data: bytes) -> tuple[int, bytes]:
    type_byte, length = struct.unpack("!ci", data[:5])
    assert length == len(data) - 1
    return type_byte[0], data[5:]


def test_frontend_encoders_decode_as_the_proxys_server_side_decodes_them() -> None:
    decode = server_decode.decode_message
    assert decode(*_split(pg_wire.query("SELECT 1"))) == server_decode.Query("SELECT 1")
    assert decode(*_split(pg_wire.parse("s1", "SELECT $1", [23, 0]))) == server_decode.Parse(
        "s1", "SELECT $1", (23, 0)
    )
    bound = pg_wire.bind("p", "s1", [1, 0], [b"\x00\x00\x00\x2a", None, b""], [1])
    assert decode(*_split(bound)) == server_decode.Bind(
        "p", "s1", (1, 0), (b"\x00\x00\x00\x2a", None, b""), (1,)
    )
    assert decode(*_split(pg_wire.describe("P", "p"))) == server_decode.Describe("P", "p")
    assert decode(*_split(pg_wire.execute("p", 10))) == server_decode.Execute("p", 10)
    assert decode(*_split(pg_wire.close("S", "s1"))) == server_decode.Close("S", "s1")
    assert decode(*_split(pg_wire.SYNC)) == server_decode.Sync()
    assert decode(*_split(pg_wire.flush())) == server_decode.Flush()
    assert decode(*_split(pg_wire.terminate())) == server_decode.Terminate()
    assert decode(*_split(pg_wire.copy_data(b"1\t2\n"))) == server_decode.CopyData(b"1\t2\n")
    assert decode(*_split(pg_wire.copy_done())) == server_decode.CopyDone()
    assert decode(*_split(pg_wire.copy_fail("stop"))) == server_decode.CopyFail("stop")
    assert _split(pg_wire.password_message("pw")) == (ord("p"), b"pw\x00")
    assert _split(pg_wire.sasl_initial_response("SCRAM-SHA-256", b"n,,n=,r=x")) == (
        ord("p"), b"SCRAM-SHA-256\x00\x00\x00\x00\x09n,,n=,r=x"
    )
    assert _split(pg_wire.sasl_response(b"c=biws")) == (ord("p"), b"c=biws")

    startup = pg_wire.startup_message({"user": "u", "database": "d", "options": "-c a=b"})
    assert struct.unpack("!i", startup[:4])[0] == len(startup)
    assert server_decode.decode_startup_packet(startup[4:]) == server_decode.StartupMessage(
        3, 0, {"user": "u", "database": "d", "options": "-c a=b"}
    )
    assert server_decode.decode_startup_packet(pg_wire.ssl_request()[4:]) == (
        server_decode.SSLRequest()
    )
    key = bytes(range(32))  # protocol 3.2 keys are longer than 4 bytes
    assert server_decode.decode_startup_packet(pg_wire.cancel_request(77, key)[4:]) == (
        server_decode.CancelRequest(77, key)
    )
    with pytest.raises(PgError) as nul:
        pg_wire.query("SELECT '\x00'")
    assert nul.value.sqlstate == SqlState.CHARACTER_NOT_IN_REPERTOIRE


def test_backend_decoders_read_what_the_proxys_server_side_writes() -> None:
    columns = (Column("id", 23, 4, -1, 16384, 1), Column("name", 25, -1, -1, 16384, 2))
    encoded = server_encode.row_description(columns, [1, 0])
    type_byte, payload = _split(encoded)
    assert pg_wire.row_description(payload) == columns
    assert pg_wire.row_description_with_formats(payload) == (columns, (1, 0))
    assert pg_wire.message(type_byte, payload) == encoded  # byte for byte

    def body(encoded: bytes) -> bytes:
        return _split(encoded)[1]

    assert pg_wire.parameter_description(body(server_encode.parameter_description([23, 25]))) == (
        23, 25
    )
    assert pg_wire.command_tag(body(server_encode.command_complete("INSERT 0 3"))) == "INSERT 0 3"
    for status in ("I", "T", "E"):
        encoded = server_encode.ready_for_query(status)  # type: ignore[arg-type]
        assert pg_wire.ready_status(body(encoded)) == status
    assert pg_wire.parameter_status(body(server_encode.parameter_status("TimeZone", "UTC"))) == (
        "TimeZone", "UTC"
    )
    for key in (b"\x01\x02\x03\x04", bytes(range(32))):
        encoded = server_encode.backend_key_data(1234, key)
        assert pg_wire.backend_key_data(body(encoded)) == (1234, key)
    encoded = server_encode.data_row([b"1", None, b""], 3)
    assert pg_wire.data_row(body(encoded)) == (b"1", None, b"")

    sent = PgError("23505", "duplicate key", detail="Key (id)=(1) exists.", hint="h",
                   severity="ERROR")
    fields = pg_wire.error_fields(_split(server_encode.error_response(sent))[1])
    assert fields["C"] == "23505" and fields["M"] == "duplicate key" and fields["V"] == "ERROR"
    assert pg_wire.error_from_fields(fields) == sent
    assert pg_wire.error_from_fields({"S": "FATAL", "C": "57P01", "M": "bye"}).is_fatal


def test_malformed_backend_messages_are_protocol_violations() -> None:
    for decode, payload in (
        (pg_wire.ready_status, b"X"),
        (pg_wire.row_description, b"\x00\x01name"),
        (pg_wire.parameter_status, b"only-name\x00"),
        (pg_wire.backend_key_data, b"\x00\x00\x00\x01\x02"),
        (pg_wire.data_row, b"\x00\x01\xff\xff\xff\xfe"),
    ):
        with pytest.raises(PgError) as caught:
            decode(payload)  # type: ignore[operator]
        assert caught.value.sqlstate == SqlState.PROTOCOL_VIOLATION
        assert "the warehouse sent a malformed" in caught.value.message


def test_startup_options_escape_like_libpq() -> None:
    assert escape_option_value('"$user", public') == '"$user",\\ public'
    assert escape_option_value("a\\b\tc") == "a\\\\b\\\tc"


# --- one connection ------------------------------------------------------------------------


def test_connect_tracks_parameters_and_transaction_status(warehouse: Warehouse) -> None:
    async def body() -> None:
        conn = await connect(warehouse.settings())
        try:
            assert conn.process_id > 0 and len(conn.secret_key) == 4
            assert not conn.tls and conn.ready and conn.transaction_status == "I"
            assert conn.parameters["application_name"] == "purpose-proxy"
            assert conn.parameters["client_encoding"] == "UTF8"
            assert conn.parameters["standard_conforming_strings"] == "on"
            assert conn.server_version == conn.parameters["server_version"]
            assert conn.assumptions_hold

            messages = await simple_query(conn, "SET application_name = 'renamed'")
            assert ("S", b"application_name\x00renamed\x00") in messages
            assert conn.parameters["application_name"] == "renamed"
            await simple_query(conn, "BEGIN")
            assert conn.transaction_status == "T"
            failed = await simple_query(conn, "SELECT 1/0")
            assert errors(failed)[0].sqlstate == SqlState.DIVISION_BY_ZERO
            assert conn.transaction_status == "E"
            await simple_query(conn, "ROLLBACK")
            assert conn.transaction_status == "I"
            # A change the analyzer cannot live with is visible at once.
            await simple_query(conn, "SET standard_conforming_strings = off")
            assert not conn.assumptions_hold
        finally:
            await conn.close()
        assert conn.closed

    run(body)


def test_extended_protocol_round_trip_with_binary_values(warehouse: Warehouse) -> None:
    async def body() -> None:
        conn = await connect(warehouse.settings())
        try:
            conn.write(pg_wire.parse("", "SELECT $1::int + 1", [23]))
            conn.write(pg_wire.bind("", "", [1], [struct.pack("!i", 41)], [1]))
            conn.write(pg_wire.describe("P", ""))
            conn.write(pg_wire.execute("", 0))
            conn.write(pg_wire.SYNC)
            assert not conn.ready
            await conn.flush()
            received = []
            while not received or received[-1][0] != ord("Z"):
                received.append(await conn.read_message())
            kinds = "".join(chr(t) for t, _ in received)
            assert kinds == "12TDCZ"
            columns, formats = pg_wire.row_description_with_formats(received[2][1])
            assert [(c.name, c.type_oid, c.type_size) for c in columns] == [("?column?", 23, 4)]
            assert formats == (1,)
            # The DataRow exactly as the warehouse sent it: one field, 4 bytes, 42.
            assert pg_wire.message(*received[3]) == (
                b"D\x00\x00\x00\x0e" b"\x00\x01" b"\x00\x00\x00\x04" b"\x00\x00\x00\x2a"
            )
            assert pg_wire.command_tag(received[4][1]) == "SELECT 1"
            assert conn.ready and conn.transaction_status == "I"

            conn.write(pg_wire.parse("named", "SELECT $1::text, $2::int8", []))
            conn.write(pg_wire.describe("S", "named"))
            conn.write(pg_wire.SYNC)
            await conn.flush()
            received = []
            while not received or received[-1][0] != ord("Z"):
                received.append(await conn.read_message())
            assert "".join(chr(t) for t, _ in received) == "1tTZ"
            assert pg_wire.parameter_description(received[1][1]) == (25, 20)
        finally:
            await conn.close()

    run(body)


def test_search_path_is_pinned_as_the_session_default(warehouse: Warehouse) -> None:
    pinned = '"my schema", public'

    async def body() -> None:
        conn = await connect(warehouse.settings(search_path=pinned))
        try:
            assert await scalar(conn, "SHOW search_path") == pinned
            await simple_query(conn, "SET search_path = pg_catalog")
            assert await scalar(conn, "SHOW search_path") == "pg_catalog"
            await simple_query(conn, "DISCARD ALL")
            assert await scalar(conn, "SHOW search_path") == pinned
            await simple_query(conn, "SET search_path = pg_catalog")
            await simple_query(conn, "RESET ALL")
            assert await scalar(conn, "SHOW search_path") == pinned
        finally:
            await conn.close()

    run(body)


def test_cancel_request_interrupts_a_running_statement(warehouse: Warehouse) -> None:
    async def body() -> None:
        conn = await connect(warehouse.settings())
        try:
            started = time.monotonic()
            running = asyncio.create_task(simple_query(conn, "SELECT pg_sleep(30)"))
            await asyncio.sleep(0.2)
            await cancel_request(conn.settings, conn.process_id, conn.secret_key)
            messages = await running
            assert time.monotonic() - started < 5
            assert [e.sqlstate for e in errors(messages)] == [SqlState.QUERY_CANCELED]
            assert await scalar(conn, "SELECT 'still usable'") == "still usable"
        finally:
            await conn.close()

    run(body)


def test_terminated_backend_reads_as_a_lost_connection(warehouse: Warehouse) -> None:
    async def body() -> None:
        conn = await connect(warehouse.settings())
        warehouse.terminate(conn.process_id)
        type_byte, payload = await conn.read_message()  # PostgreSQL's goodbye
        assert chr(type_byte) == "E"
        assert pg_wire.error(payload).sqlstate == SqlState.ADMIN_SHUTDOWN
        with pytest.raises(PgError) as lost:
            await conn.read_message()
        assert lost.value.sqlstate == SqlState.CONNECTION_FAILURE
        assert lost.value.message == "connection to the warehouse was lost"
        assert lost.value.severity == "ERROR"
        assert conn.broken and not conn.ready
        with pytest.raises(PgError):
            conn.write(pg_wire.SYNC)
            await conn.flush()
        await conn.close()

    run(body)


def test_unreachable_warehouse_is_a_clear_error(warehouse: Warehouse) -> None:
    port = free_port()
    error = connect_error(warehouse.settings(port=port))
    assert error.sqlstate == SqlState.CONNECTION_FAILURE
    assert error.message.startswith(f"could not connect to the warehouse at 127.0.0.1:{port}: ")
    assert "refused" in error.message.lower()

    error = connect_error(warehouse.settings(host="no-such-host.invalid"))
    assert error.message.startswith("could not connect to the warehouse at no-such-host.invalid")


def test_connect_timeout_applies_to_a_silent_server(warehouse: Warehouse) -> None:
    async def body() -> tuple[PgError, float]:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(10)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        started = time.monotonic()
        try:
            with pytest.raises(PgError) as caught:
                await connect(warehouse.settings(port=port, connect_timeout=0.3))
        finally:
            server.close()
        return caught.value, time.monotonic() - started

    error, elapsed = run(body)
    assert error.sqlstate == SqlState.CONNECTION_FAILURE
    assert error.message.endswith(": timeout expired")
    assert elapsed < 2


def test_bytes_injected_after_the_tls_answer_are_refused(warehouse: Warehouse) -> None:
    """CVE-2021-23222: a man in the middle answers 'S' and appends plaintext 'responses'."""

    async def body() -> PgError:
        async def injector(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readexactly(8)  # the SSLRequest
            writer.write(b"S" + pg_wire.message(ord("R"), b"\x00\x00\x00\x00"))
            await writer.drain()
            await asyncio.sleep(5)

        server = await asyncio.start_server(injector, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(PgError) as caught:
                await connect(warehouse.settings(port=port, sslmode="require"))
        finally:
            server.close()
        return caught.value

    error = run(body)
    assert error.sqlstate == SqlState.CONNECTION_FAILURE
    assert "unencrypted data after the TLS response" in error.message


def test_sslmode_against_a_server_without_tls(warehouse: Warehouse) -> None:
    async def body() -> None:
        conn = await connect(warehouse.settings(sslmode="prefer"))
        assert not conn.tls and conn.ssl_object is None
        await conn.close()

    if warehouse.admin["port"] == 5432:  # the shared server runs with ssl = off
        run(body)
        error = connect_error(warehouse.settings(sslmode="require"))
        assert "does not support TLS" in error.message


# --- the pool ------------------------------------------------------------------------------


def test_pool_reuses_connections(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=2))
        try:
            first = await pool.acquire()
            assert pool.stats() == {"size": 1, "idle": 0, "in_use": 1, "opening": 0, "waiting": 0}
            await pool.release(first)
            assert pool.stats()["idle"] == 1
            again = await pool.acquire()
            assert again is first
            second = await pool.acquire()
            assert second is not first and pool.stats()["size"] == 2
            await pool.release(again)
            await pool.release(second)
            assert pool.stats() == {"size": 2, "idle": 2, "in_use": 0, "opening": 0, "waiting": 0}
        finally:
            await pool.close()
        assert pool.stats()["size"] == 0
        with pytest.raises(PgError) as closed:
            await pool.acquire()
        assert closed.value.sqlstate == SqlState.ADMIN_SHUTDOWN

    run(body)


def test_pool_limit_times_out_waiters_with_53300(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=1, pool_timeout=0.3))
        try:
            held = await pool.acquire()
            started = time.monotonic()
            with pytest.raises(PgError) as caught:
                await pool.acquire()
            elapsed = time.monotonic() - started
            assert 0.25 < elapsed < 1.5
            assert caught.value.sqlstate == SqlState.TOO_MANY_CONNECTIONS
            assert caught.value.message == (
                "no warehouse connection became free within 0.3s (pool_size 1)"
            )
            assert caught.value.hint == "Raise postgres.pool_size, or close idle sessions"
            assert pool.stats()["waiting"] == 0
            await pool.release(held)
            assert await pool.acquire() is held  # the queue is consistent afterwards
            await pool.release(held)
        finally:
            await pool.close()

    run(body)


def test_pool_hands_a_released_connection_to_the_first_waiter(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=1, pool_timeout=5))
        try:
            held = await pool.acquire()
            first = asyncio.create_task(pool.acquire())
            await asyncio.sleep(0.01)
            second = asyncio.create_task(pool.acquire())
            await asyncio.sleep(0.01)
            assert pool.stats()["waiting"] == 2
            await pool.release(held)
            got = await asyncio.wait_for(first, 2)
            assert got is held and not second.done()
            await pool.release(got)
            assert await asyncio.wait_for(second, 2) is held
            await pool.release(held)
            assert pool.stats() == {"size": 1, "idle": 1, "in_use": 0, "opening": 0, "waiting": 0}
        finally:
            await pool.close()

    run(body)


def test_pool_waiter_cancelled_leaves_the_queue_consistent(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=1, pool_timeout=5))
        try:
            held = await pool.acquire()
            cancelled = asyncio.create_task(pool.acquire())
            behind = asyncio.create_task(pool.acquire())
            await asyncio.sleep(0.01)
            assert pool.stats()["waiting"] == 2
            cancelled.cancel()
            await asyncio.sleep(0)
            assert pool.stats()["waiting"] == 1
            await pool.release(held)
            assert await asyncio.wait_for(behind, 2) is held
            assert cancelled.cancelled()

            # Served and cancelled in the same instant: the connection is not lost.
            racing = asyncio.create_task(pool.acquire())
            await asyncio.sleep(0.01)
            await pool.release(held)  # resolves racing's future...
            racing.cancel()  # ...before racing runs
            with pytest.raises(asyncio.CancelledError):
                await racing
            assert pool.stats() == {"size": 1, "idle": 1, "in_use": 0, "opening": 0, "waiting": 0}
            assert await pool.acquire() is held
            await pool.release(held)
        finally:
            await pool.close()

    run(body)


def test_pool_reset_leaks_nothing_to_the_next_lease(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=1))
        try:
            conn = await pool.acquire()
            default_timeout = await scalar(conn, "SHOW statement_timeout")
            await simple_query(conn, "SET statement_timeout = '12s'")
            await simple_query(conn, "SET application_name = 'someone else'")
            await simple_query(conn, "BEGIN")
            await simple_query(conn, "CREATE TEMP TABLE leak (x int)")
            await simple_query(conn, "PREPARE leaky AS SELECT 1")
            assert conn.transaction_status == "T"
            await pool.release(conn)

            again = await pool.acquire()
            assert again is conn and again.transaction_status == "I"
            assert await scalar(again, "SHOW statement_timeout") == default_timeout
            assert again.parameters["application_name"] == "purpose-proxy"
            missing = await simple_query(again, "SELECT * FROM leak")
            assert errors(missing)[0].sqlstate == SqlState.UNDEFINED_TABLE
            await simple_query(again, "BEGIN")
            await simple_query(again, "SELECT 1/0")  # a failed transaction ('E')
            assert again.transaction_status == "E"
            await pool.release(again)

            third = await pool.acquire()
            assert third is conn and third.transaction_status == "I"
            assert await scalar(third, "SELECT count(*) FROM pg_prepared_statements") == "0"
            await pool.release(third)
        finally:
            await pool.close()

    run(body)


def test_pool_discards_broken_and_mid_statement_connections(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=2))
        try:
            conn = await pool.acquire()
            warehouse.terminate(conn.process_id)
            with pytest.raises(PgError) as lost:
                while True:
                    _, payload = await conn.read_message()
                    assert pg_wire.error(payload).sqlstate == SqlState.ADMIN_SHUTDOWN
            assert lost.value.sqlstate == SqlState.CONNECTION_FAILURE
            await pool.release(conn, broken=True)
            assert pool.stats()["size"] == 0 and conn.closed

            busy = await pool.acquire()
            busy.write(pg_wire.query("SELECT pg_sleep(0.2)"))  # released without reading
            await busy.flush()
            await pool.release(busy)
            assert pool.stats()["size"] == 0 and busy.closed

            fresh = await pool.acquire()
            assert fresh is not busy and await scalar(fresh, "SELECT 1") == "1"
            await pool.release(fresh)
        finally:
            await pool.close()

    run(body)


def test_pool_replaces_a_dead_idle_connection_on_acquire(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=1), health_check_after=0.0)
        try:
            conn = await pool.acquire()
            await pool.release(conn)
            assert await pool.acquire() is conn  # healthy: passes the SELECT 1 check
            await pool.release(conn)
            old_pid = conn.process_id
            warehouse.terminate(old_pid)
            await asyncio.sleep(0.1)
            replacement = await pool.acquire()
            assert replacement is not conn and replacement.process_id != old_pid
            assert conn.closed
            assert pool.stats() == {"size": 1, "idle": 0, "in_use": 1, "opening": 0, "waiting": 0}
            await pool.release(replacement)
        finally:
            await pool.close()

    run(body)


def test_pool_frees_the_slot_when_opening_fails(warehouse: Warehouse) -> None:
    async def body() -> None:
        attempts = 0

        async def flaky(settings: PostgresSettings) -> UpstreamConnection:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise PgError(SqlState.CONNECTION_FAILURE, "could not connect (test)")
            return await connect(settings)

        pool = ConnectionPool(warehouse.settings(pool_size=1), connect=flaky)
        try:
            with pytest.raises(PgError):
                await pool.acquire()
            assert pool.stats()["size"] == 0
            conn = await pool.acquire()
            await pool.release(conn)
        finally:
            await pool.close()

    run(body)


def test_pool_stays_consistent_under_concurrency_and_cancellation(warehouse: Warehouse) -> None:
    async def body() -> None:
        pool = ConnectionPool(warehouse.settings(pool_size=3, pool_timeout=5))
        seen: set[int] = set()

        async def client(n: int) -> None:
            for _ in range(4):
                conn = await pool.acquire()
                try:
                    assert pool.size <= 3
                    seen.add(conn.process_id)
                    assert await scalar(conn, f"SELECT {n}") == str(n)
                finally:
                    await pool.release(conn)

        try:
            tasks = [asyncio.create_task(client(n)) for n in range(20)]
            await asyncio.sleep(0.01)
            for task in tasks[::4]:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(r is None or isinstance(r, asyncio.CancelledError) for r in results)
            stats = pool.stats()
            assert stats["waiting"] == 0 and stats["in_use"] == 0 and stats["opening"] == 0
            assert stats["size"] == stats["idle"] <= 3
            assert len(seen) <= 3 + 5  # cancelled mid-statement connections are replaced
        finally:
            await pool.close()

    run(body)


# --- TLS and authentication (throwaway cluster) ----------------------------------------------


def test_scram_over_tls(tls_cluster: Cluster) -> None:
    async def body() -> None:
        conn = await connect(tls_settings(tls_cluster))
        try:
            assert conn.tls and conn.ssl_object is not None
            assert conn.ssl_object.version() in ("TLSv1.2", "TLSv1.3")
            ssl_on = await scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert ssl_on == "t"
            auth = await scalar(conn, "SELECT current_user")
            assert auth == ROLE
            # Cancel goes through the same sslmode negotiation.
            running = asyncio.create_task(simple_query(conn, "SELECT pg_sleep(30)"))
            await asyncio.sleep(0.2)
            await conn.cancel()
            assert [e.sqlstate for e in errors(await running)] == [SqlState.QUERY_CANCELED]
        finally:
            await conn.close()

    run(body)


def test_wrong_password_says_the_proxys_credentials_were_refused(tls_cluster: Cluster) -> None:
    error = connect_error(tls_settings(tls_cluster, password="not-the-password"))
    assert error.sqlstate == SqlState.CONNECTION_FAILURE  # not 28P01: the client's login was fine
    assert error.message == (
        f"the warehouse at 127.0.0.1:{tls_cluster.port} refused the proxy's credentials"
    )
    assert "password authentication failed" in (error.detail or "")
    assert "postgres.password" in (error.hint or "")
    for text in (error.message, error.detail or "", error.hint or ""):
        assert "not-the-password" not in text and PASSWORD not in text

    missing = connect_error(tls_settings(tls_cluster, password=None))
    assert "postgres.password is not set" in missing.message


def test_md5_and_cleartext_password_authentication(tls_cluster: Cluster) -> None:
    async def body() -> None:
        for user, password in (("pp_md5", "md5-secret"), ("pp_clear", "clear-secret")):
            conn = await connect(tls_settings(tls_cluster, user=user, password=password))
            assert await scalar(conn, "SELECT current_user") == user
            await conn.close()

    run(body)
    assert tls_cluster.execute(
        "SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = 'pp_md5'"
    ) == [("md5",)]
    error = connect_error(tls_settings(tls_cluster, user="pp_md5", password="wrong"))
    assert "refused the proxy's credentials" in error.message


def test_verify_full_checks_chain_and_host_name(tls_cluster: Cluster) -> None:
    assert tls_cluster.ca_file is not None

    async def body() -> None:
        # The certificate names "localhost": verify-full to localhost, verify-ca to the IP.
        for settings in (
            tls_settings(tls_cluster, host="localhost", sslmode="verify-full",
                         sslrootcert=tls_cluster.ca_file),
            tls_settings(tls_cluster, sslmode="verify-ca", sslrootcert=tls_cluster.ca_file),
        ):
            conn = await connect(settings)
            assert conn.tls
            await conn.close()

    run(body)

    wrong_host = connect_error(
        tls_settings(tls_cluster, sslmode="verify-full", sslrootcert=tls_cluster.ca_file)
    )
    assert wrong_host.sqlstate == SqlState.CONNECTION_FAILURE
    assert "TLS certificate verification failed" in wrong_host.message
    assert "127.0.0.1" in wrong_host.message and "mismatch" in wrong_host.message.lower()


def test_verify_ca_rejects_another_ca_and_a_missing_root(
    tls_cluster: Cluster, tmp_path: Path
) -> None:
    from proxy.wire.tls import generate_self_signed

    other_ca = tmp_path / "other.crt"
    generate_self_signed(other_ca, tmp_path / "other.key")
    wrong_ca = connect_error(tls_settings(tls_cluster, sslmode="verify-ca", sslrootcert=other_ca))
    assert "TLS certificate verification failed" in wrong_ca.message

    missing = connect_error(
        tls_settings(tls_cluster, sslmode="verify-full", sslrootcert=tmp_path / "nope.crt")
    )
    assert "does not exist" in missing.message


def test_sslmodes_against_a_hostssl_only_server(tls_cluster: Cluster) -> None:
    error = connect_error(tls_settings(tls_cluster, sslmode="disable"))
    assert error.sqlstate == SqlState.CONNECTION_FAILURE
    assert error.message == (
        f"the warehouse at 127.0.0.1:{tls_cluster.port} refused the proxy's connection"
    )
    assert "no encryption" in (error.detail or "")
    assert "requires TLS" in (error.hint or "")

    async def body() -> None:
        for mode in ("allow", "prefer"):  # allow: plain refused, then TLS (as libpq)
            conn = await connect(tls_settings(tls_cluster, sslmode=mode))
            assert conn.tls, mode
            await conn.close()

    run(body)


def test_a_warehouse_without_standard_strings_is_refused(tls_cluster: Cluster) -> None:
    error = connect_error(tls_settings(tls_cluster, user="pp_nonstd", password="nonstd-secret"))
    assert error.sqlstate == SqlState.FEATURE_NOT_SUPPORTED
    assert "standard_conforming_strings is 'off'" in error.message
