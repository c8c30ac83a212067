"""The decision core's side of derived data: what a write records, how a read uses it.

tests/test_derived.py proves the outcomes through real proxies on both warehouses; these check
the rules themselves, for every deterministic mask, without a server.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from proxy.catalog.derivation import (
    Derivation,
    DerivedColumn,
    SourceRows,
    forget_keys,
    from_document,
    merge,
    to_document,
    unknown_origin,
)
from proxy.catalog.model import ColumnEntry
from proxy.check import check
from proxy.policy import load_deployment
from proxy.policy.decision import Allow, RecordTable, Reject
from proxy.policy.model import Deployment, Purpose, WriteKind

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def deployment() -> Deployment:
    """The default deployment, support and fraud also allowed to create sandbox tables."""
    loaded = load_deployment(REPO / "catalog", REPO / "policies")
    purposes = dict(loaded.policies.purposes)
    for name in ("support", "fraud"):
        purposes[name] = purposes[name].model_copy(update={
            "writes": {"sandbox.*": [WriteKind.CREATE_TABLE, WriteKind.INSERT]}})
    return replace(loaded, policies=replace(loaded.policies,
                                            purposes=MappingProxyType(purposes)))


class World:
    """A deployment that records what allowed writes create, as the proxy does."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def run(self, user: str, sql: str, purpose: str | None = None) -> Allow | Reject:
        (decision,) = check(self.deployment, user, purpose, sql)
        if isinstance(decision, Allow):
            for table in (decision.records,
                          decision.effect.table if isinstance(decision.effect, RecordTable)
                          else None):
                if table is not None:
                    self.deployment = replace(self.deployment, catalog=self.deployment.catalog
                                              .with_table(table.schema, table.name, table.columns,
                                                          table.description, table.derivation))
        return decision

    def allowed(self, user: str, sql: str, purpose: str | None = None) -> Allow:
        decision = self.run(user, sql, purpose)
        assert isinstance(decision, Allow), decision
        return decision

    def refused(self, user: str, sql: str, purpose: str | None = None) -> Reject:
        decision = self.run(user, sql, purpose)
        assert isinstance(decision, Reject), decision
        assert decision.sqlstate == "42501" and decision.hint
        return decision

    def derivation(self, name: str) -> Derivation:
        table = self.deployment.catalog.table("sandbox", name)
        assert table is not None and table.derivation is not None
        return table.derivation


# --- every deterministic mask: stored masked, read as stored, never masked twice ---------------


@pytest.mark.parametrize(("user", "purpose", "column", "source", "mask_sql"), [
    ("ana", None, "email", "shop.customers", "mask_hash"),             # hash
    ("ana", None, "full_name", "shop.customers", "[REDACTED]"),        # redact
    ("sam", None, "birth_date", "shop.customers", "date_trunc"),       # year
    ("sam", None, "card_number", "shop.payments", "repeat"),           # last4
    ("fran", "fraud", "phone", "shop.customers", "repeat"),            # last4
])
def test_masked_values_are_stored_masked_and_read_as_stored(
    deployment, user, purpose, column, source, mask_sql
):
    world = World(deployment)
    create = world.allowed(user, f"CREATE TABLE sandbox.t AS SELECT {column} FROM {source}",
                           purpose)
    assert mask_sql in create.sql  # masked on the way in
    derived = world.derivation("t").column(column)
    assert derived is not None and derived.written_as and not derived.chosen
    assert all(view.startswith("mask:") for view in derived.written_as.values())
    # a literal next to them: the same purpose reads the column as stored, unmasked
    world.allowed(user, f"INSERT INTO sandbox.t SELECT {column} FROM {source} WHERE false",
                  purpose)
    world.allowed(user, "INSERT INTO sandbox.t VALUES (NULL)", purpose)
    assert world.derivation("t").column(column).chosen  # type: ignore[union-attr]
    read = world.allowed(user, f"SELECT {column} FROM sandbox.t", purpose)
    cte = read.sql.split(") SELECT", 1)[0]
    assert mask_sql not in cte, read.sql


