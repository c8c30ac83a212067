"""Acceptance corpus for issue 7: information flow through side doors, on both warehouses.

The warehouse, canaries and users are those of tests/test_adversarial.py (its module docstring
says who may see what); this file reuses its fixture and helpers and runs every attack on the
embedded DuckDB and on PostgreSQL. One proxy per warehouse serves the whole module.

Each attack states its SECURE outcome: rejected with one of the named SQLSTATEs, or rows
that carry nothing the user may not learn. Canary strings and the mask key are searched in
everything received (tests/test_adversarial.py's needles); on top of that, each control-flow
attack has a decoder that rebuilds the value the attack aims at from the rows received and
compares it with the truth from the demo data: a match is a leak. Assertion messages start
with `LEAK:` when something was learned, `NOT REFUSED:` when the statement ran harmlessly
but the issue asks for a refusal, and `OVER-REFUSED:` when a benign control was refused.

Targets:
    ana  (analytics, birth_date aggregate-only k = 10): the canary 99999, born 1911-11-11
    mark (marketing, birth_date predicate-only, consenting rows only): customer 3, a
         consenting FR customer born 1953-08-10 (visible to mark, hidden from sam)
    sam  (support, DE rows only): the FR canary and customer 3 are hidden
    fran (fraud, birth_date year-masked, card last4, body denied)

Classes follow the issue: catalog, mask key, control flow, error oracles, derived tables,
statement size, purpose in force. Benign controls of each class must stay ALLOWED.
Expectations that are debatable say so in a `# DEBATABLE:` comment.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests import test_adversarial
from tests.support.clients import table
from tests.test_adversarial import (
    CANARY_BIRTH,
    CANARY_EMAIL,
    CANARY_ID,
    CANARY_NAME,
    CONSENTING_COUNT,
    DE_COUNT,
    DE_IDS,
    CanaryProxy,
    _connect,
    _error_text,
    _text,
    assert_no_canary,
)

#: The shared fixture: one canary warehouse and proxy per warehouse kind for the module.
canary = test_adversarial.canary

pytestmark = pytest.mark.timeout(120)

C = CANARY_ID
DENIED = "42501"
NO_RELATION = "42P01"
NO_FUNCTION = "42883"
NO_COLUMN = "42703"
UNSUPPORTED = "0A000"
TOO_COMPLEX = "54001"
REFUSED = (DENIED,)
#: A catalog object or function that simply does not exist on a warehouse is shut too.
ABSENT = (DENIED, NO_RELATION, NO_FUNCTION, NO_COLUMN, UNSUPPORTED)
PURPOSE = {"ana": None, "mark": None, "sam": None, "fran": "fraud"}

_CUSTOMERS = {c["id"]: c for c in table("customers")}
CONSENTING = {i for i, c in _CUSTOMERS.items() if c["marketing_consent"]}
USERS = {"ana", "mark", "sam", "fran", "etl"}

# --- targets and their truths ------------------------------------------------------------------

#: mark's target: consenting (so visible to marketing), FR (so hidden from support).
P = 3
assert _CUSTOMERS[P]["marketing_consent"] and _CUSTOMERS[P]["country"] == "FR"
P_BIRTH: date = _CUSTOMERS[P]["birth_date"]
P_EMAIL: str = _CUSTOMERS[P]["email"]

BIRTH: dict[int, date] = {i: c["birth_date"] for i, c in _CUSTOMERS.items()}
BIRTH[C] = CANARY_BIRTH
PHONE_LEN: dict[int, int] = {i: len(c["phone"]) for i, c in _CUSTOMERS.items()}
PHONE_LEN[C] = len("+00 CANARY-PHONE")
EMAIL_LEN: dict[int, int] = {i: len(c["email"]) for i, c in _CUSTOMERS.items()}
EMAIL_LEN[C] = len(CANARY_EMAIL)
NAME_LEN: dict[int, int] = {i: len(c["full_name"]) for i, c in _CUSTOMERS.items()}
NAME_LEN[C] = len(CANARY_NAME)
DAY: dict[int, int] = {i: d.day for i, d in BIRTH.items()}

#: Emails of customers sam (DE only) must never read, from any table: every non-DE one.
NON_DE_EMAILS = [c["email"] for c in _CUSTOMERS.values() if c["country"] != "DE"]
#: Emails of consenting non-DE customers: what a marketing-made copy would hold.
CONSENTING_NON_DE_EMAILS = [c["email"] for c in _CUSTOMERS.values()
                            if c["country"] != "DE" and c["marketing_consent"]]


def _pick(ids: Sequence[int], value: Callable[[int], Any], tid: int) -> tuple[list[int], tuple]:
    """Six ids (tid first) with distinct values not in id order, and a (tid, same, other) triple."""
    six = [tid]
    for i in ids:
        if i != tid and value(i) not in {value(j) for j in six}:
            six.append(i)
        if len(six) == 6:
            break
    # the triple's anchor is tid if another visible id shares its value, else a demo id that does
    anchor = next(a for a in [tid, *ids]
                  if any(i != a and value(i) == value(a) for i in ids))
    same = next(i for i in ids if i != anchor and value(i) == value(anchor))
    other = next(i for i in ids if i != anchor and value(i) != value(anchor))
    return six, (anchor, same, other)


# --- running -------------------------------------------------------------------------------------

REJECT, ROWS, EITHER = "reject", "rows", "either"
Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Door:
    """One attack (or benign control): statements, the secure outcome, and a leak decoder."""

    id: str
    user: str
    sql: str | tuple[str, ...]
    expect: str
    states: tuple[str, ...] = ()
    secure: Callable[[Rows], bool] | None = None  # False = the rows leak what the attack seeks
    check: Callable[[Rows], bool] | None = None  # benign: the rows a harmless statement gives
    forbid: tuple[str, ...] = ()
    purpose: str | None = None


def door(id: str, user: str, sql: str | tuple[str, ...], expect: str, *states: str,
         **kwargs: Any) -> Door:
    return Door(id, user, sql, expect, tuple(states), **kwargs)


def benign(id: str, user: str, sql: str | tuple[str, ...],
           check: Callable[[Rows], bool] | None = None, purpose: str | None = None) -> Door:
    return Door(id, user, sql, ROWS, (), check=check, purpose=purpose)


def _run(canary: CanaryProxy, user: str, purpose: str | None,
         statements: Sequence[str]) -> tuple[Rows, psycopg.Error | None]:
    rows: Rows = []
    with _connect(canary, user, purpose) as conn:
        for sql in statements:
            try:
                cursor = conn.execute(sql)
            except psycopg.Error as error:
                return rows, error
            while True:
                if cursor.description is not None:
                    rows.extend(cursor.fetchall())
                if not cursor.nextset():
                    break
    return rows, None


def upstream_needles(canary: CanaryProxy) -> list[str]:
    """Names and secrets of the real warehouse: never shown to a client of the proxy."""
    config = yaml.safe_load((canary.workdir / "proxy.yaml").read_text())
    needles: list[str] = []
    if config.get("backend") == "postgres":
        pg = config["postgres"]
        needles += [pg["database"], pg["user"], pg["password"], "template0", "template1",
                    "pp_demo_", "pp_proxy_"]
    else:
        needles += [str(Path(config["duckdb"]["path"]).parent)]
    return [n for n in needles if n]


def warehouse(canary: CanaryProxy) -> str:
    config = yaml.safe_load((canary.workdir / "proxy.yaml").read_text())
    return "postgres" if config.get("backend") == "postgres" else "duckdb"


def judge(canary: CanaryProxy, spec: Door) -> None:
    statements = (spec.sql,) if isinstance(spec.sql, str) else spec.sql
    purpose = spec.purpose or PURPOSE[spec.user]
    rows, error = _run(canary, spec.user, purpose, statements)
    received = "\n".join(_text(value) for row in rows for value in row)
    if error is not None:
        received += "\n" + _error_text(error)
    try:
        assert_no_canary(canary, spec.user, received,
                         [*spec.forbid, *upstream_needles(canary)])
    except AssertionError as failure:
        raise AssertionError(f"LEAK: {failure}") from None
    if spec.secure is not None and error is None:
        assert spec.secure(rows), f"LEAK: the rows decode to the target's value: {rows[:8]!r}"
    if spec.expect == ROWS and spec.check is None and spec.secure is None:
        pass
    if error is not None:
        state = error.sqlstate
        if spec.expect == ROWS:
            raise AssertionError(f"OVER-REFUSED: {state}: {error.diag.message_primary}")
        assert state in spec.states, (
            f"WRONG STATE: expected {spec.states}, got {state}: {error.diag.message_primary}")
        assert state != "XX000", "internal error reached the client"
        return
    assert spec.expect in (ROWS, EITHER), f"NOT REFUSED: expected {spec.states}, got {rows[:5]!r}"
    if spec.check is not None:
        assert spec.check(rows), f"OVER-REFUSED (wrong rows): {rows[:8]!r}"


# --- decoders ------------------------------------------------------------------------------------


def _cells(rows: Rows) -> Iterator[Any]:
    for row in rows:
        yield from row


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


def no_value(target: Any) -> Callable[[Rows], bool]:
    """Secure iff no cell equals the target (a number, or a date)."""
    def secure(rows: Rows) -> bool:
        for cell in _cells(rows):
            if isinstance(target, date):
                if cell == target or str(cell)[:10] == target.isoformat():
                    return False
            elif _num(cell) is not None and _num(cell) == float(target):
                return False
        return True
    return secure


def _bit(value: Any) -> bool | None:
    if value is None:
        return None
    n = _num(value)
    return None if n is None else n != 0


def not_bits(truth: Sequence[bool], skip: int = 1) -> Callable[[Rows], bool]:
    """Secure iff the cells after the first `skip` do not spell the truth's bits."""
    def secure(rows: Rows) -> bool:
        return not any([_bit(v) for v in row[skip:]] == list(truth) for row in rows)
    return secure


def not_set(truth: set[Any]) -> Callable[[Rows], bool]:
    """Secure iff the first column's set of values is not the (informative) truth."""
    def secure(rows: Rows) -> bool:
        return {_num(r[0]) for r in rows} != {float(t) for t in truth}
    return secure


def not_order(truth: Sequence[int]) -> Callable[[Rows], bool]:
    """Secure iff the ids do not come back in the target order (rows or one joined string)."""
    def secure(rows: Rows) -> bool:
        if len(rows) == 1 and isinstance(rows[0][-1], (str, list)):
            value = rows[0][-1]
            got = [int(x) for x in re.findall(r"\d+", value if isinstance(value, str)
                                              else ",".join(map(str, value)))]
            return got != list(truth)
        ranked = sorted(rows, key=lambda r: (_num(r[1]) or 0)) if rows and len(rows[0]) > 1 \
            else rows
        return [int(_num(r[0]) or 0) for r in ranked] != list(truth)
    return secure


def not_partition(truth: set[frozenset[int]]) -> Callable[[Rows], bool]:
    def secure(rows: Rows) -> bool:
        groups = {frozenset(int(x) for x in re.findall(r"\d+", str(r[0]))) for r in rows}
        return groups != truth
    return secure


def count_at_least(n: int) -> Callable[[Rows], bool]:
    return lambda rows: len(rows) >= n


def scalar(expected: Any) -> Callable[[Rows], bool]:
    return lambda rows: len(rows) == 1 and _num(rows[0][0]) == _num(expected)


def nonempty(rows: Rows) -> bool:
    return len(rows) > 0


def hashed(rows: Rows) -> bool:
    return bool(rows) and all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)
                              for v in _cells(rows) if isinstance(v, str))


# =================================================================================================
# 1. Catalog relations and functions
# =================================================================================================

