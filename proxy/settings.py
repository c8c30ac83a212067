"""Typed settings of one proxy process: a YAML config file, overridden by PURPOSE_PROXY_* env vars.

`purpose-proxy serve` with no config file runs the embedded demo: DuckDB in var/, the Acme
Shop users of policies/users.yaml, a self-signed TLS certificate, on 127.0.0.1:6432.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


class TlsSettings(BaseModel):
    """`self-signed` generates a certificate for the demo; `files` uses an operator's own."""

    mode: Literal["off", "self-signed", "files"] = "self-signed"

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as the boolean false.
        return "off" if value is False else value
    cert_file: Path | None = None
    key_file: Path | None = None


class DuckDBSettings(BaseModel):
    path: Path = Path("var/acme.duckdb")
    threads: int | None = None


class PostgresSettings(BaseModel):
    """The backing PostgreSQL warehouse and the proxy's own credentials for it.

    Consumers never hold these: they authenticate to the proxy, the proxy to the warehouse.
    """

    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    database: str = "acme"
    user: str = "purpose_proxy"
    password: SecretStr | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    sslrootcert: Path | None = None  # CA bundle for verify-ca / verify-full
    connect_timeout: float = Field(10.0, gt=0)
    pool_size: int = Field(20, ge=1)
    pool_timeout: float = Field(10.0, gt=0)  # how long a session waits for a free connection
    # The search path the catalog resolves names against; pinned on every upstream connection.
    search_path: str = '"$user", public'


class AnalysisSettings(BaseModel):
    """Budgets of the statement analysis; a statement over one is refused with 54001.

    Analysis runs on `threads` threads shared by all sessions, off the event loop.
    """

    max_statement_bytes: int = Field(1024 * 1024, ge=1024)
    max_expression_depth: int = Field(100, ge=10, le=500)  # deeper risks the stack
    max_parse_nodes: int = Field(20_000, ge=100)
    max_seconds: float = Field(10.0, gt=0)
    threads: int = Field(8, ge=1, le=256)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PURPOSE_PROXY_", env_nested_delimiter="__", extra="forbid"
    )

    host: str = "127.0.0.1"
    port: int = Field(6432, ge=0, le=65535)
    database: str = "acme"
    auth: Literal["scram-sha-256", "trust"] = "scram-sha-256"
    catalog_dir: Path = Path("catalog")
    policies_dir: Path = Path("policies")
    users_file: Path | None = None  # default: policies_dir/users.yaml
    # Key of the `hash` mask. Default: the warehouse's (generated once per deployment and stored
    # in the warehouse, see proxy/backends/mask_key.py). Keep it secret:
    # whoever has it can hash guesses and compare them with masked values.
    mask_key: SecretStr | None = None
    state_dir: Path = Path("var")
    backend: Literal["duckdb", "postgres"] = "duckdb"
    duckdb: DuckDBSettings = DuckDBSettings()
    postgres: PostgresSettings = PostgresSettings()
    tls: TlsSettings = TlsSettings()
    analysis: AnalysisSettings = AnalysisSettings()
    max_message_size: int = Field(64 * 1024 * 1024, ge=1024)
    max_connections: int = Field(200, ge=1)  # established client sessions
    # Seconds a client has for startup and authentication (PostgreSQL's setting of that name).
    authentication_timeout: float = Field(60.0, gt=0)
    # SIGTERM lets running statements finish for this long, then cancels them (upstream too);
    # below `docker stop`'s 10 s so the proxy, not SIGKILL, ends them. SIGINT does not wait.
    shutdown_grace_period: float = Field(8.0, ge=0)
    server_version: str = "16.0"
    audit_log: str = "stderr"  # 'stderr', 'stdout', 'off' or a file path (JSON lines)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > config file > defaults.
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Read settings; a bad file or value raises pydantic's ValidationError naming the field."""
    if config_file is None:
        return Settings(**overrides)  # type: ignore[arg-type]
    if not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")
    config = dict(Settings.model_config)
    config["yaml_file"] = config_file
    from_file = type("FileSettings", (Settings,), {"model_config": config})
    return from_file(**overrides)  # type: ignore[arg-type]
