"""Enough of PostgreSQL's pg_catalog, on DuckDB, for psql, SQLAlchemy and the drivers.

DuckDB ships partial pg_catalog views, but with DuckDB's own type ids (13 for INTEGER, where
PostgreSQL says 23) and without the functions psql calls (pg_get_userbyid, pg_get_indexdef,
regclass casts...). Instead of patching DuckDB's, the backend keeps its own compat catalog:

* an in-memory database attached as `pg_compat` (shared by every connection of the instance,
  rebuilt at each start, never written to the warehouse file) holds views named like
  PostgreSQL's catalogs (pg_class, pg_attribute, pg_type...) computed from DuckDB's
  duckdb_tables()/duckdb_columns()/duckdb_constraints(), with PostgreSQL type OIDs, and
  macros for the functions (format_type, pg_get_userbyid, pg_table_is_visible...);
* `rewrite_catalog_references` is a sqlglot transform on the statement's tree: references to
  `pg_catalog.X` (or unqualified `pg_X` that a compat view provides) point to `pg_compat.main.X`,
  compat functions are qualified, reg* casts become OID lookups or name renderings, OPERATOR()
  and COLLATE noise is removed, and session facts (current_user, current_database(),
  current_setting, pg_backend_pid) read per-connection DuckDB variables.

Limits: OIDs of user relations are DuckDB catalog OIDs (stable while the process runs), only
primary-key/unique indexes are listed, there is one owner role, and pg_proc / pg_operator are
not provided (\\df, \\do fail).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

from proxy.sql.sqlglot_compat import OID_MARKER

COMPAT_CATALOG = "pg_compat"
#: What `oid[]` (and regclass[]...) become before parsing: a type name sqlglot accepts, which
#: the rewrite turns into BIGINT and the parameter inference reports as oid.
COMPAT_SCHEMA = "main"
PG_SERVER_VERSION = "16.0"
PG_SERVER_VERSION_NUM = "160000"
#: The role shown as the owner of every object (there is no per-object ownership in DuckDB).
OWNER_NAME = "purpose_proxy"
OWNER_OID = 10
PG_CATALOG_OID = 11
INFORMATION_SCHEMA_OID = 13183
#: pg_temp's OID, the same in every session (DuckDB's temporary schema has one per connection):
#: the namespace catalog is then the same for every session with the same schemas.
PG_TEMP_OID = 16386
#: Synthetic OIDs for index and constraint rows derived from DuckDB constraints.
INDEX_OID_BASE = 1_000_000_000
CONSTRAINT_OID_BASE = 1_500_000_000

# --- static type catalog -----------------------------------------------------------------------

# oid, typname, display name (format_type), typlen, typbyval, category, array oid, preferred
_BASE_TYPES: list[tuple[int, str, str, int, bool, str, int, bool]] = [
    (16, "bool", "boolean", 1, True, "B", 1000, True),
    (17, "bytea", "bytea", -1, False, "U", 1001, False),
    (18, "char", '"char"', 1, True, "Z", 1002, False),
    (19, "name", "name", 64, False, "S", 1003, False),
    (20, "int8", "bigint", 8, True, "N", 1016, False),
    (21, "int2", "smallint", 2, True, "N", 1005, False),
    (22, "int2vector", "int2vector", -1, False, "A", 1006, False),
    (23, "int4", "integer", 4, True, "N", 1007, False),
    (24, "regproc", "regproc", 4, True, "N", 1008, False),
    (25, "text", "text", -1, False, "S", 1009, True),
    (26, "oid", "oid", 4, True, "N", 1028, True),
    (27, "tid", "tid", 6, False, "U", 1010, False),
    (28, "xid", "xid", 4, True, "U", 1011, False),
    (29, "cid", "cid", 4, True, "U", 1012, False),
    (30, "oidvector", "oidvector", -1, False, "A", 1013, False),
    (114, "json", "json", -1, False, "U", 199, False),
    (142, "xml", "xml", -1, False, "U", 143, False),
    (194, "pg_node_tree", "pg_node_tree", -1, False, "Z", 0, False),
    (650, "cidr", "cidr", -1, False, "I", 651, False),
    (700, "float4", "real", 4, True, "N", 1021, False),
    (701, "float8", "double precision", 8, True, "N", 1022, True),
    (705, "unknown", "unknown", -2, False, "X", 0, False),
    (790, "money", "money", 8, True, "N", 791, False),
    (829, "macaddr", "macaddr", 6, False, "U", 1040, False),
    (869, "inet", "inet", -1, False, "I", 1041, True),
    (1033, "aclitem", "aclitem", 12, False, "U", 1034, False),
    (1042, "bpchar", "character", -1, False, "S", 1014, False),
    (1043, "varchar", "character varying", -1, False, "S", 1015, False),
    (1082, "date", "date", 4, True, "D", 1182, False),
    (1083, "time", "time without time zone", 8, True, "D", 1183, False),
    (1114, "timestamp", "timestamp without time zone", 8, True, "D", 1115, False),
    (1184, "timestamptz", "timestamp with time zone", 8, True, "D", 1185, True),
    (1186, "interval", "interval", 16, False, "T", 1187, True),
    (1266, "timetz", "time with time zone", 12, False, "D", 1270, False),
    (1560, "bit", "bit", -1, False, "V", 1561, False),
    (1562, "varbit", "bit varying", -1, False, "V", 1563, True),
    (1700, "numeric", "numeric", -1, False, "N", 1231, False),
    (1790, "refcursor", "refcursor", -1, False, "U", 2201, False),
    (2202, "regprocedure", "regprocedure", 4, True, "N", 2207, False),
    (2203, "regoper", "regoper", 4, True, "N", 2208, False),
    (2204, "regoperator", "regoperator", 4, True, "N", 2209, False),
    (2205, "regclass", "regclass", 4, True, "N", 2210, False),
    (2206, "regtype", "regtype", 4, True, "N", 2211, False),
    (2249, "record", "record", -1, False, "P", 2287, False),
    (2275, "cstring", "cstring", -2, False, "P", 1263, False),
    (2276, "any", '"any"', 4, True, "P", 0, False),
    (2277, "anyarray", "anyarray", -1, False, "P", 0, False),
    (2278, "void", "void", 4, True, "P", 0, False),
    (2283, "anyelement", "anyelement", 4, True, "P", 0, False),
    (2950, "uuid", "uuid", 16, False, "U", 2951, False),
    (3802, "jsonb", "jsonb", -1, False, "U", 3807, False),
    (4072, "jsonpath", "jsonpath", -1, False, "U", 4073, False),
    (4089, "regnamespace", "regnamespace", 4, True, "N", 4090, False),
    (4096, "regrole", "regrole", 4, True, "N", 4097, False),
]

_TEXT_LIKE = {18, 19, 25, 1042, 1043}

#: Catalog columns PostgreSQL types as name (19) and "char" (18), which DuckDB holds as VARCHAR.
NAME_COLUMNS = frozenset({
    "nspname", "typname", "relname", "attname", "conname", "rolname", "usename", "datname", "collname",
    "amname", "spcname", "extname", "polname", "tgname", "rulename", "evtname", "srvname", "fdwname",
    "opcname", "cfgname", "lanname", "stxname", "pubname", "proname", "oprname", "schemaname",
    "tablename", "indexname", "viewname", "tableowner", "viewowner", "matviewname", "matviewowner",
})
CHAR_COLUMNS = frozenset({
    "typtype", "typcategory", "typdelim", "typalign", "typstorage", "relkind", "relpersistence",
    "relreplident", "contype", "confupdtype", "confdeltype", "confmatchtype", "attalign", "attstorage",
    "attidentity", "attgenerated", "attcompression", "prokind", "polcmd", "amtype", "collprovider",
    "datlocprovider", "deptype", "tgenabled", "ev_type", "ev_enabled", "evtenabled", "castcontext",
    "partstrat", "oprkind",
})

# PostgreSQL's own OIDs for the catalogs the compat layer provides (so `'pg_catalog.pg_class'::regclass`
# answers 1259 as on PostgreSQL). Everything else in pg_compat gets its DuckDB OID.
CATALOG_RELATION_OIDS: dict[str, int] = {
    "pg_type": 1247,
    "pg_attribute": 1249,
    "pg_proc": 1255,
    "pg_class": 1259,
    "pg_authid": 1260,
    "pg_database": 1262,
    "pg_am": 2601,
    "pg_attrdef": 2604,
    "pg_constraint": 2606,
    "pg_inherits": 2611,
    "pg_index": 2610,
    "pg_description": 2609,
    "pg_namespace": 2615,
    "pg_collation": 3456,
    "pg_range": 3541,
    "pg_enum": 3501,
    "pg_policy": 3256,
    "pg_statistic_ext": 3381,
    "pg_publication": 6104,
    "pg_publication_rel": 6106,
    "pg_publication_namespace": 6237,
    "pg_tablespace": 1213,
    "pg_trigger": 2620,
    "pg_rewrite": 2618,
    "pg_sequence": 2224,
    "pg_extension": 3079,
    "pg_foreign_table": 3118,
    "pg_partitioned_table": 3350,
    "pg_depend": 2608,
}


def _pg_schema_sql(schema: str, temporary: str = "false") -> str:
    """PostgreSQL's name of a DuckDB schema: DuckDB's default `main` is PostgreSQL's `public`,
    and temporary objects live in pg_temp."""
    return f"(CASE WHEN {temporary} THEN 'pg_temp' WHEN {schema} = 'main' THEN 'public' ELSE {schema} END)"


def _namespace_oid_sql(schema_oid: str, temporary: str) -> str:
    return f"CAST(CASE WHEN {temporary} THEN {PG_TEMP_OID} ELSE {schema_oid} END AS BIGINT)"


def _sql_str(value: str | None) -> str:
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + "'"


def _values(rows: list[tuple[object, ...]]) -> str:
    def lit(v: object) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        return _sql_str(str(v))

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def _pg_type_rows() -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for oid, name, _display, length, byval, category, array_oid, preferred in _BASE_TYPES:
        collation = 100 if oid in _TEXT_LIKE else 0
        align = "d" if length == 8 else ("s" if length == 2 else ("c" if length == 1 else "i"))
        storage = "x" if length == -1 else "p"
        ttype = "p" if category == "P" else "b"
        elem = 21 if oid == 22 else (26 if oid == 30 else 0)
        rows.append((oid, name, PG_CATALOG_OID, OWNER_OID, length, byval, ttype, category, preferred,
                     True, ",", 0, elem, array_oid, f"{name}in", f"{name}out", f"{name}recv",
                     f"{name}send", align, storage, False, 0, -1, 0, collation))
        if array_oid:
            rows.append((array_oid, f"_{name}", PG_CATALOG_OID, OWNER_OID, -1, False, "b", "A", False,
                         True, ",", 0, oid, 0, "array_in", "array_out", "array_recv", "array_send",
                         "d" if length == 8 else "i", "x", False, 0, -1, 0, collation))
    return rows


def _type_display_rows() -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for oid, _name, display, *_rest in _BASE_TYPES:
        rows.append((oid, display))
        array_oid = _rest[3]
        if array_oid:
            rows.append((array_oid, display + "[]"))
    return rows


def _type_oid_macro(oid_for_duckdb_type: Callable[[str], int]) -> str:
    """A CASE from DuckDB type text (duckdb_columns().data_type) to PostgreSQL type OID.

    Built from the wire layer's own mapping, so the catalog and RowDescription always agree.
    """
    names = ["BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
             "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "VARCHAR", "BLOB",
             "DATE", "TIME", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIME WITH TIME ZONE",
             "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "INTERVAL", "UUID", "JSON", "BIT",
             "BIGNUM", "VARINT", "NULL"]

    def safe(name: str) -> int | None:
        try:
            return int(oid_for_duckdb_type(name))
        except Exception:
            return None

    scalar = " ".join(f"WHEN {_sql_str(n)} THEN {o}" for n in names if (o := safe(n)) is not None)
    arrays = " ".join(f"WHEN {_sql_str(n)} THEN {o}" for n in names if (o := safe(n + "[]")) is not None)
    decimal = safe("DECIMAL(18,3)") or 1700
    decimal_array = safe("DECIMAL(18,3)[]") or 1231
    fallback = safe("STRUCT(a INTEGER)") or 25
    return f"""
    CASE
      WHEN t IS NULL THEN NULL
      WHEN t LIKE '%[]' THEN
        CASE WHEN regexp_replace(t, '\\[\\]$', '') LIKE 'DECIMAL(%' THEN {decimal_array}
             ELSE CASE regexp_replace(t, '\\[\\]$', '') {arrays} ELSE 1009 END END
      WHEN t LIKE 'DECIMAL(%' THEN {decimal}
      WHEN t LIKE 'ENUM(%' THEN 25
      ELSE CASE t {scalar} ELSE {fallback} END
    END"""


def _catalog_views(main_db: str) -> dict[str, str]:
    """View name -> SELECT, in creation order. `main_db` is DuckDB's name of the warehouse file."""
    db = _sql_str(main_db)
    compat = _sql_str(COMPAT_CATALOG)
    c = f"{COMPAT_CATALOG}.{COMPAT_SCHEMA}"
    known_oids = _values([(name, oid) for name, oid in CATALOG_RELATION_OIDS.items()])
    views: dict[str, str] = {}

    views["pp_catalog_oids"] = f"SELECT * FROM (VALUES {known_oids}) AS t(relname, oid)"

    # Relations of the warehouse plus the compat catalog itself (listed under pg_catalog).
    views["pp_relations"] = f"""
        SELECT CAST(t.table_oid AS BIGINT) AS oid, t.table_name AS relname,
               {_namespace_oid_sql("t.schema_oid", "t.temporary")} AS relnamespace,
               {_pg_schema_sql("t.schema_name", "t.temporary")} AS nspname,
               'r' AS relkind, CAST(t.column_count AS SMALLINT) AS relnatts,
               t.has_primary_key AS relhasindex, t.temporary, CAST(t.estimated_size AS REAL) AS reltuples,
               CAST(t.check_constraint_count AS SMALLINT) AS relchecks, t.comment, t.sql
        FROM duckdb_tables() t WHERE t.database_name = {db} OR t.temporary
        UNION ALL
        SELECT CAST(v.view_oid AS BIGINT), v.view_name, {_namespace_oid_sql("v.schema_oid", "v.temporary")},
               {_pg_schema_sql("v.schema_name", "v.temporary")}, 'v', CAST(v.column_count AS SMALLINT), false, v.temporary, CAST(0 AS REAL),
               CAST(0 AS SMALLINT), v.comment, v.sql
        FROM duckdb_views() v WHERE (v.database_name = {db} OR v.temporary) AND NOT v.internal
        UNION ALL
        SELECT CAST(COALESCE(k.oid, v.view_oid) AS BIGINT), v.view_name, {PG_CATALOG_OID}, 'pg_catalog',
               CASE WHEN k.oid IS NULL THEN 'v' ELSE 'r' END, CAST(v.column_count AS SMALLINT), false,
               false, CAST(0 AS REAL), CAST(0 AS SMALLINT), NULL, NULL
        FROM duckdb_views() v LEFT JOIN {c}.pp_catalog_oids k ON k.relname = v.view_name
        WHERE v.database_name = {compat} AND v.view_name NOT LIKE 'pp\\_%' ESCAPE '\\'
        UNION ALL
        SELECT CAST(s.sequence_oid AS BIGINT), s.sequence_name, {_namespace_oid_sql("s.schema_oid", "s.temporary")},
               {_pg_schema_sql("s.schema_name", "s.temporary")},
               'S', CAST(3 AS SMALLINT), false, s.temporary, CAST(1 AS REAL), CAST(0 AS SMALLINT),
               s.comment, s.sql
        FROM duckdb_sequences() s WHERE s.database_name = {db} OR s.temporary
    """

    views["pp_columns"] = f"""
        SELECT CAST(COALESCE(k.oid, col.table_oid) AS BIGINT) AS attrelid, col.column_name AS attname,
               CAST(col.column_index AS SMALLINT) AS attnum, col.data_type,
               {c}.pp_type_oid(col.data_type) AS atttypid, {c}.pp_typmod(col.data_type) AS atttypmod,
               NOT col.is_nullable AS attnotnull, col.column_default, col.comment
        FROM duckdb_columns() col
        LEFT JOIN {c}.pp_catalog_oids k ON col.database_name = {compat} AND k.relname = col.table_name
        WHERE col.database_name = {db} OR col.database_name = 'temp'
           OR (col.database_name = {compat} AND col.table_name NOT LIKE 'pp\\_%' ESCAPE '\\')
    """

    # One row per PRIMARY KEY / UNIQUE / CHECK / FOREIGN KEY constraint, with PostgreSQL's names.
    views["pp_constraints"] = f"""
        SELECT CAST({CONSTRAINT_OID_BASE} + k.table_oid * 64 + k.constraint_index AS BIGINT) AS oid,
               CASE k.constraint_type
                 WHEN 'PRIMARY KEY' THEN k.table_name || '_pkey'
                 WHEN 'UNIQUE' THEN k.table_name || '_' || array_to_string(k.constraint_column_names, '_') || '_key'
                 WHEN 'CHECK' THEN k.table_name || '_' || array_to_string(k.constraint_column_names, '_') || '_check'
                 ELSE k.table_name || '_' || array_to_string(k.constraint_column_names, '_') || '_fkey'
               END AS conname,
               {_namespace_oid_sql("k.schema_oid", "k.database_name = 'temp'")} AS connamespace,
               CASE k.constraint_type WHEN 'PRIMARY KEY' THEN 'p' WHEN 'UNIQUE' THEN 'u'
                    WHEN 'CHECK' THEN 'c' ELSE 'f' END AS contype,
               CAST(k.table_oid AS BIGINT) AS conrelid,
               CASE WHEN k.constraint_type IN ('PRIMARY KEY', 'UNIQUE')
                    THEN CAST({INDEX_OID_BASE} + k.table_oid * 64 + k.constraint_index AS BIGINT)
                    ELSE CAST(0 AS BIGINT) END AS conindid,
               CAST(list_transform(k.constraint_column_indexes, lambda x: x + 1) AS SMALLINT[]) AS conkey,
               k.constraint_column_names AS colnames, k.constraint_type, k.constraint_text,
               k.schema_name, k.table_name, k.referenced_table, k.referenced_column_names
        FROM duckdb_constraints() k
        WHERE (k.database_name = {db} OR k.database_name = 'temp')
          AND k.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK', 'FOREIGN KEY')
    """

    views["pg_namespace"] = f"""
        SELECT CAST(s.oid AS BIGINT) AS oid, {_pg_schema_sql("s.schema_name")} AS nspname,
               CAST({OWNER_OID} AS BIGINT) AS nspowner,
               CAST(NULL AS VARCHAR[]) AS nspacl
        FROM duckdb_schemas() s WHERE s.database_name = {db} AND s.schema_name NOT IN ('pg_catalog', 'information_schema')
        UNION ALL SELECT {PG_CATALOG_OID}, 'pg_catalog', {OWNER_OID}, NULL
        UNION ALL SELECT {INFORMATION_SCHEMA_OID}, 'information_schema', {OWNER_OID}, NULL
        UNION ALL SELECT {PG_TEMP_OID}, 'pg_temp', {OWNER_OID}, NULL
    """

    index_rows = f"""
        SELECT k.conindid AS oid, k.conname AS relname, k.connamespace AS relnamespace, 'i' AS relkind,
               CAST(len(k.conkey) AS SMALLINT) AS relnatts, k.conrelid AS indrelid, k.conkey AS indkey,
               k.contype = 'p' AS indisprimary
        FROM {c}.pp_constraints k WHERE k.contype IN ('p', 'u')
    """
    views["pp_indexes"] = index_rows

    views["pg_class"] = f"""
        SELECT r.oid, r.relname, r.relnamespace, CAST(0 AS BIGINT) AS reltype, CAST(0 AS BIGINT) AS reloftype,
               CAST({OWNER_OID} AS BIGINT) AS relowner,
               CAST(CASE r.relkind WHEN 'r' THEN 2 ELSE 0 END AS BIGINT) AS relam,
               r.oid AS relfilenode, CAST(0 AS BIGINT) AS reltablespace, 0 AS relpages, r.reltuples,
               0 AS relallvisible, CAST(0 AS BIGINT) AS reltoastrelid, r.relhasindex, false AS relisshared,
               CASE WHEN r.temporary THEN 't' ELSE 'p' END AS relpersistence, r.relkind, r.relnatts,
               r.relchecks, false AS relhasrules, false AS relhastriggers, false AS relhassubclass,
               false AS relrowsecurity, false AS relforcerowsecurity, true AS relispopulated,
               'd' AS relreplident, false AS relispartition, CAST(0 AS BIGINT) AS relrewrite,
               CAST(0 AS BIGINT) AS relfrozenxid, CAST(0 AS BIGINT) AS relminmxid,
               CAST(NULL AS VARCHAR[]) AS relacl, CAST(NULL AS VARCHAR[]) AS reloptions,
               CAST(NULL AS VARCHAR) AS relpartbound
        FROM {c}.pp_relations r
        UNION ALL
        SELECT i.oid, i.relname, i.relnamespace, 0, 0, {OWNER_OID}, 403, i.oid, 0, 1, 0, 0, 0, false, false,
               'p', 'i', i.relnatts, 0, false, false, false, false, false, true, 'n', false, 0, 0, 0,
               NULL, NULL, NULL
        FROM {c}.pp_indexes i
    """

    views["pg_attribute"] = f"""
        SELECT a.attrelid, a.attname, a.atttypid, -1 AS attstattarget,
               CAST(COALESCE(t.typlen, -1) AS SMALLINT) AS attlen, a.attnum,
               CASE WHEN a.data_type LIKE '%[]' THEN 1 ELSE 0 END AS attndims, -1 AS attcacheoff,
               a.atttypmod, COALESCE(t.typbyval, false) AS attbyval, COALESCE(t.typstorage, 'x') AS attstorage,
               COALESCE(t.typalign, 'i') AS attalign, a.attnotnull, a.column_default IS NOT NULL AS atthasdef,
               false AS atthasmissing, '' AS attidentity, '' AS attgenerated, false AS attisdropped,
               true AS attislocal, 0 AS attinhcount, COALESCE(t.typcollation, 0) AS attcollation,
               '' AS attcompression, CAST(NULL AS VARCHAR[]) AS attacl, CAST(NULL AS VARCHAR[]) AS attoptions,
               CAST(NULL AS VARCHAR[]) AS attfdwoptions, CAST(NULL AS VARCHAR) AS attmissingval
        FROM {c}.pp_columns a LEFT JOIN {c}.pg_type t ON t.oid = a.atttypid
        UNION ALL
        SELECT i.oid, a.attname, a.atttypid, -1, CAST(COALESCE(t.typlen, -1) AS SMALLINT),
               CAST(pos AS SMALLINT), 0, -1, a.atttypmod, COALESCE(t.typbyval, false),
               COALESCE(t.typstorage, 'x'), COALESCE(t.typalign, 'i'), false, false, false, '', '', false,
               true, 0, COALESCE(t.typcollation, 0), '', NULL, NULL, NULL, NULL
        FROM (SELECT i.*, unnest(i.indkey) AS attnum, generate_subscripts(i.indkey, 1) AS pos
              FROM {c}.pp_indexes i) i
        JOIN {c}.pp_columns a ON a.attrelid = i.indrelid AND a.attnum = i.attnum
        LEFT JOIN {c}.pg_type t ON t.oid = a.atttypid
    """

    views["pg_attrdef"] = f"""
        SELECT CAST(a.attrelid * 1000 + a.attnum AS BIGINT) AS oid, a.attrelid AS adrelid, a.attnum AS adnum,
               a.column_default AS adbin
        FROM {c}.pp_columns a WHERE a.column_default IS NOT NULL
    """

    views["pg_index"] = f"""
        SELECT i.oid AS indexrelid, i.indrelid, i.relnatts AS indnatts, i.relnatts AS indnkeyatts,
               true AS indisunique, false AS indnullsnotdistinct, i.indisprimary, false AS indisexclusion,
               true AS indimmediate, false AS indisclustered, true AS indisvalid, false AS indcheckxmin,
               true AS indisready, true AS indislive, false AS indisreplident, i.indkey,
               CAST([] AS BIGINT[]) AS indcollation, CAST([] AS BIGINT[]) AS indclass,
               CAST([] AS SMALLINT[]) AS indoption, CAST(NULL AS VARCHAR) AS indexprs,
               CAST(NULL AS VARCHAR) AS indpred
        FROM {c}.pp_indexes i
    """

    views["pg_constraint"] = f"""
        SELECT k.oid, k.conname, k.connamespace, k.contype, false AS condeferrable, false AS condeferred,
               true AS convalidated, k.conrelid, CAST(0 AS BIGINT) AS contypid, k.conindid,
               CAST(0 AS BIGINT) AS conparentid,
               CAST(COALESCE((SELECT r.oid FROM {c}.pp_relations r WHERE r.relname = k.referenced_table
                              AND r.nspname = {_pg_schema_sql("k.schema_name")} LIMIT 1), 0) AS BIGINT) AS confrelid,
               'a' AS confupdtype, 'a' AS confdeltype, 's' AS confmatchtype, true AS conislocal,
               0 AS coninhcount, false AS connoinherit, k.conkey,
               CAST(NULL AS SMALLINT[]) AS confkey, CAST(NULL AS BIGINT[]) AS conpfeqop,
               CAST(NULL AS BIGINT[]) AS conppeqop, CAST(NULL AS BIGINT[]) AS conffeqop,
               CAST(NULL AS SMALLINT[]) AS confdelsetcols, CAST(NULL AS BIGINT[]) AS conexclop,
               CAST(NULL AS VARCHAR) AS conbin
        FROM {c}.pp_constraints k
    """

    views["pg_type"] = f"""
        SELECT * FROM (VALUES {_values(_pg_type_rows())}) AS t(
            oid, typname, typnamespace, typowner, typlen, typbyval, typtype, typcategory, typispreferred,
            typisdefined, typdelim, typrelid, typelem, typarray, typinput, typoutput, typreceive, typsend,
            typalign, typstorage, typnotnull, typbasetype, typtypmod, typndims, typcollation)
    """

    views["pp_type_display"] = f"SELECT * FROM (VALUES {_values(_type_display_rows())}) AS t(oid, display)"

    views["pg_database"] = f"""
        SELECT CAST(16384 AS BIGINT) AS oid, getvariable('pp_database') AS datname,
               CAST({OWNER_OID} AS BIGINT) AS datdba, 6 AS encoding, 'c' AS datlocprovider,
               false AS datistemplate, true AS datallowconn, -1 AS datconnlimit,
               CAST(0 AS BIGINT) AS datfrozenxid, CAST(0 AS BIGINT) AS datminmxid,
               CAST(1663 AS BIGINT) AS dattablespace, 'C.UTF-8' AS datcollate, 'C.UTF-8' AS datctype,
               CAST(NULL AS VARCHAR) AS daticulocale, CAST(NULL AS VARCHAR) AS daticurules,
               CAST(NULL AS VARCHAR) AS datcollversion, CAST(NULL AS VARCHAR[]) AS datacl
    """

    views["pg_roles"] = f"""
        SELECT * FROM (VALUES
            ({_sql_str(OWNER_NAME)}, true, true, true, true, true, true, -1, '********', NULL, true, NULL,
             CAST({OWNER_OID} AS BIGINT))) AS t(
            rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
            rolconnlimit, rolpassword, rolvaliduntil, rolbypassrls, rolconfig, oid)
        UNION ALL
        SELECT getvariable('pp_user'), false, true, false, false, true, false, -1, '********', NULL, false,
               NULL, CAST(16385 AS BIGINT)
        WHERE getvariable('pp_user') IS DISTINCT FROM {_sql_str(OWNER_NAME)}
    """
    views["pg_user"] = f"""
        SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb, rolsuper AS usesuper,
               rolreplication AS userepl, rolbypassrls AS usebypassrls, '********' AS passwd,
               rolvaliduntil AS valuntil, rolconfig AS useconfig
        FROM {c}.pg_roles
    """

    views["pg_am"] = """
        SELECT * FROM (VALUES (CAST(2 AS BIGINT), 'heap', 'heap_tableam_handler', 't'),
                              (CAST(403 AS BIGINT), 'btree', 'bthandler', 'i')) AS t(oid, amname, amhandler, amtype)
    """

    views["pg_collation"] = f"""
        SELECT * FROM (VALUES (CAST(100 AS BIGINT), 'default', {PG_CATALOG_OID}, {OWNER_OID}, 'd', true, -1,
                               NULL, NULL, NULL, NULL, NULL),
                              (CAST(950 AS BIGINT), 'C', {PG_CATALOG_OID}, {OWNER_OID}, 'c', true, -1,
                               'C', 'C', NULL, NULL, NULL)) AS t(
            oid, collname, collnamespace, collowner, collprovider, collisdeterministic, collencoding,
            collcollate, collctype, colliculocale, collicurules, collversion)
    """

    views["pg_description"] = f"""
        SELECT r.oid AS objoid, CAST(1259 AS BIGINT) AS classoid, 0 AS objsubid, r.comment AS description
        FROM {c}.pp_relations r WHERE r.comment IS NOT NULL
        UNION ALL
        SELECT a.attrelid, 1259, a.attnum, a.comment FROM {c}.pp_columns a WHERE a.comment IS NOT NULL
    """

    views["pg_tablespace"] = f"""
        SELECT * FROM (VALUES (CAST(1663 AS BIGINT), 'pg_default', CAST({OWNER_OID} AS BIGINT), NULL, NULL),
                              (CAST(1664 AS BIGINT), 'pg_global', CAST({OWNER_OID} AS BIGINT), NULL, NULL))
               AS t(oid, spcname, spcowner, spcacl, spcoptions)
    """

    views["pg_settings"] = f"""
        SELECT s.name, s.setting, CAST(NULL AS VARCHAR) AS unit, 'Compatibility' AS category,
               '' AS short_desc, CAST(NULL AS VARCHAR) AS extra_desc, 'user' AS context, 'string' AS vartype,
               'default' AS source, CAST(NULL AS VARCHAR) AS min_val, CAST(NULL AS VARCHAR) AS max_val,
               CAST(NULL AS VARCHAR[]) AS enumvals, s.setting AS boot_val, s.setting AS reset_val,
               CAST(NULL AS VARCHAR) AS sourcefile, CAST(NULL AS INTEGER) AS sourceline,
               false AS pending_restart
        FROM {c}.pp_settings s
    """

    views["pg_tables"] = f"""
        SELECT n.nspname AS schemaname, c.relname AS tablename, {_sql_str(OWNER_NAME)} AS tableowner,
               CAST(NULL AS VARCHAR) AS tablespace, c.relhasindex AS hasindexes, false AS hasrules,
               false AS hastriggers, false AS rowsecurity
        FROM {c}.pg_class c JOIN {c}.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')
    """
    views["pg_views"] = f"""
        SELECT r.nspname AS schemaname, r.relname AS viewname, {_sql_str(OWNER_NAME)} AS viewowner,
               r.sql AS definition
        FROM {c}.pp_relations r WHERE r.relkind = 'v'
    """
    views["pg_indexes"] = f"""
        SELECT n.nspname AS schemaname, t.relname AS tablename, i.relname AS indexname,
               CAST(NULL AS VARCHAR) AS tablespace, {c}.pg_get_indexdef(i.oid) AS indexdef
        FROM {c}.pp_indexes i JOIN {c}.pg_class t ON t.oid = i.indrelid
        JOIN {c}.pg_namespace n ON n.oid = t.relnamespace
    """
    views["pg_sequence"] = """
        SELECT CAST(s.sequence_oid AS BIGINT) AS seqrelid, CAST(20 AS BIGINT) AS seqtypid,
               s.start_value AS seqstart, s.increment_by AS seqincrement, s.max_value AS seqmax,
               s.min_value AS seqmin, CAST(1 AS BIGINT) AS seqcache, s.cycle AS seqcycle
        FROM duckdb_sequences() s
    """

    # Catalogs the clients read that are always empty here.
    empty: dict[str, str] = {
        "pg_inherits": "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
        "pg_policy": ("oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, "
                      "polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR"),
        "pg_statistic_ext": ("oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, "
                             "stxowner BIGINT, stxstattarget INTEGER, stxkeys SMALLINT[], stxkind VARCHAR[], "
                             "stxexprs VARCHAR"),
        "pg_publication": ("oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, "
                           "pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, "
                           "pubviaroot BOOLEAN"),
        "pg_publication_namespace": "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
        "pg_publication_rel": ("oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, "
                               "prattrs SMALLINT[]"),
        "pg_range": ("rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, rngcollation BIGINT, "
                     "rngsubopc BIGINT, rngcanonical VARCHAR, rngsubdiff VARCHAR"),
        "pg_enum": "oid BIGINT, enumtypid BIGINT, enumsortorder REAL, enumlabel VARCHAR",
        "pg_trigger": ("oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, "
                       "tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid BIGINT, "
                       "tgconstrindid BIGINT, tgconstraint BIGINT, tgdeferrable BOOLEAN, "
                       "tginitdeferred BOOLEAN, tgnargs SMALLINT, tgattr SMALLINT[], tgargs BLOB, "
                       "tgqual VARCHAR, tgoldtable VARCHAR, tgnewtable VARCHAR"),
        "pg_rewrite": ("oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, "
                       "is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR"),
        "pg_extension": ("oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, "
                         "extrelocatable BOOLEAN, extversion VARCHAR, extconfig BIGINT[], extcondition VARCHAR[]"),
        "pg_foreign_table": "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
        "pg_partitioned_table": ("partrelid BIGINT, partstrat VARCHAR, partnatts SMALLINT, "
                                 "partdefid BIGINT, partattrs SMALLINT[], partclass BIGINT[], "
                                 "partcollation BIGINT[], partexprs VARCHAR"),
        "pg_depend": ("classid BIGINT, objid BIGINT, objsubid INTEGER, refclassid BIGINT, refobjid BIGINT, "
                      "refobjsubid INTEGER, deptype VARCHAR"),
        "pg_event_trigger": "oid BIGINT, evtname VARCHAR, evtevent VARCHAR, evtenabled VARCHAR",
        "pg_stat_activity": ("datid BIGINT, datname VARCHAR, pid INTEGER, usename VARCHAR, "
                             "application_name VARCHAR, state VARCHAR, query VARCHAR"),
        "pg_proc": ("oid BIGINT, proname VARCHAR, pronamespace BIGINT, proowner BIGINT, prolang BIGINT, "
                    "prokind VARCHAR, proretset BOOLEAN, pronargs SMALLINT, prorettype BIGINT, "
                    "proargtypes BIGINT[], proargnames VARCHAR[], prosrc VARCHAR"),
        "pg_operator": ("oid BIGINT, oprname VARCHAR, oprnamespace BIGINT, oprowner BIGINT, oprkind VARCHAR, "
                        "oprleft BIGINT, oprright BIGINT, oprresult BIGINT, oprcode VARCHAR"),
        "pg_language": "oid BIGINT, lanname VARCHAR",
        "pg_cast": "oid BIGINT, castsource BIGINT, casttarget BIGINT, castfunc BIGINT, castcontext VARCHAR",
        "pg_conversion": "oid BIGINT, conname VARCHAR",
        "pg_shdescription": "objoid BIGINT, classoid BIGINT, description VARCHAR",
        "pg_seclabel": "objoid BIGINT, classoid BIGINT, objsubid INTEGER, provider VARCHAR, label VARCHAR",
        "pg_auth_members": "roleid BIGINT, member BIGINT, grantor BIGINT, admin_option BOOLEAN",
        "pg_matviews": ("schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR, "
                        "hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR"),
        "pg_foreign_server": "oid BIGINT, srvname VARCHAR",
        "pg_foreign_data_wrapper": "oid BIGINT, fdwname VARCHAR",
        "pg_opclass": "oid BIGINT, opcname VARCHAR, opcmethod BIGINT, opcnamespace BIGINT, opcdefault BOOLEAN",
        "pg_ts_config": "oid BIGINT, cfgname VARCHAR",
    }
    for name, columns in empty.items():
        casts = ", ".join(
            f"CAST(NULL AS {col.split(' ', 1)[1]}) AS {col.split(' ', 1)[0]}" for col in columns.split(", ")
        )
        views[name] = f"SELECT {casts} WHERE false"
    return views


