"""PostgreSQL data types: OIDs, catalog facts, and the value codecs the wire layer uses.

Result values arrive as DuckDB's Python objects and leave as PostgreSQL's text or binary
output; Bind parameters arrive in either format and leave as Python values DuckDB binds.
The byte layouts match PostgreSQL 15 exactly (DateStyle=ISO, MDY, IntervalStyle=postgres,
extra_float_digits=1), so drivers that parse them (psycopg, asyncpg, JDBC, node-postgres)
see what a real server would send.

Dispatch is one dict lookup per OID; the per-type functions live in `type_codecs`. For
streaming, resolve a column's codec once with `text_encoder`/`binary_encoder` and call it
per value. Those raw codecs may raise TypeError, ValueError, OverflowError or struct.error
when a value does not fit its column type; `encode_text`/`encode_binary` turn that into a
PgError (`encoding_error` does the same for callers of the raw codecs).
"""

from __future__ import annotations

import re
import struct
from enum import IntEnum
from functools import lru_cache

from proxy.errors import PgError, SqlState
from proxy.wire import type_codecs as c
from proxy.wire.type_codecs import (
    BinaryDecoder,
    Encoder,
    Interval,
    TextDecoder,
    resolve_timezone,
)

__all__ = [
    "Interval",
    "Oid",
    "array_oid",
    "binary_decoder",
    "binary_encoder",
    "decode_binary",
    "decode_text",
    "element_oid",
    "encode_binary",
    "encode_text",
    "encoding_error",
    "oid_for_duckdb_type",
    "resolve_timezone",
    "sql_type_name",
    "text_decoder",
    "text_encoder",
    "type_name",
    "type_size",
]


class Oid(IntEnum):
    """pg_type OIDs of the types the proxy speaks (fixed across PostgreSQL versions)."""

    BOOL = 16
    BYTEA = 17
    CHAR = 18
    NAME = 19
    INT8 = 20
    INT2 = 21
    INT2VECTOR = 22
    INT4 = 23
    REGPROC = 24
    TEXT = 25
    OID = 26
    OIDVECTOR = 30
    JSON = 114
    XML = 142
    FLOAT4 = 700
    FLOAT8 = 701
    UNKNOWN = 705
    BPCHAR = 1042
    VARCHAR = 1043
    DATE = 1082
    TIME = 1083
    TIMESTAMP = 1114
    TIMESTAMPTZ = 1184
    INTERVAL = 1186
    TIMETZ = 1266
    NUMERIC = 1700
    REGCLASS = 2205
    REGTYPE = 2206
    UUID = 2950
    JSONB = 3802
    # arrays
    XML_ARRAY = 143
    JSON_ARRAY = 199
    BOOL_ARRAY = 1000
    BYTEA_ARRAY = 1001
    CHAR_ARRAY = 1002
    NAME_ARRAY = 1003
    INT2_ARRAY = 1005
    INT4_ARRAY = 1007
    REGPROC_ARRAY = 1008
    TEXT_ARRAY = 1009
    BPCHAR_ARRAY = 1014
    VARCHAR_ARRAY = 1015
    INT8_ARRAY = 1016
    FLOAT4_ARRAY = 1021
    FLOAT8_ARRAY = 1022
    OID_ARRAY = 1028
    TIMESTAMP_ARRAY = 1115
    DATE_ARRAY = 1182
    TIME_ARRAY = 1183
    TIMESTAMPTZ_ARRAY = 1185
    INTERVAL_ARRAY = 1187
    NUMERIC_ARRAY = 1231
    TIMETZ_ARRAY = 1270
    REGCLASS_ARRAY = 2210
    REGTYPE_ARRAY = 2211
    UUID_ARRAY = 2951
    JSONB_ARRAY = 3807


