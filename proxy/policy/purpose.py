"""Which purpose a statement runs under, and whether the user may declare it.

Precedence: a sqlcommenter-style comment in the statement (`/*purpose='fraud'*/`), then the
session (`SET purpose = 'fraud'`), then the connection (`options=-c purpose=fraud`), then the
user's default purpose. Whatever is declared must be granted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from pglast.parser import ParseError, scan

from proxy.policy.decision import Refusal
from proxy.policy.model import Deployment

_PAIR = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*=\s*'([^']*)'\s*")


@dataclass(frozen=True, slots=True)
class DeclaredPurpose:
    session: str | None = None
    connection: str | None = None


def comment_purposes(sql: str) -> list[str]:
    """Every `purpose='...'` in the statement's comments, found with PostgreSQL's own lexer,
    so text inside string literals ('...', $$...$$, E'...') is never taken for a comment."""
    try:
        tokens = scan(sql)
    except ParseError:
        return []
    found = []
    for token in tokens:
        if token.name not in ("C_COMMENT", "SQL_COMMENT"):
            continue
        comment = sql[token.start : token.end + 1]  # pglast's offsets count characters
        comment = comment[2:-2] if token.name == "C_COMMENT" else comment[2:]
        for pair in comment.split(","):
            match = _PAIR.fullmatch(pair)
            if match and match.group(1).lower() == "purpose":
                found.append(unquote(match.group(2)))
    return found


def _granted_list(deployment: Deployment, user: str) -> str:
    entry = deployment.user(user)
    granted = sorted(entry.purposes) if entry is not None else []
    return ", ".join(granted) if granted else "none"


def require_granted(deployment: Deployment, user: str, purpose: str) -> None:
    if purpose not in deployment.policies.purposes:
        raise Refusal(
            f'purpose "{purpose}" does not exist',
            hint=f"Purposes user \"{user}\" may declare: {_granted_list(deployment, user)}.",
        )
    if not deployment.granted(user, purpose):
        raise Refusal(
            f'purpose "{purpose}" is not granted to user "{user}"',
            hint=f"User \"{user}\" is granted: {_granted_list(deployment, user)}. "
            f'Ask the data owners for a grant of "{purpose}", or declare a granted purpose.',
        )


def resolve_purpose(
    sql: str, declared: DeclaredPurpose, deployment: Deployment, user: str
) -> tuple[str, str]:
    """(purpose, where it came from); refuses an undeclared, ambiguous or ungranted purpose."""
    in_comments = set(comment_purposes(sql))
    if len(in_comments) > 1:
        raise Refusal(
            "the statement declares more than one purpose: " + ", ".join(sorted(in_comments)),
            hint="Declare exactly one purpose per statement.",
        )
    candidates = (
        (next(iter(in_comments), None), "statement"),
        (declared.session, "session"),
        (declared.connection, "connection"),
        (deployment.default_purpose(user), "default"),
    )
    for purpose, source in candidates:
        if purpose:
            require_granted(deployment, user, purpose)
            return purpose, source
    raise Refusal(
        f'no purpose declared for user "{user}"',
        hint=f"Declare one of the purposes you are granted ({_granted_list(deployment, user)}): "
        "SET purpose = '<purpose>', connect with options='-c purpose=<purpose>', or add "
        "/*purpose='<purpose>'*/ to the statement.",
    )
