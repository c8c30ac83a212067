"""Reading a deployment's policies, catalog and users, and checking them against each other.

Every cross-file mistake (a label or purpose used but not declared, a row filter on a table or
column the catalog lacks, a user missing an attribute a filter needs) is a load-time error,
listed all at once with file and field path, never a surprise at query time.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from proxy.catalog.labels import label_and_ancestors, with_ancestors
from proxy.catalog.load import load_catalog
from proxy.catalog.model import Catalog
from proxy.catalog.problems import ConfigProblems
from proxy.config_files import ConfigError, format_validation_error, load_yaml
from proxy.policy.model import (
    Deployment,
    LabelsFile,
    Policies,
    PurposesFile,
    WriteKind,
    parse_row_filter,
    row_filter_attributes,
    split_qualified,
)
from proxy.users import UsersFile, load_users

LABELS_FILE = "labels.yaml"
PURPOSES_FILE = "purposes.yaml"
USERS_FILE = "users.yaml"

M = TypeVar("M", bound=BaseModel)


def _read(model: type[M], path: Path) -> M:
    try:
        return model.model_validate(load_yaml(path) or {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None


def load_policies(directory: Path) -> Policies:
    """`labels.yaml` and `purposes.yaml` of `directory`; rules may use declared labels only."""
    labels_path, purposes_path = directory / LABELS_FILE, directory / PURPOSES_FILE
    labels_file = _read(LabelsFile, labels_path)
    labels = with_ancestors(labels_file.labels)
    purposes = _read(PurposesFile, purposes_path).purposes
    problems = ConfigProblems()
    for name, subject in labels_file.subjects.items():
        if subject.key_label not in labels:
            problems.add(labels_path, f"subjects.{name}.key_label",
                         f"label {subject.key_label!r} is not declared under labels:")
    for name, purpose in purposes.items():
        for label in purpose.rules:
            if label not in labels:
                problems.add(
                    purposes_path,
                    f"purposes.{name}.rules.{label}",
                    f"label {label!r} is not declared in {labels_path}",
                )
        for subject_name in purpose.subject_filters:
            if subject_name not in labels_file.subjects:
                problems.add(
                    purposes_path,
                    f"purposes.{name}.subject_filters.{subject_name}",
                    f"subject {subject_name!r} is not declared in {labels_path} (subjects:)",
                )
    problems.raise_if_any()
    return Policies(labels, MappingProxyType(dict(purposes)),
                    MappingProxyType(dict(labels_file.subjects)))


def load_deployment(
    catalog_dir: Path, policies_dir: Path, users_file: Path | None = None
) -> Deployment:
    """Catalog, policies and users (default `policies_dir/users.yaml`), checked together."""
    policies = load_policies(policies_dir)
    catalog = load_catalog(catalog_dir, policies.labels)
    users_path = users_file if users_file is not None else policies_dir / USERS_FILE
    users = load_users(users_path)
    purposes_path = policies_dir / PURPOSES_FILE

    problems = ConfigProblems()
    _check_grants(users, users_path, policies, purposes_path, problems)
    _check_row_filters(policies, catalog, purposes_path, problems)
    _check_subjects(policies, catalog, policies_dir / LABELS_FILE, purposes_path, problems)
    _check_writes(policies, catalog, purposes_path, problems)
    _check_filter_attributes(users, users_path, policies, problems)
    problems.raise_if_any()
    return Deployment(catalog, policies, MappingProxyType(dict(users.users)))


def _check_grants(
    users: UsersFile,
    users_path: Path,
    policies: Policies,
    purposes_path: Path,
    problems: ConfigProblems,
) -> None:
    for name, user in users.users.items():
        for index, purpose in enumerate(user.purposes):
            if purpose not in policies.purposes:
                problems.add(
                    users_path,
                    f"users.{name}.purposes.{index}",
                    f"purpose {purpose!r} is not declared in {purposes_path}",
                )
        default = user.default_purpose
        if default is not None and default in user.purposes and default not in policies.purposes:
            problems.add(
                users_path,
                f"users.{name}.default_purpose",
                f"purpose {default!r} is not declared in {purposes_path}",
            )


def _check_row_filters(
    policies: Policies, catalog: Catalog, purposes_path: Path, problems: ConfigProblems
) -> None:
    schema = _sqlglot_schema(catalog)
    for purpose_name, purpose in policies.purposes.items():
        for target, template in purpose.row_filters.items():
            where = f"purposes.{purpose_name}.row_filters.{target}"
            for message in _row_filter_problems(template, target, catalog, schema):
                problems.add(purposes_path, where, message)


def _check_subjects(
    policies: Policies, catalog: Catalog, labels_path: Path, purposes_path: Path,
    problems: ConfigProblems,
) -> None:
    """Each subject's table and key exist and the key carries the key label; each subject
    filter is a condition that resolves against the subject's table."""
    schema = _sqlglot_schema(catalog)
    for name, subject in policies.subjects.items():
        table = catalog.table(*split_qualified(subject.table))
        where = f"subjects.{name}"
        if table is None:
            problems.add(labels_path, f"{where}.table",
                         f"table {subject.table} is not in the catalog")
            continue
        key = table.column(subject.key)
        if key is None:
            problems.add(labels_path, f"{where}.key",
                         f"column {subject.key!r} is not in {subject.table}")
        elif not any(subject.key_label in label_and_ancestors(label) for label in key.labels):
            problems.add(labels_path, f"{where}.key",
                         f"{subject.table}.{subject.key} is not labelled {subject.key_label}")
    for purpose_name, purpose in policies.purposes.items():
        for subject_name, template in purpose.subject_filters.items():
            declared = policies.subjects.get(subject_name)
            if declared is None or catalog.table(*split_qualified(declared.table)) is None:
                continue
            where = f"purposes.{purpose_name}.subject_filters.{subject_name}"
            for message in _row_filter_problems(template, declared.table, catalog, schema):
                problems.add(purposes_path, where, message)


