"""Per-type PostgreSQL codecs that `proxy.wire.types` dispatches to by OID.

Everything here is pure and cheap because result streaming calls one of these per value.

Temporal types share one canonical integer form each, PostgreSQL's own (days or microseconds
since 2000-01-01, microseconds of day, months/days/microseconds), so text and binary cannot
drift apart. Python's datetime cannot hold BC dates, years past 9999, 'infinity' or 24:00:00:
DuckDB hands those over as strings ('0044-03-15 (BC)', '24:00:00'), the encoders accept them,
and the decoders return such values as strings in DuckDB's spelling so they can be bound back.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, available_timezones

from proxy.errors import PgError, SqlState

Encoder = Callable[[Any], bytes]
TextDecoder = Callable[[str], object]
BinaryDecoder = Callable[[bytes], object]

# SQLSTATEs PostgreSQL uses for these failures that `SqlState` does not name.
NUMERIC_OUT_OF_RANGE = "22003"
DATETIME_FORMAT = "22007"
DATETIME_OVERFLOW = "22008"
TZ_DISPLACEMENT = "22009"
INTERVAL_FIELD_OVERFLOW = "22015"
DATATYPE_MISMATCH = "42804"
ARRAY_SUBSCRIPT_ERROR = "2202E"

I2 = struct.Struct(">h")
I4 = struct.Struct(">i")
I8 = struct.Struct(">q")
U4 = struct.Struct(">I")
F4 = struct.Struct(">f")
F8 = struct.Struct(">d")
TIMETZ = struct.Struct(">qi")
INTERVAL = struct.Struct(">qii")
NUMERIC_HEAD = struct.Struct(">HhHH")
ARRAY_HEAD = struct.Struct(">iiI")
ARRAY_DIM = struct.Struct(">ii")

INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
DATE_INF, DATE_NINF = INT32_MAX, INT32_MIN  # PostgreSQL's date 'infinity' encodings
TS_INF, TS_NINF = INT64_MAX, INT64_MIN  # and timestamp's

US = 1_000_000
DAY_US = 86_400 * US
EPOCH_JDATE = 2_451_545  # Julian day of 2000-01-01, PostgreSQL's epoch
_ORDINAL_2000 = 730_120  # date(2000, 1, 1).toordinal()
_EPOCH = datetime(2000, 1, 1)
_EPOCH_UTC = datetime(2000, 1, 1, tzinfo=UTC)
_UTC = UTC
_MIN_DAYS, _MAX_DAYS = 1 - _ORDINAL_2000, date.max.toordinal() - _ORDINAL_2000
_MIN_TS = _MIN_DAYS * DAY_US
_MAX_TS = (_MAX_DAYS + 1) * DAY_US - 1
# PostgreSQL's own limits: 4714-11-24 BC .. 5874897-12-31 (date), .. 294276-12-31 (timestamp).
_PG_MIN_DAYS, _PG_MAX_DAYS = -EPOCH_JDATE, 2_147_483_494 - EPOCH_JDATE - 1
_PG_MIN_TS, _PG_MAX_TS = -211_813_488_000_000_000, 9_223_371_331_200_000_000 - 1
_WS = " \t\n\r\v\f"  # C isspace(), which PostgreSQL's input functions trim


# ---------------------------------------------------------------- errors


def invalid_text(typname: str, text: str, sqlstate: str = SqlState.INVALID_TEXT_REPRESENTATION) -> PgError:
    return PgError(sqlstate, f'invalid input syntax for type {typname}: "{text}"')


def invalid_binary(typname: str, detail: str) -> PgError:
    return PgError(SqlState.INVALID_BINARY_REPRESENTATION, f"incorrect binary data format for type {typname}", detail)


def _field_overflow(text: str) -> PgError:
    return PgError(DATETIME_OVERFLOW, f'date/time field value out of range: "{text}"')


def utf8(data: bytes | bytearray | memoryview) -> str:
    """Decode client bytes, rejecting what PostgreSQL's UTF8 verifier rejects (incl. NUL)."""
    try:
        text = str(data, "utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_encoding(bytes(data), exc.start) from None
    if "\x00" in text:
        raise _bad_encoding(bytes(data), bytes(data).index(0))
    return text


def _bad_encoding(data: bytes, pos: int) -> PgError:
    first = data[pos]
    need = (
        1
        if first < 0x80
        else 2
        if first & 0xE0 == 0xC0
        else 3
        if first & 0xF0 == 0xE0
        else 4
        if first & 0xF8 == 0xF0
        else 1
    )
    shown = " ".join(f"0x{b:02x}" for b in data[pos : pos + need])
    return PgError(SqlState.CHARACTER_NOT_IN_REPERTOIRE, f'invalid byte sequence for encoding "UTF8": {shown}')


# ---------------------------------------------------------------- calendar


def date2j(year: int, month: int, day: int) -> int:
    """Julian day of a proleptic Gregorian date (astronomical year: 1 BC is 0), as PostgreSQL computes it."""
    if month > 2:
        month += 1
        year += 4800
    else:
        month += 13
        year += 4799
    century = year // 100
    return year * 365 - 32167 + year // 4 - century + century // 4 + 7834 * month // 256 + day


def j2date(jd: int) -> tuple[int, int, int]:
    """Inverse of date2j; valid for every Julian day PostgreSQL can store."""
    julian = jd + 32044
    quad = julian // 146097
    extra = (julian - quad * 146097) * 4 + 3
    julian += 60 + quad * 3 + extra // 146097
    quad = julian // 1461
    julian -= quad * 1461
    y = julian * 4 // 1461
    julian = ((julian + 305) % 365 if y != 0 else (julian + 306) % 366) + 123
    y += quad * 4
    quad = julian * 2141 // 65536
    return y - 4800, (quad + 10) % 12 + 1, julian - 7834 * quad // 256


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _ymd_text(days: int, duck: bool) -> str:
    year, month, day = j2date(days + EPOCH_JDATE)
    if year > 0:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{1 - year:04d}-{month:02d}-{day:02d}" + (" (BC)" if duck else "")


def tod_text(us: int) -> str:
    """HH:MM:SS[.ffffff] with trailing fractional zeros trimmed, like PostgreSQL's AppendSeconds."""
    secs, frac = divmod(us, US)
    text = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    return text + f".{frac:06d}".rstrip("0") if frac else text


def offset_text(seconds: int) -> str:
    """PostgreSQL's numeric zone suffix: +05, +05:30, -00:00:30."""
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
    if ss:
        return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}" if mm else f"{sign}{hh:02d}"


