"""Split a query string into statements exactly as PostgreSQL does, using its own parser.

pglast wraps libpg_query (PostgreSQL's parser), so statement boundaries, quoting, dollar
quotes and comments are read the way the warehouse would read them; sqlglot, used later for
analysis and transpiling, never decides where one statement ends and the next begins.
"""

from __future__ import annotations

from dataclasses import dataclass

import pglast
from pglast import ast

from proxy.errors import PgError, SqlState


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a query string: its own text and PostgreSQL's parse tree of it."""

    text: str
    node: ast.Node

    @property
    def kind(self) -> str:
        """PostgreSQL's node name, e.g. 'SelectStmt', 'VariableSetStmt', 'TransactionStmt'."""
        return type(self.node).__name__


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
    for raw in raw_statements:
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(sql)
        statements.append(Statement(sql[start:end].strip(), raw.stmt))
    return statements


def _character_position(sql: str, byte_offset: int) -> int:
    """libpg_query reports byte offsets; the protocol wants 1-based character positions."""
    return len(sql.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore")) + 1
