"""The listening server: one task per client connection, each isolated from the others.

A connection goes startup -> authentication -> session. Whatever one client does (garbage
bytes, a stalled handshake, a crash in its statement), only its own task ends.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from proxy.audit import AuditLog
from proxy.backends.base import Warehouse
from proxy.context import SessionContext
from proxy.errors import PgError, SqlState
from proxy.routing import Gate
from proxy.session_settings import SessionSettings
from proxy.users import UserEntry
from proxy.wire import backend as msg
from proxy.wire.analysis import AnalysisPool
from proxy.wire.auth import authenticate
from proxy.wire.cancel import CancelRegistry
from proxy.wire.frontend import CancelRequest, StartupMessage
from proxy.wire.session import Session
from proxy.wire.startup import (
    StartupRequest,
    negotiate,
    negotiation_message,
    read_startup,
)
from proxy.wire.stream import ClientGone, MessageStream, shutting_down

log = structlog.get_logger(__name__)

@dataclass
class ServerConfig:
    database: str
    auth_method: str
    users: Callable[[], Mapping[str, UserEntry]]  # the current users (reloadable)
    server_version: str
    max_message_size: int
    max_connections: int  # established sessions (a handshake in progress takes no slot)
    authentication_timeout: float = 60.0  # startup + authentication, as PostgreSQL's setting


class ProxyServer:
    def __init__(
        self,
        config: ServerConfig,
        warehouse: Warehouse,
        gate: Gate,
        audit: AuditLog,
        tls_context: ssl.SSLContext | None,
        analysis: AnalysisPool,
    ) -> None:
        self.config = config
        self.analysis = analysis
        self.warehouse = warehouse
        self.gate = gate
        self.audit = audit
        self.tls_context = tls_context
        self.cancels = CancelRegistry()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], MessageStream] = {}
        self._sessions: dict[asyncio.Task[None], Session] = {}
        # Connections past authentication, counted against max_connections until they end.
        self._admitted: set[asyncio.Task[None]] = set()
        self._draining = False

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._accept, host, port, limit=2**16)
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        await self.shutdown(0.0)

    async def shutdown(self, grace: float, hurry: asyncio.Event | None = None) -> None:
        """Stop accepting, end every session, and return once all have ended.

        As PostgreSQL's smart-then-fast shutdown: a session waiting for its client ends at
        once (FATAL 57P01), one running a statement ends when the statement has finished; what
        still runs after `grace` seconds (or once `hurry` is set) is cancelled, upstream too.
        """
        if self._server is not None:
            self._server.close()
        self._draining = True
        for task, stream in list(self._connections.items()):
            stream.draining = True
            if task not in self._sessions or stream.waiting:
                task.cancel()  # in the handshake, or idle: nothing of it runs
        pending = {task for task in self._connections if not task.done()}
        running = [t for t in pending if t in self._sessions and not t.cancelling()]
        log.info("shutting down: no new connections; waiting for running statements",
                 sessions=len(self._sessions), running=len(running), grace_period_s=grace)
        await self._wait_for(pending, grace, hurry)
        left = [task for task in self._connections if not task.done()]
        if left:
            log.warning("cancelling the statements still running (grace period over)",
                        sessions=len(left), grace_period_s=grace)
            for task in left:
                session = self._sessions.get(task)
                if session is not None:
                    session.cancel()  # a CancelRequest to the warehouse, not only a hang-up
                task.cancel()
            await asyncio.wait(left, timeout=10)
        if self._server is not None:
            await self._server.wait_closed()
        self.analysis.close()
        log.info("all client sessions ended")

    @staticmethod
    async def _wait_for(
        tasks: set[asyncio.Task[None]], grace: float, hurry: asyncio.Event | None
    ) -> None:
        """Until every task ended, `grace` seconds passed, or `hurry` is set."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        hurried = asyncio.ensure_future(hurry.wait()) if hurry is not None else None
        try:
            while True:
                left: set[asyncio.Future[Any]] = {task for task in tasks if not task.done()}
                remaining = deadline - loop.time()
                if not left or remaining <= 0 or (hurry is not None and hurry.is_set()):
                    return
                if hurried is not None:
                    left.add(hurried)
                await asyncio.wait(left, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if hurried is not None:
                hurried.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        stream = MessageStream(reader, writer, self.config.max_message_size)
        if self._draining:
            await self._send_fatal(stream, shutting_down())
            await stream.close()
            return
        self._connections[task] = stream
        peer = writer.get_extra_info("peername")
        client_address = f"{peer[0]}:{peer[1]}" if peer else "unix"
        try:
            await self._connection(stream, client_address)
        except PgError as error:
            await self._send_fatal(stream, error)
        except ClientGone:
            pass
        except asyncio.CancelledError:
            await self._send_fatal(
                stream,
                PgError(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator "
                        "command", severity="FATAL"),
            )
        except Exception:  # one client's failure must never take the server down
            log.exception("connection failed", client=client_address)
            await self._send_fatal(
                stream, PgError(SqlState.INTERNAL_ERROR, "internal error in purpose-proxy",
                                severity="FATAL"),
            )
        finally:
            await stream.close()
            self._connections.pop(task, None)
            self._admitted.discard(task)

    async def _send_fatal(self, stream: MessageStream, error: PgError) -> None:
        if error.severity not in ("FATAL", "PANIC"):
            error.severity = "FATAL"
        try:
            stream.write(msg.error_response(error))
            await asyncio.wait_for(stream.flush(), timeout=5)
        except (ClientGone, TimeoutError, ConnectionError, OSError, RuntimeError):
            # RuntimeError: the transport is closed already (uvloop's words for it)
            pass

    async def _connection(self, stream: MessageStream, client_address: str) -> None:
        try:
            async with asyncio.timeout(self.config.authentication_timeout):
                session = await self._handshake(stream, client_address)
        except TimeoutError:
            raise PgError(SqlState.PROTOCOL_VIOLATION, "timeout during startup",
                          detail="Startup and authentication must finish within "
                          f"{self.config.authentication_timeout:g}s "
                          "(setting authentication_timeout).", severity="FATAL") from None
        if session is None:
            return
        context = session.context
        task = asyncio.current_task()
        assert task is not None
        self._sessions[task] = session
        self.audit.event("connection", event_kind="start", user=context.user,
                         database=context.database, client=client_address,
                         session=context.process_id, tls=stream.is_tls,
                         application_name=context.application_name)
        try:
            await session.run()
        finally:
            self._sessions.pop(task, None)
            self.cancels.unregister(context.process_id)
            await session.warehouse.close()
            self.audit.event("connection", event_kind="end", user=context.user,
                             session=context.process_id)

    def _admit(self) -> None:
        """Take a session slot; only authenticated connections count, so clients that are
        slow or silent in the handshake (bounded by authentication_timeout) hold none."""
        if len(self._admitted) >= self.config.max_connections:
            raise PgError(SqlState.TOO_MANY_CONNECTIONS, "sorry, too many clients already",
                          detail=f"max_connections is {self.config.max_connections}.",
                          severity="FATAL")
        task = asyncio.current_task()
        assert task is not None
        self._admitted.add(task)

    async def _handshake(self, stream: MessageStream, client_address: str) -> Session | None:
        packet = await negotiate(stream, self.tls_context)
        if isinstance(packet, CancelRequest):
            self.cancels.cancel(packet.process_id, packet.secret_key)
            return None
        request = read_startup(packet)
        try:
            return await self._establish(stream, packet, request, client_address)
        except PgError as error:
            # Failed logins, unknown users, ungranted purposes, limits: evidence too. The
            # password is never part of it (the error texts do not carry it).
            self.audit.event(
                "connection", level="warning", event_kind="refused", user=request.user,
                known_user=request.user in self.config.users(), database=request.database,
                purpose=request.purpose, client=client_address, sqlstate=error.sqlstate,
                reason=error.message,
            )
            raise

    async def _establish(
        self, stream: MessageStream, packet: StartupMessage, request: StartupRequest,
        client_address: str,
    ) -> Session:
        negotiation = negotiation_message(packet, request)
        if negotiation is not None:
            stream.write(negotiation)
        entry = self.config.users().get(request.user)
        await authenticate(stream, request.user, entry, self.config.auth_method)  # type: ignore[arg-type]
        assert entry is not None
        if request.database != self.config.database:
            raise PgError(SqlState.INVALID_CATALOG_NAME,
                          f'database "{request.database}" does not exist', severity="FATAL")
        self.gate.check_connection(request.user, request.purpose)
        self._admit()
        settings = SessionSettings.create(self.config.server_version, request.user)
        for name, value in request.settings.items():
            try:
                settings.set(name, value)
            except PgError as error:
                error.severity = "FATAL"
                raise
        settings.take_changes()
        warehouse_session = await self.warehouse.open_session(request.user, request.database)
        warehouse_session.set_parameters(settings.values)
        holder: list[Session] = []
        key = self.cancels.register(request.protocol_minor, lambda: holder[0].cancel())
        try:
            context = SessionContext(
                user=request.user,
                database=request.database,
                process_id=key.process_id,
                client_address=client_address,
                settings=settings,
                attributes=entry.attributes,
                protocol_minor=request.protocol_minor,
                connection_purpose=request.purpose,
            )
            session = Session(
                stream, context, warehouse_session, self.gate, self.audit, self.analysis
            )
            holder.append(session)
            for name, value in settings.reported():
                stream.write(msg.parameter_status(name, value))
            stream.write(msg.backend_key_data(key.process_id, key.secret))
            stream.write(msg.ready_for_query("I"))
            await stream.flush()
        except BaseException:
            self.cancels.unregister(key.process_id)
            await warehouse_session.close()
            raise
        return session
