"""The extended query protocol message by message, as PostgreSQL's protocol chapter states it."""

from __future__ import annotations

import struct

import pytest

from tests.support.proxy_process import ProxyProcess
from tests.support.raw_client import (
    FLUSH,
    SYNC,
    RawConnection,
    bind,
    close,
    describe,
    execute,
    parse,
    query,
)

pytestmark = pytest.mark.timeout(60)




@pytest.fixture
def raw(proxy: ProxyProcess):
    connection = RawConnection(proxy.host, proxy.port)
    connection.login("ana")
    yield connection
    connection.close()


def types_of(replies) -> list[bytes]:
    return [reply.type for reply in replies]


def test_parse_bind_execute_sync(raw):
    raw.send(parse("SELECT id, country FROM shop.customers WHERE id = $1", oids=(23,)))
    raw.send(bind(values=(b"7",)) + execute() + SYNC)
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [b"1", b"2", b"D", b"C", b"Z"]
    assert replies[3].payload == b"SELECT 1\0"


def test_describe_statement_reports_inferred_parameter_types_and_columns(raw):
    raw.send(parse("SELECT id, email FROM shop.customers WHERE id = $1", name="s1"))
    raw.send(describe("S", "s1") + SYNC)
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [b"1", b"t", b"T", b"Z"]
    count, oid = struct.unpack("!HI", replies[1].payload)
    assert (count, oid) == (1, 23)  # inferred from shop.customers.id integer
    assert b"email\0" in replies[2].payload


def test_describe_never_executes(raw, proxy):
    """A statement that would fail when run is described without error: nothing ran."""
    raw.send(parse("SELECT 1 / (id - id) FROM shop.customers", name="boom"))
    raw.send(describe("S", "boom") + SYNC)
    assert types_of(raw.read_until(b"Z")) == [b"1", b"t", b"T", b"Z"]
    raw.send(bind(statement="boom") + describe("P") + SYNC)
    assert types_of(raw.read_until(b"Z")) == [b"2", b"T", b"Z"]
    raw.send(bind(statement="boom") + execute() + SYNC)
    replies = raw.read_until(b"Z")
    assert replies[1].type == b"E" and replies[1].fields()["C"] == "22012"


def test_row_limit_suspends_the_portal_and_resumes(raw):
    raw.send(parse("SELECT id FROM shop.customers ORDER BY id LIMIT 5"))
    raw.send(bind() + execute(max_rows=2) + execute(max_rows=2) + execute(max_rows=2) + SYNC)
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [
        b"1", b"2", b"D", b"D", b"s", b"D", b"D", b"s", b"D", b"C", b"Z"
    ]
    # PostgreSQL's tag counts the rows of the last Execute of a resumed portal (2 + 2 + 1).
    assert replies[-2].payload == b"SELECT 1\0"


def test_error_skips_messages_until_sync(raw):
    raw.send(parse("SELECT FROM WHERE"))  # syntax error
    raw.send(bind() + describe("P") + execute() + SYNC)
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [b"E", b"Z"]
    assert replies[0].fields()["C"] == "42601"
    raw.send(parse("SELECT 1") + bind() + execute() + SYNC)
    assert types_of(raw.read_until(b"Z")) == [b"1", b"2", b"D", b"C", b"Z"]


def test_named_statement_reused_and_closed(raw):
    raw.send(parse("SELECT $1::int + 1", name="plus"))
    for value in (b"1", b"41"):
        raw.send(bind(statement="plus", values=(value,)))
        raw.send(execute())
    raw.send(SYNC)
    replies = raw.read_until(b"Z")
    rows = [r.payload for r in replies if r.type == b"D"]
    assert rows == [b"\x00\x01\x00\x00\x00\x012", b"\x00\x01\x00\x00\x00\x0242"]
    raw.send(close("S", "plus") + bind(statement="plus") + SYNC)
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [b"3", b"E", b"Z"]
    assert replies[1].fields()["C"] == "26000"


