"""Adversarial suite: canary values planted in the warehouse, and every side door tried.

A fresh DuckDB warehouse (the deterministic demo data) gets one extra customer, 99999, whose
every protected value is a recognisable canary: an FR customer without marketing consent, with
a payment, a support ticket and a web event of its own. A proxy runs on that file, and each
attack below runs through psycopg (or raw protocol bytes) as one of the demo users:

    ana  (analytics)  email hashed, name redacted, phone/card/ip/free text denied,
                      birth_date aggregate-only with k = 10
    mark (marketing)  only consenting customers (the canary is not one of them);
                      phone/card/ip/free text denied, birth_date predicate-only
    sam  (support)    only DE customers and their tickets (the canary is FR); ip denied
    fran (fraud)      email hashed, phone/card last4, birth_date year, free text denied

For every attack, either the statement is rejected with the SQLSTATE the attack names, or it
runs; and in both cases nothing the client receives (every value of every row, and the error's
message, detail, hint and context) contains a canary that the user's purpose may not see, nor
the deployment's mask key. A failing attack here is a finding: the test states the secure
behaviour, and stays red until the proxy provides it.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from psycopg import errors

from proxy.demo.data import load_into_duckdb
from tests.support.clients import table
from tests.support.proxy_process import ProxyProcess, start_proxy
from tests.support.raw_client import (
    RawConnection,
    Reply,
    message,
    query,
)
from tests.support.requirements import require

pytestmark = pytest.mark.timeout(60)

# --- the canaries --------------------------------------------------------------------------------

CANARY_ID = 99999
CANARY_EMAIL = "canary-email@evil.test"
CANARY_NAME = "Canary Name"
CANARY_PHONE = "+00 CANARY-PHONE"
CANARY_BIRTH = date(1911, 11, 11)
CANARY_CARD = "4111CANARY1111"
CANARY_TEXT = "CANARY-FREE-TEXT"
CANARY_IP = "10.66.66.66"
CANARY_MASK_KEY = "canary-mask-key-" + "k3y" * 8  # configured, so the suite can look for it
#: The birth date as numbers an aggregate would print (seconds and days since 1970-01-01).
CANARY_EPOCH = int((datetime(1911, 11, 11) - datetime(1970, 1, 1)).total_seconds())
CANARY_DAYS = (CANARY_BIRTH - date(1970, 1, 1)).days

_CUSTOMERS = table("customers")
DE_IDS = {c["id"] for c in _CUSTOMERS if c["country"] == "DE"}
DE_COUNT = len(DE_IDS)
CONSENTING_COUNT = sum(1 for c in _CUSTOMERS if c["marketing_consent"])
DE_TICKETS = sum(1 for t in table("support_tickets") if t["customer_id"] in DE_IDS)

# Distinctive pieces of each canary: a partial leak (substring, upper()) is a leak too.
_EMAIL = ["canary-email", "evil.test"]
_PHONE = ["CANARY-PHONE", "+00 CANARY"]
_BIRTH = ["1911-11-11", str(CANARY_EPOCH), f"{CANARY_DAYS} days"]
_CARD = ["4111CANARY"]
_TEXT = ["CANARY-FREE-TEXT"]
_IP = ["10.66.66.66"]
_NAME = ["Canary Name"]

#: What each user must never receive, whatever the statement.
FORBIDDEN: dict[str, list[str]] = {
    "ana": _EMAIL + _NAME + _PHONE + _BIRTH + _CARD + _TEXT + _IP,
    "mark": _EMAIL + _NAME + _PHONE + _BIRTH + _CARD + _TEXT + _IP,
    "sam": _EMAIL + _NAME + _PHONE + _BIRTH + _CARD + _TEXT + _IP,
    # fraud may read names and IP addresses; the rest only masked
    "fran": _EMAIL + _PHONE + _BIRTH + _CARD + _TEXT,
}
PURPOSE = {"ana": None, "mark": None, "sam": None, "fran": "fraud"}
ISO_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")


# --- the warehouse and the proxy -----------------------------------------------------------------


@dataclass
class CanaryProxy:
    proxy: ProxyProcess
    mask_key: str
    workdir: Path

    def forbidden(self, user: str) -> list[str]:
        return FORBIDDEN[user] + ([self.mask_key] if self.mask_key else [])


def _plant_canaries(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        load_into_duckdb(con)  # creates schema shop: the proxy will not load the demo again
        for sql, values in CANARY_ROWS:
            con.execute(sql.replace("%s", "?"), list(values))
        con.execute("CHECKPOINT")
    finally:
        con.close()


CANARY_ROWS = [
    ("INSERT INTO shop.customers VALUES (%s, %s, %s, %s, %s, 'FR', false, "
     "'2023-03-03 03:03:03')", (CANARY_ID, CANARY_EMAIL, CANARY_NAME, CANARY_PHONE, CANARY_BIRTH)),
    ("INSERT INTO shop.orders VALUES (%s, %s, '2023-03-04 10:00:00', 'paid', 4242)",
     (CANARY_ID, CANARY_ID)),
    ("INSERT INTO shop.payments VALUES (%s, %s, '2023-03-04 10:05:00', %s, 4242)",
     (CANARY_ID, CANARY_ID, CANARY_CARD)),
    ("INSERT INTO shop.support_tickets VALUES (%s, %s, '2023-03-05 09:00:00', 'email', %s)",
     (CANARY_ID, CANARY_ID, CANARY_TEXT)),
    ("INSERT INTO shop.web_events VALUES (%s, %s, '2023-03-05 09:01:00', '/canary', %s)",
     (CANARY_ID, CANARY_ID, CANARY_IP)),
]


@contextmanager
def _canary_warehouse(kind: str, tmp_path_factory: pytest.TempPathFactory):
    """Proxy settings for a warehouse holding the demo plus the canaries."""
    if kind == "duckdb":
        warehouse = tmp_path_factory.mktemp("canary-warehouse") / "canary.duckdb"
        _plant_canaries(warehouse)
        yield warehouse, {}
        return
    from tests.support.postgres import ClusterUnavailable
    from tests.support.warehouses import demo_postgres

    try:
        context = demo_postgres(tmp_path_factory.mktemp("canary-pg"))
        demo = context.__enter__()
    except ClusterUnavailable as exc:
        require(False, str(exc))
    try:
        with psycopg.connect(demo.admin_conninfo, autocommit=True) as admin:
            for sql, values in CANARY_ROWS:
                admin.execute(sql, values)
        yield tmp_path_factory.mktemp("unused") / "unused.duckdb", {
            "backend": "postgres", "postgres": demo.proxy_settings()}
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def canary(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CanaryProxy]:
    with _canary_warehouse(request.param, tmp_path_factory) as (warehouse, settings):
        workdir = tmp_path_factory.mktemp("canary-proxy")
        running = start_proxy(workdir, warehouse, mask_key=CANARY_MASK_KEY, **settings)
        yield from _serve_canary(running, workdir)


def _serve_canary(running: ProxyProcess, workdir: Path) -> Iterator[CanaryProxy]:
    try:
        yield CanaryProxy(running, CANARY_MASK_KEY, workdir)
    finally:
        running.stop()


def test_the_canaries_are_in_the_warehouse(canary):
    """The suite proves something only if the canaries are there to be found (etl reads all)."""
    assert len(canary.mask_key) >= 16, "the mask key is a canary too"
    with _connect(canary, "etl") as conn:
        row = conn.execute("SELECT email, full_name, phone, birth_date FROM shop.customers "
                           f"WHERE id = {CANARY_ID}").fetchone()
        assert row == (CANARY_EMAIL, CANARY_NAME, CANARY_PHONE, CANARY_BIRTH)
        assert conn.execute(f"SELECT card_number FROM shop.payments WHERE id = {CANARY_ID}"
                            ).fetchone() == (CANARY_CARD,)
        assert conn.execute(f"SELECT body FROM shop.support_tickets WHERE id = {CANARY_ID}"
                            ).fetchone() == (CANARY_TEXT,)
        assert conn.execute(f"SELECT ip_address FROM shop.web_events WHERE id = {CANARY_ID}"
                            ).fetchone() == (CANARY_IP,)


# --- running an attack ---------------------------------------------------------------------------


def _connect(canary: CanaryProxy, user: str, purpose: str | None = None,
             autocommit: bool = True) -> psycopg.Connection:
    options = {"options": f"-c purpose={purpose}"} if purpose else {}
    return psycopg.connect(**canary.proxy.conninfo(user), autocommit=autocommit, **options)


def _text(value: Any) -> str:
    """Every way a value could spell a canary: str() (dates as ISO), repr() and JSON."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return raw.decode("utf-8", "replace") + " " + raw.hex()
    return f"{value} {value!r} {json.dumps(value, default=str)}"


def _error_text(error: psycopg.Error) -> str:
    """Everything the server said in its ErrorResponse (not the client's echo of our SQL)."""
    diag = error.diag
    fields = (diag.message_primary, diag.message_detail, diag.message_hint, diag.context,
              diag.internal_query, diag.schema_name, diag.table_name, diag.column_name,
              diag.datatype_name, diag.constraint_name)
    return "\n".join(f for f in fields if f)


def assert_no_canary(canary: CanaryProxy, user: str, received: str, extra: Sequence[str] = ()):
    haystack = received.lower()
    leaked = [n for n in [*canary.forbidden(user), *extra] if n and n.lower() in haystack]
    assert not leaked, f"{user} received canary {leaked!r} in: {received[:800]!r}"


REJECT = "reject"  # must be rejected with one of `states`
ROWS = "rows"  # must run; rows pass `check`
EITHER = "either"  # rejected with one of `states`, or runs and rows pass `check`


@dataclass(frozen=True)
class Attack:
    id: str
    user: str
    sql: str | tuple[str, ...]  # several: run in order on one connection, stop at an error
    expect: str
    states: tuple[str, ...] = ()
    check: Callable[[list[tuple[Any, ...]]], bool] | None = None
    message: str | None = None  # a rejection's message must mention this
    forbid: tuple[str, ...] = ()  # more needles, for this attack only
    forbid_pattern: re.Pattern[str] | None = None  # e.g. any ISO date


def attack(id: str, user: str, sql: str | tuple[str, ...], expect: str,
           *states: str, **kwargs: Any) -> Attack:
    return Attack(id, user, sql, expect, tuple(states), **kwargs)