def _row_filter_problems(
    template: str, target: str, catalog: Catalog, schema: MappingSchema
) -> list[str]:
    """Why this row filter cannot run against the catalog (empty: it can).

    The filter is qualified as `SELECT * FROM <table> WHERE <filter>`, so its bare columns are
    the table's, and each subquery's columns are its own tables'.
    """
    table_schema, table_name = split_qualified(target)
    if catalog.table(table_schema, table_name) is None:
        return [f"table {target} is not in the catalog"]
    condition = normalize_identifiers(parse_row_filter(template), dialect="postgres")
    cte_names = {cte.alias_or_name for cte in condition.find_all(exp.CTE)}
    messages = []
    for table in condition.find_all(exp.Table):
        if not table.db:
            if table.name not in cte_names:
                messages.append(f"table {table.name!r} in the filter must be schema-qualified")
        elif catalog.table(table.db, table.name) is None:
            messages.append(f"table {table.db}.{table.name} in the filter is not in the catalog")
    if messages:
        return messages
    select = exp.select("*").from_(
        exp.Table(
            this=exp.to_identifier(table_name, quoted=True),
            db=exp.to_identifier(table_schema, quoted=True),
        )
    ).where(condition)
    try:
        qualified = qualify(
            select,
            schema=schema,
            dialect="postgres",
            validate_qualify_columns=True,
            expand_stars=False,
            quote_identifiers=False,
        )
    except OptimizeError as exc:
        return [f"does not resolve against the catalog: {exc}"]
    annotated = annotate_types(qualified, schema=schema, dialect="postgres")
    result_type = annotated.args["where"].this.type
    if result_type is not None and not result_type.is_type(*_BOOLEAN_OR_UNKNOWN):
        return [f"must be a boolean condition, not {result_type.sql('postgres')}"]
    return []


_BOOLEAN_OR_UNKNOWN = (exp.DataType.Type.BOOLEAN, exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL)


def _sqlglot_schema(catalog: Catalog) -> MappingSchema:
    """The catalog as sqlglot's schema, names as stored (no folding: they are folded already)."""
    mapping: dict[str, dict[str, dict[str, str]]] = {}
    for table in catalog:
        mapping.setdefault(table.schema, {})[table.name] = {
            column.name: column.type or "unknown" for column in table.columns
        }
    return MappingSchema(mapping, dialect="postgres", normalize=False)


def _check_writes(
    policies: Policies, catalog: Catalog, purposes_path: Path, problems: ConfigProblems
) -> None:
    for purpose_name, purpose in policies.purposes.items():
        for target, kinds in purpose.writes.items():
            schema, table = split_qualified(target)
            where = f"purposes.{purpose_name}.writes.{target}"
            if schema not in catalog.schemas:
                problems.add(purposes_path, where, f"schema {schema!r} is not in the catalog")
            elif (
                table != "*"
                and catalog.table(schema, table) is None
                and WriteKind.CREATE_TABLE not in kinds
            ):
                problems.add(purposes_path, where, f"table {target} is not in the catalog")


def _check_filter_attributes(
    users: UsersFile, users_path: Path, policies: Policies, problems: ConfigProblems
) -> None:
    """A user granted a purpose must have every attribute its row filters use; otherwise each
    query of the filtered table would fail for that user, found only at query time."""
    for name, user in users.users.items():
        for purpose_name in user.purposes:
            purpose = policies.purposes.get(purpose_name)
            if purpose is None:
                continue
            filters = [*purpose.row_filters.items(),
                       *((f"subject {name}", t) for name, t in purpose.subject_filters.items())]
            for target, template in filters:
                for attribute in row_filter_attributes(template):
                    if attribute not in user.attributes:
                        problems.add(
                            users_path,
                            f"users.{name}.attributes",
                            f"missing {attribute!r}, which purpose {purpose_name!r} uses in "
                            f"its row filter on {target}",
                        )
