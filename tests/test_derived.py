"""Derived data keeps the row policy, and chosen values never become masked values.

Attacks through tables created through the proxy, on both warehouses, against the canary
warehouse of tests/test_adversarial.py (customer 99999: FR, no marketing consent):

- row policy: a table one purpose derives is read under another purpose that filters the
  source rows (support: DE customers only; marketing: consenting ones). It is filtered by the
  key it kept, readable when every row aggregates at least k customers, refused otherwise; the
  same for INSERT ... SELECT into another purpose's table, COPY FROM, derived-of-derived, keys
  forged by self-joins, scalar subqueries, UNION branches, CTEs read twice or UPDATE;
- the dictionary oracle: guessed emails written next to hashed ones (VALUES, INSERT SELECT,
  UNION ALL, CASE / coalesce, parameters, COPY FROM) are never hashed, so joining them with
  the hashed customers confirms nothing.

`stock` runs the default policies; `custom` adds COPY FROM and UPDATE grants in the sandbox
and makes support's filter follow the customer into every table (`subject_filters`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import errors

from tests.support.clients import table
from tests.support.proxy_process import REPO, ProxyProcess, start_proxy
from tests.test_adversarial import (
    CANARY_EMAIL,
    CANARY_ID,
    CANARY_MASK_KEY,
    CanaryProxy,
    _canary_warehouse,
    assert_no_canary,
)

pytestmark = pytest.mark.timeout(120)

CUSTOMERS = table("customers")
ORDERS = table("orders")
DE_IDS = {c["id"] for c in CUSTOMERS if c["country"] == "DE"}
CONSENTING_IDS = {c["id"] for c in CUSTOMERS if c["marketing_consent"]}
#: Every email support must not see (customers outside DE), and marketing's (no consent).
NOT_DE_EMAILS = [c["email"] for c in CUSTOMERS if c["country"] != "DE"] + [CANARY_EMAIL]
NOT_CONSENTING_EMAILS = [c["email"] for c in CUSTOMERS if not c["marketing_consent"]]
A_DE_CONSENTING_ID = min(DE_IDS & CONSENTING_IDS)
A_FR_CONSENTING_EMAIL = next(c["email"] for c in CUSTOMERS
                             if c["country"] == "FR" and c["marketing_consent"])


def _custom_policies(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("labels.yaml", "users.yaml"):
        (directory / name).write_text((REPO / "policies" / name).read_text())
    purposes = yaml.safe_load((REPO / "policies" / "purposes.yaml").read_text())
    for name in ("analytics", "marketing"):
        purposes["purposes"][name]["writes"] = {
            "sandbox.*": ["create_table", "insert", "copy_from", "update"]}
    support = purposes["purposes"]["support"]
    support["subject_filters"] = {"customer": "country = {{ user.country }}"}
    support["writes"] = {"sandbox.*": ["create_table", "insert"]}
    (directory / "purposes.yaml").write_text(yaml.safe_dump(purposes, sort_keys=False))
    return directory


def _proxy(request, tmp_path_factory, policies: Path | None) -> Iterator[CanaryProxy]:
    with _canary_warehouse(request.param, tmp_path_factory) as (warehouse, settings):
        workdir = tmp_path_factory.mktemp("derived-proxy")
        if policies is not None:
            settings = {**settings, "policies_dir": str(policies)}
        running = start_proxy(workdir, warehouse, mask_key=CANARY_MASK_KEY, **settings)
        try:
            yield CanaryProxy(running, CANARY_MASK_KEY, workdir)
        finally:
            running.stop()


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def stock(request, tmp_path_factory) -> Iterator[CanaryProxy]:
    yield from _proxy(request, tmp_path_factory, None)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def custom(request, tmp_path_factory) -> Iterator[CanaryProxy]:
    yield from _proxy(request, tmp_path_factory,
                      _custom_policies(tmp_path_factory.mktemp("policies")))


def _connect(proxy: ProxyProcess, user: str) -> psycopg.Connection:
    return psycopg.connect(**proxy.conninfo(user), autocommit=True)


def run(canary: CanaryProxy, user: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement; every value received is checked for the user's canaries."""
    with _connect(canary.proxy, user) as conn:
        cursor = conn.execute(sql, params)
        rows = cursor.fetchall() if cursor.description is not None else []
    assert_no_canary(canary, user, " ".join(str(v) for row in rows for v in row))
    return rows


