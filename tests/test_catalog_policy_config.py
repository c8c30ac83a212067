"""Catalog and policies as configuration: the shipped deployment encodes SCENARIO.md exactly,
the lookups the decision core relies on resolve as documented, and every broken file fails at
load time with a message naming the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pglast
import pytest
import sqlglot
from sqlglot import exp

from proxy.catalog import Catalog, ColumnEntry, load_catalog
from proxy.config_files import ConfigError
from proxy.demo.data import TABLE_COLUMNS
from proxy.policy import (
    Action,
    Deployment,
    MaskMethod,
    MissingAttributeError,
    Mode,
    Policies,
    Purpose,
    Rule,
    UnknownPurposeError,
    load_deployment,
    load_policies,
    render_row_filter,
)
from proxy.users import load_users

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "config"
PURPOSES = ("analytics", "marketing", "support", "fraud", "ingestion")


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return load_deployment(REPO / "catalog", REPO / "policies")


# --- the shipped catalog: SCENARIO.md "Tables (schema shop) and labels" --------------------------

# table -> [(column, PostgreSQL type, labels)], as SCENARIO.md lists them.
SCENARIO_TABLES: dict[str, list[tuple[str, str, set[str]]]] = {
    "customers": [
        ("id", "integer", {"identifier.customer"}),
        ("email", "text", {"pii.contact.email"}),
        ("full_name", "text", {"pii.name"}),
        ("phone", "text", {"pii.contact.phone"}),
        ("birth_date", "date", {"pii.birthdate"}),
        ("country", "text", {"geo.country"}),
        ("marketing_consent", "boolean", {"consent.marketing"}),
        ("created_at", "timestamp", set()),
    ],
    "orders": [
        ("id", "integer", set()),
        ("customer_id", "integer", {"identifier.customer"}),
        ("ordered_at", "timestamp", set()),
        ("status", "text", set()),
        ("total_cents", "bigint", {"business.revenue"}),
    ],
    "order_items": [
        ("order_id", "integer", set()),
        ("product_id", "integer", set()),
        ("quantity", "integer", set()),
    ],
    "payments": [
        ("id", "integer", set()),
        ("order_id", "integer", set()),
        ("paid_at", "timestamp", set()),
        ("card_number", "text", {"pii.card_number"}),
        ("amount_cents", "bigint", {"business.revenue"}),
    ],
    "support_tickets": [
        ("id", "integer", set()),
        ("customer_id", "integer", {"identifier.customer"}),
        ("opened_at", "timestamp", set()),
        ("channel", "text", set()),
        ("body", "text", {"pii.free_text"}),
    ],
    "web_events": [
        ("id", "integer", set()),
        ("customer_id", "integer", {"identifier.customer"}),
        ("event_time", "timestamp", set()),
        ("url", "text", set()),
        ("ip_address", "text", {"pii.ip_address"}),
    ],
    "products": [
        ("id", "integer", set()),
        ("name", "text", set()),
        ("category", "text", set()),
        ("price_cents", "bigint", set()),
    ],
}


@pytest.mark.parametrize(
    ("table", "column", "type_", "labels"),
    [(t, c, ty, lb) for t, cols in SCENARIO_TABLES.items() for c, ty, lb in cols],
)
def test_catalog_column_matches_scenario(
    deployment: Deployment, table: str, column: str, type_: str, labels: set[str]
) -> None:
    entry = deployment.catalog.table("shop", table)
    assert entry is not None
    col = entry.column(column)
    assert col is not None
    assert col.type == type_
    assert col.labels == frozenset(labels)


@pytest.mark.parametrize("table", sorted(SCENARIO_TABLES))
def test_catalog_annotates_every_warehouse_column_in_order(
    deployment: Deployment, table: str
) -> None:
    """The demo warehouse has no unannotated column, and `*` expands in the warehouse's order."""
    warehouse = [name for name, _ in TABLE_COLUMNS[table]]
    entry = deployment.catalog.table("shop", table)
    assert entry is not None
    assert deployment.catalog.unannotated("shop", table, warehouse) == []
    assert list(entry.column_names) == warehouse
    assert {c for c, _, _ in SCENARIO_TABLES[table]} == set(warehouse)


