"""RowDescription columns from what DuckDB reports, with PostgreSQL's types where they differ.

DuckDB names its own types; the wire layer maps them to OIDs. Catalog reads get oid / name /
"char" back by column name, and casts DuckDB cannot carry (varchar, jsonb, numeric without a
typmod) get the type the statement asked for (see pg_types.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from proxy.backends.base import Column
from proxy.backends.duckdb.catalog.constants import OID_ARRAY_COLUMNS, OID_COLUMNS
from proxy.backends.duckdb.parameters import with_null_parameters
from proxy.wire.types import Oid, oid_for_duckdb_type

if TYPE_CHECKING:
    from proxy.backends.duckdb.transpile import Transpiled


def _typmod(duckdb_type: str) -> int:
    """PostgreSQL's typmod of a DuckDB type: numeric(p,s) for DECIMAL(p,s), else none (-1)."""
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if m:
        return ((int(m.group(1)) << 16) | int(m.group(2))) + 4
    return -1


def _column(name: str, duckdb_type: object) -> Column:
    """A column as DuckDB types it."""
    type_text = str(duckdb_type).strip('"')
    oid = oid_for_duckdb_type(type_text)
    return Column(name=name, type_oid=int(oid), type_modifier=_typmod(type_text))


_INTEGER_TYPES = frozenset({"INTEGER", "BIGINT", "SMALLINT", "UINTEGER", "UBIGINT"})


def _with_catalog_oid_types(columns: tuple[Column, ...], duckdb_types: list[str]) -> tuple[Column, ...]:
    """Integer catalog columns PostgreSQL types as oid / oid[] (see OID_COLUMNS), so typed."""
    out = []
    for column, duck in zip(columns, duckdb_types):
        name = column.name.lower()
        duck = duck.upper().strip('"')
        if name in OID_COLUMNS and duck in _INTEGER_TYPES:
            column = Column(column.name, int(Oid.OID), column.type_size, -1)
        elif name in OID_ARRAY_COLUMNS and duck.endswith("[]") and duck[:-2] in _INTEGER_TYPES:
            column = Column(column.name, int(Oid.OID_ARRAY), column.type_size, -1)
        out.append(column)
    return tuple(out)


#: What DuckDB reports (by OID) for a column whose PostgreSQL type it cannot carry; an output
#: type override applies only over its stand-in, so a mismatch never relabels a column.
_STAND_IN = {
    int(Oid.VARCHAR): int(Oid.TEXT), int(Oid.VARCHAR_ARRAY): int(Oid.TEXT_ARRAY),
    int(Oid.JSONB): int(Oid.JSON), int(Oid.JSONB_ARRAY): int(Oid.JSON_ARRAY),
    int(Oid.NUMERIC): int(Oid.NUMERIC), int(Oid.NUMERIC_ARRAY): int(Oid.NUMERIC_ARRAY),
    int(Oid.NAME): int(Oid.TEXT),
}


def _with_output_types(columns: tuple[Column, ...], statement: Transpiled) -> tuple[Column, ...]:
    """PostgreSQL's type for output columns DuckDB types otherwise ('x'::varchar is VARCHAR,
    which reads as text; jsonb is JSON; '12.50'::numeric is DECIMAL(4,2) but numeric without
    typmod; pg_type.typname is name, typtype "char")."""
    if not statement.output_types and not statement.catalog_text_types:
        return columns
    out = list(columns)
    if statement.catalog_text_types:
        by_name = dict(statement.catalog_text_types)
        for i, column in enumerate(out):
            oid = by_name.get(column.name.lower())
            if oid is not None and column.type_oid == int(Oid.TEXT):
                out[i] = Column(column.name, oid, column.type_size, -1, column.table_oid, column.column_number)
    for position, oid, typmod in statement.output_types:
        if position < len(out) and out[position].type_oid == _STAND_IN.get(oid):
            column = out[position]
            out[position] = Column(column.name, oid, column.type_size, typmod, column.table_oid, column.column_number)
    return tuple(out)


def result_columns(description: Sequence[Sequence[Any]], statement: Transpiled) -> tuple[Column, ...]:
    """The columns of `statement`'s result from DuckDB's (name, type, ...) rows: a cursor's
    description or what DESCRIBE answers."""
    columns = tuple(_column(row[0], row[1]) for row in description)
    if statement.reads_catalog:
        columns = _with_catalog_oid_types(columns, [str(row[1]) for row in description])
    return _with_output_types(columns, statement)


def described_columns(con: Any, statement: Transpiled, duck_types: dict[int, str]) -> tuple[Column, ...] | None:
    """On the session thread: the columns `statement` would return, found without running it;
    None when it returns no rows. `duck_types` types each $n."""
    if statement.kind == "query":
        query = statement.tree
    elif statement.returns_rows:
        query = _returning_as_select(statement.tree)
        if query is None:
            return None
    else:
        return None
    bound = with_null_parameters(query, duck_types).sql(dialect="duckdb")
    # DESCRIBE binds the query and reports its columns; it never runs it.
    rows = con.execute(f"DESCRIBE {bound}").fetchall()
    return result_columns(rows, statement)


def _returning_as_select(tree: exp.Expression) -> exp.Expression | None:
    """For INSERT/UPDATE/DELETE ... RETURNING: a SELECT with the same output, to describe it."""
    returning = tree.args.get("returning")
    if returning is None:
        return None
    target = tree.this
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table):
        return None
    return exp.select(*[e.copy() for e in returning.expressions]).from_(target.copy())
