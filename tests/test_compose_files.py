"""docker-compose.yml, the Dockerfile and deploy/: checked as far as a machine without a Docker
engine can check them.

The files are parsed and cross-checked (services, ports, mounts that exist in the repository,
start order, the proxy's settings file validated by the real settings loader, CLI arguments
accepted by the real parser); `docker compose config` validates the whole file when the docker
CLI (or docker-compose) is installed, which needs no engine; the warehouse's init script runs
against the local PostgreSQL when psql is installed.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from proxy.cli import build_parser
from proxy.policy import load_deployment
from proxy.settings import Settings, load_settings
from tests.test_load_demo_cli import _admin, fetch, scratch_database

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def _interpolated(value: str) -> str:
    """Compose's `${VAR:-default}` with VAR unset, as `docker compose up` sees it by default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def _mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) of the short volume syntax."""
    mounts = []
    for entry in service.get("volumes", []):
        parts = entry.split(":")
        mounts.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return mounts


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _proxy_config_path(compose: dict[str, Any]) -> Path:
    """The repository file mounted where `serve --config` reads its settings."""
    proxy = _service(compose, "proxy")
    target = _option(_command(proxy), "--config")
    sources = [source for source, mount, _ in _mounts(proxy) if mount == target]
    assert len(sources) == 1, f"{target} must be mounted from one file"
    return REPO / sources[0]


def _proxy_settings(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("PURPOSE_PROXY_"):
            monkeypatch.delenv(key)
    for key, value in _environment(_service(compose, "proxy")).items():
        monkeypatch.setenv(key, _interpolated(value))
    return load_settings(_proxy_config_path(compose))


# --- the services -----------------------------------------------------------------------------


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"warehouse", "load-demo", "proxy"}
    # One image, built once (by the proxy service), used by both.
    assert _service(compose, "proxy")["build"] in (".", {"context": "."})
    assert "build" not in _service(compose, "load-demo")
    assert _service(compose, "load-demo")["image"] == _service(compose, "proxy")["image"]
    assert _service(compose, "load-demo")["pull_policy"] == "never"


