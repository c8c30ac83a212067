"""Framing: read length-prefixed messages from a socket with limits checked before allocation."""

from __future__ import annotations

import asyncio
import ssl
import struct

from proxy.errors import PgError, SqlState, protocol_violation
from proxy.wire.frontend import (
    FrontendMessage,
    StartupPacket,
    decode_message,
    decode_startup_packet,
)
from proxy.wire.protocol import MAX_STARTUP_PACKET_LENGTH, Frontend

_LENGTH = struct.Struct("!i")
KNOWN_MESSAGE_TYPES = frozenset(member.value for member in Frontend)
CLOSE_TIMEOUT_S = 1.0


class ClientGone(Exception):
    """The client closed the connection (possibly mid-message): end the session quietly."""


def shutting_down() -> PgError:
    return PgError(SqlState.ADMIN_SHUTDOWN,
                   "terminating connection due to administrator command",
                   detail="purpose-proxy is shutting down", severity="FATAL")


class MessageStream:
    """One client connection's byte stream, before and after a TLS upgrade."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_message_size: int
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.max_message_size = max_message_size
        self.is_tls = False
        # Replies are gathered and sent in one write per flush: a statement's ParseComplete,
        # BindComplete, rows, CommandComplete and ReadyForQuery cost one system call, not five.
        self._pending = bytearray()
        # Shutdown: `draining` ends the session at its next read (its statement finished);
        # `waiting` says it is blocked on the client right now (nothing of its runs).
        self.draining = False
        self.waiting = False

    async def _read_exactly(self, n: int) -> bytes:
        try:
            return await self.reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError) as exc:
            raise ClientGone() from exc

    async def read_startup(self) -> StartupPacket:
        (length,) = _LENGTH.unpack(await self._read_exactly(4))
        if not 8 <= length <= MAX_STARTUP_PACKET_LENGTH:
            raise protocol_violation("invalid length of startup packet")
        return decode_startup_packet(await self._read_exactly(length - 4))

    async def read_message(self) -> FrontendMessage:
        if self.draining:
            raise shutting_down()
        # The type byte is checked before the length is read: a stray startup packet (type
        # byte 0) must fail at once, not wait for megabytes its "length" promises.
        self.waiting = True
        try:
            type_byte = (await self._read_exactly(1))[0]
        finally:
            self.waiting = False
        if type_byte not in KNOWN_MESSAGE_TYPES:
            raise protocol_violation(f"invalid frontend message type {type_byte}")
        (length,) = _LENGTH.unpack(await self._read_exactly(4))
        if length < 4 or length - 4 > self.max_message_size:
            raise protocol_violation(f"invalid message length {length}")
        return decode_message(type_byte, await self._read_exactly(length - 4))

    def has_buffered_bytes(self) -> bool:
        """Bytes already received but not yet read.

        Checked right after an SSLRequest is answered: anything the client sent before the
        TLS handshake would otherwise be read as if it had come over TLS (CVE-2021-23214).
        """
        return len(getattr(self.reader, "_buffer", b"")) > 0

    async def start_tls(self, context: ssl.SSLContext) -> None:
        await self.writer.start_tls(context)
        self.is_tls = True

    def write(self, data: bytes) -> None:
        self._pending += data

    async def flush_when_full(self, threshold: int = 256 * 1024) -> None:
        """Send once a large reply has gathered (and wait for the client to keep up), so a
        big result streams in bounded memory while a small one leaves in one write with its
        ReadyForQuery."""
        if len(self._pending) >= threshold:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            self.writer.write(bytes(self._pending))
            self._pending.clear()
        try:
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            raise ClientGone() from exc

    async def close(self) -> None:
        if self.writer.is_closing():
            return
        self.writer.close()
        try:
            # Over TLS, closing waits for the client's close_notify (up to 30 s in asyncio);
            # a client that is not reading never sends it, so the wait is bounded.
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.writer.wait_closed()
        except TimeoutError:
            self.writer.transport.abort()
        except (ConnectionError, ssl.SSLError, OSError):
            pass
