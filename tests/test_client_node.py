"""node-postgres (`pg` from npm) against the running proxy: SCRAM, TLS, extended and simple
protocol. tests/node/query.js does the talking and prints JSON; the assertions are here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import customers_by_id, table
from tests.support.proxy_process import ProxyProcess
from tests.support.requirements import require

pytestmark = [pytest.mark.node, pytest.mark.timeout(120)]

NODE_DIR = Path(__file__).resolve().parent / "node"


def _install_pg() -> None:
    """`npm install` into tests/node once (node_modules is git-ignored)."""
    require(shutil.which("node") is not None, "node (Node.js) is not installed")
    require(shutil.which("npm") is not None, "npm is not installed")
    if (NODE_DIR / "node_modules" / "pg" / "package.json").is_file():
        return
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund"],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"npm install failed:\n{result.stdout}\n{result.stderr}"
    assert (NODE_DIR / "node_modules" / "pg" / "package.json").is_file()


def _run_query_js(proxy: ProxyProcess, ssl: bool, customer_id: int = 7) -> dict[str, Any]:
    _install_pg()
    config = {
        "host": proxy.host, "port": proxy.port, "database": proxy.database,
        "user": "ana", "password": "ana", "ssl": ssl, "customerId": customer_id,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = subprocess.run(
        ["node", "query.js", json.dumps(config)],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=60, env=env,
    )
    assert result.returncode == 0, f"query.js failed:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def plain(proxy: ProxyProcess) -> dict[str, Any]:
    return _run_query_js(proxy, ssl=False, customer_id=7)


@pytest.fixture(scope="module")
def encrypted(proxy: ProxyProcess) -> dict[str, Any]:
    return _run_query_js(proxy, ssl=True, customer_id=1111)


def _customer(customer_id: int) -> dict[str, Any]:
    c = customers_by_id()[customer_id]
    return {"id": c["id"], "country": c["country"], "marketing_consent": c["marketing_consent"]}


def test_parameterized_query(plain: dict[str, Any]) -> None:
    assert plain["param"]["rows"] == [_customer(7)]
    assert plain["param"]["fields"] == [["id", 23], ["country", 25], ["marketing_consent", 16]]


def test_typed_parameters(plain: dict[str, Any]) -> None:
    typed = plain["typed"]
    assert typed["n"] == 42
    assert typed["t"] == "héllo"
    assert typed["b"] is True


def test_numeric_parameter_keeps_its_scale(plain: dict[str, Any]) -> None:
    # pg returns numeric as a string: PostgreSQL prints '12.50'::numeric as 12.50.
    assert plain["typed"]["num"] == "12.50"


def test_named_prepared_statement_reused(plain: dict[str, Any]) -> None:
    customers = customers_by_id()
    assert plain["named"] == [customers[i]["country"] for i in (1, 2, 3)]


def test_simple_query(plain: dict[str, Any]) -> None:
    # count(*) is bigint, which pg returns as a string.
    assert plain["simple"] == {
        "rows": [{"n": str(len(table("customers")))}], "command": "SELECT", "rowCount": 1,
    }


def test_multi_statement_simple_query(plain: dict[str, Any]) -> None:
    assert plain["multi"] == [[{"a": 1}], [{"b": 2}]]


def test_error_then_connection_usable(plain: dict[str, Any]) -> None:
    assert plain["error"]["code"] == "42601"
    assert "SELEC" in plain["error"]["message"]
    assert plain["after"] == 7


def test_session_user_and_application_name(plain: dict[str, Any]) -> None:
    assert plain["session"]["who"] == "ana"
    assert plain["session"]["app"] == "node-pg-test"


def test_plain_connection_is_not_encrypted(plain: dict[str, Any]) -> None:
    assert plain["ssl"] is False


def test_tls_connection(encrypted: dict[str, Any]) -> None:
    assert encrypted["ssl"] is True
    assert encrypted["param"]["rows"] == [_customer(1111)]
    assert encrypted["simple"]["rows"] == [{"n": "1200"}]
    assert encrypted["after"] == 7
