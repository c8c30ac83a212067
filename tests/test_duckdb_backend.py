"""The embedded DuckDB warehouse: execution, streaming, tags, transactions, errors, describe,
cancel, lockdown, and the pg_catalog compatibility real clients (psql, SQLAlchemy) rely on.

The psql and SQLAlchemy statements below were captured verbatim from psql 15 (`psql -E`) and
SQLAlchemy 2 (`echo=True`, psycopg driver) against a real PostgreSQL; they run here through the
same `execute()` path a client's statements take.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pytest

from proxy.backends.base import StatementDescription
from proxy.backends.duckdb import DuckDBSession, DuckDBWarehouse
from proxy.demo.data import demo_rows
from proxy.errors import PgError
from proxy.wire.types import Oid

T = TypeVar("T")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    path = tmp_path_factory.mktemp("duckdb") / "acme.duckdb"
    wh = DuckDBWarehouse(path, threads=2)
    asyncio.run(wh.start())
    yield wh
    asyncio.run(wh.close())


def in_session(warehouse: DuckDBWarehouse, body: Callable[[DuckDBSession], Awaitable[T]],
               user: str = "ana", database: str = "acme") -> T:
    async def run() -> T:
        session = await warehouse.open_session(user, database)
        try:
            return await body(session)
        finally:
            await session.close()

    return asyncio.run(run())


async def rows_of(session: DuckDBSession, sql: str, params: list[object] | tuple[object, ...] = ()) -> list[tuple]:
    cursor = await session.execute(sql, params)
    rows = await cursor.fetch(None)
    await cursor.close()
    return rows


async def error_of(session: DuckDBSession, sql: str, params: list[object] | tuple[object, ...] = ()) -> PgError:
    with pytest.raises(PgError) as info:
        cursor = await session.execute(sql, params)
        await cursor.fetch(None)
    return info.value

PSQL_DT_VISIBLE = r"""
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;
"""

PSQL_DT_SHOP = r"""
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND n.nspname OPERATOR(pg_catalog.~) '^(shop)$' COLLATE pg_catalog.default
ORDER BY 1,2;
"""

PSQL_D_LOOKUP = r"""
SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(customers)$' COLLATE pg_catalog.default
  AND n.nspname OPERATOR(pg_catalog.~) '^(shop)$' COLLATE pg_catalog.default
