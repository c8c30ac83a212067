"""Split a query string into statements exactly as PostgreSQL does, using its own parser.

pglast wraps libpg_query (PostgreSQL's parser), so statement boundaries, quoting, dollar
quotes and comments are read the way the warehouse would read them; sqlglot, used later for
analysis and transpiling, never decides where one statement ends and the next begins.
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast import ast
from pglast.parser import ParseError, scan
from pglast.stream import RawStream

from proxy.errors import PgError, SqlState


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a query string: its own text and PostgreSQL's parse tree of it."""

    text: str
    node: ast.Node
    # Comments PostgreSQL's statement span leaves out: those before the statement (after the
    # previous one's semicolon) and, for the last statement, those after its semicolon. A
    # sqlcommenter-style purpose may sit there (`/*purpose='fraud'*/ SELECT ...`).
    comments: str = ""

    @property
    def kind(self) -> str:
        """PostgreSQL's node name, e.g. 'SelectStmt', 'VariableSetStmt', 'TransactionStmt'."""
        return type(self.node).__name__

    def nested(self, node: ast.Node, text: str | None = None) -> Statement:
        """A statement inside this one (COPY's or DECLARE's query): it keeps all of this one's
        comments, because they declare the purpose it is decided under."""
        comments = "\n".join(filter(None, (self.comments, *comment_tokens(self.text))))
        return Statement(text if text is not None else RawStream()(node), node, comments)


def split_statements(sql: str) -> list[Statement]:
    """Parse `sql`; an empty or comment-only string gives []. Syntax errors are 42601."""
    try:
        raw_statements = pglast.parse_sql(sql)
    except pglast.parser.ParseError as exc:
        message, position = exc.args[0], exc.args[1] if len(exc.args) > 1 else None
        error = PgError(SqlState.SYNTAX_ERROR, str(message))
        if isinstance(position, int):
            error.extra["P"] = str(_character_position(sql, position))
        raise error from None
    statements = []
    previous_end = 0
    for index, raw in enumerate(raw_statements):
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(sql)
        comments = _outside(sql, previous_end, start)
        if index == len(raw_statements) - 1:
            comments += "\n" + _outside(sql, end, len(sql))
        statements.append(Statement(sql[start:end].strip(), raw.stmt, comments.strip()))
        previous_end = end
    return statements


def _outside(sql: str, start: int, end: int) -> str:
    """Text between two statements: only whitespace, comments and the separating semicolon."""
    text = sql[start:end]
    return text[1:] if text.startswith(";") else text


def comment_tokens(sql: str) -> list[str]:
    """The comments of `sql` as PostgreSQL's lexer sees them (never text inside literals)."""
    try:
        tokens = scan(sql)
    except ParseError:
        return []
    return [
        sql[token.start : token.end + 1]  # pglast's offsets count characters
        for token in tokens
        if token.name in ("C_COMMENT", "SQL_COMMENT")
    ]


def _character_position(sql: str, byte_offset: int) -> int:
    """libpg_query reports byte offsets; the protocol wants 1-based character positions."""
    return len(sql.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore")) + 1
