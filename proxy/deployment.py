"""The running configuration: catalog, policies and users, reloadable without a restart.

A reload that fails (broken YAML, a rule naming an undeclared label) is reported and the last
good configuration stays in force: a typo never opens or closes the warehouse by accident.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import structlog

from proxy.config_files import ConfigError
from proxy.policy import load_deployment
from proxy.policy.model import Deployment
from proxy.settings import Settings

log = structlog.get_logger(__name__)


class DeploymentHolder:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._current = self._load()  # a broken configuration at start is fatal

    def _load(self) -> Deployment:
        settings = self._settings
        return load_deployment(settings.catalog_dir, settings.policies_dir, settings.users_file)

    def __call__(self) -> Deployment:
        return self._current

    def reload(self) -> bool:
        try:
            self._current = self._load()
        except ConfigError as exc:
            log.error("configuration reload failed; keeping the last good one", error=str(exc))
            return False
        log.info("configuration reloaded")
        return True


def mask_key(settings: Settings) -> str:
    """The deployment's masking key: configured, or generated once and kept in state_dir."""
    if settings.mask_key is not None:
        return settings.mask_key.get_secret_value()
    path: Path = settings.state_dir / "mask.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
