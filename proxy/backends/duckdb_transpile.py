"""From one PostgreSQL statement to what DuckDB runs: classification, transpile, types, errors.

Everything here is pure (no connection): the backend asks DuckDB only for the column types that
parameter inference needs and for the result shape, through callbacks.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from proxy.backends.duckdb_catalog import (
    CHAR_COLUMNS,
    COMPAT_CATALOG,
    NAME_COLUMNS,
    SCHEMA_RELATIONS,
    STATIC_MACROS,
    STATIC_RELATIONS,
    rewrite_catalog_references,
)
from proxy.backends.duckdb_functions import to_duckdb_functions
from proxy.errors import PgError, SqlState
from proxy.sql.sqlglot_compat import OID_MARKER, patch_unparseable_types

# sqlglot logs a warning whenever it falls back to an opaque Command; the backend refuses those
# statements itself, so the warning is noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

# --- utility statements (answered by the session, not transpiled) ---------------------------------

_COMMENT = re.compile(r"^\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.S)


def strip_leading_comments(sql: str) -> str:
    previous = None
    while previous != sql:
        previous = sql
        sql = _COMMENT.sub("", sql, count=1)
    return sql.strip()


@dataclass(frozen=True, slots=True)
class Utility:
    """A transaction-control or run-time-parameter statement the session handles itself."""

    kind: str  # begin, commit, rollback, savepoint, release, rollback_to, set, reset, show, discard, noop
    tag: str
    name: str | None = None
    value: str | None = None


_BEGIN = re.compile(r"^(BEGIN|START\s+TRANSACTION)\b(\s+(WORK|TRANSACTION))?.*$", re.I | re.S)
_COMMIT = re.compile(r"^(COMMIT|END)(\s+(WORK|TRANSACTION))?(\s+AND\s+NO\s+CHAIN)?$", re.I)
_ROLLBACK = re.compile(r"^(ROLLBACK|ABORT)(\s+(WORK|TRANSACTION))?(\s+AND\s+NO\s+CHAIN)?$", re.I)
_SAVEPOINT = re.compile(r"^SAVEPOINT\s+(\"[^\"]+\"|\w+)$", re.I)
_RELEASE = re.compile(r"^RELEASE\s+(?:SAVEPOINT\s+)?(\"[^\"]+\"|\w+)$", re.I)
_ROLLBACK_TO = re.compile(r"^ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\s+(?:SAVEPOINT\s+)?(\"[^\"]+\"|\w+)$", re.I)
_SET = re.compile(
    r"^SET\s+(?:(SESSION|LOCAL)\s+)?(?:(TIME\s+ZONE)|([A-Za-z_][\w.$]*|\"[^\"]+\"))\s*(?:(?:TO|=)\s*)?(.*)$",
    re.I | re.S,
)
_RESET = re.compile(r"^RESET\s+(ALL|[A-Za-z_][\w.$]*|\"[^\"]+\")$", re.I)
_SHOW = re.compile(r"^SHOW\s+(ALL|TIME\s+ZONE|TRANSACTION\s+ISOLATION\s+LEVEL|[A-Za-z_][\w.$]*|\"[^\"]+\")$", re.I)
_FIRST_WORD = re.compile(r"^\(*\s*([A-Za-z_]+)")

#: Statements PostgreSQL knows but this backend does not run (they would reach the file system,
#: the server's configuration, or have no DuckDB meaning).
_PG_UNSUPPORTED = {"COPY", "VACUUM", "ANALYZE", "CHECKPOINT", "LOAD", "CALL", "DO", "CLUSTER",
                   "REINDEX", "LOCK", "GRANT", "REVOKE", "LISTEN", "NOTIFY", "PREPARE", "EXECUTE",
                   "DECLARE", "FETCH", "MOVE", "CLOSE", "REFRESH", "SECURITY", "IMPORT", "REASSIGN"}
#: DuckDB-only statements: PostgreSQL rejects them as syntax errors, and so do we.
_DUCKDB_ONLY = {"ATTACH", "DETACH", "INSTALL", "FORCE", "PRAGMA", "EXPORT", "USE", "SUMMARIZE",
                "DESCRIBE", "PIVOT", "UNPIVOT", "FROM", "UPDATE_EXTENSIONS"}


def _unquote(name: str) -> str:
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    return name.lower()


def _setting_value(raw: str) -> str:
    raw = raw.strip().rstrip(";").strip()
    if raw.upper() == "DEFAULT":
        return "DEFAULT"
    parts = []
    for part in re.findall(r"'(?:[^']|'')*'|\"[^\"]*\"|[^,\s]+", raw):
        if part.startswith("'"):
            parts.append(part[1:-1].replace("''", "'"))
        else:
            parts.append(part)
    return ", ".join(parts)


def classify_utility(sql: str) -> Utility | None:
    """Recognise the statements the session answers itself; None for everything else."""
    text = strip_leading_comments(sql).rstrip().rstrip(";").strip()
    if not text:
        return Utility("noop", "")
    first = text.split(None, 1)[0].upper()
    if first in ("BEGIN", "START"):
        if _BEGIN.match(text):
            return Utility("begin", "BEGIN" if first == "BEGIN" else "START TRANSACTION")
    for pattern, kind, tag in ((_SAVEPOINT, "savepoint", "SAVEPOINT"), (_RELEASE, "release", "RELEASE"),
                               (_ROLLBACK_TO, "rollback_to", "ROLLBACK")):
        m = pattern.match(text)
        if m:
            return Utility(kind, tag, name=_unquote(m.group(1)))
    if _COMMIT.match(text):
        return Utility("commit", "COMMIT")
    if _ROLLBACK.match(text):
        return Utility("rollback", "ROLLBACK")
    if first == "SET":
        if re.match(r"^SET\s+(SESSION\s+CHARACTERISTICS|TRANSACTION)\b", text, re.I):
            return Utility("noop", "SET")
        m = _SET.match(text)
        if m:
            name = "timezone" if m.group(2) else _unquote(m.group(3))
            return Utility("set", "SET", name=name, value=_setting_value(m.group(4)))
    if first == "RESET":
        m = _RESET.match(text)
        if m:
            return Utility("reset", "RESET", name=_unquote(m.group(1)))
    if first == "SHOW":
        m = _SHOW.match(text)
        if m:
            name = re.sub(r"\s+", " ", m.group(1))
            if name.upper() == "TIME ZONE":
                name = "timezone"
            elif name.upper() == "TRANSACTION ISOLATION LEVEL":
                name = "transaction_isolation"
            return Utility("show", "SHOW", name=_unquote(name) if name.upper() != "ALL" else "all")
    if first == "DISCARD":
        return Utility("discard", "DISCARD " + text.split(None, 1)[1].upper() if " " in text else "DISCARD")
    if first == "DEALLOCATE":
        return Utility("noop", "DEALLOCATE ALL" if re.search(r"\bALL\s*$", text, re.I) else "DEALLOCATE")
    if first == "UNLISTEN":
        return Utility("noop", "UNLISTEN")
    m = _FIRST_WORD.match(text)
    word = m.group(1).upper() if m else first
    if word in _DUCKDB_ONLY:
        raise PgError(SqlState.SYNTAX_ERROR, f'syntax error at or near "{text.split(None, 1)[0]}"')
    if word in _PG_UNSUPPORTED:
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"{word} is not supported by the DuckDB warehouse of purpose-proxy",
        )
    return None



# --- PostgreSQL's output column names ----------------------------------------------------------------

_PG_TYPE_COLNAME = {
    "INT": "int4", "BIGINT": "int8", "SMALLINT": "int2", "BOOLEAN": "bool", "TEXT": "text",
    "VARCHAR": "varchar", "CHAR": "bpchar", "FLOAT": "float4", "DOUBLE": "float8", "DECIMAL": "numeric",
    "DATE": "date", "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamptz", "TIME": "time",
    "TIMETZ": "timetz", "INTERVAL": "interval", "JSON": "json", "JSONB": "jsonb", "UUID": "uuid",
    "VARBINARY": "bytea", "BINARY": "bytea", "BLOB": "bytea", "INET": "inet", "NAME": "name",
}

_PG_FUNCTION_COLNAME = {
    "CurrentUser": "current_user", "SessionUser": "session_user", "CurrentDatabase": "current_database",
    "CurrentSchema": "current_schema", "CurrentVersion": "version", "CurrentTimestamp": "now",
    "CurrentDate": "current_date", "CurrentTime": "current_time", "GroupConcat": "string_agg",
    "StrPosition": "strpos", "DateTrunc": "date_trunc", "TimestampTrunc": "date_trunc",
    "Extract": "extract", "Trim": "btrim", "ArrayAgg": "array_agg", "Substring": "substring",
    "RegexpReplace": "regexp_replace", "ToChar": "to_char", "Nullif": "nullif", "Coalesce": "coalesce",
    "Greatest": "greatest", "Least": "least", "Count": "count", "Sum": "sum", "Avg": "avg",
    "Max": "max", "Min": "min", "Lower": "lower", "Upper": "upper", "Length": "length",
    "ArrayToString": "array_to_string", "Round": "round", "Abs": "abs", "Concat": "concat",
    "Md5": "md5", "Unnest": "unnest", "Explode": "unnest", "GenerateSeries": "generate_series",
    "ExplodingGenerateSeries": "generate_series", "Array": "array", "Case": "case", "If": "case",
    "Exists": "exists", "StddevSamp": "stddev_samp", "Stddev": "stddev", "Variance": "variance",
    "StringToArray": "string_to_array", "SplitPart": "split_part", "Left": "left", "Right": "right",
    "Replace": "replace", "Initcap": "initcap", "JSONBuildObject": "json_build_object",
    "JSONObject": "json_build_object", "JSONExtract": "?column?", "JSONExtractScalar": "?column?",
    "RowNumber": "row_number", "Rank": "rank", "DenseRank": "dense_rank", "Lag": "lag", "Lead": "lead",
    "FirstValue": "first_value", "LastValue": "last_value", "Ntile": "ntile", "BoolAnd": "bool_and",
    "BoolOr": "bool_or", "LogicalAnd": "bool_and", "LogicalOr": "bool_or", "Floor": "floor",
    "Ceil": "ceil", "Sqrt": "sqrt", "Pow": "power", "Ln": "ln", "Log": "log", "Exp": "exp",
    "Sign": "sign", "Quantile": "percentile_cont", "PercentileCont": "percentile_cont",
    "CountIf": "count", "Pad": "lpad", "Levenshtein": "levenshtein", "StartsWith": "starts_with",
    "Reverse": "reverse", "Repeat": "repeat", "ToTimestamp": "to_timestamp", "StrToTime": "to_timestamp",
    "StrToDate": "to_date", "DateAdd": "?column?", "Initcap_": "initcap",
}


def _cast_colname(node: exp.Cast) -> str:
    to = node.to
    if isinstance(to, exp.ObjectIdentifier) or (isinstance(to, exp.DataType) and isinstance(to.this, str)):
        return str(to.this).lower()
    if isinstance(to, exp.DataType):
        while to.this == exp.DataType.Type.ARRAY and to.expressions:
            to = to.expressions[0]
        if to.this == exp.DataType.Type.USERDEFINED:
            kind = to.args.get("kind")
            if isinstance(kind, exp.Dot):
                return kind.expression.name.lower()
            return str(kind.name if hasattr(kind, "name") else kind).lower()
        return _PG_TYPE_COLNAME.get(to.this.name, to.this.name.lower())
    return to.name.lower() if to is not None else "?column?"


def pg_column_name(node: exp.Expression) -> tuple[str, int]:
    """PostgreSQL's name for an unaliased output column, with FigureColname's strength (0-2)."""
    if isinstance(node, exp.Paren):
        return pg_column_name(node.this)
    if isinstance(node, exp.Column):
        return node.name, 2
    if isinstance(node, exp.Dot):
        if isinstance(node.expression, exp.Func):
            return pg_column_name(node.expression)
        return node.name, 2
    if isinstance(node, exp.Cast):
        name, strength = pg_column_name(node.this)
        if strength <= 1:
            return _cast_colname(node), 1
        return name, strength
    if isinstance(node, exp.Bracket):
        return pg_column_name(node.this)
    if isinstance(node, exp.Subquery):
        inner = node.this
        if isinstance(inner, exp.Select) and inner.expressions:
            first = inner.expressions[0]
            if isinstance(first, exp.Alias):
                return first.alias, 2
            return pg_column_name(first)
        return "?column?", 0
    if isinstance(node, exp.Boolean):
        return "bool", 1
    if isinstance(node, exp.Anonymous):
        return str(node.this).split(".")[-1].lower(), 2
    if isinstance(node, exp.Func) or isinstance(node, (exp.Case, exp.Exists, exp.Array)):
        name = _PG_FUNCTION_COLNAME.get(type(node).__name__)
        if name is None:
            name = node.sql_name().lower() if isinstance(node, exp.Func) else "?column?"
        return name, 2 if name != "?column?" else 0
    if isinstance(node, exp.Window):
        return pg_column_name(node.this)
    if isinstance(node, exp.Filter):
        return pg_column_name(node.this)
    if isinstance(node, exp.Interval):
        return "interval", 1
    return "?column?", 0


def _output_selects(tree: exp.Expression) -> list[list[exp.Expression]]:
    """The expression lists whose names become the RowDescription (or a CTAS table's columns)."""
    if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
        return _output_selects(tree.expression)
    if isinstance(tree, exp.SetOperation):
        return _output_selects(tree.this)
    if isinstance(tree, exp.Subquery):
        return _output_selects(tree.this)
    if isinstance(tree, exp.Select):
        return [tree.expressions]
    returning = tree.args.get("returning")
    if isinstance(returning, exp.Returning):
        return [returning.expressions]
    return []


def apply_pg_column_names(tree: exp.Expression) -> None:
    """Alias output expressions the way PostgreSQL names them (DuckDB would print the expression)."""
    for expressions in _output_selects(tree):
        for i, node in enumerate(expressions):
            if isinstance(node, exp.Column) and not node.table and not node.this.quoted \
                    and node.name.lower() in ("user", "current_role", "current_catalog"):
                node.replace(exp.Alias(this=node.copy(), alias=exp.to_identifier(node.name.lower(), quoted=True)))
                continue
            if isinstance(node, (exp.Alias, exp.Star, exp.Column)) or (
                isinstance(node, exp.Dot) and not isinstance(node.expression, exp.Func)
            ):
                continue
            if isinstance(node, exp.Column) or node.find(exp.Star) is node:
                continue
            name, _strength = pg_column_name(node)
            alias = exp.Alias(this=node.copy(), alias=exp.to_identifier(name, quoted=True))
            node.replace(alias)


# --- PostgreSQL types DuckDB cannot carry -------------------------------------------------------------

_DT = exp.DataType.Type
#: PostgreSQL functions returning jsonb (DuckDB computes them as JSON).
_JSONB_FUNCTIONS = frozenset({"jsonb_build_object", "jsonb_build_array", "to_jsonb", "jsonb_agg",
                              "jsonb_object_agg", "jsonb_strip_nulls", "jsonb_set", "jsonb_insert"})
_MAX_DECIMAL_WIDTH = 38
#: What an unconstrained numeric is in DuckDB when nothing says better: 28 digits before the
#: point, 10 after (DuckDB's bare DECIMAL would be DECIMAL(18,3)).
GENERIC_DECIMAL = "DECIMAL(38,10)"
_NUMERIC_TEXT = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*")


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


def decimal_type_for(value: object) -> str | None:
    """DECIMAL(p,s) holding `value` exactly, with its own scale (PostgreSQL's numeric keeps
    the scale a value was written with); None when DuckDB's DECIMAL cannot."""
    from decimal import Decimal, InvalidOperation

    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        width = max(len(str(abs(value))), 1)
        return f"DECIMAL({width},0)" if width <= _MAX_DECIMAL_WIDTH else None
    if isinstance(value, str):
        if not _NUMERIC_TEXT.fullmatch(value):
            return None
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            return None
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    integer_digits = max(len(digits) + exponent, 0)
    width = max(integer_digits + scale, 1)
    if width > _MAX_DECIMAL_WIDTH:
        if integer_digits > _MAX_DECIMAL_WIDTH:
            return None
        scale = _MAX_DECIMAL_WIDTH - max(integer_digits, 1)  # rounded: DuckDB has 38 digits at most
        width = _MAX_DECIMAL_WIDTH
    return f"DECIMAL({width},{scale})"


def _literal_text(node: exp.Expression) -> str | None:
    """The text of a string (or E'' string) or number literal, as PostgreSQL's input function sees it."""
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.ByteString):  # E'...': sqlglot has already resolved the escapes
        return str(node.this)
    return None


