"""Results the proxy produces itself (SHOW, SET), shaped like any backend result."""

from __future__ import annotations

from proxy.backends.base import Column


class LocalResult:
    """A finished, in-memory result that satisfies the ResultCursor protocol."""

    def __init__(
        self,
        tag: str,
        columns: tuple[Column, ...] | None = None,
        rows: list[tuple[object, ...]] | None = None,
    ) -> None:
        self._tag = tag
        self._columns = columns
        self._rows = rows or []
        self._position = 0

    @property
    def columns(self) -> tuple[Column, ...] | None:
        return self._columns

    @property
    def exhausted(self) -> bool:
        return self._position >= len(self._rows)

    async def fetch(self, max_rows: int | None) -> list[tuple[object, ...]]:
        end = len(self._rows) if max_rows is None else self._position + max_rows
        batch = self._rows[self._position : end]
        self._position += len(batch)
        return batch

    def command_tag(self) -> str:
        return self._tag

    async def close(self) -> None:
        self._rows = []
