"""Date/time text input in the spellings PostgreSQL (ISO, MDY) and DuckDB print and clients send.

Parsing yields `calendar_math`'s integer forms, and bad input fails with PostgreSQL's
SQLSTATE and message, whatever Python type the value later becomes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal

from proxy.errors import PgError, SqlState
from proxy.wire.codecs.calendar_math import (
    DATE_INF,
    DATE_NINF,
    DAY_US,
    EPOCH_JDATE,
    ORDINAL_2000,
    PG_MAX_DAYS,
    PG_MAX_TS,
    PG_MIN_DAYS,
    PG_MIN_TS,
    TS_INF,
    TS_NINF,
    US,
    date2j,
    days_in_month,
)
from proxy.wire.codecs.primitives import (
    DATETIME_FORMAT,
    DATETIME_OVERFLOW,
    TZ_DISPLACEMENT,
    WHITESPACE,
    invalid_text,
)
from proxy.wire.codecs.timezones import local_to_utc, resolve_timezone


def field_overflow(text: str) -> PgError:
    return PgError(DATETIME_OVERFLOW, f'date/time field value out of range: "{text}"')


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
TZ_LIMIT = 16 * 3600  # PostgreSQL rejects displacements of 16 hours or more


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
        raise field_overflow(original)
    secs = hh * 3600 + mm * 60 + ss
    if secs >= TZ_LIMIT:
        raise PgError(TZ_DISPLACEMENT, f'time zone displacement out of range: "{original}"')
    return sign * secs


def _time_of_day(hh: int, mm: int, ss: int, frac: str | None, original: str) -> int:
    us = _frac_us(frac)
    if mm > 59 or ss > 60 or hh > 24 or (hh == 24 and (mm or ss or us)):
        raise field_overflow(original)
    return ((hh * 60 + mm) * 60 + ss) * US + us


def parse_datetime_text(text: str, typname: str) -> _Parsed:
    """Date/time input in the formats PostgreSQL (ISO, MDY) and DuckDB print and clients send."""
    s = text.strip(WHITESPACE)
    low = s.lower()
    if low in _SPECIAL_DAYS:
        return _Parsed(_SPECIAL_DAYS[low])
    if low in _RELATIVE_DAYS:
        now = datetime.now(UTC)
        days = now.toordinal() - ORDINAL_2000 + _RELATIVE_DAYS[low]
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
        raise field_overflow(text)  # PostgreSQL reads a short leading field as MDY and fails
    if year == 0 or not 1 <= month <= 12 or not 1 <= day <= days_in_month(1 - year if era == "BC" else year, month):
        raise field_overflow(text)
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
    if days not in (DATE_INF, DATE_NINF) and not PG_MIN_DAYS <= days <= PG_MAX_DAYS:
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
    if not PG_MIN_TS <= us <= PG_MAX_TS:
        raise PgError(DATETIME_OVERFLOW, f'timestamp out of range: "{text}"')
    return us


def parse_time(text: str, typname: str) -> tuple[int, int | None]:
    """(microseconds of day, offset seconds east or None)."""
    s = text.strip(WHITESPACE)
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
            raise field_overflow(text)
        hh = hh % 12 + (12 if match["ampm"].upper() == "PM" else 0)
    tod = _time_of_day(hh, mm, ss, match["f"], text)
    if tod > DAY_US:
        raise field_overflow(text)
    return tod, _parse_offset(match["tz"], text) if match["tz"] else None