def _run(canary: CanaryProxy, spec: Attack) -> tuple[list[tuple[Any, ...]], psycopg.Error | None]:
    statements = (spec.sql,) if isinstance(spec.sql, str) else spec.sql
    rows: list[tuple[Any, ...]] = []
    with _connect(canary, spec.user, PURPOSE[spec.user]) as conn:
        for sql in statements:
            try:
                cursor = conn.execute(sql)
            except psycopg.Error as error:
                if not conn.closed and not conn.broken:
                    # A rejection harms only the statement: the session goes on.
                    assert conn.execute("SELECT 1").fetchone() == (1,)
                return rows, error
            while True:
                if cursor.description is not None:
                    rows.extend(cursor.fetchall())
                if not cursor.nextset():
                    break
    return rows, None


def _check(canary: CanaryProxy, spec: Attack) -> None:
    rows, error = _run(canary, spec)
    received = "\n".join(_text(value) for row in rows for value in row)
    if error is not None:
        received += "\n" + _error_text(error)
    assert_no_canary(canary, spec.user, received, spec.forbid)
    if spec.forbid_pattern is not None:
        found = spec.forbid_pattern.search(received)
        assert found is None, f"{spec.user} received {found.group(0)!r} in {received[:400]!r}"
    if error is not None:
        assert spec.expect in (REJECT, EITHER), (
            f"expected rows, got {error.sqlstate}: {error.diag.message_primary}")
        assert error.sqlstate in spec.states, (
            f"expected SQLSTATE {spec.states}, got {error.sqlstate}: {error.diag.message_primary}")
        if spec.message is not None:
            assert spec.message in (error.diag.message_primary or ""), error.diag.message_primary
        return
    assert spec.expect in (ROWS, EITHER), f"expected a rejection {spec.states}, got rows {rows[:5]!r}"
    if spec.check is not None:
        assert spec.check(rows), f"unexpected rows: {rows[:10]!r}"


# --- expectations ---------------------------------------------------------------------------------


def empty(rows):
    return rows == []


def count_is(n: int) -> Callable[[list[tuple[Any, ...]]], bool]:
    return lambda rows: rows == [(n,)]


def no_dates(rows):
    return not any(isinstance(v, date) for row in rows for v in row)


def hashed_only(rows):
    return all(isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v)
               for row in rows for v in row if v is not None)


DENIED = "42501"  # insufficient_privilege: the proxy's refusal
UNSUPPORTED = "0A000"  # feature_not_supported
NO_RELATION = "42P01"  # undefined_table
NO_COLUMN = "42703"  # undefined_column
SYNTAX = "42601"  # syntax_error (PostgreSQL's parser refuses the DuckDB-only syntax)
BAD_TEXT = "22P02"  # invalid_text_representation (a failing cast)
BAD_DATETIME = ("22007", "22008", "22P02")
BD = "birth_date"
C = CANARY_ID


def _spell(column: str, relation: str, where: str, length: int = 30) -> str:
    """One statement that spells `column` out of a scalar subquery in generate_series()."""
    code = f"(SELECT ascii(substr({column}, p::int, 1)) FROM {relation} WHERE {where})"
    return (f"SELECT string_agg(chr(c::int), '' ORDER BY p) FROM generate_series(1, {length}) p, "
            f"generate_series({code}, {code}) c")


def _spell_windows(column: str, relation: str, where: str, length: int = 16) -> str:
    """One statement that spells `column` through frame offsets of named windows."""
    def offset(k: int) -> str:
        return f"(SELECT ascii(substr({column}, {k}, 1)) FROM {relation} WHERE {where})"
    letters = " || ".join(f"chr((max(c{k}) - 1)::int)" for k in range(1, length + 1))
    counts = ", ".join(f"count(*) OVER w{k} AS c{k}" for k in range(1, length + 1))
    windows = ", ".join(f"w{k} AS (ORDER BY id ROWS BETWEEN {offset(k)} PRECEDING AND CURRENT ROW)"
                        for k in range(1, length + 1))
    return f"SELECT {letters} FROM (SELECT {counts} FROM shop.orders WINDOW {windows}) t"


