"""Client authentication: SCRAM-SHA-256 (RFC 5802/7677) or trust.

Unknown users go through the same exchange against a throwaway verifier, so the error never
tells an attacker whether a user name exists (PostgreSQL does the same).
"""

from __future__ import annotations

import secrets
from typing import Literal

from proxy.errors import PgError, SqlState, protocol_violation
from proxy.users import ScramVerifier, UserEntry
from proxy.wire import backend as msg
from proxy.wire.frontend import PasswordData, PayloadReader
from proxy.wire.protocol import AuthRequest
from proxy.wire.scram import ScramError, ScramServer
from proxy.wire.stream import MessageStream

MECHANISM = "SCRAM-SHA-256"
_MOCK_VERIFIER = ScramVerifier.from_password(secrets.token_hex(16), iterations=4096)


def _auth_failed(user: str) -> PgError:
    return PgError(
        SqlState.INVALID_PASSWORD,
        f'password authentication failed for user "{user}"',
        severity="FATAL",
    )


async def _read_password_message(stream: MessageStream) -> bytes:
    message = await stream.read_message()
    if not isinstance(message, PasswordData):
        raise protocol_violation(
            f"expected SASL response, got message type {getattr(message, 'type_byte', '?')}"
        )
    return message.payload


def _decode_initial_response(payload: bytes) -> tuple[str, bytes]:
    reader = PayloadReader(payload)
    mechanism = reader.cstring()
    length = reader.int32()
    data = b"" if length == -1 else reader.raw(length)
    reader.finish()
    return mechanism, data


async def authenticate(
    stream: MessageStream,
    user: str,
    entry: UserEntry | None,
    method: Literal["scram-sha-256", "trust"],
) -> None:
    """Run the exchange; raise a FATAL PgError on failure. Sends AuthenticationOk on success."""
    if method == "trust":
        if entry is None:
            raise PgError(
                SqlState.INVALID_AUTHORIZATION,
                f'role "{user}" does not exist',
                severity="FATAL",
            )
    else:
        await _scram_exchange(stream, user, entry)
    stream.write(msg.authentication(AuthRequest.OK))


async def _scram_exchange(stream: MessageStream, user: str, entry: UserEntry | None) -> None:
    verifier = (entry.verifier if entry else None) or _MOCK_VERIFIER
    known = entry is not None and entry.verifier is not None

    server = ScramServer(verifier)
    stream.write(msg.authentication_sasl([MECHANISM]))
    await stream.flush()
    mechanism, client_first = _decode_initial_response(await _read_password_message(stream))
    if mechanism != MECHANISM:
        raise PgError(
            SqlState.PROTOCOL_VIOLATION,
            "client selected an invalid SASL authentication mechanism",
            severity="FATAL",
        )
    try:
        server_first = server.server_first(client_first.decode("utf-8"))
        stream.write(msg.authentication(AuthRequest.SASL_CONTINUE, server_first.encode()))
        await stream.flush()
        client_final = await _read_password_message(stream)
        server_final = server.server_final(client_final.decode("utf-8"))
    except (ScramError, UnicodeDecodeError):
        raise _auth_failed(user) from None
    if not known:
        raise _auth_failed(user)
    stream.write(msg.authentication(AuthRequest.SASL_FINAL, server_final.encode()))
