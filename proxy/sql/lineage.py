"""Column lineage of a qualified query: which catalog columns flow where, and how.

sqlglot's own `lineage()` follows projections only; a purpose check also needs every column
read in WHERE, JOIN, GROUP BY, ORDER BY, windows and FILTER clauses, through CTEs, derived
tables, subqueries and set operations. So the tree is walked here, once, top-down, with the
context (clause, enclosing aggregate) each column reference is found in.

Input: a statement already qualified against the catalog (`proxy.sql.resolve`), so every
column reference carries its table alias and every `*` is expanded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlglot import exp

from proxy.catalog.model import TableEntry
from proxy.errors import PgError, SqlState


class Flow(StrEnum):
    DIRECT = "direct"  # the raw value
    TRANSFORMED = "transformed"  # an expression of it
    AGGREGATED = "aggregated"  # an aggregate over it
    # The value depends on it through a condition (join binding, subquery predicate, FILTER,
    # GROUP BY, window partition...): an implicit flow, which counts like a transformed one.
    CONDITION = "condition"


class Clause(StrEnum):
    OUTPUT = "output"  # the statement's result columns
    PROJECTION = "projection"  # the select list of a CTE, derived table or subquery
    WHERE = "where"
    JOIN = "join"
    GROUP_BY = "group by"
    HAVING = "having"
    ORDER_BY = "order by"
    WINDOW = "window"  # PARTITION BY / ORDER BY of a window
    DISTINCT_ON = "distinct on"
    FILTER = "aggregate filter"
    LIMIT = "limit"


# Key of the number the decision core gives each SELECT block (Expression.meta), so that the
# qualified copy the lineage walks can point back at the block a k guard goes into.
BLOCK_ID = "pp_block"

PREDICATE_CLAUSES = frozenset({Clause.WHERE, Clause.JOIN, Clause.HAVING})

# Aggregates whose result over k rows or more hides the individual values (aggregate_only).
SUMMARIZING_AGGREGATES = frozenset({"count", "sum", "avg"})

# The forms an argument of such an aggregate may take. Anything else (CASE, comparisons,
# coalesce...) could turn sum() into a count of matching individuals. And the argument runs on
# every row before the k guard drops small groups, so no form may raise an error on any value
# (an error's presence would tell the suppressed value): no arithmetic (overflow), no casts,
# intervals or date_trunc (out of range; date_trunc fails on infinite dates in PostgreSQL), no
# division (zero divisor). What remains: the column itself, DISTINCT, and extract() of a unit
# valid for every date, timestamp and interval type on both warehouses.
_PLAIN_TRANSFORMS: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Paren, exp.Distinct, exp.Extract, exp.Var, exp.Literal, exp.Identifier,
)
SAFE_EXTRACT_UNITS = frozenset({
    "year", "month", "day", "quarter", "decade", "century", "millennium", "epoch",
})
# FROM-clause functions that only generate rows from their (analyzed) arguments.
TABLE_FUNCTIONS = frozenset({"generate_series", "unnest"})


@dataclass(frozen=True, slots=True, order=True)
class SourceColumn:
    schema: str
    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}.{self.column}"


@dataclass(frozen=True, slots=True)
class ColumnFlow:
    source: SourceColumn
    kind: Flow
    aggregate: str | None = None  # innermost aggregate applied, when kind is AGGREGATED

    def then(self, outer: Flow, aggregate: str | None = None) -> ColumnFlow:
        """This flow seen through an outer expression of kind `outer`."""
        if self.kind is Flow.AGGREGATED:
            return self
        if outer is Flow.AGGREGATED:
            return ColumnFlow(self.source, Flow.AGGREGATED, aggregate)
        if Flow.CONDITION in (self.kind, outer):
            return ColumnFlow(self.source, Flow.CONDITION)
        if outer is Flow.TRANSFORMED or self.kind is Flow.TRANSFORMED:
            return ColumnFlow(self.source, Flow.TRANSFORMED)
        return self


@dataclass(frozen=True, slots=True)
class ColumnUse:
    """One place a catalog column is read."""

    source: SourceColumn
    clause: Clause
    kind: Flow
    aggregate: str | None  # the enclosing group aggregate at this place, if any
    plain_in_aggregate: bool  # inside that aggregate, only plain transforms on the way
    block: exp.Select | None  # the query block whose aggregate it is (for k guards)
    output: str | None = None  # output column name, for OUTPUT uses
    # (table alias, primary key column as the query names it), when read straight from its
    # base table: what a k guard counts to count individuals rather than rows.
    identity: tuple[str, str] | None = None
    # For CONDITION uses: the clause whose condition made the value depend on the column.
    through: Clause | None = None


@dataclass(frozen=True)
class OutputColumn:
    name: str
    flows: frozenset[ColumnFlow]


@dataclass(frozen=True)
class Selection:
    """Conditions of the outermost query block that only select rows of one FROM item.

    `WHERE c.birth_date < '1980-01-01'` decides whether each row of `c` is in the result and
    nothing else: one bit per row, which is what predicate-only permits. Conditions that bind
    several relations, contain subqueries or sit in an outer join's ON are not selections:
    their columns flow into every output of the block (Flow.CONDITION).
    """

    alias: str  # the FROM item whose rows the conditions select ("" when they read no column)
    flows: frozenset[ColumnFlow]


@dataclass
class Lineage:
    outputs: list[OutputColumn]
    uses: list[ColumnUse]
    tables: set[tuple[str, str]]
    selections: list[Selection] = field(default_factory=list)

    def sources(self) -> set[SourceColumn]:
        return {use.source for use in self.uses}


# --- sources visible in a query block --------------------------------------------------------


@dataclass(frozen=True)
class _Base:
    table: TableEntry
    renames: tuple[str, ...] = ()  # FROM t AS x(a, b): the first columns, renamed by position

    def _column_name(self, name: str) -> str | None:
        """The catalog column a name in the query means, after any alias column list."""
        if name in self.renames:
            return self.table.column_names[self.renames.index(name)]
        position = self.table.column_names.index(name) if name in self.table.column_names else -1
        if 0 <= position < len(self.renames):
            return None  # renamed away: the old name no longer exists
        return name

    def identity_column(self) -> str | None:
        """The primary key as the query names it (after any alias column list)."""
        for position, column in enumerate(self.table.columns):
            if column.primary_key:
                return self.renames[position] if position < len(self.renames) else column.name
        return None

    def flows(self, column: str) -> frozenset[ColumnFlow] | None:
        catalog_name = self._column_name(column)
        entry = self.table.column(catalog_name) if catalog_name else None
        if entry is None:
            return None
        source = SourceColumn(self.table.schema, self.table.name, entry.name)
        return frozenset({ColumnFlow(source, Flow.DIRECT)})

    def all_flows(self) -> frozenset[ColumnFlow]:
        return frozenset().union(*(self.flows(name) or () for name in self.table.column_names))


@dataclass(frozen=True)
class _Derived:
    outputs: tuple[OutputColumn, ...]

    def flows(self, column: str) -> frozenset[ColumnFlow] | None:
        for output in self.outputs:
            if output.name == column:
                return output.flows
        return None

    def all_flows(self) -> frozenset[ColumnFlow]:
        return frozenset().union(*(output.flows for output in self.outputs))


_Source = _Base | _Derived


@dataclass
class _Block:
    parent: _Block | None
    ctes: dict[str, _Derived]
    sources: dict[str, _Source] = field(default_factory=dict)
    select: exp.Select | None = None
    projections: dict[str, frozenset[ColumnFlow]] = field(default_factory=dict)

    def lookup(self, alias: str) -> _Source | None:
        block: _Block | None = self
        while block is not None:
            if alias in block.sources:
                return block.sources[alias]
            block = block.parent
        return None

    def cte(self, name: str) -> _Derived | None:
        return self.ctes.get(name)


@dataclass(frozen=True)
class _Context:
    block: _Block
    clause: Clause
    aggregate: str | None = None
    plain: bool = True
    in_window: bool = False
    wrapped: bool = False  # inside an expression of the column, not the bare value
    filtered: bool = False  # the aggregate below has a FILTER clause
    output: str | None = None


def _unresolved(what: str) -> PgError:
    return PgError(SqlState.INSUFFICIENT_PRIVILEGE, f"purpose-proxy could not resolve {what}",
                   hint="The statement was refused because it cannot be analyzed fully.")


def _is_label(node: exp.Expression) -> bool:
    """Names that are not column reads: COLLATE "default", a named WINDOW's own name."""
    parent = node.parent
    return isinstance(parent, exp.Collate) and parent.args.get("expression") is node


