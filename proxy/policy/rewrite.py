"""Rewrite at the base relation: a governed table becomes a CTE that applies its policy.

`FROM shop.customers c` becomes `FROM _pp_shop_customers AS c`, with
`_pp_shop_customers AS MATERIALIZED (SELECT id, <mask>(email) AS email, ... FROM shop.customers
WHERE <row filter>)` in front of the statement. Every later use (joins, predicates, CTEs, `*`,
whole-row references) sees only what policy allows, without chasing each reference. A row
filter makes the CTE MATERIALIZED: the warehouse must finish filtering before any user
predicate runs, so a predicate can never fail (or be timed) on a row the filter removes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from proxy.catalog.model import TableEntry
from proxy.policy.pushdown import leakproof_predicates
from proxy.sql.values import values_as_select
from proxy.sql.resolve import RESERVED_PREFIX, cte_names


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
        projections = []
        for column in self.table.columns:
            raw = exp.column(column.name, quoted=True)
            expression = self.columns.get(column.name)
            if expression is None:
                projections.append(raw)
            else:
                projections.append(exp.alias_(expression, column.name, quoted=True))
        select = exp.select(*projections).from_(
            exp.table_(self.table.name, db=self.table.schema, quoted=True)
        )
        if self.row_filter is not None:
            select = select.where(sqlglot.parse_one(self.row_filter, read="postgres"))
            for predicate in leakproof or ():  # see proxy.policy.pushdown
                select = select.where(predicate)
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
    """Groups of fewer than k individuals are not returned:
    HAVING count(DISTINCT alias.key) >= k for each protected table."""
    guard: exp.Expression | None = None
    for alias, key in sorted(identities):
        distinct = exp.Count(this=exp.Distinct(expressions=[exp.column(key, alias)]))
        condition = exp.GTE(this=distinct, expression=exp.Literal.number(k))
        guard = condition if guard is None else exp.and_(guard, condition)
    if guard is None:
        return
    having = select.args.get("having")
    condition = guard if having is None else exp.and_(exp.Paren(this=having.this), guard)
    select.set("having", exp.Having(this=condition))
