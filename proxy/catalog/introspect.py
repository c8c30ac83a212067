"""The catalog checked against a live PostgreSQL warehouse, and labels read from its comments.

The catalog is a claim about the warehouse: these tables, these columns, these types. Tables
change under it (a column added by a migration, one dropped, a type widened), and every such
drift matters to purpose limitation:

- a column that exists but is unannotated is unreadable through the proxy: someone should
  label it, or it stays dark (fail closed);
- an annotated column that no longer exists makes statements naming it fail in the warehouse,
  and usually means the catalog describes a table that has changed;
- a type mismatch means masks and placeholders are typed by the catalog's belief, not the data;
- a column order that differs from the warehouse's (or an unannotated column between annotated
  ones) misleads alias column lists, `FROM t AS x(a, b)`, which name columns by position.

`introspect` reads the schemas the catalog knows (and the schemas holding labelled column
comments, see `proxy.catalog.comments`) from pg_catalog and reports all of that.
`merge_comment_annotations` then makes the columns labelled only by a COMMENT part of the
catalog. The YAML files stay the source of truth where both speak: a COMMENT that disagrees with
`catalog/*.yaml` is reported and ignored; a COMMENT naming a label outside the taxonomy is
reported and ignored too, so the column stays unannotated.

pg_catalog rather than information_schema: information_schema shows only what the connected
role may use, and the point is to see everything that exists. Partitions are left out (they are
read through their parent; reading one directly is an unknown relation, hence refused).
"""

from __future__ import annotations

import ssl
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import structlog
from sqlglot import exp
from sqlglot.errors import ParseError

from proxy.catalog.comments import CommentSyntaxError, parse_comment
from proxy.catalog.model import PROXY_SCHEMA, Catalog, ColumnEntry, TableEntry
from proxy.settings import PostgresSettings, Settings

log = structlog.get_logger(__name__)

#: `TableEntry.source` of a table known only from warehouse comments. Not None: None marks a
#: table recorded at run time, which the proxy persists itself; this one lives in the warehouse.
COMMENT_SOURCE = Path("<warehouse column comments>")

_RELATION_KINDS = {"r": "table", "p": "table", "v": "view", "m": "materialized view", "f": "foreign table"}

_LABELLED_COMMENTS_SQL = r"""
SELECT n.nspname AS schema, d.description AS comment
FROM pg_catalog.pg_description AS d
JOIN pg_catalog.pg_class AS c
  ON d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objoid = c.oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE d.objsubid > 0
  AND d.description OPERATOR(pg_catalog.~*) 'labels[[:space:]]*:'
  AND n.nspname <> 'information_schema'
  AND n.nspname <> '""" + PROXY_SCHEMA + r"""'
  AND n.nspname OPERATOR(pg_catalog.!~) '^pg_'
"""

_COLUMNS_SQL = """
SELECT n.nspname AS schema,
       c.relname AS table,
       c.relkind::text AS kind,
       pg_catalog.obj_description(c.oid, 'pg_class') AS table_comment,
       a.attname AS column,
       a.attnum AS position,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       pg_catalog.col_description(c.oid, a.attnum) AS comment,
       EXISTS (
           SELECT 1 FROM pg_catalog.pg_index AS i
           WHERE i.indrelid = c.oid AND i.indisprimary
             AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey)
       ) AS primary_key
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid
WHERE n.nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY n.nspname, c.relname, a.attnum
"""


# --- what the warehouse holds ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarehouseColumn:
    name: str
    type: str  # pg_catalog.format_type: `timestamp without time zone`, `character varying(20)`
    position: int  # pg_attribute.attnum
    comment: str | None = None
    primary_key: bool = False


@dataclass(frozen=True, slots=True)
class WarehouseTable:
    schema: str
    name: str
    columns: tuple[WarehouseColumn, ...]
    kind: str = "table"
    comment: str | None = None

    def column(self, name: str) -> WarehouseColumn | None:
        return next((column for column in self.columns if column.name == name), None)