ORDER BY 2, 3;
"""

PSQL_D_TABLE = r"""
SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '__OID__';
"""

PSQL_D_COLUMNS = r"""
SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '__OID__' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;
"""

PSQL_D_INDEXES = r"""
SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
WHERE c.oid = '__OID__' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname;
"""

PSQL_D_POLICIES = r"""
SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '__OID__' ORDER BY 1;
"""

PSQL_D_STATISTICS = r"""
SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = '__OID__'
ORDER BY nsp, stxname;
"""

PSQL_D_PUBLICATIONS = r"""
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='__OID__' and pg_catalog.pg_relation_is_publishable('__OID__')
UNION
SELECT pubname
     , pg_get_expr(pr.prqual, c.oid)
     , (CASE WHEN pr.prattrs IS NOT NULL THEN
         (SELECT string_agg(attname, ', ')
           FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                pg_catalog.pg_attribute
          WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
        ELSE NULL END) FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
WHERE pr.prrelid = '__OID__'
UNION
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('__OID__')
ORDER BY 1;
"""

PSQL_D_INHERITS = r"""
SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '__OID__'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno;
"""

PSQL_D_PARTITIONS = r"""
SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhrelid AND i.inhparent = '__OID__'
ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.oid::pg_catalog.regclass::pg_catalog.text;
"""

PSQL_DN = r"""
SELECT n.nspname AS "Name",
  pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner"
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1;
"""

PSQL_L = r"""
SELECT d.datname as "Name",
       pg_catalog.pg_get_userbyid(d.datdba) as "Owner",
       pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding",
       d.datcollate as "Collate",
       d.datctype as "Ctype",
       d.daticulocale as "ICU Locale",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS "Locale Provider",
       pg_catalog.array_to_string(d.datacl, E'\n') AS "Access privileges"
FROM pg_catalog.pg_database d
ORDER BY 1;
"""

PSQL_DV = r"""
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;
"""

PSQL_DI = r"""
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner",
  c2.relname as "Table"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
     LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
     LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid
WHERE c.relkind IN ('i','I','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;
"""

PSQL_D_ALL = r"""
SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;
"""
SA_SCHEMA_NAMES = r"""
SELECT pg_catalog.pg_namespace.nspname 
FROM pg_catalog.pg_namespace 
WHERE (pg_catalog.pg_namespace.nspname NOT LIKE $1::VARCHAR || '%' ESCAPE '/') ORDER BY pg_catalog.pg_namespace.nspname
"""
SA_SCHEMA_NAMES_PARAMS: list[object] = ['pg/_']

SA_TABLE_NAMES = r"""
SELECT pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY[$1::VARCHAR, $2::VARCHAR]) AND pg_catalog.pg_class.relpersistence != $3::VARCHAR AND pg_catalog.pg_namespace.nspname = $4::VARCHAR
"""
SA_TABLE_NAMES_PARAMS: list[object] = ['r', 'p', 't', 'shop']

SA_COLUMNS = r"""
SELECT pg_catalog.pg_attribute.attname AS name, pg_catalog.format_type(pg_catalog.pg_attribute.atttypid, pg_catalog.pg_attribute.atttypmod) AS format_type, CASE WHEN pg_catalog.pg_attribute.atthasdef THEN (SELECT pg_catalog.pg_get_expr(pg_catalog.pg_attrdef.adbin, pg_catalog.pg_attrdef.adrelid) AS pg_get_expr_1 
FROM pg_catalog.pg_attrdef 
WHERE pg_catalog.pg_attribute.atthasdef AND pg_catalog.pg_attrdef.adrelid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_attrdef.adnum = pg_catalog.pg_attribute.attnum) ELSE NULL END AS "default", pg_catalog.pg_attribute.attnotnull AS not_null, pg_catalog.pg_class.relname AS table_name, pg_catalog.pg_description.description AS comment, pg_catalog.pg_attribute.attgenerated AS generated, CASE WHEN (pg_catalog.pg_attribute.attidentity != $1::VARCHAR) THEN (SELECT json_build_object($2::VARCHAR, pg_catalog.pg_attribute.attidentity = $3::VARCHAR, $4::VARCHAR, pg_catalog.pg_sequence.seqstart, $5::VARCHAR, pg_catalog.pg_sequence.seqincrement, $6::VARCHAR, pg_catalog.pg_sequence.seqmin, $7::VARCHAR, pg_catalog.pg_sequence.seqmax, $8::VARCHAR, pg_catalog.pg_sequence.seqcache, $9::VARCHAR, pg_catalog.pg_sequence.seqcycle) AS json_build_object_1 
FROM pg_catalog.pg_sequence 
WHERE pg_catalog.pg_attribute.attidentity != $10::VARCHAR AND pg_catalog.pg_sequence.seqrelid = CAST(CAST(pg_catalog.pg_get_serial_sequence(CAST(CAST(pg_catalog.pg_attribute.attrelid AS REGCLASS) AS TEXT), pg_catalog.pg_attribute.attname) AS REGCLASS) AS OID)) ELSE NULL END AS identity_options, CASE WHEN (pg_catalog.pg_attribute.attcollation != $11::INTEGER AND (SELECT pg_catalog.pg_type.typcollation 
FROM pg_catalog.pg_type 
WHERE pg_catalog.pg_type.oid = pg_catalog.pg_attribute.atttypid) != pg_catalog.pg_attribute.attcollation) THEN (SELECT json_build_object($12::VARCHAR, pg_catalog.pg_collation.collname, $13::VARCHAR, CASE WHEN pg_catalog.pg_collation_is_visible(pg_catalog.pg_collation.oid) THEN NULL ELSE pg_catalog.pg_namespace.nspname END) AS json_build_object_9 
FROM pg_catalog.pg_collation JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_collation.collnamespace 
WHERE pg_catalog.pg_collation.oid = pg_catalog.pg_attribute.attcollation) ELSE NULL END AS collation 
FROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_attribute ON pg_catalog.pg_class.oid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_attribute.attnum > $14::SMALLINT AND NOT pg_catalog.pg_attribute.attisdropped LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_attribute.attrelid AND pg_catalog.pg_description.objsubid = pg_catalog.pg_attribute.attnum JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY[$15::VARCHAR, $16::VARCHAR, $17::VARCHAR, $18::VARCHAR, $19::VARCHAR]) AND pg_catalog.pg_namespace.nspname = $20::VARCHAR AND pg_catalog.pg_class.relname IN ($21::VARCHAR) ORDER BY pg_catalog.pg_class.relname, pg_catalog.pg_attribute.attnum
"""
SA_COLUMNS_PARAMS: list[object] = ['', 'always', 'a', 'start', 'increment', 'minvalue', 'maxvalue', 'cache', 'cycle', '', 0, 'name', 'schema', 0, 'r', 'p', 'f', 'v', 'm', 'shop', 'customers']

SA_HAS_TABLE = r"""
SELECT pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relname IN ($1::VARCHAR) AND pg_catalog.pg_class.relkind = ANY (ARRAY[$2::VARCHAR, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR, $6::VARCHAR]) AND pg_catalog.pg_namespace.nspname = $7::VARCHAR
"""
SA_HAS_TABLE_PARAMS: list[object] = ['customers', 'r', 'p', 'f', 'v', 'm', 'shop']

SA_TABLE_OIDS = r"""
SELECT pg_catalog.pg_class.oid, pg_catalog.pg_class.relname 
FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace 
WHERE pg_catalog.pg_class.relkind = ANY (ARRAY[$1::VARCHAR, $2::VARCHAR, $3::VARCHAR, $4::VARCHAR, $5::VARCHAR]) AND pg_catalog.pg_namespace.nspname = $6::VARCHAR AND pg_catalog.pg_class.relname IN ($7::VARCHAR)
"""
SA_TABLE_OIDS_PARAMS: list[object] = ['r', 'p', 'f', 'v', 'm', 'shop', 'customers']

SA_PK = r"""
SELECT attr.conrelid, array_agg(CAST(attr.attname AS TEXT) ORDER BY attr.ord) AS cols, attr.conname, min(attr.description) AS description, min(attr.indnkeyatts) AS indnkeyatts, bool_and(attr.indnullsnotdistinct) AS indnullsnotdistinct 
FROM (SELECT con.conrelid AS conrelid, con.conname AS conname, con.description AS description, con.ord AS ord, con.indnkeyatts AS indnkeyatts, con.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_attribute.attname AS attname 
FROM pg_catalog.pg_attribute JOIN (SELECT pg_catalog.pg_constraint.conrelid AS conrelid, pg_catalog.pg_constraint.conname AS conname, unnest(pg_catalog.pg_index.indkey) AS attnum, generate_subscripts(pg_catalog.pg_index.indkey, $1::INTEGER) AS ord, pg_catalog.pg_index.indnkeyatts AS indnkeyatts, pg_catalog.pg_index.indnullsnotdistinct AS indnullsnotdistinct, pg_catalog.pg_description.description AS description 
FROM pg_catalog.pg_constraint JOIN pg_catalog.pg_index ON pg_catalog.pg_constraint.conindid = pg_catalog.pg_index.indexrelid LEFT OUTER JOIN pg_catalog.pg_description ON pg_catalog.pg_description.objoid = pg_catalog.pg_constraint.oid AND pg_catalog.pg_description.classoid = CAST($2 AS REGCLASS) 
WHERE pg_catalog.pg_constraint.contype = $3::VARCHAR AND pg_catalog.pg_constraint.conrelid IN ($4)) AS con ON pg_catalog.pg_attribute.attnum = con.attnum AND pg_catalog.pg_attribute.attrelid = con.conrelid 
WHERE con.conrelid IN ($4)) AS attr GROUP BY attr.conrelid, attr.conname ORDER BY attr.conrelid, attr.conname
"""
SA_PK_PARAMS: list[object] = [1, 'pg_catalog.pg_constraint', 'p', 16389]


# --- start, demo data, lockdown -----------------------------------------------------------------------


def test_first_start_creates_the_demo_warehouse(warehouse: DuckDBWarehouse) -> None:
    assert warehouse.path.exists()

    async def body(s: DuckDBSession) -> None:
        for table, (_names, rows) in demo_rows().items():
            assert await rows_of(s, f"SELECT count(*) FROM shop.{table}") == [(len(rows),)]

    in_session(warehouse, body)


def test_restart_keeps_data_and_does_not_reload(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"

    async def first() -> None:
        wh = await DuckDBWarehouse.open(path)
        s = await wh.open_session("etl", "acme")
        await rows_of(s, "DELETE FROM shop.products WHERE id = 1")
        await s.close()
        await wh.close()

    async def second() -> list[tuple]:
        wh = await DuckDBWarehouse.open(path)
        s = await wh.open_session("etl", "acme")
        try:
            return await rows_of(s, "SELECT count(*) FROM shop.products")
        finally:
            await s.close()
            await wh.close()

    asyncio.run(first())
    assert asyncio.run(second()) == [(59,)]


SIDE_DOORS = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "COPY shop.customers TO '/tmp/leak.csv'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "ATTACH ':memory:' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA enable_profiling",
    "EXPORT DATABASE '/tmp/export'",
    "CALL pragma_version()",
]


@pytest.mark.parametrize("sql", SIDE_DOORS)
def test_sessions_cannot_reach_outside(warehouse: DuckDBWarehouse, sql: str) -> None:
    error = in_session(warehouse, lambda s: error_of(s, sql))
    assert error.sqlstate in ("42501", "42601", "0A000")


def test_set_cannot_undo_the_lock(warehouse: DuckDBWarehouse, tmp_path: Path) -> None:
    leak = tmp_path / "leak.csv"
    async def body(s: DuckDBSession) -> None:
        # Through the session: SET is an emulated PostgreSQL parameter, never a DuckDB setting...
        await rows_of(s, "SET enable_external_access = true")
        await rows_of(s, "SET lock_configuration = false")
        error = await error_of(s, "SELECT * FROM read_csv('/etc/passwd')")
        assert error.sqlstate == "42501"

    in_session(warehouse, body)

    # ...and DuckDB itself refuses, even on a raw connection of the same database.
    raw = warehouse._root.cursor()
    try:
        for statement in (
            "SET enable_external_access = true",
            "RESET enable_external_access",
            "SET lock_configuration = false",
            "RESET lock_configuration",
            "SET autoload_known_extensions = true",
            "SET allow_community_extensions = true",
            "SET GLOBAL enable_external_access = true",
        ):
            with pytest.raises(duckdb.Error):
                raw.execute(statement)
        for statement in (
            "SELECT * FROM read_csv('/etc/passwd')",
            f"COPY (SELECT 1) TO '{leak}'",
            f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
            "INSTALL httpfs",
            "LOAD httpfs",
        ):
            with pytest.raises(duckdb.Error):
                raw.execute(statement)
        settings = dict(raw.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
            "'autoinstall_known_extensions', 'autoload_known_extensions', 'allow_community_extensions', "
            "'lock_configuration')"
        ).fetchall())
        assert settings == {
            "enable_external_access": "false", "autoinstall_known_extensions": "false",
            "autoload_known_extensions": "false", "allow_community_extensions": "false",
            "lock_configuration": "true",
        }
    finally:
        raw.close()
    assert not leak.exists() and not (tmp_path / "other.duckdb").exists()


def test_python_variables_are_not_readable(warehouse: DuckDBWarehouse) -> None:
    secret_rows = [("do-not-read",)]  # noqa: F841 - a replacement scan would find this local
    error = in_session(warehouse, lambda s: error_of(s, "SELECT * FROM secret_rows"))
    assert error.sqlstate == "42P01"


# --- execute, streaming, command tags -------------------------------------------------------------------


def test_select_columns_and_oids(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        cursor = await s.execute(
            "SELECT id, email, birth_date, marketing_consent, created_at FROM shop.customers ORDER BY id LIMIT 2", ()
        )
        assert [(c.name, c.type_oid) for c in cursor.columns] == [
            ("id", Oid.INT4), ("email", Oid.TEXT), ("birth_date", Oid.DATE),
            ("marketing_consent", Oid.BOOL), ("created_at", Oid.TIMESTAMP),
        ]
        rows = await cursor.fetch(None)
        assert rows[0] == demo_rows()["customers"][1][0][:1] + (demo_rows()["customers"][1][0][1],) + \
            (demo_rows()["customers"][1][0][4], demo_rows()["customers"][1][0][6], demo_rows()["customers"][1][0][7])
        assert cursor.exhausted and cursor.command_tag() == "SELECT 2"

        cursor = await s.execute("SELECT count(*), 1, 'x'::text, $1::int, ARRAY[1, 2], 7 / 2, 1.5::numeric(10,2)",
                                 [5])
        assert [(c.name, c.type_oid) for c in cursor.columns] == [
            ("count", Oid.INT8), ("?column?", Oid.INT4), ("text", Oid.TEXT), ("int4", Oid.INT4),
            ("array", Oid.INT4_ARRAY), ("?column?", Oid.INT4), ("numeric", Oid.NUMERIC),
        ]
        assert cursor.columns[6].type_modifier == ((10 << 16) | 2) + 4
        rows = await cursor.fetch(None)
        assert rows[0][:6] == (1, 1, "x", 5, [1, 2], 3)  # integer division, as PostgreSQL

    in_session(warehouse, body)


def test_streaming_fetch_in_batches(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        cursor = await s.execute("SELECT i FROM range(10000000) t(i)", ())
        first = await cursor.fetch(3)
        assert first == [(0,), (1,), (2,)] and not cursor.exhausted
        second = await cursor.fetch(5)
        assert second == [(3,), (4,), (5,), (6,), (7,)]
        await cursor.close()
        cursor = await s.execute("SELECT i FROM range(25000) t(i)", ())
        total = 0
        while not cursor.exhausted:
            total += len(await cursor.fetch(4000))
        assert total == 25000 and cursor.command_tag() == "SELECT 25000"
        assert await cursor.fetch(10) == []

    started = time.perf_counter()
    in_session(warehouse, body)
    assert time.perf_counter() - started < 5  # ten million rows were never materialised


def test_suspended_portal_survives_a_second_statement(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        first = await s.execute("SELECT i FROM range(30000) t(i)", ())
        assert await first.fetch(2) == [(0,), (1,)]
        assert await rows_of(s, "SELECT 42") == [(42,)]
        rest = await first.fetch(None)
        assert rest[0] == (2,) and rest[-1] == (29999,) and len(rest) == 29998
        assert first.command_tag() == "SELECT 30000"
        # describe also uses the connection: same rule.
        again = await s.execute("SELECT i FROM range(5) t(i)", ())
        assert await again.fetch(1) == [(0,)]
        await s.describe("SELECT 1", [])
        assert await again.fetch(None) == [(1,), (2,), (3,), (4,)]

    in_session(warehouse, body)


def test_command_tags(warehouse: DuckDBWarehouse) -> None:
    async def tag(s: DuckDBSession, sql: str, params: tuple[object, ...] = ()) -> str:
        cursor = await s.execute(sql, params)
        await cursor.fetch(None)
        return cursor.command_tag()

    async def body(s: DuckDBSession) -> None:
        assert await tag(s, "CREATE SCHEMA sandbox") == "CREATE SCHEMA"
        assert await tag(s, "CREATE TABLE sandbox.t (id integer PRIMARY KEY, note text)") == "CREATE TABLE"
        assert await tag(s, "INSERT INTO sandbox.t VALUES (1, 'a'), (2, 'b'), (3, 'c')") == "INSERT 0 3"
        assert await tag(s, "UPDATE sandbox.t SET note = 'z' WHERE id >= 2") == "UPDATE 2"
        assert await tag(s, "DELETE FROM sandbox.t WHERE id = 3") == "DELETE 1"
        assert await tag(s, "DELETE FROM sandbox.t WHERE id = 99") == "DELETE 0"
        cursor = await s.execute("INSERT INTO sandbox.t VALUES (7, 'r') RETURNING id, note", ())
        assert [c.name for c in cursor.columns] == ["id", "note"]
        assert await cursor.fetch(None) == [(7, "r")] and cursor.command_tag() == "INSERT 0 1"
        assert await tag(s, "CREATE TABLE sandbox.copy AS SELECT * FROM sandbox.t") == "SELECT 3"
        assert await tag(s, "CREATE VIEW sandbox.v AS SELECT id FROM sandbox.t") == "CREATE VIEW"
        assert await tag(s, "DROP VIEW sandbox.v") == "DROP VIEW"
        assert await tag(s, "TRUNCATE sandbox.copy") == "TRUNCATE TABLE"
        assert await tag(s, "DROP TABLE sandbox.copy") == "DROP TABLE"
        assert await tag(s, "SELECT * FROM sandbox.t WHERE false") == "SELECT 0"
        assert await tag(s, "VALUES (1), (2)") == "SELECT 2"
        assert await tag(s, "BEGIN") == "BEGIN"
        assert await tag(s, "COMMIT") == "COMMIT"
        assert await tag(s, "START TRANSACTION ISOLATION LEVEL SERIALIZABLE") == "START TRANSACTION"
        assert await tag(s, "ROLLBACK") == "ROLLBACK"
        assert await tag(s, "SET application_name = 'tests'") == "SET"
        assert await tag(s, "SHOW application_name") == "SHOW"
        assert await tag(s, "RESET application_name") == "RESET"
        assert await tag(s, "DROP SCHEMA sandbox CASCADE") == "DROP SCHEMA"

    in_session(warehouse, body, user="etl")


# --- transactions ----------------------------------------------------------------------------------------


def test_transaction_status_and_failed_transaction(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        assert s.transaction_status == "I"
        await rows_of(s, "BEGIN")
        assert s.transaction_status == "T"
        await rows_of(s, "INSERT INTO shop.products VALUES (901, 'Gizmo', 'Home', 100)")
        error = await error_of(s, "SELECT 'abc'::integer")
        assert error.sqlstate == "22P02" and error.message == 'invalid input syntax for type integer: "abc"'
        assert s.transaction_status == "E"
        error = await error_of(s, "SELECT 1")
        assert error.sqlstate == "25P02"
        assert error.message == "current transaction is aborted, commands ignored until end of transaction block"
        cursor = await s.execute("COMMIT", ())
        assert cursor.command_tag() == "ROLLBACK"  # as PostgreSQL reports a COMMIT of a failed transaction
        assert s.transaction_status == "I"
        assert await rows_of(s, "SELECT count(*) FROM shop.products WHERE id = 901") == [(0,)]

        # An error outside a transaction block leaves the session idle.
        await error_of(s, "SELECT 1/0")
        assert s.transaction_status == "I"

    in_session(warehouse, body, user="etl")


def test_each_session_has_its_own_transaction(warehouse: DuckDBWarehouse) -> None:
    async def body() -> None:
        a = await warehouse.open_session("etl", "acme")
        b = await warehouse.open_session("ana", "acme")
        try:
            await rows_of(a, "BEGIN")
            await rows_of(a, "INSERT INTO shop.products VALUES (902, 'Widget', 'Home', 100)")
            assert await rows_of(b, "SELECT count(*) FROM shop.products WHERE id = 902") == [(0,)]
            await rows_of(a, "COMMIT")
            assert await rows_of(b, "SELECT count(*) FROM shop.products WHERE id = 902") == [(1,)]
            await rows_of(a, "DELETE FROM shop.products WHERE id = 902")
        finally:
            await a.close()
            await b.close()

    asyncio.run(body())


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("sql", "sqlstate", "message"), [
    ("SELECT * FROM shop.nope", "42P01", 'relation "shop.nope" does not exist'),
    ("SELECT nope FROM shop.customers", "42703", 'column "nope" does not exist'),
    ("SELEC 1", "42601", 'syntax error at or near "SELEC"'),
    ("SELECT 1 +", "42601", "syntax error at end of input"),
    ("SELECT 1/0", "22012", "division by zero"),
    ("SELECT 'x'::int", "22P02", 'invalid input syntax for type integer: "x"'),
    ("INSERT INTO shop.products VALUES (1, 'dup', 'Home', 1)", "23505",
     "duplicate key value violates unique constraint"),
    ("INSERT INTO shop.products (id) VALUES (999)", "23502",
     'null value in column "name" of relation "products" violates not-null constraint'),
    ("SELECT no_such_function(1)", "42883", "function no_such_function does not exist"),
    ("SELECT 1; SELECT 2", "42601", "cannot insert multiple commands into a prepared statement"),
])
def test_error_mapping(warehouse: DuckDBWarehouse, sql: str, sqlstate: str, message: str) -> None:
    error = in_session(warehouse, lambda s: error_of(s, sql), user="etl")
    assert (error.sqlstate, error.message) == (sqlstate, message)


# --- parameters and describe ------------------------------------------------------------------------------


def test_text_parameters_for_typed_placeholders(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        assert await rows_of(s, "SELECT id FROM shop.customers WHERE id = $1", ["5"]) == [(5,)]
        assert await rows_of(s, "SELECT $1 + 1", ["41"]) == [(42,)]
        assert await rows_of(s, "SELECT count(*) FROM shop.orders WHERE ordered_at < $1", ["2022-02-01"]) \
            == [(sum(1 for o in demo_rows()["orders"][1] if o[2].isoformat() < "2022-02-01"),)]
        assert await rows_of(s, "SELECT name FROM shop.products ORDER BY id LIMIT $1 OFFSET $2", ["1", "1"]) \
            == [(demo_rows()["products"][1][1][1],)]
        from datetime import datetime
        from decimal import Decimal
        assert await rows_of(s, "SELECT $1::numeric * 2, $2::timestamp", [Decimal("1.25"), datetime(2024, 1, 1)]) \
            == [(Decimal("2.50"), datetime(2024, 1, 1))]
        assert await rows_of(s, "SELECT count(*) FROM shop.customers WHERE id = ANY($1)", [[1, 2, 3]]) == [(3,)]

    in_session(warehouse, body)


def test_describe_infers_parameter_types(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> list[StatementDescription]:
        return [
            await s.describe(
                "SELECT id, email FROM shop.customers WHERE id = $1 AND country IN ($2, $3) "
                "AND created_at BETWEEN $4 AND $5 AND email LIKE $6 LIMIT $7 OFFSET $8", []),
            await s.describe("SELECT $1::int, $2, $3", [0, Oid.INT8, 0]),
            await s.describe("INSERT INTO shop.orders (id, customer_id, ordered_at, status, total_cents) "
                             "VALUES ($1, $2, $3, $4, $5)", []),
            await s.describe("SELECT c.id FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id "
                             "WHERE o.total_cents > $1 AND c.birth_date < $2", []),
            await s.describe("SELECT price_cents * $1 FROM shop.products", []),
            await s.describe("UPDATE shop.products SET price_cents = $1 WHERE id = $2", []),
            await s.describe("SELECT lower($1)", []),
        ]

    d = in_session(warehouse, body)
    assert d[0].parameter_oids == (Oid.INT4, Oid.TEXT, Oid.TEXT, Oid.TIMESTAMP, Oid.TIMESTAMP, Oid.TEXT,
                                   Oid.INT8, Oid.INT8)
    assert [(c.name, c.type_oid) for c in d[0].columns] == [("id", Oid.INT4), ("email", Oid.TEXT)]
    assert d[1].parameter_oids == (Oid.INT4, Oid.INT8, Oid.TEXT)
    assert [(c.name, c.type_oid) for c in d[1].columns] == [("int4", Oid.INT4), ("?column?", Oid.INT8),
                                                            ("?column?", Oid.TEXT)]
    assert d[2].parameter_oids == (Oid.INT4, Oid.INT4, Oid.TIMESTAMP, Oid.TEXT, Oid.INT8)
    assert d[2].columns is None
    assert d[3].parameter_oids == (Oid.INT8, Oid.DATE)
    assert d[4].parameter_oids == (Oid.INT8,)
    assert d[5].parameter_oids == (Oid.INT8, Oid.INT4) and d[5].columns is None
    assert d[6].parameter_oids == (Oid.TEXT,)


def test_describe_never_executes(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> tuple[StatementDescription, StatementDescription, list[tuple]]:
        insert = await s.describe("INSERT INTO shop.products VALUES ($1, $2, $3, $4)", [])
        returning = await s.describe(
            "INSERT INTO shop.products VALUES (950, 'Never', 'Home', 1) RETURNING id, name, price_cents", [])
        slow = await s.describe("SELECT count(*) FROM range(1000000000000) a", [])
        assert [c.name for c in slow.columns] == ["count"]
        for sql in ("BEGIN", "SET search_path = shop", "DELETE FROM shop.products", "CREATE TABLE shop.x (a int)"):
            assert (await s.describe(sql, [])).columns is None
        return insert, returning, await rows_of(s, "SELECT count(*) FROM shop.products WHERE id = 950")

    insert, returning, count = in_session(warehouse, body, user="etl")
    assert insert.parameter_oids == (Oid.INT4, Oid.TEXT, Oid.TEXT, Oid.INT8) and insert.columns is None
    assert [(c.name, c.type_oid) for c in returning.columns] == [
        ("id", Oid.INT4), ("name", Oid.TEXT), ("price_cents", Oid.INT8)]
    assert count == [(0,)]
    assert in_session(warehouse, lambda s: rows_of(s, "SELECT count(*) FROM shop.products")) == [(60,)]


# --- cancel --------------------------------------------------------------------------------------------------


def test_cancel_interrupts_a_long_statement(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        timer = threading.Timer(0.3, s.cancel)  # from another thread, as the cancel path does
        timer.start()
        started = time.perf_counter()
        error = await error_of(
            s, "SELECT count(*) FROM range(100000) a, range(100000) b, range(1000) c WHERE a.range + b.range > c.range")
        assert time.perf_counter() - started < 5
        assert (error.sqlstate, error.message) == ("57014", "canceling statement due to user request")
        assert await rows_of(s, "SELECT 1") == [(1,)]  # the session stays usable

        await rows_of(s, "BEGIN")
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, s.cancel)  # and from the event loop
        error = await error_of(s, "SELECT count(*) FROM range(100000) a, range(100000) b")
        assert error.sqlstate == "57014" and s.transaction_status == "E"
        await rows_of(s, "ROLLBACK")
        assert s.transaction_status == "I"

    in_session(warehouse, body)


# --- PostgreSQL identity ----------------------------------------------------------------------------------------


def test_server_identity_functions(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        cursor = await s.execute(
            "SELECT version(), current_setting('server_version'), current_setting('TimeZone'), "
            "current_database(), current_user, session_user, pg_backend_pid(), current_schema()", ())
        assert [c.name for c in cursor.columns] == [
            "version", "current_setting", "current_setting", "current_database", "current_user", "session_user",
            "pg_backend_pid", "current_schema"]
        (row,) = await cursor.fetch(None)
        assert row[0].startswith(f"PostgreSQL 16.0 (purpose-proxy, DuckDB v{duckdb.__version__})")
        zone = warehouse.default_settings["timezone"]  # DuckDB's own TimeZone (the machine's)
        assert row[1:6] == ("16.0", zone, "acme", "mark", "mark")
        assert row[6] == s.backend_pid
        assert await rows_of(s, "SHOW server_version") == [("16.0",)]
        cursor = await s.execute("SHOW TimeZone", ())
        assert [c.name for c in cursor.columns] == ["TimeZone"] and await cursor.fetch(None) == [(zone,)]
        await rows_of(s, "SET TIME ZONE 'Europe/Berlin'")
        assert await rows_of(s, "SELECT current_setting('TimeZone')") == [("Europe/Berlin",)]
        assert await rows_of(s, "SHOW timezone") == [("Europe/Berlin",)]
        await rows_of(s, "RESET TimeZone")
        assert await rows_of(s, "SHOW TimeZone") == [(zone,)]
        # The session layer answers SET itself and hands the values over:
        s.set_parameters({"TimeZone": "America/New_York", "application_name": "report"})
        assert await rows_of(s, "SELECT current_setting('TimeZone'), current_setting('application_name')") \
            == [("America/New_York", "report")]
        error = await error_of(s, "SHOW no_such_setting")
        assert error.sqlstate == "42704"
        assert await rows_of(s, "SELECT pg_catalog.version() = version()") == [(True,)]

    in_session(warehouse, body, user="mark", database="acme")


def test_search_path_makes_tables_visible(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        visible = PSQL_DT_VISIBLE
        assert await rows_of(s, visible) == []  # like PostgreSQL: shop is not on the default search_path
        await rows_of(s, "SET search_path TO shop, public")
        assert [r[1] for r in await rows_of(s, visible)] == sorted(demo_rows())
        assert await rows_of(s, "SELECT count(*) FROM customers") == [(len(demo_rows()["customers"][1]),)]

    in_session(warehouse, body)


# --- psql ------------------------------------------------------------------------------------------------------------


def test_psql_dt_dn_l_dv_di(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> dict[str, list[tuple]]:
        return {
            "dt_shop": await rows_of(s, PSQL_DT_SHOP),
            "dn": await rows_of(s, PSQL_DN),
            "l": await rows_of(s, PSQL_L),
            "dv": await rows_of(s, PSQL_DV),
            "di": await rows_of(s, PSQL_DI),
            "d_all": await rows_of(s, PSQL_D_ALL),
        }

    r = in_session(warehouse, body)
    assert r["dt_shop"] == [("shop", t, "table", "purpose_proxy") for t in sorted(demo_rows())]
    assert ("shop", "purpose_proxy") in r["dn"]
    assert all(not name.startswith("pg_") and name != "information_schema" for name, _ in r["dn"])
    assert r["l"] == [("acme", "purpose_proxy", "UTF8", "C.UTF-8", "C.UTF-8", None, "libc", None)]
    assert r["dv"] == [] and r["di"] == [] and r["d_all"] == []


def test_psql_describe_table(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> dict[str, list[tuple]]:
        lookup = await rows_of(s, PSQL_D_LOOKUP)
        assert [r[1:] for r in lookup] == [("shop", "customers")]
        oid = str(lookup[0][0])
        out = {"lookup": lookup}
        for name, sql in (("table", PSQL_D_TABLE), ("columns", PSQL_D_COLUMNS), ("indexes", PSQL_D_INDEXES),
                          ("policies", PSQL_D_POLICIES), ("statistics", PSQL_D_STATISTICS),
                          ("publications", PSQL_D_PUBLICATIONS), ("inherits", PSQL_D_INHERITS),
                          ("partitions", PSQL_D_PARTITIONS)):
            out[name] = await rows_of(s, sql.replace("__OID__", oid))
        return out

    r = in_session(warehouse, body)
    assert r["table"] == [(0, "r", True, False, False, False, False, False, False, "", 0, "", "p", "d", "heap")]
    assert r["columns"] == [
        ("id", "integer", None, True, None, "", ""),
        ("email", "text", None, True, None, "", ""),
        ("full_name", "text", None, True, None, "", ""),
        ("phone", "text", None, False, None, "", ""),
        ("birth_date", "date", None, False, None, "", ""),
        ("country", "text", None, True, None, "", ""),
        ("marketing_consent", "boolean", None, True, None, "", ""),
        ("created_at", "timestamp without time zone", None, True, None, "", ""),
    ]
    assert r["indexes"] == [("customers_pkey", True, True, False, True,
                             "CREATE UNIQUE INDEX customers_pkey ON shop.customers USING btree (id)",
                             "PRIMARY KEY (id)", "p", False, False, False, 0)]
    assert r["policies"] == r["statistics"] == r["publications"] == r["inherits"] == r["partitions"] == []


def test_psql_describe_view_and_types(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> list[tuple]:
        await rows_of(s, "CREATE SCHEMA IF NOT EXISTS reports")
        await rows_of(s, "CREATE OR REPLACE VIEW reports.big_orders AS "
                         "SELECT id, total_cents, total_cents::numeric(12,2) AS euros FROM shop.orders")
        try:
            lookup = await rows_of(s, PSQL_D_LOOKUP.replace("customers", "big_orders").replace("shop", "reports"))
            oid = str(lookup[0][0])
            table = await rows_of(s, PSQL_D_TABLE.replace("__OID__", oid))
            assert table[0][1] == "v"
            return await rows_of(s, PSQL_D_COLUMNS.replace("__OID__", oid))
        finally:
            await rows_of(s, "DROP SCHEMA reports CASCADE")

    columns = in_session(warehouse, body, user="etl")
    assert [(c[0], c[1]) for c in columns] == [("id", "integer"), ("total_cents", "bigint"),
                                               ("euros", "numeric(12,2)")]


# --- SQLAlchemy ---------------------------------------------------------------------------------------------------------


def test_sqlalchemy_reflection_queries(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["version"] = await rows_of(s, "select pg_catalog.version()")
        out["schema"] = await rows_of(s, "select current_schema()")
        out["scs"] = await rows_of(s, "show standard_conforming_strings")
        out["schemas"] = await rows_of(s, SA_SCHEMA_NAMES, SA_SCHEMA_NAMES_PARAMS)
        out["tables"] = await rows_of(s, SA_TABLE_NAMES, SA_TABLE_NAMES_PARAMS)
        out["columns"] = await rows_of(s, SA_COLUMNS, SA_COLUMNS_PARAMS)
        out["has_table"] = await rows_of(s, SA_HAS_TABLE, SA_HAS_TABLE_PARAMS)
        out["has_no_table"] = await rows_of(s, SA_HAS_TABLE, ["nope"] + SA_HAS_TABLE_PARAMS[1:])
        oids = await rows_of(s, SA_TABLE_OIDS, SA_TABLE_OIDS_PARAMS)
        out["oids"] = oids
        out["pk"] = await rows_of(s, SA_PK, SA_PK_PARAMS[:3] + [oids[0][0]])
        for sql, params in ((SA_COLUMNS, SA_COLUMNS_PARAMS), (SA_PK, SA_PK_PARAMS)):
            description = await s.describe(sql, [0] * len(params))
            assert len(description.parameter_oids) == len(params)
        return out

    r = in_session(warehouse, body)
    assert r["version"][0][0].startswith("PostgreSQL 16.0")
    assert r["schema"] == [("public",)]  # DuckDB's main schema, shown as PostgreSQL's public
    assert r["scs"] == [("on",)]
    assert ("shop",) in r["schemas"] and all(not n.startswith("pg_") for (n,) in r["schemas"])
    assert sorted(t for (t,) in r["tables"]) == sorted(demo_rows())
    assert [(c[0], c[1], c[3], c[4]) for c in r["columns"]] == [
        ("id", "integer", True, "customers"), ("email", "text", True, "customers"),
        ("full_name", "text", True, "customers"), ("phone", "text", False, "customers"),
        ("birth_date", "date", False, "customers"), ("country", "text", True, "customers"),
        ("marketing_consent", "boolean", True, "customers"),
        ("created_at", "timestamp without time zone", True, "customers"),
    ]
    assert r["has_table"] == [("customers",)] and r["has_no_table"] == []
    assert r["pk"] == [(r["oids"][0][0], ["id"], "customers_pkey", None, 1, False)]


# --- drivers' type introspection -----------------------------------------------------------------------------------------


def test_driver_type_introspection(warehouse: DuckDBWarehouse) -> None:
    asyncpg_introspection = pytest.importorskip("asyncpg.introspection")

    async def body(s: DuckDBSession) -> dict[str, list[tuple]]:
        return {
            "psycopg": await rows_of(
                s, "SELECT typname AS name, oid, typarray AS array_oid, oid::regtype::text AS regtype, "
                   "typdelim AS delimiter FROM pg_type t WHERE t.oid = to_regtype($1) ORDER BY t.oid", ["json"]),
            "psycopg_missing": await rows_of(
                s, "SELECT typname AS name, oid FROM pg_type t WHERE t.oid = to_regtype($1)", ["hstore"]),
            "asyncpg": await rows_of(s, asyncpg_introspection.INTRO_LOOKUP_TYPES, [[23, 1007]]),
            "asyncpg13": await rows_of(s, asyncpg_introspection.INTRO_LOOKUP_TYPES_13, [[25]]),
            "by_name": await rows_of(s, asyncpg_introspection.TYPE_BY_NAME, ["int4", "pg_catalog"]),
            "regs": await rows_of(s, "SELECT 'integer'::regtype::oid, 'int4'::regtype::text, "
                                     "'shop.customers'::regclass::text, 'pg_catalog.pg_class'::regclass::oid, "
                                     "'timestamp without time zone'::regtype::text"),
        }

    r = in_session(warehouse, body)
    assert r["psycopg"] == [("json", 114, 199, "json", ",")]
    assert r["psycopg_missing"] == []
    assert {row[0] for row in r["asyncpg"]} == {23, 1007}
    assert {row[2] for row in r["asyncpg13"]} == {"text"}
    assert r["by_name"] == [(23, 0, "b")]
    assert r["regs"] == [(23, "integer", "shop.customers", 1259, "timestamp without time zone")]


def test_catalog_oid_columns_are_typed_oid(warehouse: DuckDBWarehouse) -> None:
    asyncpg_introspection = pytest.importorskip("asyncpg.introspection")

    async def body(s: DuckDBSession) -> None:
        described = await s.describe(asyncpg_introspection.INTRO_LOOKUP_TYPES, [0])
        assert described.parameter_oids == (Oid.OID_ARRAY,)  # $1::oid[], as PostgreSQL reports it
        types = {c.name: c.type_oid for c in described.columns}
        assert types["oid"] == Oid.OID and types["elemtype"] == Oid.OID
        assert types["attrtypoids"] == Oid.OID_ARRAY and types["attrnames"] == Oid.TEXT_ARRAY
        cursor = await s.execute("SELECT oid, typname FROM pg_type WHERE typname = 'int4'", ())
        assert [c.type_oid for c in cursor.columns] == [Oid.OID, Oid.NAME]  # typname is name, as in PostgreSQL
        assert await cursor.fetch(None) == [(23, "int4")]
        # asyncpg asks this on connect when it must introspect a type.
        assert await rows_of(s, "SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new") \
            == [("off", "off")]

    in_session(warehouse, body)


def test_savepoints_without_writes(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        error = await error_of(s, "SAVEPOINT outside")
        assert error.sqlstate == "25P01"
        await rows_of(s, "BEGIN")
        # psycopg's TypeInfo.fetch inside a transaction (SQLAlchemy does this on connect):
        assert (await s.execute("SAVEPOINT _pg3_1", ())).command_tag() == "SAVEPOINT"
        assert await rows_of(s, "SELECT typname FROM pg_type t WHERE t.oid = to_regtype($1)", ["hstore"]) == []
        assert (await s.execute("RELEASE _pg3_1", ())).command_tag() == "RELEASE"
        await rows_of(s, "SAVEPOINT a")
        await rows_of(s, "SELECT 1")
        assert (await s.execute("ROLLBACK TO SAVEPOINT a", ())).command_tag() == "ROLLBACK"
        assert s.transaction_status == "T"
        error = await error_of(s, "RELEASE SAVEPOINT nope")
        assert error.sqlstate == "3B001" and s.transaction_status == "E"
        await rows_of(s, "ROLLBACK")

        await rows_of(s, "BEGIN")
        await rows_of(s, "SAVEPOINT before_write")
        await rows_of(s, "INSERT INTO shop.products VALUES (903, 'Thing', 'Home', 1)")
        error = await error_of(s, "ROLLBACK TO before_write")
        assert error.sqlstate == "0A000" and s.transaction_status == "E"
        assert (await s.execute("COMMIT", ())).command_tag() == "ROLLBACK"
        assert await rows_of(s, "SELECT count(*) FROM shop.products WHERE id = 903") == [(0,)]

    in_session(warehouse, body, user="etl")


def test_execution_keeps_the_described_types(warehouse: DuckDBWarehouse) -> None:
    from decimal import Decimal

    async def body(s: DuckDBSession) -> None:
        described = await s.describe("SELECT $1, $2, $3", [Oid.INT2, Oid.INT8, Oid.NUMERIC])
        assert [c.type_oid for c in described.columns] == [Oid.INT2, Oid.INT8, Oid.NUMERIC]
        cursor = await s.execute("SELECT $1, $2, $3", [5, 7, Decimal("1.250")])
        assert [c.type_oid for c in cursor.columns] == [Oid.INT2, Oid.INT8, Oid.NUMERIC]
        assert await cursor.fetch(None) == [(5, 7, Decimal("1.250"))]

    in_session(warehouse, body)


# --- PostgreSQL types DuckDB holds differently ------------------------------------------------------------------


async def _described_and_run(s: DuckDBSession, sql: str, params: list[object] | None = None,
                             oids: list[int] | None = None) -> tuple[StatementDescription, list[tuple[int, int]],
                                                                     list[tuple]]:
    """Describe (as the extended protocol does), run, and return the run's column (oid, typmod)s."""
    params = params or []
    described = await s.describe(sql, oids if oids is not None else [0] * len(params))
    cursor = await s.execute(sql, params)
    columns = [(c.type_oid, c.type_modifier) for c in cursor.columns]
    rows = await cursor.fetch(None)
    await cursor.close()
    return described, columns, rows