def _bytea_literal(text: str) -> exp.Expression:
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
            from decimal import Decimal

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


# --- DuckDB type names ---------------------------------------------------------------------------

_DUCKDB_TYPE_ALIASES = {
    "INT": "INTEGER", "INT4": "INTEGER", "INT32": "INTEGER", "SIGNED": "INTEGER", "INT8": "BIGINT",
    "INT64": "BIGINT", "LONG": "BIGINT", "INT2": "SMALLINT", "INT16": "SMALLINT", "SHORT": "SMALLINT",
    "INT1": "TINYINT", "TEXT": "VARCHAR", "STRING": "VARCHAR", "CHAR": "VARCHAR", "BPCHAR": "VARCHAR",
    "NVARCHAR": "VARCHAR", "FLOAT4": "FLOAT", "REAL": "FLOAT", "FLOAT8": "DOUBLE", "NUMERIC": "DECIMAL(18,3)",
    "DECIMAL": "DECIMAL(18,3)", "BOOL": "BOOLEAN", "LOGICAL": "BOOLEAN", "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
    "TIMETZ": "TIME WITH TIME ZONE", "BYTEA": "BLOB", "VARBINARY": "BLOB", "BINARY": "BLOB", "JSONB": "JSON",
    "DATETIME": "TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
}


