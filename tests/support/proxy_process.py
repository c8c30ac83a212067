"""Run the real proxy as a subprocess (`python -m proxy serve`) with its own config."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

REPO = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (?P<host>[^:]+):(?P<port>\d+)")


@dataclass
class ProxyProcess:
    process: subprocess.Popen[str]
    host: str
    port: int
    audit_file: Path
    database: str = "acme"

    def dsn(self, user: str = "ana", password: str | None = None, **params: str) -> str:
        password = user if password is None else password
        query = "&".join(f"{k}={v}" for k, v in params.items())
        base = f"postgresql://{user}:{password}@{self.host}:{self.port}/{self.database}"
        return f"{base}?{query}" if query else base

    def conninfo(self, user: str = "ana", **params: str) -> dict[str, object]:
        return {"host": self.host, "port": self.port, "dbname": self.database, "user": user,
                "password": params.pop("password", user), **params}

    def audit_events(self) -> list[dict[str, object]]:
        if not self.audit_file.exists():
            return []
        return [json.loads(line) for line in self.audit_file.read_text().splitlines() if line]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def start_proxy(workdir: Path, duckdb_path: Path, **settings: object) -> ProxyProcess:
    """Start a proxy on a free port; returns once it accepts connections."""
    workdir.mkdir(parents=True, exist_ok=True)
    audit_file = workdir / "audit.jsonl"
    config = {
        "host": "127.0.0.1",
        "port": 0,
        "state_dir": str(workdir / "state"),
        "catalog_dir": str(REPO / "catalog"),
        "policies_dir": str(REPO / "policies"),
        "duckdb": {"path": str(duckdb_path)},
        "audit_log": str(audit_file),
        **settings,
    }
    config_file = workdir / "proxy.yaml"
    config_file.write_text(yaml.safe_dump(config))
    log_file = (workdir / "proxy.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PURPOSE_PROXY_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "proxy", "serve", "--config", str(config_file)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=log_file, text=True, env=env,
    )
    deadline = time.monotonic() + 120
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = _LISTENING.search(line)
        if match:
            # Keep reading stdout so a chatty proxy can never block on a full pipe.
            threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
            return ProxyProcess(process, match["host"], int(match["port"]), audit_file)
    process.kill()
    raise RuntimeError(
        "proxy did not start:\n" + (workdir / "proxy.log").read_text(errors="replace")[-4000:]
    )
