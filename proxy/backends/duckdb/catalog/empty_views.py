"""Catalogs the clients read that are always empty here (no inheritance, policies,
publications, triggers, extensions...): typed views with no rows, so queries bind and find nothing."""

from __future__ import annotations

#: Catalog name -> its columns, as `name TYPE` pairs.
_COLUMNS: dict[str, str] = {
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


def _empty_view(columns: str) -> str:
    casts = ", ".join(
        f"CAST(NULL AS {col.split(' ', 1)[1]}) AS {col.split(' ', 1)[0]}" for col in columns.split(", ")
    )
    return f"SELECT {casts} WHERE false"


#: View name -> SELECT of no rows with the catalog's columns.
ALWAYS_EMPTY_VIEWS: dict[str, str] = {name: _empty_view(columns) for name, columns in _COLUMNS.items()}
