"""What a table created through the proxy remembers about how its rows and values were made.

Labels say what a column holds; they do not say which rows a purpose may see. A derived table
(CREATE TABLE AS, SELECT INTO, and every later INSERT, UPDATE or COPY into it) therefore also
records, per base table its rows came from:

- `keys`: which of its columns still hold that source's key faithfully (the plain value of the
  source row's key, never recomputed), so a purpose that filters the source can filter the
  derived rows by key (`col IN (SELECT key FROM source WHERE <filter>)`);
- `satisfied`: the row filters every row already passed on the way in (the writer's own);
- `aggregate_k`: every row is an aggregate over at least k distinct subjects of the source;

and per column how the writer's purpose saw each label (`written_as`: raw, or masked by a
method: the values are stored masked, so a reader with the same mask reads them as stored and
never hashes a value someone chose) and whether a value a user chose may be in it (`chosen`).

Merging a new write keeps the stricter of both (see `merge`): a guarantee holds for the table
only if it holds for every write. Plain data, (de)serialised with `to_document` and
`from_document`, so it can be kept wherever the table's labels are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

RAW = "raw"
#: The source of a table recorded before row policies were kept: unknown, so every purpose
#: that filters any rows must assume it filters these (see proxy/policy/rows.py).
UNKNOWN_SOURCES = "*"


def masked_view(method: str) -> str:
    return f"mask:{method}"


@dataclass(frozen=True)
class SourceRows:
    """How the rows of one base table reached a derived table."""

    table: str  # schema.table of the base (catalog) table
    keys: Mapping[str, frozenset[str]] = field(default_factory=dict)  # source col -> derived cols
    satisfied: frozenset[str] = frozenset()  # identities of row filters every row passed
    aggregate_k: int | None = None  # every row aggregates at least this many subjects

    def keyed_by(self, source_column: str) -> frozenset[str]:
        return self.keys.get(source_column, frozenset())


@dataclass(frozen=True)
class DerivedColumn:
    """How one column's values were written."""

    written_as: Mapping[str, str] = field(default_factory=dict)  # label -> raw | mask:<method>
    chosen: bool = False  # a literal, parameter, COPY row or expression may have been written


@dataclass(frozen=True)
class Derivation:
    """The row policy and the value provenance of a derived table."""

    sources: Mapping[str, SourceRows] = field(default_factory=dict)
    columns: Mapping[str, DerivedColumn] = field(default_factory=dict)

    def column(self, name: str) -> DerivedColumn | None:
        return self.columns.get(name)


def merge_sources(first: SourceRows, second: SourceRows) -> SourceRows:
    """Two sets of rows from the same source in one table: what holds for both."""
    keys = {
        column: first.keys[column] | second.keys[column]
        for column in first.keys.keys() & second.keys.keys()
        if first.keys[column] and second.keys[column]
    }
    aggregate_k = (
        min(first.aggregate_k, second.aggregate_k)
        if first.aggregate_k is not None and second.aggregate_k is not None else None
    )
    return SourceRows(first.table, MappingProxyType(keys), first.satisfied & second.satisfied,
                      aggregate_k)


def merge(existing: Derivation, write: Derivation) -> Derivation:
    """The table after another write: each guarantee only where both hold.

    A source only one side read is taken from that side (the other side's rows hold nothing of
    it). Key columns the write overwrote with something else are in neither side's keys, so
    they drop out; a column's `written_as` must agree (writes check it before they run).
    """
    sources = dict(existing.sources)
    for name, rows in write.sources.items():
        sources[name] = merge_sources(sources[name], rows) if name in sources else rows
    columns = dict(existing.columns)
    for name, column in write.columns.items():
        before = columns.get(name)
        columns[name] = column if before is None else DerivedColumn(
            before.written_as or column.written_as, before.chosen or column.chosen)
    return Derivation(MappingProxyType(sources), MappingProxyType(columns))


def forget_keys(derivation: Derivation, overwritten: frozenset[str]) -> Derivation:
    """Columns an UPDATE set are no longer faithful keys of any source."""
    sources = {
        name: SourceRows(rows.table, MappingProxyType({
            column: kept for column, targets in rows.keys.items()
            if (kept := targets - overwritten)
        }), rows.satisfied, rows.aggregate_k)
        for name, rows in derivation.sources.items()
    }
    return Derivation(MappingProxyType(sources), derivation.columns)


def unknown_origin() -> Derivation:
    """A recorded table whose row policy was not recorded (written by an older version)."""
    return Derivation(MappingProxyType({UNKNOWN_SOURCES: SourceRows(UNKNOWN_SOURCES)}))


# --- documents (YAML / JSON) -------------------------------------------------------------------


def to_document(derivation: Derivation) -> dict[str, Any]:
    return {
        "sources": {
            name: {
                "keys": {column: sorted(targets) for column, targets in sorted(rows.keys.items())},
                "satisfied": sorted(rows.satisfied),
                "aggregate_k": rows.aggregate_k,
            }
            for name, rows in sorted(derivation.sources.items())
        },
        "columns": {
            name: {"written_as": dict(sorted(column.written_as.items())), "chosen": column.chosen}
            for name, column in derivation.columns.items()
        },
    }


def from_document(document: Mapping[str, Any]) -> Derivation:
    """The inverse of `to_document`; anything malformed raises ValueError (fail closed)."""
    try:
        sources = {
            str(name): SourceRows(
                str(name),
                MappingProxyType({str(column): frozenset(str(t) for t in targets)
                                  for column, targets in (spec.get("keys") or {}).items()}),
                frozenset(str(s) for s in spec.get("satisfied") or ()),
                _optional_k(spec.get("aggregate_k")),
            )
            for name, spec in (document.get("sources") or {}).items()
        }
        columns = {
            str(name): DerivedColumn(
                MappingProxyType({str(k): str(v)
                                  for k, v in (spec.get("written_as") or {}).items()}),
                bool(spec.get("chosen", True)),
            )
            for name, spec in (document.get("columns") or {}).items()
        }
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"malformed derivation: {exc}") from None
    return Derivation(MappingProxyType(sources), MappingProxyType(columns))


def _optional_k(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"aggregate_k must be a positive integer, not {value!r}")
    return value
