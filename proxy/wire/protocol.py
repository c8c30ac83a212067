"""Protocol constants: request codes, message type bytes, limits (PostgreSQL protocol chapter)."""

from __future__ import annotations

from enum import IntEnum


def version_code(major: int, minor: int) -> int:
    return (major << 16) | minor


PROTOCOL_3_0 = version_code(3, 0)
PROTOCOL_3_2 = version_code(3, 2)
NEWEST_MINOR = 2

SSL_REQUEST_CODE = version_code(1234, 5679)
GSSENC_REQUEST_CODE = version_code(1234, 5680)
CANCEL_REQUEST_CODE = version_code(1234, 5678)

# PostgreSQL's MAX_STARTUP_PACKET_LENGTH: longer startup packets are rejected before allocation.
MAX_STARTUP_PACKET_LENGTH = 10_000
# Cancel keys: 4 bytes for protocol 3.0 clients, longer (at most 256) for 3.2 clients.
LEGACY_CANCEL_KEY_LENGTH = 4
CANCEL_KEY_LENGTH_3_2 = 32
MAX_CANCEL_KEY_LENGTH = 256


class Frontend(IntEnum):
    """Type bytes of messages a client sends after startup."""

    BIND = ord("B")
    CLOSE = ord("C")
    COPY_DATA = ord("d")
    COPY_DONE = ord("c")
    COPY_FAIL = ord("f")
    DESCRIBE = ord("D")
    EXECUTE = ord("E")
    FLUSH = ord("H")
    FUNCTION_CALL = ord("F")
    PARSE = ord("P")
    PASSWORD = ord("p")  # also SASLInitialResponse, SASLResponse, GSSResponse
    QUERY = ord("Q")
    SYNC = ord("S")
    TERMINATE = ord("X")


class Backend(IntEnum):
    """Type bytes of messages the server sends."""

    AUTHENTICATION = ord("R")
    BACKEND_KEY_DATA = ord("K")
    BIND_COMPLETE = ord("2")
    CLOSE_COMPLETE = ord("3")
    COMMAND_COMPLETE = ord("C")
    COPY_DATA = ord("d")
    COPY_DONE = ord("c")
    COPY_IN_RESPONSE = ord("G")
    COPY_OUT_RESPONSE = ord("H")
    DATA_ROW = ord("D")
    EMPTY_QUERY_RESPONSE = ord("I")
    ERROR_RESPONSE = ord("E")
    NEGOTIATE_PROTOCOL_VERSION = ord("v")
    NO_DATA = ord("n")
    NOTICE_RESPONSE = ord("N")
    PARAMETER_DESCRIPTION = ord("t")
    PARAMETER_STATUS = ord("S")
    PARSE_COMPLETE = ord("1")
    PORTAL_SUSPENDED = ord("s")
    READY_FOR_QUERY = ord("Z")
    ROW_DESCRIPTION = ord("T")


class AuthRequest(IntEnum):
    OK = 0
    CLEARTEXT_PASSWORD = 3
    SASL = 10
    SASL_CONTINUE = 11
    SASL_FINAL = 12


class FormatCode(IntEnum):
    TEXT = 0
    BINARY = 1