def date_text(days: int) -> str:
    if days == DATE_INF:
        return "infinity"
    if days == DATE_NINF:
        return "-infinity"
    year = j2date(days + EPOCH_JDATE)[0]
    return _ymd_text(days, False) + (" BC" if year <= 0 else "")


def timestamp_text(us: int, offset: int | None = None) -> str:
    if us == TS_INF:
        return "infinity"
    if us == TS_NINF:
        return "-infinity"
    if offset is not None:
        us += offset * US
    days, tod = divmod(us, DAY_US)
    year = j2date(days + EPOCH_JDATE)[0]
    text = _ymd_text(days, False) + " " + tod_text(tod)
    if offset is not None:
        text += offset_text(offset)
    return text + " BC" if year <= 0 else text


def duck_date(days: int) -> str:
    return _ymd_text(days, True)


def duck_timestamp(us: int, offset: int | None = None) -> str:
    """DuckDB's spelling of a timestamp Python cannot hold: '0044-03-15 (BC) 10:00:00.5'."""
    if offset is not None:
        us += offset * US
    days, tod = divmod(us, DAY_US)
    text = _ymd_text(days, True) + " " + tod_text(tod)
    return text + offset_text(offset) if offset is not None else text


# ---------------------------------------------------------------- time zones

_POSIX_OFFSET = re.compile(r"(?:[A-Za-z]{3,}|<[^>]*>)?([+-]?)(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?", re.A)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)", re.A)


@lru_cache(maxsize=256)
def resolve_timezone(name: str) -> tzinfo:
    """A session TimeZone setting as PostgreSQL reads it: IANA name (any case), a bare number of
    hours east of UTC, or a POSIX offset such as '+05:30' / 'UTC+3' (POSIX signs: west positive)."""
    text = name.strip()
    if text.upper() in ("UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU", "UCT", "UNIVERSAL"):
        return _UTC
    if _NUMBER.fullmatch(text):
        return timezone(timedelta(hours=float(text)))
    try:
        return ZoneInfo(text)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        pass
    folded = _zone_names().get(text.lower())
    if folded:
        return ZoneInfo(folded)
    match = _POSIX_OFFSET.fullmatch(text)
    if match:
        secs = int(match[2]) * 3600 + int(match[3] or 0) * 60 + int(match[4] or 0)
        if secs < 24 * 3600:
            return timezone(timedelta(seconds=secs if match[1] == "-" else -secs))
    raise PgError(SqlState.INVALID_PARAMETER_VALUE, f'invalid value for parameter "TimeZone": "{name}"')


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def utc_offset_at(tz: tzinfo, us: int) -> int:
    """Seconds east of UTC that `tz` applies at UTC instant `us` (clamped to Python's range)."""
    moment = _EPOCH_UTC + timedelta(microseconds=min(max(us, _MIN_TS + DAY_US), _MAX_TS - DAY_US))
    off = moment.astimezone(tz).utcoffset()
    return 0 if off is None else off.days * 86400 + off.seconds


def local_to_utc(tz: tzinfo, local_us: int) -> int:
    """UTC instant of a wall-clock time in `tz` (first occurrence when ambiguous)."""
    clamped = min(max(local_us, _MIN_TS + DAY_US), _MAX_TS - DAY_US)
    off = (_EPOCH + timedelta(microseconds=clamped)).replace(tzinfo=tz).utcoffset()
    return local_us - (0 if off is None else (off.days * 86400 + off.seconds) * US + off.microseconds)


# ---------------------------------------------------------------- text parsing of date/time input

_DATETIME = re.compile(
    r"""(?P<y>\d+)-(?P<m>\d{1,2})-(?P<d>\d{1,2})
    (?P<era1>\s*\((?:BC|AD)\))?
    (?:(?:\s+|T)(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:\.(?P<f>\d*))?)?)?
    (?:\s*(?P<tz>Z|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?))?
    (?:\s+(?P<zone>[A-Za-z][A-Za-z0-9_/+-]*))?
    (?:\s+(?P<era2>BC|AD))?""",
    re.X | re.I | re.A,
)
_COMPACT_DATE = re.compile(r"(?P<y>\d{4})(?P<m>\d\d)(?P<d>\d\d)", re.A)
_MDY_DATE = re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{1,4})(?:\s+(?P<era2>BC|AD))?", re.A | re.I)
_TIME = re.compile(
    r"""(?:(?P<H>\d{1,2}):(?P<M>\d{1,2})(?::(?P<S>\d{1,2})(?:\.(?P<f>\d*))?)?|(?P<compact>\d{6}))
    (?:\s*(?P<ampm>AM|PM))?
    (?:\s*(?P<tz>Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?))?""",
    re.X | re.I | re.A,
)
_TZ_LIMIT = 16 * 3600  # PostgreSQL rejects displacements of 16 hours or more


@dataclass(slots=True)
class _Parsed:
    days: int  # since 2000-01-01; DATE_INF/DATE_NINF for infinities
    tod: int = 0  # microseconds of day, 0..DAY_US
    offset: int | None = None  # seconds east of UTC, when the text gave one
    zone: tzinfo | None = None  # a named zone, when the text gave one


_SPECIAL_DAYS = {"infinity": DATE_INF, "+infinity": DATE_INF, "-infinity": DATE_NINF, "epoch": -10957}
_RELATIVE_DAYS = {"today": 0, "now": 0, "tomorrow": 1, "yesterday": -1}


def _frac_us(frac: str | None) -> int:
    """Fractional seconds to microseconds, rounding digits past the sixth like PostgreSQL's rint."""
    if not frac:
        return 0
    if len(frac) <= 6:
        return int(frac.ljust(6, "0"))
    return round(Decimal("0." + frac) * US)


def _parse_offset(text: str, original: str) -> int:
    if text.upper() in ("Z", "UTC", "GMT"):
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    if ":" in text[1:]:
        parts = text[1:].split(":")
        hh, mm, ss = int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0
    else:
        hh = int(digits[:-2] if len(digits) > 2 else digits)
        mm = int(digits[-2:]) if len(digits) > 2 else 0
        ss = 0
        if len(digits) > 4:
            hh, mm, ss = int(digits[:-4]), int(digits[-4:-2]), int(digits[-2:])
    if mm > 59 or ss > 59:
        raise _field_overflow(original)
    secs = hh * 3600 + mm * 60 + ss
    if secs >= _TZ_LIMIT:
        raise PgError(TZ_DISPLACEMENT, f'time zone displacement out of range: "{original}"')
    return sign * secs