def _macros(oid_for_duckdb_type: Callable[[str], int], duckdb_version: str) -> list[str]:
    c = f"{COMPAT_CATALOG}.{COMPAT_SCHEMA}"
    version = (
        f"PostgreSQL {PG_SERVER_VERSION} (purpose-proxy, DuckDB {duckdb_version}) on x86_64-pc-linux-gnu, "
        "compiled by purpose-proxy, 64-bit"
    )
    return [
        f"CREATE MACRO {c}.pp_type_oid(t) AS ({_type_oid_macro(oid_for_duckdb_type)})",
        f"""CREATE MACRO {c}.pp_typmod(t) AS (
            CASE WHEN t LIKE 'DECIMAL(%' THEN
                CAST(regexp_extract(t, 'DECIMAL\\((\\d+),(\\d+)\\)', 1) AS INTEGER) * 65536
                + CAST(regexp_extract(t, 'DECIMAL\\((\\d+),(\\d+)\\)', 2) AS INTEGER) + 4
            ELSE -1 END)""",
        f"CREATE MACRO {c}.version() AS {_sql_str(version)}",
        f"CREATE MACRO {c}.pg_get_userbyid(role_oid) AS "
        f"CASE WHEN role_oid = 16385 THEN getvariable('pp_user') ELSE {_sql_str(OWNER_NAME)} END",
        f"CREATE MACRO {c}.pg_encoding_to_char(enc) AS CASE WHEN enc = 6 THEN 'UTF8' ELSE '' END",
        f"CREATE MACRO {c}.pg_char_to_encoding(name) AS CASE WHEN upper(name) IN ('UTF8', 'UTF-8') THEN 6 ELSE -1 END",
        f"""CREATE MACRO {c}.format_type(type_oid, typmod) AS (
            CASE WHEN type_oid IS NULL THEN NULL
                 WHEN type_oid = 1700 AND typmod >= 4 THEN
                     'numeric(' || ((typmod - 4) // 65536) || ',' || ((typmod - 4) % 65536) || ')'
                 WHEN type_oid = 1231 AND typmod >= 4 THEN
                     'numeric(' || ((typmod - 4) // 65536) || ',' || ((typmod - 4) % 65536) || ')[]'
                 WHEN type_oid = 1043 AND typmod >= 4 THEN 'character varying(' || (typmod - 4) || ')'
                 WHEN type_oid = 1042 AND typmod >= 4 THEN 'character(' || (typmod - 4) || ')'
                 WHEN type_oid = 1042 THEN 'bpchar'
                 ELSE COALESCE((SELECT d.display FROM {c}.pp_type_display d WHERE d.oid = type_oid), '???')
            END)""",
        f"""CREATE MACRO {c}.pg_table_is_visible(rel_oid) AS (
            COALESCE((SELECT n.nspname = 'pg_catalog' OR n.nspname = 'pg_temp'
                             OR list_contains({c}.pp_search_schemas(), n.nspname)
                      FROM {c}.pg_class r JOIN {c}.pg_namespace n ON n.oid = r.relnamespace
                      WHERE r.oid = rel_oid LIMIT 1), false))""",
        f"CREATE MACRO {c}.pg_type_is_visible(type_oid) AS true",
        f"CREATE MACRO {c}.pg_function_is_visible(fn_oid) AS true",
        f"CREATE MACRO {c}.pg_collation_is_visible(coll_oid) AS true",
        f"CREATE MACRO {c}.pg_get_expr(expr, rel) AS expr, (expr, rel, pretty) AS expr",
        f"""CREATE MACRO {c}.pp_indexdef(index_oid) AS (
            SELECT 'CREATE UNIQUE INDEX ' || i.relname || ' ON ' || n.nspname || '.' || t.relname
                   || ' USING btree (' || array_to_string(k.colnames, ', ') || ')'
            FROM {c}.pp_indexes i JOIN {c}.pp_constraints k ON k.conindid = i.oid
            JOIN {c}.pg_class t ON t.oid = i.indrelid JOIN {c}.pg_namespace n ON n.oid = t.relnamespace
            WHERE i.oid = index_oid)""",
        f"CREATE MACRO {c}.pg_get_indexdef(index_oid) AS {c}.pp_indexdef(index_oid), "
        f"(index_oid, col, pretty) AS {c}.pp_indexdef(index_oid)",
        f"""CREATE MACRO {c}.pp_constraintdef(con_oid) AS (
            SELECT CASE k.contype
                     WHEN 'p' THEN 'PRIMARY KEY (' || array_to_string(k.colnames, ', ') || ')'
                     WHEN 'u' THEN 'UNIQUE (' || array_to_string(k.colnames, ', ') || ')'
                     WHEN 'f' THEN 'FOREIGN KEY (' || array_to_string(k.colnames, ', ') || ') REFERENCES '
                                   || k.referenced_table || '(' || array_to_string(k.referenced_column_names, ', ') || ')'
                     ELSE k.constraint_text END
            FROM {c}.pp_constraints k WHERE k.oid = con_oid)""",
        f"CREATE MACRO {c}.pg_get_constraintdef(con_oid) AS {c}.pp_constraintdef(con_oid), "
        f"(con_oid, pretty) AS {c}.pp_constraintdef(con_oid)",
        f"""CREATE MACRO {c}.pp_viewdef(view_oid) AS (
            SELECT regexp_replace(r.sql, '^CREATE VIEW [^ ]+ AS ', '') FROM {c}.pp_relations r WHERE r.oid = view_oid)""",
        f"CREATE MACRO {c}.pg_get_viewdef(view_oid) AS {c}.pp_viewdef(view_oid), "
        f"(view_oid, pretty) AS {c}.pp_viewdef(view_oid)",
        f"CREATE MACRO {c}.pg_get_statisticsobjdef_columns(stat_oid) AS CAST(NULL AS VARCHAR)",
        f"CREATE MACRO {c}.pg_relation_is_publishable(rel) AS false",
        f"CREATE MACRO {c}.pg_get_serial_sequence(tbl, col) AS CAST(NULL AS VARCHAR)",
        f"CREATE MACRO {c}.pg_is_in_recovery() AS false",
        # DuckDB's schema names as PostgreSQL shows them (main is public), for current_schema(s).
        f"CREATE MACRO {c}.pp_pg_schema(name) AS {_pg_schema_sql('name')}",
        f"CREATE MACRO {c}.pp_current_schema() AS {c}.pp_pg_schema(current_schema())",
        f"CREATE MACRO {c}.pp_first_occurrences(l) AS list_filter(l, lambda x, i: list_position(l, x) = i)",
        f"CREATE MACRO {c}.pp_current_schemas(implicit) AS CASE WHEN implicit "
        f"THEN {c}.pp_first_occurrences(list_transform(current_schemas(true), lambda s: {c}.pp_pg_schema(s))) "
        f"ELSE {c}.pp_first_occurrences(list_transform(current_schemas(false), lambda s: {c}.pp_pg_schema(s))) END",
        f"CREATE MACRO {c}.pp_search_schemas() AS {c}.pp_current_schemas(true)",
        # set_config() from a SELECT cannot reach the session's settings: it answers the value it
        # was given (asyncpg calls it for jit, which is already off here).
        f"CREATE MACRO {c}.set_config(name, value, is_local) AS CAST(value AS VARCHAR)",
        f"CREATE MACRO {c}.pg_backend_pid() AS getvariable('pp_pid')",
        f"CREATE MACRO {c}.pg_postmaster_start_time() AS getvariable('pp_started_at')",
        f"CREATE MACRO {c}.pp_objdescription(obj) AS (SELECT d.description FROM {c}.pg_description d "
        f"WHERE d.objoid = obj AND d.objsubid = 0 LIMIT 1)",
        f"CREATE MACRO {c}.obj_description(obj) AS {c}.pp_objdescription(obj), "
        f"(obj, catalog) AS {c}.pp_objdescription(obj)",
        f"CREATE MACRO {c}.col_description(rel, attnum) AS (SELECT d.description FROM {c}.pg_description d "
        f"WHERE d.objoid = rel AND d.objsubid = attnum LIMIT 1)",
        f"CREATE MACRO {c}.shobj_description(obj, catalog) AS CAST(NULL AS VARCHAR)",
        f"CREATE MACRO {c}.array_upper(arr, dim) AS CASE WHEN len(arr) = 0 THEN NULL ELSE len(arr) END",
        f"CREATE MACRO {c}.array_lower(arr, dim) AS CASE WHEN len(arr) = 0 THEN NULL ELSE 1 END",
        f"""CREATE MACRO {c}.quote_ident(name) AS (
            CASE WHEN regexp_full_match(name, '[a-z_][a-z0-9_$]*') THEN name
                 ELSE '"' || replace(name, '"', '""') || '"' END)""",
        f"CREATE MACRO {c}.has_table_privilege(a, b) AS true, (a, b, c) AS true",
        f"CREATE MACRO {c}.has_schema_privilege(a, b) AS true, (a, b, c) AS true",
        f"CREATE MACRO {c}.has_database_privilege(a, b) AS true, (a, b, c) AS true",
        f"CREATE MACRO {c}.has_column_privilege(a, b, c) AS true, (a, b, c, d) AS true",
        f"CREATE MACRO {c}.pg_has_role(a, b) AS true, (a, b, c) AS true",
        # reg* input: a number is already an OID, a name is looked up (NULL when absent, like to_regclass).
        f"""CREATE MACRO {c}.pp_regclass_oid(name) AS (
            CASE WHEN name IS NULL THEN NULL
                 WHEN regexp_full_match(CAST(name AS VARCHAR), '\\s*[0-9]+\\s*') THEN CAST(trim(CAST(name AS VARCHAR)) AS BIGINT)
                 ELSE (SELECT r.oid FROM {c}.pg_class r JOIN {c}.pg_namespace n ON n.oid = r.relnamespace
                       WHERE r.relname = {c}.pp_ident_part(CAST(name AS VARCHAR), -1)
                         AND (CASE WHEN {c}.pp_ident_part(CAST(name AS VARCHAR), -2) IS NULL
                                   THEN n.nspname = 'pg_catalog' OR n.nspname = 'pg_temp'
                                        OR list_contains({c}.pp_search_schemas(), n.nspname)
                                   ELSE n.nspname = {c}.pp_ident_part(CAST(name AS VARCHAR), -2) END)
                       ORDER BY n.nspname <> 'pg_catalog' LIMIT 1)
            END)""",
        f"""CREATE MACRO {c}.pp_ident_part(name, pos) AS (
            CASE WHEN len(string_split(name, '.')) < abs(pos) THEN NULL
                 WHEN contains(string_split(name, '.')[pos], '"') THEN replace(string_split(name, '.')[pos], '"', '')
                 ELSE lower(trim(string_split(name, '.')[pos])) END)""",
        f"""CREATE MACRO {c}.pp_regclass_name(rel_oid) AS (
            COALESCE((SELECT CASE WHEN {c}.pg_table_is_visible(r.oid) THEN {c}.quote_ident(r.relname)
                                  ELSE {c}.quote_ident(n.nspname) || '.' || {c}.quote_ident(r.relname) END
                      FROM {c}.pg_class r JOIN {c}.pg_namespace n ON n.oid = r.relnamespace
                      WHERE r.oid = rel_oid LIMIT 1), CAST(rel_oid AS VARCHAR)))""",
        f"""CREATE MACRO {c}.pp_regtype_oid(name) AS (
            CASE WHEN name IS NULL THEN NULL
                 WHEN regexp_full_match(CAST(name AS VARCHAR), '\\s*[0-9]+\\s*') THEN CAST(trim(CAST(name AS VARCHAR)) AS BIGINT)
                 ELSE COALESCE(
                   (SELECT t.oid FROM {c}.pg_type t
                    WHERE t.typname = regexp_replace(lower(trim(CAST(name AS VARCHAR))), '^pg_catalog\\.', '') LIMIT 1),
                   (SELECT d.oid FROM {c}.pp_type_display d
                    WHERE d.display = regexp_replace(lower(trim(CAST(name AS VARCHAR))), '^pg_catalog\\.', '') LIMIT 1),
                   (SELECT t.oid FROM {c}.pg_type t WHERE t.typname = CASE regexp_replace(lower(trim(CAST(name AS VARCHAR))), '^pg_catalog\\.', '')
                        WHEN 'int' THEN 'int4' WHEN 'decimal' THEN 'numeric' WHEN 'boolean' THEN 'bool'
                        WHEN 'float' THEN 'float8' WHEN 'char' THEN 'bpchar' WHEN 'timestamptz' THEN 'timestamptz'
                        ELSE NULL END LIMIT 1))
            END)""",
        f"CREATE MACRO {c}.pp_regtype_name(type_oid) AS CASE WHEN type_oid = 0 THEN '-' ELSE {c}.format_type(type_oid, NULL) END",
        f"""CREATE MACRO {c}.pp_regnamespace_oid(name) AS (
            CASE WHEN regexp_full_match(CAST(name AS VARCHAR), '\\s*[0-9]+\\s*') THEN CAST(trim(CAST(name AS VARCHAR)) AS BIGINT)
                 ELSE (SELECT n.oid FROM {c}.pg_namespace n WHERE n.nspname = CAST(name AS VARCHAR) LIMIT 1) END)""",
        f"""CREATE MACRO {c}.pp_regnamespace_name(ns_oid) AS (
            COALESCE((SELECT n.nspname FROM {c}.pg_namespace n WHERE n.oid = ns_oid LIMIT 1), CAST(ns_oid AS VARCHAR)))""",
        f"""CREATE MACRO {c}.pp_regrole_oid(name) AS (
            CASE WHEN regexp_full_match(CAST(name AS VARCHAR), '\\s*[0-9]+\\s*') THEN CAST(trim(CAST(name AS VARCHAR)) AS BIGINT)
                 ELSE (SELECT r.oid FROM {c}.pg_roles r WHERE r.rolname = CAST(name AS VARCHAR) LIMIT 1) END)""",
        f"""CREATE MACRO {c}.pp_regrole_name(role_oid) AS (
            COALESCE((SELECT r.rolname FROM {c}.pg_roles r WHERE r.oid = role_oid LIMIT 1), CAST(role_oid AS VARCHAR)))""",
        f"""CREATE MACRO {c}.pp_regproc_oid(name) AS (
            CASE WHEN regexp_full_match(CAST(name AS VARCHAR), '\\s*[0-9]+\\s*') THEN CAST(trim(CAST(name AS VARCHAR)) AS BIGINT)
                 ELSE CAST(NULL AS BIGINT) END)""",
        f"CREATE MACRO {c}.pp_regproc_name(proc_oid) AS CAST(proc_oid AS VARCHAR)",
    ]


