"""Reading `catalog/*.yaml` into a `Catalog`, with errors that name the file and the field."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from pydantic import ValidationError

from proxy.catalog.files import CatalogFile
from proxy.catalog.model import PROXY_SCHEMA, Catalog, ColumnEntry, TableEntry
from proxy.catalog.problems import ConfigProblems
from proxy.config_files import ConfigError, format_validation_error, load_yaml


def catalog_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ConfigError(f"{directory}: catalog directory not found")
    return sorted(directory.glob("*.yaml"))


def read_catalog_file(path: Path) -> CatalogFile:
    try:
        return CatalogFile.model_validate(load_yaml(path) or {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None


def load_catalog(directory: Path, declared_labels: Collection[str]) -> Catalog:
    """Every `*.yaml` in `directory`; `declared_labels` is the taxonomy (ancestors included).

    A label outside the taxonomy, or a table described by two files, is a load-time error:
    a typo in a label must not silently make a column "not sensitive" or "unknown".
    """
    problems = ConfigProblems()
    tables: dict[tuple[str, str], TableEntry] = {}
    schemas: set[str] = set()
    for path in catalog_files(directory):
        spec = read_catalog_file(path)
        if spec.schema_ == PROXY_SCHEMA:
            problems.add(path, "schema", f"schema {PROXY_SCHEMA} is the proxy's own (the hash "
                         "mask's key) and cannot be described in the catalog")
            continue
        schemas.add(spec.schema_)
        for table_name, table in spec.tables.items():
            key = (spec.schema_, table_name)
            if key in tables:
                problems.add(
                    path,
                    f"tables.{table_name}",
                    f"table {spec.schema_}.{table_name} is already described in "
                    f"{tables[key].source}",
                )
                continue
            for column_name, column in table.columns.items():
                for index, label in enumerate(column.labels):
                    if label not in declared_labels:
                        problems.add(
                            path,
                            f"tables.{table_name}.columns.{column_name}.labels.{index}",
                            f"label {label!r} is not declared in labels.yaml",
                        )
            columns = tuple(
                ColumnEntry(
                    name,
                    column.type,
                    frozenset(column.labels),
                    column.description,
                    column.primary_key,
                )
                for name, column in table.columns.items()
            )
            tables[key] = TableEntry(spec.schema_, table_name, columns, table.description, path)
    problems.raise_if_any()
    return Catalog.build(tables.values(), declared_labels, schemas)
