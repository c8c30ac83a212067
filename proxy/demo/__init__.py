"""The Acme Shop demo warehouse of the reference scenario (see proxy.demo.data)."""

from proxy.demo.data import SCHEMA_DDL, demo_rows, load_into_duckdb, load_into_postgres

__all__ = ["SCHEMA_DDL", "demo_rows", "load_into_duckdb", "load_into_postgres"]
