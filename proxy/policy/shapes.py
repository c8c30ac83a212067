"""Statement shapes: decide once per shape, not once per literal.

BI tools and applications send the same statement again and again with other constants
(`... WHERE aid = 123`, then `= 456`); deciding each from scratch costs milliseconds. A
statement's *shape* is its text with the constants that are operands of operators (`=`, `<`,
`IN (...)`, `BETWEEN`, `LIKE`...) replaced by parameters `$1..$n`; the decision core decides
the shape once, and each statement of that shape gets the decided SQL with its own constants
put back, as the very tokens it was written with.

Sharing a decision across constants is only sound where the decision cannot depend on them.
So a constant becomes a parameter only as a direct operand of an operator expression (never
a function argument, a cast, a type modifier, a select-list item, an ORDER BY / GROUP BY
position, a LIMIT or anything else the analyzer reads the value of), and the shape is used
only when PostgreSQL's parser reads it as exactly the original statement with those
constants, and nothing else, turned into parameters. Anything else has no shape and is
decided on its own, as before. Only plain queries (SELECT without INTO) are shaped: writes
derive column types from their constants.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast, parser

from proxy.policy.decision import Allow
from proxy.sql.statements import Statement

#: More constants than this in a statement whose full shape fails: no shape (each is tried
#: alone, a parse per constant).
_MAX_RETRIED = 32
#: Constant tokens that may become parameters (not U&'...', B'...', X'...').
_CONSTANTS = frozenset({"ICONST", "FCONST", "SCONST"})
#: Tokens after which a '-' before a number is a sign, not a subtraction.
_SIGN_AFTER = frozenset({
    "ASCII_40", "ASCII_44", "ASCII_60", "ASCII_61", "ASCII_62", "LESS_EQUALS",
    "GREATER_EQUALS", "NOT_EQUALS", "BETWEEN", "AND", "IN_P", "LIKE", "ILIKE", "OR", "NOT",
})


@dataclass(frozen=True, slots=True)
class Shape:
    text: str  # the statement with its shareable constants as $1..$n
    literals: tuple[str, ...]  # those constants' source text, $1 first

    def statement(self) -> Statement:
        """The shape as a statement the decision core can decide."""
        (raw,) = pglast.parse_sql(self.text)
        return Statement(self.text, raw.stmt)


#: What shape_of learned about a statement layout: which of its constants are shareable.
#: Keyed by the text with every constant replaced and the constants' token kinds, which fix
#: PostgreSQL's parse tree up to the constants' values; None: no shape.
_UNKNOWN: Any = object()
ShapeMemo = MutableMapping[tuple[str, tuple[str, ...]], "tuple[int, ...] | None"]


def shape_of(statement: Statement, memo: ShapeMemo | None = None) -> Shape | None:
    """The statement's shape, or None when it has no shareable constants or cannot be shaped
    safely (see the module docstring). `memo` (kept by the caller, bounded) spares the parse
    that checks a layout after its first statement."""
    if statement.kind != "SelectStmt" or statement.node.intoClause is not None:
        return None
    text = statement.text
    try:
        tokens = parser.scan(text)
    except pglast.parser.ParseError:
        return None
    if any(token.name == "PARAM" for token in tokens):
        return None  # already parameterized: the exact text is the shape
    spans: list[tuple[int, int]] = []
    kinds: list[str] = []
    for index, token in enumerate(tokens):
        if token.name not in _CONSTANTS:
            continue
        start = token.start
        if (token.name != "SCONST" and index >= 2 and tokens[index - 1].name == "ASCII_45"
                and tokens[index - 2].name in _SIGN_AFTER):
            start = tokens[index - 1].start  # a negative number: the sign is the constant's
            kinds.append("-" + token.name)
        else:
            kinds.append(token.name)
        spans.append((start, token.end + 1))
    if not spans:
        return None
    key = (_replace(text, spans), tuple(kinds))
    known = memo.get(key, _UNKNOWN) if memo is not None else _UNKNOWN  # one lookup: threads
    if known is not _UNKNOWN:
        kept = known
    else:
        try:
            kept = _shareable(statement, spans)
        except RecursionError:  # a deeply nested statement: decided on its own
            kept = None
        if memo is not None:
            memo[key] = kept
    if not kept:
        return None
    chosen = [spans[index] for index in kept]
    return Shape(_replace(text, chosen), tuple(text[start:end] for start, end in chosen))


def _shareable(statement: Statement, spans: list[tuple[int, int]]) -> tuple[int, ...] | None:
    """Indexes of the constants that may become parameters: all at once if PostgreSQL reads
    that as the same statement, else each one that it does alone."""
    if _reads_alike(statement, spans):
        return tuple(range(len(spans)))
    if len(spans) > _MAX_RETRIED:
        return None
    kept = tuple(i for i, span in enumerate(spans) if _reads_alike(statement, [span]))
    if kept and not _reads_alike(statement, [spans[i] for i in kept]):
        return None
    return kept or None


def _reads_alike(statement: Statement, spans: list[tuple[int, int]]) -> bool:
    try:
        (raw,) = pglast.parse_sql(_replace(statement.text, spans))
    except (pglast.parser.ParseError, ValueError):
        return False
    return _same_but_operands(statement.node, raw.stmt, operand=False)


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    """Each span replaced by its parameter, set off by spaces (sqlglot reads `$1/$2` as the
    start of a dollar quote; PostgreSQL reads the same tokens either way)."""
    pieces, cursor = [], 0
    for number, (start, end) in enumerate(spans, start=1):
        pieces += [text[cursor:start], f" ${number} "]
        cursor = end
    return "".join(pieces) + text[cursor:]


def _same_but_operands(original: object, shaped: object, operand: bool) -> bool:
    """The two trees are equal except for constants that became parameters, each of them a
    direct operand of an operator expression (or an item of its IN / BETWEEN list)."""
    if isinstance(original, ast.A_Const) and isinstance(shaped, ast.ParamRef):
        return operand and not original.isnull
    if type(original) is not type(shaped):
        return False
    if isinstance(original, list | tuple):
        assert isinstance(shaped, list | tuple)
        return len(original) == len(shaped) and all(
            _same_but_operands(a, b, operand) for a, b in zip(original, shaped, strict=True)
        )
    if isinstance(original, ast.Node):
        if isinstance(original, ast.FuncCall | ast.TypeCast):
            # The analyzer reads inside calls and casts (aggregate arguments, reg* names,
            # setting names): their constants stay constants.
            return _equal_ignoring_locations(original, shaped)
        for name in original.__slots__:
            if name == "location" or name.endswith("_location") or name in (
                "rexpr_list_start", "rexpr_list_end", "stmt_len",
            ):
                continue
            child_operand = isinstance(original, ast.A_Expr) and name in ("lexpr", "rexpr")
            if not _same_but_operands(
                getattr(original, name), getattr(shaped, name), child_operand
            ):
                return False
        return True
    return bool(original == shaped)


def _equal_ignoring_locations(original: object, shaped: object) -> bool:
    if type(original) is not type(shaped):
        return False
    if isinstance(original, list | tuple):
        assert isinstance(shaped, list | tuple)
        return len(original) == len(shaped) and all(
            _equal_ignoring_locations(a, b) for a, b in zip(original, shaped, strict=True)
        )
    if isinstance(original, ast.Node):
        return all(
            _equal_ignoring_locations(getattr(original, name), getattr(shaped, name))
            for name in original.__slots__
            if name != "location" and not name.endswith("_location")
            and name not in ("rexpr_list_start", "rexpr_list_end", "stmt_len")
        )
    return bool(original == shaped)


def instantiate(template: Allow, statement: Statement, shape: Shape) -> Allow:
    """The decision for `statement`, from its shape's. Only an Allow is shared: a refused
    shape is decided again as the statement itself (the refusal may be the analyzer's, about
    the shape's parameters), so sharing can never turn a refusal into an allow."""
    sql = fill(template.sql, shape.literals) if template.rewritten else statement.text
    return Allow(sql, template.rewritten, template.report, template.effect, template.records)


def fill(template: str, literals: Sequence[str]) -> str:
    """The decided SQL of a shape with the statement's own constants put back."""
    tokens = parser.scan(template)
    pieces, cursor = [], 0
    for token in tokens:
        if token.name != "PARAM":
            continue
        number = int(template[token.start + 1 : token.end + 1])
        pieces += [template[cursor : token.start], literals[number - 1]]
        cursor = token.end + 1
    return "".join(pieces) + template[cursor:]