def refused(canary: CanaryProxy, user: str, sql: str, sqlstate: str = "42501") -> psycopg.Error:
    with _connect(canary.proxy, user) as conn:
        with pytest.raises(psycopg.Error) as failure:
            conn.execute(sql)
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on
    error = failure.value
    assert error.sqlstate == sqlstate, (error.sqlstate, error.diag.message_primary)
    text = "\n".join(f for f in (error.diag.message_primary, error.diag.message_detail,
                                 error.diag.message_hint) if f)
    assert_no_canary(canary, user, text)
    assert error.diag.message_hint, "every refusal says what to do"
    return error


def no_emails(rows: list[tuple[Any, ...]], emails: list[str]) -> None:
    received = {str(v) for row in rows for v in row}
    leaked = received & set(emails)
    assert not leaked, f"leaked {sorted(leaked)[:3]}"


# --- the observed leak, and its variants --------------------------------------------------------


def test_support_reads_marketings_copy_only_for_its_own_country(stock):
    run(stock, "mark", "CREATE TABLE sandbox.x AS "
        "SELECT id, email, full_name, country FROM shop.customers")
    rows = run(stock, "sam", "SELECT * FROM sandbox.x")
    assert rows and {r[0] for r in rows} == DE_IDS & CONSENTING_IDS
    assert {r[3] for r in rows} == {"DE"}
    no_emails(rows, NOT_DE_EMAILS)
    # every way of reading it is the filtered table: a predicate cannot reach hidden rows
    assert run(stock, "sam", "SELECT count(*) FROM sandbox.x WHERE country <> 'DE'") == [(0,)]
    assert run(stock, "sam", f"SELECT count(*) FROM sandbox.x WHERE email = "
               f"'{A_FR_CONSENTING_EMAIL}'") == [(0,)]
    fr_id = next(c["id"] for c in CUSTOMERS if c["email"] == A_FR_CONSENTING_EMAIL)
    assert run(stock, "sam", "SELECT * FROM sandbox.x WHERE id = %s", (fr_id,)) == []
    # an error that would fire on a hidden row never runs (the filter is fenced)
    assert run(stock, "sam", "SELECT count(*) FROM sandbox.x WHERE CASE WHEN country <> 'DE' "
               "THEN CAST(email AS integer) ELSE 1 END = 1") == [(len(rows),)]
    # whole rows, joins, COPY TO: the same rows
    whole = run(stock, "sam", "SELECT row_to_json(x)::text FROM sandbox.x x")
    assert len(whole) == len(rows)
    assert not [r for r in whole if any(e in r[0] for e in NOT_DE_EMAILS)]
    assert run(stock, "sam", "SELECT count(*) FROM shop.orders o LEFT JOIN sandbox.x x "
               "ON x.id = o.customer_id WHERE x.country <> 'DE'") == [(0,)]
    with _connect(stock.proxy, "sam") as conn:
        with conn.cursor().copy("COPY sandbox.x TO STDOUT") as copy:
            lines = [bytes(chunk).decode() for chunk in copy]
    assert len(lines) == len(rows)
    assert not [line for line in lines if any(e in line for e in NOT_DE_EMAILS)]