def aggregate_is_plain(node: exp.AggFunc) -> bool:
    """The aggregate's argument is one column under plain transforms only (no CASE, no
    comparison, no second column): so sum() cannot count individuals matching a condition,
    and evaluating it on a row the k guard will drop cannot fail."""
    columns = set()
    for child in node.iter_expressions():
        for inner in child.walk():
            if not isinstance(inner, _PLAIN_TRANSFORMS):
                return False
            if isinstance(inner, exp.Extract) and not (
                isinstance(inner.this, exp.Var | exp.Literal)
                and inner.this.name.lower() in SAFE_EXTRACT_UNITS
            ):
                return False
            if isinstance(inner, exp.Var | exp.Literal) and not (
                isinstance(inner.parent, exp.Extract) and inner is inner.parent.this
            ):
                return False  # a unit, nothing else (no literal operands)
            if isinstance(inner, exp.Column):
                columns.add((inner.table, inner.name))
    return len(columns) <= 1


def _aggregate_name(node: exp.AggFunc) -> str:
    if isinstance(node, exp.Count):
        return "count"
    if isinstance(node, exp.Sum):
        return "sum"
    if isinstance(node, exp.Avg):
        return "avg"
    return node.sql_name().lower()


def _note(
    conditions: dict[ColumnFlow, Clause], flows: Iterable[ColumnFlow], clause: Clause
) -> None:
    for flow in flows:
        conditions.setdefault(flow.then(Flow.CONDITION), clause)


