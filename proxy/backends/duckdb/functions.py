"""PostgreSQL function idioms that DuckDB spells differently, rewritten on the sqlglot tree.

The decision core writes masks in PostgreSQL (`encode(sha256(convert_to(x, 'UTF8')), 'hex')`);
DuckDB's `sha256(text)` already returns the hex digest of the UTF-8 bytes, so the three calls
collapse into one. Results are identical byte for byte on both warehouses.
"""

from __future__ import annotations

from sqlglot import exp


def _call(node: exp.Expression, name: str, arity: int) -> list[exp.Expression] | None:
    if isinstance(node, exp.Anonymous) and node.name.lower() == name:
        if len(node.expressions) == arity:
            return list(node.expressions)
    return None


def _literal(node: exp.Expression, value: str) -> bool:
    return isinstance(node, exp.Literal) and node.is_string and node.this.lower() == value.lower()


def _hex_sha256(node: exp.Expression) -> exp.Expression:
    encode_args = _call(node, "encode", 2)
    if encode_args and _literal(encode_args[1], "hex"):
        sha_args = _call(encode_args[0], "sha256", 1)
        if sha_args:
            convert_args = _call(sha_args[0], "convert_to", 2)
            if convert_args and _literal(convert_args[1], "UTF8"):
                return exp.Anonymous(this="sha256", expressions=[convert_args[0]])
    return node


def to_duckdb_functions(tree: exp.Expression) -> exp.Expression:
    """`tree` with the PostgreSQL idioms above spelled the DuckDB way."""
    return tree.transform(_hex_sha256)
