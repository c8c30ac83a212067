"""PostgreSQL's names for unaliased output columns (FigureColname), given as aliases.

DuckDB would name `count(*)` "count_star()" and `x::int` "CAST(x AS INTEGER)"; PostgreSQL says
"count" and "x". The transpiler aliases every such select item before DuckDB sees it.
"""

from __future__ import annotations

from sqlglot import exp

from proxy.sql.column_names import pg_column_name


def _output_selects(tree: exp.Expression) -> list[list[exp.Expression]]:
    """The expression lists whose names become the RowDescription (or a CTAS table's columns)."""
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
        return _output_selects(tree.expression)
    if isinstance(tree, exp.SetOperation):
        return _output_selects(tree.this)
    if isinstance(tree, exp.Subquery):
        return _output_selects(tree.this)
    if isinstance(tree, exp.Select):
        return [tree.expressions]
    returning = tree.args.get("returning")
    if isinstance(returning, exp.Returning):
        return [returning.expressions]
    return []


def apply_pg_column_names(tree: exp.Expression) -> None:
    """Alias output expressions the way PostgreSQL names them (DuckDB would print the expression)."""
    for expressions in _output_selects(tree):
        for i, node in enumerate(expressions):
            if isinstance(node, exp.Column) and not node.table and not node.this.quoted \
                    and node.name.lower() in ("user", "current_role", "current_catalog"):
                node.replace(exp.Alias(this=node.copy(), alias=exp.to_identifier(node.name.lower(), quoted=True)))
                continue
            if isinstance(node, (exp.Alias, exp.Star, exp.Column)) or (
                isinstance(node, exp.Dot) and not isinstance(node.expression, exp.Func)
            ):
                continue
            name, _strength = pg_column_name(node)
            alias = exp.Alias(this=node.copy(), alias=exp.to_identifier(name, quoted=True))
            node.replace(alias)
