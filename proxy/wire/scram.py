"""SCRAM-SHA-256 server exchange (RFC 5802 / RFC 7677) as PostgreSQL clients speak it.

scramp makes the verifiers and drives the tests' client, but its server refuses the empty
`n=` user name that every PostgreSQL client sends (the startup packet names the user), so
the three server steps are done here, on the standard HMAC/SHA-256 primitives.
Channel binding is not offered: `n` and `y` GS2 flags are accepted, `p=` is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from proxy.users import ScramVerifier


class ScramError(Exception):
    """The client's messages are malformed or its proof is wrong."""


def _attributes(message: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ScramError(f"malformed SCRAM attribute {part!r}")
        attributes.setdefault(part[0], part[2:])
    return attributes


@dataclass
class ScramServer:
    verifier: ScramVerifier
    _client_first_bare: str = ""
    _server_first: str = ""
    _gs2_header: str = ""
    _nonce: str = ""

    def server_first(self, client_first: str) -> str:
        flag, _, rest = client_first.partition(",")
        authzid, _, bare = rest.partition(",")
        if flag not in ("n", "y") or authzid:
            raise ScramError("channel binding and authorization identities are not supported")
        attributes = _attributes(bare)
        client_nonce = attributes.get("r", "")
        if not client_nonce or "m" in attributes:
            raise ScramError("malformed client-first message")
        self._gs2_header = f"{flag},,"
        self._client_first_bare = bare
        self._nonce = client_nonce + base64.b64encode(secrets.token_bytes(18)).decode()
        salt = base64.b64encode(self.verifier.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={self.verifier.iterations}"
        return self._server_first

    def server_final(self, client_final: str) -> str:
        """Verify the client's proof; return the server signature message."""
        without_proof, _, proof_part = client_final.rpartition(",p=")
        attributes = _attributes(without_proof)
        expected_binding = base64.b64encode(self._gs2_header.encode()).decode()
        if attributes.get("c") != expected_binding or attributes.get("r") != self._nonce:
            raise ScramError("channel binding or nonce mismatch")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise ScramError("malformed proof") from None
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        client_signature = hmac.digest(self.verifier.stored_key, auth_message, "sha256")
        if len(proof) != len(client_signature):
            raise ScramError("malformed proof")
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key):
            raise ScramError("wrong password")
        server_signature = hmac.digest(self.verifier.server_key, auth_message, "sha256")
        return "v=" + base64.b64encode(server_signature).decode()