_ACTIVITY = [
    "SELECT query FROM pg_catalog.PG_STAT_ACTIVITY",
    "SELECT query FROM PG_CATALOG.pg_stat_activity",
    'SELECT query FROM "pg_catalog"."pg_stat_activity"',
    'SELECT query FROM "pg_stat_activity"',
    "SELECT query FROM Pg_Stat_Activity",
    "SELECT query FROM pg_catalog . pg_stat_activity",
    "SELECT a.query FROM pg_catalog.pg_stat_activity AS a WHERE a.query LIKE '%sha%'",
    "SELECT * FROM (SELECT query FROM pg_catalog.PG_STAT_ACTIVITY) s",
    "WITH a AS (SELECT query FROM PG_STAT_ACTIVITY) SELECT * FROM a",
    "SELECT relname FROM pg_catalog.pg_class UNION ALL SELECT query FROM PG_STAT_ACTIVITY",
    "SELECT (SELECT string_agg(query, ';') FROM pg_catalog.Pg_Stat_Activity)",
    "SELECT c.relname FROM pg_catalog.pg_class c WHERE EXISTS "
    "(SELECT 1 FROM PG_STAT_ACTIVITY a WHERE a.query LIKE '%' || c.relname || '%')",
    "SELECT query FROM pg_catalog.pg_stat_get_activity(NULL)",
    "SELECT pg_catalog.pg_stat_get_backend_activity(b) "
    "FROM pg_catalog.pg_stat_get_backend_idset() b",
    "SELECT PG_STAT_GET_BACKEND_ACTIVITY(b) FROM PG_STAT_GET_BACKEND_IDSET() b",
    "SELECT query FROM pg_catalog.pg_stat_statements",
    "SELECT query FROM PG_STAT_STATEMENTS",
    "SELECT * FROM pg_catalog.pg_stat_replication",
    "TABLE pg_catalog.pg_stat_activity",
]
_STATS = [
    "SELECT most_common_vals::text FROM pg_catalog.PG_STATS WHERE tablename = 'customers'",
    "SELECT most_common_vals::text FROM PG_STATS",
    'SELECT histogram_bounds::text FROM "pg_stats" WHERE attname = \'birth_date\'',
    "SELECT histogram_bounds::text FROM Pg_Catalog.Pg_Stats",
    "SELECT stavalues1::text FROM pg_catalog.PG_STATISTIC",
    "SELECT stavalues1::text, stavalues2::text FROM Pg_Statistic",
    'SELECT * FROM "pg_catalog"."pg_statistic"',
    "SELECT most_common_vals::text FROM pg_catalog.pg_stats_ext",
    "SELECT * FROM PG_STATS_EXT_EXPRS",
    "SELECT * FROM pg_catalog.pg_statistic_ext_data",
    "SELECT n_live_tup FROM pg_catalog.pg_stat_user_tables",
    "SELECT n_live_tup FROM pg_catalog.PG_STAT_ALL_TABLES",
    "SELECT pg_catalog.pg_stat_get_live_tuples('shop.customers'::regclass)",
    "SELECT PG_STAT_GET_NUMSCANS('shop.customers'::regclass)",
    "SELECT * FROM pg_catalog.pg_statio_user_tables",
    "SELECT * FROM pg_catalog.pg_stat_database",
]
_OTHERS = [
    "SELECT * FROM pg_catalog.PG_LOCKS",
    "SELECT * FROM Pg_Locks",
    "SELECT statement FROM pg_catalog.PG_PREPARED_STATEMENTS",
    'SELECT statement FROM "pg_prepared_statements"',
    "SELECT * FROM pg_catalog.pg_prepared_xacts",
    "SELECT statement FROM pg_catalog.PG_CURSORS",
    "SELECT data FROM pg_catalog.PG_LARGEOBJECT",
    "SELECT * FROM Pg_LargeObject_Metadata",
    "SELECT lo_get(oid) FROM pg_catalog.pg_largeobject_metadata",
    "SELECT pg_catalog.lo_import('/etc/passwd')",
    "SELECT rolpassword FROM pg_catalog.PG_AUTHID",
    "SELECT passwd FROM PG_SHADOW",
    "SELECT setconfig::text FROM pg_catalog.pg_db_role_setting",
    "SELECT * FROM pg_catalog.PG_FILE_SETTINGS",
    "SELECT * FROM pg_catalog.Pg_Hba_File_Rules",
    "SELECT umoptions::text FROM pg_catalog.pg_user_mappings",
    "SELECT * FROM information_schema.user_mapping_options",
    "SELECT * FROM pg_catalog.pg_replication_slots",
    "SELECT * FROM pg_catalog.pg_subscription",
    "SELECT * FROM pg_catalog.pg_stat_ssl",
    "SELECT * FROM pg_catalog.pg_backend_memory_contexts",
]
_FILES_AND_SETTINGS = [
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT PG_READ_FILE('/etc/passwd')",
    "SELECT pg_catalog.pg_read_file('postgresql.conf')",
    'SELECT "pg_read_file"(\'/etc/hostname\')',
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT * FROM PG_LS_DIR('.')",
    "SELECT pg_stat_file('/etc/passwd')",
    "SELECT pg_current_logfile()",
    "SELECT * FROM pg_ls_logdir()",
    "SELECT current_setting('data_directory')",
    "SELECT CURRENT_SETTING('config_file')",
    "SELECT pg_catalog.current_setting('hba_file')",
    "SELECT current_setting('primary_conninfo')",
    "SELECT current_setting('ssl_key_file')",
    "SELECT current_setting('purpose_proxy.mask_key', true)",
    "SELECT current_setting('pp.mask_key', true)",
    "SHOW data_directory",
    "SHOW config_file",
    "SHOW ALL",
    "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'data_directory'",
    "SELECT setting FROM PG_SETTINGS WHERE name IN ('hba_file', 'config_file', 'ident_file')",
    "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'primary_conninfo'",
    "SELECT set_config('log_statement', 'none', false)",
    "SELECT inet_server_addr(), inet_server_port()",
    "SELECT pg_postmaster_start_time()",
    "SELECT * FROM pg_catalog.pg_config",
    "SELECT datname FROM pg_catalog.pg_database WHERE datname <> current_database()",
    "SELECT pg_catalog.pg_database_size(datname) FROM pg_catalog.pg_database",
    "SELECT * FROM dblink_get_connections()",
]
_WORLD = [
    # psql's \l+ (PostgreSQL 15)
    'SELECT d.datname as "Name", pg_catalog.pg_get_userbyid(d.datdba) as "Owner", '
    'pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding", d.datcollate as "Collate", '
    'd.datctype as "Ctype", pg_catalog.array_to_string(d.datacl, E\'\\n\') AS '
    '"Access privileges", CASE WHEN pg_catalog.has_database_privilege(d.datname, \'CONNECT\') '
    "THEN pg_catalog.pg_size_pretty(pg_catalog.pg_database_size(d.datname)) ELSE 'No Access' "
    'END as "Size", t.spcname as "Tablespace", pg_catalog.shobj_description(d.oid, '
    "'pg_database') as \"Description\" FROM pg_catalog.pg_database d JOIN "
    "pg_catalog.pg_tablespace t on d.dattablespace = t.oid ORDER BY 1",
    # psql's \l
    'SELECT d.datname as "Name", pg_catalog.pg_get_userbyid(d.datdba) as "Owner" '
    "FROM pg_catalog.pg_database d ORDER BY 1",
    # psql's \du
    "SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, "
    "r.rolcanlogin, r.rolconnlimit, r.rolvaliduntil, ARRAY(SELECT b.rolname FROM "
    "pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid) "
    "WHERE m.member = r.oid) as memberof, r.rolreplication, r.rolbypassrls "
    "FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1",
    "SELECT rolname FROM PG_ROLES",
    "SELECT usename FROM pg_catalog.pg_user",
    "SELECT datname FROM PG_DATABASE",
    "SELECT grantee FROM information_schema.enabled_roles",
    "SELECT role_name FROM information_schema.applicable_roles",
    "SELECT grantee, table_name FROM information_schema.role_table_grants",
    "SELECT session_user, current_user, user",
    "SELECT pg_catalog.pg_get_userbyid(relowner) FROM pg_catalog.pg_class "
    "WHERE relname = 'customers'",
    "SELECT table_catalog FROM information_schema.tables WHERE table_schema = 'shop'",
    "SELECT catalog_name FROM information_schema.schemata",
    "SELECT nspname, pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace",
]
_VALUES_IN_INFO_SCHEMA = [
    "SELECT view_definition FROM information_schema.VIEWS",
    "SELECT check_clause FROM information_schema.check_constraints",
    "SELECT routine_definition FROM INFORMATION_SCHEMA.ROUTINES",
    "SELECT pg_catalog.pg_get_expr(adbin, adrelid) FROM pg_catalog.pg_attrdef",
    "SELECT pg_catalog.pg_get_expr(polqual, polrelid) FROM pg_catalog.pg_policy",
]


def _only_acme_or_proxy_users(rows: Rows) -> bool:
    """\\l / \\du answer for the proxy's own world: database acme, the proxy's users."""
    for row in rows:
        first = row[0]
        # purpose_proxy: the proxy's own owner role (a fixed name, never the warehouse's);
        # _purpose_proxy: the schema holding the mask function (names only, nothing secret).
        if isinstance(first, str) and first not in {"acme", "purpose_proxy", "_purpose_proxy",
                                                    *USERS} and \
                not first.startswith("pg_") and first not in {"shop", "sandbox", "public",
                                                              "information_schema",
                                                              "pg_catalog", "pg_toast"}:
            return False
    return True


def _slug(sql: str) -> str:
    """A readable id tail: the statement's words after SELECT, squeezed."""
    return re.sub(r"\W+", "_", sql.removeprefix("SELECT ")).strip("_")[:48]


CATALOG: list[Door] = []
for _i, _sql in enumerate(_ACTIVITY):
    CATALOG.append(door(f"activity-{_i}-{_slug(_sql)}", "ana", _sql, REJECT, *ABSENT))
for _i, _sql in enumerate(_STATS):
    CATALOG.append(door(f"stats-{_i}-{_slug(_sql)}", "ana", _sql, REJECT, *ABSENT))
for _i, _sql in enumerate(_OTHERS):
    CATALOG.append(door(f"others-{_i}-{_slug(_sql)}", "ana", _sql, REJECT, *ABSENT))
# Answered for the proxy's world instead of refused (proxy.policy.catalog_views): pg_settings
# holds only the allowed settings (so no row), pg_database only the current database, whose
# size is its own; the server's start time tells nothing about data.
_ANSWERED_EMPTY = {"setting FROM pg_catalog.pg_settings", "setting FROM PG_SETTINGS",
                   "datname FROM pg_catalog.pg_database WHERE datname <> current_database()"}
_ANSWERED = {"SELECT pg_postmaster_start_time()",
             "SELECT pg_catalog.pg_database_size(datname) FROM pg_catalog.pg_database"}
for _i, _sql in enumerate(_FILES_AND_SETTINGS):
    _id = f"files-settings-{_i}-{_slug(_sql)}"
    if any(part in _sql for part in _ANSWERED_EMPTY):
        CATALOG.append(door(_id, "ana", _sql, EITHER, *ABSENT, "42704",
                            secure=lambda rows: rows == []))
    elif _sql in _ANSWERED:
        CATALOG.append(door(_id, "ana", _sql, EITHER, *ABSENT, "42704",
                            secure=lambda rows: len(rows) <= 1))
    else:
        CATALOG.append(door(_id, "ana", _sql, REJECT, *ABSENT, "42704"))
# DEBATABLE for check_clause: DuckDB lists only NOT NULL constraints, which hold no values.
for _i, _sql in enumerate(_VALUES_IN_INFO_SCHEMA):
    CATALOG.append(door(f"values-in-catalog-{_i}-{_slug(_sql)}", "ana", _sql, REJECT, *ABSENT))
for _i, _sql in enumerate(_WORLD):
    # Secure: answered for the proxy's world (no warehouse database or role name anywhere).
    CATALOG.append(door(f"world-{_i}-{_slug(_sql)}", "ana", _sql, EITHER, *ABSENT,
                        secure=_only_acme_or_proxy_users))
# the same doors for the other users (a catalog is not a purpose's business)
# search_path and quoted-schema spellings
CATALOG += [
    door("search_path-pg_catalog-activity", "ana",
         ("SET search_path = pg_catalog, public", "SELECT query FROM pg_stat_activity"),
         REJECT, *ABSENT),
    door("search_path-to-stats", "ana",
         ("SET search_path TO \"$user\", pg_catalog",
          "SELECT most_common_vals::text FROM pg_stats"),
         REJECT, *ABSENT),
    door("set-config-search_path", "ana",
         "SELECT set_config('search_path', 'pg_catalog', false)", REJECT, *ABSENT),
    door("quoted-schema-function-read-file", "ana",
         'SELECT "pg_catalog"."pg_read_file"(\'/etc/passwd\')', REJECT, *ABSENT),
    door("quoted-function-current_setting", "ana",
         "SELECT pg_catalog.\"current_setting\"('data_directory')", REJECT, *ABSENT, "42704"),
    door("upper-quoted-mixed-stat", "ana",
         'SELECT query FROM PG_CATALOG."pg_stat_activity"', REJECT, *ABSENT),
    door("unicode-escape-name", "ana",
         'SELECT query FROM pg_catalog.U&"pg\\005fstat\\005factivity"', REJECT, *ABSENT,
         "42601"),
    door("catalog-in-lateral", "ana", "SELECT s.q FROM pg_catalog.pg_class c CROSS JOIN LATERAL "
         "(SELECT query AS q FROM pg_catalog.PG_STAT_ACTIVITY LIMIT 1) s LIMIT 1", REJECT, *ABSENT),
    door("catalog-in-copy", "ana", "COPY (SELECT query FROM pg_catalog.PG_STAT_ACTIVITY) TO STDOUT",
         REJECT, *ABSENT),
]
for _user in ("mark", "sam", "fran"):
    CATALOG += [
        door(f"activity-{_user}", _user, "SELECT query FROM pg_catalog.PG_STAT_ACTIVITY",
             REJECT, *ABSENT),
        door(f"stats-{_user}", _user,
             "SELECT histogram_bounds::text FROM pg_catalog.PG_STATS", REJECT, *ABSENT),
        door(f"statistic-{_user}", _user, "SELECT stavalues1::text FROM Pg_Statistic",
             REJECT, *ABSENT),
        door(f"read-file-{_user}", _user, "SELECT PG_READ_FILE('/etc/passwd')",
             REJECT, *ABSENT),
    ]

CATALOG_BENIGN: list[Door] = [
    benign("select-1", "ana", "SELECT 1", scalar(1)),
    benign("pg_class-customers", "ana",
           "SELECT relname FROM pg_catalog.pg_class WHERE relname = 'customers'", nonempty),
    benign("pg_class-upper", "ana",
           "SELECT relname FROM PG_CATALOG.PG_CLASS WHERE relname = 'customers'", nonempty),
    benign("pg_namespace", "ana", "SELECT nspname FROM pg_catalog.pg_namespace", nonempty),
    benign("pg_type-int4", "ana", "SELECT typname FROM pg_catalog.pg_type WHERE oid = 23",
           lambda rows: rows == [("int4",)]),
    benign("format_type", "ana", "SELECT pg_catalog.format_type(23, NULL)",
           lambda rows: rows == [("integer",)]),
    benign("info-tables", "ana", "SELECT table_name FROM information_schema.tables "
           "WHERE table_schema = 'shop' ORDER BY 1", count_at_least(7)),
    benign("info-columns", "ana", "SELECT column_name, data_type FROM "
           "information_schema.columns WHERE table_schema = 'shop' AND table_name = 'customers'",
           count_at_least(8)),
    benign("pg_attribute", "ana", "SELECT attname FROM pg_catalog.pg_attribute WHERE "
           "attrelid = 'shop.customers'::regclass AND attnum > 0 AND NOT attisdropped",
           count_at_least(8)),
    benign("psql-dt", "ana",
           "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN "
           "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') "
           "AND n.nspname = 'shop' ORDER BY 1, 2", count_at_least(7)),
    benign("current_database", "ana", "SELECT current_database()",
           lambda rows: rows == [("acme",)]),
    benign("version", "ana", "SELECT version()", nonempty),
    benign("show-server_version", "ana", "SHOW server_version", nonempty),
    benign("server_version_num", "ana", "SELECT current_setting('server_version_num')",
           nonempty),
    benign("show-timezone", "ana", "SHOW TimeZone", nonempty),
    benign("datestyle", "ana", "SELECT current_setting('DateStyle')", nonempty),
    benign("pg_database-acme", "ana", "SELECT datname FROM pg_catalog.pg_database "
           "WHERE datname = current_database()", lambda rows: rows == [("acme",)]),
    benign("pg_roles-self", "ana", "SELECT rolname FROM pg_catalog.pg_roles "
           "WHERE rolname = current_user", lambda rows: rows == [("ana",)]),
    benign("pg_index", "ana", "SELECT count(*) FROM pg_catalog.pg_index", nonempty),
    benign("pg_settings-harmless", "ana", "SELECT setting FROM pg_catalog.pg_settings "
           "WHERE lower(name) = 'datestyle'", nonempty),
    benign("info-schemata-shop", "ana", "SELECT schema_name FROM information_schema.schemata "
           "WHERE schema_name = 'shop'", lambda rows: rows == [("shop",)]),
    benign("now", "ana", "SELECT now() IS NOT NULL", lambda rows: rows == [(True,)]),
]


