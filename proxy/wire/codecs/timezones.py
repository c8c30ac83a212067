"""Session TimeZone settings and UTC offsets, read the way PostgreSQL reads them."""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from proxy.errors import PgError, SqlState
from proxy.wire.codecs.calendar_math import (
    DAY_US,
    EPOCH,
    EPOCH_UTC,
    PY_MAX_TS,
    PY_MIN_TS,
    US,
)

_POSIX_OFFSET = re.compile(r"(?:[A-Za-z]{3,}|<[^>]*>)?([+-]?)(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?", re.A)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)", re.A)


@lru_cache(maxsize=256)
def resolve_timezone(name: str) -> tzinfo:
    """A session TimeZone setting as PostgreSQL reads it: IANA name (any case), a bare number of
    hours east of UTC, or a POSIX offset such as '+05:30' / 'UTC+3' (POSIX signs: west positive)."""
    text = name.strip()
    if text.upper() in ("UTC", "ETC/UTC", "GMT", "ETC/GMT", "Z", "ZULU", "UCT", "UNIVERSAL"):
        return UTC
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
    moment = EPOCH_UTC + timedelta(microseconds=min(max(us, PY_MIN_TS + DAY_US), PY_MAX_TS - DAY_US))
    off = moment.astimezone(tz).utcoffset()
    return 0 if off is None else off.days * 86400 + off.seconds


def local_to_utc(tz: tzinfo, local_us: int) -> int:
    """UTC instant of a wall-clock time in `tz` (first occurrence when ambiguous)."""
    clamped = min(max(local_us, PY_MIN_TS + DAY_US), PY_MAX_TS - DAY_US)
    off = (EPOCH + timedelta(microseconds=clamped)).replace(tzinfo=tz).utcoffset()
    return local_us - (0 if off is None else (off.days * 86400 + off.seconds) * US + off.microseconds)
