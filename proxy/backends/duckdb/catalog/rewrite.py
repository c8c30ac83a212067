"""Statements rewritten to read the compat catalog (a sqlglot transform).

References to `pg_catalog.X` (or unqualified `pg_X` that a compat view provides) point to
`pg_compat.main.X`, compat functions are qualified, reg* casts become OID lookups or name
renderings, OPERATOR() and COLLATE noise is removed, and session facts (current_user,
current_database(), current_setting, pg_backend_pid) read per-connection DuckDB variables.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

from proxy.backends.duckdb.catalog.casts import rewrite_cast, rewrite_data_type
from proxy.backends.duckdb.catalog.constants import COMPAT_CATALOG, COMPAT_PATH
from proxy.backends.duckdb.catalog.pg_type import PG_TYPE_TYPTYPES
from proxy.backends.duckdb.catalog.relations import COMPAT_VIEWS, EMPTY_PREFIX
from proxy.backends.duckdb.catalog.sql import compat_call, compat_table
from proxy.backends.duckdb.sql_text import sql_literal
from proxy.backends.duckdb.sql_tree import cte_names

#: Functions whose PostgreSQL meaning the compat macros provide (called qualified, so DuckDB's own
#: same-named pg_catalog functions, with DuckDB semantics, are never reached).
_COMPAT_FUNCTIONS: frozenset[str] = frozenset({
    "version", "pg_get_userbyid", "pg_encoding_to_char", "pg_char_to_encoding", "format_type",
    "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible", "pg_collation_is_visible",
    "pg_get_expr", "pg_get_indexdef", "pg_get_constraintdef", "pg_get_viewdef",
    "pg_get_statisticsobjdef_columns", "pg_relation_is_publishable", "pg_get_serial_sequence",
    "pg_is_in_recovery", "set_config", "pg_backend_pid", "pg_postmaster_start_time", "obj_description",
    "col_description", "shobj_description", "array_upper", "array_lower", "quote_ident",
    "quote_literal",
    "has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
    "pg_has_role", "pg_database_size", "pg_size_pretty",
})

#: OPERATOR(pg_catalog.op) spellings, as plain expressions.
_OPERATORS: dict[str, Callable[[exp.Expression, exp.Expression], exp.Expression]] = {
    "~": lambda a, b: exp.RegexpLike(this=a, expression=b),
    "~*": lambda a, b: exp.RegexpILike(this=a, expression=b),
    "!~": lambda a, b: exp.Not(this=exp.RegexpLike(this=a, expression=b)),
    "!~*": lambda a, b: exp.Not(this=exp.RegexpILike(this=a, expression=b)),
    "=": lambda a, b: exp.EQ(this=a, expression=b),
    "<>": lambda a, b: exp.NEQ(this=a, expression=b),
    "!=": lambda a, b: exp.NEQ(this=a, expression=b),
    "<": lambda a, b: exp.LT(this=a, expression=b),
    "<=": lambda a, b: exp.LTE(this=a, expression=b),
    ">": lambda a, b: exp.GT(this=a, expression=b),
    ">=": lambda a, b: exp.GTE(this=a, expression=b),
    "~~": lambda a, b: exp.Like(this=a, expression=b),
    "~~*": lambda a, b: exp.ILike(this=a, expression=b),
    "||": lambda a, b: exp.DPipe(this=a, expression=b),
    "+": lambda a, b: exp.Add(this=a, expression=b),
    "-": lambda a, b: exp.Sub(this=a, expression=b),
}


def _session_variable(name: str) -> exp.Expression:
    """A per-connection fact the warehouse set at connect (pp_user, pp_database...)."""
    return exp.Anonymous(this="getvariable", expressions=[exp.Literal.string(name)])


def _setting_lookup(name_expr: exp.Expression) -> exp.Expression:
    """current_setting(name): the session's SET value (a DuckDB variable), else the default."""
    c = COMPAT_PATH
    if isinstance(name_expr, exp.Literal) and name_expr.is_string:
        key = name_expr.this.lower()
        variable = _session_variable(f"pp_guc_{key}")
        default = sqlglot.parse_one(
            f"(SELECT s.setting FROM {c}.pp_settings s WHERE s.name = {sql_literal(key)})", read="duckdb"
        )
        return exp.Coalesce(this=variable, expressions=[default])
    # An alias of its own: the name expression often reads `s.name` of the client's pg_settings s.
    return sqlglot.parse_one(
        f"(SELECT pp_setting.setting FROM {c}.pp_settings pp_setting "
        "WHERE pp_setting.name = lower(CAST(NULL AS VARCHAR)))", read="duckdb"
    ).transform(lambda n: name_expr.copy() if isinstance(n, exp.Null) else n)


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return None


