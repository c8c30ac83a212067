"""PostgreSQL frontend/backend protocol v3, server side: codec, startup, auth, session."""