# =================================================================================================
# 3. Control flow (implicit flows) for predicate-only, aggregate-only, deny and masks
# =================================================================================================


@dataclass(frozen=True)
class Target:
    """What a family of attacks aims at: `expr(alias)` is an integer over a protected column."""

    name: str
    user: str
    table: str
    tid: int
    expr: Callable[[str], str]
    truth: dict[int, int]
    visible: Sequence[int]
    lo: int
    hi: int
    thresholds: Sequence[int]
    expect: str  # REJECT (implicit flow must be refused) or EITHER (masks: runs on masked data)
    date_column: str | None = None  # the date column itself, for comparisons with constants
    states: tuple[str, ...] = REFUSED

    def pred(self, alias: str, t: int) -> str:
        """The row condition `value < t`, spelled as a comparison with a constant."""
        if self.date_column is not None:
            return f"{alias}.{self.date_column} < DATE '{t}-01-01'"
        return f"{self.expr(alias)} < {t}"

    def bits(self, tid: int | None = None) -> list[bool]:
        value = self.truth[self.tid if tid is None else tid]
        return [value < t for t in self.thresholds]


def _year(alias: str) -> str:
    return f"extract(year FROM {alias}.birth_date)::int"


# (42000: DuckDB refuses a correlated LIMIT whatever the value, and the text is withheld)
MASK_STATES = (DENIED, NO_FUNCTION, "42804", "22P02", "22007", "22008", "22023", "42000")
_ids_mark = sorted(i for i in CONSENTING if i < 400)
_ids_all = sorted(i for i in _CUSTOMERS if i < 400)
YEAR = {i: d.year for i, d in BIRTH.items()}

TARGETS = [
    # predicate-only: marketing on a consenting customer
    Target("mark-birth", "mark", "shop.customers", P, _year, YEAR, _ids_mark, 1940, 2010,
           [1950, 1955, 1960, 1970, 1980, 1990], REJECT, date_column="birth_date"),
    # aggregate-only (k = 10): analytics on the canary
    Target("ana-birth", "ana", "shop.customers", C, _year, YEAR, _ids_all, 1900, 2010,
           [1905, 1910, 1915, 1950, 1970, 1990], REJECT, date_column="birth_date"),
    # deny: analytics on the canary's phone
    Target("ana-phone", "ana", "shop.customers", C, lambda a: f"length({a}.phone)", PHONE_LEN,
           _ids_all, 1, 40, [12, 15, 16, 17, 20], REJECT),
    # deny: marketing on a consenting customer's phone
    Target("mark-phone", "mark", "shop.customers", P, lambda a: f"length({a}.phone)",
           PHONE_LEN, _ids_mark, 1, 40, [12, 15, 16, 18, 20], REJECT),
    # masks: analytics reads email hashed, name redacted; the flow must see masked values only
    Target("ana-email-mask", "ana", "shop.customers", C, lambda a: f"length({a}.email)",
           EMAIL_LEN, _ids_all, 1, 80, [10, 20, 23, 30, 70], EITHER, states=MASK_STATES),
    Target("ana-name-mask", "ana", "shop.customers", C, lambda a: f"length({a}.full_name)",
           NAME_LEN, _ids_all, 1, 40, [5, 11, 12, 20, 30], EITHER, states=MASK_STATES),
    # mask `year`: fraud may learn the year, not the day
    Target("fran-day-mask", "fran", "shop.customers", C,
           lambda a: f"extract(day FROM {a}.birth_date)::int", DAY, _ids_all, 1, 31,
           [2, 5, 11, 12, 20, 30], EITHER, states=MASK_STATES),
]


def _control_flow(t: Target) -> list[Door]:
    tid, v, e = t.tid, t.truth[t.tid], t.expr
    tbl = t.table
    six, (a, same, other) = _pick(t.visible, lambda i: t.truth[i], tid)
    order = sorted(six, key=lambda i: (t.truth[i], i))
    same_value_ids = [i for i in (a, same, other) if t.truth[i] == v]
    partition = {frozenset(same_value_ids), frozenset({other})}
    lo, hi = t.lo, t.hi
    near = list(range(max(lo, v - 6), min(hi, v + 6) + 1))
    bits_cols = lambda fmt: ", ".join(fmt.format(pred=t.pred("c", th), th=th)  # noqa: E731
                                      for th in t.thresholds)
    where = f"WHERE c.id = {tid}"
    ids6 = ", ".join(map(str, six))
    ids3 = f"{a}, {same}, {other}"
    s = t.expect, *t.states, UNSUPPORTED
    out: list[Door] = []

    def add(name: str, sql: str, secure: Callable[[Rows], bool]) -> None:
        out.append(door(f"{t.name}-{name}", t.user, sql, s[0], *s[1:], secure=secure))

    every = ", ".join(map(str, range(lo, hi + 1)))
    add("join-unnest", f"SELECT c.id, y.v FROM {tbl} c JOIN unnest(ARRAY[{every}]) "
        f"AS y(v) ON {e('c')} = y.v {where}", no_value(v))
    add("join-unnest-all-rows", f"SELECT c.id, y.v FROM {tbl} c JOIN unnest(ARRAY["
        f"{', '.join(map(str, range(lo, hi + 1)))}]) AS y(v) ON {e('c')} = y.v",
        lambda rows: not any(_num(r[0]) == tid and _num(r[1]) == v for r in rows))
    add("join-generate_series", f"SELECT g.v FROM {tbl} c JOIN generate_series({lo}, {hi}) "
        f"AS g(v) ON g.v = {e('c')} {where}", no_value(v))
    add("join-values", f"SELECT y FROM {tbl} c JOIN (VALUES {', '.join(f'({n})' for n in near)})"
        f" AS w(y) ON w.y = {e('c')} {where}", no_value(v))
    add("join-other-table", f"SELECT o.id FROM {tbl} c JOIN shop.orders o ON o.id = {e('c')} "
        f"{where}", no_value(v))
    add("join-using", f"SELECT w.n FROM (SELECT c.id, {e('c')} AS n FROM {tbl} c {where}) c2 "
        f"JOIN generate_series({lo}, {hi}) AS w(n) USING (n)", no_value(v))
    add("comma-join", f"SELECT g FROM {tbl} c, generate_series({lo}, {hi}) g "
        f"WHERE g = {e('c')} AND c.id = {tid}", no_value(v))
    add("lateral", f"SELECT s.g FROM {tbl} c CROSS JOIN LATERAL (SELECT g FROM "
        f"generate_series({lo}, {hi}) g WHERE g = {e('c')}) s {where}", no_value(v))
    add("lateral-limit", f"SELECT c.id, count(*) FROM {tbl} c CROSS JOIN LATERAL (SELECT 1 "
        f"FROM generate_series(1, 3000) LIMIT {e('c')}) s {where} GROUP BY c.id", no_value(v))
    add("correlated-count", f"SELECT c.id, (SELECT count(*) FROM generate_series({lo}, {hi}) g "
        f"WHERE g <= {e('c')}) FROM {tbl} c {where}", no_value(v - lo + 1))
    add("correlated-scalar", f"SELECT (SELECT g FROM generate_series({lo}, {hi}) g "
        f"WHERE g = {e('c')}) FROM {tbl} c {where}", no_value(v))
    add("outer-exists", f"SELECT y FROM unnest(ARRAY[{', '.join(map(str, near))}]) AS u(y) WHERE "
        f"EXISTS (SELECT 1 FROM {tbl} c WHERE c.id = {tid} AND {e('c')} = y)", no_value(v))
    add("outer-in", f"SELECT y FROM unnest(ARRAY[{', '.join(map(str, near))}]) AS u(y) WHERE y IN "
        f"(SELECT {e('c')} FROM {tbl} c {where})", no_value(v))
    add("outer-any", f"SELECT y FROM generate_series({lo}, {hi}) y WHERE y = ANY "
        f"(SELECT {e('c')} FROM {tbl} c {where})", no_value(v))
    add("limit-subquery", f"SELECT count(*) FROM (SELECT 1 FROM generate_series(1, 3000) LIMIT "
        f"(SELECT {e('c')} FROM {tbl} c {where})) s", no_value(v))
    add("recursive-cte", f"WITH RECURSIVE r(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM r "
        f"WHERE n < (SELECT {e('c')} FROM {tbl} c {where})) SELECT max(n) FROM r", no_value(v))
    add("exists-bits", f"SELECT c.id, {bits_cols('EXISTS (SELECT 1 WHERE {pred})')} "
        f"FROM {tbl} c {where}", not_bits(t.bits()))
    in_bit = "c.id IN (SELECT x.id FROM " + tbl + " x WHERE x.id = c.id AND {pred})"
    add("in-bits", f"SELECT c.id, {bits_cols(in_bit)} "
        f"FROM {tbl} c {where}", not_bits(t.bits()))
    add("filter-bits", f"SELECT c.id, {bits_cols('count(*) FILTER (WHERE {pred})')} "
        f"FROM {tbl} c {where} GROUP BY c.id", not_bits(t.bits()))
    add("case-bits", f"SELECT c.id, {bits_cols('CASE WHEN {pred} THEN 1 ELSE 0 END')} "
        f"FROM {tbl} c {where}", not_bits(t.bits()))
    add("case-in-aggregate", f"SELECT c.id, {bits_cols('sum(CASE WHEN {pred} THEN 1 END)')} "
        f"FROM {tbl} c {where} GROUP BY c.id",
        lambda rows: not any([_bit(x) or False for x in r[1:]] == t.bits() for r in rows))
    add("coalesce-nullif", f"SELECT c.id, "
        f"{bits_cols('coalesce((SELECT 1 WHERE {pred}), 0)')} FROM {tbl} c {where}",
        not_bits(t.bits()))
    add("left-joins-same-table", "SELECT c.id, " + ", ".join(
        f"b{k}.id IS NOT NULL" for k in range(len(t.thresholds))) + f" FROM {tbl} c " + " ".join(
        f"LEFT JOIN {tbl} b{k} ON b{k}.id = c.id AND {t.pred(f'b{k}', th)}"
        for k, th in enumerate(t.thresholds)) + f" {where}", not_bits(t.bits()))
    add("union-tags", " UNION ALL ".join(
        f"SELECT {th} FROM {tbl} c WHERE c.id = {tid} AND {t.pred('c', th)}"
        for th in t.thresholds),
        not_set({th for th, b in zip(t.thresholds, t.bits()) if b}))
    add("union-distinct-tags", " UNION ".join(
        f"SELECT {th} AS tag FROM {tbl} c WHERE c.id = {tid} AND {t.pred('c', th)}"
        for th in t.thresholds) + " ORDER BY 1",
        not_set({th for th, b in zip(t.thresholds, t.bits()) if b}))
    add("except-tags", " UNION ALL ".join(
        f"(SELECT {th} FROM {tbl} c WHERE c.id = {tid} EXCEPT "
        f"SELECT {th} FROM {tbl} c WHERE c.id = {tid} AND NOT ({t.pred('c', th)}))"
        for th in t.thresholds),
        not_set({th for th, b in zip(t.thresholds, t.bits()) if b}))
    add("intersect-tags", " UNION ALL ".join(
        f"(SELECT {th} FROM {tbl} c WHERE c.id = {tid} INTERSECT "
        f"SELECT {th} FROM {tbl} c WHERE c.id = {tid} AND {t.pred('c', th)})"
        for th in t.thresholds),
        not_set({th for th, b in zip(t.thresholds, t.bits()) if b}))
    add("union-multiplicity", "SELECT count(*) FROM (" + " UNION ALL ".join(
        f"SELECT c.id FROM {tbl} c WHERE c.id = {tid} AND {t.pred('c', th)}"
        for th in t.thresholds) + ") u", no_value(sum(t.bits())) if 0 < sum(t.bits()) < len(
            t.thresholds) else (lambda rows: True))
    add("cte-twice", "WITH " + ", ".join(
        f"s{k} AS (SELECT c.id FROM {tbl} c WHERE {t.pred('c', th)})"
        for k, th in enumerate(t.thresholds)) + " SELECT c.id, " + ", ".join(
        f"c.id IN (SELECT id FROM s{k})" for k in range(len(t.thresholds))) +
        f" FROM {tbl} c {where}", not_bits(t.bits()))
    add("join-multiplicity", f"SELECT count(*) FROM {tbl} c JOIN unnest(ARRAY["
        f"{', '.join(map(str, t.thresholds))}]) AS th(t) ON "
        + (f"c.{t.date_column} < make_date(th.t, 1, 1)" if t.date_column else f"{e('c')} < th.t")
        + f" {where}", no_value(sum(t.bits())) if 0 < sum(t.bits()) < len(t.thresholds)
        else (lambda rows: True))
    add("group-by-partition", f"SELECT string_agg(c.id::text, ',' ORDER BY c.id) FROM {tbl} c "
        f"WHERE c.id IN ({ids3}) GROUP BY {e('c')}", not_partition(partition))
    add("distinct-on", f"SELECT DISTINCT ON ({e('c')}) c.id FROM {tbl} c WHERE c.id IN ({ids3}) "
        f"ORDER BY {e('c')}, c.id",
        lambda rows: {int(_num(r[0]) or 0) for r in rows} != (
            {a, other} if same in same_value_ids else {a, same, other}))
    add("partition-by", f"SELECT c.id, count(*) OVER (PARTITION BY {e('c')}) FROM {tbl} c "
        f"WHERE c.id IN ({ids3}) ORDER BY c.id",
        lambda rows: sorted((int(_num(r[0]) or 0), int(_num(r[1]) or 0)) for r in rows) != sorted(
            (i, sum(1 for j in (a, same, other) if t.truth[j] == t.truth[i]))
            for i in (a, same, other)))
    add("row_number-order", f"SELECT c.id, row_number() OVER (ORDER BY {e('c')}, c.id) FROM "
        f"{tbl} c WHERE c.id IN ({ids6})", not_order(order))
    add("rank-order", f"SELECT c.id, rank() OVER (ORDER BY {e('c')}) + c.id * 0 FROM {tbl} c "
        f"WHERE c.id IN ({ids6})", not_order(order))
    add("string_agg-order", f"SELECT string_agg(c.id::text, ',' ORDER BY {e('c')}, c.id) FROM "
        f"{tbl} c WHERE c.id IN ({ids6})", not_order(order))
    add("array_agg-order", f"SELECT array_to_string(array_agg(c.id ORDER BY {e('c')}, c.id), ',')"
        f" FROM {tbl} c WHERE c.id IN ({ids6})", not_order(order))
    add("lag-order", f"SELECT c.id, lag(c.id) OVER (ORDER BY {e('c')}, c.id) FROM {tbl} c "
        f"WHERE c.id IN ({ids6})", lambda rows: sorted(
            (int(_num(r[0]) or 0), r[1]) for r in rows) != sorted(
            zip(order, [None, *order[:-1]])))
    # DEBATABLE: plain ORDER BY is not in the issue's list, but the README's definition of
    # predicate_only (WHERE / JOIN ON / HAVING) excludes it, and output order carries the value.
    add("plain-order-by", f"SELECT c.id FROM {tbl} c WHERE c.id IN ({ids6}) "
        f"ORDER BY {e('c')}, c.id", lambda rows: [int(_num(r[0]) or 0) for r in rows] != order)
    add("window-range-frame", f"SELECT c.id, count(*) OVER (ORDER BY {e('c')} RANGE BETWEEN 0 "
        f"PRECEDING AND 0 FOLLOWING) FROM {tbl} c WHERE c.id IN ({ids3}) ORDER BY c.id",
        lambda rows: sorted((int(_num(r[0]) or 0), int(_num(r[1]) or 0)) for r in rows) != sorted(
            (i, sum(1 for j in (a, same, other) if t.truth[j] == t.truth[i]))
            for i in (a, same, other)))
    add("generate_series-bound", f"SELECT count(*) FROM generate_series({lo}, (SELECT {e('c')} "
        f"FROM {tbl} c {where}))", no_value(v - lo + 1))
    if t.date_column:
        bd = t.date_column
        add("join-exact-date", f"SELECT d.x::date FROM {tbl} c JOIN (SELECT g::date AS x FROM "
            f"generate_series(DATE '{BIRTH[tid].year}-01-01', DATE '{BIRTH[tid].year}-12-31', "
            f"interval '1 day') g) d ON d.x = c.{bd} {where}", no_value(BIRTH[tid]))
        add("join-self-equal", f"SELECT d.id FROM {tbl} c JOIN {tbl} d ON d.{bd} = c.{bd} AND "
            f"d.id <> c.id WHERE c.id = {a} AND d.id IN ({same}, {other})",
            lambda rows: {int(_num(r[0]) or 0) for r in rows} != (
                {same} if t.truth[same] == t.truth[a] and BIRTH[same] == BIRTH[a] else {-1}))
        add("in-date-range-bits", "SELECT c.id, " + ", ".join(
            f"c.{bd} IN (SELECT g::date FROM generate_series(DATE '{th}-01-01', "
            f"DATE '{th + 4}-12-31', interval '1 day') g)" for th in t.thresholds) +
            f" FROM {tbl} c {where}",
            not_bits([th <= BIRTH[tid].year <= th + 4 for th in t.thresholds]))
    return out