# --- findings ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnannotatedTable:
    """A warehouse table the catalog does not know and no column comment labels: unreadable."""

    schema: str
    table: str
    kind: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnannotatedColumn:
    """A column of an annotated table with no annotation: unreadable by every purpose."""

    schema: str
    table: str
    column: str
    type: str
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class MissingTable:
    """An annotated table (or, with `column`, an annotated column) the warehouse lacks."""

    schema: str
    table: str
    column: str | None = None


@dataclass(frozen=True, slots=True)
class TypeMismatch:
    schema: str
    table: str
    column: str
    catalog_type: str
    warehouse_type: str


@dataclass(frozen=True, slots=True)
class ColumnOrderProblem:
    """The catalog's column order is not the warehouse's, as alias column lists need it."""

    schema: str
    table: str
    catalog_order: tuple[str, ...]
    warehouse_order: tuple[str, ...]
    reason: str


CommentOutcome = Literal["merged", "agrees", "overridden", "refused"]


@dataclass(frozen=True, slots=True)
class CommentAnnotation:
    """A column labelled by its COMMENT, and what became of it.

    merged: the column is not in catalog/*.yaml; the comment annotates it.
    agrees: catalog/*.yaml says the same; nothing to do.
    overridden: catalog/*.yaml says otherwise and wins (also a `CommentProblem`).
    refused: a label is outside the taxonomy; the column stays unannotated (also a problem).
    """

    schema: str
    table: str
    column: str
    type: str
    labels: frozenset[str]
    description: str | None
    primary_key: bool
    position: int
    outcome: CommentOutcome


CommentProblemKind = Literal["syntax", "undeclared-label", "disagrees-with-catalog"]


@dataclass(frozen=True, slots=True)
class CommentProblem:
    schema: str
    table: str
    column: str
    kind: CommentProblemKind
    message: str


