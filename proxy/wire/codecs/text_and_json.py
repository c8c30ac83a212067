"""Codecs for text-like and JSON columns, and for values whose column type is unknown.

Values without a known column type are rendered by their Python type (`any_text`); DuckDB
STRUCT/MAP/LIST values become JSON, so a psql user can read them and a client can parse
them. jsonb output reproduces jsonb_out's key order and spacing.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from proxy.errors import PgError, SqlState
from proxy.wire.codecs.datetimes import (
    date_text_enc,
    time_text_enc,
    timestamp_text_enc,
    timestamptz_text_encoder,
    timetz_text_enc,
)
from proxy.wire.codecs.intervals import Interval, interval_text_enc
from proxy.wire.codecs.numeric import (
    float8_str,
    float8_text,
    int_text,
    numeric_str,
    numeric_text,
)
from proxy.wire.codecs.primitives import Encoder, utf8
from proxy.wire.codecs.scalars import bool_text, bytea_text, uuid_text


def jsonish(value: object) -> str:
    """STRUCT/MAP/LIST values as JSON text, so a psql user can read them and a client can parse them."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is str:
        return json.dumps(value, ensure_ascii=False)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return "%d" % value
    if kind is float:
        text = float8_str(value)  # type: ignore[arg-type]
        return text if math.isfinite(value) else f'"{text}"'  # type: ignore[arg-type]
    if kind is Decimal:
        return numeric_str(value) if value.is_finite() else f'"{numeric_str(value)}"'  # type: ignore[union-attr]
    if kind is dict:
        items = value.items()  # type: ignore[attr-defined]
        return "{" + ", ".join(f"{_json_key(k)}: {jsonish(v)}" for k, v in items) + "}"
    if kind is list or kind is tuple:
        return "[" + ", ".join(map(jsonish, value)) + "]"  # type: ignore[call-overload]
    return json.dumps(any_text(value).decode(), ensure_ascii=False)


def _json_key(key: object) -> str:
    return json.dumps(key if type(key) is str else any_text(key).decode(), ensure_ascii=False)


def text_text(value: object) -> bytes:
    if type(value) is str:
        return value.encode()
    return any_text(value)


def json_text(value: object) -> bytes:
    if type(value) is str:
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return jsonish(value).encode()


def _jsonb_key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return len(raw), raw


def _jsonb_string(text: str) -> str:
    # escape_json: \" \\ \b \f \n \r \t, other control characters as \u00xx, the rest as is.
    return json.dumps(text, ensure_ascii=False)


def _jsonb_out(value: object) -> str:
    kind = type(value)
    if kind is str:
        return _jsonb_string(value)  # type: ignore[arg-type]
    if kind is Decimal:
        return numeric_str(value)
    if kind is dict:
        items = sorted(value.items(), key=lambda kv: _jsonb_key_order(kv[0]))  # type: ignore[attr-defined]
        return "{" + ", ".join(f"{_jsonb_string(k)}: {_jsonb_out(v)}" for k, v in items) + "}"
    if kind is list:
        return "[" + ", ".join(map(_jsonb_out, value)) + "]"  # type: ignore[call-overload]
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return numeric_str(value)  # int


def _jsonb_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    return dict(pairs)  # a duplicate key keeps its last value, as jsonb does


def jsonb_str(value: object) -> str:
    """jsonb_out: what PostgreSQL prints for a jsonb value. Keys ordered by length, then
    bytewise; duplicate keys keep the last value; numbers as numeric prints them; `", "`
    between items and `": "` after keys."""
    if type(value) is not str:
        value = json_text(value).decode()
    try:
        parsed = json.loads(value, parse_float=Decimal, parse_int=Decimal,  # type: ignore[arg-type]
                            object_pairs_hook=_jsonb_pairs)
    except ValueError:
        return value  # not JSON (cannot come from a JSON column): sent as it is
    return _jsonb_out(parsed)


def jsonb_text(value: object) -> bytes:
    return jsonb_str(value).encode()


def jsonb_binary(value: object) -> bytes:
    return b"\x01" + jsonb_text(value)


def parse_json(text: str, typname: str = "json") -> str:
    """Validate like json_in (no NaN/Infinity) and keep the client's text."""

    def reject(token: str) -> None:
        raise PgError(
            SqlState.INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json", f'Token "{token}" is invalid.'
        )

    try:
        json.loads(text, parse_constant=reject)  # type: ignore[arg-type]
    except json.JSONDecodeError as exc:
        raise PgError(
            SqlState.INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json", exc.msg + "."
        ) from None
    return text


def jsonb_from_binary(data: bytes) -> str:
    if not data or data[0] != 1:
        version = data[0] if data else 0
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, f"unsupported jsonb version number {version}")
    return parse_json(utf8(data[1:]), "jsonb")


def _datetime_text(value: datetime) -> bytes:
    if value.tzinfo is None:
        return timestamp_text_enc(value)
    return timestamptz_text_encoder(UTC)(value)


def _time_text_any(value: time) -> bytes:
    return time_text_enc(value) if value.tzinfo is None else timetz_text_enc(value)


_TEXT_BY_PY_TYPE: dict[type, Encoder] = {
    str: str.encode,
    bool: bool_text,
    int: int_text,
    float: float8_text,
    Decimal: numeric_text,
    date: date_text_enc,
    datetime: _datetime_text,
    time: _time_text_any,
    timedelta: interval_text_enc,
    Interval: interval_text_enc,
    UUID: uuid_text,
    bytes: bytea_text,
    bytearray: bytea_text,
    memoryview: bytea_text,
    dict: lambda v: jsonish(v).encode(),
    list: lambda v: jsonish(v).encode(),
    tuple: lambda v: jsonish(v).encode(),
}


def any_text(value: object) -> bytes:
    """Text for a value whose column type we do not know: chosen by its Python type."""
    encode = _TEXT_BY_PY_TYPE.get(type(value))
    return encode(value) if encode is not None else str(value).encode()
