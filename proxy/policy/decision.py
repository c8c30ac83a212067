"""What the decision core returns: a small closed type, and the evidence the audit keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from proxy.catalog.model import TableEntry
from proxy.errors import PgError, SqlState


@dataclass(frozen=True, slots=True)
class ColumnVerdict:
    """What happens to one catalog column the statement reads."""

    column: str  # schema.table.column
    labels: tuple[str, ...]
    action: str  # the enforced action: allow, mask:hash, deny, predicate_only, aggregate_only(k)
    label: str | None  # the label that decided it
    shadow_action: str | None = None  # what a shadow-mode rule would do instead
    uses: tuple[str, ...] = ()  # clauses it was read in


@dataclass(frozen=True, slots=True)
class ShadowFinding:
    """What enforcing one shadow-mode rule would have done: the audit's structured record."""

    column: str  # schema.table.column
    label: str | None  # the label whose rule it is
    rule: str  # the shadow rule: deny, mask:hash, aggregate_only(k=10), ...
    action: Literal["reject", "mask"]  # what enforcing it would do to the statement
    purpose: str
    detail: str | None = None  # where the column was read, for a would-be rejection

    def __str__(self) -> str:
        if self.action == "mask":
            return f"would mask {self.column}: {self.rule}"
        return (f"would reject: {self.column} ({self.label} is {self.rule} for purpose "
                f'"{self.purpose}"; {self.detail})')


@dataclass(frozen=True)
class Report:
    """Evidence for the audit log and the `check` command."""

    purpose: str | None
    purpose_source: str | None  # statement, session, connection, default
    statement_kind: str
    tables: tuple[str, ...] = ()
    columns: tuple[ColumnVerdict, ...] = ()
    lineage: tuple[tuple[str, tuple[str, ...]], ...] = ()  # output -> "source (flow)"
    shadow: tuple[ShadowFinding, ...] = ()  # what enforcing the shadow rules would have done
    rewrites: tuple[str, ...] = ()  # masks, row filters, k guards applied

    def labels(self) -> tuple[str, ...]:
        return tuple(sorted({label for column in self.columns for label in column.labels}))


@dataclass(frozen=True)
class RecordTable:
    """After the statement succeeds, the catalog records this table and its labels."""

    table: TableEntry


@dataclass(frozen=True)
class CopyOut:
    """COPY ... TO STDOUT: run `Allow.sql` (a query) and send its rows in COPY format."""

    options: Mapping[str, object]


@dataclass(frozen=True)
class CopyIn:
    """COPY ... FROM STDIN: receive rows from the client and insert them into the table."""

    schema: str
    table: str
    columns: tuple[str, ...]
    options: Mapping[str, object]


Effect = RecordTable | CopyOut | CopyIn


@dataclass(frozen=True)
class Allow:
    """Run `sql` (the statement itself when `rewritten` is False)."""

    sql: str
    rewritten: bool
    report: Report
    effect: Effect | None = None
    # A table created through the proxy whose recorded row policy this write makes stricter:
    # recorded before the statement runs, so no reader ever sees the new rows under the old one.
    records: TableEntry | None = None


@dataclass(frozen=True)
class Reject:
    sqlstate: str
    message: str
    report: Report
    detail: str | None = None
    hint: str | None = None

    def error(self) -> PgError:
        return PgError(self.sqlstate, self.message, detail=self.detail, hint=self.hint)


Decision = Allow | Reject


@dataclass
class Refusal(Exception):
    """Raised inside the decision core; `decide` turns it into a Reject with the report so far."""

    message: str
    detail: str | None = None
    hint: str | None = None
    sqlstate: str = SqlState.INSUFFICIENT_PRIVILEGE
    report: Report | None = None  # the evidence gathered before the refusal

    def __post_init__(self) -> None:
        super().__init__(self.message)