@dataclass(frozen=True)
class IntrospectionReport:
    """The catalog against the warehouse. `clean` when nothing needs a person's attention;
    annotations taken from comments are information, not findings (unless they conflict)."""

    schemas: tuple[str, ...]
    missing_schemas: tuple[str, ...] = ()
    unannotated_tables: tuple[UnannotatedTable, ...] = ()
    unannotated_columns: tuple[UnannotatedColumn, ...] = ()
    missing: tuple[MissingTable, ...] = ()
    type_mismatches: tuple[TypeMismatch, ...] = ()
    column_order: tuple[ColumnOrderProblem, ...] = ()
    comment_annotations: tuple[CommentAnnotation, ...] = ()
    comment_problems: tuple[CommentProblem, ...] = ()
    #: (schema, table) -> column -> pg_attribute.attnum, for placing merged columns.
    positions: Mapping[tuple[str, str], Mapping[str, int]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def finding_count(self) -> int:
        return (
            len(self.missing_schemas)
            + len(self.unannotated_tables)
            + len(self.unannotated_columns)
            + len(self.missing)
            + len(self.type_mismatches)
            + len(self.column_order)
            + len(self.comment_problems)
        )

    @property
    def clean(self) -> bool:
        return self.finding_count == 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: lists of plain objects, labels sorted."""
        return {
            "clean": self.clean,
            "findings": self.finding_count,
            "schemas": list(self.schemas),
            "missing_schemas": list(self.missing_schemas),
            "unannotated_tables": [
                {"schema": t.schema, "table": t.table, "kind": t.kind, "columns": list(t.columns)}
                for t in self.unannotated_tables
            ],
            "unannotated_columns": [
                {"schema": c.schema, "table": c.table, "column": c.column, "type": c.type,
                 "comment": c.comment}
                for c in self.unannotated_columns
            ],
            "missing_tables": [
                {"schema": m.schema, "table": m.table} for m in self.missing if m.column is None
            ],
            "missing_columns": [
                {"schema": m.schema, "table": m.table, "column": m.column}
                for m in self.missing
                if m.column is not None
            ],
            "type_mismatches": [
                {"schema": t.schema, "table": t.table, "column": t.column,
                 "catalog_type": t.catalog_type, "warehouse_type": t.warehouse_type}
                for t in self.type_mismatches
            ],
            "column_order": [
                {"schema": o.schema, "table": o.table, "catalog_order": list(o.catalog_order),
                 "warehouse_order": list(o.warehouse_order), "reason": o.reason}
                for o in self.column_order
            ],
            "comment_annotations": [
                {"schema": a.schema, "table": a.table, "column": a.column, "type": a.type,
                 "labels": sorted(a.labels), "description": a.description,
                 "outcome": a.outcome}
                for a in self.comment_annotations
            ],
            "comment_problems": [
                {"schema": p.schema, "table": p.table, "column": p.column, "kind": p.kind,
                 "message": p.message}
                for p in self.comment_problems
            ],
        }

    def events(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(level, event, fields) per finding and per comment annotation, then a summary:
        the report as log lines, for structlog or for a terminal."""
        out: list[tuple[str, str, dict[str, Any]]] = []
        for schema in self.missing_schemas:
            out.append(("warning", "catalog schema missing from the warehouse", {"schema": schema}))
        for t in self.unannotated_tables:
            out.append(("warning", "unannotated table: unreadable until labelled",
                        {"table": f"{t.schema}.{t.table}", "kind": t.kind,
                         "columns": list(t.columns)}))
        for c in self.unannotated_columns:
            out.append(("warning", "unannotated column: unreadable until labelled",
                        {"column": f"{c.schema}.{c.table}.{c.column}", "type": c.type}))
        for m in self.missing:
            if m.column is None:
                out.append(("warning", "annotated table missing from the warehouse",
                            {"table": f"{m.schema}.{m.table}"}))
            else:
                out.append(("warning", "annotated column missing from the warehouse",
                            {"column": f"{m.schema}.{m.table}.{m.column}"}))
        for t in self.type_mismatches:
            out.append(("warning", "type differs between catalog and warehouse",
                        {"column": f"{t.schema}.{t.table}.{t.column}",
                         "catalog_type": t.catalog_type, "warehouse_type": t.warehouse_type}))
        for o in self.column_order:
            out.append(("warning", "column order differs from the warehouse",
                        {"table": f"{o.schema}.{o.table}", "reason": o.reason,
                         "catalog_order": list(o.catalog_order),
                         "warehouse_order": list(o.warehouse_order)}))
        for p in self.comment_problems:
            out.append(("warning", f"column comment ignored ({p.kind})",
                        {"column": f"{p.schema}.{p.table}.{p.column}", "reason": p.message}))
        for a in self.comment_annotations:
            if a.outcome in ("overridden", "refused"):
                continue  # reported with the problems above
            out.append(("info", f"annotation from column comment: {a.outcome}",
                        {"column": f"{a.schema}.{a.table}.{a.column}",
                         "labels": sorted(a.labels) or ["none"]}))
        out.append(("warning" if self.finding_count else "info", "catalog introspection",
                    {"schemas": list(self.schemas), "findings": self.finding_count,
                     "comment_annotations": len(self.comment_annotations)}))
        return out

    def lines(self) -> list[str]:
        """The report for a terminal, one line per finding."""
        rendered = []
        for level, event, fields in self.events():
            details = " ".join(f"{key}={_plain(value)}" for key, value in fields.items())
            rendered.append(f"{level.upper():7} {event}: {details}")
        return rendered


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(item) for item in value) or "-"
    return str(value)


def log_report(report: IntrospectionReport, logger: Any = None) -> None:
    """Each finding as one structlog event (warning), annotations from comments as info."""
    logger = logger if logger is not None else log
    for level, event, fields in report.events():
        getattr(logger, level)(event, **fields)


# --- comparing ------------------------------------------------------------------------------


def _normalized_type(text: str) -> str:
    """A type as sqlglot writes it, so `timestamp` equals `timestamp without time zone` and
    `int4` equals `integer`; a type sqlglot cannot read is compared as written."""
    try:
        return exp.DataType.build(text, dialect="postgres").sql("postgres")
    except (ParseError, ValueError):
        return " ".join(text.lower().split())


