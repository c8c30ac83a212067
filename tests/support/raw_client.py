"""A minimal hand-driven protocol client, for sending exactly the bytes a test needs."""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from scramp import ScramClient


def startup_packet(user: str, database: str = "acme", minor: int = 0, **extra: str) -> bytes:
    body = struct.pack("!I", (3 << 16) | minor)
    for key, value in {"user": user, "database": database, **extra}.items():
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def message(type_byte: bytes, payload: bytes = b"") -> bytes:
    return type_byte + struct.pack("!I", len(payload) + 4) + payload


def query(sql: str | bytes) -> bytes:
    raw = sql.encode() if isinstance(sql, str) else sql
    return message(b"Q", raw + b"\0")


# --- extended protocol messages ------------------------------------------------------------------


def parse(sql: str, name: str = "", oids: tuple[int, ...] = ()) -> bytes:
    payload = name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!H", len(oids))
    payload += b"".join(struct.pack("!I", oid) for oid in oids)
    return message(b"P", payload)


def bind(
    portal: str = "",
    statement: str = "",
    values: tuple[bytes | None, ...] = (),
    formats: tuple[int, ...] = (),
    result_formats: tuple[int, ...] = (),
) -> bytes:
    payload = portal.encode() + b"\0" + statement.encode() + b"\0"
    payload += struct.pack("!H", len(formats)) + b"".join(struct.pack("!h", f) for f in formats)
    payload += struct.pack("!H", len(values))
    for value in values:
        payload += struct.pack("!i", -1) if value is None else struct.pack("!i", len(value)) + value
    payload += struct.pack("!H", len(result_formats))
    payload += b"".join(struct.pack("!h", f) for f in result_formats)
    return message(b"B", payload)


def describe(kind: str, name: str = "") -> bytes:
    return message(b"D", kind.encode() + name.encode() + b"\0")


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return message(b"E", portal.encode() + b"\0" + struct.pack("!i", max_rows))


def close(kind: str, name: str) -> bytes:
    return message(b"C", kind.encode() + name.encode() + b"\0")


SYNC = message(b"S")
FLUSH = message(b"H")


@dataclass
class Reply:
    type: bytes
    payload: bytes

    def fields(self) -> dict[str, str]:
        """ErrorResponse / NoticeResponse fields by code."""
        out = {}
        for part in self.payload.split(b"\0"):
            if part:
                out[chr(part[0])] = part[1:].decode()
        return out


class RawConnection:
    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, n: int) -> bool:
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buffer += chunk
        return True

    def read_byte(self) -> bytes | None:
        if not self._fill(1):
            return None
        byte, self.buffer = self.buffer[:1], self.buffer[1:]
        return byte

    def read(self) -> Reply | None:
        """The next message, or None when the server closed the connection."""
        if not self._fill(5):
            return None
        type_byte = self.buffer[:1]
        (length,) = struct.unpack("!I", self.buffer[1:5])
        if not self._fill(1 + length):
            return None
        payload = self.buffer[5 : 1 + length]
        self.buffer = self.buffer[1 + length :]
        return Reply(type_byte, payload)

    def read_until(self, type_byte: bytes) -> list[Reply]:
        replies = []
        while True:
            reply = self.read()
            if reply is None:
                raise ConnectionError(f"closed before {type_byte!r}; got {replies}")
            replies.append(reply)
            if reply.type == type_byte:
                return replies

    def closed(self) -> bool:
        """True when the server has closed the connection (after any pending messages)."""
        try:
            while True:
                if self.read() is None:
                    return True
        except (ConnectionResetError, TimeoutError, socket.timeout):
            return False

    def login(
        self, user: str, password: str | None = None, minor: int = 0, **extra: str
    ) -> list[Reply]:
        """Startup + SCRAM-SHA-256; returns the messages up to the first ReadyForQuery."""
        self.send(startup_packet(user, minor=minor, **extra))
        early: list[Reply] = []
        reply = self.read()
        while reply is not None and reply.type == b"v":  # NegotiateProtocolVersion
            early.append(reply)
            reply = self.read()
        assert reply is not None and reply.type == b"R", reply
        (code,) = struct.unpack("!I", reply.payload[:4])
        if code == 10:
            client = ScramClient(["SCRAM-SHA-256"], user, password or user)
            first = client.get_client_first().encode()
            payload = b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first
            self.send(message(b"p", payload))
            reply = self.read()
            assert reply is not None and reply.type == b"R", reply
            client.set_server_first(reply.payload[4:].decode())
            self.send(message(b"p", client.get_client_final().encode()))
        return early + self.read_until(b"Z")

    def close(self) -> None:
        self.sock.close()
