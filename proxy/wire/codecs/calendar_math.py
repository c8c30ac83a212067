"""PostgreSQL's calendar: the 2000-01-01 epoch, Julian days, range limits and text spellings.

Temporal values travel as PostgreSQL's own integers (days or microseconds since 2000-01-01)
so text and binary output cannot drift apart. Python's datetime cannot hold BC dates or
years past 9999, so those are spelled from the integers here, in PostgreSQL's style and in
DuckDB's (which is how DuckDB hands them over and takes them back).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from proxy.wire.codecs.primitives import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN

DATE_INF, DATE_NINF = INT32_MAX, INT32_MIN  # PostgreSQL's date 'infinity' encodings
TS_INF, TS_NINF = INT64_MAX, INT64_MIN  # and timestamp's

US = 1_000_000
DAY_US = 86_400 * US
EPOCH_JDATE = 2_451_545  # Julian day of 2000-01-01, PostgreSQL's epoch
ORDINAL_2000 = 730_120  # date(2000, 1, 1).toordinal()
EPOCH = datetime(2000, 1, 1)
EPOCH_UTC = datetime(2000, 1, 1, tzinfo=UTC)
PY_MIN_DAYS, PY_MAX_DAYS = 1 - ORDINAL_2000, date.max.toordinal() - ORDINAL_2000
PY_MIN_TS = PY_MIN_DAYS * DAY_US
PY_MAX_TS = (PY_MAX_DAYS + 1) * DAY_US - 1
# PostgreSQL's own limits: 4714-11-24 BC .. 5874897-12-31 (date), .. 294276-12-31 (timestamp).
PG_MIN_DAYS, PG_MAX_DAYS = -EPOCH_JDATE, 2_147_483_494 - EPOCH_JDATE - 1
PG_MIN_TS, PG_MAX_TS = -211_813_488_000_000_000, 9_223_371_331_200_000_000 - 1


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


def days_in_month(year: int, month: int) -> int:
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
