"""Codecs for date, time, timetz, timestamp and timestamptz.

Result streaming calls an encoder once per value, so each tries the exact type DuckDB
returns first. DuckDB hands over values Python cannot hold ('0044-03-15 (BC)', 'infinity',
'24:00:00') as strings; the encoders accept them, and the decoders return such values as
strings in DuckDB's spelling so they can be bound back.
"""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from proxy.errors import PgError
from proxy.wire.codecs.calendar_math import (
    DATE_INF,
    DATE_NINF,
    DAY_US,
    EPOCH,
    EPOCH_UTC,
    ORDINAL_2000,
    PG_MAX_DAYS,
    PG_MAX_TS,
    PG_MIN_DAYS,
    PG_MIN_TS,
    PY_MAX_DAYS,
    PY_MAX_TS,
    PY_MIN_DAYS,
    PY_MIN_TS,
    TS_INF,
    TS_NINF,
    US,
    date_text,
    duck_date,
    duck_timestamp,
    offset_text,
    timestamp_text,
    tod_text,
)
from proxy.wire.codecs.datetime_input import (
    TZ_LIMIT,
    parse_date,
    parse_time,
    parse_timestamp,
)
from proxy.wire.codecs.primitives import (
    DATETIME_OVERFLOW,
    TZ_DISPLACEMENT,
    Encoder,
    invalid_binary,
)
from proxy.wire.codecs.timezones import utc_offset_at

# Binary layouts, defined here rather than imported (see primitives: per-value calls).
I4 = struct.Struct(">i")  # date: days since 2000-01-01
I8 = struct.Struct(">q")  # time, timestamp, timestamptz: microseconds
TIMETZ = struct.Struct(">qi")


# ---------------------------------------------------------------- canonical forms of Python values


def date_days(value: object) -> int:
    """Days since 2000-01-01 of a date-ish value (date, datetime, or a DuckDB/PostgreSQL string)."""
    if isinstance(value, date):
        return value.toordinal() - ORDINAL_2000
    if isinstance(value, str):
        return parse_date(value)
    raise TypeError(f"cannot encode {type(value).__name__} as date")


def naive_us(value: datetime) -> int:
    return (
        (value.toordinal() - ORDINAL_2000) * 86400 + value.hour * 3600 + value.minute * 60 + value.second
    ) * US + value.microsecond


def timestamp_us(value: object) -> int:
    """Microseconds since 2000-01-01, wall clock (a timestamp without time zone)."""
    if isinstance(value, datetime):
        return naive_us(value)
    if isinstance(value, date):
        return (value.toordinal() - ORDINAL_2000) * DAY_US
    if isinstance(value, str):
        return parse_timestamp(value, None, "timestamp")
    raise TypeError(f"cannot encode {type(value).__name__} as timestamp")


def timestamptz_us(value: object) -> int:
    """Microseconds since 2000-01-01 UTC. Naive datetimes count as UTC, except DuckDB's
    'infinity' stand-ins (naive datetime.max/min while real values are tz-aware)."""
    if isinstance(value, datetime):
        off = value.utcoffset()
        if off is None:
            if value == datetime.max:
                return TS_INF
            if value == datetime.min:
                return TS_NINF
            return naive_us(value)
        return naive_us(value) - ((off.days * 86400 + off.seconds) * US + off.microseconds)
    if isinstance(value, date):
        return (value.toordinal() - ORDINAL_2000) * DAY_US
    if isinstance(value, str):
        return parse_timestamp(value, UTC, "timestamp with time zone")
    raise TypeError(f"cannot encode {type(value).__name__} as timestamptz")


def time_us(value: object) -> int:
    if isinstance(value, time):
        return ((value.hour * 60 + value.minute) * 60 + value.second) * US + value.microsecond
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, str):
        return parse_time(value, "time")[0]
    raise TypeError(f"cannot encode {type(value).__name__} as time")


def timetz_parts(value: object) -> tuple[int, int]:
    """(microseconds of day, seconds east of UTC)."""
    if isinstance(value, time):
        off = value.utcoffset()
        return time_us(value), 0 if off is None else off.days * 86400 + off.seconds
    if isinstance(value, str):
        tod, offset = parse_time(value, "time with time zone")
        return tod, offset or 0
    raise TypeError(f"cannot encode {type(value).__name__} as timetz")


def date_value(days: int) -> date | str:
    if PY_MIN_DAYS <= days <= PY_MAX_DAYS:
        return date.fromordinal(days + ORDINAL_2000)
    if days == DATE_INF:
        return "infinity"
    if days == DATE_NINF:
        return "-infinity"
    return duck_date(days)


def timestamp_value(us: int) -> datetime | str:
    if PY_MIN_TS <= us <= PY_MAX_TS:
        return EPOCH + timedelta(microseconds=us)
    if us == TS_INF:
        return "infinity"
    if us == TS_NINF:
        return "-infinity"
    return duck_timestamp(us)


def timestamptz_value(us: int) -> datetime | str:
    if PY_MIN_TS <= us <= PY_MAX_TS:
        return EPOCH_UTC + timedelta(microseconds=us)
    if us == TS_INF:
        return "infinity"
    if us == TS_NINF:
        return "-infinity"
    return duck_timestamp(us, 0)