ATTACKS: list[Attack] = [
    # --- whole-row references --------------------------------------------------------------------
    attack("whole-row-select", "ana", f"SELECT c FROM shop.customers c WHERE c.id = {C}",
           REJECT, DENIED),
    attack("whole-row-row_to_json", "ana",
           f"SELECT row_to_json(c) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-cast-text", "ana",
           f"SELECT c::text FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-field-select", "ana",
           f"SELECT (c).email FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-to_jsonb", "ana",
           f"SELECT to_jsonb(c) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-json_agg", "ana",
           f"SELECT json_agg(c) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-array_agg", "ana",
           f"SELECT array_agg(c) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-format", "ana",
           f"SELECT format('%s', c) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-hstore", "ana", "SELECT hstore(c) FROM shop.customers c", REJECT, DENIED),
    attack("whole-row-functional-notation", "ana",
           f"SELECT email(c) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-by-table-name", "ana",
           f"SELECT customers FROM shop.customers WHERE id = {C}", REJECT, DENIED),
    attack("whole-row-in-where", "ana",
           "SELECT id FROM shop.customers c WHERE c::text LIKE '%CANARY%'", REJECT, DENIED),
    attack("whole-row-of-derived-table", "ana",
           f"SELECT t FROM (SELECT id, email, full_name FROM shop.customers) t WHERE t.id = {C}",
           ROWS, check=lambda rows: len(rows) == 1 and "[REDACTED]" in str(rows)),
    attack("whole-row-web_events", "ana", "SELECT w FROM shop.web_events w", REJECT, DENIED),
    attack("whole-row-payments-text", "ana", "SELECT p::text FROM shop.payments p",
           REJECT, DENIED),
    attack("whole-row-tickets-json", "ana",
           "SELECT row_to_json(t) FROM shop.support_tickets t", REJECT, DENIED),
    attack("whole-row-marketing", "mark", "SELECT row_to_json(c) FROM shop.customers c",
           REJECT, DENIED),
    attack("whole-row-support-hidden-customer", "sam",
           f"SELECT c FROM shop.customers c WHERE c.id = {C}", ROWS, check=empty),
    attack("whole-row-support-hidden-ticket", "sam",
           f"SELECT row_to_json(t) FROM shop.support_tickets t WHERE t.customer_id = {C}",
           EITHER, DENIED, check=empty),
    attack("whole-row-fraud-masked", "fran",
           f"SELECT c FROM shop.customers c WHERE c.id = {C}", ROWS,
           check=lambda rows: len(rows) == 1 and "HONE" in str(rows)),
    attack("whole-row-fraud-array_agg-payments", "fran",
           f"SELECT array_agg(p) FROM shop.payments p WHERE p.id = {C}", ROWS,
           check=lambda rows: "1111" in str(rows)),
    attack("whole-row-fraud-tickets", "fran", "SELECT t FROM shop.support_tickets t",
           REJECT, DENIED),

    attack("whole-row-star-cast", "ana",
           f"SELECT (c.*)::text FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-row-constructor-star", "ana",
           f"SELECT ROW(c.*) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-count-star", "ana", "SELECT count(c.*) FROM shop.customers c",
           REJECT, DENIED),
    attack("whole-row-group-by", "ana", "SELECT count(*) FROM shop.customers c GROUP BY c",
           REJECT, DENIED),
    attack("whole-row-correlated-subquery", "ana",
           f"SELECT (SELECT c) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    attack("whole-row-lateral", "ana",
           f"SELECT s.x FROM shop.customers c, LATERAL (SELECT c) AS s(x) WHERE c.id = {C}",
           REJECT, DENIED),
    attack("row-constructor-masked", "ana",
           f"SELECT ROW(email, full_name) FROM shop.customers WHERE id = {C}",
           ROWS, check=lambda rows: "[REDACTED]" in str(rows)),
    attack("array-subscript-phone", "ana",
           "SELECT (array_agg(phone))[1] FROM shop.customers", REJECT, DENIED),
    attack("order-by-using-operator", "ana",
           "SELECT id FROM shop.customers ORDER BY phone USING <", REJECT, DENIED),
    attack("select-for-update", "ana", "SELECT id FROM shop.customers FOR UPDATE",
           REJECT, UNSUPPORTED),
    attack("tablesample", "ana", "SELECT id FROM shop.customers TABLESAMPLE SYSTEM (50)",
           REJECT, DENIED),

    # --- functions ---------------------------------------------------------------------------------
    attack("fn-query_to_xml", "ana",
           "SELECT query_to_xml('SELECT phone FROM shop.customers', true, true, '')",
           REJECT, DENIED),
    attack("fn-table_to_xml", "ana", "SELECT table_to_xml('shop.customers', true, true, '')",
           REJECT, DENIED),
    attack("fn-ts_stat", "ana",
           "SELECT * FROM ts_stat('SELECT to_tsvector(body) FROM shop.support_tickets')",
           REJECT, DENIED),
    attack("fn-xpath", "ana", "SELECT xpath('/a/text()', '<a>x</a>')", REJECT, DENIED),
    attack("fn-dblink", "ana",
           "SELECT * FROM dblink('dbname=acme', 'SELECT phone FROM shop.customers') AS t(p text)",
           REJECT, DENIED),
    attack("fn-pg_read_file", "ana", "SELECT pg_read_file('/etc/passwd')", REJECT, DENIED),
    attack("fn-lo_import", "ana", "SELECT lo_import('/etc/passwd')", REJECT, DENIED),
    attack("fn-set_config-search_path", "ana",
           ("SELECT set_config('search_path', 'shop', false)",
            "SELECT count(*) FROM customers"), REJECT, DENIED),
    attack("fn-current_setting-search_path", "ana", "SELECT current_setting('search_path')",
           ROWS, check=lambda rows: rows == [('"$user", public',)]),
    attack("fn-current_setting-duckdb-setting", "ana",
           "SELECT current_setting('enable_external_access')", EITHER, "42704", DENIED,
           check=lambda rows: rows in ([(None,)], [("false",)])),
    attack("fn-string_agg-email", "ana",
           f"SELECT string_agg(email, ',') FROM shop.customers WHERE id = {C}", ROWS,
           check=hashed_only),
    attack("fn-array_to_string-name", "ana",
           f"SELECT array_to_string(array_agg(full_name), ',') FROM shop.customers "
           f"WHERE id = {C}", ROWS, check=lambda rows: rows == [("[REDACTED]",)]),
    attack("fn-concat-with-phone", "ana",
           "SELECT concat(email, full_name, phone) FROM shop.customers", REJECT, DENIED),
    attack("fn-md5-phone", "ana", "SELECT md5(phone) FROM shop.customers", REJECT, DENIED),
    attack("fn-encode-card", "ana",
           "SELECT encode(convert_to(card_number, 'UTF8'), 'hex') FROM shop.payments",
           REJECT, DENIED),
    attack("fn-to_json-email", "ana",
           f"SELECT to_json(email), to_json(full_name) FROM shop.customers WHERE id = {C}",
           EITHER, DENIED, "42883"),
    attack("fn-pg_get_viewdef", "ana", "SELECT pg_get_viewdef('shop.customers'::regclass)",
           REJECT, DENIED),
    attack("fn-pg_sleep-timing", "ana",
           "SELECT pg_sleep(CASE WHEN phone IS NULL THEN 0 ELSE 0 END) FROM shop.customers",
           REJECT, DENIED),

    # --- casts whose error messages echo the value ---------------------------------------------------
    attack("cast-email-int", "ana", f"SELECT CAST(email AS int) FROM shop.customers "
           f"WHERE id = {C}", REJECT, BAD_TEXT),
    # The hash's hex digits decide which date-parsing error comes back (22023 when they read
    # as an out-of-range field); every one of them hides the raw value.
    attack("cast-email-date", "ana", f"SELECT email::date FROM shop.customers WHERE id = {C}",
           REJECT, *BAD_DATETIME, "22023", "22009"),
    attack("cast-name-int", "ana", f"SELECT full_name::int FROM shop.customers WHERE id = {C}",
           REJECT, BAD_TEXT),
    attack("cast-phone-int", "ana", "SELECT phone::int FROM shop.customers", REJECT, DENIED),
    attack("cast-birth_date-text-int", "ana",
           "SELECT birth_date::text::int FROM shop.customers", REJECT, DENIED),
    # FINDING: count() accepts any cast inside it, the cast fails on the raw value, and the
    # error message quotes it: 'invalid input syntax for type integer: "1911-11-11"'.
    attack("cast-birth_date-inside-count", "ana",
           f"SELECT count(CAST(CAST(birth_date AS text) AS int)) FROM shop.customers "
           f"WHERE id = {C}", EITHER, DENIED, BAD_TEXT),
    attack("cast-card-in-where", "ana",
           "SELECT count(*) FROM shop.payments WHERE card_number::bigint = 1", REJECT, DENIED),
    attack("cast-fraud-phone-int", "fran",
           f"SELECT phone::int FROM shop.customers WHERE id = {C}", REJECT, BAD_TEXT),
    attack("cast-fraud-card-bigint", "fran",
           f"SELECT card_number::bigint FROM shop.payments WHERE id = {C}", REJECT, BAD_TEXT),
    attack("cast-fraud-birth_date-int", "fran",
           f"SELECT birth_date::text::int FROM shop.customers WHERE id = {C}",
           REJECT, BAD_TEXT),
    attack("cast-fraud-email-json", "fran",
           f"SELECT email::json FROM shop.customers WHERE id = {C}", REJECT, BAD_TEXT),
    # FINDING: predicate-only birth_date cast in WHERE: the error quotes a (consenting)
    # customer's raw birth date, which marketing may never see in any output.
    attack("cast-marketing-birth_date-in-where", "mark",
           "SELECT id FROM shop.customers WHERE CAST(CAST(birth_date AS text) AS int) = 1",
           EITHER, DENIED, BAD_TEXT, forbid_pattern=ISO_DATE),
    attack("cast-support-error-oracle-on-hidden-row", "sam",
           "SELECT count(*) FROM shop.customers WHERE "
           "CASE WHEN country = 'FR' THEN CAST(email AS int) ELSE 1 END = 1",
           ROWS, check=count_is(DE_COUNT)),
    attack("cast-support-error-oracle-on-hidden-ticket", "sam",
           "SELECT count(*) FROM shop.support_tickets WHERE "
           f"CASE WHEN customer_id = {C} THEN CAST(body AS int) ELSE 1 END = 1",
           ROWS, check=count_is(DE_TICKETS)),
    attack("cast-marketing-error-oracle-on-hidden-row", "mark",
           "SELECT count(*) FROM shop.customers WHERE "
           f"CASE WHEN id = {C} THEN CAST(email AS int) ELSE 1 END = 1",
           ROWS, check=count_is(CONSENTING_COUNT)),
    attack("div-zero-support-oracle-on-hidden-row", "sam",
           "SELECT count(*) FROM shop.customers WHERE "
           "1 / (CASE WHEN email LIKE 'canary%' THEN 0 ELSE 1 END) = 1",
           ROWS, check=count_is(DE_COUNT)),
    attack("div-zero-support-oracle-in-join-on", "sam",
           "SELECT count(*) FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id "
           "AND 1 / (CASE WHEN c.email LIKE 'canary%' THEN 0 ELSE 1 END) = 1",
           ROWS, check=lambda rows: rows[0][0] > 0),
    attack("div-zero-support-oracle-in-order-by", "sam",
           f"SELECT id FROM shop.customers ORDER BY 1 / (CASE WHEN id = {C} THEN 0 ELSE 1 END)",
           ROWS, check=lambda rows: len(rows) == DE_COUNT),
    attack("div-zero-marketing-oracle-on-hidden-row", "mark",
           "SELECT count(*) FROM shop.customers WHERE "
           "1 / (CASE WHEN full_name LIKE 'Canary%' THEN 0 ELSE 1 END) = 1",
           ROWS, check=count_is(CONSENTING_COUNT)),

    # --- predicates as oracles -----------------------------------------------------------------------
    attack("oracle-email-equals", "ana",
           f"SELECT count(*) FROM shop.customers WHERE email = '{CANARY_EMAIL}'",
           ROWS, check=count_is(0)),
    attack("oracle-email-like", "ana",
           "SELECT count(*) FROM shop.customers WHERE email LIKE 'canary%'",
           ROWS, check=count_is(0)),
    attack("oracle-name-equals", "ana",
           f"SELECT count(*) FROM shop.customers WHERE full_name = '{CANARY_NAME}'",
           ROWS, check=count_is(0)),
    attack("oracle-phone-like", "ana", "SELECT id FROM shop.customers WHERE phone LIKE '+00%'",
           REJECT, DENIED, message="pii.contact.phone"),
    attack("oracle-card-like", "ana",
           "SELECT count(*) FROM shop.payments WHERE card_number LIKE '4111%'", REJECT, DENIED),
    attack("oracle-ip-equals", "ana",
           f"SELECT count(*) FROM shop.web_events WHERE ip_address = '{CANARY_IP}'",
           REJECT, DENIED),
    attack("oracle-free-text-like", "ana",
           "SELECT count(*) FROM shop.support_tickets WHERE body LIKE 'CANARY%'",
           REJECT, DENIED),
    attack("oracle-birth_date-equals", "ana",
           "SELECT count(*) FROM shop.customers WHERE birth_date = '1911-11-11'",
           REJECT, DENIED),
    attack("oracle-marketing-email", "mark",
           f"SELECT count(*) FROM shop.customers WHERE email = '{CANARY_EMAIL}'",
           ROWS, check=count_is(0)),
    attack("oracle-marketing-birth_date", "mark",
           "SELECT count(*) FROM shop.customers WHERE birth_date = '1911-11-11'",
           ROWS, check=count_is(0)),
    attack("oracle-marketing-id", "mark",
           f"SELECT id, email FROM shop.customers WHERE id = {C}", ROWS, check=empty),
    attack("oracle-support-phone", "sam",
           f"SELECT count(*) FROM shop.customers WHERE phone = '{CANARY_PHONE}'",
           ROWS, check=count_is(0)),
    attack("oracle-support-ticket-body", "sam",
           f"SELECT count(*) FROM shop.support_tickets WHERE body = '{CANARY_TEXT}'",
           ROWS, check=count_is(0)),
    attack("oracle-support-ip", "sam",
           f"SELECT count(*) FROM shop.web_events WHERE ip_address = '{CANARY_IP}'",
           REJECT, DENIED),
    attack("oracle-fraud-phone", "fran",
           f"SELECT count(*) FROM shop.customers WHERE phone = '{CANARY_PHONE}'",
           ROWS, check=count_is(0)),
    attack("oracle-fraud-card", "fran",
           f"SELECT count(*) FROM shop.payments WHERE card_number = '{CANARY_CARD}'",
           ROWS, check=count_is(0)),
    attack("oracle-fraud-birth_date", "fran",
           "SELECT count(*) FROM shop.customers WHERE birth_date = '1911-11-11'",
           ROWS, check=count_is(0)),

    # --- ordering and grouping oracles ----------------------------------------------------------------
    attack("order-by-phone", "ana", "SELECT id FROM shop.customers ORDER BY phone",
           REJECT, DENIED),
    attack("order-by-birth_date", "ana",
           "SELECT id FROM shop.customers ORDER BY birth_date LIMIT 1", REJECT, DENIED),
    # FINDING: a named WINDOW clause is not walked by lineage: ordering by birth_date goes
    # unnoticed, and the oldest customer (the canary, 1911) comes first.
    attack("order-named-window-birth_date", "ana",
           "SELECT id, row_number() OVER w AS r FROM shop.customers "
           "WINDOW w AS (ORDER BY birth_date) ORDER BY r LIMIT 1", REJECT, DENIED),
    attack("order-named-window-partition-phone", "ana",
           "SELECT id, count(*) OVER w FROM shop.customers WINDOW w AS (PARTITION BY phone)",
           REJECT, DENIED),
    attack("order-named-window-marketing", "mark",
           "SELECT id, rank() OVER w FROM shop.customers WINDOW w AS (ORDER BY birth_date)",
           REJECT, DENIED),
    # FINDING: in ORDER BY, a name inside an expression is the input column (PostgreSQL and
    # DuckDB agree); the analyzer takes it for the output alias, so this orders by birth_date.
    attack("order-by-alias-shadowing-expression", "ana",
           "SELECT id AS birth_date FROM shop.customers ORDER BY birth_date + 0 LIMIT 1",
           REJECT, DENIED),
    attack("order-by-alias-shadowing-marketing", "mark",
           "SELECT id AS birth_date FROM shop.customers ORDER BY birth_date IS NULL, "
           "birth_date + 1 LIMIT 5", REJECT, DENIED),
    attack("order-by-marketing", "mark", "SELECT id FROM shop.customers ORDER BY birth_date",
           REJECT, DENIED),
    attack("group-by-birth_date", "ana",
           "SELECT count(*) FROM shop.customers GROUP BY birth_date", REJECT, DENIED),
    attack("group-by-ordinal-birth_date", "ana",
           "SELECT birth_date, count(*) FROM shop.customers GROUP BY 1", REJECT, DENIED),
    attack("distinct-on-phone", "ana", "SELECT DISTINCT ON (phone) id FROM shop.customers",
           REJECT, DENIED),
    attack("grouping-sets-phone", "ana",
           "SELECT country, count(*) FROM shop.customers GROUP BY GROUPING SETS ((country), (phone))",
           REJECT, DENIED),
    attack("rollup-down-to-single-customers", "ana",
           "SELECT country, count(birth_date) FROM shop.customers GROUP BY ROLLUP (country, id)",
           ROWS, check=lambda rows: len(rows) <= 10),
    attack("window-partition-birth_date", "ana",
           "SELECT count(*) OVER (PARTITION BY birth_date) FROM shop.customers", REJECT, DENIED),
    attack("window-lag-phone", "ana",
           "SELECT lag(phone) OVER (ORDER BY id) FROM shop.customers", REJECT, DENIED),
    attack("window-first_value-email", "ana",
           "SELECT first_value(email) OVER (ORDER BY id DESC) FROM shop.customers LIMIT 1",
           ROWS, check=hashed_only),
    attack("window-first_value-ordered-by-birth_date", "ana",
           "SELECT first_value(id) OVER (ORDER BY birth_date) FROM shop.customers LIMIT 1",
           REJECT, DENIED),
    attack("window-nth_value-card", "fran",
           f"SELECT nth_value(card_number, 1) OVER () FROM shop.payments WHERE id = {C}",
           ROWS, check=lambda rows: rows == [("**********1111",)]),

    # --- several statements in one query string -----------------------------------------------------
    attack("multi-select-then-phone", "ana", "SELECT 1; SELECT phone FROM shop.customers",
           REJECT, DENIED),
    attack("multi-email-then-phone", "ana",
           f"SELECT email FROM shop.customers WHERE id = {C}; SELECT phone FROM shop.customers",
           REJECT, DENIED),
    attack("multi-set-purpose-then-read", "ana",
           "SET purpose = 'fraud'; SELECT phone FROM shop.customers", REJECT, DENIED),
    attack("multi-declare-then-rejected", "ana",
           "DECLARE leak CURSOR WITH HOLD FOR SELECT id FROM shop.orders; "
           "SELECT phone FROM shop.customers", REJECT, DENIED),

    # --- COPY ----------------------------------------------------------------------------------------
    attack("copy-query-phone", "ana", "COPY (SELECT phone FROM shop.customers) TO STDOUT",
           REJECT, DENIED),
    attack("copy-table-to-file", "ana", "COPY shop.customers TO '/tmp/pp-canary-leak.csv'",
           REJECT, DENIED),
    attack("copy-from-program", "ana", "COPY shop.products FROM PROGRAM 'id'", REJECT, DENIED),
    attack("copy-table-to-stdout-web_events", "ana", "COPY shop.web_events TO STDOUT",
           REJECT, DENIED),

    # --- cursors, PREPARE / EXECUTE, EXPLAIN -----------------------------------------------------------
    attack("cursor-protected", "ana",
           "DECLARE leak CURSOR WITH HOLD FOR SELECT phone FROM shop.customers", REJECT, DENIED),
    attack("cursor-whole-row", "ana",
           "DECLARE leak CURSOR WITH HOLD FOR SELECT c FROM shop.customers c", REJECT, DENIED),
    attack("cursor-masked-then-fetch", "ana",
           ((f"DECLARE ok CURSOR WITH HOLD FOR SELECT email, full_name FROM shop.customers "
             f"WHERE id = {C}"), "FETCH ALL FROM ok"),
           ROWS, check=lambda rows: len(rows) == 1 and rows[0][1] == "[REDACTED]"),
    attack("cursor-support-hidden-ticket", "sam",
           ((f"DECLARE t CURSOR WITH HOLD FOR SELECT body FROM shop.support_tickets "
             f"WHERE customer_id = {C}"), "FETCH ALL FROM t"), ROWS, check=empty),
    attack("prepare-protected", "ana", "PREPARE leak AS SELECT phone FROM shop.customers",
           REJECT, DENIED),
    attack("prepare-then-execute", "ana",
           ("PREPARE leak2 AS SELECT email FROM shop.customers", "EXECUTE leak2"),
           REJECT, DENIED),
    attack("execute-unknown", "ana", "EXECUTE nothing_prepared", REJECT, DENIED, "26000"),
    attack("explain", "ana", "EXPLAIN SELECT phone FROM shop.customers", REJECT, DENIED),
    attack("explain-analyze", "ana",
           f"EXPLAIN ANALYZE SELECT * FROM shop.customers WHERE email = '{CANARY_EMAIL}'",
           REJECT, DENIED),
    attack("explain-json-verbose", "ana",
           "EXPLAIN (FORMAT JSON, VERBOSE) SELECT email FROM shop.customers", REJECT, DENIED),

    # --- comments and quoting ---------------------------------------------------------------------------
    attack("unicode-escape-email", "ana",
           f'SELECT U&"\\0065mail" FROM shop.customers WHERE id = {C}', REJECT, DENIED),
    attack("unicode-escape-phone", "ana", 'SELECT U&"\\0070hone" FROM shop.customers',
           REJECT, DENIED),
    attack("unicode-escape-uescape", "ana",
           "SELECT U&\"!0070hone\" UESCAPE '!' FROM shop.customers", REJECT, DENIED),
    attack("quoted-upper-case", "ana", 'SELECT "EMAIL" FROM shop.customers', REJECT, NO_COLUMN),
    attack("quoted-phone", "ana", 'SELECT "phone" FROM "shop"."customers"', REJECT, DENIED),
    attack("quoted-trailing-space", "ana", 'SELECT "phone " FROM shop.customers',
           REJECT, NO_COLUMN),
    attack("cyrillic-lookalike", "ana", 'SELECT "\u0440hone" FROM shop.customers',
           REJECT, NO_COLUMN),
    attack("comment-splits-identifier", "ana", "SELECT e/**/mail FROM shop.customers",
           REJECT, NO_COLUMN),
    attack("dollar-quote-then-phone", "ana", "SELECT $$x$$ AS a, phone FROM shop.customers",
           REJECT, DENIED),
    attack("tagged-dollar-quote-hiding-quote", "ana",
           "SELECT $q$ ' $q$ AS a, phone FROM shop.customers -- '", REJECT, DENIED),
    attack("nested-comment-hides-phone", "ana",
           f"SELECT id /* /* */ , phone */ FROM shop.customers WHERE id = {C}",
           EITHER, DENIED, check=lambda rows: rows == [(C,)]),
    attack("nested-comment-then-phone", "ana",
           "SELECT /* outer /* inner */ still */ phone FROM shop.customers", REJECT, DENIED),
    attack("purpose-comment-ungranted", "ana",
           "SELECT phone FROM shop.customers /*purpose='fraud'*/", REJECT, DENIED),
    attack("purpose-line-comment-ungranted", "ana",
           "SELECT phone FROM shop.customers -- purpose='support'", REJECT, DENIED),
    attack("purpose-comment-two-purposes", "ana",
           "SELECT phone FROM shop.customers /*purpose='analytics',purpose='support'*/",
           REJECT, DENIED),
    attack("purpose-inside-string-literal", "ana",
           "SELECT '/*purpose=''support''*/' AS s, phone FROM shop.customers",
           REJECT, DENIED, message="pii.contact.phone"),
    attack("purpose-inside-dollar-quote", "mark",
           "SELECT count(*) FROM shop.customers WHERE $$/*purpose='analytics'*/$$ <> ''",
           ROWS, check=count_is(CONSENTING_COUNT)),
    attack("purpose-inside-dollar-quote-hidden-row", "mark",
           f"SELECT id FROM shop.customers WHERE id = {C} AND $x$/*purpose='analytics'*/$x$ <> ''",
           ROWS, check=empty),

    # --- USING and NATURAL joins ---------------------------------------------------------------------
    attack("using-join-safe-columns", "ana",
           f"SELECT id, country FROM shop.customers JOIN shop.web_events USING (id) "
           f"WHERE id = {C}", ROWS, check=lambda rows: rows == [(C, "FR")]),
    attack("using-join-star-card", "ana",
           f"SELECT * FROM shop.orders JOIN shop.payments USING (id) WHERE id = {C}",
           REJECT, DENIED),
    attack("using-join-on-phone", "ana",
           "SELECT count(*) FROM shop.customers c JOIN shop.customers d USING (phone)",
           REJECT, DENIED),
    attack("using-join-on-ip", "ana",
           "SELECT count(*) FROM shop.web_events a JOIN shop.web_events b USING (ip_address)",
           REJECT, DENIED),
    attack("natural-join-payments", "ana", "SELECT * FROM shop.orders NATURAL JOIN shop.payments",
           REJECT, DENIED),
    attack("natural-join-web_events", "ana",
           "SELECT * FROM shop.customers NATURAL JOIN shop.web_events", REJECT, DENIED),
    attack("join-support-hidden-ticket", "sam",
           "SELECT t.id FROM shop.support_tickets t JOIN shop.customers c ON c.id = t.customer_id "
           f"WHERE c.id = {C}", ROWS, check=empty),
    attack("left-join-support-hidden-customer", "sam",
           "SELECT o.id, c.email, c.full_name FROM shop.orders o LEFT JOIN shop.customers c "
           f"ON c.id = o.customer_id WHERE o.customer_id = {C}",
           ROWS, check=lambda rows: rows == [(C, None, None)]),

    # --- set operations ------------------------------------------------------------------------------
    attack("union-email", "ana", "SELECT email FROM shop.customers UNION SELECT 'x'",
           ROWS, check=lambda rows: len(rows) > 1000),
    attack("union-phone", "ana",
           "SELECT id::text FROM shop.customers UNION SELECT phone FROM shop.customers",
           REJECT, DENIED),
    attack("intersect-email-membership", "ana",
           f"SELECT count(*) FROM (SELECT email FROM shop.customers INTERSECT "
           f"SELECT '{CANARY_EMAIL}') t", ROWS, check=count_is(0)),
    attack("intersect-name-membership", "ana",
           f"SELECT count(*) FROM (SELECT full_name FROM shop.customers INTERSECT "
           f"SELECT '{CANARY_NAME}') t", ROWS, check=count_is(0)),
    attack("except-email-membership", "ana",
           f"SELECT count(*) FROM (SELECT '{CANARY_EMAIL}' AS e EXCEPT "
           "SELECT email FROM shop.customers) t", ROWS, check=count_is(1)),
    attack("except-phone", "ana",
           "SELECT phone FROM shop.customers EXCEPT SELECT NULL", REJECT, DENIED),
    attack("union-marketing-hidden-row", "mark",
           f"SELECT id FROM shop.customers WHERE id = {C} UNION ALL "
           f"SELECT id FROM shop.customers WHERE email = '{CANARY_EMAIL}'", ROWS, check=empty),
    attack("union-support-ticket-bodies", "sam",
           "SELECT body FROM shop.support_tickets UNION "
           f"SELECT body FROM shop.support_tickets WHERE customer_id = {C}",
           ROWS, check=lambda rows: len(rows) > 0),

    # --- CTEs ----------------------------------------------------------------------------------------
    attack("cte-phone", "ana",
           "WITH x AS (SELECT phone FROM shop.customers) SELECT count(*) FROM x",
           REJECT, DENIED),
    attack("cte-email-predicate", "ana",
           "WITH x AS (SELECT email AS e FROM shop.customers) SELECT e FROM x WHERE e LIKE 'canary%'",
           ROWS, check=empty),
    attack("cte-nested-star-then-phone", "ana",
           "WITH a AS (SELECT * FROM shop.customers), b AS (SELECT phone FROM a) SELECT * FROM b",
           REJECT, DENIED),
    attack("cte-shadowing-table-name", "ana",
           f"WITH customers AS (SELECT 1 AS id) SELECT c.email FROM shop.customers c "
           f"WHERE c.id = {C}", ROWS, check=lambda rows: len(rows) == 1 and hashed_only(rows)),
    attack("cte-shadowing-table-name-phone", "ana",
           "WITH customers AS (SELECT phone FROM shop.customers) SELECT * FROM customers",
           REJECT, DENIED),
    attack("cte-reserved-prefix", "ana",
           "WITH _pp_shop_customers AS (SELECT 1 AS x) SELECT email FROM shop.customers",
           REJECT, DENIED),
    # FINDING: the reserved-prefix check is case-sensitive, but unquoted names fold to lower
    # case (PostgreSQL) or compare case-insensitively (DuckDB): a nested WITH named like the
    # policy CTE replaces it for `shop.customers` in that scope, under the analyzer's eyes.
    attack("cte-reserved-prefix-case-folded", "ana",
           "SELECT x.email FROM (WITH _PP_SHOP_CUSTOMERS AS (SELECT 'fake' AS email, "
           f"{C} AS id) SELECT c.email FROM shop.customers c WHERE c.id = {C}) x",
           REJECT, DENIED),
    attack("cte-reserved-prefix-case-folded-predicate-only", "mark",
           "SELECT c.id FROM (WITH _PP_SHOP_CUSTOMERS AS (SELECT birth_date AS id FROM "
           "shop.customers) SELECT c.id FROM shop.customers c) AS c LIMIT 5",
           EITHER, DENIED, check=no_dates),
    attack("cte-reserved-prefix-case-folded-row-filter", "sam",
           "SELECT x.body FROM (WITH _PP_SHOP_SUPPORT_TICKETS AS (SELECT * FROM "
           "shop.support_tickets) SELECT t.body FROM shop.support_tickets t "
           f"WHERE t.customer_id = {C}) x", EITHER, DENIED, check=empty),
    attack("cte-recursive-protected", "ana",
           "WITH RECURSIVE r AS (SELECT phone FROM shop.customers) SELECT * FROM r",
           REJECT, UNSUPPORTED, DENIED),
    attack("cte-recursive-constant", "ana",
           "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
           "SELECT n FROM r", EITHER, UNSUPPORTED, check=lambda rows: rows == [(1,), (2,), (3,)]),
    attack("cte-materialized-email", "ana",
           "WITH x AS MATERIALIZED (SELECT email FROM shop.customers) "
           f"SELECT count(*) FROM x WHERE email = '{CANARY_EMAIL}'", ROWS, check=count_is(0)),
    attack("cte-support-tickets", "sam",
           "WITH t AS (SELECT * FROM shop.support_tickets) "
           f"SELECT body FROM t WHERE customer_id = {C}", ROWS, check=empty),
    attack("cte-marketing", "mark",
           f"WITH c AS (SELECT id, email FROM shop.customers) SELECT email FROM c WHERE id = {C}",
           ROWS, check=empty),

    # --- derived tables, LATERAL, scalar subqueries ---------------------------------------------------
    attack("derived-phone", "ana",
           "SELECT x.p FROM (SELECT phone AS p FROM shop.customers) x", REJECT, DENIED),
    attack("lateral-phone", "ana",
           "SELECT o.id FROM shop.orders o, LATERAL (SELECT phone FROM shop.customers c "
           "WHERE c.id = o.customer_id) x", REJECT, DENIED),
    attack("lateral-email", "ana",
           "SELECT x.e FROM shop.orders o, LATERAL (SELECT email AS e FROM shop.customers c "
           f"WHERE c.id = o.customer_id) x WHERE o.id = {C}", ROWS, check=hashed_only),
    attack("scalar-subquery-select", "ana",
           f"SELECT (SELECT phone FROM shop.customers WHERE id = {C})", REJECT, DENIED),
    attack("scalar-subquery-where", "ana",
           "SELECT id FROM shop.customers WHERE id = "
           f"(SELECT id FROM shop.customers WHERE phone = '{CANARY_PHONE}')", REJECT, DENIED),
    attack("scalar-subquery-order-by", "ana",
           "SELECT id FROM shop.customers ORDER BY (SELECT count(*) FROM shop.web_events w "
           f"WHERE w.ip_address = '{CANARY_IP}')", REJECT, DENIED),
    attack("exists-free-text", "ana",
           f"SELECT EXISTS (SELECT 1 FROM shop.support_tickets WHERE body = '{CANARY_TEXT}')",
           REJECT, DENIED),
    attack("array-subquery-card", "ana",
           f"SELECT ARRAY(SELECT card_number FROM shop.payments WHERE id = {C})", REJECT, DENIED),
    attack("scalar-subquery-support-hidden", "sam",
           "SELECT (SELECT full_name FROM shop.customers c WHERE c.id = o.customer_id) "
           f"FROM shop.orders o WHERE o.id = {C}", ROWS, check=lambda rows: rows == [(None,)]),
    attack("exists-support-hidden-country", "sam",
           "SELECT count(*) FROM shop.orders o WHERE EXISTS (SELECT 1 FROM shop.customers c "
           "WHERE c.id = o.customer_id AND c.country = 'FR')", ROWS, check=count_is(0)),
    # FINDING: a column alias list renames a table's columns by position; lineage keeps the
    # names, so `c.id` below is judged as shop.customers.id but is birth_date (raw inside the
    # rewritten relation, since aggregate_only is judged, not masked): 1911-11-11 comes back.
    attack("alias-column-list-renames-birth_date", "ana",
           "SELECT c.id FROM shop.customers AS c(country, email, full_name, phone, id) "
           f"WHERE c.country = {C}", EITHER, DENIED, NO_COLUMN, check=no_dates),
    attack("alias-column-list-marketing", "mark",
           "SELECT c.id FROM shop.customers AS c(country, email, full_name, phone, id) LIMIT 5",
           EITHER, DENIED, NO_COLUMN, check=no_dates),
    attack("alias-column-list-in-cursor", "ana",
           (("DECLARE r CURSOR WITH HOLD FOR SELECT c.id FROM shop.customers "
             f"AS c(country, email, full_name, phone, id) WHERE c.country = {C}"),
            "FETCH ALL FROM r"), EITHER, DENIED, NO_COLUMN, check=no_dates),
    attack("alias-column-list-denied-phone", "ana",
           "SELECT c.id FROM shop.customers AS c(country, email, full_name, id) "
           f"WHERE c.country = {C}", EITHER, DENIED, NO_COLUMN,
           check=lambda rows: rows in ([], [(None,)])),
    attack("alias-column-list-support-ticket", "sam",
           f"SELECT t.id FROM shop.support_tickets AS t(customer_id, id) WHERE t.customer_id = {C}",
           EITHER, DENIED, NO_COLUMN, check=empty),
    attack("alias-column-list-derived", "ana",
           "SELECT t.id FROM (SELECT * FROM shop.customers) AS t(country, email, full_name, "
           f"phone, id) WHERE t.country = {C}", EITHER, DENIED, NO_COLUMN, check=no_dates),

    # --- VALUES and table functions ---------------------------------------------------------------------
    attack("values-join-email", "ana",
           "SELECT c.id FROM shop.customers c JOIN (VALUES ('x')) v(x) ON c.email = v.x",
           EITHER, DENIED, check=empty),
    attack("values-with-subquery", "ana",
           "VALUES ((SELECT phone FROM shop.customers LIMIT 1))", REJECT, UNSUPPORTED, DENIED),
    attack("unnest-masked-columns", "ana",
           f"SELECT unnest(ARRAY[email, full_name]) FROM shop.customers WHERE id = {C}",
           ROWS, check=lambda rows: len(rows) == 2),
    attack("unnest-array-subquery-phone", "ana",
           "SELECT * FROM unnest(ARRAY(SELECT phone FROM shop.customers))", REJECT, DENIED),
    attack("unnest-array_agg-ip", "ana",
           "SELECT * FROM unnest((SELECT array_agg(ip_address) FROM shop.web_events))",
           REJECT, DENIED),
    attack("generate_series-from-min-birth_date", "ana",
           "SELECT * FROM generate_series((SELECT min(birth_date) FROM shop.customers), "
           "DATE '1912-01-01', INTERVAL '1 day') LIMIT 1", REJECT, DENIED),
    attack("generate_series-constant", "ana", "SELECT g FROM generate_series(1, 3) g",
           ROWS, check=lambda rows: rows == [(1,), (2,), (3,)]),

    # FINDING (critical): arguments of a table function in FROM are not walked by lineage, so
    # a scalar subquery there reads the base table unrewritten (no mask, no row filter, no
    # deny): spelled out character by character, any raw value comes back in one statement.
    attack("generate_series-args-spell-phone", "ana",
           _spell("phone", "shop.customers", f"id = {C}"), EITHER, DENIED),
    attack("generate_series-args-spell-free-text", "ana",
           _spell("body", "shop.support_tickets", f"id = {C}"), EITHER, DENIED),
    attack("generate_series-args-spell-raw-email", "ana",
           _spell("email", "shop.customers", f"id = {C}"), EITHER, DENIED),
    attack("generate_series-args-birth_date", "ana",
           "SELECT to_timestamp(g) FROM generate_series((SELECT extract(epoch FROM birth_date)"
           f"::bigint FROM shop.customers WHERE id = {C}), 0, 86400) g LIMIT 1", EITHER, DENIED),
    attack("generate_series-args-length-of-phone", "ana",
           "SELECT count(*) FROM generate_series(1, (SELECT length(phone) FROM shop.customers "
           f"WHERE id = {C}))", REJECT, DENIED),
    attack("generate_series-lateral-args", "ana",
           "SELECT count(*) FROM LATERAL generate_series(1, (SELECT length(ip_address) "
           f"FROM shop.web_events WHERE id = {C})) g", REJECT, DENIED),
    attack("generate_series-args-marketing-hidden-customer", "mark",
           _spell("email", "shop.customers", f"id = {C}"), EITHER, DENIED),
    attack("generate_series-args-support-hidden-ticket", "sam",
           _spell("body", "shop.support_tickets", f"customer_id = {C}"), EITHER, DENIED),
    attack("generate_series-args-support-ip", "sam",
           _spell("ip_address", "shop.web_events", f"id = {C}"), EITHER, DENIED),
    # Past the masked card's length ascii('') is 0 and chr(0) fails (54000) on PostgreSQL.
    attack("generate_series-args-fraud-raw-card", "fran",
           _spell("card_number", "shop.payments", f"id = {C}"), EITHER, DENIED, "54000"),
    # FINDING (critical): a named WINDOW clause is not walked either: a scalar subquery in its
    # frame offset reads the base table unrewritten, and count(*) OVER w prints offset + 1.
    attack("named-window-frame-spell-phone", "ana",
           _spell_windows("phone", "shop.customers", f"id = {C}"), EITHER, DENIED),
    attack("named-window-frame-spell-free-text", "ana",
           _spell_windows("body", "shop.support_tickets", f"id = {C}"), EITHER, DENIED),
    # For mark and sam the column itself is readable; the row filter now applies inside the
    # window clause too, so the hidden row is absent and the frame offset is NULL (DuckDB
    # 22023, PostgreSQL 22004).
    attack("named-window-frame-marketing-hidden-customer", "mark",
           _spell_windows("full_name", "shop.customers", f"id = {C}"), EITHER, DENIED, "22023",
           "22004"),
    attack("named-window-frame-support-hidden-ticket", "sam",
           _spell_windows("body", "shop.support_tickets", f"customer_id = {C}"), EITHER, DENIED,
           "22023", "22004"),
    attack("inline-window-frame-subquery", "ana",
           "SELECT max(c) FROM (SELECT count(*) OVER (ORDER BY id ROWS BETWEEN "
           f"(SELECT ascii(substr(body, 1, 1)) FROM shop.support_tickets WHERE id = {C}) "
           "PRECEDING AND CURRENT ROW) AS c FROM shop.orders) t", REJECT, DENIED),
    attack("rows-from-generate_series", "ana",
           "SELECT count(*) FROM ROWS FROM (generate_series(1, (SELECT length(phone) "
           f"FROM shop.customers WHERE id = {C})))", REJECT, DENIED),
    attack("select-into", "ana", "SELECT phone INTO sandbox.leak FROM shop.customers",
           REJECT, DENIED, NO_RELATION, UNSUPPORTED),
    # Scalar functions as FROM items: the analyzer allows them (see the decision-core test
    # below); DuckDB has no scalar functions in FROM, so these fail for a boring reason here.
    attack("scalar-function-in-from-phone", "ana",
           f"SELECT * FROM upper((SELECT phone FROM shop.customers WHERE id = {C})) AS t",
           REJECT, DENIED, "42883"),
    attack("scalar-function-in-from-free-text", "ana",
           f"SELECT * FROM left((SELECT body FROM shop.support_tickets WHERE id = {C}), 40) AS t",
           REJECT, DENIED, "42883", NO_RELATION),
    attack("parenthesized-join", "ana",
           "SELECT c.phone FROM (shop.customers c JOIN shop.orders o ON o.customer_id = c.id) "
           f"WHERE c.id = {C}", REJECT, DENIED),

    # --- relation names ---------------------------------------------------------------------------------
    attack("table-statement", "ana", "TABLE shop.customers", REJECT, DENIED),
    attack("select-only", "ana", "SELECT * FROM ONLY shop.customers", REJECT, DENIED),
    attack("qualified-star", "ana", "SELECT shop.customers.* FROM shop.customers",
           REJECT, DENIED),
    attack("alias-star-support", "sam", f"SELECT c.* FROM shop.customers c WHERE c.id = {C}",
           ROWS, check=empty),
    attack("three-part-name", "ana", "SELECT email FROM acme.shop.customers",
           REJECT, UNSUPPORTED),
    attack("three-part-name-quoted", "ana", 'SELECT phone FROM "acme"."shop"."customers"',
           REJECT, UNSUPPORTED, DENIED),
    attack("compat-catalog-three-part", "ana", "SELECT * FROM pg_compat.main.pp_settings",
           REJECT, UNSUPPORTED),
    attack("unqualified-table", "ana", "SELECT email FROM customers", REJECT, NO_RELATION),
    attack("set-search_path", "ana",
           ("SET search_path = shop, public", "SELECT email FROM customers"),
           REJECT, UNSUPPORTED),
    attack("duckdb-main-schema", "ana", "SELECT * FROM main.customers", REJECT, NO_RELATION),
    attack("dotted-quoted-name", "ana", 'SELECT * FROM "shop.customers"', REJECT, NO_RELATION),
    attack("spaced-qualified-name", "ana",
           f"SELECT phone FROM shop . customers WHERE id = {C}", REJECT, DENIED),

    # --- system catalogs and system columns ---------------------------------------------------------------
    attack("pg_stats", "ana", "SELECT * FROM pg_catalog.pg_stats", REJECT, DENIED),
    attack("pg_stats-unqualified", "ana",
           "SELECT most_common_vals FROM pg_stats WHERE tablename = 'customers'",
           REJECT, DENIED, NO_RELATION),
    attack("pg_statistic", "ana", "SELECT * FROM pg_catalog.pg_statistic", REJECT, DENIED),
    attack("pg_stat_activity", "ana", "SELECT query FROM pg_catalog.pg_stat_activity",
           REJECT, DENIED),
    attack("information_schema-columns", "ana",
           "SELECT column_name, column_default FROM information_schema.columns "
           "WHERE table_schema = 'shop'", ROWS, check=lambda rows: len(rows) > 0),
    attack("pg_settings", "ana", "SELECT name, setting FROM pg_catalog.pg_settings",
           ROWS, check=lambda rows: len(rows) > 0),
    attack("catalog-mixed-with-data", "ana",
           "SELECT c.relname, s.email FROM pg_catalog.pg_class c, shop.customers s",
           REJECT, DENIED),
    attack("catalog-with-data-subquery", "ana",
           "SELECT relname FROM pg_catalog.pg_class WHERE relname = "
           "(SELECT phone FROM shop.customers LIMIT 1)", REJECT, DENIED),
    attack("system-column-ctid", "ana", "SELECT ctid FROM shop.customers", REJECT, NO_COLUMN),
    attack("system-column-rowid", "ana", "SELECT rowid FROM shop.customers", REJECT, NO_COLUMN),
    attack("system-column-xmin", "ana", "SELECT xmin FROM shop.customers", REJECT, NO_COLUMN),

    # --- DuckDB-only syntax and functions -------------------------------------------------------------------
    attack("duckdb-read_csv", "ana", "SELECT * FROM read_csv('/etc/passwd')", REJECT, DENIED),
    attack("duckdb-read_text", "ana", "SELECT * FROM read_text('/etc/passwd')", REJECT, DENIED),
    attack("duckdb-replacement-scan", "ana", "SELECT * FROM '/etc/passwd'", REJECT, SYNTAX),
    attack("duckdb-pragma", "ana", "PRAGMA database_list", REJECT, SYNTAX),
    attack("duckdb-attach", "ana", "ATTACH '/tmp/pp-canary-attach.duckdb' AS x",
           REJECT, SYNTAX),
    attack("duckdb-install", "ana", "INSTALL httpfs", REJECT, SYNTAX),
    attack("duckdb-load", "ana", "LOAD 'httpfs'", REJECT, DENIED),
    attack("duckdb-summarize", "ana", "SUMMARIZE shop.customers", REJECT, SYNTAX),
    attack("duckdb-from-first", "ana", "FROM shop.customers SELECT phone", REJECT, SYNTAX),
    attack("duckdb-export", "ana", "EXPORT DATABASE '/tmp/pp-canary-export'", REJECT, SYNTAX),
    attack("duckdb-settings", "ana", "SELECT * FROM duckdb_settings()", REJECT, DENIED),
    attack("duckdb-tables", "ana", "SELECT * FROM duckdb_tables()", REJECT, DENIED),
    attack("duckdb-getenv", "ana", "SELECT getenv('HOME')", REJECT, DENIED),
    attack("duckdb-getvariable", "ana", "SELECT getvariable('pp_user')", REJECT, DENIED),
    attack("duckdb-query-function", "ana",
           "SELECT * FROM query('SELECT phone FROM shop.customers')", REJECT, DENIED),
    attack("duckdb-query_table", "ana", "SELECT * FROM query_table('shop.customers')",
           REJECT, DENIED),
    attack("duckdb-columns-star", "ana", "SELECT COLUMNS('.*') FROM shop.customers",
           REJECT, DENIED),
    attack("duckdb-set-external-access", "ana", "SET enable_external_access = true",
           REJECT, "42704", UNSUPPORTED),
    attack("duckdb-call-pragma", "ana", "CALL pragma_table_info('shop.customers')",
           REJECT, DENIED),
    attack("duckdb-catalog-function", "ana", "SELECT * FROM pg_catalog.duckdb_tables()",
           REJECT, DENIED),

    # --- aggregates over birth_date for analytics (aggregate only, k = 10) -----------------------------
    attack("agg-sum-case-on-id", "ana",
           f"SELECT sum(CASE WHEN id = {C} THEN extract(epoch FROM birth_date) ELSE 0 END) "
           "FROM shop.customers", REJECT, DENIED),
    # FINDING: FILTER picks one row; the k guard counts the whole group (1201 rows).
    attack("agg-avg-filter-on-id", "ana",
           "SELECT avg(extract(epoch FROM birth_date)) FILTER (WHERE id = "
           f"{C}) FROM shop.customers", EITHER, DENIED, check=lambda rows: rows != [(CANARY_EPOCH,)]),
    # FINDING: `* (id = X)::int` is a "plain transform" to the analyzer: sum() of one row.
    attack("agg-sum-times-selector", "ana",
           f"SELECT sum(extract(epoch FROM birth_date) * (id = {C})::int) FROM shop.customers",
           EITHER, DENIED),
    # FINDING: the k guard counts rows, not people: ten copies of one customer pass it.
    attack("agg-avg-duplicated-by-join", "ana",
           "SELECT avg(extract(epoch FROM c.birth_date)) FROM shop.customers c "
           f"CROSS JOIN generate_series(1, 10) g WHERE c.id = {C}", EITHER, DENIED),
    attack("agg-avg-duplicated-by-products", "ana",
           "SELECT avg(extract(epoch FROM c.birth_date)) FROM shop.customers c "
           f"CROSS JOIN shop.products p WHERE c.id = {C}", EITHER, DENIED),
    attack("agg-count-filter-birth_date", "ana",
           "SELECT count(*) FILTER (WHERE birth_date = '1911-11-11') FROM shop.customers",
           REJECT, DENIED),
    attack("agg-max", "ana", "SELECT max(birth_date) FROM shop.customers", REJECT, DENIED),
    attack("agg-min-in-subquery", "ana",
           "SELECT 1 FROM shop.customers WHERE id = 1 AND (SELECT min(birth_date) "
           "FROM shop.customers) IS NOT NULL", REJECT, DENIED),
    attack("agg-single-row-where", "ana",
           f"SELECT sum(extract(epoch FROM birth_date)) FROM shop.customers WHERE id = {C}",
           ROWS, check=empty),
    attack("agg-group-by-unique-key", "ana",
           "SELECT id, count(birth_date), avg(extract(epoch FROM birth_date)) "
           "FROM shop.customers GROUP BY id", ROWS, check=empty),
    attack("agg-group-by-selector", "ana",
           f"SELECT (id = {C}) AS k, avg(extract(epoch FROM birth_date)) FROM shop.customers "
           "GROUP BY 1", ROWS, check=lambda rows: len(rows) == 1 and rows[0][0] is False),
    attack("agg-having-oracle", "ana",
           "SELECT count(*) FROM shop.customers GROUP BY id "
           "HAVING avg(extract(year FROM birth_date)) = 1911", ROWS, check=empty),
    attack("agg-count-distinct-single", "ana",
           f"SELECT count(DISTINCT birth_date) FROM shop.customers WHERE id = {C}",
           ROWS, check=empty),
    attack("agg-windowed-sum", "ana",
           "SELECT sum(extract(epoch FROM birth_date)) OVER (PARTITION BY id) FROM shop.customers",
           REJECT, DENIED),
    attack("agg-percentile", "ana",
           "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY birth_date) FROM shop.customers",
           REJECT, DENIED),
    attack("agg-string_agg", "ana",
           "SELECT string_agg(birth_date::text, ',') FROM shop.customers", REJECT, DENIED),
    attack("agg-sum-with-order-by-in-string_agg", "ana",
           "SELECT string_agg(id::text, ',' ORDER BY birth_date) FROM shop.customers",
           REJECT, DENIED),

    # --- writes and DDL -------------------------------------------------------------------------------
    attack("write-ctas-sandbox-phone", "ana",
           "CREATE TABLE sandbox.leak AS SELECT phone FROM shop.customers", REJECT, DENIED),
    attack("write-insert-email-into-products", "ana",
           "INSERT INTO shop.products (id, name, category, price_cents) "
           "SELECT id + 100000, email, 'x', 0 FROM shop.customers", REJECT, DENIED),
    attack("write-create-function", "ana",
           "CREATE FUNCTION leak() RETURNS text AS 'SELECT phone FROM shop.customers LIMIT 1' "
           "LANGUAGE sql", REJECT, DENIED),
    attack("write-do-block", "ana", "DO $$BEGIN PERFORM 1; END$$", REJECT, DENIED),
    attack("write-create-view", "ana",
           "CREATE VIEW sandbox.v AS SELECT phone FROM shop.customers", REJECT, DENIED),
]