def test_catalog_has_only_the_scenario_tables_and_an_empty_sandbox(deployment: Deployment) -> None:
    tables = {(t.schema, t.name) for t in deployment.catalog}
    assert tables == {("shop", t) for t in SCENARIO_TABLES}
    assert deployment.catalog.schemas == {"shop", "sandbox"}


# --- users, grants, default purposes ------------------------------------------------------------

SCENARIO_USERS = {
    "ana": ({"analytics"}, "analytics", {}),
    "mark": ({"marketing", "analytics"}, "marketing", {}),
    "sam": ({"support"}, "support", {"country": "DE"}),
    "fran": ({"fraud"}, None, {}),
    "etl": ({"ingestion"}, "ingestion", {}),
}


@pytest.mark.parametrize("user", sorted(SCENARIO_USERS))
def test_grants_and_default_purposes(deployment: Deployment, user: str) -> None:
    granted, default, attributes = SCENARIO_USERS[user]
    for purpose in PURPOSES:
        assert deployment.granted(user, purpose) is (purpose in granted)
    assert deployment.default_purpose(user) == default
    entry = deployment.user(user)
    assert entry is not None and dict(entry.attributes) == attributes
    assert entry.verifier is not None  # passwords kept


def test_unknown_user_has_no_grant_and_no_default(deployment: Deployment) -> None:
    assert not deployment.granted("mallory", "analytics")
    assert deployment.default_purpose("mallory") is None


def test_users_file_still_loads_on_its_own() -> None:
    users = load_users(REPO / "policies" / "users.yaml").users
    assert users["fran"].purposes == ["fraud"] and users["fran"].default_purpose is None


# --- SCENARIO.md "What each purpose may do with each label" --------------------------------------


class Expected(NamedTuple):
    action: Action
    method: MaskMethod | None = None
    k: int | None = None
    mode: Mode = Mode.ENFORCE


ALLOW = Expected(Action.ALLOW)
DENY = Expected(Action.DENY)


def mask(method: str) -> Expected:
    return Expected(Action.MASK, MaskMethod(method))