def install_compat_catalog(
    con: object,
    *,
    main_database: str,
    duckdb_version: str,
    oid_for_duckdb_type: Callable[[str], int],
    settings: dict[str, str],
) -> None:
    """Attach the in-memory `pg_compat` catalog and create its macros and views.

    Runs once per process, on the warehouse's root connection, before the configuration is
    locked (ATTACH is still allowed then; the lock keeps clients from attaching anything).
    """
    run = con.execute  # type: ignore[attr-defined]
    run(f"ATTACH ':memory:' AS {COMPAT_CATALOG}")
    c = f"{COMPAT_CATALOG}.{COMPAT_SCHEMA}"
    run(f"CREATE TABLE {c}.pp_settings (name VARCHAR PRIMARY KEY, setting VARCHAR)")
    run(f"INSERT INTO {c}.pp_settings VALUES {_values(sorted(settings.items()))}")
    # Views use macros and macros use views, and DuckDB binds both when they are created: create
    # in rounds, each statement once everything it names exists.
    pending = list(_macros(oid_for_duckdb_type, duckdb_version))
    for name, select in _catalog_views(main_database).items():
        if name in _STATIC_VIEWS:
            # Constant rows: a table binds in microseconds where a VALUES list of a hundred rows
            # costs milliseconds at every reference (asyncpg's introspection names pg_type six
            # times). Internal pp_ relations are the tables themselves; catalogs stay views
            # (over a pp_ table), so pg_class still lists them under pg_catalog.
            table = name if name.startswith("pp_") else f"pp_static_{name}"
            run(f"CREATE TABLE {c}.{table} AS {select}")
            if table != name:
                pending.append(f"CREATE VIEW {c}.{name} AS SELECT * FROM {c}.{table}")
        else:
            pending.append(f"CREATE VIEW {c}.{name} AS {select}")
    while pending:
        failed: list[str] = []
        last_error: Exception | None = None
        for statement in pending:
            try:
                run(statement)
            except Exception as error:  # a dependency is created later in this round or the next
                failed.append(statement)
                last_error = error
        if len(failed) == len(pending):
            assert last_error is not None
            raise last_error
        pending = failed
    for name in _COMPAT_VIEWS:
        run(f"CREATE TABLE {c}.{EMPTY_PREFIX}{name} AS SELECT * FROM {c}.{name} LIMIT 0")