def normalize_duckdb_type(text: str) -> str:
    """DuckDB's canonical spelling of a type (as duckdb_columns() prints it), for OID lookup."""
    t = re.sub(r"\s+", " ", text.strip().strip('"')).upper()
    if t.endswith("[]"):
        return normalize_duckdb_type(t[:-2]) + "[]"
    m = re.fullmatch(r"(?:DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", t)
    if m:
        return f"DECIMAL({m.group(1)},{m.group(2) or 0})"
    t = re.sub(r"^(VARCHAR|CHAR|BPCHAR|TEXT|STRING)\s*\(\s*\d+\s*\)$", "VARCHAR", t)
    return _DUCKDB_TYPE_ALIASES.get(t, t)

# --- transpile -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transpiled:
    """One statement ready for DuckDB. `tree` is shared (cached): copy before changing it."""

    kind: str  # query, insert, update, delete, ctas, ddl, explain
    tag: str  # the CommandComplete verb: SELECT, INSERT, UPDATE, DELETE, CREATE TABLE ...
    duckdb_sql: str
    tree: exp.Expression
    returns_rows: bool
    parameter_count: int
    #: $n -> PostgreSQL OID where the statement itself says so in a way DuckDB types lose ($1::oid[]).
    declared_parameter_oids: tuple[tuple[int, int], ...] = ()
    #: Whether the statement reads the pg_catalog compat views (its oid columns are typed oid).
    reads_catalog: bool = False
    #: (output position, PostgreSQL OID, typmod) of top-level output columns whose PostgreSQL type
    #: DuckDB cannot carry (varchar and jsonb are VARCHAR and JSON there, unconstrained numeric
    #: has a fixed scale): RowDescription and the encoders use these instead.
    output_types: tuple[tuple[int, int, int], ...] = ()
    #: Output column name -> name (19) or "char" (18), for catalog columns PostgreSQL types so
    #: (DuckDB holds them as VARCHAR); applied by name, as `*` over a CTE keeps the names.
    catalog_text_types: tuple[tuple[str, int], ...] = ()
    #: $n cast to unconstrained numeric: bound as DECIMAL with the value's own precision and
    #: scale at execution (DuckDB's DECIMAL has a fixed scale, PostgreSQL's numeric keeps the value's).
    numeric_parameters: frozenset[int] = frozenset()
    #: Reads only compat catalog relations (and its own CTEs): its shape never changes.
    compat_only: bool = False
    #: When its rows are a function of its parameters and of the listed schema-following compat
    #: relations only (static catalogs, deterministic functions): those relations; else None.
    catalog_result_deps: frozenset[str] | None = None


