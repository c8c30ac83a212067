"""Which PostgreSQL type a DuckDB column is presented to clients as."""

from __future__ import annotations

import re
from functools import lru_cache

from proxy.wire.codecs.oids import ARRAY_OF, ELEMENT_OF, Oid

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
        if inner in ELEMENT_OF:
            return inner
        if inner == Oid.TEXT and not _is_plain_text(name[: suffix.start()]):
            return Oid.TEXT
        return ARRAY_OF.get(inner, Oid.TEXT)
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
