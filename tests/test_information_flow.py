"""Control flow is flow: implicit paths from protected columns to the output, on both warehouses.

A predicate-only column (birth_date for marketing) may select rows: compared with constants or
parameters in the outermost query's WHERE / inner JOIN ... ON / HAVING, on one table of the
statement. Everything else a condition does with it (binding another relation's column that
reaches the output, deciding a subquery's value, an EXISTS bit, a FILTER, a set-operation
branch, an outer join's NULL-extension, a second relation's rows) tells more than one bit per
row, and is refused. The same implicit paths are refused for deny and aggregate-only columns,
and see only masked values for masked columns. See docs/information-flow.md.

The canary (customer 99999) is invisible to marketing (no consent), so for marketing the
secure outcome is the refusal itself: each attack below would otherwise reveal birth dates of
consenting customers, which carry no canary.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.test_adversarial import (  # noqa: F401  (canary is a fixture)
    BAD_DATETIME,
    CANARY_ID,
    CONSENTING_COUNT,
    DENIED,
    REJECT,
    ROWS,
    Attack,
    _check,
    _connect,
    attack,
    canary,
)

pytestmark = pytest.mark.timeout(60)

BD = "birth_date"
YEARS = "generate_series(1900, 2010)"
C = CANARY_ID


def _deny(id: str, user: str, sql: str | tuple[str, ...]) -> Attack:
    return attack(id, user, sql, REJECT, DENIED, message=BD if user == "mark" else None)


MARKETING_LEAKS: list[Attack] = [
    # --- binding another relation's column to the predicate-only one -----------------------------
    _deny("join-on-binds-series", "mark",
          f"SELECT c.id, y FROM shop.customers c JOIN {YEARS} AS y "
          f"ON extract(year FROM c.{BD}) = y"),
    _deny("join-on-binds-unnest", "mark",
          f"SELECT c.id, y.v FROM shop.customers c JOIN unnest(ARRAY[1950, 1960, 1970, 1980, "
          f"1990]) AS y(v) ON extract(year FROM c.{BD}) >= y.v"),
    _deny("join-on-binds-values", "mark",
          f"SELECT c.id, v.n FROM shop.customers c JOIN (VALUES (1), (2), (3)) AS v(n) "
          f"ON extract(month FROM c.{BD}) % 3 + 1 = v.n"),
    _deny("comma-join-where-binds", "mark",
          f"SELECT c.id, y.v FROM shop.customers c, {YEARS} AS y(v) "
          f"WHERE extract(year FROM c.{BD}) = y.v"),
    _deny("cross-join-where-binds", "mark",
          f"SELECT c.id, y.v FROM shop.customers c CROSS JOIN {YEARS} AS y(v) "
          f"WHERE y.v = extract(year FROM c.{BD}) AND c.country = 'DE'"),
    _deny("lateral-binds", "mark",
          f"SELECT c.id, y.v FROM shop.customers c, LATERAL (SELECT v FROM {YEARS} AS v "
          f"WHERE v = extract(year FROM c.{BD})) AS y"),
    _deny("join-binds-other-table", "mark",
          f"SELECT o.id, o.ordered_at FROM shop.orders o JOIN shop.customers c "
          f"ON c.id = o.customer_id AND c.{BD} < o.ordered_at::date - 14600"),
    _deny("join-binds-self", "mark",
          f"SELECT a.id, b.id FROM shop.customers a JOIN shop.customers b "
          f"ON a.{BD} = b.{BD} AND a.id <> b.id"),
    # --- subqueries whose value the column decides ------------------------------------------------
    _deny("correlated-count", "mark",
          f"SELECT c.id, (SELECT count(*) FROM {YEARS} AS g "
          f"WHERE g <= extract(year FROM c.{BD})) FROM shop.customers c"),
    _deny("scalar-subquery-max", "mark",
          f"SELECT c.id, (SELECT max(g) FROM {YEARS} AS g "
          f"WHERE g <= extract(year FROM c.{BD})) FROM shop.customers c"),
    _deny("exists-bits", "mark",
          "SELECT c.id, " + ", ".join(
              f"EXISTS (SELECT 1 WHERE (extract(epoch FROM c.{BD})::bigint >> {i}) % 2 = 1) "
              f"AS b{i}" for i in range(16)) + " FROM shop.customers c"),
    _deny("not-exists-bit", "mark",
          f"SELECT c.id, NOT EXISTS (SELECT 1 FROM shop.customers d WHERE d.id = c.id "
          f"AND d.{BD} < '1970-01-01') FROM shop.customers c"),
    _deny("in-subquery-bit", "mark",
          f"SELECT c.id, c.id IN (SELECT id FROM shop.customers WHERE {BD} < '1980-01-01') "
          "FROM shop.customers c"),
    _deny("any-subquery-bit", "mark",
          f"SELECT c.id, 1970 < ANY (SELECT extract(year FROM d.{BD}) FROM shop.customers d "
          "WHERE d.id = c.id) FROM shop.customers c"),
    _deny("subquery-in-where-correlated", "mark",
          f"SELECT c.id FROM shop.customers c WHERE EXISTS (SELECT 1 FROM {YEARS} AS g "
          f"WHERE g = extract(year FROM c.{BD}) AND g % 2 = 0)"),
    _deny("subquery-in-order-by", "mark",
          f"SELECT c.id FROM shop.customers c ORDER BY (SELECT 1 WHERE c.{BD} < '1970-01-01')"),
    # --- aggregates: FILTER, ordered aggregates, grouping -----------------------------------------
    _deny("filter-bits-per-person", "mark",
          "SELECT c.id, " + ", ".join(
              f"count(*) FILTER (WHERE (extract(doy FROM c.{BD})::int >> {i}) % 2 = 1) AS b{i}"
              for i in range(9)) + " FROM shop.customers c GROUP BY c.id"),
    _deny("filter-sum", "mark",
          f"SELECT sum(c.id) FILTER (WHERE c.{BD} < '1970-01-01') FROM shop.customers c "
          "GROUP BY c.id"),
    _deny("case-when-bit", "mark",
          f"SELECT c.id, CASE WHEN c.{BD} < '1970-01-01' THEN 'old' END FROM shop.customers c"),
    _deny("ordered-aggregate", "mark",
          f"SELECT string_agg(id::text, ',' ORDER BY {BD}) FROM shop.customers"),
    _deny("array-agg-order", "mark",
          f"SELECT array_agg(id ORDER BY {BD}) FROM shop.customers"),
    _deny("group-by-expression", "mark",
          f"SELECT count(*) FROM shop.customers GROUP BY extract(year FROM {BD})"),
    _deny("distinct-on", "mark",
          f"SELECT DISTINCT ON (extract(year FROM {BD})) id FROM shop.customers "
          f"ORDER BY extract(year FROM {BD}), id"),
    _deny("row-number", "mark",
          f"SELECT id, row_number() OVER (ORDER BY {BD}) FROM shop.customers"),
    _deny("partition-by", "mark",
          f"SELECT id, count(*) OVER (PARTITION BY extract(year FROM {BD})) FROM shop.customers"),
    _deny("limit-after-order-in-subquery", "mark",
          f"SELECT x.id FROM (SELECT id FROM shop.customers ORDER BY {BD} LIMIT 1) x"),
    # --- set operations and several selections ---------------------------------------------------
    _deny("union-constants", "mark",
          f"SELECT id, 1 FROM shop.customers WHERE {BD} < '1970-01-01' UNION ALL "
          f"SELECT id, 2 FROM shop.customers WHERE {BD} >= '1970-01-01'"),
    _deny("union-multiplicity", "mark",
          f"SELECT id FROM shop.customers UNION ALL SELECT id FROM shop.customers "
          f"WHERE {BD} < '1970-01-01' UNION ALL SELECT id FROM shop.customers "
          f"WHERE {BD} < '1980-01-01'"),
    _deny("intersect-branch", "mark",
          f"SELECT id, 'old' FROM shop.customers INTERSECT SELECT id, 'old' FROM shop.customers "
          f"WHERE {BD} < '1970-01-01'"),
    _deny("except-branch", "mark",
          f"SELECT id FROM shop.customers EXCEPT SELECT id FROM shop.customers "
          f"WHERE {BD} < '1970-01-01'"),
    _deny("two-left-joins", "mark",
          f"SELECT c.id, a.id IS NULL, b.id IS NULL FROM shop.customers c "
          f"LEFT JOIN shop.customers a ON a.id = c.id AND a.{BD} < '1970-01-01' "
          f"LEFT JOIN shop.customers b ON b.id = c.id AND b.{BD} < '1980-01-01'"),
    _deny("left-join-null-extension", "mark",
          f"SELECT c.id, g FROM shop.customers c LEFT JOIN generate_series(1, 1) g "
          f"ON c.{BD} < '1970-01-01'"),
    _deny("right-join", "mark",
          f"SELECT c.id, g FROM generate_series(1, 1) g RIGHT JOIN shop.customers c "
          f"ON c.{BD} < '1970-01-01'"),
    _deny("full-join", "mark",
          f"SELECT c.id, g FROM shop.customers c FULL JOIN generate_series(1, 1) g "
          f"ON c.{BD} < '1970-01-01'"),
    _deny("two-selected-relations", "mark",
          f"SELECT a.id, b.id FROM shop.customers a, shop.customers b "
          f"WHERE (a.{BD} < '1970-01-01' AND a.id < 20) AND (b.{BD} < '1980-01-01' "
          "AND b.id < 20)"),
    _deny("two-joins-same-table", "mark",
          f"SELECT a.id, b.id FROM shop.customers a JOIN shop.customers b ON b.{BD} < "
          f"'1980-01-01' WHERE a.{BD} < '1970-01-01' AND a.id < 20 AND b.id < 20"),
    # --- derived tables and CTEs ------------------------------------------------------------------
    _deny("cte-used-in-subquery", "mark",
          f"WITH old AS (SELECT id FROM shop.customers WHERE {BD} < '1970-01-01') "
          "SELECT c.id, c.id IN (SELECT id FROM old) FROM shop.customers c"),
    _deny("cte-left-joined", "mark",
          f"WITH old AS (SELECT id FROM shop.customers WHERE {BD} < '1970-01-01') "
          "SELECT c.id, o.id IS NULL FROM shop.customers c LEFT JOIN old o ON o.id = c.id"),
    _deny("derived-table-condition", "mark",
          f"SELECT c.id, x.n FROM shop.customers c JOIN (SELECT id, 1 AS n FROM shop.customers "
          f"WHERE {BD} < '1970-01-01' UNION ALL SELECT id, 2 FROM shop.customers "
          f"WHERE {BD} >= '1970-01-01') x ON x.id = c.id"),
    # --- writes carry the same flows -------------------------------------------------------------
    _deny("ctas-of-exists-bit", "mark",
          f"CREATE TABLE sandbox.if_old AS SELECT c.id, EXISTS (SELECT 1 WHERE c.{BD} < "
          f"'1970-01-01') AS old FROM shop.customers c"),
    _deny("insert-select-of-binding", "mark",
          ("CREATE TABLE sandbox.if_year AS SELECT id, id AS y FROM shop.customers WHERE false",
           f"INSERT INTO sandbox.if_year SELECT c.id, y FROM shop.customers c "
           f"JOIN {YEARS} AS y ON extract(year FROM c.{BD}) = y")),
]


def _consenting_born_before(rows: list[tuple[object, ...]]) -> bool:
    return 0 < len(rows) < CONSENTING_COUNT


MARKETING_ALLOWED: list[Attack] = [
    attack("benign-where-constant", "mark",
           f"SELECT email FROM shop.customers WHERE {BD} < '1980-01-01'", ROWS,
           check=_consenting_born_before),
    attack("benign-where-between", "mark",
           f"SELECT count(*) FROM shop.customers WHERE {BD} BETWEEN '1970-01-01' AND "
           "'1979-12-31'", ROWS, check=lambda rows: len(rows) == 1),
    attack("benign-where-or-same-table", "mark",
           f"SELECT id FROM shop.customers WHERE {BD} < '1960-01-01' OR country = 'DE'", ROWS,
           check=lambda rows: len(rows) > 0),
    attack("benign-join-key-and-selection", "mark",
           "SELECT c.email, o.total_cents FROM shop.customers c JOIN shop.orders o "
           f"ON o.customer_id = c.id WHERE c.{BD} < '1980-01-01'", ROWS,
           check=lambda rows: len(rows) > 0),
    attack("benign-inner-join-on-selection", "mark",
           "SELECT o.id FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id "
           f"AND c.{BD} < '1980-01-01'", ROWS, check=lambda rows: len(rows) > 0),
    attack("benign-group-by-other-column", "mark",
           f"SELECT country, count(*) FROM shop.customers WHERE {BD} < '1980-01-01' "
           "GROUP BY country", ROWS, check=lambda rows: len(rows) > 0),
    attack("benign-having-aggregate", "mark",
           f"SELECT c.id FROM shop.customers c GROUP BY c.id HAVING max(c.{BD}) < '1980-01-01'",
           ROWS, check=_consenting_born_before),
    attack("benign-cte-passthrough-then-select", "mark",
           f"WITH x AS (SELECT id, email, {BD} FROM shop.customers) "
           f"SELECT email FROM x WHERE {BD} < '1980-01-01'", ROWS, check=_consenting_born_before),
    attack("benign-is-null", "mark",
           f"SELECT count(*) FROM shop.customers WHERE {BD} IS NULL", ROWS,
           check=lambda rows: len(rows) == 1),
    attack("benign-order-and-limit-other-column", "mark",
           f"SELECT id FROM shop.customers WHERE {BD} > '1990-01-01' ORDER BY id LIMIT 5", ROWS,
           check=lambda rows: 0 < len(rows) <= 5),
]


OTHER_LABELS: list[Attack] = [
    # deny (analytics: phone) and aggregate-only (analytics: birth_date) refuse every path.
    attack("deny-exists-bit", "ana",
           f"SELECT c.id, EXISTS (SELECT 1 WHERE c.phone LIKE '+00%') FROM shop.customers c "
           f"WHERE c.id = {C}", REJECT, DENIED),
    attack("deny-join-binding", "ana",
           "SELECT c.id, g FROM shop.customers c JOIN generate_series(0, 9) g "
           f"ON length(c.phone) % 10 = g WHERE c.id = {C}", REJECT, DENIED),
    attack("aggregate-only-exists-bit", "ana",
           f"SELECT c.id, EXISTS (SELECT 1 WHERE c.{BD} < '1920-01-01') FROM shop.customers c "
           f"WHERE c.id = {C}", REJECT, DENIED),
    attack("aggregate-only-join-binding", "ana",
           f"SELECT c.id, y FROM shop.customers c JOIN {YEARS} AS y "
           f"ON extract(year FROM c.{BD}) = y WHERE c.id = {C}", REJECT, DENIED),
    attack("aggregate-only-filter-per-person", "ana",
           f"SELECT c.id, count(*) FILTER (WHERE c.{BD} < '1920-01-01') FROM shop.customers c "
           "GROUP BY c.id", REJECT, DENIED),
    attack("aggregate-only-correlated-count", "ana",
           f"SELECT c.id, (SELECT count(*) FROM {YEARS} AS g WHERE g <= extract(year FROM "
           f"c.{BD})) FROM shop.customers c WHERE c.id = {C}", REJECT, DENIED),
    # masked (fraud: birth_date year): conditions see the masked value only.
    attack("mask-year-condition-sees-year-only", "fran",
           f"SELECT c.id, EXISTS (SELECT 1 WHERE extract(month FROM c.{BD}) = 11), "
           f"EXISTS (SELECT 1 WHERE extract(day FROM c.{BD}) = 11) FROM shop.customers c "
           f"WHERE c.id = {C}", ROWS, check=lambda rows: rows == [(C, False, False)]),
    attack("mask-year-join-binding-gives-year", "fran",
           f"SELECT c.id, y FROM shop.customers c JOIN generate_series(1, 31) AS y "
           f"ON extract(day FROM c.{BD}) = y WHERE c.id = {C}", ROWS,
           check=lambda rows: rows == [(C, 1)]),
    attack("mask-hash-condition-sees-hash", "fran",
           f"SELECT count(*) FROM shop.customers c WHERE c.email LIKE 'canary%' "
           f"AND c.id = {C}", ROWS, check=lambda rows: rows == [(0,)]),
]

ALL = MARKETING_LEAKS + MARKETING_ALLOWED + OTHER_LABELS


def test_distinct_ids():
    ids = [a.id for a in ALL]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("spec", ALL, ids=[a.id for a in ALL])
def test_implicit_flow(canary, spec):
    _check(canary, spec)


def test_the_refusal_shows_the_implicit_path(canary):
    """The DETAIL names the output, the column and the clause whose condition carried it."""
    import psycopg

    with _connect(canary, "mark") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as failure:
            conn.execute(f"SELECT c.id, y FROM shop.customers c JOIN {YEARS} AS y "
                         f"ON extract(year FROM c.{BD}) = y")
    diag = failure.value.diag
    assert "birth_date" in diag.message_primary and "predicate_only" in diag.message_primary
    assert diag.message_detail is not None
    assert "through a condition in JOIN" in diag.message_detail
    assert "shop.customers.birth_date" in diag.message_detail
    assert diag.message_hint is not None and "select rows" in diag.message_hint


def test_the_canary_year_is_what_fraud_sees(canary):
    """Control: fraud's masked year of the canary is 1911, never its month or day."""
    with _connect(canary, "fran", "fraud") as conn:
        row = conn.execute(f"SELECT birth_date FROM shop.customers WHERE id = {C}").fetchone()
    assert row == (date(1911, 1, 1),)


assert BAD_DATETIME  # imported for attack authors extending this file


def test_a_shape_warmed_by_harmless_constants_decides_the_next_alike(canary):
    """Decisions are shared per statement shape (proxy.policy.shapes): after harmless
    constants, the same statement aimed at the canary is masked and filtered as always."""
    with _connect(canary, "mark") as conn:
        for customer in (1, 2, 3):
            conn.execute("SELECT email FROM shop.customers WHERE id = %s" % customer).fetchall()
        assert conn.execute(f"SELECT email FROM shop.customers WHERE id = {C}").fetchall() == []
        assert conn.execute(
            f"SELECT id FROM shop.customers WHERE birth_date < '1920-01-01' AND id = {C}"
        ).fetchall() == []
    with _connect(canary, "ana") as conn:
        for customer in (1, 2, 3):
            conn.execute("SELECT email FROM shop.customers WHERE id = %s" % customer).fetchall()
        (email,) = conn.execute(f"SELECT email FROM shop.customers WHERE id = {C}").fetchone()
        assert "canary" not in email and len(email) == 64
        import psycopg

        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT id FROM shop.customers WHERE birth_date < '1920-01-01' "
                         f"AND id = {C}")
