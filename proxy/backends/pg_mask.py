"""The hash mask in a PostgreSQL warehouse: `_purpose_proxy.mask_hash(text)` and its key.

Installed at every start, idempotently, by the proxy's own warehouse role, in one transaction
that replicas serialize on an advisory lock:
- schema `_purpose_proxy`, owned by that role (an administrator may create it beforehand with
  `CREATE SCHEMA _purpose_proxy AUTHORIZATION <role>` when the role may not create schemas);
- table `mask_key`: one row, the key as bytea, statistics off (no pg_stats sample of it);
- function `mask_hash(text)`: SECURITY DEFINER, `search_path = pg_catalog, pg_temp`, hex
  SHA-256 of key || convert_to(value, 'UTF8'), the digest the hash mask has always had;
- no privilege on any of them for anyone but their owner (EXECUTE is revoked from PUBLIC,
  which functions get by default: for another role the function would be a hash oracle).

The key never travels in SQL text, not even here: it is read back as a result row and, when
the warehouse has none, written with `COPY ... FROM STDIN (FORMAT binary)`, whose data
PostgreSQL neither logs (log_statement logs the COPY command only, unlike Bind parameters) nor
quotes in the context of a COPY error (text-format COPY would).
"""

from __future__ import annotations

import struct

from proxy.backends import pg_wire as wire
from proxy.backends.mask_key import KEY_TABLE, MASK_FUNCTION, MASK_SCHEMA, choose_key
from proxy.backends.pg_connect import UpstreamConnection, connect
from proxy.errors import PgError, SqlState
from proxy.settings import PostgresSettings
from proxy.wire.protocol import Backend

SCHEMA = MASK_SCHEMA  # a plain identifier: no quoting needed in the SQL below
TABLE = f"{SCHEMA}.{KEY_TABLE}"
FUNCTION = f"{SCHEMA}.{MASK_FUNCTION}(text)"
#: pg_advisory_xact_lock key of the installation: replicas starting together take turns.
INSTALL_LOCK = 0x70757270_6f736501  # "purpose" + 1

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key bytea NOT NULL CHECK (pg_catalog.length(key) > 0)
)"""

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.{MASK_FUNCTION}(value text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $mask$
SELECT pg_catalog.encode(
    pg_catalog.sha256(k.key OPERATOR(pg_catalog.||) pg_catalog.convert_to(value, 'UTF8')), 'hex')
FROM {TABLE} AS k
$mask$"""

#: (kind for REVOKE, object, ACL column query) of every object installed here.
OBJECTS = (
    ("SCHEMA", SCHEMA,
     f"SELECT nspacl, nspowner FROM pg_catalog.pg_namespace WHERE nspname = '{SCHEMA}'"),
    ("TABLE", TABLE,
     f"SELECT relacl, relowner FROM pg_catalog.pg_class WHERE oid = '{TABLE}'::pg_catalog.regclass"),
    ("FUNCTION", FUNCTION,
     f"SELECT proacl, proowner FROM pg_catalog.pg_proc "
     f"WHERE oid = '{FUNCTION}'::pg_catalog.regprocedure"),
)

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)


def _binary_copy_row(value: bytes) -> bytes:
    """One row of one bytea column in COPY's binary format, header and trailer included."""
    return _COPY_HEADER + struct.pack("!hi", 1, len(value)) + value + _COPY_TRAILER


async def _query(conn: UpstreamConnection, sql: str, copy_data: bytes | None = None
                 ) -> list[tuple[str | None, ...]]:
    """Run `sql` (simple protocol) to ReadyForQuery; its rows as text. `copy_data` answers a
    COPY FROM STDIN."""
    conn.write(wire.query(sql))
    await conn.flush()
    rows: list[tuple[str | None, ...]] = []
    error: PgError | None = None
    while True:
        kind, payload = await conn.read_message()
        if kind == Backend.DATA_ROW:
            rows.append(tuple(None if v is None else v.decode("utf-8")
                              for v in wire.data_row(payload)))
        elif kind == Backend.COPY_IN_RESPONSE:
            if copy_data is None:
                conn.write(wire.copy_fail("no data"))
            else:
                conn.write(wire.copy_data(copy_data) + wire.copy_done())
            await conn.flush()
        elif kind == Backend.ERROR_RESPONSE:
            error = error or wire.error(payload)
        elif kind == Backend.READY_FOR_QUERY:
            break
    if error is not None:
        raise error
    return rows


