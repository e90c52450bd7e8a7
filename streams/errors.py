"""The connector's error tree. Every error the product raises on purpose is one of these.

    ConnectorError
    ├── ConfigError                 bad or missing configuration
    │   ├── DirectoryFileError      a directory file that cannot be read (names the line)
    │   │   └── OrganisationNeeded  rows without org_id, and no organisation given
    │   └── PruneRefused            a prune that would remove too large a share of identities
    ├── BatchHandlerFailed          a worker's batch handler raised: the worker stops with it
    ├── LocalKafkaError             the development broker could not be fetched, started or stopped
    ├── KafkaAccessError            no broker reached: refused credentials, untrusted certificate
    ├── DemoError                   a part of ``claude-connector demo`` failed to start or died
    ├── HistoryError                a topic to read does not exist or cannot be read to its end
    ├── TriageError                 a triage decision that cannot be made (unknown alert, no reason)
    ├── ApiError                    a call to the Anthropic API (endpoint, status, request-id)
    │   ├── ReconnectRequired       401: the key is bad or revoked (nothing accepts it)
    │   ├── EndpointUnavailable     403 / 404 on one endpoint: a scope or feature this org lacks
    │   │   └── FeedUnavailable     403 / 404 on the Activity Feed: not enabled, or no scope
    │   ├── RateLimited             429 after the retry budget was spent
    │   ├── TransientApiError       5xx / 529 / timeout / connection error after retries
    │   ├── ApiResponseError        malformed JSON, or a body unlike the documented shape
    │   └── ApiRequestRejected      other 4xx (bad parameters, expired cursor after restarts)
    │       └── DataNotYetAvailable 400 for a date the API has not published yet
    └── CodecError                  bytes on a topic that cannot be decoded
        ├── MalformedMessage        not single-object encoded, or the body does not parse
        └── UnknownSchema           the fingerprint names no schema in ``schemas/``

Errors never carry an API key: an ``ApiError`` names the endpoint path, status and
request-id, and its message may quote the server's error type and message, with the key in
use and anything shaped like an Anthropic key redacted (``streams.client.transport``).
"""

from __future__ import annotations

from datetime import date
from typing import Any


class ConnectorError(Exception):
    """Root of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """Configuration is missing or invalid."""


class DirectoryFileError(ConfigError):
    """A directory file (JSON lines or CSV) that cannot be read; the message names the line."""


class OrganisationNeeded(DirectoryFileError):
    """Rows of a directory file name no organisation and none was given."""


class PruneRefused(ConfigError):
    """``directory load --prune`` would tombstone more than the configured share."""


class LocalKafkaError(ConnectorError):
    """The local development broker could not be fetched, started, or stopped."""


class BatchHandlerFailed(ConnectorError):
    """A worker's batch handler raised; the worker stops and exits with this error."""


class KafkaAccessError(ConnectorError):
    """No Kafka broker could be used: wrong SASL credentials, an untrusted certificate, none up."""


class DemoError(ConnectorError):
    """A part of the demo (broker, simulator, poller, worker) failed to start or died."""


class HistoryError(ConnectorError):
    """A topic that does not exist, or history that cannot be read to its end."""


class TriageError(ConnectorError):
    """A triage decision that cannot be made: no such alert, a missing reason, a bad time."""


class ApiError(ConnectorError):
    """A call to the Anthropic API failed."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.request_id = request_id
        details = [
            f"{name}={value}"
            for name, value in (
                ("endpoint", endpoint),
                ("status", status),
                ("request_id", request_id),
            )
            if value is not None
        ]
        super().__init__(f"{message} ({', '.join(details)})" if details else message)


class ReconnectRequired(ApiError):
    """The key was refused (401): it is revoked or wrong."""


class EndpointUnavailable(ApiError):
    """One endpoint refused a key that may read others: 403 for a missing scope, 404 for a
    feature the organisation does not have. ``scope`` names what the endpoint needs."""

    def __init__(self, message: str, *, scope: str | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.scope = scope


class RateLimited(ApiError):
    """The API kept answering 429 after the retry budget was spent."""


class TransientApiError(ApiError):
    """5xx, 529, timeouts or connection errors that outlasted the bounded retries."""


class FeedUnavailable(EndpointUnavailable):
    """The Compliance Activity Feed answered 403/404: not enabled for the org, or no scope."""


class ApiResponseError(ApiError):
    """The response was not JSON or did not match the documented shape."""


class ApiRequestRejected(ApiError):
    """A 4xx the connector cannot fix by retrying (bad parameters, cursor mismatch)."""


class DataNotYetAvailable(ApiRequestRejected):
    """400 for a date that is not published yet; ``latest_available`` is the newest day named."""

    def __init__(
        self, message: str, *, latest_available: date | None = None, **context: Any
    ) -> None:
        super().__init__(message, **context)
        self.latest_available = latest_available


class CodecError(ConnectorError):
    """Bytes on a topic could not be decoded into a known event."""


class MalformedMessage(CodecError):
    """The value is not Avro single-object encoding, or its body does not parse."""


class UnknownSchema(CodecError):
    """The value's schema fingerprint matches no schema in ``schemas/``."""