def test_a_copy_that_lost_the_key_is_refused_under_a_filtering_purpose(stock):
    run(stock, "mark", "CREATE TABLE sandbox.nokey AS SELECT email, country FROM shop.customers")
    error = refused(stock, "sam", "SELECT * FROM sandbox.nokey")
    assert "shop.customers.id" in error.diag.message_primary
    assert "support" in error.diag.message_primary
    refused(stock, "sam", "SELECT count(*) FROM sandbox.nokey")
    # analytics filters no customer rows: readable, email hashed
    rows = run(stock, "ana", "SELECT email FROM sandbox.nokey")
    assert len(rows) == len(CONSENTING_IDS)
    no_emails(rows, [c["email"] for c in CUSTOMERS])


@pytest.mark.parametrize(("name", "query"), [
    ("selfjoin", "SELECT c2.id, c1.email FROM shop.customers c1 JOIN shop.customers c2 "
                 f"ON c2.id = {A_DE_CONSENTING_ID}"),
    ("scalar", f"SELECT (SELECT id FROM shop.customers WHERE id = {A_DE_CONSENTING_ID}) AS id, "
               "email FROM shop.customers"),
    ("union", "SELECT id, email FROM shop.customers WHERE country = 'DE' UNION ALL "
              f"SELECT {A_DE_CONSENTING_ID}, email FROM shop.customers WHERE country <> 'DE'"),
    ("cte-twice", "WITH c AS (SELECT id, email, country FROM shop.customers) "
                  "SELECT a.id, b.email FROM c a JOIN c b ON a.id = "
                  f"{A_DE_CONSENTING_ID} AND b.country <> 'DE'"),
    ("computed", "SELECT id + 0 AS id, email FROM shop.customers"),
    ("case", f"SELECT CASE WHEN country = 'DE' THEN id ELSE {A_DE_CONSENTING_ID} END AS id, "
             "email FROM shop.customers"),
    ("window", "SELECT id, first_value(email) OVER (ORDER BY country DESC) AS email "
               "FROM shop.customers"),
    ("exists", "SELECT id, email FROM shop.customers c WHERE EXISTS (SELECT 1 FROM "
               "shop.customers x WHERE x.country = 'FR' AND x.email LIKE 'a%')"),
    ("limit", "SELECT id, email FROM shop.customers ORDER BY email LIMIT 5"),
    ("per-person", "SELECT id, count(*) AS n, max(email) AS email FROM shop.customers c "
                   "GROUP BY id"),
    ("per-person-guard", "SELECT email, count(*) AS n FROM shop.customers c GROUP BY email "
                         "HAVING count(DISTINCT c.id) >= 1"),
    ("guarded-max", "SELECT country, max(email) AS email FROM shop.customers c "
                    "GROUP BY country HAVING count(DISTINCT c.id) >= 10"),
    ("guarded-filter", "SELECT country, count(*) FILTER (WHERE email LIKE 'a%') AS n "
                       "FROM shop.customers c GROUP BY country HAVING count(DISTINCT c.id) >= 10"),
    ("unguarded", "SELECT country, count(*) AS n FROM shop.customers GROUP BY country"),
], ids=lambda value: value if " " not in value else "")
def test_forged_or_lost_keys_make_the_copy_unreadable_for_support(stock, name, query):
    run(stock, "mark", f"CREATE TABLE sandbox.forged_{name.replace('-', '_')} AS {query}")
    refused(stock, "sam", f"SELECT * FROM sandbox.forged_{name.replace('-', '_')}")


def test_aggregates_over_at_least_k_customers_are_readable(stock):
    run(stock, "mark", "CREATE TABLE sandbox.per_country AS SELECT c.country, count(*) AS n, "
        "sum(o.total_cents) AS revenue FROM shop.customers c JOIN shop.orders o "
        "ON o.customer_id = c.id GROUP BY c.country HAVING count(DISTINCT c.id) >= 10")
    rows = run(stock, "sam", "SELECT country, n FROM sandbox.per_country ORDER BY country")
    assert rows and all(n >= 10 for _, n in rows)
    assert "DE" in {country for country, _ in rows}
    # below support's k (10 customers) is no aggregate for it
    run(stock, "mark", "CREATE TABLE sandbox.small_groups AS SELECT country, count(*) AS n "
        "FROM shop.customers c GROUP BY country HAVING count(DISTINCT c.id) >= 5")
    error = refused(stock, "sam", "SELECT * FROM sandbox.small_groups")
    assert "at least 10" in error.diag.message_primary


