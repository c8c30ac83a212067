"""The annotated catalog: which tables and columns exist, and which labels their data carries."""

from proxy.catalog.load import load_catalog
from proxy.catalog.model import Catalog, ColumnEntry, TableEntry

__all__ = ["Catalog", "ColumnEntry", "TableEntry", "load_catalog"]
