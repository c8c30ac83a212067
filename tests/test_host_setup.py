"""The README's steps for a plain host, run as written against the machine's PostgreSQL.

Only the names differ (a role and database of the test's own, so parallel runs do not meet),
given as the environment overrides the README mentions; the config is deploy/host.yaml itself.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator

import psycopg
import pytest

from tests.support.proxy_process import REPO
from tests.support.requirements import require

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]

ADMIN = {"host": "127.0.0.1", "port": 5432, "dbname": "postgres", "user": "postgres",
         "connect_timeout": 3}


@pytest.fixture
def names() -> Iterator[tuple[str, str, str]]:
    try:
        psycopg.connect(**ADMIN).close()
    except psycopg.OperationalError as exc:
        require(False, f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    suffix = secrets.token_hex(4)
    role, database, password = f"pp_host_{suffix}", f"pp_host_{suffix}", secrets.token_hex(8)
    yield role, database, password
    with psycopg.connect(**ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_plain_host_steps_of_the_readme_work(tmp_path, names) -> None:
    role, database, password = names
    readme = (REPO / "README.md").read_text()
    assert "--config deploy/host.yaml" in readme and "--grant-to purpose_proxy" in readme
    with psycopg.connect(**ADMIN, autocommit=True) as conn:  # the two psql lines
        conn.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        conn.execute(f'CREATE DATABASE "{database}"')
    loaded = subprocess.run(
        [sys.executable, "-m", "proxy", "load-demo", "--dsn",
         f"postgresql://postgres@127.0.0.1:5432/{database}", "--grant-to", role],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURPOSE_PROXY_")}
    env.update({
        "PURPOSE_PROXY_POSTGRES__PASSWORD": password,
        "PURPOSE_PROXY_POSTGRES__USER": role,
        "PURPOSE_PROXY_POSTGRES__DATABASE": database,
        "PURPOSE_PROXY_STATE_DIR": str(tmp_path / "var"),
        "PURPOSE_PROXY_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "proxy", "serve", "--config", "deploy/host.yaml", "--port", "0"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        output: list[str] = []
        port = None
        for line in process.stdout:
            output.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
                break
        assert port is not None, "".join(output)
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        with psycopg.connect(host="127.0.0.1", port=port, dbname="acme", user="ana",
                             password="ana") as conn:
            assert conn.execute("SELECT count(*) FROM shop.customers").fetchone() == (1200,)
        assert "schema not created" not in "".join(output)
    finally:
        process.terminate()
        process.wait(timeout=30)
