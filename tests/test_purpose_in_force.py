"""The purpose in force is the purpose applied (issue 7, section 7), on both warehouses.

mark is granted marketing (his default: raw e-mail, consenting customers only) and analytics
(e-mail as a keyed hash); fran is granted fraud and has no default. Whatever route a statement
takes (prepared by psycopg or asyncpg, bound by hand, declared as a cursor), it must run under
the purpose in force when it runs, and that purpose follows PostgreSQL's rules for SET.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
from typing import Any

import asyncpg
import psycopg
import pytest
from psycopg import errors

from tests.support.clients import table
from tests.support.proxy_process import REPO, ProxyProcess, start_proxy
from tests.support.raw_client import RawConnection, Reply, message, query

pytestmark = pytest.mark.timeout(120)

HASH = re.compile(r"^[0-9a-f]{64}$")
CUSTOMERS = {row["id"]: row for row in table("customers")}
CONSENTING = sorted(i for i, c in CUSTOMERS.items() if c["marketing_consent"])
CID = CONSENTING[0]  # a customer marketing may read
RAW_EMAIL = CUSTOMERS[CID]["email"]
EMAIL_SQL = "SELECT id, email FROM shop.customers WHERE id = %s"


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def proxy(request, proxy):
    if request.param == "postgres":
        return request.getfixturevalue("postgres_proxy")
    return proxy


def connect(proxy: ProxyProcess, user: str = "mark", **options: Any) -> psycopg.Connection:
    return psycopg.connect(**proxy.conninfo(user), autocommit=True, **options)


def show(conn: psycopg.Connection) -> tuple[str, str]:
    purpose = conn.execute("SHOW purpose").fetchone()[0]
    source = conn.execute("SHOW purpose_source").fetchone()[0]
    return purpose, source


def email_of(conn: psycopg.Connection, prepare: bool | None = None) -> str:
    row = conn.execute(EMAIL_SQL, (CID,), prepare=prepare).fetchone()
    assert row is not None and row[0] == CID
    return row[1]


def assert_masked(value: str) -> None:
    assert HASH.match(value) and value != RAW_EMAIL


def statement_events(proxy: ProxyProcess, marker: str) -> list[dict[str, Any]]:
    return [e for e in proxy.audit_events()
            if e.get("event") == "statement" and marker in str(e.get("statement"))]


# --- prepared statements are decided again when the purpose changes -----------------------------


def test_psycopg_prepared_statement_follows_set_and_reset(proxy):
    marker = "/* prepared-then-set */"
    sql = f"SELECT id, email FROM shop.customers WHERE id = %s {marker}"
    with connect(proxy) as conn:
        assert conn.execute(sql, (CID,), prepare=True).fetchone()[1] == RAW_EMAIL
        assert conn.execute(sql, (CID,), prepare=True).fetchone()[1] == RAW_EMAIL
        conn.execute("SET purpose = 'analytics'")
        for _ in range(2):  # the same server-side prepared statement, bound again
            assert_masked(conn.execute(sql, (CID,), prepare=True).fetchone()[1])
        conn.execute("RESET purpose")
        assert conn.execute(sql, (CID,), prepare=True).fetchone()[1] == RAW_EMAIL
    applied = [(e["purpose"], e["purpose_source"]) for e in statement_events(proxy, marker)][-5:]
    assert applied == [("marketing", "default")] * 2 + [("analytics", "session")] * 2 + [
        ("marketing", "default")]


def test_prepared_statement_refused_after_set_fails_at_bind(proxy):
    # marketing may filter on birth_date (predicate_only); analytics may only aggregate it.
    sql = "SELECT id FROM shop.customers WHERE birth_date < '1970-01-01' AND id = %s"
    with connect(proxy) as conn:
        conn.execute(sql, (CID,), prepare=True).fetchall()
        conn.execute("SET purpose = 'analytics'")
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute(sql, (CID,), prepare=True)
        assert "analytics" in failure.value.diag.message_primary
        assert "birth_date" in failure.value.diag.message_primary
        conn.execute("SET purpose = 'marketing'")
        conn.execute(sql, (CID,), prepare=True).fetchall()  # allowed again


async def _asyncpg_prepared(proxy: ProxyProcess) -> list[str]:
    conn = await asyncpg.connect(proxy.dsn("mark"), ssl=False)
    try:
        sql = "SELECT id, email FROM shop.customers WHERE id = $1"
        seen = [(await conn.fetchrow(sql, CID))["email"]]
        statement = await conn.prepare(sql)
        seen.append((await statement.fetchrow(CID))["email"])
        await conn.execute("SET purpose = 'analytics'")
        seen.append((await conn.fetchrow(sql, CID))["email"])  # asyncpg's statement cache
        seen.append((await statement.fetchrow(CID))["email"])  # an explicit prepared statement
        async with conn.transaction():
            await conn.execute("SET LOCAL purpose = 'marketing'")
            seen.append((await statement.fetchrow(CID))["email"])
        seen.append((await statement.fetchrow(CID))["email"])
        return seen
    finally:
        await conn.close()


def test_asyncpg_prepared_statements_follow_the_purpose(proxy):
    seen = asyncio.run(_asyncpg_prepared(proxy))
    assert seen[:2] == [RAW_EMAIL, RAW_EMAIL]
    for value in seen[2:4]:
        assert_masked(value)
    assert seen[4] == RAW_EMAIL  # SET LOCAL inside the transaction
    assert_masked(seen[5])  # ...ends with it


def _extended(raw: RawConnection, *messages: bytes) -> list[Reply]:
    raw.send(b"".join(messages) + message(b"S"))
    return raw.read_until(b"Z")


def _parse(name: str, sql: str) -> bytes:
    return message(b"P", name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0))


def _bind(portal: str, statement: str, value: str) -> bytes:
    raw = value.encode()
    return message(b"B", portal.encode() + b"\0" + statement.encode() + b"\0"
                   + struct.pack("!HHI", 0, 1, len(raw)) + raw + struct.pack("!H", 0))


def _execute(portal: str) -> bytes:
    return message(b"E", portal.encode() + b"\0" + struct.pack("!I", 0))


def _data(replies: list[Reply]) -> list[str]:
    """The second field (email) of each DataRow."""
    out = []
    for reply in replies:
        if reply.type == b"D":
            (count,) = struct.unpack("!H", reply.payload[:2])
            offset, fields = 2, []
            for _ in range(count):
                (length,) = struct.unpack("!i", reply.payload[offset:offset + 4])
                offset += 4
                fields.append(reply.payload[offset:offset + length].decode())
                offset += length
            out.append(fields[1])
    return out


def test_raw_protocol_parse_once_bind_after_set(proxy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("mark")
    sql = "SELECT id, email FROM shop.customers WHERE id = $1"
    assert _data(_extended(raw, _parse("s1", sql), _bind("", "s1", str(CID)), _execute(""))) == [
        RAW_EMAIL]
    raw.send(query("SET purpose = 'analytics'"))
    raw.read_until(b"Z")
    (masked,) = _data(_extended(raw, _bind("", "s1", str(CID)), _execute("")))
    assert_masked(masked)
    # Bound inside a transaction under analytics, executed after SET purpose = marketing:
    # decided again at Execute, the portal never ran under analytics either.
    raw.send(query("BEGIN"))
    raw.read_until(b"Z")
    _extended(raw, _bind("p", "s1", str(CID)))
    raw.send(query("SET purpose = 'marketing'"))
    raw.read_until(b"Z")
    assert _data(_extended(raw, _execute("p"))) == [RAW_EMAIL]
    raw.send(query("COMMIT"))
    raw.read_until(b"Z")
    raw.close()


def test_raw_protocol_refusal_after_set_is_42501_at_bind(proxy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("mark")
    sql = "SELECT full_name FROM shop.customers WHERE birth_date < '1970-01-01' AND id = $1"
    replies = _extended(raw, _parse("s1", sql), _bind("", "s1", str(CID)), _execute(""))
    assert b"E" not in [r.type for r in replies]
    raw.send(query("SET purpose = 'analytics'"))
    raw.read_until(b"Z")
    replies = _extended(raw, _bind("", "s1", str(CID)), _execute(""))
    assert [r.type for r in replies] == [b"E", b"Z"]
    assert replies[0].fields()["C"] == "42501"
    raw.close()


# --- cursors ----------------------------------------------------------------------------------


def test_declared_cursor_runs_under_the_purpose_in_force_at_declare(proxy):
    with connect(proxy) as conn:
        conn.execute("SET purpose = 'analytics'")
        with conn.transaction():
            conn.execute(f"DECLARE c CURSOR FOR SELECT email FROM shop.customers WHERE id = {CID}")
            assert_masked(conn.execute("FETCH ALL FROM c").fetchone()[0])
        conn.execute("BEGIN")
        conn.execute(f"DECLARE c CURSOR FOR SELECT email FROM shop.customers WHERE id = {CID}")
        conn.execute("SET LOCAL purpose = 'marketing'")
        # Its rows were produced for analytics: not handed out under marketing.
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute("FETCH ALL FROM c")
        assert 'cursor "c" was opened under purpose "analytics"' in str(failure.value)
        conn.execute("ROLLBACK")
        assert show(conn) == ("analytics", "session")


def test_cursor_declared_under_marketing_is_not_read_under_analytics(proxy):
    with connect(proxy) as conn:
        conn.execute("BEGIN")
        conn.execute(f"DECLARE c CURSOR FOR SELECT email FROM shop.customers WHERE id = {CID}")
        conn.execute("SET purpose = 'analytics'")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("FETCH 1 FROM c")
        conn.execute("ROLLBACK")
        # The rollback undid the SET too.
        assert show(conn) == ("marketing", "default")


def test_sql_prepare_is_refused(proxy):
    with connect(proxy) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("PREPARE p AS SELECT email FROM shop.customers")
        with pytest.raises(psycopg.Error):
            conn.execute("EXECUTE p")


# --- SET purpose is transactional exactly as PostgreSQL's SET --------------------------------------


def test_set_in_rolled_back_transaction_is_undone_and_applied(proxy):
    with connect(proxy) as conn:
        conn.execute("BEGIN")
        conn.execute("SET purpose = 'analytics'")
        assert_masked(email_of(conn))
        conn.execute("ROLLBACK")
        assert show(conn) == ("marketing", "default")
        assert email_of(conn) == RAW_EMAIL
        assert email_of(conn, prepare=True) == RAW_EMAIL


def test_implicit_transaction_of_a_failed_query_string_undoes_its_set(proxy):
    with connect(proxy) as conn:
        with pytest.raises(errors.DivisionByZero):
            conn.execute("SET purpose = 'analytics'; SELECT 1 / 0")
        assert show(conn) == ("marketing", "default")
        conn.execute("SET purpose = 'analytics'; SELECT 1")
        assert show(conn) == ("analytics", "session")


def test_set_local_lasts_to_transaction_end(proxy):
    with connect(proxy) as conn:
        conn.execute("BEGIN")
        conn.execute("SET LOCAL purpose = 'analytics'")
        assert show(conn) == ("analytics", "session")
        assert_masked(email_of(conn))
        conn.execute("COMMIT")
        assert show(conn) == ("marketing", "default")
        assert email_of(conn) == RAW_EMAIL


def test_set_local_outside_a_transaction_warns_and_does_nothing(proxy):
    notices: list[tuple[str | None, ...]] = []
    with connect(proxy) as conn:
        conn.add_notice_handler(lambda diag: notices.append(
            (diag.severity_nonlocalized, diag.sqlstate, diag.message_primary)))
        conn.execute("SET LOCAL purpose = 'analytics'")
        assert show(conn) == ("marketing", "default")
    assert notices == [("WARNING", "25P01", "SET LOCAL can only be used in transaction blocks")]


def test_savepoints(proxy):
    with connect(proxy) as conn:
        conn.execute("BEGIN")
        conn.execute("SET purpose = 'analytics'")
        conn.execute("SAVEPOINT a")
        conn.execute("SET purpose = 'marketing'")
        assert email_of(conn) == RAW_EMAIL
        conn.execute("ROLLBACK TO SAVEPOINT a")
        assert show(conn) == ("analytics", "session")
        assert_masked(email_of(conn))
        conn.execute("SET LOCAL purpose = 'marketing'")
        conn.execute("SAVEPOINT b")
        conn.execute("RESET purpose")
        conn.execute("RELEASE SAVEPOINT b")  # RELEASE keeps what was set after it
        assert show(conn) == ("marketing", "default")
        conn.execute("ROLLBACK TO a")  # a still exists after ROLLBACK TO
        assert show(conn) == ("analytics", "session")
        conn.execute("COMMIT")
        assert show(conn) == ("analytics", "session")
        assert_masked(email_of(conn))


def test_set_in_a_failed_transaction_is_refused_and_rolled_back(proxy):
    with connect(proxy) as conn:
        conn.execute("BEGIN")
        conn.execute("SET purpose = 'analytics'")
        with pytest.raises(errors.DivisionByZero):
            conn.execute("SELECT 1 / 0")
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("SET purpose = 'marketing'")
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("RESET purpose")
        conn.execute("COMMIT")  # of a failed transaction: a rollback
        assert show(conn) == ("marketing", "default")


def test_policy_rejection_aborts_the_transaction_and_its_set(proxy):
    with connect(proxy) as conn:
        conn.execute("BEGIN")
        conn.execute("SET SESSION purpose = 'analytics'")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT phone FROM shop.customers")
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("SET purpose = 'marketing'")
        conn.execute("ROLLBACK")
        assert show(conn) == ("marketing", "default")
        conn.execute("SET SESSION purpose = 'analytics'")
        assert show(conn) == ("analytics", "session")


def test_set_to_default_and_reset_in_transactions(proxy):
    with connect(proxy, options="-c purpose=analytics") as conn:
        assert show(conn) == ("analytics", "connection")
        conn.execute("SET purpose = 'marketing'")
        conn.execute("BEGIN")
        conn.execute("SET purpose TO DEFAULT")
        assert show(conn) == ("analytics", "connection")
        conn.execute("ROLLBACK")
        assert show(conn) == ("marketing", "session")
        conn.execute("BEGIN")
        conn.execute("RESET ALL")
        conn.execute("COMMIT")
        assert show(conn) == ("analytics", "connection")


# Differential check: the same sequences on PostgreSQL itself, with a custom setting standing in
# for `purpose` (its reset value '' is mark's default purpose through the proxy).
SEQUENCES = [
    ["BEGIN", "SET purpose = 'analytics'", "SHOW", "ROLLBACK", "SHOW"],
    ["BEGIN", "SET purpose = 'analytics'", "COMMIT", "SHOW"],
    ["SET purpose = 'analytics'", "BEGIN", "RESET purpose", "SHOW", "ROLLBACK", "SHOW"],
    ["BEGIN", "SET LOCAL purpose = 'analytics'", "SHOW", "COMMIT", "SHOW"],
    ["BEGIN", "SET purpose = 'analytics'", "SET LOCAL purpose = 'marketing'", "SHOW", "COMMIT",
     "SHOW"],
    ["BEGIN", "SET LOCAL purpose = 'marketing'", "SET purpose = 'analytics'", "COMMIT", "SHOW"],
    ["BEGIN", "SAVEPOINT s", "SET purpose = 'analytics'", "ROLLBACK TO SAVEPOINT s", "SHOW",
     "COMMIT", "SHOW"],
    ["BEGIN", "SAVEPOINT s", "SET purpose = 'analytics'", "RELEASE SAVEPOINT s", "SHOW",
     "COMMIT", "SHOW"],
    ["BEGIN", "SAVEPOINT s", "SET LOCAL purpose = 'analytics'", "RELEASE s", "SHOW", "COMMIT",
     "SHOW"],
    ["SET purpose = 'marketing'", "BEGIN", "SET purpose = 'analytics'", "SAVEPOINT a",
     "SET purpose = 'marketing'", "SAVEPOINT b", "RESET purpose", "ROLLBACK TO a", "SHOW",
     "RELEASE a", "SHOW", "ROLLBACK", "SHOW"],
    ["BEGIN", "SAVEPOINT a", "SAVEPOINT a", "SET purpose = 'analytics'", "ROLLBACK TO a", "SHOW",
     "SET purpose = 'analytics'", "RELEASE a", "ROLLBACK TO a", "SHOW", "COMMIT", "SHOW"],
    ["BEGIN", "SET purpose = 'analytics'", "SELECT 1/0", "SET purpose = 'marketing'", "SHOW",
     "ROLLBACK", "SHOW"],
    ["BEGIN", "SAVEPOINT s", "SET purpose = 'analytics'", "SELECT 1/0", "ROLLBACK TO s", "SHOW",
     "SET purpose = 'analytics'", "COMMIT", "SHOW"],
    ["BEGIN", "SET purpose = 'analytics'", "COMMIT AND CHAIN", "SET LOCAL purpose = 'marketing'",
     "SHOW", "ROLLBACK", "SHOW"],
    ["SET LOCAL purpose = 'analytics'", "SHOW", "SET SESSION purpose = 'analytics'", "SHOW",
     "RESET purpose", "SHOW"],
    ["ROLLBACK", "BEGIN", "SET purpose = 'analytics'", "END", "SHOW", "BEGIN",
     "SET purpose = 'marketing'", "ABORT", "SHOW"],
]


# The proxy keeps other settings with the same mechanism: the sequences hold for them too.
SETTINGS = {
    "purpose": {"analytics": "analytics", "marketing": "marketing", "": "marketing"},
    "TimeZone": {"analytics": "Europe/Berlin", "marketing": "Asia/Tokyo"},
    "application_name": {"analytics": "app-a", "marketing": "app-m"},
}


def _outcome(conn: psycopg.Connection, sql: str, setting: str, name: str) -> str:
    values = SETTINGS[setting]
    try:
        if sql == "SHOW":
            value = conn.execute(f"SHOW {name}").fetchone()[0]
            return values.get(value, value)
        for purpose, value in values.items():
            if purpose:
                sql = sql.replace(f"'{purpose}'", f"'{value}'")
        conn.execute(sql.replace("purpose", name))
        return "ok"
    except psycopg.Error as error:
        return f"error {error.sqlstate}"


# What the DuckDB warehouse itself cannot do (its savepoints are emulated; no AND CHAIN).
DUCKDB_CANNOT = {12: "ROLLBACK TO SAVEPOINT after an error", 13: "COMMIT AND CHAIN"}


@pytest.mark.parametrize("setting", list(SETTINGS))
@pytest.mark.parametrize("index", range(len(SEQUENCES)))
def test_set_follows_postgresql_exactly(proxy, request, index, setting):
    sequence = SEQUENCES[index]
    if "duckdb" in request.node.callspec.id and index in DUCKDB_CANNOT:
        pytest.skip(f"the DuckDB warehouse does not support {DUCKDB_CANNOT[index]}")
    reference_name = "pp.purpose" if setting == "purpose" else setting
    with psycopg.connect("host=127.0.0.1 port=5432 dbname=postgres user=postgres",
                         options="-c TimeZone=UTC", autocommit=True) as reference, \
            connect(proxy) as conn:
        reference.execute("SET pp.purpose = ''")
        reference.execute("RESET pp.purpose")
        expected = [_outcome(reference, sql, setting, reference_name) for sql in sequence]
        got = [_outcome(conn, sql, setting, setting) for sql in sequence]
    assert got == expected


def test_set_local_in_the_implicit_transaction_of_a_query_string(proxy):
    with connect(proxy) as conn:
        cursor = conn.execute(f"SET LOCAL purpose = 'analytics'; SELECT id, email "
                              f"FROM shop.customers WHERE id = {CID}")
        assert cursor.nextset()
        assert_masked(cursor.fetchone()[1])
        assert show(conn) == ("marketing", "default")
        # In a string with its own BEGIN, a SET LOCAL before it has no transaction to live in.
        cursor = conn.execute(f"SET LOCAL purpose = 'analytics'; BEGIN; SELECT id, email "
                              f"FROM shop.customers WHERE id = {CID}; COMMIT")
        assert cursor.nextset() and cursor.nextset()
        assert cursor.fetchone()[1] == RAW_EMAIL


def test_rolled_back_setting_is_reported_to_the_client(proxy):
    with connect(proxy) as conn:
        conn.execute("BEGIN")
        conn.execute("SET application_name = 'inside'")
        assert conn.info.parameter_status("application_name") == "inside"
        conn.execute("ROLLBACK")
        assert conn.info.parameter_status("application_name") == ""
        conn.execute("BEGIN")
        conn.execute("SET LOCAL TimeZone = 'Asia/Tokyo'")
        assert conn.info.parameter_status("TimeZone") == "Asia/Tokyo"
        conn.execute("COMMIT")
        assert conn.info.parameter_status("TimeZone") == "UTC"
        assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)


def test_partly_read_portal_is_not_continued_under_another_purpose(proxy):
    raw = RawConnection(proxy.host, proxy.port)
    raw.login("mark")
    raw.send(query("BEGIN"))
    raw.read_until(b"Z")
    sql = "SELECT id, email FROM shop.customers WHERE marketing_consent"
    bind = message(b"B", b"p\0\0" + struct.pack("!HHH", 0, 0, 0))
    replies = _extended(raw, _parse("", sql), bind, message(b"E", b"p\0" + struct.pack("!I", 1)))
    assert [r.type for r in replies][-2:] == [b"s", b"Z"]  # PortalSuspended after one row
    assert len(_data(replies)) == 1
    raw.send(query("SET purpose = 'analytics'"))
    raw.read_until(b"Z")
    replies = _extended(raw, message(b"E", b"p\0" + struct.pack("!I", 1)))
    assert [r.type for r in replies] == [b"E", b"Z"]
    assert replies[0].fields()["C"] == "42501"
    assert 'portal "p" was opened under purpose "marketing"' in replies[0].fields()["M"]
    raw.send(query("ROLLBACK"))
    raw.read_until(b"Z")
    raw.close()


# --- a purpose comment anywhere sqlcommenter puts it ---------------------------------------------


@pytest.mark.parametrize("sql", [
    "/*purpose='analytics'*/ SELECT id, email FROM shop.customers WHERE id = {id}",
    "/*application='crm',purpose='analytics',route='%2Fcustomers'*/ "
    "SELECT id, email FROM shop.customers WHERE id = {id}",
    "-- purpose='analytics'\nSELECT id, email FROM shop.customers WHERE id = {id}",
    "SELECT id, email FROM shop.customers WHERE id = {id} /*purpose='analytics'*/",
    "SELECT id, email FROM shop.customers WHERE id = {id}; /*purpose='analytics'*/",
    "SELECT id, /*purpose='analytics'*/ email FROM shop.customers WHERE id = {id}",
    "/* purpose = 'analytics' */ SELECT id, email FROM shop.customers WHERE id = {id}",
    "/*PURPOSE='analytics'*/ SELECT id, email FROM shop.customers WHERE id = {id}",
    "/*purpos%65='analytic%73'*/ SELECT id, email FROM shop.customers WHERE id = {id}",
    "/*a='it\\'s',purpose='analytics'*/ SELECT id, email FROM shop.customers WHERE id = {id}",
])
def test_purpose_comment_anywhere_is_applied(proxy, sql):
    with connect(proxy) as conn:
        text = sql.format(id=CID)
        (row,) = conn.execute(text).fetchall()
        assert_masked(row[1])
        prepared = sql.replace("%", "%%").format(id="%s") if ";" not in text else None
        if prepared:
            assert_masked(conn.execute(prepared, (CID,), prepare=True).fetchone()[1])
        # The comment governs its statement only: the session is still under marketing.
        assert email_of(conn) == RAW_EMAIL


def test_leading_comment_and_the_decision_cache(proxy):
    """The same statement text with and without a leading comment is two decisions."""
    sql = f"SELECT id, email FROM shop.customers WHERE id = {CID} /* cache-check */"
    with connect(proxy) as conn:
        assert conn.execute(sql).fetchone()[1] == RAW_EMAIL
        assert_masked(conn.execute(f"/*purpose='analytics'*/ {sql}").fetchone()[1])
        assert conn.execute(sql).fetchone()[1] == RAW_EMAIL


def test_leading_comment_declares_the_purpose_for_a_user_without_default(proxy):
    payments = len(table("payments"))
    with connect(proxy, "fran") as conn:
        assert conn.execute(
            "/*purpose='fraud'*/ SELECT count(*) FROM shop.payments").fetchone() == (payments,)
        assert conn.execute(
            "/*purpose='fraud'*/ SELECT count(*) FROM shop.payments WHERE amount_cents > %s",
            (0,), prepare=True).fetchone()[0] > 0
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute("SELECT count(*) FROM shop.payments")
        assert 'no purpose declared for user "fran"' in str(failure.value)


async def _asyncpg_leading(proxy: ProxyProcess) -> tuple[int, str]:
    conn = await asyncpg.connect(proxy.dsn("fran"), ssl=False)
    try:
        count = await conn.fetchval("/*purpose='fraud'*/ SELECT count(*) FROM shop.payments")
        purpose = await conn.fetchval("/*purpose='fraud'*/ SHOW purpose")
        return count, purpose
    finally:
        await conn.close()


def test_leading_comment_through_asyncpg(proxy):
    assert asyncio.run(_asyncpg_leading(proxy)) == (len(table("payments")), "fraud")


@pytest.mark.parametrize("sql", [
    # Inside string literals, dollar quotes, identifiers: not comments, so no purpose.
    "SELECT count(*) FROM shop.payments WHERE '/*purpose=''fraud''*/' <> ''",
    "SELECT count(*) FROM shop.payments WHERE $$/*purpose='fraud'*/$$ <> ''",
    "SELECT count(*) FROM shop.payments WHERE $q$ -- purpose='fraud'\n$q$ <> ''",
    "SELECT count(*) FROM shop.payments WHERE E'\\'/*purpose=\\'fraud\\'*/' <> ''",
    'SELECT count(*) AS "/*purpose=\'fraud\'*/" FROM shop.payments',
])
def test_purpose_inside_literals_does_not_count(proxy, sql):
    with connect(proxy, "fran") as conn:
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute(sql)
        assert 'no purpose declared for user "fran"' in str(failure.value)


@pytest.mark.parametrize(("sql", "message"), [
    ("/* note /* purpose='fraud' */ nested */ SELECT count(*) FROM shop.payments",
     "not a sqlcommenter declaration"),
    ("/* purpose=fraud */ SELECT count(*) FROM shop.payments", "not a sqlcommenter declaration"),
    ("/*purpose='fraud'*/ SELECT count(*) FROM shop.payments /*purpose='analytics'*/",
     "more than one purpose"),
    ("/*purpose='fraud'*/ SELECT 1 /*purpose='marketing'*/", "more than one purpose"),
    ("/*purpose='analytics'*/ SELECT 1", 'purpose "analytics" is not granted to user "fran"'),
    ("/*purpose='analytics'*/ BEGIN", 'purpose "analytics" is not granted to user "fran"'),
    ("/*purpose='analytics'*/ SHOW purpose", 'purpose "analytics" is not granted'),
    ("/*purpose='nope'*/ SELECT 1", 'purpose "nope" does not exist'),
])
def test_bad_purpose_comments_are_refused(proxy, sql, message):
    with connect(proxy, "fran") as conn:
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute(sql)
        assert message in str(failure.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_comment_of_one_statement_does_not_govern_the_next(proxy):
    with connect(proxy) as conn:
        cursor = conn.execute(
            f"SELECT 1 /*purpose='analytics'*/; SELECT id, email FROM shop.customers "
            f"WHERE id = {CID}")
        assert cursor.nextset() and cursor.fetchone()[1] == RAW_EMAIL
        cursor = conn.execute(
            f"SELECT 1; /*purpose='analytics'*/ SELECT id, email FROM shop.customers "
            f"WHERE id = {CID}")
        assert cursor.nextset()
        assert_masked(cursor.fetchone()[1])


def test_comment_declares_the_purpose_of_copy_and_cursors(proxy):
    with connect(proxy) as conn:
        with conn.cursor().copy(
            f"/*purpose='analytics'*/ COPY (SELECT email FROM shop.customers WHERE id = {CID}) "
            "TO STDOUT"
        ) as copy:
            copied = b"".join(bytes(chunk) for chunk in copy)
        assert_masked(copied.decode().strip())
        conn.execute("BEGIN")
        conn.execute(f"DECLARE c CURSOR FOR SELECT email FROM shop.customers WHERE id = {CID}"
                     " /*purpose='analytics'*/")
        assert_masked(conn.execute("FETCH 1 FROM c /*purpose='analytics'*/").fetchone()[0])
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("FETCH ALL FROM c")  # under marketing
        conn.execute("ROLLBACK")


# --- SHOW purpose in every source -------------------------------------------------------------


def test_show_purpose_in_every_source(proxy):
    with connect(proxy, "fran") as conn:
        assert show(conn) == ("", "none")
        assert conn.execute("/*purpose='fraud'*/ SHOW purpose").fetchone() == ("fraud",)
        assert conn.execute("SHOW purpose_source /*purpose='fraud'*/").fetchone() == (
            "statement",)
        conn.execute("SET purpose = 'fraud'")
        assert show(conn) == ("fraud", "session")
    with connect(proxy, "fran", options="-c purpose=fraud") as conn:
        assert show(conn) == ("fraud", "connection")
        cursor = conn.cursor()
        cursor.execute("SHOW purpose", prepare=True)
        assert cursor.fetchone() == ("fraud",)
    with connect(proxy, "mark") as conn:
        assert show(conn) == ("marketing", "default")
        assert conn.execute("SHOW purpose", prepare=True).fetchone() == ("marketing",)
        conn.execute("SET purpose = 'analytics'")
        assert conn.execute("SHOW purpose", prepare=True).fetchone() == ("analytics",)
        with pytest.raises(psycopg.Error) as failure:
            conn.execute("SET purpose_source = 'statement'")
        assert failure.value.sqlstate == "0A000"


# --- a decision that changes the result's type: 0A000, as PostgreSQL after a schema change -------


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def retyping_proxy(request, tmp_path_factory):
    """A proxy whose analytics purpose hashes revenue (bigint -> text): mark's prepared
    statements over revenue change their result type with SET purpose."""
    policies = tmp_path_factory.mktemp("policies")
    shutil.copytree(REPO / "policies", policies, dirs_exist_ok=True)
    purposes = policies / "purposes.yaml"
    text = purposes.read_text()
    allow = "      business.revenue: allow"
    at = text.index(allow, text.index("  analytics:"))
    purposes.write_text(text[:at] + "      business.revenue: {action: mask, method: hash}"
                        + text[at + len(allow):])
    workdir = tmp_path_factory.mktemp("retyping")
    if request.param == "postgres":
        warehouse = request.getfixturevalue("demo_postgres_warehouse")
        running = start_proxy(workdir, workdir / "unused.duckdb", backend="postgres",
                              postgres=warehouse.proxy_settings(), policies_dir=str(policies))
    else:
        running = start_proxy(workdir, workdir / "own.duckdb", policies_dir=str(policies))
    yield running
    running.stop()


ORDER = table("orders")[0]
REVENUE_SQL = "SELECT id, total_cents FROM shop.orders WHERE id = %s"


def test_retyped_prepared_statement_fails_with_0a000_like_postgresql(retyping_proxy):
    with connect(retyping_proxy) as conn:
        assert conn.execute(REVENUE_SQL, (ORDER["id"],), prepare=True).fetchone() == (
            ORDER["id"], ORDER["total_cents"])
        conn.execute("SET purpose = 'analytics'")
        with pytest.raises(errors.FeatureNotSupported) as failure:
            conn.execute(REVENUE_SQL, (ORDER["id"],), prepare=True)
        assert failure.value.diag.message_primary == "cached plan must not change result type"
        # Sent again (not from the cache of prepared statements), it is decided afresh.
        (row,) = conn.execute(REVENUE_SQL, (ORDER["id"],), prepare=False).fetchall()
        assert HASH.match(row[1])


async def _asyncpg_retyped(proxy: ProxyProcess) -> list[object]:
    conn = await asyncpg.connect(proxy.dsn("mark"), ssl=False)
    try:
        sql = "SELECT id, total_cents FROM shop.orders WHERE id = $1"
        seen = [(await conn.fetchrow(sql, ORDER["id"]))["total_cents"]]
        await conn.execute("SET purpose = 'analytics'")
        # asyncpg knows 0A000 "cached plan must not change result type": it prepares again.
        seen.append((await conn.fetchrow(sql, ORDER["id"]))["total_cents"])
        return seen
    finally:
        await conn.close()


def test_asyncpg_prepares_a_retyped_statement_again(retyping_proxy):
    raw, masked = asyncio.run(_asyncpg_retyped(retyping_proxy))
    assert raw == ORDER["total_cents"]
    assert isinstance(masked, str) and HASH.match(masked)


def test_prepared_statement_is_decided_again_after_a_reload(tmp_path):
    """A reload that changes the rules reaches statements prepared before it (one warehouse:
    the configuration, not the warehouse, is under test)."""
    import signal
    import time

    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    running = start_proxy(tmp_path / "proxy", tmp_path / "acme.duckdb",
                          policies_dir=str(policies))
    try:
        with connect(running) as conn:
            conn.execute("SET purpose = 'analytics'")
            assert_masked(email_of(conn, prepare=True))
            purposes = policies / "purposes.yaml"
            purposes.write_text(purposes.read_text().replace(
                "      pii.contact.email: {action: mask, method: hash}\n",
                "      pii.contact.email: deny\n", 1))
            running.process.send_signal(signal.SIGHUP)
            log = running.audit_file.parent / "proxy.log"
            deadline = time.monotonic() + 30
            while "configuration reloaded" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            with pytest.raises(errors.InsufficientPrivilege) as failure:
                email_of(conn, prepare=True)
            assert "pii.contact.email" in str(failure.value)
    finally:
        running.stop()


def test_comment_declares_the_purpose_of_explain(proxy):
    """EXPLAIN is decided as the query it explains, under the purpose its comments declare."""
    with connect(proxy, "fran") as conn:
        plan = conn.execute("/*purpose='fraud'*/ EXPLAIN SELECT count(*) FROM shop.payments"
                            ).fetchall()
        assert plan
        with pytest.raises(errors.InsufficientPrivilege) as failure:
            conn.execute("EXPLAIN SELECT count(*) FROM shop.payments")
        assert 'no purpose declared for user "fran"' in str(failure.value)


def test_psycopg_automatic_prepare_threshold(proxy):
    """psycopg prepares a statement by itself once it ran prepare_threshold times."""
    sql = "SELECT id, email FROM shop.customers WHERE id = %s /* threshold */"
    with connect(proxy, prepare_threshold=1) as conn:
        for _ in range(3):  # the second run onwards uses psycopg's server-side statement
            assert conn.execute(sql, (CID,)).fetchone()[1] == RAW_EMAIL
        conn.execute("SET purpose = 'analytics'")
        for _ in range(2):
            assert_masked(conn.execute(sql, (CID,)).fetchone()[1])
        with conn.transaction():
            conn.execute("SET LOCAL purpose = 'marketing'")
            assert conn.execute(sql, (CID,)).fetchone()[1] == RAW_EMAIL
        assert_masked(conn.execute(sql, (CID,)).fetchone()[1])
