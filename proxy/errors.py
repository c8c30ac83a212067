"""Errors that travel to the client as a PostgreSQL ErrorResponse.

Every layer (wire, sql, policy, backends) raises `PgError` with a real SQLSTATE, so the session
state machine has exactly one way to turn a failure into protocol bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SqlState:
    """The SQLSTATE codes the proxy emits (PostgreSQL Appendix A)."""

    SUCCESSFUL_COMPLETION = "00000"
    CONNECTION_EXCEPTION = "08000"
    CONNECTION_FAILURE = "08006"
    PROTOCOL_VIOLATION = "08P01"
    FEATURE_NOT_SUPPORTED = "0A000"
    INVALID_PARAMETER_VALUE = "22023"
    CHARACTER_NOT_IN_REPERTOIRE = "22021"
    INVALID_TEXT_REPRESENTATION = "22P02"
    INVALID_BINARY_REPRESENTATION = "22P03"
    BAD_COPY_FILE_FORMAT = "22P04"
    DIVISION_BY_ZERO = "22012"
    DATA_EXCEPTION = "22000"
    INVALID_TRANSACTION_STATE = "25000"
    IN_FAILED_SQL_TRANSACTION = "25P02"
    NO_ACTIVE_SQL_TRANSACTION = "25P01"
    INVALID_AUTHORIZATION = "28000"
    INVALID_PASSWORD = "28P01"
    INVALID_CATALOG_NAME = "3D000"
    INVALID_SQL_STATEMENT_NAME = "26000"
    INVALID_CURSOR_NAME = "34000"
    SYNTAX_ERROR = "42601"
    INSUFFICIENT_PRIVILEGE = "42501"
    UNDEFINED_COLUMN = "42703"
    UNDEFINED_FUNCTION = "42883"
    UNDEFINED_TABLE = "42P01"
    UNDEFINED_OBJECT = "42704"
    DUPLICATE_PREPARED_STATEMENT = "42P05"
    DUPLICATE_CURSOR = "42P03"
    QUERY_CANCELED = "57014"
    DUPLICATE_TABLE = "42P07"
    ADMIN_SHUTDOWN = "57P01"
    CANNOT_CONNECT_NOW = "57P03"
    TOO_MANY_CONNECTIONS = "53300"
    PROGRAM_LIMIT_EXCEEDED = "54000"
    STATEMENT_TOO_COMPLEX = "54001"
    INTERNAL_ERROR = "XX000"


@dataclass
class PgError(Exception):
    """A failure the client sees as an ErrorResponse (or NoticeResponse when severity is lower)."""

    sqlstate: str
    message: str
    detail: str | None = None
    hint: str | None = None
    severity: str = "ERROR"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def is_fatal(self) -> bool:
        return self.severity in ("FATAL", "PANIC")


def protocol_violation(message: str) -> PgError:
    """Errors in the byte stream itself: the session ends after reporting them."""
    return PgError(SqlState.PROTOCOL_VIOLATION, message, severity="FATAL")