def same_type(catalog_type: str, warehouse_type: str) -> bool:
    """True when the catalog's type is the warehouse's. A catalog type written without
    modifiers matches any (`numeric` matches `numeric(12,2)`, `varchar` `varchar(20)`)."""
    catalog, warehouse = _normalized_type(catalog_type), _normalized_type(warehouse_type)
    if catalog == warehouse:
        return True
    if "(" not in catalog:
        return _without_modifiers(warehouse) == catalog
    return False


def _without_modifiers(normalized: str) -> str:
    head, _, rest = normalized.partition("(")
    if not rest:
        return normalized
    _, _, tail = rest.partition(")")
    return (head + tail).strip()


def _catalog_type_for(warehouse_type: str) -> str | None:
    """The warehouse type, if the analyzer can read it (else None: typed as unknown)."""
    try:
        exp.DataType.build(warehouse_type, dialect="postgres")
    except (ParseError, ValueError):
        return None
    return warehouse_type


def _labelled_schemas(rows: Iterable[tuple[str, str]]) -> set[str]:
    schemas = set()
    for schema, comment in rows:
        try:
            if parse_comment(comment) is not None:
                schemas.add(schema)
        except CommentSyntaxError:
            schemas.add(schema)  # malformed, but meant as an annotation: report it
    return schemas


def build_report(
    catalog: Catalog,
    warehouse: Iterable[WarehouseTable],
    declared_labels: Collection[str] | None = None,
    schemas: Iterable[str] | None = None,
    existing_schemas: Collection[str] | None = None,
) -> IntrospectionReport:
    """Compare `catalog` with the tables read from the warehouse (pure; no I/O).

    `schemas` are the schemas that were read (default: those of `warehouse` and the catalog's):
    only their tables can be missing. `existing_schemas`, when given, are those of `schemas`
    that exist (an empty schema has no tables to tell); the others are reported missing.
    """
    declared = catalog.declared_labels if declared_labels is None else frozenset(declared_labels)
    tables = {(table.schema, table.name): table for table in warehouse}
    inspected = sorted(
        set(schemas) if schemas is not None else ({s for s, _ in tables} | set(catalog.schemas))
    )

    unannotated_tables: list[UnannotatedTable] = []
    unannotated_columns: list[UnannotatedColumn] = []
    missing: list[MissingTable] = []
    mismatches: list[TypeMismatch] = []
    order: list[ColumnOrderProblem] = []
    annotations: list[CommentAnnotation] = []
    problems: list[CommentProblem] = []

    for key in sorted(tables):
        table = tables[key]
        entry = catalog.table(*key)
        annotated: set[str] = set()  # after merging: catalog columns + merged comment columns
        for column in table.columns:
            known = entry.column(column.name) if entry is not None else None
            if known is not None:
                annotated.add(column.name)
                if known.type is not None and not same_type(known.type, column.type):
                    mismatches.append(
                        TypeMismatch(table.schema, table.name, column.name, known.type, column.type)
                    )
            try:
                parsed = parse_comment(column.comment)
            except CommentSyntaxError as exc:
                problems.append(
                    CommentProblem(table.schema, table.name, column.name, "syntax", str(exc))
                )
                continue
            if parsed is None:
                continue
            outcome: CommentOutcome
            undeclared = sorted(parsed.labels - declared)
            if known is not None:
                if known.labels == parsed.labels:
                    outcome = "agrees"
                else:
                    outcome = "overridden"
                    problems.append(CommentProblem(
                        table.schema, table.name, column.name, "disagrees-with-catalog",
                        f"comment says {_label_text(parsed.labels)}, the catalog file says "
                        f"{_label_text(known.labels)}; the catalog file wins",
                    ))
            elif undeclared:
                outcome = "refused"
                problems.append(CommentProblem(
                    table.schema, table.name, column.name, "undeclared-label",
                    f"label(s) not declared in labels.yaml: {', '.join(undeclared)}; "
                    "the column stays unannotated",
                ))
            else:
                outcome = "merged"
                annotated.add(column.name)
            annotations.append(CommentAnnotation(
                table.schema, table.name, column.name, column.type, parsed.labels,
                parsed.description, column.primary_key, column.position, outcome,
            ))

        if entry is None and not annotated:
            unannotated_tables.append(UnannotatedTable(
                table.schema, table.name, table.kind, tuple(c.name for c in table.columns)
            ))
            continue
        for column in table.columns:
            if column.name not in annotated:
                unannotated_columns.append(UnannotatedColumn(
                    table.schema, table.name, column.name, column.type, column.comment
                ))
        if entry is not None:
            for known in entry.columns:
                if table.column(known.name) is None:
                    missing.append(MissingTable(table.schema, table.name, known.name))
        problem = _order_problem(table, entry, annotated)
        if problem is not None:
            order.append(problem)

    for entry in catalog:
        if entry.schema in inspected and (entry.schema, entry.name) not in tables:
            missing.append(MissingTable(entry.schema, entry.name))

    return IntrospectionReport(
        schemas=tuple(inspected),
        missing_schemas=tuple(
            s for s in inspected if existing_schemas is not None and s not in existing_schemas
        ),
        unannotated_tables=tuple(unannotated_tables),
        unannotated_columns=tuple(unannotated_columns),
        missing=tuple(missing),
        type_mismatches=tuple(mismatches),
        column_order=tuple(order),
        comment_annotations=tuple(annotations),
        comment_problems=tuple(problems),
        positions={
            key: {column.name: column.position for column in table.columns}
            for key, table in tables.items()
        },
    )


