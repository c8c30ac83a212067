"""The annotated catalog as the decision core sees it: tables, columns in order, labels.

Names are stored as PostgreSQL stores them (`pg_attribute.attname`): an identifier written
unquoted is folded to lower case, a quoted one keeps its case. Lookups are exact; folding the
identifiers of a statement is the analyzer's job, so `column("EMAIL")` does not find `email`,
just as `"EMAIL"` does not name it in PostgreSQL.

The catalog is immutable: recording a table created at run time (a sandbox CREATE TABLE AS)
gives a new catalog (`with_table`), so a decision never sees a half-updated one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from proxy.catalog.derivation import Derivation

#: The proxy's own schema in the warehouse (the hash mask's key and function): never part of
#: the catalog, so no statement can name what it holds.
PROXY_SCHEMA = "_purpose_proxy"


@dataclass(frozen=True, slots=True)
class ColumnEntry:
    """One annotated column. Empty `labels` means annotated as not sensitive, which is not the
    same as absent from the catalog (unannotated, and unreadable by every purpose)."""

    name: str
    type: str | None
    labels: frozenset[str] = frozenset()
    description: str | None = None
    primary_key: bool = False


@dataclass(frozen=True)
class TableEntry:
    """One annotated table; `columns` keeps the declared order, which `*` expands to."""

    schema: str
    name: str
    columns: tuple[ColumnEntry, ...]
    description: str | None = None
    source: Path | None = None  # the catalog file it came from; None when recorded at run time
    # Tables created through the proxy: how their rows and values were made (row policy).
    derivation: Derivation | None = None
    _by_name: Mapping[str, ColumnEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_by_name", MappingProxyType({column.name: column for column in self.columns})
        )

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> ColumnEntry | None:
        return self._by_name.get(name)


@dataclass(frozen=True)
class Catalog:
    """All annotated tables of a deployment, by (schema, table).

    `schemas` also holds schemas declared with no tables yet (e.g. `sandbox`), so that policies
    may name them as write targets.
    """

    tables: Mapping[tuple[str, str], TableEntry]
    schemas: frozenset[str]
    declared_labels: frozenset[str] = field(repr=False)

    @classmethod
    def build(
        cls,
        tables: Iterable[TableEntry],
        declared_labels: Iterable[str],
        schemas: Iterable[str] = (),
    ) -> Catalog:
        by_key = {(table.schema, table.name): table for table in tables}
        all_schemas = frozenset(schemas) | {schema for schema, _ in by_key}
        return cls(MappingProxyType(by_key), all_schemas, frozenset(declared_labels))

    def table(self, schema: str, name: str) -> TableEntry | None:
        return self.tables.get((schema, name))

    def __iter__(self) -> Iterator[TableEntry]:
        return iter(self.tables.values())

    def unannotated(self, schema: str, table: str, warehouse_columns: Iterable[str]) -> list[str]:
        """The warehouse's columns that the catalog does not list, in the warehouse's order.

        Every column of a table the catalog does not know is unannotated. The analyzer treats
        them as unreadable: a column added to the warehouse stays dark until someone labels it.
        """
        entry = self.table(schema, table)
        return [
            name for name in warehouse_columns if entry is None or entry.column(name) is None
        ]

    def with_table(
        self,
        schema: str,
        name: str,
        columns: Iterable[ColumnEntry],
        description: str | None = None,
        derivation: Derivation | None = None,
    ) -> Catalog:
        """A new catalog that also holds (or now holds a new version of) `schema.name`.

        For tables created at run time: their columns carry the labels of the data that flowed
        into them. A label outside the taxonomy is refused, as it would be in a catalog file.
        """
        if schema == PROXY_SCHEMA:
            raise ValueError(f"{schema}.{name}: schema {PROXY_SCHEMA} is the proxy's own")
        columns = tuple(columns)
        undeclared = sorted(
            {label for column in columns for label in column.labels} - self.declared_labels
        )
        if undeclared:
            raise ValueError(f"{schema}.{name}: labels not declared: {', '.join(undeclared)}")
        names = [column.name for column in columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{schema}.{name}: duplicate column names in {names}")
        entry = TableEntry(schema, name, columns, description, derivation=derivation)
        tables = {**self.tables, (schema, name): entry}
        return Catalog(MappingProxyType(tables), self.schemas | {schema}, self.declared_labels)
