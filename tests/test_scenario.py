"""SCENARIO.md, cell by cell, through psycopg against the running proxy (DuckDB warehouse).

Every expected value is computed from the deterministic demo data, independently of the proxy.
Users: ana (analytics), mark (marketing; also analytics), sam (support, country DE),
fran (fraud, no default purpose), etl (ingestion).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests.support.clients import table
from tests.support.proxy_process import ProxyProcess

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def proxy(request, proxy):
    """Every cell of the scenario, on both warehouses: the outcomes must be identical."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_proxy")
    return proxy

HASH = re.compile(r"^[0-9a-f]{64}$")
CUSTOMERS = {row["id"]: row for row in table("customers")}
DE_IDS = {i for i, c in CUSTOMERS.items() if c["country"] == "DE"}
CONSENTING_IDS = {i for i, c in CUSTOMERS.items() if c["marketing_consent"]}


def connect(proxy: ProxyProcess, user: str, purpose: str | None = None) -> psycopg.Connection:
    options = {"options": f"-c purpose={purpose}"} if purpose else {}
    return psycopg.connect(**proxy.conninfo(user), autocommit=True, **options)


def rows(proxy: ProxyProcess, user: str, sql: str, purpose: str | None = None) -> list[tuple]:
    with connect(proxy, user, purpose) as conn:
        return conn.execute(sql).fetchall()


def refused(proxy: ProxyProcess, user: str, sql: str, purpose: str | None = None) -> Any:
    with connect(proxy, user, purpose) as conn:
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute(sql)
        # The session survives a rejection.
        assert conn.execute("SELECT 1").fetchone() == (1,)
    return failure.value.diag


# --- identifiers, country, consent: allowed for every purpose ---------------------------------


@pytest.mark.parametrize(("user", "purpose"), [
    ("ana", None), ("mark", None), ("sam", None), ("fran", "fraud"), ("etl", None),
])
def test_identifier_country_consent_are_readable(proxy, user, purpose):
    got = rows(proxy, user, "SELECT id, country, marketing_consent FROM shop.customers ORDER BY id",
               purpose)
    visible = {"mark": CONSENTING_IDS, "sam": DE_IDS}.get(user, set(CUSTOMERS))
    assert got == [(i, CUSTOMERS[i]["country"], CUSTOMERS[i]["marketing_consent"])
                   for i in sorted(visible)]


# --- pii.contact.email ---------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "purpose"), [("ana", None), ("fran", "fraud")])
def test_email_is_a_keyed_deterministic_hash(proxy, user, purpose):
    first = dict(rows(proxy, user, "SELECT id, email FROM shop.customers", purpose))
    again = dict(rows(proxy, user, "SELECT id, email FROM shop.customers ORDER BY id", purpose))
    assert first == again  # same value, same hash, in another session
    assert all(HASH.match(value) for value in first.values())
    assert not set(first.values()) & {c["email"] for c in CUSTOMERS.values()}
    # Joins and GROUP BY on the hash still work: every customer joins to itself.
    joined = rows(proxy, user, "SELECT count(*) FROM shop.customers a JOIN shop.customers b "
                  "ON a.email = b.email", purpose)
    assert joined == [(len(CUSTOMERS),)]


def test_email_predicate_sees_only_the_hash(proxy):
    real = CUSTOMERS[1]["email"]
    assert rows(proxy, "ana", f"SELECT count(*) FROM shop.customers WHERE email = '{real}'") == [(0,)]
    prefix = real[0]
    assert rows(proxy, "ana", "SELECT count(*) FROM shop.customers WHERE email LIKE "
                "'%@%'") == [(0,)]
    assert prefix  # the raw address never matches: predicates run on the hash


@pytest.mark.parametrize(("user", "purpose"), [("mark", None), ("sam", None), ("etl", None)])
def test_email_is_raw_for_marketing_support_ingestion(proxy, user, purpose):
    got = dict(rows(proxy, user, "SELECT id, email FROM shop.customers", purpose))
    assert got and all(CUSTOMERS[i]["email"] == email for i, email in got.items())


