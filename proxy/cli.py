"""Command line: `purpose-proxy serve | check | hash-password | load-demo | introspect`
(also `python -m proxy`)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from pydantic import ValidationError

from proxy.config_files import ConfigError, format_validation_error
from proxy.errors import PgError
from proxy.settings import load_settings
from proxy.sql.identifiers import quote_identifier


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    try:
        settings = load_settings(args.config, **overrides)
    except ValidationError as exc:
        print(format_validation_error(args.config or Path("settings"), exc), file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 2
    from proxy.app import run

    try:
        run(settings, demo=args.config is None)  # no config file: the embedded demo
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"purpose-proxy: cannot start: {exc}", file=sys.stderr)
        return 1
    except PgError as exc:  # the warehouse refused or could not be reached
        lines = [f"purpose-proxy: cannot start: {exc.message}"]
        lines += [f"  DETAIL: {exc.detail}"] if exc.detail else []
        lines += [f"  HINT: {exc.hint}"] if exc.hint else []
        print("\n".join(lines), file=sys.stderr)
        return 1
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    from proxy.users import ScramVerifier

    password = args.password if args.password is not None else getpass.getpass("Password: ")
    print(ScramVerifier.from_password(password, iterations=args.iterations))
    return 0


def _check(args: argparse.Namespace) -> int:
    import asyncio

    from proxy.app import configure_logging
    from proxy.check import as_json, as_text, check
    from proxy.deployment import DeploymentHolder

    try:
        settings = load_settings(args.config)
        holder = DeploymentHolder(settings)
    except (ConfigError, ValidationError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings)  # to stderr: stdout is the decision (maybe JSON)
    # As the running proxy: labels written in the PostgreSQL warehouse's COMMENTs count.
    asyncio.run(holder.check_warehouse())
    deployment = holder()
    if deployment.user(args.user) is None:
        known = ", ".join(sorted(deployment.users)) or "none"
        print(f"purpose-proxy check: unknown user {args.user!r} (users: {known}); "
              f"users are declared in {settings.users_file or settings.policies_dir / 'users.yaml'}",
              file=sys.stderr)
        return 2
    decisions = check(deployment, args.user, args.purpose, args.sql)
    print(as_json(decisions) if args.json else as_text(decisions))
    return 0 if all(type(d).__name__ == "Allow" for d in decisions) else 1


def _redacted(dsn: str) -> str:
    """The DSN without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(dsn)
        if parts.password is None:
            return dsn
        netloc = parts.netloc.rsplit("@", 1)
        user = (parts.username or "") + ":***"
        return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))
    except ValueError:
        return "<unparsable DSN>"


