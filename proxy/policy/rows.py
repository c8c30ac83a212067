"""Which rows of a table exist for a purpose: row filters, subject filters, derived tables.

Three sources of row conditions, all rendered as SQL over the table's own columns:

- `row_filters` on a catalog table: the condition itself, on that table only;
- `subject_filters` on a subject (labels.yaml `subjects:`): the condition on the subject's
  table, and on every other catalog table `<key column> IN (SELECT <key> FROM <subject table>
  WHERE <condition>)` for each column labelled with the subject's key label;
- a derived table (created through the proxy): each requirement its base sources have under
  the purpose holds if every row already passed it on the way in, else through the key the
  table kept (`<kept column> IN (SELECT <key> FROM <source> WHERE <condition>)`), else because
  every row aggregates at least k subjects; otherwise the table cannot be read under the
  purpose, and the refusal says why and what to do.

Pure: the decision core calls it while rewriting; the rewrite fences the result (MATERIALIZED).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proxy.catalog.derivation import UNKNOWN_SOURCES, SourceRows
from proxy.catalog.labels import label_and_ancestors
from proxy.catalog.model import ColumnEntry, TableEntry
from proxy.policy.decision import Refusal
from proxy.policy.model import (
    Deployment,
    MissingAttributeError,
    render_row_filter,
    split_qualified,
)
from proxy.sql.identifiers import quote_identifier


@dataclass(frozen=True)
class RowRequirement:
    """One condition a purpose puts on the rows of a base table."""

    identity: str  # the condition as rendered, what a derived table records as satisfied
    on_table: str  # SQL over the base table's own columns
    key_column: str | None  # the base table's column a derived table must keep to be filtered
    key_query: str | None  # SELECT <key> FROM ... WHERE ...: the keys of the rows that exist
    k: int | None  # rows aggregating at least k subjects satisfy it (None: nothing else does)
    subject: str | None  # the subject it is about, for messages


def carries(column: ColumnEntry, key_label: str) -> bool:
    """The column holds keys of the subject whose key label is `key_label`."""
    return any(key_label in label_and_ancestors(label) for label in column.labels)


def subject_key_columns(deployment: Deployment, table: TableEntry) -> dict[str, int]:
    """Columns of a base table that hold some subject's key, and that subject's k."""
    columns: dict[str, int] = {}
    for subject in deployment.policies.subjects.values():
        for column in table.columns:
            if carries(column, subject.key_label):
                columns[column.name] = max(columns.get(column.name, 0), subject.k)
    return columns


def _render(template: str, attributes: Mapping[str, str], what: str, purpose: str) -> str:
    try:
        return render_row_filter(template, attributes)
    except MissingAttributeError as exc:
        raise Refusal(
            f"{what} cannot be read for purpose \"{purpose}\": {exc}",
            hint="Ask the data owners to set the attribute for your user.",
        ) from None


def requirements(
    deployment: Deployment, purpose: str, table: TableEntry, attributes: Mapping[str, str]
) -> list[RowRequirement]:
    """The row conditions `purpose` puts on the base (catalog, not derived) table."""
    policies = deployment.policies
    name = table.qualified_name
    quoted = quote_identifier(table.schema, table.name)
    subject_columns = subject_key_columns(deployment, table)
    found: list[RowRequirement] = []
    template = policies.row_filter(purpose, table.schema, table.name)
    if template is not None:
        rendered = _render(template, attributes, name, purpose)
        keys = [column.name for column in table.columns if column.primary_key]
        key = keys[0] if len(keys) == 1 else None
        found.append(RowRequirement(
            identity=f"{name} where {rendered}",
            on_table=rendered,
            key_column=key,
            key_query=f"SELECT {quote_identifier(key)} FROM {quoted} WHERE {rendered}"
            if key else None,
            k=max(subject_columns.values()) if subject_columns else None,
            subject=None,
        ))
    for subject_name, template in policies.purpose(purpose).subject_filters.items():
        subject = policies.subjects[subject_name]
        rendered = _render(template, attributes, name, purpose)
        schema, subject_table = split_qualified(subject.table)
        query = (f"SELECT {quote_identifier(subject.key)} FROM "
                 f"{quote_identifier(schema, subject_table)} WHERE {rendered}")
        if (table.schema, table.name) == (schema, subject_table):
            found.append(RowRequirement(
                f"subject {subject_name} where {rendered}", rendered, subject.key, query,
                subject.k, subject_name))
            continue
        for column in table.columns:
            if carries(column, subject.key_label):
                found.append(RowRequirement(
                    f"subject {subject_name} by {column.name} where {rendered}",
                    f"{quote_identifier(column.name)} IN ({query})", column.name, query,
                    subject.k, subject_name))
    return found


def base_condition(
    deployment: Deployment, purpose: str, table: TableEntry, attributes: Mapping[str, str]
) -> str | None:
    """The row condition of a catalog table under the purpose (None: every row)."""
    conditions = [r.on_table for r in requirements(deployment, purpose, table, attributes)]
    return _conjunction(conditions)


@dataclass(frozen=True)
class DerivedRows:
    """How a derived table is read under a purpose."""

    condition: str | None
    # per base source: the requirements every row read now satisfies (recorded again when
    # these rows are written into another derived table)
    holds: Mapping[str, frozenset[str]]


def derived_condition(
    deployment: Deployment, purpose: str, table: TableEntry, attributes: Mapping[str, str]
) -> DerivedRows:
    """The row condition of a derived table under the purpose, or a Refusal saying why its
    rows cannot be shown and how to make a table that can."""
    assert table.derivation is not None
    conditions: list[str] = []
    holds: dict[str, frozenset[str]] = {}
    for source_name, rows in sorted(table.derivation.sources.items()):
        if source_name == UNKNOWN_SOURCES:
            _require_no_filters(deployment, purpose, table)
            holds[source_name] = rows.satisfied
            continue
        source = deployment.catalog.table(*split_qualified(source_name))
        if source is None or source.derivation is not None:
            raise Refusal(
                f"{table.qualified_name} cannot be read: its rows come from {source_name}, "
                "which is no longer in the catalog, so the rows its policy hides are unknown",
                hint="Ask the data owners to restore the source's annotation, or recreate the "
                "table.",
            )
        held = set(rows.satisfied)
        for requirement in requirements(deployment, purpose, source, attributes):
            if requirement.identity in rows.satisfied:
                continue
            kept = rows.keyed_by(requirement.key_column) if requirement.key_column else frozenset()
            if kept and requirement.key_query is not None:
                conditions += [f"{quote_identifier(column)} IN ({requirement.key_query})"
                               for column in sorted(kept)]
                held.add(requirement.identity)
                continue
            if _aggregated(rows, requirement):
                continue
            raise _unreadable(table, purpose, source, requirement, rows)
        holds[source_name] = frozenset(held)
    template = deployment.policies.row_filter(purpose, table.schema, table.name)
    if template is not None:
        conditions.append(_render(template, attributes, table.qualified_name, purpose))
    return DerivedRows(_conjunction(conditions), holds)


def _require_no_filters(deployment: Deployment, purpose: str, table: TableEntry) -> None:
    declared = deployment.policies.purpose(purpose)
    if declared.row_filters or declared.subject_filters:
        raise Refusal(
            f"permission denied for table {table.qualified_name}: it was recorded without the "
            f"row policy of its sources, and purpose \"{purpose}\" reads only some rows",
            hint="Recreate the table through purpose-proxy (CREATE TABLE AS), or read it under "
            "a purpose that filters no rows.",
        )


def _aggregated(rows: SourceRows, requirement: RowRequirement) -> bool:
    return (requirement.k is not None and rows.aggregate_k is not None
            and rows.aggregate_k >= requirement.k)


def _unreadable(
    table: TableEntry, purpose: str, source: TableEntry, requirement: RowRequirement,
    rows: SourceRows,
) -> Refusal:
    key = f"{source.qualified_name}.{requirement.key_column}" if requirement.key_column else None
    what = f"rows about {requirement.subject}s" if requirement.subject else "rows"
    lost = (f"it did not keep {key} as a plain column" if key
            else f"{source.qualified_name} has no single key a copy could keep")
    if rows.aggregate_k is not None and requirement.k is not None:
        lost += f", and its rows aggregate only {rows.aggregate_k} subjects (at least " \
                f"{requirement.k} needed)"
    elif requirement.k is not None:
        lost += f", and its rows are not aggregates over at least {requirement.k} subjects"
    how = []
    if key:
        how.append(f"keep {key} as a column (no grouping, each source table once)")
    if requirement.k is not None and requirement.key_column:
        how.append(f"aggregate with HAVING count(DISTINCT <alias>.{requirement.key_column}) >= "
                   f"{requirement.k} and only count/sum/avg in the output")
    how.append(f"or read it under a purpose that does not filter {source.qualified_name}")
    return Refusal(
        f"permission denied for table {table.qualified_name}: purpose \"{purpose}\" reads only "
        f"some {what} of {source.qualified_name} ({requirement.on_table}), and the rows of "
        f"{table.qualified_name} come from it, but {lost}",
        detail=f"{table.qualified_name} <- {source.qualified_name} (row policy: "
        f"{requirement.identity})",
        hint="Recreate the table: " + "; ".join(how) + ".",
    )


def _conjunction(conditions: list[str]) -> str | None:
    if not conditions:
        return None
    if len(conditions) == 1:
        return conditions[0]
    return " AND ".join(f"({condition})" for condition in conditions)
