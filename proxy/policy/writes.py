"""Writes: INSERT, UPDATE, DELETE and CREATE TABLE AS / SELECT INTO under a purpose.

A write must be granted for its target (`writes:` in policies/purposes.yaml). The data it reads
is judged like any query: the source query of INSERT ... SELECT and CREATE TABLE AS is rewritten
(masks, row filters), while UPDATE and DELETE, which cannot be rewritten safely, may read only
columns the purpose may read raw. Data never flows into a column labelled less strictly than
its source; a table created in the sandbox records the labels of what flowed into it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types

from proxy.catalog.derivation import RAW, Derivation, forget_keys, merge
from proxy.catalog.labels import label_and_ancestors
from proxy.catalog.model import ColumnEntry, TableEntry
from proxy.errors import SqlState
from proxy.policy.at_rest import views
from proxy.policy.decision import Allow, RecordTable, Refusal, Report
from proxy.policy.derived import chosen_values, query_derivation, unkeyed_sources
from proxy.policy.model import Action, Deployment, WriteKind
from proxy.policy.reads import analyze_query, rewrite_query
from proxy.sql.lineage import ColumnFlow, Flow, OutputColumn
from proxy.sql.resolve import catalog_schema, referenced_tables


@dataclass(frozen=True)
class WriteContext:
    user: str
    attributes: Mapping[str, str]


def _target(table: exp.Expression) -> tuple[str, str]:
    if isinstance(table, exp.Schema):
        table = table.this
    if not isinstance(table, exp.Table) or not table.name:
        raise Refusal("the target of the write could not be resolved")
    if not table.db:
        raise Refusal(
            f'relation "{table.name}" does not exist or is not in the purpose-proxy catalog',
            sqlstate=SqlState.UNDEFINED_TABLE,
            hint="Name the target with its schema, e.g. sandbox.my_table.",
        )
    return table.db, table.name


_WRITE_NAMES = {
    WriteKind.INSERT: "INSERT into",
    WriteKind.UPDATE: "UPDATE of",
    WriteKind.DELETE: "DELETE from",
    WriteKind.COPY_FROM: "COPY FROM into",
    WriteKind.CREATE_TABLE: "CREATE TABLE",
}


def _require_grant(
    deployment: Deployment, purpose: str, schema: str, table: str, kind: WriteKind
) -> None:
    if not deployment.policies.may_write(purpose, schema, table, kind):
        raise Refusal(
            f"{_WRITE_NAMES[kind]} {schema}.{table} is not allowed for purpose \"{purpose}\"",
            hint="Writes are granted per purpose and target in policies/purposes.yaml "
            "(writes:); ask the data owners, or use a purpose that may write there.",
        )


def covered(source: Iterable[str], target: Iterable[str]) -> list[str]:
    """Source labels the target does not carry (itself or through a coarser label)."""
    target_labels = set(target)
    return sorted(label for label in source
                  if not any(a in target_labels for a in label_and_ancestors(label)))


def _labels_of(flows: Iterable[ColumnFlow], deployment: Deployment) -> set[str]:
    labels: set[str] = set()
    for flow in flows:
        table = deployment.catalog.table(flow.source.schema, flow.source.table)
        column = table.column(flow.source.column) if table else None
        labels |= column.labels if column else set()
    return labels


def _check_flow_into(
    target: TableEntry, columns: list[str], outputs: Iterable[OutputColumn],
    deployment: Deployment,
) -> None:
    for name, output in zip(columns, outputs, strict=False):
        column = target.column(name)
        if column is None:
            raise Refusal(
                f'column "{name}" of relation {target.qualified_name} does not exist',
                sqlstate=SqlState.UNDEFINED_COLUMN,
            )
        missing = covered(_labels_of(output.flows, deployment), column.labels)
        if missing:
            sources = ", ".join(sorted(str(f.source) for f in output.flows))
            raise Refusal(
                f'data labelled {", ".join(missing)} may not flow into column "{name}" of '
                f"{target.qualified_name}, which is labelled less strictly "
                f"({', '.join(sorted(column.labels)) or 'not sensitive'})",
                detail=f'{target.qualified_name}.{name} <- {sources}',
                hint="Write it into a column annotated with the same labels, or leave it out.",
            )


def _only_raw_reads(analysis_report: Report, what: str) -> None:
    for column in analysis_report.columns:
        if column.action != Action.ALLOW.value:
            raise Refusal(
                f"{what} may only read columns the purpose may read unmasked: "
                f"{column.column} is {column.action} for purpose \"{analysis_report.purpose}\"",
                hint="Select the rows to change by columns the purpose may read.",
            )


def decide_insert(
    insert: exp.Insert, report: Report, context: WriteContext, deployment: Deployment
) -> Allow:
    purpose = report.purpose
    assert purpose is not None
    schema, name = _target(insert.this)
    _require_grant(deployment, purpose, schema, name, WriteKind.INSERT)
    target = deployment.catalog.table(schema, name)
    if target is None:
        raise Refusal(f'relation "{schema}.{name}" does not exist or is not in the catalog',
                      sqlstate=SqlState.UNDEFINED_TABLE)
    if insert.args.get("returning") or insert.args.get("conflict"):
        _refuse_unless_all_raw(target, purpose, deployment, "INSERT ... RETURNING / ON CONFLICT")
    listed = insert.this.expressions if isinstance(insert.this, exp.Schema) else []
    columns = [column.name for column in listed] or list(target.column_names)
    source = insert.expression
    if isinstance(source, exp.Values) and _reads_relations(source):
        # VALUES ((SELECT ...)): judged and rewritten as the query it is.
        source = exp.select("*").from_(exp.Subquery(
            this=source.copy(), alias=exp.TableAlias(this=exp.to_identifier("v"))))
    # ON CONFLICT ... DO UPDATE may set any column to a value the client chose.
    chosen_too = list(target.column_names) if insert.args.get("conflict") else []
    if not isinstance(source, exp.Query):
        _require_analyzed(insert, (schema, name), set())
        written = written_columns(
            target, list(dict.fromkeys(_width(source, columns) + chosen_too)), purpose, deployment)
        write = chosen_values(written, _labels(target, written), purpose, deployment)
        return Allow(insert.sql(dialect="postgres"), True, report,
                     records=record_write(target, write))
    analysis = analyze_query(source.copy(), report, context.user, deployment)
    _require_analyzed(insert, (schema, name), analysis.lineage.tables)
    _check_flow_into(target, columns, analysis.lineage.outputs, deployment)
    written = written_columns(target, columns[:len(analysis.lineage.outputs)], purpose,
                               deployment)
    rewritten, report = rewrite_query(analysis, context.attributes, deployment)
    write = query_derivation(analysis, written, _labels(target, written), purpose,
                             context.attributes, deployment)
    if chosen_too:
        write = merge(write, chosen_values(
            written_columns(target, chosen_too, purpose, deployment),
            _labels(target, chosen_too), purpose, deployment))
    statement = insert.copy()
    if rewritten is not None:
        statement.set("expression", rewritten)
    return Allow(statement.sql(dialect="postgres"), rewritten is not None, report,
                 records=record_write(target, write))


def _width(source: exp.Expression | None, columns: list[str]) -> list[str]:
    """The target columns a VALUES list (or DEFAULT VALUES) writes."""
    if isinstance(source, exp.Values) and source.expressions:
        first = source.expressions[0]
        width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
        return columns[:width]
    return [] if source is None else columns


def _labels(target: TableEntry, columns: Sequence[str]) -> dict[str, frozenset[str]]:
    labels = {}
    for name in columns:
        column = target.column(name)
        labels[name] = column.labels if column is not None else frozenset()
    return labels


def written_columns(
    target: TableEntry, columns: Sequence[str], purpose: str, deployment: Deployment
) -> list[str]:
    """The columns a write sets, each checked: a purpose writes into a column only what it
    sees of its labels the way the column holds them (see proxy/policy/at_rest.py)."""
    for name in columns:
        column = target.column(name)
        if column is None:
            raise Refusal(
                f'column "{name}" of relation {target.qualified_name} does not exist',
                sqlstate=SqlState.UNDEFINED_COLUMN,
            )
        seen = dict(views(deployment.policies, purpose, column.labels))
        derived = target.derivation.column(name) if target.derivation is not None else None
        held = dict(derived.written_as) if derived is not None else {
            label: RAW for label in column.labels}
        if seen != held:
            differ = sorted(label for label in seen.keys() | held.keys()
                            if seen.get(label) != held.get(label))
            label = differ[0]
            raise Refusal(
                f'purpose "{purpose}" may not write into column "{name}" of '
                f"{target.qualified_name}: it sees {label} {_view_text(seen.get(label))}, and the "
                f"column holds it {_view_text(held.get(label))}",
                detail="Values a purpose reads masked are written masked, and read back as "
                "stored only by purposes that mask them the same way; mixing them with "
                "differently masked values would let a mask confirm guesses or show raw values.",
                hint=f"Write into a table created under purpose \"{purpose}\" (CREATE TABLE AS), "
                "or write under the purpose that created this one.",
            )
    return list(columns)


def _view_text(view: str | None) -> str:
    return "raw" if view in (None, RAW) else f"masked ({view.removeprefix('mask:')})"


def record_write(target: TableEntry, write: Derivation) -> TableEntry | None:
    """The target's catalog entry after the write (recorded before the write runs: the merged
    row policy is the stricter one), or None for catalog tables, whose rows are the data."""
    if target.derivation is None:
        return None
    return replace(target, derivation=merge(target.derivation, write))


def _reads_relations(node: exp.Expression) -> bool:
    return any(True for _ in node.find_all(exp.Table))


def _require_analyzed(
    statement: exp.Expression, target: tuple[str, str], analyzed: set[tuple[str, str]]
) -> None:
    """Fail closed: every relation a write reads must have gone through the analysis.

    A subquery in a part of the statement the analysis does not cover (ON CONFLICT, RETURNING,
    a VALUES row not recognised as a query) would otherwise read data unjudged.
    """
    for table in referenced_tables(statement):
        if (table.db, table.name) not in analyzed and (table.db, table.name) != target:
            raise Refusal(
                f"{table.db}.{table.name} is read in a part of this write purpose-proxy does not "
                "analyze",
                hint="Read data in the SELECT that feeds the write, not in ON CONFLICT, "
                "RETURNING or other clauses.",
            )


def _refuse_unless_all_raw(
    target: TableEntry, purpose: str, deployment: Deployment, what: str
) -> None:
    for column in target.columns:
        action = deployment.policies.column_action(purpose, column.labels).enforced.action
        if action is not Action.ALLOW:
            raise Refusal(f"{what} is not allowed: {target.qualified_name}.{column.name} is "
                          f'{action.value} for purpose "{purpose}"')


def decide_update_or_delete(
    statement: exp.Update | exp.Delete, report: Report, context: WriteContext,
    deployment: Deployment,
) -> Allow:
    purpose = report.purpose
    assert purpose is not None
    kind = WriteKind.UPDATE if isinstance(statement, exp.Update) else WriteKind.DELETE
    schema, name = _target(statement.this)
    _require_grant(deployment, purpose, schema, name, kind)
    target = deployment.catalog.table(schema, name)
    if target is None:
        raise Refusal(f'relation "{schema}.{name}" does not exist or is not in the catalog',
                      sqlstate=SqlState.UNDEFINED_TABLE)
    if statement.args.get("returning"):
        _refuse_unless_all_raw(target, purpose, deployment, f"{kind.value.upper()} ... RETURNING")
    # Judge what the statement reads as the query it amounts to.
    probe = exp.select(*(
        [exp.alias_(assignment.expression.copy(), assignment.this.name)
         for assignment in statement.expressions]
        if isinstance(statement, exp.Update) else [exp.Literal.number(1)]
    )).from_(statement.this.copy())
    from_ = statement.args.get("from_")
    extra_tables = [from_.this] if isinstance(from_, exp.From) else []
    extra_tables += list(statement.args.get("using") or [])
    for table in extra_tables:
        probe = probe.join(table.copy())
    if statement.args.get("where") is not None:
        probe = probe.where(statement.args["where"].this.copy())
    analysis = analyze_query(probe, report, context.user, deployment)
    _require_analyzed(statement, (schema, name), analysis.lineage.tables)
    _only_raw_reads(analysis.report, kind.value.upper())
    records = None
    if isinstance(statement, exp.Update):
        set_columns = [assignment.this.name for assignment in statement.expressions]
        _check_flow_into(target, set_columns, analysis.lineage.outputs, deployment)
        written_columns(target, set_columns, purpose, deployment)
        if target.derivation is not None:
            sources = unkeyed_sources(analysis.lineage.tables, (schema, name), purpose,
                                      context.attributes, deployment)
            write = chosen_values(set_columns, _labels(target, set_columns), purpose,
                                  deployment, sources)
            records = replace(target, derivation=merge(
                forget_keys(target.derivation, frozenset(set_columns)), write))
    return Allow(statement.sql(dialect="postgres"), False, analysis.report, records=records)


def decide_create_table_as(
    target_table: exp.Expression, query: exp.Expression, report: Report, context: WriteContext,
    deployment: Deployment,
) -> Allow:
    purpose = report.purpose
    assert purpose is not None
    schema, name = _target(target_table)
    _require_grant(deployment, purpose, schema, name, WriteKind.CREATE_TABLE)
    if deployment.catalog.table(schema, name) is not None:
        raise Refusal(f'relation "{schema}.{name}" already exists',
                      sqlstate=SqlState.DUPLICATE_TABLE)
    analysis = analyze_query(query.copy(), report, context.user, deployment)
    rewritten, report = rewrite_query(analysis, context.attributes, deployment)
    types = _output_types(analysis.qualified, deployment)
    labels = {output.name: frozenset(_labels_of(output.flows, deployment))
              for output in analysis.lineage.outputs}
    names = [output.name for output in analysis.lineage.outputs]
    entry = TableEntry(schema, name, tuple(
        ColumnEntry(
            name=output.name,
            type=_single_source_type(output, deployment) or types.get(output.name, "text"),
            labels=labels[output.name],
            description="created by CREATE TABLE AS through purpose-proxy",
        )
        for output in analysis.lineage.outputs
    ), derivation=query_derivation(analysis, names, labels, purpose, context.attributes,
                                   deployment))
    create = exp.Create(
        kind="TABLE",
        this=exp.table_(name, db=schema),
        expression=rewritten if rewritten is not None else query,
    )
    return Allow(create.sql(dialect="postgres"), True, report, RecordTable(entry))


def _output_types(qualified: exp.Expression, deployment: Deployment) -> dict[str, str]:
    """PostgreSQL types of the query's output columns, as far as sqlglot can infer them."""
    annotated = annotate_types(qualified.copy(), schema=catalog_schema(deployment.catalog))
    types = {}
    for projection in getattr(annotated, "selects", []):
        data_type = projection.type
        if data_type is not None and not data_type.is_type(exp.DataType.Type.UNKNOWN):
            types[projection.alias_or_name] = data_type.sql(dialect="postgres").lower()
    return types


def _single_source_type(output: OutputColumn, deployment: Deployment) -> str | None:
    flows = list(output.flows)
    if len(flows) == 1 and flows[0].kind is Flow.DIRECT:
        source = flows[0].source
        table = deployment.catalog.table(source.schema, source.table)
        column = table.column(source.column) if table else None
        return column.type if column else None
    return None
