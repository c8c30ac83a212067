"""Who may connect: users, their SCRAM-SHA-256 verifiers, attributes and purposes, from YAML.

Only verifiers are stored (PostgreSQL's `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`
format, so a `rolpassword` from pg_authid can be pasted in); `purpose-proxy hash-password`
makes one. A plain-text password in the file is a load error, not a convenience.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from scramp import ScramMechanism

from proxy.config_files import ConfigError, format_validation_error, load_yaml

SCRAM_PREFIX = "SCRAM-SHA-256$"


@dataclass(frozen=True, slots=True)
class ScramVerifier:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> ScramVerifier:
        try:
            if not text.startswith(SCRAM_PREFIX):
                raise ValueError
            iterations_salt, keys = text[len(SCRAM_PREFIX) :].split("$")
            iterations, salt = iterations_salt.split(":")
            stored_key, server_key = keys.split(":")
            return cls(
                int(iterations),
                base64.b64decode(salt, validate=True),
                base64.b64decode(stored_key, validate=True),
                base64.b64decode(server_key, validate=True),
            )
        except (ValueError, binascii.Error):
            raise ValueError(
                "password must be a SCRAM-SHA-256 verifier "
                "(make one with `purpose-proxy hash-password`), never a plain password"
            ) from None

    @classmethod
    def from_password(cls, password: str, iterations: int = 4096) -> ScramVerifier:
        salt, stored_key, server_key, count = ScramMechanism().make_auth_info(
            password, iteration_count=iterations
        )
        return cls(count, salt, stored_key, server_key)

    def matches(self, password: str) -> bool:
        """Whether `password` is the one this verifier was made from."""
        _, stored_key, _, _ = ScramMechanism().make_auth_info(
            password, iteration_count=self.iterations, salt=self.salt
        )
        return hmac.compare_digest(stored_key, self.stored_key)

    def __str__(self) -> str:
        b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
        return (
            f"{SCRAM_PREFIX}{self.iterations}:{b64(self.salt)}"
            f"${b64(self.stored_key)}:{b64(self.server_key)}"
        )


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    password: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    # Purposes granted; whether they exist is checked against policies/purposes.yaml when the
    # whole deployment loads (proxy.policy.load_deployment).
    purposes: list[str] = Field(default_factory=list)
    # Used when a client declares no purpose; None: every statement must declare one.
    default_purpose: str | None = None
    # Groups (policies/users.yaml `groups:`) whose purposes and attributes the user also has.
    groups: list[str] = Field(default_factory=list)

    @field_validator("password")
    @classmethod
    def _must_be_verifier(cls, value: str | None) -> str | None:
        if value is not None:
            ScramVerifier.parse(value)
        return value

    @field_validator("purposes")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a purpose is listed twice")
        return value

    @property
    def verifier(self) -> ScramVerifier | None:
        return ScramVerifier.parse(self.password) if self.password else None


class GroupEntry(BaseModel):
    """Grants and attributes shared by every member (a team, a role)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)


class UsersFile(BaseModel):
    """Users as written; `users` after validation holds each user's effective grants:
    their own purposes plus their groups', attributes of groups overridden by their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: dict[str, GroupEntry] = Field(default_factory=dict)
    users: dict[str, UserEntry]

    @model_validator(mode="after")
    def _resolve_groups(self) -> UsersFile:
        resolved = {}
        for name, user in self.users.items():
            unknown = [group for group in user.groups if group not in self.groups]
            if unknown:
                raise ValueError(f"users.{name}.groups: group {unknown[0]!r} is not declared")
            purposes = list(user.purposes)
            attributes: dict[str, str] = {}
            for group in user.groups:
                purposes += [p for p in self.groups[group].purposes if p not in purposes]
                attributes.update(self.groups[group].attributes)
            attributes.update(user.attributes)
            if user.default_purpose is not None and user.default_purpose not in purposes:
                # A default the user may not use would make every purpose-less statement a
                # rejection that only looks like a grant problem: refuse it where it is written.
                raise ValueError(
                    f"users.{name}.default_purpose: {user.default_purpose!r} is not among the "
                    f"user's purposes {purposes}"
                )
            resolved[name] = user.model_copy(update={"purposes": purposes,
                                                     "attributes": attributes})
        object.__setattr__(self, "users", resolved)
        return self


def load_users(path: Path) -> UsersFile:
    try:
        return UsersFile.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None
