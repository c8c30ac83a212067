"""What a client receives through the proxy is byte for byte what PostgreSQL itself sends.

A differential test on the PostgreSQL warehouse: the same protocol messages go to the
warehouse directly (as the proxy's own warehouse role) and through the proxy (as `etl`, whose
purpose reads everything raw), and the replies are compared message by message, for every
built-in type listed below, in text, binary and mixed result formats, over each path a client
can take: simple query, extended protocol, a portal suspended and resumed with a row limit,
SQL cursors declared in text and in binary and fetched over both protocols, and COPY TO STDOUT.
Only ParameterStatus messages (the proxy presents its own server) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.raw_client import (
    SYNC,
    RawConnection,
    Reply,
    bind,
    describe,
    execute,
    parse,
    query,
)

pytestmark = pytest.mark.timeout(120)

#: One literal per built-in type (arrays of several too), as `expression AS name`.
TYPED_VALUES: list[tuple[str, str]] = [
    ("bool", "true"), ("int2", "-12"), ("int4", "123456"), ("int8", "-9007199254740993"),
    ("float4", "1.5"), ("float8", "-2.25e-300"), ("numeric", "12345.678900"),
    ("numeric(10,2)", "-0.5"), ("text", "'héllo\\tworld'"), ("varchar(8)", "'abc'"),
    ("bpchar(5)", "'ab'"), ("char", "'x'"), ("name", "'a name'"), ("bytea", "'\\x00ff10'"),
    ("date", "'2024-02-29'"), ("time", "'13:14:15.123456'"), ("timetz", "'13:14:15+02'"),
    ("timestamp", "'2024-02-29 13:14:15.5'"), ("timestamptz", "'2024-02-29 13:14:15+01'"),
    ("interval", "'1 year 2 mons 3 days 04:05:06.7'"), ("uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
    ("json", "'{\"a\": [1, 2]}'"), ("jsonb", "'{\"b\": {\"c\": null}}'"),
    ("inet", "'192.168.0.1/24'"), ("cidr", "'10.0.0.0/8'"), ("macaddr", "'08:00:2b:01:02:03'"),
    ("macaddr8", "'08:00:2b:01:02:03:04:05'"), ("bit(4)", "B'1010'"), ("varbit", "B'101'"),
    ("money", "'12.34'"), ("oid", "4242"), ("int4range", "'[1,5)'"), ("numrange", "'(1.5,2.5]'"),
    ("daterange", "'[2024-01-01,2024-02-01)'"), ("tsrange", "'[2024-01-01 10:00,2024-01-01 11:00)'"),
    ("tstzrange", "'[2024-01-01 10:00+00,)'"), ("int4multirange", "'{[1,3), [5,8)}'"),
    ("point", "'(1.5,2)'"), ("box", "'(1,1),(0,0)'"),
    ("int4[]", "'{1,NULL,3}'"), ("text[]", "'{\"a b\",c,NULL}'"), ("numeric[]", "'{1.5,-2}'"),
    ("date[]", "'{2024-01-01,infinity}'"), ("int8[][]", "'{{1,2},{3,4}}'"),
    ("uuid[]", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'"), ("jsonb[]", "ARRAY['1'::jsonb]"),
    ("inet[]", "'{::1,10.1.2.3/32}'"), ("int4range[]", "ARRAY['[1,2)'::int4range]"),
    ("bool", "NULL"), ("float8", "'NaN'"), ("float8", "'-Infinity'"), ("numeric", "'NaN'"),
    ("timestamp", "'infinity'"), ("date", "'-infinity'"),
]

ALL_TYPES = "SELECT " + ", ".join(
    f"{value}::{type_} AS c{index}" for index, (type_, value) in enumerate(TYPED_VALUES)
)
COLUMNS = len(TYPED_VALUES)
SETTINGS = ("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
            "SET extra_float_digits = 1")
ROWS = "SELECT g, g::text || 'x', (g * 1.5)::numeric, now() - now() FROM generate_series(1, 7) g"


def _normalized(replies: list[Reply]) -> list[tuple[bytes, bytes]]:
    return [(r.type, r.payload) for r in replies if r.type != b"S"]


class Pair:
    """A direct connection to the warehouse and one through the proxy, driven alike."""

    def __init__(self, direct: RawConnection, proxied: RawConnection) -> None:
        self.direct, self.proxied = direct, proxied

    def exchange(self, data: bytes, until: bytes = b"Z") -> list[tuple[bytes, bytes]]:
        """Send `data` to both; both replies (up to `until`) must be identical."""
        replies = []
        for connection in (self.direct, self.proxied):
            connection.send(data)
            replies.append(_normalized(connection.read_until(until)))
        direct, proxied = replies
        assert [t for t, _ in proxied] == [t for t, _ in direct], (
            f"direct {direct[:4]!r}\nproxied {proxied[:4]!r}")
        for (kind, want), (_, got) in zip(direct, proxied, strict=True):
            assert got == want, f"{kind!r} differs:\n direct  {want[:300]!r}\n proxied {got[:300]!r}"
        return direct


@pytest.fixture(scope="module")
def pair(postgres_proxy: Any, demo_postgres_warehouse: Any) -> Iterator[Pair]:
    warehouse = demo_postgres_warehouse
    direct = RawConnection(warehouse.host, warehouse.port)
    direct.login(warehouse.role, warehouse.password, database=warehouse.database)
    proxied = RawConnection(postgres_proxy.host, postgres_proxy.port)
    proxied.login("etl")
    both = Pair(direct, proxied)
    both.exchange(query(SETTINGS))
    yield both
    direct.close()
    proxied.close()


def test_simple_query_all_types(pair: Pair) -> None:
    replies = pair.exchange(query(ALL_TYPES))
    assert [kind for kind, _ in replies] == [b"T", b"D", b"C", b"Z"]


@pytest.mark.parametrize("formats", [(), (0,), (1,), "mixed", "mixed-inverse"])
def test_extended_all_types(pair: Pair, formats: Any) -> None:
    if isinstance(formats, str):
        first = 0 if formats == "mixed" else 1
        formats = tuple((first + index) % 2 for index in range(COLUMNS))
    replies = pair.exchange(
        parse(ALL_TYPES) + bind(result_formats=formats) + describe("P") + execute() + SYNC
    )
    assert [kind for kind, _ in replies] == [b"1", b"2", b"T", b"D", b"C", b"Z"]


@pytest.mark.parametrize("formats", [(0,), (1,), (0, 1, 0, 1)])
def test_portal_suspended_and_resumed(pair: Pair, formats: tuple[int, ...]) -> None:
    pair.exchange(query("BEGIN"))
    pair.exchange(parse(ROWS, "rows") + bind("p", "rows", result_formats=formats)
                  + describe("P", "p") + execute("p", 3) + SYNC)
    pair.exchange(execute("p", 3) + SYNC)
    replies = pair.exchange(execute("p", 3) + SYNC)
    assert [kind for kind, _ in replies] == [b"D", b"C", b"Z"]
    pair.exchange(query("COMMIT; DEALLOCATE rows"))


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("fetch_formats", [None, (0,), (1,), "mixed"])
def test_sql_cursor(pair: Pair, binary: bool, fetch_formats: Any) -> None:
    pair.exchange(query("BEGIN"))
    pair.exchange(query(f"DECLARE c {'BINARY ' if binary else ''}CURSOR FOR {ALL_TYPES} "
                        "UNION ALL " + ALL_TYPES))
    if fetch_formats is None:  # simple protocol: the cursor's own format
        replies = pair.exchange(query("FETCH 1 FROM c"))
        assert [kind for kind, _ in replies] == [b"T", b"D", b"C", b"Z"]
    else:  # extended: the Bind's formats, whatever the cursor was declared with
        if fetch_formats == "mixed":
            fetch_formats = tuple(index % 2 for index in range(COLUMNS))
        replies = pair.exchange(parse("FETCH 1 FROM c") + bind(result_formats=fetch_formats)
                                + describe("P") + execute() + SYNC)
        assert [kind for kind, _ in replies] == [b"1", b"2", b"T", b"D", b"C", b"Z"]
    pair.exchange(query("MOVE 0 IN c; FETCH ALL FROM c"))
    pair.exchange(query("CLOSE c; COMMIT"))


def test_scroll_cursor_every_direction(pair: Pair) -> None:
    pair.exchange(query("BEGIN"))
    pair.exchange(query(f"DECLARE s SCROLL CURSOR FOR {ROWS}"))
    for fetch in ("FETCH 2 FROM s", "FETCH PRIOR FROM s", "FETCH ABSOLUTE 5 FROM s",
                  "FETCH RELATIVE -2 FROM s", "MOVE LAST IN s", "FETCH BACKWARD 3 FROM s",
                  "FETCH FIRST FROM s", "MOVE FORWARD ALL IN s", "FETCH BACKWARD ALL FROM s"):
        replies = pair.exchange(query(fetch))
        assert replies[-1][0] == b"Z"
    pair.exchange(query("COMMIT"))


@pytest.mark.parametrize("options", ["", "(FORMAT csv, HEADER)", "(FORMAT binary)"])
def test_copy_to_stdout(pair: Pair, options: str) -> None:
    replies = pair.exchange(query(f"COPY ({ALL_TYPES}) TO STDOUT {options}"))
    assert [kind for kind, _ in replies][0] == b"H"
