# The project's services (ingest, processor, sink, migrate) in one image.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY shared ./shared
COPY services ./services
# Installed as package data (shared.assets): `richness dashboards render` / `alerts check` read them.
COPY grafana ./grafana
COPY deploy/prometheus ./deploy/prometheus
# /var/lib/richness/keys: the ingest's keys file volume (compose), writable by the service user.
RUN pip install --no-cache-dir . && useradd --system --uid 10001 richness \
    && mkdir -p /var/lib/richness/keys && chown richness /var/lib/richness/keys
USER richness
ENTRYPOINT []
