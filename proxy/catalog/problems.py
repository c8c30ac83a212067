"""Load-time problems collected across files, so that one error lists all of them.

A user fixing a deployment wants every mistake at once, each with the file and the field path,
in the same shape as pydantic's errors (see `proxy.config_files.format_validation_error`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from proxy.config_files import ConfigError


@dataclass
class ConfigProblems:
    """Accumulates (file, field path, message); `raise_if_any` turns them into one ConfigError."""

    _by_file: dict[Path, list[str]] = field(default_factory=dict)

    def add(self, path: Path, where: str, message: str) -> None:
        self._by_file.setdefault(path, []).append(f"  {where}: {message}")

    def __bool__(self) -> bool:
        return bool(self._by_file)

    def message(self) -> str:
        blocks = [
            "\n".join([f"{path}: invalid configuration", *lines])
            for path, lines in self._by_file.items()
        ]
        return "\n".join(blocks)

    def raise_if_any(self) -> None:
        if self:
            raise ConfigError(self.message())