def _connection_problem(exc: BaseException, where: str) -> str | None:
    """A one-line explanation of why PostgreSQL could not be used, or None if `exc` is not a
    connection or server error (a bug: let it raise)."""
    import asyncpg

    if isinstance(exc, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
        return f"authentication failed at {where}: {exc}"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{where}: {exc}"
    if isinstance(exc, asyncpg.PostgresError):
        return f"{where}: {exc} (SQLSTATE {exc.sqlstate})"
    if isinstance(exc, TimeoutError):
        return f"cannot reach PostgreSQL at {where}: timed out"
    if isinstance(exc, OSError):
        return f"cannot reach PostgreSQL at {where}: {exc.strerror or exc}"
    if isinstance(exc, (asyncpg.InterfaceError, asyncpg.ClientConfigurationError, ValueError)):
        return f"cannot connect to {where}: {exc}"
    return None


async def _load_demo_into(args: argparse.Namespace) -> list[str]:
    """Load the demo and return what was done, line by line; raises on failure."""
    import asyncpg

    from proxy.demo.data import TABLE_ORDER, load_into_postgres

    conn = await asyncpg.connect(args.dsn, timeout=args.timeout)
    try:
        database = await conn.fetchval("SELECT pg_catalog.current_database()")
        present = {
            row[0]
            for row in await conn.fetch(
                "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN ('shop', 'sandbox')"
            )
        }
        if args.grant_to is not None:
            exists = await conn.fetchval(
                "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1", args.grant_to
            )
            if not exists:
                raise _LoadDemoRefused(f"role {args.grant_to!r} does not exist in this cluster")
        done: list[str] = []
        if "shop" in present and not args.drop:
            if not args.if_missing:
                raise _LoadDemoRefused(
                    f"schema shop already exists in database {database!r}; pass --drop to "
                    "replace schemas shop and sandbox (and everything in them), or --if-missing "
                    "to leave them"
                )
            done.append(f"schema shop already exists in database {database!r}: left as it is")
        else:
            if args.drop and "sandbox" in present:
                await conn.execute("DROP SCHEMA sandbox CASCADE")
                done.append("dropped schema sandbox")
            if "shop" in present:
                done.append("dropped schema shop")
            await load_into_postgres(args.dsn)
            done.append(f"loaded the Acme Shop demo into database {database!r}:")
            for table in TABLE_ORDER:
                count = await conn.fetchval(f"SELECT count(*) FROM shop.{table}")
                done.append(f"  shop.{table:<18} {count:>6} rows")
        if "sandbox" not in present or args.drop:
            await conn.execute("CREATE SCHEMA IF NOT EXISTS sandbox")
            done.append("  sandbox                  schema created (empty)")
        if args.grant_to is not None:
            role = quote_identifier(args.grant_to)
            await conn.execute(
                f"GRANT USAGE ON SCHEMA shop TO {role}; "
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA shop TO {role}; "
                f"GRANT USAGE, CREATE ON SCHEMA sandbox TO {role}; "
                # Where the proxy keeps the hash mask's key and function (backends/pg_mask.py).
                f"CREATE SCHEMA IF NOT EXISTS _purpose_proxy AUTHORIZATION {role}"
            )
            done.append(
                f"granted {args.grant_to}: SELECT, INSERT, UPDATE, DELETE on shop.*; "
                "USAGE, CREATE on schema sandbox; schema _purpose_proxy (the mask key)"
            )
        return done
    finally:
        await conn.close()


class _LoadDemoRefused(Exception):
    pass


def _load_demo(args: argparse.Namespace) -> int:
    import asyncio

    where = _redacted(args.dsn)
    try:
        done = asyncio.run(_load_demo_into(args))
    except _LoadDemoRefused as exc:
        print(f"purpose-proxy load-demo: {where}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        problem = _connection_problem(exc, where)
        if problem is None:
            raise
        print(f"purpose-proxy load-demo: {problem}", file=sys.stderr)
        return 1
    print("\n".join(done))
    return 0


def _introspect(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from proxy.catalog.introspect import introspect
    from proxy.deployment import DeploymentHolder

    try:
        settings = load_settings(args.config)
        catalog = DeploymentHolder(settings)().catalog
    except ValidationError as exc:
        print(format_validation_error(args.config, exc), file=sys.stderr)
        return 2
    except (ConfigError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if settings.backend != "postgres":
        print(
            f"purpose-proxy introspect: {args.config}: backend is {settings.backend!r}; "
            "introspection reads a PostgreSQL warehouse (backend: postgres)",
            file=sys.stderr,
        )
        return 2
    pg = settings.postgres
    where = f"{pg.host}:{pg.port}/{pg.database} as {pg.user}"
    try:
        report = asyncio.run(introspect(settings, catalog))
    except Exception as exc:
        problem = _connection_problem(exc, where)
        if problem is None:
            raise
        print(f"purpose-proxy introspect: {problem}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.clean else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="purpose-proxy",
        description="PostgreSQL wire-protocol proxy enforcing purpose limitation.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the proxy (the embedded demo by default)")
    serve.add_argument("--config", type=Path, help="YAML settings file")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 6432; 0 picks one)")
    serve.set_defaults(handler=_serve)

    check = commands.add_parser(
        "check", help="show the decision for a statement: lineage, labels, rewrite or rejection"
    )
    check.add_argument("sql", help="one or more SQL statements")
    check.add_argument("--user", required=True)
    check.add_argument("--purpose", help="the declared purpose (default: the user's default)")
    check.add_argument("--config", type=Path, help="YAML settings file")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=_check)

    hash_password = commands.add_parser(
        "hash-password", help="print a SCRAM-SHA-256 verifier for policies/users.yaml"
    )
    hash_password.add_argument("password", nargs="?", help="read from the terminal if omitted")
    hash_password.add_argument("--iterations", type=int, default=4096)
    hash_password.set_defaults(handler=_hash_password)

    load_demo = commands.add_parser(
        "load-demo",
        help="load the Acme Shop demo data into a PostgreSQL database (schemas shop, sandbox)",
    )
    load_demo.add_argument(
        "--dsn", required=True,
        help="postgresql://user:password@host:port/database (PGPASSWORD etc. are honoured)",
    )
    existing = load_demo.add_mutually_exclusive_group()
    existing.add_argument(
        "--drop", action="store_true",
        help="drop schemas shop and sandbox first, with everything in them",
    )
    existing.add_argument(
        "--if-missing", action="store_true",
        help="do nothing (exit 0) when schema shop exists: for a deployment's start-up",
    )
    load_demo.add_argument(
        "--grant-to", metavar="ROLE",
        help="the proxy's warehouse role: may read and write shop.*, create in sandbox",
    )
    load_demo.add_argument("--timeout", type=float, default=10.0, help="connect timeout (s)")
    load_demo.set_defaults(handler=_load_demo)

    introspect = commands.add_parser(
        "introspect",
        help="check the catalog against the PostgreSQL warehouse; labels from column comments",
    )
    introspect.add_argument("--config", type=Path, required=True, help="YAML settings file")
    introspect.add_argument("--json", action="store_true", help="machine-readable output")
    introspect.set_defaults(handler=_introspect)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error of ours. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
