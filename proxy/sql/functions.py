"""Allow-lists of the functions, operators and types a consumer's statement may use.

Column lineage only covers what a statement reads through column references. A function can
read data by other means: `query_to_xml('SELECT email FROM shop.customers', ...)` runs SQL
text, `ts_stat`, `dblink`, `pg_read_file`, `lo_get` and any user-defined function read what
they like, `pg_stat_get_activity` shows the SQL (and literals) of other sessions. No lineage
can follow those, so functions are allowed by name from explicit lists of PostgreSQL
built-ins that compute only from their arguments or from schema metadata, and everything else
is refused: unknown is never allowed.

Rules (`is_allowed_function`):
- a function is allowed only if its name is listed below and it is written unqualified or
  qualified with `pg_catalog`; any other schema (`public.f`, `dblink.dblink`, `shop.mask`) is
  refused, because it names a user or extension function;
- the one exception is `information_schema._pg_expandarray`, a SQL function that ships with
  PostgreSQL (only a superuser can create objects in `information_schema`) and that pgJDBC's
  getPrimaryKeys / getIndexInfo, hence most JDBC BI tools, call; it is allowed only when
  qualified, since the bare name would resolve through the search path;
- names are compared exactly as PostgreSQL folds them (`"LOWER"(x)` is a different function
  from `lower(x)` and is refused).

An unqualified name resolves through the search path with `pg_catalog` first, so it reaches
the built-in unless the warehouse itself holds a same-named function with a closer argument
type (CVE-2018-1058). Consumers cannot create functions through the proxy; the warehouse's
owners should keep `public` free of CREATE for the proxy's role.

Decisions on borderline functions (each is a line in one of the sets below):
- allowed: format, quote_ident/quote_literal/quote_nullable (build SQL text, never run it),
  encode/decode, convert_to/convert_from, md5/sha*, random and gen_random_uuid (volatile but
  read nothing), row_to_json/to_json/to_jsonb/json_agg (whole-row reads are the analyzer's job,
  as for any whole-row reference), current_setting (reads settings, not data), version,
  pg_backend_pid, pg_postmaster_start_time;
- allowed catalog helpers: exactly those that psql's describe commands, SQLAlchemy 2's
  reflection and pgJDBC's DatabaseMetaData call (see tests/test_functions.py, which feeds the
  captured queries through this module), plus their obvious siblings (the *_is_visible family,
  to_reg*). pg_get_expr, pg_get_constraintdef, pg_get_indexdef, pg_get_triggerdef and
  pg_get_partkeydef print schema definitions, which `\\d` needs;
- allowed sizes: pg_table_size, pg_relation_size, pg_total_relation_size, pg_indexes_size,
  pg_database_size, pg_size_pretty: `\\dt+`, `\\l+` and BI tools show them, and they tell no
  more than pg_class.relpages / reltuples, which PostgreSQL lets every role read;
- refused, definitions that can carry data or policy: pg_get_viewdef, pg_get_ruledef,
  pg_get_functiondef, pg_get_function_sqlbody (a view or SQL function body can embed literal
  data, masking logic or row filters). psql's `\\sv`, `\\sf`, `\\df+` and `\\d+ view` fail;
- refused, timing and denial of service: pg_sleep, pg_sleep_for, pg_sleep_until (a timing
  oracle when combined with a CASE over a protected value, and a way to hold connections);
- refused, anything XML: query_to_xml & co. run SQL text; the other XML functions, the xml
  type and the XML syntax (XMLPARSE, XMLELEMENT, XMLTABLE...) parse documents with libxml2, a
  history of entity-expansion problems, and no client needs them for analytics;
- refused, volatile server state: txid_* / pg_current_xact_id (assign transaction ids),
  nextval/setval/currval, set_config, setseed, advisory locks, pg_notify, backend signalling,
  pg_stat_get_* (other sessions' activity and query text), inet_server_addr/port (the
  warehouse's address, which the proxy hides), files, large objects, dblink;
- refused, TABLESAMPLE methods (bernoulli, system): a sample of a rewritten (derived) table is
  not valid SQL, and the sample pattern is an oracle on physical layout.

Operators (`check_operators`) and types (`check_types`) follow the same rules: unqualified or
`pg_catalog`, from the built-in sets; user operators and user types (and the xml type) are
refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from proxy.sql.names import PG_CATALOG, resolve_function

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ALLOWED_OPERATORS",
    "ALLOWED_TYPES",
    "REFUSED_FUNCTION_REASONS",
    "check_functions",
    "check_operators",
    "check_types",
    "is_allowed_function",
    "is_allowed_operator",
    "is_allowed_type",
    "refusal_reason",
]


# -- functions -------------------------------------------------------------------------------

# Arithmetic and numeric helpers.
_MATH = frozenset({
    "abs", "round", "ceil", "ceiling", "floor", "trunc", "mod", "div", "power", "pow", "sqrt",
    "cbrt", "exp", "ln", "log", "log10", "sign", "pi", "degrees", "radians", "gcd", "lcm",
    "factorial", "width_bucket", "scale", "min_scale", "trim_scale", "random", "random_normal",
    "sin", "cos", "tan", "cot", "asin", "acos", "atan", "atan2", "sind", "cosd", "tand", "cotd",
    "asind", "acosd", "atand", "atan2d", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
    "numeric", "int4", "int8", "float8", "bit_count", "get_bit", "set_bit", "get_byte",
    "set_byte",
})

# Text processing: compute on their arguments only. format/quote_* build SQL text, never run it.
_STRING = frozenset({
    "lower", "upper", "length", "char_length", "character_length", "octet_length", "bit_length",
    "substr", "substring", "left", "right", "trim", "btrim", "ltrim", "rtrim", "lpad", "rpad",
    "replace", "split_part", "concat", "concat_ws", "position", "strpos", "starts_with",
    "repeat", "reverse", "initcap", "overlay", "translate", "ascii", "chr", "unistr",
    "normalize", "is_normalized", "casefold", "to_hex", "to_bin", "to_oct", "format",
    "quote_ident", "quote_literal", "quote_nullable", "regexp_replace", "regexp_match",
    "regexp_matches", "regexp_split_to_array", "regexp_split_to_table", "regexp_count",
    "regexp_instr", "regexp_like", "regexp_substr", "string_to_array", "string_to_table",
    "like_escape", "similar_to_escape", "similar_escape", "parse_ident", "text", "to_ascii",
    "pg_collation_for",
})

# Hashing and encodings of values.
_ENCODING = frozenset({
    "md5", "sha224", "sha256", "sha384", "sha512", "crc32", "crc32c", "encode", "decode",
    "convert", "convert_to", "convert_from",
})

# Dates and times, including the SQL value functions (CURRENT_DATE...) and EXTRACT/AT TIME ZONE.
_DATE_TIME = frozenset({
    "now", "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp",
    "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
    "date_trunc", "date_part", "date_bin", "extract", "age", "make_date", "make_time",
    "make_timestamp", "make_timestamptz", "make_interval", "to_char", "to_date", "to_timestamp",
    "to_number", "justify_days", "justify_hours", "justify_interval", "isfinite", "timezone",
    "date_add", "date_subtract", "overlaps",
})

# Aggregates (grouped reads are still subject to the analyzer's aggregate_only rules).
_AGGREGATES = frozenset({
    "count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every", "bit_and", "bit_or",
    "bit_xor", "any_value", "string_agg", "array_agg", "stddev", "stddev_pop", "stddev_samp",
    "variance", "var_pop", "var_samp", "percentile_cont", "percentile_disc", "mode", "corr",
    "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept",
    "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "json_agg", "jsonb_agg",
    "json_agg_strict", "jsonb_agg_strict", "json_object_agg", "jsonb_object_agg",
    "json_object_agg_strict", "jsonb_object_agg_strict", "json_object_agg_unique",
    "jsonb_object_agg_unique", "json_object_agg_unique_strict",
    "jsonb_object_agg_unique_strict", "range_agg", "range_intersect_agg", "grouping",
})

# Window functions.
_WINDOW = frozenset({
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
})

# Conditional expressions (COALESCE, NULLIF, GREATEST, LEAST are syntax; named here for pg_facts).
_CONDITIONAL = frozenset({"coalesce", "nullif", "greatest", "least", "num_nulls", "num_nonnulls"})

# Arrays.
_ARRAYS = frozenset({
    "array_length", "cardinality", "unnest", "array_to_string", "array_position",
    "array_positions", "array_remove", "array_replace", "array_append", "array_cat",
    "array_prepend", "array_upper", "array_lower", "array_dims", "array_ndims", "array_fill",
    "array_reverse", "array_sample", "array_shuffle", "array_sort", "trim_array",
    "generate_subscripts",
})

# JSON functions and the SQL/JSON syntax (JSON_OBJECT, JSON_TABLE... as named by pg_facts).
_JSON = frozenset({
    "json_build_object", "jsonb_build_object", "json_build_array", "jsonb_build_array",
    "json_object", "jsonb_object", "to_json", "to_jsonb", "row_to_json", "array_to_json",
    "json_extract_path", "json_extract_path_text", "jsonb_extract_path",
    "jsonb_extract_path_text", "json_typeof", "jsonb_typeof", "jsonb_pretty",
    "json_array_length", "jsonb_array_length", "json_each", "jsonb_each", "json_each_text",
    "jsonb_each_text", "json_array_elements", "jsonb_array_elements",
    "json_array_elements_text", "jsonb_array_elements_text", "json_object_keys",
    "jsonb_object_keys", "json_populate_record", "jsonb_populate_record",
    "jsonb_populate_record_valid", "json_populate_recordset", "jsonb_populate_recordset",
    "json_to_record", "jsonb_to_record", "json_to_recordset", "jsonb_to_recordset",
    "json_strip_nulls", "jsonb_strip_nulls", "jsonb_set", "jsonb_set_lax", "jsonb_insert",
    "jsonb_path_exists", "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array",
    "jsonb_path_query_first", "jsonb_path_exists_tz", "jsonb_path_match_tz",
    "jsonb_path_query_tz", "jsonb_path_query_array_tz", "jsonb_path_query_first_tz",
    # SQL/JSON syntax
    "json", "json_array", "json_arrayagg", "json_objectagg", "json_scalar", "json_serialize",
    "json_exists", "json_query", "json_value", "json_table",
})

# Full-text search on values. ts_stat and ts_rewrite are refused: they can run SQL text.
_TEXT_SEARCH = frozenset({
    "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery",
    "ts_rank", "ts_rank_cd", "ts_headline", "setweight", "strip", "numnode", "querytree",
    "tsvector_to_array", "array_to_tsvector", "ts_delete", "ts_filter", "get_current_ts_config",
})

# Network address helpers.
_NETWORK = frozenset({
    "host", "hostmask", "masklen", "netmask", "network", "broadcast", "family", "abbrev",
    "set_masklen", "inet_merge", "inet_same_family",
})

# Ranges.
_RANGES = frozenset({
    "lower_inc", "upper_inc", "lower_inf", "upper_inf", "isempty", "range_merge", "multirange",
    "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange",
})

# Set-returning generators, UUIDs and type introspection of values.
_GENERATORS_AND_MISC = frozenset({
    "generate_series", "gen_random_uuid", "uuidv4", "uuidv7", "uuid_extract_timestamp",
    "uuid_extract_version", "pg_typeof", "pg_column_size", "merge_action",
})

# Session information: who and where the session is, never data.
_SESSION_INFO = frozenset({
    "current_database", "current_catalog", "current_schema", "current_schemas", "current_user",
    "current_role", "session_user", "user", "system_user", "version", "pg_backend_pid",
    "current_setting", "pg_postmaster_start_time", "pg_conf_load_time", "pg_is_in_recovery",
    "pg_my_temp_schema", "pg_is_other_temp_schema", "pg_client_encoding",
    "getdatabaseencoding", "pg_jit_available",
})

# Catalog helpers that client metadata queries call (psql describe commands, SQLAlchemy
# reflection, pgJDBC DatabaseMetaData): object names, visibility, privileges, comments,
# definitions of indexes/constraints/defaults/triggers/partition keys, sizes.
_CATALOG = frozenset({
    "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible",
    "pg_operator_is_visible", "pg_opclass_is_visible", "pg_opfamily_is_visible",
    "pg_conversion_is_visible", "pg_collation_is_visible", "pg_statistics_obj_is_visible",
    "pg_ts_config_is_visible", "pg_ts_dict_is_visible", "pg_ts_parser_is_visible",
    "pg_ts_template_is_visible", "format_type", "pg_get_userbyid", "pg_get_expr",
    "pg_get_indexdef", "pg_get_constraintdef", "pg_get_triggerdef", "pg_get_partkeydef",
    "pg_get_partition_constraintdef", "pg_get_statisticsobjdef",
    "pg_get_statisticsobjdef_columns", "pg_get_statisticsobjdef_expressions",
    "pg_get_serial_sequence", "pg_get_function_arguments", "pg_get_function_identity_arguments",
    "pg_get_function_result", "pg_get_keywords", "pg_describe_object", "pg_identify_object",
    "obj_description", "col_description", "shobj_description", "pg_encoding_to_char",
    "pg_char_to_encoding", "has_table_privilege", "has_schema_privilege",
    "has_database_privilege", "has_column_privilege", "has_any_column_privilege",
    "has_sequence_privilege", "has_function_privilege", "has_type_privilege",
    "has_tablespace_privilege", "has_foreign_data_wrapper_privilege", "has_server_privilege",
    "has_language_privilege", "pg_has_role", "pg_relation_is_publishable",
    "pg_relation_is_updatable", "pg_column_is_updatable", "pg_tablespace_location",
    "pg_partition_ancestors", "pg_partition_root", "pg_partition_tree", "to_regclass",
    "to_regtype", "to_regtypemod", "to_regproc", "to_regprocedure", "to_regoper",
    "to_regoperator", "to_regnamespace", "to_regcollation", "pg_table_size",
    "pg_relation_size", "pg_total_relation_size", "pg_indexes_size", "pg_database_size",
    "pg_size_pretty", "pg_size_bytes",
})

ALLOWED_FUNCTIONS: frozenset[str] = (
    _MATH | _STRING | _ENCODING | _DATE_TIME | _AGGREGATES | _WINDOW | _CONDITIONAL | _ARRAYS
    | _JSON | _TEXT_SEARCH | _NETWORK | _RANGES | _GENERATORS_AND_MISC | _SESSION_INFO | _CATALOG
)

# Built-in functions outside pg_catalog that clients call, allowed only schema-qualified.
_QUALIFIED_BUILTINS: frozenset[tuple[str, str]] = frozenset({
    ("information_schema", "_pg_expandarray"),  # pgJDBC getPrimaryKeys / getIndexInfo
})

# Why notable functions are refused, for messages and hints. Refusal does not depend on this
# table (anything unlisted above is refused); it documents the decisions and the tests check
# that none of these is allowed. Keys ending in '*' are prefixes.
REFUSED_FUNCTION_REASONS: dict[str, str] = {
    "query_to_xml": "runs SQL text",
    "query_to_xml_and_xmlschema": "runs SQL text",
    "query_to_xmlschema": "runs SQL text",
    "cursor_to_xml": "reads a cursor",
    "cursor_to_xmlschema": "reads a cursor",
    "table_to_xml*": "reads a whole table by name",
    "table_to_xmlschema": "reads a table's definition by name",
    "schema_to_xml*": "reads whole schemas by name",
    "database_to_xml*": "reads the whole database",
    "xml*": "XML processing is not offered",
    "xpath*": "XML processing is not offered",
    "ts_stat": "runs SQL text",
    "ts_rewrite": "runs SQL text",
    "dblink*": "connects to other databases and runs SQL text",
    "pg_read_file": "reads server files",
    "pg_read_binary_file": "reads server files",
    "pg_ls_*": "lists server files",
    "pg_stat_file": "reads server file metadata",
    "lo_*": "large objects are data outside the catalog",
    "loread": "large objects are data outside the catalog",
    "lowrite": "large objects are data outside the catalog",
    "set_config": "changes session settings (search_path, role...)",
    "setseed": "changes session state",
    "pg_sleep*": "a timing oracle and a way to hold connections",
    "pg_terminate_backend": "signals other sessions",
    "pg_cancel_backend": "signals other sessions",
    "pg_reload_conf": "server administration",
    "pg_rotate_logfile": "server administration",
    "pg_advisory*": "takes locks",
    "pg_try_advisory*": "takes locks",
    "pg_notify": "sends notifications",
    "txid_*": "assigns or reads transaction ids",
    "pg_current_xact_id*": "assigns transaction ids",
    "nextval": "advances a sequence",
    "setval": "changes a sequence",
    "currval": "reads sequence state",
    "lastval": "reads sequence state",
    "pg_stat_get_*": "shows other sessions' activity and query text",
    "pg_get_viewdef": "view definitions can embed data and policy logic",
    "pg_get_ruledef": "rule definitions can embed data and policy logic",
    "pg_get_functiondef": "function bodies can embed data and policy logic",
    "pg_get_function_sqlbody": "function bodies can embed data and policy logic",
    "inet_server_addr": "reveals the warehouse's address",
    "to_regrole": "names the warehouse's roles, not the proxy's users",
    "inet_server_port": "reveals the warehouse's address",
    "pg_logical_slot_*": "reads the write-ahead log, i.e. every change of every table",
    "bernoulli": "TABLESAMPLE is not supported on governed tables",
    "system": "TABLESAMPLE is not supported on governed tables",
}


def _display(schema: str | None, name: str) -> str:
    return name if schema is None else f"{schema}.{name}"


def _builtin(schema: str | None, name: str) -> bool:
    """Whether the name resolves to pg_catalog (proxy.sql.names, the one resolver)."""
    return resolve_function(schema, name).schema == PG_CATALOG


def is_allowed_function(schema: str | None, name: str) -> bool:
    """Whether a call of `schema.name` (schema None when unqualified) may run."""
    if _builtin(schema, name):
        return name in ALLOWED_FUNCTIONS
    return (schema, name) in _QUALIFIED_BUILTINS


def check_functions(functions: Iterable[tuple[str | None, str]]) -> list[str]:
    """The functions that are not allowed, as written (`name` or `schema.name`), sorted."""
    return sorted({_display(schema, name) for schema, name in functions
                   if not is_allowed_function(schema, name)})


def refusal_reason(schema: str | None, name: str) -> str:
    """A short reason to show when a function is refused."""
    if not _builtin(schema, name):
        return f"functions of schema {schema!r} are not allowed; only PostgreSQL built-ins are"
    reason = REFUSED_FUNCTION_REASONS.get(name)
    if reason is None:
        for key, text in REFUSED_FUNCTION_REASONS.items():
            if key.endswith("*") and name.startswith(key[:-1]):
                reason = text
                break
    return reason or "not on the list of built-in functions that cannot read data by themselves"


# -- operators -------------------------------------------------------------------------------

# The operator names PostgreSQL defines in pg_catalog, plus `!=` (the parser's spelling of <>)
# and the grammar's BETWEEN forms. A built-in operator calls a built-in function; operators
# written with another schema (OPERATOR(public.===)) or names PostgreSQL does not ship are
# user operators, which can run any function, and are refused.
ALLOWED_OPERATORS: frozenset[str] = frozenset({
    # comparison
    "=", "<>", "!=", "<", ">", "<=", ">=",
    # arithmetic, bit, string concatenation
    "+", "-", "*", "/", "%", "^", "|/", "||/", "@", "&", "|", "#", "<<", ">>", "||",
    # pattern matching: LIKE / ILIKE (~~ family), regular expressions, text_pattern_ops, prefix
    "~~", "!~~", "~~*", "!~~*", "~", "!~", "~*", "!~*", "~<~", "~<=~", "~>=~", "~>~", "^@",
    # containment and overlap (arrays, ranges, geometry, inet, jsonb)
    "@>", "<@", "&&", "<<=", ">>=", "-|-", "&<", "&>", "<<|", "|>>", "&<|", "|&>", "<^", ">^",
    # jsonb and json
    "->", "->>", "#>", "#>>", "?", "?|", "?&", "#-", "@?", "@@",
    # text search and geometry
    "@@@", "!!", "<->", "##", "@-@", "?#", "?-", "?-|", "?||", "~=",
    # record image comparisons
    "*=", "*<>", "*<", "*>", "*<=", "*>=",
    # grammar forms pg_facts reports by keyword
    "BETWEEN", "NOT BETWEEN", "BETWEEN SYMMETRIC", "NOT BETWEEN SYMMETRIC",
})


def is_allowed_operator(schema: str | None, name: str) -> bool:
    return _builtin(schema, name) and name in ALLOWED_OPERATORS


def check_operators(operators: Iterable[tuple[str | None, str]]) -> list[str]:
    """The operators that are not allowed, as written (`op` or `OPERATOR(schema.op)`), sorted."""
    return sorted({name if schema is None else f"OPERATOR({schema}.{name})"
                   for schema, name in operators if not is_allowed_operator(schema, name)})


# -- types -----------------------------------------------------------------------------------

# Built-in base, range and multirange types of pg_catalog (PostgreSQL 15 to 18), by their
# catalog names: the grammar turns `int`, `varchar(10)`, `timestamp with time zone`... into
# pg_catalog.int4, pg_catalog.varchar, pg_catalog.timestamptz. Left out: xml (see the module
# docstring), pseudo-types (internal, cstring, anyelement, record...), planner-internal types
# (pg_node_tree, pg_ndistinct, pg_dependencies, pg_mcv_list, pg_brin_*, gtsvector),
# refcursor (cursors are not offered to consumers) and regrole (it names the warehouse's
# roles, not the proxy's users; pg_get_userbyid answers for the proxy's world instead).
_BASE_TYPES = frozenset({
    # numbers
    "int2", "int4", "int8", "float4", "float8", "numeric", "money", "oid", "xid", "xid8",
    "cid",
    # text
    "text", "varchar", "bpchar", "char", "name",
    # boolean, binary, bits, uuid
    "bool", "bytea", "bit", "varbit", "uuid",
    # dates and times
    "date", "time", "timetz", "timestamp", "timestamptz", "interval",
    # json and text search
    "json", "jsonb", "jsonpath", "tsvector", "tsquery", "regconfig", "regdictionary",
    # network
    "inet", "cidr", "macaddr", "macaddr8",
    # geometry
    "point", "line", "lseg", "box", "path", "polygon", "circle",
    # catalog: object identifiers and names used by catalog queries
    "regclass", "regtype", "regproc", "regprocedure", "regoper", "regoperator",
    "regnamespace", "regcollation", "int2vector", "oidvector", "aclitem", "tid",
    "pg_lsn", "pg_snapshot", "txid_snapshot",
    # ranges and multiranges
    "int4range", "int8range", "numrange", "daterange", "tsrange", "tstzrange",
    "int4multirange", "int8multirange", "nummultirange", "datemultirange", "tsmultirange",
    "tstzmultirange",
})

# `int4[]` is reported as int4 (array bounds are not part of the name); the catalog names of
# array types (`_int4`) are accepted too.
ALLOWED_TYPES: frozenset[str] = _BASE_TYPES | frozenset("_" + name for name in _BASE_TYPES)


def is_allowed_type(schema: str | None, name: str) -> bool:
    return _builtin(schema, name) and name in ALLOWED_TYPES


def check_types(type_names: Iterable[tuple[str | None, str]]) -> list[str]:
    """The types that are not allowed, as written (`name` or `schema.name`), sorted."""
    return sorted({_display(schema, name) for schema, name in type_names
                   if not is_allowed_type(schema, name)})