# label -> (analytics, marketing, support, fraud, ingestion), cell by cell from SCENARIO.md.
SCENARIO_RULES: dict[str, tuple[Expected, ...]] = {
    "identifier.customer": (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    "geo.country": (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    "consent.marketing": (ALLOW, ALLOW, ALLOW, ALLOW, ALLOW),
    "pii.contact.email": (mask("hash"), ALLOW, ALLOW, mask("hash"), ALLOW),
    "pii.contact.phone": (DENY, DENY, ALLOW, mask("last4"), ALLOW),
    "pii.name": (mask("redact"), ALLOW, ALLOW, ALLOW, ALLOW),
    "pii.birthdate": (
        Expected(Action.AGGREGATE_ONLY, k=10),
        Expected(Action.PREDICATE_ONLY),
        mask("year"),
        mask("year"),
        ALLOW,
    ),
    "pii.card_number": (DENY, DENY, mask("last4"), mask("last4"), ALLOW),
    "pii.ip_address": (DENY, DENY, DENY, ALLOW, ALLOW),
    "pii.free_text": (DENY, DENY, ALLOW, DENY, ALLOW),
    "business.revenue": (ALLOW, ALLOW, Expected(Action.DENY, mode=Mode.SHADOW), ALLOW, ALLOW),
    # "any other label": declared in labels.yaml, used by no rule.
    "pii.government_id": (DENY, DENY, DENY, DENY, ALLOW),
    "pii.contact.address": (DENY, DENY, DENY, DENY, ALLOW),
    "pii": (DENY, DENY, DENY, DENY, ALLOW),
    "business": (DENY, DENY, DENY, DENY, ALLOW),
}


@pytest.mark.parametrize(
    ("label", "purpose", "expected"),
    [
        pytest.param(label, purpose, cell, id=f"{purpose}-{label}")
        for label, row in SCENARIO_RULES.items()
        for purpose, cell in zip(PURPOSES, row, strict=True)
    ],
)
def test_scenario_cell(
    deployment: Deployment, label: str, purpose: str, expected: Expected
) -> None:
    decided = deployment.policies.column_action(purpose, frozenset({label}))
    assert Expected(decided.action, decided.method, decided.k, decided.mode) == expected
    assert decided.label == label
    assert deployment.policies.rule_for(purpose, label) == decided.rule


def test_scenario_table_covers_every_catalog_label(deployment: Deployment) -> None:
    used = {label for table in deployment.catalog for c in table.columns for label in c.labels}
    assert used <= set(SCENARIO_RULES)


def test_shadow_rule_is_reported_but_not_enforced(deployment: Deployment) -> None:
    decided = deployment.policies.column_action("support", frozenset({"business.revenue"}))
    assert decided.rule == Rule(action=Action.DENY, mode=Mode.SHADOW)
    assert decided.enforced == Rule(action=Action.ALLOW)
    assert decided.shadowed


def test_unlabelled_column_is_allowed(deployment: Deployment) -> None:
    for purpose in PURPOSES:
        decided = deployment.policies.column_action(purpose, frozenset())
        assert decided.action is Action.ALLOW and decided.label is None


def test_unknown_purpose_fails_closed(deployment: Deployment) -> None:
    with pytest.raises(UnknownPurposeError):
        deployment.policies.rule_for("research", "pii.name")
    with pytest.raises(UnknownPurposeError):
        deployment.policies.row_filter("research", "shop", "customers")
    with pytest.raises(UnknownPurposeError):
        deployment.policies.may_write("research", "sandbox", "t", "insert")
    assert not deployment.granted("ana", "research")


# --- hierarchy and strictest-wins, on purpose-built policies -------------------------------------


def policies_with(rules: dict[str, object], default: object = "deny") -> Policies:
    purpose = Purpose.model_validate({"default": default, "rules": rules})
    labels = {"pii", "pii.contact", "pii.contact.email", "pii.contact.phone", "pii.name", "a", "b"}
    return Policies(frozenset(labels), {"p": purpose})


HIERARCHY = policies_with(
    {
        "pii": "deny",
        "pii.contact": {"action": "mask", "method": "hash"},
        "pii.contact.email": "allow",
    },
    default={"action": "mask", "method": "redact"},
)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("pii.contact.email", Rule(action=Action.ALLOW)),  # the exact rule beats its parent's
        ("pii.contact.phone", Rule(action=Action.MASK, method=MaskMethod.HASH)),  # parent's
        ("pii.contact.email.work", Rule(action=Action.ALLOW)),  # nearest ancestor
        ("pii.name", Rule(action=Action.DENY)),  # grandparent's
        ("pii", Rule(action=Action.DENY)),
        ("pii_extra", Rule(action=Action.MASK, method=MaskMethod.REDACT)),  # not under pii
        ("pii.contactless", Rule(action=Action.DENY)),  # dots, not string prefixes
        ("geo.country", Rule(action=Action.MASK, method=MaskMethod.REDACT)),  # the default
    ],
)
def test_most_specific_rule_wins(label: str, expected: Rule) -> None:
    assert HIERARCHY.rule_for("p", label) == expected


STRICTNESS = policies_with(
    {
        "allow": "allow",
        "hash": {"action": "mask", "method": "hash"},
        "redact": {"action": "mask", "method": "redact"},
        "last4": {"action": "mask", "method": "last4"},
        "agg5": {"action": "aggregate_only", "k": 5},
        "agg10": {"action": "aggregate_only", "k": 10},
        "pred": "predicate_only",
        "deny": "deny",
        "shadowdeny": {"action": "deny", "mode": "shadow"},
        "shadowmask": {"action": "mask", "method": "hash", "mode": "shadow"},
    }
)


@pytest.mark.parametrize(
    ("labels", "deciding_label"),
    [
        ({"allow", "hash"}, "hash"),
        ({"hash", "agg5"}, "agg5"),
        ({"agg10", "pred"}, "pred"),
        ({"pred", "deny"}, "deny"),
        ({"allow", "hash", "agg5", "pred", "deny"}, "deny"),
        ({"redact", "hash"}, "redact"),
        ({"hash", "last4"}, "hash"),
        ({"agg5", "agg10"}, "agg10"),
        ({"deny", "shadowdeny"}, "deny"),  # equal action: enforce beats shadow
        ({"shadowmask", "hash"}, "hash"),
        ({"allow"}, "allow"),
    ],
)
def test_strictest_rule_wins(labels: set[str], deciding_label: str) -> None:
    decided = STRICTNESS.column_action("p", frozenset(labels))
    assert decided.label == deciding_label
    assert decided.rule == STRICTNESS.rule_for("p", deciding_label)


