"""Deciding by statement shape never changes a decision.

For every statement of the project's corpora (golden decisions, the adversarial suite, the
information-flow attacks, and constants of every kind below), for every demo user, the
decision made once for the statement's shape and instantiated with its constants is the
decision made for the statement itself: the same verdict, the same refusal, and SQL that
PostgreSQL parses to the same tree (constant values included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pglast
import pytest
import yaml

from proxy.policy import load_deployment
from proxy.policy.decide import DecisionContext, decide
from proxy.policy.decision import Allow, Decision
from proxy.policy.purpose import DeclaredPurpose
from proxy.policy.shapes import fill, instantiate, shape_of
from proxy.sql.statements import Statement, split_statements
from tests.test_adversarial import ATTACKS
from tests.test_information_flow import ALL as FLOW_ATTACKS

REPO = Path(__file__).resolve().parents[1]
USERS = [("ana", None), ("mark", None), ("sam", None), ("fran", "fraud"), ("etl", None)]

EXTRA = [
    "SELECT abalance FROM shop.orders WHERE id = 12345",
    "SELECT id FROM shop.orders WHERE id = -7 OR total_cents > 1.5e3",
    "SELECT email FROM shop.customers WHERE country IN ('DE', 'FR') AND id BETWEEN 3 AND 900",
    "SELECT email FROM shop.customers WHERE email LIKE 'a%' AND full_name ILIKE E'%\\\\x%'",
    "SELECT id FROM shop.customers WHERE birth_date > '1990-01-01' AND birth_date < date '2000-01-01'",
    "SELECT country, count(*) FROM shop.customers WHERE id > 10 GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
    "SELECT sum(total_cents * 2) FROM shop.orders WHERE status = 'paid'",
    "SELECT id FROM shop.customers WHERE id = ANY('{1,2,3}') AND 'x' = 'x'",
    "SELECT id FROM shop.customers WHERE country = 'é' /*purpose='fraud'*/",
    "SELECT count(*) FROM shop.customers c WHERE c.birth_date < '1970-01-01' "
    "AND c.id IN (SELECT customer_id FROM shop.orders WHERE total_cents > 100)",
    "SELECT birth_date FROM shop.customers WHERE id = 99999",
    "SELECT phone FROM shop.customers WHERE id = 1",
    "SELECT c.id FROM shop.customers c JOIN generate_series(1900, 2010) AS y "
    "ON extract(year FROM c.birth_date) = y WHERE c.id > 5",
    "SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r' AND relnamespace > 10",
    "SELECT 1 FROM shop.products WHERE price_cents > 1000 AND name <> 'x' AND 2 > 1",
]


def _corpus() -> list[str]:
    golden = yaml.safe_load((REPO / "tests" / "golden" / "decisions.yaml").read_text())
    statements = [case["sql"] for case in golden]
    for attack in [*ATTACKS, *FLOW_ATTACKS]:
        statements += [attack.sql] if isinstance(attack.sql, str) else list(attack.sql)
    return [*statements, *EXTRA]


@pytest.fixture(scope="module")
def deployment() -> Any:
    return load_deployment(REPO / "catalog", REPO / "policies")


def _tree(sql: str) -> str:
    """PostgreSQL's parse tree of `sql`, without locations."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in (
                "location", "stmt_len", "stmt_location", "rexpr_list_start", "rexpr_list_end")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return repr(strip(json.loads(pglast.parser.parse_sql_json(sql))))


def _same(fresh: Decision, shared: Decision) -> None:
    assert type(fresh) is type(shared)
    if isinstance(fresh, Allow):
        assert isinstance(shared, Allow)
        assert fresh.rewritten == shared.rewritten
        assert _tree(fresh.sql) == _tree(shared.sql), (fresh.sql, shared.sql)
        assert fresh.report == shared.report
    else:
        assert (fresh.sqlstate, fresh.message, fresh.detail, fresh.hint) == (
            shared.sqlstate, shared.message, shared.detail, shared.hint)  # type: ignore[union-attr]


