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


def _json_agg(node: exp.Expression) -> exp.Expression:
    """json_agg / jsonb_agg: to_json(array_agg(...)) (DuckDB's json_group_array is a macro
    that takes no ORDER BY); NULL over no rows, as PostgreSQL's."""
    argument: exp.Expression | None = None
    if isinstance(node, exp.JSONArrayAgg):
        argument = node.this
    elif isinstance(node, exp.Anonymous) and node.name.lower() == "jsonb_agg" \
            and len(node.expressions) == 1:
        argument = node.expressions[0]
    if argument is None:
        return node
    return exp.Anonymous(this="to_json", expressions=[exp.ArrayAgg(this=argument)])


def _current(node: exp.Expression) -> exp.Expression:
    """CURRENT_DATE / CURRENT_TIMESTAMP / CURRENT_TIME as calls: DuckDB reads the bare keyword
    as a reference to an output column of the same name (`SELECT now(), current_date`, whose
    second output PostgreSQL names current_date)."""
    if isinstance(node, exp.CurrentDate):
        return exp.Cast(this=exp.Anonymous(this="get_current_timestamp"),
                        to=exp.DataType.build("date"))
    if isinstance(node, exp.CurrentTimestamp) and not node.args.get("this"):
        return exp.Anonymous(this="get_current_timestamp")
    if isinstance(node, exp.CurrentTime) and not node.args.get("this"):
        return exp.Cast(this=exp.Anonymous(this="get_current_timestamp"),
                        to=exp.DataType.build("timetz"))
    return node


def to_duckdb_functions(tree: exp.Expression) -> exp.Expression:
    """`tree` with the PostgreSQL idioms above spelled the DuckDB way."""
    return tree.transform(_hex_sha256).transform(_json_agg).transform(_current)
