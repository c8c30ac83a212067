"""SQLAlchemy 2 (psycopg 3 driver) against the running proxy: reflection and Core queries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TIMESTAMP

from tests.support.clients import SHOP_TABLES, customers_by_id, table
from tests.support.proxy_process import ProxyProcess

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def engine(proxy: ProxyProcess) -> Iterator[Engine]:
    # The engine exactly as an application creates it: default dialect options.
    url = f"postgresql+psycopg://ana:ana@{proxy.host}:{proxy.port}/{proxy.database}"
    created = create_engine(url, connect_args={"connect_timeout": 10, "sslmode": "disable"})
    yield created
    created.dispose()


def test_connect_and_server_version(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.dialect.server_version_info is not None
        assert conn.dialect.server_version_info[0] == 16
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_schema_names(engine: Engine) -> None:
    schemas = inspect(engine).get_schema_names()
    assert "shop" in schemas
    assert not any(s.startswith("pg_") for s in schemas)


def test_table_names(engine: Engine) -> None:
    assert sorted(inspect(engine).get_table_names(schema="shop")) == SHOP_TABLES


def test_columns_of_customers(engine: Engine) -> None:
    columns = inspect(engine).get_columns("customers", schema="shop")
    assert [c["name"] for c in columns] == [
        "id", "email", "full_name", "phone", "birth_date", "country", "marketing_consent", "created_at",
    ]
    types = {c["name"]: c["type"] for c in columns}
    assert isinstance(types["id"], Integer) and not isinstance(types["id"], BigInteger)
    for name in ("email", "full_name", "phone", "country"):
        assert isinstance(types[name], Text), (name, types[name])
    assert isinstance(types["birth_date"], Date)
    assert isinstance(types["marketing_consent"], Boolean)
    assert isinstance(types["created_at"], TIMESTAMP)
    assert types["created_at"].timezone is False
    nullable = {c["name"]: c["nullable"] for c in columns}
    assert nullable == {
        "id": False, "email": False, "full_name": False, "phone": True, "birth_date": True,
        "country": False, "marketing_consent": False, "created_at": False,
    }


def test_columns_of_orders(engine: Engine) -> None:
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("orders", schema="shop")}
    assert list(columns) == ["id", "customer_id", "ordered_at", "status", "total_cents"]
    assert isinstance(columns["total_cents"], BigInteger)
    assert isinstance(columns["status"], String)


def test_has_table(engine: Engine) -> None:
    inspector = inspect(engine)
    assert inspector.has_table("customers", schema="shop")
    assert inspector.has_table("web_events", schema="shop")
    assert not inspector.has_table("no_such_table", schema="shop")
    assert not inspector.has_table("customers", schema="no_such_schema")


def test_primary_key(engine: Engine) -> None:
    assert inspect(engine).get_pk_constraint("customers", schema="shop")["constrained_columns"] == ["id"]
    assert inspect(engine).get_pk_constraint("order_items", schema="shop")["constrained_columns"] == [
        "order_id", "product_id",
    ]


def test_core_select_with_where(engine: Engine) -> None:
    customers = Table("customers", MetaData(), autoload_with=engine, schema="shop")
    query = (
        select(customers.c.id, customers.c.country, customers.c.created_at)
        .where(customers.c.country == "DE", customers.c.id < 60, customers.c.marketing_consent.is_(True))
        .order_by(customers.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    expected = [
        (c["id"], c["country"], c["created_at"])
        for c in table("customers")
        if c["country"] == "DE" and c["id"] < 60 and c["marketing_consent"]
    ]
    assert expected
    assert [tuple(r) for r in rows] == expected


def test_core_aggregate_and_bound_parameters(engine: Engine) -> None:
    orders = Table("orders", MetaData(), autoload_with=engine, schema="shop")
    query = (
        select(orders.c.status, func.count().label("n"), func.sum(orders.c.total_cents).label("total"))
        .where(orders.c.customer_id.in_(bindparam("ids", expanding=True)))
        .group_by(orders.c.status)
        .order_by(orders.c.status)
    )
    ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    with engine.connect() as conn:
        rows = conn.execute(query, {"ids": ids}).all()
    totals: dict[str, list[int]] = {}
    for order in table("orders"):
        if order["customer_id"] in ids:
            entry = totals.setdefault(order["status"], [0, 0])
            entry[0] += 1
            entry[1] += order["total_cents"]
    assert [(r.status, r.n, r.total) for r in rows] == [(s, n, t) for s, (n, t) in sorted(totals.items())]


def test_text_query_and_transaction(engine: Engine) -> None:
    customers = customers_by_id()
    with engine.begin() as conn:
        row = conn.execute(
            text("SELECT id, country FROM shop.customers WHERE id = :id"), {"id": 321}
        ).one()
    assert tuple(row) == (321, customers[321]["country"])


def test_every_reflection_call_a_bi_tool_makes(engine: Engine) -> None:
    """Superset and other BI tools reflect more than columns: domains (pg_type.typdefault),
    enums, views, constraints, comments, and everything at once (get_multi_columns)."""
    inspector = inspect(engine)
    assert inspector.get_domains() == []
    assert inspector.get_enums() == []
    assert inspector.get_view_names(schema="shop") == []
    assert inspector.get_materialized_view_names(schema="shop") == []
    assert inspector.get_unique_constraints("customers", schema="shop") == []
    assert inspector.get_check_constraints("customers", schema="shop") == []
    assert inspector.get_table_comment("customers", schema="shop") == {"text": None}
    columns = inspector.get_multi_columns(schema="shop")
    assert {name for _, name in columns} == set(SHOP_TABLES)
    assert [c["name"] for c in columns[("shop", "orders")]] == [
        "id", "customer_id", "ordered_at", "status", "total_cents"]