#: Catalog views whose rows never change (no table function, no session variable): the constant
#: ones and the always-empty ones.
_STATIC_VIEWS = frozenset({"pp_catalog_oids", "pg_type", "pp_type_display", "pg_am", "pg_collation",
                           "pg_tablespace"}) | frozenset(
    name for name, select in _catalog_views("x").items() if select.endswith(" WHERE false"))
#: Prefix of the empty, same-typed stand-in of each catalog view (see _prune_dead_branches).
EMPTY_PREFIX = "pp_empty_"
#: typtype of every pg_type row the compat catalog has (no composite, domain, enum or range types).
PG_TYPE_TYPTYPES = frozenset(str(row[6]) for row in _pg_type_rows())
#: Compat relations whose rows are the same for every session at any time.
STATIC_RELATIONS = _STATIC_VIEWS | frozenset(EMPTY_PREFIX + name for name in _catalog_views("x")
                                             if not name.startswith("pp_"))
#: Compat relations whose rows follow only DuckDB's schemas, with the query that fingerprints them.
SCHEMA_RELATIONS = {
    "pg_namespace": "SELECT list(oid ORDER BY oid), list(schema_name ORDER BY oid) FROM duckdb_schemas() "
                    "WHERE database_name NOT IN ('temp', 'system')",
}
#: Compat macros that read only static relations.
STATIC_MACROS = frozenset({f"{COMPAT_CATALOG}.{COMPAT_SCHEMA}.{name}"
                           for name in ("pp_regtype_name", "format_type", "pp_regtype_oid")})


