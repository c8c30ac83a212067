"""PostgreSQL data types: OIDs, catalog facts, and the value codecs the wire layer uses.

Result values arrive as DuckDB's Python objects and leave as PostgreSQL's text or binary
output; Bind parameters arrive in either format and leave as Python values DuckDB binds.
The byte layouts match PostgreSQL 15 exactly (DateStyle=ISO, MDY, IntervalStyle=postgres,
extra_float_digits=1), so drivers that parse them (psycopg, asyncpg, JDBC, node-postgres)
see what a real server would send.

This module is the stable import point; the implementation lives in `proxy.wire.codecs`
(one module per family of types, `dispatch` for the per-OID tables). For streaming,
resolve a column's codec once with `text_encoder`/`binary_encoder` and call it per value.
Those raw codecs may raise TypeError, ValueError, OverflowError or struct.error when a
value does not fit its column type; `encode_text`/`encode_binary` turn that into a PgError
(`encoding_error` does the same for callers of the raw codecs).
"""

from __future__ import annotations

from proxy.wire.codecs.dispatch import (
    binary_decoder,
    binary_encoder,
    decode_binary,
    decode_text,
    encode_binary,
    encode_text,
    encoding_error,
    text_decoder,
    text_encoder,
)
from proxy.wire.codecs.duckdb_types import oid_for_duckdb_type
from proxy.wire.codecs.intervals import Interval
from proxy.wire.codecs.oids import (
    Oid,
    array_oid,
    element_oid,
    sql_type_name,
    type_name,
    type_size,
)
from proxy.wire.codecs.timezones import resolve_timezone

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
