"""The DuckDB type of each `$n`, from where it stands, as PostgreSQL resolves unknown parameters.

`WHERE id = $1` takes id's column type, `LIMIT $1` is bigint, `INSERT ... VALUES ($1)` takes
the target column's type. Describe reports these types; execution casts text values to them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlglot import exp

from proxy.backends.duckdb.duckdb_types import normalize_duckdb_type
from proxy.backends.duckdb.sql_tree import parameter_number, referenced_tables

if TYPE_CHECKING:
    import duckdb

#: (catalog, schema, table) -> column -> DuckDB type.
ColumnTypes = Mapping[tuple[str, str, str], Mapping[str, str]]


def referenced_column_types(con: duckdb.DuckDBPyConnection,
                            tree: exp.Expression) -> dict[tuple[str, str, str], dict[str, str]]:
    """On the session thread: the columns of every table the statement names (by name, in
    any schema; the scope picks the right one)."""
    names = sorted({t.name.lower() for t in referenced_tables(tree)})
    if not names:
        return {}
    placeholders = ", ".join("?" for _ in names)
    rows = con.execute(
        "SELECT database_name, schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        f"WHERE lower(table_name) IN ({placeholders}) ORDER BY column_index",
        names,
    ).fetchall()
    out: dict[tuple[str, str, str], dict[str, str]] = {}
    for db, schema, table, column, data_type in rows:
        out.setdefault((db, schema, table), {})[column] = data_type
    return out


class _Scope:
    """Resolves a column reference to a DuckDB type through the tables the statement names."""

    def __init__(self, tree: exp.Expression, columns: ColumnTypes, default_catalog: str,
                 search_path: list[str]) -> None:
        self.columns = columns
        self.by_alias: dict[str, list[Mapping[str, str]]] = {}
        self.all: list[Mapping[str, str]] = []
        for table in referenced_tables(tree):
            cols = self.lookup(table, default_catalog, search_path)
            if cols is None:
                continue
            self.all.append(cols)
            self.by_alias.setdefault(table.alias_or_name.lower(), []).append(cols)
            self.by_alias.setdefault(table.name.lower(), []).append(cols)

    def lookup(self, table: exp.Table, default_catalog: str, search_path: list[str]) -> Mapping[str, str] | None:
        """The columns of `table`, found as PostgreSQL would through the search path."""
        name = table.name.lower()
        catalog = table.catalog.lower() or None
        schema = table.db.lower() or None
        candidates = []
        for (cat, sch, tbl), cols in self.columns.items():
            if tbl.lower() != name:
                continue
            if catalog and cat.lower() != catalog:
                continue
            if schema and sch.lower() != schema:
                continue
            if not catalog and not schema and cat.lower() not in (default_catalog.lower(), "temp"):
                continue
            candidates.append((sch, cat, cols))
        if not candidates:
            return None
        if not schema:
            for sch in search_path:
                for cand in candidates:
                    if cand[0].lower() == sch.lower():
                        return cand[2]
        return candidates[0][2]

    def column_type(self, column: exp.Column) -> str | None:
        name = column.name.lower()
        tables = self.by_alias.get(column.table.lower(), []) if column.table else self.all
        for cols in tables:
            for col, typ in cols.items():
                if col.lower() == name:
                    return typ
        return None


def _literal_type(node: exp.Expression) -> str | None:
    """DuckDB's type for a constant."""
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "VARCHAR"
        return "INTEGER" if re.fullmatch(r"-?\d+", node.this) and abs(int(node.this)) < 2**31 else (
            "BIGINT" if re.fullmatch(r"-?\d+", node.this) else "DECIMAL(18,3)")
    if isinstance(node, exp.Boolean):
        return "BOOLEAN"
    return None


def _expression_type(node: exp.Expression, scope: _Scope) -> str | None:
    """The type of what a parameter is compared with: a column, a cast or a constant."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        return scope.column_type(node)
    if isinstance(node, exp.Cast):
        return normalize_duckdb_type(node.to.sql(dialect="duckdb"))
    return _literal_type(node)


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
                exp.Like, exp.ILike, exp.SimilarTo, exp.RegexpLike, exp.RegexpILike)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv)


def _insert_column_types(insert: exp.Insert, scope: _Scope, default_catalog: str) -> list[str | None]:
    """The types of the columns an INSERT's VALUES fill, in order (None where unknown)."""
    target = insert.this
    names: list[str] | None = None
    if isinstance(target, exp.Schema):
        names = [c.name for c in target.expressions]
        target = target.this
    if not isinstance(target, exp.Table):
        return []
    table_cols = scope.lookup(target, default_catalog, ["main"])
    if table_cols is None:
        return []
    if names is None:
        return list(table_cols.values())
    lowered = {k.lower(): v for k, v in table_cols.items()}
    return [lowered.get(n.lower()) for n in names]


def infer_parameter_types(tree: exp.Expression, columns: ColumnTypes, *, default_catalog: str,
                          search_path: list[str]) -> dict[int, str]:
    """DuckDB type of each $n, from where it stands, as PostgreSQL resolves unknown parameters.

    What is not decided by context is left out (the caller treats it as text).
    """
    scope = _Scope(tree, columns, default_catalog, search_path)
    found: dict[int, str] = {}
    insert_types: list[str | None] | None = None

    for param in tree.find_all(exp.Parameter, exp.Placeholder):
        number = parameter_number(param)
        if number is None or number in found:
            continue
        node: exp.Expression = param
        parent = node.parent
        while isinstance(parent, exp.Paren):
            node, parent = parent, parent.parent
        typ: str | None = None
        if isinstance(parent, exp.Cast) and node is parent.this:
            typ = normalize_duckdb_type(parent.to.sql(dialect="duckdb"))
        elif isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch)):
            typ = "BIGINT"
        elif isinstance(parent, _COMPARISONS):  # also UPDATE ... SET col = $n
            other = parent.expression if node is parent.this else parent.this
            typ = _expression_type(other, scope)
            if isinstance(parent, (exp.Like, exp.ILike, exp.SimilarTo, exp.RegexpLike, exp.RegexpILike)):
                typ = typ or "VARCHAR"
        elif isinstance(parent, exp.In) and node is not parent.this:
            typ = _expression_type(parent.this, scope)
        elif isinstance(parent, exp.Between) and node is not parent.this:
            typ = _expression_type(parent.this, scope)
        elif isinstance(parent, _ARITHMETIC):
            other = parent.expression if node is parent.this else parent.this
            typ = _expression_type(other, scope)
        elif isinstance(parent, exp.Any):
            outer = parent.parent
            while isinstance(outer, exp.Paren):
                outer = outer.parent
            if isinstance(outer, _COMPARISONS):
                other = outer.this if outer.expression is parent else outer.expression
                element = _expression_type(other, scope)
                typ = f"{element}[]" if element else None
        elif isinstance(parent, exp.Where | exp.Having | exp.Not | exp.And | exp.Or) or (
                isinstance(parent, exp.Join) and node is parent.args.get("on")):
            typ = "BOOLEAN"  # a condition: `WHERE $1`, `$1 AND x`, `NOT $1`
        elif isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values) \
                and isinstance(parent.parent.parent, exp.Insert):
            if insert_types is None:
                insert_types = _insert_column_types(parent.parent.parent, scope, default_catalog)
            index = parent.expressions.index(node)
            typ = insert_types[index] if index < len(insert_types) else None
        if typ:
            found[number] = typ
    return found