def test_a_masking_reader_never_masks_chosen_values_of_a_raw_column(deployment):
    world = World(deployment)
    world.allowed("mark", "CREATE TABLE sandbox.raw AS SELECT email, full_name FROM shop.customers")
    for user, purpose in (("ana", None), ("fran", "fraud")):
        assert "mask_hash" in world.allowed(user, "SELECT email FROM sandbox.raw", purpose).sql
    world.allowed("mark", "INSERT INTO sandbox.raw (email) VALUES ('guess@example.test')")
    for user, purpose in (("ana", None), ("fran", "fraud"), ("mark", "analytics")):
        refusal = world.refused(user, "SELECT email FROM sandbox.raw", purpose)
        assert "may hold values a user wrote" in refusal.message
    # the untouched column is still read masked
    assert "[REDACTED]" in world.allowed("ana", "SELECT full_name FROM sandbox.raw").sql


@pytest.mark.parametrize("expression", [
    "'x'", "$1", "email || ''", "coalesce(email, 'x')", "lower(email)",
    "CASE WHEN id = 1 THEN 'x' ELSE email END", "(SELECT email FROM shop.customers LIMIT 1)",
])
def test_anything_but_a_plain_column_counts_as_chosen(deployment, expression):
    world = World(deployment)
    world.allowed("mark", f"CREATE TABLE sandbox.c AS SELECT {expression} AS email, email AS e2 "
                  "FROM shop.customers")
    columns = world.derivation("c").columns
    assert columns["email"].chosen and not columns["e2"].chosen


def test_union_branches_and_derived_tables_are_followed_for_chosen_values(deployment):
    world = World(deployment)
    world.allowed("mark", "CREATE TABLE sandbox.u AS WITH x AS (SELECT email FROM "
                  "shop.customers) SELECT email FROM x UNION SELECT email FROM "
                  "(SELECT email FROM shop.customers) s")
    assert not world.derivation("u").columns["email"].chosen
    world.allowed("mark", "CREATE TABLE sandbox.u2 AS SELECT email FROM shop.customers "
                  "UNION ALL SELECT v FROM unnest(ARRAY['x']) AS t(v)")
    assert world.derivation("u2").columns["email"].chosen
    world.allowed("mark", "CREATE TABLE sandbox.u3 AS SELECT email FROM sandbox.u2")
    assert world.derivation("u3").columns["email"].chosen  # chosen values travel


# --- row policy records --------------------------------------------------------------------------


def test_a_copy_records_its_sources_keys_and_satisfied_filters(deployment):
    world = World(deployment)
    world.allowed("mark", "CREATE TABLE sandbox.k AS SELECT o.id AS order_id, o.customer_id, "
                  "c.id, c.email FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id")
    sources = world.derivation("k").sources
    assert sources["shop.customers"].keys == {"id": frozenset({"id"})}
    assert sources["shop.orders"].keys == {"customer_id": frozenset({"customer_id"}),
                                           "id": frozenset({"order_id"})}
    assert sources["shop.customers"].satisfied == {
        "shop.customers where marketing_consent = true"}
    read = world.allowed("sam", "SELECT email FROM sandbox.k")
    assert "country = 'DE'" in read.sql and "MATERIALIZED (" in read.sql


def test_a_table_recorded_before_row_policies_is_closed_to_filtering_purposes(deployment):
    catalog = deployment.catalog.with_table(
        "sandbox", "old", [ColumnEntry("id", "integer", frozenset({"identifier.customer"}))],
        derivation=unknown_origin())
    world = World(replace(deployment, catalog=catalog))
    assert "recorded without the row policy" in world.refused(
        "sam", "SELECT id FROM sandbox.old").message
    world.refused("mark", "SELECT id FROM sandbox.old")
    world.allowed("ana", "SELECT id FROM sandbox.old")
    # what is derived from it keeps the unknown origin
    world.allowed("ana", "CREATE TABLE sandbox.newer AS SELECT id FROM sandbox.old")
    world.refused("sam", "SELECT id FROM sandbox.newer")


