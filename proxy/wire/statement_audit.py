"""The audit event of each statement's execution (its decision has an event of its own)."""

from __future__ import annotations

import time
from typing import Literal

from proxy.audit import AuditLog, fingerprint
from proxy.context import SessionContext
from proxy.errors import PgError
from proxy.routing import Route


class StatementAudit:
    def __init__(self, audit: AuditLog, context: SessionContext) -> None:
        self._audit = audit
        self._context = context

    def _event(self, text: str, *, level: Literal["info", "warning"] = "info",
               **fields: object) -> None:
        context = self._context
        self._audit.event(
            "statement",
            level=level,
            user=context.user,
            database=context.database,
            application_name=context.application_name,
            session=context.process_id,
            client=context.client_address,
            statement=text,
            statement_fingerprint=fingerprint(text),
            **fields,
        )

    def executed(self, route: Route, started: float, rows: int, error: PgError | None) -> None:
        # The SQL actually forwarded is in the decision event, with the mask key withheld.
        self._event(
            route.statement.text,
            purpose=route.applied.purpose,  # the purpose applied when it ran
            purpose_source=route.applied.source,
            duration_ms=round((time.monotonic() - started) * 1000, 3),
            rows=rows,
            outcome="error" if error else "ok",
            sqlstate=error.sqlstate if error else "00000",
            error=error.message if error else None,
        )

    def rejected(self, sql: str, error: PgError) -> None:
        self._event(sql, level="warning", duration_ms=0.0, rows=0, outcome="rejected",
                    sqlstate=error.sqlstate, error=error.message)
