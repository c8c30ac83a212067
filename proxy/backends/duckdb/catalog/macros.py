"""The compat catalog's macros: the functions psql, SQLAlchemy and the drivers call
(format_type, pg_get_indexdef, pg_table_is_visible, reg* lookups...) with PostgreSQL's meaning.
"""

from __future__ import annotations

from collections.abc import Callable

from proxy.backends.duckdb.catalog.constants import (
    COMPAT_PATH,
    OWNER_NAME,
    PG_SERVER_VERSION,
)
from proxy.backends.duckdb.catalog.sql import pg_schema_sql
from proxy.backends.duckdb.sql_text import sql_literal


def _type_oid_case(oid_for_duckdb_type: Callable[[str], int]) -> str:
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

    scalar = " ".join(f"WHEN {sql_literal(n)} THEN {o}" for n in names if (o := safe(n)) is not None)
    arrays = " ".join(f"WHEN {sql_literal(n)} THEN {o}" for n in names if (o := safe(n + "[]")) is not None)
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


def catalog_macros(oid_for_duckdb_type: Callable[[str], int], duckdb_version: str) -> list[str]:
    """CREATE MACRO statements; the installer runs them in rounds with the views, as each
    refers to the other."""
    c = COMPAT_PATH
    version = (
        f"PostgreSQL {PG_SERVER_VERSION} (purpose-proxy, DuckDB {duckdb_version}) on x86_64-pc-linux-gnu, "
        "compiled by purpose-proxy, 64-bit"
    )
    return [
        f"CREATE MACRO {c}.pp_type_oid(t) AS ({_type_oid_case(oid_for_duckdb_type)})",
        f"""CREATE MACRO {c}.pp_typmod(t) AS (
            CASE WHEN t LIKE 'DECIMAL(%' THEN
                CAST(regexp_extract(t, 'DECIMAL\\((\\d+),(\\d+)\\)', 1) AS INTEGER) * 65536
                + CAST(regexp_extract(t, 'DECIMAL\\((\\d+),(\\d+)\\)', 2) AS INTEGER) + 4
            ELSE -1 END)""",
        f"CREATE MACRO {c}.version() AS {sql_literal(version)}",
        f"CREATE MACRO {c}.pg_get_userbyid(role_oid) AS "
        f"CASE WHEN role_oid = 16385 THEN getvariable('pp_user') ELSE {sql_literal(OWNER_NAME)} END",
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
        # PostgreSQL's quote_literal: quotes doubled, and E'...' with backslashes doubled when
        # the text has any (asyncpg's copy_from_query inlines its arguments with it).
        f"CREATE MACRO {c}.quote_literal(v) AS (CASE WHEN v IS NULL THEN NULL "
        "WHEN contains(CAST(v AS VARCHAR), chr(92)) THEN 'E' || chr(39) || "
        "replace(replace(CAST(v AS VARCHAR), chr(92), chr(92) || chr(92)), chr(39), "
        "chr(39) || chr(39)) || chr(39) "
        "ELSE chr(39) || replace(CAST(v AS VARCHAR), chr(39), chr(39) || chr(39)) || chr(39) "
        "END)",
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
        f"CREATE MACRO {c}.pp_pg_schema(name) AS {pg_schema_sql('name')}",
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
        # `\l+`: the warehouse file's size (the one database a client sees), printed as
        # PostgreSQL's pg_size_pretty does (halves rounded up, units of 1024 from 10240 on).
        f"CREATE MACRO {c}.pg_database_size(db) AS (SELECT CAST(sum(total_blocks * block_size) "
        "AS BIGINT) FROM pragma_database_size() WHERE database_name = current_database())",
        f"""CREATE MACRO {c}.pg_size_pretty(n) AS (
            CASE WHEN n IS NULL THEN NULL
                 WHEN abs(n) < 10240 THEN CAST(n AS VARCHAR) || ' bytes'
                 WHEN abs(n) < 10240 * 1024 THEN CAST(CAST(round(n / 1024) AS BIGINT) AS VARCHAR) || ' kB'
                 WHEN abs(n) < 10240 * 1024 * 1024
                     THEN CAST(CAST(round(n / 1048576) AS BIGINT) AS VARCHAR) || ' MB'
                 WHEN abs(n) < 10240 * 1024 * 1024 * 1024
                     THEN CAST(CAST(round(n / 1073741824) AS BIGINT) AS VARCHAR) || ' GB'
                 ELSE CAST(CAST(round(n / 1099511627776) AS BIGINT) AS VARCHAR) || ' TB' END)""",
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
