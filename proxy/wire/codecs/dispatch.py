"""Codec lookup by OID, and the public encode/decode functions the wire layer calls.

Tables are built once at import, so resolving a column's codec is one dict lookup; for
streaming, resolve with `text_encoder`/`binary_encoder` once per column and call the
result per value. Only timestamptz/timetz depend on the session TimeZone; their codecs
are cached per zone.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

from proxy.errors import PgError, SqlState
from proxy.wire.codecs import (
    arrays,
    datetime_input,
    datetimes,
    intervals,
    numeric,
    scalars,
    text_and_json,
    timezones,
)
from proxy.wire.codecs.numeric import F4, F8, I2, I4, I8
from proxy.wire.codecs.oids import (
    ARRAY_OF,
    ELEMENT_OF,
    VECTOR_ELEMENT,
    Oid,
    sql_type_name,
)
from proxy.wire.codecs.primitives import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    NUMERIC_OUT_OF_RANGE,
    BinaryDecoder,
    Encoder,
    TextDecoder,
    utf8,
)
from proxy.wire.codecs.timezones import resolve_timezone

_TEXTLIKE = (Oid.TEXT, Oid.VARCHAR, Oid.BPCHAR, Oid.XML, Oid.UNKNOWN, Oid.NAME)
_REGS = (Oid.OID, Oid.REGPROC, Oid.REGCLASS, Oid.REGTYPE)
_PLAIN_ARRAY_ELEMENTS = {Oid.BOOL, Oid.INT2, Oid.INT4, Oid.INT8, Oid.OID, Oid.FLOAT4, Oid.FLOAT8, Oid.NUMERIC}
_TZ_OUTPUT = {Oid.TIMESTAMPTZ, Oid.TIMESTAMPTZ_ARRAY}  # text output depends on the session TimeZone
_TZ_INPUT = {Oid.TIMESTAMPTZ, Oid.TIMESTAMPTZ_ARRAY, Oid.TIMETZ, Oid.TIMETZ_ARRAY}  # so does input


def _oid_text(value: object) -> bytes:
    return b"%d" % value if isinstance(value, int) else str(value).encode()


def _identity(text: str) -> str:
    return text


def _vector_decoder(text: str) -> list[int]:
    return [numeric.parse_oid(part) for part in text.split()]


_TEXT_ENCODERS: dict[int, Encoder] = {
    Oid.BOOL: scalars.bool_text,
    Oid.BYTEA: scalars.bytea_text,
    Oid.CHAR: scalars.char_text,
    **dict.fromkeys(_TEXTLIKE, text_and_json.text_text),
    **dict.fromkeys((Oid.INT2, Oid.INT4, Oid.INT8), numeric.int_text),
    **dict.fromkeys(_REGS, _oid_text),
    Oid.JSON: text_and_json.json_text,
    Oid.JSONB: text_and_json.jsonb_text,
    Oid.FLOAT4: numeric.float4_text,
    Oid.FLOAT8: numeric.float8_text,
    Oid.NUMERIC: numeric.numeric_text,
    Oid.DATE: datetimes.date_text_enc,
    Oid.TIME: datetimes.time_text_enc,
    Oid.TIMETZ: datetimes.timetz_text_enc,
    Oid.TIMESTAMP: datetimes.timestamp_text_enc,
    Oid.TIMESTAMPTZ: datetimes.timestamptz_text_encoder(UTC),
    Oid.INTERVAL: intervals.interval_text_enc,
    Oid.UUID: scalars.uuid_text,
    Oid.INT2VECTOR: arrays.vector_text,
    Oid.OIDVECTOR: arrays.vector_text,
}
_BINARY_ENCODERS: dict[int, Encoder] = {
    Oid.BOOL: scalars.bool_binary,
    Oid.BYTEA: scalars.bytea_binary,
    Oid.CHAR: scalars.char_text,
    **dict.fromkeys(_TEXTLIKE, text_and_json.text_text),
    Oid.INT2: I2.pack,
    Oid.INT4: I4.pack,
    Oid.INT8: I8.pack,
    **dict.fromkeys(_REGS, numeric.oid_binary),
    Oid.JSON: text_and_json.json_text,
    Oid.JSONB: text_and_json.jsonb_binary,
    Oid.FLOAT4: F4.pack,
    Oid.FLOAT8: F8.pack,
    Oid.NUMERIC: numeric.numeric_binary,
    Oid.DATE: datetimes.date_binary,
    Oid.TIME: datetimes.time_binary,
    Oid.TIMETZ: datetimes.timetz_binary,
    Oid.TIMESTAMP: datetimes.timestamp_binary,
    Oid.TIMESTAMPTZ: datetimes.timestamptz_binary,
    Oid.INTERVAL: intervals.interval_binary,
    Oid.UUID: scalars.uuid_binary,
    Oid.INT2VECTOR: arrays.array_binary_encoder(Oid.INT2, I2.pack, lower_bound=0),
    Oid.OIDVECTOR: arrays.array_binary_encoder(Oid.OID, numeric.oid_binary, lower_bound=0),
}


def _date_text_decoder(text: str) -> object:
    return datetimes.date_value(datetime_input.parse_date(text))


def _timestamp_text_decoder(text: str) -> object:
    return datetimes.timestamp_value(datetime_input.parse_timestamp(text, None, "timestamp"))


def _time_text_decoder(text: str) -> object:
    return datetimes.time_value(datetime_input.parse_time(text, "time")[0])


def _interval_text_decoder(text: str) -> object:
    return intervals.interval_value(*intervals.parse_interval(text))


def _tz_text_decoders(tz: tzinfo) -> dict[int, TextDecoder]:
    def timestamptz(text: str) -> object:
        return datetimes.timestamptz_value(datetime_input.parse_timestamp(text, tz, "timestamp with time zone"))

    def timetz(text: str) -> object:
        tod, offset = datetime_input.parse_time(text, "time with time zone")
        if offset is None:
            offset = timezones.utc_offset_at(tz, datetimes.timestamptz_us(datetime.now(UTC)))
        return datetimes.timetz_value(tod, offset)

    return {Oid.TIMESTAMPTZ: timestamptz, Oid.TIMETZ: timetz}


_TEXT_DECODERS: dict[int, TextDecoder] = {
    Oid.BOOL: scalars.parse_bool,
    Oid.BYTEA: scalars.parse_bytea,
    Oid.CHAR: lambda text: text[:1],
    **dict.fromkeys((Oid.TEXT, Oid.VARCHAR, Oid.BPCHAR, Oid.XML, Oid.UNKNOWN), _identity),
    Oid.NAME: scalars.parse_name,
    Oid.INT2: numeric.int_parser("smallint", -(2**15), 2**15 - 1),
    Oid.INT4: numeric.int_parser("integer", INT32_MIN, INT32_MAX),
    Oid.INT8: numeric.int_parser("bigint", INT64_MIN, INT64_MAX),
    Oid.OID: numeric.parse_oid,
    **dict.fromkeys((Oid.REGPROC, Oid.REGCLASS, Oid.REGTYPE), numeric.parse_reg),
    Oid.JSON: text_and_json.parse_json,
    Oid.JSONB: text_and_json.parse_json,
    Oid.FLOAT4: numeric.float_parser("real", single=True),
    Oid.FLOAT8: numeric.float_parser("double precision", single=False),
    Oid.NUMERIC: numeric.parse_numeric,
    Oid.DATE: _date_text_decoder,
    Oid.TIME: _time_text_decoder,
    Oid.TIMESTAMP: _timestamp_text_decoder,
    Oid.INTERVAL: _interval_text_decoder,
    Oid.UUID: scalars.parse_uuid,
    Oid.INT2VECTOR: _vector_decoder,
    Oid.OIDVECTOR: _vector_decoder,
    **_tz_text_decoders(UTC),
}


def _char_text_binary(data: bytes) -> str:
    return utf8(data)


def _json_binary(data: bytes) -> str:
    return text_and_json.parse_json(utf8(data))


_BINARY_DECODERS: dict[int, BinaryDecoder] = {
    Oid.BOOL: scalars.bool_from_binary,
    Oid.BYTEA: bytes,
    Oid.CHAR: scalars.char_from_binary,
    **dict.fromkeys(_TEXTLIKE, _char_text_binary),
    Oid.INT2: numeric.binary_struct_decoder("smallint", I2),
    Oid.INT4: numeric.binary_struct_decoder("integer", I4),
    Oid.INT8: numeric.binary_struct_decoder("bigint", I8),
    **dict.fromkeys(_REGS, numeric.oid_from_binary),
    Oid.JSON: _json_binary,
    Oid.JSONB: text_and_json.jsonb_from_binary,
    Oid.FLOAT4: numeric.binary_struct_decoder("real", F4),
    Oid.FLOAT8: numeric.binary_struct_decoder("double precision", F8),
    Oid.NUMERIC: numeric.numeric_from_binary,
    Oid.DATE: datetimes.date_from_binary,
    Oid.TIME: datetimes.time_from_binary,
    Oid.TIMETZ: datetimes.timetz_from_binary,
    Oid.TIMESTAMP: datetimes.timestamp_from_binary,
    Oid.TIMESTAMPTZ: datetimes.timestamptz_from_binary,
    Oid.INTERVAL: intervals.interval_from_binary,
    Oid.UUID: scalars.uuid_from_binary,
}


def _array_binary_decoder(elem: int, decode: BinaryDecoder) -> BinaryDecoder:
    def decoder(data: bytes) -> object:
        return arrays.parse_array_binary(data, elem, decode, sql_type_name)

    return decoder


def _array_text_decoder(decode: TextDecoder) -> TextDecoder:
    def decoder(text: str) -> object:
        return arrays.parse_array_text(text, decode)

    return decoder


def _add_arrays(text_encoders: dict[int, Encoder], text_decoders: dict[int, TextDecoder]) -> None:
    for elem, arr in ARRAY_OF.items():
        if elem in text_encoders:
            text_encoders[arr] = arrays.array_text_encoder(text_encoders[elem], elem in _PLAIN_ARRAY_ELEMENTS)
        if elem in text_decoders:
            text_decoders[arr] = _array_text_decoder(text_decoders[elem])


_add_arrays(_TEXT_ENCODERS, _TEXT_DECODERS)
for _elem, _arr in ARRAY_OF.items():
    _BINARY_ENCODERS[_arr] = arrays.array_binary_encoder(_elem, _BINARY_ENCODERS[_elem])
    _BINARY_DECODERS[_arr] = _array_binary_decoder(_elem, _BINARY_DECODERS[_elem])
for _vec, _elem in VECTOR_ELEMENT.items():
    _BINARY_DECODERS[_vec] = _array_binary_decoder(_elem, _BINARY_DECODERS[_elem])


@lru_cache(maxsize=256)
def _tz_text_encoder(oid: int, timezone: str) -> Encoder:
    element = datetimes.timestamptz_text_encoder(resolve_timezone(timezone))
    return element if oid == Oid.TIMESTAMPTZ else arrays.array_text_encoder(element, False)


@lru_cache(maxsize=256)
def _tz_text_decoder(oid: int, timezone: str) -> TextDecoder:
    decoders = _tz_text_decoders(resolve_timezone(timezone))
    if oid in decoders:
        return decoders[oid]
    return _array_text_decoder(decoders[ELEMENT_OF[oid]])


# ---------------------------------------------------------------- public codec API


def text_encoder(oid: int, *, timezone: str = "UTC") -> Encoder:
    """The value -> text-format bytes function for a column; resolve once per column.
    Unknown OIDs render by Python type (str as is, dict/list as JSON, others via str())."""
    if timezone != "UTC" and oid in _TZ_OUTPUT:
        return _tz_text_encoder(oid, timezone)
    return _TEXT_ENCODERS.get(oid, text_and_json.any_text)


def binary_encoder(oid: int) -> Encoder:
    """The value -> binary-format bytes function; unknown OIDs are sent as text (what a
    text-typed column's binary form is)."""
    return _BINARY_ENCODERS.get(oid, text_and_json.any_text)


def text_decoder(oid: int, *, timezone: str = "UTC") -> TextDecoder:
    """The str -> value function for a text-format parameter (unknown OIDs stay str)."""
    if timezone != "UTC" and oid in _TZ_INPUT:
        return _tz_text_decoder(oid, timezone)
    return _TEXT_DECODERS.get(oid, _identity)


def binary_decoder(oid: int) -> BinaryDecoder:
    """The bytes -> value function for a binary-format parameter."""
    decoder = _BINARY_DECODERS.get(oid)
    if decoder is not None:
        return decoder
    if oid == 0:
        return _char_text_binary

    def unsupported(data: bytes) -> object:
        raise PgError(SqlState.UNDEFINED_FUNCTION, f"no binary input function available for type {sql_type_name(oid)}")

    return unsupported


def encoding_error(exc: Exception, oid: int) -> PgError:
    """A PgError for a raw codec's failure on a value that does not fit the column type."""
    if isinstance(exc, PgError):
        return exc
    if isinstance(exc, (OverflowError, struct.error)):
        return PgError(NUMERIC_OUT_OF_RANGE, f"value out of range for type {sql_type_name(oid)}", str(exc))
    return PgError(SqlState.DATA_EXCEPTION, f"cannot send value as type {sql_type_name(oid)}", str(exc))


def encode_text(value: object, oid: int, *, timezone: str = "UTC") -> bytes:
    """PostgreSQL text output of a non-None value; timestamptz renders in `timezone`."""
    try:
        return text_encoder(oid, timezone=timezone)(value)
    except (TypeError, ValueError, OverflowError, struct.error) as exc:
        raise encoding_error(exc, oid) from exc


def encode_binary(value: object, oid: int) -> bytes:
    """PostgreSQL binary send format of a non-None value (without the length prefix)."""
    try:
        return _BINARY_ENCODERS.get(oid, text_and_json.any_text)(value)
    except (TypeError, ValueError, OverflowError, struct.error) as exc:
        raise encoding_error(exc, oid) from exc


def decode_text(data: bytes | bytearray | memoryview | str, oid: int, *, timezone: str = "UTC") -> object:
    """A text-format Bind parameter as a Python value; PgError with PostgreSQL's SQLSTATE and
    message on bad input. `timezone` is the session TimeZone, used when timestamptz input
    names no offset."""
    text = data if type(data) is str else utf8(data)  # type: ignore[arg-type]
    return text_decoder(oid, timezone=timezone)(text)  # type: ignore[arg-type]


def decode_binary(data: bytes | bytearray | memoryview, oid: int) -> object:
    """A binary-format Bind parameter as a Python value; PgError (22P03) on a bad layout."""
    return binary_decoder(oid)(bytes(data) if type(data) is not bytes else data)
