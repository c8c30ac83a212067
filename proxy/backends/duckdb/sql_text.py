"""SQL text built from Python values: the warehouse runs a few statements it writes itself
(session variables, the compat catalog's constant rows), and every literal goes through here."""

from __future__ import annotations


def sql_literal(value: str | None) -> str:
    """A SQL string literal (NULL for None)."""
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def values_list(rows: list[tuple[object, ...]]) -> str:
    """The rows of a VALUES clause: `(1, 'a'), (2, NULL)`."""

    def literal(value: object) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return sql_literal(str(value))

    return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
