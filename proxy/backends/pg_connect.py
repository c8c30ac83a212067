"""One connection from the proxy to the PostgreSQL warehouse, with the proxy's own credentials.

`connect()` does what libpq does for a single host: TCP (or a Unix socket when the host is a
directory), the sslmode negotiation with libpq's semantics, the StartupMessage, password /
md5 / SCRAM-SHA-256 authentication, then the ParameterStatus and BackendKeyData that precede
the first ReadyForQuery. The connection that comes back is a thin message pipe
(`write`/`flush`/`read_message`) that keeps track of what the relay and the pool must know:
the transaction status, the reported parameters, whether the stream is still usable.

Two guarantees matter for safety rather than convenience:
- the search path is pinned as the *session default* through the startup `options`, so the
  names the catalog resolved are the names the warehouse resolves, and DISCARD ALL / RESET
  return to it;
- the settings that change how SQL is lexed (standard_conforming_strings, encodings) are
  checked: the analyzer assumes them, so a warehouse that reports otherwise is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, TypeVar

import scramp

from proxy.backends import pg_wire
from proxy.backends.base import TransactionStatus
from proxy.errors import PgError, SqlState
from proxy.settings import PostgresSettings
from proxy.wire.protocol import AuthRequest, Backend

# PostgreSQL never builds a message over 1 GB (MaxAllocSize); longer means a corrupt stream.
MAX_BACKEND_MESSAGE = 0x3FFF_FFFF
# What the analyzer assumes about every upstream session (how literals and bytes are read).
REQUIRED_PARAMETERS: Mapping[str, str] = {
    "standard_conforming_strings": "on",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
}
LOST_MESSAGE = "connection to the warehouse was lost"
_CLOSED_BY_SERVER = "the server closed the connection unexpectedly"
_AUTH_MD5 = 5
_STREAM_LIMIT = 256 * 1024
_CLOSE_TIMEOUT = 1.0
_TlsMode = Literal["no", "try", "must"]
_T = TypeVar("_T")


def connection_lost(reason: str | None = None) -> PgError:
    """The error every read or write on a dead upstream connection raises (08006)."""
    return PgError(SqlState.CONNECTION_FAILURE, LOST_MESSAGE, detail=reason)


def parameter_violations(parameters: Mapping[str, str]) -> list[str]:
    """Descriptions of the REQUIRED_PARAMETERS the reported parameters contradict ([] if none).

    The relay calls this after every ParameterStatus: a session whose lexing rules changed
    under the analyzer must be closed.
    """
    problems = []
    for name, wanted in REQUIRED_PARAMETERS.items():
        actual = parameters.get(name)
        if actual is None or actual.upper() != wanted.upper():
            shown = "not reported" if actual is None else f"{actual!r}"
            problems.append(f"{name} is {shown}, the proxy requires {wanted!r}")
    return problems


def _is_fatal(error_payload: bytes) -> bool:
    fields = pg_wire.error_fields(error_payload)
    return (fields.get("V") or fields.get("S")) in ("FATAL", "PANIC")


READ_CHUNK = 256 * 1024
_DATA_ROW = Backend.DATA_ROW


class UpstreamConnection:
    """A message pipe to one warehouse backend process.

    Writes are buffered by `write()` and sent by one `flush()`, so a pipeline of messages costs
    one system call. `read_message()` returns whole messages and notes, as they pass,
    ReadyForQuery (transaction status) and ParameterStatus (parameters). Any I/O failure marks
    the connection broken and raises 08006, and so does a FATAL error passing by (it is still
    returned: the relay forwards it); a broken connection is never used again.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        settings: PostgresSettings,
        *,
        tls: bool,
        max_message_size: int = MAX_BACKEND_MESSAGE,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._out: list[bytes] = []
        self._broken = False
        self._closed = False
        self._max_message_size = max_message_size
        self.settings = settings
        self.tls = tls
        self.process_id = 0
        self.secret_key = b""
        self.parameters: dict[str, str] = {}
        self.transaction_status: TransactionStatus = "I"
        # True when the last message read was ReadyForQuery and nothing was written since:
        # the connection sits between statements and can be reset or handed to someone else.
        self.ready = False
        self.created_at = time.monotonic()
        self.last_used = self.created_at
        # Bytes received and not yet consumed: messages are cut out of this buffer, so a run
        # of DataRows can be handed on as one slice instead of message by message.
        self._in = bytearray()
        self._at = 0

    # --- state -----------------------------------------------------------------------------

    @property
    def server_version(self) -> str:
        return self.parameters.get("server_version", "")

    @property
    def broken(self) -> bool:
        """The stream failed or lost sync: nothing more can be read or written on it."""
        return self._broken

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def assumptions_hold(self) -> bool:
        """Whether the reported parameters still match what the analyzer assumes."""
        return not parameter_violations(self.parameters)

    @property
    def ssl_object(self) -> ssl.SSLObject | None:
        """The TLS session (cipher, version, peer certificate), None on a plain connection."""
        return self._writer.get_extra_info("ssl_object")

    def input_pending(self) -> bool:
        """Whether the warehouse sent something not yet read (or closed the connection).

        An idle connection should have nothing to say; if it has, it is usually the FATAL
        error of a terminated backend, and the pool checks it before reuse.
        """
        # StreamReader has no public "bytes buffered" accessor; _buffer is stable since 3.4.
        buffered = len(getattr(self._reader, "_buffer", b"")) + len(self._in) - self._at
        return buffered > 0 or self._reader.at_eof()

    def _mark_broken(self) -> None:
        self._broken = True
        self.ready = False

    # --- I/O -------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue encoded messages; nothing is sent before `flush()`."""
        self._out.append(data)
        self.ready = False

    async def flush(self) -> None:
        """Send everything queued in one write and wait until the socket buffer drains."""
        if not self._out:
            return
        if self._broken or self._closed:
            self._out.clear()
            raise connection_lost()
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:  # RuntimeError: write after transport closed
            self._mark_broken()
            raise connection_lost(_reason(exc)) from exc

    async def _fill(self, size: int) -> None:
        """At least `size` unread bytes in the buffer (reading in large chunks)."""
        while len(self._in) - self._at < size:
            try:
                chunk = await self._reader.read(READ_CHUNK)
            except OSError as exc:
                self._mark_broken()
                raise connection_lost(_reason(exc)) from exc
            except BaseException:
                # Cancelled mid-read: what was buffered stays, but be safe about the position.
                self._mark_broken()
                raise
            if not chunk:
                self._mark_broken()
                raise connection_lost(_CLOSED_BY_SERVER)
            if self._at > len(self._in) // 2:
                del self._in[: self._at]
                self._at = 0
            self._in += chunk

    def _header(self) -> tuple[int, int]:
        at = self._at
        type_byte = self._in[at]
        length = int.from_bytes(self._in[at + 1 : at + 5], "big", signed=True)
        if length < 4 or length - 4 > self._max_message_size:
            self._mark_broken()
            raise pg_wire.malformed(f"{chr(type_byte)!r}", f"invalid length {length}")
        return type_byte, length

    async def read_message(self) -> tuple[int, bytes]:
        """The next message as (type byte, payload); `pg_wire.message()` rebuilds its bytes."""
        if self._broken or self._closed:
            raise connection_lost()
        await self._fill(5)
        type_byte, length = self._header()
        await self._fill(1 + length)
        payload = bytes(self._in[self._at + 5 : self._at + 1 + length])
        self._at += 1 + length
        if type_byte == Backend.READY_FOR_QUERY:
            self.transaction_status = self._decoded(pg_wire.ready_status, payload)
            self.ready = True
        elif type_byte == Backend.PARAMETER_STATUS:
            name, value = self._decoded(pg_wire.parameter_status, payload)
            self.parameters[name] = value
        elif type_byte == Backend.ERROR_RESPONSE and _is_fatal(payload):
            # FATAL / PANIC end the backend: the server closes the connection after sending
            # it, so nothing more will ever be readable (57P01 on a restart, for instance).
            self._mark_broken()
        return type_byte, payload

    async def read_data_rows(self, max_rows: int) -> tuple[bytes, int]:
        """The DataRow messages that come next (at most `max_rows`), as their exact bytes.

        Returns (b"", 0) when the next message is something else: read it with
        `read_message`. The relay's hot path: rows are sliced out, never taken apart.
        """
        if self._broken or self._closed:
            raise connection_lost()
        await self._fill(5)
        start = self._at
        rows = 0
        end = len(self._in)
        while rows < max_rows and end - self._at >= 5 and self._in[self._at] == _DATA_ROW:
            _, length = self._header()
            if end - self._at < 1 + length:
                if rows:
                    break
                await self._fill(1 + length)  # one row larger than what arrived so far
                start, end = self._at, len(self._in)
            self._at += 1 + length
            rows += 1
        return bytes(self._in[start : self._at]), rows

    def _decoded(self, decode: Callable[[bytes], _T], payload: bytes) -> _T:
        try:
            return decode(payload)
        except PgError:
            self._mark_broken()
            raise

    async def cancel(self) -> None:
        """Ask the warehouse to cancel whatever this connection is running (fresh connection)."""
        await cancel_request(self.settings, self.process_id, self.secret_key)

    def abort(self) -> None:
        """Drop the connection at once, without Terminate (for broken or cancelled leases)."""
        self._closed = True
        self.ready = False
        self._out.clear()
        self._writer.transport.abort()

    async def close(self) -> None:
        """Send Terminate (when the stream is healthy) and close; never raises for I/O."""
        if self._closed:
            return
        self._closed = True
        self.ready = False
        self._out.clear()
        try:
            if not self._broken:
                self._writer.write(pg_wire.TERMINATE)
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await self._writer.drain()
            self._writer.close()
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self._writer.wait_closed()
        except (OSError, RuntimeError):
            self._writer.transport.abort()
        except BaseException:
            self._writer.transport.abort()
            raise

    def __repr__(self) -> str:
        state = "broken" if self._broken else "closed" if self._closed else self.transaction_status
        return f"<UpstreamConnection pid={self.process_id} {state}{' tls' if self.tls else ''}>"


