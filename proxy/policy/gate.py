"""The decision core plugged into the session: every statement passes here before it runs.

Turns `decide`'s Allow/Reject into the session's routes and errors, answers the proxy's own
statements (SET purpose, SHOW), and writes one audit event per decision.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from proxy.audit import AuditLog, fingerprint
from proxy.catalog.derivation import to_document
from proxy.catalog.model import TableEntry
from proxy.context import SessionContext
from proxy.errors import PgError
from proxy.policy.decide import DecisionContext, decide
from proxy.policy.decision import Allow, Decision, RecordTable, Refusal, Report
from proxy.policy.model import Deployment
from proxy.policy.purpose import DeclaredPurpose, effective_purpose, require_granted
from proxy.policy.shapes import instantiate, shape_of
from proxy.routing import PROXY_COMMANDS, AppliedPurpose, Forward, ProxyCommand, Route
from proxy.session_settings import purpose_set_by
from proxy.sql.statements import Statement

DECISION_CACHE_SIZE = 2048


class BoundedMemo(OrderedDict[tuple[str, tuple[str, ...]], "tuple[int, ...] | None"]):
    """shape_of's memo, least recently added first out. Analysis threads share it: a lookup
    is one `get`, an insertion and its eviction happen under a lock."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._lock = threading.Lock()

    def __setitem__(self, key: tuple[str, tuple[str, ...]], value: tuple[int, ...] | None) -> None:
        with self._lock:
            super().__setitem__(key, value)
            if len(self) > self._size:
                self.popitem(last=False)


def _reads_protected(decision: Allow) -> bool:
    return any(column.action != "allow" for column in decision.report.columns)


