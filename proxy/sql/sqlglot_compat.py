"""PostgreSQL syntax sqlglot 30 cannot parse, patched on tokens before parsing.

Used by the decision core and the DuckDB transpiler alike, so both read the same tree.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

OID_MARKER = "pp_oid"
_NAMED_MARKER = f"{OID_MARKER}__"

_ARRAY_OF_OBJECT_ID = re.compile(
    r"^(oid|regclass|regtype|regproc|regprocedure|regnamespace|regrole|regoper|regoperator|xid|cid)$",
    re.IGNORECASE,
)


def patch_unparseable_types(sql: str, *, keep_names: bool = False) -> str:
    """Rewrite `oid[]`-style array types, which sqlglot 30 cannot parse, to `pp_oid[]`.

    Works on tokens (never inside string literals or quoted identifiers). With `keep_names`
    the marker records the type (`pp_oid__regclass[]`), so `restore_unparseable_types` can
    put the original back before SQL is generated for PostgreSQL.
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
        marker = f"{_NAMED_MARKER}{sql[start:end + 1].lower()}" if keep_names else OID_MARKER
        sql = sql[:start] + marker + sql[end + 1:]
    return sql


def restore_unparseable_types(tree: exp.Expression) -> exp.Expression:
    """Undo `patch_unparseable_types(keep_names=True)` in a parsed tree: the marker types
    become the types the client wrote again (no placeholder may reach a warehouse)."""
    for data_type in tree.find_all(exp.DataType):
        kind = data_type.args.get("kind")
        if (data_type.this == exp.DataType.Type.USERDEFINED and isinstance(kind, exp.Identifier)
                and not kind.quoted and kind.name.startswith(_NAMED_MARKER)):
            data_type.set("kind", exp.to_identifier(kind.name[len(_NAMED_MARKER):]))
    return tree
