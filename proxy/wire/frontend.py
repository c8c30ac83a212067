"""Decode frontend messages from their payload bytes into small typed records.

Decoding is strict: a payload that is short, has trailing bytes, a missing NUL terminator or
an impossible count is a protocol violation, never a partially filled message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from proxy.errors import PgError, SqlState, protocol_violation
from proxy.wire.protocol import (
    CANCEL_REQUEST_CODE,
    GSSENC_REQUEST_CODE,
    MAX_CANCEL_KEY_LENGTH,
    SSL_REQUEST_CODE,
    Frontend,
)

_INT16 = struct.Struct("!h")
_UINT16 = struct.Struct("!H")
_INT32 = struct.Struct("!i")
_UINT32 = struct.Struct("!I")


class PayloadReader:
    """A cursor over one message payload."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def _take(self, n: int) -> bytes:
        end = self._pos + n
        if n < 0 or end > len(self._data):
            raise protocol_violation("invalid message format: message is too short")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def int16(self) -> int:
        return _INT16.unpack(self._take(2))[0]

    def uint16(self) -> int:
        return _UINT16.unpack(self._take(2))[0]

    def int32(self) -> int:
        return _INT32.unpack(self._take(4))[0]

    def uint32(self) -> int:
        return _UINT32.unpack(self._take(4))[0]

    def byte(self) -> int:
        return self._take(1)[0]

    def raw(self, n: int) -> bytes:
        return self._take(n)

    def rest(self) -> bytes:
        return self._take(len(self._data) - self._pos)

    def cstring(self) -> str:
        end = self._data.find(b"\x00", self._pos)
        if end < 0:
            raise protocol_violation("invalid string in message: missing terminator")
        raw = self._data[self._pos : end]
        self._pos = end + 1
        return decode_utf8(raw)

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise protocol_violation("invalid message format: unexpected trailing bytes")


def decode_utf8(raw: bytes) -> str:
    """Decode client text; invalid UTF-8 is 22021 as in PostgreSQL, not a crash."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 2]
        shown = " ".join(f"0x{b:02x}" for b in bad)
        raise PgError(
            SqlState.CHARACTER_NOT_IN_REPERTOIRE,
            f'invalid byte sequence for encoding "UTF8": {shown}',
        ) from None


# --- startup phase -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SSLRequest:
    pass


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True, slots=True)
class CancelRequest:
    process_id: int
    secret_key: bytes


@dataclass(frozen=True, slots=True)
class StartupMessage:
    major: int
    minor: int
    parameters: dict[str, str]


StartupPacket = SSLRequest | GSSENCRequest | CancelRequest | StartupMessage


def decode_startup_packet(payload: bytes) -> StartupPacket:
    """Decode the body (after the length word) of the first packet on a connection."""
    reader = PayloadReader(payload)
    code = reader.uint32()
    if code == SSL_REQUEST_CODE:
        reader.finish()
        return SSLRequest()
    if code == GSSENC_REQUEST_CODE:
        reader.finish()
        return GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        process_id = reader.int32()
        key = reader.rest()
        if not 4 <= len(key) <= MAX_CANCEL_KEY_LENGTH:
            raise protocol_violation("invalid length of cancel request")
        return CancelRequest(process_id, key)
    major, minor = code >> 16, code & 0xFFFF
    if major != 3:
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.2",
            severity="FATAL",
        )
    parameters: dict[str, str] = {}
    while True:
        name = reader.cstring()
        if name == "":
            break
        parameters[name] = reader.cstring()
    reader.finish()
    return StartupMessage(major, minor, parameters)


# --- after startup ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Parse:
    statement: str
    sql: str
    parameter_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str
    statement: str
    parameter_formats: tuple[int, ...]
    parameters: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # 'S' statement or 'P' portal
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int


@dataclass(frozen=True, slots=True)
class Close:
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


@dataclass(frozen=True, slots=True)
class PasswordData:
    """PasswordMessage / SASLInitialResponse / SASLResponse: decoded by the auth step."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class CopyData:
    payload: bytes


@dataclass(frozen=True, slots=True)
class CopyDone:
    pass


@dataclass(frozen=True, slots=True)
class CopyFail:
    message: str


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A message type this server recognises but does not accept (FunctionCall, stray COPY)."""

    type_byte: int


FrontendMessage = (
    Query | Parse | Bind | Describe | Execute | Close | Sync | Flush | Terminate | PasswordData
    | CopyData | CopyDone | CopyFail | Unsupported
)


def _format_codes(reader: PayloadReader) -> tuple[int, ...]:
    codes = tuple(reader.int16() for _ in range(reader.uint16()))
    if any(code not in (0, 1) for code in codes):
        raise protocol_violation("unsupported format code")
    return codes


def _decode_parse(reader: PayloadReader) -> Parse:
    name = reader.cstring()
    sql = reader.cstring()
    oids = tuple(reader.uint32() for _ in range(reader.uint16()))
    return Parse(name, sql, oids)


def _decode_bind(reader: PayloadReader) -> Bind:
    portal = reader.cstring()
    statement = reader.cstring()
    parameter_formats = _format_codes(reader)
    values: list[bytes | None] = []
    for _ in range(reader.uint16()):
        length = reader.int32()
        if length < -1:
            raise protocol_violation(f"invalid parameter length {length}")
        values.append(None if length == -1 else reader.raw(length))
    result_formats = _format_codes(reader)
    return Bind(portal, statement, parameter_formats, tuple(values), result_formats)


def _decode_kind_and_name(reader: PayloadReader) -> tuple[str, str]:
    kind = chr(reader.byte())
    if kind not in ("S", "P"):
        raise protocol_violation(f"invalid DESCRIBE/CLOSE message subtype {ord(kind)}")
    return kind, reader.cstring()


def decode_message(type_byte: int, payload: bytes) -> FrontendMessage:
    """Decode one post-startup message. Unknown type bytes are protocol violations."""
    reader = PayloadReader(payload)
    message: FrontendMessage
    if type_byte == Frontend.QUERY:
        message = Query(reader.cstring())
    elif type_byte == Frontend.PARSE:
        message = _decode_parse(reader)
    elif type_byte == Frontend.BIND:
        message = _decode_bind(reader)
    elif type_byte == Frontend.DESCRIBE:
        message = Describe(*_decode_kind_and_name(reader))
    elif type_byte == Frontend.EXECUTE:
        portal = reader.cstring()
        message = Execute(portal, reader.int32())
    elif type_byte == Frontend.CLOSE:
        message = Close(*_decode_kind_and_name(reader))
    elif type_byte == Frontend.SYNC:
        message = Sync()
    elif type_byte == Frontend.FLUSH:
        message = Flush()
    elif type_byte == Frontend.TERMINATE:
        message = Terminate()
    elif type_byte == Frontend.PASSWORD:
        return PasswordData(payload)
    elif type_byte == Frontend.COPY_DATA:
        return CopyData(payload)
    elif type_byte == Frontend.COPY_DONE:
        message = CopyDone()
    elif type_byte == Frontend.COPY_FAIL:
        message = CopyFail(reader.cstring())
    elif type_byte == Frontend.FUNCTION_CALL:
        return Unsupported(type_byte)
    else:
        raise protocol_violation(f"invalid frontend message type {type_byte}")
    reader.finish()
    return message
