# The purpose-proxy image: `purpose-proxy serve` by default; any other subcommand works too
# (docker-compose.yml runs `load-demo` with it once, before the proxy starts).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The package only: what .dockerignore lets through (no .venv, var/, tests or git history).
COPY pyproject.toml README.md ./
COPY proxy ./proxy
RUN pip install . && rm -rf /src

# A default deployment inside the image; docker-compose.yml mounts ./catalog, ./policies and
# ./deploy/proxy.yaml over these, so editing them needs no rebuild.
COPY catalog /etc/purpose-proxy/catalog
COPY policies /etc/purpose-proxy/policies
COPY deploy/proxy.yaml /etc/purpose-proxy/proxy.yaml

# Never root: the proxy needs no privileges, only its state directory (mask key, TLS
# certificate, tables recorded in the sandbox).
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/purpose-proxy \
        --shell /usr/sbin/nologin purpose-proxy \
    && mkdir -p /var/lib/purpose-proxy \
    && chown purpose-proxy:purpose-proxy /var/lib/purpose-proxy
USER purpose-proxy
WORKDIR /var/lib/purpose-proxy
VOLUME /var/lib/purpose-proxy

EXPOSE 6432

# Is the listener up? A TCP connect, no pg_isready in this image (each check is one short
# connection in the audit log).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import socket; socket.create_connection(('127.0.0.1', 6432), timeout=3).close()"]

ENTRYPOINT ["purpose-proxy"]
CMD ["serve", "--config", "/etc/purpose-proxy/proxy.yaml"]