def _selected_relation(conjunct: exp.Expression, scope: _Block) -> str | None:
    """The FROM item a conjunct only selects rows of ("" for none), or None when it does more:
    reads columns of several FROM items (binds them to each other), or contains a subquery."""
    if conjunct.find(exp.Query, exp.Subquery) is not None:
        return None
    aliases: set[str] = set()
    for node in conjunct.find_all(exp.Column, exp.TableColumn):
        if isinstance(node, exp.TableColumn):
            aliases.add(node.name)
        elif node.table:
            aliases.add(node.table)
        elif node.name in scope.sources:  # a whole-row reference left unqualified
            aliases.add(node.name)
        else:
            return None
    if len(aliases) > 1 or not aliases <= set(scope.sources):
        return None
    return next(iter(aliases), "")


class LineageBuilder:
    """Walks one qualified statement; `build` returns its lineage."""

    def __init__(self, catalog_table: object) -> None:
        # catalog_table(schema, name) -> TableEntry | None
        self._catalog_table = catalog_table
        self._uses: list[ColumnUse] = []
        self._tables: set[tuple[str, str]] = set()
        self._visited: set[int] = set()  # id() of every column node analyzed
        self._selections: list[Selection] = []

    def build(self, query: exp.Expression) -> Lineage:
        outputs = self.query(query, None, Clause.OUTPUT, top=True)
        self._check_complete(query)
        return Lineage(list(outputs), self._uses, self._tables, self._selections)

    def _check_complete(self, query: exp.Expression) -> None:
        """Fail closed: every column reference of the statement must have been analyzed.

        A clause the walk does not know (a new sqlglot argument, an unusual construct) would
        otherwise read data unjudged.
        """
        for node in query.find_all(exp.Column, exp.TableColumn):
            if id(node) not in self._visited and not _is_label(node):
                raise _unresolved(f'"{node.sql(dialect="postgres")}" in this statement')

    # --- queries -----------------------------------------------------------------------------

    def query(
        self, node: exp.Expression, parent: _Block | None, clause: Clause, top: bool = False
    ) -> tuple[OutputColumn, ...]:
        """Outputs of a query. `top`: the statement's outermost block, where conditions on one
        relation are plain row selection; everywhere else a condition decides what a block
        returns to its user, so its columns flow into the block's outputs."""
        if isinstance(node, exp.Subquery):
            return self._renamed(self.query(node.this, parent, clause, top), node)
        ctes = dict(parent.ctes) if parent else {}
        with_ = node.args.get("with_")
        if with_ is not None:
            if with_.args.get("recursive"):
                raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                              "WITH RECURSIVE is not supported through purpose-proxy")
            for cte in with_.expressions:
                holder = _Block(parent, dict(ctes))
                ctes[cte.alias_or_name] = _Derived(
                    self._renamed(self.query(cte.this, holder, Clause.PROJECTION), cte)
                )
        scope = _Block(parent, ctes)
        if isinstance(node, exp.SetOperation):
            return self._set_operation(node, scope, clause)
        if isinstance(node, exp.Select):
            return self._select(node, scope, clause, top)
        if isinstance(node, exp.Values):
            return self._values(node, scope, clause)
        raise _unresolved(f"a query of kind {node.key}")

    def _set_operation(
        self, node: exp.SetOperation, scope: _Block, clause: Clause
    ) -> tuple[OutputColumn, ...]:
        left = self.query(node.left, scope, clause)
        right = self.query(node.right, scope, clause)
        if len(left) != len(right):
            raise PgError(SqlState.SYNTAX_ERROR,
                          "each UNION query must have the same number of columns")
        outputs = tuple(
            OutputColumn(a.name, a.flows | b.flows) for a, b in zip(left, right, strict=True)
        )
        scope.projections = {output.name: output.flows for output in outputs}
        conditions: dict[ColumnFlow, Clause] = {}
        self._trailing_clauses(node, scope, conditions)
        return self._with_conditions(outputs, conditions, scope, clause)

    def _values(self, node: exp.Values, scope: _Block, clause: Clause) -> tuple[OutputColumn, ...]:
        columns: list[frozenset[ColumnFlow]] = []
        for row in node.expressions:
            items = row.expressions if isinstance(row, exp.Tuple) else [row]
            for index, item in enumerate(items):
                flows = self._flows(item, _Context(scope, clause))
                if index < len(columns):
                    columns[index] |= flows
                else:
                    columns.append(flows)
        return tuple(
            OutputColumn(f"column{index + 1}", flows) for index, flows in enumerate(columns)
        )

    def _renamed(self, outputs: tuple[OutputColumn, ...], node: exp.Expression) -> tuple[OutputColumn, ...]:
        alias = node.args.get("alias")
        names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
        if not names:
            return outputs
        renamed = [OutputColumn(name, output.flows) for name, output in zip(names, outputs)]
        return tuple(renamed) + outputs[len(names):]

    def _select(
        self, node: exp.Select, scope: _Block, clause: Clause, top: bool
    ) -> tuple[OutputColumn, ...]:
        scope.select = node
        # Columns whose values decide what this block returns (which rows, groups, order
        # under LIMIT): each flows into every output of the block as Flow.CONDITION.
        conditions: dict[ColumnFlow, Clause] = {}
        selections: dict[str, frozenset[ColumnFlow]] = {}
        from_ = node.args.get("from_")
        if from_ is not None:
            self._add_source(from_.this, scope)
        for join in node.args.get("joins") or ():
            self._add_source(join.this, scope)
            condition = join.args.get("on")
            if condition is not None:
                # An outer join's ON decides which side is NULL-extended, not only which rows
                # exist: never plain selection.
                plain = top and not join.side
                self._conditions(condition, scope, Clause.JOIN, plain, conditions, selections)
            if join.args.get("using"):
                raise _unresolved("a JOIN ... USING that was not expanded")
        for key, clause_kind in (("where", Clause.WHERE), ("having", Clause.HAVING),
                                 ("qualify", Clause.WHERE)):
            part = node.args.get(key)
            if part is not None:
                self._conditions(part.this, scope, clause_kind, top, conditions, selections)
        group = node.args.get("group")
        grouping: dict[ColumnFlow, Clause] = {}  # decide aggregates' values, not the keys'
        if group is not None:
            _note(grouping, self._flows(group, _Context(scope, Clause.GROUP_BY)),
                  Clause.GROUP_BY)
        for window in node.args.get("windows") or ():  # WINDOW w AS (PARTITION BY ... ORDER BY)
            _note(conditions, self._window_definition(window, _Context(scope, Clause.WINDOW)),
                  Clause.WINDOW)
        outputs = []
        for projection in node.expressions:
            name = projection.alias_or_name
            flows = self._flows(projection, _Context(scope, clause, output=name))
            if grouping and projection.find(exp.AggFunc) is not None:
                flows |= frozenset(grouping)
            outputs.append(OutputColumn(name, flows))
            scope.projections.setdefault(name, flows)
        distinct = node.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            # Read like ORDER BY: output names first, then input columns (after projections).
            _note(conditions, self._flows(distinct.args["on"], _Context(scope, Clause.DISTINCT_ON)),
                  Clause.DISTINCT_ON)
        self._trailing_clauses(node, scope, conditions)
        self._selections.extend(
            Selection(alias, flows) for alias, flows in selections.items() if flows
        )
        return self._with_conditions(tuple(outputs), conditions, scope, clause, grouping)

    def _conditions(
        self,
        condition: exp.Expression,
        scope: _Block,
        clause: Clause,
        plain_allowed: bool,
        conditions: dict[ColumnFlow, Clause],
        selections: dict[str, frozenset[ColumnFlow]],
    ) -> None:
        """Walk a WHERE / ON / HAVING condition conjunct by conjunct."""
        conjuncts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
        for conjunct in conjuncts:
            flows = self._flows(conjunct, _Context(scope, clause))
            alias = _selected_relation(conjunct, scope) if plain_allowed else None
            if alias is None:
                _note(conditions, flows, clause)
            else:
                selections[alias] = selections.get(alias, frozenset()) | flows

    def _with_conditions(
        self,
        outputs: tuple[OutputColumn, ...],
        conditions: Mapping[ColumnFlow, Clause],
        scope: _Block,
        clause: Clause,
        grouping: Mapping[ColumnFlow, Clause] | None = None,
    ) -> tuple[OutputColumn, ...]:
        """Every output carries the block's conditions; each implicit flow is recorded as a use
        at that output, so the judge sees what reaches the client (or the enclosing query)."""
        through = {**(grouping or {}), **conditions}
        result = []
        for output in outputs:
            flows = output.flows | frozenset(conditions)
            for flow in sorted(flows, key=lambda f: (str(f.source), f.kind.value)):
                if flow.kind is Flow.CONDITION:
                    self._record([flow], _Context(scope, clause, output=output.name),
                                 through=through.get(flow))
            result.append(OutputColumn(output.name, flows))
        return tuple(result)

    def _trailing_clauses(
        self, node: exp.Expression, scope: _Block, conditions: dict[ColumnFlow, Clause]
    ) -> None:
        order = node.args.get("order")
        limited = any(node.args.get(key) is not None for key in ("limit", "offset", "fetch"))
        if order is not None:
            flows = self._flows(order, _Context(scope, Clause.ORDER_BY))
            if limited:  # the order decides which rows LIMIT / OFFSET keep
                _note(conditions, flows, Clause.ORDER_BY)
        for key in ("limit", "offset", "fetch"):
            part = node.args.get(key)
            if part is not None:
                _note(conditions, self._flows(part, _Context(scope, Clause.LIMIT)), Clause.LIMIT)
        if node.args.get("locks"):
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "SELECT ... FOR UPDATE/SHARE is not supported through purpose-proxy")

    def _add_source(self, node: exp.Expression, scope: _Block) -> None:
        alias = node.alias_or_name
        if isinstance(node, exp.Table):
            if isinstance(node.this, exp.Func):
                scope.sources[alias] = self._table_function(node.this, node, scope)
                return
            cte = None if node.args.get("db") else scope.cte(node.name)
            if cte is not None:
                scope.sources[alias] = _Derived(self._renamed(cte.outputs, node))
                return
            table = self._catalog_table(node.args.get("db") and node.db, node.name)
            if table is None:
                raise _unresolved(f'relation "{node.sql(dialect="postgres")}"')
            self._tables.add((table.schema, table.name))
            table_alias = node.args.get("alias")
            renames = tuple(c.name for c in table_alias.columns) if table_alias else ()
            if len(renames) > len(table.columns):
                raise _unresolved(f"the column aliases of {table.qualified_name}")
            scope.sources[alias] = _Base(table, renames)
        elif isinstance(node, exp.Subquery):
            # LATERAL subqueries see the sources before them; others see the outer scopes.
            outputs = self.query(node.this, scope, Clause.PROJECTION)
            scope.sources[alias] = _Derived(self._renamed(outputs, node))
        elif isinstance(node, exp.Lateral) and isinstance(node.this, exp.Query | exp.Subquery):
            outputs = self.query(node.this, scope, Clause.PROJECTION)
            scope.sources[alias] = _Derived(self._renamed(outputs, node))
        elif isinstance(node, exp.Lateral) and isinstance(node.this, exp.Func):
            scope.sources[alias] = self._table_function(node.this, node, scope)
        elif isinstance(node, exp.Unnest):
            scope.sources[alias] = self._table_function(node, node, scope)
        elif isinstance(node, exp.Values):  # (VALUES (1, 'a'), ...) AS v(n, s)
            outputs = self._values(node, _Block(scope.parent, scope.ctes), Clause.PROJECTION)
            scope.sources[alias] = _Derived(self._renamed(outputs, node))
        else:
            raise _unresolved(f"a FROM item of kind {node.key}")

    def _table_function(
        self, function: exp.Expression, item: exp.Expression, scope: _Block
    ) -> _Derived:
        """generate_series / unnest in FROM: rows derived from every one of its arguments."""
        if isinstance(function, exp.Unnest):
            name = "unnest"
        elif isinstance(function, exp.GenerateSeries | exp.ExplodingGenerateSeries):
            name = "generate_series"  # sqlglot's names for PostgreSQL's generate_series
        else:
            name = (function.name if isinstance(function, exp.Anonymous)
                    else function.sql_name()).lower()
        if name not in TABLE_FUNCTIONS:
            raise PgError(
                SqlState.INSUFFICIENT_PRIVILEGE,
                f"function {name} is not allowed in FROM through purpose-proxy",
                hint="Only generate_series() and unnest() may be used as tables.",
            )
        flows: frozenset[ColumnFlow] = frozenset()
        for argument in function.iter_expressions():
            if isinstance(argument, exp.TableAlias):
                continue
            flows |= self._flows(argument, _Context(scope, Clause.PROJECTION, wrapped=True))
        transformed = frozenset(flow.then(Flow.TRANSFORMED) for flow in flows)
        alias = item.args.get("alias")
        names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
        names = names or [item.alias_or_name or name]
        return _Derived(tuple(OutputColumn(column, transformed) for column in names))

    # --- expressions -------------------------------------------------------------------------

    def _record(
        self,
        flows: Iterable[ColumnFlow],
        context: _Context,
        identity: tuple[str, str] | None = None,
        through: Clause | None = None,
    ) -> None:
        block = context.block.select if context.aggregate else None
        for flow in flows:
            if context.wrapped:
                flow = flow.then(Flow.TRANSFORMED)
            self._uses.append(ColumnUse(
                source=flow.source,
                clause=context.clause,
                kind=flow.kind,
                aggregate=context.aggregate if flow.kind is not Flow.AGGREGATED else flow.aggregate,
                plain_in_aggregate=context.plain,
                block=block,
                output=context.output,
                identity=identity,
                through=through,
            ))

    def _column(self, node: exp.Column, context: _Context) -> frozenset[ColumnFlow]:
        block = context.block
        if node.table:
            source = block.lookup(node.table)
            if source is None:
                raise _unresolved(f'table reference "{node.table}"')
            flows = source.flows(node.name)
            if flows is None:
                raise _unresolved(f'column "{node.table}.{node.name}"')
            return flows
        # Unqualified after qualification: an output alias (ORDER BY e) or a whole row (`c`).
        if node.name in block.projections and context.clause is not Clause.WHERE:
            # `ORDER BY birth_date + 0` with an output alias birth_date: PostgreSQL reads the
            # input column inside expressions. Count both, so neither reading goes unjudged.
            flows = block.projections[node.name]
            for source in block.sources.values():
                flows |= source.flows(node.name) or frozenset()
            return flows
        source = block.lookup(node.name)
        if source is not None:
            return frozenset(flow.then(Flow.TRANSFORMED) for flow in source.all_flows())
        # An input column the qualifier left bare (DISTINCT ON): the one FROM item of this
        # block that has it, as PostgreSQL resolves it; several is ambiguous.
        found = [flows for each in block.sources.values()
                 if (flows := each.flows(node.name)) is not None]
        if len(found) == 1:
            return found[0]
        raise _unresolved(f'column "{node.name}"' + (" (ambiguous)" if found else ""))

    def _flows(self, node: exp.Expression, context: _Context) -> frozenset[ColumnFlow]:
        if isinstance(node, exp.Column):
            self._visited.add(id(node))
            flows = self._column(node, context)
            source = context.block.lookup(node.table) if node.table else None
            identity = None
            if isinstance(source, _Base) and (key := source.identity_column()) is not None:
                identity = (node.table, key)
            self._record(flows, context, identity)
            return flows
        if isinstance(node, exp.TableColumn):
            self._visited.add(id(node))
            # A whole-row reference (`SELECT c FROM t c`, row_to_json(c), c::text, (c).x)
            # reads every column of the row.
            source = context.block.lookup(node.name)
            if source is None:
                raise _unresolved(f'row reference "{node.name}"')
            flows = frozenset(flow.then(Flow.TRANSFORMED) for flow in source.all_flows())
            self._record(flows, context)
            return flows
        if isinstance(node, exp.Query | exp.Subquery):
            # A subquery's result is used where the subquery stands (output, WHERE...).
            outputs = self.query(node, context.block, Clause.PROJECTION)
            flows = frozenset().union(*(output.flows for output in outputs))
            self._record(flows, context)
            return flows
        if isinstance(node, exp.Window):
            return self._window(node, context)
        if isinstance(node, exp.Filter):
            # An aggregate over a FILTERed subset summarizes that subset, which may be one
            # person: its argument does not count as summarized (plain=False).
            flows = self._flows(node.this, replace(context, filtered=True))
            condition = self._flows(
                node.expression, replace(context, clause=Clause.FILTER, aggregate=None)
            )
            # Which rows the aggregate sees decides its value: the condition flows into it.
            return flows | frozenset(flow.then(Flow.CONDITION) for flow in condition)
        if isinstance(node, exp.AggFunc) and not context.in_window:
            name = _aggregate_name(node)
            plain = aggregate_is_plain(node) and not context.filtered
            inner = replace(context, aggregate=name, plain=plain, wrapped=True)
            flows = self._children(node, inner)
            return frozenset(flow.then(Flow.AGGREGATED, name) for flow in flows)
        if isinstance(node, exp.Collate):
            return self._flows(node.this, context)  # the collation name is not a column
        if isinstance(node, exp.Alias | exp.Paren | exp.Ordered | exp.Where | exp.Group
                      | exp.Having | exp.Order | exp.Limit | exp.Offset | exp.Tuple):
            return self._children(node, context)
        plain = context.plain and isinstance(node, _PLAIN_TRANSFORMS)
        flows = self._children(node, replace(context, plain=plain, wrapped=True))
        return frozenset(flow.then(Flow.TRANSFORMED) for flow in flows)

    def _children(self, node: exp.Expression, context: _Context) -> frozenset[ColumnFlow]:
        flows: frozenset[ColumnFlow] = frozenset()
        for child in node.iter_expressions():
            flows |= self._flows(child, context)
        return flows

    def _window_definition(self, node: exp.Window, context: _Context) -> frozenset[ColumnFlow]:
        """Everything a window specification reads: partition, order, frame bounds."""
        flows: frozenset[ColumnFlow] = frozenset()
        for child in node.iter_expressions():
            if child is node.this and isinstance(child, exp.Identifier):
                continue  # the window's own name
            flows |= self._flows(child, context)
        return flows

    def _window(self, node: exp.Window, context: _Context) -> frozenset[ColumnFlow]:
        window_context = replace(context, clause=Clause.WINDOW, aggregate=None)
        # Partition, order and frame decide each row's value (row_number() OVER (ORDER BY x)
        # ranks x): they flow into it as conditions.
        decided: frozenset[ColumnFlow] = frozenset()
        for key in ("partition_by", "order"):
            part = node.args.get(key)
            for item in part if isinstance(part, list) else [part] if part is not None else []:
                decided |= self._flows(item, window_context)
        spec = node.args.get("spec")
        if spec is not None:
            decided |= self._flows(spec, window_context)
        # A windowed aggregate is computed per row: it summarizes nothing.
        inner = self._flows(
            node.this, replace(context, in_window=True, aggregate=None, wrapped=True)
        )
        return frozenset(flow.then(Flow.TRANSFORMED) for flow in inner) | frozenset(
            flow.then(Flow.CONDITION) for flow in decided
        )