class PolicyGate:
    """A Gate (see proxy.routing) that enforces the deployment's policies."""

    def __init__(
        self,
        deployment: Callable[[], Deployment],
        audit: AuditLog,
        record_table: Callable[[TableEntry], None],
        database: str = "acme",
    ) -> None:
        self._deployment = deployment  # the current configuration (reloads swap it)
        self._database = database  # the database clients see (catalog views answer for it)
        self._audit = audit
        self._record_table = record_table
        self._decisions: OrderedDict[tuple[object, ...], Decision] = OrderedDict()
        self._decided_under: Deployment | None = None
        self._shape_memo: BoundedMemo = BoundedMemo(DECISION_CACHE_SIZE)
        self._generation = 0
        self._lock = threading.Lock()

    def configuration(self) -> int:
        """A new number whenever the deployment changed (a reload or a recorded table)."""
        with self._lock:
            self._follow(self._deployment())
            return self._generation

    def _follow(self, deployment: Deployment) -> None:
        """Under the lock: a new configuration empties the cache and bumps the generation."""
        if deployment is not self._decided_under:
            self._decisions.clear()
            self._decided_under = deployment
            self._generation += 1

    def _applied(self, declared: DeclaredPurpose, report: Report) -> AppliedPurpose:
        return AppliedPurpose(declared, report.purpose, report.purpose_source or "none",
                              self.configuration())

    def completed(self, route: Forward) -> None:
        """A CREATE TABLE AS succeeded: the catalog now governs the new table by its labels."""
        if isinstance(route.effect, RecordTable):
            self._record_table(route.effect.table)
            table = route.effect.table
            self._audit.event(
                "catalog_recorded", table=table.qualified_name,
                columns={c.name: sorted(c.labels) for c in table.columns},
                row_policy=to_document(table.derivation) if table.derivation else None,
            )

    def _current(self, table: TableEntry) -> TableEntry | None:
        return self._deployment().catalog.table(table.schema, table.name)

    def check_connection(self, user: str, purpose: str | None) -> None:
        """A purpose declared at connect time must be granted (raised as FATAL by the server)."""
        if purpose:
            try:
                require_granted(self._deployment(), user, purpose)
            except Refusal as refusal:
                raise PgError(refusal.sqlstate, refusal.message, hint=refusal.hint,
                              severity="FATAL") from None

    def __call__(self, statement: Statement, context: SessionContext) -> Route:
        declared = context.declared_purpose
        if statement.kind == "DeclareCursorStmt":
            # The cursor's query is decided like any query; the proxy keeps the cursor.
            decision = self._decide(statement.nested(statement.node.query), context)
            return ProxyCommand(statement, decision.sql, _reads_protected(decision),
                                self._applied(declared, decision.report))
        if statement.kind in PROXY_COMMANDS:
            deployment = self._deployment()
            try:
                purpose = purpose_set_by(statement.node)
                if purpose:
                    require_granted(deployment, context.user, purpose)
                applied = AppliedPurpose(
                    declared, *effective_purpose(statement, declared, deployment, context.user),
                    self.configuration(),
                )
            except Refusal as refusal:
                self._record(statement, context, None, refusal.message)
                raise PgError(refusal.sqlstate, refusal.message, hint=refusal.hint) from None
            return ProxyCommand(statement, applied=applied)
        decision = self._decide(statement, context)
        if decision.records is not None and decision.records != self._current(decision.records):
            self._record_table(decision.records)
            self._audit.event(
                "catalog_row_policy", table=decision.records.qualified_name,
                row_policy=to_document(decision.records.derivation)
                if decision.records.derivation else None,
            )
        return Forward(statement, decision.sql, decision.effect, _reads_protected(decision),
                       self._applied(declared, decision.report))

    def _decide(self, statement: Statement, context: SessionContext) -> Allow:
        decision_context = DecisionContext(
            user=context.user,
            attributes=context.attributes,
            declared=context.declared_purpose,
            database=self._database,
        )
        # decide() is pure, so a decision can be reused for the same text and context under
        # the same configuration (BI tools repeat their statements). Sessions decide on
        # several analysis threads at once: the cache is touched only under the lock, and a
        # decision made under a configuration that has since changed is never kept.
        deployment = self._deployment()  # _cached follows a reload or a recorded table
        # The comments around a statement are inputs too: they may declare its purpose.
        inputs = (statement.comments, decision_context.user, decision_context.declared,
                  tuple(sorted(context.attributes.items())))
        decision = self._cached(deployment, (statement.text, *inputs))
        if decision is None:
            # Same statement with other constants: decide its shape once (proxy.policy.shapes).
            shape = shape_of(statement, self._shape_memo)
            template = (None if shape is None
                        else self._cached(deployment, (shape.text, *inputs)))
            if shape is not None and template is None:
                # The shape keeps the statement's comments: they may declare its purpose.
                shaped = replace(shape.statement(), comments=statement.comments)
                template = decide(shaped, decision_context, deployment)
                self._remember(deployment, (shape.text, *inputs), template)
            if shape is not None and isinstance(template, Allow):
                decision = instantiate(template, statement, shape)
            else:
                decision = decide(statement, decision_context, deployment)
            self._remember(deployment, (statement.text, *inputs), decision)
        self._record(statement, context, decision, None)
        if isinstance(decision, Allow):
            return decision
        raise decision.error()

    def _cached(self, deployment: Deployment, key: tuple[object, ...]) -> Decision | None:
        with self._lock:
            self._follow(deployment)  # a reload or a recorded table
            decision = self._decisions.get(key)
            if decision is not None:
                self._decisions.move_to_end(key)
            return decision

    def _remember(
        self, deployment: Deployment, key: tuple[object, ...], decision: Decision
    ) -> None:
        with self._lock:
            if deployment is not self._decided_under:
                return  # decided under a configuration that has changed since
            self._decisions[key] = decision
            if len(self._decisions) > DECISION_CACHE_SIZE:
                self._decisions.popitem(last=False)

    def _record(
        self,
        statement: Statement,
        context: SessionContext,
        decision: Decision | None,
        refusal: str | None,
    ) -> None:
        report: Report | None = decision.report if decision is not None else None
        rejected = not isinstance(decision, Allow)
        self._audit.event(
            "decision",
            level="warning" if rejected else "info",
            user=context.user,
            session=context.process_id,
            client=context.client_address,
            purpose=report.purpose if report else None,
            purpose_source=report.purpose_source if report else None,
            statement_fingerprint=fingerprint(statement.text),
            statement=statement.text,
            decision="reject" if rejected else "allow",
            rewritten=(decision.sql
                       if isinstance(decision, Allow) and decision.rewritten else None),
            reason=refusal or (None if isinstance(decision, Allow) or decision is None
                               else decision.message),
            tables=list(report.tables) if report else [],
            columns=[
                {"column": c.column, "labels": list(c.labels), "action": c.action,
                 "shadow_action": c.shadow_action, "uses": list(c.uses)}
                for c in (report.columns if report else ())
            ],
            labels=list(report.labels()) if report else [],
            shadow=[
                {"rule": f.rule, "label": f.label, "column": f.column, "action": f.action,
                 "purpose": f.purpose, "detail": f.detail}
                for f in (report.shadow if report else ())
            ],
            rewrites=list(report.rewrites) if report else [],
        )
