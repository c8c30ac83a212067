"""PostgreSQL's names for unaliased output columns (FigureColname).

Used where an expression is rewritten (DuckDB would name `count(*)` "count_star()"; a k guard
wraps an aggregate in CASE, which PostgreSQL would name "case") so the client still sees the
name PostgreSQL gives what it wrote.
"""

from __future__ import annotations

from sqlglot import exp

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
    "StrToDate": "to_date", "DateAdd": "?column?",
}


def _cast_colname(node: exp.Cast) -> str:
    """The name a cast gives its column when its operand has none: the type's name."""
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