def _statements() -> list[Statement]:
    found = []
    for sql in _corpus():
        try:
            found += split_statements(sql)
        except Exception:  # syntax errors never reach the decision core
            continue
    return found


STATEMENTS = _statements()


@pytest.mark.parametrize(("user", "purpose"), USERS)
def test_a_shared_decision_is_the_fresh_decision(deployment: Any, user: str, purpose: str | None):
    attributes = deployment.user(user).attributes
    context = DecisionContext(user, attributes, DeclaredPurpose(session=purpose))
    shaped = 0
    for statement in STATEMENTS:
        shape = shape_of(statement)
        if shape is None:
            continue
        template = decide(shape.statement(), context, deployment)
        if not isinstance(template, Allow):
            continue  # refused shapes are decided again, statement by statement
        shaped += 1
        fresh = decide(statement, context, deployment)
        shared = instantiate(template, statement, shape)
        try:
            _same(fresh, shared)
        except AssertionError as error:
            raise AssertionError(f"{statement.text!r} as {user}: {error}") from None
    assert shaped >= 40, f"only {shaped} statements were shared: the test proves little"


@pytest.mark.parametrize(("sql", "shape", "literals"), [
    ("SELECT x FROM t WHERE a = 1", "SELECT x FROM t WHERE a =  $1 ", ("1",)),
    ("SELECT x FROM t WHERE a = -1.5 AND b IN ('p', 'q')",
     "SELECT x FROM t WHERE a =  $1  AND b IN ( $2 ,  $3 )", ("-1.5", "'p'", "'q'")),
    ("SELECT x FROM t WHERE a - 1 > 2", "SELECT x FROM t WHERE a -  $1  >  $2 ", ("1", "2")),
    ("SELECT 1/0 FROM t WHERE 2/3 > 1", "SELECT  $1 / $2  FROM t WHERE  $3 / $4  >  $5 ",
     ("1", "0", "2", "3", "1")),
    # constants the analyzer reads stay constants
    ("SELECT x FROM t WHERE a::regclass = 'x'::regclass", None, ()),
    ("SELECT current_setting('a') FROM t WHERE b = 1",
     "SELECT current_setting('a') FROM t WHERE b =  $1 ", ("1",)),
    ("SELECT sum(a * 2) FROM t", None, ()),
    ("SELECT x FROM t ORDER BY 1 LIMIT 5", None, ()),
    ("SELECT 'x' FROM t", None, ()),
    ("SELECT x FROM t WHERE d > date '2020-01-01'", None, ()),
    ("SELECT x FROM t WHERE a = $1 AND b = 2", None, ()),  # already parameterized
    ("INSERT INTO t SELECT 1 WHERE 1 = 1", None, ()),  # writes: never shaped
])
def test_shapes(sql: str, shape: str | None, literals: tuple[str, ...]) -> None:
    (statement,) = split_statements(sql)
    found = shape_of(statement)
    if shape is None:
        assert found is None
        return
    assert found is not None
    assert (found.text, found.literals) == (shape, literals)
    assert _tree(fill(found.text, found.literals)) == _tree(sql)


def test_the_memo_gives_the_same_shapes_without_parsing_again() -> None:
    memo: dict[tuple[str, tuple[str, ...]], tuple[int, ...] | None] = {}
    first = ("SELECT x FROM t WHERE a = 1 AND f(2) = 3", "SELECT x FROM t WHERE a = 'p'")
    second = ("SELECT x FROM t WHERE a = 7 AND f(8) = 9", "SELECT x FROM t WHERE a = 'q'")
    for one, other in zip(first, second, strict=True):
        (statement,) = split_statements(one)
        assert shape_of(statement, memo) == shape_of(statement)
        (statement,) = split_statements(other)
        assert shape_of(statement, memo) == shape_of(statement)
    assert len(memo) == 2
    (mixed,) = split_statements("SELECT x FROM t WHERE a = 1.5 AND f(2) = 3")  # FCONST: new
    assert shape_of(mixed, memo) == shape_of(mixed)
    assert len(memo) == 3
