"""PostgreSQL intervals: the `Interval` type and the interval codecs.

An interval is (months, days, microseconds), which DuckDB folds into one timedelta (months
as 30 days). The encoders accept both shapes; the decoders return a timedelta whenever that
is lossless and an `Interval` otherwise.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from proxy.errors import PgError
from proxy.wire.codecs.calendar_math import DAY_US, US, tod_text
from proxy.wire.codecs.datetime_input import field_overflow
from proxy.wire.codecs.primitives import (
    DATETIME_FORMAT,
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    INTERVAL_FIELD_OVERFLOW,
    WHITESPACE,
    invalid_binary,
    invalid_text,
)

# Binary layout, defined here rather than imported (see primitives: per-value calls).
INTERVAL = struct.Struct(">qii")  # microseconds, days, months


@dataclass(frozen=True, slots=True)
class Interval:
    """A PostgreSQL interval that `timedelta` cannot hold exactly: it has months, days and
    time of opposite signs, or 24 hours or more of time. `str()` is PostgreSQL's text form,
    which DuckDB also parses, so it can be bound as a parameter."""

    months: int = 0
    days: int = 0
    microseconds: int = 0

    def __str__(self) -> str:
        return interval_text(self.months, self.days, self.microseconds)

    def to_timedelta(self) -> timedelta:
        """Months counted as 30 days, PostgreSQL's (and DuckDB's) convention."""
        return timedelta(days=self.months * 30 + self.days, microseconds=self.microseconds)


def interval_parts(value: object) -> tuple[int, int, int]:
    """(months, days, microseconds). A timedelta's whole days become days with the sign of the
    total, as DuckDB folds PostgreSQL's fields into one timedelta (months as 30 days)."""
    if type(value) is timedelta:
        total = (value.days * 86400 + value.seconds) * US + value.microseconds
        if total >= 0:
            return 0, total // DAY_US, total % DAY_US
        return 0, -(-total // DAY_US), -(-total % DAY_US)
    if isinstance(value, Interval):
        return value.months, value.days, value.microseconds
    if isinstance(value, timedelta):
        return interval_parts(timedelta(value.days, value.seconds, value.microseconds))
    if isinstance(value, str):
        return parse_interval(value)
    raise TypeError(f"cannot encode {type(value).__name__} as interval")


_MAX_TIMEDELTA_DAYS = 999_999_999


def interval_value(months: int, days: int, us: int) -> timedelta | Interval:
    """timedelta when that is lossless under `interval_parts`, else Interval."""
    if (
        months == 0
        and -DAY_US < us < DAY_US
        and (days == 0 or us == 0 or (days > 0) == (us > 0))
        and -_MAX_TIMEDELTA_DAYS < days < _MAX_TIMEDELTA_DAYS
    ):
        return timedelta(days=days, microseconds=us)
    return Interval(months, days, us)


def interval_text(months: int, days: int, us: int) -> str:
    """IntervalStyle=postgres, following EncodeInterval's sign rules exactly."""
    years = abs(months) // 12 * (1 if months >= 0 else -1)
    parts: list[str] = []
    is_before = False
    for value, unit in ((years, "year"), (months - years * 12, "mon"), (days, "day")):
        if value:
            plus = "+" if is_before and value > 0 else ""
            parts.append(f"{plus}{value} {unit}" + ("" if value == 1 else "s"))
            is_before = value < 0
    if not parts or us:
        sign = "-" if us < 0 else "+" if is_before else ""
        parts.append(sign + tod_text(abs(us)))
    return " ".join(parts)


_INTERVAL_TOKEN = re.compile(
    r"""\s*(?:
      (?P<time>[+-]?\d+:\d+(?::\d+)?(?:\.\d*)?)
    | (?P<ym>[+-]?\d+-\d+)
    | (?P<num>[+-]?(?:\d+\.?\d*|\.\d+))
    | (?P<word>[a-z]+)
    | (?P<other>\S))""",
    re.X | re.A,
)
_UNITS = {
    **dict.fromkeys(("microsecond", "microseconds", "usec", "usecs", "us", "microsecon"), ("us", 1)),
    **dict.fromkeys(("millisecond", "milliseconds", "msec", "msecs", "ms", "millisecon"), ("ms", 1000)),
    **dict.fromkeys(("second", "seconds", "sec", "secs", "s"), ("s", US)),
    **dict.fromkeys(("minute", "minutes", "min", "mins", "m"), ("min", 60 * US)),
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "h"), ("h", 3600 * US)),
    **dict.fromkeys(("day", "days", "d"), ("d", 1)),
    **dict.fromkeys(("week", "weeks", "w"), ("w", 7)),
    **dict.fromkeys(("month", "months", "mon", "mons"), ("mon", 1)),
    **dict.fromkeys(("year", "years", "yr", "yrs", "y"), ("y", 12)),
    **dict.fromkeys(("decade", "decades", "dec", "decs"), ("dec", 120)),
    **dict.fromkeys(("century", "centuries", "cent", "c"), ("c", 1200)),
    **dict.fromkeys(("millennium", "millennia", "mil", "mils"), ("mil", 12000)),
}
_ISO_INTERVAL = re.compile(
    r"P(?:(?P<Y>[+-]?[\d.]+)Y)?(?:(?P<M>[+-]?[\d.]+)M)?(?:(?P<W>[+-]?[\d.]+)W)?(?:(?P<D>[+-]?[\d.]+)D)?"
    r"(?:T(?:(?P<h>[+-]?[\d.]+)H)?(?:(?P<m>[+-]?[\d.]+)M)?(?:(?P<s>[+-]?[\d.]+)S)?)?",
    re.A | re.I,
)


