"""The COPY sub-protocol: CopyOut streams a decided query's rows; CopyIn loads rows from the client.

COPY FROM STDIN is accepted only after the decision core granted it for the table and
columns; rows are inserted in batches through ordinary parameterized INSERTs, so the warehouse
never sees COPY syntax and the proxy never reads files.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from proxy.backends.base import ResultCursor, WarehouseSession
from proxy.errors import PgError, SqlState, protocol_violation
from proxy.policy.decision import CopyIn
from proxy.sql.identifiers import quote_identifier
from proxy.wire import backend as msg
from proxy.wire.copy_format import (
    BINARY_TRAILER,
    CopyOptions,
    binary_header,
    binary_row,
    parse_csv,
    parse_text,
    text_line,
)
from proxy.wire.frontend import CopyData, CopyDone, CopyFail, Flush, Sync
from proxy.wire.protocol import Backend
from proxy.wire.stream import MessageStream
from proxy.wire.types import binary_encoder, text_encoder

INSERT_BATCH_ROWS = 500


async def copy_out(
    stream: MessageStream,
    cursor: ResultCursor,
    options: CopyOptions,
    timezone: str,
    batch_rows: int,
) -> int:
    columns = cursor.columns or ()
    stream.write(msg.copy_response(Backend.COPY_OUT_RESPONSE, options.binary, len(columns)))
    # PostgreSQL sends the binary header in the same CopyData as the first row; clients
    # (psycopg) parse each CopyData as whole rows, so a lone header would confuse them.
    pending_header = binary_header() if options.binary else b""
    if options.binary:
        encoders = [binary_encoder(column.type_oid) for column in columns]
    else:
        encoders = [text_encoder(column.type_oid, timezone=timezone) for column in columns]
        if options.header:
            stream.write(msg.copy_data(text_line([c.name for c in columns], options)))
    sent = 0
    while True:
        rows = await cursor.fetch(batch_rows)
        for row in rows:
            fields = [None if value is None else encode(value)
                      for encode, value in zip(encoders, row, strict=True)]
            if options.binary:
                stream.write(msg.copy_data(pending_header + binary_row(fields)))
                pending_header = b""
            else:
                text = [None if f is None else f.decode("utf-8") for f in fields]
                stream.write(msg.copy_data(text_line(text, options)))
        sent += len(rows)
        await stream.flush()
        if len(rows) < batch_rows:
            break
    if options.binary:
        stream.write(msg.copy_data(pending_header + BINARY_TRAILER))
    stream.write(msg.COPY_DONE)
    return sent


async def _receive(stream: MessageStream) -> bytes:
    """Every CopyData payload until CopyDone; CopyFail aborts the COPY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await stream.read_message()
        if isinstance(message, CopyData):
            chunks.append(message.payload)
            size += len(message.payload)
            if size > stream.max_message_size:
                raise PgError(SqlState.PROGRAM_LIMIT_EXCEEDED,
                              "COPY FROM STDIN data exceeds the proxy's max_message_size",
                              hint="Load the data in several COPY statements.")
        elif isinstance(message, CopyDone):
            return b"".join(chunks)
        elif isinstance(message, CopyFail):
            raise PgError(SqlState.QUERY_CANCELED, f"COPY from stdin failed: {message.message}")
        elif isinstance(message, Flush | Sync):
            continue  # ignored during copy-in, as in PostgreSQL
        else:
            raise protocol_violation("unexpected message type during COPY from stdin")


async def copy_in(
    stream: MessageStream, warehouse: WarehouseSession, target: CopyIn, options: CopyOptions
) -> int:
    if options.binary:
        raise PgError(SqlState.FEATURE_NOT_SUPPORTED,
                      "COPY FROM STDIN in binary format is not supported through purpose-proxy",
                      hint="Use FORMAT text or csv.")
    stream.write(msg.copy_response(Backend.COPY_IN_RESPONSE, False, len(target.columns)))
    await stream.flush()
    data = await _receive(stream)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PgError(SqlState.CHARACTER_NOT_IN_REPERTOIRE,
                      'invalid byte sequence for encoding "UTF8" in COPY data') from None
    parse = parse_csv if options.format == "csv" else parse_text
    rows = list(parse(text, options, len(target.columns)))
    for start in range(0, len(rows), INSERT_BATCH_ROWS):
        await _insert(warehouse, target, rows[start : start + INSERT_BATCH_ROWS])
    return len(rows)


async def _insert(
    warehouse: WarehouseSession, target: CopyIn, rows: Sequence[Sequence[str | None]]
) -> None:
    width = len(target.columns)
    placeholders = ", ".join(
        "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
        for r in range(len(rows))
    )
    sql = (f"INSERT INTO {quote_identifier(target.schema, target.table)} "
           f"({', '.join(quote_identifier(c) for c in target.columns)}) VALUES {placeholders}")
    cursor = await warehouse.execute(sql, [value for row in rows for value in row])
    await cursor.fetch(None)
    await cursor.close()


def options_sql(options: Mapping[str, object]) -> str:
    """The COPY statement's WITH clause for a warehouse that runs COPY itself."""
    parts = []
    for name, value in options.items():
        if isinstance(value, bool):
            parts.append(f"{name.upper()} {'true' if value else 'false'}")
        elif name.lower() == "format":
            parts.append(f"FORMAT {str(value).lower()}")
        else:
            parts.append(f"{name.upper()} '" + str(value).replace("'", "''") + "'")
    return f" WITH ({', '.join(parts)})" if parts else ""


async def client_copy_data(stream: MessageStream, column_count: int) -> AsyncIterator[bytes]:
    """CopyInResponse to the client, then its CopyData payloads as they come."""
    stream.write(msg.copy_response(Backend.COPY_IN_RESPONSE, False, column_count))
    await stream.flush()
    while True:
        message = await stream.read_message()
        if isinstance(message, CopyData):
            yield message.payload
        elif isinstance(message, CopyDone):
            return
        elif isinstance(message, CopyFail):
            raise PgError(SqlState.QUERY_CANCELED, f"COPY from stdin failed: {message.message}")
        elif isinstance(message, Flush | Sync):
            continue
        else:
            raise protocol_violation("unexpected message type during COPY from stdin")
