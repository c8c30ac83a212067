"""What a write tells about the rows and values it puts into a table (see
proxy/catalog/derivation.py for what is recorded and proxy/policy/rows.py for how it is read).

For each base table the write's query reads (directly, or through derived tables and their own
recorded sources), the write either keeps that source's key, or produces k-guarded aggregates,
or neither. The proof is structural and conservative; anything it does not recognise counts as
"lost the key", which makes the table unreadable only under purposes that filter that source.

Keeping the key means every output row holds, in a plain column, the key of every row of the
source that contributed to it. That holds when:
- the source appears once in the statement (a self-join or a CTE read twice mixes rows of the
  source whose keys the lineage cannot tell apart);
- a column's value is the source's key column itself (lineage: a direct flow, no transform);
- no row is computed from several rows: no aggregate, GROUP BY, window, DISTINCT ON, LIMIT /
  OFFSET, INTERSECT / EXCEPT, and no subquery inside an expression (scalar, EXISTS, IN).

A guarded aggregate is one SELECT over catalog tables, grouped, whose output is only group
keys, constants and count / sum / avg of plain arguments without FILTER, and whose HAVING
requires `count(DISTINCT <alias>.<subject key>) >= N` for every subject key of every table it
reads: each row then summarises at least N subjects.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from sqlglot import exp

from proxy.catalog.derivation import Derivation, DerivedColumn, SourceRows, merge_sources
from proxy.catalog.model import TableEntry
from proxy.policy.at_rest import views
from proxy.policy.model import Deployment
from proxy.policy.reads import QueryAnalysis
from proxy.policy.rows import derived_condition, requirements, subject_key_columns
from proxy.sql.lineage import Flow, OutputColumn, SourceColumn, aggregate_is_plain

_VALUE_FLOWS = frozenset({Flow.TRANSFORMED, Flow.AGGREGATED})
_SUMMARIES = (exp.Count, exp.Sum, exp.Avg)


def query_derivation(
    analysis: QueryAnalysis,
    targets: Sequence[str],
    target_labels: Mapping[str, frozenset[str]],
    purpose: str,
    attributes: Mapping[str, str],
    deployment: Deployment,
) -> Derivation:
    """What `INSERT INTO t (targets) <query>` or `CREATE TABLE t AS <query>` puts into t.

    `targets[i]` is the column that receives the query's i-th output.
    """
    qualified = analysis.qualified
    outputs = analysis.lineage.outputs
    keyable = _keeps_rows_apart(qualified)
    occurrences = _occurrences(qualified, deployment)
    guards = _aggregate_guards(qualified)
    sources: dict[str, SourceRows] = {}

    def add(rows: SourceRows) -> None:
        before = sources.get(rows.table)
        sources[rows.table] = rows if before is None else merge_sources(before, rows)

    for schema, name in sorted(analysis.lineage.tables):
        table = deployment.catalog.table(schema, name)
        assert table is not None
        alias_guards = guards.get((schema, name)) if guards is not None else None
        if table.derivation is None:
            add(_base_rows(table, outputs, targets, keyable, alias_guards, purpose, attributes,
                           deployment))
            continue
        holds = derived_condition(deployment, purpose, table, attributes).holds
        for source_name, rows in table.derivation.sources.items():
            keys: dict[str, frozenset[str]] = {}
            for source_column, kept in rows.keys.items():
                carried = frozenset(
                    target for column in kept
                    for target in _carrying(outputs, targets, SourceColumn(schema, name, column))
                )
                if carried and keyable:
                    keys[source_column] = carried
            aggregate_k = rows.aggregate_k
            guarded = _guarded_k(
                alias_guards, [rows.keyed_by(c) for c in _subject_columns(deployment, source_name)]
            )
            if guarded is not None:
                aggregate_k = max(aggregate_k or 0, guarded)
            add(SourceRows(source_name, MappingProxyType(keys),
                           holds.get(source_name, rows.satisfied), aggregate_k))
    for table_name, count in occurrences.items():
        if count > 1 and table_name in sources:
            rows = sources[table_name]
            sources[table_name] = SourceRows(rows.table, MappingProxyType({}), rows.satisfied,
                                             rows.aggregate_k)
    bare = bare_outputs(qualified, deployment)
    columns = {
        target: DerivedColumn(
            MappingProxyType(dict(views(deployment.policies, purpose, target_labels[target]))),
            chosen=not (index < len(bare) and bare[index]),
        )
        for index, target in enumerate(targets)
    }
    return Derivation(MappingProxyType(sources), MappingProxyType(columns))


def chosen_values(
    targets: Sequence[str], target_labels: Mapping[str, frozenset[str]], purpose: str,
    deployment: Deployment, sources: Mapping[str, SourceRows] | None = None,
) -> Derivation:
    """A write of values the client chose (VALUES, parameters, COPY rows, UPDATE SET)."""
    columns = {
        target: DerivedColumn(
            MappingProxyType(dict(views(deployment.policies, purpose, target_labels[target]))),
            chosen=True,
        )
        for target in targets
    }
    return Derivation(MappingProxyType(dict(sources or {})), MappingProxyType(columns))


def unkeyed_sources(
    tables: set[tuple[str, str]], skip: tuple[str, str], purpose: str,
    attributes: Mapping[str, str], deployment: Deployment,
) -> dict[str, SourceRows]:
    """Sources whose values an UPDATE copies into existing rows: no key is kept."""
    sources: dict[str, SourceRows] = {}
    for schema, name in sorted(tables - {skip}):
        table = deployment.catalog.table(schema, name)
        assert table is not None
        if table.derivation is None:
            satisfied = frozenset(r.identity for r in requirements(
                deployment, purpose, table, attributes))
            found = [SourceRows(table.qualified_name, MappingProxyType({}), satisfied, None)]
        else:
            holds = derived_condition(deployment, purpose, table, attributes).holds
            found = [SourceRows(source, MappingProxyType({}), holds.get(source, rows.satisfied),
                                rows.aggregate_k)
                     for source, rows in table.derivation.sources.items()]
        for rows in found:
            before = sources.get(rows.table)
            sources[rows.table] = rows if before is None else merge_sources(before, rows)
    return sources


def _base_rows(
    table: TableEntry, outputs: Sequence[OutputColumn], targets: Sequence[str], keyable: bool,
    alias_guards: Mapping[str, int] | None, purpose: str, attributes: Mapping[str, str],
    deployment: Deployment,
) -> SourceRows:
    satisfied = frozenset(r.identity for r in requirements(deployment, purpose, table, attributes))
    key_columns = set(subject_key_columns(deployment, table))
    primary = [column.name for column in table.columns if column.primary_key]
    if len(primary) == 1:
        key_columns.add(primary[0])
    keys: dict[str, frozenset[str]] = {}
    if keyable:
        for column in sorted(key_columns):
            carried = _carrying(outputs, targets, SourceColumn(table.schema, table.name, column))
            if carried:
                keys[column] = carried
    subject_columns = subject_key_columns(deployment, table)
    aggregate_k = _guarded_k(alias_guards, [frozenset({c}) for c in sorted(subject_columns)])
    return SourceRows(table.qualified_name, MappingProxyType(keys), satisfied, aggregate_k)


def _subject_columns(deployment: Deployment, source_name: str) -> list[str]:
    schema, _, name = source_name.partition(".")
    table = deployment.catalog.table(schema, name)
    return sorted(subject_key_columns(deployment, table)) if table is not None else []


def _guarded_k(
    alias_guards: Mapping[str, int] | None, needed: Sequence[frozenset[str]]
) -> int | None:
    """The smallest N guarding every subject key. A key held in several columns (rows of
    several writes, each column faithful only for some rows) cannot be counted: no guard."""
    if alias_guards is None or not needed:
        return None
    found = []
    for columns in needed:
        if len(columns) != 1 or next(iter(columns)) not in alias_guards:
            return None
        found.append(alias_guards[next(iter(columns))])
    return min(found)


def _carrying(
    outputs: Sequence[OutputColumn], targets: Sequence[str], source: SourceColumn
) -> frozenset[str]:
    """Target columns whose value is `source` itself, never an expression of it."""
    carried = set()
    for output, target in zip(outputs, targets, strict=False):
        if any(flow.kind in _VALUE_FLOWS for flow in output.flows):
            continue
        if any(flow.kind is Flow.DIRECT and flow.source == source for flow in output.flows):
            carried.add(target)
    return frozenset(carried)


# --- structure ---------------------------------------------------------------------------------


def _keeps_rows_apart(query: exp.Expression) -> bool:
    """No output row is computed from several input rows, and no row's presence or values
    depend on rows of a subquery inside an expression."""
    for node in query.walk():
        if isinstance(node, exp.Window | exp.AggFunc | exp.Intersect | exp.Except):
            return False
        if isinstance(node, exp.Select):
            if any(node.args.get(key) for key in ("group", "having", "limit", "offset",
                                                   "qualify")):
                return False
            distinct = node.args.get("distinct")
            if distinct is not None and distinct.args.get("on") is not None:
                return False
            if not _in_from_position(node):
                return False
        if isinstance(node, exp.Union) and any(node.args.get(k) for k in ("limit", "offset")):
            return False
    return _ctes_read_once(query)


def _in_from_position(select: exp.Select) -> bool:
    """The block is the statement, a CTE, a set-operation branch or a FROM / JOIN item."""
    node: exp.Expression = select
    while True:
        parent = node.parent
        if parent is None or isinstance(parent, exp.CTE | exp.SetOperation):
            return True
        if isinstance(parent, exp.Subquery):
            node = parent
            continue
        if isinstance(parent, exp.From | exp.Join | exp.Lateral):
            return True
        return False


def _ctes_read_once(query: exp.Expression) -> bool:
    names = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    reads = Counter(
        table.name for table in query.find_all(exp.Table)
        if not table.args.get("db") and table.name in names
    )
    return all(count <= 1 for count in reads.values())


def _occurrences(query: exp.Expression, deployment: Deployment) -> Counter[str]:
    """How many times each base source is read: catalog tables, and the sources of derived
    tables (a CTE read twice counts its tables twice)."""
    counts: Counter[str] = Counter()
    ctes = {cte.alias_or_name: cte for cte in query.find_all(exp.CTE)}
    cte_reads = Counter(
        table.name for table in query.find_all(exp.Table)
        if not table.args.get("db") and table.name in ctes
    )
    for table in query.find_all(exp.Table):
        if not table.args.get("db"):
            continue
        entry = deployment.catalog.table(table.db, table.name)
        if entry is None:
            continue
        weight = 1
        cte = table.find_ancestor(exp.CTE)
        while cte is not None:
            weight *= max(cte_reads.get(cte.alias_or_name, 0), 1)
            cte = cte.find_ancestor(exp.CTE)
        names = list(entry.derivation.sources) if entry.derivation else [entry.qualified_name]
        for name in names:
            counts[name] += weight
    return counts


def _aggregate_guards(query: exp.Expression) -> dict[tuple[str, str], dict[str, int]] | None:
    """For a guarded aggregate: per table read, its columns with a distinct-count guard and N.

    None when the statement is not an aggregate the proxy can vouch for.
    """
    if not isinstance(query, exp.Select) or query.args.get("with_"):
        return None
    if any(query.args.get(k) for k in ("limit", "offset", "qualify")):
        return None
    distinct = query.args.get("distinct")
    if distinct is not None:
        return None
    items = [query.args["from_"].this] if query.args.get("from_") else []
    items += [join.this for join in query.args.get("joins") or ()]
    aliases: dict[str, tuple[str, str]] = {}
    for item in items:
        if not isinstance(item, exp.Table) or not item.args.get("db"):
            return None
        aliases[item.alias_or_name] = (item.db, item.name)
    for node in query.walk():
        if node is not query and isinstance(node, exp.Query):
            return None
        if isinstance(node, exp.Window):
            return None
    group = query.args.get("group")
    grouped = {e.sql() for e in group.expressions} if group is not None else set()
    aggregated = False
    for projection in query.expressions:
        value = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(value, exp.Literal | exp.Null):
            continue
        if value.sql() in grouped:
            continue
        if isinstance(value, _SUMMARIES) and (_plain_summary(value)):
            aggregated = True
            continue
        return None
    if not aggregated and group is None:
        return None
    having = query.args.get("having")
    guards: dict[tuple[str, str], dict[str, int]] = {}
    for condition in _conjuncts(having.this if having is not None else None):
        guard = _distinct_guard(condition)
        if guard is None:
            continue
        column, n = guard
        table = aliases.get(column.table)
        if table is not None:
            by_column = guards.setdefault(table, {})
            by_column[column.name] = max(by_column.get(column.name, 0), n)
    if len(aliases) != len(items):
        return None  # one table under two aliases: guards per alias would be ambiguous
    if len(set(aliases.values())) != len(aliases):
        return None
    return guards


def _plain_summary(node: exp.Expression) -> bool:
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Star):
        return True
    return isinstance(node, exp.AggFunc) and aggregate_is_plain(node)


def _conjuncts(condition: exp.Expression | None) -> list[exp.Expression]:
    if condition is None:
        return []
    if isinstance(condition, exp.Paren):
        return _conjuncts(condition.this)
    if isinstance(condition, exp.And):
        return _conjuncts(condition.this) + _conjuncts(condition.expression)
    return [condition]


def _distinct_guard(condition: exp.Expression) -> tuple[exp.Column, int] | None:
    """`count(DISTINCT a.c) >= N` (or `N <= ...`, `> N - 1`): the column and N."""
    if isinstance(condition, exp.GTE | exp.GT):
        count, bound = condition.this, condition.expression
    elif isinstance(condition, exp.LTE | exp.LT):
        count, bound = condition.expression, condition.this
    else:
        return None
    if not (isinstance(count, exp.Count) and isinstance(count.this, exp.Distinct)):
        return None
    columns = count.this.expressions
    if len(columns) != 1 or not isinstance(columns[0], exp.Column) or not columns[0].table:
        return None
    if not (isinstance(bound, exp.Literal) and not bound.is_string and bound.this.isdigit()):
        return None
    n = int(bound.this) + (1 if isinstance(condition, exp.GT | exp.LT) else 0)
    return columns[0], n


# --- chosen values -----------------------------------------------------------------------------


def bare_outputs(query: exp.Expression, deployment: Deployment) -> list[bool]:
    """Per output column: its every value is a stored value of a catalog column, never a
    literal, parameter, expression or a derived column that may itself hold chosen values."""
    return _bare(query, {}, deployment)


def _bare(
    query: exp.Expression | exp.Query, ctes: Mapping[str, exp.Expression], deployment: Deployment
) -> list[bool]:
    if isinstance(query, exp.Subquery):
        return _bare(query.this, ctes, deployment)
    scope = dict(ctes)
    with_ = query.args.get("with_")
    if with_ is not None:
        for cte in with_.expressions:
            scope[cte.alias_or_name] = cte
    if isinstance(query, exp.Union):
        left = _bare(query.left, scope, deployment)
        right = _bare(query.right, scope, deployment)
        return [a and b for a, b in zip(left, right, strict=False)]
    if not isinstance(query, exp.Select):
        return [False] * len(_names(query))
    sources: dict[str, exp.Expression] = {}
    items = [query.args["from_"].this] if query.args.get("from_") else []
    items += [join.this for join in query.args.get("joins") or ()]
    for item in items:
        sources[item.alias_or_name] = item
    found = []
    for projection in query.expressions:
        value = projection.this if isinstance(projection, exp.Alias) else projection
        found.append(isinstance(value, exp.Column) and _bare_column(
            sources.get(value.table), value.name, scope, deployment))
    return found


def _bare_column(
    item: exp.Expression | None, column: str, ctes: Mapping[str, exp.Expression],
    deployment: Deployment,
) -> bool:
    if isinstance(item, exp.Table) and not isinstance(item.this, exp.Func):
        renames = _renames(item)
        if item.args.get("db"):
            entry = deployment.catalog.table(item.db, item.name)
            if entry is None:
                return False
            name = _unrename(entry.column_names, renames, column)
            if name is None or entry.column(name) is None:
                return False
            if entry.derivation is None:
                return True
            derived = entry.derivation.column(name)
            return derived is not None and not derived.chosen
        cte = ctes.get(item.name)
        if not isinstance(cte, exp.CTE):
            return False
        names = renames or _cte_names(cte)
        if column not in names:
            return False
        inner = _bare(cte.this, {k: v for k, v in ctes.items() if k != item.name}, deployment)
        index = names.index(column)
        return index < len(inner) and inner[index]
    if isinstance(item, exp.Subquery):
        names = _renames(item) or _names(item.this)
        if column not in names:
            return False
        inner = _bare(item.this, ctes, deployment)
        index = names.index(column)
        return index < len(inner) and inner[index]
    return False


def _renames(item: exp.Expression) -> list[str]:
    alias = item.args.get("alias")
    return [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []


def _unrename(columns: Sequence[str], renames: Sequence[str], name: str) -> str | None:
    if name in renames:
        return columns[renames.index(name)] if renames.index(name) < len(columns) else None
    if name in columns and columns.index(name) < len(renames):
        return None
    return name


def _cte_names(cte: exp.CTE) -> list[str]:
    return _renames(cte) or _names(cte.this)


def _names(query: exp.Expression | exp.Query) -> list[str]:
    if isinstance(query, exp.Subquery):
        return _names(query.this)
    if isinstance(query, exp.SetOperation):
        return _names(query.left)
    if isinstance(query, exp.Select):
        return [projection.alias_or_name for projection in query.expressions]
    if isinstance(query, exp.Values):
        first = query.expressions[0] if query.expressions else None
        width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
        return [f"column{i + 1}" for i in range(width)]
    return []