# --- connecting --------------------------------------------------------------------------------


class _Refused(Exception):
    """The server answered the startup with an ErrorResponse."""

    def __init__(self, error: PgError, *, before_auth_ok: bool, tls: bool) -> None:
        super().__init__(error.message)
        self.error = error
        self.before_auth_ok = before_auth_ok
        self.tls = tls


class _TlsFailed(Exception):
    """The TLS handshake failed (libpq's prefer mode then retries without TLS)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _where(settings: PostgresSettings) -> str:
    return f"{settings.host}:{settings.port}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and not isinstance(exc, socket.gaierror) and exc.errno:
        return os.strerror(exc.errno)  # asyncio's strerror is "Connect call failed (...)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _cannot_connect(settings: PostgresSettings, reason: str, hint: str | None = None) -> PgError:
    return PgError(
        SqlState.CONNECTION_FAILURE,
        f"could not connect to the warehouse at {_where(settings)}: {reason}",
        hint=hint,
    )


def escape_option_value(value: str) -> str:
    """Escape a value for the startup `options` string as libpq users must: the server
    splits it on whitespace, and a backslash takes the next character literally."""
    return "".join("\\" + ch if ch in " \t\n\r\f\v\\" else ch for ch in value)


def startup_parameters(settings: PostgresSettings, application_name: str) -> dict[str, str]:
    """The StartupMessage parameters; `-c search_path=` makes the path the session default."""
    return {
        "user": settings.user,
        "database": settings.database,
        "application_name": application_name,
        "client_encoding": "UTF8",
        "options": f"-c search_path={escape_option_value(settings.search_path)}",
    }


_DEFAULT_ROOT_CERT = Path("~/.postgresql/root.crt")


def ssl_context(settings: PostgresSettings) -> ssl.SSLContext:
    """The client TLS context for settings.sslmode, with libpq's rules.

    - verify-ca checks the chain against sslrootcert; verify-full also the host name;
    - as in libpq, when a root certificate file exists (sslrootcert, else
      ~/.postgresql/root.crt) the weaker modes verify the chain too;
    - sslrootcert=system uses the system's trusted roots and needs verify-full (libpq 16).
    """
    mode = settings.sslmode
    verify = mode in ("verify-ca", "verify-full")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    root = settings.sslrootcert
    if root is not None and str(root) == "system":
        if mode != "verify-full":
            raise _misconfigured(
                settings,
                f'weak sslmode "{mode}" may not be used with sslrootcert=system',
                hint='Use postgres.sslmode "verify-full".',
            )
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        verify = True
    else:
        path = (root if root is not None else _DEFAULT_ROOT_CERT).expanduser()
        if path.is_file():
            try:
                context.load_verify_locations(cafile=str(path))
            except (OSError, ssl.SSLError) as exc:
                raise _misconfigured(
                    settings, f'could not read root certificate file "{path}": {_reason(exc)}',
                    hint="Point postgres.sslrootcert at the warehouse's CA certificate (PEM).",
                ) from exc
            verify = True
        elif verify:
            raise _misconfigured(
                settings,
                f'root certificate file "{path}" does not exist',
                hint="Set postgres.sslrootcert to the warehouse's CA certificate, or use a "
                "weaker postgres.sslmode.",
            )
    context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    context.check_hostname = mode == "verify-full"
    return context


async def _open_socket(settings: PostgresSettings) -> socket.socket:
    """A connected non-blocking socket: TCP to each resolved address in turn, or the Unix
    socket `<host>/.s.PGSQL.<port>` when the host is a directory (as libpq)."""
    loop = asyncio.get_running_loop()
    if settings.host.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, f"{settings.host}/.s.PGSQL.{settings.port}")
        except BaseException:
            sock.close()
            raise
        return sock
    infos = await loop.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    errors: list[OSError] = []
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            await loop.sock_connect(sock, address)
            return sock
        except OSError as exc:
            sock.close()
            errors.append(exc)
        except BaseException:
            sock.close()
            raise
    if not errors:
        raise OSError(f"could not resolve {settings.host!r}")
    raise errors[-1]


def _unread_bytes(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except (BlockingIOError, InterruptedError):
        return False


async def _open_stream(
    settings: PostgresSettings, tls: _TlsMode
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
    """Connect and negotiate TLS: "no" sends no SSLRequest, "try" accepts an 'N' answer,
    "must" refuses it. Returns (reader, writer, whether TLS is on)."""
    context = ssl_context(settings) if tls != "no" else None  # config errors before any I/O
    sock = await _open_socket(settings)
    loop = asyncio.get_running_loop()
    try:
        use_tls = False
        if context is not None and sock.family != socket.AF_UNIX:  # libpq: no TLS on sockets
            await loop.sock_sendall(sock, pg_wire.SSL_REQUEST)
            answer = await loop.sock_recv(sock, 1)  # exactly one byte: nothing else is buffered
            if answer == b"S":
                if _unread_bytes(sock):
                    # Bytes after 'S' but before the handshake were not sent by the server
                    # through TLS: a man in the middle may have injected them
                    # (CVE-2021-23222). They are refused, never read as a server response.
                    raise _cannot_connect(
                        settings,
                        "received unencrypted data after the TLS response",
                        hint="This may indicate a man-in-the-middle attack.",
                    )
                use_tls = True
            elif answer == b"N":
                if tls == "must":
                    raise _cannot_connect(
                        settings,
                        f"the server does not support TLS, but postgres.sslmode is "
                        f"{settings.sslmode!r}",
                    )
            elif answer == b"":
                raise OSError("the server closed the connection during TLS negotiation")
            else:
                raise _cannot_connect(
                    settings, f"unexpected answer {answer!r} to the TLS request"
                )
        if use_tls:
            try:
                reader, writer = await asyncio.open_connection(
                    sock=sock, ssl=context, server_hostname=settings.host, limit=_STREAM_LIMIT
                )
            except (ssl.SSLError, ConnectionError) as exc:  # including verification failures
                raise _TlsFailed(_reason(exc)) from exc
        else:
            reader, writer = await asyncio.open_connection(sock=sock, limit=_STREAM_LIMIT)
    except BaseException:
        sock.close()
        raise
    return reader, writer, use_tls


def _md5_password(user: str, password: str, salt: bytes) -> str:
    inner = hashlib.md5((password + user).encode("utf-8")).hexdigest()
    return "md5" + hashlib.md5(inner.encode("ascii") + salt).hexdigest()


def _password(settings: PostgresSettings) -> str:
    if settings.password is None:
        raise _cannot_connect(
            settings,
            "the server asks for a password, but postgres.password is not set",
            hint="Set the proxy's warehouse password in postgres.password.",
        )
    return settings.password.get_secret_value()


def _scram_client(settings: PostgresSettings) -> scramp.ScramClient:
    # PostgreSQL ignores the user name inside SCRAM (the startup packet names the user) and
    # libpq sends it empty; scramp refuses an empty one, and SASLprep may refuse odd names,
    # so a placeholder goes in their place.
    password = _password(settings)
    for name in (settings.user, "*"):
        try:
            return scramp.ScramClient(["SCRAM-SHA-256"], name, password)
        except scramp.ScramException as exc:
            error = exc
    raise _cannot_connect(settings, f"cannot start SCRAM authentication: {error}") from error


async def _authenticate(conn: UpstreamConnection, settings: PostgresSettings) -> None:
    """Answer authentication requests until AuthenticationOk."""
    scram: scramp.ScramClient | None = None
    scram_verified = False
    while True:
        type_byte, payload = await conn.read_message()
        if type_byte == Backend.ERROR_RESPONSE:
            raise _Refused(pg_wire.error(payload), before_auth_ok=True, tls=conn.tls)
        if type_byte in (Backend.NOTICE_RESPONSE, Backend.NEGOTIATE_PROTOCOL_VERSION):
            continue
        if type_byte != Backend.AUTHENTICATION:
            raise pg_wire.malformed(f"{chr(type_byte)!r}", "expected an authentication request")
        code, data = pg_wire.authentication(payload)
        if code == AuthRequest.OK:
            if scram is not None and not scram_verified:
                # A server (or a man in the middle) that skips SCRAM's last step has not
                # proven it knows the password.
                raise _cannot_connect(settings, "the server ended SCRAM authentication early")
            return
        if code == AuthRequest.CLEARTEXT_PASSWORD:
            conn.write(pg_wire.password_message(_password(settings)))
        elif code == _AUTH_MD5:
            if len(data) != 4:
                raise pg_wire.malformed("AuthenticationMD5Password")
            hashed = _md5_password(settings.user, _password(settings), data)
            conn.write(pg_wire.password_message(hashed))
        elif code == AuthRequest.SASL:
            mechanisms = pg_wire.sasl_mechanisms(data)
            if "SCRAM-SHA-256" not in mechanisms:
                raise _cannot_connect(
                    settings, f"no supported SASL mechanism offered ({', '.join(mechanisms)})"
                )
            scram = _scram_client(settings)
            first = scram.get_client_first().encode("utf-8")
            conn.write(pg_wire.sasl_initial_response("SCRAM-SHA-256", first))
        elif code == AuthRequest.SASL_CONTINUE and scram is not None:
            try:
                scram.set_server_first(data.decode("utf-8"))
                final = scram.get_client_final()
            except (scramp.ScramException, UnicodeDecodeError) as exc:
                raise _cannot_connect(settings, f"invalid SCRAM exchange: {exc}") from exc
            conn.write(pg_wire.sasl_response(final.encode("utf-8")))
        elif code == AuthRequest.SASL_FINAL and scram is not None:
            try:
                scram.set_server_final(data.decode("utf-8"))
            except (scramp.ScramException, UnicodeDecodeError) as exc:
                raise _cannot_connect(
                    settings,
                    "the server's SCRAM signature is wrong: it does not know the password",
                    hint="This may indicate a man-in-the-middle attack.",
                ) from exc
            scram_verified = True
            continue
        else:
            raise _cannot_connect(
                settings, f"unsupported authentication method (request code {code})",
                hint="The proxy supports trust, password, md5 and scram-sha-256.",
            )
        await conn.flush()


async def _startup(conn: UpstreamConnection, settings: PostgresSettings, app: str) -> None:
    conn.write(pg_wire.startup_message(startup_parameters(settings, app)))
    await conn.flush()
    await _authenticate(conn, settings)
    while True:  # after AuthenticationOk: ParameterStatus, BackendKeyData, ReadyForQuery
        type_byte, payload = await conn.read_message()
        if type_byte == Backend.READY_FOR_QUERY:
            return
        if type_byte == Backend.BACKEND_KEY_DATA:
            conn.process_id, conn.secret_key = pg_wire.backend_key_data(payload)
        elif type_byte == Backend.ERROR_RESPONSE:
            raise _Refused(pg_wire.error(payload), before_auth_ok=False, tls=conn.tls)
        elif type_byte not in (Backend.PARAMETER_STATUS, Backend.NOTICE_RESPONSE):
            raise pg_wire.malformed(f"{chr(type_byte)!r}", "unexpected during startup")


async def _attempt(
    settings: PostgresSettings, application_name: str, tls: _TlsMode
) -> UpstreamConnection:
    """One connection attempt within connect_timeout; failures close what was opened."""
    conn: UpstreamConnection | None = None
    try:
        async with asyncio.timeout(settings.connect_timeout):
            reader, writer, use_tls = await _open_stream(settings, tls)
            conn = UpstreamConnection(reader, writer, settings, tls=use_tls)
            await _startup(conn, settings, application_name)
    except TimeoutError:
        if conn is not None:
            conn.abort()
        raise _cannot_connect(settings, "timeout expired") from None
    except PgError as exc:
        if conn is not None:
            conn.abort()
            if conn.broken and exc.sqlstate == SqlState.CONNECTION_FAILURE:
                raise _cannot_connect(settings, exc.detail or _CLOSED_BY_SERVER) from exc
        raise
    except OSError as exc:
        if conn is not None:
            conn.abort()
        raise _cannot_connect(settings, _reason(exc)) from exc
    except BaseException:
        if conn is not None:
            conn.abort()
        raise
    return conn


class Refused(PgError):
    """The warehouse answered the proxy's startup with an error (see `_refusal`)."""


