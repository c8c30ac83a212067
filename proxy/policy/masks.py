"""Mask expressions, built as sqlglot trees in the PostgreSQL dialect.

Every function is called schema-qualified (`pg_catalog.*`) so no object a user creates in the
warehouse can stand in for it, and every mask keeps NULL as NULL. The hash is keyed with the
deployment's secret: equal values give equal hashes in every session (joins and GROUP BY
still work), but nobody without the key can hash a guess and compare.

The key itself never appears here: statement text is recorded by too many things (activity
views, `log_statement`, pg_stat_statements, auto_explain, DuckDB's profiler), so the rewrite
calls `_purpose_proxy.mask_hash(value::text)`, a function each warehouse installs at start
with the key stored beside it (see proxy/backends/mask_key.py). The decision core never holds
the key, so no rewrite can carry it.
"""

from __future__ import annotations

from sqlglot import exp

from proxy.catalog.model import PROXY_SCHEMA
from proxy.policy.model import MaskMethod

#: Where the warehouse keeps the hash mask's key and the function using it.
MASK_SCHEMA = PROXY_SCHEMA
#: `MASK_SCHEMA.MASK_FUNCTION(text) -> text`: hex SHA-256 of key || value (UTF-8), NULL for NULL.
MASK_FUNCTION = "mask_hash"

REDACTED = "[REDACTED]"
TEXT_TYPES = frozenset({"text", "varchar", "character varying", "char", "character", "bpchar",
                        "name", "citext"})


def pg_function(name: str, *args: exp.Expression) -> exp.Expression:
    """`pg_catalog.name(args)` as a sqlglot node."""
    return exp.Dot(
        this=exp.to_identifier("pg_catalog"),
        expression=exp.Anonymous(this=name, expressions=list(args)),
    )


def _as_text(column: exp.Expression) -> exp.Expression:
    return exp.Cast(this=column, to=exp.DataType.build("text"))


def hash_mask(column: exp.Expression) -> exp.Expression:
    """Hex SHA-256 of key || value::text, computed in the warehouse where the key is kept."""
    return exp.Dot(
        this=exp.to_identifier(MASK_SCHEMA),
        expression=exp.Anonymous(this=MASK_FUNCTION, expressions=[_as_text(column)]),
    )


def last4_mask(column: exp.Expression) -> exp.Expression:
    """All but the last four characters replaced by '*', same length."""
    text = _as_text(column)
    hidden = pg_function(
        "repeat",
        exp.Literal.string("*"),
        exp.Greatest(
            this=exp.Sub(this=pg_function("length", text), expression=exp.Literal.number(4)),
            expressions=[exp.Literal.number(0)],
        ),
    )
    return exp.DPipe(this=hidden, expression=pg_function("right", text.copy(), exp.Literal.number(4)))


def year_mask(column: exp.Expression, column_type: str) -> exp.Expression:
    """The date (or timestamp) truncated to 1 January of its year, in the column's own type."""
    truncated = pg_function("date_trunc", exp.Literal.string("year"), column)
    return exp.Cast(this=truncated, to=exp.DataType.build(column_type, dialect="postgres"))


def redact_mask(column_type: str) -> exp.Expression:
    if column_type.lower() in TEXT_TYPES:
        return exp.Literal.string(REDACTED)
    return exp.Cast(this=exp.Null(), to=exp.DataType.build(column_type, dialect="postgres"))


def mask_expression(method: MaskMethod, column: exp.Expression, column_type: str) -> exp.Expression:
    if method is MaskMethod.HASH:
        return hash_mask(column)
    if method is MaskMethod.LAST4:
        return last4_mask(column)
    if method is MaskMethod.YEAR:
        return year_mask(column, column_type)
    return redact_mask(column_type)


def denied_placeholder(column_type: str) -> exp.Expression:
    """What a denied column holds inside a rewritten relation: nothing (defence in depth)."""
    return exp.Cast(this=exp.Null(), to=exp.DataType.build(column_type, dialect="postgres"))
