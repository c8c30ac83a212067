"""The audit trail as an operator and an auditor depend on it.

The file is private (0600: it holds statement literals), survives logrotate (SIGHUP reopens
it), records refused connections (failed logins, unknown users, ungranted purposes) without
the password, logs refusals at level warning, and its events are uniform: one field name for
the statement fingerprint, the client address and the proxy instance on decisions, shadow
findings as structured records.
"""

from __future__ import annotations

import os
import signal
import stat
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.support.proxy_process import ProxyProcess, start_proxy

pytestmark = pytest.mark.timeout(120)

WRONG_PASSWORD = "not-the-password-7c1e"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    workdir = tmp_path_factory.mktemp("audited")  # a DuckDB file is one process's alone
    running = start_proxy(workdir, workdir / "acme.duckdb")
    yield running
    running.stop()


def wait_until(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def events_with(proxy: ProxyProcess, marker: str, name: str) -> list[dict[str, Any]]:
    return [e for e in proxy.audit_events()
            if e.get("event") == name and marker in str(e.get("statement"))]


def test_the_audit_file_is_private(audited: ProxyProcess) -> None:
    assert stat.S_IMODE(audited.audit_file.stat().st_mode) == 0o600


def test_sighup_reopens_the_audit_file_after_logrotate(audited: ProxyProcess) -> None:
    rotated = audited.audit_file.with_name(audited.audit_file.name + ".1")
    with psycopg.connect(**audited.conninfo("ana"), autocommit=True) as conn:
        conn.execute("SELECT 1 /* before-rotation */")
        os.rename(audited.audit_file, rotated)
        audited.process.send_signal(signal.SIGHUP)
        assert wait_until(audited.audit_file.exists)
        conn.execute("SELECT 1 /* after-rotation */")
    assert wait_until(lambda: events_with(audited, "after-rotation", "statement"))
    assert stat.S_IMODE(audited.audit_file.stat().st_mode) == 0o600
    old = rotated.read_text()
    assert "before-rotation" in old and "after-rotation" not in old


def test_refused_connections_are_audited_without_the_password(audited: ProxyProcess) -> None:
    attempts = [
        ({"user": "ana", "password": WRONG_PASSWORD}, "ana", True),
        ({"user": "nobody_here", "password": WRONG_PASSWORD}, "nobody_here", False),
        ({"user": "ana", "password": "ana", "options": "-c purpose=fraud"}, "ana", True),
    ]
    for params, _, _ in attempts:
        # sslmode require: with prefer, libpq tries again without TLS after a refusal.
        conninfo = {**audited.conninfo(params["user"]), **params, "sslmode": "require"}
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(**conninfo)
    refused = [e for e in audited.audit_events()
               if e.get("event") == "connection" and e.get("event_kind") == "refused"]
    for (_, user, known), event in zip(attempts, refused[-3:], strict=True):
        assert event["user"] == user and event["known_user"] is known
        assert event["level"] == "warning"
        assert event["client"].startswith("127.0.0.1:")
        assert event["sqlstate"] in ("28P01", "42501")
    assert refused[-1]["purpose"] == "fraud" and refused[-1]["sqlstate"] == "42501"
    assert WRONG_PASSWORD not in audited.audit_file.read_text()


def test_rejections_are_warnings_and_events_are_uniform(audited: ProxyProcess) -> None:
    marker = "/* uniform-check */"
    with psycopg.connect(**audited.conninfo("ana"), autocommit=True) as conn:
        conn.execute(f"SELECT count(*) FROM shop.customers {marker}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT phone FROM shop.customers {marker}")
    decisions = events_with(audited, marker, "decision")
    statements = events_with(audited, marker, "statement")
    assert [e["decision"] for e in decisions[-2:]] == ["allow", "reject"]
    assert [e["level"] for e in decisions[-2:]] == ["info", "warning"]
    assert statements[-1]["outcome"] == "rejected" and statements[-1]["level"] == "warning"
    instances = {e["instance"] for e in audited.audit_events()}
    assert len(instances) == 1 and len(instances.pop()) >= 8
    for event in (*decisions[-2:], *statements[-2:]):
        assert len(event["statement_fingerprint"]) == 16
        assert "fingerprint" not in event
        assert event["client"].startswith("127.0.0.1:")


def test_shadow_findings_are_structured(audited: ProxyProcess) -> None:
    marker = "/* shadow-structured */"
    with psycopg.connect(**audited.conninfo("sam"), autocommit=True) as conn:
        conn.execute(f"SELECT sum(total_cents) FROM shop.orders {marker}")
    event = events_with(audited, marker, "decision")[-1]
    assert event["decision"] == "allow"
    finding = next(f for f in event["shadow"] if f["column"] == "shop.orders.total_cents")
    assert finding["label"] == "business.revenue"
    assert finding["action"] == "reject"
    assert finding["rule"] == "deny"
    assert finding["purpose"] == "support"
    assert "total_cents" in finding["detail"]