def _time_of_day(hh: int, mm: int, ss: int, frac: str | None, original: str) -> int:
    us = _frac_us(frac)
    if mm > 59 or ss > 60 or hh > 24 or (hh == 24 and (mm or ss or us)):
        raise _field_overflow(original)
    return ((hh * 60 + mm) * 60 + ss) * US + us


def parse_datetime_text(text: str, typname: str) -> _Parsed:
    """Date/time input in the formats PostgreSQL (ISO, MDY) and DuckDB print and clients send."""
    s = text.strip(_WS)
    low = s.lower()
    if low in _SPECIAL_DAYS:
        return _Parsed(_SPECIAL_DAYS[low])
    if low in _RELATIVE_DAYS:
        now = datetime.now(_UTC)
        days = now.toordinal() - _ORDINAL_2000 + _RELATIVE_DAYS[low]
        if low == "now":
            tod = ((now.hour * 60 + now.minute) * 60 + now.second) * US + now.microsecond
            return _Parsed(days, tod, 0)
        return _Parsed(days)
    match = _DATETIME.fullmatch(s) or _COMPACT_DATE.fullmatch(s) or _MDY_DATE.fullmatch(s)
    if match is None:
        raise invalid_text(typname, text, DATETIME_FORMAT)
    groups = match.groupdict()
    zone_name = groups.get("zone")
    era = (groups.get("era1") or groups.get("era2") or "").strip(" ()").upper()
    if zone_name and zone_name.upper() in ("BC", "AD") and not era:
        era, zone_name = zone_name.upper(), None
    year, month, day = int(groups["y"]), int(groups["m"]), int(groups["d"])
    if match.re is _MDY_DATE and len(groups["y"]) <= 2:
        year += 2000 if year < 70 else 1900
    elif match.re is _DATETIME and len(groups["y"]) < 3:
        raise _field_overflow(text)  # PostgreSQL reads a short leading field as MDY and fails
    if year == 0 or not 1 <= month <= 12 or not 1 <= day <= _days_in_month(1 - year if era == "BC" else year, month):
        raise _field_overflow(text)
    if era == "BC":
        year = 1 - year
    parsed = _Parsed(date2j(year, month, day) - EPOCH_JDATE)
    if groups.get("H") is not None:
        parsed.tod = _time_of_day(int(groups["H"]), int(groups["M"]), int(groups["S"] or 0), groups["f"], text)
    if groups.get("tz"):
        parsed.offset = _parse_offset(groups["tz"], text)
    if zone_name:
        try:
            parsed.zone = resolve_timezone(zone_name)
        except PgError:
            if "/" in zone_name:
                raise PgError(
                    SqlState.INVALID_PARAMETER_VALUE, f'time zone "{zone_name.lower()}" not recognized'
                ) from None
            raise invalid_text(typname, text, DATETIME_FORMAT) from None
    return parsed


def parse_date(text: str) -> int:
    days = parse_datetime_text(text, "date").days
    if days not in (DATE_INF, DATE_NINF) and not _PG_MIN_DAYS <= days <= _PG_MAX_DAYS:
        raise PgError(DATETIME_OVERFLOW, f'date out of range: "{text}"')
    return days


def parse_timestamp(text: str, tz: tzinfo | None, typname: str) -> int:
    """Microseconds since 2000-01-01: local wall clock when tz is None, else UTC."""
    parsed = parse_datetime_text(text, typname)
    if parsed.days == DATE_INF:
        return TS_INF
    if parsed.days == DATE_NINF:
        return TS_NINF
    us = parsed.days * DAY_US + parsed.tod
    if tz is not None:
        if parsed.offset is not None:
            us -= parsed.offset * US
        else:
            us = local_to_utc(parsed.zone or tz, us)
    if not _PG_MIN_TS <= us <= _PG_MAX_TS:
        raise PgError(DATETIME_OVERFLOW, f'timestamp out of range: "{text}"')
    return us


def parse_time(text: str, typname: str) -> tuple[int, int | None]:
    """(microseconds of day, offset seconds east or None)."""
    s = text.strip(_WS)
    if s.lower() == "allballs":
        return 0, 0
    match = _TIME.fullmatch(s)
    if match is None:
        try:
            parsed = parse_datetime_text(text, typname)
        except PgError:
            raise invalid_text(typname, text, DATETIME_FORMAT) from None
        return parsed.tod, parsed.offset
    if match["compact"]:
        hh, mm, ss = int(s[0:2]), int(s[2:4]), int(s[4:6])
    else:
        hh, mm, ss = int(match["H"]), int(match["M"]), int(match["S"] or 0)
    if match["ampm"]:
        if not 1 <= hh <= 12:
            raise _field_overflow(text)
        hh = hh % 12 + (12 if match["ampm"].upper() == "PM" else 0)
    tod = _time_of_day(hh, mm, ss, match["f"], text)
    if tod > DAY_US:
        raise _field_overflow(text)
    return tod, _parse_offset(match["tz"], text) if match["tz"] else None


# ---------------------------------------------------------------- canonical forms of Python values


def date_days(value: object) -> int:
    """Days since 2000-01-01 of a date-ish value (date, datetime, or a DuckDB/PostgreSQL string)."""
    if isinstance(value, date):
        return value.toordinal() - _ORDINAL_2000
    if isinstance(value, str):
        return parse_date(value)
    raise TypeError(f"cannot encode {type(value).__name__} as date")


def naive_us(value: datetime) -> int:
    return (
        (value.toordinal() - _ORDINAL_2000) * 86400 + value.hour * 3600 + value.minute * 60 + value.second
    ) * US + value.microsecond


def timestamp_us(value: object) -> int:
    """Microseconds since 2000-01-01, wall clock (a timestamp without time zone)."""
    if isinstance(value, datetime):
        return naive_us(value)
    if isinstance(value, date):
        return (value.toordinal() - _ORDINAL_2000) * DAY_US
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
        return (value.toordinal() - _ORDINAL_2000) * DAY_US
    if isinstance(value, str):
        return parse_timestamp(value, _UTC, "timestamp with time zone")
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
    if _MIN_DAYS <= days <= _MAX_DAYS:
        return date.fromordinal(days + _ORDINAL_2000)
    if days == DATE_INF:
        return "infinity"
    if days == DATE_NINF:
        return "-infinity"
    return duck_date(days)


