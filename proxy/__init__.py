"""purpose-proxy: a PostgreSQL wire-protocol proxy that enforces purpose limitation."""

__version__ = "0.1.0"
