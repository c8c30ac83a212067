"""What drivers ask of the compat catalog on every new connection, answered once per warehouse.

asyncpg's type introspection costs ~50 ms of DuckDB planning each time; its statements and rows
rarely change, so the warehouse's sessions share them here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from proxy.backends.base import Column, StatementDescription
from proxy.backends.duckdb.catalog.relations import SCHEMA_RELATIONS

if TYPE_CHECKING:
    import duckdb

Rows = tuple[tuple[object, ...], ...]


class CatalogCache:
    """Descriptions and rows of compat catalog statements, shared by the warehouse's sessions.

    * descriptions of statements that read only compat relations, whose shapes never change;
    * rows of statements whose rows follow only their parameters, static catalogs and DuckDB's
      list of schemas, keyed by a fingerprint of that list read in the asking session's own
      transaction (so a schema created, even uncommitted, is never answered from before it).
    """

    MAX_ENTRIES = 256
    MAX_ROWS = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._descriptions: OrderedDict[tuple[object, ...], tuple[StatementDescription, dict[int, str]]] = \
            OrderedDict()
        self._results: OrderedDict[tuple[object, ...], tuple[tuple[Column, ...], Rows]] = OrderedDict()

    @staticmethod
    def _get(store: OrderedDict[Any, Any], key: tuple[object, ...]) -> Any:
        found = store.get(key)
        if found is not None:
            store.move_to_end(key)
        return found

    def _put(self, store: OrderedDict[Any, Any], key: tuple[object, ...], value: object) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self.MAX_ENTRIES:
            store.popitem(last=False)

    def description(self, key: tuple[object, ...]) -> tuple[StatementDescription, dict[int, str]] | None:
        with self._lock:
            return self._get(self._descriptions, key)

    def keep_description(self, key: tuple[object, ...], value: tuple[StatementDescription, dict[int, str]]) -> None:
        with self._lock:
            self._put(self._descriptions, key, value)

    def result(self, key: tuple[object, ...]) -> tuple[tuple[Column, ...], Rows] | None:
        with self._lock:
            return self._get(self._results, key)

    def keep_result(self, key: tuple[object, ...], columns: tuple[Column, ...], rows: list[tuple[object, ...]]) -> None:
        if len(rows) <= self.MAX_ROWS:
            with self._lock:
                self._put(self._results, key, (columns, tuple(rows)))


def result_key(con: duckdb.DuckDBPyConnection, duckdb_sql: str, params: Sequence[object],
               dependencies: frozenset[str] | None) -> tuple[object, ...] | None:
    """On the session thread: the cache key of a catalog statement's rows, None when its rows
    cannot be cached (they depend on more than `dependencies`, or a parameter is unhashable)."""
    if dependencies is None:
        return None
    try:
        frozen_params = tuple(_frozen(p) for p in params)
        hash(frozen_params)
    except TypeError:
        return None
    fingerprint = tuple(_frozen(con.execute(SCHEMA_RELATIONS[name]).fetchone())
                        for name in sorted(dependencies))
    return (duckdb_sql, frozen_params, fingerprint)


def _frozen(value: object) -> object:
    """A parameter value as a dict key (lists become tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value
