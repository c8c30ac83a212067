"""Catalog views that describe the upstream server answer for the proxy's own world.

Clients connect to the proxy's database (setting `database`, default `acme`) as one of the
proxy's users; the warehouse's other databases, its roles and its server settings are none of
their business (`\\l+` and `\\du` through a PostgreSQL warehouse listed them). In a statement
that reads only system catalogs, the decision core replaces, on both warehouses:

- `pg_database` by a derived table with one row, the client's database (owned by the proxy);
- `pg_roles`, `pg_user` by derived tables of the proxy's users (and the owner role
  `purpose_proxy`), `pg_auth_members` by an empty one;
- `pg_settings` by its rows for the settings in `READABLE_SETTINGS`;
- `pg_get_userbyid(oid)` by the name of that role in the proxy's world (the owner otherwise),
  `pg_has_role()` by false, privilege functions asked about a role by the same question for
  the proxy's own role,
  `current_database()` / `current_catalog` by the client's database, `current_user` /
  `session_user` by the proxy user; the database argument of `pg_database_size` and
  `has_database_privilege` by the current database (the only one a client can see);
- `current_setting(x)` with a non-constant name by a guard that reads only readable settings;
- access privilege columns (`relacl`, `nspacl`...), whose entries name warehouse roles, by NULL.

A constant `current_setting('name')` is checked where functions are (proxy.policy.crosscheck).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp

from proxy.sql.names import PG_CATALOG, identifier_name, relation_name
from proxy.sql.resolve import referenced_tables
from proxy.sql.system_catalog import PROXY_VIEWS

OWNER_NAME = "purpose_proxy"  # owns every object a client sees (as in the DuckDB catalog)
OWNER_OID = 10
FIRST_USER_OID = 16385

# Settings a client may read (pg_settings rows, current_setting): how the session formats and
# parses values, and what the server is. Paths, commands, connection strings, preload
# libraries and custom settings (`x.y`, which extensions and deployments use for secrets) are
# not listed.
READABLE_SETTINGS = frozenset({
    "application_name", "bytea_output", "client_encoding", "client_min_messages", "datestyle",
    "default_table_access_method", "default_text_search_config",
    "default_transaction_isolation", "default_transaction_read_only", "extra_float_digits",
    "idle_in_transaction_session_timeout", "in_hot_standby", "integer_datetimes",
    "intervalstyle", "is_superuser", "jit", "lc_collate", "lc_ctype", "lc_messages",
    "lc_monetary", "lc_numeric", "lc_time", "lock_timeout", "max_identifier_length",
    "max_index_keys", "search_path", "server_encoding", "server_version",
    "server_version_num", "session_authorization", "standard_conforming_strings",
    "statement_timeout", "timezone", "timezone_abbreviations", "transaction_isolation",
    "transaction_read_only", "block_size",
})


# Access privilege columns: their aclitem entries name the warehouse's roles. Read as NULL
# (PostgreSQL's "default privileges"): what a client may do is the proxy's policy, not these.
ACL_COLUMNS = frozenset({
    "relacl", "attacl", "nspacl", "datacl", "proacl", "typacl", "lanacl", "spcacl",
    "defaclacl", "fdwacl", "srvacl", "paracl", "lomacl", "initprivs",
})


_NO_ACL = sqlglot.parse_one("CAST(NULL AS aclitem[])", read="postgres")


@dataclass(frozen=True, slots=True)
class ProxyWorld:
    """What a client may know about the server: its database, its user, the proxy's users."""

    database: str
    user: str
    users: tuple[str, ...]  # every user of the deployment, sorted

    def roles(self) -> list[tuple[str, int, bool]]:
        """(name, oid, superuser) of every role of the proxy's world."""
        roles = [(OWNER_NAME, OWNER_OID, False)]
        roles += [(name, FIRST_USER_OID + index, False)
                  for index, name in enumerate(n for n in self.users if n != OWNER_NAME)]
        return roles


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _roles_sql(world: ProxyWorld) -> str:
    rows = ", ".join(
        f"(CAST({_literal(name)} AS name), {'true' if superuser else 'false'}, true, false, "
        f"false, true, false, CAST(-1 AS integer), CAST('********' AS text), "
        f"CAST(NULL AS timestamptz), false, CAST(NULL AS text[]), CAST({oid} AS oid))"
        for name, oid, superuser in world.roles()
    )
    return (
        f"SELECT * FROM (VALUES {rows}) AS r(rolname, rolsuper, rolinherit, rolcreaterole, "
        "rolcreatedb, rolcanlogin, rolreplication, rolconnlimit, rolpassword, rolvaliduntil, "
        "rolbypassrls, rolconfig, oid)"
    )


