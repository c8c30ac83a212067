"""The decision core: (statement, context, deployment) -> Allow | Reject. Pure, no I/O.

The proxy, the `check` command and the tests all call `decide`. Steps: resolve the purpose,
parse with sqlglot and cross-check with PostgreSQL's parser, resolve against the catalog,
compute lineage, judge every column it reads under the purpose's rules, then rewrite (masks,
row filters, k guards) or reject with a message that says what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from proxy.errors import PgError, SqlState
from proxy.policy.catalog_views import answer_for_proxy, answer_identity, world_of
from proxy.policy.copy import decide_copy
from proxy.policy.crosscheck import check_against_postgres, reads_settings_by_expression
from proxy.policy.decision import Allow, Decision, Refusal, Reject, Report
from proxy.policy.model import Deployment
from proxy.policy.purpose import DeclaredPurpose, comment_purpose, resolve_purpose
from proxy.policy.reads import analyze_query, rewrite_query
from proxy.policy.writes import (
    WriteContext,
    decide_create_table_as,
    decide_insert,
    decide_update_or_delete,
)
from proxy.sql.balance import balance_connectors
from proxy.sql.budget import checkpoint
from proxy.sql.names import fold_identifiers
from proxy.sql.resolve import reads_catalog_data
from proxy.sql.sqlglot_compat import patch_unparseable_types, restore_unparseable_types
from proxy.sql.statements import Statement

# Statements that change nothing but the transaction: forwarded as they are, no purpose needed.
TRANSACTION_KINDS = frozenset({
    "TRANS_STMT_BEGIN", "TRANS_STMT_START", "TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK",
    "TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO",
})


WRITE_KINDS = ("InsertStmt", "UpdateStmt", "DeleteStmt", "CreateTableAsStmt")
# What sqlglot must read each PostgreSQL statement kind as (fail closed on any other reading).
SQLGLOT_KINDS: dict[str, tuple[type[exp.Expression], ...]] = {
    "SelectStmt": (exp.Query, exp.Values),
    "InsertStmt": (exp.Insert,),
    "UpdateStmt": (exp.Update,),
    "DeleteStmt": (exp.Delete,),
    "CreateTableAsStmt": (exp.Create,),
}


@dataclass(frozen=True)
class DecisionContext:
    user: str
    attributes: Mapping[str, str]
    declared: DeclaredPurpose = field(default_factory=DeclaredPurpose)
    database: str = "acme"  # the database clients connect to (setting `database`)


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
    # Every statement: a purpose its comments declare must be granted, and only one.
    comment_purpose(statement, deployment, context.user)
    if kind == "TransactionStmt":
        if statement.node.kind.name not in TRANSACTION_KINDS:
            raise Refusal(
                f"{statement.node.kind.name.removeprefix('TRANS_STMT_')} is not supported "
                "through purpose-proxy", sqlstate=SqlState.FEATURE_NOT_SUPPORTED,
            )
        return Allow(statement.text, False, report)
    if kind == "CopyStmt":
        return decide_copy(
            statement, context.declared, context.user, deployment, report,
            lambda query: _decide(query, context, deployment, report),
        )
    if kind == "ExplainStmt":
        return _decide_explain(statement, context, deployment, report)
    if kind not in ("SelectStmt", *WRITE_KINDS):
        purpose, source = resolve_purpose(statement, context.declared, deployment, context.user)
        raise Refusal(
            f"{_describe_kind(kind)} is not allowed through purpose-proxy",
            hint="Queries, granted writes (INSERT, UPDATE, DELETE, COPY FROM STDIN, CREATE TABLE "
            "AS into a sandbox) and COPY ... TO STDOUT are supported; DDL is not.",
            report=Report(purpose, source, kind),
            sqlstate=SqlState.INSUFFICIENT_PRIVILEGE,
        )
    parsed = _parse(statement)
    checkpoint()
    facts = check_against_postgres(statement, parsed)
    select_into = kind == "SelectStmt" and bool(facts.statement_details.get("into"))
    if kind == "SelectStmt" and not select_into and not reads_catalog_data(parsed):
        # Metadata (pg_catalog, information_schema) and constant queries read no governed
        # data: clients and BI tools run them on connect, before any purpose is declared.
        # (A purpose the statement itself declares was checked above: granted, only one.)
        world = world_of(context.database, context.user, deployment.users)
        try:
            answered = answer_for_proxy(parsed, world)
            if answered is not None:
                return Allow(answered.sql(dialect="postgres"), True, report)
        except SqlglotError as exc:
            raise Refusal(
                f"purpose-proxy could not answer this catalog query for its own world: {exc}",
                hint="Catalog views of databases, roles and settings are answered from the "
                "proxy's configuration; simplify the query.",
            ) from None
        return Allow(statement.text, False, report)
    if reads_settings_by_expression(statement.node):
        raise Refusal(
            "current_setting() must name its setting as a constant in a statement that reads "
            "data", hint="Write current_setting('TimeZone'), not an expression.",
        )
    purpose, source = resolve_purpose(statement, context.declared, deployment, context.user)
    report = Report(purpose, source, kind)
    if _creates_temporary(statement):
        raise Refusal(
            "temporary tables are not supported through purpose-proxy",
            sqlstate=SqlState.FEATURE_NOT_SUPPORTED, report=report,
            hint="Create the table in a schema your purpose may write (e.g. sandbox.my_table): "
            "its labels and row policy are recorded there.",
        )
    writing = WriteContext(context.user, context.attributes)
    try:
        if select_into:
            into = parsed.args["into"]
            query = parsed.copy()
            query.set("into", None)
            return decide_create_table_as(into.this, query, report, writing, deployment)
        if kind == "SelectStmt":
            return _decide_query(statement.text, parsed, context, deployment, report)
        if kind == "InsertStmt":
            return decide_insert(parsed, report, writing, deployment)
        if kind in ("UpdateStmt", "DeleteStmt"):
            return decide_update_or_delete(parsed, report, writing, deployment)
        if facts.statement_details.get("objtype") != "table":
            raise Refusal("CREATE MATERIALIZED VIEW is not allowed through purpose-proxy")
        return decide_create_table_as(
            parsed.this, parsed.expression, report, writing, deployment
        )
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
    answered = answer_identity(parsed, world_of(context.database, context.user, deployment.users))
    analysis = analyze_query(answered or parsed, report, context.user, deployment)
    checkpoint()
    rewritten, report = rewrite_query(analysis, context.attributes, deployment)
    if rewritten is None:
        if answered is not None:
            return Allow(answered.sql(dialect="postgres"), True, report)
        return Allow(text, False, report)
    checkpoint()
    return Allow(rewritten.sql(dialect="postgres"), True, report)


# EXPLAIN options a client may choose; costs are always off (see _decide_explain).
_EXPLAIN_FORMATS = frozenset({"text", "json", "yaml", "xml"})


def _decide_explain(
    statement: Statement, context: DecisionContext, deployment: Deployment, report: Report
) -> Decision:
    """EXPLAIN of a query: decided as the query, and the plan shown is the rewritten query's.

    A plan can tell more than the rows: ANALYZE runs the statement and counts the rows each
    node removed (those a row filter hides), VERBOSE and filters print the rewrite's
    expressions, and cost estimates come from statistics over every row of a table, hidden
    ones included. So only the plan's shape is shown: COSTS OFF always, no ANALYZE, VERBOSE,
    BUFFERS, WAL, SETTINGS or GENERIC_PLAN. The mask key is never in a plan: rewrites call
    the warehouse's `_purpose_proxy.mask_hash`, the key is not in the SQL.
    """
    node = statement.node
    explain_format = "text"
    for option in node.options or ():
        name = option.defname.lower()
        value = getattr(option.arg, "sval", None)
        if name == "format" and value is not None and value.lower() in _EXPLAIN_FORMATS:
            explain_format = value.lower()
        elif name == "costs" and value is not None and value.lower() in ("false", "off", "0"):
            continue
        else:
            raise Refusal(
                f"EXPLAIN option {name.upper()} is not allowed through purpose-proxy",
                hint="EXPLAIN shows the plan of the statement as policy rewrites it, without "
                "costs; ANALYZE, VERBOSE, BUFFERS and similar options could reveal rows or "
                "statistics the purpose may not see. Options allowed: FORMAT.",
            )
    query = node.query
    if type(query).__name__ != "SelectStmt" or query.intoClause is not None:
        raise Refusal(
            "EXPLAIN is allowed for queries only through purpose-proxy",
            hint="EXPLAIN a SELECT; writes are explained by the warehouse's owners.",
        )
    explained = _decide(statement.nested(query), context, deployment, report)
    if not isinstance(explained, Allow):
        return explained
    options = "COSTS OFF" + (f", FORMAT {explain_format.upper()}"
                             if explain_format != "text" else "")
    return Allow(f"EXPLAIN ({options}) {explained.sql}", True, explained.report)


def _creates_temporary(statement: Statement) -> bool:
    """CREATE TEMP TABLE ... AS / SELECT ... INTO TEMP: refused, not silently made permanent."""
    node = statement.node
    into = getattr(node, "into", None) if statement.kind == "CreateTableAsStmt" else getattr(
        node, "intoClause", None)
    rel = into.rel if into is not None else None
    return rel is not None and rel.relpersistence == "t"


def _describe_kind(kind: str) -> str:
    names = {
        "InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE",
        "CopyStmt": "COPY", "CreateTableAsStmt": "CREATE TABLE AS", "ExplainStmt": "EXPLAIN",
    }
    return names.get(kind, kind.removesuffix("Stmt").upper() or kind)


def _parse(statement: Statement) -> exp.Expression:
    try:
        text = patch_unparseable_types(statement.text, keep_names=True)
        expressions = [restore_unparseable_types(e)
                       for e in sqlglot.parse(text, read="postgres") if e is not None]
    except SqlglotError as exc:
        raise Refusal(
            f"purpose-proxy could not analyze the statement: {str(exc).splitlines()[0]}",
            sqlstate=SqlState.INSUFFICIENT_PRIVILEGE,
            hint="Statements the analyzer cannot read fully are refused.",
        ) from None
    if len(expressions) != 1:
        raise Refusal("the statement was read as several statements; it was refused")
    expression = fold_identifiers(expressions[0])  # compare names as PostgreSQL does
    balance_connectors(expression)
    expected = SQLGLOT_KINDS.get(statement.kind, ())
    if not isinstance(expression, expected) or (
        isinstance(expression, exp.Create) and not isinstance(expression.expression, exp.Query)
    ):
        raise Refusal(
            f"statement read as {expression.key.upper()} is not supported through purpose-proxy",
            sqlstate=SqlState.FEATURE_NOT_SUPPORTED,
            hint="PostgreSQL and purpose-proxy's analyzer read this statement differently.",
        )
    return expression