def time_value(us: int) -> time | str:
    if us == DAY_US:
        return "24:00:00"
    secs, frac = divmod(us, US)
    return time(secs // 3600, secs // 60 % 60, secs % 60, frac)


def timetz_value(us: int, offset: int) -> time | str:
    tz = timezone(timedelta(seconds=offset))
    if us == DAY_US:
        return "24:00:00" + offset_text(offset)
    secs, frac = divmod(us, US)
    return time(secs // 3600, secs // 60 % 60, secs % 60, frac, tzinfo=tz)


# ---------------------------------------------------------------- temporal encoders (fast paths first)


def date_text_enc(value: object) -> bytes:
    if type(value) is date:
        return value.isoformat().encode()
    return date_text(date_days(value)).encode()


def date_binary(value: object) -> bytes:
    if type(value) is date:
        return I4.pack(value.toordinal() - ORDINAL_2000)
    return I4.pack(date_days(value))


def timestamp_text_enc(value: object) -> bytes:
    if type(value) is datetime and value.tzinfo is None:
        if value.microsecond:
            return value.isoformat(" ").rstrip("0").encode()
        return value.isoformat(" ").encode()
    return timestamp_text(timestamp_us(value)).encode()


def timestamp_binary(value: object) -> bytes:
    if type(value) is datetime:
        return I8.pack(naive_us(value))
    return I8.pack(timestamp_us(value))


def timestamptz_binary(value: object) -> bytes:
    return I8.pack(timestamptz_us(value))


def timestamptz_text_encoder(tz: tzinfo) -> Encoder:
    """Renders in the session time zone with PostgreSQL's offset spelling (+00, +05:30)."""

    def encode(value: object) -> bytes:
        if type(value) is datetime and value.tzinfo is not None:
            try:
                text = value.astimezone(tz).isoformat(" ")
            except OverflowError:
                return _tstz_text_slow(value, tz)
            if text[19] == ".":
                head, off = text[:26].rstrip("0"), text[26:]
            else:
                head, off = text[:19], text[19:]
            if len(off) == 6 and off[4:] == "00":
                off = off[:3]
            return (head + off).encode()
        return _tstz_text_slow(value, tz)

    def encode_utc(value: object) -> bytes:
        if type(value) is datetime and value.tzinfo is not None:
            off = value.utcoffset()
            naive = value.replace(tzinfo=None)
            if off:
                try:
                    naive -= off
                except OverflowError:
                    return _tstz_text_slow(value, tz)
            if naive.microsecond:
                return (naive.isoformat(" ").rstrip("0") + "+00").encode()
            return (naive.isoformat(" ") + "+00").encode()
        return _tstz_text_slow(value, tz)

    return encode_utc if tz is UTC else encode


def _tstz_text_slow(value: object, tz: tzinfo) -> bytes:
    us = timestamptz_us(value)
    if us in (TS_INF, TS_NINF):
        return timestamp_text(us).encode()
    return timestamp_text(us, utc_offset_at(tz, us)).encode()


def time_text_enc(value: object) -> bytes:
    if type(value) is time and value.tzinfo is None:
        return value.isoformat().rstrip("0").encode() if value.microsecond else value.isoformat().encode()
    if isinstance(value, str) and value.strip() == "24:00:00":
        return b"24:00:00"
    return tod_text(time_us(value)).encode()


def time_binary(value: object) -> bytes:
    return I8.pack(time_us(value))


def timetz_text_enc(value: object) -> bytes:
    tod, offset = timetz_parts(value)
    return (tod_text(tod) + offset_text(offset)).encode()


def timetz_binary(value: object) -> bytes:
    tod, offset = timetz_parts(value)
    return TIMETZ.pack(tod, -offset)  # PostgreSQL stores seconds west of UTC


# ---------------------------------------------------------------- binary decoders


def date_from_binary(data: bytes) -> date | str:
    if len(data) != 4:
        raise invalid_binary("date", f"expected 4 bytes, got {len(data)}")
    days = I4.unpack(data)[0]
    if days not in (DATE_INF, DATE_NINF) and not PG_MIN_DAYS <= days <= PG_MAX_DAYS:
        raise PgError(DATETIME_OVERFLOW, "date out of range")
    return date_value(days)


def _ts_micro(data: bytes, typname: str) -> int:
    if len(data) != 8:
        raise invalid_binary(typname, f"expected 8 bytes, got {len(data)}")
    us = I8.unpack(data)[0]
    if us not in (TS_INF, TS_NINF) and not PG_MIN_TS <= us <= PG_MAX_TS:
        raise PgError(DATETIME_OVERFLOW, "timestamp out of range")
    return us


def timestamp_from_binary(data: bytes) -> datetime | str:
    return timestamp_value(_ts_micro(data, "timestamp without time zone"))


def timestamptz_from_binary(data: bytes) -> datetime | str:
    return timestamptz_value(_ts_micro(data, "timestamp with time zone"))


def time_from_binary(data: bytes) -> time | str:
    if len(data) != 8:
        raise invalid_binary("time without time zone", f"expected 8 bytes, got {len(data)}")
    us = I8.unpack(data)[0]
    if not 0 <= us <= DAY_US:
        raise PgError(DATETIME_OVERFLOW, "time out of range")
    return time_value(us)


def timetz_from_binary(data: bytes) -> time | str:
    if len(data) != 12:
        raise invalid_binary("time with time zone", f"expected 12 bytes, got {len(data)}")
    us, west = TIMETZ.unpack(data)
    if not 0 <= us <= DAY_US:
        raise PgError(DATETIME_OVERFLOW, "time out of range")
    if abs(west) >= TZ_LIMIT:
        raise PgError(TZ_DISPLACEMENT, "time zone displacement out of range")
    return timetz_value(us, -west)
