"""System catalogs: names compared as PostgreSQL resolves them, an allow-list, the proxy's world.

The decision-core tests feed every spelling PostgreSQL accepts for a refused relation or
function (case, quoting, schema-qualified, bare through the search path) and check that each is
refused with 42501 naming the relation. The live tests run on both warehouses with the canary
warehouse of tests/test_adversarial.py: statistics and activity views never return a canary or
the mask key, settings that hold paths or secrets are not readable, and psql's `\\l+` / `\\du`
list the proxy's database and users, never the warehouse's.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from proxy.check import check
from proxy.policy import load_deployment
from proxy.policy.catalog_views import READABLE_SETTINGS
from proxy.policy.decision import Allow
from proxy.sql.names import QualifiedName, fold, relation_name, resolve_function
from proxy.sql.system_catalog import (
    PROXY_VIEWS,
    READABLE_INFORMATION_SCHEMA,
    READABLE_PG_CATALOG,
)
from tests.support.clients import psql_binary, run_psql
from tests.support.requirements import require
from tests.test_adversarial import (  # noqa: F401  (the canary fixture, reused)
    CANARY_ID,
    CanaryProxy,
    _connect,
    _error_text,
    _text,
    assert_no_canary,
    canary,
)

pytestmark = pytest.mark.timeout(90)

REPO = Path(__file__).resolve().parents[1]
USERS = ("ana", "mark", "sam", "fran", "etl")


@pytest.fixture(scope="module")
def deployment():
    return load_deployment(REPO / "catalog", REPO / "policies")


def decide(deployment, sql: str, user: str = "ana"):
    (decision,) = check(deployment, user, None, sql)
    return decision


# --- the resolver ---------------------------------------------------------------------------


def test_fold_is_postgres_identifier_folding():
    assert fold("PG_STATS") == "pg_stats"
    assert fold("PG_STATS", quoted=True) == "PG_STATS"
    assert fold("CUSTOMÉRS") == "customÉrs"  # ASCII only, as PostgreSQL in UTF8
    assert fold("x" * 70) == "x" * 63  # NAMEDATALEN truncation


@pytest.mark.parametrize("written, resolved", [
    ("pg_stats", ("pg_catalog", "pg_stats")),
    ("PG_STATS", ("pg_catalog", "pg_stats")),
    ("pg_catalog.PG_STAT_ACTIVITY", ("pg_catalog", "pg_stat_activity")),
    ('"pg_catalog"."pg_statistic"', ("pg_catalog", "pg_statistic")),
    ('"PG_STATS"', (None, "PG_STATS")),  # a quoted upper-case name is not pg_catalog's
    ("SHOP.Customers", ("shop", "customers")),
    ("customers", (None, "customers")),  # not reachable through the pinned search path
    ("information_schema.TABLES", ("information_schema", "tables")),
])
def test_relation_names_resolve_as_postgres_does(written, resolved):
    import sqlglot
    from sqlglot import exp

    table = sqlglot.parse_one(f"SELECT 1 FROM {written}", read="postgres").find(exp.Table)
    assert relation_name(table) == QualifiedName(*resolved)


def test_functions_resolve_to_pg_catalog_when_unqualified():
    assert resolve_function(None, "lower") == QualifiedName("pg_catalog", "lower")
    assert resolve_function("public", "lower") == QualifiedName("public", "lower")


def test_the_allow_lists_do_not_overlap_the_proxy_views():
    assert not READABLE_PG_CATALOG & PROXY_VIEWS
    for name in READABLE_PG_CATALOG | PROXY_VIEWS:
        assert name.startswith("pg_") and name == name.lower()
    assert all(name == name.lower() for name in READABLE_INFORMATION_SCHEMA)


# --- the decision core: every spelling is refused ---------------------------------------------

REFUSED_RELATIONS = {
    "pg_stat_activity": [
        "SELECT query FROM pg_catalog.PG_STAT_ACTIVITY",
        'SELECT query FROM "pg_catalog"."pg_stat_activity"',
        "SELECT query FROM PG_CATALOG.pg_stat_activity",
        "SELECT query FROM pg_stat_activity",
        "SELECT query FROM Pg_Stat_Activity",
        "SELECT a.query FROM pg_catalog.pg_class c JOIN pg_stat_activity a ON true",
        "SELECT (SELECT max(query) FROM PG_STAT_ACTIVITY)",
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity "
        "WHERE query LIKE '%key%')",
        "WITH a AS (SELECT query FROM pg_stat_activity) SELECT * FROM a",
        "SELECT * FROM pg_catalog.pg_class, LATERAL (SELECT query FROM pg_stat_activity) s",
    ],
    "pg_stats": [
        "SELECT most_common_vals FROM pg_catalog.PG_STATS",
        "SELECT most_common_vals FROM PG_CATALOG.pg_stats",
        "SELECT most_common_vals FROM pg_stats WHERE tablename = 'customers'",
        'SELECT * FROM "pg_catalog".PG_STATS',
        "SELECT histogram_bounds FROM pg_catalog.pg_stats UNION ALL SELECT NULL",
    ],
    "pg_statistic": [
        "SELECT * FROM pg_statistic",
        "SELECT stavalues1 FROM PG_STATISTIC",
        'SELECT * FROM "pg_catalog"."pg_statistic"',
    ],
    "pg_stats_ext": ["SELECT * FROM pg_catalog.pg_stats_ext"],
    "pg_stats_ext_exprs": ["SELECT * FROM pg_stats_ext_exprs"],
    "pg_statistic_ext_data": ["SELECT * FROM PG_STATISTIC_EXT_DATA"],
    "pg_stat_user_tables": ["SELECT * FROM pg_stat_user_tables"],
    "pg_statio_user_tables": ["SELECT * FROM PG_CATALOG.PG_STATIO_USER_TABLES"],
    "pg_locks": ["SELECT * FROM pg_catalog.pg_locks", "SELECT * FROM PG_LOCKS"],
    "pg_prepared_statements": ["SELECT statement FROM pg_prepared_statements"],
    "pg_cursors": ["SELECT statement FROM PG_CATALOG.PG_CURSORS"],
    "pg_prepared_xacts": ["SELECT * FROM pg_prepared_xacts"],
    "pg_largeobject": ["SELECT data FROM pg_largeobject"],
    "pg_largeobject_metadata": ["SELECT * FROM pg_largeobject_metadata"],
    "pg_authid": ["SELECT rolpassword FROM pg_authid", 'SELECT * FROM "pg_catalog".PG_AUTHID'],
    "pg_shadow": ["SELECT passwd FROM pg_shadow"],
    "pg_user_mappings": ["SELECT umoptions FROM pg_user_mappings"],
    "pg_user_mapping": ["SELECT * FROM pg_catalog.pg_user_mapping"],
    "pg_file_settings": ["SELECT * FROM pg_file_settings"],
    "pg_hba_file_rules": ["SELECT * FROM PG_HBA_FILE_RULES"],
    "pg_db_role_setting": ["SELECT setconfig FROM pg_db_role_setting"],
    "pg_subscription": ["SELECT subconninfo FROM pg_subscription"],
    "pg_replication_slots": ["SELECT * FROM pg_replication_slots"],
    "pg_sequences": ["SELECT last_value FROM pg_sequences"],
    "pg_config": ["SELECT * FROM pg_config"],
    "pg_group": ["SELECT * FROM pg_group"],
    "pg_foreign_server": ["SELECT srvoptions FROM pg_foreign_server"],
    "pg_no_such_catalog": ["SELECT * FROM pg_catalog.pg_no_such_catalog",
                           "SELECT * FROM pg_no_such_catalog"],
    "not_a_catalog": ["SELECT * FROM pg_catalog.not_a_catalog"],
    "table_privileges": ["SELECT grantee FROM information_schema.TABLE_PRIVILEGES"],
    "applicable_roles": ["SELECT * FROM INFORMATION_SCHEMA.applicable_roles"],
    "user_mappings": ["SELECT * FROM information_schema.user_mappings"],
    "_pg_user_mappings": ["SELECT * FROM information_schema._pg_user_mappings"],
    "no_such_view": ["SELECT * FROM information_schema.no_such_view"],
}


@pytest.mark.parametrize("relation, sql", [
    (relation, sql) for relation, statements in REFUSED_RELATIONS.items() for sql in statements
])
def test_refused_catalog_relations_in_every_spelling(deployment, relation, sql):
    decision = decide(deployment, sql)
    assert not isinstance(decision, Allow), decision.sql
    assert decision.sqlstate == "42501", decision.message
    assert f".{relation}:" in decision.message
    assert decision.hint


@pytest.mark.parametrize("sql", [
    "SELECT * FROM pg_statistic UNION ALL SELECT * FROM pg_statistic",
    "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid IN "
    "(SELECT starelid FROM pg_statistic)",
])
def test_refused_catalogs_are_refused_wherever_they_are_read(deployment, sql):
    assert decide(deployment, sql).sqlstate == "42501"


@pytest.mark.parametrize("sql", [
    '"PG_STATS"', '"Pg_Statistic"', 'public.pg_stats', 'pg_toast.pg_toast_2619',
    '"pg_catalog.pg_stats"',
])
def test_names_postgres_reads_elsewhere_are_unknown(deployment, sql):
    decision = decide(deployment, f"SELECT * FROM {sql}")
    assert not isinstance(decision, Allow)
    assert decision.sqlstate in ("42501", "42P01")


@pytest.mark.parametrize("sql", [
    "SELECT PG_CATALOG.PG_READ_FILE('/etc/passwd')",
    "SELECT pg_catalog.pg_read_binary_file('/etc/passwd')",
    'SELECT "pg_read_file"(\'/etc/passwd\')',
    "SELECT * FROM pg_catalog.PG_LS_DIR('.')",
    "SELECT PG_STAT_GET_ACTIVITY(NULL)",
    "SELECT * FROM pg_catalog.pg_stat_get_activity(NULL)",
    "SELECT pg_catalog.LO_GET(1)",
    "SELECT current_setting('data_directory')",
    "SELECT CURRENT_SETTING('hba_file')",
    "SELECT pg_catalog.current_setting('config_file')",
    'SELECT "current_setting"(\'ssl_key_file\')',
    "SELECT current_setting('pp.mask_key', true)",
    "SELECT current_setting('primary_conninfo')",
    "SELECT current_setting(chr(100) || 'ata_directory'), id FROM shop.customers",
])
def test_functions_reading_files_stats_or_settings_are_refused(deployment, sql):
    decision = decide(deployment, sql)
    assert not isinstance(decision, Allow), decision.sql
    assert decision.sqlstate == "42501"


@pytest.mark.parametrize("sql", [
    "SELECT relname FROM PG_CLASS",
    'SELECT "relname" FROM "pg_catalog"."pg_class"',
    "SELECT table_name FROM INFORMATION_SCHEMA.TABLES WHERE table_schema = 'shop'",
    "SELECT current_setting('TimeZone'), CURRENT_SETTING('DateStyle')",
    'SELECT "current_setting"(\'search_path\')',
    "SELECT proname FROM pg_proc",
])
def test_metadata_spelled_any_way_stays_readable(deployment, sql):
    assert isinstance(decide(deployment, sql), Allow)


def test_data_tables_are_found_in_any_case(deployment):
    decision = decide(deployment, "SELECT EMAIL FROM SHOP.CUSTOMERS")
    assert isinstance(decision, Allow) and decision.rewritten
    assert "mask_hash" in decision.sql  # the mask applies whatever the spelling
    assert decide(deployment, "SELECT phone FROM Shop.Customers").sqlstate == "42501"
    assert decide(deployment, 'SELECT email FROM "SHOP".customers').sqlstate == "42P01"


def test_definitions_stay_refused_in_any_case(deployment):
    assert decide(deployment, "SELECT PROSRC FROM pg_proc").sqlstate == "42501"
    assert decide(deployment, "SELECT * FROM PG_CATALOG.PG_VIEWS").sqlstate == "42501"


@pytest.mark.parametrize("sql", [
    "SELECT 'postgres'::regrole",
    "SELECT to_regrole('postgres')",
    "SELECT c.relowner::pg_catalog.regrole FROM pg_class c",
])
def test_warehouse_role_names_are_not_reachable(deployment, sql):
    assert decide(deployment, sql).sqlstate == "42501"


def test_role_questions_are_answered_for_the_proxys_role(deployment):
    sql = decide(deployment, "SELECT pg_has_role('postgres', 'member'), "
                 "has_table_privilege('postgres', 'pg_class', 'SELECT')").sql
    assert "postgres" not in sql and "FALSE" in sql


def test_catalog_views_answer_for_the_proxy(deployment):
    sql = decide(deployment, "SELECT datname FROM PG_DATABASE").sql
    assert "'acme'" in sql and "CURRENT_DATABASE()" in sql
    roles = decide(deployment, "SELECT rolname FROM pg_catalog.pg_roles").sql
    for user in USERS:
        assert f"'{user}'" in roles


# --- live, on both warehouses -------------------------------------------------------------------


def _warehouse_names(canary: CanaryProxy) -> list[str]:
    """The warehouse's database and role names (PostgreSQL), which clients must never see."""
    config = yaml.safe_load((canary.workdir / "proxy.yaml").read_text())
    upstream = config.get("postgres") or {}
    names = [str(upstream[key]) for key in ("database", "user") if upstream.get(key)]
    return names + (["postgres", "template1"] if config.get("backend") == "postgres" else [])


