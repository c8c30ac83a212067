"""A missing tool or server skips a test loudly on a laptop, and fails it in CI."""

from __future__ import annotations

import os

import pytest


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"required for CI, but unavailable: {reason}")
    pytest.skip(f"UNAVAILABLE (would fail in CI): {reason}")
