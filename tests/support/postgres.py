"""Throwaway PostgreSQL clusters for tests: a private server on a free port, gone afterwards.

Use it for what the shared server on 127.0.0.1:5432 must not be reconfigured for: TLS,
password authentication, hostssl-only rules, restarts, crashes.

    from tests.support.postgres import ClusterUnavailable, throwaway_cluster

    @pytest.fixture(scope="module")
    def cluster(tmp_path_factory):
        try:
            with throwaway_cluster(tmp_path_factory.mktemp("pg"), ssl=True) as running:
                yield running
        except ClusterUnavailable as exc:
            require(False, str(exc))      # skips loudly locally, fails in CI

    def test_x(cluster):
        cluster.execute("CREATE ROLE app LOGIN PASSWORD 'secret'")
        settings = cluster.postgres_settings(user="app", password="secret")
        psycopg.connect(**cluster.conninfo())          # the superuser, over TLS if ssl

What a cluster is:
- initdb (UTF8, C locale, no fsync: fast, not durable) and `pg_ctl start` take about 1-2 s;
  start at most one or two per test module (module-scoped fixtures).
- It listens on 127.0.0.1 only, on a free port, with no Unix socket.
- Superuser `postgres` with a random password (`cluster.password`).
- pg_hba.conf: `extra_hba` lines first (e.g. "hostssl all md5_user 127.0.0.1/32 md5"),
  then every TCP connection with `auth` ("scram-sha-256", "md5", "password" or "trust").
  With ssl=True those rules are `hostssl`: plaintext connections are refused for every role,
  the superuser included (`conninfo()` uses sslmode=require then).
- ssl=True: a fresh CA (`cluster.ca_file`, for verify-ca / verify-full) signs the server
  certificate, valid for `cert_hosts` (default "localhost" and 127.0.0.1).
- `stop()`, `start()`, `restart()` for warehouse-restart tests; the context manager stops it
  (immediate mode) and deletes its files.
- When the tests run as root (as in our containers), PostgreSQL refuses to run as root: the
  server runs as the `postgres` OS user, and its data lives in a fresh directory under the
  system temp dir (tmp_dir's parents are usually private to root), removed at the end.
"""

from __future__ import annotations

import datetime as dt
import glob
import ipaddress
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

AUTH_METHODS = ("scram-sha-256", "md5", "password", "trust")


class ClusterUnavailable(RuntimeError):
    """PostgreSQL's server binaries (or a non-root user to run them) are not available."""


def server_binaries() -> Path:
    """The directory with initdb and pg_ctl: from PATH, else the newest Debian/RPM layout."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(os.path.realpath(initdb)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) + sorted(
        glob.glob("/usr/pgsql-*/bin/initdb")
    )
    if not candidates:
        raise ClusterUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway server; see the module docstring."""

    host: str
    port: int
    data_dir: Path
    log_file: Path
    superuser: str
    password: str
    ssl: bool
    auth: str
    ca_file: Path | None
    _bin: Path = field(repr=False)
    _run_as: str | None = field(repr=False, default=None)

    def conninfo(
        self, user: str | None = None, password: str | None = None, dbname: str = "postgres",
        **extra: Any,
    ) -> dict[str, Any]:
        """Keyword arguments for psycopg.connect (the superuser by default)."""
        info: dict[str, Any] = {
            "host": self.host, "port": self.port, "dbname": dbname,
            "user": user or self.superuser,
            "password": self.password if password is None and user is None else password,
            "sslmode": "require" if self.ssl else "disable",
            "connect_timeout": 10,
        }
        info.update(extra)
        return {k: v for k, v in info.items() if v is not None}

    def dsn(self, user: str | None = None, password: str | None = None,
            dbname: str = "postgres") -> str:
        """A postgresql:// URL (asyncpg, SQLAlchemy); the superuser by default."""
        from urllib.parse import quote

        user_ = user or self.superuser
        password_ = self.password if password is None and user is None else password
        auth = quote(user_, safe="") + (f":{quote(password_, safe='')}" if password_ else "")
        sslmode = "require" if self.ssl else "disable"
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}?sslmode={sslmode}"

    def postgres_settings(self, **overrides: Any) -> Any:
        """proxy.settings.PostgresSettings for this cluster (superuser, sslmode require or
        disable, database postgres), with `overrides` applied."""
        from proxy.settings import PostgresSettings

        values: dict[str, Any] = {
            "host": self.host, "port": self.port, "database": "postgres",
            "user": self.superuser, "password": self.password,
            "sslmode": "require" if self.ssl else "disable", "connect_timeout": 10,
        }
        values.update(overrides)
        return PostgresSettings(**values)

    def execute(self, sql: str, params: Sequence[Any] | None = None,
                dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement as the superuser (autocommit); returns its rows, if any."""
        import psycopg

        with psycopg.connect(**self.conninfo(dbname=dbname), autocommit=True) as conn:
            cursor = conn.execute(sql.encode(), params)  # type: ignore[arg-type]
            return list(cursor.fetchall()) if cursor.description else []

    # --- lifecycle -------------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return _run(self._bin, self._run_as, self.data_dir.parent, *args, check=check)

    def start(self) -> None:
        result = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
            "start", check=False,
        )
        if result.returncode != 0:
            raise ClusterUnavailable(
                f"pg_ctl start failed: {result.stdout}{result.stderr}\n{self.log_tail()}"
            )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server ("smart", "fast" or "immediate": a crash-like stop)."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _run(bin_dir: Path, run_as: str | None, cwd: Path, program: str, *args: str,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(bin_dir / program), *args], cwd=cwd, user=run_as, capture_output=True, text=True,
        timeout=120, check=False, env={**os.environ, "LC_ALL": "C", "LANG": "C"},
    )
    if check and result.returncode != 0:
        raise ClusterUnavailable(f"{program} failed: {result.stdout}{result.stderr}")
    return result


def _write_certificates(data_dir: Path, ca_file: Path, hosts: Sequence[str]) -> None:
    """A CA (written to ca_file) and a server certificate it signs, valid for `hosts`."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "purpose-proxy test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0] if hosts else "x")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    (data_dir / "server.crt").write_bytes(cert.public_bytes(pem))
    key_file = data_dir / "server.key"
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for path in root.rglob("*"):
        os.chown(path, uid, gid)


