"""What every codec module shares: codec signatures, SQLSTATEs, integer limits, input errors.

Kept in one place so the per-type modules raise PostgreSQL's exact input errors without
depending on each other. Binary layouts (struct.Struct) live with the type they encode:
a per-value `LAYOUT.pack(...)` on a name bound by `from ... import` skips CPython's
method-call fast path, which would cost result streaming a bound-method allocation per value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from proxy.errors import PgError, SqlState

Encoder = Callable[[Any], bytes]
TextDecoder = Callable[[str], object]
BinaryDecoder = Callable[[bytes], object]


# SQLSTATEs PostgreSQL uses for these failures that `SqlState` does not name.
NUMERIC_OUT_OF_RANGE = "22003"
DATETIME_FORMAT = "22007"
DATETIME_OVERFLOW = "22008"
TZ_DISPLACEMENT = "22009"
INTERVAL_FIELD_OVERFLOW = "22015"
DATATYPE_MISMATCH = "42804"
ARRAY_SUBSCRIPT_ERROR = "2202E"

INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
WHITESPACE = " \t\n\r\v\f"  # C isspace(), which PostgreSQL's input functions trim


def invalid_text(typname: str, text: str, sqlstate: str = SqlState.INVALID_TEXT_REPRESENTATION) -> PgError:
    return PgError(sqlstate, f'invalid input syntax for type {typname}: "{text}"')


def invalid_binary(typname: str, detail: str) -> PgError:
    return PgError(SqlState.INVALID_BINARY_REPRESENTATION, f"incorrect binary data format for type {typname}", detail)


def utf8(data: bytes | bytearray | memoryview) -> str:
    """Decode client bytes, rejecting what PostgreSQL's UTF8 verifier rejects (incl. NUL)."""
    try:
        text = str(data, "utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_encoding(bytes(data), exc.start) from None
    if "\x00" in text:
        raise _bad_encoding(bytes(data), bytes(data).index(0))
    return text


def _bad_encoding(data: bytes, pos: int) -> PgError:
    first = data[pos]
    need = (
        1
        if first < 0x80
        else 2
        if first & 0xE0 == 0xC0
        else 3
        if first & 0xF0 == 0xE0
        else 4
        if first & 0xF8 == 0xF0
        else 1
    )
    shown = " ".join(f"0x{b:02x}" for b in data[pos : pos + need])
    return PgError(SqlState.CHARACTER_NOT_IN_REPERTOIRE, f'invalid byte sequence for encoding "UTF8": {shown}')
