"""Error channels: no error may depend on a value the policy suppresses.

A warehouse error (overflow, date out of range, division by zero, a failing cast, a bad
regular expression...) is one bit: whether some expression failed on some value. If a user
expression runs on a value its guard should have suppressed (a row the row filter hides, the
raw value under a mask, a group smaller than k), that bit tells the value, and a binary search
recovers it in a few statements. Each case below is a statement template over a guess of a
canary's protected value; running it with the right guess and with wrong ones must give the
same outcome (the same rows, or the same SQLSTATE), on both warehouses, whatever the guard:

    k groups      ana (analytics): birth_date aggregate-only, k = 10; the canary alone
    row filters   mark (marketing): consenting customers only; sam (support): DE only;
                  the canary is an FR customer without consent
    predicate     mark: birth_date predicate-only (behind the row filter above)
    masks         ana: email hashed, name redacted; fran (fraud): birth_date year, phone and
                  card last4, email hashed

Uses the canary warehouses and proxies of tests/test_adversarial.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.test_adversarial import (  # noqa: F401  (canary is a fixture)
    CANARY_EPOCH,
    CANARY_ID,
    DE_COUNT,
    ISO_DATE,
    PURPOSE,
    _connect,
    _error_text,
    assert_no_canary,
    canary,
)

pytestmark = pytest.mark.timeout(120)

C = CANARY_ID
Y = "extract(year FROM birth_date)"
S = f"sum({Y})"  # over the canary alone: its birth year, if the k guard let it through
ONE = f"FROM shop.customers WHERE id = {C}"
YEARS = ("1910", "1911", "1912")  # the canary was born in 1911
DATES = ("1911-11-10", "1911-11-11", "1911-11-12")  # ... on 1911-11-11
EMAIL = ("canary-email@evil.test", "somebody@example.com")
PHONE = ("+00 CANARY-PHONE", "+49 000")
CARD = ("4111CANARY1111", "4111000000001111")
TEXT = ("CANARY-FREE-TEXT", "hello")
NAME = ("Canary Name", "Somebody Else")
EMAIL_IS = "email = '{g}'"
BIRTH_IS = "birth_date = DATE '{g}'"
PHONE_IS = "phone = '{g}'"
NAME_IS = "full_name = '{g}'"


@dataclass(frozen=True)
class Case:
    id: str
    user: str
    template: str  # {g}: the guess
    guesses: tuple[str, ...]


def _k(id: str, template: str, guesses: tuple[str, ...] = YEARS) -> Case:
    return Case(f"k-{id}", "ana", template, guesses)


def _raise_if(condition: str, family: str) -> str:
    """An expression that raises an error of `family` exactly when `condition` holds."""
    def when(bad: str, good: str) -> str:
        return f"CASE WHEN {condition} THEN {bad} ELSE {good} END"
    return {
        "22012": "1 / " + when("0", "1"),
        "22P02": when("'x'", "'1'") + "::int",
        "22007": when("'20x0-01-01'", "'2020-01-01'") + "::date",
        "22008": "make_date(2020, " + when("13", "1") + ", 1)",
        "2201B": "'a' ~ " + when("'('", "'a'"),
        "22003": when("3000000000", "1") + "::int",
        "22023": "date_trunc(" + when("'nonsense'", "'year'") + ", TIMESTAMP '2020-01-01')",
        "2202E": "'{{1,2}}'::int[] || " + when("'{{1}}'::int[]", "'{{3,4}}'::int[]"),
        "22011": "substring('abc', 1, " + when("-1", "1") + ")",
        "22026": when("B'1'", "B'11'") + " & B'11'",
    }[family]


FAMILIES = ("22012", "22P02", "22007", "22008", "2201B", "22003", "22023", "2202E", "22011",
            "22026")

CASES: list[Case] = [
    # --- k groups: aggregate arguments are evaluated on every row, before HAVING ------------
    _k("arg-overflow", f"SELECT sum(({Y} - {{g}} + 1000) * 9223372036854775) {ONE}"),
    _k("arg-overflow-bigint", f"SELECT sum(({Y} - {{g}})::bigint * 9223372036854775807) {ONE}"),
    _k("arg-interval-pg", f"SELECT count(birth_date + interval '1 year' * (294276 - {{g}})) {ONE}"),
    _k("arg-interval-duckdb",
       f"SELECT count(birth_date + interval '1 year' * (294247 - {{g}})) {ONE}"),
    _k("arg-date-plus-int", f"SELECT count(birth_date + (5874897 - {{g}}) * 365) {ONE}"),
    _k("arg-division", f"SELECT sum(1 / ({Y} - {{g}})) {ONE}"),
    _k("arg-negate", f"SELECT sum(-({Y} - {{g}})) {ONE}"),
    _k("arg-cast", f"SELECT sum(({Y} - {{g}} + 32767)::smallint) {ONE}"),
    _k("arg-date_trunc-unit", f"SELECT count(date_trunc('nonsense', birth_date)) {ONE}"),
    _k("arg-extract-unit", f"SELECT sum(extract(hour FROM birth_date)) {ONE}"),
    _k("arg-quoted-unit", f"SELECT sum(extract('hour' FROM birth_date)) {ONE}"),
    _k("arg-date_part-unit", f"SELECT sum(date_part('timezone', birth_date)) {ONE}"),
    _k("arg-literal", f"SELECT sum(extract(year FROM birth_date) + 0 * {{g}}) {ONE}"),
    _k("arg-epoch-arith",
       f"SELECT sum(extract(epoch FROM birth_date) * 1e300 * 1e10) {ONE}", (str(CANARY_EPOCH),)),
    _k("having", f"SELECT count(*) {ONE} HAVING 1 / ({S} - {{g}}) > 0"),
    _k("having-or", f"SELECT count(*) {ONE} HAVING count(*) > 5 OR 1 / ({S} - {{g}}) > 0"),
    _k("having-group-by",
       f"SELECT country, count(*) FROM shop.customers WHERE id = {C} GROUP BY country "
       f"HAVING 1 / ({S} - {{g}}) > 0"),
    _k("projection", f"SELECT 1 / ({S} - {{g}}) {ONE}"),
    _k("projection-avg-epoch",
       f"SELECT 1 / (avg(extract(epoch FROM birth_date)) - {{g}}) {ONE}",
       (str(CANARY_EPOCH), str(CANARY_EPOCH + 86400))),
    _k("order-by", f"SELECT count(*) {ONE} ORDER BY 1 / ({S} - {{g}})"),
    _k("order-by-limit",
       f"SELECT country FROM shop.customers WHERE id = {C} GROUP BY country "
       f"ORDER BY 1 / ({S} - {{g}}) LIMIT 1"),
    _k("outer-where", f"SELECT 1 FROM (SELECT {S} AS s {ONE}) t WHERE 1 / (t.s - {{g}}) > 0"),
    _k("outer-where-cte",
       f"WITH t AS (SELECT {S} AS s {ONE}) SELECT count(*) FROM t WHERE 1 / (s - {{g}}) = 1"),
    _k("outer-projection", f"SELECT 1 / (s - {{g}}) FROM (SELECT {S} AS s {ONE}) t"),
    _k("outer-join",
       f"SELECT count(*) FROM (SELECT {S} AS s {ONE}) t JOIN shop.products p "
       f"ON 1 / (t.s - {{g}}) = 1"),
    _k("scalar-subquery", f"SELECT (SELECT 1 / ({S} - {{g}}) {ONE})"),
    _k("scalar-subquery-where",
       f"SELECT count(*) FROM shop.products WHERE 1 / ((SELECT {S} {ONE}) - {{g}}) = 1"),
    _k("correlated-outer-aggregate",
       "SELECT (SELECT 1 / (sum(extract(year FROM c.birth_date)) - {g}) FROM shop.products "
       f"LIMIT 1) FROM shop.customers c WHERE c.id = {C}"),
    _k("having-scalar-subquery",
       f"SELECT count(*) {ONE} HAVING (SELECT 1 / ({S} - {{g}})) > 0"),
    _k("having-exists",
       f"SELECT count(*) {ONE} HAVING EXISTS (SELECT 1 WHERE 1 / ({S} - {{g}}) > 0)"),
    _k("projection-subquery-outer-aggregate",
       "SELECT (SELECT 1 / (sum(extract(year FROM c.birth_date)) - {g})) "
       f"FROM shop.customers c WHERE c.id = {C}"),
    _k("nested-derived",
       f"SELECT 1 / (s - {{g}}) FROM (SELECT s FROM (SELECT {S} AS s {ONE}) a) b"),
    _k("two-tables",
       "SELECT 1 / (sum(extract(year FROM c.birth_date)) - {g}) FROM shop.customers c "
       f"JOIN shop.orders o ON o.customer_id = c.id WHERE c.id = {C}"),
    _k("self-join-duplicates",
       "SELECT 1 / (avg(extract(year FROM a.birth_date)) - {g}) FROM shop.customers a "
       f"JOIN shop.customers b ON b.country = a.country WHERE a.id = {C}"),
    _k("window-over-aggregate", f"SELECT sum(1 / ({S} - {{g}})) OVER () {ONE}"),
    _k("window-order-by-aggregate",
       f"SELECT rank() OVER (ORDER BY 1 / ({S} - {{g}})) {ONE}"),
    _k("rollup",
       f"SELECT country, 1 / ({S} - {{g}}) FROM shop.customers WHERE id = {C} "
       "GROUP BY ROLLUP (country)"),
    _k("grouping-sets",
       f"SELECT country, 1 / ({S} - {{g}}) FROM shop.customers WHERE id = {C} "
       "GROUP BY GROUPING SETS ((country), ())"),
    _k("cube",
       f"SELECT country, id, count(*) FROM shop.customers WHERE id = {C} "
       f"GROUP BY CUBE (country, id) HAVING 1 / ({S} - {{g}}) > 0"),
    _k("distinct-aggregate", f"SELECT 1 / (sum(DISTINCT {Y}) - {{g}}) {ONE}"),
    _k("count-distinct", f"SELECT 1 / (count(DISTINCT {Y}) - 1 + 1911 - {{g}}) {ONE}"),
    _k("select-distinct", f"SELECT DISTINCT 1 / ({S} - {{g}}) {ONE}"),
    _k("union", f"SELECT 1 / ({S} - {{g}}) {ONE} UNION ALL SELECT 1"),
    _k("in-subquery",
       f"SELECT count(*) FROM shop.products WHERE id IN (SELECT 1 / ({S} - {{g}}) {ONE})"),
    _k("limit-subquery",
       f"SELECT id FROM shop.products LIMIT (SELECT ({S} - {{g}})::int {ONE})"),
    *(_k(f"projection-{family}", f"SELECT {_raise_if(f'{S} = {{g}}', family)} {ONE}")
      for family in FAMILIES),
    *(_k(f"having-{family}",
         f"SELECT count(*) {ONE} HAVING {_raise_if(f'{S} = {{g}}', family)} IS NOT NULL")
      for family in FAMILIES),

    # --- row filters: no user expression runs on a hidden row ------------------------------
    *(Case(f"rowfilter-support-where-{family}", "sam",
           f"SELECT count(*) FROM shop.customers WHERE ({_raise_if(EMAIL_IS, family)})"
           " IS NOT NULL", EMAIL) for family in FAMILIES),
    *(Case(f"rowfilter-marketing-where-{family}", "mark",
           f"SELECT count(*) FROM shop.customers WHERE ({_raise_if(EMAIL_IS, family)})"
           " IS NOT NULL", EMAIL) for family in ("22012", "22P02")),
    Case("rowfilter-support-id", "sam",
         f"SELECT count(*) FROM shop.customers WHERE id = {C} AND 1 / (CASE WHEN email = '{{g}}' "
         "THEN 0 ELSE 1 END) = 1", EMAIL),
    Case("rowfilter-support-self-join", "sam",
         "SELECT count(*) FROM shop.customers a JOIN shop.customers b ON a.id = b.id "
         "WHERE 1 / (CASE WHEN b.email = '{g}' THEN 0 ELSE 1 END) = 1", EMAIL),
    Case("rowfilter-support-cross-join", "sam",
         "SELECT count(*) FROM shop.customers a, shop.customers b "
         "WHERE (CASE WHEN a.email = '{g}' THEN 'x' ELSE '1' END)::int = 1 "
         "AND (CASE WHEN b.email = '{g}' THEN 'x' ELSE '1' END)::int = 1 AND a.id = b.id", EMAIL),
    Case("rowfilter-support-join-on", "sam",
         "SELECT count(*) FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id "
         "AND 1 / (CASE WHEN c.email = '{g}' THEN 0 ELSE 1 END) = 1", EMAIL),
    Case("rowfilter-support-exists", "sam",
         "SELECT count(*) FROM shop.orders o WHERE EXISTS (SELECT 1 FROM shop.customers c "
         "WHERE c.id = o.customer_id AND 1 / (CASE WHEN c.email = '{g}' THEN 0 ELSE 1 END) = 1)",
         EMAIL),
    Case("rowfilter-support-in", "sam",
         "SELECT count(*) FROM shop.orders WHERE customer_id IN (SELECT id FROM shop.customers "
         "WHERE (CASE WHEN email = '{g}' THEN 'x' ELSE '1' END)::int = 1)", EMAIL),
    Case("rowfilter-support-lateral", "sam",
         "SELECT count(*) FROM shop.orders o, LATERAL (SELECT id FROM shop.customers c "
         "WHERE c.id = o.customer_id AND 1 / (CASE WHEN c.email = '{g}' THEN 0 ELSE 1 END) = 1) "
         "AS x", EMAIL),
    Case("rowfilter-support-aggregate", "sam",
         "SELECT sum(1 / (CASE WHEN email = '{g}' THEN 0 ELSE 1 END)) FROM shop.customers", EMAIL),
    Case("rowfilter-support-group-by", "sam",
         "SELECT count(*) FROM shop.customers GROUP BY 1 / (CASE WHEN email = '{g}' THEN 0 "
         "ELSE 1 END)", EMAIL),
    Case("rowfilter-support-order-by", "sam",
         "SELECT id FROM shop.customers ORDER BY (CASE WHEN email = '{g}' THEN 'x' ELSE '1' "
         "END)::int LIMIT 1", EMAIL),
    Case("rowfilter-support-window", "sam",
         "SELECT count(*) OVER (PARTITION BY 1 / (CASE WHEN email = '{g}' THEN 0 ELSE 1 END)) "
         "FROM shop.customers LIMIT 1", EMAIL),
    Case("rowfilter-support-distinct-on", "sam",
         "SELECT DISTINCT ON (1 / (CASE WHEN email = '{g}' THEN 0 ELSE 1 END)) id "
         "FROM shop.customers", EMAIL),
    Case("rowfilter-support-cte", "sam",
         "WITH x AS (SELECT * FROM shop.customers) SELECT count(*) FROM x "
         "WHERE 1 / (CASE WHEN email = '{g}' THEN 0 ELSE 1 END) = 1", EMAIL),
    Case("rowfilter-support-union", "sam",
         "SELECT count(*) FROM (SELECT email FROM shop.customers UNION ALL "
         "SELECT email FROM shop.customers) u WHERE 1 / (CASE WHEN email = '{g}' THEN 0 "
         "ELSE 1 END) = 1", EMAIL),
    Case("rowfilter-support-tickets", "sam",
         "SELECT count(*) FROM shop.support_tickets WHERE 1 / (CASE WHEN body = '{g}' "
         "THEN 0 ELSE 1 END) = 1", TEXT),
    Case("rowfilter-support-tickets-cast", "sam",
         "SELECT count(*) FROM shop.support_tickets WHERE (CASE WHEN body = '{g}' "
         "THEN 'x' ELSE '1' END)::int = 1", TEXT),
    Case("rowfilter-support-name-cast", "sam",
         "SELECT count(*) FROM shop.customers WHERE (CASE WHEN full_name = '{g}' "
         "THEN 'x' ELSE '1' END)::int = 1", NAME),
    Case("rowfilter-marketing-id", "mark",
         f"SELECT count(*) FROM shop.customers WHERE id = {C} AND 1 / (CASE WHEN email = '{{g}}'"
         " THEN 0 ELSE 1 END) = 1", EMAIL),
    Case("rowfilter-marketing-self-join", "mark",
         "SELECT count(*) FROM shop.customers a JOIN shop.customers b ON a.id = b.id "
         "WHERE (CASE WHEN b.email = '{g}' THEN 'x' ELSE '1' END)::int = 1", EMAIL),

    # --- predicate-only (marketing's birth_date), behind its row filter --------------------
    *(Case(f"predicate-marketing-{family}", "mark",
           "SELECT count(*) FROM shop.customers WHERE "
           f"({_raise_if(BIRTH_IS, family)}) IS NOT NULL", DATES)
      for family in FAMILIES),
    Case("predicate-marketing-threshold", "mark",
         "SELECT count(*) FROM shop.customers WHERE birth_date + interval '1 year' * "
         "(294276 - {g}) > DATE '2000-01-01'", YEARS),
    Case("predicate-marketing-join", "mark",
         "SELECT count(*) FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id "
         "AND 1 / (CASE WHEN c.birth_date = DATE '{g}' THEN 0 ELSE 1 END) = 1", DATES),
    Case("predicate-marketing-having", "mark",
         "SELECT country FROM shop.customers GROUP BY country "
         "HAVING count(*) FILTER (WHERE 1 / (CASE WHEN birth_date = DATE '{g}' THEN 0 ELSE 1 "
         "END) = 1) > 0", DATES),

    # --- masks: user expressions only ever see the masked value ---------------------------
    *(Case(f"mask-fraud-birth_date-{family}", "fran",
           f"SELECT count(*) {ONE} AND ({_raise_if(BIRTH_IS, family)})"
           " IS NOT NULL", DATES) for family in FAMILIES),
    *(Case(f"mask-fraud-phone-{family}", "fran",
           f"SELECT ({_raise_if(PHONE_IS, family)}) IS NOT NULL {ONE}", PHONE)
      for family in ("22012", "22P02", "2201B")),
    *(Case(f"mask-analytics-email-{family}", "ana",
           f"SELECT count(*) {ONE} AND ({_raise_if(EMAIL_IS, family)}) IS NOT NULL",
           EMAIL) for family in ("22012", "22P02", "22008")),
    Case("mask-analytics-name", "ana",
         f"SELECT ({_raise_if(NAME_IS, '22012')}) {ONE}", NAME),
    Case("mask-fraud-card", "fran",
         "SELECT count(*) FROM shop.payments WHERE (CASE WHEN card_number = '{g}' "
         "THEN 'x' ELSE '1' END)::int = 1", CARD),
    Case("mask-fraud-card-prefix", "fran",
         f"SELECT 1 / (CASE WHEN left(card_number, 4) = left('{{g}}', 4) THEN 0 ELSE 1 END) "
         f"FROM shop.payments WHERE id = {C}", CARD),
    Case("mask-fraud-birth_date-aggregate", "fran",
         f"SELECT sum(1 / (CASE WHEN birth_date = DATE '{{g}}' THEN 0 ELSE 1 END)) {ONE}",
         DATES),
    Case("mask-fraud-birth_date-group-by", "fran",
         f"SELECT count(*) {ONE} GROUP BY 1 / (CASE WHEN birth_date = DATE '{{g}}' THEN 0 "
         "ELSE 1 END)", DATES),
    Case("mask-fraud-birth_date-join", "fran",
         "SELECT count(*) FROM shop.customers a JOIN shop.customers b ON a.id = b.id "
         f"AND a.id = {C} AND 1 / (CASE WHEN b.birth_date = DATE '{{g}}' THEN 0 ELSE 1 END) = 1",
         DATES),
    Case("mask-fraud-birth_date-interval", "fran",
         f"SELECT count(*) {ONE} AND birth_date + interval '1 day' * "
         "(106751 - (DATE '{g}' - DATE '1970-01-01')) > DATE '2000-01-01'", DATES),
]


def _outcome(canary, user: str, sql: str) -> tuple[str, Any]:
    """The rows, or the SQLSTATE; the error's text must not carry a canary either."""
    with _connect(canary, user, PURPOSE[user]) as conn:
        try:
            rows = conn.execute(sql).fetchall()
        except psycopg.Error as error:
            assert_no_canary(canary, user, _error_text(error))
            return error.sqlstate or "?", None
    assert_no_canary(canary, user, repr(rows))
    return "rows", sorted(rows, key=repr)  # the order of unordered rows may vary