# oid -> (typname, typlen, SQL spelling used in messages); arrays are derived below.
_SCALARS: dict[int, tuple[str, int, str]] = {
    Oid.BOOL: ("bool", 1, "boolean"),
    Oid.BYTEA: ("bytea", -1, "bytea"),
    Oid.CHAR: ("char", 1, '"char"'),
    Oid.NAME: ("name", 64, "name"),
    Oid.INT8: ("int8", 8, "bigint"),
    Oid.INT2: ("int2", 2, "smallint"),
    Oid.INT2VECTOR: ("int2vector", -1, "int2vector"),
    Oid.INT4: ("int4", 4, "integer"),
    Oid.REGPROC: ("regproc", 4, "regproc"),
    Oid.TEXT: ("text", -1, "text"),
    Oid.OID: ("oid", 4, "oid"),
    Oid.OIDVECTOR: ("oidvector", -1, "oidvector"),
    Oid.JSON: ("json", -1, "json"),
    Oid.XML: ("xml", -1, "xml"),
    Oid.FLOAT4: ("float4", 4, "real"),
    Oid.FLOAT8: ("float8", 8, "double precision"),
    Oid.UNKNOWN: ("unknown", -2, "unknown"),
    Oid.BPCHAR: ("bpchar", -1, "character"),
    Oid.VARCHAR: ("varchar", -1, "character varying"),
    Oid.DATE: ("date", 4, "date"),
    Oid.TIME: ("time", 8, "time without time zone"),
    Oid.TIMESTAMP: ("timestamp", 8, "timestamp without time zone"),
    Oid.TIMESTAMPTZ: ("timestamptz", 8, "timestamp with time zone"),
    Oid.INTERVAL: ("interval", 16, "interval"),
    Oid.TIMETZ: ("timetz", 12, "time with time zone"),
    Oid.NUMERIC: ("numeric", -1, "numeric"),
    Oid.REGCLASS: ("regclass", 4, "regclass"),
    Oid.REGTYPE: ("regtype", 4, "regtype"),
    Oid.UUID: ("uuid", 16, "uuid"),
    Oid.JSONB: ("jsonb", -1, "jsonb"),
}
_ARRAY_OF: dict[int, int] = {
    Oid.XML: Oid.XML_ARRAY,
    Oid.JSON: Oid.JSON_ARRAY,
    Oid.BOOL: Oid.BOOL_ARRAY,
    Oid.BYTEA: Oid.BYTEA_ARRAY,
    Oid.CHAR: Oid.CHAR_ARRAY,
    Oid.NAME: Oid.NAME_ARRAY,
    Oid.INT2: Oid.INT2_ARRAY,
    Oid.INT4: Oid.INT4_ARRAY,
    Oid.REGPROC: Oid.REGPROC_ARRAY,
    Oid.TEXT: Oid.TEXT_ARRAY,
    Oid.BPCHAR: Oid.BPCHAR_ARRAY,
    Oid.VARCHAR: Oid.VARCHAR_ARRAY,
    Oid.INT8: Oid.INT8_ARRAY,
    Oid.FLOAT4: Oid.FLOAT4_ARRAY,
    Oid.FLOAT8: Oid.FLOAT8_ARRAY,
    Oid.OID: Oid.OID_ARRAY,
    Oid.TIMESTAMP: Oid.TIMESTAMP_ARRAY,
    Oid.DATE: Oid.DATE_ARRAY,
    Oid.TIME: Oid.TIME_ARRAY,
    Oid.TIMESTAMPTZ: Oid.TIMESTAMPTZ_ARRAY,
    Oid.INTERVAL: Oid.INTERVAL_ARRAY,
    Oid.NUMERIC: Oid.NUMERIC_ARRAY,
    Oid.TIMETZ: Oid.TIMETZ_ARRAY,
    Oid.REGCLASS: Oid.REGCLASS_ARRAY,
    Oid.REGTYPE: Oid.REGTYPE_ARRAY,
    Oid.UUID: Oid.UUID_ARRAY,
    Oid.JSONB: Oid.JSONB_ARRAY,
}
_ELEMENT_OF: dict[int, int] = {arr: elem for elem, arr in _ARRAY_OF.items()}
_VECTOR_ELEMENT = {Oid.INT2VECTOR: Oid.INT2, Oid.OIDVECTOR: Oid.OID}