def _derived_sql(view: str, world: ProxyWorld) -> str:
    if view == "pg_database":
        return (
            "SELECT d.oid, CAST(" + _literal(world.database) + " AS name) AS datname, "
            f"CAST({OWNER_OID} AS oid) AS datdba, d.encoding, d.datlocprovider, "
            "d.datistemplate, d.datallowconn, d.datconnlimit, d.datfrozenxid, d.datminmxid, "
            "d.dattablespace, d.datcollate, d.datctype, CAST(NULL AS text) AS datlocale, "
            "CAST(NULL AS text) AS daticulocale, CAST(NULL AS text) AS daticurules, "
            "CAST(NULL AS text) AS datcollversion, CAST(NULL AS text[]) AS datacl "
            "FROM pg_catalog.pg_database AS d "
            # current_database() parses as sqlglot's CurrentDatabase, which the DuckDB catalog
            # layer maps to the client's database.
            "WHERE d.datname = current_database()"
        )
    if view == "pg_roles":
        return _roles_sql(world)
    if view == "pg_user":
        return (
            "SELECT rolname AS usename, oid AS usesysid, rolcreatedb AS usecreatedb, "
            "rolsuper AS usesuper, rolreplication AS userepl, rolbypassrls AS usebypassrls, "
            "rolpassword AS passwd, rolvaliduntil AS valuntil, rolconfig AS useconfig "
            f"FROM ({_roles_sql(world)}) AS u"
        )
    if view == "pg_auth_members":
        return (
            "SELECT CAST(NULL AS oid) AS oid, CAST(NULL AS oid) AS roleid, "
            "CAST(NULL AS oid) AS member, CAST(NULL AS oid) AS grantor, false AS admin_option, "
            "false AS inherit_option, false AS set_option WHERE false"
        )
    assert view == "pg_settings", view
    return (
        # sourcefile names the server's configuration files: NULL, as for an unprivileged role.
        "SELECT s.name, s.setting, s.unit, s.category, s.short_desc, s.extra_desc, s.context, "
        "s.vartype, s.source, s.min_val, s.max_val, s.enumvals, s.boot_val, s.reset_val, "
        "CAST(NULL AS text) AS sourcefile, CAST(NULL AS integer) AS sourceline, "
        "s.pending_restart "
        "FROM pg_catalog.pg_settings AS s WHERE pg_catalog.lower(s.name) IN ("
        + ", ".join(_literal(name) for name in sorted(READABLE_SETTINGS)) + ")"
    )


@lru_cache(maxsize=256)
def _derived(view: str, world: ProxyWorld) -> exp.Expression:
    return sqlglot.parse_one(_derived_sql(view, world), read="postgres")


def _function(node: exp.Expression) -> tuple[exp.Expression, str, list[exp.Expression]] | None:
    """(the node to replace, folded name, arguments) of a call of a pg_catalog function."""
    outer = node
    if isinstance(node, exp.Dot):
        if identifier_name(node.this) != PG_CATALOG or not isinstance(node.expression,
                                                                       exp.Anonymous):
            return None
        node = node.expression
    elif not isinstance(node, exp.Anonymous) or isinstance(node.parent, exp.Dot):
        return None
    assert isinstance(node, exp.Anonymous)
    name = identifier_name(node.this) if isinstance(node.this, exp.Identifier) else (
        identifier_name(str(node.this)))
    return outer, name or "", list(node.expressions)


def _type(name: str) -> exp.DataType:
    return exp.DataType.build(name, dialect="postgres")


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Dot(this=exp.to_identifier(PG_CATALOG),
                   expression=exp.Anonymous(this=name, expressions=list(args)))


def _database_name(world: ProxyWorld) -> exp.Expression:
    return exp.cast(exp.Literal.string(world.database), _type("name"))


def _role_name(oid: exp.Expression, world: ProxyWorld) -> exp.Expression:
    ifs = [exp.If(this=exp.EQ(this=oid.copy(), expression=exp.cast(exp.Literal.number(o),
                                                                     _type("oid"))),
                  true=exp.cast(exp.Literal.string(name), _type("name")))
           for name, o, _ in world.roles()]
    return exp.Case(ifs=ifs, default=exp.cast(exp.Literal.string(OWNER_NAME),
                                              _type("name")))


def _setting_guard(call: exp.Expression, argument: exp.Expression) -> exp.Expression:
    readable = exp.In(this=_call("lower", exp.cast(argument.copy(), _type("text"))),
                      expressions=[exp.Literal.string(n) for n in sorted(READABLE_SETTINGS)])
    return exp.Case(ifs=[exp.If(this=readable, true=call.copy())])