@pytest.mark.parametrize("sql", [
    "SELECT sum(extract(year FROM birth_date)) - 1000 * count(*) FROM shop.customers",
    "SELECT avg(extract('epoch' FROM birth_date)) FROM shop.customers",
    "SELECT sum(date_part('month', birth_date)) FROM shop.customers",
    "SELECT count(DISTINCT extract(decade FROM birth_date)) FROM shop.customers",
    "SELECT avg(extract(quarter FROM birth_date)) FROM shop.customers",
    "SELECT count(birth_date) FROM shop.customers",
])
def test_the_allowed_aggregate_forms_still_answer(canary, sql):
    """What aggregate_only keeps allowing runs on both warehouses and returns a value."""
    with _connect(canary, "ana") as conn:
        ((value,),) = conn.execute(sql).fetchall()
    assert value is not None and value > 0


@pytest.mark.parametrize("sql", [
    f"SELECT count(*) {ONE} HAVING 1 / ({S} - %s) > 0",
    f"SELECT 1 / ({S} - %s) {ONE}",
    f"SELECT 1 FROM (SELECT {S} AS s {ONE}) t WHERE 1 / (t.s - %s) > 0",
], ids=["having", "projection", "outer-where"])
def test_parameters_are_no_error_oracle_for_the_k_guard(canary, sql):
    """The guess as a bound parameter (extended protocol) instead of a literal."""
    outcomes = set()
    for guess in (1910, 1911, 1912):
        with _connect(canary, "ana") as conn:
            try:
                outcomes.add(repr(conn.execute(sql, (guess,), prepare=True).fetchall()))
            except psycopg.Error as error:
                outcomes.add(error.sqlstate or "?")
    assert len(outcomes) == 1, outcomes


