"""A pool of warehouse connections shared by client sessions.

Opening a PostgreSQL connection costs a process fork, authentication and often a TLS
handshake; a pool pays it once per connection instead of once per client session, and its
size limit protects the warehouse's max_connections from a burst of clients.

The API is a *lease*: `acquire()` hands out one connection that is clean (no transaction, no
session state of a previous holder), `release()` takes it back and cleans it. The pool keeps
no notion of "whose session" a connection belongs to, so the same lease can later span a
single transaction (transaction pooling: release at ReadyForQuery 'I') instead of a whole
client session; only the caller's choice of when to release changes.

Waiting is fair (FIFO) and bounded by pool_timeout. A released connection goes straight to the
longest waiter; a freed slot lets the longest waiter open a new connection. Every step is
cancellation-safe: a waiter cancelled at any point leaves the queue and the counts consistent
and never strands a connection or a slot.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

import structlog

from proxy.backends import pg_wire
from proxy.backends.pg_connect import UpstreamConnection, connect
from proxy.errors import PgError, SqlState
from proxy.settings import PostgresSettings
from proxy.wire.protocol import Backend

Connect = Callable[[PostgresSettings], Awaitable[UpstreamConnection]]


class _Slot:
    """A grant to a waiter: "you may open a new connection" (already counted in the size)."""


log = structlog.get_logger(__name__)
_SLOT = _Slot()
_Grant = UpstreamConnection | _Slot

_ROLLBACK = pg_wire.query("ROLLBACK")
_DISCARD_ALL = pg_wire.query("DISCARD ALL")
_HEALTH_CHECK = pg_wire.query("SELECT 1")


class ConnectionPool:
    """Session pooling over `connect()`; see the module docstring for the lease contract.

    `health_check_after`: a connection idle for longer than this many seconds is checked with
    `SELECT 1` before it is handed out (and replaced if dead). `reset_timeout` bounds the
    ROLLBACK / DISCARD ALL done on release and the health check.
    """

    def __init__(
        self,
        settings: PostgresSettings,
        connect: Connect = connect,
        *,
        health_check_after: float = 30.0,
        reset_timeout: float = 5.0,
    ) -> None:
        self._settings = settings
        self._connect = connect
        self._health_check_after = health_check_after
        self._reset_timeout = reset_timeout
        self._idle: deque[UpstreamConnection] = deque()
        self._in_use: set[UpstreamConnection] = set()
        self._opening = 0  # slots reserved for connections being opened
        self._waiters: deque[asyncio.Future[_Grant]] = deque()
        self._cancels: set[asyncio.Task[None]] = set()  # for dropped busy connections
        self._closed = False

    # --- accounting ------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Connections that exist or are being opened (counted against pool_size)."""
        return len(self._idle) + len(self._in_use) + self._opening

    def stats(self) -> dict[str, int]:
        return {
            "size": self.size,
            "idle": len(self._idle),
            "in_use": len(self._in_use),
            "opening": self._opening,
            "waiting": sum(1 for waiter in self._waiters if not waiter.done()),
        }

    def _take_now(self) -> _Grant | None:
        """A grant without waiting, unless others wait already (they go first)."""
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        if self._waiters:
            return None
        if self._idle:
            conn = self._idle.pop()  # most recently used: warm, and lets the others age
            self._in_use.add(conn)
            return conn
        if self.size < self._settings.pool_size:
            self._opening += 1
            return _SLOT
        return None

    def _serve_waiters(self) -> None:
        """Hand idle connections and free slots to waiters, oldest first."""
        while self._waiters and (self._idle or self.size < self._settings.pool_size):
            waiter = self._waiters.popleft()
            if waiter.done():  # cancelled, not yet removed by its task
                continue
            if self._idle:
                conn = self._idle.pop()
                self._in_use.add(conn)
                waiter.set_result(conn)
            else:
                self._opening += 1
                waiter.set_result(_SLOT)

    def _give_back(self, grant: _Grant) -> None:
        """Undo a grant its receiver will not use (it was cancelled after being served)."""
        if isinstance(grant, _Slot):
            self._opening -= 1
        else:
            self._in_use.discard(grant)
            if grant.broken or grant.closed or self._closed:
                grant.abort()
            else:
                self._idle.append(grant)
        self._serve_waiters()

    def _cancel_later(self, conn: UpstreamConnection) -> None:
        task = asyncio.get_running_loop().create_task(_cancel_quietly(conn))
        self._cancels.add(task)
        task.add_done_callback(self._cancels.discard)

    def _forget(self, conn: UpstreamConnection) -> None:
        """Stop counting `conn` (it is being discarded) and let a waiter use the slot."""
        self._in_use.discard(conn)
        self._serve_waiters()

    # --- leasing ---------------------------------------------------------------------------

    async def acquire(self) -> UpstreamConnection:
        """A clean connection: idle, else new while under pool_size, else the first one freed
        within pool_timeout (then 53300)."""
        self._check_open()
        grant = self._take_now()
        if grant is None:
            grant = await self._wait()
        if isinstance(grant, _Slot):
            return await self._open_reserved()
        if await self._usable(grant):
            return grant
        return await self._open_reserved()  # the dead one's slot, for a fresh one

    async def _wait(self) -> _Grant:
        waiter: asyncio.Future[_Grant] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        timeout = self._settings.pool_timeout
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            grant = self._abandon(waiter)
            if grant is not None:  # served just as the timeout fired: use it
                return grant
            raise PgError(
                SqlState.TOO_MANY_CONNECTIONS,
                f"no warehouse connection became free within {timeout:g}s "
                f"(pool_size {self._settings.pool_size})",
                hint="Raise postgres.pool_size, or close idle sessions",
            ) from None
        except BaseException:
            grant = self._abandon(waiter)
            if grant is not None:
                self._give_back(grant)
            raise

    def _abandon(self, waiter: asyncio.Future[_Grant]) -> _Grant | None:
        """Leave the queue; returns the grant if the waiter had been served meanwhile."""
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            return waiter.result()
        waiter.cancel()
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass
        self._serve_waiters()  # whoever queued behind us must not wait for nothing
        return None

    async def _open_reserved(self) -> UpstreamConnection:
        try:
            conn = await self._connect(self._settings)
        except BaseException:
            self._opening -= 1
            self._serve_waiters()
            raise
        self._opening -= 1
        if self._closed:
            await conn.close()
            self._serve_waiters()
            self._check_open()
        self._in_use.add(conn)
        return conn

    def _replace(self, conn: UpstreamConnection) -> None:
        """Drop a dead connection but keep its slot reserved for the caller's new one."""
        self._in_use.discard(conn)
        self._opening += 1
        conn.abort()

    async def _usable(self, conn: UpstreamConnection) -> bool:
        """Whether a reused connection is alive; a dead one is dropped, and its slot stays
        reserved so the caller opens the replacement without queueing again."""
        if conn.broken or conn.closed:
            self._replace(conn)
            return False
        stale = time.monotonic() - conn.last_used > self._health_check_after
        if not stale and not conn.input_pending():
            return True
        try:
            async with asyncio.timeout(self._reset_timeout):
                await _round_trip(conn, _HEALTH_CHECK, ("SELECT 1",), rows=True)
        except (PgError, OSError):  # dead, desynchronised, or too slow (TimeoutError)
            self._replace(conn)
            return False
        except BaseException:
            self._forget(conn)
            conn.abort()
            raise
        return True

    async def release(self, conn: UpstreamConnection, *, broken: bool = False) -> None:
        """Take a connection back; reset it (ROLLBACK if needed, DISCARD ALL) for the next
        holder, or discard it when it is broken, mid-statement, or the reset fails."""
        if conn not in self._in_use:
            if self._closed:
                await conn.close()
                return
            raise ValueError(f"{conn!r} is not leased from this pool")
        if broken or conn.broken or conn.closed or not conn.ready:
            # Not at ReadyForQuery: responses of unknown length are pending; draining them
            # could take as long as the statement, so the connection is dropped instead --
            # and its statement cancelled, or the warehouse would run it on to the end.
            if _maybe_running(conn):
                self._cancel_later(conn)
            self._forget(conn)
            conn.abort()
            return
        if self._closed:
            self._forget(conn)
            await conn.close()
            return
        try:
            async with asyncio.timeout(self._reset_timeout):
                await self._reset(conn)
        except (PgError, OSError):  # reset failed or timed out: not reusable
            self._forget(conn)
            conn.abort()
            return
        except BaseException:  # cancelled mid-reset: the stream position is unknown
            self._forget(conn)
            conn.abort()
            raise
        if not conn.assumptions_hold:  # DISCARD ALL should have restored them
            self._forget(conn)
            await conn.close()
            return
        conn.last_used = time.monotonic()
        self._in_use.discard(conn)
        self._idle.append(conn)
        self._serve_waiters()

    async def _reset(self, conn: UpstreamConnection) -> None:
        """Return the session to its startup state (the pinned search path included)."""
        if conn.transaction_status != "I":
            await _round_trip(conn, _ROLLBACK + _DISCARD_ALL, ("ROLLBACK", "DISCARD ALL"))
        else:
            await _round_trip(conn, _DISCARD_ALL, ("DISCARD ALL",))
        if conn.transaction_status != "I":
            raise PgError(SqlState.INVALID_TRANSACTION_STATE, "reset left a transaction open")

    def _check_open(self) -> None:
        if self._closed:
            raise PgError(
                SqlState.ADMIN_SHUTDOWN,
                "the warehouse connection pool is closed (the proxy is shutting down)",
            )

    async def close(self) -> None:
        """Close every connection (idle and leased) and fail the waiters; idempotent."""
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(
                    PgError(
                        SqlState.ADMIN_SHUTDOWN,
                        "the warehouse connection pool is closed (the proxy is shutting down)",
                    )
                )
        connections = [*self._idle, *self._in_use]
        busy = [conn for conn in self._in_use if _maybe_running(conn)]
        self._idle.clear()
        self._in_use.clear()
        for conn in busy:
            # Closing our end does not stop a statement: the backend notices only when it
            # next writes. A CancelRequest stops it now.
            self._cancel_later(conn)
        if self._cancels:
            await asyncio.wait(set(self._cancels), timeout=self._settings.connect_timeout)
        await asyncio.gather(*(conn.close() for conn in connections), return_exceptions=True)


