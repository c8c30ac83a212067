"""Names as PostgreSQL resolves them: the one resolver for relations, functions, operators, types.

Every policy decision about a name (is this a system catalog? which catalog table? a built-in
function?) compares names after the same steps PostgreSQL takes, never as written:

- folding: an unquoted identifier is folded to lower case, ASCII letters only (PostgreSQL's
  `downcase_identifier` leaves other characters alone in a multi-byte encoding); a quoted one
  is kept verbatim. `PG_CATALOG.PG_STATS` is `pg_catalog.pg_stats`, `"PG_STATS"` is not.
  Identifiers longer than 63 bytes are truncated, as PostgreSQL's scanner does;
- qualification: a schema-qualified name means that schema;
- the search path: the proxy pins every warehouse session's search_path to `"$user", public`
  (SET search_path is refused). PostgreSQL then searches `pg_catalog` first, implicitly. The
  session's temporary schema would come even before it for relations, but consumers cannot
  create temporary tables through the proxy (writes are rebuilt into sandbox schemas). So an
  unqualified relation name means a `pg_catalog` relation when pg_catalog has one by that name
  (all of them are named `pg_...`; any such name is taken to be one: fail closed), and otherwise names nothing the catalog
  knows (the annotated catalog has no tables in `"$user"` or `public` lookups: data tables are
  named with their schema). An unqualified function, operator or type resolves to pg_catalog's
  built-in of that name.

pglast (PostgreSQL's own parser) already folds names; the sqlglot tree is folded here once,
right after parsing (`fold_identifiers`), so every later step compares folded names.
`U&"..."` identifiers are refused before that by the cross-check (sqlglot misreads them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

__all__ = [
    "PG_CATALOG",
    "SYSTEM_SCHEMAS",
    "QualifiedName",
    "fold",
    "fold_identifiers",
    "identifier_name",
    "relation_name",
    "resolve_function",
    "resolve_relation",
]

PG_CATALOG = "pg_catalog"
INFORMATION_SCHEMA = "information_schema"
# Schemas whose relations describe the server rather than hold the warehouse's data.
SYSTEM_SCHEMAS = frozenset({PG_CATALOG, INFORMATION_SCHEMA})
NAMEDATALEN = 64  # PostgreSQL keeps identifiers to NAMEDATALEN - 1 bytes

_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True, order=True)
class QualifiedName:
    """A resolved (or, with schema None, unresolvable) name."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"

    @property
    def is_system(self) -> bool:
        return self.schema in SYSTEM_SCHEMAS


def _truncate(name: str) -> str:
    encoded = name.encode("utf-8")
    if len(encoded) < NAMEDATALEN:
        return name
    return encoded[: NAMEDATALEN - 1].decode("utf-8", "ignore")


def fold(name: str, quoted: bool = False) -> str:
    """An identifier as PostgreSQL keeps it: unquoted ones lower-cased (ASCII), then truncated."""
    return _truncate(name if quoted else name.translate(_UPPER))


def identifier_name(identifier: exp.Expression | str | None) -> str | None:
    """The folded name of a sqlglot identifier (strings are taken as unquoted)."""
    if identifier is None:
        return None
    if isinstance(identifier, exp.Identifier):
        return fold(identifier.this, bool(identifier.quoted))
    if isinstance(identifier, str):
        return fold(identifier)
    return fold(identifier.name)


def fold_identifiers(expression: exp.Expression) -> exp.Expression:
    """Fold every unquoted identifier of a sqlglot tree in place, as PostgreSQL's scanner does."""
    for node in expression.find_all(exp.Identifier):
        if not node.quoted and isinstance(node.this, str):
            folded = fold(node.this)
            if folded != node.this:
                node.set("this", folded)
        elif node.quoted and isinstance(node.this, str):
            truncated = _truncate(node.this)
            if truncated != node.this:
                node.set("this", truncated)
    return expression


def _in_pg_catalog(name: str) -> bool:
    """Whether an unqualified relation name is taken to be pg_catalog's (searched first).

    Every relation PostgreSQL keeps in pg_catalog is named `pg_...`; a `pg_` name it does not
    have (in this version) is taken to be one too, so it is judged as a system catalog: refused
    unless allow-listed.
    """
    return name.startswith("pg_")


def resolve_relation(schema: str | None, name: str) -> QualifiedName:
    """Which relation PostgreSQL reads for `schema.name` (schema None: unqualified), folded names.

    An unqualified name that is not pg_catalog's stays unqualified: no annotated relation is
    reachable through the pinned search path, so it names nothing the proxy allows.
    """
    if schema is None and _in_pg_catalog(name):
        return QualifiedName(PG_CATALOG, name)
    return QualifiedName(schema, name)


def relation_name(table: exp.Table) -> QualifiedName:
    """The relation a sqlglot table reference names, resolved (see `resolve_relation`)."""
    db = table.args.get("db")
    name = identifier_name(table.this) or ""
    return resolve_relation(identifier_name(db) if db is not None else None, name)


def resolve_function(schema: str | None, name: str) -> QualifiedName:
    """A function, operator or type name (already folded, as pglast gives it) resolved.

    Unqualified: pg_catalog's built-in (searched first). A same-named function in `public`
    with a closer argument type could win (CVE-2018-1058); consumers cannot create functions
    through the proxy, and the warehouse's owners keep `public` free of CREATE.
    """
    return QualifiedName(PG_CATALOG if schema is None else schema, name)
