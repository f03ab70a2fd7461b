# The project's services (ingest, processor, sink, migrate) in one image.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir . && useradd --system --uid 10001 richness
USER richness
ENTRYPOINT []
