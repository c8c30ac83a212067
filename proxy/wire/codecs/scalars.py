"""Codecs for bool, bytea, uuid, "char" and name.

Their text input follows PostgreSQL's own input functions (boolin, byteain, uuid_in,
namein), so a bad parameter fails as it would on a real server.
"""

from __future__ import annotations

import re
from uuid import UUID

from proxy.errors import PgError, SqlState
from proxy.wire.codecs.primitives import WHITESPACE, invalid_binary, invalid_text

_BOOL_WORDS = (("true", True), ("false", False), ("yes", True), ("no", False))


def parse_bool(text: str) -> bool:
    """boolin: any prefix of true/false/yes/no, on/off (two letters at least), 1/0."""
    s = text.strip(WHITESPACE).lower()
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


def bool_text(value: object) -> bytes:
    return b"t" if value else b"f"


def bool_binary(value: object) -> bytes:
    return b"\x01" if value else b"\x00"


def bool_from_binary(data: bytes) -> bool:
    if len(data) != 1:
        raise invalid_binary("boolean", f"expected 1 byte, got {len(data)}")
    return data[0] != 0


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


def bytea_binary(value: object) -> bytes:
    if type(value) is bytes:
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


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


def uuid_from_binary(data: bytes) -> UUID:
    if len(data) != 16:
        raise invalid_binary("uuid", f"expected 16 bytes, got {len(data)}")
    return UUID(bytes=bytes(data))


def char_text(value: object) -> bytes:
    if isinstance(value, int):
        return bytes((value & 0xFF,))
    return str(value).encode()[:1]


def char_from_binary(data: bytes) -> str:
    if len(data) != 1:
        raise invalid_binary('"char"', f"expected 1 byte, got {len(data)}")
    return chr(data[0])


def parse_name(text: str) -> str:
    """namein truncates to 63 bytes on a character boundary."""
    if len(text) > 15:
        raw = text.encode()
        if len(raw) > 63:
            return raw[:63].decode("utf-8", "ignore")
    return text