def test_at_least_sixty_distinct_attacks():
    ids = [a.id for a in ATTACKS]
    assert len(ids) == len(set(ids)), "duplicate attack ids"
    assert len(ids) >= 60


@pytest.mark.parametrize("spec", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack(canary, spec):
    _check(canary, spec)


# --- attacks that need more than one statement to judge ------------------------------------------


def _epoch_sum(canary: CanaryProxy, where: str) -> float | None:
    with _connect(canary, "ana") as conn:
        try:
            row = conn.execute(
                f"SELECT sum(extract(epoch FROM birth_date)) FROM shop.customers {where}"
            ).fetchone()
        except errors.InsufficientPrivilege:
            return None
    return None if row is None or row[0] is None else float(row[0])


@pytest.mark.xfail(strict=True, reason=(
    "known limit of aggregate_only(k) as SCENARIO.md defines it: a per-group threshold cannot "
    "stop differencing two large groups; closing it needs noise (differential privacy) or "
    "query auditing, which no issue asks for yet"))
def test_aggregate_differencing_does_not_reveal_the_canary_birth_date(canary):
    """FINDING (design): two groups of 1,201 and 1,200 rows each pass k = 10; their difference
    is one customer's birth date. A k threshold per group cannot stop this; the secure
    outcome needs the proxy to refuse (or perturb) the second statement."""
    everyone = _epoch_sum(canary, "")
    all_but_canary = _epoch_sum(canary, f"WHERE id <> {C}")
    if everyone is None or all_but_canary is None:
        return  # refused: the door is shut
    assert round(everyone - all_but_canary) != CANARY_EPOCH, (
        "sum(epoch) over everyone minus over everyone but the canary = its birth date")


def _outcome(canary: CanaryProxy, user: str, sql: str) -> tuple[str, Any]:
    with _connect(canary, user, PURPOSE[user]) as conn:
        try:
            return "rows", conn.execute(sql).fetchall()
        except psycopg.Error as error:
            return error.sqlstate or "?", None


def test_division_by_zero_is_no_oracle_on_the_canary_birth_year(canary):
    """FINDING: sum(1 / (year - Y)) over the canary alone fails exactly when Y is its birth year
    (the error comes before the k guard filters the one-row group)."""
    template = ("SELECT sum(1 / (extract(year FROM birth_date) - {year})) FROM shop.customers "
                f"WHERE id = {C}")
    right = _outcome(canary, "ana", template.format(year=1911))
    wrong = _outcome(canary, "ana", template.format(year=1912))
    assert right == wrong, f"year 1911 -> {right}, year 1912 -> {wrong}"


def test_division_by_zero_is_no_oracle_on_a_hidden_row_for_marketing(canary):
    """The row filter fences the canary away from marketing's predicates (no error)."""
    sql = ("SELECT count(*) FROM shop.customers WHERE "
           "1 / (CASE WHEN birth_date = DATE '1911-11-11' THEN 0 ELSE 1 END) = 1")
    assert _outcome(canary, "mark", sql) == ("rows", [(CONSENTING_COUNT,)])


def test_extended_protocol_parameters_are_no_oracle(canary):
    """Server-side parameters ($1) go through the same rewrite as literals."""
    with _connect(canary, "ana") as conn:
        got = conn.execute("SELECT count(*) FROM shop.customers WHERE email = %s",
                           (CANARY_EMAIL,)).fetchone()
        assert got == (0,)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT id FROM shop.customers WHERE phone = %s", (CANARY_PHONE,))
        rows = conn.execute("SELECT email, full_name FROM shop.customers WHERE id = %s",
                            (C,), binary=True).fetchall()
        assert_no_canary(canary, "ana", repr(rows))
    with _connect(canary, "mark") as conn:
        assert conn.execute("SELECT count(*) FROM shop.customers WHERE id = %s",
                            (C,)).fetchone() == (0,)


def test_copy_to_stdout_never_carries_a_canary(canary):
    statements = [
        ("ana", f"COPY (SELECT email, full_name FROM shop.customers WHERE id = {C}) TO STDOUT"),
        ("ana", "COPY shop.customers TO STDOUT"),
        ("ana", "COPY shop.web_events (id, ip_address) TO STDOUT"),
        ("mark", f"COPY (SELECT email FROM shop.customers WHERE id = {C}) TO STDOUT"),
        ("sam", f"COPY (SELECT body FROM shop.support_tickets WHERE customer_id = {C}) TO STDOUT"),
    ]
    for user, sql in statements:
        with _connect(canary, user) as conn:
            try:
                with conn.cursor().copy(sql) as copy:
                    data = b"".join(bytes(chunk) for chunk in copy)
            except psycopg.Error as error:
                assert error.sqlstate == DENIED, (sql, error.sqlstate)
                assert_no_canary(canary, user, _error_text(error))
                continue
            assert_no_canary(canary, user, data.decode("utf-8", "replace"))
    assert not Path("/tmp/pp-canary-leak.csv").exists()


def test_no_prepared_statement_view_shows_the_rewritten_sql(canary):
    """The rewrite carries the mask key; nothing that lists statements may show it."""
    with _connect(canary, "ana") as conn:
        conn.execute("SELECT email FROM shop.customers WHERE id = %s", (C,), prepare=True)
        for sql in ("SELECT * FROM pg_catalog.pg_prepared_statements",
                    "SELECT * FROM pg_catalog.pg_cursors"):
            try:
                rows = conn.execute(sql).fetchall()
            except psycopg.Error as error:
                assert_no_canary(canary, "ana", _error_text(error))
                continue
            assert_no_canary(canary, "ana", repr(rows))


# --- transactions -----------------------------------------------------------------------------------


def test_rejected_statement_in_a_transaction_aborts_it_and_leaves_nothing(canary):
    with _connect(canary, "ana", autocommit=False) as conn:
        conn.execute("SET application_name = 'inside-aborted-tx'")
        conn.execute("DECLARE tx_cursor CURSOR FOR SELECT email FROM shop.customers")
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute(f"SELECT phone FROM shop.customers WHERE id = {C}")
        assert_no_canary(canary, "ana", _error_text(failure.value))
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("FETCH 1 FROM tx_cursor")
        conn.commit()  # PostgreSQL turns COMMIT of a failed transaction into ROLLBACK
        assert conn.execute("SHOW application_name").fetchone() != ("inside-aborted-tx",)
        with pytest.raises(psycopg.Error) as gone:
            conn.execute("FETCH 1 FROM tx_cursor")
        assert gone.value.sqlstate == "34000"  # invalid_cursor_name: the cursor went with it
        conn.rollback()


def _raw_login(canary: CanaryProxy, user: str = "ana", **extra: str) -> RawConnection:
    raw = RawConnection(canary.proxy.host, canary.proxy.port)
    raw.login(user, **extra)
    return raw


def _raw_text(replies: Sequence[Reply]) -> str:
    return "\n".join(r.payload.decode("utf-8", "replace") for r in replies)


def test_commit_after_a_rejection_reports_rollback(canary):
    raw = _raw_login(canary)
    try:
        raw.send(query("BEGIN"))
        raw.read_until(b"Z")
        raw.send(query("SELECT phone FROM shop.customers"))
        replies = raw.read_until(b"Z")
        assert replies[0].type == b"E" and replies[0].fields()["C"] == DENIED
        assert replies[-1].payload == b"E"  # transaction status: failed
        raw.send(query("SELECT 1"))
        replies = raw.read_until(b"Z")
        assert replies[0].fields()["C"] == "25P02"
        raw.send(query("COMMIT"))
        replies = raw.read_until(b"Z")
        assert [r.payload for r in replies if r.type == b"C"] == [b"ROLLBACK\0"]
        assert replies[-1].payload == b"I"
    finally:
        raw.close()


def test_multi_statement_query_runs_nothing_when_one_is_rejected(canary):
    raw = _raw_login(canary)
    try:
        raw.send(query(f"BEGIN; SELECT email FROM shop.customers WHERE id = {C}; "
                       "SELECT phone FROM shop.customers; COMMIT"))
        replies = raw.read_until(b"Z")
        assert [r.type for r in replies] == [b"E", b"Z"], replies
        assert replies[0].fields()["C"] == DENIED
        assert replies[-1].payload == b"I"  # not even BEGIN ran
        assert_no_canary(canary, "ana", _raw_text(replies))
    finally:
        raw.close()


# --- extended protocol, raw ------------------------------------------------------------------------------


def _parse(sql: str, name: str = "") -> bytes:
    return message(b"P", name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0))


