"""COPY data formats (text, csv, binary): rows to CopyData payloads and back. Pure functions.

The formats are PostgreSQL's (COPY command reference): text escapes backslash, tab, newline
and carriage return and writes NULL as \\N; csv quotes fields that need it and writes NULL
as an unquoted empty field; binary is the PGCOPY stream of length-prefixed binary values.
"""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from proxy.errors import PgError, SqlState

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


@dataclass(frozen=True)
class CopyOptions:
    format: str = "text"
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool = False
    quote: str = '"'
    escape: str = '"'

    @classmethod
    def from_statement(cls, options: Mapping[str, object]) -> CopyOptions:
        fmt = str(options.get("format", "text")).lower()
        if fmt not in ("text", "csv", "binary"):
            raise PgError(SqlState.INVALID_PARAMETER_VALUE, f'COPY format "{fmt}" not recognized')
        csv_mode = fmt == "csv"
        delimiter = str(options.get("delimiter", "," if csv_mode else "\t"))
        quote = str(options.get("quote", '"'))
        if len(delimiter) != 1 or len(quote) != 1:
            raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                          "COPY delimiter and quote must be a single one-byte character")
        header = options.get("header", False)
        return cls(
            format=fmt,
            delimiter=delimiter,
            null=str(options.get("null", "" if csv_mode else "\\N")),
            header=header not in (False, "false", "off", 0, "0"),
            quote=quote,
            escape=str(options.get("escape", quote)),
        )

    @property
    def binary(self) -> bool:
        return self.format == "binary"


# --- out ---------------------------------------------------------------------------------------


def text_line(fields: Sequence[str | None], options: CopyOptions) -> bytes:
    if options.format == "csv":
        return csv_line(fields, options)
    out = [options.null if value is None else value.translate(_TEXT_ESCAPES) for value in fields]
    return (options.delimiter.join(out) + "\n").encode("utf-8")


def csv_line(fields: Sequence[str | None], options: CopyOptions) -> bytes:
    special = {options.delimiter, options.quote, "\n", "\r"}
    out = []
    for value in fields:
        if value is None:
            out.append(options.null)
        elif value == "" or value == options.null or any(ch in value for ch in special):
            doubled = value.replace(options.escape, options.escape * 2) if (
                options.escape == options.quote) else value.replace(
                options.quote, options.escape + options.quote)
            out.append(options.quote + doubled + options.quote)
        else:
            out.append(value)
    return (options.delimiter.join(out) + "\n").encode("utf-8")


def binary_header() -> bytes:
    return BINARY_SIGNATURE + struct.pack("!ii", 0, 0)


def binary_row(fields: Sequence[bytes | None]) -> bytes:
    parts = [struct.pack("!h", len(fields))]
    for value in fields:
        parts.append(struct.pack("!i", -1) if value is None
                     else struct.pack("!i", len(value)) + value)
    return b"".join(parts)


BINARY_TRAILER = struct.pack("!h", -1)


# --- in ----------------------------------------------------------------------------------------


def _bad_copy(message: str) -> PgError:
    return PgError(SqlState.BAD_COPY_FILE_FORMAT, message)


def _unescape(field: str) -> str:
    out, index = [], 0
    while index < len(field):
        ch = field[index]
        if ch != "\\" or index + 1 == len(field):
            out.append(ch)
            index += 1
            continue
        nxt = field[index + 1]
        if nxt in _UNESCAPES:
            out.append(_UNESCAPES[nxt])
            index += 2
        elif nxt == "x" and index + 2 < len(field):
            digits = field[index + 2 : index + 4]
            digits = digits if all(c in "0123456789abcdefABCDEF" for c in digits) else digits[:1]
            out.append(chr(int(digits, 16)))
            index += 2 + len(digits)
        elif nxt in "01234567":
            end = index + 1
            while end < len(field) and end < index + 4 and field[end] in "01234567":
                end += 1
            out.append(chr(int(field[index + 1 : end], 8)))
            index = end
        else:
            out.append(nxt)
            index += 2
    return "".join(out)


def parse_text(data: str, options: CopyOptions, width: int) -> Iterator[list[str | None]]:
    """Rows of a complete text-format COPY stream (`\\.` ends it early, as in PostgreSQL)."""
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last row
    for number, line in enumerate(lines, start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if line == "\\.":
            return
        raw_fields = line.split(options.delimiter)
        if len(raw_fields) != width:
            raise _bad_copy(f"row {number} has {len(raw_fields)} columns, expected {width}")
        yield [None if raw == options.null else _unescape(raw) for raw in raw_fields]


def parse_csv(data: str, options: CopyOptions, width: int) -> Iterator[list[str | None]]:
    reader = csv.reader(io.StringIO(data), delimiter=options.delimiter, quotechar=options.quote,
                        escapechar=None if options.escape == options.quote else options.escape,
                        doublequote=options.escape == options.quote, strict=True)
    first = True
    for number, fields in enumerate(reader, start=1):
        if first and options.header:
            first = False
            continue
        first = False
        if fields == ["\\."]:
            return
        if len(fields) != width:
            raise _bad_copy(f"row {number} has {len(fields)} columns, expected {width}")
        # csv.reader cannot tell "" (quoted empty) from an empty field; PostgreSQL reads an
        # unquoted empty field as NULL with the default null string.
        yield [None if value == options.null else value for value in fields]


def parse_binary(
    data: bytes, width: int, decoders: Sequence[Callable[[bytes], object]]
) -> Iterator[list[object]]:
    if not data.startswith(BINARY_SIGNATURE):
        raise _bad_copy("COPY file signature not recognized")
    position = len(BINARY_SIGNATURE)
    (_flags, extension) = struct.unpack_from("!ii", data, position)
    position += 8 + extension
    while True:
        (count,) = struct.unpack_from("!h", data, position)
        position += 2
        if count == -1:
            return
        if count != width:
            raise _bad_copy(f"row field count is {count}, expected {width}")
        row: list[object] = []
        for decode in decoders:
            (length,) = struct.unpack_from("!i", data, position)
            position += 4
            if length == -1:
                row.append(None)
                continue
            row.append(decode(data[position : position + length]))
            position += length
        yield row
