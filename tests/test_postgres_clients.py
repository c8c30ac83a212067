"""Real clients' metadata queries through the PostgreSQL relay: psql's \\d family and
SQLAlchemy's reflection read the warehouse's own catalogs, while data reads stay governed."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.support.clients import psql_binary, run_psql
from tests.support.requirements import require

pytestmark = pytest.mark.timeout(60)

CUSTOMER_COLUMNS = ["id", "email", "full_name", "phone", "birth_date", "country",
                    "marketing_consent", "created_at"]


def test_psql_describe_family(postgres_proxy):
    require(psql_binary() is not None, "psql binary")
    listing = run_psql(postgres_proxy, "-c", r"\dt shop.*")
    assert listing.returncode == 0, listing.stderr
    for table in ("customers", "orders", "payments", "support_tickets", "web_events"):
        assert f" {table} " in listing.stdout
    described = run_psql(postgres_proxy, "-c", r"\d shop.customers")
    assert described.returncode == 0, described.stderr
    assert "timestamp without time zone" in described.stdout
    assert '"customers_pkey" PRIMARY KEY, btree (id)' in described.stdout
    schemas = run_psql(postgres_proxy, "-c", r"\dn")
    assert "shop" in schemas.stdout and "sandbox" in schemas.stdout


def test_sqlalchemy_reflection_and_a_governed_query(postgres_proxy):
    url = (f"postgresql+psycopg://ana:ana@{postgres_proxy.host}:{postgres_proxy.port}/"
           f"{postgres_proxy.database}")
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        assert "shop" in inspector.get_schema_names()
        assert "customers" in inspector.get_table_names(schema="shop")
        names = [c["name"] for c in inspector.get_columns("customers", schema="shop")]
        assert names == CUSTOMER_COLUMNS
        assert inspector.get_pk_constraint("customers", schema="shop")["constrained_columns"] == [
            "id"]
        with engine.connect() as conn:
            email = conn.execute(text("SELECT email FROM shop.customers WHERE id = 1")).scalar()
        assert len(email) == 64  # analytics: the hash, through the relay as on DuckDB
    finally:
        engine.dispose()