def timestamp_value(us: int) -> datetime | str:
    if _MIN_TS <= us <= _MAX_TS:
        return _EPOCH + timedelta(microseconds=us)
    if us == TS_INF:
        return "infinity"
    if us == TS_NINF:
        return "-infinity"
    return duck_timestamp(us)


def timestamptz_value(us: int) -> datetime | str:
    if _MIN_TS <= us <= _MAX_TS:
        return _EPOCH_UTC + timedelta(microseconds=us)
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


# ---------------------------------------------------------------- intervals


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
    s = text.strip(_WS).lower()
    if s.startswith("@"):
        s = s[1:].strip(_WS)
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
                raise _field_overflow(text)
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


# ---------------------------------------------------------------- numbers

_INT_TEXT = re.compile(r"[ \t\n\r\v\f]*([+-]?[0-9]+)[ \t\n\r\v\f]*")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_FLOAT_WORDS = {
    "nan": math.nan, "+nan": math.nan, "-nan": math.nan,
    "inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
    "-inf": -math.inf, "-infinity": -math.inf,
}  # fmt: skip
_NUMERIC_WORDS = {
    "nan": Decimal("NaN"),
    "inf": Decimal("Infinity"), "+inf": Decimal("Infinity"), "infinity": Decimal("Infinity"),
    "+infinity": Decimal("Infinity"), "-inf": Decimal("-Infinity"), "-infinity": Decimal("-Infinity"),
}  # fmt: skip
_FLOAT_SPECIAL = {"inf": b"Infinity", "-inf": b"-Infinity", "nan": b"NaN"}


_FLT_MAX = 3.4028234663852886e38
_FLT_ROUNDS_TO_INF = 3.4028235677973366e38  # halfway between FLT_MAX and 2**128


def to_float32(value: float) -> float:
    """Round a double to the nearest float32 like strtof (Python's pack refuses values that
    round down to FLT_MAX)."""
    try:
        return F4.unpack(F4.pack(value))[0]
    except OverflowError:
        if abs(value) < _FLT_ROUNDS_TO_INF:
            return math.copysign(_FLT_MAX, value)
        return math.copysign(math.inf, value)


def int_parser(typname: str, low: int, high: int) -> TextDecoder:
    def parse(text: str) -> int:
        match = _INT_TEXT.fullmatch(text)
        if match is None:
            raise invalid_text(typname, text)
        value = int(match[1])
        if not low <= value <= high:
            raise PgError(NUMERIC_OUT_OF_RANGE, f'value "{text}" is out of range for type {typname}')
        return value

    return parse


def float_parser(typname: str, single: bool) -> TextDecoder:
    def parse(text: str) -> float:
        s = text.strip(_WS)
        word = _FLOAT_WORDS.get(s.lower())
        if word is not None:
            return word
        if _FLOAT_TEXT.fullmatch(s):
            value = float(s)
            nonzero = any(c in "123456789" for c in s.split("e")[0].split("E")[0])
        elif _HEX_FLOAT.fullmatch(s):
            value = float.fromhex(s)
            nonzero = value != 0
        else:
            raise invalid_text(typname, text)
        if single and math.isfinite(value):
            value = to_float32(value)
        if math.isinf(value) or (value == 0 and nonzero):
            raise PgError(NUMERIC_OUT_OF_RANGE, f'"{s}" is out of range for type {typname}')
        return value

    return parse


def _shortest(value: float, limit: float) -> str:
    """PostgreSQL's float output from the shortest round-trip digits of `value` as a double:
    fixed notation for 1e-4 <= |x| < limit, else d.ddde+XX (Python's repr agrees except
    between `limit` and 1e16)."""
    text = float.__repr__(value)
    if text[-2:] == ".0":
        text = text[:-2]
    elif "n" in text:  # inf, -inf, nan
        return _FLOAT_SPECIAL[text].decode()
    if -limit < value < limit or "e" in text:
        return text
    digits = text.lstrip("-")
    return _to_exponent(digits, len(digits.split(".")[0]) - 1, value < 0)


def float8_str(value: float) -> str:
    """extra_float_digits=1: shortest round-trip digits, exponent form from 1e15 (Ryu's choice)."""
    return _shortest(value, 1e15)


def _to_exponent(digits: str, exponent: int, negative: bool) -> str:
    digits = digits.replace(".", "").lstrip("0").rstrip("0") or "0"
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return ("-" if negative else "") + f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"


def float8_text(value: float) -> bytes:
    if type(value) is not float:
        value = float(value)
    text = float.__repr__(value)
    if text[-2:] == ".0":
        if -1e15 < value < 1e15:
            return text[:-2].encode()
    elif "n" in text:
        return _FLOAT_SPECIAL[text]
    elif -1e15 < value < 1e15 or "e" in text:
        return text.encode()
    return _shortest(value, 1e15).encode()


_F4_PACK, _F4_UNPACK = F4.pack, F4.unpack


def float4_text(value: float) -> bytes:
    """Shortest digits that round-trip through float32; exponent form from 1e6 (FLT_DIG).
    The digit search costs microseconds, so repeated column values come from a cache
    (zero and NaN bypass it: 0.0 == -0.0 and NaN never equals itself as a key)."""
    if type(value) is not float:
        value = float(value)
    if value == 0.0:
        return b"-0" if math.copysign(1.0, value) < 0 else b"0"
    if value != value:
        return b"NaN"
    return _float4_text(value)


@lru_cache(maxsize=4096)
def _float4_text(value: float) -> bytes:
    try:
        single = _F4_UNPACK(_F4_PACK(value))[0]
        if single - single != 0:  # inf or nan
            return _FLOAT_SPECIAL[float.__repr__(single)]
        # More digits never stop round-tripping, so bisect the digit count 1..9.
        low, high = 0, 8
        while low < high:
            mid = (low + high) >> 1
            if _F4_UNPACK(_F4_PACK(float("%.*e" % (mid, single))))[0] == single:
                high = mid
            else:
                low = mid + 1
    except OverflowError:  # near FLT_MAX, where pack refuses what strtof would round down
        single = to_float32(value)
        if single - single != 0:
            return _FLOAT_SPECIAL[float.__repr__(single)]
        low = next(p for p in range(9) if to_float32(float("%.*e" % (p, single))) == single)
    # The chosen digits, as a double, print back as exactly those digits.
    return _shortest(float("%.*e" % (low, single)), 1e6).encode()


def to_decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(float8_str(value)) if math.isfinite(value) else Decimal(value)
    if isinstance(value, (int, str)):
        return Decimal(value)
    raise TypeError(f"cannot encode {type(value).__name__} as numeric")


