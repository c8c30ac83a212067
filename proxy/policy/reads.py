"""Reads: analyze a query (resolve, lineage, judge) and rewrite it under the purpose.

Used for SELECT, and for the query parts of writes (INSERT ... SELECT, CREATE TABLE AS, COPY).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlglot import exp

from proxy.policy.at_rest import readable_as_stored
from proxy.policy.decision import ColumnVerdict, Refusal, Report
from proxy.policy.judge import Judgement, judge_columns
from proxy.policy.masks import denied_placeholder, mask_expression
from proxy.policy.model import Action, Deployment
from proxy.policy.rows import base_condition, derived_condition
from proxy.policy.rewrite import TablePolicy, add_group_guard, apply_table_policies
from proxy.sql.budget import checkpoint
from proxy.sql.lineage import BLOCK_ID, Lineage, LineageBuilder, SourceColumn
from proxy.sql.resolve import qualify_statement


@dataclass(frozen=True)
class QueryAnalysis:
    query: exp.Expression  # as parsed, SELECT blocks numbered
    qualified: exp.Expression
    lineage: Lineage
    judgement: Judgement
    report: Report


def analyze_query(
    query: exp.Expression, report: Report, user: str, deployment: Deployment
) -> QueryAnalysis:
    """Resolve and judge `query` for report.purpose; a violation raises Refusal."""
    purpose = report.purpose
    assert purpose is not None
    _number_blocks(query)
    qualified = qualify_statement(query, deployment.catalog)
    checkpoint()
    lineage = LineageBuilder(deployment.catalog.table).build(qualified)
    checkpoint()
    judgement = judge_columns(lineage, purpose, deployment, user)
    report = _report(report, lineage, judgement)
    if judgement.violation is not None:
        violation = judgement.violation
        raise Refusal(violation.message, violation.detail, violation.hint, report=report)
    return QueryAnalysis(query, qualified, lineage, judgement, report)


def _number_blocks(expression: exp.Expression) -> None:
    """Tag each SELECT block so the qualified copy can point back at it (k guards)."""
    for number, select in enumerate(expression.find_all(exp.Select)):
        select.meta[BLOCK_ID] = number


def _report(report: Report, lineage: Lineage, judgement: Judgement) -> Report:
    uses: dict[str, set[str]] = defaultdict(set)
    for use in lineage.uses:
        uses[str(use.source)].add(use.clause.value)
    columns = tuple(
        ColumnVerdict(
            column=str(source),
            labels=tuple(sorted(action.labels)),
            action=action.describe_enforced(),
            label=action.column_action.enforced_label,
            shadow_action=action.describe_rule() if action.column_action.shadowed else None,
            uses=tuple(sorted(uses[str(source)])),
        )
        for source, action in sorted(judgement.actions.items())
    )
    lineage_rows = tuple(
        (output.name, tuple(sorted(f"{flow.source} ({flow.kind.value})" for flow in output.flows)))
        for output in lineage.outputs
    )
    return Report(
        purpose=report.purpose,
        purpose_source=report.purpose_source,
        statement_kind=report.statement_kind,
        tables=tuple(sorted(f"{s}.{t}" for s, t in lineage.tables)),
        columns=columns,
        lineage=lineage_rows,
        shadow=tuple(judgement.shadow_notes),
    )


def rewrite_query(
    analysis: QueryAnalysis, attributes: Mapping[str, str], deployment: Deployment
) -> tuple[exp.Expression | None, Report]:
    """The query with masks, row filters and k guards applied; None when nothing changes."""
    report, lineage, judgement = analysis.report, analysis.lineage, analysis.judgement
    purpose = report.purpose
    assert purpose is not None
    policies = deployment.policies
    rewrites: list[str] = []
    table_policies = []
    # Every table is wrapped, masked or not: the warehouse may hold columns the catalog does
    # not (unannotated), and `*`, whole-row references and alias column lists (`t AS x(a, b)`,
    # renamed by position) must see exactly the annotated columns, in catalog order.
    read = lineage.sources()
    for schema, name in sorted(lineage.tables):
        table = deployment.catalog.table(schema, name)
        assert table is not None
        columns: dict[str, exp.Expression | None] = {}
        for column in table.columns:
            action = policies.column_action(purpose, column.labels).enforced
            raw = exp.column(column.name, quoted=True)
            derived = table.derivation.column(column.name) if table.derivation else None
            if derived is not None and readable_as_stored(
                policies, purpose, column.labels, derived
            ):
                continue  # masked at rest the way this purpose masks it, or raw for it
            if action.action is Action.MASK:
                assert action.method is not None
                if derived is not None and derived.chosen:
                    if SourceColumn(schema, name, column.name) in read:
                        raise _chosen_values_refusal(table.qualified_name, column.name,
                                                     purpose, action.method.value, report)
                    columns[column.name] = denied_placeholder(column.type or "text")
                    continue
                columns[column.name] = mask_expression(action.method, raw, column.type or "text")
                rewrites.append(f"mask {schema}.{name}.{column.name}: {action.method.value}")
            elif action.action is Action.DENY:
                columns[column.name] = denied_placeholder(column.type or "text")
        try:
            if table.derivation is not None:
                row_filter = derived_condition(deployment, purpose, table, attributes).condition
            else:
                row_filter = base_condition(deployment, purpose, table, attributes)
        except Refusal as refusal:
            refusal.report = report
            raise
        if row_filter is not None:
            rewrites.append(f"row filter {schema}.{name}: {row_filter}")
        table_policies.append(TablePolicy(table, columns, row_filter))
    guarded = dict(judgement.group_guards)
    report = replace(report, rewrites=tuple(rewrites))
    if not table_policies and not guarded:
        return None, report
    rewritten = analysis.query.copy()
    for select in rewritten.find_all(exp.Select):
        block = select.meta.get(BLOCK_ID)
        if block in guarded:
            k, identities = guarded[block]
            add_group_guard(select, k, identities)
            keys = ", ".join(f"{alias}.{key}" for alias, key in sorted(identities))
            report = replace(report, rewrites=(
                *report.rewrites, f"group guard: count(DISTINCT {keys}) >= {k}"))
    return apply_table_policies(rewritten, table_policies), report


def _chosen_values_refusal(
    table: str, column: str, purpose: str, method: str, report: Report
) -> Refusal:
    return Refusal(
        f'permission denied for column "{column}" of table {table}: purpose "{purpose}" reads '
        f"it masked ({method}), and it may hold values a user wrote (literals, parameters, "
        "COPY rows); masking them would turn the mask into an oracle for guesses",
        detail=f"{table}.{column} was not written masked the way purpose \"{purpose}\" masks it",
        hint="Read it under the purpose that wrote it, or recreate the table under this purpose "
        "(its values are then stored masked and read as stored).",
        report=report,
    )
