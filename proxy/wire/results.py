"""Turn backend rows into DataRow messages in the formats the client asked for."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from proxy.backends.base import Column
from proxy.errors import PgError, SqlState, protocol_violation
from proxy.wire import backend as msg
from proxy.wire.types import binary_encoder, text_encoder

FieldEncoder = Callable[[object], bytes]


def result_formats(requested: Sequence[int], column_count: int) -> tuple[int, ...]:
    """Expand Bind's result format codes: none = all text, one = all alike, else per column."""
    if not requested:
        return (0,) * column_count
    if len(requested) == 1:
        return (requested[0],) * column_count
    if len(requested) != column_count:
        raise protocol_violation(
            f"bind message has {len(requested)} result formats but query has "
            f"{column_count} columns"
        )
    return tuple(requested)


def parameter_formats(requested: Sequence[int], parameter_count: int) -> tuple[int, ...]:
    if not requested:
        return (0,) * parameter_count
    if len(requested) == 1:
        return (requested[0],) * parameter_count
    if len(requested) != parameter_count:
        raise PgError(
            SqlState.PROTOCOL_VIOLATION,
            f"bind message has {len(requested)} parameter formats but "
            f"{parameter_count} parameters",
        )
    return tuple(requested)


class RowEncoder:
    """Encodes rows of one result, with the per-column encoders chosen once."""

    __slots__ = ("_encoders", "_count")

    def __init__(self, columns: Sequence[Column], formats: Sequence[int], timezone: str) -> None:
        self._encoders: list[FieldEncoder] = [
            binary_encoder(column.type_oid)
            if format_code == 1
            else text_encoder(column.type_oid, timezone=timezone)
            for column, format_code in zip(columns, formats, strict=True)
        ]
        self._count = len(self._encoders)

    def encode(self, row: Sequence[object]) -> bytes:
        return msg.data_row(
            (None if value is None else encode(value) for encode, value in zip(self._encoders, row)),
            self._count,
        )

    def encode_many(self, rows: Sequence[Sequence[object]]) -> bytes:
        return b"".join(self.encode(row) for row in rows)
