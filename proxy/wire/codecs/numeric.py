"""Codecs for integers (int2/int4/int8, oid, reg*), float4/float8 and numeric.

Digits match PostgreSQL's output: floats print like extra_float_digits=1 (shortest
round-trip digits), numerics never in exponent form; input accepts exactly what
PostgreSQL's input functions accept.
"""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal
from functools import cache, lru_cache

from proxy.errors import PgError, SqlState
from proxy.wire.codecs.primitives import (
    INT32_MIN,
    NUMERIC_OUT_OF_RANGE,
    WHITESPACE,
    BinaryDecoder,
    Encoder,
    TextDecoder,
    invalid_binary,
    invalid_text,
)

# Binary layouts, defined here rather than imported (see primitives: per-value calls).
I2 = struct.Struct(">h")
I4 = struct.Struct(">i")
I8 = struct.Struct(">q")
U4 = struct.Struct(">I")
F4 = struct.Struct(">f")
F8 = struct.Struct(">d")
NUMERIC_HEAD = struct.Struct(">HhHH")


INT_TEXT = re.compile(r"[ \t\n\r\v\f]*([+-]?[0-9]+)[ \t\n\r\v\f]*")
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
        match = INT_TEXT.fullmatch(text)
        if match is None:
            raise invalid_text(typname, text)
        value = int(match[1])
        if not low <= value <= high:
            raise PgError(NUMERIC_OUT_OF_RANGE, f'value "{text}" is out of range for type {typname}')
        return value

    return parse


def float_parser(typname: str, single: bool) -> TextDecoder:
    def parse(text: str) -> float:
        s = text.strip(WHITESPACE)
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
    s = text.strip(WHITESPACE)
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


# ---------------------------------------------------------------- fixed-width integers and floats

int_text: Encoder = b"%d".__mod__


def binary_struct_decoder(typname: str, packer: struct.Struct) -> BinaryDecoder:
    size, unpack = packer.size, packer.unpack

    def decode(data: bytes) -> object:
        if len(data) != size:
            raise invalid_binary(typname, f"expected {size} bytes, got {len(data)}")
        return unpack(data)[0]

    return decode


# ---------------------------------------------------------------- oid and reg*: unsigned 32-bit object ids


def parse_oid(text: str) -> int:
    match = INT_TEXT.fullmatch(text)
    if match is None:
        raise invalid_text("oid", text)
    value = int(match[1])
    if not INT32_MIN <= value <= 0xFFFFFFFF:
        raise PgError(NUMERIC_OUT_OF_RANGE, f'value "{text}" is out of range for type oid')
    return value & 0xFFFFFFFF


def parse_reg(text: str) -> int | str:
    """reg* input: a numeric OID or an object name, which the catalog layer resolves."""
    s = text.strip(WHITESPACE)
    return int(s) if s.isascii() and s.isdigit() else s


def oid_binary(value: object) -> bytes:
    if isinstance(value, int):
        return U4.pack(value & 0xFFFFFFFF)
    raise PgError(SqlState.FEATURE_NOT_SUPPORTED, f"cannot send {value!r} as a binary OID")


def oid_from_binary(data: bytes) -> int:
    if len(data) != 4:
        raise invalid_binary("oid", f"expected 4 bytes, got {len(data)}")
    return U4.unpack(data)[0]