def answer_for_proxy(parsed: exp.Expression, world: ProxyWorld) -> exp.Expression | None:
    """`parsed` (a catalog-only query) rewritten for the proxy's world; None if unchanged."""
    tree = parsed.copy()
    # Calls first: the derived tables put in below call current_database() themselves.
    changed = _replace_calls(tree, world, identity_only=False)
    for table in referenced_tables(tree):
        name = relation_name(table)
        if name.schema != PG_CATALOG or name.name not in PROXY_VIEWS:
            continue
        alias = table.args.get("alias")
        derived = exp.Subquery(
            this=_derived(name.name, world).copy(),
            alias=alias.copy() if alias is not None else exp.TableAlias(
                this=exp.to_identifier(name.name)),
        )
        table.replace(derived)
        changed = True
    return tree if changed else None


def answer_identity(parsed: exp.Expression, world: ProxyWorld) -> exp.Expression | None:
    """A query that reads data, with current_user / current_database() answered for the
    proxy's world (the warehouse would name its own role and database); None if unchanged."""
    tree = parsed.copy()
    return tree if _replace_calls(tree, world, identity_only=True) else None


def _replace_calls(tree: exp.Expression, world: ProxyWorld, identity_only: bool) -> bool:
    changed = False
    # Innermost first (reversed pre-order), so a replaced call's arguments are replaced too.
    for node in reversed(list(tree.walk(bfs=False))):
        replacement = _replacement(node, world, identity_only)
        if replacement is not None:
            parent = node.parent
            if isinstance(parent, exp.Select) and node in parent.expressions:
                # Keep the column name PostgreSQL gives the call (clients read it by name).
                replacement = exp.alias_(replacement, _output_name(node), quoted=True)
            node.replace(replacement)
            changed = True
    return changed


# Privilege functions: the number of arguments without the leading role argument.
_PRIVILEGE_FUNCTIONS = {
    "has_table_privilege": 2, "has_schema_privilege": 2, "has_database_privilege": 2,
    "has_column_privilege": 3, "has_any_column_privilege": 2, "has_sequence_privilege": 2,
    "has_function_privilege": 2, "has_type_privilege": 2, "has_tablespace_privilege": 2,
    "has_foreign_data_wrapper_privilege": 2, "has_server_privilege": 2,
    "has_language_privilege": 2, "has_parameter_privilege": 2,
}


def _output_name(node: exp.Expression) -> str:
    """The column name PostgreSQL gives an unaliased function call."""
    names = {exp.CurrentDatabase: "current_database", exp.CurrentCatalog: "current_catalog",
             exp.CurrentUser: "current_user", exp.SessionUser: "session_user"}
    for kind, name in names.items():
        if isinstance(node, kind):
            return name
    if isinstance(node, exp.Column):
        return identifier_name(node.this) or "?column?"
    call = _function(node)
    return call[1] if call is not None else "?column?"


def _replacement(
    node: exp.Expression, world: ProxyWorld, identity_only: bool
) -> exp.Expression | None:
    if isinstance(node, (exp.CurrentDatabase, exp.CurrentCatalog)):
        return _database_name(world)
    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):
        return exp.cast(exp.Literal.string(world.user), _type("name"))
    if identity_only:
        call = _function(node)
        if call is not None and call[1] == "current_database" and not call[2]:
            return _database_name(world)
        return None
    if isinstance(node, exp.Column) and identifier_name(node.this) in ACL_COLUMNS:
        return _NO_ACL.copy()
    call = _function(node)
    if call is None:
        return None
    outer, name, args = call
    if name == "current_database" and not args:
        return _database_name(world)
    if name == "pg_get_userbyid" and len(args) == 1:
        return _role_name(args[0], world)
    if name == "pg_has_role":
        return exp.false()  # the proxy's users are members of no warehouse role
    if name in _PRIVILEGE_FUNCTIONS and len(args) == _PRIVILEGE_FUNCTIONS[name] + 1:
        # The (role, object, privilege) form asks about a warehouse role: answered for the
        # proxy's own role, as the two-argument form is.
        args = args[1:]
        if name != "has_database_privilege":
            return _call(name, *[arg.copy() for arg in args])
    if name == "pg_database_size" and len(args) == 1:
        return _call(name, exp.CurrentDatabase())
    if name == "has_database_privilege" and len(args) == 2:
        return _call(name, exp.CurrentDatabase(), args[1].copy())
    if name == "current_setting" and args and not (
        isinstance(args[0], exp.Literal) and args[0].is_string
    ):
        return _setting_guard(outer, args[0])
    return None


def world_of(database: str, user: str, users: Iterable[str]) -> ProxyWorld:
    return ProxyWorld(database, user, tuple(sorted(users)))