# --- pii.contact.phone ---------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["ana", "mark"])
def test_phone_is_denied_for_analytics_and_marketing(proxy, user):
    diag = refused(proxy, user, "SELECT id, phone FROM shop.customers")
    purpose = {"ana": "analytics", "mark": "marketing"}[user]
    assert diag.sqlstate == "42501"
    assert '"phone"' in diag.message_primary and "pii.contact.phone" in diag.message_primary
    assert f'"{purpose}"' in diag.message_primary
    assert diag.message_hint and "support" in diag.message_hint


@pytest.mark.parametrize("clause", [
    "WHERE phone LIKE '+49%'", "ORDER BY phone", "GROUP BY phone",
    "WHERE length(phone) > 3", "WHERE id IN (SELECT id FROM shop.customers WHERE phone IS NULL)",
])
def test_phone_is_denied_anywhere_in_the_statement(proxy, clause):
    select = "SELECT count(*)" if "GROUP BY" in clause else "SELECT id"
    diag = refused(proxy, "ana", f"{select} FROM shop.customers {clause}")
    assert "pii.contact.phone" in diag.message_primary


def test_phone_is_raw_for_support(proxy):
    got = dict(rows(proxy, "sam", "SELECT id, phone FROM shop.customers"))
    assert set(got) == DE_IDS
    assert all(CUSTOMERS[i]["phone"] == phone for i, phone in got.items())


def test_phone_is_last4_for_fraud(proxy):
    got = dict(rows(proxy, "fran", "SELECT id, phone FROM shop.customers", "fraud"))
    for i, phone in got.items():
        raw = CUSTOMERS[i]["phone"]
        if raw is None:
            assert phone is None
        else:
            assert phone == "*" * max(len(raw) - 4, 0) + raw[-4:]


# --- pii.name ------------------------------------------------------------------------------------


def test_name_is_redacted_for_analytics(proxy):
    assert set(v for (v,) in rows(proxy, "ana", "SELECT full_name FROM shop.customers")) == {
        "[REDACTED]"}


@pytest.mark.parametrize(("user", "purpose"), [
    ("mark", None), ("sam", None), ("fran", "fraud"), ("etl", None),
])
def test_name_is_raw_for_other_purposes(proxy, user, purpose):
    got = dict(rows(proxy, user, "SELECT id, full_name FROM shop.customers", purpose))
    assert got and all(CUSTOMERS[i]["full_name"] == name for i, name in got.items())


# --- pii.birthdate -------------------------------------------------------------------------------


def test_birthdate_aggregates_over_groups_of_ten_or_more_for_analytics(proxy):
    got = rows(proxy, "ana", "SELECT country, count(*), count(birth_date) FROM shop.customers "
               "GROUP BY country ORDER BY country")
    counts = Counter(c["country"] for c in CUSTOMERS.values())
    with_birth = Counter(c["country"] for c in CUSTOMERS.values() if c["birth_date"] is not None)
    assert got == [(country, counts[country], with_birth[country])
                   for country in sorted(counts) if counts[country] >= 10]


def test_birthdate_small_groups_are_not_returned(proxy):
    """Grouping by id makes groups of one: none may come back."""
    assert rows(proxy, "ana", "SELECT id, count(birth_date) FROM shop.customers GROUP BY id") == []


@pytest.mark.parametrize("sql", [
    "SELECT birth_date FROM shop.customers",
    "SELECT min(birth_date) FROM shop.customers",
    "SELECT max(birth_date) FROM shop.customers GROUP BY country",
    "SELECT id FROM shop.customers ORDER BY birth_date",
    "SELECT count(*) FROM shop.customers WHERE birth_date > '1990-01-01'",
    "SELECT sum(CASE WHEN birth_date > '1990-01-01' THEN 1 ELSE 0 END) FROM shop.customers",
    "SELECT count(*) FILTER (WHERE birth_date > '1990-01-01') FROM shop.customers",
    "SELECT count(birth_date) OVER () FROM shop.customers",
])
def test_birthdate_raw_or_min_max_is_refused_for_analytics(proxy, sql):
    diag = refused(proxy, "ana", sql)
    assert "pii.birthdate" in diag.message_primary
    assert "count()" in (diag.message_hint or "")


def test_birthdate_is_predicate_only_for_marketing(proxy):
    got = rows(proxy, "mark", "SELECT id FROM shop.customers WHERE birth_date < '1980-01-01' "
               "ORDER BY id")
    expected = sorted(i for i in CONSENTING_IDS
                      if CUSTOMERS[i]["birth_date"] is not None
                      and CUSTOMERS[i]["birth_date"].isoformat() < "1980-01-01")
    assert [i for (i,) in got] == expected


