"""Assemble a running proxy from settings: warehouse, users, TLS, audit, gate, server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import structlog

from proxy.audit import AuditLog
from proxy.backends.base import Warehouse, WarehouseSession
from proxy.deployment import DeploymentHolder, configured_mask_key
from proxy.errors import PgError
from proxy.policy.gate import PolicyGate
from proxy.policy.model import Deployment
from proxy.settings import Settings
from proxy.sql.budget import AnalysisBudget
from proxy.sql.identifiers import quote_identifier
from proxy.wire.analysis import AnalysisPool
from proxy.wire.server import ProxyServer, ServerConfig
from proxy.wire.tls import server_context

log = structlog.get_logger(__name__)


async def open_warehouse(settings: Settings) -> Warehouse:
    """The warehouse, answering, with the hash mask's function and key installed."""
    warehouse: Warehouse
    if settings.backend == "postgres":
        from proxy.backends.postgres import PostgresWarehouse

        warehouse = PostgresWarehouse(settings.postgres)
        await warehouse.start()
    else:
        from proxy.backends.duckdb import DuckDBWarehouse

        settings.duckdb.path.parent.mkdir(parents=True, exist_ok=True)
        warehouse = DuckDBWarehouse(settings.duckdb.path, threads=settings.duckdb.threads)
        await warehouse.start()
    try:
        await warehouse.install_mask(configured_mask_key(settings))
    except BaseException:
        await warehouse.close()
        raise
    return warehouse


async def ensure_schemas(warehouse: Warehouse, database: str, schemas: set[str]) -> None:
    """Schemas the catalog declares without tables (the sandbox) must exist to write into."""
    session = await warehouse.open_session("purpose_proxy", database)
    try:
        for schema in sorted(schemas):
            quoted = quote_identifier(schema)
            try:
                cursor = await session.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}", ())
                await cursor.fetch(None)
            except PgError as error:  # e.g. the warehouse role may not create schemas
                # PostgreSQL checks the database's CREATE privilege before IF NOT EXISTS:
                # a role without it fails even when the schema is there. Warn only if not.
                if not await _schema_exists(session, quoted):
                    log.warning("schema not created; writes into it will fail", schema=schema,
                                error=error.message)
    finally:
        await session.close()


async def _schema_exists(session: WarehouseSession, quoted: str) -> bool:
    """PostgreSQL's regnamespace input fails for a missing schema (on a warehouse without
    the type the probe fails too: False, and the warning stands)."""
    literal = "'" + quoted.replace("'", "''") + "'"
    try:
        # No row either way (a relayed result is not read as values); the cast is the test.
        cursor = await session.execute(
            f"SELECT 1 WHERE CAST({literal} AS regnamespace) IS NULL", ())
        await cursor.fetch(None)
    except PgError:
        return False
    return True


async def build_server(settings: Settings) -> tuple[ProxyServer, DeploymentHolder]:
    deployment = DeploymentHolder(settings)
    warehouse = await open_warehouse(settings)
    await deployment.check_warehouse()
    catalog = deployment().catalog
    await ensure_schemas(
        warehouse, settings.database, set(catalog.schemas) - {t.schema for t in catalog}
    )
    audit = AuditLog(settings.audit_log)
    config = ServerConfig(
        database=settings.database,
        auth_method=settings.auth,
        users=lambda: deployment().users,
        server_version=settings.server_version,
        max_message_size=settings.max_message_size,
        max_connections=settings.max_connections,
        authentication_timeout=settings.authentication_timeout,
    )
    gate = PolicyGate(deployment, audit, deployment.record_table, settings.database)
    limits = settings.analysis
    analysis = AnalysisPool(
        AnalysisBudget(limits.max_statement_bytes, limits.max_expression_depth,
                       limits.max_parse_nodes, limits.max_seconds),
        limits.threads,
    )
    server = ProxyServer(config, warehouse, gate, audit, server_context(settings), analysis)
    return server, deployment


def demo_banner(settings: Settings, deployment: Deployment, host: str, port: int) -> str:
    """What a first-time user needs once the demo listens: who can log in, a line to paste,
    where the audit trail goes. A password is shown only where it is the user's name (the
    demo's convention), checked against the stored verifier."""
    lines = ["", "Users (password):"]
    for name, entry in sorted(deployment.users.items()):
        verifier = entry.verifier
        shown = name if verifier is not None and verifier.matches(name) else "(see users file)"
        purposes = ", ".join(entry.purposes) or "no purposes"
        lines.append(f"  {name:<6} {shown:<18} purposes: {purposes}")
    first = next(iter(sorted(deployment.users)), "ana")
    lines += [
        "", "Try:",
        (f'  psql "postgresql://{first}:{first}@{host}:{port}/{settings.database}" '
         '-c "SELECT count(*) FROM shop.customers"'),
        "", f"Audit events (JSON lines) go to: {settings.audit_log}",
        "Stop with Ctrl-C.", "",
    ]
    return "\n".join(lines)


async def serve(settings: Settings, demo: bool = False) -> None:
    server, deployment = await build_server(settings)
    host, port = await server.start(settings.host, settings.port)
    stop = asyncio.Event()
    fast = asyncio.Event()
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    def shut_down(signum: signal.Signals) -> None:
        # SIGTERM: smart (running statements get the grace period); SIGINT, or a second
        # signal during the grace period: fast (cancel everything now).
        if signum == signal.SIGINT or stop.is_set():
            fast.set()
        log.info("shutdown requested", signal=signum.name,
                 mode="fast" if fast.is_set() else "smart")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, shut_down, signum)
    with contextlib.suppress(NotImplementedError):
        # SIGHUP re-reads catalog/, policies/ and users (a broken file keeps the last good
        # one) and reopens the audit file, which logrotate may have moved away.
        def reload() -> None:
            try:
                server.audit.reopen()
            except OSError as error:  # keep writing to the old file rather than to nothing
                log.error("audit file not reopened", error=str(error))
            task = loop.create_task(deployment.reload_with_warehouse())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        loop.add_signal_handler(signal.SIGHUP, reload)
    # The one line scripts and tests wait for: the address really listened on. Only now, with
    # the signal handlers in place (a SIGHUP sent on seeing it must reload, not kill).
    print(f"purpose-proxy listening on {host}:{port} (database {settings.database})", flush=True)
    if demo:
        print(demo_banner(settings, deployment(), host, port), flush=True)
    serving = asyncio.create_task(server.serve_forever())
    await stop.wait()
    serving.cancel()
    grace = 0.0 if fast.is_set() else settings.shutdown_grace_period
    await server.shutdown(grace, hurry=fast)
    await server.warehouse.close()
    server.audit.close()
    log.info("purpose-proxy stopped")


def configure_logging(settings: Settings) -> None:
    """Operational logs go to stderr, at the configured level (audit events have their sink)."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(settings.log_level.upper())
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def run(settings: Settings, demo: bool = False) -> None:
    configure_logging(settings)
    try:
        import uvloop

        uvloop.run(serve(settings, demo))
    except ImportError:
        asyncio.run(serve(settings, demo))