def _label_text(labels: frozenset[str]) -> str:
    return ", ".join(sorted(labels)) if labels else "none (not sensitive)"


def _order_problem(
    table: WarehouseTable, entry: TableEntry | None, annotated: set[str]
) -> ColumnOrderProblem | None:
    """PostgreSQL renames `FROM t AS x(a, b)` by position over all of t's columns; the analyzer
    can only count annotated ones. Both agree when the annotated columns come first, in the
    catalog's order."""
    warehouse_order = tuple(column.name for column in table.columns)
    if entry is not None:
        listed = tuple(name for name in entry.column_names if table.column(name) is not None)
        relative = tuple(name for name in warehouse_order if name in set(entry.column_names))
        if listed != relative:
            return ColumnOrderProblem(
                table.schema, table.name, entry.column_names, warehouse_order,
                "the catalog lists the columns in another order than the warehouse",
            )
    last = max((c.position for c in table.columns if c.name in annotated), default=0)
    between = [c.name for c in table.columns if c.name not in annotated and c.position < last]
    if between:
        catalog_order = tuple(name for name in warehouse_order if name in annotated)
        return ColumnOrderProblem(
            table.schema, table.name, catalog_order, warehouse_order,
            f"unannotated column(s) {', '.join(between)} come before annotated ones; alias "
            "column lists (FROM t AS x(a, b)) name columns by position",
        )
    return None


def merge_comment_annotations(catalog: Catalog, report: IntrospectionReport) -> Catalog:
    """`catalog` plus the columns annotated only by a warehouse COMMENT (outcome `merged`).

    YAML wins where both speak; labels outside the taxonomy are never merged (re-checked here
    against `catalog.declared_labels`, whatever taxonomy the report was built with). A merged
    column takes its place by warehouse position among the catalog's columns, so that the
    catalog keeps the table's order, which `*` and alias column lists rely on.
    """
    by_table: dict[tuple[str, str], list[CommentAnnotation]] = {}
    for annotation in report.comment_annotations:
        if annotation.outcome != "merged" or not annotation.labels <= catalog.declared_labels:
            continue
        by_table.setdefault((annotation.schema, annotation.table), []).append(annotation)
    if not by_table:
        return catalog

    tables: dict[tuple[str, str], TableEntry] = dict(catalog.tables)
    for key, found in by_table.items():
        entry = tables.get(key)
        columns = list(entry.columns) if entry is not None else []
        existing = {column.name for column in columns}
        positions = _catalog_positions(report, key, columns)
        for annotation in sorted(found, key=lambda a: a.position):
            if annotation.column in existing:
                continue  # YAML wins
            new = ColumnEntry(
                annotation.column,
                _catalog_type_for(annotation.type),
                annotation.labels,
                annotation.description,
                annotation.primary_key,
            )
            index = 0
            for i, column in enumerate(columns):
                if positions.get(column.name, 0) < annotation.position:
                    index = i + 1
            columns.insert(index, new)
            positions[new.name] = annotation.position
            existing.add(new.name)
        if entry is not None:
            tables[key] = replace(entry, columns=tuple(columns))
        else:
            tables[key] = TableEntry(key[0], key[1], tuple(columns), None, COMMENT_SOURCE)
    return Catalog.build(tables.values(), catalog.declared_labels, catalog.schemas)