@pytest.mark.parametrize("sql", [
    "SELECT birth_date FROM shop.customers",
    "SELECT extract(year FROM birth_date) FROM shop.customers",
    "SELECT id FROM shop.customers ORDER BY birth_date",
    "SELECT count(*) FROM shop.customers GROUP BY birth_date",
    "SELECT (SELECT birth_date FROM shop.customers c2 WHERE c2.id = c.id) FROM shop.customers c",
    "SELECT c FROM shop.customers c",
])
def test_birthdate_never_reaches_the_output_for_marketing(proxy, sql):
    diag = refused(proxy, "mark", sql)
    assert "pii.birthdate" in diag.message_primary or "pii.contact.phone" in diag.message_primary


@pytest.mark.parametrize(("user", "purpose"), [("sam", None), ("fran", "fraud")])
def test_birthdate_is_truncated_to_the_year(proxy, user, purpose):
    got = dict(rows(proxy, user, "SELECT id, birth_date FROM shop.customers", purpose))
    for i, value in got.items():
        raw = CUSTOMERS[i]["birth_date"]
        assert value == (None if raw is None else raw.replace(month=1, day=1))


# --- payments.card_number: pii.card_number ------------------------------------------------------


@pytest.mark.parametrize("user", ["ana", "mark"])
def test_card_number_is_denied(proxy, user):
    assert "pii.card_number" in refused(
        proxy, user, "SELECT card_number FROM shop.payments").message_primary


@pytest.mark.parametrize(("user", "purpose"), [("sam", None), ("fran", "fraud")])
def test_card_number_is_last4(proxy, user, purpose):
    payments = {p["id"]: p for p in table("payments")}
    got = rows(proxy, user, "SELECT id, card_number FROM shop.payments", purpose)
    assert len(got) == len(payments)
    for i, card in got:
        raw = payments[i]["card_number"]
        assert card == "*" * (len(raw) - 4) + raw[-4:]


# --- web_events.ip_address: pii.ip_address ------------------------------------------------------


@pytest.mark.parametrize("user", ["ana", "mark", "sam"])
def test_ip_address_is_denied(proxy, user):
    assert "pii.ip_address" in refused(
        proxy, user, "SELECT ip_address FROM shop.web_events").message_primary


@pytest.mark.parametrize(("user", "purpose"), [("fran", "fraud"), ("etl", None)])
def test_ip_address_is_raw_for_fraud_and_ingestion(proxy, user, purpose):
    events = {e["id"]: e["ip_address"] for e in table("web_events")}
    assert dict(rows(proxy, user, "SELECT id, ip_address FROM shop.web_events", purpose)) == events


# --- support_tickets.body: pii.free_text --------------------------------------------------------


@pytest.mark.parametrize(("user", "purpose"), [("ana", None), ("mark", None), ("fran", "fraud")])
def test_free_text_is_denied(proxy, user, purpose):
    assert "pii.free_text" in refused(
        proxy, user, "SELECT body FROM shop.support_tickets", purpose).message_primary


def test_support_reads_tickets_of_its_country_only(proxy):
    tickets = table("support_tickets")
    expected = {t["id"]: t["body"] for t in tickets if t["customer_id"] in DE_IDS}
    assert dict(rows(proxy, "sam", "SELECT id, body FROM shop.support_tickets")) == expected


# --- business.revenue ----------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "purpose"), [
    ("ana", None), ("mark", None), ("fran", "fraud"), ("etl", None),
])
def test_revenue_is_readable(proxy, user, purpose):
    total = sum(o["total_cents"] for o in table("orders"))
    assert rows(proxy, user, "SELECT sum(total_cents) FROM shop.orders", purpose) == [(total,)]


def test_revenue_for_support_runs_unchanged_and_the_audit_records_the_shadow_denial(proxy):
    total = sum(o["total_cents"] for o in table("orders"))
    marker = "/* shadow-check */"
    assert rows(proxy, "sam", f"SELECT sum(total_cents) FROM shop.orders {marker}") == [(total,)]
    events = [e for e in proxy.audit_events()
              if e.get("event") == "decision" and marker in str(e.get("statement"))]
    assert events, "no audit event for the statement"
    event = events[-1]
    assert event["decision"] == "allow" and event["purpose"] == "support"
    assert any(finding["action"] == "reject" and finding["label"] == "business.revenue"
               for finding in event["shadow"])