def test_unconstrained_numeric_keeps_the_scale_of_its_value(warehouse: DuckDBWarehouse) -> None:
    from decimal import Decimal

    async def body(s: DuckDBSession) -> None:
        # A literal: exactly its own precision and scale (DuckDB's bare DECIMAL is DECIMAL(18,3)).
        d, columns, rows = await _described_and_run(
            s, "SELECT '12.50'::numeric, '-98765432109876543210.0123456789'::numeric, 5::numeric, "
               "'1e-7'::numeric, numeric '0.000001', 1.25::numeric(10, 2)")
        assert rows == [(Decimal("12.50"), Decimal("-98765432109876543210.0123456789"), Decimal("5"),
                         Decimal("1E-7"), Decimal("0.000001"), Decimal("1.25"))]
        assert [str(v) for v in rows[0][:3]] == ["12.50", "-98765432109876543210.0123456789", "5"]
        # numeric without typmod, as PostgreSQL describes it; numeric(10,2) keeps its typmod.
        assert columns == [(Oid.NUMERIC, -1)] * 5 + [(Oid.NUMERIC, (10 << 16 | 2) + 4)]
        assert [(c.type_oid, c.type_modifier) for c in d.columns] == columns
        # A parameter: the value's own scale, bound per execution.
        for value in (Decimal("12.50"), Decimal("-98765432109876543210.0123456789"), Decimal("0.000001"),
                      Decimal("1E+5")):
            d, columns, rows = await _described_and_run(s, "SELECT $1::numeric AS v", [value])
            assert d.parameter_oids == (Oid.NUMERIC,) and columns == [(Oid.NUMERIC, -1)]
            assert rows == [(value,)] and format(rows[0][0], "f") == format(value, "f")  # same digits, same scale
        assert str((await rows_of(s, "SELECT $1::numeric", [Decimal("12.50")]))[0][0]) == "12.50"
        assert await rows_of(s, "SELECT $1::numeric * 2", [Decimal("1.25")]) == [(Decimal("2.50"),)]
        assert await rows_of(s, "SELECT $1::numeric", [None]) == [(None,)]
        # Beyond DuckDB's 38 digits: rounded exactly (not through a double), or refused.
        assert await rows_of(s, "SELECT $1::numeric", [Decimal("1." + "1" * 40)]) == [(Decimal("1." + "1" * 37),)]
        assert (await error_of(s, "SELECT $1::numeric", [Decimal("1" * 39)])).sqlstate == "22P02"
        # Anything else unconstrained: 28 digits before the point and 10 after.
        assert await rows_of(s, "SELECT x::numeric FROM (SELECT 7 AS x) t") == [(Decimal("7.0000000000"),)]
        assert str((await rows_of(s, "SELECT $1::numeric[]", [[Decimal("1.5")]]))[0][0][0]) == "1.5000000000"

    in_session(warehouse, body)