class Misconfigured(PgError):
    """The proxy's own warehouse settings cannot work (a missing CA file, say): trying again
    changes nothing, so nothing retries it."""


def _misconfigured(settings: PostgresSettings, reason: str, hint: str | None = None) -> PgError:
    cannot = _cannot_connect(settings, reason, hint)
    return Misconfigured(cannot.sqlstate, cannot.message, hint=cannot.hint)


def _refusal(settings: PostgresSettings, refused: _Refused) -> PgError:
    """The warehouse's startup error, said from the proxy's side.

    Authentication and authorization failures (class 28) and unknown databases (3D) are the
    proxy's configuration, not the client's: they become 08006, so no client mistakes them for
    its own credentials being wrong, and nothing of the proxy's password is ever included.
    Transient refusals (53 too many connections, 57 starting up / shutting down) keep their
    SQLSTATE so callers can retry.
    """
    upstream = refused.error
    where = _where(settings)
    hint = None
    if upstream.sqlstate == SqlState.INVALID_PASSWORD:
        message = f"the warehouse at {where} refused the proxy's credentials"
        hint = "Check postgres.user and postgres.password in the proxy's configuration."
    elif upstream.sqlstate.startswith("28"):
        message = f"the warehouse at {where} refused the proxy's connection"
        if not refused.tls and "no encryption" in upstream.message:
            hint = (
                f"The warehouse requires TLS: postgres.sslmode is {settings.sslmode!r}; "
                "use require, verify-ca or verify-full."
            )
        else:
            hint = "Check postgres.user, postgres.database and the warehouse's pg_hba.conf."
    else:
        message = f"the warehouse at {where} refused the connection: {upstream.message}"
    sqlstate = upstream.sqlstate if upstream.sqlstate[:2] in ("53", "57") else (
        SqlState.CONNECTION_FAILURE
    )
    return Refused(sqlstate, message, detail=upstream.message, hint=hint)


