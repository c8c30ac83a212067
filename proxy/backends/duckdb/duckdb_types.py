"""DuckDB type names: their canonical spelling, the DuckDB type holding a PostgreSQL type's
values, and the DECIMAL that holds a numeric value exactly."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_DUCKDB_TYPE_ALIASES = {
    "INT": "INTEGER", "INT4": "INTEGER", "INT32": "INTEGER", "SIGNED": "INTEGER", "INT8": "BIGINT",
    "INT64": "BIGINT", "LONG": "BIGINT", "INT2": "SMALLINT", "INT16": "SMALLINT", "SHORT": "SMALLINT",
    "INT1": "TINYINT", "TEXT": "VARCHAR", "STRING": "VARCHAR", "CHAR": "VARCHAR", "BPCHAR": "VARCHAR",
    "NVARCHAR": "VARCHAR", "FLOAT4": "FLOAT", "REAL": "FLOAT", "FLOAT8": "DOUBLE", "NUMERIC": "DECIMAL(18,3)",
    "DECIMAL": "DECIMAL(18,3)", "BOOL": "BOOLEAN", "LOGICAL": "BOOLEAN", "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
    "TIMETZ": "TIME WITH TIME ZONE", "BYTEA": "BLOB", "VARBINARY": "BLOB", "BINARY": "BLOB", "JSONB": "JSON",
    "DATETIME": "TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
}


def normalize_duckdb_type(text: str) -> str:
    """DuckDB's canonical spelling of a type (as duckdb_columns() prints it), for OID lookup."""
    t = re.sub(r"\s+", " ", text.strip().strip('"')).upper()
    if t.endswith("[]"):
        return normalize_duckdb_type(t[:-2]) + "[]"
    m = re.fullmatch(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", t)
    if m:
        return f"DECIMAL({m.group(1)},{m.group(2) or 0})"
    t = re.sub(r"^(VARCHAR|CHAR|BPCHAR|TEXT|STRING)\s*\(\s*\d+\s*\)$", "VARCHAR", t)
    return _DUCKDB_TYPE_ALIASES.get(t, t)


#: PostgreSQL type OID -> the DuckDB type that holds its values (parameters typed by the client).
_OID_TO_DUCKDB = {
    16: "BOOLEAN", 17: "BLOB", 20: "BIGINT", 21: "SMALLINT", 23: "INTEGER", 25: "VARCHAR", 26: "BIGINT",
    700: "REAL", 701: "DOUBLE", 1043: "VARCHAR", 1042: "VARCHAR", 1082: "DATE", 1083: "TIME",
    1114: "TIMESTAMP", 1184: "TIMESTAMP WITH TIME ZONE", 1186: "INTERVAL", 1700: "DECIMAL(38,10)",
    2950: "UUID", 114: "JSON", 3802: "JSON", 1000: "BOOLEAN[]", 1005: "SMALLINT[]", 1007: "INTEGER[]",
    1016: "BIGINT[]", 1009: "VARCHAR[]", 1015: "VARCHAR[]", 1021: "REAL[]", 1022: "DOUBLE[]",
    1028: "BIGINT[]", 1182: "DATE[]", 1115: "TIMESTAMP[]", 1231: "DECIMAL(38,10)[]", 2951: "UUID[]",
}


def duckdb_type_for_oid(oid: int) -> str:
    """The DuckDB type for values of PostgreSQL type `oid` (VARCHAR when unknown)."""
    return _OID_TO_DUCKDB.get(oid, "VARCHAR")


#: The most digits a DuckDB DECIMAL holds.
MAX_DECIMAL_DIGITS = 38
#: What an unconstrained numeric is in DuckDB when nothing says better: 28 digits before the
#: point, 10 after (DuckDB's bare DECIMAL would be DECIMAL(18,3)).
GENERIC_DECIMAL = "DECIMAL(38,10)"
_NUMERIC_TEXT = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*")


def decimal_type_for(value: object) -> str | None:
    """DECIMAL(p,s) holding `value` exactly, with its own scale (PostgreSQL's numeric keeps
    the scale a value was written with); None when DuckDB's DECIMAL cannot."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        width = max(len(str(abs(value))), 1)
        return f"DECIMAL({width},0)" if width <= MAX_DECIMAL_DIGITS else None
    if isinstance(value, str):
        if not _NUMERIC_TEXT.fullmatch(value):
            return None
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return None
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    integer_digits = max(len(digits) + exponent, 0)
    width = max(integer_digits + scale, 1)
    if width > MAX_DECIMAL_DIGITS:
        if integer_digits > MAX_DECIMAL_DIGITS:
            return None
        scale = MAX_DECIMAL_DIGITS - max(integer_digits, 1)  # rounded: DuckDB has 38 digits at most
        width = MAX_DECIMAL_DIGITS
    return f"DECIMAL({width},{scale})"
