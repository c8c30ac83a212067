"""Catalog introspection: labels from column COMMENTs, the catalog checked against PostgreSQL.

The parser and the comparison are pure and tested without a server; the end-to-end tests run
against the local PostgreSQL in a scratch database with the demo loaded, then drift it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from proxy.catalog.comments import (
    CommentSyntaxError,
    labels_from_comment,
    parse_comment,
)
from proxy.catalog.introspect import (
    COMMENT_SOURCE,
    IntrospectionReport,
    WarehouseColumn,
    WarehouseTable,
    build_report,
    introspect,
    log_report,
    merge_comment_annotations,
    same_type,
)
from proxy.catalog.model import Catalog, ColumnEntry, TableEntry
from proxy.demo.data import load_into_postgres
from proxy.policy import load_deployment
from proxy.settings import PostgresSettings
from tests.test_load_demo_cli import fetch, scratch_database

REPO = Path(__file__).resolve().parent.parent

# --- the COMMENT syntax ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "labels"),
    [
        ("labels: pii.contact.email", {"pii.contact.email"}),
        ("Contact address. labels: pii.contact.email", {"pii.contact.email"}),
        ("labels: pii.name, pii.contact.email", {"pii.name", "pii.contact.email"}),
        ("labels: none", set()),  # annotated: not sensitive
        ("labels: NONE", set()),
        ("Surrogate key.\nlabels: none", set()),
        # The keyword in any case, spaces anywhere around the punctuation.
        ("LABELS: pii.name", {"pii.name"}),
        ("Labels : pii.name", {"pii.name"}),
        ("labels:pii.name,pii.birthdate", {"pii.name", "pii.birthdate"}),
        ("  labels:   pii.name ,   geo.country   ", {"pii.name", "geo.country"}),
        # Several lines: the annotation is its own line; the rest is description.
        ("First line.\n  labels: pii.free_text\nThird line.", {"pii.free_text"}),
        ("Windows.\r\nlabels: pii.name\r\nmore", {"pii.name"}),
        # After the end of a sentence.
        ("Who wrote it; labels: pii.name", {"pii.name"}),
        ("Is it personal? labels: pii.name", {"pii.name"}),
        ("Owner: CRM team | labels: pii.name", {"pii.name"}),
    ],
)
def test_comment_labels(comment: str, labels: set[str]) -> None:
    assert labels_from_comment(comment) == frozenset(labels)


@pytest.mark.parametrize(
    "comment",
    [
        None,  # col_description() is NULL: no comment at all
        "",
        "Contact address.",
        "labels",  # no colon
        # `labels:` inside other words, or in the middle of a sentence, is prose.
        "relabels: pii.name",
        "mislabels:pii.name",
        "Carrier labels: printed at the depot",
        "the shipping labels: see the box",
        "labels_v2: pii.name",
        "Contact.labels: pii.name",  # no space after the full stop: not a new sentence
        "See 'labels' in the wiki",
    ],
)
def test_comments_without_annotation(comment: str | None) -> None:
    assert labels_from_comment(comment) is None


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("labels:", "nothing after it"),
        ("labels:   ", "nothing after it"),
        ("Some text. labels:\nlabels on the next line do not count", "nothing after it"),
        ("labels: pii.name,, geo.country", "empty label"),
        ("labels: pii.name,", "empty label"),
        ("labels: none, pii.name", "cannot be combined"),
        ("labels: pii.name, pii.name", "listed twice"),
        ("labels: pii.name\nlabels: geo.country", "2 'labels:' segments"),
        ("labels: PII.Name", "not a label name: 'PII.Name'"),  # names are not case-folded
        ("labels: pii-contact", "not a label name"),
        ("labels: pii.name geo.country", "not a label name: 'pii.name geo.country'"),
        ("labels: pii.name. Reviewed 2024.", "not a label name"),
        ("labels: pii..name", "not a label name"),
    ],
)
def test_malformed_annotations_are_errors(comment: str, message: str) -> None:
    with pytest.raises(CommentSyntaxError, match=message.replace("?", r"\?")):
        labels_from_comment(comment)
    assert issubclass(CommentSyntaxError, ValueError)


def test_description_is_the_rest_of_the_comment() -> None:
    assert parse_comment("Contact address. labels: pii.contact.email").description == (
        "Contact address."
    )
    assert parse_comment("Free text.\nlabels: pii.free_text\nKeep 90 days.").description == (
        "Free text.\nKeep 90 days."
    )
    assert parse_comment("labels: none").description is None


# --- comparing a catalog with what the warehouse holds (pure) -------------------------------

DECLARED = frozenset({"pii", "pii.name", "pii.contact", "pii.contact.email", "geo", "geo.country"})


def _catalog(*tables: TableEntry, schemas: tuple[str, ...] = ()) -> Catalog:
    return Catalog.build(tables, DECLARED, schemas)


def _people_entry() -> TableEntry:
    return TableEntry("crm", "people", (
        ColumnEntry("id", "integer", frozenset(), primary_key=True),
        ColumnEntry("name", "text", frozenset({"pii.name"})),
        ColumnEntry("country", "text", frozenset({"geo.country"})),
    ), source=Path("catalog/crm.yaml"))


def _warehouse_people(*extra: WarehouseColumn, comments: dict[str, str] | None = None) -> WarehouseTable:
    comments = comments or {}
    base = [("id", "integer"), ("name", "text"), ("country", "text")]
    columns = tuple(
        WarehouseColumn(name, type_, i + 1, comments.get(name), name == "id")
        for i, (name, type_) in enumerate(base)
    )
    return WarehouseTable("crm", "people", columns + extra)


@pytest.mark.parametrize(
    ("catalog_type", "warehouse_type", "same"),
    [
        ("timestamp", "timestamp without time zone", True),
        ("timestamptz", "timestamp with time zone", True),
        ("integer", "integer", True),
        ("int4", "integer", True),
        ("float8", "double precision", True),
        ("varchar(20)", "character varying(20)", True),
        ("varchar", "character varying(20)", True),  # no modifiers in the catalog: any
        ("numeric", "numeric(12,2)", True),
        ("integer[]", "integer[]", True),
        ("bigint", "numeric(12,2)", False),
        ("varchar(20)", "character varying(40)", False),
        ("timestamp", "timestamp with time zone", False),
        ("text", "integer", False),
        ("integer", "integer[]", False),
    ],
)
def test_type_comparison(catalog_type: str, warehouse_type: str, same: bool) -> None:
    assert same_type(catalog_type, warehouse_type) is same


def test_matching_warehouse_is_clean() -> None:
    report = build_report(_catalog(_people_entry()), [_warehouse_people()], existing_schemas={"crm"})
    assert report.clean and report.finding_count == 0
    assert report.schemas == ("crm",)
    assert report.as_dict()["clean"] is True


def test_comment_outcomes_yaml_wins() -> None:
    warehouse = _warehouse_people(
        WarehouseColumn("email", "text", 4, "Contact. labels: pii.contact.email"),
        WarehouseColumn("tier", "text", 5, "labels: business.segment"),
        WarehouseColumn("notes", "text", 6, "labels: Free Text"),
        comments={"name": "labels: pii.name", "country": "labels: none"},
    )
    report = build_report(_catalog(_people_entry()), [warehouse])
    outcomes = {a.column: a.outcome for a in report.comment_annotations}
    assert outcomes == {
        "name": "agrees", "country": "overridden", "email": "merged", "tier": "refused",
    }
    problems = {p.column: p.kind for p in report.comment_problems}
    assert problems == {
        "country": "disagrees-with-catalog", "tier": "undeclared-label", "notes": "syntax",
    }
    assert {c.column for c in report.unannotated_columns} == {"tier", "notes"}

    merged = merge_comment_annotations(_catalog(_people_entry()), report)
    people = merged.table("crm", "people")
    assert people.column_names == ("id", "name", "country", "email")
    assert people.column("country").labels == frozenset({"geo.country"})  # YAML wins
    assert people.column("email") == ColumnEntry(
        "email", "text", frozenset({"pii.contact.email"}), "Contact.", False
    )
    assert people.column("tier") is None and people.column("notes") is None  # fail closed
    assert people.source == Path("catalog/crm.yaml")


def test_merged_columns_take_their_warehouse_position() -> None:
    warehouse = WarehouseTable("crm", "people", (
        WarehouseColumn("id", "integer", 1),
        WarehouseColumn("email", "text", 2, "labels: pii.contact.email"),
        WarehouseColumn("name", "text", 3),
        WarehouseColumn("country", "text", 4),
        WarehouseColumn("nick", "character varying(20)", 5, "labels: pii.name"),
    ))
    report = build_report(_catalog(_people_entry()), [warehouse])
    merged = merge_comment_annotations(_catalog(_people_entry()), report)
    people = merged.table("crm", "people")
    assert people.column_names == ("id", "email", "name", "country", "nick")
    assert people.column("nick").type == "character varying(20)"


def test_table_known_only_from_comments() -> None:
    warehouse = WarehouseTable("crm", "leads", (
        WarehouseColumn("id", "integer", 1, "labels: none", True),
        WarehouseColumn("email", "text", 2, "labels: pii.contact.email"),
    ))
    catalog = _catalog(schemas=("crm",))
    report = build_report(catalog, [warehouse])
    assert report.clean, report.as_dict()
    merged = merge_comment_annotations(catalog, report)
    leads = merged.table("crm", "leads")
    assert leads is not None and leads.column_names == ("id", "email")
    assert leads.column("id").primary_key and leads.column("id").labels == frozenset()
    # Not None: None marks a table recorded at run time, which the proxy persists itself.
    assert leads.source == COMMENT_SOURCE
    assert merged.declared_labels == catalog.declared_labels


def test_merge_rechecks_the_taxonomy_and_is_a_no_op_without_comments() -> None:
    warehouse = WarehouseTable("crm", "leads", (
        WarehouseColumn("email", "text", 1, "labels: pii.contact.email"),
    ))
    report = build_report(_catalog(), [warehouse], declared_labels={"pii.contact.email"})
    narrower = Catalog.build((), {"pii.name"})
    assert merge_comment_annotations(narrower, report).table("crm", "leads") is None
    catalog = _catalog(_people_entry())
    assert merge_comment_annotations(catalog, build_report(catalog, [])) is catalog


def test_unannotated_missing_and_mismatched() -> None:
    catalog = _catalog(_people_entry(), TableEntry("crm", "gone", (ColumnEntry("x", "int"),)))
    warehouse = [
        WarehouseTable("crm", "people", (
            WarehouseColumn("id", "bigint", 1),
            WarehouseColumn("name", "text", 2),
            WarehouseColumn("secret", "text", 4, "Internal. No labels here"),
        )),
        WarehouseTable("crm", "audit", (WarehouseColumn("at", "timestamp", 1),), "view"),
    ]
    report = build_report(catalog, warehouse, existing_schemas={"crm"}, schemas=["crm", "etl"])
    data = report.as_dict()
    assert data["missing_schemas"] == ["etl"]
    assert data["unannotated_tables"] == [
        {"schema": "crm", "table": "audit", "kind": "view", "columns": ["at"]}
    ]
    assert [(c["table"], c["column"]) for c in data["unannotated_columns"]] == [("people", "secret")]
    assert data["missing_tables"] == [{"schema": "crm", "table": "gone"}]
    assert data["missing_columns"] == [{"schema": "crm", "table": "people", "column": "country"}]
    assert data["type_mismatches"] == [{
        "schema": "crm", "table": "people", "column": "id",
        "catalog_type": "integer", "warehouse_type": "bigint",
    }]
    assert report.finding_count == data["findings"] == 6


def test_column_order_that_alias_lists_would_misread() -> None:
    # The catalog lists name before id; the warehouse has id first.
    reordered = TableEntry("crm", "people", (
        ColumnEntry("name", "text", frozenset({"pii.name"})),
        ColumnEntry("id", "integer", frozenset()),
        ColumnEntry("country", "text", frozenset({"geo.country"})),
    ))
    report = build_report(_catalog(reordered), [_warehouse_people()])
    assert [o.reason for o in report.column_order] == [
        "the catalog lists the columns in another order than the warehouse"
    ]
    # An unannotated column before annotated ones: `AS x(a, b, c)` renames it, not `country`.
    warehouse = WarehouseTable("crm", "people", (
        WarehouseColumn("id", "integer", 1),
        WarehouseColumn("ssn", "text", 2),
        WarehouseColumn("name", "text", 3),
        WarehouseColumn("country", "text", 4),
    ))
    report = build_report(_catalog(_people_entry()), [warehouse])
    assert len(report.column_order) == 1
    assert "ssn come before annotated ones" in report.column_order[0].reason
    # ... while one appended at the end is only unannotated.
    report = build_report(_catalog(_people_entry()), [_warehouse_people(WarehouseColumn("x", "int", 9))])
    assert report.column_order == () and len(report.unannotated_columns) == 1


def test_report_renders_as_log_lines_and_json() -> None:
    warehouse = _warehouse_people(
        WarehouseColumn("email", "text", 4, "labels: pii.contact.email"),
        WarehouseColumn("tier", "text", 5, "labels: business.segment"),
    )
    report = build_report(_catalog(_people_entry()), [warehouse])
    json.dumps(report.as_dict())  # JSON-ready
    with capture_logs() as logs:
        log_report(report, structlog.get_logger("test"))
    events = [(entry["log_level"], entry["event"]) for entry in logs]
    assert ("warning", "unannotated column: unreadable until labelled") in events
    assert ("warning", "column comment ignored (undeclared-label)") in events
    assert ("info", "annotation from column comment: merged") in events
    assert events[-1] == ("warning", "catalog introspection")
    tier = next(e for e in logs if e["event"] == "unannotated column: unreadable until labelled")
    assert tier["column"] == "crm.people.tier"
    lines = report.lines()
    assert any(line.startswith("WARNING unannotated column") and "crm.people.tier" in line
               for line in lines)
    assert lines[-1].startswith("WARNING catalog introspection") and "findings=2" in lines[-1]


# --- against PostgreSQL -----------------------------------------------------------------------


def _demo_catalog() -> Catalog:
    return load_deployment(REPO / "catalog", REPO / "policies").catalog


def _config(tmp_path: Path, dsn: str, port: int = 5432) -> Path:
    database = dsn.rsplit("/", 1)[1]
    path = tmp_path / "proxy.yaml"
    path.write_text(
        f"backend: postgres\n"
        f"catalog_dir: {REPO / 'catalog'}\n"
        f"policies_dir: {REPO / 'policies'}\n"
        f"state_dir: {tmp_path / 'state'}\n"
        f"postgres: {{host: 127.0.0.1, port: {port}, database: {database}, user: postgres, "
        f"sslmode: disable, connect_timeout: 5}}\n"
    )
    return path


def _introspect_cli(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", "introspect", "--config", str(config), *extra],
        cwd=REPO, check=False, capture_output=True, text=True, timeout=120,
    )


def _load(dsn: str) -> None:
    asyncio.run(load_into_postgres(dsn))
    fetch(dsn, "CREATE SCHEMA sandbox")


@pytest.mark.postgres
def test_freshly_loaded_demo_matches_the_catalog(tmp_path: Path) -> None:
    with scratch_database("pp_introspect") as dsn:
        _load(dsn)
        report = asyncio.run(introspect(dsn, _demo_catalog()))
        assert report.clean, report.lines()
        assert report.schemas == ("sandbox", "shop")
        result = _introspect_cli(_config(tmp_path, dsn))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "findings=0" in result.stdout


@pytest.mark.postgres
def test_drifted_warehouse_is_reported(tmp_path: Path) -> None:
    with scratch_database("pp_introspect") as dsn:
        asyncio.run(load_into_postgres(dsn))  # no sandbox schema: reported missing
        for statement in [
            # A column added by a migration: unannotated, so unreadable.
            "ALTER TABLE shop.customers ADD COLUMN loyalty_tier text",
            # ... labelled in a comment, with a label the taxonomy lacks: stays unannotated.
            "COMMENT ON COLUMN shop.customers.loyalty_tier IS 'labels: business.segment'",
            # A column annotated where it is born: merged.
            "ALTER TABLE shop.orders ADD COLUMN gift_message text",
            (
                "COMMENT ON COLUMN shop.orders.gift_message IS "
                "'What the buyer wrote on the card. labels: pii.free_text'"
            ),
            # An annotated column dropped from the warehouse, and a type changed under the catalog.
            "ALTER TABLE shop.web_events DROP COLUMN ip_address",
            "ALTER TABLE shop.payments ALTER COLUMN amount_cents TYPE numeric(14,2)",
            # A comment that disagrees with catalog/shop.yaml: the file wins.
            "COMMENT ON COLUMN shop.products.name IS 'labels: pii.name'",
            # One that agrees, and one in prose that is no annotation.
            "COMMENT ON COLUMN shop.customers.email IS 'Login. labels: pii.contact.email'",
            "COMMENT ON COLUMN shop.products.category IS 'Shelf labels: printed weekly'",
            # A table nobody annotated, and a view.
            "CREATE TABLE shop.coupons (code text PRIMARY KEY, customer_id integer)",
            "CREATE VIEW shop.big_orders AS SELECT id FROM shop.orders WHERE total_cents > 100000",
            # A schema the catalog does not know, brought in by a labelled comment ...
            "CREATE SCHEMA crm",
            "CREATE TABLE crm.leads (id integer PRIMARY KEY, email text, source text)",
            "COMMENT ON COLUMN crm.leads.id IS 'labels: none'",
            "COMMENT ON COLUMN crm.leads.email IS 'labels: pii.contact.email'",
            # ... and one with no labelled comment, which is not read at all.
            "CREATE SCHEMA scratch",
            "CREATE TABLE scratch.t (x integer)",
        ]:
            fetch(dsn, statement)

        catalog = _demo_catalog()
        report = asyncio.run(introspect(PostgresSettings(
            host="127.0.0.1", port=5432, database=dsn.rsplit("/", 1)[1], user="postgres",
            sslmode="disable",
        ), catalog))
        data = report.as_dict()
        assert not report.clean
        assert data["schemas"] == ["crm", "sandbox", "shop"]
        assert data["missing_schemas"] == ["sandbox"]
        assert data["unannotated_tables"] == [
            {"schema": "shop", "table": "big_orders", "kind": "view", "columns": ["id"]},
            {"schema": "shop", "table": "coupons", "kind": "table",
             "columns": ["code", "customer_id"]},
        ]
        assert [(c["schema"], c["table"], c["column"]) for c in data["unannotated_columns"]] == [
            ("crm", "leads", "source"),
            ("shop", "customers", "loyalty_tier"),
        ]
        assert data["missing_tables"] == []
        assert data["missing_columns"] == [
            {"schema": "shop", "table": "web_events", "column": "ip_address"}
        ]
        assert data["type_mismatches"] == [{
            "schema": "shop", "table": "payments", "column": "amount_cents",
            "catalog_type": "bigint", "warehouse_type": "numeric(14,2)",
        }]
        assert data["column_order"] == []
        assert {(a["table"], a["column"]): (a["labels"], a["outcome"])
                for a in data["comment_annotations"]} == {
            ("customers", "email"): (["pii.contact.email"], "agrees"),
            ("customers", "loyalty_tier"): (["business.segment"], "refused"),
            ("leads", "email"): (["pii.contact.email"], "merged"),
            ("leads", "id"): ([], "merged"),
            ("orders", "gift_message"): (["pii.free_text"], "merged"),
            ("products", "name"): (["pii.name"], "overridden"),
        }
        assert {(p["table"], p["column"]): p["kind"] for p in data["comment_problems"]} == {
            ("customers", "loyalty_tier"): "undeclared-label",
            ("products", "name"): "disagrees-with-catalog",
        }
        assert report.finding_count == 1 + 2 + 2 + 1 + 1 + 2

        merged = merge_comment_annotations(catalog, report)
        orders = merged.table("shop", "orders")
        assert orders.column_names[-1] == "gift_message"
        assert orders.column("gift_message").labels == frozenset({"pii.free_text"})
        assert orders.column("gift_message").description == "What the buyer wrote on the card."
        assert merged.table("shop", "customers").column("loyalty_tier") is None
        assert merged.table("shop", "products").column("name").labels == frozenset()
        leads = merged.table("crm", "leads")
        assert leads.column_names == ("id", "email") and leads.column("id").primary_key
        assert "crm" in merged.schemas and merged.table("scratch", "t") is None

        result = _introspect_cli(_config(tmp_path, dsn), "--json")
        assert result.returncode == 1, result.stderr
        assert json.loads(result.stdout) == data
        text = _introspect_cli(_config(tmp_path, dsn))
        assert text.returncode == 1
        assert "unannotated column: unreadable until labelled: column=shop.customers.loyalty_tier" in text.stdout


@pytest.mark.postgres
def test_unreachable_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    result = _introspect_cli(_config(tmp_path, "postgresql://x@127.0.0.1:1/acme", port=1))
    assert result.returncode == 2
    assert "cannot reach PostgreSQL at 127.0.0.1:1/acme" in result.stderr
    assert "Traceback" not in result.stderr


def test_introspect_needs_the_postgres_backend(tmp_path: Path) -> None:
    config = tmp_path / "proxy.yaml"
    config.write_text(
        f"catalog_dir: {REPO / 'catalog'}\npolicies_dir: {REPO / 'policies'}\n"
        f"state_dir: {tmp_path}\n"
    )
    result = _introspect_cli(config)
    assert result.returncode == 2
    assert "backend: postgres" in result.stderr


def test_report_type_is_exported() -> None:
    assert IntrospectionReport(schemas=()).clean


def _check_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", "check", "--config", str(config), *args],
        cwd=REPO, check=False, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.postgres
def test_check_decides_with_the_warehouse_comment_labels(tmp_path: Path) -> None:
    """`check` decides as the running proxy does: a table labelled only in COMMENTs is known
    (no false 42P01), and its labels apply."""
    with scratch_database("pp_check") as dsn:
        _load(dsn)
        fetch(dsn, "CREATE SCHEMA crm")
        fetch(dsn, "CREATE TABLE crm.leads (id integer PRIMARY KEY, email text)")
        fetch(dsn, "COMMENT ON COLUMN crm.leads.id IS 'labels: none'")
        fetch(dsn, "COMMENT ON COLUMN crm.leads.email IS 'labels: pii.contact.email'")
        config = _config(tmp_path, dsn)
        allowed = _check_cli(config, "--user", "ana", "--json", "SELECT id FROM crm.leads")
        assert allowed.returncode == 0, allowed.stdout + allowed.stderr
        assert json.loads(allowed.stdout)[0]["decision"] == "allow"
        masked = _check_cli(config, "--user", "ana", "--json", "SELECT email FROM crm.leads")
        decision = json.loads(masked.stdout)[0]
        assert decision["decision"] == "allow" and "mask_hash(" in decision["sql"]


def test_check_refuses_an_unknown_user_and_survives_a_closed_pipe() -> None:
    unknown = subprocess.run(
        [sys.executable, "-m", "proxy", "check", "--user", "nobody_here", "SELECT 1"],
        cwd=REPO, check=False, capture_output=True, text=True, timeout=120,
    )
    assert unknown.returncode == 2
    assert "unknown user 'nobody_here'" in unknown.stderr
    many = "; ".join(["SELECT email, phone FROM shop.customers"] * 300)
    process = subprocess.Popen(
        [sys.executable, "-m", "proxy", "check", "--user", "ana", many],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # as `| head -1` does
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
