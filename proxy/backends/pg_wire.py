"""Client side of PostgreSQL's protocol: frontend messages encoded, backend messages decoded.

`proxy.wire` is the proxy's *server* side (it decodes what clients send and encodes answers);
this module is the mirror image the proxy needs as a *client* of the warehouse. The functions
are pure (bytes in, bytes or small values out) so the relay, the pool and the tests share one
codec and nothing here touches a socket.

The relay forwards most warehouse messages to clients byte for byte; it only decodes the few
it must act on (ReadyForQuery, ParameterStatus, errors, descriptions), and `message()` rebuilds
the exact wire bytes of a message that was read as (type byte, payload).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Literal

from proxy.backends.base import Column, TransactionStatus
from proxy.errors import PgError, SqlState
from proxy.wire.frontend import PayloadReader
from proxy.wire.protocol import (
    CANCEL_REQUEST_CODE,
    LEGACY_CANCEL_KEY_LENGTH,
    MAX_CANCEL_KEY_LENGTH,
    PROTOCOL_3_0,
    SSL_REQUEST_CODE,
    Backend,
    Frontend,
)

_INT16 = struct.Struct("!h")
_UINT16 = struct.Struct("!H")
_INT32 = struct.Struct("!i")
_UINT32 = struct.Struct("!I")
_HEADER = struct.Struct("!ci")
_NULL = _INT32.pack(-1)
_MAX_COUNT = 0xFFFF  # counts are 16-bit on the wire

# Backend message types whose payloads the proxy inspects (re-exported for the relay).
AUTHENTICATION = Backend.AUTHENTICATION
ERROR_RESPONSE = Backend.ERROR_RESPONSE
NOTICE_RESPONSE = Backend.NOTICE_RESPONSE
READY_FOR_QUERY = Backend.READY_FOR_QUERY
PARAMETER_STATUS = Backend.PARAMETER_STATUS
BACKEND_KEY_DATA = Backend.BACKEND_KEY_DATA


# --- framing ---------------------------------------------------------------------------------


def message(type_byte: int, payload: bytes = b"") -> bytes:
    """The exact wire bytes of one typed message: type byte, length word, payload.

    Applied to a (type byte, payload) pair read from the warehouse it reproduces the bytes
    the warehouse sent, which is what the relay forwards to clients.
    """
    return _HEADER.pack(bytes((type_byte,)), len(payload) + 4) + payload


def cstring(text: str) -> bytes:
    """A NUL-terminated UTF-8 string; an embedded NUL would silently cut the message, so it is
    refused with the error PostgreSQL itself gives for NUL in text."""
    if "\x00" in text:
        raise PgError(
            SqlState.CHARACTER_NOT_IN_REPERTOIRE,
            'invalid byte sequence for encoding "UTF8": 0x00',
        )
    return text.encode("utf-8") + b"\x00"


def _untyped(payload: bytes) -> bytes:
    """Startup-phase packets carry no type byte: length word (including itself), payload."""
    return _INT32.pack(len(payload) + 4) + payload


def _count(n: int, what: str) -> bytes:
    if n > _MAX_COUNT:
        raise PgError(
            SqlState.PROGRAM_LIMIT_EXCEEDED,
            f"too many {what}: {n} (the protocol allows at most {_MAX_COUNT})",
        )
    return _UINT16.pack(n)


# --- startup phase ---------------------------------------------------------------------------


def startup_message(parameters: Mapping[str, str], *, protocol: int = PROTOCOL_3_0) -> bytes:
    """StartupMessage: protocol version and name/value pairs (user, database, options, ...)."""
    body = [_UINT32.pack(protocol)]
    for name, value in parameters.items():
        body.append(cstring(name))
        body.append(cstring(value))
    body.append(b"\x00")
    return _untyped(b"".join(body))


SSL_REQUEST = _untyped(_UINT32.pack(SSL_REQUEST_CODE))


def ssl_request() -> bytes:
    """SSLRequest: the server answers one byte, 'S' (TLS handshake follows) or 'N'."""
    return SSL_REQUEST


def cancel_request(process_id: int, secret_key: bytes) -> bytes:
    """CancelRequest, sent on a fresh connection instead of a StartupMessage.

    The key is 4 bytes under protocol 3.0 and up to 256 under 3.2; it is sent as received.
    """
    if not LEGACY_CANCEL_KEY_LENGTH <= len(secret_key) <= MAX_CANCEL_KEY_LENGTH:
        raise ValueError(f"invalid cancel key length {len(secret_key)}")
    return _untyped(_UINT32.pack(CANCEL_REQUEST_CODE) + _INT32.pack(process_id) + secret_key)


def password_message(password: str | bytes) -> bytes:
    """PasswordMessage for cleartext or md5 authentication (a C string)."""
    raw = password.encode("utf-8") if isinstance(password, str) else password
    if b"\x00" in raw:
        raise ValueError("a password cannot contain a NUL byte")
    return message(Frontend.PASSWORD, raw + b"\x00")


def sasl_initial_response(mechanism: str, data: bytes | None) -> bytes:
    """SASLInitialResponse: the chosen mechanism and the client-first message (None: absent)."""
    length = _NULL if data is None else _INT32.pack(len(data))
    return message(Frontend.PASSWORD, cstring(mechanism) + length + (data or b""))


def sasl_response(data: bytes) -> bytes:
    """SASLResponse: mechanism-specific data (the client-final message for SCRAM)."""
    return message(Frontend.PASSWORD, data)


# --- queries ---------------------------------------------------------------------------------


def query(sql: str) -> bytes:
    """Query (simple protocol)."""
    return message(Frontend.QUERY, cstring(sql))


def parse(name: str, sql: str, param_oids: Sequence[int] = ()) -> bytes:
    """Parse: a named (or unnamed, "") prepared statement; OID 0 leaves a type to the server."""
    payload = [cstring(name), cstring(sql), _count(len(param_oids), "parameter types")]
    payload.extend(_UINT32.pack(oid) for oid in param_oids)
    return message(Frontend.PARSE, b"".join(payload))


def bind(
    portal: str,
    statement: str,
    param_formats: Sequence[int],
    raw_values: Sequence[bytes | None],
    result_formats: Sequence[int],
) -> bytes:
    """Bind: parameter values already in their wire format (text or binary), passed through
    untouched, so the relay never decodes a client's parameters to re-encode them."""
    parts = [cstring(portal), cstring(statement), _count(len(param_formats), "parameter formats")]
    parts.extend(_INT16.pack(code) for code in param_formats)
    parts.append(_count(len(raw_values), "parameters"))
    for value in raw_values:
        if value is None:
            parts.append(_NULL)
        else:
            parts.append(_INT32.pack(len(value)))
            parts.append(value)
    parts.append(_count(len(result_formats), "result formats"))
    parts.extend(_INT16.pack(code) for code in result_formats)
    return message(Frontend.BIND, b"".join(parts))


