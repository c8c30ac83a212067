"""Array codecs: array_out/array_in text literals and the array_send/array_recv layout.

The element codec is passed in, so one implementation serves every element type.
Multi-dimensional arrays are nested lists, the shape DuckDB returns them in.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable

from proxy.errors import PgError, SqlState
from proxy.wire.codecs.primitives import (
    ARRAY_SUBSCRIPT_ERROR,
    DATATYPE_MISMATCH,
    WHITESPACE,
    BinaryDecoder,
    Encoder,
    TextDecoder,
    invalid_binary,
)

# Binary layouts, defined here rather than imported (see primitives: per-value calls).
ARRAY_HEAD = struct.Struct(">iiI")
ARRAY_DIM = struct.Struct(">ii")
I4 = struct.Struct(">i")  # item length, -1 for NULL


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
    while i < n and text[i] in WHITESPACE:
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
        while i < n and text[i] in WHITESPACE:
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
            while pos < n and text[pos] in WHITESPACE:
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
            while pos < n and text[pos] in WHITESPACE:
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
            if c not in WHITESPACE:
                keep = len(chars)
            pos += 1
        raw = "".join(chars[:keep])
        if not escaped and raw.upper() == "NULL":
            return None, pos
        return element(raw), pos

    result, i = parse_list(i, 0)
    while i < n and text[i] in WHITESPACE:
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
