#!/bin/sh
# Runs once, when the warehouse container initialises an empty data volume
# (postgres image: /docker-entrypoint-initdb.d). Creates the proxy's own warehouse role:
# it logs in with a password and is no superuser; `purpose-proxy load-demo --grant-to` then
# gives it the demo schemas. Consumers never get these credentials: they log in to the proxy.
#
# Environment: POSTGRES_USER and POSTGRES_DB (the image's), PURPOSE_PROXY_DB_PASSWORD,
# PURPOSE_PROXY_DB_USER (default purpose_proxy).
set -eu

: "${PURPOSE_PROXY_DB_PASSWORD:?set PURPOSE_PROXY_DB_PASSWORD for the proxy's warehouse role}"
role="${PURPOSE_PROXY_DB_USER:-purpose_proxy}"

psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -v role="$role" -v password="$PURPOSE_PROXY_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'password';
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role') \gexec
SQL