CONTROL_FLOW: list[Door] = [d for t in TARGETS for d in _control_flow(t)]
# the ip address is denied to support, the free text to fraud: a few flows over other tables
CONTROL_FLOW += [
    door("sam-ip-join", "sam", "SELECT g FROM shop.web_events w JOIN generate_series(0, 255) g "
         f"ON g = split_part(w.ip_address, '.', 2)::int WHERE w.id = {C}", REJECT, DENIED,
         secure=no_value(66)),
    door("sam-ip-exists", "sam", "SELECT w.id, EXISTS (SELECT 1 WHERE w.ip_address LIKE "
         f"'10.66.%') FROM shop.web_events w WHERE w.id = {C}", REJECT, DENIED,
         secure=not_bits([True])),
    door("sam-ip-case", "sam", "SELECT CASE WHEN ip_address = '10.66.66.66' THEN 'hit' END "
         f"FROM shop.web_events WHERE id = {C}", REJECT, DENIED,
         secure=lambda rows: rows != [("hit",)]),
    door("sam-ip-order", "sam", "SELECT id FROM shop.web_events WHERE id IN (1, 2, 3, "
         f"{C}) ORDER BY ip_address", REJECT, DENIED),
    door("fran-body-filter", "fran", "SELECT t.id, count(*) FILTER (WHERE t.body LIKE "
         f"'CANARY%') FROM shop.support_tickets t WHERE t.id = {C} GROUP BY t.id",
         REJECT, DENIED, secure=not_bits([True])),
    door("fran-body-length-join", "fran", "SELECT g FROM shop.support_tickets t JOIN "
         f"generate_series(1, 400) g ON g = length(t.body) WHERE t.id = {C}", REJECT, DENIED,
         secure=no_value(16)),
    door("fran-card-join", "fran", "SELECT g FROM shop.payments p JOIN generate_series(0, 9) g "
         f"ON g::text = substr(p.card_number, 1, 1) WHERE p.id = {C}", EITHER, *MASK_STATES,
         secure=no_value(4)),
    door("mark-hidden-row-exists", "mark", "SELECT y FROM unnest(ARRAY[1, 2]) AS u(y) WHERE EXISTS "
         f"(SELECT 1 FROM shop.customers c WHERE c.id = {C})", ROWS,
         check=lambda rows: rows == []),
    door("sam-hidden-row-join", "sam", "SELECT u.g FROM shop.customers c JOIN unnest(ARRAY["
         + ", ".join(map(str, range(1, 41))) + f"]) AS u(g) ON u.g = length(c.email) "
         f"WHERE c.id = {C}", ROWS, check=lambda rows: rows == []),
    door("sam-hidden-ticket-count", "sam", "SELECT (SELECT count(*) FROM shop.support_tickets t "
         f"WHERE t.customer_id = {C})", ROWS, check=lambda rows: rows == [(0,)]),
]

_after_1990 = sum(1 for i in CONSENTING if BIRTH[i] > date(1990, 1, 1))
_de_consenting = sum(1 for i in CONSENTING if _CUSTOMERS[i]["country"] == "DE")
CONTROL_FLOW_BENIGN: list[Door] = [
    benign("mark-where-birth", "mark", "SELECT email FROM shop.customers "
           "WHERE birth_date > '1990-01-01'", lambda rows: len(rows) == _after_1990),
    benign("mark-where-birth-date-literal", "mark", "SELECT count(*) FROM shop.customers "
           "WHERE birth_date > DATE '1990-01-01'", scalar(_after_1990)),
    benign("mark-between", "mark", "SELECT id FROM shop.customers WHERE birth_date BETWEEN "
           "'1980-01-01' AND '1989-12-31'", nonempty),
    benign("mark-in-list", "mark", f"SELECT id FROM shop.customers WHERE birth_date IN "
           f"('{P_BIRTH}', '2000-01-01')", lambda rows: (P,) in rows),
    benign("mark-is-null", "mark", "SELECT count(*) FROM shop.customers WHERE birth_date IS NULL",
           scalar(0)),
    benign("mark-and-country", "mark", "SELECT full_name FROM shop.customers WHERE "
           "birth_date < '1960-01-01' AND country = 'FR'", nonempty),
    benign("mark-or", "mark", "SELECT id FROM shop.customers WHERE birth_date < '1955-01-01' "
           "OR birth_date > '2000-01-01'", nonempty),
    benign("mark-not", "mark", "SELECT count(*) FROM shop.customers WHERE NOT "
           "(birth_date < '1990-01-01')", nonempty),
    benign("mark-join-on-orders", "mark", "SELECT o.id FROM shop.customers c JOIN shop.orders o "
           "ON o.customer_id = c.id AND c.birth_date >= '1995-01-01'", nonempty),
    benign("mark-group-country", "mark", "SELECT country, count(*) FROM shop.customers WHERE "
           "birth_date > '1990-01-01' GROUP BY country", nonempty),
    benign("mark-order-limit", "mark", "SELECT id, email FROM shop.customers WHERE "
           "birth_date > '1990-01-01' ORDER BY id LIMIT 5", lambda rows: len(rows) == 5),
    # (not here: the same selection inside a CTE used once; docs/information-flow.md refuses it
    # deliberately, with its reason stated)
    benign("mark-consent-count", "mark", "SELECT count(*) FROM shop.customers",
           scalar(CONSENTING_COUNT)),
    benign("ana-group-country", "ana", "SELECT country, count(*) FROM shop.customers "
           "GROUP BY country", count_at_least(3)),
    benign("ana-avg-year-country", "ana", "SELECT country, avg(extract(year FROM birth_date)) "
           "FROM shop.customers GROUP BY country", count_at_least(3)),
    benign("ana-sum-revenue", "ana", "SELECT sum(total_cents) FROM shop.orders", nonempty),
    benign("ana-case-country", "ana", "SELECT CASE WHEN country = 'DE' THEN 'dach' ELSE 'other' "
           "END, count(*) FROM shop.customers GROUP BY 1", lambda rows: len(rows) == 2),
    benign("ana-filter-country", "ana", "SELECT count(*) FILTER (WHERE country = 'DE') FROM "
           "shop.customers", scalar(DE_COUNT)),
    benign("ana-exists-orders", "ana", "SELECT c.id, EXISTS (SELECT 1 FROM shop.orders o WHERE "
           "o.customer_id = c.id) FROM shop.customers c ORDER BY c.id LIMIT 5",
           lambda rows: len(rows) == 5),
    benign("ana-row_number-id", "ana", "SELECT id, row_number() OVER (ORDER BY id) FROM "
           "shop.customers ORDER BY id LIMIT 3", lambda rows: [r[1] for r in rows] == [1, 2, 3]),
    benign("ana-union-counts", "ana", "SELECT 'de', count(*) FROM shop.customers WHERE country "
           "= 'DE' UNION ALL SELECT 'fr', count(*) FROM shop.customers WHERE country = 'FR'",
           lambda rows: len(rows) == 2),
    benign("ana-hashed-email", "ana", f"SELECT email FROM shop.customers WHERE id = {C}", hashed),
    benign("sam-de-count", "sam", "SELECT count(*) FROM shop.customers", scalar(DE_COUNT)),
    benign("fran-year", "fran", f"SELECT extract(year FROM birth_date) FROM shop.customers "
           f"WHERE id = {C}", lambda rows: len(rows) == 1 and _num(rows[0][0]) == 1911),
    benign("mark-de-consenting", "mark", "SELECT count(*) FROM shop.customers WHERE "
           "country = 'DE'", scalar(_de_consenting)),
]


# =================================================================================================
# 4. Error oracles against guards: the outcome may not depend on a suppressed value
# =================================================================================================


@dataclass(frozen=True)
class Oracle:
    """A statement template run with the right and a wrong guess: outcomes must not differ."""

    id: str
    user: str
    template: str
    right: Any
    wrong: Any


def _yr(a: str = "") -> str:
    return f"extract(year FROM {a}birth_date)::int"


_Y = CANARY_BIRTH.year  # 1911


def _days_to(year: int) -> int:
    """Days from the canary's birth date to January 1st of `year` (beyond Python's dates)."""
    def ordinal(y: int) -> int:
        return 365 * (y - 1) + (y - 1) // 4 - (y - 1) // 100 + (y - 1) // 400 + 1
    return ordinal(year) - CANARY_BIRTH.toordinal()
