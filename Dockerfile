# The poller and the worker image: `docker compose up` runs both next to Kafka.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY schemas ./schemas
RUN pip install --no-cache-dir .

ENV CLAUDE_CONNECTOR_SCHEMAS=/app/schemas
USER nobody
ENTRYPOINT ["claude-connector"]
CMD ["--help"]