def retryable(error: PgError) -> bool:
    """Whether a failed `connect()` may succeed if tried again later.

    Unreachable (refused, reset, timed out, TLS handshake cut) and the warehouse's transient
    refusals (53xxx too many connections, 57xxx starting up or shutting down) may pass. A
    refusal of the proxy's connection itself (`Refused`: credentials, pg_hba.conf, unknown
    database) and an unusable database (0A000) will not.
    """
    if error.sqlstate[:2] in ("53", "57"):
        return True
    return error.sqlstate == SqlState.CONNECTION_FAILURE and not isinstance(
        error, Refused | Misconfigured)


async def connect(
    settings: PostgresSettings, *, application_name: str = "purpose-proxy"
) -> UpstreamConnection:
    """Open an authenticated connection to the warehouse, ready for queries.

    sslmode follows libpq: disable (plain), allow (plain; if the server refuses the startup,
    once more with TLS), prefer (TLS if the server offers it; if the TLS attempt fails or the
    server refuses it, once more in plain), require (TLS, chain not checked unless a root
    certificate exists), verify-ca (chain), verify-full (chain and host name).
    Raises PgError: 08006 when unreachable or refused, 53xxx/57xxx when the warehouse is
    temporarily unable, 0A000 when its session settings contradict the analyzer's assumptions.
    """
    mode = settings.sslmode
    first: _TlsMode = {"disable": "no", "allow": "no", "prefer": "try"}.get(mode, "must")
    try:
        try:
            conn = await _attempt(settings, application_name, first)
        except _Refused as refused:
            if mode == "allow" and refused.before_auth_ok:
                conn = await _attempt(settings, application_name, "must")
            elif mode == "prefer" and refused.before_auth_ok:
                conn = await _attempt(settings, application_name, "no")
            else:
                raise
        except _TlsFailed as failed:
            if mode != "prefer":
                raise _cannot_connect(settings, failed.reason) from failed
            conn = await _attempt(settings, application_name, "no")
    except _Refused as refused:
        raise _refusal(settings, refused) from refused.error
    except _TlsFailed as failed:
        raise _cannot_connect(settings, failed.reason) from failed
    problems = parameter_violations(conn.parameters)
    if problems:
        await conn.close()
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            f"the warehouse at {_where(settings)} cannot be used: {'; '.join(problems)}",
            hint="The proxy analyzes SQL assuming UTF8 and standard_conforming_strings=on; "
            "check the database's encoding and the role's or database's settings.",
        )
    return conn