_ONE = f"WHERE id = {C}"
_SMALL = f"WHERE id IN ({C}, 1, 2)"
ORACLES: list[Oracle] = [
    # --- the k guard (analytics, birth_date aggregate-only, k = 10): the canary alone ---------
    Oracle("k-22003-bigint-mul", "ana", "SELECT sum((extract(year FROM birth_date) - {g} + 1000) "
           f"* 9223372036854775) FROM shop.customers {_ONE}", _Y - 1, _Y + 1),
    Oracle("k-22003-smallint-cast", "ana", f"SELECT sum((({_yr()} - {{g}}) * 100000)::smallint) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-22003-int-mul", "ana", f"SELECT sum(({_yr()} - {{g}}) * 2147483647) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 3),
    Oracle("k-22003-int-add", "ana", f"SELECT sum(2147483647 + ({_yr()} - {{g}})) "
           f"FROM shop.customers {_ONE}", _Y, _Y - 1),
    Oracle("k-22003-power", "ana", f"SELECT sum(power(10::numeric, ({_yr()} - {{g}}) * 1000000))"
           f" FROM shop.customers {_ONE}", _Y, _Y - 1),
    Oracle("k-22003-exp", "ana", f"SELECT sum(exp((({_yr()} - {{g}}) * 1000)::numeric)) "
           f"FROM shop.customers {_ONE}", _Y, _Y - 1),
    Oracle("k-22003-avg", "ana", f"SELECT avg((({_yr()} - {{g}}) * 100000)::smallint) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-22003-small-group", "ana", f"SELECT sum((({_yr()} - {{g}}) * 100000 * "
           f"(id = {C})::int)::smallint) FROM shop.customers {_SMALL}", _Y, _Y + 1),
    Oracle("k-22003-group-by-id", "ana", f"SELECT count(*) FROM shop.customers GROUP BY id "
           f"HAVING sum((({_yr()} - {{g}}) * 100000 * (id = {C})::int)::smallint) = 0",
           _Y, _Y + 1),
    Oracle("k-22008-interval", "ana", f"SELECT sum(extract(year FROM birth_date + ({_yr()} - "
           f"{{g}}) * interval '1000000000 days')) FROM shop.customers {_ONE}", _Y, _Y + 1),
    # thresholds at each warehouse's largest timestamp (PostgreSQL 294276 AD, DuckDB 294247 AD)
    Oracle("k-22008-threshold-294276", "ana", "SELECT count(birth_date + interval '{g} days') "
           f"FROM shop.customers {_ONE}", _days_to(294276) + 300, _days_to(294276) + 400),
    Oracle("k-22008-threshold-294247", "ana", "SELECT count(birth_date + interval '{g} days') "
           f"FROM shop.customers {_ONE}", _days_to(294247), _days_to(294247) + 30),
    Oracle("k-22008-make_date", "ana", f"SELECT sum(extract(day FROM make_date({_yr()} - {{g}}, "
           f"1, 1))) FROM shop.customers {_ONE}", _Y, _Y - 1),
    Oracle("k-22012-div", "ana", f"SELECT sum(1 / ({_yr()} - {{g}})) FROM shop.customers {_ONE}",
           _Y, _Y + 1),
    Oracle("k-22012-mod", "ana", f"SELECT sum(7 % ({_yr()} - {{g}})) FROM shop.customers {_ONE}",
           _Y, _Y + 1),
    Oracle("k-22012-numeric", "ana", f"SELECT avg(1.0 / ({_yr()} - {{g}})::numeric) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-22012-having", "ana", f"SELECT count(*) FROM shop.customers {_ONE} "
           f"HAVING sum(1 / ({_yr()} - {{g}})) IS NOT NULL", _Y, _Y + 1),
    Oracle("k-22012-count-distinct", "ana", f"SELECT count(DISTINCT 1 / ({_yr()} - {{g}})) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-22012-filter", "ana", f"SELECT sum({_yr()}) FILTER (WHERE 1 / ({_yr()} - {{g}}) > 0)"
           f" FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-22012-where", "ana", f"SELECT count(*) FROM shop.customers {_ONE} "
           f"AND 1 / ({_yr()} - {{g}}) > 0", _Y, _Y + 1),
    Oracle("k-22012-group-by-expr", "ana", f"SELECT count(*) FROM shop.customers {_ONE} "
           f"GROUP BY 1 / ({_yr()} - {{g}})", _Y, _Y + 1),
    Oracle("k-22P02-cast", "ana", f"SELECT sum(('0' || repeat('x', abs({_yr()} - {{g}})))::int) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-22P02-bool", "ana", f"SELECT count((({_yr()} - {{g}}))::text::boolean) "
           f"FROM shop.customers {_ONE}", _Y, _Y - 5),
    Oracle("k-22P02-date", "ana", f"SELECT count(('1911-11-' || (extract(day FROM birth_date)::int"
           f" - {{g}} + 11))::date) FROM shop.customers {_ONE}", 11, 11 - 25),
    Oracle("k-2201B-regex", "ana", f"SELECT sum(length(regexp_replace('a', repeat('(', "
           f"abs({_yr()} - {{g}})), ''))) FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-2201B-match", "ana", f"SELECT count(*) FROM shop.customers {_ONE} HAVING "
           f"sum(('a' ~ repeat('[', abs({_yr()} - {{g}})))::int) >= 0", _Y, _Y + 1),
    Oracle("k-2202E-trim_array", "ana", f"SELECT sum(cardinality(trim_array(ARRAY[1, 2], "
           f"abs({_yr()} - {{g}})))) FROM shop.customers {_ONE}", _Y, _Y + 5),
    Oracle("k-2201G-width_bucket", "ana", f"SELECT sum(width_bucket(1, 0, 2, {_yr()} - {{g}} + 1))"
           f" FROM shop.customers {_ONE}", _Y, _Y - 1),
    Oracle("k-22011-substr", "ana", f"SELECT sum(length(substr('abc', 1, {_yr()} - {{g}}))) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-54000-repeat", "ana", f"SELECT sum(length(repeat('x', ({_yr()} - {{g}}) * "
           f"1100000000))) FROM shop.customers {_ONE}", _Y, _Y - 1),
    Oracle("k-54000-chr", "ana", f"SELECT sum(ascii(chr(({_yr()} - {{g}}) * 2000000 + 65))) "
           f"FROM shop.customers {_ONE}", _Y, _Y - 1),
    Oracle("k-2201E-ln", "ana", f"SELECT sum(ln(abs({_yr()} - {{g}}))) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-2201F-sqrt", "ana", f"SELECT sum(sqrt({_yr()} - {{g}})) "
           f"FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-21000-subquery", "ana", f"SELECT sum((SELECT g FROM generate_series(1, "
           f"abs({_yr()} - {{g}}) + 1) g)) FROM shop.customers {_ONE}", _Y, _Y + 1),
    Oracle("k-22023-series-step", "ana", f"SELECT sum((SELECT count(*) FROM generate_series(1, 2, "
           f"{_yr()} - {{g}}))) FROM shop.customers {_ONE}", _Y, _Y + 1),
    # --- row filters: the canary is hidden from marketing (no consent) and support (FR) -----------
    Oracle("rf-mark-exists-div", "mark", "SELECT count(*) FROM shop.customers WHERE "
           "1 / (id - {g}) > 0", C, C - 1 if C - 1 not in _CUSTOMERS else 99998),
    Oracle("rf-mark-year-div", "mark", f"SELECT count(*) FROM shop.customers WHERE "
           f"1 / ({_yr()} - {{g}} + abs(id - {C})) > 0", _Y, _Y + 1),
    Oracle("rf-mark-join-on", "mark", "SELECT count(*) FROM shop.orders o JOIN shop.customers c "
           f"ON c.id = o.customer_id AND 1 / (length(c.email) - {{g}} + abs(c.id - {C})) > 0",
           len(CANARY_EMAIL), len(CANARY_EMAIL) + 1),
    Oracle("rf-mark-select-list", "mark", f"SELECT 1 / (length(full_name) - {{g}} + abs(id - {C}))"
           " FROM shop.customers", len(CANARY_NAME), len(CANARY_NAME) + 1),
    Oracle("rf-mark-order-by", "mark", f"SELECT id FROM shop.customers ORDER BY 1 / "
           f"(length(email) - {{g}} + abs(id - {C}))", len(CANARY_EMAIL), len(CANARY_EMAIL) + 1),
    Oracle("rf-mark-cast", "mark", f"SELECT count(*) FROM shop.customers WHERE id = {C} AND "
           "(CASE WHEN email = '{g}' THEN 'x' ELSE '1' END)::int = 1", CANARY_EMAIL,
           "nobody@evil.test"),
    Oracle("rf-mark-regex", "mark", f"SELECT count(*) FROM shop.customers WHERE "
           f"email ~ (CASE WHEN id = {C} AND email = '{{g}}' THEN '(' ELSE 'x' END)",
           CANARY_EMAIL, "nobody@evil.test"),
    Oracle("rf-mark-scalar-subquery", "mark", "SELECT (SELECT 1 / (length(email) - {g}) FROM "
           f"shop.customers WHERE id = {C})", len(CANARY_EMAIL), len(CANARY_EMAIL) + 1),
    Oracle("rf-mark-group-by", "mark", f"SELECT count(*) FROM shop.customers GROUP BY "
           f"1 / (length(email) - {{g}} + abs(id - {C}))", len(CANARY_EMAIL),
           len(CANARY_EMAIL) + 1),
    Oracle("rf-mark-window", "mark", f"SELECT sum(1 / (length(email) - {{g}} + abs(id - {C}))) "
           "OVER () FROM shop.customers LIMIT 1", len(CANARY_EMAIL), len(CANARY_EMAIL) + 1),
    Oracle("rf-mark-overflow", "mark", f"SELECT count(*) FROM shop.customers WHERE "
           f"((length(email) - {{g}} + abs(id - {C})) * 100000)::smallint = 0",
           len(CANARY_EMAIL), len(CANARY_EMAIL) + 1),
    Oracle("rf-mark-interval", "mark", f"SELECT count(*) FROM shop.customers WHERE birth_date + "
           f"(abs(id - {C}) + {_yr()} - {{g}}) * interval '1000000000 days' IS NOT NULL",
           _Y + 1, _Y),
    Oracle("rf-sam-exists-div", "sam", "SELECT count(*) FROM shop.customers WHERE "
           "1 / (id - {g}) > 0", C, 99998),
    Oracle("rf-sam-email-div", "sam", f"SELECT count(*) FROM shop.customers WHERE "
           f"1 / (length(email) - {{g}} + abs(id - {C})) > 0", len(CANARY_EMAIL),
           len(CANARY_EMAIL) + 1),
    Oracle("rf-sam-ticket-div", "sam", "SELECT count(*) FROM shop.support_tickets WHERE "
           f"1 / (length(body) - {{g}} + abs(customer_id - {C})) > 0", 16, 17),
    Oracle("rf-sam-ticket-join", "sam", "SELECT count(*) FROM shop.support_tickets t JOIN "
           "shop.customers c ON c.id = t.customer_id WHERE "
           f"1 / (length(t.body) - {{g}} + abs(t.customer_id - {C})) > 0", 16, 17),
    Oracle("rf-sam-smallint", "sam", "SELECT count(*) FROM shop.customers WHERE "
           f"((length(phone) - {{g}} + abs(id - {C})) * 100000)::smallint = 0",
           len("+00 CANARY-PHONE"), len("+00 CANARY-PHONE") + 1),
    Oracle("rf-sam-cast", "sam", "SELECT count(*) FROM shop.customers WHERE "
           f"(CASE WHEN id = {C} AND full_name = '{{g}}' THEN 'x' ELSE '1' END)::int = 1",
           CANARY_NAME, "Nobody"),
    Oracle("rf-sam-regex", "sam", "SELECT count(*) FROM shop.customers WHERE full_name ~ "
           f"(CASE WHEN id = {C} AND full_name = '{{g}}' THEN '(' ELSE '.' END)",
           CANARY_NAME, "Nobody"),
    Oracle("rf-sam-select-list", "sam", f"SELECT 1 / (length(email) - {{g}} + abs(id - {C})) "
           "FROM shop.customers", len(CANARY_EMAIL), len(CANARY_EMAIL) + 1),
    Oracle("rf-sam-in-subquery", "sam", "SELECT count(*) FROM shop.orders o WHERE o.customer_id "
           f"IN (SELECT id FROM shop.customers WHERE 1 / (length(email) - {{g}} + abs(id - {C}))"
           " > 0)", len(CANARY_EMAIL), len(CANARY_EMAIL) + 1),
    Oracle("rf-sam-substr", "sam", "SELECT count(*) FROM shop.customers WHERE length(substr("
           f"email, 1, length(email) - {{g}} + abs(id - {C}))) >= 0", len(CANARY_EMAIL) - 1,
           len(CANARY_EMAIL) + 1),
    # --- predicate-only in positions that may not depend on it: refused the same either way ----
    Oracle("po-mark-select-div", "mark", f"SELECT id, 1 / ({_yr()} - {{g}}) FROM shop.customers "
           f"WHERE id = {P}", P_BIRTH.year, P_BIRTH.year + 1),
    Oracle("po-mark-case-div", "mark", f"SELECT id, CASE WHEN 1 / ({_yr()} - {{g}}) > 0 THEN 1 END"
           f" FROM shop.customers WHERE id = {P}", P_BIRTH.year, P_BIRTH.year + 1),
    Oracle("po-mark-order-div", "mark", f"SELECT id FROM shop.customers WHERE id = {P} "
           f"ORDER BY 1 / ({_yr()} - {{g}})", P_BIRTH.year, P_BIRTH.year + 1),
    Oracle("po-mark-filter-div", "mark", f"SELECT count(*) FILTER (WHERE 1 / ({_yr()} - {{g}}) > 0)"
           f" FROM shop.customers WHERE id = {P}", P_BIRTH.year, P_BIRTH.year + 1),
    Oracle("po-mark-group-div", "mark", f"SELECT count(*) FROM shop.customers WHERE id = {P} "
           f"GROUP BY 1 / ({_yr()} - {{g}})", P_BIRTH.year, P_BIRTH.year + 1),
    Oracle("po-mark-lateral-div", "mark", f"SELECT s.x FROM shop.customers c CROSS JOIN LATERAL "
           f"(SELECT 1 / ({_yr('c.')} - {{g}}) AS x) s WHERE c.id = {P}",
           P_BIRTH.year, P_BIRTH.year + 1),
    # --- masks: predicates see masked values only -------------------------------------------------
    Oracle("mask-ana-email-div", "ana", f"SELECT count(*) FROM shop.customers WHERE "
           f"1 / (length(email) - {{g}} + abs(id - {C})) > 0", len(CANARY_EMAIL),
           len(CANARY_EMAIL) + 1),
    Oracle("mask-ana-email-cast", "ana", f"SELECT count(*) FROM shop.customers WHERE id = {C} AND "
           "(CASE WHEN email = '{g}' THEN 'x' ELSE '1' END)::int = 1", CANARY_EMAIL,
           "nobody@evil.test"),
    Oracle("mask-ana-name-overflow", "ana", "SELECT count(*) FROM shop.customers WHERE "
           f"((length(full_name) - {{g}} + abs(id - {C})) * 100000)::smallint = 0",
           len(CANARY_NAME), len(CANARY_NAME) + 1),
    Oracle("mask-ana-email-regex", "ana", "SELECT count(*) FROM shop.customers WHERE email ~ "
           f"(CASE WHEN id = {C} AND email LIKE '{{g}}%' THEN '(' ELSE '.' END)",
           "canary", "nobody"),
    Oracle("mask-fran-day-div", "fran", f"SELECT count(*) FROM shop.customers WHERE 1 / "
           f"(extract(day FROM birth_date)::int - {{g}} + abs(id - {C})) > 0",
           CANARY_BIRTH.day, CANARY_BIRTH.day + 1),
    Oracle("mask-fran-day-select", "fran", f"SELECT 1 / (extract(day FROM birth_date)::int - {{g}})"
           f" FROM shop.customers WHERE id = {C}", CANARY_BIRTH.day, CANARY_BIRTH.day + 1),
    # (last4 keeps the length: compare a hidden character instead)
    Oracle("mask-fran-card-cast", "fran", f"SELECT count(*) FROM shop.payments WHERE id = {C} "
           "AND (CASE WHEN card_number LIKE '{g}%' THEN 'x' ELSE '1' END)::int = 1", "4111C",
           "4111D"),
    Oracle("mask-fran-phone-cast", "fran", f"SELECT count(*) FROM shop.customers WHERE id = {C} "
           "AND (CASE WHEN phone LIKE '{g}%' THEN 'x' ELSE '1' END)::int = 1", "+00 CANARY",
           "+99 NOBODY"),
]


def _outcome(canary: CanaryProxy, user: str, sql: str) -> tuple[str, Any]:
    with _connect(canary, user, PURPOSE[user]) as conn:
        try:
            rows = conn.execute(sql).fetchall()
        except psycopg.Error as error:
            assert_no_canary(canary, user, _error_text(error))
            return error.sqlstate or "?", None
        assert_no_canary(canary, user, repr(rows))
        return "rows", rows


ERRORS_BENIGN: list[Door] = [
    benign("ana-avg-year", "ana", "SELECT avg(extract(year FROM birth_date)) FROM shop.customers",
           nonempty),
    # Aggregate-only arguments are forms that cannot raise (docs/information-flow.md,
    # "Errors"): arithmetic goes outside the aggregate.
    benign("ana-sum-year-country", "ana", "SELECT country, sum(extract(year FROM birth_date)) - "
           "1900 * count(birth_date) FROM shop.customers GROUP BY country", count_at_least(3)),
    benign("ana-count-distinct", "ana", "SELECT count(DISTINCT birth_date) FROM shop.customers",
           nonempty),
    benign("ana-avg-age-bucket", "ana", "SELECT country, 2024 - avg(extract(year FROM birth_date))"
           " FROM shop.customers GROUP BY country HAVING count(*) >= 10", count_at_least(3)),
    benign("mark-where-year", "mark", "SELECT count(*) FROM shop.customers WHERE "
           "birth_date >= '1980-01-01' AND birth_date < '1990-01-01'", nonempty),
    benign("sam-div-on-visible", "sam", "SELECT count(*) FROM shop.customers WHERE "
           "1 / (length(email) + 1) >= 0", scalar(DE_COUNT)),
    benign("fran-year-arith", "fran", "SELECT extract(year FROM birth_date) - 1900 FROM "
           f"shop.customers WHERE id = {C}", lambda rows: _num(rows[0][0]) == 11),
]
# Errors that depend only on data the user may see (or on nothing) must still be raised.
ERRORS_STILL_RAISED: list[tuple[str, str, str]] = [
    ("div-constant", "ana", "SELECT 1 / 0"),
    ("cast-constant", "ana", "SELECT 'x'::int"),
    ("div-visible-orders", "ana", "SELECT sum(1 / (id - id)) FROM shop.orders"),
    ("cast-country", "ana", "SELECT country::int FROM shop.customers"),
    ("div-mark-visible", "mark", "SELECT 1 / (id - id) FROM shop.customers"),
]
_RAISED_STATES = {"div-constant": "22012", "cast-constant": "22P02", "div-visible-orders": "22012",
                  "cast-country": "22P02", "div-mark-visible": "22012"}


# =================================================================================================
# the parametrized tests (one proxy per warehouse serves them all)
# =================================================================================================

ALL_DOORS = CATALOG + CONTROL_FLOW
ALL_BENIGN = CATALOG_BENIGN + CONTROL_FLOW_BENIGN + ERRORS_BENIGN


def test_corpus_size():
    ids = [d.id for d in ALL_DOORS] + [o.id for o in ORACLES]
    assert len(ids) == len(set(ids)), "duplicate attack ids"
    assert len(ids) >= 120
    benign_ids = [d.id for d in ALL_BENIGN]
    assert len(benign_ids) == len(set(benign_ids))


# Known gaps, kept visible (strict): they fail the day they are closed.
_KNOWN_CATALOG_GAPS = {
    # psql's \d prints defaults and check constraints through these: they can carry literals.
    "values-in-catalog-1-": "check constraint texts stay readable (psql \\d needs them)",
    "values-in-catalog-3-": "column default expressions stay readable (psql \\d needs them)",
    "values-in-catalog-4-": "row security policy expressions stay readable",
    # information_schema names the warehouse's own database in its *_catalog columns.
    "world-11-": "information_schema.tables.table_catalog names the warehouse database",
    "world-12-": "information_schema.schemata.catalog_name names the warehouse database",
}


def _catalog_params() -> list[Any]:
    params = []
    for spec in CATALOG:
        gap = next((why for prefix, why in _KNOWN_CATALOG_GAPS.items()
                    if spec.id.startswith(prefix)), None)
        marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
        params.append(pytest.param(spec, id=spec.id, marks=marks))
    return params


@pytest.mark.parametrize("spec", _catalog_params())
def test_catalog_door(canary, spec):
    judge(canary, spec)


@pytest.mark.parametrize("spec", CATALOG_BENIGN, ids=[d.id for d in CATALOG_BENIGN])
def test_catalog_benign(canary, spec):
    judge(canary, spec)


@pytest.mark.parametrize("spec", CONTROL_FLOW, ids=[d.id for d in CONTROL_FLOW])
def test_control_flow_door(canary, spec):
    judge(canary, spec)


@pytest.mark.parametrize("spec", CONTROL_FLOW_BENIGN, ids=[d.id for d in CONTROL_FLOW_BENIGN])
def test_control_flow_benign(canary, spec):
    judge(canary, spec)


@pytest.mark.parametrize("oracle", ORACLES, ids=[o.id for o in ORACLES])
def test_error_oracle(canary, oracle):
    right = _outcome(canary, oracle.user, oracle.template.format(g=oracle.right))
    wrong = _outcome(canary, oracle.user, oracle.template.format(g=oracle.wrong))
    assert right == wrong, (f"LEAK: right guess {oracle.right!r} -> {right[0]} "
                            f"{str(right[1])[:80]}, wrong guess {oracle.wrong!r} -> {wrong[0]} "
                            f"{str(wrong[1])[:80]}")
    assert right[0] != "XX000"


@pytest.mark.parametrize("spec", ERRORS_BENIGN, ids=[d.id for d in ERRORS_BENIGN])
def test_error_benign(canary, spec):
    judge(canary, spec)


@pytest.mark.parametrize(("name", "user", "sql"), ERRORS_STILL_RAISED,
                         ids=[e[0] for e in ERRORS_STILL_RAISED])
def test_error_on_visible_data_is_still_raised(canary, name, user, sql):
    state, _ = _outcome(canary, user, sql)
    assert state == _RAISED_STATES[name], f"OVER-REFUSED or hidden error: got {state}"


# =================================================================================================
# 5. Derived tables keep the row policy; chosen values never become masked values
# =================================================================================================


@dataclass(frozen=True)
class Step:
    user: str
    sql: str
    purpose: str | None = None
    params: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Derived:
    """Setup steps (any may be refused: then the door is shut), then the reading step."""

    id: str
    setup: tuple[Step, ...]
    read: Step
    secure: Callable[[Rows], bool]
    forbid: tuple[str, ...] = ()
    benign: bool = False  # benign: every step must run, and `secure` is the expected rows


def _ids_within(allowed: set[int]) -> Callable[[Rows], bool]:
    """Secure iff every id in the first column is one the reader may see."""
    return lambda rows: all(r[0] is None or int(r[0]) in allowed for r in rows)


def _no_pair(tid: int, value: Any) -> Callable[[Rows], bool]:
    return lambda rows: not any(r and _num(r[0]) == tid and _num(r[1]) == _num(value)
                                for r in rows)


_YEARS = ", ".join(map(str, range(1900, 2011)))
_SAM_IDS = set(DE_IDS)
_MARK_IDS = set(CONSENTING)
DERIVED: list[Derived] = [
    Derived("ctas-marketing-read-by-support", (
        Step("mark", "CREATE TABLE sandbox.rt_d1 AS SELECT id, email, full_name, country "
             "FROM shop.customers"),),
        Step("sam", "SELECT * FROM sandbox.rt_d1"), _ids_within(_SAM_IDS),
        forbid=tuple(CONSENTING_NON_DE_EMAILS[:50])),
    Derived("ctas-if-not-exists-marketing-read-by-support", (
        Step("mark", "CREATE TABLE IF NOT EXISTS sandbox.rt_d2 AS SELECT id, email, country "
             "FROM shop.customers"),),
        Step("sam", "SELECT id, email FROM sandbox.rt_d2"), _ids_within(_SAM_IDS),
        forbid=(P_EMAIL,)),
    Derived("ctas-without-subject-key", (
        Step("mark", "CREATE TABLE sandbox.rt_d3 AS SELECT email, full_name FROM shop.customers"),),
        Step("sam", "SELECT email, full_name FROM sandbox.rt_d3"), lambda rows: True,
        forbid=tuple(CONSENTING_NON_DE_EMAILS[:50])),
    Derived("ctas-renamed-subject-key", (
        Step("mark", "CREATE TABLE sandbox.rt_d4 AS SELECT id AS who, email AS contact "
             "FROM shop.customers"),),
        Step("sam", "SELECT who, contact FROM sandbox.rt_d4"), _ids_within(_SAM_IDS),
        forbid=(P_EMAIL,)),
    Derived("ctas-select-into", (
        Step("mark", "SELECT id, email INTO sandbox.rt_d5 FROM shop.customers"),),
        Step("sam", "SELECT id, email FROM sandbox.rt_d5"), _ids_within(_SAM_IDS),
        forbid=(P_EMAIL,)),
    Derived("ctas-analytics-read-by-support", (
        Step("ana", "CREATE TABLE sandbox.rt_d6 AS SELECT id, country, email "
             "FROM shop.customers"),),
        Step("sam", "SELECT id, country FROM sandbox.rt_d6"), _ids_within(_SAM_IDS)),
    Derived("ctas-analytics-read-by-marketing", (
        Step("ana", "CREATE TABLE sandbox.rt_d7 AS SELECT id, country FROM shop.customers"),),
        Step("mark", "SELECT id, country FROM sandbox.rt_d7"), _ids_within(_MARK_IDS)),
    Derived("ctas-as-analytics-read-as-marketing-same-user", (
        Step("mark", "CREATE TABLE sandbox.rt_d8 AS SELECT id, country, full_name "
             "FROM shop.customers", purpose="analytics"),),
        Step("mark", "SELECT id, country FROM sandbox.rt_d8"), _ids_within(_MARK_IDS)),
    Derived("ctas-join-orders-read-by-support", (
        Step("mark", "CREATE TABLE sandbox.rt_d9 AS SELECT o.id AS order_id, c.email FROM "
             "shop.orders o JOIN shop.customers c ON c.id = o.customer_id"),),
        Step("sam", "SELECT order_id, email FROM sandbox.rt_d9"), lambda rows: True,
        forbid=tuple(CONSENTING_NON_DE_EMAILS[:50])),
    Derived("insert-select-into-other-purposes-table", (
        Step("ana", "CREATE TABLE sandbox.rt_d10 AS SELECT id, email, country FROM "
             "shop.customers WHERE false"),
        Step("mark", "INSERT INTO sandbox.rt_d10 SELECT id, email, country FROM shop.customers"),),
        Step("sam", "SELECT id, email FROM sandbox.rt_d10"), _ids_within(_SAM_IDS),
        forbid=(P_EMAIL,)),
    Derived("insert-select-own-table-read-by-support", (
        Step("mark", "CREATE TABLE sandbox.rt_d11 AS SELECT id, email FROM shop.customers "
             "WHERE false"),
        Step("mark", "INSERT INTO sandbox.rt_d11 SELECT id, email FROM shop.customers"),),
        Step("sam", "SELECT id, email FROM sandbox.rt_d11"), _ids_within(_SAM_IDS),
        forbid=(P_EMAIL,)),
    Derived("insert-as-analytics-read-as-marketing", (
        Step("mark", "CREATE TABLE sandbox.rt_d12 AS SELECT id, country FROM shop.customers "
             "WHERE false"),
        Step("mark", "INSERT INTO sandbox.rt_d12 SELECT id, country FROM shop.customers",
             purpose="analytics"),),
        Step("mark", "SELECT id FROM sandbox.rt_d12"), _ids_within(_MARK_IDS)),
    Derived("temp-table-as-analytics-read-as-marketing", (), Step(
        "mark", "SELECT 1"), lambda rows: True),  # replaced below by a one-connection test
    # control flow recorded in a derived table (section 3 through a copy)
    Derived("ctas-control-flow-join-read-by-analytics", (
        Step("mark", "CREATE TABLE sandbox.rt_d14 AS SELECT c.id, y.v FROM shop.customers c "
             f"JOIN unnest(ARRAY[{_YEARS}]) AS y(v) ON extract(year FROM c.birth_date) = y.v"),),
        Step("ana", f"SELECT id, v FROM sandbox.rt_d14 WHERE id = {P}"),
        _no_pair(P, P_BIRTH.year)),
    Derived("ctas-control-flow-join-read-by-itself", (
        Step("mark", "CREATE TABLE sandbox.rt_d15 AS SELECT c.id, g AS v FROM shop.customers c, "
             "generate_series(1900, 2010) g WHERE g = extract(year FROM c.birth_date)"),),
        Step("mark", f"SELECT id, v FROM sandbox.rt_d15 WHERE id = {P}"),
        _no_pair(P, P_BIRTH.year)),
    Derived("ctas-case-flag-read-by-analytics", (
        Step("ana", "CREATE TABLE sandbox.rt_d16 AS SELECT id, CASE WHEN birth_date < "
             "'1912-01-01' THEN 1 ELSE 0 END AS old FROM shop.customers"),),
        Step("ana", f"SELECT id, old FROM sandbox.rt_d16 WHERE id = {C}"), _no_pair(C, 1)),
    Derived("ctas-exists-bits-read-as-analytics", (
        Step("mark", "CREATE TABLE sandbox.rt_d17 AS SELECT c.id, EXISTS (SELECT 1 WHERE "
             "c.birth_date < '1960-01-01') AS b FROM shop.customers c"),),
        Step("mark", f"SELECT id, b::int FROM sandbox.rt_d17 WHERE id = {P}", purpose="analytics"),
        _no_pair(P, int(P_BIRTH < date(1960, 1, 1)))),
    Derived("ctas-correlated-count-read-by-marketing", (
        Step("mark", "CREATE TABLE sandbox.rt_d18 AS SELECT c.id, (SELECT count(*) FROM "
             "generate_series(1900, 2010) g WHERE g <= extract(year FROM c.birth_date)) AS n "
             "FROM shop.customers c"),),
        Step("mark", f"SELECT id, n FROM sandbox.rt_d18 WHERE id = {P}"),
        _no_pair(P, P_BIRTH.year - 1899)),
    Derived("ctas-row_number-order-read-by-analytics", (
        Step("mark", "CREATE TABLE sandbox.rt_d19 AS SELECT id, row_number() OVER "
             "(ORDER BY birth_date, id) AS rn FROM shop.customers"),),
        Step("ana", f"SELECT id, rn FROM sandbox.rt_d19 WHERE id = {P}"),
        _no_pair(P, 1 + sum(1 for i in CONSENTING if (BIRTH[i], i) < (P_BIRTH, P)))),
    Derived("ctas-aggregate-only-exact-value", (
        Step("ana", "CREATE TABLE sandbox.rt_d20 AS SELECT id, sum(extract(year FROM birth_date))"
             " AS y FROM shop.customers GROUP BY id"),),
        Step("ana", f"SELECT id, y FROM sandbox.rt_d20 WHERE id = {C}"), _no_pair(C, 1911)),
]
DERIVED = [d for d in DERIVED if d.id != "temp-table-as-analytics-read-as-marketing"]

DERIVED_BENIGN: list[Derived] = [
    Derived("own-aggregates", (
        Step("ana", "CREATE TABLE sandbox.rt_b1 AS SELECT country, count(*) AS n FROM "
             "shop.customers GROUP BY country"),),
        Step("ana", "SELECT country, n FROM sandbox.rt_b1"), count_at_least(3), benign=True),
    Derived("own-copy-marketing", (
        Step("mark", "CREATE TABLE sandbox.rt_b2 AS SELECT id, email FROM shop.customers"),),
        Step("mark", "SELECT count(*) FROM sandbox.rt_b2"), scalar(CONSENTING_COUNT),
        benign=True),
    Derived("own-hashes", (
        Step("ana", "CREATE TABLE sandbox.rt_b3 AS SELECT id, email FROM shop.customers"),),
        Step("ana", f"SELECT email FROM sandbox.rt_b3 WHERE id = {C}"), hashed, benign=True),
    Derived("marketing-where-birth", (
        Step("mark", "CREATE TABLE sandbox.rt_b4 AS SELECT id, email FROM shop.customers "
             "WHERE birth_date > '1990-01-01'"),),
        Step("mark", "SELECT count(*) FROM sandbox.rt_b4"), scalar(_after_1990), benign=True),
    Derived("marketing-insert-own", (
        Step("mark", "CREATE TABLE sandbox.rt_b5 AS SELECT id, email FROM shop.customers "
             "WHERE false"),
        Step("mark", "INSERT INTO sandbox.rt_b5 SELECT id, email FROM shop.customers "
             "WHERE country = 'DE'"),),
        Step("mark", "SELECT count(*) FROM sandbox.rt_b5"), scalar(_de_consenting), benign=True),
    Derived("products-copy-read-by-support", (
        Step("ana", "CREATE TABLE sandbox.rt_b6 AS SELECT id, name FROM shop.products"),),
        Step("sam", "SELECT count(*) FROM sandbox.rt_b6"), scalar(60), benign=True),
    # DEBATABLE: the issue allows other purposes to read aggregates over at least k subjects.
    Derived("aggregates-read-by-support", (
        # Rows that sum over at least k people are recognised by a guard over the subject key
        # (README, "Derived data keeps the row policy"); count(*) counts rows, not people.
        Step("ana", "CREATE TABLE sandbox.rt_b7 AS SELECT country, count(*) AS n FROM "
             "shop.customers GROUP BY country HAVING count(DISTINCT id) >= 10"),),
        Step("sam", "SELECT country, n FROM sandbox.rt_b7"), count_at_least(1), benign=True),
    Derived("analytics-literal-table", (
        Step("ana", "CREATE TABLE sandbox.rt_b8 AS SELECT 'de' AS code"),
        Step("ana", "INSERT INTO sandbox.rt_b8 VALUES ('fr')"),),
        Step("ana", "SELECT code FROM sandbox.rt_b8 ORDER BY 1"),
        lambda rows: rows == [("de",), ("fr",)], benign=True),
]


def _step(conn: psycopg.Connection, step: Step) -> Rows:
    if step.purpose:
        conn.execute(f"SET purpose = '{step.purpose}'")
    cursor = conn.execute(step.sql, step.params)
    return cursor.fetchall() if cursor.description is not None else []


def _derived_outcome(canary: CanaryProxy, flow: Derived) -> tuple[str, Rows, str]:
    """('refused', [], state) if any step was refused, else ('rows', rows of the read, '')."""
    for step in (*flow.setup, flow.read):
        with _connect(canary, step.user, PURPOSE[step.user]) as conn:
            try:
                rows = _step(conn, step)
            except psycopg.Error as error:
                assert_no_canary(canary, step.user, _error_text(error), flow.forbid)
                return "refused", [], error.sqlstate or "?"
        if step is flow.read:
            return "rows", rows, ""
    raise AssertionError("unreachable")


@pytest.mark.parametrize("flow", DERIVED, ids=[d.id for d in DERIVED])
def test_derived_door(canary, flow):
    outcome, rows, state = _derived_outcome(canary, flow)
    if outcome == "refused":
        assert state in (DENIED, "42P07", NO_RELATION), f"WRONG STATE: {state}"
        return
    received = "\n".join(_text(v) for row in rows for v in row)
    try:
        assert_no_canary(canary, flow.read.user, received, flow.forbid)
    except AssertionError as failure:
        raise AssertionError(f"LEAK: {failure}") from None
    assert flow.secure(rows), f"LEAK: {flow.read.user} read {rows[:8]!r}"


@pytest.mark.parametrize("flow", DERIVED_BENIGN, ids=[d.id for d in DERIVED_BENIGN])
def test_derived_benign(canary, flow):
    outcome, rows, state = _derived_outcome(canary, flow)
    assert outcome == "rows", f"OVER-REFUSED: {state}"
    assert flow.secure(rows), f"OVER-REFUSED (wrong rows): {rows[:8]!r}"


def test_temporary_table_made_under_one_purpose_keeps_its_rows_policy(canary):
    """mark (granted marketing and analytics) copies every customer into a temporary table as
    analytics, then reads it as marketing: the canary (no consent) must not be there."""
    with _connect(canary, "mark") as conn:
        try:
            conn.execute("SET purpose = 'analytics'")
            conn.execute("CREATE TEMP TABLE rt_tmp AS SELECT id, country FROM shop.customers")
            conn.execute("SET purpose = 'marketing'")
            rows = conn.execute(f"SELECT id FROM rt_tmp WHERE id = {C}").fetchall()
        except psycopg.Error as error:
            assert error.sqlstate in (DENIED, UNSUPPORTED, NO_RELATION), error.sqlstate
            return
    assert rows == [], f"LEAK: marketing read the non-consenting canary from a temp table {rows}"


# --- the chosen-value (dictionary) oracle on the keyed hash --------------------------------------

_GUESS_RIGHT, _GUESS_WRONG = CANARY_EMAIL, "nobody-at-all@evil.test"
#: Ways analytics (email hashed) gets its own guess into a column it reads hashed; {t} the
#: table, {g} the guess. The last statement compares with the governed data.
HASH_ORACLES: dict[str, tuple[str, ...]] = {
    "insert-values": (
        "CREATE TABLE sandbox.{t} AS SELECT email FROM shop.customers WHERE false",
        "INSERT INTO sandbox.{t} (email) VALUES ('{g}')",
        "SELECT count(*) FROM sandbox.{t} g JOIN shop.customers c ON c.email = g.email"),
    "insert-select-literal": (
        "CREATE TABLE sandbox.{t} AS SELECT id, email FROM shop.customers WHERE false",
        "INSERT INTO sandbox.{t} SELECT 0, '{g}'",
        "SELECT count(*) FROM shop.customers c WHERE c.email IN (SELECT email FROM sandbox.{t})"),
    "ctas-union-literal": (
        "CREATE TABLE sandbox.{t} AS SELECT email FROM shop.customers WHERE false "
        "UNION ALL SELECT '{g}'",
        "SELECT count(*) FROM sandbox.{t} g JOIN shop.customers c ON c.email = g.email"),
    "ctas-case-literal": (
        "CREATE TABLE sandbox.{t} AS SELECT CASE WHEN id < 0 THEN email ELSE '{g}' END AS email "
        "FROM shop.customers WHERE id = 1",
        "SELECT count(*) FROM sandbox.{t} g JOIN shop.customers c ON c.email = g.email"),
    "ctas-coalesce-literal": (
        "CREATE TABLE sandbox.{t} AS SELECT coalesce(NULLIF(email, email), '{g}') AS email "
        "FROM shop.customers WHERE id = 1",
        "SELECT count(*) FROM sandbox.{t} g JOIN shop.customers c ON c.email = g.email"),
    "ctas-concat-empty": (
        "CREATE TABLE sandbox.{t} AS SELECT substr(email, 1, 0) || '{g}' AS email "
        "FROM shop.customers WHERE id = 1",
        "SELECT count(*) FROM sandbox.{t} g JOIN shop.customers c ON c.email = g.email"),
    "read-back-compare-in-one-statement": (
        "CREATE TABLE sandbox.{t} AS SELECT email FROM shop.customers WHERE false",
        "INSERT INTO sandbox.{t} (email) VALUES ('{g}')",
        f"SELECT (SELECT email FROM sandbox.{{t}}) = (SELECT email FROM shop.customers "
        f"WHERE id = {C})"),
    "exists-against-governed": (
        "CREATE TABLE sandbox.{t} AS SELECT email FROM shop.customers WHERE false",
        "INSERT INTO sandbox.{t} (email) VALUES ('{g}')",
        "SELECT EXISTS (SELECT 1 FROM shop.customers c, sandbox.{t} g WHERE c.email = g.email)"),
    "literal-only-table": (
        "CREATE TABLE sandbox.{t} AS SELECT '{g}'::text AS email",
        "SELECT count(*) FROM sandbox.{t} g JOIN shop.customers c ON c.email = g.email"),
    "no-write-union-in-statement": (
        "SELECT count(*) FROM shop.customers c WHERE c.email IN (SELECT email FROM "
        "shop.customers WHERE false UNION ALL SELECT '{g}')",),
}


def _hash_oracle_outcome(canary: CanaryProxy, name: str, guess: str, table_name: str
                         ) -> tuple[str, Any]:
    with _connect(canary, "ana") as conn:
        result: tuple[str, Any] = ("rows", None)
        for sql in HASH_ORACLES[name]:
            try:
                cursor = conn.execute(sql.format(t=table_name, g=guess))
            except psycopg.Error as error:
                assert_no_canary(canary, "ana", _error_text(error), ())
                return error.sqlstate or "?", None
            result = ("rows", cursor.fetchall() if cursor.description is not None else None)
        return result


@pytest.mark.parametrize("name", list(HASH_ORACLES))
def test_hash_dictionary_oracle(canary, name):
    """Secure: the outcome with the canary's real email equals the outcome with a wrong one."""
    key = re.sub(r"\W", "_", name)
    right = _hash_oracle_outcome(canary, name, _GUESS_RIGHT, f"rt_h_{key}_r")
    wrong = _hash_oracle_outcome(canary, name, _GUESS_WRONG, f"rt_h_{key}_w")
    assert right == wrong, f"LEAK: right guess -> {right}, wrong guess -> {wrong}"


def test_hash_dictionary_oracle_read_back_and_compare_client_side(canary):
    """The issue's form: write the guess, read it back hashed, compare with the hashed email."""
    with _connect(canary, "ana") as conn:
        target = conn.execute(f"SELECT email FROM shop.customers WHERE id = {C}").fetchone()
        try:
            conn.execute("CREATE TABLE sandbox.rt_h_client AS SELECT email FROM shop.customers "
                         "WHERE false")
            conn.execute("INSERT INTO sandbox.rt_h_client (email) VALUES (%s)", (CANARY_EMAIL,))
            back = conn.execute("SELECT email FROM sandbox.rt_h_client").fetchall()
        except psycopg.Error as error:
            assert error.sqlstate == DENIED, error.sqlstate
            return
    assert back != [target], "LEAK: the guess read back hashed equals the canary's hashed email"


# =================================================================================================
# 7. The purpose in force is the purpose applied
# =================================================================================================

_EMAIL_P = f"SELECT email FROM shop.customers WHERE id = {P}"
_CANARY_ID_SQL = f"SELECT id FROM shop.customers WHERE id = {C}"


def _show_purpose(conn: psycopg.Connection) -> str | None:
    row = conn.execute("SHOW purpose").fetchone()
    return row[0] if row else None


def test_prepared_under_marketing_executed_after_set_analytics(canary):
    with _connect(canary, "mark") as conn:
        first = conn.execute(_EMAIL_P, prepare=True).fetchall()
        assert first == [(P_EMAIL,)], first  # marketing reads email raw
        conn.execute("SET purpose = 'analytics'")
        again = conn.execute(_EMAIL_P, prepare=True).fetchall()
    assert again != [(P_EMAIL,)], "LEAK: raw email under analytics from a statement prepared " \
        "under marketing"
    assert hashed(again), again


def test_prepared_under_analytics_executed_after_set_marketing(canary):
    sql = "SELECT id FROM shop.customers WHERE id = %s"
    with _connect(canary, "mark") as conn:
        conn.execute("SET purpose = 'analytics'")
        assert conn.execute(sql, (C,), prepare=True).fetchall() == [(C,)]
        conn.execute("SET purpose = 'marketing'")
        rows = conn.execute(sql, (C,), prepare=True).fetchall()
    assert rows == [], "LEAK: marketing's row filter not applied to a statement prepared before"


def test_prepared_then_reset_purpose(canary):
    sql = "SELECT id FROM shop.customers WHERE id = %s"
    with _connect(canary, "mark") as conn:
        conn.execute("SET purpose = 'analytics'")
        assert conn.execute(sql, (C,), prepare=True).fetchall() == [(C,)]
        conn.execute("RESET purpose")
        rows = conn.execute(sql, (C,), prepare=True).fetchall()
    assert rows == [], "LEAK: RESET purpose did not re-decide the prepared statement"


def test_prepared_then_set_purpose_is_audited_under_the_new_purpose(canary):
    marker = "rt_audit_marker_7"
    with _connect(canary, "mark") as conn:
        sql = f"SELECT count(*) AS {marker} FROM shop.customers"
        conn.execute(sql, prepare=True)
        conn.execute("SET purpose = 'analytics'")
        conn.execute(sql, prepare=True)
    events = [e for e in canary.proxy.audit_events() if marker in str(e)]
    purposes = [e.get("purpose") for e in events if e.get("purpose")]
    assert purposes and purposes[-1] == "analytics", f"WRONG PURPOSE: audited as {purposes}"


@pytest.mark.parametrize("statements", [
    ("BEGIN", "SET purpose = 'analytics'", "ROLLBACK"),
    ("BEGIN", "SET LOCAL purpose = 'analytics'", "COMMIT"),
    ("BEGIN", "SAVEPOINT s", "SET purpose = 'analytics'", "ROLLBACK TO SAVEPOINT s", "COMMIT"),
    ("BEGIN", "SET purpose = 'analytics'", "SELECT 1 / 0", "ROLLBACK"),
    ("BEGIN", "SET purpose = 'analytics'", "SELECT phone FROM shop.customers", "ROLLBACK"),
    ("BEGIN", "SAVEPOINT s", "SET LOCAL purpose = 'analytics'", "RELEASE SAVEPOINT s", "COMMIT"),
], ids=["rollback", "set-local-commit", "rollback-to-savepoint", "error-then-rollback",
        "refusal-then-rollback", "set-local-release-commit"])
def test_set_purpose_follows_transaction_rules(canary, statements):
    """After each sequence, PostgreSQL's rules leave mark's default purpose (marketing) in force."""
    with _connect(canary, "mark") as conn:
        for sql in statements:
            try:
                conn.execute(sql)
            except psycopg.Error:
                pass  # the failed transaction is rolled back by the next statement
        shown = _show_purpose(conn)
        rows = conn.execute(_CANARY_ID_SQL).fetchall()
    assert rows == [], f"LEAK: analytics still in force after {statements}: canary row {rows}"
    # (SHOW purpose of a default purpose is test_show_purpose_is_the_effective_purpose's job)
    assert shown != "analytics", f"LEAK: SHOW purpose says {shown!r} after {statements}"


@pytest.mark.parametrize("statements", [
    ("BEGIN", "SET LOCAL purpose = 'analytics'", _CANARY_ID_SQL, "COMMIT"),
    ("BEGIN", "SAVEPOINT s", "SET purpose = 'analytics'", "RELEASE SAVEPOINT s", _CANARY_ID_SQL,
     "COMMIT"),
    ("BEGIN", "SET purpose = 'analytics'", "COMMIT", _CANARY_ID_SQL),
    ("SET purpose = 'analytics'", _CANARY_ID_SQL),
], ids=["set-local-in-force", "release-keeps", "commit-keeps", "plain-set"])
def test_set_purpose_benign_stays_in_force(canary, statements):
    with _connect(canary, "mark") as conn:
        rows: Rows = []
        for sql in statements:
            try:
                cursor = conn.execute(sql)
            except psycopg.Error as error:
                raise AssertionError(f"OVER-REFUSED: {sql}: {error.sqlstate}: "
                                     f"{error.diag.message_primary}") from None
            if sql == _CANARY_ID_SQL:
                rows = cursor.fetchall()
    assert rows == [(C,)], f"OVER-REFUSED: analytics not in force after {statements}: {rows}"


LEADING_COMMENTS = [
    "/*purpose='fraud'*/ SELECT count(*) FROM shop.customers",
    "/* purpose='fraud' */ SELECT count(*) FROM shop.customers",
    "/*application='x',purpose='fraud'*/ SELECT count(*) FROM shop.customers",
    "  \n/*purpose='fraud'*/\nSELECT count(*) FROM shop.customers",
    "/*purpose='fraud'*/ /*x*/ SELECT count(*) FROM shop.customers",
    "/*purpose='fraud'*/SELECT count(*) FROM shop.customers",
    "-- purpose='fraud'\nSELECT count(*) FROM shop.customers",
    "SELECT /*purpose='fraud'*/ count(*) FROM shop.customers",
]


@pytest.mark.parametrize("sql", LEADING_COMMENTS)
def test_purpose_comment_anywhere_is_honoured(canary, sql):
    """ana declares fraud (not granted) in a comment: refused, not silently run as analytics."""
    with _connect(canary, "ana") as conn:
        try:
            rows = conn.execute(sql).fetchall()
        except psycopg.Error as error:
            assert error.sqlstate == DENIED, error.sqlstate
            assert "fraud" in (error.diag.message_primary or "")
            return
    raise AssertionError(f"NOT REFUSED: the comment's purpose was ignored: {rows}")


@pytest.mark.parametrize("sql", [
    f"/*purpose='analytics'*/ {_CANARY_ID_SQL}",
    f"/* purpose='analytics' */\n{_CANARY_ID_SQL}",
    f"{_CANARY_ID_SQL} /*purpose='analytics'*/",
    f"/*db_driver='psycopg',purpose='analytics'*/ {_CANARY_ID_SQL}",
])
def test_purpose_comment_benign_switches(canary, sql):
    with _connect(canary, "mark") as conn:
        rows = conn.execute(sql).fetchall()
    assert rows == [(C,)], f"OVER-REFUSED: the declared analytics purpose was not applied: {rows}"


@pytest.mark.parametrize("sql", [
    f"{_CANARY_ID_SQL} AND 'x' <> '/*purpose=''analytics''*/'",
    f"{_CANARY_ID_SQL} AND 'x' <> $$/*purpose='analytics'*/$$",
    f"{_CANARY_ID_SQL} AND 'x' <> $q$ /*purpose='analytics'*/ $q$",
    f"{_CANARY_ID_SQL} AND 'x' <> E'/*purpose=\\'analytics\\'*/'",
    f'SELECT id AS "/*purpose=\'analytics\'*/" FROM shop.customers WHERE id = {C}',
    f"SELECT id FROM shop.customers WHERE id = {C} AND full_name <> '*/ /*purpose=''analytics''*/'",
])
def test_purpose_in_strings_is_not_a_declaration(canary, sql):
    with _connect(canary, "mark") as conn:
        rows = conn.execute(sql).fetchall()
    assert rows == [], f"LEAK: text inside a literal switched the purpose: {rows}"


def test_show_purpose_is_the_effective_purpose(canary):
    with _connect(canary, "mark") as conn:
        assert _show_purpose(conn) == "marketing", "WRONG PURPOSE: default purpose not shown"
    with _connect(canary, "mark", "analytics") as conn:
        assert _show_purpose(conn) == "analytics", "WRONG PURPOSE: connection purpose not shown"
        conn.execute("SET purpose = 'marketing'")
        assert _show_purpose(conn) == "marketing"


# =================================================================================================
# 2. The mask key never appears in SQL text
# =================================================================================================

_MASKED = [
    f"SELECT email FROM shop.customers WHERE id = {C}",
    "SELECT count(DISTINCT email) FROM shop.customers",
    f"SELECT c.email, o.id FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id "
    f"WHERE c.id = {C}",
]
_MASKED_ERRORS = [
    "SELECT email::int FROM shop.customers",
    "SELECT substr(email, 1, -1) FROM shop.customers",
    "SELECT email::date FROM shop.customers",
    "SELECT 1 / (length(email) - 64) FROM shop.customers",
    "SELECT email::numeric FROM shop.customers",
]


def _key_needles(canary: CanaryProxy) -> list[str]:
    return [canary.mask_key, canary.mask_key.encode().hex()] if canary.mask_key else []


def test_mask_key_not_in_errors_of_masked_expressions(canary):
    for sql in _MASKED_ERRORS:
        with _connect(canary, "ana") as conn:
            try:
                rows = conn.execute(sql).fetchall()
                text = repr(rows)
            except psycopg.Error as error:
                text = _error_text(error) + str(error)
        for needle in _key_needles(canary):
            assert needle not in text, f"LEAK: the mask key in the answer to {sql!r}"


def test_mask_key_not_in_statement_text_the_warehouse_records(canary):
    """PostgreSQL: the proxy's own sessions' statements (pg_stat_activity, as the warehouse
    sees them) hold no key; both warehouses: the audit log holds no key."""
    for sql in _MASKED:
        with _connect(canary, "ana") as conn:
            conn.execute(sql).fetchall()
            conn.execute(sql, prepare=True).fetchall()
    texts = [canary.proxy.audit_file.read_text() if canary.proxy.audit_file.exists() else ""]
    config = yaml.safe_load((canary.workdir / "proxy.yaml").read_text())
    if config.get("backend") == "postgres":
        pg = config["postgres"]
        with psycopg.connect(host=pg["host"], port=pg["port"], dbname=pg["database"],
                             user=pg["user"], password=pg["password"], autocommit=True) as wh:
            texts += [r[0] or "" for r in wh.execute(
                "SELECT query FROM pg_stat_activity").fetchall()]
            texts += [r[0] or "" for r in wh.execute(
                "SELECT statement FROM pg_prepared_statements").fetchall()]
    for needle in _key_needles(canary):
        for text in texts:
            assert needle not in text, f"LEAK: mask key in recorded SQL text: {text[:300]!r}"


def test_mask_key_not_in_other_sessions_statements_through_the_proxy(canary):
    with _connect(canary, "ana") as victim:
        victim.execute(_MASKED[0]).fetchall()
        for user in ("ana", "mark", "sam", "fran"):
            for sql in ("SELECT query FROM pg_catalog.PG_STAT_ACTIVITY",
                        "SELECT statement FROM pg_catalog.PG_PREPARED_STATEMENTS",
                        "SELECT query FROM pg_stat_activity"):
                with _connect(canary, user, PURPOSE[user]) as spy:
                    try:
                        text = repr(spy.execute(sql).fetchall())
                    except psycopg.Error as error:
                        text = _error_text(error)
                for needle in _key_needles(canary):
                    assert needle not in text, f"LEAK: {user} read the mask key via {sql!r}"


def test_same_key_same_hashes_across_proxy_processes(canary, tmp_path):
    """Replicas configured with the same key hash alike (PostgreSQL: both proxies share it)."""
    from tests.support.proxy_process import start_proxy

    config = yaml.safe_load((canary.workdir / "proxy.yaml").read_text())
    if config.get("backend") != "postgres":
        pytest.skip("DuckDB's file is locked by the first proxy; one process per file")
    second = start_proxy(tmp_path / "replica", tmp_path / "unused.duckdb", backend="postgres",
                         postgres=config["postgres"], mask_key=canary.mask_key)
    try:
        sql = f"SELECT email FROM shop.customers WHERE id = {C}"
        with _connect(canary, "ana") as one:
            first = one.execute(sql).fetchall()
        with psycopg.connect(**second.conninfo("ana"), autocommit=True) as two:
            other = two.execute(sql).fetchall()
    finally:
        second.stop()
    assert first == other and hashed(first), (first, other)


# =================================================================================================
# 6. One statement never stalls the proxy
# =================================================================================================

SIZE_BENIGN = [
    benign("in-list-100", "ana", "SELECT count(*) FROM shop.customers WHERE id IN ("
           + ", ".join(map(str, range(1, 101))) + ")", scalar(100)),
    benign("and-50", "ana", "SELECT count(*) FROM shop.customers WHERE "
           + " AND ".join(f"id <> {i}" for i in range(1, 51)), scalar(len(_CUSTOMERS) + 1 - 50)),
    benign("union-20", "ana", " UNION ALL ".join(f"SELECT {i} AS x" for i in range(20)),
           lambda rows: len(rows) == 20),
    benign("case-50", "ana", "SELECT CASE " + " ".join(f"WHEN id = {i} THEN {i}"
                                                      for i in range(1, 51))
           + " ELSE 0 END AS x FROM shop.customers ORDER BY id LIMIT 3",
           lambda rows: [r[0] for r in rows] == [1, 2, 3]),
    benign("long-literal-100k", "ana", "SELECT length('" + "x" * 100_000 + "')",
           scalar(100_000)),
]


@pytest.mark.parametrize("spec", SIZE_BENIGN, ids=[d.id for d in SIZE_BENIGN])
def test_size_benign(canary, spec):
    judge(canary, spec)


_HUGE_AND = "SELECT count(*) FROM shop.customers WHERE " + " AND ".join(
    f"id <> {i}" for i in range(6000))
PATHOLOGICAL = {
    "nested-parens-3000": "SELECT " + "(" * 3000 + "1" + ")" * 3000,
    "in-list-20000": "SELECT count(*) FROM shop.customers WHERE id IN ("
    + ", ".join(map(str, range(20000))) + ")",
    "union-1000": " UNION ALL ".join(f"SELECT {i} AS x" for i in range(1000)),
    "case-2000": "SELECT CASE " + " ".join(f"WHEN id = {i} THEN {i}" for i in range(2000))
    + " END FROM shop.customers LIMIT 1",
    "nested-subqueries-300": "SELECT " + "(SELECT " * 300 + "1" + ")" * 300,
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_statement_is_answered_or_refused_54001(canary, name):
    with _connect(canary, "ana") as conn:
        try:
            conn.execute(PATHOLOGICAL[name]).fetchall()
        except psycopg.Error as error:
            assert error.sqlstate in (TOO_COMPLEX, "54000", "42601"), (
                f"{error.sqlstate}: {error.diag.message_primary}")
            assert error.sqlstate != "XX000"


def test_other_sessions_are_answered_while_one_statement_is_analysed(canary):
    """Ordering, not timing: another session's three statements are answered before the
    pathological statement is (unless it was refused as over budget, 54001). The one-second
    pause only lets the proxy receive the pathological statement first; nothing is timed."""
    outcome: dict[str, Any] = {"order": []}
    heavy_conn = _connect(canary, "ana")

    def heavy() -> None:
        try:
            heavy_conn.execute(_HUGE_AND).fetchall()
            outcome["heavy"] = "rows"
        except psycopg.Error as error:
            outcome["heavy"] = error.sqlstate
        outcome["order"].append("heavy")

    with _connect(canary, "mark") as other, heavy_conn:
        other.execute("SELECT 1").fetchall()
        worker = threading.Thread(target=heavy, daemon=True)
        worker.start()
        time.sleep(1.0)
        for _ in range(3):
            assert other.execute("SELECT count(*) FROM shop.products").fetchone() == (60,)
        outcome["order"].append("light")
        worker.join(100)
    assert outcome.get("heavy") in ("rows", TOO_COMPLEX), f"heavy statement: {outcome}"
    if outcome.get("heavy") == TOO_COMPLEX:
        return
    assert outcome["order"][:1] == ["light"], (
        f"STALL: the other session waited for the pathological statement: {outcome}")