def test_derived_of_derived_keeps_the_row_policy(stock):
    run(stock, "ana", "CREATE TABLE sandbox.all_customers AS "
        "SELECT id, email, country FROM shop.customers")
    run(stock, "ana", "CREATE TABLE sandbox.second AS SELECT id, email FROM sandbox.all_customers")
    assert {r[0] for r in run(stock, "sam", "SELECT id FROM sandbox.second")} == DE_IDS
    assert {r[0] for r in run(stock, "mark", "SELECT id FROM sandbox.second")} == CONSENTING_IDS
    run(stock, "ana", "CREATE TABLE sandbox.second_nokey AS "
        "SELECT email FROM sandbox.all_customers")
    refused(stock, "sam", "SELECT * FROM sandbox.second_nokey")
    refused(stock, "mark", "SELECT * FROM sandbox.second_nokey")


def test_insert_select_into_another_purposes_table_makes_its_policy_stricter(stock):
    run(stock, "ana", "CREATE TABLE sandbox.shared AS SELECT id, country FROM shop.customers "
        "WHERE country = 'DE'")
    assert len(run(stock, "sam", "SELECT * FROM sandbox.shared")) == len(DE_IDS)
    # marketing adds rows whose key it computed: the whole table lost the key
    run(stock, "mark", "INSERT INTO sandbox.shared SELECT id + 0, country FROM shop.customers")
    refused(stock, "sam", "SELECT * FROM sandbox.shared")
    # a faithful key keeps the table readable, filtered
    run(stock, "ana", "CREATE TABLE sandbox.shared2 AS SELECT id, country FROM shop.customers "
        "WHERE false")
    run(stock, "mark", "INSERT INTO sandbox.shared2 SELECT id, country FROM shop.customers")
    rows = run(stock, "sam", "SELECT id, country FROM sandbox.shared2")
    assert {r[0] for r in rows} == DE_IDS & CONSENTING_IDS


def test_temporary_tables_are_refused(stock):
    refused(stock, "mark", "CREATE TEMPORARY TABLE t AS SELECT id, email FROM shop.customers",
            "0A000")
    refused(stock, "mark", "SELECT id, email INTO TEMP t FROM shop.customers", "0A000")
    refused(stock, "mark", "CREATE TEMP TABLE sandbox.t AS SELECT id FROM shop.customers",
            "0A000")


def test_select_into_and_if_not_exists_record_the_row_policy(stock):
    run(stock, "mark", "SELECT email, country INTO sandbox.into_nokey FROM shop.customers")
    refused(stock, "sam", "SELECT * FROM sandbox.into_nokey")
    run(stock, "mark", "SELECT id, email INTO sandbox.into_keyed FROM shop.customers")
    rows = run(stock, "sam", "SELECT id, email FROM sandbox.into_keyed")
    assert {r[0] for r in rows} == DE_IDS & CONSENTING_IDS
    run(stock, "mark", "CREATE TABLE IF NOT EXISTS sandbox.ine AS "
        "SELECT email, country FROM shop.customers")
    refused(stock, "sam", "SELECT * FROM sandbox.ine")


def test_if_not_exists_never_relabels_an_existing_table(stock):
    run(stock, "mark", "CREATE TABLE sandbox.raw_emails AS SELECT id, email FROM shop.customers")
    with _connect(stock.proxy, "ana") as conn:
        with pytest.raises(errors.DuplicateTable):
            conn.execute("CREATE TABLE IF NOT EXISTS sandbox.raw_emails AS "
                         "SELECT 1 AS id, 'x' AS email")
    rows = run(stock, "ana", "SELECT email FROM sandbox.raw_emails")
    no_emails(rows, [c["email"] for c in CUSTOMERS])


