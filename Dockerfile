# The poller and the worker image: `docker compose up` runs both next to Kafka.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY schemas ./schemas
# `--build-arg CONNECTOR_EXTRAS=rocksdb` adds the extra the worker's `rocksdb://` store needs.
ARG CONNECTOR_EXTRAS=
RUN pip install --no-cache-dir ".${CONNECTOR_EXTRAS:+[$CONNECTOR_EXTRAS]}"

# An unprivileged user whose data dir (the cache: Faust's table files) is writable; Compose
# mounts a volume there, which starts with this ownership.
RUN groupadd --system --gid 10001 connector \
    && useradd --system --uid 10001 --gid connector --home-dir /var/lib/claude-connector \
       --shell /usr/sbin/nologin connector \
    && install -d -o connector -g connector -m 0700 /var/lib/claude-connector
ENV CLAUDE_CONNECTOR_SCHEMAS=/app/schemas \
    CLAUDE_CONNECTOR_CACHE=/var/lib/claude-connector \
    HOME=/var/lib/claude-connector
VOLUME /var/lib/claude-connector
USER 10001:10001
ENTRYPOINT ["claude-connector"]
CMD ["--help"]
