"""Encode backend (server -> client) messages as bytes.

Each function returns one complete message: type byte, length word, payload. DataRow is on
the hot path of every result, so it avoids per-field allocations beyond the joined buffer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from proxy.backends.base import Column, TransactionStatus
from proxy.errors import PgError
from proxy.wire.protocol import AuthRequest, Backend

_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")
_HEADER = struct.Struct("!ci")
_FIELD = struct.Struct("!IhIhih")  # table oid, column no, type oid, typlen, typmod, format
_NULL_FIELD = _INT32.pack(-1)


def message(type_byte: int, payload: bytes = b"") -> bytes:
    return _HEADER.pack(bytes((type_byte,)), len(payload) + 4) + payload


def cstring(text: str) -> bytes:
    return text.encode("utf-8") + b"\x00"


def authentication(request: AuthRequest, data: bytes = b"") -> bytes:
    return message(Backend.AUTHENTICATION, _INT32.pack(request) + data)


def authentication_sasl(mechanisms: Sequence[str]) -> bytes:
    names = b"".join(cstring(name) for name in mechanisms) + b"\x00"
    return authentication(AuthRequest.SASL, names)


def parameter_status(name: str, value: str) -> bytes:
    return message(Backend.PARAMETER_STATUS, cstring(name) + cstring(value))


def backend_key_data(process_id: int, secret_key: bytes) -> bytes:
    return message(Backend.BACKEND_KEY_DATA, _INT32.pack(process_id) + secret_key)


def negotiate_protocol_version(newest_minor: int, unrecognized: Sequence[str]) -> bytes:
    payload = _INT32.pack(newest_minor) + _INT32.pack(len(unrecognized))
    payload += b"".join(cstring(option) for option in unrecognized)
    return message(Backend.NEGOTIATE_PROTOCOL_VERSION, payload)


def ready_for_query(status: TransactionStatus) -> bytes:
    return message(Backend.READY_FOR_QUERY, status.encode("ascii"))


def row_description(columns: Sequence[Column], formats: Sequence[int]) -> bytes:
    parts = [_INT16.pack(len(columns))]
    for column, format_code in zip(columns, formats, strict=True):
        parts.append(cstring(column.name))
        parts.append(
            _FIELD.pack(
                column.table_oid,
                column.column_number,
                column.type_oid,
                column.type_size,
                column.type_modifier,
                format_code,
            )
        )
    return message(Backend.ROW_DESCRIPTION, b"".join(parts))


def data_row(fields: Iterable[bytes | None], field_count: int) -> bytes:
    parts = [_INT16.pack(field_count)]
    for value in fields:
        if value is None:
            parts.append(_NULL_FIELD)
        else:
            parts.append(_INT32.pack(len(value)))
            parts.append(value)
    return message(Backend.DATA_ROW, b"".join(parts))


def parameter_description(oids: Sequence[int]) -> bytes:
    payload = _INT16.pack(len(oids)) + b"".join(struct.pack("!I", oid) for oid in oids)
    return message(Backend.PARAMETER_DESCRIPTION, payload)


def command_complete(tag: str) -> bytes:
    return message(Backend.COMMAND_COMPLETE, cstring(tag))


def copy_response(type_byte: int, binary: bool, column_count: int) -> bytes:
    """CopyInResponse ('G') or CopyOutResponse ('H')."""
    code = 1 if binary else 0
    payload = bytes((code,)) + _INT16.pack(column_count) + _INT16.pack(code) * column_count
    return message(type_byte, payload)


def copy_data(data: bytes) -> bytes:
    return message(Backend.COPY_DATA, data)


COPY_DONE = message(Backend.COPY_DONE)
PARSE_COMPLETE = message(Backend.PARSE_COMPLETE)
BIND_COMPLETE = message(Backend.BIND_COMPLETE)
CLOSE_COMPLETE = message(Backend.CLOSE_COMPLETE)
NO_DATA = message(Backend.NO_DATA)
PORTAL_SUSPENDED = message(Backend.PORTAL_SUSPENDED)
EMPTY_QUERY_RESPONSE = message(Backend.EMPTY_QUERY_RESPONSE)

# Localized severity ('S') and non-localized severity ('V') are both sent, as PostgreSQL does.
_NOTICE_FIELDS = (("C", "sqlstate"), ("M", "message"), ("D", "detail"), ("H", "hint"))


def _notice_fields(error: PgError, severity: str) -> bytes:
    parts = [b"S" + cstring(severity), b"V" + cstring(severity)]
    for code, attribute in _NOTICE_FIELDS:
        value = getattr(error, attribute)
        if value:
            parts.append(code.encode("ascii") + cstring(value))
    for code, value in error.extra.items():
        parts.append(code.encode("ascii") + cstring(value))
    return b"".join(parts) + b"\x00"


def error_response(error: PgError) -> bytes:
    return message(Backend.ERROR_RESPONSE, _notice_fields(error, error.severity))


def notice_response(notice: PgError) -> bytes:
    return message(Backend.NOTICE_RESPONSE, _notice_fields(notice, notice.severity))