def _kind_and_name(kind: str, name: str) -> bytes:
    if kind not in ("S", "P"):
        raise ValueError(f"kind must be 'S' (statement) or 'P' (portal), not {kind!r}")
    return kind.encode("ascii") + cstring(name)


def describe(kind: Literal["S", "P"], name: str) -> bytes:
    """Describe a prepared statement ('S') or a portal ('P')."""
    return message(Frontend.DESCRIBE, _kind_and_name(kind, name))


def execute(portal: str, max_rows: int = 0) -> bytes:
    """Execute a portal; max_rows 0 means all rows, otherwise PortalSuspended after that many."""
    return message(Frontend.EXECUTE, cstring(portal) + _INT32.pack(max_rows))


def close(kind: Literal["S", "P"], name: str) -> bytes:
    """Close a prepared statement ('S') or a portal ('P')."""
    return message(Frontend.CLOSE, _kind_and_name(kind, name))


SYNC = message(Frontend.SYNC)
FLUSH = message(Frontend.FLUSH)
TERMINATE = message(Frontend.TERMINATE)
COPY_DONE = message(Frontend.COPY_DONE)


def sync() -> bytes:
    return SYNC


def flush() -> bytes:
    return FLUSH


def terminate() -> bytes:
    return TERMINATE


def copy_data(data: bytes) -> bytes:
    return message(Frontend.COPY_DATA, data)


def copy_done() -> bytes:
    return COPY_DONE


def copy_fail(reason: str) -> bytes:
    return message(Frontend.COPY_FAIL, cstring(reason))


# --- backend messages decoded ----------------------------------------------------------------


def malformed(kind: str, reason: str = "") -> PgError:
    """The warehouse sent bytes that are not a valid message: the connection cannot be trusted
    to stay in sync and must be dropped by whoever holds it."""
    suffix = f": {reason}" if reason else ""
    return PgError(
        SqlState.PROTOCOL_VIOLATION, f"the warehouse sent a malformed {kind} message{suffix}"
    )


@contextmanager
def _decoding(kind: str) -> Iterator[None]:
    # PayloadReader reports problems as a client's protocol violation; from the warehouse the
    # same problem means the upstream stream is corrupt, which is said differently.
    try:
        yield
    except PgError as exc:
        raise malformed(kind, exc.message) from None
    except (struct.error, IndexError, ValueError) as exc:
        raise malformed(kind, str(exc)) from None


def error_fields(payload: bytes) -> dict[str, str]:
    """ErrorResponse / NoticeResponse fields by their one-letter code ('C', 'M', 'D', ...).

    Lenient on purpose: errors raised before client_encoding is set may not be UTF-8, and an
    error must never turn into a decoding crash that hides it.
    """
    fields: dict[str, str] = {}
    for chunk in payload.split(b"\x00"):
        if not chunk:
            break  # the empty field code that ends the list
        code = chr(chunk[0])
        fields.setdefault(code, chunk[1:].decode("utf-8", errors="replace"))
    return fields