# --- row filters ---------------------------------------------------------------------------------


def test_marketing_sees_only_consenting_customers(proxy):
    assert rows(proxy, "mark", "SELECT count(*) FROM shop.customers") == [(len(CONSENTING_IDS),)]


def test_support_sees_only_customers_of_its_country(proxy):
    assert rows(proxy, "sam", "SELECT DISTINCT country FROM shop.customers") == [("DE",)]


def test_row_filter_holds_against_an_error_oracle(proxy):
    """A predicate that would fail on a hidden row must never be evaluated on one."""
    sql = ("SELECT count(*) FROM shop.customers "
           "WHERE (CASE WHEN country <> 'DE' THEN CAST(email AS integer) ELSE 1 END) = 1")
    assert rows(proxy, "sam", sql) == [(len(DE_IDS),)]


def test_row_filter_holds_through_joins_and_subqueries(proxy):
    sql = ("SELECT count(*) FROM shop.orders o WHERE o.customer_id IN "
           "(SELECT id FROM shop.customers WHERE country = 'FR')")
    assert rows(proxy, "sam", sql) == [(0,)]


# --- purposes: declared, granted, or refused ----------------------------------------------------


def test_fraud_must_declare_a_purpose(proxy):
    diag = refused(proxy, "fran", "SELECT count(*) FROM shop.orders")
    assert 'user "fran"' in diag.message_primary and "fraud" in (diag.message_hint or "")


def test_purpose_by_set_and_by_comment(proxy):
    with connect(proxy, "fran") as conn:
        assert conn.execute(
            "SELECT count(*) FROM shop.orders /*purpose='fraud'*/").fetchone()[0] > 0
        conn.execute("SET purpose = 'fraud'")
        assert conn.execute("SHOW purpose").fetchone() == ("fraud",)
        assert conn.execute("SELECT count(*) FROM shop.orders").fetchone()[0] > 0


def test_statement_comment_beats_the_session_purpose(proxy):
    with connect(proxy, "mark") as conn:
        hashed = conn.execute(
            "SELECT email FROM shop.customers WHERE id = 2 /*purpose='analytics'*/").fetchone()[0]
        raw = conn.execute("SELECT email FROM shop.customers WHERE id = 2").fetchone()[0]
    assert HASH.match(hashed) and raw == CUSTOMERS[2]["email"]


@pytest.mark.parametrize("how", ["set", "comment", "options"])
def test_ungranted_purpose_is_refused_naming_user_and_purpose(proxy, how):
    if how == "options":
        with pytest.raises(psycopg.OperationalError) as failure:
            connect(proxy, "ana", purpose="fraud")
        assert 'purpose "fraud" is not granted to user "ana"' in str(failure.value)
        return
    sql = ("SET purpose = 'fraud'" if how == "set"
           else "SELECT count(*) FROM shop.orders /*purpose='fraud'*/")
    diag = refused(proxy, "ana", sql)
    assert diag.message_primary == 'purpose "fraud" is not granted to user "ana"'


# --- rejections behave like PostgreSQL errors ----------------------------------------------------


def test_rejection_aborts_the_transaction(proxy):
    with psycopg.connect(**proxy.conninfo("ana")) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT phone FROM shop.customers")
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT 2").fetchone() == (2,)


def test_one_rejected_statement_stops_the_whole_query_string(proxy):
    with connect(proxy, "ana") as conn:
        before = conn.execute("SELECT count(*) FROM shop.products").fetchone()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SET application_name = 'ran'; SELECT phone FROM shop.customers")
        assert conn.execute("SHOW application_name").fetchone() != ("ran",)
        assert before == conn.execute("SELECT count(*) FROM shop.products").fetchone()


def test_rejection_detail_gives_the_lineage_path(proxy):
    diag = refused(proxy, "ana", "SELECT lower(phone) AS p FROM shop.customers")
    assert diag.message_detail == 'output column "p" <- shop.customers.phone (transformed)'


def test_set_purpose_governs_the_rest_of_the_same_query_string(proxy):
    with connect(proxy, "fran") as conn:
        cursor = conn.execute("SET purpose = 'fraud'; SELECT count(*) FROM shop.payments")
        assert cursor.nextset() and cursor.fetchone() == (len(table("payments")),)