def _catalog_positions(
    report: IntrospectionReport, key: tuple[str, str], columns: list[ColumnEntry]
) -> dict[str, int]:
    """Warehouse positions of the catalog's columns, from what the report saw; a column the
    report did not place keeps the position of its catalog predecessor."""
    seen = report.positions.get(key, {})
    positions: dict[str, int] = {}
    previous = 0
    for column in columns:
        previous = seen.get(column.name, previous)
        positions[column.name] = previous
    return positions


# --- reading the warehouse ------------------------------------------------------------------


def connect_arguments(target: str | PostgresSettings | Settings) -> dict[str, Any]:
    """asyncpg.connect() keyword arguments for a DSN or the proxy's warehouse settings."""
    if isinstance(target, str):
        return {"dsn": target}
    settings = target.postgres if isinstance(target, Settings) else target
    arguments: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "database": settings.database,
        "user": settings.user,
        "timeout": settings.connect_timeout,
    }
    if settings.password is not None:
        arguments["password"] = settings.password.get_secret_value()
    if settings.sslmode in ("verify-ca", "verify-full") and settings.sslrootcert is not None:
        context = ssl.create_default_context(cafile=str(settings.sslrootcert))
        context.check_hostname = settings.sslmode == "verify-full"
        arguments["ssl"] = context
    else:
        arguments["ssl"] = settings.sslmode
    return arguments


async def read_warehouse(
    connection: Any, catalog_schemas: Iterable[str]
) -> tuple[list[str], list[WarehouseTable], set[str]]:
    """(schemas read, their tables, schemas that exist) through an asyncpg connection."""
    labelled = _labelled_schemas(
        (row["schema"], row["comment"]) for row in await connection.fetch(_LABELLED_COMMENTS_SQL)
    )
    schemas = sorted(set(catalog_schemas) | labelled)
    existing = {
        row["nspname"]
        for row in await connection.fetch(
            "SELECT nspname FROM pg_catalog.pg_namespace "
            "WHERE nspname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[])",
            schemas,
        )
    }
    rows = await connection.fetch(_COLUMNS_SQL, schemas)
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["schema"], row["table"]), []).append(row)
    tables = [
        WarehouseTable(
            schema,
            name,
            tuple(
                WarehouseColumn(
                    row["column"], row["type"], row["position"], row["comment"], row["primary_key"]
                )
                for row in table_rows
            ),
            _RELATION_KINDS.get(table_rows[0]["kind"], "table"),
            table_rows[0]["table_comment"],
        )
        for (schema, name), table_rows in grouped.items()
    ]
    return schemas, tables, existing


async def introspect(
    dsn_or_settings: str | PostgresSettings | Settings,
    catalog: Catalog,
    declared_labels: Collection[str] | None = None,
) -> IntrospectionReport:
    """Read the warehouse and compare it with `catalog` (see the module docstring).

    Connection errors (asyncpg's, OSError, TimeoutError) propagate: the caller decides whether
    an unreachable warehouse is fatal (at start) or a retry (on reload).
    """
    import asyncpg

    connection = await asyncpg.connect(**connect_arguments(dsn_or_settings))
    try:
        schemas, tables, existing = await read_warehouse(connection, catalog.schemas)
    finally:
        await connection.close()
    return build_report(catalog, tables, declared_labels, schemas, existing)
