"""Leakproof predicates inside the row-filter fence, so point lookups keep their indexes.

A row-filtered table is read through a MATERIALIZED CTE: no user predicate may run on a row
the filter hides (it could fail, or be timed, on that row). The price is that `WHERE id = $1`
scans the whole table. PostgreSQL's security-barrier views solve the same problem with
LEAKPROOF functions: a predicate that cannot fail or reveal anything may be evaluated inside
the barrier. The same here: a conjunct of the user's WHERE comparing a raw column of the table
with a constant or parameter, with an operator that is leakproof for the column's type
(integer, date and timestamp comparisons; equality of text, booleans and uuids), is copied
into the fence next to the row filter. The original predicate stays where it was, so the
result is unchanged; the warehouse can now use an index for it.
"""

from __future__ import annotations

from sqlglot import exp

from proxy.catalog.model import TableEntry

_ORDERED_TYPES = frozenset({
    "smallint", "integer", "bigint", "int", "int2", "int4", "int8", "date", "timestamp",
    "timestamp without time zone", "timestamptz", "timestamp with time zone",
})
_EQUALITY_TYPES = _ORDERED_TYPES | frozenset({
    "text", "boolean", "bool", "uuid", "varchar", "character varying",
})
_INTEGER_TYPES = frozenset({"smallint", "integer", "bigint", "int", "int2", "int4", "int8"})
_EQUALITY = (exp.EQ, exp.NEQ)
_ORDER = (exp.LT, exp.LTE, exp.GT, exp.GTE)


def leakproof_predicates(
    table: exp.Table, entry: TableEntry, raw_columns: frozenset[str]
) -> list[exp.Expression]:
    """Copies of the WHERE conjuncts of `table`'s own query block that may run inside its
    fence, over unqualified column names. `table` must be the only reference to its table in
    the statement (the fence is shared by every reference)."""
    select = table.parent.parent if table.parent is not None else None
    if not isinstance(table.parent, exp.From | exp.Join) or not isinstance(select, exp.Select):
        return []
    alias = table.args.get("alias")
    if alias is not None and alias.columns:
        return []  # columns renamed by position: leave it to the warehouse
    name = table.alias_or_name
    only_source = not select.args.get("joins")
    where = select.args.get("where")
    if where is None:
        return []
    condition = where.this
    conjuncts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
    pushed = []
    for conjunct in conjuncts:
        copy = _comparison(conjunct, name, only_source, entry, raw_columns)
        if copy is not None:
            pushed.append(copy)
    return pushed


def _comparison(
    node: exp.Expression, alias: str, only_source: bool, entry: TableEntry,
    raw_columns: frozenset[str],
) -> exp.Expression | None:
    if not isinstance(node, _EQUALITY + _ORDER):
        return None
    left, right = node.this, node.expression
    for column, value in ((left, right), (right, left)):
        if not isinstance(column, exp.Column) or column.args.get("db"):
            continue
        if column.table != alias and not (not column.table and only_source):
            continue
        catalog_column = entry.column(column.name)
        if catalog_column is None or column.name not in raw_columns:
            continue
        column_type = (catalog_column.type or "").lower()
        allowed = _ORDERED_TYPES if isinstance(node, _ORDER) else _EQUALITY_TYPES
        if column_type not in allowed or not _constant_for(value, column_type):
            continue
        copy = node.copy()
        replacement = exp.column(column.name, quoted=True)
        if column is left:
            copy.set("this", replacement)
        else:
            copy.set("expression", replacement)
        return copy
    return None


def _constant_for(value: exp.Expression, column_type: str) -> bool:
    """A parameter, or a literal that needs no cast of the column to compare."""
    if isinstance(value, exp.Parameter | exp.Placeholder):
        return True
    if not isinstance(value, exp.Literal):
        return False
    if column_type in _INTEGER_TYPES:
        return not value.is_string and value.this.lstrip("-").isdigit()
    return bool(value.is_string)