def numeric_str(value: object) -> str:
    """Plain digits, never exponent form, no negative zero, as numeric_out prints."""
    if type(value) is int:
        return "%d" % value
    if type(value) is not Decimal:
        value = to_decimal(value)
    text = str(value)  # much cheaper than format(); falls back when it picks exponent form
    if "E" in text:
        text = format(value, "f")
    if text[0] == "-" and (not value or text[-1] == "N"):
        return text[1:]
    return text


def numeric_text(value: object) -> bytes:
    return numeric_str(value).encode()


_POW10 = (1, 10, 100, 1000)


def numeric_binary(value: object) -> bytes:
    """numeric_send: base-10000 digits aligned on the decimal point, zero groups at both ends dropped."""
    text = numeric_str(value)
    if text[-1] in "Ny":  # NaN, Infinity, -Infinity
        if text == "NaN":
            return NUMERIC_HEAD.pack(0, 0, 0xC000, 0)
        # PostgreSQL reports dscale 32 for the infinities (bits of their header), so do we
        return NUMERIC_HEAD.pack(0, 0, 0xF000 if text[0] == "-" else 0xD000, 32)
    negative = text[0] == "-"
    if negative:
        text = text[1:]
    whole, _, frac = text.partition(".")
    dscale = len(frac)
    pad = -dscale % 4  # so the fraction fills whole base-10000 digits
    number = int(whole + frac) * _POW10[pad]
    if not number:
        return NUMERIC_HEAD.pack(0, 0, 0, dscale)
    groups = []  # least significant first
    while number:
        number, group = divmod(number, 10000)
        groups.append(group)
    weight = len(groups) - (dscale + pad) // 4 - 1
    low = 0
    while groups[low] == 0:
        low += 1
    if low:
        del groups[:low]
    groups.reverse()
    count = len(groups)
    return NUMERIC_HEAD.pack(count, weight, 0x4000 if negative else 0, dscale) + _digit_struct(count).pack(*groups)


@cache
def _digit_struct(count: int) -> struct.Struct:
    return struct.Struct(">%dH" % count)


def parse_numeric(text: str) -> Decimal:
    s = text.strip(_WS)
    word = _NUMERIC_WORDS.get(s.lower())
    if word is not None:
        return word
    if not _FLOAT_TEXT.fullmatch(s):
        raise invalid_text("numeric", text)
    value = Decimal(s)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if -exponent > 0x3FFF or (value and value.adjusted() >= 131072):
        raise PgError(NUMERIC_OUT_OF_RANGE, "value overflows numeric format")
    if exponent > 0:  # '1e3' has scale 0 in PostgreSQL: spell out the zeros
        value = Decimal((sign, digits + (0,) * exponent, 0))
    return value


def numeric_from_binary(data: bytes) -> Decimal:
    if len(data) < 8:
        raise invalid_binary("numeric", f"expected at least 8 bytes, got {len(data)}")
    ndigits, weight, sign, dscale = NUMERIC_HEAD.unpack_from(data)
    if len(data) != 8 + 2 * ndigits:
        raise invalid_binary("numeric", f"expected {8 + 2 * ndigits} bytes, got {len(data)}")
    if sign not in (0, 0x4000, 0xC000, 0xD000, 0xF000):
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, 'invalid sign in external "numeric" value')
    if sign == 0xC000:
        return Decimal("NaN")
    if sign in (0xD000, 0xF000):
        return Decimal("Infinity" if sign == 0xD000 else "-Infinity")
    if dscale > 0x3FFF:
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, 'invalid scale in external "numeric" value')
    number = 0
    for digit in struct.unpack_from(">%dH" % ndigits, data, 8):
        if digit >= 10000:
            raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, 'invalid digit in external "numeric" value')
        number = number * 10000 + digit
    exponent = (weight - ndigits + 1) * 4
    if exponent < -dscale:
        number //= 10 ** (-dscale - exponent)  # numeric_recv truncates digits the scale hides
    else:
        number *= 10 ** (exponent + dscale)
    return Decimal(f"{'-' if sign else ''}{number}E-{dscale}")


# ---------------------------------------------------------------- booleans, bytes, uuids

_BOOL_WORDS = (("true", True), ("false", False), ("yes", True), ("no", False))


def parse_bool(text: str) -> bool:
    """boolin: any prefix of true/false/yes/no, on/off (two letters at least), 1/0."""
    s = text.strip(_WS).lower()
    if s:
        for word, value in _BOOL_WORDS:
            if word.startswith(s):
                return value
        if len(s) >= 2 and "on".startswith(s):
            return True
        if len(s) >= 2 and "off".startswith(s):
            return False
        if s in ("1", "0"):
            return s == "1"
    raise invalid_text("boolean", text)


def bytea_text(value: object) -> bytes:
    try:
        return b"\\x" + value.hex().encode()  # type: ignore[attr-defined]
    except AttributeError:
        return b"\\x" + str(value).encode().hex().encode()