def test_warehouse(compose: dict[str, Any]) -> None:
    warehouse = _service(compose, "warehouse")
    assert warehouse["image"] == "postgres:16"
    environment = _environment(warehouse)
    assert {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"} <= set(environment)
    healthcheck = warehouse["healthcheck"]["test"]
    command = " ".join(healthcheck[1:]) if isinstance(healthcheck, list) else healthcheck
    assert "pg_isready" in command
    # Over TCP: during first initialisation the image's temporary server listens on the Unix
    # socket only, and must not count as ready (load-demo connects over the network).
    assert re.search(r"(--host[= ]|-h ?)127\.0\.0\.1", command), command
    # Data in a named volume, declared at the top level.
    data = [source for source, target, _ in _mounts(warehouse) if target == "/var/lib/postgresql/data"]
    assert data and data[0] in compose["volumes"]
    assert "ports" not in warehouse, "only the proxy is published: consumers never reach it"


def test_load_demo_runs_once_the_warehouse_is_healthy(compose: dict[str, Any]) -> None:
    load_demo = _service(compose, "load-demo")
    warehouse_env = _environment(_service(compose, "warehouse"))
    assert load_demo["depends_on"]["warehouse"]["condition"] == "service_healthy"
    assert str(load_demo.get("restart", "no")) == "no"

    command = _command(load_demo)
    assert command[0] == "load-demo"
    arguments = build_parser().parse_args(command)  # the real CLI accepts what compose passes
    assert arguments.if_missing and not arguments.drop  # `up` again keeps the data

    from urllib.parse import urlsplit

    dsn = urlsplit(arguments.dsn)
    assert dsn.hostname == "warehouse" and (dsn.port or 5432) == 5432
    assert dsn.path.lstrip("/") == warehouse_env["POSTGRES_DB"]
    assert dsn.username == warehouse_env["POSTGRES_USER"]
    assert dsn.password is None, "the password travels in PGPASSWORD, not the command line"
    assert _environment(load_demo)["PGPASSWORD"] == warehouse_env["POSTGRES_PASSWORD"]


def test_proxy_service(compose: dict[str, Any]) -> None:
    proxy = _service(compose, "proxy")
    command = _command(proxy)
    arguments = build_parser().parse_args(command)
    assert command[0] == "serve" and arguments.config == Path("/etc/purpose-proxy/proxy.yaml")
    # Published on this machine only by default: the demo passwords are the user names.
    assert [str(port) for port in proxy["ports"]] == ["${PROXY_PUBLISH_ADDRESS:-127.0.0.1}:6432:6432"]
    assert proxy["depends_on"] == {
        "warehouse": {"condition": "service_healthy"},
        "load-demo": {"condition": "service_completed_successfully"},
    }
    mounts = {target: (source, read_only) for source, target, read_only in _mounts(proxy)}
    for source, target, read_only in _mounts(proxy):
        if source.startswith((".", "/")):  # a bind mount: must exist in the repository
            assert (REPO / source).exists(), f"{source} (mounted at {target}) is not in the repo"
            assert read_only, f"{source} is configuration: mount it read-only"
        else:
            assert source in compose["volumes"], f"named volume {source} is not declared"
    assert mounts["/etc/purpose-proxy/policies"] == ("./policies", True)
    assert mounts["/etc/purpose-proxy/catalog"] == ("./catalog", True)
    assert mounts["/etc/purpose-proxy/proxy.yaml"] == ("./deploy/proxy.yaml", True)


def test_proxy_settings_validate_and_match_the_mounts(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _proxy_settings(compose, monkeypatch)
    proxy = _service(compose, "proxy")
    mounts = {target: source for source, target, _ in _mounts(proxy)}
    warehouse_env = _environment(_service(compose, "warehouse"))

    assert settings.backend == "postgres"
    assert settings.host == "0.0.0.0" and settings.port == 6432
    assert settings.audit_log == "stdout"
    assert mounts[str(settings.catalog_dir)] == "./catalog"
    assert mounts[str(settings.policies_dir)] == "./policies"
    assert mounts[str(settings.state_dir)] in compose["volumes"]  # survives a re-create

    postgres = settings.postgres
    assert postgres.host == "warehouse" and postgres.port == 5432
    assert postgres.database == warehouse_env["POSTGRES_DB"]
    # Its own role: the one the init script creates and load-demo grants, not the superuser.
    assert postgres.user == warehouse_env["PURPOSE_PROXY_DB_USER"] != warehouse_env["POSTGRES_USER"]
    assert _option(_command(_service(compose, "load-demo")), "--grant-to") == postgres.user
    # The password comes from the environment compose sets, and is the one the role gets.
    assert "password" not in yaml.safe_load(_proxy_config_path(compose).read_text())["postgres"]
    assert postgres.password is not None
    assert postgres.password.get_secret_value() == _interpolated(
        warehouse_env["PURPOSE_PROXY_DB_PASSWORD"]
    )
    # The mounted catalog and policies load as a deployment.
    load_deployment(REPO / mounts[str(settings.catalog_dir)], REPO / mounts[str(settings.policies_dir)])


def test_warehouse_init_scripts(compose: dict[str, Any]) -> None:
    warehouse = _service(compose, "warehouse")
    initdb = [source for source, target, ro in _mounts(warehouse)
              if target == "/docker-entrypoint-initdb.d"]
    assert initdb, "the warehouse must create the proxy's role on first start"
    scripts = sorted((REPO / initdb[0]).glob("*.sh"))
    assert scripts
    for script in scripts:
        text = script.read_text()
        assert text.startswith("#!/bin/sh") and "set -eu" in text
        assert "PURPOSE_PROXY_DB_PASSWORD" in text and "ON_ERROR_STOP=1" in text


@pytest.mark.postgres
def test_init_script_and_load_demo_give_the_proxy_role_what_it_needs() -> None:
    """deploy/initdb as the postgres image runs it, then `load-demo --grant-to`, locally."""
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed: the init script cannot run here")
    role = f"pp_proxy_{uuid.uuid4().hex[:8]}"
    with scratch_database("pp_compose") as dsn:
        database = dsn.rsplit("/", 1)[1]
        environment = {
            **os.environ, "PGHOST": "127.0.0.1", "PGPORT": "5432",
            "POSTGRES_USER": "postgres", "POSTGRES_DB": database,
            "PURPOSE_PROXY_DB_USER": role, "PURPOSE_PROXY_DB_PASSWORD": "it's a secret",
        }
        try:
            for script in sorted((REPO / "deploy" / "initdb").glob("*.sh")):
                result = subprocess.run(["sh", str(script)], env=environment,
                                        check=False, capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, result.stderr
            rows = fetch(dsn, "SELECT rolsuper, rolcanlogin, rolpassword IS NOT NULL "
                              "FROM pg_authid WHERE rolname = $1", role)
            assert [tuple(row) for row in rows] == [(False, True, True)]

            result = subprocess.run(
                [sys.executable, "-m", "proxy", "load-demo", "--dsn", dsn, "--if-missing",
                 "--grant-to", role],
                cwd=REPO, check=False, capture_output=True, text=True, timeout=120,
            )
            assert result.returncode == 0, result.stderr
            as_proxy = dsn.replace("postgres@", f"{role}@", 1)
            assert fetch(as_proxy, "SELECT count(*) FROM shop.customers")[0][0] > 0
            fetch(as_proxy, "CREATE TABLE sandbox.t AS SELECT 1 AS x")

            # Without the password the script refuses to run.
            del environment["PURPOSE_PROXY_DB_PASSWORD"]
            script = min((REPO / "deploy" / "initdb").glob("*.sh"))
            result = subprocess.run(["sh", str(script)], env=environment,
                                    check=False, capture_output=True, text=True, timeout=60)
            assert result.returncode != 0 and "PURPOSE_PROXY_DB_PASSWORD" in result.stderr
        finally:
            if _role_exists(role):  # its sandbox table, before the database goes
                fetch(dsn, f'DROP OWNED BY "{role}"')
    if _role_exists(role):
        asyncio.run(_admin(f'DROP ROLE "{role}"'))


def _role_exists(role: str) -> bool:
    return bool(fetch("postgresql://postgres@127.0.0.1:5432/postgres",
                      "SELECT 1 FROM pg_roles WHERE rolname = $1", role))


# --- the image ------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(rest.split())))
    return instructions


def _exec_form(argument: str) -> list[str]:
    return yaml.safe_load(argument)  # JSON arrays are YAML


def test_dockerfile_installs_the_package_and_serves() -> None:
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = [rest for keyword, rest in instructions if keyword == "RUN"]
    assert any(re.search(r"\bpip install \.(\s|$)", run) for run in runs)
    assert ("EXPOSE", "6432") in instructions
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    entrypoint = [rest for keyword, rest in instructions if keyword == "ENTRYPOINT"]
    cmd = [rest for keyword, rest in instructions if keyword == "CMD"]
    assert _exec_form(entrypoint[-1]) == ["purpose-proxy"]
    assert _exec_form(cmd[-1]) == ["serve", "--config", "/etc/purpose-proxy/proxy.yaml"]
    healthcheck = [rest for keyword, rest in instructions if keyword == "HEALTHCHECK"]
    assert healthcheck and "pg_isready" not in healthcheck[0]  # not in a python:slim image

    # `purpose-proxy` is the package's console script, and it has the commands compose uses.
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["purpose-proxy"] == "proxy.cli:main"
    build_parser().parse_args(["serve", "--config", "/etc/purpose-proxy/proxy.yaml"])


def _dockerignore_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go's filepath.Match plus `**`) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            close = pattern.index("]", i)
            out, i = out + pattern[i : close + 1], close + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _dockerignore_excludes(path: str) -> bool:
    """Docker's rule: a pattern matching a directory covers what is below it; the last
    matching pattern wins; `!` re-includes."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        regex = _dockerignore_regex(line.removeprefix("!").strip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def test_build_context_holds_what_the_image_copies() -> None:
    copies = [rest.split() for keyword, rest in _instructions() if keyword == "COPY"]
    assert copies
    for *sources, _destination in copies:
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not _dockerignore_excludes(source), f"COPY {source}: excluded by .dockerignore"
    # What `pip install .` needs is in the context ...
    for needed in ("pyproject.toml", "README.md", "proxy/cli.py"):
        assert not _dockerignore_excludes(needed), needed
    # ... and local state, secrets and bulk are not.
    for private in (".venv/bin/python", "var/mask.key", ".git/config", "tests/conftest.py",
                    "proxy/__pycache__/cli.cpython-311.pyc"):
        assert _dockerignore_excludes(private), private


def test_package_has_no_data_files_a_wheel_would_drop() -> None:
    """The image installs a wheel of proxy/: non-Python files there need package-data."""
    strays = [
        str(path.relative_to(REPO)) for path in (REPO / "proxy").rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert strays == [], f"declare these as package data in pyproject.toml: {strays}"


# --- docker compose config (no engine needed) -----------------------------------------------


def _compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_validates() -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO, check=False, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