def test_shadow_rule_never_weakens_an_enforced_one() -> None:
    """deny in shadow + mask enforced: the audit says deny, the column is still masked."""
    decided = STRICTNESS.column_action("p", frozenset({"shadowdeny", "hash"}))
    assert decided.label == "shadowdeny"
    assert (decided.rule.action, decided.rule.mode) == (Action.DENY, Mode.SHADOW)
    assert (decided.enforced_label, decided.enforced.action) == ("hash", Action.MASK)
    assert decided.enforced.method is MaskMethod.HASH


def test_rule_shorthand_and_mapping_are_the_same() -> None:
    assert Rule.model_validate("deny") == Rule.model_validate({"action": "deny"})
    assert str(Rule(action=Action.AGGREGATE_ONLY, k=10)) == "aggregate_only (k=10)"


# --- row filters --------------------------------------------------------------------------------


def test_scenario_row_filters(deployment: Deployment) -> None:
    policies = deployment.policies
    assert policies.row_filter("marketing", "shop", "customers") == "marketing_consent = true"
    assert policies.row_filter("analytics", "shop", "customers") is None
    assert policies.row_filter("marketing", "shop", "orders") is None
    sam = deployment.user("sam")
    assert sam is not None
    customers = policies.row_filter("support", "shop", "customers")
    tickets = policies.row_filter("support", "shop", "support_tickets")
    assert customers is not None and tickets is not None
    assert render_row_filter(customers, sam.attributes) == "country = 'DE'"
    assert render_row_filter(tickets, sam.attributes) == (
        "customer_id IN (SELECT id FROM shop.customers WHERE country = 'DE')"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "DE' OR '1'='1",
        "DE'; DROP TABLE shop.customers; --",
        "DE\\' OR 1=1 --",  # a backslash does not escape under standard_conforming_strings
        "{{ user.country }}",  # substituted once, never re-scanned
        "DE'/*",
        "",
    ],
)
def test_hostile_attribute_stays_one_string_literal(hostile: str) -> None:
    rendered = render_row_filter("country = {{ user.country }}", {"country": hostile})
    # sqlglot (the proxy's parser) and PostgreSQL's own parser both read one comparison
    # with exactly the attribute as its string.
    condition = sqlglot.parse_one(rendered, read="postgres")
    assert isinstance(condition, exp.EQ)
    assert isinstance(condition.expression, exp.Literal)
    assert condition.expression.this == hostile
    (raw,) = pglast.parse_sql(f"SELECT 1 WHERE {rendered}")
    where = raw.stmt.whereClause
    assert where.kind == pglast.enums.A_Expr_Kind.AEXPR_OP
    assert where.rexpr.val.sval == hostile


def test_missing_attribute_fails_closed() -> None:
    with pytest.raises(MissingAttributeError, match="country"):
        render_row_filter("country = {{ user.country }}", {"region": "EU"})


def test_nul_in_attribute_is_refused() -> None:
    with pytest.raises(ValueError):
        render_row_filter("country = {{ user.country }}", {"country": "DE\x00"})


# --- writes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "schema", "table", "kind", "allowed"),
    [
        *[
            ("ingestion", "shop", table, kind, True)
            for table in ("orders", "customers")
            for kind in ("insert", "update", "delete", "copy_from")
        ],
        ("ingestion", "shop", "orders", "create_table", False),
        ("ingestion", "sandbox", "t", "insert", False),
        *[
            (purpose, "sandbox", "report", kind, kind in ("create_table", "insert"))
            for purpose in ("analytics", "marketing")
            for kind in ("create_table", "insert", "update", "delete", "copy_from")
        ],
        *[(p, "shop", "orders", "insert", False) for p in PURPOSES if p != "ingestion"],
        *[(p, "sandbox", "r", "create_table", False) for p in ("support", "fraud", "ingestion")],
    ],
)
def test_writes(
    deployment: Deployment, purpose: str, schema: str, table: str, kind: str, allowed: bool
) -> None:
    assert deployment.policies.may_write(purpose, schema, table, kind) is allowed