class _IntervalBuilder:
    """Accumulates fields with PostgreSQL's spill rules for fractions (years->months,
    months->30 days, weeks->7 days, days and smaller->time)."""

    def __init__(self) -> None:
        self.months = Decimal(0)
        self.days = Decimal(0)
        self.us = Decimal(0)

    def add(self, amount: Decimal, unit: str, scale: int) -> None:
        if unit in ("y", "dec", "c", "mil"):
            whole = int(amount)
            self.months += whole * scale + round((amount - whole) * scale)
        elif unit == "mon":
            whole = int(amount)
            self.months += whole
            self._spill_days((amount - whole) * 30)
        elif unit == "w":
            self._spill_days(amount * 7)
        elif unit == "d":
            self._spill_days(amount)
        else:
            self.us += amount * scale

    def _spill_days(self, amount: Decimal) -> None:
        whole = int(amount)
        self.days += whole
        self.us += (amount - whole) * DAY_US

    def result(self, original: str) -> tuple[int, int, int]:
        months, days, us = int(self.months), int(self.days), int(round(self.us))
        if not (INT32_MIN <= months <= INT32_MAX and INT32_MIN <= days <= INT32_MAX and INT64_MIN < us <= INT64_MAX):
            raise PgError(INTERVAL_FIELD_OVERFLOW, f'interval field value out of range: "{original}"')
        return months, days, us


def parse_interval(text: str) -> tuple[int, int, int]:
    """Interval input: PostgreSQL's verbose/postgres styles, SQL-standard 'Y-M' and 'D H:M:S',
    and ISO 8601 'P1Y2M3DT4H5M6S'."""
    s = text.strip(WHITESPACE).lower()
    if s.startswith("@"):
        s = s[1:].strip(WHITESPACE)
    if not s:
        raise invalid_text("interval", text, DATETIME_FORMAT)
    builder = _IntervalBuilder()
    if s[0] == "p":
        match = _ISO_INTERVAL.fullmatch(s.upper())
        if match is None or match.group(0) in ("P", "PT") or s.endswith("t"):
            raise invalid_text("interval", text, DATETIME_FORMAT)
        try:
            for key, unit in (("Y", "y"), ("M", "mon"), ("W", "w"), ("D", "d"), ("h", "h"), ("m", "min"), ("s", "s")):
                if match[key]:
                    builder.add(Decimal(match[key]), *_UNITS[unit])
        except ArithmeticError:
            raise invalid_text("interval", text, DATETIME_FORMAT) from None
        return builder.result(text)
    tokens = [(m.lastgroup, m[m.lastgroup]) for m in _INTERVAL_TOKEN.finditer(s)]
    seen: set[str] = set()
    ago = False

    def claim(*fields: str) -> None:
        if seen.intersection(fields):
            raise invalid_text("interval", text, DATETIME_FORMAT)
        seen.update(fields)

    i = 0
    while i < len(tokens):
        kind, tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else (None, "")
        if kind == "num" and nxt[0] == "word" and nxt[1] in _UNITS:
            unit, scale = _UNITS[nxt[1]]
            claim(unit)
            builder.add(Decimal(tok), unit, scale)
            i += 2
        elif kind == "num" and nxt[0] == "time":
            claim("d")
            builder.add(Decimal(tok), "d", 1)
            i += 1
        elif kind == "num" and nxt[0] is None:
            claim("s")
            builder.add(Decimal(tok), "s", US)
            i += 1
        elif kind == "time":
            claim("h", "min", "s")
            negative = tok[0] == "-"
            fields = tok.lstrip("+-").split(":")
            hours, minutes = Decimal(fields[0]), Decimal(fields[1])
            seconds = Decimal(fields[2]) if len(fields) > 2 else Decimal(0)
            if len(fields) == 2 and "." in fields[1]:  # 'MM:SS.f' when the last field has a fraction
                hours, minutes, seconds = Decimal(0), hours, minutes
            if minutes >= 60 or seconds >= 60:
                raise field_overflow(text)
            total = (hours * 3600 + minutes * 60 + seconds) * US
            builder.add(-total if negative else total, "us", 1)
            i += 1
        elif kind == "ym":
            claim("y", "mon")
            negative = tok[0] == "-"
            years, months = (int(x) for x in tok.lstrip("+-").split("-"))
            total = Decimal(years * 12 + months)
            builder.add(-total if negative else total, "mon", 1)
            i += 1
        elif kind == "word" and tok == "ago" and i == len(tokens) - 1:
            ago = True
            i += 1
        else:
            raise invalid_text("interval", text, DATETIME_FORMAT)
    if not seen:
        raise invalid_text("interval", text, DATETIME_FORMAT)
    months, days, us = builder.result(text)
    return (-months, -days, -us) if ago else (months, days, us)


def interval_text_enc(value: object) -> bytes:
    if type(value) is timedelta:  # DuckDB's shape: no months; days and time share one sign
        days = value.days
        us = value.seconds * US + value.microseconds
        if days < 0 and us:
            days, us = days + 1, us - DAY_US
        if not us:
            if days == 1:
                return b"1 day"
            return b"%d days" % days if days else b"00:00:00"
        time_text = ("-" + tod_text(-us)) if us < 0 else tod_text(us)
        if not days:
            return time_text.encode()
        return (("1 day " if days == 1 else "%d days " % days) + time_text).encode()
    return interval_text(*interval_parts(value)).encode()


def interval_binary(value: object) -> bytes:
    months, days, us = interval_parts(value)
    return INTERVAL.pack(us, days, months)


def interval_from_binary(data: bytes) -> timedelta | Interval:
    if len(data) != 16:
        raise invalid_binary("interval", f"expected 16 bytes, got {len(data)}")
    us, days, months = INTERVAL.unpack(data)
    return interval_value(months, days, us)
