"""The first hour of a new user: the demo says what it is doing while it installs, and once
it listens it says who can log in, what to paste, and where the audit trail goes."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.proxy_process import REPO

FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for python3: `-m venv DIR` makes DIR/bin/python, a pip that reports packages.
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && exit 0
fi
if [ "$1" = -m ] && [ "$2" = pip ]; then
  case " $* " in *" -e "*) echo "Collecting duckdb"; echo "noise"; echo "Collecting sqlglot";
    echo "Successfully installed duckdb sqlglot";; esac
  exit 0
fi
exit 0
"""


def test_the_demo_install_shows_progress(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "_env.sh", clone / "scripts" / "_env.sh")
    shutil.copy(REPO / "pyproject.toml", clone / "pyproject.toml")
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = subprocess.run(
        ["bash", "-c", "source scripts/_env.sh"], cwd=clone, capture_output=True, text=True,
        env={**os.environ, "PYTHON": str(fake)}, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("purpose-proxy: creating the virtualenv")
    assert lines[1].startswith("purpose-proxy: installing dependencies")
    assert "  Collecting duckdb" in lines and "  Collecting sqlglot" in lines
    assert "noise" not in result.stderr
    assert lines[-1] == "purpose-proxy: dependencies installed"


def test_the_demo_says_who_can_log_in_and_where_the_audit_goes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURPOSE_PROXY_")}
    env.update({"PURPOSE_PROXY_STATE_DIR": str(tmp_path / "var"),
                "PURPOSE_PROXY_DUCKDB__PATH": str(tmp_path / "var" / "acme.duckdb")})
    process = subprocess.Popen(
        [sys.executable, "-m", "proxy", "serve", "--port", "0"],  # no --config: the demo
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        out: list[str] = []
        for line in process.stdout:
            out.append(line)
            if line.startswith("Stop with Ctrl-C"):
                break
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        text = "".join(out)
        port = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
        assert port is not None, text
        for user in ("ana", "etl", "fran", "mark", "sam"):
            assert re.search(rf"^  {user}\s+{user}\s+purposes: ", text, re.MULTILINE), text
        assert (f'psql "postgresql://ana:ana@127.0.0.1:{port.group(1)}/acme" '
                '-c "SELECT count(*) FROM shop.customers"') in text
        assert "Audit events (JSON lines) go to: stderr" in text
    finally:
        process.terminate()
        process.wait(timeout=30)
