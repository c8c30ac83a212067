"""The hash mask in the DuckDB warehouse: macro `_purpose_proxy.mask_hash(value)` and its key.

The key lives in the warehouse file (`_purpose_proxy.mask_key`, one row), so a deployment keeps
one key across restarts and copies of the file; the macro reads it with a scalar subquery
(evaluated once per statement, as fast as a literal) and computes what PostgreSQL's function
does: hex SHA-256 of the UTF-8 bytes of key || value. Neither the macro's definition (listed
by duckdb_functions()) nor any statement text holds the key: it is inserted as a bound
parameter. DuckDB has no privileges: as on PostgreSQL, where users' statements run as the
proxy's own role, the proxy's refusal of unknown relations and functions is what keeps clients
from the table and the macro.
"""

from __future__ import annotations

from typing import Any

from proxy.backends.mask_key import KEY_TABLE, MASK_FUNCTION, MASK_SCHEMA, choose_key

TABLE = f"{MASK_SCHEMA}.{KEY_TABLE}"

STATEMENTS = (
    f"CREATE SCHEMA IF NOT EXISTS {MASK_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "only_row BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_row), "
    "key BLOB NOT NULL CHECK (octet_length(key) > 0))",
    f"CREATE OR REPLACE MACRO {MASK_SCHEMA}.{MASK_FUNCTION}(value) AS "
    f"sha256((SELECT k.key FROM {TABLE} AS k) || encode(CAST(value AS VARCHAR)))",
)


def install_mask(con: Any, configured: str | None) -> None:
    """On the warehouse's root connection, before clients connect."""
    con.execute("BEGIN")
    try:
        for statement in STATEMENTS:
            con.execute(statement)
        row = con.execute(f"SELECT key FROM {TABLE}").fetchone()
        choice = choose_key(bytes(row[0]) if row is not None else None, configured)
        if choice.store:
            con.execute(f"INSERT INTO {TABLE} (key) VALUES ($1)", [choice.key])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
