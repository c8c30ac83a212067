"""Statements the session answers itself, recognised from their text before any parsing:
transaction control (BEGIN, COMMIT, SAVEPOINT...) and run-time parameters (SET, SHOW...).

Also refuses, with PostgreSQL's errors, statements this warehouse never runs (COPY, VACUUM...)
and DuckDB-only ones (ATTACH, PRAGMA...) that PostgreSQL would not parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from proxy.errors import PgError, SqlState

_COMMENT = re.compile(r"^\s*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.S)


def strip_leading_comments(sql: str) -> str:
    """`sql` without the comments before its first word."""
    previous = None
    while previous != sql:
        previous = sql
        sql = _COMMENT.sub("", sql, count=1)
    return sql.strip()


@dataclass(frozen=True, slots=True)
class Utility:
    """A transaction-control or run-time-parameter statement the session handles itself."""

    kind: str  # begin, commit, rollback, savepoint, release, rollback_to, set, reset, show, discard, noop
    tag: str
    name: str | None = None
    value: str | None = None


_BEGIN = re.compile(r"^(BEGIN|START\s+TRANSACTION)\b(\s+(WORK|TRANSACTION))?.*$", re.I | re.S)
_COMMIT = re.compile(r"^(COMMIT|END)(\s+(WORK|TRANSACTION))?(\s+AND\s+NO\s+CHAIN)?$", re.I)
_ROLLBACK = re.compile(r"^(ROLLBACK|ABORT)(\s+(WORK|TRANSACTION))?(\s+AND\s+NO\s+CHAIN)?$", re.I)
_SAVEPOINT = re.compile(r"^SAVEPOINT\s+(\"[^\"]+\"|\w+)$", re.I)
_RELEASE = re.compile(r"^RELEASE\s+(?:SAVEPOINT\s+)?(\"[^\"]+\"|\w+)$", re.I)
_ROLLBACK_TO = re.compile(r"^ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\s+(?:SAVEPOINT\s+)?(\"[^\"]+\"|\w+)$", re.I)
_SET = re.compile(
    r"^SET\s+(?:(SESSION|LOCAL)\s+)?(?:(TIME\s+ZONE)|([A-Za-z_][\w.$]*|\"[^\"]+\"))\s*(?:(?:TO|=)\s*)?(.*)$",
    re.I | re.S,
)
_RESET = re.compile(r"^RESET\s+(ALL|[A-Za-z_][\w.$]*|\"[^\"]+\")$", re.I)
_SHOW = re.compile(r"^SHOW\s+(ALL|TIME\s+ZONE|TRANSACTION\s+ISOLATION\s+LEVEL|[A-Za-z_][\w.$]*|\"[^\"]+\")$", re.I)
_FIRST_WORD = re.compile(r"^\(*\s*([A-Za-z_]+)")

#: Statements PostgreSQL knows but this backend does not run (they would reach the file system,
#: the server's configuration, or have no DuckDB meaning).
_PG_UNSUPPORTED = {"COPY", "VACUUM", "ANALYZE", "CHECKPOINT", "LOAD", "CALL", "DO", "CLUSTER",
                   "REINDEX", "LOCK", "GRANT", "REVOKE", "LISTEN", "NOTIFY", "PREPARE", "EXECUTE",
                   "DECLARE", "FETCH", "MOVE", "CLOSE", "REFRESH", "SECURITY", "IMPORT", "REASSIGN"}
#: DuckDB-only statements: PostgreSQL rejects them as syntax errors, and so do we.
_DUCKDB_ONLY = {"ATTACH", "DETACH", "INSTALL", "FORCE", "PRAGMA", "EXPORT", "USE", "SUMMARIZE",
                "DESCRIBE", "PIVOT", "UNPIVOT", "FROM", "UPDATE_EXTENSIONS"}


def _unquote(name: str) -> str:
    """An identifier as PostgreSQL folds it: quoted kept as written, bare lower-cased."""
    if name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    return name.lower()


def _setting_value(raw: str) -> str:
    """The value of SET x TO ...: quotes removed, list items joined by ", "."""
    raw = raw.strip().rstrip(";").strip()
    if raw.upper() == "DEFAULT":
        return "DEFAULT"
    parts = []
    for part in re.findall(r"'(?:[^']|'')*'|\"[^\"]*\"|[^,\s]+", raw):
        if part.startswith("'"):
            parts.append(part[1:-1].replace("''", "'"))
        else:
            parts.append(part)
    return ", ".join(parts)


def classify_utility(sql: str) -> Utility | None:
    """Recognise the statements the session answers itself; None for everything else."""
    text = strip_leading_comments(sql).rstrip().rstrip(";").strip()
    if not text:
        return Utility("noop", "")
    first = text.split(None, 1)[0].upper()
    if first in ("BEGIN", "START"):
        if _BEGIN.match(text):
            return Utility("begin", "BEGIN" if first == "BEGIN" else "START TRANSACTION")
    for pattern, kind, tag in ((_SAVEPOINT, "savepoint", "SAVEPOINT"), (_RELEASE, "release", "RELEASE"),
                               (_ROLLBACK_TO, "rollback_to", "ROLLBACK")):
        m = pattern.match(text)
        if m:
            return Utility(kind, tag, name=_unquote(m.group(1)))
    if _COMMIT.match(text):
        return Utility("commit", "COMMIT")
    if _ROLLBACK.match(text):
        return Utility("rollback", "ROLLBACK")
    if first == "SET":
        if re.match(r"^SET\s+(SESSION\s+CHARACTERISTICS|TRANSACTION)\b", text, re.I):
            return Utility("noop", "SET")
        m = _SET.match(text)
        if m:
            name = "timezone" if m.group(2) else _unquote(m.group(3))
            return Utility("set", "SET", name=name, value=_setting_value(m.group(4)))
    if first == "RESET":
        m = _RESET.match(text)
        if m:
            return Utility("reset", "RESET", name=_unquote(m.group(1)))
    if first == "SHOW":
        m = _SHOW.match(text)
        if m:
            name = re.sub(r"\s+", " ", m.group(1))
            if name.upper() == "TIME ZONE":
                name = "timezone"
            elif name.upper() == "TRANSACTION ISOLATION LEVEL":
                name = "transaction_isolation"
            return Utility("show", "SHOW", name=_unquote(name) if name.upper() != "ALL" else "all")
    if first == "DISCARD":
        return Utility("discard", "DISCARD " + text.split(None, 1)[1].upper() if " " in text else "DISCARD")
    if first == "DEALLOCATE":
        return Utility("noop", "DEALLOCATE ALL" if re.search(r"\bALL\s*$", text, re.I) else "DEALLOCATE")
    if first == "UNLISTEN":
        return Utility("noop", "UNLISTEN")
    m = _FIRST_WORD.match(text)
    word = m.group(1).upper() if m else first
    if word in _DUCKDB_ONLY:
        raise PgError(SqlState.SYNTAX_ERROR, f'syntax error at or near "{text.split(None, 1)[0]}"')
    if word in _PG_UNSUPPORTED:
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"{word} is not supported by the DuckDB warehouse of purpose-proxy",
        )
    return None
