"""Small questions asked of a parsed statement (sqlglot tree) by several modules."""

from __future__ import annotations

from sqlglot import exp


def parameter_number(node: exp.Expression) -> int | None:
    """n for a `$n` placeholder node, None for anything else (named or `?` placeholders)."""
    if not isinstance(node, (exp.Parameter, exp.Placeholder)):
        return None
    name = node.name if isinstance(node, exp.Parameter) else str(node.this or "")
    return int(name) if str(name).isdigit() else None


def referenced_tables(tree: exp.Expression) -> list[exp.Table]:
    """Tables named in the statement (table functions excluded)."""
    return [t for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Identifier)]


def cte_names(tree: exp.Expression) -> set[str]:
    """Lower-case names of the statement's CTEs (they shadow catalog relations)."""
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
