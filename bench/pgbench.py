"""The data plane side by side: pgbench against PostgreSQL, pgbouncer and purpose-proxy.

    .venv/bin/python -m bench.pgbench                     # 3 rounds, 10 s per run
    .venv/bin/python -m bench.pgbench --seconds 5 --rounds 1 --clients 8 --modes simple

One run of this module makes its own world: a scratch database with the Acme demo and
pgbench's tables (scale 1) moved into schema `bench` and annotated in the proxy's catalog
(`abalance` is business.revenue, so analytics' policies are enforced on every statement),
pgbouncer (installed with apt when missing; session and transaction pooling) in front of it,
and the proxy (as `ana`, purpose analytics). pgbench's select-only workload runs against each
target in every protocol mode and client count, the targets interleaved within each round so
that a busy machine hurts them alike. Medians of the rounds are reported with the ratio of the
proxy to pgbouncer (session mode); a Markdown table goes to bench/results/.

Also measured: how many of 1,000 idle clients the proxy accepts with the PostgreSQL warehouse,
and its resident memory with them connected.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psycopg

from tests.support.proxy_process import REPO, ProxyProcess, start_proxy
from tests.support.warehouses import DemoWarehouse, demo_postgres

SELECT_ONLY = """\\set aid random(1, 100000 * :scale)
SELECT abalance FROM bench.pgbench_accounts WHERE aid = :aid;
"""
BENCH_CATALOG = """\
schema: bench
description: pgbench's tables (scale 1), for benchmarks.
tables:
  pgbench_accounts:
    columns:
      aid:      {type: integer, labels: [], primary_key: true}
      bid:      {type: integer, labels: []}
      abalance: {type: integer, labels: [business.revenue]}
      filler:   {type: character(84), labels: []}
  pgbench_branches:
    columns:
      bid:      {type: integer, labels: [], primary_key: true}
      bbalance: {type: integer, labels: [business.revenue]}
      filler:   {type: character(88), labels: []}
  pgbench_tellers:
    columns:
      tid:      {type: integer, labels: [], primary_key: true}
      bid:      {type: integer, labels: []}
      tbalance: {type: integer, labels: [business.revenue]}
      filler:   {type: character(84), labels: []}
  pgbench_history:
    columns:
      tid:    {type: integer, labels: []}
      bid:    {type: integer, labels: []}
      aid:    {type: integer, labels: []}
      delta:  {type: integer, labels: [business.revenue]}
      mtime:  {type: timestamp, labels: []}
      filler: {type: character(22), labels: []}