def _rewrite_node(node: exp.Expression, ctes: set[str]) -> exp.Expression:
    """One node as DuckDB should read it (children already rewritten); `node` itself when unchanged."""
    # pg_catalog.fn(...) arrives as Dot(pg_catalog, fn(...)): drop the schema, then map the function.
    # The function may already be mapped to another expression (current_setting -> a subquery).
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier) \
            and node.this.name.lower() == "pg_catalog" \
            and not isinstance(node.expression, (exp.Identifier, exp.Star)):
        return node.expression

    if isinstance(node, exp.Table):
        name = node.name.lower()
        db = node.db.lower()
        if isinstance(node.this, exp.Identifier) and not node.catalog and (
            (db == "pg_catalog" and name in COMPAT_VIEWS)
            or (not db and name in COMPAT_VIEWS and name not in ctes)
        ):
            new = compat_table(name)
            alias = node.args.get("alias")
            if alias is not None:
                new.set("alias", alias.copy())
            else:
                new.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
            return new
        if db == "pg_catalog" and not node.catalog and not isinstance(node.this, exp.Identifier):
            node.set("db", None)  # pg_catalog.generate_series(...) and other table functions
        return node

    if isinstance(node, exp.Column) and node.args.get("db") is not None \
            and node.db.lower() == "pg_catalog" and node.table.lower() in COMPAT_VIEWS:
        node.set("db", None)  # pg_catalog.pg_class.relname -> pg_class.relname (the table's alias)
        node.set("catalog", None)
        return node

    if isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier):
        if not node.this.quoted and node.name.lower() in ("user", "current_role"):
            return _session_variable("pp_user")
        if not node.this.quoted and node.name.lower() == "current_catalog":
            return _session_variable("pp_database")

    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
        return _session_variable("pp_user")
    if isinstance(node, exp.CurrentDatabase):
        return _session_variable("pp_database")
    if isinstance(node, exp.CurrentVersion):
        return compat_call("version", [])
    if isinstance(node, exp.CurrentSchema):
        return compat_call("pp_current_schema", [])
    if type(node).__name__ == "CurrentSchemas":
        return compat_call("pp_current_schemas", [node.this.copy() if node.this is not None else exp.true()])

    if isinstance(node, exp.Collate):
        return node.this

    if isinstance(node, exp.Operator):
        op = str(node.args.get("operator") or "").strip()
        op = op.split(".", 1)[1] if op.lower().startswith("pg_catalog.") else op
        build = _OPERATORS.get(op)
        if build is not None:
            return build(node.this, node.expression)
        return node

    if isinstance(node, exp.Cast):
        return rewrite_cast(node)
    if isinstance(node, exp.DataType):
        return rewrite_data_type(node)

    name = _function_name(node)
    if name is not None:
        args = list(node.expressions)
        if name == "current_setting" and args:
            return _setting_lookup(args[0])
        if name in ("to_regclass", "to_regtype", "to_regnamespace", "to_regrole"):
            kind = name[3:]
            return compat_call(f"pp_{kind}_oid", [exp.cast(args[0], "VARCHAR")] if args else [])
        if name == "current_schemas":
            return compat_call("pp_current_schemas", args[:1] or [exp.true()])
        if name in _COMPAT_FUNCTIONS:
            return compat_call(name, args)
        if name in ("json_build_object", "jsonb_build_object"):
            return exp.Anonymous(this="json_object", expressions=args)
        if name in ("json_build_array", "jsonb_build_array"):
            return exp.Anonymous(this="json_array", expressions=args)
    return node


def rewrite_catalog_references(tree: exp.Expression) -> exp.Expression:
    """Point pg_catalog references of a parsed (postgres dialect) statement at the compat catalog."""
    ctes = cte_names(tree)
    pg_type_aliases = {
        t.alias_or_name.lower() for t in tree.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier) and t.name.lower() == "pg_type"
        and t.db.lower() in ("", "pg_catalog") and not t.catalog and "pg_type" not in ctes
    }
    # Post-order (children first), so a replaced node is built from already rewritten parts.
    for node in reversed(list(tree.dfs())):
        new = _rewrite_node(node, ctes)
        if pg_type_aliases and isinstance(new, exp.Case):
            _prune_dead_branches(new, pg_type_aliases)
        if new is not node:
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


def _is_dead_condition(condition: exp.Expression, pg_type_aliases: set[str]) -> bool:
    """`t.typtype = 'c'` (t being pg_type) for a typtype no compat pg_type row has."""
    if not isinstance(condition, exp.EQ):
        return False
    column, literal = condition.this, condition.expression
    if isinstance(column, exp.Literal):
        column, literal = literal, column
    if not (isinstance(column, exp.Column) and column.name.lower() == "typtype"
            and isinstance(literal, exp.Literal) and literal.is_string):
        return False
    if column.table and column.table.lower() not in pg_type_aliases:
        return False
    return literal.this not in PG_TYPE_TYPTYPES


def _prune_dead_branches(case: exp.Case, pg_type_aliases: set[str]) -> None:
    """In a CASE branch no compat pg_type row can take (asyncpg's introspection asks for the
    attributes of composite types and the base of domains, which DuckDB has none of), point the
    computed catalogs at their empty stand-ins: same columns and types, so the statement means
    and types the same, but DuckDB binds two small tables instead of the views over its
    duckdb_columns()/duckdb_tables()/duckdb_constraints() (hundreds of milliseconds per statement)."""
    for branch in case.args.get("ifs") or []:
        if not isinstance(branch, exp.If) or not _is_dead_condition(branch.this, pg_type_aliases):
            continue
        for table in list(branch.args["true"].find_all(exp.Table)):
            if table.catalog.lower() == COMPAT_CATALOG and table.name in COMPAT_VIEWS:
                table.set("this", exp.to_identifier(EMPTY_PREFIX + table.name))