# What each family's failing branch raises, per warehouse (None: DuckDB does not fail there;
# "n/a": the expression cannot be written for that warehouse, both branches fail alike).
RAISED = {
    "duckdb": {"22012": "22012", "22P02": "22P02", "22007": "22P02", "22008": "22003",
               "2201B": "22023", "22003": "22003", "22023": "22P02", "2202E": "n/a",
               "22011": None, "22026": None},
    "postgres": {family: family for family in FAMILIES},
}


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_raises_when_its_condition_holds(canary, request, family):
    """The cases prove something only if their failing branch does fail (and the other not)."""
    warehouse = request.node.callspec.params["canary"]
    if RAISED[warehouse][family] == "n/a":
        pytest.skip(f"{warehouse} has no expression of this family")
    assert _outcome(canary, "ana", f"SELECT ({_raise_if('false', family)}) IS NOT NULL") == (
        "rows", [(True,)])
    state, _ = _outcome(canary, "ana", f"SELECT ({_raise_if('true', family)}) IS NOT NULL")
    assert state == (RAISED[warehouse][family] or "rows")


def test_cases_are_distinct():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert all(len(case.guesses) >= 1 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_error_depends_on_a_suppressed_value(canary, case):
    outcomes = {guess: _outcome(canary, case.user, case.template.format(g=guess))
                for guess in case.guesses}
    assert len(set(map(repr, outcomes.values()))) == 1, f"outcome depends on the guess: {outcomes}"


# --- the row filter's value fence, without relying on the order of evaluation ----------------


def _unfiltered_policy_rows(user: str, table: str) -> str:
    """The body of `user`'s policy CTE for `table` with its WHERE removed: what a predicate
    would see if the warehouse evaluated it before the row filter."""
    import sqlglot

    from proxy.check import check
    from proxy.policy import load_deployment
    from proxy.policy.decision import Allow

    repo = Path(__file__).resolve().parents[1]
    deployment = load_deployment(repo / "catalog", repo / "policies")
    (decision,) = check(deployment, user, None, f"SELECT count(*) FROM {table}")
    assert isinstance(decision, Allow)
    (cte,) = sqlglot.parse_one(decision.sql, read="postgres").args["with_"].expressions
    assert cte.args.get("materialized") is True
    body = cte.this.copy()
    body.set("where", None)
    return body.sql(dialect="postgres")


FENCED = [
    ("sam", "shop.customers", "country <> 'DE'",
     "id IS NULL AND email IS NULL AND full_name IS NULL AND birth_date IS NULL "
     "AND country IS NULL AND marketing_consent IS NULL AND created_at IS NULL"),
    ("mark", "shop.customers", "marketing_consent IS NOT TRUE",
     "id IS NULL AND email IS NULL AND birth_date IS NULL AND marketing_consent IS NULL"),
    ("sam", "shop.support_tickets",
     "customer_id NOT IN (SELECT id FROM shop.customers WHERE country = 'DE')",
     "id IS NULL AND customer_id IS NULL AND body IS NULL AND opened_at IS NULL"),
]


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres"])
@pytest.mark.parametrize(("user", "table", "hidden", "all_null"), FENCED,
                         ids=[f"{u}-{t}" for u, t, _, _ in FENCED])
def test_hidden_rows_are_all_null_even_before_the_row_filter(
        warehouse, user, table, hidden, all_null, tmp_path_factory):
    """A row-filtered policy CTE shows a hidden row's every column as NULL, so a predicate the
    warehouse evaluates on it before the filter (DuckDB pushes predicates into MATERIALIZED
    CTEs) can neither fail nor succeed differently because of its values."""
    body = _unfiltered_policy_rows(user, table)
    sql = (f"SELECT count(*) FILTER (WHERE {all_null}), count(*) FROM ({body}) AS everything")
    expected_sql = f"SELECT count(*) FROM {table} WHERE {hidden}"
    if warehouse == "duckdb":
        import duckdb

        from proxy.backends.duckdb.transpile import transpile
        from proxy.demo.data import load_into_duckdb

        con = duckdb.connect()
        load_into_duckdb(con)
        (hidden_count,) = con.execute(expected_sql).fetchone()
        nulls, total = con.execute(transpile(sql).duckdb_sql).fetchone()
    else:
        from tests.support.postgres import ClusterUnavailable
        from tests.support.warehouses import demo_postgres

        try:
            context = demo_postgres(tmp_path_factory.mktemp("fence-pg"))
            demo = context.__enter__()
        except ClusterUnavailable as exc:
            pytest.skip(str(exc))
        try:
            with psycopg.connect(demo.admin_conninfo) as conn:
                (hidden_count,) = conn.execute(expected_sql).fetchone()
                nulls, total = conn.execute(sql).fetchone()
        finally:
            context.__exit__(None, None, None)
    assert hidden_count > 0
    assert nulls == hidden_count, "a hidden row shows a value to predicates run before the filter"
    assert total > hidden_count