def _ddl_tag(tree: exp.Expression) -> str:
    kind = str(tree.args.get("kind") or "").upper()
    if isinstance(tree, exp.Create):
        return f"CREATE {kind}".strip() if kind != "MACRO" else "CREATE FUNCTION"
    if isinstance(tree, exp.Drop):
        return f"DROP {kind}".strip()
    if isinstance(tree, exp.Alter):
        return f"ALTER {kind or 'TABLE'}"
    if isinstance(tree, exp.TruncateTable):
        return "TRUNCATE TABLE"
    if isinstance(tree, exp.Comment):
        return "COMMENT"
    return type(tree).__name__.upper()


def _parameter_numbers(tree: exp.Expression) -> list[int]:
    numbers = []
    for node in tree.find_all(exp.Parameter, exp.Placeholder):
        name = node.name if isinstance(node, exp.Parameter) else str(node.this or "")
        if str(name).isdigit():
            numbers.append(int(name))
    return numbers


def _syntax_error(sql: str, error: Exception) -> PgError:
    """PostgreSQL's own message when PostgreSQL's parser (pglast) also rejects the text."""
    try:
        import pglast

        pglast.parser.parse_sql(sql)
    except Exception as pg_error:  # pglast.parser.ParseError
        message = pg_error.args[0] if pg_error.args else str(pg_error)
        return PgError(SqlState.SYNTAX_ERROR, str(message))
    else:
        return PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            "statement is valid PostgreSQL but cannot be translated for the DuckDB warehouse: "
            + str(error).splitlines()[0],
        )
    near = None
    if isinstance(error, ParseError) and error.errors:
        near = error.errors[0].get("highlight")
    if near:
        return PgError(SqlState.SYNTAX_ERROR, f'syntax error at or near "{near}"')
    return PgError(SqlState.SYNTAX_ERROR, f"syntax error: {str(error).splitlines()[0]}")


