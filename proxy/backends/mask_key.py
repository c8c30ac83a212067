"""The hash mask's key: one per deployment, kept in the warehouse, never in SQL text.

The decision core writes `_purpose_proxy.mask_hash(value::text)` (proxy/policy/masks.py); each
warehouse installs that function at start, next to a one-row table holding the key, so
statements carry no secret for activity views, statement logs or profilers to record.

Which key: the configured one (`mask_key`) or, when none is configured, the one the warehouse
already holds; a deployment with neither gets a random key, generated once and stored in the
warehouse, where every replica reads it (a key per process would make replicas hash the same
value differently). A configured key that differs from the stored one stops the proxy at start:
the two would give different hashes for the same value, and silently replacing the stored key
would change every hash other replicas and earlier results hold.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from proxy.errors import PgError, SqlState
from proxy.policy.masks import MASK_FUNCTION, MASK_SCHEMA

__all__ = ["KEY_TABLE", "MASK_FUNCTION", "MASK_SCHEMA", "KeyChoice", "choose_key", "mismatch"]

#: The one-row table holding the key, in MASK_SCHEMA.
KEY_TABLE = "mask_key"


@dataclass(frozen=True, slots=True)
class KeyChoice:
    key: bytes  # UTF-8, as hashed (key || value)
    store: bool  # the warehouse holds no key yet: store this one


def mismatch() -> PgError:
    return PgError(
        SqlState.INVALID_PARAMETER_VALUE,
        f"the configured mask_key differs from the key the warehouse already holds "
        f"({MASK_SCHEMA}.{KEY_TABLE}); the proxy does not start, as the same value would "
        "hash differently here and in the warehouse's other replicas",
        hint=f"Configure the key the other replicas use, or leave mask_key unset to use the "
        f"warehouse's. To change the key on purpose, stop every replica and delete the row of "
        f"{MASK_SCHEMA}.{KEY_TABLE} first: every hash changes.",
    )


def _checked(configured: str) -> bytes:
    if not configured or "\x00" in configured:
        raise PgError(SqlState.INVALID_PARAMETER_VALUE,
                      "mask_key must be a non-empty string without NUL characters",
                      hint="Generate one with: python -c 'import secrets; "
                      "print(secrets.token_hex(32))'")
    return configured.encode("utf-8")


def choose_key(stored: bytes | None, configured: str | None) -> KeyChoice:
    """The key to use, from what the warehouse holds and what the configuration says."""
    wanted = _checked(configured) if configured is not None else None
    if stored is not None:
        if wanted is not None and not hmac.compare_digest(stored, wanted):
            raise mismatch()
        return KeyChoice(stored, store=False)
    if wanted is not None:
        return KeyChoice(wanted, store=True)
    return KeyChoice(secrets.token_hex(32).encode("ascii"), store=True)