def parse_bytea(text: str) -> bytes:
    """byteain: '\\x' hex (whitespace between pairs allowed) or the escape format."""
    if text[:2] == "\\x":
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            pass
        hexdigits = [c for c in text[2:] if c not in " \n\t\r"]
        for c in hexdigits:
            if c not in "0123456789abcdefABCDEF":
                raise PgError(SqlState.INVALID_PARAMETER_VALUE, f'invalid hexadecimal digit: "{c}"')
        raise PgError(SqlState.INVALID_PARAMETER_VALUE, "invalid hexadecimal data: odd number of digits")
    if "\\" not in text:
        return text.encode()
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif text[i + 1 : i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif re.fullmatch(r"[0-3][0-7][0-7]", text[i + 1 : i + 4]):
            out.append(int(text[i + 1 : i + 4], 8))
            i += 4
        else:
            raise PgError(SqlState.INVALID_TEXT_REPRESENTATION, "invalid input syntax for type bytea")
    return bytes(out)


_UUID_TEXT = re.compile(r"(\{)?((?:[0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4})(\})?", re.A)


def parse_uuid(text: str) -> UUID:
    match = _UUID_TEXT.fullmatch(text)
    if match is None or bool(match[1]) != bool(match[3]):
        raise invalid_text("uuid", text)
    return UUID(hex=match[2].replace("-", ""))


def uuid_text(value: object) -> bytes:
    if type(value) is UUID:
        return str(value).encode()
    return str(value if isinstance(value, UUID) else UUID(str(value))).encode()


def uuid_binary(value: object) -> bytes:
    if isinstance(value, UUID):
        return value.bytes
    if isinstance(value, (bytes, bytearray)) and len(value) == 16:
        return bytes(value)
    return UUID(str(value)).bytes


# ---------------------------------------------------------------- text-like values


def jsonish(value: object) -> str:
    """STRUCT/MAP/LIST values as JSON text, so a psql user can read them and a client can parse them."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is str:
        return json.dumps(value, ensure_ascii=False)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return "%d" % value
    if kind is float:
        text = float8_str(value)  # type: ignore[arg-type]
        return text if math.isfinite(value) else f'"{text}"'  # type: ignore[arg-type]
    if kind is Decimal:
        return numeric_str(value) if value.is_finite() else f'"{numeric_str(value)}"'  # type: ignore[union-attr]
    if kind is dict:
        items = value.items()  # type: ignore[attr-defined]
        return "{" + ", ".join(f"{_json_key(k)}: {jsonish(v)}" for k, v in items) + "}"
    if kind is list or kind is tuple:
        return "[" + ", ".join(map(jsonish, value)) + "]"  # type: ignore[call-overload]
    return json.dumps(any_text(value).decode(), ensure_ascii=False)


def _json_key(key: object) -> str:
    return json.dumps(key if type(key) is str else any_text(key).decode(), ensure_ascii=False)


def text_text(value: object) -> bytes:
    if type(value) is str:
        return value.encode()
    return any_text(value)


def json_text(value: object) -> bytes:
    if type(value) is str:
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return jsonish(value).encode()


def _jsonb_key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return len(raw), raw


def _jsonb_string(text: str) -> str:
    # escape_json: \" \\ \b \f \n \r \t, other control characters as \u00xx, the rest as is.
    return json.dumps(text, ensure_ascii=False)


def _jsonb_out(value: object) -> str:
    kind = type(value)
    if kind is str:
        return _jsonb_string(value)  # type: ignore[arg-type]
    if kind is Decimal:
        return numeric_str(value)
    if kind is dict:
        items = sorted(value.items(), key=lambda kv: _jsonb_key_order(kv[0]))  # type: ignore[attr-defined]
        return "{" + ", ".join(f"{_jsonb_string(k)}: {_jsonb_out(v)}" for k, v in items) + "}"
    if kind is list:
        return "[" + ", ".join(map(_jsonb_out, value)) + "]"  # type: ignore[call-overload]
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return numeric_str(value)  # int


def _jsonb_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    return dict(pairs)  # a duplicate key keeps its last value, as jsonb does


def jsonb_str(value: object) -> str:
    """jsonb_out: what PostgreSQL prints for a jsonb value. Keys ordered by length, then
    bytewise; duplicate keys keep the last value; numbers as numeric prints them; `", "`
    between items and `": "` after keys."""
    if type(value) is not str:
        value = json_text(value).decode()
    try:
        parsed = json.loads(value, parse_float=Decimal, parse_int=Decimal,  # type: ignore[arg-type]
                            object_pairs_hook=_jsonb_pairs)
    except ValueError:
        return value  # not JSON (cannot come from a JSON column): sent as it is
    return _jsonb_out(parsed)


def jsonb_text(value: object) -> bytes:
    return jsonb_str(value).encode()


def jsonb_binary(value: object) -> bytes:
    return b"\x01" + jsonb_text(value)


def parse_json(text: str, typname: str = "json") -> str:
    """Validate like json_in (no NaN/Infinity) and keep the client's text."""

    def reject(token: str) -> None:
        raise PgError(
            SqlState.INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json", f'Token "{token}" is invalid.'
        )

    try:
        json.loads(text, parse_constant=reject)  # type: ignore[arg-type]
    except json.JSONDecodeError as exc:
        raise PgError(
            SqlState.INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json", exc.msg + "."
        ) from None
    return text


def jsonb_from_binary(data: bytes) -> str:
    if not data or data[0] != 1:
        version = data[0] if data else 0
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, f"unsupported jsonb version number {version}")
    return parse_json(utf8(data[1:]), "jsonb")


def parse_name(text: str) -> str:
    """namein truncates to 63 bytes on a character boundary."""
    if len(text) > 15:
        raw = text.encode()
        if len(raw) > 63:
            return raw[:63].decode("utf-8", "ignore")
    return text


def parse_oid(text: str) -> int:
    match = _INT_TEXT.fullmatch(text)
    if match is None:
        raise invalid_text("oid", text)
    value = int(match[1])
    if not INT32_MIN <= value <= 0xFFFFFFFF:
        raise PgError(NUMERIC_OUT_OF_RANGE, f'value "{text}" is out of range for type oid')
    return value & 0xFFFFFFFF


def parse_reg(text: str) -> int | str:
    """reg* input: a numeric OID or an object name, which the catalog layer resolves."""
    s = text.strip(_WS)
    return int(s) if s.isascii() and s.isdigit() else s


def oid_binary(value: object) -> bytes:
    if isinstance(value, int):
        return U4.pack(value & 0xFFFFFFFF)
    raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"cannot send {value!r} as a binary OID")


def char_text(value: object) -> bytes:
    if isinstance(value, int):
        return bytes((value & 0xFF,))
    return str(value).encode()[:1]


# ---------------------------------------------------------------- temporal encoders (fast paths first)


def date_text_enc(value: object) -> bytes:
    if type(value) is date:
        return value.isoformat().encode()
    return date_text(date_days(value)).encode()


def date_binary(value: object) -> bytes:
    if type(value) is date:
        return I4.pack(value.toordinal() - _ORDINAL_2000)
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

    return encode_utc if tz is _UTC else encode


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


def bool_text(value: object) -> bytes:
    return b"t" if value else b"f"


def bool_binary(value: object) -> bytes:
    return b"\x01" if value else b"\x00"


def bytea_binary(value: object) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


int_text: Encoder = b"%d".__mod__


def _datetime_text(value: datetime) -> bytes:
    if value.tzinfo is None:
        return timestamp_text_enc(value)
    return timestamptz_text_encoder(_UTC)(value)


def _time_text_any(value: time) -> bytes:
    return time_text_enc(value) if value.tzinfo is None else timetz_text_enc(value)


_TEXT_BY_PY_TYPE: dict[type, Encoder] = {
    str: str.encode,
    bool: bool_text,
    int: int_text,
    float: float8_text,
    Decimal: numeric_text,
    date: date_text_enc,
    datetime: _datetime_text,
    time: _time_text_any,
    timedelta: interval_text_enc,
    Interval: interval_text_enc,
    UUID: uuid_text,
    bytes: bytea_text,
    bytearray: bytea_text,
    memoryview: bytea_text,
    dict: lambda v: jsonish(v).encode(),
    list: lambda v: jsonish(v).encode(),
    tuple: lambda v: jsonish(v).encode(),
}


