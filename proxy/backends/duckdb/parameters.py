"""Parameter values as DuckDB binds them, and the SQL that types them as PostgreSQL would.

DuckDB types a bound value by its Python type; PostgreSQL types `$n` by where it stands. So a
text value for an integer column is cast in SQL, a value for an unconstrained numeric is cast
to the DECIMAL of its own precision and scale, and an interval travels as text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlglot import exp

from proxy.backends.duckdb.duckdb_types import MAX_DECIMAL_DIGITS, decimal_type_for
from proxy.backends.duckdb.sql_tree import parameter_number
from proxy.wire.types import Interval


def bindable(value: object) -> object:
    """A decoded parameter as DuckDB's Python API can bind it."""
    if isinstance(value, Interval):
        # DuckDB keeps months, days and microseconds apart, but binds only timedelta (one
        # number) or text; its interval input reads this spelling exactly (not PostgreSQL's
        # '-1 days +23:59:55'). The statement casts it to INTERVAL (explicitly or as described).
        return f"{value.months} months {value.days} days {value.microseconds} microseconds"
    if type(value) is list and any(isinstance(v, (Interval, list)) for v in value):
        return [bindable(v) for v in value]  # interval[]: text elements, cast by the statement
    return value


def numeric_parameter_types(numeric_parameters: frozenset[int], params: Sequence[object]) -> dict[int, str]:
    """For each $n the statement casts to unconstrained numeric: the DECIMAL of its value."""
    out: dict[int, str] = {}
    for n in numeric_parameters:
        if n - 1 < len(params) and params[n - 1] is not None:
            exact = decimal_type_for(params[n - 1])
            if exact is not None:
                out[n] = exact
    return out


def wide_decimals_as_text(numeric_parameters: frozenset[int], params: list[object]) -> None:
    """In place: a Decimal of more digits than DuckDB's DECIMAL holds becomes its text.

    DuckDB would bind it as a double; as text, the cast to DECIMAL(38,s) rounds it exactly.
    """
    for n in numeric_parameters:
        value = params[n - 1] if n - 1 < len(params) else None
        if isinstance(value, Decimal) and len(value.as_tuple().digits) > MAX_DECIMAL_DIGITS:
            params[n - 1] = format(value, "f")


def text_value_casts(types: Mapping[int, str], params: Sequence[object]) -> dict[int, str]:
    """Text values for typed placeholders: cast them in SQL, as PostgreSQL would coerce them."""
    return {
        n: t for n, t in types.items()
        if n - 1 < len(params) and isinstance(params[n - 1], str) and t.upper() not in ("VARCHAR", "TEXT")
    }


def with_parameter_casts(tree: exp.Expression, casts: Mapping[int, str],
                         numeric: Mapping[int, str] | None = None) -> str:
    """DuckDB SQL of `tree` where each $n in `casts` reads CAST($n AS type), and each $n in
    `numeric` (cast to unconstrained numeric in the statement) is cast to that DECIMAL instead."""
    def cast(node: exp.Expression) -> exp.Expression:
        if numeric and isinstance(node, exp.Cast) and isinstance(node.this, exp.Parameter) \
                and node.this.name.isdigit() and int(node.this.name) in numeric:
            node.set("to", exp.DataType.build(numeric[int(node.this.name)], dialect="duckdb"))
            return node
        if isinstance(node, exp.Parameter) and node.name.isdigit() and int(node.name) in casts:
            if isinstance(node.parent, exp.Cast):
                return node
            return exp.Cast(this=node.copy(), to=exp.DataType.build(casts[int(node.name)], dialect="duckdb"))
        return node

    return tree.copy().transform(cast, copy=False).sql(dialect="duckdb")


def with_null_parameters(tree: exp.Expression, types: Mapping[int, str]) -> exp.Expression:
    """A copy of `tree` where each $n is a typed NULL, so the statement binds without values."""
    def replace(node: exp.Expression) -> exp.Expression:
        number = parameter_number(node)
        if number is not None:
            duck = types.get(number, "VARCHAR")
            return exp.Cast(this=exp.Null(), to=exp.DataType.build(duck, dialect="duckdb"))
        return node

    return tree.copy().transform(replace, copy=False)


class ParameterCasts:
    """One session's memory of parameter casts, most recently used kept.

    * SQL text -> each $n's DuckDB type as Describe reported it (cast in SQL), so that
      executing a described statement yields exactly the described column types (a binary
      int2 parameter must not come back as int4);
    * (SQL text, casts, per-value numeric types) -> the DuckDB SQL with those casts.
    """

    MAX_DESCRIBED = 256
    MAX_CAST_SQL = 512

    def __init__(self) -> None:
        self._described: OrderedDict[str, dict[int, str]] = OrderedDict()
        self._cast_sql: OrderedDict[tuple[object, ...], str] = OrderedDict()

    def described(self, sql: str) -> dict[int, str] | None:
        """The casts Describe chose for `sql`, if it was described."""
        return self._described.get(sql)

    def remember(self, sql: str, casts: dict[int, str]) -> None:
        self._described[sql] = casts
        self._described.move_to_end(sql)
        while len(self._described) > self.MAX_DESCRIBED:
            self._described.popitem(last=False)

    def sql_with_casts(self, sql: str, tree: exp.Expression, casts: Mapping[int, str],
                       numeric: Mapping[int, str]) -> str:
        """The DuckDB SQL of `tree` (the statement `sql`) with these parameter casts."""
        key = (sql, tuple(sorted(casts.items())), tuple(sorted(numeric.items())))
        duck_sql = self._cast_sql.get(key)
        if duck_sql is None:
            duck_sql = with_parameter_casts(tree, casts, numeric)
            self._cast_sql[key] = duck_sql
            while len(self._cast_sql) > self.MAX_CAST_SQL:
                self._cast_sql.popitem(last=False)
        else:
            self._cast_sql.move_to_end(key)
        return duck_sql
