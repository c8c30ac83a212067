"""One parse as the warehouse parses: sqlglot's reading must agree with PostgreSQL's own.

sqlglot and PostgreSQL disagree on some input (`U&"\\0065mail"` is a column to PostgreSQL and a
bitwise AND to sqlglot). The statement is judged on sqlglot's tree but run by PostgreSQL, so
any disagreement on which relations and columns a statement names is a refusal. Functions,
operators and types are checked on PostgreSQL's tree, where their names are exact.
"""

from __future__ import annotations

from pglast import ast, visitors
from sqlglot import exp

from proxy.policy.catalog_views import READABLE_SETTINGS
from proxy.policy.decision import Refusal
from proxy.sql.names import PG_CATALOG, QualifiedName, identifier_name, resolve_function
from proxy.sql.functions import check_functions, check_operators, check_types
from proxy.sql.pg_facts import PgFacts, pg_facts
from proxy.sql.resolve import referenced_tables
from proxy.sql.statements import Statement

_DISAGREE_HINT = (
    "purpose-proxy reads each statement twice (sqlglot and PostgreSQL's own parser) and "
    "refuses it when the two disagree. Write identifiers plainly (no U&\"...\" escapes)."
)


def _sqlglot_relations(parsed: exp.Expression) -> set[tuple[str | None, str]]:
    """The relations as written (folded), not resolved: PostgreSQL's facts are as written."""
    relations = set()
    for table in referenced_tables(parsed):
        db = table.args.get("db")
        relations.add((identifier_name(db), identifier_name(table.this) or ""))
    return relations


def _is_collation(column: exp.Column) -> bool:
    """`COLLATE pg_catalog."default"`: sqlglot reads the collation name as a column."""
    parent = column.parent
    return isinstance(parent, exp.Collate) and parent.args.get("expression") is column


def _sqlglot_columns(parsed: exp.Expression) -> set[str]:
    return {identifier_name(column.this) or "" for column in parsed.find_all(exp.Column)
            if isinstance(column.this, exp.Identifier) and not _is_collation(column)}


# Settings a client may switch with set_config(): planner knobs that cannot change how SQL is
# read or which rows are visible. asyncpg turns JIT off before introspecting types.
HARMLESS_SET_CONFIG = frozenset({"jit"})


class _FunctionCalls(visitors.Visitor):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[ast.FuncCall] = []

    def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> None:
        parts = [getattr(part, "sval", None) for part in node.funcname or ()]
        names = [part for part in parts if isinstance(part, str)]
        if not names or len(names) != len(parts) or len(names) > 2:
            return
        schema = names[0] if len(names) == 2 else None
        if resolve_function(schema, names[-1]) == QualifiedName(PG_CATALOG, self.name):
            self.calls.append(node)


def _only_harmless_set_config(tree: ast.Node) -> bool:
    """Every set_config() call names a harmless setting as a constant."""
    finder = _FunctionCalls("set_config")
    finder(tree)
    for call in finder.calls:
        first = call.args[0] if call.args else None
        value = getattr(getattr(first, "val", None), "sval", None)
        if not isinstance(first, ast.A_Const) or value not in HARMLESS_SET_CONFIG:
            return False
    return bool(finder.calls)


def _unreadable_settings(tree: ast.Node) -> list[str]:
    """Settings named as constants in current_setting() that are not readable."""
    finder = _FunctionCalls("current_setting")
    finder(tree)
    names = []
    for call in finder.calls:
        first = call.args[0] if call.args else None
        value = getattr(getattr(first, "val", None), "sval", None)
        if isinstance(first, ast.A_Const) and isinstance(value, str):
            if value.lower() not in READABLE_SETTINGS:
                names.append(value)
    return names


def reads_settings_by_expression(tree: ast.Node) -> bool:
    """Some current_setting() call names its setting by an expression, not a constant."""
    finder = _FunctionCalls("current_setting")
    finder(tree)
    return any(not (call.args and isinstance(call.args[0], ast.A_Const))
               for call in finder.calls)


def _postgres_relations(facts: PgFacts) -> set[tuple[str | None, str]]:
    """PostgreSQL's relations, write targets included (pg_facts lists them as details)."""
    relations = set(facts.relations)
    for key in ("target", "into_target"):
        target = facts.statement_details.get(key)
        if isinstance(target, tuple) and len(target) == 2:
            relations.add(target)
    return relations


def check_against_postgres(statement: Statement, parsed: exp.Expression) -> PgFacts:
    """Refuse unless sqlglot and PostgreSQL agree; returns PostgreSQL's facts."""
    facts = pg_facts(statement.node)
    ours = _sqlglot_relations(parsed)
    postgres = _postgres_relations(facts)
    if ours != postgres:
        raise Refusal(
            "the statement is read differently by purpose-proxy's analyzer and by PostgreSQL "
            "(relations differ)",
            detail=f"analyzer: {sorted(map(str, ours))}; PostgreSQL: "
            f"{sorted(map(str, postgres))}",
            hint=_DISAGREE_HINT,
        )
    columns = _sqlglot_columns(parsed)
    # UPDATE's SET targets are column references to sqlglot, ResTarget names to PostgreSQL.
    postgres_columns = set(facts.column_names) | set(facts.statement_details.get("set_columns", ()))
    if columns != postgres_columns:
        raise Refusal(
            "the statement is read differently by purpose-proxy's analyzer and by PostgreSQL "
            "(columns differ)",
            detail=f"analyzer: {sorted(columns)}; PostgreSQL: {sorted(postgres_columns)}",
            hint=_DISAGREE_HINT,
        )
    refused = [name for name in check_functions(facts.functions)
               if not (name == "set_config" and _only_harmless_set_config(statement.node))]
    if refused:
        raise Refusal(
            f"function {refused[0]} is not allowed through purpose-proxy",
            hint="Only built-in functions that cannot read data by themselves or run SQL text "
            "are allowed.",
        )
    settings = _unreadable_settings(statement.node)
    if settings:
        raise Refusal(
            f'setting "{settings[0]}" is not readable through purpose-proxy',
            hint="Session and formatting settings (TimeZone, DateStyle, search_path, "
            "server_version...) are readable; server paths, commands, connection strings and "
            "custom settings are not.",
        )
    refused = check_operators(facts.operators)
    if refused:
        raise Refusal(f"operator {refused[0]} is not allowed through purpose-proxy",
                      hint="Only PostgreSQL's built-in operators are allowed.")
    refused = check_types(facts.type_names)
    if refused:
        raise Refusal(f"type {refused[0]} is not allowed through purpose-proxy",
                      hint="Only casts to PostgreSQL's built-in types are allowed.")
    return facts