# --- the tree rewrite ----------------------------------------------------------------------------

_COMPAT_VIEWS: frozenset[str] = frozenset(_catalog_views("x")) - {
    name for name in _catalog_views("x") if name.startswith("pp_")
}

#: Functions whose PostgreSQL meaning the compat macros provide (called qualified, so DuckDB's own
#: same-named pg_catalog functions, with DuckDB semantics, are never reached).
_COMPAT_FUNCTIONS: frozenset[str] = frozenset({
    "version", "pg_get_userbyid", "pg_encoding_to_char", "pg_char_to_encoding", "format_type",
    "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible", "pg_collation_is_visible",
    "pg_get_expr", "pg_get_indexdef", "pg_get_constraintdef", "pg_get_viewdef",
    "pg_get_statisticsobjdef_columns", "pg_relation_is_publishable", "pg_get_serial_sequence",
    "pg_is_in_recovery", "set_config", "pg_backend_pid", "pg_postmaster_start_time", "obj_description",
    "col_description", "shobj_description", "array_upper", "array_lower", "quote_ident",
    "has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
    "pg_has_role",
})

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

def _compat_table(name: str) -> exp.Table:
    return exp.Table(
        this=exp.to_identifier(name),
        db=exp.to_identifier(COMPAT_SCHEMA),
        catalog=exp.to_identifier(COMPAT_CATALOG),
    )


