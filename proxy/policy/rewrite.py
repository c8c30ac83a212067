"""Rewrite at the base relation: a governed table becomes a CTE that applies its policy.

`FROM shop.customers c` becomes `FROM _pp_shop_customers AS c`, with
`_pp_shop_customers AS MATERIALIZED (SELECT id, <mask>(email) AS email, ... FROM shop.customers
WHERE <row filter>)` in front of the statement. Every later use (joins, predicates, CTEs, `*`,
whole-row references) sees only what policy allows, without chasing each reference. A row
filter makes the CTE MATERIALIZED and every column of a hidden row NULL (`TablePolicy.cte`), so
a user predicate can never fail, or succeed, because of a value of a row the filter removes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from proxy.catalog.model import TableEntry
from proxy.policy.pushdown import leakproof_predicates
from proxy.sql.column_names import pg_column_name
from proxy.sql.resolve import RESERVED_PREFIX, cte_names
from proxy.sql.values import values_as_select


# Inside a row-filtered policy CTE: whether the row passes the filter, and the rows with it.
VISIBLE = f"{RESERVED_PREFIX}visible"
ROWS = f"{RESERVED_PREFIX}rows"


@dataclass(frozen=True)
class TablePolicy:
    """How one table is presented to the statement: per-column expressions and a row filter."""

    table: TableEntry
    columns: Mapping[str, exp.Expression | None]  # None: the raw column
    row_filter: str | None  # rendered SQL condition

    @property
    def cte_name(self) -> str:
        return f"{RESERVED_PREFIX}{self.table.schema}_{self.table.name}"

    def cte(self, leakproof: list[exp.Expression] | None = None) -> exp.CTE:
        """The relation the statement sees instead of the table.

        With a row filter, each column is also `CASE WHEN <visible> THEN <value> END`: the
        CTE is MATERIALIZED, yet DuckDB pushes user predicates into materialized CTEs, so
        order of evaluation alone is no fence. A predicate run on a hidden row, in whatever
        order, sees only NULLs there: its result (or error) cannot depend on hidden values.
        Leakproof copies of the user's comparisons (proxy.policy.pushdown) filter the base
        table itself, so its indexes serve point lookups.
        """
        table = exp.table_(self.table.name, db=self.table.schema, quoted=True)
        projections = []
        for column in self.table.columns:
            raw = exp.column(column.name, quoted=True)
            value = self.columns.get(column.name) or raw
            if self.row_filter is not None:
                value = exp.Case(ifs=[exp.If(this=exp.column(VISIBLE), true=value)])
            projections.append(raw if value is raw else exp.alias_(value, column.name, quoted=True))
        if self.row_filter is None:
            select = exp.select(*projections).from_(table)
        else:
            condition = sqlglot.parse_one(self.row_filter, read="postgres")
            rows = exp.select(exp.Star(), exp.alias_(exp.Paren(this=condition), VISIBLE))
            rows = rows.from_(table)
            for predicate in leakproof or ():
                rows = rows.where(predicate)
            select = exp.select(*projections).from_(rows.subquery(ROWS)).where(exp.column(VISIBLE))
        return exp.CTE(
            this=select,
            alias=exp.TableAlias(this=exp.to_identifier(self.cte_name)),
            materialized=self.row_filter is not None,
        )


def apply_table_policies(
    statement: exp.Expression, policies: Iterable[TablePolicy]
) -> exp.Expression:
    """Replace each reference to a governed table by its policy CTE (on a copy)."""
    by_name = {(p.table.schema, p.table.name): p for p in policies}
    if not by_name:
        return statement
    rewritten = statement.copy()
    if isinstance(rewritten, exp.Values):  # VALUES ((SELECT ... FROM governed)): a WITH needs a SELECT
        rewritten = values_as_select(rewritten)
    ctes = cte_names(rewritten)
    used: dict[str, TablePolicy] = {}
    references = [
        table for table in rewritten.find_all(exp.Table)
        if not isinstance(table.this, exp.Func) and not (not table.db and table.name in ctes)
        and (table.db, table.name) in by_name
    ]
    leakproof: dict[str, list[exp.Expression]] = {}
    uses = Counter((table.db, table.name) for table in references)
    for table in references:
        policy = by_name[(table.db, table.name)]
        single = uses[(table.db, table.name)] == 1
        if policy.row_filter is not None and single:
            raw = frozenset(name for name in policy.table.column_names
                            if policy.columns.get(name) is None)
            leakproof[policy.cte_name] = leakproof_predicates(table, policy.table, raw)
    unqualify: set[tuple[str, str]] = set()
    for table in references:
        policy = by_name[(table.db, table.name)]
        alias = table.alias or table.name
        replacement = exp.Table(
            this=exp.to_identifier(policy.cte_name),
            alias=exp.TableAlias(
                this=exp.to_identifier(alias),
                columns=table.args["alias"].columns if table.args.get("alias") else None,
            ),
        )
        table.replace(replacement)
        used[policy.cte_name] = policy
        if alias == table.name:
            unqualify.add((table.db, table.name))
    _drop_schema_qualifiers(rewritten, unqualify)
    for policy in sorted(used.values(), key=lambda p: p.cte_name, reverse=True):
        _prepend_cte(rewritten, policy.cte(leakproof.get(policy.cte_name)))
    return rewritten


def _drop_schema_qualifiers(statement: exp.Expression, tables: set[tuple[str, str]]) -> None:
    """`shop.customers.id` -> `customers.id` once shop.customers is its policy CTE.

    One walk for all tables (a walk per table reference is quadratic in a long UNION).
    """
    if not tables:
        return
    for column in statement.find_all(exp.Column):
        if (column.db, column.table) in tables:
            column.set("db", None)
            column.set("catalog", None)


def _prepend_cte(statement: exp.Expression, cte: exp.CTE) -> None:
    with_ = statement.args.get("with_")
    if with_ is None:
        statement.set("with_", exp.With(expressions=[cte]))
    else:
        with_.set("expressions", [cte, *with_.expressions])


def add_group_guard(select: exp.Select, k: int, identities: Iterable[tuple[str, str]]) -> None:
    """Groups of fewer than k individuals are not returned, and no expression sees their
    aggregates.

    The guard is `count(DISTINCT alias.key) >= k` for each protected table. HAVING drops the
    small groups, but the warehouse may evaluate the user's HAVING, select list, ORDER BY or an
    outer query's predicates (pushed down into the block) on a group before or regardless of
    that: an error there (`1 / (sum(x) - 1911)`) would tell the small group's aggregate. So
    every aggregate of the block is also replaced by `CASE WHEN <guard> THEN <aggregate> END`:
    a small group's aggregates are NULL to every expression, whatever the evaluation order.
    """
    guard: exp.Expression | None = None
    for alias, key in sorted(identities):
        distinct = exp.Count(this=exp.Distinct(expressions=[exp.column(key, alias)]))
        condition = exp.GTE(this=distinct, expression=exp.Literal.number(k))
        guard = condition if guard is None else exp.and_(guard, condition)
    if guard is None:
        return
    _fence_aggregates(select, guard)
    having = select.args.get("having")
    kept = guard if having is None else exp.and_(guard.copy(), exp.Paren(this=having.this))
    select.set("having", exp.Having(this=kept))


# The parts of a SELECT block evaluated per group, after aggregation.
_GROUP_LEVEL_PARTS = ("expressions", "having", "order", "qualify", "windows")


def _fence_aggregates(select: exp.Select, guard: exp.Expression) -> None:
    """Wrap each aggregate of the block in CASE WHEN guard, keeping PostgreSQL's output names."""
    names = [None if isinstance(item, exp.Alias | exp.Star) else pg_column_name(item)[0]
             for item in select.expressions]
    for key in _GROUP_LEVEL_PARTS:
        part = select.args.get(key)
        for node in part if isinstance(part, list) else [part] if part is not None else []:
            for aggregate in list(_group_aggregates(node)):
                fenced = exp.Case(ifs=[exp.If(this=guard.copy(), true=aggregate.copy())])
                aggregate.replace(fenced)
    for item, name in zip(list(select.expressions), names, strict=True):
        if name is not None and pg_column_name(item)[0] != name:
            item.replace(exp.alias_(item.copy(), name, quoted=True))


def _group_aggregates(node: exp.Expression, windowed: bool = False) -> Iterator[exp.Expression]:
    """The aggregate calls of one block (with any FILTER / WITHIN GROUP around them): not the
    function a window applies, not those of nested queries (guarded as blocks of their own)."""
    if isinstance(node, exp.Query | exp.Subquery):
        return
    if isinstance(node, exp.Window):
        yield from _group_aggregates(node.this, windowed=True)
        for part in node.iter_expressions():
            if part is not node.this:
                yield from _group_aggregates(part)
        return
    call: exp.Expression = node.this if isinstance(node, exp.Filter | exp.WithinGroup) else node
    if isinstance(call, exp.AggFunc) and not windowed:
        yield node
        return
    for child in node.iter_expressions():
        # FILTER / WITHIN GROUP of a windowed function: its call is windowed too
        yield from _group_aggregates(child, windowed and child is node.this and call is not node)