def test_unknown_write_kind_is_an_error(deployment: Deployment) -> None:
    with pytest.raises(ValueError):
        deployment.policies.may_write("ingestion", "shop", "orders", "truncate")


# --- catalog lookups ----------------------------------------------------------------------------


def test_lookups_are_exact_as_postgres_stores_names(deployment: Deployment) -> None:
    catalog = deployment.catalog
    customers = catalog.table("shop", "customers")
    assert customers is not None and customers.column("email") is not None
    assert customers.column("EMAIL") is None  # "EMAIL" quoted is another column
    assert catalog.table("shop", "Customers") is None
    assert catalog.table("public", "customers") is None


def test_unannotated_columns(deployment: Deployment) -> None:
    catalog = deployment.catalog
    warehouse = ["id", "ssn", "email", "notes"]
    assert catalog.unannotated("shop", "customers", warehouse) == ["ssn", "notes"]
    assert catalog.unannotated("shop", "nope", ["a", "b"]) == ["a", "b"]


def test_with_table_records_a_new_table_immutably(deployment: Deployment) -> None:
    before = deployment.catalog
    after = before.with_table(
        "sandbox",
        "emails_by_country",
        [
            ColumnEntry("country", "text", frozenset({"geo.country"})),
            ColumnEntry("email", None, frozenset({"pii.contact.email"})),
        ],
    )
    assert before.table("sandbox", "emails_by_country") is None
    table = after.table("sandbox", "emails_by_country")
    assert table is not None and table.column_names == ("country", "email")
    email = table.column("email")
    assert email is not None and email.labels == {"pii.contact.email"}
    assert after.table("shop", "customers") == before.table("shop", "customers")
    with pytest.raises(ValueError, match="not declared"):
        before.with_table("sandbox", "t", [ColumnEntry("x", "text", frozenset({"pii.secret"}))])


def test_load_catalog_and_policies_separately() -> None:
    policies = load_policies(REPO / "policies")
    assert {"pii", "pii.contact", "pii.contact.email"} <= policies.labels  # ancestors implied
    catalog = load_catalog(REPO / "catalog", policies.labels)
    assert isinstance(catalog, Catalog) and catalog.table("shop", "payments") is not None


# --- load-time errors ---------------------------------------------------------------------------


class Broken(NamedTuple):
    file: str  # relative to the deployment root
    field: str  # the field path the message must name
    says: str  # and a fragment of what it says about it


CATALOG, LABELS = "catalog/shop.yaml", "policies/labels.yaml"
PURPOSES_FILE, USERS = "policies/purposes.yaml", "policies/users.yaml"
EMAIL_COLUMN = "tables.customers.columns.email"
ANALYTICS_RULES, SUPPORT_FILTERS = "purposes.analytics.rules", "purposes.support.row_filters"
NOT_PERMITTED = "Extra inputs are not permitted"

