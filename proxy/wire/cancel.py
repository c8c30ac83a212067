"""Cancel keys: which (process id, secret) pair may interrupt which session.

Keys are random per session and compared in constant time; a CancelRequest that matches
nothing is ignored silently, as in PostgreSQL, so keys cannot be probed.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from proxy.wire.protocol import CANCEL_KEY_LENGTH_3_2, LEGACY_CANCEL_KEY_LENGTH


@dataclass(frozen=True, slots=True)
class CancelKey:
    process_id: int
    secret: bytes


class CancelRegistry:
    def __init__(self) -> None:
        self._sessions: dict[int, tuple[bytes, Callable[[], None]]] = {}

    def register(self, protocol_minor: int, cancel: Callable[[], None]) -> CancelKey:
        length = CANCEL_KEY_LENGTH_3_2 if protocol_minor >= 2 else LEGACY_CANCEL_KEY_LENGTH
        while True:
            process_id = secrets.randbelow(2**31 - 2) + 1
            if process_id not in self._sessions:
                break
        secret = secrets.token_bytes(length)
        self._sessions[process_id] = (secret, cancel)
        return CancelKey(process_id, secret)

    def unregister(self, process_id: int) -> None:
        self._sessions.pop(process_id, None)

    def cancel(self, process_id: int, secret: bytes) -> bool:
        entry = self._sessions.get(process_id)
        if entry is None or not hmac.compare_digest(entry[0], secret):
            return False
        entry[1]()
        return True
