"""Configuration as code, live: SIGHUP reloads it, a broken file keeps the last good one, and
on PostgreSQL the labels teams write in column COMMENTs govern columns the YAML does not list."""

from __future__ import annotations

import shutil
import signal
import time

import psycopg
import pytest
from psycopg import errors

from tests.support.proxy_process import REPO, ProxyProcess, start_proxy

pytestmark = pytest.mark.timeout(90)


def _phone(proxy: ProxyProcess) -> str | None:
    with psycopg.connect(**proxy.conninfo("ana"), autocommit=True) as conn:
        try:
            return conn.execute("SELECT phone FROM shop.customers WHERE id = 1").fetchone()[0]
        except errors.InsufficientPrivilege:
            return None


def _reload(proxy: ProxyProcess, marker: str) -> None:
    proxy.process.send_signal(signal.SIGHUP)
    log = proxy.audit_file.parent / "proxy.log"
    deadline = time.monotonic() + 10
    while marker not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker in log.read_text(), log.read_text()[-2000:]


def test_sighup_reloads_and_a_broken_file_keeps_the_last_good_configuration(tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    proxy = start_proxy(tmp_path / "proxy", tmp_path / "acme.duckdb",
                        policies_dir=str(policies))
    try:
        assert _phone(proxy) is None  # analytics: phone denied
        purposes = policies / "purposes.yaml"
        good = purposes.read_text()
        purposes.write_text(good + "\n  broken: [this is not a purpose\n")
        _reload(proxy, "keeping the last good one")
        assert _phone(proxy) is None  # still the last good configuration, still serving
        purposes.write_text(good.replace("      pii.contact.phone: deny\n",
                                         "      pii.contact.phone: allow\n", 1))
        _reload(proxy, "configuration reloaded")
        assert _phone(proxy) is not None  # the new rule governs new statements
    finally:
        proxy.stop()


def test_a_broken_reload_lists_each_problem_on_its_own_line_in_words(tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    proxy = start_proxy(tmp_path / "proxy", tmp_path / "acme.duckdb",
                        policies_dir=str(policies))
    try:
        purposes = policies / "purposes.yaml"
        broken = purposes.read_text()
        for good, bad in [  # the entries themselves, not examples in comments
                ('shop.customers: "marketing_consent = true"',
                 'shop.customers: "marketing_consent = = true"'),
                ('shop.customers: "country = {{ user.country }}"',
                 'shop.customers: "country = {{ user.country }} AND"')]:
            assert good in broken
            broken = broken.replace(good, bad, 1)
        purposes.write_text(broken)
        _reload(proxy, "keeping the last good one")
        log = (proxy.audit_file.parent / "proxy.log").read_text()
        lines = log[log.index("keeping the last good one"):].splitlines()
        problems = [line for line in lines[1:] if "row_filters.shop.customers" in line]
        assert len(problems) == 2, lines[:6]
        assert any('syntax error at or near "="' in line for line in problems)
        assert any("something is missing" in line for line in problems)
        assert "\\n" not in log and "sqlglot" not in log and "<class" not in log
    finally:
        proxy.stop()


def test_column_comments_annotate_where_data_is_born(tmp_path):
    from tests.support.postgres import ClusterUnavailable
    from tests.support.requirements import require
    from tests.support.warehouses import demo_postgres

    try:
        context = demo_postgres(tmp_path / "pg")
        warehouse = context.__enter__()
    except ClusterUnavailable as exc:
        require(False, str(exc))
    try:
        with psycopg.connect(warehouse.admin_conninfo, autocommit=True) as admin:
            admin.execute("ALTER TABLE shop.customers ADD COLUMN loyalty_tier text "
                          "DEFAULT 'gold'")
            admin.execute("ALTER TABLE shop.customers ADD COLUMN nickname text DEFAULT 'x'")
            admin.execute("COMMENT ON COLUMN shop.customers.loyalty_tier IS "
                          "'Tier of the loyalty programme. labels: none'")
            admin.execute("COMMENT ON COLUMN shop.customers.nickname IS 'labels: pii.name'")
            admin.execute("ALTER TABLE shop.customers ADD COLUMN secret_note text DEFAULT 's'")
        proxy = start_proxy(tmp_path / "proxy", tmp_path / "unused.duckdb",
                            backend="postgres", postgres=warehouse.proxy_settings())
        try:
            with psycopg.connect(**proxy.conninfo("ana"), autocommit=True) as conn:
                # Annotated by COMMENT as not sensitive: readable.
                assert conn.execute("SELECT loyalty_tier FROM shop.customers WHERE id = 1"
                                    ).fetchone() == ("gold",)
                # Labelled pii.name by COMMENT: analytics sees it redacted.
                assert conn.execute("SELECT nickname FROM shop.customers WHERE id = 1"
                                    ).fetchone() == ("[REDACTED]",)
                # Neither YAML nor COMMENT: unannotated, unreadable by every purpose.
                with pytest.raises(errors.UndefinedColumn):
                    conn.execute("SELECT secret_note FROM shop.customers")
            with psycopg.connect(**proxy.conninfo("etl"), autocommit=True) as conn:
                cursor = conn.execute("SELECT * FROM shop.customers LIMIT 1")
                names = [column.name for column in cursor.description]
            assert "loyalty_tier" in names and "nickname" in names
            assert "secret_note" not in names  # `*` sees annotated columns only
        finally:
            proxy.stop()
    finally:
        context.__exit__(None, None, None)