BROKEN: dict[str, Broken] = {
    "catalog_undeclared_label": Broken(
        CATALOG, f"{EMAIL_COLUMN}.labels.0", "'pii.contact.emial' is not declared"
    ),
    "catalog_unknown_key": Broken(CATALOG, f"{EMAIL_COLUMN}.sensitive", NOT_PERMITTED),
    "catalog_bad_type": Broken(
        CATALOG, "tables.customers.columns.birth_date.type", "not a PostgreSQL type"
    ),
    "catalog_missing_labels": Broken(
        CATALOG, "tables.customers.columns.country.labels", "Field required"
    ),
    "catalog_duplicate_table": Broken(
        "catalog/shop_more.yaml", "tables.customers", "already described"
    ),
    "labels_bad_name": Broken(LABELS, "labels.Geo.Country.[key]", "'Geo.Country' is not a label"),
    "labels_unknown_key": Broken(LABELS, "version", NOT_PERMITTED),
    "rule_undeclared_label": Broken(
        PURPOSES_FILE, f"{ANALYTICS_RULES}.pii.contact.emial", "'pii.contact.emial' is not declared"
    ),
    "rule_unknown_key": Broken(
        PURPOSES_FILE, f"{ANALYTICS_RULES}.pii.contact.email.mod", NOT_PERMITTED
    ),
    "purposes_unknown_key": Broken(PURPOSES_FILE, "purposes.analytics.rulez", NOT_PERMITTED),
    "mask_unknown_method": Broken(
        PURPOSES_FILE, f"{ANALYTICS_RULES}.pii.contact.email.method", "'hash', 'redact', 'last4'"
    ),
    "mask_without_method": Broken(
        PURPOSES_FILE, f"{ANALYTICS_RULES}.pii.contact.email.method", "mask needs a method"
    ),
    "k_below_one": Broken(
        PURPOSES_FILE, f"{ANALYTICS_RULES}.pii.birthdate.k", "greater than or equal to 1"
    ),
    "row_filter_unknown_table": Broken(
        PURPOSES_FILE, f"{SUPPORT_FILTERS}.shop.custmers", "not in the catalog"
    ),
    "row_filter_not_sql": Broken(
        PURPOSES_FILE, f"{SUPPORT_FILTERS}.shop.customers", "not valid SQL"
    ),
    "row_filter_unknown_column": Broken(
        PURPOSES_FILE, f"{SUPPORT_FILTERS}.shop.customers", "'countryy' could not be resolved"
    ),
    "row_filter_unknown_column_in_subquery": Broken(
        PURPOSES_FILE, f"{SUPPORT_FILTERS}.shop.support_tickets", "'idd' could not be resolved"
    ),
    "row_filter_unqualified_table": Broken(
        PURPOSES_FILE, f"{SUPPORT_FILTERS}.shop.support_tickets", "must be schema-qualified"
    ),
    "row_filter_quoted_placeholder": Broken(
        PURPOSES_FILE, f"{SUPPORT_FILTERS}.shop.customers", "not inside quotes"
    ),
    "row_filter_not_boolean": Broken(
        PURPOSES_FILE, f"{SUPPORT_FILTERS}.shop.customers", "must be a boolean condition"
    ),
    "row_filter_missing_attribute": Broken(USERS, "users.sam.attributes", "missing 'country'"),
    "write_unknown_schema": Broken(
        PURPOSES_FILE, "purposes.analytics.writes.scratch.*", "schema 'scratch' is not in the"
    ),
    "write_unknown_kind": Broken(
        PURPOSES_FILE, "purposes.analytics.writes.sandbox.*.1", "'insert', 'update'"
    ),
    "purpose_granted_undeclared": Broken(
        USERS, "users.ana.purposes.1", "'research' is not declared"
    ),
    "default_purpose_undeclared": Broken(
        USERS, "users.ana.default_purpose", "'research' is not declared"
    ),
    "default_purpose_not_granted": Broken(
        USERS, "users.ana.default_purpose", "'support' is not among the user's purposes"
    ),
    "users_unknown_key": Broken(USERS, "users.ana.purpose", NOT_PERMITTED),
    "subject_unknown_table": Broken(LABELS, "subjects.customer.table", "not in the catalog"),
    "subject_key_not_labelled": Broken(
        LABELS, "subjects.customer.key", "is not labelled identifier.customer"
    ),
    "subject_undeclared_key_label": Broken(
        LABELS, "subjects.customer.key_label", "'identifier.person' is not declared"
    ),
    "subject_k_below_two": Broken(LABELS, "subjects.customer.k", "greater than or equal to 2"),
    "subject_filter_unknown_subject": Broken(
        PURPOSES_FILE, "purposes.support.subject_filters.person", "'person' is not declared"
    ),
    "subject_filter_unknown_column": Broken(
        PURPOSES_FILE, "purposes.support.subject_filters.customer",
        "'countryy' could not be resolved"
    ),
}


def deployment_root(tmp_path: Path, broken_case: str | None = None) -> Path:
    """A copy of the valid base fixture, with one case's broken files laid over it."""
    root = tmp_path / "deployment"
    shutil.copytree(FIXTURES / "base", root)
    if broken_case is not None:
        shutil.copytree(FIXTURES / "broken" / broken_case, root, dirs_exist_ok=True)
    return root