def _attempt(canary: CanaryProxy, user: str, sql: str) -> tuple[str, psycopg.Error | None]:
    with _connect(canary, user) as conn:
        try:
            rows = conn.execute(sql).fetchall()
        except psycopg.Error as error:
            return _error_text(error), error
    return "\n".join(_text(value) for row in rows for value in row), None


LIVE_REFUSED = [
    "SELECT most_common_vals::text FROM pg_catalog.PG_STATS WHERE tablename = 'customers'",
    "SELECT most_common_vals::text, histogram_bounds::text FROM pg_stats",
    'SELECT stavalues1::text FROM "pg_catalog"."pg_statistic"',
    "SELECT query FROM pg_catalog.PG_STAT_ACTIVITY",
    "SELECT query FROM Pg_Stat_Activity",
    "SELECT * FROM PG_CATALOG.pg_locks",
    "SELECT statement FROM pg_prepared_statements",
    "SELECT current_setting('data_directory')",
    "SELECT PG_CATALOG.PG_READ_FILE('postgresql.conf')",
]


@pytest.mark.parametrize("sql", LIVE_REFUSED)
def test_statistics_activity_and_files_are_refused_live(canary, sql):
    # Run a masked query first, so the activity views would hold its rewritten SQL.
    with _connect(canary, "fran", "fraud") as conn:
        conn.execute(f"SELECT email FROM shop.customers WHERE id = {CANARY_ID}").fetchall()
        received, error = _attempt(canary, "ana", sql)
    assert error is not None, f"ran: {received[:200]}"
    assert error.sqlstate == "42501", error.diag.message_primary
    assert_no_canary(canary, "ana", received)


