"""Judge every catalog column a statement reads against the purpose's rules.

Masks need no judging here (the rewrite applies them at the base relation); deny,
predicate_only and aggregate_only are judged from lineage: where each column is read and
whether it reaches the output. Shadow-mode rules are judged too, but only reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from proxy.policy.decision import ShadowFinding
from proxy.policy.model import Action, ColumnAction, Deployment, Rule
from proxy.sql.lineage import (
    BLOCK_ID,
    PREDICATE_CLAUSES,
    SUMMARIZING_AGGREGATES,
    Clause,
    ColumnUse,
    Flow,
    Lineage,
    Selection,
    SourceColumn,
)


@dataclass(frozen=True)
class Violation:
    message: str
    detail: str | None
    hint: str | None


@dataclass(frozen=True)
class JudgedColumn:
    labels: frozenset[str]
    column_action: ColumnAction

    def describe_enforced(self) -> str:
        return describe_rule(self.column_action.enforced)

    def describe_rule(self) -> str:
        return describe_rule(self.column_action.rule)


@dataclass
class Judgement:
    actions: dict[SourceColumn, JudgedColumn] = field(default_factory=dict)
    violation: Violation | None = None
    # block id -> (k, the (alias, key) pairs whose distinct count must reach k)
    group_guards: dict[int, tuple[int, frozenset[tuple[str, str]]]] = field(default_factory=dict)
    shadow_notes: list[ShadowFinding] = field(default_factory=list)


def describe_rule(rule: Rule) -> str:
    if rule.action is Action.MASK and rule.method is not None:
        return f"mask:{rule.method.value}"
    if rule.action is Action.AGGREGATE_ONLY:
        return f"aggregate_only(k={rule.k})"
    return rule.action.value


def _where(use: ColumnUse) -> str:
    if use.kind is Flow.CONDITION:
        target = (f'output column "{use.output}"' if use.clause is Clause.OUTPUT
                  else f'column "{use.output}" of a subquery, CTE or set-operation branch')
        through = f" in {use.through.value.upper()}" if use.through else ""
        return (f"{target} depends on {use.source} through a condition{through} "
                "(an implicit flow: the condition decides the value or the rows returned)")
    if use.clause is Clause.OUTPUT:
        return f'output column "{use.output}" <- {use.source} ({use.kind.value})'
    return f"{use.source} is read in {use.clause.value.upper()}"


def _selected_twice(source: SourceColumn, selections: Sequence[Selection]) -> list[str]:
    """The FROM items whose rows `source` selects, when it selects rows of more than one.

    Each FROM item selected by its own condition on the column adds one bit per row to what
    the statement reveals (two joins of the same table under different conditions tell which
    held); predicate-only permits one.
    """
    aliases = sorted(s.alias for s in selections if any(f.source == source for f in s.flows))
    return aliases if len(aliases) > 1 else []


def _uses_allowed(rule: Rule, uses: Sequence[ColumnUse]) -> ColumnUse | None:
    """The first use the rule forbids, or None."""
    for use in uses:
        if rule.action is Action.DENY:
            return use
        if rule.action is Action.PREDICATE_ONLY:
            if use.clause in PREDICATE_CLAUSES or use.clause is Clause.FILTER:
                continue
            if use.clause is Clause.PROJECTION and use.kind is Flow.DIRECT:
                continue  # passed through a CTE or subquery; judged where it ends up
            return use
        if rule.action is Action.AGGREGATE_ONLY:
            if use.kind is Flow.AGGREGATED and use.aggregate in SUMMARIZING_AGGREGATES:
                continue  # already summarized by a guarded block
            in_summary = (
                use.aggregate in SUMMARIZING_AGGREGATES
                and use.plain_in_aggregate
                and use.identity is not None  # straight from its table: individuals countable
                and use.clause in (Clause.OUTPUT, Clause.PROJECTION, Clause.HAVING)
            )
            if not in_summary:
                return use
    return None


def _guards(
    rule: Rule, uses: Sequence[ColumnUse]
) -> dict[int, tuple[int, frozenset[tuple[str, str]]]]:
    """Per aggregating block: k, and the individuals to count (distinct primary keys).

    Counting rows would let a join repeat one person k times; counting distinct keys of the
    protected table counts people.
    """
    guards: dict[int, tuple[int, frozenset[tuple[str, str]]]] = {}
    if rule.action is Action.AGGREGATE_ONLY and rule.k is not None:
        for use in uses:
            if use.block is not None and use.aggregate is not None and use.identity is not None:
                block = use.block.meta.get(BLOCK_ID)
                if block is not None:
                    k, identities = guards.get(block, (0, frozenset()))
                    guards[block] = (max(k, rule.k), identities | {use.identity})
    return guards


def _hint(rule: Rule, label: str | None, purpose: str, allowed_in: list[str]) -> str:
    label_text = label or "its labels"
    if rule.action is Action.PREDICATE_ONLY:
        return (f'Under purpose "{purpose}", {label_text} may only select rows: compare it with '
                "constants or parameters in the outermost query's WHERE, inner JOIN ... ON or "
                "HAVING, on one table of the statement. It may not reach the output, be bound "
                "to another table's columns, or decide a subquery, CTE, set-operation branch, "
                "FILTER, CASE, GROUP BY, ORDER BY or window.")
    if rule.action is Action.AGGREGATE_ONLY:
        return (f'Under purpose "{purpose}", {label_text} may only be output inside count(), '
                f"count(DISTINCT ...), sum() or avg() of the column itself or of "
                "extract(year|month|day|quarter|decade|century|millennium|epoch FROM column), "
                "with any arithmetic on the aggregate rather than inside it; groups of fewer "
                f"than {rule.k} individuals are not returned.")
    where = ", ".join(allowed_in) if allowed_in else "none"
    return (f'Purpose "{purpose}" may not read {label_text}. Remove the column from the '
            f"statement, or use a purpose that may read it (may: {where}) and request a "
            "grant for it if you do not have one.")


def _purposes_that_read(deployment: Deployment, labels: frozenset[str], user: str) -> list[str]:
    entry = deployment.user(user)
    granted = set(entry.purposes) if entry is not None else set()
    readers = []
    for name in sorted(deployment.policies.purposes):
        action = deployment.policies.column_action(name, labels).enforced.action
        if action in (Action.ALLOW, Action.MASK):
            readers.append(f"{name} (granted)" if name in granted else name)
    return readers


def judge_columns(lineage: Lineage, purpose: str, deployment: Deployment, user: str) -> Judgement:
    judgement = Judgement()
    by_source: dict[SourceColumn, list[ColumnUse]] = defaultdict(list)
    for use in lineage.uses:
        by_source[use.source].append(use)
    # Output uses first, in output order, so the error names what the user sees first.
    ordered = sorted(by_source.items(), key=lambda item: str(item[0]))
    for source, uses in ordered:
        table = deployment.catalog.table(source.schema, source.table)
        entry = table.column(source.column) if table else None
        labels = entry.labels if entry else frozenset()
        column_action = deployment.policies.column_action(purpose, labels)
        judgement.actions[source] = JudgedColumn(labels, column_action)
        enforced = column_action.enforced
        forbidden = _uses_allowed(enforced, uses)
        detail = _where(forbidden) if forbidden is not None else None
        if detail is None and enforced.action is Action.PREDICATE_ONLY:
            aliases = _selected_twice(source, lineage.selections)
            if aliases:
                detail = (f"{source} selects the rows of {len(aliases)} relations of the "
                          f"statement ({', '.join(aliases)}): each tells one bit per row")
        if detail is not None and judgement.violation is None:
            label = column_action.enforced_label
            judgement.violation = Violation(
                message=(f'permission denied for column "{source.column}" of table '
                         f'{source.schema}.{source.table} (label {label}, purpose "{purpose}": '
                         f'{describe_rule(enforced)})'),
                detail=detail,
                hint=_hint(enforced, label, purpose,
                           _purposes_that_read(deployment, labels, user)),
            )
        for block, (k, identities) in _guards(enforced, uses).items():
            previous_k, previous = judgement.group_guards.get(block, (0, frozenset()))
            judgement.group_guards[block] = (max(previous_k, k), previous | identities)
        if column_action.shadowed:
            rule = column_action.rule
            would = _uses_allowed(rule, uses)
            if would is not None:
                judgement.shadow_notes.append(ShadowFinding(
                    str(source), column_action.label, describe_rule(rule), "reject", purpose,
                    _where(would)))
            elif rule.action is Action.MASK:
                judgement.shadow_notes.append(ShadowFinding(
                    str(source), column_action.label, describe_rule(rule), "mask", purpose))
    return judgement
