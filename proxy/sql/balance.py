"""Long AND / OR chains as balanced trees, so analysis stays linear in the statement's size.

sqlglot reads `a AND b AND c ...` as a left-deep binary tree: n terms nest n deep. Every
step that walks from a column up to its enclosing clause (sqlglot's scope building, qualify)
then costs O(n) per column and O(n^2) per statement, and recursive walks (lineage, SQL
generation) run out of stack. PostgreSQL itself reads such a chain as one flat list.

AND and OR are associative in SQL's three-valued logic and PostgreSQL promises no order of
evaluation among their operands, so regrouping a chain (operands kept in order) changes
neither results nor errors; the SQL generated from the regrouped tree prints the same flat
chain. Parenthesized groups are left as written.
"""

from __future__ import annotations

from sqlglot import exp

# Chains up to this many operands are left exactly as parsed (the common case).
BALANCE_FROM = 16


def balance_connectors(root: exp.Expr) -> None:
    """Regroup every AND / OR chain of more than BALANCE_FROM operands in place."""
    for node in list(root.find_all(exp.And, exp.Or)):
        if type(node.parent) is type(node) or node is root:
            continue  # not the top of its chain
        operands, comments = _chain_operands(node)
        if len(operands) > BALANCE_FROM:
            balanced = _balanced(type(node), operands)
            balanced.add_comments(comments)
            node.replace(balanced)


def _chain_operands(top: exp.Expr) -> tuple[list[exp.Expr], list[str]]:
    """The operands of the chain topped by `top`, left to right, and the chain's own comments.

    Iterative, since chains are long.
    """
    kind = type(top)
    operands: list[exp.Expr] = []
    comments: list[str] = []
    stack: list[exp.Expr] = [top]
    while stack:
        node = stack.pop()
        if type(node) is kind:
            comments.extend(node.comments or ())
            stack.append(node.expression)
            stack.append(node.this)
        else:
            operands.append(node)
    return operands, comments


def _balanced(kind: type[exp.Expr], operands: list[exp.Expr]) -> exp.Expr:
    """Pair neighbours level by level: depth log2(n), operand order unchanged."""
    level = operands
    while len(level) > 1:
        paired = [
            kind(this=level[i], expression=level[i + 1]) for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]