@contextmanager
def throwaway_cluster(
    tmp_dir: Path,
    *,
    ssl: bool = False,
    auth: str = "scram-sha-256",
    cert_hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    extra_hba: Sequence[str] = (),
    extra_config: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """Start a private PostgreSQL server, yield its `Cluster`, stop and delete it afterwards.

    Raises ClusterUnavailable when the server binaries are missing or the server cannot
    start (the message includes the server log).
    """
    if auth not in AUTH_METHODS:
        raise ValueError(f"auth must be one of {AUTH_METHODS}")
    bin_dir = server_binaries()
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    run_as: str | None = None
    owner: tuple[int, int] | None = None
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterUnavailable("running as root and there is no 'postgres' user") from None
        run_as, owner = "postgres", (entry.pw_uid, entry.pw_gid)
        base = Path(tempfile.mkdtemp(prefix="pp-pgcluster-"))
    else:
        base = Path(tempfile.mkdtemp(prefix="pgcluster-", dir=tmp_dir))
    data_dir = base / "data"
    password = secrets.token_urlsafe(18)
    cluster: Cluster | None = None
    try:
        pwfile = base / "pwfile"
        pwfile.write_text(password + "\n")
        if owner is not None:
            _chown_tree(base, *owner)
        _run(
            bin_dir, run_as, base, "initdb", "-D", str(data_dir), "-U", "postgres",
            f"--pwfile={pwfile}", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
            "--no-instructions",
        )
        pwfile.unlink()
        ca_file: Path | None = None
        if ssl:
            ca_file = tmp_dir / f"ca-{base.name}.crt"
            _write_certificates(data_dir, ca_file, cert_hosts)
        rule = "hostssl" if ssl else "host"
        hba = ["# written by tests/support/postgres.py", *extra_hba,
               f"{rule} all all 127.0.0.1/32 {auth}", f"{rule} all all ::1/128 {auth}"]
        (data_dir / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        config = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "''",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "50",
            "shared_buffers": "'32MB'",
            "password_encryption": "'md5'" if auth == "md5" else "'scram-sha-256'",
            "ssl": "on" if ssl else "off",
            **({"ssl_cert_file": "'server.crt'", "ssl_key_file": "'server.key'"} if ssl else {}),
            **(extra_config or {}),
        }
        conf = data_dir / "postgresql.conf"
        base_conf = conf.read_text()
        if owner is not None:
            _chown_tree(base, *owner)
        for attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            lines = [f"{name} = {value}" for name, value in {**config, "port": str(port)}.items()]
            conf.write_text(base_conf + "\n# tests/support/postgres.py\n" + "\n".join(lines) + "\n")
            cluster = Cluster(
                host="127.0.0.1", port=port, data_dir=data_dir, log_file=base / "server.log",
                superuser="postgres", password=password, ssl=ssl, auth=auth, ca_file=ca_file,
                _bin=bin_dir, _run_as=run_as,
            )
            if owner is not None:
                _chown_tree(base, *owner)
            try:
                cluster.start()
                break
            except ClusterUnavailable:
                if attempt == 2 or "already in use" not in cluster.log_tail():
                    raise
        assert cluster is not None
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
