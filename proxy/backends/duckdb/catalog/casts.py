"""Casts to PostgreSQL catalog types, on DuckDB: reg* casts become OID lookups (or name
renderings where the value is printed), and types DuckDB lacks (oid, name, "char", jsonb...)
become the DuckDB type that holds their values."""

from __future__ import annotations

from sqlglot import exp

from proxy.backends.duckdb.catalog.sql import compat_call
from proxy.sql.sqlglot_compat import OID_MARKER

_REG_TYPES = {"regclass", "regtype", "regnamespace", "regrole", "regproc", "regprocedure",
              "regoper", "regoperator", "regconfig", "regdictionary", "regcollation"}
_REG_HELPERS = {"regclass": "regclass", "regtype": "regtype", "regnamespace": "regnamespace",
                "regrole": "regrole"}

# PostgreSQL type names that DuckDB lacks, as the DuckDB type that holds their values.
_TYPE_REPLACEMENTS = {
    OID_MARKER: "BIGINT", "oid": "BIGINT", "xid": "BIGINT", "cid": "BIGINT", "tid": "VARCHAR", "name": "VARCHAR",
    "char": "VARCHAR", "\"char\"": "VARCHAR", "text": "VARCHAR", "int2vector": "SMALLINT[]",
    "oidvector": "BIGINT[]", "pg_node_tree": "VARCHAR", "aclitem": "VARCHAR", "regclass": "BIGINT",
    "regtype": "BIGINT", "regproc": "BIGINT", "regnamespace": "BIGINT", "regrole": "BIGINT",
    "regprocedure": "BIGINT", "regoper": "BIGINT", "regoperator": "BIGINT", "cstring": "VARCHAR",
    "anyarray": "VARCHAR", "inet": "VARCHAR", "cidr": "VARCHAR", "macaddr": "VARCHAR",
    "jsonb": "JSON", "xml": "VARCHAR", "money": "DECIMAL(18,2)", "bpchar": "VARCHAR",
    "regconfig": "BIGINT", "refcursor": "VARCHAR", "name[]": "VARCHAR[]", "int2": "SMALLINT",
    "int4": "INTEGER", "int8": "BIGINT", "float4": "REAL", "float8": "DOUBLE",
}


def catalog_type_name(data_type: exp.Expression) -> str | None:
    """The lower-case name of a type PostgreSQL would resolve in pg_catalog, or None."""
    if isinstance(data_type, exp.ObjectIdentifier):
        return data_type.name.lower()
    if isinstance(data_type, exp.DataType) and data_type.this == exp.DataType.Type.NAME:
        return "name"  # sqlglot knows `name` as a type of its own; DuckDB does not
    if isinstance(data_type, exp.DataType) and data_type.this == exp.DataType.Type.USERDEFINED:
        kind = data_type.args.get("kind")
        if isinstance(kind, exp.Dot):
            if kind.this.name.lower() == "pg_catalog":
                return kind.expression.name.lower()
            return None
        if kind is not None:
            return str(kind.name if hasattr(kind, "name") else kind).lower()
    return None


def _replacement_type(name: str) -> exp.DataType | None:
    """The DuckDB type for a PostgreSQL type name; None when DuckDB would not know it either."""
    duck = _TYPE_REPLACEMENTS.get(name)
    if duck is not None:
        return exp.DataType.build(duck, dialect="duckdb")
    try:
        built = exp.DataType.build(name, dialect="postgres")
    except Exception:
        return None
    if built.this == exp.DataType.Type.USERDEFINED:
        return None
    return built


def _is_text_cast(node: exp.Expression | None) -> bool:
    if not isinstance(node, exp.Cast):
        return False
    to = node.to
    if isinstance(to, exp.DataType) and to.this in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR):
        return True
    return catalog_type_name(to) in ("text", "varchar", "name")


def _in_output_position(node: exp.Expression) -> bool:
    """Whether a value is what a SELECT list item prints (reg* casts print names there)."""
    parent = node.parent
    if isinstance(parent, exp.Alias):
        parent = parent.parent
    return isinstance(parent, exp.Select) and node.arg_key in ("expressions", "this")


def _rewrite_reg_cast(node: exp.Cast, reg: str) -> exp.Expression:
    inner = node.this
    helper = _REG_HELPERS.get(reg, "regproc")
    # Input direction: a literal or parameter names an object (or is already an OID).
    if isinstance(inner, exp.Literal) and not inner.is_string:
        oid: exp.Expression = exp.cast(inner, "BIGINT")
    elif isinstance(inner, (exp.Literal, exp.Placeholder, exp.Parameter)) or _is_text_cast(inner):
        oid = compat_call(f"pp_{helper}_oid", [exp.cast(inner.copy(), "VARCHAR")])
    else:
        oid = inner.copy()
    # Output direction: ::regclass::text, or printed as a column, shows the name.
    if _is_text_cast(node.parent) or _in_output_position(node):
        return compat_call(f"pp_{helper}_name", [oid])
    return oid


def rewrite_cast(node: exp.Cast) -> exp.Expression:
    """A cast as DuckDB can run it: reg* casts resolved, catalog types replaced."""
    reg = catalog_type_name(node.to)
    if reg in _REG_TYPES:
        return _rewrite_reg_cast(node, reg)
    if reg is not None or isinstance(node.to, exp.ObjectIdentifier):
        replacement = _replacement_type(reg or node.to.name.lower())
        if replacement is not None:
            node.set("to", replacement)
    return node


def rewrite_data_type(node: exp.DataType) -> exp.Expression:
    """Array element types such as pg_catalog.int2 inside int2[]: resolved too."""
    name = catalog_type_name(node)
    if name is not None and not isinstance(node.parent, exp.Cast):
        replacement = _replacement_type(name)
        if replacement is not None:
            return replacement
    return node
