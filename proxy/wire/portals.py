"""Prepared statements and portals of the extended query protocol, as the session keeps them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from proxy.backends.base import (
    Column,
    ResultCursor,
    StatementDescription,
    WireArguments,
)
from proxy.errors import PgError, SqlState
from proxy.routing import Route


@dataclass
class PreparedStatement:
    name: str
    route: Route | None  # None: the empty query
    parameter_oids: tuple[int, ...]
    description: StatementDescription | None = None


@dataclass
class Portal:
    name: str
    statement: PreparedStatement
    parameters: tuple[object, ...]
    formats: tuple[int, ...]
    columns: tuple[Column, ...] | None
    wire: WireArguments | None = None  # the client's raw values, for relaying warehouses
    cursor: ResultCursor | None = None
    # The statement's route as bound: decided under the purpose in force at Bind (or Execute).
    route: Route | None = None
    completed_tag: str | None = None
    rows_sent: int = 0
    started: float = field(default_factory=time.monotonic)


def missing(kind: str, name: str) -> PgError:
    """26000 for a statement, 34000 for a portal, worded as PostgreSQL words them."""
    if kind == "S":
        return PgError(
            SqlState.INVALID_SQL_STATEMENT_NAME, f'prepared statement "{name}" does not exist'
        )
    return PgError(SqlState.INVALID_CURSOR_NAME, f'portal "{name}" does not exist')