def type_size(oid: int) -> int:
    """typlen for RowDescription: the fixed width, -1 for varlena, -2 for C strings."""
    info = _SCALARS.get(oid)
    return info[1] if info is not None else -1


def type_name(oid: int) -> str:
    """pg_type.typname: 'int4', '_int4', 'timestamptz'; 'unknown' for OIDs we do not know."""
    info = _SCALARS.get(oid)
    if info is not None:
        return info[0]
    elem = _ELEMENT_OF.get(oid)
    return "_" + _SCALARS[elem][0] if elem is not None else "unknown"


def sql_type_name(oid: int) -> str:
    """format_type() spelling used in error messages: 'integer', 'timestamp with time zone', 'text[]'."""
    info = _SCALARS.get(oid)
    if info is not None:
        return info[2]
    elem = _ELEMENT_OF.get(oid)
    return _SCALARS[elem][2] + "[]" if elem is not None else str(oid)


def array_oid(element_oid: int) -> int | None:
    return _ARRAY_OF.get(element_oid)


def element_oid(array_oid: int) -> int | None:
    return _ELEMENT_OF.get(array_oid)


# ---------------------------------------------------------------- DuckDB type names

_DUCKDB_SCALARS: dict[str, int] = {
    **dict.fromkeys(("BOOLEAN", "BOOL", "LOGICAL"), Oid.BOOL),
    **dict.fromkeys(("TINYINT", "INT1", "UTINYINT", "UINT8", "SMALLINT", "INT2", "SHORT"), Oid.INT2),
    **dict.fromkeys(("INTEGER", "INT", "INT4", "SIGNED", "USMALLINT", "UINT16"), Oid.INT4),
    **dict.fromkeys(("BIGINT", "INT8", "LONG", "UINTEGER", "UINT32"), Oid.INT8),
    **dict.fromkeys(
        ("UBIGINT", "UINT64", "HUGEINT", "INT128", "UHUGEINT", "UINT128", "BIGNUM", "VARINT", "DECIMAL", "NUMERIC"),
        Oid.NUMERIC,
    ),
    **dict.fromkeys(("FLOAT", "FLOAT4", "REAL"), Oid.FLOAT4),
    **dict.fromkeys(("DOUBLE", "FLOAT8"), Oid.FLOAT8),
    **dict.fromkeys(("VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "NVARCHAR"), Oid.TEXT),
    **dict.fromkeys(("BLOB", "BYTEA", "BINARY", "VARBINARY"), Oid.BYTEA),
    "DATE": Oid.DATE,
    **dict.fromkeys(("TIME", "TIME_NS"), Oid.TIME),
    **dict.fromkeys(("TIME WITH TIME ZONE", "TIMETZ"), Oid.TIMETZ),
    **dict.fromkeys(
        ("TIMESTAMP", "DATETIME", "TIMESTAMP_US", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"), Oid.TIMESTAMP
    ),
    **dict.fromkeys(("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"), Oid.TIMESTAMPTZ),
    "INTERVAL": Oid.INTERVAL,
    "UUID": Oid.UUID,
    "JSON": Oid.JSON,
}
_ARRAY_SUFFIX = re.compile(r"\[\d*\]$")


@lru_cache(maxsize=1024)
def oid_for_duckdb_type(duckdb_type: str) -> int:
    """The PostgreSQL type a DuckDB column is presented as ('INTEGER[]' -> int4[], 'HUGEINT' ->
    numeric). Nested lists become one multi-dimensional array; STRUCT, MAP, UNION, ENUM, BIT
    and anything unknown become text (STRUCT/MAP/LIST-of-those rendered as JSON)."""
    name = duckdb_type.strip()
    suffix = _ARRAY_SUFFIX.search(name)
    if suffix is not None:
        inner = oid_for_duckdb_type(name[: suffix.start()])
        if inner in _ELEMENT_OF:
            return inner
        if inner == Oid.TEXT and not _is_plain_text(name[: suffix.start()]):
            return Oid.TEXT
        return _ARRAY_OF.get(inner, Oid.TEXT)
    upper = name.upper()
    oid = _DUCKDB_SCALARS.get(upper)
    if oid is not None:
        return oid
    base = upper.split("(", 1)[0].strip()
    if base in ("DECIMAL", "NUMERIC"):
        return Oid.NUMERIC
    if base in ("VARCHAR", "CHAR", "BPCHAR", "TEXT"):
        return Oid.TEXT
    if base == "ENUM":
        return Oid.TEXT
    return Oid.TEXT


def _is_plain_text(duckdb_type: str) -> bool:
    """VARCHAR/ENUM-like element types become text[]; STRUCT/MAP/UNION elements make the
    whole column text (JSON), since a PostgreSQL array of composite text is unreadable."""
    base = duckdb_type.strip().upper().split("(", 1)[0].strip()
    return base in ("VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "NVARCHAR", "ENUM", "BIT", "BITSTRING", '"NULL"')


# ---------------------------------------------------------------- codec tables

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
    return [c.parse_oid(part) for part in text.split()]


_TEXT_ENCODERS: dict[int, Encoder] = {
    Oid.BOOL: c.bool_text,
    Oid.BYTEA: c.bytea_text,
    Oid.CHAR: c.char_text,
    **dict.fromkeys(_TEXTLIKE, c.text_text),
    **dict.fromkeys((Oid.INT2, Oid.INT4, Oid.INT8), c.int_text),
    **dict.fromkeys(_REGS, _oid_text),
    Oid.JSON: c.json_text,
    Oid.JSONB: c.jsonb_text,
    Oid.FLOAT4: c.float4_text,
    Oid.FLOAT8: c.float8_text,
    Oid.NUMERIC: c.numeric_text,
    Oid.DATE: c.date_text_enc,
    Oid.TIME: c.time_text_enc,
    Oid.TIMETZ: c.timetz_text_enc,
    Oid.TIMESTAMP: c.timestamp_text_enc,
    Oid.TIMESTAMPTZ: c.timestamptz_text_encoder(c._UTC),
    Oid.INTERVAL: c.interval_text_enc,
    Oid.UUID: c.uuid_text,
    Oid.INT2VECTOR: c.vector_text,
    Oid.OIDVECTOR: c.vector_text,
}
_BINARY_ENCODERS: dict[int, Encoder] = {
    Oid.BOOL: c.bool_binary,
    Oid.BYTEA: c.bytea_binary,
    Oid.CHAR: c.char_text,
    **dict.fromkeys(_TEXTLIKE, c.text_text),
    Oid.INT2: c.I2.pack,
    Oid.INT4: c.I4.pack,
    Oid.INT8: c.I8.pack,
    **dict.fromkeys(_REGS, c.oid_binary),
    Oid.JSON: c.json_text,
    Oid.JSONB: c.jsonb_binary,
    Oid.FLOAT4: c.F4.pack,
    Oid.FLOAT8: c.F8.pack,
    Oid.NUMERIC: c.numeric_binary,
    Oid.DATE: c.date_binary,
    Oid.TIME: c.time_binary,
    Oid.TIMETZ: c.timetz_binary,
    Oid.TIMESTAMP: c.timestamp_binary,
    Oid.TIMESTAMPTZ: c.timestamptz_binary,
    Oid.INTERVAL: c.interval_binary,
    Oid.UUID: c.uuid_binary,
    Oid.INT2VECTOR: c.array_binary_encoder(Oid.INT2, c.I2.pack, lower_bound=0),
    Oid.OIDVECTOR: c.array_binary_encoder(Oid.OID, c.oid_binary, lower_bound=0),
}


def _date_text_decoder(text: str) -> object:
    return c.date_value(c.parse_date(text))


def _timestamp_text_decoder(text: str) -> object:
    return c.timestamp_value(c.parse_timestamp(text, None, "timestamp"))


def _time_text_decoder(text: str) -> object:
    return c.time_value(c.parse_time(text, "time")[0])


def _interval_text_decoder(text: str) -> object:
    return c.interval_value(*c.parse_interval(text))


def _tz_text_decoders(tz: c.tzinfo) -> dict[int, TextDecoder]:
    def timestamptz(text: str) -> object:
        return c.timestamptz_value(c.parse_timestamp(text, tz, "timestamp with time zone"))

    def timetz(text: str) -> object:
        tod, offset = c.parse_time(text, "time with time zone")
        if offset is None:
            offset = c.utc_offset_at(tz, c.timestamptz_us(c.datetime.now(c._UTC)))
        return c.timetz_value(tod, offset)

    return {Oid.TIMESTAMPTZ: timestamptz, Oid.TIMETZ: timetz}


_TEXT_DECODERS: dict[int, TextDecoder] = {
    Oid.BOOL: c.parse_bool,
    Oid.BYTEA: c.parse_bytea,
    Oid.CHAR: lambda text: text[:1],
    **dict.fromkeys((Oid.TEXT, Oid.VARCHAR, Oid.BPCHAR, Oid.XML, Oid.UNKNOWN), _identity),
    Oid.NAME: c.parse_name,
    Oid.INT2: c.int_parser("smallint", -(2**15), 2**15 - 1),
    Oid.INT4: c.int_parser("integer", c.INT32_MIN, c.INT32_MAX),
    Oid.INT8: c.int_parser("bigint", c.INT64_MIN, c.INT64_MAX),
    Oid.OID: c.parse_oid,
    **dict.fromkeys((Oid.REGPROC, Oid.REGCLASS, Oid.REGTYPE), c.parse_reg),
    Oid.JSON: c.parse_json,
    Oid.JSONB: c.parse_json,
    Oid.FLOAT4: c.float_parser("real", single=True),
    Oid.FLOAT8: c.float_parser("double precision", single=False),
    Oid.NUMERIC: c.parse_numeric,
    Oid.DATE: _date_text_decoder,
    Oid.TIME: _time_text_decoder,
    Oid.TIMESTAMP: _timestamp_text_decoder,
    Oid.INTERVAL: _interval_text_decoder,
    Oid.UUID: c.parse_uuid,
    Oid.INT2VECTOR: _vector_decoder,
    Oid.OIDVECTOR: _vector_decoder,
    **_tz_text_decoders(c._UTC),
}


def _char_text_binary(data: bytes) -> str:
    return c.utf8(data)


def _json_binary(data: bytes) -> str:
    return c.parse_json(c.utf8(data))


_BINARY_DECODERS: dict[int, BinaryDecoder] = {
    Oid.BOOL: c.bool_from_binary,
    Oid.BYTEA: bytes,
    Oid.CHAR: c.char_from_binary,
    **dict.fromkeys(_TEXTLIKE, _char_text_binary),
    Oid.INT2: c.binary_struct_decoder("smallint", c.I2),
    Oid.INT4: c.binary_struct_decoder("integer", c.I4),
    Oid.INT8: c.binary_struct_decoder("bigint", c.I8),
    **dict.fromkeys(_REGS, c.oid_from_binary),
    Oid.JSON: _json_binary,
    Oid.JSONB: c.jsonb_from_binary,
    Oid.FLOAT4: c.binary_struct_decoder("real", c.F4),
    Oid.FLOAT8: c.binary_struct_decoder("double precision", c.F8),
    Oid.NUMERIC: c.numeric_from_binary,
    Oid.DATE: c.date_from_binary,
    Oid.TIME: c.time_from_binary,
    Oid.TIMETZ: c.timetz_from_binary,
    Oid.TIMESTAMP: c.timestamp_from_binary,
    Oid.TIMESTAMPTZ: c.timestamptz_from_binary,
    Oid.INTERVAL: c.interval_from_binary,
    Oid.UUID: c.uuid_from_binary,
}


def _array_binary_decoder(elem: int, decode: BinaryDecoder) -> BinaryDecoder:
    def decoder(data: bytes) -> object:
        return c.parse_array_binary(data, elem, decode, sql_type_name)

    return decoder


def _array_text_decoder(decode: TextDecoder) -> TextDecoder:
    def decoder(text: str) -> object:
        return c.parse_array_text(text, decode)

    return decoder


def _add_arrays(text_encoders: dict[int, Encoder], text_decoders: dict[int, TextDecoder]) -> None:
    for elem, arr in _ARRAY_OF.items():
        if elem in text_encoders:
            text_encoders[arr] = c.array_text_encoder(text_encoders[elem], elem in _PLAIN_ARRAY_ELEMENTS)
        if elem in text_decoders:
            text_decoders[arr] = _array_text_decoder(text_decoders[elem])


_add_arrays(_TEXT_ENCODERS, _TEXT_DECODERS)
for _elem, _arr in _ARRAY_OF.items():
    _BINARY_ENCODERS[_arr] = c.array_binary_encoder(_elem, _BINARY_ENCODERS[_elem])
    _BINARY_DECODERS[_arr] = _array_binary_decoder(_elem, _BINARY_DECODERS[_elem])
for _vec, _elem in _VECTOR_ELEMENT.items():
    _BINARY_DECODERS[_vec] = _array_binary_decoder(_elem, _BINARY_DECODERS[_elem])


@lru_cache(maxsize=256)
def _tz_text_encoder(oid: int, timezone: str) -> Encoder:
    element = c.timestamptz_text_encoder(resolve_timezone(timezone))
    return element if oid == Oid.TIMESTAMPTZ else c.array_text_encoder(element, False)


@lru_cache(maxsize=256)
def _tz_text_decoder(oid: int, timezone: str) -> TextDecoder:
    decoders = _tz_text_decoders(resolve_timezone(timezone))
    if oid in decoders:
        return decoders[oid]
    return _array_text_decoder(decoders[_ELEMENT_OF[oid]])


# ---------------------------------------------------------------- public codec API


def text_encoder(oid: int, *, timezone: str = "UTC") -> Encoder:
    """The value -> text-format bytes function for a column; resolve once per column.
    Unknown OIDs render by Python type (str as is, dict/list as JSON, others via str())."""
    if timezone != "UTC" and oid in _TZ_OUTPUT:
        return _tz_text_encoder(oid, timezone)
    return _TEXT_ENCODERS.get(oid, c.any_text)


def binary_encoder(oid: int) -> Encoder:
    """The value -> binary-format bytes function; unknown OIDs are sent as text (what a
    text-typed column's binary form is)."""
    return _BINARY_ENCODERS.get(oid, c.any_text)


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
        return PgError(c.NUMERIC_OUT_OF_RANGE, f"value out of range for type {sql_type_name(oid)}", str(exc))
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
        return _BINARY_ENCODERS.get(oid, c.any_text)(value)
    except (TypeError, ValueError, OverflowError, struct.error) as exc:
        raise encoding_error(exc, oid) from exc


def decode_text(data: bytes | bytearray | memoryview | str, oid: int, *, timezone: str = "UTC") -> object:
    """A text-format Bind parameter as a Python value; PgError with PostgreSQL's SQLSTATE and
    message on bad input. `timezone` is the session TimeZone, used when timestamptz input
    names no offset."""
    text = data if type(data) is str else c.utf8(data)  # type: ignore[arg-type]
    return text_decoder(oid, timezone=timezone)(text)  # type: ignore[arg-type]


def decode_binary(data: bytes | bytearray | memoryview, oid: int) -> object:
    """A binary-format Bind parameter as a Python value; PgError (22P03) on a bad layout."""
    return binary_decoder(oid)(bytes(data) if type(data) is not bytes else data)
