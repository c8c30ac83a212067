"""Which purpose a statement runs under, and whether the user may declare it.

Precedence: a sqlcommenter-style comment of the statement (`/*purpose='fraud'*/`, before, inside
or after it), then the session (`SET purpose = 'fraud'`), then the connection
(`options=-c purpose=fraud`), then the user's default purpose. Whatever is declared must be
granted. The purpose applies when the statement runs: a prepared statement is decided again
when the purpose in force changed since it was decided (see proxy/wire/session.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from proxy.policy.decision import Refusal
from proxy.policy.model import Deployment
from proxy.sql.statements import Statement, comment_tokens

# sqlcommenter: key='value' pairs separated by commas; keys and values URL-encoded, a quote
# inside a value escaped with a backslash.
_PAIR = r"\s*([A-Za-z0-9_.~%-]+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*"
_PAIRS = re.compile(rf"{_PAIR}(?:,{_PAIR})*")
_ONE_PAIR = re.compile(_PAIR)
_MENTIONS_PURPOSE = re.compile(r"purpose\s*=", re.IGNORECASE)
_UNESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class DeclaredPurpose:
    """What the session and the connection declared; the statement's comment comes on top."""

    session: str | None = None
    connection: str | None = None


def _malformed(comment: str) -> Refusal:
    return Refusal(
        "a comment of the statement mentions a purpose but is not a sqlcommenter declaration: "
        + comment.strip()[:80],
        hint="Declare a purpose as /*purpose='<purpose>'*/ (key='value' pairs separated by "
        "commas); other comments must not contain \"purpose=\".",
    )


def comment_purposes(sql: str) -> list[str]:
    """Every `purpose='...'` in the text's comments, found with PostgreSQL's own lexer, so text
    inside string literals ('...', $$...$$, E'...') is never taken for a comment.

    A comment that mentions `purpose=` without being a well-formed sqlcommenter list (a nested
    comment, unquoted value...) is refused rather than guessed at."""
    found = []
    for token in comment_tokens(sql):
        comment = token[2:-2] if token.startswith("/*") else token[2:]
        if _PAIRS.fullmatch(comment):
            for match in _ONE_PAIR.finditer(comment):
                if unquote(match.group(1)).lower() == "purpose":
                    found.append(unquote(_UNESCAPE.sub(r"\1", match.group(2))))
        elif _MENTIONS_PURPOSE.search(comment) or _MENTIONS_PURPOSE.search(unquote(comment)):
            raise _malformed(comment)
    return found


def statement_purposes(statement: Statement) -> list[str]:
    """Purposes declared in the statement's comments, wherever sqlcommenter put them."""
    return comment_purposes(statement.comments) + comment_purposes(statement.text)


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


def comment_purpose(statement: Statement, deployment: Deployment, user: str) -> str | None:
    """The one purpose the statement's comments declare, granted; refuses conflicting ones."""
    declared = set(statement_purposes(statement))
    if len(declared) > 1:
        raise Refusal(
            "the statement declares more than one purpose: " + ", ".join(sorted(declared)),
            hint="Declare exactly one purpose per statement.",
        )
    purpose = next(iter(declared), None)
    if purpose is not None:
        require_granted(deployment, user, purpose)
    return purpose


def effective_purpose(
    statement: Statement | None, declared: DeclaredPurpose, deployment: Deployment, user: str
) -> tuple[str | None, str]:
    """(purpose, source) in force for the statement: statement > session > connection >
    default; (None, "none") when nothing is declared. A comment purpose must be granted."""
    candidates = (
        (comment_purpose(statement, deployment, user) if statement else None, "statement"),
        (declared.session, "session"),
        (declared.connection, "connection"),
        (deployment.default_purpose(user), "default"),
    )
    for purpose, source in candidates:
        if purpose:
            return purpose, source
    return None, "none"


def resolve_purpose(
    statement: Statement, declared: DeclaredPurpose, deployment: Deployment, user: str
) -> tuple[str, str]:
    """(purpose, where it came from); refuses an undeclared, ambiguous or ungranted purpose."""
    purpose, source = effective_purpose(statement, declared, deployment, user)
    if purpose is not None:
        require_granted(deployment, user, purpose)
        return purpose, source
    raise Refusal(
        f'no purpose declared for user "{user}"',
        hint=f"Declare one of the purposes you are granted ({_granted_list(deployment, user)}): "
        "SET purpose = '<purpose>', connect with options='-c purpose=<purpose>', or add "
        "/*purpose='<purpose>'*/ to the statement.",
    )
