"""Names and OIDs of the compat catalog, and which of its columns PostgreSQL types specially.

Shared by the catalog's SQL (views, macros), the statement rewrite and the result typing, so
all three agree on what pg_compat is called and which OIDs it hands out.
"""

from __future__ import annotations

#: The in-memory database holding the compat catalog, and its schema.
COMPAT_CATALOG = "pg_compat"
COMPAT_SCHEMA = "main"
#: How statements and macros name a compat relation or macro: `pg_compat.main.pg_class`.
COMPAT_PATH = f"{COMPAT_CATALOG}.{COMPAT_SCHEMA}"
#: The PostgreSQL version the warehouse reports (server_version, version()).
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

#: Catalog columns PostgreSQL types as oid / oid[]. DuckDB has no oid type, so results that read
#: the compat catalog get these OIDs back by column name (drivers such as asyncpg decode their
#: own introspection results with built-in oid codecs and would otherwise recurse into
#: introspecting int4[]).
OID_COLUMNS = frozenset({
    "oid", "typelem", "typarray", "typbasetype", "typrelid", "typnamespace", "typowner", "typcollation",
    "atttypid", "attrelid", "attcollation", "relnamespace", "reltype", "reloftype", "relowner", "relam",
    "reltablespace", "reltoastrelid", "relfilenode", "nspowner", "conrelid", "confrelid", "conindid",
    "connamespace", "contypid", "conparentid", "indexrelid", "indrelid", "objoid", "classoid", "adrelid",
    "datdba", "dattablespace", "rngtypid", "rngsubtype", "rngmultitypid", "rngcollation", "elemtype",
    "basetype", "range_subtype", "inhrelid", "inhparent", "enumtypid", "collnamespace", "seqrelid",
    "seqtypid", "pronamespace", "prorettype", "extnamespace", "spcowner", "collowner", "array_oid",
})
OID_ARRAY_COLUMNS = frozenset({"attrtypoids", "indclass", "indcollation", "proargtypes", "polroles"})