async def cancel_request(settings: PostgresSettings, process_id: int, secret_key: bytes) -> None:
    """Ask the warehouse to cancel what backend `process_id` is running.

    Like libpq, the request goes on a new connection negotiated with the same sslmode
    (PostgreSQL accepts CancelRequest in plain or after SSLRequest), and the function returns
    once the server has closed that connection, i.e. has processed the request. Whether a
    statement was actually interrupted is, as always in PostgreSQL, not reported.
    """
    mode = settings.sslmode
    tls: _TlsMode = {"disable": "no", "allow": "no", "prefer": "try"}.get(mode, "must")
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(settings.connect_timeout):
            try:
                reader, writer, _ = await _open_stream(settings, tls)
            except _TlsFailed as failed:
                if mode != "prefer":
                    raise _cannot_connect(settings, failed.reason) from failed
                reader, writer, _ = await _open_stream(settings, "no")
            writer.write(pg_wire.cancel_request(process_id, secret_key))
            await writer.drain()
            while await reader.read(1024):  # the server closes when done
                pass
    except TimeoutError:
        raise _cannot_connect(settings, "timeout expired while sending a cancel request") from None
    except OSError as exc:
        raise _cannot_connect(settings, _reason(exc)) from exc
    finally:
        if writer is not None:
            writer.transport.abort()
