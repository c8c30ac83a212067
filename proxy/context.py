"""What the proxy knows about one client session: who, where, and its current settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from proxy.policy.purpose import DeclaredPurpose
from proxy.session_settings import SessionSettings


@dataclass
class SessionContext:
    user: str
    database: str
    process_id: int
    client_address: str
    settings: SessionSettings
    attributes: Mapping[str, str] = field(default_factory=dict)
    protocol_minor: int = 0
    connection_purpose: str | None = None  # from the startup `options=-c purpose=...`
    # A SET purpose earlier in the same query string, not yet run when later statements are
    # decided ('' = RESET). See Session._simple_query.
    purpose_override: str | None = None

    @property
    def session_purpose(self) -> str | None:
        if self.purpose_override is not None:
            return self.purpose_override or None
        return self.settings.get("purpose") or None

    @property
    def declared_purpose(self) -> DeclaredPurpose:
        """What the session and connection declare now; decisions are bound to it."""
        return DeclaredPurpose(self.session_purpose, self.connection_purpose)

    @property
    def application_name(self) -> str:
        return self.settings.get("application_name")