def test_base_fixture_loads(tmp_path: Path) -> None:
    root = deployment_root(tmp_path)
    deployment = load_deployment(root / "catalog", root / "policies")
    assert deployment.granted("sam", "support")


def test_every_broken_fixture_is_checked() -> None:
    assert {case.name for case in (FIXTURES / "broken").iterdir()} == set(BROKEN) | {"invalid_yaml"}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_load_error_names_file_and_field(tmp_path: Path, case: str) -> None:
    expected = BROKEN[case]
    root = deployment_root(tmp_path, case)
    with pytest.raises(ConfigError) as raised:
        load_deployment(root / "catalog", root / "policies")
    message = str(raised.value)
    lines = message.splitlines()
    field_lines = [i for i, line in enumerate(lines) if line.startswith(f"  {expected.field}: ")]
    assert field_lines, f"no line for field {expected.field!r} in:\n{message}"
    index = field_lines[0]
    assert expected.says in lines[index], message
    # the field is listed under the header of the file it is in
    header = next(line for line in reversed(lines[:index]) if not line.startswith("  "))
    assert header == f"{root / expected.file}: invalid configuration", message


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    root = deployment_root(tmp_path, "invalid_yaml")
    with pytest.raises(ConfigError, match="invalid YAML") as raised:
        load_deployment(root / "catalog", root / "policies")
    assert str(raised.value).startswith(f"{root / 'policies/purposes.yaml'}:")


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    root = deployment_root(tmp_path, "purpose_granted_undeclared")
    broken_purposes = FIXTURES / "broken/row_filter_unknown_column/policies/purposes.yaml"
    shutil.copy(broken_purposes, root / "policies")
    with pytest.raises(ConfigError) as raised:
        load_deployment(root / "catalog", root / "policies")
    message = str(raised.value)
    assert f"{root / 'policies/users.yaml'}: invalid configuration" in message
    assert f"{root / 'policies/purposes.yaml'}: invalid configuration" in message


def test_missing_catalog_directory(tmp_path: Path) -> None:
    root = deployment_root(tmp_path)
    with pytest.raises(ConfigError, match="catalog directory not found"):
        load_deployment(root / "nope", root / "policies")


def test_group_members_get_the_group_purposes_and_attributes(tmp_path):
    from proxy.users import load_users

    path = tmp_path / "users.yaml"
    path.write_text(
        "groups:\n"
        "  agents: {purposes: [support], attributes: {country: FR, team: a}}\n"
        "users:\n"
        "  zoe: {groups: [agents], attributes: {country: DE}, default_purpose: support}\n"
    )
    zoe = load_users(path).users["zoe"]
    assert zoe.purposes == ["support"]
    assert zoe.attributes == {"country": "DE", "team": "a"}  # the user's own value wins


def test_unknown_group_is_a_load_error(tmp_path):
    from proxy.config_files import ConfigError
    from proxy.users import load_users

    path = tmp_path / "users.yaml"
    path.write_text("users:\n  zoe: {groups: [nobody]}\n")
    with pytest.raises(ConfigError, match=r"users\.zoe\.groups: group 'nobody' is not declared"):
        load_users(path)


def test_any_other_label_is_denied_except_for_ingestion():
    """SCENARIO.md's last row: a label no rule names is denied (ingestion allows everything)."""
    from dataclasses import replace as dc_replace

    from proxy.catalog.model import ColumnEntry
    from proxy.check import check

    deployment = load_deployment(REPO / "catalog", REPO / "policies")
    catalog = deployment.catalog.with_table("shop", "passports", [
        ColumnEntry("id", "integer", frozenset({"identifier.customer"}), primary_key=True),
        ColumnEntry("number", "text", frozenset({"pii.government_id"})),
    ])
    deployment = dc_replace(deployment, catalog=catalog)
    for user, purpose in (("ana", None), ("mark", None), ("sam", None), ("fran", "fraud")):
        (decision,) = check(deployment, user, purpose, "SELECT number FROM shop.passports")
        assert type(decision).__name__ == "Reject", user
        assert "pii.government_id" in decision.message
    (decision,) = check(deployment, "etl", None, "SELECT number FROM shop.passports")
    assert type(decision).__name__ == "Allow"
