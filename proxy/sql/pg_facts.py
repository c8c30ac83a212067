"""What PostgreSQL itself sees in one statement: relations, columns, functions, operators, types.

The analyzer resolves lineage with sqlglot, but sqlglot's postgres dialect and PostgreSQL do not
always read the same text the same way: `SELECT U&"\\0065mail" FROM shop.customers` is a bitwise
AND of two columns for sqlglot and the column `email` for PostgreSQL. A policy decided on
sqlglot's reading alone would let such a statement through. So every statement is also read by
PostgreSQL's own parser (pglast wraps libpg_query: the grammar of PostgreSQL 18 for pglast 8),
and this module boils that parse tree down to plain facts that the analyzer compares with its
sqlglot reading, and that the function / operator / type allow-lists (`proxy.sql.functions`)
check. Any disagreement is a rejection: the facts must therefore be complete, not approximate.

Everything is collected in one pass over the whole tree (subqueries, CTEs, LATERAL, set
operations, function arguments, FILTER, windows, VALUES, RETURNING, ON CONFLICT, COPY queries,
utility statements that embed a query...). The walk is iterative, so a deeply nested expression
cannot exhaust Python's recursion limit. Names are kept exactly as PostgreSQL folds them
(pglast has already lower-cased unquoted identifiers and kept quoted ones verbatim): `"LOWER"(x)`
is not `lower(x)` for PostgreSQL, so it must not become `lower` here either.

CTE scoping follows PostgreSQL's rules: a CTE name is visible in the statement body and, in a
plain WITH, in the CTEs after it (all of them, itself included, under WITH RECURSIVE); nested
queries see the CTEs of enclosing queries; the target table of INSERT / UPDATE / DELETE / MERGE
and the table created by SELECT INTO are never CTE references, whatever their name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pglast import ast

__all__ = ["PgFacts", "pg_facts"]

QualifiedName = tuple[str | None, str]

_EMPTY_SCOPE: frozenset[str] = frozenset()
_EMPTY_DETAILS: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PgFacts:
    """PostgreSQL's reading of one statement, reduced to what policy checks compare.

    relations: every table-like name referenced (read, written, created, locked...) as
        (schema or None, name); names that refer to a CTE in scope are not relations, nor
        are the FROM items named by `FOR UPDATE OF x` (usually aliases).
    cte_names: every CTE name defined anywhere in the statement.
    qualified_with_database: some relation was written `database.schema.table`.
    column_names: the last field of every column reference (`c.email` -> 'email'); a bare
        `c` that PostgreSQL will resolve to a whole row of `c` is here too, as 'c'. Columns
        named as INSERT / UPDATE targets are not references: see statement_details.
    has_star / qualified_stars: `*`, and the qualifiers of `t.*` / `s.t.*` as tuples.
    using_columns: column names of JOIN ... USING (...), which are not ColumnRefs.
    field_selections / selected_fields: `(expr).field` or `(expr).*` somewhere, and the fields.
    functions: every function PostgreSQL will call by name, as (schema or None, name),
        including aggregates, window functions, functions the grammar generates from SQL syntax
        (`EXTRACT` -> ('pg_catalog', 'extract'), `SIMILAR TO` -> similar_to_escape, ...),
        SQL value functions (current_user, current_date...), `COALESCE`/`GREATEST`/`LEAST`/
        `NULLIF`/`GROUPING`, SQL/JSON constructs ('json_object', 'json_table'...), XML syntax
        as 'xml...' pseudo-names and TABLESAMPLE methods. A name with more than two parts keeps
        its prefix dotted in the schema position, so it never matches an allow-list entry.
    operators: every operator name, schema-qualified when written OPERATOR(schema.op); the
        grammar's BETWEEN forms appear as 'BETWEEN', 'NOT BETWEEN', 'BETWEEN SYMMETRIC'...,
        `IN (SELECT ...)` as '=' and `ORDER BY x USING op` as op. Predicates without an
        operator name (IS NULL, IS JSON, IS TRUE...) are not reported.
    type_names: every type named in casts, typed literals, column definitions, RETURNING
        clauses of SQL/JSON functions... (`int` -> ('pg_catalog', 'int4')).
    statement_kind / statement_details: the root node's class name and what the policy needs
        to know about that kind of statement (see `_details_*`).
    inner_statement_kinds: the class names of statements nested in the root one (CTE bodies,
        subqueries, the query of EXPLAIN / COPY / CREATE TABLE AS / PREPARE / DECLARE...).
    has_recursive_cte, has_sublink (any subquery used as an expression), parameters (highest $n).
    """

    statement_kind: str
    statement_details: Mapping[str, object] = field(
        default_factory=lambda: _EMPTY_DETAILS, hash=False
    )
    relations: frozenset[QualifiedName] = frozenset()
    cte_names: frozenset[str] = frozenset()
    qualified_with_database: bool = False
    column_names: frozenset[str] = frozenset()
    has_star: bool = False
    qualified_stars: frozenset[tuple[str, ...]] = frozenset()
    using_columns: frozenset[str] = frozenset()
    field_selections: bool = False
    selected_fields: frozenset[str] = frozenset()
    functions: frozenset[QualifiedName] = frozenset()
    operators: frozenset[QualifiedName] = frozenset()
    type_names: frozenset[QualifiedName] = frozenset()
    inner_statement_kinds: frozenset[str] = frozenset()
    has_recursive_cte: bool = False
    has_sublink: bool = False
    parameters: int = 0


def pg_facts(node: ast.Node) -> PgFacts:
    """Collect the facts of one parsed statement (a `Statement.node`, or a RawStmt)."""
    if isinstance(node, ast.RawStmt):
        node = node.stmt
    collector = _Collector(node)
    collector.run()
    return PgFacts(
        statement_kind=type(node).__name__,
        statement_details=_freeze(_details(node, collector)),
        relations=frozenset(collector.relations),
        cte_names=frozenset(collector.cte_names),
        qualified_with_database=collector.qualified_with_database,
        column_names=frozenset(collector.column_names),
        has_star=collector.has_star,
        qualified_stars=frozenset(collector.qualified_stars),
        using_columns=frozenset(collector.using_columns),
        field_selections=bool(collector.selected_fields),
        selected_fields=frozenset(collector.selected_fields),
        functions=frozenset(collector.functions),
        operators=frozenset(collector.operators),
        type_names=frozenset(collector.type_names),
        inner_statement_kinds=frozenset(collector.inner_statement_kinds),
        has_recursive_cte=collector.has_recursive_cte,
        has_sublink=collector.has_sublink,
        parameters=collector.parameters,
    )


# --------------------------------------------------------------------------------------------
# The walk


def _qualified(names: tuple[Any, ...] | None) -> QualifiedName | None:
    """(schema or None, name) of a List of String nodes; 3+ parts keep a dotted prefix.

    A part that is not a String (never produced by the grammar today) reads as '?', so the
    name is still reported and no allow-list matches it.
    """
    if not names:
        return None
    parts = [getattr(part, "sval", None) or "?" for part in names]
    if len(parts) == 1:
        return (None, parts[0])
    return (".".join(parts[:-1]), parts[-1])


_SQL_VALUE_FUNCTION_NAMES: dict[str, str] = {
    "SVFOP_CURRENT_DATE": "current_date",
    "SVFOP_CURRENT_TIME": "current_time",
    "SVFOP_CURRENT_TIME_N": "current_time",
    "SVFOP_CURRENT_TIMESTAMP": "current_timestamp",
    "SVFOP_CURRENT_TIMESTAMP_N": "current_timestamp",
    "SVFOP_LOCALTIME": "localtime",
    "SVFOP_LOCALTIME_N": "localtime",
    "SVFOP_LOCALTIMESTAMP": "localtimestamp",
    "SVFOP_LOCALTIMESTAMP_N": "localtimestamp",
    "SVFOP_CURRENT_ROLE": "current_role",
    "SVFOP_CURRENT_USER": "current_user",
    "SVFOP_USER": "user",
    "SVFOP_SESSION_USER": "session_user",
    "SVFOP_CURRENT_CATALOG": "current_catalog",
    "SVFOP_CURRENT_SCHEMA": "current_schema",
}

_XML_EXPR_NAMES: dict[str, str] = {
    "IS_XMLCONCAT": "xmlconcat",
    "IS_XMLELEMENT": "xmlelement",
    "IS_XMLFOREST": "xmlforest",
    "IS_XMLPARSE": "xmlparse",
    "IS_XMLPI": "xmlpi",
    "IS_XMLROOT": "xmlroot",
    "IS_XMLSERIALIZE": "xmlserialize",
    "IS_DOCUMENT": "xml_is_document",
}

_JSON_FUNC_NAMES: dict[str, str] = {
    "JSON_EXISTS_OP": "json_exists",
    "JSON_QUERY_OP": "json_query",
    "JSON_VALUE_OP": "json_value",
    "JSON_TABLE_OP": "json_table",
}

# Nodes that stand for a function call without being a FuncCall, by the name they get here.
_PSEUDO_FUNCTION_NODES: dict[type, str] = {
    ast.CoalesceExpr: "coalesce",
    ast.GroupingFunc: "grouping",
    ast.MergeSupportFunc: "merge_action",
    ast.XmlSerialize: "xmlserialize",
    ast.RangeTableFunc: "xmltable",
    ast.JsonObjectConstructor: "json_object",
    ast.JsonArrayConstructor: "json_array",
    ast.JsonArrayQueryConstructor: "json_array",
    ast.JsonObjectAgg: "json_objectagg",
    ast.JsonArrayAgg: "json_arrayagg",
    ast.JsonParseExpr: "json",
    ast.JsonScalarExpr: "json_scalar",
    ast.JsonSerializeExpr: "json_serialize",
    ast.JsonTable: "json_table",
}

_STATEMENTS_WITH_TARGET = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)

# Per node class: the attributes that may hold child nodes (pointers, lists, embedded structs).
_CHILD_ATTRIBUTES: dict[type, tuple[str, ...]] = {}


def _child_attributes(cls: type) -> tuple[str, ...]:
    names = _CHILD_ATTRIBUTES.get(cls)
    if names is None:
        slots = getattr(cls, "__slots__", ())
        if isinstance(slots, dict):
            names = tuple(
                name
                for name, info in slots.items()
                if _may_hold_nodes(getattr(info, "c_type", "Node*"))
            )
        else:
            names = tuple(slots)
        _CHILD_ATTRIBUTES[cls] = names
    return names


def _may_hold_nodes(c_type: str) -> bool:
    if c_type in ("char*", "Bitmapset*"):
        return False
    if c_type.endswith("*") or c_type == "ValUnion":
        return True
    embedded = getattr(ast, c_type, None)  # a struct embedded by value, e.g. CreateStmt
    return isinstance(embedded, type) and issubclass(embedded, ast.Node)


class _Collector:
    """One iterative pass over a parse tree; each pending node carries its visible CTE names."""

    def __init__(self, root: ast.Node) -> None:
        self.root = root
        self.relations: set[QualifiedName] = set()
        self.cte_names: set[str] = set()
        self.qualified_with_database = False
        self.column_names: set[str] = set()
        self.has_star = False
        self.qualified_stars: set[tuple[str, ...]] = set()
        self.using_columns: set[str] = set()
        self.selected_fields: set[str] = set()
        self.functions: set[QualifiedName] = set()
        self.operators: set[QualifiedName] = set()
        self.type_names: set[QualifiedName] = set()
        self.inner_statement_kinds: set[str] = set()
        self.has_recursive_cte = False
        self.has_sublink = False
        self.parameters = 0
        # statement-level observations used by the details
        self.select_into: tuple[str | None, str] | None = None
        self.has_select_into = False
        self.has_locking = False
        self._stack: list[tuple[Any, frozenset[str]]] = []

    def run(self) -> None:
        stack = self._stack
        stack.append((self.root, _EMPTY_SCOPE))
        handlers = _HANDLERS
        while stack:
            item, scope = stack.pop()
            if item is None:
                continue
            if isinstance(item, tuple | list):
                stack.extend((child, scope) for child in item)
                continue
            if not isinstance(item, ast.Node):
                continue
            cls = type(item)
            if item is not self.root and cls.__name__.endswith("Stmt"):
                self.inner_statement_kinds.add(cls.__name__)
            handler = handlers.get(cls)
            if handler is None or handler(self, item, scope):
                self._push_children(item, scope)

    def _push_children(
        self, node: ast.Node, scope: frozenset[str], skip: tuple[str, ...] = ()
    ) -> None:
        stack = self._stack
        for name in _child_attributes(type(node)):
            if name in skip:
                continue
            value = getattr(node, name, None)
            if value is not None and isinstance(value, ast.Node | tuple | list):
                stack.append((value, scope))

    # -- handlers: return True to have the node's children walked generically ------------------

    def _range_var(self, node: ast.RangeVar, scope: frozenset[str]) -> bool:
        if node.catalogname:
            self.qualified_with_database = True
        if node.schemaname is None and node.relname in scope:
            return False  # a reference to a CTE visible here
        self.relations.add((node.schemaname, node.relname))
        return False

    def _column_ref(self, node: ast.ColumnRef, scope: frozenset[str]) -> bool:
        fields = node.fields or ()
        if not fields:
            return False
        last = fields[-1]
        if isinstance(last, ast.A_Star):
            if len(fields) == 1:
                self.has_star = True
            else:
                self.qualified_stars.add(tuple(getattr(f, "sval", "?") for f in fields[:-1]))
        else:
            self.column_names.add(last.sval)
        return False

    def _indirection(self, node: ast.A_Indirection, scope: frozenset[str]) -> bool:
        for step in node.indirection or ():
            if isinstance(step, ast.String):
                self.selected_fields.add(step.sval)
            elif isinstance(step, ast.A_Star):
                self.selected_fields.add("*")
        return True

    def _func_call(self, node: ast.FuncCall, scope: frozenset[str]) -> bool:
        name = _qualified(node.funcname)
        if name is not None:
            self.functions.add(name)
        return True

    def _a_expr(self, node: ast.A_Expr, scope: frozenset[str]) -> bool:
        name = _qualified(node.name)
        if name is not None:
            self.operators.add(name)
        if getattr(node.kind, "name", None) == "AEXPR_NULLIF":
            self.functions.add((None, "nullif"))
        return True

    def _sub_link(self, node: ast.SubLink, scope: frozenset[str]) -> bool:
        self.has_sublink = True
        name = _qualified(node.operName)
        if name is None and getattr(node.subLinkType, "name", None) == "ANY_SUBLINK":
            name = (None, "=")  # `x IN (SELECT ...)` is `x = ANY (SELECT ...)` for PostgreSQL
        if name is not None:
            self.operators.add(name)
        return True

    def _sort_by(self, node: ast.SortBy, scope: frozenset[str]) -> bool:
        name = _qualified(node.useOp)
        if name is not None:
            self.operators.add(name)
        return True

    def _type_name(self, node: ast.TypeName, scope: frozenset[str]) -> bool:
        name = _qualified(node.names)
        if name is not None:
            self.type_names.add(name)
        return True

    def _sql_value_function(self, node: ast.SQLValueFunction, scope: frozenset[str]) -> bool:
        op = getattr(node.op, "name", str(node.op))
        self.functions.add((None, _SQL_VALUE_FUNCTION_NAMES.get(op, op.lower())))
        return False

    def _xml_expr(self, node: ast.XmlExpr, scope: frozenset[str]) -> bool:
        op = getattr(node.op, "name", str(node.op))
        self.functions.add((None, _XML_EXPR_NAMES.get(op, "xml_" + op.lower())))
        return True

    def _min_max(self, node: ast.MinMaxExpr, scope: frozenset[str]) -> bool:
        op = getattr(node.op, "name", "")
        self.functions.add((None, "least" if op == "IS_LEAST" else "greatest"))
        return True

    def _json_func(self, node: ast.JsonFuncExpr, scope: frozenset[str]) -> bool:
        op = getattr(node.op, "name", str(node.op))
        self.functions.add((None, _JSON_FUNC_NAMES.get(op, "json_" + op.lower())))
        return True

    def _pseudo_function(self, node: ast.Node, scope: frozenset[str]) -> bool:
        self.functions.add((None, _PSEUDO_FUNCTION_NODES[type(node)]))
        return True

    def _table_sample(self, node: ast.RangeTableSample, scope: frozenset[str]) -> bool:
        name = _qualified(node.method)
        if name is not None:
            self.functions.add(name)  # the sampling method is a handler function by that name
        return True

    def _param_ref(self, node: ast.ParamRef, scope: frozenset[str]) -> bool:
        if node.number and node.number > self.parameters:
            self.parameters = node.number
        return False

    def _join(self, node: ast.JoinExpr, scope: frozenset[str]) -> bool:
        for name in node.usingClause or ():
            if isinstance(name, ast.String):
                self.using_columns.add(name.sval)
        self._push_children(node, scope, skip=("usingClause",))
        return False

    def _locking(self, node: ast.LockingClause, scope: frozenset[str]) -> bool:
        # `FOR UPDATE OF c` names FROM items (often aliases), not relations: not walked.
        self.has_locking = True
        return False

    def _into(self, node: ast.IntoClause, scope: frozenset[str]) -> bool:
        # the table SELECT INTO / CREATE TABLE AS creates is never a CTE reference
        self._stack.append((node.rel, _EMPTY_SCOPE))
        self._push_children(node, scope, skip=("rel",))
        return False

    def _with_statement(self, node: ast.Node, scope: frozenset[str]) -> bool:
        """SELECT / INSERT / UPDATE / DELETE / MERGE: open the scope of their WITH clause."""
        skip: tuple[str, ...] = ()
        with_clause = getattr(node, "withClause", None)
        if with_clause is not None:
            scope = self._push_with(with_clause, scope)
            skip = ("withClause",)
        if isinstance(node, _STATEMENTS_WITH_TARGET):
            # the target table is resolved as a table, never as a CTE of the same name
            self._stack.append((node.relation, _EMPTY_SCOPE))
            skip += ("relation",)
        if isinstance(node, ast.SelectStmt) and node.intoClause is not None:
            self.has_select_into = True
            rel = node.intoClause.rel
            if self.select_into is None and rel is not None:
                self.select_into = (rel.schemaname, rel.relname)
        self._push_children(node, scope, skip=skip)
        return False

    def _push_with(self, with_clause: ast.WithClause, scope: frozenset[str]) -> frozenset[str]:
        ctes = [cte for cte in with_clause.ctes or () if isinstance(cte, ast.CommonTableExpr)]
        names = frozenset(cte.ctename for cte in ctes)
        self.cte_names.update(names)
        stack = self._stack
        if with_clause.recursive:
            self.has_recursive_cte = True
            inner = scope | names
            for cte in ctes:
                stack.append((cte.ctequery, inner))
        else:
            visible = scope
            for cte in ctes:
                stack.append((cte.ctequery, visible))
                visible = visible | {cte.ctename}
        return scope | names


_HANDLERS: dict[type, Any] = {
    ast.RangeVar: _Collector._range_var,
    ast.ColumnRef: _Collector._column_ref,
    ast.A_Indirection: _Collector._indirection,
    ast.FuncCall: _Collector._func_call,
    ast.A_Expr: _Collector._a_expr,
    ast.SubLink: _Collector._sub_link,
    ast.SortBy: _Collector._sort_by,
    ast.TypeName: _Collector._type_name,
    ast.SQLValueFunction: _Collector._sql_value_function,
    ast.XmlExpr: _Collector._xml_expr,
    ast.MinMaxExpr: _Collector._min_max,
    ast.JsonFuncExpr: _Collector._json_func,
    ast.RangeTableSample: _Collector._table_sample,
    ast.ParamRef: _Collector._param_ref,
    ast.JoinExpr: _Collector._join,
    ast.LockingClause: _Collector._locking,
    ast.IntoClause: _Collector._into,
    ast.SelectStmt: _Collector._with_statement,
    ast.InsertStmt: _Collector._with_statement,
    ast.UpdateStmt: _Collector._with_statement,
    ast.DeleteStmt: _Collector._with_statement,
    ast.MergeStmt: _Collector._with_statement,
    **{cls: _Collector._pseudo_function for cls in _PSEUDO_FUNCTION_NODES},
}


# --------------------------------------------------------------------------------------------
# Statement details


def _details(node: ast.Node, collector: _Collector) -> dict[str, object]:
    build = _DETAILS.get(type(node))
    return build(node, collector) if build is not None else {}


def _relation_name(rel: ast.RangeVar | None) -> QualifiedName | None:
    return None if rel is None else (rel.schemaname, rel.relname)


def _kind_name(node: ast.Node | None) -> str | None:
    return None if node is None else type(node).__name__


def _enum_name(value: Any, prefix: str = "") -> str:
    name = getattr(value, "name", str(value))
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


def _option_value(arg: Any) -> object:
    """A DefElem argument as a plain Python value; no argument means true, as PostgreSQL reads it."""
    if arg is None:
        return True
    if isinstance(arg, tuple | list):
        return tuple(_option_value(item) for item in arg)
    if isinstance(arg, ast.A_Const):
        return None if arg.isnull else _option_value(arg.val)
    if isinstance(arg, ast.String):
        return arg.sval
    if isinstance(arg, ast.Integer):
        return arg.ival
    if isinstance(arg, ast.Float):
        return arg.fval
    if isinstance(arg, ast.Boolean):
        return arg.boolval
    if isinstance(arg, ast.BitString):
        return arg.bsval
    if isinstance(arg, ast.A_Star):
        return "*"
    if isinstance(arg, ast.TypeName):
        return _qualified(arg.names)
    return type(arg).__name__


def _options(defelems: tuple[Any, ...] | None) -> dict[str, object]:
    return {
        elem.defname: _option_value(elem.arg)
        for elem in defelems or ()
        if isinstance(elem, ast.DefElem) and elem.defname is not None
    }


_FALSE_WORDS = frozenset({"false", "off", "no", "0"})


def _is_set(value: object) -> bool:
    """Whether an option is on; anything not clearly false counts as on (fail closed)."""
    if value is None or value is False or value == 0:
        return False
    return not (isinstance(value, str) and value.strip().lower() in _FALSE_WORDS)


def _details_select(node: ast.SelectStmt, c: _Collector) -> dict[str, object]:
    set_operation = _enum_name(node.op, "SETOP_")
    return {
        "into": c.has_select_into,
        "into_target": c.select_into,
        "locking": c.has_locking,
        "set_operation": None if set_operation == "NONE" else set_operation,
    }


def _details_create_table_as(node: ast.CreateTableAsStmt, c: _Collector) -> dict[str, object]:
    objtype = _enum_name(node.objtype, "OBJECT_")
    into = node.into
    return {
        "objtype": {"TABLE": "table", "MATVIEW": "materialized view"}.get(objtype, objtype.lower()),
        "target": _relation_name(into.rel if into is not None else None),
        "is_select_into": bool(node.is_select_into),
        "if_not_exists": bool(node.if_not_exists),
        "with_no_data": bool(into is not None and into.skipData),
        "query_kind": _kind_name(node.query),
    }


def _details_copy(node: ast.CopyStmt, c: _Collector) -> dict[str, object]:
    return {
        "is_from": bool(node.is_from),
        "filename": node.filename,
        "is_program": bool(node.is_program),
        "relation": _relation_name(node.relation),
        "has_query": node.query is not None,
        "query_kind": _kind_name(node.query),
        "columns": tuple(name.sval for name in node.attlist or () if isinstance(name, ast.String)),
        "has_where": node.whereClause is not None,
        "options": _options(node.options),
    }


def _details_transaction(node: ast.TransactionStmt, c: _Collector) -> dict[str, object]:
    return {
        "kind": _enum_name(node.kind, "TRANS_STMT_"),
        "chain": bool(node.chain),
        "savepoint_name": node.savepoint_name,
        "gid": node.gid,
        "options": _options(node.options),
    }


def _details_explain(node: ast.ExplainStmt, c: _Collector) -> dict[str, object]:
    options = _options(node.options)
    analyze = any(
        _is_set(value) for name, value in options.items() if name.lower() in ("analyze", "analyse")
    )
    return {"analyze": analyze, "options": options, "query_kind": _kind_name(node.query)}


def _returning(node: ast.Node) -> bool:
    clause = getattr(node, "returningClause", None)
    return clause is not None and bool(getattr(clause, "exprs", None))


def _details_insert(node: ast.InsertStmt, c: _Collector) -> dict[str, object]:
    conflict = node.onConflictClause
    conflict_action = None
    conflict_columns: tuple[str, ...] = ()
    if conflict is not None:
        conflict_action = _enum_name(conflict.action, "ONCONFLICT_").lower()
        infer = conflict.infer
        if infer is not None:
            conflict_columns = tuple(
                elem.name for elem in infer.indexElems or () if getattr(elem, "name", None)
            )
    select = node.selectStmt
    if select is None:
        source = "default_values"
    elif isinstance(select, ast.SelectStmt) and select.valuesLists:
        source = "values"
    else:
        source = "select"
    return {
        "target": _relation_name(node.relation),
        "columns": tuple(target.name for target in node.cols or () if target.name is not None),
        "source": source,
        "returning": _returning(node),
        "on_conflict": conflict is not None,
        "on_conflict_action": conflict_action,
        "on_conflict_columns": conflict_columns,
    }


def _set_columns(targets: tuple[Any, ...] | None) -> tuple[str, ...]:
    return tuple(t.name for t in targets or () if isinstance(t, ast.ResTarget) and t.name)


def _details_update(node: ast.UpdateStmt, c: _Collector) -> dict[str, object]:
    return {
        "target": _relation_name(node.relation),
        "set_columns": _set_columns(node.targetList),
        "has_where": node.whereClause is not None,
        "has_from": bool(node.fromClause),
        "returning": _returning(node),
    }


def _details_delete(node: ast.DeleteStmt, c: _Collector) -> dict[str, object]:
    return {
        "target": _relation_name(node.relation),
        "has_where": node.whereClause is not None,
        "has_using": bool(node.usingClause),
        "returning": _returning(node),
    }


def _details_merge(node: ast.MergeStmt, c: _Collector) -> dict[str, object]:
    return {
        "target": _relation_name(node.relation),
        "actions": tuple(
            _enum_name(clause.commandType, "CMD_").lower() for clause in node.mergeWhenClauses or ()
        ),
        "returning": _returning(node),
    }


def _details_declare_cursor(node: ast.DeclareCursorStmt, c: _Collector) -> dict[str, object]:
    return {"name": node.portalname, "options": node.options, "query_kind": _kind_name(node.query)}


def _details_prepare(node: ast.PrepareStmt, c: _Collector) -> dict[str, object]:
    return {"name": node.name, "query_kind": _kind_name(node.query)}


def _details_execute(node: ast.ExecuteStmt, c: _Collector) -> dict[str, object]:
    return {"name": node.name}


def _details_view(node: ast.ViewStmt, c: _Collector) -> dict[str, object]:
    return {"target": _relation_name(node.view), "query_kind": _kind_name(node.query)}


def _details_variable_set(node: ast.VariableSetStmt, c: _Collector) -> dict[str, object]:
    return {
        "kind": _enum_name(node.kind, "VAR_"),
        "name": node.name,
        "is_local": bool(node.is_local),
    }


def _details_variable_show(node: ast.VariableShowStmt, c: _Collector) -> dict[str, object]:
    return {"name": node.name}


def _details_listen(node: ast.ListenStmt, c: _Collector) -> dict[str, object]:
    return {"channel": node.conditionname}


def _details_notify(node: ast.NotifyStmt, c: _Collector) -> dict[str, object]:
    return {"channel": node.conditionname, "payload": node.payload}


_DETAILS: dict[type, Any] = {
    ast.SelectStmt: _details_select,
    ast.CreateTableAsStmt: _details_create_table_as,
    ast.CopyStmt: _details_copy,
    ast.TransactionStmt: _details_transaction,
    ast.ExplainStmt: _details_explain,
    ast.InsertStmt: _details_insert,
    ast.UpdateStmt: _details_update,
    ast.DeleteStmt: _details_delete,
    ast.MergeStmt: _details_merge,
    ast.DeclareCursorStmt: _details_declare_cursor,
    ast.PrepareStmt: _details_prepare,
    ast.ExecuteStmt: _details_execute,
    ast.ViewStmt: _details_view,
    ast.VariableSetStmt: _details_variable_set,
    ast.VariableShowStmt: _details_variable_show,
    ast.ListenStmt: _details_listen,
    ast.NotifyStmt: _details_notify,
}


def _freeze(value: Any) -> Any:
    """Read-only details: nested dicts become mapping proxies (they still compare equal to dicts)."""
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    return value
