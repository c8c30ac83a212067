"""PostgreSQL types DuckDB cannot carry, read from the statement before it is rewritten.

DuckDB has no varchar (it is VARCHAR, which reads as text), no jsonb (JSON), no unconstrained
numeric (DECIMAL has a fixed scale) and no name or "char": what PostgreSQL would report is
recorded here, per output column or parameter, for RowDescription and the encoders. Literal
casts whose meaning DuckDB would change ('12.50'::numeric, '\\x00'::bytea) are rewritten.
"""

from __future__ import annotations

from decimal import Decimal

from sqlglot import exp

from proxy.backends.duckdb.catalog.constants import CHAR_COLUMNS, NAME_COLUMNS
from proxy.backends.duckdb.duckdb_types import GENERIC_DECIMAL, decimal_type_for
from proxy.sql.sqlglot_compat import OID_MARKER

_DT = exp.DataType.Type
#: PostgreSQL functions returning jsonb (DuckDB computes them as JSON).
_JSONB_FUNCTIONS = frozenset({"jsonb_build_object", "jsonb_build_array", "to_jsonb", "jsonb_agg",
                              "jsonb_object_agg", "jsonb_strip_nulls", "jsonb_set", "jsonb_insert"})


def _type_length(data_type: exp.DataType) -> int:
    """typmod of varchar(n): n + 4; -1 without a length."""
    if data_type.expressions:
        param = data_type.expressions[0]
        value = param.this if isinstance(param, exp.DataTypeParam) else param
        if isinstance(value, exp.Literal) and not value.is_string and str(value.this).isdigit():
            return int(value.this) + 4
    return -1


def _pg_type_of_datatype(to: exp.Expression | None) -> tuple[int, int] | None:
    """(OID, typmod) of a PostgreSQL cast target that DuckDB would report as another type."""
    if not isinstance(to, exp.DataType):
        return None
    if to.this == _DT.ARRAY and to.expressions:
        element = _pg_type_of_datatype(to.expressions[0])
        if element is None:
            return None
        arrays = {1043: 1015, 3802: 3807, 1700: 1231}
        return (arrays[element[0]], element[1]) if element[0] in arrays else None
    if to.this in (_DT.VARCHAR, _DT.NVARCHAR):
        return 1043, _type_length(to)
    if to.this == _DT.JSONB:
        return 3802, -1
    if to.this == _DT.DECIMAL and not to.expressions:
        return 1700, -1
    return None


def _pg_output_type(node: exp.Expression) -> tuple[int, int] | None:
    """(OID, typmod) PostgreSQL gives a select item that DuckDB would type otherwise."""
    while isinstance(node, (exp.Alias, exp.Paren)):
        node = node.this
    if isinstance(node, exp.Cast):
        return _pg_type_of_datatype(node.to)
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        node = node.expression  # pg_catalog.fn(...)
    if isinstance(node, exp.Anonymous):
        name = str(node.this).lower()
        if name in _JSONB_FUNCTIONS:
            return 3802, -1
        if name == "pg_get_userbyid":
            return 19, -1
    return None


def _output_branches(tree: exp.Expression) -> list[list[exp.Expression]]:
    """Every SELECT list that feeds the result (each branch of a UNION)."""
    if isinstance(tree, exp.SetOperation):
        return _output_branches(tree.this) + _output_branches(tree.expression)
    if isinstance(tree, exp.Subquery):
        return _output_branches(tree.this)
    if isinstance(tree, exp.Select):
        return [tree.expressions]
    returning = tree.args.get("returning")
    if isinstance(returning, exp.Returning):
        return [returning.expressions]
    return []


def pg_output_types(tree: exp.Expression) -> tuple[tuple[int, int, int], ...]:
    """(position, OID, typmod) of top-level output columns PostgreSQL types as varchar, jsonb,
    unconstrained numeric (and their arrays), read from the PostgreSQL tree before the rewrite.

    A SELECT list with a `*` has no known positions: nothing is overridden there.
    """
    branches = _output_branches(tree)
    if not branches:
        return ()
    found: dict[int, tuple[int, int] | None] = {}
    for expressions in branches:
        if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
               for e in expressions):
            return ()
        for position, node in enumerate(expressions):
            bare = node.this if isinstance(node, exp.Alias) else node
            if isinstance(bare, exp.Null) or (isinstance(bare, exp.Literal) and bare.is_string):
                continue  # an unknown-typed literal takes the other branches' type
            typed = _pg_output_type(node)
            if position not in found:
                found[position] = typed
            elif found[position] != typed:
                found[position] = None  # UNION branches disagree: PostgreSQL resolves a common type
    return tuple((pos, t[0], t[1]) for pos, t in sorted(found.items()) if t is not None)