def test_merge_keeps_only_what_holds_for_both_writes():
    keyed = SourceRows("shop.customers", MappingProxyType({"id": frozenset({"a"})}),
                       frozenset({"f1", "f2"}), None)
    other = SourceRows("shop.customers", MappingProxyType({"id": frozenset({"b"})}),
                       frozenset({"f1"}), 10)
    lost = SourceRows("shop.customers", MappingProxyType({}), frozenset({"f1"}), 10)
    first = Derivation(MappingProxyType({"shop.customers": keyed}),
                       MappingProxyType({"a": DerivedColumn({}, False)}))
    both = merge(first, Derivation(MappingProxyType({"shop.customers": other}),
                                   MappingProxyType({"a": DerivedColumn({}, True)})))
    rows = both.sources["shop.customers"]
    assert rows.keys == {"id": frozenset({"a", "b"})} and rows.satisfied == {"f1"}
    assert rows.aggregate_k is None and both.columns["a"].chosen
    assert merge(first, Derivation(MappingProxyType({"shop.customers": lost}))).sources[
        "shop.customers"].keys == {}
    assert forget_keys(both, frozenset({"a"})).sources["shop.customers"].keys == {
        "id": frozenset({"b"})}
    assert from_document(to_document(both)) == both


@pytest.mark.parametrize("document", [
    {"sources": {"shop.customers": {"aggregate_k": 0}}},
    {"sources": {"shop.customers": {"aggregate_k": "10"}}},
    {"sources": ["shop.customers"]},
])
def test_a_malformed_record_is_refused(document):
    with pytest.raises(ValueError):
        from_document(document)


def test_subject_filters_reach_every_table_with_the_key_label(deployment):
    purposes = dict(deployment.policies.purposes)
    purposes["support"] = purposes["support"].model_copy(update={
        "subject_filters": {"customer": "country = {{ user.country }}"}})
    world = World(replace(deployment, policies=replace(
        deployment.policies, purposes=MappingProxyType(purposes))))
    for table in ("orders", "web_events", "support_tickets"):
        sql = world.allowed("sam", f"SELECT count(*) FROM shop.{table}").sql
        assert ('"customer_id" IN (SELECT "id" FROM "shop"."customers" WHERE '
                "country = 'DE')") in sql, sql
    assert "IN (SELECT" not in world.allowed("sam", "SELECT count(*) FROM shop.customers").sql
    assert "IN (SELECT" not in world.allowed("sam", "SELECT count(*) FROM shop.products").sql
    assert isinstance(Purpose.model_validate({"subject_filters": {"customer": "true"}}), Purpose)


def test_columns_derived_through_control_flow_carry_the_labels(deployment):
    """A join binding or a CASE condition decides the value: its column's labels are recorded,
    so analytics cannot read back, raw, the birth years fraud bound to a list of years."""
    world = World(deployment)
    world.allowed("fran", "CREATE TABLE sandbox.years AS SELECT c.id, y.v FROM shop.customers c "
                  "JOIN unnest(ARRAY[1990, 1991, 1992]) AS y(v) "
                  "ON extract(year FROM c.birth_date) = y.v", "fraud")
    table = world.deployment.catalog.table("sandbox", "years")
    column = table.column("v") if table is not None else None
    assert column is not None and "pii.birthdate" in column.labels
    refusal = world.refused("ana", "SELECT v FROM sandbox.years")
    assert "pii.birthdate" in refusal.message
    world.allowed("ana", "CREATE TABLE sandbox.flags AS SELECT id, CASE WHEN email LIKE 'a%' "
                  "THEN 1 ELSE 0 END AS a FROM shop.customers")
    flags = world.deployment.catalog.table("sandbox", "flags")
    flag = flags.column("a") if flags is not None else None
    assert flag is not None and "pii.contact.email" in flag.labels
    assert world.derivation("flags").columns["a"].chosen
