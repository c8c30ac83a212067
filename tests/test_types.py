"""The type codecs, checked byte for byte against a real PostgreSQL.

For each case PostgreSQL prints a literal in text and binary format; our encoders must
produce the same bytes from the equivalent Python value (as DuckDB returns it), and our
decoders must turn PostgreSQL's bytes back into that value. Input parsing and error
messages are compared with what PostgreSQL does with the same parameter text.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from proxy.errors import PgError
from proxy.wire.types import (
    Interval,
    Oid,
    array_oid,
    decode_binary,
    decode_text,
    element_oid,
    encode_binary,
    encode_text,
    oid_for_duckdb_type,
    sql_type_name,
    text_encoder,
    type_name,
    type_size,
)
from tests.support.requirements import require

psycopg = pytest.importorskip("psycopg")
from psycopg import pq  # noqa: E402

PG_DSN = os.environ.get("TYPES_ORACLE_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3")
SAME = object()
UTC = UTC


# ---------------------------------------------------------------- oracle


@dataclass
class Failure:
    sqlstate: str
    message: str
    detail: str | None


class Oracle:
    """Low-level libpq calls, so no psycopg adapter touches the bytes."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.pg = conn.pgconn
        self.timezone = ""

    def run(
        self,
        sql: str,
        params: list[bytes | None] | None = None,
        types: list[int] | None = None,
        formats: list[int] | None = None,
        binary: bool = False,
    ) -> bytes | None | Failure:
        res = self.pg.exec_params(sql.encode(), params, types, formats, 1 if binary else 0)
        if res.status == pq.ExecStatus.FATAL_ERROR:
            field_ = pq.DiagnosticField

            def get(which: int) -> str | None:
                raw = res.error_field(which)
                return raw.decode() if raw is not None else None

            return Failure(get(field_.SQLSTATE) or "", get(field_.MESSAGE_PRIMARY) or "", get(field_.MESSAGE_DETAIL))
        assert res.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK), res.error_message
        return res.get_value(0, 0) if res.ntuples else None

    def set_timezone(self, tz: str) -> None:
        if tz != self.timezone:
            assert self.run(f"SET TimeZone = '{tz}'") is None
            self.timezone = tz

    def value(self, expr: str, binary: bool) -> bytes:
        out = self.run(f"SELECT {expr}", binary=binary)
        assert isinstance(out, bytes), f"PostgreSQL rejected {expr}: {out}"
        return out