def _bind(portal: str = "", statement: str = "", values: tuple[bytes, ...] = ()) -> bytes:
    payload = portal.encode() + b"\0" + statement.encode() + b"\0" + struct.pack("!H", 0)
    payload += struct.pack("!H", len(values))
    for value in values:
        payload += struct.pack("!i", len(value)) + value
    return message(b"B", payload + struct.pack("!H", 0))


def _describe(kind: str, name: str = "") -> bytes:
    return message(b"D", kind.encode() + name.encode() + b"\0")


def _execute(portal: str = "") -> bytes:
    return message(b"E", portal.encode() + b"\0" + struct.pack("!i", 0))


SYNC = message(b"S")


@pytest.mark.parametrize("sql", [
    "SELECT phone FROM shop.customers",
    f"SELECT c FROM shop.customers c WHERE c.id = {C}",
    "SELECT card_number FROM shop.payments WHERE id = $1",
    "SELECT 1; SELECT phone FROM shop.customers",
    "COPY (SELECT phone FROM shop.customers) TO STDOUT",
])
def test_extended_protocol_refuses_at_parse_and_skips_to_sync(canary, sql):
    raw = _raw_login(canary)
    try:
        raw.send(_parse(sql) + _bind(values=(str(C).encode(),) if "$1" in sql else ())
                 + _describe("P") + _execute() + SYNC)
        replies = raw.read_until(b"Z")
        assert [r.type for r in replies] == [b"E", b"Z"], replies
        assert replies[0].fields()["C"] in (DENIED, SYNTAX)
        assert_no_canary(canary, "ana", _raw_text(replies))
    finally:
        raw.close()


