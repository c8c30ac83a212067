"""PostgreSQL value codecs, one module per family of types; import them via `proxy.wire.types`.

`dispatch` builds the per-OID tables from the type modules (`numeric`, `datetimes`,
`intervals`, `scalars`, `text_and_json`, `arrays`), which share `primitives`,
`calendar_math`, `timezones` and `datetime_input`; `oids` and `duckdb_types` hold the
catalog facts.
"""