def test_extended_protocol_rejects_at_parse(proxy):
    """The rejection comes at Parse: nothing is bound or executed."""
    from tests.support.raw_client import RawConnection, message

    raw = RawConnection(proxy.host, proxy.port)
    raw.login("ana")
    sql = b"SELECT phone FROM shop.customers"
    raw.send(message(b"P", b"\0" + sql + b"\0\0\0") + message(b"B", b"\0\0\0\0\0\0\0\0")
             + message(b"E", b"\0\0\0\0\0") + message(b"S"))
    replies = raw.read_until(b"Z")
    assert [r.type for r in replies] == [b"E", b"Z"]
    assert replies[0].fields()["C"] == "42501"
    raw.close()


def test_every_decision_is_an_audit_event(proxy):
    marker = "/* audit-check */"
    rows(proxy, "ana", f"SELECT email, count(*) FROM shop.customers GROUP BY email {marker}")
    refused(proxy, "ana", f"SELECT phone FROM shop.customers {marker}")
    events = [e for e in proxy.audit_events()
              if e.get("event") == "decision" and marker in str(e.get("statement"))]
    allowed, rejected = events[-2], events[-1]
    assert allowed["decision"] == "allow" and rejected["decision"] == "reject"
    for event in (allowed, rejected):
        assert event["user"] == "ana" and event["purpose"] == "analytics"
        assert len(event["statement_fingerprint"]) == 16
        assert event["tables"] == ["shop.customers"]
    email = next(c for c in allowed["columns"] if c["column"] == "shop.customers.email")
    assert email["labels"] == ["pii.contact.email"] and email["action"] == "mask:hash"
    assert "pii.contact.email" in allowed["labels"]
    assert "_pp_shop_customers" in allowed["rewritten"]
    assert "_purpose_proxy.mask_hash(" in allowed["rewritten"]
    assert "pii.contact.phone" in rejected["reason"]
    executed = [e for e in proxy.audit_events()
                if e.get("event") == "statement" and marker in str(e.get("statement"))]
    assert executed and executed[-1]["outcome"] in ("ok", "rejected")


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("SET search_path = shop", "0A000"),
    ("SET role = postgres", "0A000"),
    ("SET standard_conforming_strings = off", "0A000"),
    ("SET client_encoding = 'LATIN1'", "0A000"),
    ("SET session_authorization = 'etl'", "0A000"),
    ("SET no_such_setting = 1", "42704"),
    ("PREPARE p AS SELECT phone FROM shop.customers", "42501"),
    ("EXPLAIN SELECT phone FROM shop.customers", "42501"),
    ("DO $$ BEGIN PERFORM 1; END $$", "42501"),
    ("CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", "42501"),
    ("LISTEN x", "42501"),
])
def test_settings_and_statements_outside_the_allow_list_are_refused(proxy, sql, sqlstate):
    with connect(proxy, "ana") as conn:
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(sql)
        assert failure.value.sqlstate == sqlstate
        assert conn.execute("SHOW search_path").fetchone() == ('"$user", public',)


@pytest.mark.parametrize("sql", [
    "SET application_name = 'bi-tool'", "SET TimeZone = 'Europe/Berlin'",
    "SET DateStyle = 'ISO, DMY'", "SET statement_timeout = '30s'", "RESET ALL",
])
def test_safe_settings_are_accepted(proxy, sql):
    with connect(proxy, "ana") as conn:
        conn.execute(sql)


@pytest.mark.parametrize("sql", [
    "SELECT definition FROM pg_catalog.pg_views",
    "SELECT * FROM pg_catalog.pg_views",
    "SELECT prosrc FROM pg_catalog.pg_proc",
    "SELECT view_definition FROM information_schema.views",
    "SELECT pg_get_viewdef('pg_catalog.pg_tables'::regclass)",
])
def test_catalog_sql_bodies_are_not_readable(proxy, sql):
    with connect(proxy, "ana") as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(sql)


def test_catalog_listings_stay_readable(proxy):
    with connect(proxy, "ana") as conn:
        conn.execute("SELECT schemaname, viewname FROM pg_catalog.pg_views").fetchall()
        tables = conn.execute("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = 'shop' ORDER BY 1").fetchall()
    assert ("customers",) in tables