def test_extended_protocol_refused_statement_does_not_exist_afterwards(canary):
    raw = _raw_login(canary)
    try:
        raw.send(_parse("SELECT phone FROM shop.customers", name="leak") + SYNC)
        assert [r.type for r in raw.read_until(b"Z")] == [b"E", b"Z"]
        raw.send(_describe("S", "leak") + _bind(statement="leak") + _execute() + SYNC)
        replies = raw.read_until(b"Z")
        assert [r.type for r in replies] == [b"E", b"Z"]
        assert replies[0].fields()["C"] == "26000"  # invalid_sql_statement_name
    finally:
        raw.close()


def test_extended_protocol_allowed_statement_returns_only_masked_values(canary):
    raw = _raw_login(canary)
    try:
        raw.send(_parse("SELECT id, email, full_name FROM shop.customers WHERE id = $1", "s")
                 + _describe("S", "s") + _bind(statement="s", values=(str(C).encode(),))
                 + _execute() + SYNC)
        replies = raw.read_until(b"Z")
        assert b"D" in [r.type for r in replies]
        assert_no_canary(canary, "ana", _raw_text(replies))
    finally:
        raw.close()


def test_extended_protocol_pipeline_with_a_refused_statement(canary):
    """A good statement, then a refused one, in one pipeline: nothing protected comes back."""
    raw = _raw_login(canary)
    try:
        raw.send(_parse(f"SELECT email FROM shop.customers WHERE id = {C}") + _bind()
                 + _execute() + _parse("SELECT phone, birth_date FROM shop.customers")
                 + _bind() + _execute() + SYNC)
        replies = raw.read_until(b"Z")
        assert b"E" in [r.type for r in replies]
        assert_no_canary(canary, "ana", _raw_text(replies))
    finally:
        raw.close()