def test_pg_settings_and_current_setting_show_only_readable_settings(canary):
    with _connect(canary, "ana") as conn:
        rows = conn.execute("SELECT s.name, pg_catalog.current_setting(s.name) "
                            "FROM pg_catalog.pg_settings s").fetchall()
        assert rows, "pg_settings lists the readable settings"
        assert {name.lower() for name, _ in rows} <= READABLE_SETTINGS
        assert conn.execute("SELECT count(*) FROM pg_settings WHERE sourcefile IS NOT NULL"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT current_setting('TimeZone') IS NOT NULL").fetchone() == (
            True,)
        # A setting named by a parameter is guarded too (SQLAlchemy sends this shape).
        assert conn.execute("SELECT current_setting(%s)", ("data_directory",)).fetchone() == (
            None,)
        assert conn.execute("SELECT current_setting(%s)", ("server_version_num",)).fetchone()[0]


def test_current_database_and_user_are_the_proxys(canary):
    with _connect(canary, "ana") as conn:
        assert conn.execute("SELECT current_database(), current_user, CURRENT_CATALOG"
                            ).fetchone() == ("acme", "ana", "acme")
        # Also in a statement that reads data (the warehouse would name its own role).
        row = conn.execute("SELECT current_user, current_database(), count(*) FROM shop.orders"
                           ).fetchone()
        assert row[:2] == ("ana", "acme") and row[2] > 0
        names = conn.execute("SELECT datname FROM pg_catalog.pg_database").fetchall()
        assert names == [("acme",)]
        roles = {r for (r,) in conn.execute("SELECT rolname FROM PG_CATALOG.PG_ROLES")}
        assert roles == {"purpose_proxy", *USERS}
        users = {u for (u,) in conn.execute("SELECT usename FROM pg_user")}
        assert users == roles
        owners = conn.execute(
            "SELECT DISTINCT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'shop'"
        ).fetchall()
        assert owners == [("purpose_proxy",)]


@pytest.mark.parametrize("command", [r"\l+", r"\l", r"\du", r"\du+", r"\dg", r"\dt shop.*",
                                     r"\dn+", r"\dconfig"])
def test_psql_lists_the_proxys_world_not_the_warehouses(canary, command):
    if psql_binary() is None:
        require(False, "the psql binary (postgresql-client) is not installed")
    result = run_psql(canary.proxy, "-c", command)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for name in _warehouse_names(canary):
        assert name not in output, f"{command} shows warehouse name {name!r}:\n{output}"
    assert_no_canary(canary, "ana", output)
    if command.startswith(r"\l"):
        assert " acme " in output
    if command.startswith((r"\du", r"\dg")):
        for user in USERS:
            assert f" {user} " in output