def test_subject_filters_follow_the_customer_into_every_table(custom):
    de_orders = [o for o in ORDERS if o["customer_id"] in DE_IDS]
    assert run(custom, "sam", "SELECT count(*) FROM shop.orders") == [(len(de_orders),)]
    assert run(custom, "sam", "SELECT count(*) FROM shop.web_events "
               f"WHERE customer_id = {CANARY_ID}") == [(0,)]
    run(custom, "mark", "CREATE TABLE sandbox.orders_copy AS "
        "SELECT customer_id, total_cents FROM shop.orders")
    rows = run(custom, "sam", "SELECT customer_id FROM sandbox.orders_copy")
    assert {r[0] for r in rows} == {o["customer_id"] for o in de_orders}
    run(custom, "mark", "CREATE TABLE sandbox.orders_nokey AS SELECT total_cents FROM shop.orders")
    error = refused(custom, "sam", "SELECT * FROM sandbox.orders_nokey")
    assert "shop.orders.customer_id" in error.diag.message_primary
    run(custom, "mark", "CREATE TABLE sandbox.orders_agg AS SELECT o.status, count(*) AS n "
        "FROM shop.orders o GROUP BY o.status HAVING count(DISTINCT o.customer_id) >= 10")
    assert run(custom, "sam", "SELECT count(*) FROM sandbox.orders_agg")[0][0] > 0


def test_copy_from_and_update_into_a_keyed_table(custom):
    run(custom, "mark", "CREATE TABLE sandbox.loaded AS SELECT id, email FROM shop.customers")
    fr = next(c for c in CUSTOMERS if c["country"] == "FR" and c["marketing_consent"])
    # COPY rows are the writer's own: they carry a key like any row and are filtered by it
    with _connect(custom.proxy, "mark") as conn:
        with conn.cursor().copy("COPY sandbox.loaded (id, email) FROM STDIN") as copy:
            copy.write_row((fr["id"], "typed-by-mark@example.test"))
    rows = run(custom, "sam", "SELECT id, email FROM sandbox.loaded")
    assert {r[0] for r in rows} == DE_IDS & CONSENTING_IDS
    no_emails(rows, NOT_DE_EMAILS + ["typed-by-mark@example.test"])
    # UPDATE that rewrites the key forges it: the table loses the key for everyone
    run(custom, "mark", f"UPDATE sandbox.loaded SET id = {A_DE_CONSENTING_ID} WHERE id > 0")
    refused(custom, "sam", "SELECT * FROM sandbox.loaded")


# --- the dictionary oracle -----------------------------------------------------------------------

GUESS = CANARY_EMAIL  # the attacker's (right) guess of the canary's email
JOIN = ("SELECT count(*) FROM sandbox.{t} g JOIN shop.customers c ON c.email = g.email "
        f"WHERE c.id = {CANARY_ID}")


@pytest.mark.parametrize(("name", "statements"), [
    ("union", [f"CREATE TABLE sandbox.o_union AS SELECT email FROM shop.customers WHERE false "
               f"UNION ALL SELECT '{GUESS}'"]),
    ("values", ["CREATE TABLE sandbox.o_values AS SELECT email FROM shop.customers WHERE false",
                f"INSERT INTO sandbox.o_values VALUES ('{GUESS}')"]),
    ("insert-select", ["CREATE TABLE sandbox.o_insert_select AS SELECT email FROM shop.customers "
                       "WHERE false",
                       f"INSERT INTO sandbox.o_insert_select SELECT '{GUESS}'"]),
    ("case", [f"CREATE TABLE sandbox.o_case AS SELECT CASE WHEN id = {CANARY_ID} THEN '{GUESS}' "
              "ELSE email END AS email FROM shop.customers"]),
    ("coalesce", [f"CREATE TABLE sandbox.o_coalesce AS SELECT coalesce(nullif(email, email), "
                  f"'{GUESS}') AS email FROM shop.customers WHERE id = {CANARY_ID}"]),
], ids=lambda value: value if isinstance(value, str) else "")
def test_guesses_written_next_to_hashes_are_never_hashed(stock, name, statements):
    """analytics reads email hashed; what it writes into an email column is stored as it saw
    it and read back as stored: the guess stays a guess, never H(guess) = H(canary)."""
    for sql in statements:
        run(stock, "ana", sql)
    target = f"o_{name.replace('-', '_')}"
    assert run(stock, "ana", JOIN.format(t=target)) == [(0,)]


