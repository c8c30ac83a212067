"""Analysis budgets: how large and how deeply nested a statement may be, and how long its
analysis may take. A statement over any budget is refused with SQLSTATE 54001
(statement_too_complex), as PostgreSQL refuses what exceeds its own limits.

The checks run from the cheapest to the dearest, each before the work it bounds: the size of
the query string before PostgreSQL's parser reads it; the node count and nesting depth of
PostgreSQL's parse tree before sqlglot reads it; then the clock, at checkpoints between the
phases of the decision. Bounding nodes and depth bounds the work of every later phase (each
is linear in the tree's size), so a statement that passes them cannot run away; the
checkpoints end an analysis whose answer nobody waits for any more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from pglast import ast
from pglast.parser import scan

from proxy.errors import PgError, SqlState
from proxy.sql.statements import Statement, split_statements


@dataclass(frozen=True, slots=True)
class AnalysisBudget:
    """The `analysis` settings (see README, Settings)."""

    max_statement_bytes: int
    max_expression_depth: int
    max_parse_nodes: int
    max_seconds: float


class AnalysisInterrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an Exception
    """The analysis ran past its deadline. A BaseException, so no `except Exception` on the way
    (and no decision cache) mistakes it for the statement's own outcome."""


_deadline: ContextVar[float | None] = ContextVar("analysis_deadline", default=None)


@contextmanager
def analysis_deadline(deadline: float) -> Iterator[None]:
    """Checkpoints inside this block raise AnalysisInterrupted once time.monotonic() passes
    `deadline`."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def checkpoint() -> None:
    """Stop here if the analysis is over time (free when no deadline is set, as in `check`)."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise AnalysisInterrupted


def parse_within_budget(sql: str, budget: AnalysisBudget) -> list[Statement]:
    """split_statements, refusing (54001) what is too large or too deeply nested to analyze."""
    size = len(sql.encode("utf-8", errors="surrogatepass"))
    if size > budget.max_statement_bytes:
        raise too_complex(
            f"statement is too large to analyze: {size:,} bytes, more than the limit of "
            f"{budget.max_statement_bytes:,}",
            "max_statement_bytes", "Split it into several smaller statements",
        )
    statements = split_statements(sql)
    for statement in statements:
        check_tree(statement, budget)
    return statements


def check_tree(statement: Statement, budget: AnalysisBudget) -> None:
    """Node count and nesting depth of PostgreSQL's parse tree, and parenthesis depth."""
    nodes, depth = _measure(statement.node, budget.max_parse_nodes)
    if nodes > budget.max_parse_nodes:
        raise too_complex(
            f"statement is too complex to analyze: more than {budget.max_parse_nodes:,} "
            "parse-tree nodes", "max_parse_nodes", "Split it into several smaller statements",
        )
    depth = max(depth, _bracket_depth(statement.text, budget.max_expression_depth))
    if depth > budget.max_expression_depth:
        raise too_complex(
            f"statement nests too deeply to analyze: depth {depth}, more than the limit of "
            f"{budget.max_expression_depth}",
            "max_expression_depth", "Flatten the nesting (parentheses, subqueries, nested "
            "CASE or NOT, long chains of operators such as a + b + c + ...)",
        )


def too_complex(message: str, setting: str, advice: str) -> PgError:
    """54001 naming the budget and how to raise it."""
    return PgError(
        SqlState.STATEMENT_TOO_COMPLEX, message,
        detail=f"The limit is purpose-proxy's analysis.{setting} setting.",
        hint=f"{advice}, or ask the operator to raise analysis.{setting} (environment variable "
        f"PURPOSE_PROXY_ANALYSIS__{setting.upper()}).",
    )


def over_time(budget: AnalysisBudget) -> PgError:
    return too_complex(
        f"analysis of the statement took longer than the limit of {budget.max_seconds:g} s",
        "max_seconds", "Simplify the statement or split it",
    )


def out_of_stack() -> PgError:
    """The last guard: nesting the depth budget let through still exhausted the stack."""
    return too_complex(
        "statement nests too deeply to analyze (the analyzer ran out of stack)",
        "max_expression_depth", "Flatten the nesting",
    )


_BRANCHES = (ast.Node, tuple)


def _measure(root: ast.Node, limit: int) -> tuple[int, int]:
    """(nodes, depth) of a pglast tree; stops counting once past `limit` nodes.

    Iterative: the tree may be deeper than Python's recursion limit. Lists (an AND chain's
    operands, a target list) do not add depth, as PostgreSQL keeps them flat.
    """
    nodes = deepest = 0
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, ast.Node):
            nodes += 1
            if nodes > limit:
                break
            deepest = max(deepest, depth)
            for slot in type(value).__slots__:  # type: ignore[attr-defined]
                child = getattr(value, slot)
                if isinstance(child, _BRANCHES):
                    stack.append((child, depth + 1))
        elif isinstance(value, tuple):
            stack.extend((item, depth) for item in value)
    return nodes, deepest


_OPENING = frozenset({"ASCII_40", "ASCII_91"})  # ( [
_CLOSING = frozenset({"ASCII_41", "ASCII_93"})  # ) ]


def _bracket_depth(text: str, limit: int) -> int:
    """How deeply parentheses and brackets nest (PostgreSQL's tree has no node for them, but
    every level costs the analyzer's parser stack). Scans only when the count could exceed
    `limit`; literals, quoted names and comments are skipped by PostgreSQL's own scanner."""
    count = text.count("(") + text.count("[")
    if count <= limit:
        return count
    tokens: Sequence[object] = scan(text)
    depth = deepest = 0
    for token in tokens:
        name = token.name  # type: ignore[attr-defined]
        if name in _OPENING:
            depth += 1
            deepest = max(deepest, depth)
        elif name in _CLOSING:
            depth -= 1
    return deepest
