"""The compat catalog's computed relations: PostgreSQL's catalogs as views over DuckDB's.

pg_class, pg_attribute, pg_constraint... are read from duckdb_tables(), duckdb_columns(),
duckdb_constraints() at query time, so they always show the warehouse as it is; pp_* views are
internal building blocks (never listed under pg_catalog).
"""

from __future__ import annotations

from proxy.backends.duckdb.catalog.constants import (
    CATALOG_RELATION_OIDS,
    COMPAT_CATALOG,
    COMPAT_PATH,
    CONSTRAINT_OID_BASE,
    INDEX_OID_BASE,
    INFORMATION_SCHEMA_OID,
    OWNER_NAME,
    OWNER_OID,
    PG_CATALOG_OID,
    PG_TEMP_OID,
)
from proxy.backends.duckdb.catalog.empty_views import ALWAYS_EMPTY_VIEWS
from proxy.backends.duckdb.catalog.pg_type import pg_type_rows, type_display_rows
from proxy.backends.duckdb.catalog.sql import namespace_oid_sql, pg_schema_sql
from proxy.backends.duckdb.sql_text import sql_literal, values_list
from proxy.catalog.model import PROXY_SCHEMA


def catalog_views(main_db: str) -> dict[str, str]:
    """View name -> SELECT, in creation order. `main_db` is DuckDB's name of the warehouse file."""
    db = sql_literal(main_db)
    compat = sql_literal(COMPAT_CATALOG)
    c = COMPAT_PATH
    known_oids = values_list([(name, oid) for name, oid in CATALOG_RELATION_OIDS.items()])
    own = sql_literal(PROXY_SCHEMA)  # the hash mask's key: never listed
    views: dict[str, str] = {}

    views["pp_catalog_oids"] = f"SELECT * FROM (VALUES {known_oids}) AS t(relname, oid)"

    # Relations of the warehouse plus the compat catalog itself (listed under pg_catalog).
    views["pp_relations"] = f"""
        SELECT CAST(t.table_oid AS BIGINT) AS oid, t.table_name AS relname,
               {namespace_oid_sql("t.schema_oid", "t.temporary")} AS relnamespace,
               {pg_schema_sql("t.schema_name", "t.temporary")} AS nspname,
               'r' AS relkind, CAST(t.column_count AS SMALLINT) AS relnatts,
               t.has_primary_key AS relhasindex, t.temporary, CAST(t.estimated_size AS REAL) AS reltuples,
               CAST(t.check_constraint_count AS SMALLINT) AS relchecks, t.comment, t.sql
        FROM duckdb_tables() t WHERE (t.database_name = {db} AND t.schema_name <> {own}) OR t.temporary
        UNION ALL
        SELECT CAST(v.view_oid AS BIGINT), v.view_name, {namespace_oid_sql("v.schema_oid", "v.temporary")},
               {pg_schema_sql("v.schema_name", "v.temporary")}, 'v', CAST(v.column_count AS SMALLINT), false, v.temporary, CAST(0 AS REAL),
               CAST(0 AS SMALLINT), v.comment, v.sql
        FROM duckdb_views() v WHERE (v.database_name = {db} OR v.temporary) AND NOT v.internal
          AND v.schema_name <> {own}
        UNION ALL
        SELECT CAST(COALESCE(k.oid, v.view_oid) AS BIGINT), v.view_name, {PG_CATALOG_OID}, 'pg_catalog',
               CASE WHEN k.oid IS NULL THEN 'v' ELSE 'r' END, CAST(v.column_count AS SMALLINT), false,
               false, CAST(0 AS REAL), CAST(0 AS SMALLINT), NULL, NULL
        FROM duckdb_views() v LEFT JOIN {c}.pp_catalog_oids k ON k.relname = v.view_name
        WHERE v.database_name = {compat} AND v.view_name NOT LIKE 'pp\\_%' ESCAPE '\\'
        UNION ALL
        SELECT CAST(s.sequence_oid AS BIGINT), s.sequence_name, {namespace_oid_sql("s.schema_oid", "s.temporary")},
               {pg_schema_sql("s.schema_name", "s.temporary")},
               'S', CAST(3 AS SMALLINT), false, s.temporary, CAST(1 AS REAL), CAST(0 AS SMALLINT),
               s.comment, s.sql
        FROM duckdb_sequences() s WHERE (s.database_name = {db} AND s.schema_name <> {own}) OR s.temporary
    """

    views["pp_columns"] = f"""
        SELECT CAST(COALESCE(k.oid, col.table_oid) AS BIGINT) AS attrelid, col.column_name AS attname,
               CAST(col.column_index AS SMALLINT) AS attnum, col.data_type,
               {c}.pp_type_oid(col.data_type) AS atttypid, {c}.pp_typmod(col.data_type) AS atttypmod,
               NOT col.is_nullable AS attnotnull, col.column_default, col.comment
        FROM duckdb_columns() col
        LEFT JOIN {c}.pp_catalog_oids k ON col.database_name = {compat} AND k.relname = col.table_name
        WHERE (col.database_name = {db} AND col.schema_name <> {own}) OR col.database_name = 'temp'
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
               {namespace_oid_sql("k.schema_oid", "k.database_name = 'temp'")} AS connamespace,
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
        WHERE ((k.database_name = {db} AND k.schema_name <> {own}) OR k.database_name = 'temp')
          AND k.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK', 'FOREIGN KEY')
    """

    views["pg_namespace"] = f"""
        SELECT CAST(s.oid AS BIGINT) AS oid, {pg_schema_sql("s.schema_name")} AS nspname,
               CAST({OWNER_OID} AS BIGINT) AS nspowner,
               CAST(NULL AS VARCHAR[]) AS nspacl
        FROM duckdb_schemas() s WHERE s.database_name = {db}
          AND s.schema_name NOT IN ('pg_catalog', 'information_schema', {own})
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
                              AND r.nspname = {pg_schema_sql("k.schema_name")} LIMIT 1), 0) AS BIGINT) AS confrelid,
               'a' AS confupdtype, 'a' AS confdeltype, 's' AS confmatchtype, true AS conislocal,
               0 AS coninhcount, false AS connoinherit, k.conkey,
               CAST(NULL AS SMALLINT[]) AS confkey, CAST(NULL AS BIGINT[]) AS conpfeqop,
               CAST(NULL AS BIGINT[]) AS conppeqop, CAST(NULL AS BIGINT[]) AS conffeqop,
               CAST(NULL AS SMALLINT[]) AS confdelsetcols, CAST(NULL AS BIGINT[]) AS conexclop,
               CAST(NULL AS VARCHAR) AS conbin
        FROM {c}.pp_constraints k
    """

    # Every column PostgreSQL 15's pg_type has (SQLAlchemy's domain reflection reads typdefault;
    # drivers read typsubscript, typmodin...): no type here has a default, an ACL or modifiers.
    views["pg_type"] = f"""
        SELECT t.*, CASE WHEN t.typcategory = 'A' THEN 'array_subscript_handler' ELSE '-' END
                        AS typsubscript,
               '-' AS typmodin, '-' AS typmodout, '-' AS typanalyze,
               CAST(NULL AS VARCHAR) AS typdefaultbin, CAST(NULL AS VARCHAR) AS typdefault,
               CAST(NULL AS VARCHAR[]) AS typacl
        FROM (VALUES {values_list(pg_type_rows())}) AS t(
            oid, typname, typnamespace, typowner, typlen, typbyval, typtype, typcategory, typispreferred,
            typisdefined, typdelim, typrelid, typelem, typarray, typinput, typoutput, typreceive, typsend,
            typalign, typstorage, typnotnull, typbasetype, typtypmod, typndims, typcollation)
    """

    views["pp_type_display"] = f"SELECT * FROM (VALUES {values_list(type_display_rows())}) AS t(oid, display)"

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
            ({sql_literal(OWNER_NAME)}, true, true, true, true, true, true, -1, '********', NULL, true, NULL,
             CAST({OWNER_OID} AS BIGINT))) AS t(
            rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
            rolconnlimit, rolpassword, rolvaliduntil, rolbypassrls, rolconfig, oid)
        UNION ALL
        SELECT getvariable('pp_user'), false, true, false, false, true, false, -1, '********', NULL, false,
               NULL, CAST(16385 AS BIGINT)
        WHERE getvariable('pp_user') IS DISTINCT FROM {sql_literal(OWNER_NAME)}
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
        SELECT n.nspname AS schemaname, c.relname AS tablename, {sql_literal(OWNER_NAME)} AS tableowner,
               CAST(NULL AS VARCHAR) AS tablespace, c.relhasindex AS hasindexes, false AS hasrules,
               false AS hastriggers, false AS rowsecurity
        FROM {c}.pg_class c JOIN {c}.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')
    """
    views["pg_views"] = f"""
        SELECT r.nspname AS schemaname, r.relname AS viewname, {sql_literal(OWNER_NAME)} AS viewowner,
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
    views.update(ALWAYS_EMPTY_VIEWS)
    return views