# --- startup parameters ----------------------------------------------------------------------------------


def _login_or_fatal(canary: CanaryProxy, user: str, **extra: str
                    ) -> tuple[RawConnection, dict[str, str] | None]:
    """Log in with extra startup parameters; the FATAL error's fields if the proxy refuses."""
    raw = RawConnection(canary.proxy.host, canary.proxy.port)
    try:
        raw.login(user, **extra)
    except AssertionError as failure:  # ErrorResponse instead of an authentication request
        reply = failure.args[0] if failure.args and isinstance(failure.args[0], Reply) else None
        return raw, reply.fields() if reply is not None else {"C": "?"}
    except ConnectionError as failure:  # FATAL after authentication, then closed
        replies = failure.args[0] if failure.args else ""
        code = re.search(r"C(\w{5})\\x00", str(replies))
        return raw, {"C": code.group(1) if code else "?"}
    return raw, None


@pytest.mark.parametrize(("extra", "fatal"), [
    ({"search_path": "shop"}, UNSUPPORTED),
    ({"options": "-c search_path=shop"}, DENIED),
    ({"standard_conforming_strings": "off"}, UNSUPPORTED),
    ({"options": "-c purpose=analytics -c role=etl"}, DENIED),
    ({"options": "-c purpose=fraud"}, DENIED),
    ({"purpose": "fraud"}, None),  # accepted as a setting; every statement then refused
    ({"application_name": "x'; SELECT phone FROM shop.customers; --"}, None),
])
def test_startup_parameters_cannot_widen_access(canary, extra, fatal):
    raw, refused = _login_or_fatal(canary, "ana", **extra)
    try:
        if refused is not None:
            assert refused["C"] == fatal, refused
            return
        assert fatal is None, f"logged in with {extra}"
        for sql in ("SELECT email FROM customers", "SELECT phone FROM shop.customers",
                    f"SELECT email, full_name FROM shop.customers WHERE id = {C}",
                    "SELECT current_setting('application_name')"):
            raw.send(query(sql))
            replies = raw.read_until(b"Z")
            assert_no_canary(canary, "ana", _raw_text(replies))
            codes = [r.fields()["C"] for r in replies if r.type == b"E"]
            if "phone" in sql or "FROM customers" in sql:
                assert codes and codes[0] in (DENIED, NO_RELATION), replies
    finally:
        raw.close()


