"""Command line: `purpose-proxy serve | hash-password` (also `python -m proxy`)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from pydantic import ValidationError

from proxy.config_files import ConfigError, format_validation_error
from proxy.settings import load_settings


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
        run(settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"purpose-proxy: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    from proxy.users import ScramVerifier

    password = args.password if args.password is not None else getpass.getpass("Password: ")
    print(ScramVerifier.from_password(password, iterations=args.iterations))
    return 0


def _check(args: argparse.Namespace) -> int:
    from proxy.check import as_json, as_text, check
    from proxy.deployment import DeploymentHolder

    try:
        settings = load_settings(args.config)
        deployment = DeploymentHolder(settings)()
    except (ConfigError, ValidationError, FileNotFoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    decisions = check(deployment, args.user, args.purpose, args.sql)
    print(as_json(decisions) if args.json else as_text(decisions))
    return 0 if all(type(d).__name__ == "Allow" for d in decisions) else 1


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