def test_duplicate_named_statement(raw):
    raw.send(parse("SELECT 1", name="dup") + parse("SELECT 2", name="dup") + SYNC)
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [b"1", b"E", b"Z"]
    assert replies[1].fields()["C"] == "42P05"


def test_multiple_statements_in_parse_are_refused(raw):
    raw.send(parse("SELECT 1; SELECT 2") + SYNC)
    replies = raw.read_until(b"Z")
    assert replies[0].fields()["M"] == "cannot insert multiple commands into a prepared statement"


def test_wrong_parameter_count(raw):
    raw.send(parse("SELECT $1::int, $2::int") + bind(values=(b"1",)) + SYNC)
    replies = raw.read_until(b"Z")
    assert replies[1].fields()["C"] == "08P01"
    assert "supplies 1 parameters" in replies[1].fields()["M"]


def test_binary_parameters_and_results(raw):
    raw.send(parse("SELECT $1::int8 * 2", oids=(20,)))
    raw.send(bind(values=(struct.pack("!q", 21),), formats=(1,), result_formats=(1,)))
    raw.send(describe("P") + execute() + SYNC)
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [b"1", b"2", b"T", b"D", b"C", b"Z"]
    assert replies[2].payload.endswith(struct.pack("!h", 1))  # column format: binary
    assert replies[3].payload == struct.pack("!hi", 1, 8) + struct.pack("!q", 42)


def test_bad_binary_parameter_is_22p03(raw):
    raw.send(parse("SELECT $1::int4", oids=(23,)))
    raw.send(bind(values=(b"\x01\x02",), formats=(1,)) + SYNC)
    replies = raw.read_until(b"Z")
    assert replies[1].fields()["C"] == "22P03"


def test_bad_text_parameter_is_22p02(raw):
    raw.send(parse("SELECT $1::int4", oids=(23,)))
    raw.send(bind(values=(b"abc",)) + execute() + SYNC)
    replies = raw.read_until(b"Z")
    error = replies[1].fields()
    assert error["C"] == "22P02"
    assert error["M"] == 'invalid input syntax for type integer: "abc"'


def test_empty_query(raw):
    raw.send(parse("") + bind() + execute() + SYNC)
    assert types_of(raw.read_until(b"Z")) == [b"1", b"2", b"I", b"Z"]
    raw.send(query(""))
    assert types_of(raw.read_until(b"Z")) == [b"I", b"Z"]


def test_flush_delivers_without_sync(raw):
    raw.send(parse("SELECT 1") + FLUSH)
    assert raw.read().type == b"1"
    raw.send(SYNC)
    assert types_of(raw.read_until(b"Z")) == [b"Z"]


def test_unknown_portal_and_statement(raw):
    raw.send(execute("nope") + SYNC)
    assert raw.read_until(b"Z")[0].fields()["C"] == "34000"
    raw.send(describe("S", "nope") + SYNC)
    assert raw.read_until(b"Z")[0].fields()["C"] == "26000"


def test_transaction_status_in_ready_for_query(raw):
    raw.send(query("BEGIN"))
    assert raw.read_until(b"Z")[-1].payload == b"T"
    raw.send(query("SELECT 1/0"))
    assert raw.read_until(b"Z")[-1].payload == b"E"
    raw.send(query("SELECT 1"))
    replies = raw.read_until(b"Z")
    assert replies[0].fields()["C"] == "25P02" and replies[-1].payload == b"E"
    raw.send(query("ROLLBACK"))
    assert raw.read_until(b"Z")[-1].payload == b"I"


def test_multi_statement_query_is_one_implicit_transaction(raw, proxy):
    raw.send(query("SELECT 1; SELECT 1/0; SELECT 3"))
    replies = raw.read_until(b"Z")
    assert types_of(replies) == [b"T", b"D", b"C", b"E", b"Z"]
    assert replies[-1].payload == b"I"
