"""The decision core: (statement, context, deployment) -> Allow | Reject. Pure, no I/O.

The proxy, the `check` command and the tests all call `decide`. Steps: resolve the purpose,
parse with sqlglot and cross-check with PostgreSQL's parser, resolve against the catalog,
compute lineage, judge every column it reads under the purpose's rules, then rewrite (masks,
row filters, k guards) or reject with a message that says what to do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from proxy.errors import PgError, SqlState
from proxy.policy.crosscheck import check_against_postgres
from proxy.policy.decision import Allow, ColumnVerdict, Decision, Refusal, Reject, Report
from proxy.policy.judge import Judgement, judge_columns
from proxy.policy.masks import denied_placeholder, mask_expression
from proxy.policy.model import Action, Deployment, MissingAttributeError, render_row_filter
from proxy.policy.purpose import (
    DeclaredPurpose,
    comment_purposes,
    require_granted,
    resolve_purpose,
)
from proxy.policy.rewrite import TablePolicy, add_group_guard, apply_table_policies
from proxy.sql.lineage import Lineage, LineageBuilder
from proxy.sql.resolve import qualify_statement, reads_catalog_data
from proxy.sql.statements import Statement

# Statements that change nothing but the transaction: forwarded as they are, no purpose needed.
TRANSACTION_KINDS = frozenset({
    "TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK",
    "TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO",
})
_BLOCK_ID = "pp_block"


@dataclass(frozen=True)
class DecisionContext:
    user: str
    attributes: Mapping[str, str]
    declared: DeclaredPurpose = field(default_factory=DeclaredPurpose)
    mask_key: str = ""


def decide(statement: Statement, context: DecisionContext, deployment: Deployment) -> Decision:
    report = Report(purpose=None, purpose_source=None, statement_kind=statement.kind)
    try:
        return _decide(statement, context, deployment, report)
    except Refusal as refusal:
        return Reject(
            refusal.sqlstate, refusal.message, refusal.report or report, refusal.detail,
            refusal.hint,
        )
    except PgError as error:  # unknown relation or column, unsupported construct
        return Reject(error.sqlstate, error.message, report, error.detail, error.hint)


def _decide(
    statement: Statement, context: DecisionContext, deployment: Deployment, report: Report
) -> Decision:
    kind = statement.kind
    if kind == "TransactionStmt":
        if statement.node.kind.name not in TRANSACTION_KINDS:
            raise Refusal(
                f"{statement.node.kind.name.removeprefix('TRANS_STMT_')} is not supported "
                "through purpose-proxy", sqlstate=SqlState.FEATURE_NOT_SUPPORTED,
            )
        return Allow(statement.text, False, report)
    if kind != "SelectStmt":
        purpose, source = resolve_purpose(
            statement.text, context.declared, deployment, context.user
        )
        raise Refusal(
            f"{_describe_kind(kind)} is not allowed through purpose-proxy "
            f'for purpose "{purpose}"',
            hint="Only queries (SELECT) are supported for this purpose.",
            report=Report(purpose, source, kind),
        )
    parsed = _parse(statement)
    check_against_postgres(statement, parsed)
    if not reads_catalog_data(parsed):
        # Metadata (pg_catalog, information_schema) and constant queries read no governed
        # data: clients and BI tools run them on connect, before any purpose is declared.
        # A purpose the statement itself declares must still be granted.
        for declared in comment_purposes(statement.text):
            require_granted(deployment, context.user, declared)
        return Allow(statement.text, False, report)
    purpose, source = resolve_purpose(statement.text, context.declared, deployment, context.user)
    report = Report(purpose, source, kind)
    try:
        return _decide_query(statement.text, parsed, context, deployment, report)
    except Refusal as refusal:
        refusal.report = refusal.report or report
        raise


def _decide_query(
    text: str,
    parsed: exp.Expression,
    context: DecisionContext,
    deployment: Deployment,
    report: Report,
) -> Decision:
    purpose = report.purpose
    assert purpose is not None
    _number_blocks(parsed)
    qualified = qualify_statement(parsed, deployment.catalog)
    lineage = LineageBuilder(deployment.catalog.table).build(qualified)
    judgement = judge_columns(lineage, purpose, deployment, context.user)
    report = _report(report, lineage, judgement)
    if judgement.violation is not None:
        violation = judgement.violation
        raise Refusal(violation.message, violation.detail, violation.hint, report=report)
    rewritten, rewrites = _rewrite(parsed, lineage, judgement, purpose, context, deployment, report)
    report = Report(**{**report.__dict__, "rewrites": tuple(rewrites)})
    if rewritten is None:
        return Allow(text, False, report)
    return Allow(rewritten.sql(dialect="postgres"), True, report)


def _describe_kind(kind: str) -> str:
    names = {
        "InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE",
        "CopyStmt": "COPY", "CreateTableAsStmt": "CREATE TABLE AS", "ExplainStmt": "EXPLAIN",
    }
    return names.get(kind, kind.removesuffix("Stmt").upper() or kind)


def _parse(statement: Statement) -> exp.Expression:
    try:
        expressions = [e for e in sqlglot.parse(statement.text, read="postgres") if e is not None]
    except SqlglotError as exc:
        raise Refusal(
            f"purpose-proxy could not analyze the statement: {str(exc).splitlines()[0]}",
            sqlstate=SqlState.INSUFFICIENT_PRIVILEGE,
            hint="Statements the analyzer cannot read fully are refused.",
        ) from None
    if len(expressions) != 1:
        raise Refusal("the statement was read as several statements; it was refused")
    expression = expressions[0]
    if not isinstance(expression, exp.Query):
        raise Refusal(
            f"statement read as {expression.key.upper()} is not supported through purpose-proxy",
            sqlstate=SqlState.FEATURE_NOT_SUPPORTED,
        )
    return expression


def _number_blocks(expression: exp.Expression) -> None:
    """Tag each SELECT block so the qualified copy can point back at it (k guards)."""
    for number, select in enumerate(expression.find_all(exp.Select)):
        select.meta[_BLOCK_ID] = number


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


def _rewrite(
    parsed: exp.Expression,
    lineage: Lineage,
    judgement: Judgement,
    purpose: str,
    context: DecisionContext,
    deployment: Deployment,
    report: Report,
) -> tuple[exp.Expression | None, list[str]]:
    policies = deployment.policies
    rewrites: list[str] = []
    table_policies = []
    whole_rows = any(isinstance(n, exp.TableColumn) for n in parsed.find_all(exp.TableColumn))
    for schema, name in sorted(lineage.tables):
        table = deployment.catalog.table(schema, name)
        assert table is not None
        columns: dict[str, exp.Expression | None] = {}
        for column in table.columns:
            action = policies.column_action(purpose, column.labels).enforced
            raw = exp.column(column.name, quoted=True)
            if action.action is Action.MASK:
                assert action.method is not None
                columns[column.name] = mask_expression(
                    action.method, raw, column.type or "text", context.mask_key
                )
                rewrites.append(f"mask {schema}.{name}.{column.name}: {action.method.value}")
            elif action.action is Action.DENY:
                columns[column.name] = denied_placeholder(column.type or "text")
        template = policies.row_filter(purpose, schema, name)
        row_filter = None
        if template is not None:
            try:
                row_filter = render_row_filter(template, context.attributes)
            except MissingAttributeError as exc:
                raise Refusal(
                    f"{schema}.{name} cannot be read for purpose \"{purpose}\": {exc}",
                    hint="Ask the data owners to set the attribute for your user.",
                    report=report,
                ) from None
            rewrites.append(f"row filter {schema}.{name}: {row_filter}")
        if any(v is not None for v in columns.values()) or row_filter is not None or whole_rows:
            table_policies.append(TablePolicy(table, columns, row_filter))
    guarded = dict(judgement.group_guards)
    if not table_policies and not guarded:
        return None, rewrites
    rewritten = parsed.copy()
    for select in rewritten.find_all(exp.Select):
        block = select.meta.get(_BLOCK_ID)
        if block in guarded:
            add_group_guard(select, guarded[block])
            rewrites.append(f"group guard: count(*) >= {guarded[block]}")
    return apply_table_policies(rewritten, table_policies), rewrites
