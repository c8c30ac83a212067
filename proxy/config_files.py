"""Reading the YAML files a deployment keeps in git, with errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the field."""


def format_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if not where and ": " in message:
            # A check across fields names its field itself: "users.ana.default_purpose: ...".
            where, message = message.split(": ", 1)
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