def any_text(value: object) -> bytes:
    """Text for a value whose column type we do not know: chosen by its Python type."""
    encode = _TEXT_BY_PY_TYPE.get(type(value))
    return encode(value) if encode is not None else str(value).encode()


# ---------------------------------------------------------------- binary decoders


def binary_struct_decoder(typname: str, packer: struct.Struct) -> BinaryDecoder:
    size, unpack = packer.size, packer.unpack

    def decode(data: bytes) -> object:
        if len(data) != size:
            raise invalid_binary(typname, f"expected {size} bytes, got {len(data)}")
        return unpack(data)[0]

    return decode


def bool_from_binary(data: bytes) -> bool:
    if len(data) != 1:
        raise invalid_binary("boolean", f"expected 1 byte, got {len(data)}")
    return data[0] != 0


def date_from_binary(data: bytes) -> date | str:
    if len(data) != 4:
        raise invalid_binary("date", f"expected 4 bytes, got {len(data)}")
    days = I4.unpack(data)[0]
    if days not in (DATE_INF, DATE_NINF) and not _PG_MIN_DAYS <= days <= _PG_MAX_DAYS:
        raise PgError(DATETIME_OVERFLOW, "date out of range")
    return date_value(days)


def _ts_micro(data: bytes, typname: str) -> int:
    if len(data) != 8:
        raise invalid_binary(typname, f"expected 8 bytes, got {len(data)}")
    us = I8.unpack(data)[0]
    if us not in (TS_INF, TS_NINF) and not _PG_MIN_TS <= us <= _PG_MAX_TS:
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
    if abs(west) >= _TZ_LIMIT:
        raise PgError(TZ_DISPLACEMENT, "time zone displacement out of range")
    return timetz_value(us, -west)


def interval_from_binary(data: bytes) -> timedelta | Interval:
    if len(data) != 16:
        raise invalid_binary("interval", f"expected 16 bytes, got {len(data)}")
    us, days, months = INTERVAL.unpack(data)
    return interval_value(months, days, us)


def uuid_from_binary(data: bytes) -> UUID:
    if len(data) != 16:
        raise invalid_binary("uuid", f"expected 16 bytes, got {len(data)}")
    return UUID(bytes=bytes(data))


def char_from_binary(data: bytes) -> str:
    if len(data) != 1:
        raise invalid_binary('"char"', f"expected 1 byte, got {len(data)}")
    return chr(data[0])


def oid_from_binary(data: bytes) -> int:
    if len(data) != 4:
        raise invalid_binary("oid", f"expected 4 bytes, got {len(data)}")
    return U4.unpack(data)[0]


# ---------------------------------------------------------------- arrays

_NEEDS_QUOTES = re.compile(rb'[{}",\\ \t\n\r\v\f]')


def array_text_encoder(element: Encoder, plain: bool) -> Encoder:
    """array_out: '{a,"b c",NULL,{1,2}}'. `plain` element types (numbers, booleans) never need quoting."""

    def quote(text: bytes) -> bytes:
        if text and (len(text) != 4 or text.upper() != b"NULL") and not _NEEDS_QUOTES.search(text):
            return text
        return b'"' + text.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'

    def encode(value: object) -> bytes:
        parts = []
        for item in value:  # type: ignore[attr-defined]
            if item is None:
                parts.append(b"NULL")
            elif type(item) is list or type(item) is tuple:
                parts.append(encode(item))
            elif plain:
                parts.append(element(item))
            else:
                parts.append(quote(element(item)))
        return b"{" + b",".join(parts) + b"}"

    return encode


def _array_shape(value: object) -> list[int]:
    dims = []
    while type(value) is list or type(value) is tuple:
        dims.append(len(value))  # type: ignore[arg-type]
        if not value:
            break
        value = value[0]  # type: ignore[index]
    return dims


def _flatten(value: object, dims: list[int], depth: int, out: list[object]) -> None:
    if depth == len(dims) - 1:
        for item in value:  # type: ignore[attr-defined]
            if type(item) is list or type(item) is tuple:
                raise _ragged()
            out.append(item)
        return
    for item in value:  # type: ignore[attr-defined]
        if not (type(item) is list or type(item) is tuple) or len(item) != dims[depth + 1]:
            raise _ragged()
        _flatten(item, dims, depth + 1, out)


def _ragged() -> PgError:
    return PgError(
        ARRAY_SUBSCRIPT_ERROR, "multidimensional arrays must have array expressions with matching dimensions"
    )


_NULL_ITEM = I4.pack(-1)


def array_binary_encoder(element_oid: int, element: Encoder, lower_bound: int = 1) -> Encoder:
    """array_send: ndim, has-null flag, element OID, (size, lower bound) per dimension, items."""
    empty = ARRAY_HEAD.pack(0, 0, element_oid)
    pack_len = I4.pack

    def encode(value: object) -> bytes:
        if value and (type(value[0]) is list or type(value[0]) is tuple):  # type: ignore[index]
            dims = _array_shape(value)
            items: list[object] = []
            if 0 not in dims:
                _flatten(value, dims, 0, items)
        else:
            dims = [len(value)]  # type: ignore[arg-type]
            items = value  # type: ignore[assignment]
        if not items and lower_bound == 1:
            return empty
        parts = [b""]
        has_null = 0
        for item in items:
            if item is None:
                parts.append(_NULL_ITEM)
                has_null = 1
            else:
                if type(item) is list or type(item) is tuple:
                    raise _ragged()
                data = element(item)
                parts.append(pack_len(len(data)))
                parts.append(data)
        parts[0] = ARRAY_HEAD.pack(len(dims), has_null, element_oid) + b"".join(
            ARRAY_DIM.pack(d, lower_bound) for d in dims
        )
        return b"".join(parts)

    return encode


def vector_text(value: object) -> bytes:
    """int2vector/oidvector: space-separated."""
    return b" ".join(b"%d" % v for v in value)  # type: ignore[attr-defined]


def _malformed(text: str, detail: str) -> PgError:
    return PgError(SqlState.INVALID_TEXT_REPRESENTATION, f'malformed array literal: "{text}"', detail)