def _compat_call(name: str, args: list[exp.Expression]) -> exp.Expression:
    return exp.Anonymous(this=f"{COMPAT_CATALOG}.{COMPAT_SCHEMA}.{name}", expressions=args)


def _type_name(data_type: exp.Expression) -> str | None:
    """The lower-case name of a type PostgreSQL would resolve in pg_catalog, or None."""
    if isinstance(data_type, exp.ObjectIdentifier):
        return data_type.name.lower()
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
    return _type_name(to) in ("text", "varchar", "name")


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
    elif isinstance(inner, (exp.Literal, exp.Placeholder, exp.Parameter)) or _is_text_like(inner):
        oid = _compat_call(f"pp_{helper}_oid", [exp.cast(inner.copy(), "VARCHAR")])
    else:
        oid = inner.copy()
    # Output direction: ::regclass::text, or printed as a column, shows the name.
    if _is_text_cast(node.parent) or _in_output_position(node):
        return _compat_call(f"pp_{helper}_name", [oid])
    return oid


def _is_text_like(node: exp.Expression) -> bool:
    return isinstance(node, exp.Cast) and _is_text_cast(node)


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


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _setting_lookup(name_expr: exp.Expression) -> exp.Expression:
    """current_setting(name): the session's SET value (a DuckDB variable), else the default."""
    c = f"{COMPAT_CATALOG}.{COMPAT_SCHEMA}"
    if isinstance(name_expr, exp.Literal) and name_expr.is_string:
        key = name_expr.this.lower()
        variable = exp.Anonymous(this="getvariable", expressions=[exp.Literal.string(f"pp_guc_{key}")])
        default = sqlglot.parse_one(
            f"(SELECT s.setting FROM {c}.pp_settings s WHERE s.name = {_sql_str(key)})", read="duckdb"
        )
        return exp.Coalesce(this=variable, expressions=[default])
    return sqlglot.parse_one(
        f"(SELECT s.setting FROM {c}.pp_settings s WHERE s.name = lower(CAST(NULL AS VARCHAR)))", read="duckdb"
    ).transform(lambda n: name_expr.copy() if isinstance(n, exp.Null) else n)


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return None


