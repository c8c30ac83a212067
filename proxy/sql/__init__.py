"""SQL analysis: splitting as PostgreSQL splits, session settings, (next) lineage and policy."""