def catalog_text_types(tree: exp.Expression) -> tuple[tuple[str, int], ...]:
    """Output names that carry a name or "char" catalog column (`t.typtype AS kind`) in every
    SELECT list of the statement that names them; a name also given to another kind of value
    (`'x' AS kind`, `t.typinput AS kind`) is left as text. Columns passed through under their
    own name (`ti.kind` from a CTE) neither add nor veto."""
    found: dict[str, int] = {}
    vetoed: set[str] = set()
    for select in tree.find_all(exp.Select):
        for item in select.expressions:
            node = item.this if isinstance(item, exp.Alias) else item
            name = item.alias_or_name.lower() if isinstance(item, (exp.Alias, exp.Column)) else ""
            if not name or isinstance(node, exp.Star):
                continue
            if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
                column = node.name.lower()
                oid = 19 if column in NAME_COLUMNS else 18 if column in CHAR_COLUMNS else 0
                if oid:
                    if found.setdefault(name, oid) != oid:
                        vetoed.add(name)
                    continue
                if column == name:
                    continue  # passed through under its own name
            vetoed.add(name)
    return tuple(sorted((n, oid) for n, oid in found.items() if n not in vetoed))


def _literal_text(node: exp.Expression) -> str | None:
    """The text of a string (or E'' string) or number literal, as PostgreSQL's input function sees it."""
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.ByteString):  # E'...': sqlglot has already resolved the escapes
        return str(node.this)
    return None


def _bytea_literal(text: str) -> exp.Expression:
    """unhex('...') of the bytes PostgreSQL's byteain reads from `text`."""
    from proxy.wire.codecs.scalars import parse_bytea

    return exp.Anonymous(this="unhex", expressions=[exp.Literal.string(parse_bytea(text).hex())])


def rewrite_pg_literal_types(tree: exp.Expression) -> frozenset[int]:
    r"""Casts whose meaning DuckDB would change, rewritten in place; returns the $n cast to
    unconstrained numeric (bound with the value's own DECIMAL type at execution).

    * `'12.50'::numeric`: DECIMAL of exactly the literal's precision and scale (12.50, as
      PostgreSQL prints it); any other unconstrained numeric is DECIMAL(38,10), not DuckDB's
      DECIMAL(18,3);
    * `'\x00ff'::bytea` and escape-format literals: the bytes PostgreSQL's byteain reads, as
      unhex('...') (DuckDB's BLOB input reads `\xHH` escapes and takes the rest as characters).
    """
    numeric_parameters: set[int] = set()
    for cast in list(tree.find_all(exp.Cast)):
        to = cast.to
        if not isinstance(to, exp.DataType):
            continue
        inner = cast.this
        if to.this in (_DT.VARBINARY, _DT.BINARY) and not to.expressions:
            text = _literal_text(inner)
            if text is not None and (isinstance(inner, exp.ByteString) or inner.is_string):
                cast.replace(_bytea_literal(text))
            continue
        if to.this != _DT.DECIMAL or to.expressions:
            continue
        text = _literal_text(inner)
        exact = decimal_type_for(text) if text is not None else None
        if exact is not None:
            plain = format(Decimal(text.strip()), "f")  # type: ignore[union-attr]
            cast.set("this", exp.Literal.string(plain))
            cast.set("to", exp.DataType.build(exact, dialect="duckdb"))
            continue
        if isinstance(inner, exp.Parameter) and inner.name.isdigit():
            numeric_parameters.add(int(inner.name))
        cast.set("to", exp.DataType.build(GENERIC_DECIMAL, dialect="duckdb"))
    for data_type in list(tree.find_all(exp.DataType)):
        if data_type.this == _DT.DECIMAL and not data_type.expressions:
            data_type.replace(exp.DataType.build(GENERIC_DECIMAL, dialect="duckdb"))
    return frozenset(numeric_parameters)


def declared_parameter_oids(tree: exp.Expression) -> tuple[tuple[int, int], ...]:
    """Parameters cast to a type DuckDB holds as another one: oid, oid[] (BIGINT), varchar,
    varchar[] (VARCHAR, which reads as text), jsonb, jsonb[] (JSON). PostgreSQL reports the cast's type."""
    found: dict[int, int] = {}
    for cast in tree.find_all(exp.Cast):
        param = cast.this
        if not isinstance(param, exp.Parameter) or not param.name.isdigit():
            continue
        to = cast.to
        pg = _pg_type_of_datatype(to)
        if pg is not None and pg[0] in (1043, 1015, 3802, 3807):
            found[int(param.name)] = pg[0]
            continue
        is_array = isinstance(to, exp.DataType) and to.this == exp.DataType.Type.ARRAY and bool(to.expressions)
        element = to.expressions[0] if is_array else to
        name = element.name.lower() if isinstance(element, exp.ObjectIdentifier) else (
            str(element.args.get("kind") or "").lower()
            if isinstance(element, exp.DataType) and element.this == exp.DataType.Type.USERDEFINED else "")
        if name in (OID_MARKER, "oid"):
            found[int(param.name)] = 1028 if is_array else 26
    return tuple(sorted(found.items()))
