"""pg_type facts for the types the proxy speaks: OIDs, names, sizes and array pairings.

RowDescription and error messages need them, and every codec table is keyed by them.
"""

from __future__ import annotations

from enum import IntEnum


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
ARRAY_OF: dict[int, int] = {
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
ELEMENT_OF: dict[int, int] = {arr: elem for elem, arr in ARRAY_OF.items()}
VECTOR_ELEMENT = {Oid.INT2VECTOR: Oid.INT2, Oid.OIDVECTOR: Oid.OID}


def type_size(oid: int) -> int:
    """typlen for RowDescription: the fixed width, -1 for varlena, -2 for C strings."""
    info = _SCALARS.get(oid)
    return info[1] if info is not None else -1


def type_name(oid: int) -> str:
    """pg_type.typname: 'int4', '_int4', 'timestamptz'; 'unknown' for OIDs we do not know."""
    info = _SCALARS.get(oid)
    if info is not None:
        return info[0]
    elem = ELEMENT_OF.get(oid)
    return "_" + _SCALARS[elem][0] if elem is not None else "unknown"


def sql_type_name(oid: int) -> str:
    """format_type() spelling used in error messages: 'integer', 'timestamp with time zone', 'text[]'."""
    info = _SCALARS.get(oid)
    if info is not None:
        return info[2]
    elem = ELEMENT_OF.get(oid)
    return _SCALARS[elem][2] + "[]" if elem is not None else str(oid)


def array_oid(element_oid: int) -> int | None:
    return ARRAY_OF.get(element_oid)


def element_oid(array_oid: int) -> int | None:
    return ELEMENT_OF.get(array_oid)