_unreachable: list[str] = []  # remembered so each test skips (or fails in CI) without another connect


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    require(not _unreachable, _unreachable[0] if _unreachable else "")
    try:
        conn = psycopg.connect(PG_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        _unreachable.append(f"PostgreSQL oracle for the type codec tests is not reachable at {PG_DSN!r}: {exc}")
        require(False, _unreachable[0])
        raise  # unreachable: require() skipped or failed
    oracle = Oracle(conn)
    for setting in ("DateStyle = 'ISO, MDY'", "IntervalStyle = 'postgres'", "extra_float_digits = 1",
                    "bytea_output = 'hex'", "client_encoding = 'UTF8'"):  # fmt: skip
        assert oracle.run(f"SET {setting}") is None
    oracle.set_timezone("UTC")
    yield oracle
    conn.close()


def same(a: object, b: object) -> bool:
    """Equality that also insists on the same type, float sign/NaN, numeric scale, tz offsets."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, Decimal):
        assert isinstance(b, Decimal)
        if a.is_nan() or b.is_nan():
            return a.is_nan() and b.is_nan()
        return a == b and a.as_tuple().exponent == b.as_tuple().exponent
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (datetime, time)):
        assert isinstance(b, (datetime, time))
        return a == b and a.utcoffset() == b.utcoffset() if isinstance(a, time) else a == b
    return a == b


# ---------------------------------------------------------------- cases


@dataclass
class Case:
    expr: str  # a PostgreSQL expression
    oid: int
    value: object  # the Python value DuckDB would hand us
    decoded: object = SAME  # what our decoders return, when not `value` itself
    tz: str = "UTC"
    id: str = field(default="")

    def expected_decoded(self) -> object:
        return self.value if self.decoded is SAME else self.decoded


def f32(x: float) -> float:
    """A float4 as DuckDB's Python API returns it: the float32 value widened to a double."""
    return struct.unpack(">f", struct.pack(">f", x))[0]


I = Interval  # noqa: E741
H = 3600 * 10**6

CASES: list[Case] = [
    # integers
    *[Case(f"'{v}'::int2", Oid.INT2, v) for v in (0, 1, -1, 32767, -32768)],
    *[Case(f"'{v}'::int4", Oid.INT4, v) for v in (0, 42, -1, 2147483647, -2147483648)],
    *[Case(f"'{v}'::int8", Oid.INT8, v) for v in (0, -1, 9223372036854775807, -9223372036854775808)],
    *[Case(f"{v}::oid", Oid.OID, v) for v in (0, 1259, 4294967295)],
    Case("true", Oid.BOOL, True),
    Case("false", Oid.BOOL, False),
    # floats
    *[
        Case(f"'{v!r}'::float8", Oid.FLOAT8, v)
        for v in (
            0.0,
            -0.0,
            1.5,
            0.1,
            -0.1,
            1e15,
            1e16,
            123456789012345.6,
            1234567890123456.8,
            9.999999999999998e15,
            1e-5,
            1e-4,
            0.0001234,
            1e20,
            1e-20,
            1.7976931348623157e308,
            5e-324,
            2.2250738585072014e-308,
            3.141592653589793,
            100.0,
            1e22,
            123456.0,
            -2.5e-7,
            1 / 3,
            2.0**53,
        )  # fmt: skip
    ],
    Case("'Infinity'::float8", Oid.FLOAT8, math.inf),
    Case("'-Infinity'::float8", Oid.FLOAT8, -math.inf),
    Case("'NaN'::float8", Oid.FLOAT8, math.nan),
    *[
        Case(f"'{f32(v)!r}'::float4", Oid.FLOAT4, f32(v))
        for v in (
            0.0,
            -0.0,
            0.1,
            1.5,
            1e6,
            123456.0,
            1234567.0,
            3.4028235e38,
            1e-45,
            1e-38,
            1e-4,
            1e-5,
            -2.5,
            16777216.0,
            0.3,
            1 / 3,
            999999.0,
            1e-3,
            2.0**-20,
        )  # fmt: skip
    ],
    Case("'Infinity'::float4", Oid.FLOAT4, math.inf),
    Case("'-Infinity'::float4", Oid.FLOAT4, -math.inf),
    Case("'NaN'::float4", Oid.FLOAT4, math.nan),
    # numeric
    *[
        Case(f"'{s}'::numeric", Oid.NUMERIC, Decimal(s))
        for s in (
            "0",
            "0.0001",
            "-12345678901234567890.123456789",
            "0.00000000000000000001",
            "100000000000000000000",
            "1.500",
            "-0.5",
            "10000",
            "12345.6789",
            "0.00",
            "99999999",
            "123456789012345678901234567890.123456789012345678901234567890",
            "0.1",
            "-1",
            "1000.0001",
            "0.000000010000",
        )  # fmt: skip
    ],
    Case("'1e-20'::numeric", Oid.NUMERIC, Decimal("1E-20")),
    Case("'1e20'::numeric", Oid.NUMERIC, Decimal("1E+20"), Decimal("100000000000000000000")),
    Case("'-0.00'::numeric", Oid.NUMERIC, Decimal("-0.00"), Decimal("0.00")),
    Case("'NaN'::numeric", Oid.NUMERIC, Decimal("NaN")),
    Case("'Infinity'::numeric", Oid.NUMERIC, Decimal("Infinity")),
    Case("'-Infinity'::numeric", Oid.NUMERIC, Decimal("-Infinity")),
    Case(
        "170141183460469231731687303715884105727::numeric",
        Oid.NUMERIC,
        2**127 - 1,  # HUGEINT
        Decimal(2**127 - 1),
    ),  # fmt: skip
    Case("(-18446744073709551615)::numeric", Oid.NUMERIC, -(2**64 - 1), Decimal(-(2**64 - 1))),
    # text-like
    *[
        Case(f"'{s.replace(chr(39), chr(39) * 2)}'::{t}", oid, s)
        for s in ("", "hello", "héllo wörld ☃ 😀", 'it\'s "q"', "a\\b", "line\nbreak\ttab", "{a,b}", "NULL")
        for t, oid in (("text", Oid.TEXT), ("varchar", Oid.VARCHAR))
    ],
    Case("'pg_class'::name", Oid.NAME, "pg_class"),
    Case("'ab '::bpchar", Oid.BPCHAR, "ab "),
    Case("'r'::\"char\"", Oid.CHAR, "r"),
    # bytea
    Case("'\\x'::bytea", Oid.BYTEA, b""),
    Case("'\\x0a0b'::bytea", Oid.BYTEA, b"\n\x0b"),
    Case("'\\xdeadbeef00ff'::bytea", Oid.BYTEA, b"\xde\xad\xbe\xef\x00\xff"),
    # uuid, json
    Case("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", Oid.UUID, UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    Case("'00000000-0000-0000-0000-000000000000'::uuid", Oid.UUID, UUID(int=0)),
    Case("'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid", Oid.UUID, UUID(int=2**128 - 1)),
    Case('\'{"a": [1, 2.5, "x"], "b": null}\'::json', Oid.JSON, '{"a": [1, 2.5, "x"], "b": null}'),
    Case("'[]'::json", Oid.JSON, "[]"),
    Case('\'{"k":"ü\\n"}\'::json', Oid.JSON, '{"k":"ü\\n"}'),
    Case('\'{"b":1,"a":[true,null]}\'::jsonb', Oid.JSONB, '{"a": [true, null], "b": 1}'),
    Case("'\"str\"'::jsonb", Oid.JSONB, '"str"'),
    # dates
    *[
        Case(f"'{d.isoformat()}'::date", Oid.DATE, d)
        for d in (
            date(2000, 1, 1),
            date(1999, 12, 31),
            date(1, 1, 1),
            date(9999, 12, 31),
            date(2024, 2, 29),
            date(1970, 1, 1),
            date(999, 5, 6),
        )  # fmt: skip
    ],
    Case("'0044-03-15 BC'::date", Oid.DATE, "0044-03-15 (BC)"),
    Case("'4713-01-01 BC'::date", Oid.DATE, "4713-01-01 (BC)"),
    Case("'4714-11-24 BC'::date", Oid.DATE, "4714-11-24 (BC)"),
    Case("'0001-12-31 BC'::date", Oid.DATE, "0001-12-31 (BC)"),
    Case("'10000-01-01'::date", Oid.DATE, "10000-01-01"),
    Case("'5874897-12-31'::date", Oid.DATE, "5874897-12-31"),
    Case("'infinity'::date", Oid.DATE, "infinity"),
    Case("'-infinity'::date", Oid.DATE, "-infinity"),
    # times
    Case("'00:00'::time", Oid.TIME, time(0, 0)),
    Case("'23:59:59.999999'::time", Oid.TIME, time(23, 59, 59, 999999)),
    Case("'12:00:00.5'::time", Oid.TIME, time(12, 0, 0, 500000)),
    Case("'01:02:03.000001'::time", Oid.TIME, time(1, 2, 3, 1)),
    Case("'24:00:00'::time", Oid.TIME, "24:00:00"),
    Case("'12:00:00+05:30'::timetz", Oid.TIMETZ, time(12, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    Case("'00:00:00+00'::timetz", Oid.TIMETZ, time(0, tzinfo=UTC)),
    Case("'23:59:59.999999-08'::timetz", Oid.TIMETZ, time(23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8)))),
    Case("'12:00:00-00:00:30'::timetz", Oid.TIMETZ, time(12, tzinfo=timezone(timedelta(seconds=-30)))),
    # timestamps
    *[
        Case(f"'{ts.isoformat(' ')}'::timestamp", Oid.TIMESTAMP, ts)
        for ts in (
            datetime(2024, 1, 2, 3, 4, 5),
            datetime(2024, 1, 2, 3, 4, 5, 123456),
            datetime(2000, 1, 1),
            datetime(1999, 12, 31, 23, 59, 59, 999999),
            datetime(1, 1, 1),
            datetime(1970, 1, 1, 0, 0, 0, 500000),
            datetime(9999, 12, 31, 23, 59, 59, 999999),
            datetime(1900, 2, 28, 12, 30),
        )  # fmt: skip
    ],
    Case("'0044-03-15 10:00:00.5 BC'::timestamp", Oid.TIMESTAMP, "0044-03-15 (BC) 10:00:00.5"),
    Case("'4714-11-24 00:00:00 BC'::timestamp", Oid.TIMESTAMP, "4714-11-24 (BC) 00:00:00"),
    Case("'10000-01-01 00:00:01'::timestamp", Oid.TIMESTAMP, "10000-01-01 00:00:01"),
    Case("'294276-12-31 23:59:59.999999'::timestamp", Oid.TIMESTAMP, "294276-12-31 23:59:59.999999"),
    Case("'infinity'::timestamp", Oid.TIMESTAMP, "infinity"),
    Case("'-infinity'::timestamp", Oid.TIMESTAMP, "-infinity"),
    # timestamptz in several session time zones (values are instants; decoding gives UTC)
    *[
        Case(f"'{ts.isoformat(' ')}'::timestamptz", Oid.TIMESTAMPTZ, ts, tz=tz)
        for tz in (
            "UTC",
            "Asia/Kolkata",
            "America/St_Johns",
            "America/New_York",
            "Europe/Paris",
            "Australia/Lord_Howe",
            "+05:30",
            "5",
            "UTC+3",
            "europe/london",
        )  # fmt: skip
        for ts in (
            datetime(2024, 1, 2, 3, 4, 5, 123456, UTC),
            datetime(2024, 7, 1, 12, tzinfo=UTC),
            datetime(2000, 1, 1, tzinfo=UTC),
            datetime(1800, 1, 1, tzinfo=UTC),
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 12, tzinfo=UTC),
        )  # fmt: skip
    ],
    Case(
        "'0044-03-15 10:00:00.5+00 BC'::timestamptz",
        Oid.TIMESTAMPTZ,
        "0044-03-15 (BC) 10:00:00.5+00",
        tz="Asia/Kolkata",
    ),
    Case("'infinity'::timestamptz", Oid.TIMESTAMPTZ, "infinity", tz="Europe/Paris"),
    Case("'-infinity'::timestamptz", Oid.TIMESTAMPTZ, "-infinity"),
    # intervals
    Case("'1 year 2 mons 3 days 04:05:06.5'::interval", Oid.INTERVAL, I(14, 3, 4 * H + 306_500_000)),
    Case("'-00:00:01'::interval", Oid.INTERVAL, timedelta(seconds=-1)),
    Case("'0'::interval", Oid.INTERVAL, timedelta(0)),
    Case("'3 days 04:05:06.5'::interval", Oid.INTERVAL, timedelta(days=3, hours=4, minutes=5, seconds=6.5)),
    Case("'1 day -01:00:00'::interval", Oid.INTERVAL, I(0, 1, -H)),
    Case("'-1 days +01:00:00'::interval", Oid.INTERVAL, I(0, -1, H)),
    Case("'25:00:00'::interval", Oid.INTERVAL, I(0, 0, 25 * H)),
    Case("'-10 mons'::interval", Oid.INTERVAL, I(-10, 0, 0)),
    Case("'1 mon -1 days'::interval", Oid.INTERVAL, I(1, -1, 0)),
    Case("'-1 mons -2 days -03:00:00'::interval", Oid.INTERVAL, I(-1, -2, -3 * H)),
    Case("'-1 year +2 mons'::interval", Oid.INTERVAL, I(-10, 0, 0)),
    Case("'-2 days -00:00:00.000001'::interval", Oid.INTERVAL, timedelta(days=-2, microseconds=-1)),
    Case("'1 day'::interval", Oid.INTERVAL, timedelta(days=1)),
    Case("'00:00:00.000001'::interval", Oid.INTERVAL, timedelta(microseconds=1)),
    Case("'178000000 years'::interval", Oid.INTERVAL, I(178000000 * 12, 0, 0)),
    Case("'-2147483648 days'::interval", Oid.INTERVAL, I(0, -(2**31), 0)),
    Case("'2562047788:00:54.775807'::interval", Oid.INTERVAL, I(0, 0, 2**63 - 1)),
    # arrays
    Case("'{1,2,NULL}'::int4[]", Oid.INT4_ARRAY, [1, 2, None]),
    Case("'{}'::int4[]", Oid.INT4_ARRAY, []),
    Case("'{NULL}'::int4[]", Oid.INT4_ARRAY, [None]),
    Case("'{{1,2},{3,4}}'::int4[]", Oid.INT4_ARRAY, [[1, 2], [3, 4]]),
    Case("'{{NULL,1},{2,NULL}}'::int4[]", Oid.INT4_ARRAY, [[None, 1], [2, None]]),
    Case("'{{{1},{2}},{{3},{4}}}'::int4[]", Oid.INT4_ARRAY, [[[1], [2]], [[3], [4]]]),
    Case("'{-32768,32767}'::int2[]", Oid.INT2_ARRAY, [-32768, 32767]),
    Case("'{9223372036854775807}'::int8[]", Oid.INT8_ARRAY, [2**63 - 1]),
    Case("'{t,f,NULL}'::bool[]", Oid.BOOL_ARRAY, [True, False, None]),
    Case(
        "'{1.5,NaN,Infinity,-Infinity,0.1,1e+15}'::float8[]",
        Oid.FLOAT8_ARRAY,
        [1.5, math.nan, math.inf, -math.inf, 0.1, 1e15],
    ),  # fmt: skip
    Case("'{0.1,1e+06}'::float4[]", Oid.FLOAT4_ARRAY, [f32(0.1), 1e6]),
    Case(
        "'{1.50,NaN,-0.0001,NULL}'::numeric[]",
        Oid.NUMERIC_ARRAY,
        [Decimal("1.50"), Decimal("NaN"), Decimal("-0.0001"), None],
    ),  # fmt: skip
    Case(
        """ARRAY['a b', '', NULL, 'NULL', 'null', 'x\\y', 'q"q', '{', '}', ',', 'plain', E'\\t', E'\\013', E'\\014',
                 'ü', ' lead', 'trail ']""",
        Oid.TEXT_ARRAY,
        [
            "a b",
            "",
            None,
            "NULL",
            "null",
            "x\\y",
            'q"q',
            "{",
            "}",
            ",",
            "plain",
            "\t",
            "\v",
            "\f",
            "ü",
            " lead",
            "trail ",
        ],
    ),
    Case("'{{a,b},{c,\"d e\"}}'::text[]", Oid.TEXT_ARRAY, [["a", "b"], ["c", "d e"]]),
    Case("ARRAY['x'::varchar, NULL]", Oid.VARCHAR_ARRAY, ["x", None]),
    Case("ARRAY['pg_class'::name]", Oid.NAME_ARRAY, ["pg_class"]),
    Case("ARRAY['\\x0102'::bytea, '\\x'::bytea, NULL]", Oid.BYTEA_ARRAY, [b"\x01\x02", b"", None]),
    Case("'{2024-01-01,infinity,NULL}'::date[]", Oid.DATE_ARRAY, [date(2024, 1, 1), "infinity", None]),
    Case(
        "ARRAY['2020-01-01 00:00:00'::timestamp, '2020-01-01 00:00:00.5']",
        Oid.TIMESTAMP_ARRAY,
        [datetime(2020, 1, 1), datetime(2020, 1, 1, 0, 0, 0, 500000)],
    ),  # fmt: skip
    Case(
        "ARRAY['2020-01-01 00:00:00+00'::timestamptz, NULL]",
        Oid.TIMESTAMPTZ_ARRAY,
        [datetime(2020, 1, 1, tzinfo=UTC), None],
        tz="Asia/Kolkata",
    ),  # fmt: skip
    Case("ARRAY['12:00:00.5'::time]", Oid.TIME_ARRAY, [time(12, 0, 0, 500000)]),
    Case("ARRAY['12:00:00+05:30'::timetz]", Oid.TIMETZ_ARRAY, [time(12, tzinfo=timezone(timedelta(hours=5.5)))]),
    Case(
        "ARRAY['1 day'::interval, '-00:00:01', '1 year']",
        Oid.INTERVAL_ARRAY,
        [timedelta(days=1), timedelta(seconds=-1), I(12, 0, 0)],
    ),  # fmt: skip
    Case(
        "ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid]",
        Oid.UUID_ARRAY,
        [UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")],
    ),  # fmt: skip
    Case("ARRAY['{\"a\": 1}'::json, 'null']", Oid.JSON_ARRAY, ['{"a": 1}', "null"]),
    Case("ARRAY['{\"a\": 1}'::jsonb]", Oid.JSONB_ARRAY, ['{"a": 1}']),
    Case("'{0,4294967295}'::oid[]", Oid.OID_ARRAY, [0, 4294967295]),
    Case("'{a,b}'::\"char\"[]", Oid.CHAR_ARRAY, ["a", "b"]),
    Case("'1 2'::int2vector", Oid.INT2VECTOR, [1, 2]),
    Case("''::int2vector", Oid.INT2VECTOR, []),
    Case("'23 25'::oidvector", Oid.OIDVECTOR, [23, 25]),
]
for _case in CASES:
    _case.id = f"{type_name(_case.oid)}:{_case.expr[:60]}" + (f"@{_case.tz}" if _case.tz != "UTC" else "")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_encode_and_decode_match_postgres(oracle: Oracle, case: Case) -> None:
    oracle.set_timezone(case.tz)
    pg_text = oracle.value(case.expr, binary=False)
    pg_binary = oracle.value(case.expr, binary=True)

    assert encode_text(case.value, case.oid, timezone=case.tz) == pg_text
    assert encode_binary(case.value, case.oid) == pg_binary

    expected = case.expected_decoded()
    from_text = decode_text(pg_text, case.oid, timezone=case.tz)
    from_binary = decode_binary(pg_binary, case.oid)
    assert same(from_text, expected), f"decode_text gave {from_text!r}"
    assert same(from_binary, expected), f"decode_binary gave {from_binary!r}"
    # what we decoded encodes back to PostgreSQL's bytes
    assert encode_text(from_text, case.oid, timezone=case.tz) == pg_text
    assert encode_binary(from_binary, case.oid) == pg_binary


# Values DuckDB returns that are not what our decoders give back, but must encode the same.
DUCKDB_SHAPED = [
    Case("'\\x0a0b'::bytea", Oid.BYTEA, bytearray(b"\n\x0b")),
    Case("'\\x0a0b'::bytea", Oid.BYTEA, memoryview(b"\n\x0b")),
    Case(
        "'2024-01-02 03:04:05+00'::timestamptz",
        Oid.TIMESTAMPTZ,
        datetime(2024, 1, 2, 12, 4, 5, tzinfo=ZoneInfo("Asia/Tokyo")),
        tz="America/New_York",
    ),  # fmt: skip
    Case("'infinity'::timestamptz", Oid.TIMESTAMPTZ, datetime.max, tz="Asia/Kolkata"),  # DuckDB's infinity
    Case("'-infinity'::timestamptz", Oid.TIMESTAMPTZ, datetime.min),
    Case("'2057-03-15 10:00:00+00 BC'::timestamptz", Oid.TIMESTAMPTZ, "2057-03-15 (BC) 10:00:00+00"),
    Case("'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid", Oid.UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
    Case("'{1,2}'::int4[]", Oid.INT4_ARRAY, (1, 2)),  # DuckDB fixed-size ARRAY
    Case("'1.5'::numeric", Oid.NUMERIC, 1.5),
    Case('\'{"a": 1, "b": [1, 2]}\'::jsonb', Oid.JSONB, {"a": 1, "b": [1, 2]}),
    Case("'{1,2}'::int8[]", Oid.INT8_ARRAY, [True, 2]),
]


@pytest.mark.parametrize("case", DUCKDB_SHAPED, ids=lambda c: f"{type_name(c.oid)}:{type(c.value).__name__}")
def test_duckdb_shaped_values_encode_like_postgres(oracle: Oracle, case: Case) -> None:
    oracle.set_timezone(case.tz)
    assert encode_text(case.value, case.oid, timezone=case.tz) == oracle.value(case.expr, binary=False)
    assert encode_binary(case.value, case.oid) == oracle.value(case.expr, binary=True)


# ---------------------------------------------------------------- parameter input parsing

INPUTS: list[tuple[int, str, str]] = [
    *[(Oid.INT4, s, "UTC") for s in (" 12 ", "+5", "-0", "\t7\n")],
    *[(Oid.INT8, s, "UTC") for s in ("-9223372036854775808", "007")],
    *[(Oid.FLOAT8, s, "UTC") for s in (" nan ", "1e5", ".5", "5.", "-Infinity", "inf", "0x10", "1E-5", "+1.5", "-iNf")],
    *[(Oid.FLOAT4, s, "UTC") for s in ("0.1", "3.4028235e38", "1.17549435e-38", "1e-45")],
    *[(Oid.NUMERIC, s, "UTC") for s in (" 1.5e3 ", "-.5", "5.", "inf", "1e-5", "0.000", "+12.50", "1.5E+2", "-0")],
    *[(Oid.BOOL, s, "UTC") for s in ("true", "T", "yes", "y", "on", "of", "1", "0", " tr ", "FALSE", "n", "no", "OFF")],
    *[
        (Oid.DATE, s, "UTC")
        for s in (
            "2024-01-02",
            "20240102",
            "01/02/2024",
            "epoch",
            "Infinity",
            "2024-07-01 10:00",
            "0044-03-15 BC",
            "0001-01-01 AD",
            " 2024-1-2 ",
        )
    ],  # fmt: skip
    *[
        (Oid.TIME, s, "UTC")
        for s in (
            "04:05 PM",
            "040506",
            "4:5",
            "allballs",
            "23:59:60",
            "12:00:00.1234567",
            "24:00",
            "12:00 AM",
            "04:05:06+05",
        )
    ],  # fmt: skip
    *[
        (Oid.TIMESTAMP, s, "UTC")
        for s in (
            "2024-07-01T10:00:00",
            "2024-07-01 10:00:00+05",
            "epoch",
            "1999-12-31 24:00:00",
            "2024-07-01 10:00:00.9999999",
            "4714-11-24 BC",
            "2024-07-01",
        )
    ],  # fmt: skip
    *[
        (Oid.TIMESTAMPTZ, s, tz)
        for tz in ("UTC", "America/New_York")
        for s in (
            "2024-07-01 10:00 Europe/Paris",
            "2024-07-01T10:00:00.1234567Z",
            "2024-07-01 10:00:00",
            "2024-07-01 10:00:00+0530",
            "2024-01-01 00:00:00-03:30",
            "2024-01-01",
            "0044-03-15 10:00:00+02 BC",
        )
    ],
    *[(Oid.TIMETZ, s, "UTC") for s in ("04:05:06", "04:05:06+05:30", "04:05:06 PM -08", "04:05:06Z")],
    *[
        (Oid.INTERVAL, s, "UTC")
        for s in (
            "1 day ago",
            "1 2:03:04",
            "1-2",
            "5",
            "1.5 weeks",
            "-1 day 2 hours",
            "P1.5Y",
            "PT1.5M",
            "1 h 1 min 1 s 1 ms 1 us",
            "1 yrs 2 mon",
            "0.1 sec",
            "1 millennium 1 century 1 decade",
            "P1Y2M3DT4H5M6.5S",
            "1.5 months",
            "1.5 years",
            "-1.5 years",
            "1:30",
            "10 mins 30.5 secs",
            "100 hours",
            "-01:02:03.5",
            "@ 3 days",
            "1 year 2 mons 3 days 04:05:06.5",
            "-1 days +01:00:00",
            "2 weeks",
            "P2W",
            "1 day -01:00:00",
        )
    ],  # fmt: skip
    *[
        (Oid.UUID, s, "UTC")
        for s in (
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        )
    ],
    *[(Oid.BYTEA, s, "UTC") for s in ("\\x0A0b", "\\x 01 02", "abc", "a\\\\b", "\\001\\377", "ü")],
    *[
        (Oid.INT4_ARRAY, s, "UTC")
        for s in ("  {1, 2}  ", "{ 1 , NULL }", "[0:1]={1,2}", "{{1},{2}}", "{}", "[1:2][1:1]={{1},{2}}")
    ],
    *[
        (Oid.TEXT_ARRAY, s, "UTC")
        for s in ("{ a , b\\ c }", '{"a\\"b",\\N\\ULL,nUlL}', "{{a,b},{c,d}}", '{"",""}', "{a\\,b,c}", '{ "x" , y z }')
    ],  # fmt: skip
    *[(Oid.DATE_ARRAY, s, "UTC") for s in ("{2024-01-02,infinity}",)],
    (Oid.JSON, ' {"a":1} ', "UTC"),
    (Oid.JSONB, ' {"a":1} ', "UTC"),
    (Oid.OID, "-1", "UTC"),
    (Oid.TEXT, "anything ☃", "UTC"),
]


@pytest.mark.parametrize(("oid", "text", "tz"), INPUTS, ids=lambda v: str(v))
def test_decode_text_reads_input_like_postgres(oracle: Oracle, oid: int, text: str, tz: str) -> None:
    """PostgreSQL parses the parameter; its binary output decoded must equal our text parse."""
    oracle.set_timezone(tz)
    pg_binary = oracle.run("SELECT $1", [text.encode()], [oid], [0], binary=True)
    assert isinstance(pg_binary, bytes), f"PostgreSQL rejected {text!r}: {pg_binary}"
    ours = decode_text(text.encode(), oid, timezone=tz)
    theirs = decode_binary(pg_binary, oid)
    if oid in (Oid.JSONB,):  # jsonb normalises; compare meaning
        assert ours.strip() == text.strip() and theirs == '{"a": 1}'
    else:
        assert same(ours, theirs), f"{text!r}: ours {ours!r}, PostgreSQL {theirs!r}"
    if oid != Oid.JSONB and not text.startswith("["):  # jsonb normalises; Python lists drop lower bounds
        # what we decoded is sent back exactly as PostgreSQL sends that value
        assert encode_binary(ours, oid) == pg_binary


# ---------------------------------------------------------------- errors

BAD_TEXT: list[tuple[int, str]] = [
    (Oid.INT4, "abc"), (Oid.INT4, ""), (Oid.INT4, "99999999999"), (Oid.INT4, "1.5"), (Oid.INT4, "1 2"),
    (Oid.INT2, "40000"), (Oid.INT8, "1_000"), (Oid.INT8, "9223372036854775808"), (Oid.INT4, "٣"),
    (Oid.FLOAT8, "1e400"), (Oid.FLOAT8, "-1e-400"), (Oid.FLOAT4, "1e40"), (Oid.FLOAT4, "1e-50"), (Oid.FLOAT8, "."),
    (Oid.FLOAT8, "1e"), (Oid.FLOAT8, "   "), (Oid.FLOAT8, "1_0"), (Oid.FLOAT4, "abc"),
    (Oid.NUMERIC, "abc"), (Oid.NUMERIC, "."), (Oid.NUMERIC, "1e"), (Oid.NUMERIC, "1e200000"),
    (Oid.NUMERIC, "1e-16384"), (Oid.NUMERIC, "sNaN"), (Oid.NUMERIC, "1_0"),
    (Oid.BOOL, "O"), (Oid.BOOL, ""), (Oid.BOOL, "truex"), (Oid.BOOL, "2"),
    (Oid.DATE, "2024-02-30"), (Oid.DATE, "x"), (Oid.DATE, "0000-01-01"), (Oid.DATE, "2023-02-29"),
    (Oid.DATE, "5874898-01-01"), (Oid.DATE, "4714-11-23 BC"), (Oid.DATE, "2024-13-01"),
    (Oid.TIME, "25:00"), (Oid.TIME, "24:00:00.1"), (Oid.TIME, "12:60"), (Oid.TIME, "nope"),
    (Oid.TIMESTAMP, "2024-01-01 25:00"), (Oid.TIMESTAMP, "294277-01-01"), (Oid.TIMESTAMP, "4714-11-23 BC"),
    (Oid.TIMESTAMP, "garbage"), (Oid.TIMESTAMPTZ, "2024-01-01 00:00+16"),
    (Oid.TIMESTAMPTZ, "2024-01-01 00:00 Mars/Base"),
    (Oid.INTERVAL, "1 fortnight"), (Oid.INTERVAL, "1 day 2 days"), (Oid.INTERVAL, ""), (Oid.INTERVAL, "1 hour 02:00"),
    (Oid.INTERVAL, "2147483648 months"), (Oid.INTERVAL, "P"), (Oid.INTERVAL, "ago"),
    (Oid.UUID, "abc"), (Oid.UUID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    (Oid.UUID, " a0eebc999c0b4ef8bb6d6bb9bd380a11"),
    (Oid.UUID, "a0eebc99-9c0b4-ef8-bb6d-6bb9bd380a11"),
    (Oid.JSON, "{"), (Oid.JSONB, "[1,"), (Oid.JSON, "NaN"), (Oid.JSON, "{'a': 1}"),
    (Oid.BYTEA, "\\xzz"), (Oid.BYTEA, "\\x123"), (Oid.BYTEA, "\\q"),
    (Oid.INT4_ARRAY, "{1,2"), (Oid.INT4_ARRAY, "{{1,2},{3}}"), (Oid.INT4_ARRAY, "1,2"), (Oid.TEXT_ARRAY, "{a}}"),
    (Oid.INT4_ARRAY, "{{}}"), (Oid.INT4_ARRAY, "{{1},2}"), (Oid.INT4_ARRAY, "{1,{2}}"), (Oid.TEXT_ARRAY, '{"a"b}'),
    (Oid.TEXT_ARRAY, "{a,,b}"), (Oid.INT4_ARRAY, "{1,x}"), (Oid.INT4_ARRAY, "{1,}"), (Oid.TEXT_ARRAY, '{"a}'),
    (Oid.OID, "-1x"), (Oid.OID, "4294967296"),
]  # fmt: skip


@pytest.mark.parametrize(("oid", "text"), BAD_TEXT, ids=lambda v: str(v))
def test_bad_text_input_fails_like_postgres(oracle: Oracle, oid: int, text: str) -> None:
    oracle.set_timezone("UTC")
    theirs = oracle.run("SELECT $1", [text.encode()], [oid], [0])
    assert isinstance(theirs, Failure), f"PostgreSQL accepted {text!r} as {type_name(oid)}"
    with pytest.raises(PgError) as caught:
        decode_text(text.encode(), oid)
    assert (caught.value.sqlstate, caught.value.message) == (theirs.sqlstate, theirs.message)
    if oid in (Oid.INT4_ARRAY, Oid.TEXT_ARRAY) and theirs.detail:
        assert caught.value.detail == theirs.detail


@pytest.mark.parametrize("raw", [b"\xc3\x28", b"a\xe2\x82", b"\xff\xfe", b"ok\x80", b"\xed\xa0\x80", b"a\x00b"])
@pytest.mark.parametrize("oid", [Oid.TEXT, Oid.INT4, Oid.JSON])
def test_invalid_utf8_fails_like_postgres(oracle: Oracle, raw: bytes, oid: int) -> None:
    with pytest.raises(PgError) as caught:
        decode_text(raw, oid)
    if b"\x00" in raw:  # libpq cannot send a NUL inside a text parameter; PostgreSQL's verifier rejects it
        assert caught.value.message == 'invalid byte sequence for encoding "UTF8": 0x00'
        return
    theirs = oracle.run("SELECT $1", [raw], [oid], [0])
    assert isinstance(theirs, Failure)
    assert (caught.value.sqlstate, caught.value.message) == (theirs.sqlstate, theirs.message)
    with pytest.raises(PgError) as caught_binary:
        decode_binary(raw, Oid.TEXT)
    assert caught_binary.value.sqlstate == "22021"


BAD_BINARY: list[tuple[int, bytes]] = [
    (Oid.INT4, b"\x00\x00\x01"), (Oid.INT4, b"\x00\x00\x00\x01\x00"), (Oid.INT2, b""), (Oid.INT8, b"\x00" * 4),
    (Oid.FLOAT8, b"\x00" * 7), (Oid.BOOL, b""), (Oid.UUID, b"\x00" * 15), (Oid.DATE, b"\x00" * 3),
    (Oid.TIMESTAMP, b"\x00" * 9), (Oid.INTERVAL, b"\x00" * 12), (Oid.TIME, struct.pack(">q", 86400 * 10**6 + 1)),
    (Oid.NUMERIC, struct.pack(">HhHH", 0, 0, 0x1234, 0)), (Oid.NUMERIC, struct.pack(">HhHHH", 1, 0, 0, 0, 10000)),
    (Oid.NUMERIC, struct.pack(">HhHH", 1, 0, 0, 0)), (Oid.JSONB, b"\x02{}"),
    (Oid.INT4_ARRAY, struct.pack(">iiI", 1, 0, 20) + struct.pack(">ii", 1, 1) + struct.pack(">iq", 8, 1)),
    (Oid.INT4_ARRAY, struct.pack(">iiI", 1, 2, 23)), (Oid.INT4_ARRAY, struct.pack(">iiI", -1, 0, 23)),
    (Oid.INT4_ARRAY, struct.pack(">iiI", 1, 0, 23) + struct.pack(">ii", 1, 1) + struct.pack(">ih", 2, 1)),
    (Oid.TIMETZ, struct.pack(">qi", 0, 16 * 3600)),
]  # fmt: skip


@pytest.mark.parametrize(("oid", "raw"), BAD_BINARY, ids=lambda v: v.hex() if isinstance(v, bytes) else str(v))
def test_bad_binary_input_is_rejected(oracle: Oracle, oid: int, raw: bytes) -> None:
    with pytest.raises(PgError) as caught:
        decode_binary(raw, oid)
    theirs = oracle.run("SELECT $1", [raw], [oid], [1])
    assert isinstance(theirs, Failure), f"PostgreSQL accepted {raw.hex()} as {type_name(oid)}"
    if theirs.sqlstate == "08P01":  # PostgreSQL: 'insufficient data left in message'
        assert caught.value.sqlstate == "22P03"
    elif theirs.sqlstate == "XX000":  # PostgreSQL's elog() for a bad jsonb version: we say 22P03
        assert (caught.value.sqlstate, caught.value.message) == ("22P03", theirs.message)
    elif theirs.message != "incorrect binary data format in bind parameter 1":
        assert (caught.value.sqlstate, caught.value.message) == (theirs.sqlstate, theirs.message)
    else:
        assert caught.value.sqlstate == "22P03"


def test_unencodable_values_raise_pg_errors() -> None:
    with pytest.raises(PgError) as caught:
        encode_binary(2**40, Oid.INT4)
    assert caught.value.sqlstate == "22003"
    with pytest.raises(PgError):
        encode_binary([[1, 2], [3]], Oid.INT4_ARRAY)
    with pytest.raises(PgError):
        encode_text(object(), Oid.DATE)
    with pytest.raises(PgError):
        encode_text(datetime(2024, 1, 1, tzinfo=UTC), Oid.TIMESTAMPTZ, timezone="Not/AZone")
    with pytest.raises(PgError):
        decode_binary(b"x", 600)  # point: no binary input here


# ---------------------------------------------------------------- catalog facts


def test_type_facts_match_pg_type(oracle: Oracle) -> None:
    oids = ",".join(str(int(o)) for o in Oid)
    for oid in Oid:
        row = oracle.run(
            f"SELECT typname || ' ' || typlen || ' ' || typelem || ' ' || typarray || ' ' || format_type(oid, NULL)"
            f" FROM pg_type WHERE oid = {int(oid)}"
        )
        assert isinstance(row, bytes), f"{oid!r} unknown to PostgreSQL ({oids})"
        name, length, elem, arr, sql_name = row.decode().split(" ", 4)
        assert type_name(oid) == name, oid
        assert type_size(oid) == int(length), oid
        assert sql_type_name(oid) == sql_name, oid
        if oid.name.endswith("_ARRAY"):
            assert element_oid(oid) == int(elem), oid
        elif int(arr) and oid not in (Oid.INT2VECTOR, Oid.OIDVECTOR, Oid.UNKNOWN):
            assert array_oid(oid) == int(arr), oid
    assert type_name(999999) == "unknown" and type_size(999999) == -1
    assert array_oid(Oid.INT4_ARRAY) is None and element_oid(Oid.INT4) is None


@pytest.mark.parametrize(
    ("duckdb_type", "oid"),
    [
        ("BOOLEAN", Oid.BOOL), ("TINYINT", Oid.INT2), ("UTINYINT", Oid.INT2), ("SMALLINT", Oid.INT2),
        ("USMALLINT", Oid.INT4), ("INTEGER", Oid.INT4), ("UINTEGER", Oid.INT8), ("BIGINT", Oid.INT8),
        ("UBIGINT", Oid.NUMERIC), ("HUGEINT", Oid.NUMERIC), ("UHUGEINT", Oid.NUMERIC), ("BIGNUM", Oid.NUMERIC),
        ("DECIMAL(18,3)", Oid.NUMERIC), ("DECIMAL(38,9)", Oid.NUMERIC), ("FLOAT", Oid.FLOAT4), ("DOUBLE", Oid.FLOAT8),
        ("VARCHAR", Oid.TEXT), ("BLOB", Oid.BYTEA), ("DATE", Oid.DATE), ("TIME", Oid.TIME), ("TIME_NS", Oid.TIME),
        ("TIME WITH TIME ZONE", Oid.TIMETZ), ("TIMESTAMP", Oid.TIMESTAMP), ("TIMESTAMP_NS", Oid.TIMESTAMP),
        ("TIMESTAMP_MS", Oid.TIMESTAMP), ("TIMESTAMP_S", Oid.TIMESTAMP), ("TIMESTAMP WITH TIME ZONE", Oid.TIMESTAMPTZ),
        ("INTERVAL", Oid.INTERVAL), ("UUID", Oid.UUID), ("JSON", Oid.JSON), ("INTEGER[]", Oid.INT4_ARRAY),
        ("INTEGER[][]", Oid.INT4_ARRAY), ("INTEGER[3]", Oid.INT4_ARRAY), ("VARCHAR[]", Oid.TEXT_ARRAY),
        ("DOUBLE[]", Oid.FLOAT8_ARRAY), ("TIMESTAMP WITH TIME ZONE[]", Oid.TIMESTAMPTZ_ARRAY),
        ("DECIMAL(10,2)[]", Oid.NUMERIC_ARRAY), ("ENUM('a', 'b')", Oid.TEXT), ("ENUM('a', 'b')[]", Oid.TEXT_ARRAY),
        ("STRUCT(a INTEGER, b VARCHAR)", Oid.TEXT), ("STRUCT(a INTEGER)[]", Oid.TEXT),
        ("MAP(VARCHAR, INTEGER)", Oid.TEXT), ("UNION(k INTEGER)", Oid.TEXT), ("BIT", Oid.TEXT), ('"NULL"', Oid.TEXT),
        ("GEOMETRY", Oid.TEXT), ("integer", Oid.INT4),
    ],
)  # fmt: skip
def test_oid_for_duckdb_type(duckdb_type: str, oid: int) -> None:
    assert oid_for_duckdb_type(duckdb_type) == oid


def test_duckdb_results_encode_like_postgres(oracle: Oracle) -> None:
    """End to end: what DuckDB's Python API really returns, typed by oid_for_duckdb_type."""
    duckdb = pytest.importorskip("duckdb")
    pairs = [  # (DuckDB expression, PostgreSQL expression printing the same value)
        ("1::INTEGER", "1::int4"), ("-5::TINYINT", "-5::int2"), ("255::UTINYINT", "255::int2"),
        ("4294967295::UINTEGER", "4294967295::int8"),
        ("18446744073709551615::UBIGINT", "18446744073709551615::numeric"),
        ("(2::HUGEINT ** 100)::HUGEINT", "(2::numeric ^ 100)::numeric(40,0)"), ("2.5::DOUBLE", "2.5::float8"),
        ("0.1::FLOAT", "0.1::float4"), ("1.500::DECIMAL(18,3)", "1.500::numeric(18,3)"),
        ("12345678901234567890.123456789::DECIMAL(38,9)", "12345678901234567890.123456789::numeric(38,9)"),
        ("'a b ☃'", "'a b ☃'::text"), ("TRUE", "true"), ("'\\xAA\\x00'::BLOB", "'\\xaa00'::bytea"),
        ("DATE '2024-01-02'", "'2024-01-02'::date"), ("'0044-03-15 (BC)'::DATE", "'0044-03-15 BC'::date"),
        ("TIMESTAMP '2024-01-02 03:04:05.5'", "'2024-01-02 03:04:05.5'::timestamp"),
        ("TIMESTAMP_NS '2024-01-02 03:04:05.123456'", "'2024-01-02 03:04:05.123456'::timestamp"),
        ("'0044-03-15 (BC) 10:00:00.5'::TIMESTAMP", "'0044-03-15 10:00:00.5 BC'::timestamp"),
        ("TIME '12:00:00.5'", "'12:00:00.5'::time"), ("TIME '24:00:00'", "'24:00:00'::time"),
        ("TIMETZ '12:00:00+05:30'", "'12:00:00+05:30'::timetz"),
        ("INTERVAL '3 days 04:05:06.5'", "'3 days 04:05:06.5'::interval"),
        ("INTERVAL '-1 second'", "'-1 second'::interval"),
        ("[1, 2, NULL]", "'{1,2,NULL}'::int4[]"), ("[[1, 2], [3, 4]]", "'{{1,2},{3,4}}'::int4[]"),
        ("['a b', NULL, '']", "ARRAY['a b', NULL, '']"), ("[1.5, 2.5]::DOUBLE[]", "'{1.5,2.5}'::float8[]"),
        ("'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid"),
        ("'{\"a\":1}'::JSON", "'{\"a\":1}'::json"), ("'a'::ENUM('a', 'b')", "'a'::text"),
        ("{'a': 1, 'b': 'x'}", "'{\"a\": 1, \"b\": \"x\"}'::text"), ("MAP {'k': [1, 2]}", "'{\"k\": [1, 2]}'::text"),
        ("[{'a': 1}]", "'[{\"a\": 1}]'::text"), ("[1, 2]::INTEGER[2]", "'{1,2}'::int4[]"),
    ]  # fmt: skip
    con = duckdb.connect()
    cursor = con.execute("SELECT " + ", ".join(duck for duck, _ in pairs))
    row = cursor.fetchone()
    assert row is not None
    for (duck, pg_expr), description, value in zip(pairs, cursor.description, row, strict=True):
        oid = oid_for_duckdb_type(str(description[1]))
        assert encode_text(value, oid) == oracle.value(pg_expr, binary=False), (duck, value)
        assert encode_binary(value, oid) == oracle.value(pg_expr, binary=True), (duck, value)


def test_text_encoder_is_reusable_per_column() -> None:
    encode = text_encoder(Oid.TIMESTAMPTZ, timezone="Asia/Kolkata")
    assert encode(datetime(2024, 1, 1, tzinfo=UTC)) == b"2024-01-01 05:30:00+05:30"
    assert text_encoder(Oid.TIMESTAMPTZ, timezone="Asia/Kolkata") is encode
    assert text_encoder(Oid.INT4) is text_encoder(Oid.INT4, timezone="Europe/Paris")


def test_interval_helpers() -> None:
    # DuckDB folds months into 30-day units; that is what reaches us for '1 year 2 months 3 days'.
    assert encode_text(timedelta(days=423), Oid.INTERVAL) == b"423 days"
    assert str(Interval(14, 3, 1)) == "1 year 2 mons 3 days 00:00:00.000001"
    assert Interval(14, 3, 0).to_timedelta() == timedelta(days=423)


def test_duckdb_interval_text_is_lossless(oracle: Oracle) -> None:
    """DuckDB's Python API folds months into 30-day timedeltas; its VARCHAR rendering keeps
    months/days/time apart, and our INTERVAL encoder turns that into PostgreSQL's exact bytes."""
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    literals = ("1 year 2 months 3 days 04:05:06.5", "-1 second", "1 day -1 hour", "-1 year 2 months", "25 hours",
                "0 seconds", "1 month -1 day", "-1 months -2 days -3 hours", "1.5 seconds")  # fmt: skip
    for literal in literals:
        row = con.execute(f"SELECT CAST(INTERVAL '{literal}' AS VARCHAR)").fetchone()
        assert row is not None
        expr = f"'{literal}'::interval"
        assert encode_text(row[0], Oid.INTERVAL) == oracle.value(expr, binary=False), literal
        assert encode_binary(row[0], Oid.INTERVAL) == oracle.value(expr, binary=True), literal


JSONB_TEXTS = [
    '{"b": 1, "a": "x"}', '{"b":1,"a":"x"}', '{"aa":1,"b":2,"a":3,"a":4}', '{"é":1,"z":2,"ab":{"y":[],"x":{}}}',
    '[1.50, 1e2, -0, 1E-7, -1.0e-3, 12345678901234567890123]', '"x/y\\u00e9\\n\\u0001"', ' [ ] ', 'null',
    '{"k": "\\ud83d\\ude00", "": true}', '[{"b": false, "a": null}, [[]]]',
]


@pytest.mark.parametrize("text", JSONB_TEXTS)
def test_jsonb_output_is_normalised_like_postgres(oracle: Oracle, text: str) -> None:
    """DuckDB's JSON keeps the text as written; jsonb_out orders keys (by length, then bytes),
    keeps the last of duplicate keys, prints numbers as numeric and spaces `", "` / `": "`."""
    literal = "'" + text.replace("'", "''") + "'::jsonb"
    assert encode_text(text, Oid.JSONB) == oracle.value(literal, binary=False)
    assert encode_binary(text, Oid.JSONB) == oracle.value(literal, binary=True)
    array = f"ARRAY[{literal}]"
    assert encode_text([text, None], Oid.JSONB_ARRAY) == oracle.value(f"{array} || NULL::jsonb", binary=False)