def test_unconstrained_numeric_columns_are_wide(warehouse: DuckDBWarehouse) -> None:
    from decimal import Decimal

    async def body(s: DuckDBSession) -> list[tuple]:
        await rows_of(s, "CREATE TABLE shop.pp_numeric_probe (x numeric, y numeric(5, 2))")
        try:
            await rows_of(s, "INSERT INTO shop.pp_numeric_probe VALUES (12345678901234567890.0123456789, 1.5)")
            return await rows_of(s, "SELECT x, y FROM shop.pp_numeric_probe")
        finally:
            await rows_of(s, "DROP TABLE shop.pp_numeric_probe")

    assert in_session(warehouse, body, user="etl") == [(Decimal("12345678901234567890.0123456789"), Decimal("1.50"))]


def test_bytea_literals_read_as_postgresql_reads_them(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        cursor = await s.execute(r"SELECT '\x00ff'::bytea, 'abc\\000\001'::bytea, bytea '\xDEADbeef', "
                                 r"E'\\x0a'::bytea, ''::bytea, 'héllo'::bytea", ())
        assert [c.name for c in cursor.columns] == ["bytea"] * 6
        assert [c.type_oid for c in cursor.columns] == [Oid.BYTEA] * 6
        assert await cursor.fetch(None) == [(b"\x00\xff", b"abc\\000\x01", b"\xde\xad\xbe\xef", b"\n", b"",
                                             "héllo".encode())]
        error = await error_of(s, r"SELECT '\x0g'::bytea")
        assert (error.sqlstate, error.message) == ("22023", 'invalid hexadecimal digit: "g"')
        error = await error_of(s, r"SELECT 'a\9'::bytea")
        assert (error.sqlstate, error.message) == ("22P02", "invalid input syntax for type bytea")

    in_session(warehouse, body)


def test_varchar_and_jsonb_keep_their_postgresql_types(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        d, columns, rows = await _described_and_run(
            s, "SELECT 'x'::varchar, 'y'::character varying(5) AS y, ARRAY['a']::varchar[], 'z'::text, "
               """'{"b": 1, "a": "x"}'::jsonb, ARRAY['{}']::jsonb[], '{"b": 1}'::json, """
               "jsonb_build_object('k', 1)")
        assert columns == [(Oid.VARCHAR, -1), (Oid.VARCHAR, 9), (Oid.VARCHAR_ARRAY, -1), (Oid.TEXT, -1),
                           (Oid.JSONB, -1), (Oid.JSONB_ARRAY, -1), (Oid.JSON, -1), (Oid.JSONB, -1)]
        assert [(c.type_oid, c.type_modifier) for c in d.columns] == columns
        assert rows[0][:4] == ("x", "y", ["a"], "z")
        # Parameters cast to them are described as PostgreSQL does.
        d, columns, rows = await _described_and_run(
            s, "SELECT $1::varchar, $2::varchar[], $3::jsonb, $4::jsonb[]", ["a", ["b"], '{"a": 1}', ['[]']])
        assert d.parameter_oids == (Oid.VARCHAR, Oid.VARCHAR_ARRAY, Oid.JSONB, Oid.JSONB_ARRAY)
        assert columns == [(Oid.VARCHAR, -1), (Oid.VARCHAR_ARRAY, -1), (Oid.JSONB, -1), (Oid.JSONB_ARRAY, -1)]
        # UNION: an unknown literal takes the other branch's type; different types stay text.
        _, columns, _ = await _described_and_run(s, "SELECT 'a'::varchar UNION ALL SELECT 'b'")
        assert columns == [(Oid.VARCHAR, -1)]
        _, columns, _ = await _described_and_run(s, "SELECT 'a'::varchar UNION ALL SELECT 'b'::text")
        assert columns == [(Oid.TEXT, -1)]
        # A * hides the positions: nothing is relabelled.
        _, columns, _ = await _described_and_run(s, "SELECT *, 'x'::varchar FROM shop.products LIMIT 1")
        assert columns[-1] == (Oid.TEXT, -1)

    in_session(warehouse, body)


def test_jsonb_values_print_as_postgresql_prints_them() -> None:
    from proxy.wire.types import encode_binary, encode_text

    duck = '{"b":1,"a":"x","aa":[1.50,1e2,-0],"a":"last"}'  # what DuckDB's JSON hands over
    assert encode_text(duck, Oid.JSONB) == b'{"a": "last", "b": 1, "aa": [1.50, 100, 0]}'
    assert encode_binary(duck, Oid.JSONB) == b'\x01{"a": "last", "b": 1, "aa": [1.50, 100, 0]}'
    assert encode_text(duck, Oid.JSON) == duck.encode()  # json keeps the text as it is


def test_interval_parameters_bind_with_all_their_fields(warehouse: DuckDBWarehouse) -> None:
    from datetime import timedelta

    from proxy.wire.types import Interval

    async def body(s: DuckDBSession) -> None:
        await s.describe("SELECT $1::interval, $1::interval::text", [Oid.INTERVAL])
        for value, text in ((Interval(14, 3, 4 * 3600 * 10**6), "1 year 2 months 3 days 04:00:00"),
                            (Interval(0, -1, 86395 * 10**6), "-1 day 23:59:55"),
                            (Interval(1, -40, 0), "1 month -40 days"),
                            (timedelta(days=2, hours=3), "2 days 03:00:00")):
            assert await rows_of(s, "SELECT $1::interval::text", [value]) == [(text,)]
        assert await rows_of(s, "SELECT $1::interval[]", [[Interval(1, 1, 0), timedelta(hours=1)]]) \
            == [([timedelta(days=31), timedelta(hours=1)],)]
        from datetime import datetime
        assert await rows_of(s, "SELECT DATE '2024-01-31' + $1::interval", [Interval(1, 1, 0)]) \
            == [(datetime(2024, 3, 1),)]  # months stay months: one month after Jan 31 is Feb 29, + 1 day
        assert await rows_of(s, "SELECT $1::interval", [Interval(0, -1, 86395 * 10**6)]) \
            == [(timedelta(seconds=-5),)]

    in_session(warehouse, body)


def test_asyncpg_array_introspection_answers_like_postgresql(warehouse: DuckDBWarehouse) -> None:
    """asyncpg's type introspection for every builtin array type, as PostgreSQL 16 answers it."""
    introspection = pytest.importorskip("asyncpg.introspection")
    arrays = {  # array oid -> (typname, element oid, element regtype)
        1005: ("_int2", 21, "smallint"), 1007: ("_int4", 23, "integer"), 1016: ("_int8", 20, "bigint"),
        1021: ("_float4", 700, "real"), 1022: ("_float8", 701, "double precision"),
        1231: ("_numeric", 1700, "numeric"), 1000: ("_bool", 16, "boolean"), 1009: ("_text", 25, "text"),
        1015: ("_varchar", 1043, "character varying"), 1001: ("_bytea", 17, "bytea"),
        1182: ("_date", 1082, "date"), 1183: ("_time", 1083, "time without time zone"),
        1115: ("_timestamp", 1114, "timestamp without time zone"),
        1185: ("_timestamptz", 1184, "timestamp with time zone"), 1187: ("_interval", 1186, "interval"),
        2951: ("_uuid", 2950, "uuid"), 199: ("_json", 114, "json"), 3807: ("_jsonb", 3802, "jsonb"),
    }
    elements = {23: "int4", 21: "int2", 20: "int8", 700: "float4", 701: "float8", 1700: "numeric", 16: "bool",
                25: "text", 1043: "varchar", 17: "bytea", 1082: "date", 1083: "time", 1114: "timestamp",
                1184: "timestamptz", 1186: "interval", 2950: "uuid", 114: "json", 3802: "jsonb"}

    async def body(s: DuckDBSession) -> tuple[StatementDescription, list[tuple], list[tuple]]:
        jit = await rows_of(s, "SELECT current_setting('jit') AS cur, set_config('jit', 'off', false) AS new")
        described = await s.describe(introspection.INTRO_LOOKUP_TYPES, [0])
        cursor = await s.execute(introspection.INTRO_LOOKUP_TYPES, [sorted(arrays)])
        assert [c.type_oid for c in cursor.columns] == [c.type_oid for c in described.columns]
        return described, await cursor.fetch(None), jit

    described, rows, jit = in_session(warehouse, body)
    assert jit == [("off", "off")]
    assert described.parameter_oids == (Oid.OID_ARRAY,)
    assert [(c.name, c.type_oid) for c in described.columns] == [
        ("oid", 26), ("ns", 19), ("name", 19), ("kind", 18), ("basetype", 26), ("elemtype", 26),
        ("elemdelim", 18), ("range_subtype", 26), ("attrtypoids", 1028), ("attrnames", 1009), ("depth", 23),
        ("basetype_name", 25), ("elemtype_name", 25), ("range_subtype_name", 25)]
    expected = {(oid, "pg_catalog", name, "b", None, elem, ",", None, None, None, 0, None, regtype, None)
                for oid, (name, elem, regtype) in arrays.items()}
    expected |= {(oid, "pg_catalog", name, "b", None, 0, None, None, None, None, 1, None, "-", None)
                 for oid, name in elements.items()}
    assert len(rows) == len(expected) and set(rows) == expected
    assert [r[10] for r in rows] == sorted((r[10] for r in rows), reverse=True)  # ORDER BY depth DESC


def test_asyncpg_introspection_is_fast(tmp_path: Path) -> None:
    """asyncpg runs it on every new connection that meets an array type: it must stay cheap."""
    introspection = pytest.importorskip("asyncpg.introspection")
    wh = DuckDBWarehouse(tmp_path / "fast.duckdb", threads=2, load_demo=False)
    asyncio.run(wh.start())

    async def body(s: DuckDBSession) -> float:
        started = time.perf_counter()
        await s.describe(introspection.INTRO_LOOKUP_TYPES, [0])
        await rows_of(s, introspection.INTRO_LOOKUP_TYPES, [[1007, 1016]])
        return time.perf_counter() - started

    try:
        # The first connection plans it (~0.1 s: it was over 1 s before the static catalogs
        # became tables and the composite/domain branches were pruned); later ones are answered
        # from the warehouse's catalog cache.
        assert in_session(wh, body) < 1.0
        assert min(in_session(wh, body) for _ in range(3)) < 0.05
    finally:
        asyncio.run(wh.close())


def test_catalog_cache_follows_the_session_view_of_schemas(warehouse: DuckDBWarehouse) -> None:
    sql = "SELECT nspname FROM pg_namespace WHERE nspname = $1"

    async def body(s: DuckDBSession) -> None:
        other = await warehouse.open_session("ana", "acme")
        try:
            assert await rows_of(s, sql, ["pp_cache_probe"]) == []
            await rows_of(s, "BEGIN")
            await rows_of(s, "CREATE SCHEMA pp_cache_probe")
            assert await rows_of(s, sql, ["pp_cache_probe"]) == [("pp_cache_probe",)]  # its own, uncommitted
            assert await rows_of(other, sql, ["pp_cache_probe"]) == []  # not yet for anyone else
            await rows_of(s, "ROLLBACK")
            assert await rows_of(s, sql, ["pp_cache_probe"]) == []
            assert await rows_of(other, sql, ["pp_cache_probe"]) == []
        finally:
            await other.close()

    in_session(warehouse, body, user="etl")


def test_dead_catalog_branches_keep_their_meaning(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> list[tuple]:
        return await rows_of(
            s, "SELECT t.typname, CASE WHEN t.typtype = 'c' THEN (SELECT count(*) FROM pg_class c) END AS dead, "
               "CASE WHEN t.typtype = 'b' THEN (SELECT count(*) > 0 FROM pg_class c) END AS live "
               "FROM pg_type t WHERE t.oid = 23")

    assert in_session(warehouse, body) == [("int4", None, True)]


def test_duckdb_main_schema_is_public(warehouse: DuckDBWarehouse) -> None:
    async def body(s: DuckDBSession) -> None:
        await rows_of(s, "CREATE TABLE pp_public_probe (a int)")
        try:
            assert await rows_of(s, "SELECT current_schema()") == [("public",)]
            assert await rows_of(s, "SELECT current_schemas(true)") == [(["public", "pg_catalog"],)]
            names = [r[0] for r in await rows_of(s, PSQL_DN)]
            assert "public" in names and "main" not in names and "shop" in names
            assert await rows_of(s, "SELECT schemaname FROM pg_tables WHERE tablename = 'pp_public_probe'") \
                == [("public",)]
            assert await rows_of(s, "SELECT 'public.pp_public_probe'::regclass::text, "
                                    "'pp_public_probe'::regclass::text") == [("pp_public_probe", "pp_public_probe")]
            assert await rows_of(s, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                    "WHERE n.nspname = 'public' AND c.relname = 'pp_public_probe' "
                                    "AND pg_table_is_visible(c.oid)") == [(1,)]
        finally:
            await rows_of(s, "DROP TABLE pp_public_probe")

    in_session(warehouse, body, user="etl")