_ARRAY_DIMS = re.compile(
    r"((?:\[[ \t\n\r\v\f]*[+-]?\d+[ \t\n\r\v\f]*(?::[ \t\n\r\v\f]*[+-]?\d+[ \t\n\r\v\f]*)?\])+)[ \t\n\r\v\f]*=", re.A
)


def parse_array_text(text: str, element: TextDecoder) -> list[object]:
    """array_in, following ReadArrayStr's rules for quoting, escapes, NULL and shape errors."""
    i, n = 0, len(text)
    while i < n and text[i] in _WS:
        i += 1
    declared: list[int] | None = None
    if i < n and text[i] == "[":
        match = _ARRAY_DIMS.match(text, i)
        if match is None:
            raise _malformed(text, 'Missing "]" after array dimensions.')
        declared = []
        for part in re.findall(r"\[([^\]]*)\]", match[1]):
            bounds = [int(b) for b in part.split(":")]
            low, high = (bounds[0], bounds[1]) if len(bounds) == 2 else (1, bounds[0])
            if high < low:
                raise PgError(ARRAY_SUBSCRIPT_ERROR, "upper bound cannot be less than lower bound")
            declared.append(high - low + 1)
        i = match.end()
        while i < n and text[i] in _WS:
            i += 1
    if i >= n or text[i] != "{":
        raise _malformed(text, 'Array value must start with "{" or dimension information.')

    def unexpected(pos: int) -> PgError:
        if pos >= n:
            return _malformed(text, "Unexpected end of input.")
        return _malformed(text, f'Unexpected "{text[pos]}" character.')

    def parse_list(pos: int, depth: int) -> tuple[list[object], int]:
        pos += 1  # past '{'
        items: list[object] = []
        nested: bool | None = None
        while True:
            while pos < n and text[pos] in _WS:
                pos += 1
            if pos >= n:
                raise unexpected(pos)
            c = text[pos]
            if c == "}" and not items and depth == 0 and nested is None:
                return items, pos + 1
            if c == "{":
                if nested is False:
                    raise unexpected(pos)
                nested = True
                sub, pos = parse_list(pos, depth + 1)
                items.append(sub)
            elif c in ",}":
                raise unexpected(pos)
            else:
                if nested is True:
                    raise _malformed(text, "Unexpected array element.")
                nested = False
                item, pos = parse_item(pos)
                items.append(item)
            while pos < n and text[pos] in _WS:
                pos += 1
            if pos >= n:
                raise unexpected(pos)
            if text[pos] == ",":
                pos += 1
            elif text[pos] == "}":
                return items, pos + 1
            else:
                raise _malformed(text, "Unexpected array element.")

    def parse_item(pos: int) -> tuple[object, int]:
        chars: list[str] = []
        if text[pos] == '"':
            pos += 1
            while True:
                if pos >= n:
                    raise unexpected(pos)
                c = text[pos]
                if c == "\\":
                    if pos + 1 >= n:
                        raise unexpected(n)
                    chars.append(text[pos + 1])
                    pos += 2
                elif c == '"':
                    return element("".join(chars)), pos + 1
                else:
                    chars.append(c)
                    pos += 1
        escaped = False
        keep = 0  # length of chars up to the last escaped or non-space character
        while pos < n:
            c = text[pos]
            if c == "\\":
                if pos + 1 >= n:
                    raise unexpected(n)
                chars.append(text[pos + 1])
                escaped = True
                keep = len(chars)
                pos += 2
                continue
            if c in ",}":
                break
            if c in '{"':
                raise unexpected(pos)
            chars.append(c)
            if c not in _WS:
                keep = len(chars)
            pos += 1
        raw = "".join(chars[:keep])
        if not escaped and raw.upper() == "NULL":
            return None, pos
        return element(raw), pos

    result, i = parse_list(i, 0)
    while i < n and text[i] in _WS:
        i += 1
    if i < n:
        raise _malformed(text, "Junk after closing right brace.")
    shape = _array_shape(result)
    if result and not _is_rectangular(result, shape, 0):
        raise _malformed(text, "Multidimensional arrays must have sub-arrays with matching dimensions.")
    if declared is not None and declared != (shape if result else []):
        raise _malformed(text, "Specified array dimensions do not match array contents.")
    return result


def _is_rectangular(value: list[object], shape: list[int], depth: int) -> bool:
    if len(value) != shape[depth]:
        return False
    if depth == len(shape) - 1:
        return all(type(item) is not list for item in value)
    return all(type(item) is list and _is_rectangular(item, shape, depth + 1) for item in value)


def parse_array_binary(
    data: bytes, element_oid: int, element: BinaryDecoder, names: Callable[[int], str]
) -> list[object]:
    """array_recv: validates header, element type and item lengths, returns nested lists."""
    size = len(data)
    if size < 12:
        raise invalid_binary("array", f"expected at least 12 bytes, got {size}")
    ndim, flags, got_oid = ARRAY_HEAD.unpack_from(data)
    if ndim < 0:
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, f"invalid number of dimensions: {ndim}")
    if ndim > 6:
        raise PgError(
            SqlState.PROGRAM_LIMIT_EXCEEDED, f"number of array dimensions ({ndim}) exceeds the maximum allowed (6)"
        )
    if flags not in (0, 1):
        raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, "invalid array flags")
    if got_oid != element_oid:
        raise PgError(
            DATATYPE_MISMATCH,
            f"binary data has array element type {got_oid} ({names(got_oid)}) "
            f"instead of expected {element_oid} ({names(element_oid)})",
        )
    pos = 12
    dims = []
    for _ in range(ndim):
        if pos + 8 > size:
            raise invalid_binary("array", "truncated dimension header")
        length, _lower = ARRAY_DIM.unpack_from(data, pos)
        if length < 0:
            raise PgError(SqlState.INVALID_BINARY_REPRESENTATION, "invalid array dimensions")
        dims.append(length)
        pos += 8
    total = math.prod(dims) if dims else 0
    items: list[object] = []
    view = memoryview(data)
    for index in range(total):
        if pos + 4 > size:
            raise invalid_binary("array", "insufficient data left in message")
        length = I4.unpack_from(data, pos)[0]
        pos += 4
        if length == -1:
            items.append(None)
            continue
        if length < 0 or pos + length > size:
            raise invalid_binary("array", f"improper binary format in array element {index + 1}")
        items.append(element(bytes(view[pos : pos + length])))
        pos += length
    if pos != size:
        raise invalid_binary("array", "trailing bytes after the last element")
    for length in reversed(dims[1:]):
        items = [items[k : k + length] for k in range(0, len(items), length)]
    return items
