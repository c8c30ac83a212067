"""COPY under a purpose: TO STDOUT is a query like any other; FROM STDIN is a granted write.

`COPY t TO STDOUT` reads exactly what `SELECT * FROM t` reads, so it is decided (and rewritten)
as that query. Files and programs are never reachable: the warehouse's file system is not the
client's to read or write.
"""

from __future__ import annotations

from collections.abc import Callable

from proxy.errors import SqlState
from proxy.policy.decision import Allow, CopyIn, CopyOut, Decision, Refusal, Report
from proxy.policy.derived import chosen_values
from proxy.policy.model import Deployment, WriteKind
from proxy.policy.purpose import DeclaredPurpose, resolve_purpose
from proxy.policy.writes import record_write, written_columns
from proxy.sql.identifiers import quote_identifier
from proxy.sql.pg_facts import pg_facts
from proxy.sql.statements import Statement, split_statements

SUPPORTED_OPTIONS = frozenset({"format", "delimiter", "null", "header", "quote", "escape",
                               "encoding"})


def _query_of(statement: Statement, details: dict[str, object]) -> Statement:
    """The query a COPY ... TO reads: its own query, or SELECT <columns> FROM <table>."""
    if details.get("has_query"):
        return statement.nested(statement.node.query)
    schema, table = details["relation"]  # type: ignore[misc]
    columns = details.get("columns") or ()
    select_list = ", ".join(quote_identifier(c) for c in columns) if columns else "*"
    relation = quote_identifier(schema, table) if schema else quote_identifier(table)
    select = split_statements(f"SELECT {select_list} FROM {relation}")[0]
    return statement.nested(select.node, select.text)


def decide_copy(
    statement: Statement,
    declared: DeclaredPurpose,
    user: str,
    deployment: Deployment,
    report: Report,
    decide_statement: Callable[[Statement], Decision],
) -> Decision:
    details = dict(pg_facts(statement.node).statement_details)
    if details.get("filename") is not None or details.get("is_program"):
        raise Refusal(
            "COPY to or from a file or a program is not allowed through purpose-proxy",
            hint="Use COPY ... TO STDOUT or COPY ... FROM STDIN: the data travels through "
            "your connection.",
        )
    options = dict(details.get("options") or {})
    unknown = sorted(set(options) - SUPPORTED_OPTIONS)
    if unknown:
        raise Refusal(f"COPY option {unknown[0]} is not supported through purpose-proxy",
                      sqlstate=SqlState.FEATURE_NOT_SUPPORTED)
    if not details.get("is_from"):
        decision = decide_statement(_query_of(statement, details))
        if isinstance(decision, Allow):
            return Allow(decision.sql, True, decision.report, CopyOut(options))
        return decision
    purpose, source = resolve_purpose(statement, declared, deployment, user)
    report = Report(purpose, source, statement.kind)
    relation = details.get("relation")
    if details.get("has_where"):
        raise Refusal("COPY FROM ... WHERE is not supported through purpose-proxy",
                      sqlstate=SqlState.FEATURE_NOT_SUPPORTED, report=report)
    schema, table = relation if isinstance(relation, tuple) else (None, "")
    entry = deployment.catalog.table(schema, table) if schema else None
    if entry is None:
        raise Refusal(
            f'relation "{".".join(p for p in (schema, table) if p)}" does not exist or is not '
            "in the purpose-proxy catalog", sqlstate=SqlState.UNDEFINED_TABLE, report=report,
        )
    if not deployment.policies.may_write(purpose, entry.schema, entry.name, WriteKind.COPY_FROM):
        raise Refusal(
            f'COPY FROM into {entry.qualified_name} is not allowed for purpose "{purpose}"',
            hint="Loading data is granted per purpose in policies/purposes.yaml (writes:).",
            report=report,
        )
    columns = tuple(details.get("columns") or entry.column_names)  # type: ignore[arg-type]
    for column in columns:
        if entry.column(column) is None:
            raise Refusal(f'column "{column}" of relation {entry.qualified_name} does not exist',
                          sqlstate=SqlState.UNDEFINED_COLUMN, report=report)
    try:
        written = written_columns(entry, columns, purpose, deployment)
    except Refusal as refusal:
        refusal.report = report
        raise
    # COPY rows are values the client chose: recorded as such (never masked on a later read).
    labels = {c: column.labels for c in written if (column := entry.column(c)) is not None}
    write = chosen_values(written, labels, purpose, deployment)
    return Allow(statement.text, False, report,
                 CopyIn(entry.schema, entry.name, columns, options),
                 records=record_write(entry, write))
