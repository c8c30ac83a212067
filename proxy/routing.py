"""Where a statement goes: answered by the proxy itself, or forwarded to the warehouse.

`Gate` is the seam the decision core plugs into: a pure function from a statement and the
session's context to a route, raising PgError to reject. The session calls it for every
statement of a query string before any of them runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from proxy.context import SessionContext
from proxy.errors import PgError
from proxy.policy.decision import Effect
from proxy.policy.purpose import DeclaredPurpose
from proxy.sql.statements import Statement

# Statements whose effect lives in the proxy's own session state, never in the warehouse.
PROXY_COMMANDS = frozenset({
    "VariableSetStmt", "VariableShowStmt", "DeallocateStmt", "DeclareCursorStmt", "FetchStmt",
    "ClosePortalStmt",
})


@dataclass(frozen=True, slots=True)
class AppliedPurpose:
    """The purpose a route was decided under, and the declarations it was resolved from.

    A route is valid only while the session's declarations are still `declared` and the
    configuration is the one it was decided under: a SET purpose or RESET purpose in between,
    or a reload that changed grants or policies, makes the session decide the statement again.
    """

    declared: DeclaredPurpose = DeclaredPurpose()
    purpose: str | None = None  # None: nothing declared (or none needed, e.g. metadata)
    source: str = "none"  # statement | session | connection | default | none
    configuration: int = 0  # Gate.configuration() when decided


@dataclass(frozen=True, slots=True)
class ProxyCommand:
    statement: Statement
    sql: str | None = None  # DECLARE CURSOR: the decided query the cursor runs
    withhold_error_text: bool = False  # as Forward's, for the cursor's query
    applied: AppliedPurpose = AppliedPurpose()


@dataclass(frozen=True, slots=True)
class Forward:
    statement: Statement
    sql: str  # what the warehouse runs (the statement itself, or its policy rewrite)
    effect: Effect | None = None  # COPY in/out, or a table to record once it exists
    # The statement reads masked, predicate-only or aggregate-only columns: warehouse error
    # texts may quote their raw values ("invalid input syntax ... '1980-04-21'").
    withhold_error_text: bool = False
    applied: AppliedPurpose = AppliedPurpose()


Route = ProxyCommand | Forward


class Gate(Protocol):
    """Decides every statement (and the purpose a connection declares) before anything runs."""

    def __call__(self, statement: Statement, context: SessionContext) -> Route: ...

    def check_connection(self, user: str, purpose: str | None) -> None: ...

    def configuration(self) -> int:
        """Changes whenever the configuration decisions depend on changes (reload, new table)."""
        ...

    def completed(self, route: Forward) -> None:
        """The statement of `route` succeeded (records tables it created)."""
        ...


# Error classes whose texts never carry data values: cancel, transaction state, connection.
KEPT_ERROR_CLASSES = ("57", "25", "08", "34", "40", "53")


def withhold_text(error: PgError, what: str = "statement") -> None:
    """Replace a warehouse error's text, which could quote a protected value (`what` read
    protected columns: the statement, or the cursor whose FETCH failed)."""
    if error.sqlstate.startswith(KEPT_ERROR_CLASSES):
        return
    error.message = (
        f"the warehouse reported an error (SQLSTATE {error.sqlstate}); its text is "
        f"withheld because the {what} reads protected columns"
    )
    error.detail = None
    error.hint = "Check the statement's casts and functions on masked or restricted columns."


def withhold_error_text(route: Route, error: PgError) -> None:
    """Replace a warehouse error's text when the route reads protected columns."""
    if isinstance(route, Forward) and route.withhold_error_text:
        withhold_text(error)