# --- the decision core itself ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployment():
    from proxy.policy import load_deployment

    repo = Path(__file__).resolve().parents[1]
    return load_deployment(repo / "catalog", repo / "policies")


@pytest.mark.parametrize("sql", [
    f"SELECT * FROM upper((SELECT phone FROM shop.customers WHERE id = {C})) AS t",
    f"SELECT * FROM lower((SELECT email FROM shop.customers WHERE id = {C})) AS t",
    f"SELECT * FROM md5((SELECT card_number FROM shop.payments WHERE id = {C})) AS t",
    "SELECT * FROM array_to_string((SELECT array_agg(ip_address) FROM shop.web_events), ',') t",
    "SELECT * FROM to_char((SELECT max(birth_date) FROM shop.customers), 'YYYY-MM-DD') AS t",
    "SELECT * FROM generate_series(1, (SELECT length(body) FROM shop.support_tickets)) AS t",
])
def test_decision_core_refuses_protected_reads_inside_from_item_functions(deployment, sql):
    """FINDING: on a PostgreSQL warehouse (which runs scalar functions in FROM) each of these
    returns the raw value; the decision must not depend on DuckDB lacking the feature."""
    from proxy.check import check
    from proxy.policy.decision import Allow

    (decision,) = check(deployment, "ana", None, sql)
    assert not isinstance(decision, Allow), f"allowed: {decision.sql}"
    assert decision.sqlstate == DENIED
