"""The listening server: one task per client connection, each isolated from the others.

A connection goes startup -> authentication -> session. Whatever one client does (garbage
bytes, a stalled handshake, a crash in its statement), only its own task ends.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from proxy.audit import AuditLog
from proxy.backends.base import Warehouse
from proxy.context import SessionContext
from proxy.errors import PgError, SqlState
from proxy.routing import Gate
from proxy.session_settings import SessionSettings
from proxy.users import UserEntry
from proxy.wire import backend as msg
from proxy.wire.auth import authenticate
from proxy.wire.cancel import CancelRegistry
from proxy.wire.frontend import CancelRequest
from proxy.wire.session import Session
from proxy.wire.startup import negotiate, negotiation_message, read_startup
from proxy.wire.stream import ClientGone, MessageStream

log = structlog.get_logger(__name__)

# A client that does not finish startup and authentication in this time is dropped.
AUTHENTICATION_TIMEOUT_S = 60.0


@dataclass
class ServerConfig:
    database: str
    auth_method: str
    users: Callable[[], Mapping[str, UserEntry]]  # the current users (reloadable)
    server_version: str
    max_message_size: int
    max_connections: int


class ProxyServer:
    def __init__(
        self,
        config: ServerConfig,
        warehouse: Warehouse,
        gate: Gate,
        audit: AuditLog,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.config = config
        self.warehouse = warehouse
        self.gate = gate
        self.audit = audit
        self.tls_context = tls_context
        self.cancels = CancelRegistry()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._accept, host, port, limit=2**16)
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        stream = MessageStream(reader, writer, self.config.max_message_size)
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
            self._connections.discard(task)

    async def _send_fatal(self, stream: MessageStream, error: PgError) -> None:
        if error.severity not in ("FATAL", "PANIC"):
            error.severity = "FATAL"
        try:
            stream.write(msg.error_response(error))
            await asyncio.wait_for(stream.flush(), timeout=5)
        except (ClientGone, TimeoutError, ConnectionError, OSError):
            pass

    async def _connection(self, stream: MessageStream, client_address: str) -> None:
        try:
            async with asyncio.timeout(AUTHENTICATION_TIMEOUT_S):
                session = await self._handshake(stream, client_address)
        except TimeoutError:
            raise PgError(SqlState.PROTOCOL_VIOLATION, "timeout during startup",
                          severity="FATAL") from None
        if session is None:
            return
        context = session.context
        self.audit.event("connection", event_kind="start", user=context.user,
                         database=context.database, client=client_address,
                         session=context.process_id, tls=stream.is_tls,
                         application_name=context.application_name)
        try:
            await session.run()
        finally:
            self.cancels.unregister(context.process_id)
            await session.warehouse.close()
            self.audit.event("connection", event_kind="end", user=context.user,
                             session=context.process_id)

    async def _handshake(self, stream: MessageStream, client_address: str) -> Session | None:
        packet = await negotiate(stream, self.tls_context)
        if isinstance(packet, CancelRequest):
            self.cancels.cancel(packet.process_id, packet.secret_key)
            return None
        if len(self._connections) > self.config.max_connections:
            raise PgError(SqlState.TOO_MANY_CONNECTIONS, "sorry, too many clients already",
                          severity="FATAL")
        request = read_startup(packet)
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
            session = Session(stream, context, warehouse_session, self.gate, self.audit)
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
