"""The startup phase: TLS and GSS negotiation, protocol version, startup parameters.

PostgreSQL's rules, in order: any number of SSLRequest/GSSENCRequest (answered 'S'/'N'), then
a StartupMessage or a CancelRequest. Anything the client sent after SSLRequest and before the
TLS handshake is refused, so no plaintext can be injected into the encrypted session.
"""

from __future__ import annotations

import shlex
import ssl
from dataclasses import dataclass

from proxy.errors import PgError, SqlState, protocol_violation
from proxy.wire import backend as msg
from proxy.wire.frontend import CancelRequest, GSSENCRequest, SSLRequest, StartupMessage
from proxy.wire.protocol import NEWEST_MINOR
from proxy.wire.stream import MessageStream

# Startup parameters that are not run-time settings.
CONNECTION_PARAMETERS = frozenset({"user", "database", "options", "replication"})


async def negotiate(
    stream: MessageStream, tls_context: ssl.SSLContext | None
) -> StartupMessage | CancelRequest:
    """Answer encryption requests until the client sends its real first packet."""
    ssl_answered = gss_answered = False
    while True:
        packet = await stream.read_startup()
        if isinstance(packet, SSLRequest):
            if ssl_answered or stream.is_tls:
                raise protocol_violation("SSLRequest sent twice")
            ssl_answered = True
            if tls_context is None:
                stream.write(b"N")
                await stream.flush()
                continue
            stream.write(b"S")
            await stream.flush()
            if stream.has_buffered_bytes():
                raise protocol_violation(
                    "received unencrypted data after SSL request"
                )
            await stream.start_tls(tls_context)
        elif isinstance(packet, GSSENCRequest):
            if gss_answered or stream.is_tls:
                raise protocol_violation("GSSENCRequest sent twice or after TLS")
            gss_answered = True
            stream.write(b"N")
            await stream.flush()
        else:
            return packet


@dataclass(frozen=True, slots=True)
class StartupRequest:
    """What a StartupMessage asks for, once validated."""

    user: str
    database: str
    protocol_minor: int
    settings: dict[str, str]  # run-time parameters given as startup parameters
    unrecognized_protocol_options: tuple[str, ...]
    purpose: str | None  # declared with options='-c purpose=...'



def read_startup(message: StartupMessage) -> StartupRequest:
    parameters = dict(message.parameters)
    user = parameters.get("user", "")
    if not user:
        raise PgError(
            SqlState.INVALID_AUTHORIZATION,
            "no PostgreSQL user name specified in startup packet",
            severity="FATAL",
        )
    if "replication" in parameters and parameters["replication"].lower() not in ("false", "0", "off", "no"):
        raise PgError(
            SqlState.FEATURE_NOT_SUPPORTED,
            "replication connections are not supported by purpose-proxy",
            severity="FATAL",
        )
    protocol_options = tuple(name for name in parameters if name.startswith("_pq_."))
    settings = {
        name: value
        for name, value in parameters.items()
        if name not in CONNECTION_PARAMETERS and not name.startswith("_pq_.")
    }
    options = parse_options(parameters.get("options", ""))
    others = sorted(set(options) - {"purpose"})
    if others:
        raise PgError(
            SqlState.INSUFFICIENT_PRIVILEGE,
            f'startup option "{others[0]}" is not accepted by purpose-proxy',
            hint='The options parameter accepts only "-c purpose=<purpose>".',
            severity="FATAL",
        )
    return StartupRequest(
        user=user,
        database=parameters.get("database") or user,
        protocol_minor=min(message.minor, NEWEST_MINOR),
        settings=settings,
        unrecognized_protocol_options=protocol_options,
        purpose=options.get("purpose") or None,
    )


def negotiation_message(message: StartupMessage, request: StartupRequest) -> bytes | None:
    """NegotiateProtocolVersion when the client asked for more than this server speaks."""
    if message.minor > NEWEST_MINOR or request.unrecognized_protocol_options:
        return msg.negotiate_protocol_version(
            request.protocol_minor, request.unrecognized_protocol_options
        )
    return None


def parse_options(options: str) -> dict[str, str]:
    """The `options` startup parameter: `-c name=value` and `--name=value` switches only."""
    settings: dict[str, str] = {}
    try:
        # libpq escapes spaces in values with a backslash, which shlex understands.
        words = shlex.split(options, posix=True)
    except ValueError:
        raise _bad_options(options) from None
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-c" and index + 1 < len(words):
            assignment = words[index + 1]
            index += 2
        elif word.startswith("-c") and len(word) > 2:
            assignment = word[2:]
            index += 1
        elif word.startswith("--") and "=" in word:
            assignment = word[2:]
            index += 1
        else:
            raise _bad_options(options)
        name, separator, value = assignment.partition("=")
        if not separator or not name:
            raise _bad_options(options)
        settings[name.replace("-", "_")] = value
    return settings


def _bad_options(options: str) -> PgError:
    return PgError(
        SqlState.PROTOCOL_VIOLATION,
        f'invalid command-line argument in startup options: "{options}"',
        hint='Only "-c name=value" settings are accepted in options.',
        severity="FATAL",
    )
