"""VALUES as a statement, as a SELECT: what both the rewrite and the DuckDB transpiler need.

`VALUES (1, 'a'), (2, 'b') ORDER BY 1 LIMIT 1` is PostgreSQL's shorthand for a SELECT over a
VALUES list whose columns are named column1, column2...; written as that SELECT, a WITH can be
put in front of it (policy CTEs) and DuckDB names the columns as PostgreSQL does.
"""

from __future__ import annotations

from sqlglot import exp


def values_as_select(values: exp.Values) -> exp.Select:
    rows = [row.copy() for row in values.expressions]
    width = len(rows[0].expressions) if rows and isinstance(rows[0], exp.Tuple) else 1
    names = [exp.to_identifier(f"column{n}") for n in range(1, width + 1)]
    source = exp.Values(
        expressions=rows,
        alias=exp.TableAlias(this=exp.to_identifier("*VALUES*", quoted=True), columns=names),
    )
    select = exp.select(*(exp.column(name.name) for name in names)).from_(source)
    for key in ("order", "limit", "offset"):
        part = values.args.get(key)
        if part is not None:
            select.set(key, part.copy())
    return select