@functools.lru_cache(maxsize=4096)
def transpile(sql: str) -> Transpiled:
    """Parse `sql` (PostgreSQL), apply the catalog compat rewrite, write DuckDB SQL. Cached on the text."""
    patched = patch_unparseable_types(sql)
    try:
        statements = [s for s in sqlglot.parse(patched, read="postgres") if s is not None]
    except (ParseError, TokenError) as error:
        raise _syntax_error(sql, error) from None
    if not statements:
        raise PgError(SqlState.SYNTAX_ERROR, "empty statement")
    if len(statements) > 1:
        raise PgError(SqlState.SYNTAX_ERROR, "cannot insert multiple commands into a prepared statement")
    tree = statements[0]

    if isinstance(tree, (exp.Command, exp.Set, exp.Pragma, exp.Use)) or type(tree).__name__ in (
        "Copy", "Grant", "Revoke", "Install", "Attach", "Detach", "Export", "Summarize", "Describe",
    ):
        verb = tree.name.upper() if isinstance(tree, exp.Command) else type(tree).__name__.upper()
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"{verb} is not supported by the DuckDB warehouse of purpose-proxy",
        )

    declared = _oid_parameters(tree)
    try:
        output_types = pg_output_types(tree)
        catalog_types = catalog_text_types(tree)
        apply_pg_column_names(tree)
        tree = rewrite_catalog_references(tree)
        numeric_parameters = rewrite_pg_literal_types(tree)
        tree = to_duckdb_functions(tree)
    except PgError:
        raise
    except Exception as error:  # a tree shape the rewrite does not expect: refuse, never guess
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      f"cannot translate statement for DuckDB: {type(error).__name__}: {error}") from None

    if isinstance(tree, (exp.Query, exp.Values)):
        kind, tag, returns_rows = "query", "SELECT", True
    elif isinstance(tree, exp.Insert):
        kind, tag = "insert", "INSERT"
        returns_rows = tree.args.get("returning") is not None
    elif isinstance(tree, exp.Update):
        kind, tag = "update", "UPDATE"
        returns_rows = tree.args.get("returning") is not None
    elif isinstance(tree, exp.Delete):
        kind, tag = "delete", "DELETE"
        returns_rows = tree.args.get("returning") is not None
    elif isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query) \
            and str(tree.args.get("kind") or "").upper() == "TABLE":
        kind, tag, returns_rows = "ctas", "SELECT", False
    elif isinstance(tree, (exp.Create, exp.Drop, exp.Alter, exp.TruncateTable, exp.Comment)):
        kind, tag, returns_rows = "ddl", _ddl_tag(tree), False
    else:
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"{type(tree).__name__.upper()} statements are not supported by the DuckDB warehouse of purpose-proxy",
        )
    try:
        duckdb_sql = tree.sql(dialect="duckdb")
    except Exception as error:  # sqlglot UnsupportedError and friends
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"cannot translate statement for DuckDB: {error}") from None
    numbers = _parameter_numbers(tree)
    reads_catalog = any(t.catalog.lower() == "pg_compat" for t in referenced_tables(tree))
    compat_only, result_deps = _catalog_dependencies(tree) if kind == "query" and reads_catalog else (False, None)
    return Transpiled(kind, tag, duckdb_sql, tree, returns_rows, max(numbers, default=0), declared, reads_catalog,
                      output_types=output_types if returns_rows else (),
                      catalog_text_types=catalog_types if reads_catalog and returns_rows else (),
                      numeric_parameters=numeric_parameters, compat_only=compat_only,
                      catalog_result_deps=result_deps)