def test_guesses_as_parameters_and_copy_rows_are_never_hashed(custom):
    run(custom, "ana", "CREATE TABLE sandbox.o_params AS SELECT email FROM shop.customers "
        "WHERE false")
    run(custom, "ana", "INSERT INTO sandbox.o_params VALUES (%s)", (GUESS,))
    with _connect(custom.proxy, "ana") as conn:
        with conn.cursor().copy("COPY sandbox.o_params (email) FROM STDIN") as copy:
            copy.write_row((GUESS,))
        csv = io.StringIO(f"email\n{GUESS}\n")
        with conn.cursor().copy("COPY sandbox.o_params (email) FROM STDIN "
                                "WITH (FORMAT csv, HEADER)") as copy:
            copy.write(csv.getvalue())
    assert run(custom, "ana", JOIN.format(t="o_params")) == [(0,)]
    assert run(custom, "ana", "SELECT count(*) FROM sandbox.o_params") == [(3,)]


def test_hashed_copies_still_join_with_the_hashed_originals(stock):
    """Masked once at rest, not twice: analytics' copy of hashed emails joins with customers."""
    run(stock, "ana", "CREATE TABLE sandbox.hashes AS SELECT id, email FROM shop.customers")
    got = run(stock, "ana", "SELECT count(*) FROM sandbox.hashes g JOIN shop.customers c "
              "ON c.email = g.email AND c.id = g.id")
    assert got == [(len(CUSTOMERS) + 1,)]  # the demo customers and the canary


def test_raw_copies_with_guesses_are_never_read_hashed(stock):
    """marketing writes a guess next to raw emails; analytics (mark has it too) would hash the
    guess on read: refused, for mark under analytics and for ana alike."""
    run(stock, "mark", "CREATE TABLE sandbox.o_raw AS SELECT email FROM shop.customers "
        "WHERE false")
    run(stock, "mark", f"INSERT INTO sandbox.o_raw VALUES ('{GUESS}')")
    refused(stock, "mark", JOIN.format(t="o_raw") + " /*purpose='analytics'*/")
    error = refused(stock, "ana", JOIN.format(t="o_raw"))
    assert "may hold values a user wrote" in error.diag.message_primary
    # a plain raw copy (no chosen value) is still readable, hashed
    run(stock, "mark", "CREATE TABLE sandbox.raw_plain AS SELECT id, email FROM shop.customers")
    rows = run(stock, "ana", "SELECT email FROM sandbox.raw_plain")
    assert rows and all(len(r[0]) == 64 for r in rows)


def test_no_purpose_writes_into_a_column_held_differently(stock):
    run(stock, "ana", "CREATE TABLE sandbox.ana_hashes AS SELECT email FROM shop.customers "
        "WHERE false")
    error = refused(stock, "mark", f"INSERT INTO sandbox.ana_hashes VALUES ('{GUESS}')")
    assert "masked (hash)" in error.diag.message_primary
    refused(stock, "mark", "INSERT INTO sandbox.ana_hashes SELECT email FROM shop.customers")
    run(stock, "mark", "CREATE TABLE sandbox.mark_raw AS SELECT email FROM shop.customers")
    refused(stock, "ana", "INSERT INTO sandbox.mark_raw SELECT email FROM shop.customers")
