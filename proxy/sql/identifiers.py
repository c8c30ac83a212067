"""Quoting names into SQL the proxy writes itself (COPY, INSERT batches, setup statements)."""

from __future__ import annotations


def quote_identifier(*parts: str) -> str:
    """`"schema"."table"`: each part double-quoted, embedded quotes doubled (PostgreSQL rules)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)
