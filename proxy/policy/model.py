"""Policies as data: purposes, their rules on labels, row filters and writes; and the pure
lookups the decision core asks of them.

The YAML shapes are documented at the top of `policies/purposes.yaml` and
`policies/labels.yaml`; the models below are those files, validated. Nothing here does I/O:
`proxy.policy.load` reads the files and checks them against each other and the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

import sqlglot
from pglast.parser import ParseError as PgParseError
from pglast.parser import parse_sql as pg_parse_sql
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from proxy.catalog.labels import LabelName, label_and_ancestors
from proxy.catalog.model import Catalog
from proxy.users import UserEntry

# --- actions and rules ------------------------------------------------------------------------


class Action(StrEnum):
    ALLOW = "allow"
    MASK = "mask"
    AGGREGATE_ONLY = "aggregate_only"
    PREDICATE_ONLY = "predicate_only"
    DENY = "deny"


class MaskMethod(StrEnum):
    HASH = "hash"  # keyed, deterministic: equal values give equal hashes (joins, GROUP BY)
    REDACT = "redact"  # a constant placeholder
    LAST4 = "last4"  # all but the last four characters hidden
    YEAR = "year"  # a date truncated to 1 January of its year


class Mode(StrEnum):
    ENFORCE = "enforce"
    SHADOW = "shadow"  # not enforced: the statement runs unchanged, the audit says what would be


class WriteKind(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    COPY_FROM = "copy_from"
    CREATE_TABLE = "create_table"  # CREATE TABLE AS / SELECT INTO


#: How strict each action is, for a column with several labels: the strictest rule applies.
#: deny (never read) > predicate_only (read, never output) > aggregate_only (output only as
#: an aggregate over k rows or more) > mask (output, transformed) > allow.
ACTION_STRICTNESS: Mapping[Action, int] = {
    Action.ALLOW: 0,
    Action.MASK: 1,
    Action.AGGREGATE_ONLY: 2,
    Action.PREDICATE_ONLY: 3,
    Action.DENY: 4,
}

#: Between two masks: redact reveals nothing, hash reveals equality, last4 and year reveal
#: part of the value (they apply to different types, so they rarely meet on one column).
MASK_STRICTNESS: Mapping[MaskMethod, int] = {
    MaskMethod.REDACT: 3,
    MaskMethod.HASH: 2,
    MaskMethod.LAST4: 1,
    MaskMethod.YEAR: 1,
}


class Rule(BaseModel):
    """What a purpose may do with data carrying one label.

    In YAML, a bare action (`allow`, `deny`, `predicate_only`) or a mapping
    (`{action: mask, method: hash}`, `{action: aggregate_only, k: 10}`, `mode: shadow`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    method: MaskMethod | None = Field(default=None, validate_default=True)
    k: StrictInt | None = Field(default=None, ge=1, validate_default=True)
    mode: Mode = Mode.ENFORCE

    @model_validator(mode="before")
    @classmethod
    def _bare_action(cls, value: object) -> object:
        return {"action": value} if isinstance(value, str) else value

    @field_validator("method")
    @classmethod
    def _method_fits_action(
        cls, value: MaskMethod | None, info: ValidationInfo
    ) -> MaskMethod | None:
        action = info.data.get("action")
        if action is Action.MASK and value is None:
            raise ValueError("mask needs a method: " + " | ".join(MaskMethod))
        if action not in (None, Action.MASK) and value is not None:
            raise ValueError(f"method applies to mask only, not to {action}")
        return value

    @field_validator("k")
    @classmethod
    def _k_fits_action(cls, value: int | None, info: ValidationInfo) -> int | None:
        action = info.data.get("action")
        if action is Action.AGGREGATE_ONLY and value is None:
            raise ValueError("aggregate_only needs k, the smallest group size returned (k >= 1)")
        if action not in (None, Action.AGGREGATE_ONLY) and value is not None:
            raise ValueError(f"k applies to aggregate_only only, not to {action}")
        return value

    @property
    def strictness(self) -> tuple[int, int, int, int]:
        """Sort key: stricter action, then enforce over shadow, then stricter mask, larger k."""
        return (
            ACTION_STRICTNESS[self.action],
            1 if self.mode is Mode.ENFORCE else 0,
            MASK_STRICTNESS[self.method] if self.method else 0,
            self.k or 0,
        )

    def __str__(self) -> str:
        text = str(self.action)
        if self.method:
            text += f": {self.method}"
        if self.k is not None:
            text += f" (k={self.k})"
        if self.mode is Mode.SHADOW:
            text += " [shadow]"
        return text


ALLOW = Rule(action=Action.ALLOW)
DENY = Rule(action=Action.DENY)


@dataclass(frozen=True, slots=True)
class ColumnAction:
    """What a purpose may do with one column, and which of its labels decided it.

    `rule` is the strictest rule among the column's labels, shadow rules included: what the
    audit reports. `enforced` is what actually happens now: a rule in shadow mode is not
    enforced (it counts as allow), so `enforced` is the strictest rule in enforce mode. When the
    two differ, the statement is governed by `enforced` and the audit records `rule`.
    `label` / `enforced_label` name the column's label each came from (None: no labels).
    """

    rule: Rule
    label: str | None
    enforced: Rule
    enforced_label: str | None

    @property
    def action(self) -> Action:
        return self.rule.action

    @property
    def method(self) -> MaskMethod | None:
        return self.rule.method

    @property
    def k(self) -> int | None:
        return self.rule.k

    @property
    def mode(self) -> Mode:
        return self.rule.mode

    @property
    def shadowed(self) -> bool:
        """True when enforcing the shadow rules would change what happens to this column."""
        return self.rule != self.enforced


# --- row filters --------------------------------------------------------------------------------

#: `{{ user.country }}`: the user's attribute `country`, as a quoted SQL string literal.
PLACEHOLDER = re.compile(r"\{\{\s*user\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SENTINEL_PREFIX = "purpose-proxy attribute "
_QUOTED_PLACEHOLDER = re.compile(r"'\s*" + PLACEHOLDER.pattern + r"\s*'")
_STAND_ALONE = (
    "write {{ user.<attribute> }} bare, not inside quotes: "
    "it is substituted as a quoted string literal"
)


class MissingAttributeError(LookupError):
    """A row filter needs a user attribute the user does not have: the table stays closed."""


def row_filter_attributes(template: str) -> tuple[str, ...]:
    """The user attributes a row filter needs, in order of first use."""
    return tuple(dict.fromkeys(PLACEHOLDER.findall(template)))


def sql_string_literal(value: str) -> str:
    """A PostgreSQL string literal holding exactly `value`.

    Quotes are doubled; backslashes need nothing because the proxy keeps
    standard_conforming_strings on (a client may not change it). NUL cannot be stored in a
    PostgreSQL string, so it is refused rather than truncated.
    """
    if "\x00" in value:
        raise ValueError("a NUL character cannot appear in an SQL string literal")
    return "'" + value.replace("'", "''") + "'"


def render_row_filter(template: str, attributes: Mapping[str, str]) -> str:
    """The row filter with each `{{ user.<name> }}` replaced by the attribute as a literal.

    Substituted in one pass, so an attribute value that itself looks like a placeholder stays
    text. A missing attribute raises MissingAttributeError: never render a filter that lets
    rows through because a value was absent.
    """

    def literal(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in attributes:
            raise MissingAttributeError(
                f"row filter needs user attribute {name!r}, which the user does not have"
            )
        return sql_string_literal(attributes[name])

    return PLACEHOLDER.sub(literal, template)


def parse_row_filter(template: str) -> exp.Expression:
    """The row filter as a sqlglot condition (postgres dialect), placeholders as literals.

    Raises ValueError when it is not one SQL condition, when a placeholder is malformed, or when
    one is written inside quotes (it already becomes a quoted literal).
    """
    if _QUOTED_PLACEHOLDER.search(template):
        raise ValueError(_STAND_ALONE)
    sentinels = {name: _SENTINEL_PREFIX + name for name in row_filter_attributes(template)}
    text = PLACEHOLDER.sub(lambda m: sql_string_literal(sentinels[m.group(1)]), template)
    if "{{" in text or "}}" in text:
        raise ValueError("malformed placeholder: write {{ user.<attribute> }}")
    condition = _parse_condition(text)
    literals = {node.this for node in condition.find_all(exp.Literal) if node.is_string}
    if not set(sentinels.values()) <= literals:
        raise ValueError(_STAND_ALONE)
    return condition


def _parse_condition(text: str) -> exp.Expression:
    """One condition as PostgreSQL itself (pglast) accepts it, and as sqlglot reads it.

    PostgreSQL's parser speaks first: its messages are the ones a policy author knows.
    """
    prefix = "SELECT 1 WHERE ("
    try:
        pg_parse_sql(f"{prefix}{text})")
    except PgParseError as exc:
        message = str(exc.args[0]) if exc.args else str(exc)
        index = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        at = None if index is None else index - len(prefix)  # 0-based in the condition
        if at is not None and 0 <= at < len(text):
            message += f" (character {at + 1} of the condition)"
        elif at is not None and at >= len(text):
            message += " (at the end of the condition: something is missing)"
        raise ValueError(f"not valid SQL: {message}") from None
    try:
        statements = sqlglot.parse(text, read="postgres")
    except TokenError:
        raise ValueError("not valid SQL: an unterminated string or quoted name") from None
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')})" if first else ""
        description = _in_words(str(first.get("description", exc)))
        raise ValueError(f"the proxy cannot analyze this condition: {description}{where}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Condition):
        raise ValueError("must be one boolean SQL condition, not a statement")
    return statements[0]


_SQLGLOT_MISSING = re.compile(r"Required keyword: '\w+' missing for <class '[\w.]*\.(\w+)'>")


def _in_words(description: str) -> str:
    """sqlglot's parser messages without its class names."""
    return _SQLGLOT_MISSING.sub(
        lambda m: f"an operand of {m.group(1).upper()} is missing", description)


def _valid_row_filter(template: str) -> str:
    template = template.strip()
    parse_row_filter(template)
    return template


RowFilterTemplate = Annotated[str, AfterValidator(_valid_row_filter)]
QualifiedTableName = Annotated[str, StringConstraints(pattern=r"^[^.\s]+\.[^.\s]+$")]
#: `schema.table` or `schema.*` (every table of the schema, including ones created later).
WriteTarget = Annotated[str, StringConstraints(pattern=r"^[^.\s*]+\.([^.\s*]+|\*)$")]
PurposeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


def split_qualified(name: str) -> tuple[str, str]:
    schema, _, table = name.partition(".")
    return schema, table


# --- files --------------------------------------------------------------------------------------


class Subject(BaseModel):
    """A kind of person data is about (`subjects:` in policies/labels.yaml).

    `key_label` marks every column that holds a subject's key, in any table; `table` and `key`
    name where the subjects themselves live. A purpose's `subject_filters` entry is a condition
    on `table`, and rows of any table whose key columns point at a subject it excludes do not
    exist for the purpose. `k`: a table derived from such rows that lost the key is readable
    under a filtering purpose only if each row aggregates at least k distinct subjects.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_label: LabelName
    table: QualifiedTableName
    key: str = Field(min_length=1)
    k: StrictInt = Field(ge=2)
    description: str | None = None


class LabelsFile(BaseModel):
    """`policies/labels.yaml`: label -> description. Declaring a label declares its ancestors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: dict[LabelName, str | None] = Field(min_length=1)
    subjects: dict[PurposeName, Subject] = Field(default_factory=dict)


class Purpose(BaseModel):
    """One purpose of `policies/purposes.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    default: Rule = DENY  # for labels no rule covers
    rules: dict[LabelName, Rule] = Field(default_factory=dict)
    row_filters: dict[QualifiedTableName, RowFilterTemplate] = Field(default_factory=dict)
    # subject name (labels.yaml `subjects:`) -> a condition on the subject's table that holds
    # for every table with a column carrying the subject's key label, shop or derived.
    subject_filters: dict[PurposeName, RowFilterTemplate] = Field(default_factory=dict)
    writes: dict[WriteTarget, list[WriteKind]] = Field(default_factory=dict)

    @field_validator("writes")
    @classmethod
    def _some_kind(cls, value: dict[str, list[WriteKind]]) -> dict[str, list[WriteKind]]:
        for target, kinds in value.items():
            if not kinds:
                raise ValueError(f"{target}: list the writes allowed, or remove the entry")
        return value

    def resolve(self, label: str) -> tuple[Rule, str | None]:
        """The rule for `label` and the label it was written for (None: the default).

        The most specific rule wins: `pii.contact.email`, then `pii.contact`, then `pii`.
        """
        for candidate in label_and_ancestors(label):
            rule = self.rules.get(candidate)
            if rule is not None:
                return rule, candidate
        return self.default, None


class PurposesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: dict[PurposeName, Purpose] = Field(min_length=1)


# --- lookups ------------------------------------------------------------------------------------


class UnknownPurposeError(LookupError):
    """A purpose that policies/purposes.yaml does not declare: nothing may be looked up for it."""


@dataclass(frozen=True)
class Policies:
    """The label taxonomy and the purposes; every lookup is pure and fails closed."""

    labels: frozenset[str]  # every declared label, ancestors included
    purposes: Mapping[str, Purpose]
    subjects: Mapping[str, Subject] = field(default_factory=dict)

    def purpose(self, name: str) -> Purpose:
        try:
            return self.purposes[name]
        except KeyError:
            raise UnknownPurposeError(f"purpose {name!r} is not declared") from None

    def rule_for(self, purpose: str, label: str) -> Rule:
        return self.purpose(purpose).resolve(label)[0]

    def column_action(self, purpose: str, labels: Iterable[str]) -> ColumnAction:
        """The effective rule for a column carrying `labels`: the strictest of their rules.

        Strictness: deny > predicate_only > aggregate_only > mask > allow (see
        ACTION_STRICTNESS); on a tie enforce beats shadow, redact > hash > last4/year, the
        larger k wins, then the label that sorts first. A column with no labels is allowed.
        """
        resolved = self.purpose(purpose)
        candidates = [(resolved.resolve(label)[0], label) for label in sorted(labels)]
        if not candidates:
            return ColumnAction(ALLOW, None, ALLOW, None)
        rule, label = max(candidates, key=lambda item: item[0].strictness)
        enforced, enforced_label = max(
            ((r if r.mode is Mode.ENFORCE else ALLOW, lbl) for r, lbl in candidates),
            key=lambda item: item[0].strictness,
        )
        return ColumnAction(rule, label, enforced, enforced_label)

    def row_filter(self, purpose: str, schema: str, table: str) -> str | None:
        """The row filter template for the table under the purpose, None if rows are unfiltered.

        Render it with `render_row_filter` and the user's attributes.
        """
        return self.purpose(purpose).row_filters.get(f"{schema}.{table}")

    def may_write(self, purpose: str, schema: str, table: str, kind: WriteKind | str) -> bool:
        kind = WriteKind(kind)
        writes = self.purpose(purpose).writes
        targets = (f"{schema}.{table}", f"{schema}.*")
        return any(kind in writes.get(target, ()) for target in targets)


@dataclass(frozen=True)
class Deployment:
    """Catalog, policies and users of one deployment, validated against each other.

    Immutable: recording a sandbox table gives a new deployment
    (`dataclasses.replace(deployment, catalog=deployment.catalog.with_table(...))`).
    """

    catalog: Catalog
    policies: Policies
    users: Mapping[str, UserEntry]

    def user(self, name: str) -> UserEntry | None:
        return self.users.get(name)

    def granted(self, user: str, purpose: str) -> bool:
        entry = self.users.get(user)
        return entry is not None and purpose in entry.purposes and purpose in self.policies.purposes

    def default_purpose(self, user: str) -> str | None:
        entry = self.users.get(user)
        return entry.default_purpose if entry is not None else None