#: Functions whose value depends on their arguments only.
_DETERMINISTIC = (exp.And, exp.Or, exp.Not, exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Coalesce,
                  exp.ArrayAgg, exp.Count, exp.Min, exp.Max, exp.Any)


def _catalog_dependencies(tree: exp.Expression) -> tuple[bool, frozenset[str] | None]:
    """(compat_only, catalog_result_deps) of a query that reads the compat catalog."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    dynamic: set[str] = set()
    deterministic = True
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            return False, None  # a table function
        name = table.name
        if table.catalog.lower() == COMPAT_CATALOG:
            if name in SCHEMA_RELATIONS:
                dynamic.add(name)
            elif name not in STATIC_RELATIONS:
                deterministic = False
        elif not (not table.catalog and not table.db and name.lower() in ctes):
            return False, None
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            if str(node.this).lower() not in STATIC_MACROS:
                deterministic = False
        elif isinstance(node, exp.Func) and not isinstance(node, _DETERMINISTIC):
            deterministic = False
    return True, frozenset(dynamic) if deterministic else None


def _oid_parameters(tree: exp.Expression) -> tuple[tuple[int, int], ...]:
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


# --- parameter type inference -----------------------------------------------------------------------

ColumnTypes = Mapping[tuple[str, str, str], Mapping[str, str]]  # (catalog, schema, table) -> col -> type


def referenced_tables(tree: exp.Expression) -> list[exp.Table]:
    return [t for t in tree.find_all(exp.Table) if isinstance(t.this, exp.Identifier)]


class _Scope:
    """Resolves a column reference to a DuckDB type through the tables the statement names."""

    def __init__(self, tree: exp.Expression, columns: ColumnTypes, default_catalog: str,
                 search_path: list[str]) -> None:
        self.columns = columns
        self.by_alias: dict[str, list[Mapping[str, str]]] = {}
        self.all: list[Mapping[str, str]] = []
        for table in referenced_tables(tree):
            cols = self._lookup(table, default_catalog, search_path)
            if cols is None:
                continue
            self.all.append(cols)
            self.by_alias.setdefault(table.alias_or_name.lower(), []).append(cols)
            self.by_alias.setdefault(table.name.lower(), []).append(cols)

    def _lookup(self, table: exp.Table, default_catalog: str, search_path: list[str]) -> Mapping[str, str] | None:
        name = table.name.lower()
        catalog = table.catalog.lower() or None
        schema = table.db.lower() or None
        candidates = []
        for (cat, sch, tbl), cols in self.columns.items():
            if tbl.lower() != name:
                continue
            if catalog and cat.lower() != catalog:
                continue
            if schema and sch.lower() != schema:
                continue
            if not catalog and not schema and cat.lower() not in (default_catalog.lower(), "temp"):
                continue
            candidates.append((sch, cat, cols))
        if not candidates:
            return None
        if not schema:
            for sch in search_path:
                for cand in candidates:
                    if cand[0].lower() == sch.lower():
                        return cand[2]
        return candidates[0][2]

    def column_type(self, column: exp.Column) -> str | None:
        name = column.name.lower()
        tables = self.by_alias.get(column.table.lower(), []) if column.table else self.all
        for cols in tables:
            for col, typ in cols.items():
                if col.lower() == name:
                    return typ
        return None


def _literal_type(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "VARCHAR"
        return "INTEGER" if re.fullmatch(r"-?\d+", node.this) and abs(int(node.this)) < 2**31 else (
            "BIGINT" if re.fullmatch(r"-?\d+", node.this) else "DECIMAL(18,3)")
    if isinstance(node, exp.Boolean):
        return "BOOLEAN"
    return None


def _expression_type(node: exp.Expression, scope: _Scope) -> str | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        return scope.column_type(node)
    if isinstance(node, exp.Cast):
        return normalize_duckdb_type(node.to.sql(dialect="duckdb"))
    return _literal_type(node)


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
                exp.Like, exp.ILike, exp.SimilarTo, exp.RegexpLike, exp.RegexpILike)
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.IntDiv)


def _insert_column_types(insert: exp.Insert, scope: _Scope, columns: ColumnTypes,
                         default_catalog: str) -> list[str | None]:
    target = insert.this
    names: list[str] | None = None
    if isinstance(target, exp.Schema):
        names = [c.name for c in target.expressions]
        target = target.this
    if not isinstance(target, exp.Table):
        return []
    table_cols = scope._lookup(target, default_catalog, ["main"])
    if table_cols is None:
        return []
    if names is None:
        return list(table_cols.values())
    lowered = {k.lower(): v for k, v in table_cols.items()}
    return [lowered.get(n.lower()) for n in names]


def infer_parameter_types(tree: exp.Expression, columns: ColumnTypes, *, default_catalog: str,
                          search_path: list[str]) -> dict[int, str]:
    """DuckDB type of each $n, from where it stands, as PostgreSQL resolves unknown parameters.

    What is not decided by context is left out (the caller treats it as text).
    """
    scope = _Scope(tree, columns, default_catalog, search_path)
    found: dict[int, str] = {}
    insert_types: list[str | None] | None = None

    for param in tree.find_all(exp.Parameter, exp.Placeholder):
        name = param.name if isinstance(param, exp.Parameter) else str(param.this or "")
        if not str(name).isdigit():
            continue
        number = int(name)
        if number in found:
            continue
        node: exp.Expression = param
        parent = node.parent
        while isinstance(parent, exp.Paren):
            node, parent = parent, parent.parent
        typ: str | None = None
        if isinstance(parent, exp.Cast) and node is parent.this:
            typ = normalize_duckdb_type(parent.to.sql(dialect="duckdb"))
        elif isinstance(parent, (exp.Limit, exp.Offset, exp.Fetch)):
            typ = "BIGINT"
        elif isinstance(parent, _COMPARISONS):
            other = parent.expression if node is parent.this else parent.this
            typ = _expression_type(other, scope)
            if isinstance(parent, (exp.Like, exp.ILike, exp.SimilarTo, exp.RegexpLike, exp.RegexpILike)):
                typ = typ or "VARCHAR"
        elif isinstance(parent, exp.In) and node is not parent.this:
            typ = _expression_type(parent.this, scope)
        elif isinstance(parent, exp.Between) and node is not parent.this:
            typ = _expression_type(parent.this, scope)
        elif isinstance(parent, _ARITHMETIC):
            other = parent.expression if node is parent.this else parent.this
            typ = _expression_type(other, scope)
        elif isinstance(parent, exp.Any):
            outer = parent.parent
            while isinstance(outer, exp.Paren):
                outer = outer.parent
            if isinstance(outer, _COMPARISONS):
                other = outer.this if outer.expression is parent else outer.expression
                element = _expression_type(other, scope)
                typ = f"{element}[]" if element else None
        elif isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values) \
                and isinstance(parent.parent.parent, exp.Insert):
            if insert_types is None:
                insert_types = _insert_column_types(parent.parent.parent, scope, columns, default_catalog)
            index = parent.expressions.index(node)
            typ = insert_types[index] if index < len(insert_types) else None
        elif isinstance(parent, exp.EQ) and isinstance(parent.parent, exp.Update):
            typ = _expression_type(parent.this, scope)
        if typ:
            found[number] = typ
    return found


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
        if isinstance(node, (exp.Parameter, exp.Placeholder)):
            name = node.name if isinstance(node, exp.Parameter) else str(node.this or "")
            if str(name).isdigit():
                duck = types.get(int(name), "VARCHAR")
                return exp.Cast(this=exp.Null(), to=exp.DataType.build(duck, dialect="duckdb"))
        return node

    return tree.copy().transform(replace, copy=False)


def returning_as_select(tree: exp.Expression) -> exp.Expression | None:
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


# --- errors ------------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")


def _clean(message: str) -> str:
    message = message.split("\n\nLINE ", 1)[0].split("\nLINE ", 1)[0].strip()
    message = _PREFIX.sub("", message, count=1)
    return message.strip()


_PG_TYPE_NAMES = {"INT32": "integer", "INT64": "bigint", "INT16": "smallint", "INT8": "smallint",
                  "DOUBLE": "double precision", "FLOAT": "real", "BOOL": "boolean", "DATE": "date",
                  "TIMESTAMP": "timestamp", "UUID": "uuid", "INTERVAL": "interval", "DECIMAL": "numeric",
                  "INTEGER": "integer", "BIGINT": "bigint", "SMALLINT": "smallint", "BOOLEAN": "boolean",
                  "TIME": "time"}


def _qualified_relation(name: str, tree: exp.Expression | None) -> str:
    """DuckDB names only the table; PostgreSQL repeats the reference as written (shop.nope)."""
    if tree is not None:
        for table in referenced_tables(tree):
            if table.name == name and table.db:
                return f"{table.db}.{table.name}"
    return name


def map_duckdb_error(error: BaseException, tree: exp.Expression | None = None) -> PgError:
    """The PostgreSQL error a PostgreSQL user would expect for a DuckDB exception."""
    import duckdb

    kind = type(error).__name__
    raw = str(error)
    message = _clean(raw)

    if isinstance(error, duckdb.InterruptException):
        return PgError(SqlState.QUERY_CANCELED, "canceling statement due to user request")
    if isinstance(error, duckdb.TransactionException):
        if "aborted" in raw.lower():
            return PgError(
                SqlState.IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            )
        if "conflict" in raw.lower():
            return PgError("40001", "could not serialize access due to concurrent update", detail=message)
        return PgError(SqlState.INVALID_TRANSACTION_STATE, message)
    if isinstance(error, duckdb.ParserException):
        m = re.search(r'syntax error at or near "([^"]*)"', raw)
        if m:
            return PgError(SqlState.SYNTAX_ERROR, f'syntax error at or near "{m.group(1)}"')
        if "syntax error at end of input" in raw:
            return PgError(SqlState.SYNTAX_ERROR, "syntax error at end of input")
        return PgError(SqlState.SYNTAX_ERROR, message)
    if isinstance(error, duckdb.ConstraintException):
        m = re.search(r'Duplicate key "([^"]*)" violates (primary key|unique) constraint', raw)
        if m:
            key = m.group(1)
            col, _, val = key.partition(": ")
            return PgError("23505", "duplicate key value violates unique constraint",
                           detail=f"Key ({col})=({val}) already exists.")
        m = re.search(r'NOT NULL constraint failed: ([\w."]+)', raw)
        if m:
            table, _, column = m.group(1).replace('"', "").rpartition(".")
            return PgError("23502", f'null value in column "{column}" of relation "{table}" violates not-null constraint')
        if "foreign key" in raw.lower():
            return PgError("23503", message)
        if "check constraint" in raw.lower():
            return PgError("23514", message)
        return PgError("23000", message)
    if isinstance(error, duckdb.ConversionException):
        m = re.search(r"Could not convert string '([^']*)' to (\w+)", raw)
        if m:
            pg_type = _PG_TYPE_NAMES.get(m.group(2).upper(), m.group(2).lower())
            return PgError(SqlState.INVALID_TEXT_REPRESENTATION,
                           f'invalid input syntax for type {pg_type}: "{m.group(1)}"')
        if "out of range" in raw.lower() or "overflow" in raw.lower():
            return PgError("22003", message)
        return PgError(SqlState.INVALID_TEXT_REPRESENTATION, message)
    if isinstance(error, duckdb.OutOfRangeException):
        return PgError("22003", message)
    if "Division by zero" in raw or "division by zero" in raw:
        return PgError(SqlState.DIVISION_BY_ZERO, "division by zero")
    if isinstance(error, duckdb.CatalogException):
        m = re.search(r"Table with name ([^ ]+) does not exist", raw)
        if m:
            relation = _qualified_relation(m.group(1), tree)
            return PgError(SqlState.UNDEFINED_TABLE, f'relation "{relation}" does not exist')
        m = re.search(r"Schema with name ([^ ]+) does not exist", raw)
        if m:
            return PgError("3F000", f'schema "{m.group(1)}" does not exist')
        m = re.search(r"(?:Scalar|Table|Aggregate|Macro) Function with name ([^ ]+) does not exist", raw)
        if m:
            return PgError(SqlState.UNDEFINED_FUNCTION, f"function {m.group(1)} does not exist",
                           hint="No function matches the given name and argument types.")
        m = re.search(r"with name \"?([^\" ]+)\"? already exists", raw)
        if m:
            return PgError("42P07", f'relation "{m.group(1)}" already exists')
        m = re.search(r"Type with name ([^ ]+) does not exist", raw)
        if m:
            return PgError(SqlState.UNDEFINED_OBJECT, f'type "{m.group(1)}" does not exist')
        if "does not exist" in raw:
            return PgError(SqlState.UNDEFINED_OBJECT, message)
        return PgError(SqlState.UNDEFINED_TABLE, message)
    if isinstance(error, duckdb.BinderException):
        m = re.search(r'Referenced column "?([^"]+?)"? not found', raw)
        if m:
            return PgError(SqlState.UNDEFINED_COLUMN, f'column "{m.group(1)}" does not exist')
        m = re.search(r'Referenced table "?([^"]+?)"? not found', raw)
        if m:
            return PgError(SqlState.UNDEFINED_TABLE, f'missing FROM-clause entry for table "{m.group(1)}"')
        m = re.search(r'Table "?([^"]+?)"? does not have a column named "?([^"]+?)"?(\s|$)', raw)
        if m:
            return PgError(SqlState.UNDEFINED_COLUMN,
                           f'column "{m.group(2)}" of relation "{m.group(1)}" does not exist')
        if "No function matches" in raw or "Could not choose a best candidate" in raw:
            return PgError(SqlState.UNDEFINED_FUNCTION, message,
                           hint="You might need to add explicit type casts.")
        if "must appear in the GROUP BY clause" in raw or "GROUP BY" in raw:
            return PgError("42803", message)
        if "Cannot compare values" in raw or "cannot be cast" in raw.lower():
            return PgError("42804", message)
        return PgError("42000", message)
    if isinstance(error, duckdb.PermissionException):
        return PgError(SqlState.INSUFFICIENT_PRIVILEGE, f"permission denied: {message}")
    if isinstance(error, duckdb.InvalidInputException):
        if "configuration has been locked" in raw or "Cannot change configuration" in raw:
            return PgError("55P02", message)
        return PgError(SqlState.INVALID_PARAMETER_VALUE, message)
    if isinstance(error, duckdb.NotImplementedException):
        return PgError(SqlState.FEATURE_NOT_SUPPORTED, message)
    if isinstance(error, duckdb.OutOfMemoryException):
        return PgError("53200", "out of memory", detail=message)
    if isinstance(error, PgError):
        return error
    return PgError(SqlState.INTERNAL_ERROR, f"{kind}: {message}" if message else kind)