def _install_error(error: PgError, role: str, database: str) -> PgError:
    """An installation failure, said so that an administrator knows what to grant."""
    return PgError(
        error.sqlstate,
        f"the hash mask cannot be installed in the warehouse: {error.message}",
        detail=f"The proxy's role {role} keeps the mask key in schema {SCHEMA}, which it must "
        "own; the proxy does not start without it.",
        hint=f"As an administrator of database {database}: "
        f"CREATE SCHEMA {SCHEMA} AUTHORIZATION {role}; (or ALTER SCHEMA {SCHEMA} OWNER TO "
        f"{role}; if it exists).",
    )


async def _own_schema(conn: UpstreamConnection, role: str, database: str) -> None:
    rows = await _query(conn, "SELECT pg_catalog.pg_get_userbyid(nspowner) = current_user "
                        f"FROM pg_catalog.pg_namespace WHERE nspname = '{SCHEMA}'")
    if not rows:
        try:
            await _query(conn, f"CREATE SCHEMA {SCHEMA}")
        except PgError as error:
            raise _install_error(error, role, database) from None
    elif rows[0][0] != "t":
        raise _install_error(
            PgError(SqlState.INSUFFICIENT_PRIVILEGE,
                    f"schema {SCHEMA} exists and is owned by another role"), role, database)


async def _revoke_from_others(conn: UpstreamConnection) -> None:
    """Only the owner may use the schema, read the key or call the function."""
    for kind, name, acl_query in OBJECTS:
        await _query(conn, f"REVOKE ALL ON {kind} {name} FROM PUBLIC")
        grantees = await _query(
            conn,
            "SELECT DISTINCT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) "
            f"FROM ({acl_query}) AS o(acl, owner), pg_catalog.aclexplode(o.acl) AS a "
            "WHERE a.grantee <> o.owner AND a.grantee <> 0",
        )
        for (grantee,) in grantees:
            await _query(conn, f"REVOKE ALL ON {kind} {name} FROM {grantee}")


async def _install(conn: UpstreamConnection, configured: str | None, role: str,
                   database: str) -> None:
    await _query(conn, f"BEGIN; SELECT pg_catalog.pg_advisory_xact_lock({INSTALL_LOCK})")
    await _own_schema(conn, role, database)
    try:
        await _query(conn, CREATE_TABLE)
        await _query(conn, f"ALTER TABLE {TABLE} ALTER COLUMN key SET STATISTICS 0")
        await _query(conn, CREATE_FUNCTION)
    except PgError as error:  # e.g. a table or function of that name owned by another role
        raise _install_error(error, role, database) from None
    await _revoke_from_others(conn)
    rows = await _query(conn, f"SELECT pg_catalog.encode(key, 'hex') FROM {TABLE}")
    stored = bytes.fromhex(rows[0][0]) if rows and rows[0][0] is not None else None
    choice = choose_key(stored, configured)
    if choice.store:
        await _query(conn, f"COPY {TABLE} (key) FROM STDIN (FORMAT binary)",
                     _binary_copy_row(choice.key))
    await _query(conn, "COMMIT")


async def install_mask_function(settings: PostgresSettings, configured: str | None) -> None:
    """Install (or check) the hash mask's function and key; raises PgError when it cannot,
    including when `configured` differs from the key the warehouse holds."""
    conn = await connect(settings, application_name="purpose-proxy mask install")
    try:
        role = (await _query(conn, "SELECT pg_catalog.quote_ident(current_user), "
                             "pg_catalog.quote_ident(pg_catalog.current_database())"))[0]
        await _install(conn, configured, str(role[0]), str(role[1]))
    finally:
        await conn.close()


__all__ = ["install_mask_function"]
