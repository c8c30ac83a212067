"""PostgreSQL syntax sqlglot 30 cannot parse, patched on tokens before parsing.

Used by the decision core and the DuckDB transpiler alike, so both read the same tree.
"""

from __future__ import annotations

import re

import sqlglot

OID_MARKER = "pp_oid"

_ARRAY_OF_OBJECT_ID = re.compile(
    r"^(oid|regclass|regtype|regproc|regprocedure|regnamespace|regrole|regoper|regoperator|xid|cid)$",
    re.IGNORECASE,
)


def patch_unparseable_types(sql: str) -> str:
    """Rewrite `oid[]`-style array types, which sqlglot 30 cannot parse, to `pp_oid[]`.

    Works on tokens (never inside string literals or quoted identifiers).
    """
    if "[" not in sql:
        return sql
    try:
        tokens = sqlglot.tokenize(sql, read="postgres")
    except Exception:
        return sql
    edits: list[tuple[int, int]] = []
    for i in range(len(tokens) - 2):
        tok = tokens[i]
        if (
            _ARRAY_OF_OBJECT_ID.match(tok.text)
            and tokens[i + 1].text == "["
            and tokens[i + 2].text == "]"
            and tok.token_type.name not in ("STRING", "IDENTIFIER")
        ):
            edits.append((tok.start, tok.end))
    for start, end in reversed(edits):
        sql = sql[:start] + OID_MARKER + sql[end + 1:]
    return sql