def error_from_fields(fields: Mapping[str, str]) -> PgError:
    """A PgError carrying the warehouse's SQLSTATE, message, detail, hint and severity.

    Other fields (position, schema/table names, source location) stay in `fields`: they refer
    to the SQL the warehouse ran, which may be a rewrite of what the client sent.
    """
    return PgError(
        sqlstate=fields.get("C", SqlState.INTERNAL_ERROR),
        message=fields.get("M", ""),
        detail=fields.get("D"),
        hint=fields.get("H"),
        # 'V' is never localized (9.6+); 'S' may be translated.
        severity=fields.get("V") or fields.get("S") or "ERROR",
    )


def error(payload: bytes) -> PgError:
    """Shortcut: the PgError of an ErrorResponse payload."""
    return error_from_fields(error_fields(payload))


def row_description_with_formats(payload: bytes) -> tuple[tuple[Column, ...], tuple[int, ...]]:
    """RowDescription: the columns and, separately, each column's format code (0 text, 1
    binary; always 0 in a statement Describe, the Bind's choice in a portal Describe)."""
    columns: list[Column] = []
    formats: list[int] = []
    with _decoding("RowDescription"):
        reader = PayloadReader(payload)
        for _ in range(reader.uint16()):
            name = reader.cstring()
            table_oid = reader.uint32()
            column_number = reader.int16()
            type_oid = reader.uint32()
            type_size = reader.int16()
            type_modifier = reader.int32()
            formats.append(reader.int16())
            columns.append(
                Column(name, type_oid, type_size, type_modifier, table_oid, column_number)
            )
        reader.finish()
    return tuple(columns), tuple(formats)


def row_description(payload: bytes) -> tuple[Column, ...]:
    """RowDescription's columns (name, table oid, column number, type oid, size, modifier)."""
    return row_description_with_formats(payload)[0]


def parameter_description(payload: bytes) -> tuple[int, ...]:
    """ParameterDescription: the type OID of each parameter of a described statement."""
    with _decoding("ParameterDescription"):
        reader = PayloadReader(payload)
        oids = tuple(reader.uint32() for _ in range(reader.uint16()))
        reader.finish()
    return oids


def data_row(payload: bytes) -> tuple[bytes | None, ...]:
    """DataRow's raw field values (None for NULL), in whatever format was asked for."""
    values: list[bytes | None] = []
    with _decoding("DataRow"):
        reader = PayloadReader(payload)
        for _ in range(reader.uint16()):
            length = reader.int32()
            if length < -1:
                raise ValueError(f"field length {length}")
            values.append(None if length == -1 else reader.raw(length))
        reader.finish()
    return tuple(values)


def command_tag(payload: bytes) -> str:
    """CommandComplete's tag, e.g. 'SELECT 3', 'INSERT 0 1'."""
    with _decoding("CommandComplete"):
        reader = PayloadReader(payload)
        tag = reader.cstring()
        reader.finish()
    return tag


def ready_status(payload: bytes) -> TransactionStatus:
    """ReadyForQuery's transaction status: 'I' idle, 'T' in a transaction, 'E' failed one."""
    if payload == b"I":
        return "I"
    if payload == b"T":
        return "T"
    if payload == b"E":
        return "E"
    raise malformed("ReadyForQuery", f"status {payload!r}")


def parameter_status(payload: bytes) -> tuple[str, str]:
    """ParameterStatus: (name, value) of a reported run-time parameter."""
    with _decoding("ParameterStatus"):
        reader = PayloadReader(payload)
        name = reader.cstring()
        value = reader.cstring()
        reader.finish()
    return name, value


def backend_key_data(payload: bytes) -> tuple[int, bytes]:
    """BackendKeyData: (process id, secret key); the key is 4 bytes under protocol 3.0 and
    variable (up to 256 bytes) under 3.2, so it is kept as bytes."""
    if len(payload) < 4 + LEGACY_CANCEL_KEY_LENGTH or len(payload) > 4 + MAX_CANCEL_KEY_LENGTH:
        raise malformed("BackendKeyData", f"length {len(payload)}")
    return _INT32.unpack_from(payload)[0], bytes(payload[4:])


def authentication(payload: bytes) -> tuple[int, bytes]:
    """Authentication*: (request code, request data), e.g. (10, mechanism list) for SASL."""
    if len(payload) < 4:
        raise malformed("Authentication", "too short")
    return _INT32.unpack_from(payload)[0], bytes(payload[4:])


def sasl_mechanisms(data: bytes) -> list[str]:
    """The mechanism names of an AuthenticationSASL request (a list of C strings, then NUL)."""
    return [name.decode("utf-8", errors="replace") for name in data.split(b"\x00") if name]


def negotiate_protocol_version(payload: bytes) -> tuple[int, tuple[str, ...]]:
    """NegotiateProtocolVersion: (newest minor version supported, unrecognized options)."""
    with _decoding("NegotiateProtocolVersion"):
        reader = PayloadReader(payload)
        minor = reader.int32()
        options = tuple(reader.cstring() for _ in range(reader.int32()))
        reader.finish()
    return minor, options