def _maybe_running(conn: UpstreamConnection) -> bool:
    """Whether the warehouse may still be running a statement of `conn`: it was not between
    statements, and it was not closed (a read cut short by cancellation leaves it `broken`
    on our side only)."""
    return not (conn.ready or conn.closed)


async def _cancel_quietly(conn: UpstreamConnection) -> None:
    """Best effort: the connection is being dropped anyway; a warehouse that cannot be reached
    has no statement running for us either."""
    try:
        await conn.cancel()
    except PgError as error:
        log.info("cancel request to the warehouse failed", error=error.message)


async def _round_trip(
    conn: UpstreamConnection, queries: bytes, tags: tuple[str, ...], *, rows: bool = False
) -> None:
    """Send simple queries and check the exact answer: each tag, then ReadyForQuery.

    Anything else (rows, an error, leftovers of an earlier pipeline) means the connection is
    not in the state the pool believes, which is reported as an error so it is discarded.
    """
    conn.write(queries)
    await conn.flush()
    expected = list(tags)
    tag_seen: str | None = None
    while expected:
        type_byte, payload = await conn.read_message()
        if type_byte in (Backend.PARAMETER_STATUS, Backend.NOTICE_RESPONSE):
            continue
        if type_byte == Backend.ERROR_RESPONSE:
            raise pg_wire.error(payload)
        if type_byte == Backend.COMMAND_COMPLETE and tag_seen is None:
            tag_seen = pg_wire.command_tag(payload)
        elif type_byte == Backend.READY_FOR_QUERY and tag_seen == expected[0]:
            expected.pop(0)
            tag_seen = None
        elif not (rows and type_byte in (Backend.ROW_DESCRIPTION, Backend.DATA_ROW)):
            raise PgError(
                SqlState.PROTOCOL_VIOLATION,
                f"unexpected {chr(type_byte)!r} message while resetting a warehouse connection",
            )