"""
TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    database: str
    user: str
    password: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin(warehouse: DemoWarehouse) -> psycopg.Connection:
    return psycopg.connect(warehouse.admin_conninfo, autocommit=True)


def prepare_pgbench_tables(warehouse: DemoWarehouse) -> None:
    env = {**os.environ, "PGHOST": warehouse.host, "PGPORT": str(warehouse.port)}
    subprocess.run(["pgbench", "-i", "-s", "1", "-q", "-U", "postgres", warehouse.database],
                   check=True, env=env, capture_output=True)
    with _admin(warehouse) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        for table in ("accounts", "branches", "tellers", "history"):
            conn.execute(f"ALTER TABLE public.pgbench_{table} SET SCHEMA bench")
        conn.execute(f'GRANT USAGE ON SCHEMA bench TO "{warehouse.role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA bench TO "{warehouse.role}"')
        conn.execute("ANALYZE")


def ensure_pgbouncer() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "pgbouncer"], check=False,
                       capture_output=True)
        found = shutil.which("pgbouncer") or (
            "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None)
    if found is None:
        sys.exit("pgbouncer is not installed (apt-get install pgbouncer)")
    return found


class Pgbouncer:
    """pgbouncer in one pool mode, configured in a scratch directory."""

    def __init__(self, binary: str, warehouse: DemoWarehouse, mode: str, workdir: Path) -> None:
        self.port = _free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.chown(workdir, "postgres")
        users = workdir / "userlist.txt"
        users.write_text(f'"{warehouse.role}" "{warehouse.password}"\n')
        ini = workdir / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"bench = host={warehouse.host} port={warehouse.port} dbname={warehouse.database}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {workdir}\n"
            f"auth_type = plain\nauth_file = {users}\n"
            f"pool_mode = {mode}\nmax_client_conn = 2000\ndefault_pool_size = 40\n"
            f"logfile = {workdir / 'pgbouncer.log'}\npidfile = {workdir / 'pgbouncer.pid'}\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in (users, ini):
            shutil.chown(path, "postgres")
        command = [binary, str(ini)]
        if os.geteuid() == 0:  # pgbouncer refuses to run as root
            command = [binary, "-u", "postgres", str(ini)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not start: {(workdir / 'pgbouncer.log').read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def run_pgbench(target: Target, script: Path, mode: str, clients: int, seconds: int) -> float:
    env = {**os.environ, "PGPASSWORD": target.password}
    command = ["pgbench", "-n", "-f", str(script), "-M", mode, "-c", str(clients),
               "-j", str(min(clients, os.cpu_count() or 1)), "-T", str(seconds),
               "-h", target.host, "-p", str(target.port), "-U", target.user, target.database]
    result = subprocess.run(command, env=env, capture_output=True, text=True,
                            timeout=seconds + 60)
    found = TPS.search(result.stdout)
    if result.returncode != 0 or found is None:
        print(f"  {target.name} {mode} c={clients}: failed: "
              f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}", flush=True)
        return 0.0
    return float(found.group(1))


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def idle_clients(proxy: ProxyProcess, count: int) -> tuple[int, int, int]:
    """Connections accepted out of `count` held open at once, and proxy RSS before/after."""
    before = _rss_kib(proxy.process.pid)
    semaphore = asyncio.Semaphore(50)  # SCRAM handshakes in flight

    async def one() -> asyncpg.Connection | None:
        async with semaphore:
            try:
                return await asyncpg.connect(proxy.dsn("ana"), timeout=30)
            except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
                return None

    connections = await asyncio.gather(*(one() for _ in range(count)))
    opened = [c for c in connections if c is not None]
    after = _rss_kib(proxy.process.pid)
    await asyncio.gather(*(c.close() for c in opened), return_exceptions=True)
    return len(opened), before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--modes", nargs="+", default=["simple", "extended", "prepared"])
    parser.add_argument("--idle", type=int, default=1000, help="idle clients to hold (0: skip)")
    args = parser.parse_args()
    pgbouncer_binary = ensure_pgbouncer()
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        os.chmod(workdir, 0o755)
        with demo_postgres(workdir / "pg") as warehouse:
            prepare_pgbench_tables(warehouse)
            catalog = workdir / "catalog"
            shutil.copytree(REPO / "catalog", catalog)
            (catalog / "bench.yaml").write_text(BENCH_CATALOG)
            script = workdir / "select-only.sql"
            script.write_text(SELECT_ONLY)
            proxy = start_proxy(workdir / "proxy", workdir / "unused.duckdb", backend="postgres",
                                postgres=warehouse.proxy_settings(pool_size=40),
                                catalog_dir=str(catalog), audit_log="off",
                                max_connections=2000)
            bouncers = {mode: Pgbouncer(pgbouncer_binary, warehouse, mode, workdir / mode)
                        for mode in ("session", "transaction")}
            targets = [
                Target("direct", warehouse.host, warehouse.port, warehouse.database,
                       warehouse.role, warehouse.password),
                *(Target(f"pgbouncer ({mode})", "127.0.0.1", bouncer.port, "bench",
                         warehouse.role, warehouse.password) for mode, bouncer in bouncers.items()),
                Target("purpose-proxy", proxy.host, proxy.port, "acme", "ana", "ana"),
            ]
            try:
                results = _measure(targets, script, args)
                idle = asyncio.run(idle_clients(proxy, args.idle)) if args.idle else None
            finally:
                proxy.stop()
                for bouncer in bouncers.values():
                    bouncer.stop()
    report = _report(results, targets, args, idle)
    print(report)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    (out / f"pgbench-{stamp}.md").write_text(report)


def _measure(
    targets: list[Target], script: Path, args: argparse.Namespace
) -> dict[tuple[str, int, str], list[float]]:
    results: dict[tuple[str, int, str], list[float]] = {}
    for round_number in range(1, args.rounds + 1):
        for mode in args.modes:
            for clients in args.clients:
                for target in targets:
                    tps = run_pgbench(target, script, mode, clients, args.seconds)
                    results.setdefault((mode, clients, target.name), []).append(tps)
                    print(f"round {round_number} {mode:<8} c={clients:<3} {target.name:<22} "
                          f"{tps:>10,.0f} tps", flush=True)
    return results


def _report(
    results: dict[tuple[str, int, str], list[float]],
    targets: list[Target],
    args: argparse.Namespace,
    idle: tuple[int, int, int] | None,
) -> str:
    names = [t.name for t in targets]
    lines = [
        f"# pgbench select-only, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.rounds} interleaved rounds of {args.seconds} s, "
        "median tps; proxy as `ana` (analytics policies enforced), PostgreSQL warehouse.",
        "",
        "| mode | clients | " + " | ".join(names) + " | proxy / pgbouncer (session) |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    for mode in args.modes:
        for clients in args.clients:
            medians = [statistics.median(results[(mode, clients, n)]) for n in names]
            bouncer = medians[names.index("pgbouncer (session)")]
            ratio = medians[-1] / bouncer if bouncer else 0.0
            cells = " | ".join(f"{m:,.0f}" if m else "failed" for m in medians)
            lines.append(f"| {mode} | {clients} | {cells} | {ratio:.3f} |")
    lines += ["", "A failed cell: pgbench aborted (pgbouncer before 1.21 keeps no prepared "
              "statements in transaction mode, so `-M prepared` fails there)."]
    if idle is not None:
        opened, before, after = idle
        lines += ["", f"Idle clients: {opened} of {args.idle} connected at once; proxy RSS "
                  f"{before / 1024:.0f} MiB before, {after / 1024:.0f} MiB with them."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