def _rewrite_node(node: exp.Expression, ctes: set[str]) -> exp.Expression:
    # pg_catalog.fn(...) arrives as Dot(pg_catalog, fn(...)): drop the schema, then map the function.
    if isinstance(node, exp.Dot) and isinstance(node.this, exp.Identifier) \
            and node.this.name.lower() == "pg_catalog" and isinstance(node.expression, exp.Func):
        return node.expression

    if isinstance(node, exp.Table):
        name = node.name.lower()
        db = node.db.lower()
        if isinstance(node.this, exp.Identifier) and not node.catalog and (
            (db == "pg_catalog" and name in _COMPAT_VIEWS)
            or (not db and name in _COMPAT_VIEWS and name not in ctes)
        ):
            new = _compat_table(name)
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
            and node.db.lower() == "pg_catalog" and node.table.lower() in _COMPAT_VIEWS:
        node.set("db", None)  # pg_catalog.pg_class.relname -> pg_class.relname (the table's alias)
        node.set("catalog", None)
        return node

    if isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier):
        if not node.this.quoted and node.name.lower() in ("user", "current_role"):
            return exp.Anonymous(this="getvariable", expressions=[exp.Literal.string("pp_user")])
        if not node.this.quoted and node.name.lower() == "current_catalog":
            return exp.Anonymous(this="getvariable", expressions=[exp.Literal.string("pp_database")])

    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
        return exp.Anonymous(this="getvariable", expressions=[exp.Literal.string("pp_user")])
    if isinstance(node, exp.CurrentDatabase):
        return exp.Anonymous(this="getvariable", expressions=[exp.Literal.string("pp_database")])
    if isinstance(node, exp.CurrentVersion):
        return _compat_call("version", [])
    if isinstance(node, exp.CurrentSchema):
        return _compat_call("pp_current_schema", [])
    if type(node).__name__ == "CurrentSchemas":
        return _compat_call("pp_current_schemas", [node.this.copy() if node.this is not None else exp.true()])

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
        reg = _type_name(node.to)
        if reg in _REG_TYPES:
            return _rewrite_reg_cast(node, reg)
        if reg is not None or isinstance(node.to, exp.ObjectIdentifier):
            replacement = _replacement_type(reg or node.to.name.lower())
            if replacement is not None:
                node.set("to", replacement)
        return node

    if isinstance(node, exp.DataType):
        # Array element types such as pg_catalog.int2 inside int2[]: resolve them too.
        name = _type_name(node)
        if name is not None and not isinstance(node.parent, exp.Cast):
            replacement = _replacement_type(name)
            if replacement is not None:
                return replacement
        return node

    name = _function_name(node)
    if name is not None:
        args = list(node.expressions)
        if name == "current_setting" and args:
            return _setting_lookup(args[0])
        if name in ("to_regclass", "to_regtype", "to_regnamespace", "to_regrole"):
            kind = name[3:]
            return _compat_call(f"pp_{kind}_oid", [exp.cast(args[0], "VARCHAR")] if args else [])
        if name == "current_schemas":
            return _compat_call("pp_current_schemas", args[:1] or [exp.true()])
        if name in _COMPAT_FUNCTIONS:
            return _compat_call(name, args)
        if name in ("json_build_object", "jsonb_build_object"):
            return exp.Anonymous(this="json_object", expressions=args)
        if name in ("json_build_array", "jsonb_build_array"):
            return exp.Anonymous(this="json_array", expressions=args)
    return node


def rewrite_catalog_references(tree: exp.Expression) -> exp.Expression:
    """Point pg_catalog references of a parsed (postgres dialect) statement at the compat catalog."""
    ctes = _cte_names(tree)
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
            if table.catalog.lower() == COMPAT_CATALOG and table.name in _COMPAT_VIEWS:
                table.set("this", exp.to_identifier(EMPTY_PREFIX + table.name))
