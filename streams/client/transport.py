"""Send one request: pace it, classify the answer into the error tree, retry what may be retried.

``classify`` is the only place a status becomes an error type; ``send`` is the only place
that talks to httpx, sleeps between attempts or touches a rate budget. Failures are logged
with the endpoint, status and request-id, never with the key: the key travels only in the
``x-api-key`` header and any text that echoes it is redacted before it is logged or raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from streams.client.ratelimit import RateBudget
from streams.errors import (
    ApiError,
    ApiRequestRejected,
    ApiResponseError,
    DataNotYetAvailable,
    EndpointUnavailable,
    RateLimited,
    ReconnectRequired,
    TransientApiError,
)

log = logging.getLogger("streams.client")

_KEY_PATTERN = re.compile(r"sk-ant-[A-Za-z0-9_\-]+")
_DATE_PATTERN = re.compile(r"\b(20\d\d-\d\d-\d\d)\b")
_TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504, 529})
MAX_WAIT_SECONDS = 300.0
"""No answer makes the poller wait longer than this (a hostile ``retry-after: 1e9``)."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every given secret and anything shaped like an Anthropic key masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("sk-ant-[redacted]", text)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter.

    Transient failures (5xx, 529, timeouts, connection errors, unparseable bodies) are tried
    ``max_attempts`` times in all; 429 answers are honoured ``max_rate_limited`` times, each
    waiting the ``retry-after`` the server named or else a backoff from ``rate_limit_base``.
    """

    max_attempts: int = 4
    max_rate_limited: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    rate_limit_base: float = 1.0
    rate_limit_max: float = 60.0

    def backoff(self, attempt: int, rng: random.Random, *, rate_limited: bool = False) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): half fixed, half jitter."""
        base, cap = (
            (self.rate_limit_base, self.rate_limit_max)
            if rate_limited
            else (self.backoff_base, self.backoff_max)
        )
        ceiling = min(cap, base * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class EndpointTraits:
    """What classifying an answer needs to know about the endpoint that gave it.

    ``scope`` is what the endpoint needs (named when it is refused); ``not_found_is_absence``
    says a 404 means "no such endpoint for this organisation" (a listing) rather than "no such
    object" (a path naming one member); ``publishes_by_day`` marks the engagement endpoints,
    where a 400 ``invalid_request_error`` means the asked day is not published yet.
    """

    path: str
    scope: str | None = None
    not_found_is_absence: bool = True
    publishes_by_day: bool = False


@dataclass(frozen=True)
class Verdict:
    """What a response means: ``error`` is None on success."""

    error: ApiError | None
    retry: bool = False
    retry_after: float | None = None


@dataclass
class RequestStats:
    """Counters of one listing (or any group of sends)."""

    requests: int = 0
    rate_limited: int = 0


@dataclass(frozen=True)
class Exchange:
    """A successful response with its decoded JSON body."""

    body: Any
    request_id: str | None
    status: int


def _error_text(body: bytes) -> tuple[str | None, str | None]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None, None
    kind, message = error.get("type"), error.get("message")
    return (kind if isinstance(kind, str) else None, message if isinstance(message, str) else None)


def _served_at(headers: Mapping[str, str], now: datetime | None = None) -> datetime:
    """When the answer was served: its own ``Date`` header, else ``now`` (else our clock)."""
    served = headers.get("date")
    return parsedate_to_datetime(served) if served else now or datetime.now(UTC)


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds a 429 asks to wait: ``retry-after-ms``, else ``retry-after`` as seconds or as an
    HTTP date (read against the answer's own ``Date``, else ``now``); None when absent or
    unreadable. Not capped here: ``send`` caps the wait and says so."""
    raw_ms = headers.get("retry-after-ms")
    with contextlib.suppress(ValueError):
        if raw_ms is not None and math.isfinite(value := float(raw_ms)) and value >= 0:
            return value / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    with contextlib.suppress(ValueError):
        value = float(raw)
        return value if math.isfinite(value) and value >= 0 else None
    with contextlib.suppress(TypeError, ValueError, IndexError):
        until = parsedate_to_datetime(raw)
        return max(0.0, (until - _served_at(headers, now)).total_seconds())
    return None


def exhausted_for(headers: Mapping[str, str]) -> float | None:
    """Seconds until the organisation has room again when an answer says its budget is spent
    (``anthropic-ratelimit-requests-remaining: 0`` and an RFC 3339 ``-reset``), else None.

    This is the organisation's own count, so it covers every process and key drawing on it.
    """
    if headers.get("anthropic-ratelimit-requests-remaining") != "0":
        return None
    with contextlib.suppress(TypeError, ValueError):
        reset = datetime.fromisoformat(headers.get("anthropic-ratelimit-requests-reset", ""))
        return min(MAX_WAIT_SECONDS, max(0.0, (reset - _served_at(headers)).total_seconds()))
    return None


def classify(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    traits: EndpointTraits,
    secrets: Iterable[str] = (),
) -> Verdict:
    """Map one HTTP answer onto the error tree (pure: no I/O, no clock).

    Decisions rest on the status and the documented ``error.type`` only, never on the
    wording of the message (which is quoted, redacted, for people to read).
    """
    if 200 <= status < 300:
        return Verdict(None)
    request_id = headers.get("request-id")
    kind, message = _error_text(body)
    detail = redact(
        ": ".join(part for part in (kind, message) if part) or f"HTTP {status}", secrets
    )
    context: dict[str, Any] = {"endpoint": traits.path, "status": status, "request_id": request_id}
    if status == 401:
        return Verdict(ReconnectRequired(f"key refused: {detail}", **context))
    if status == 403 or (status == 404 and traits.not_found_is_absence):
        needs = f" (needs {traits.scope})" if traits.scope else ""
        return Verdict(
            EndpointUnavailable(
                f"endpoint unavailable to this key{needs}: {detail}",
                scope=traits.scope,
                **context,
            )
        )
    if status == 429:
        return Verdict(
            RateLimited(f"rate limited: {detail}", **context),
            retry=True,
            retry_after=retry_after(headers),
        )
    if status in _TRANSIENT_STATUSES or status >= 500:
        retry = headers.get("x-should-retry", "").lower() != "false"
        return Verdict(TransientApiError(f"server error: {detail}", **context), retry=retry)
    if status == 400 and kind == "invalid_request_error" and traits.publishes_by_day:
        # The newest published day, where the message names one, is a hint only.
        dates = _DATE_PATTERN.findall(message or "")
        latest = date.fromisoformat(dates[-1]) if dates else None
        return Verdict(
            DataNotYetAvailable(f"not yet available: {detail}", latest_available=latest, **context)
        )
    return Verdict(ApiRequestRejected(f"request rejected: {detail}", **context))


def decode(response: httpx.Response, *, endpoint: str) -> Any:
    """The JSON body of a successful response, or ``ApiResponseError``."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise ApiResponseError(
            f"response is not valid JSON ({exc.msg})",
            endpoint=endpoint,
            status=response.status_code,
            request_id=response.headers.get("request-id"),
        ) from None


@dataclass
class Sender:
    """Everything ``send`` needs that does not change between requests of one client."""

    http: httpx.AsyncClient
    policy: RetryPolicy = DEFAULT_RETRY
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


async def send(
    sender: Sender,
    budget: RateBudget,
    *,
    key: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    traits: EndpointTraits,
    headers: Mapping[str, str] | None = None,
    stats: RequestStats | None = None,
) -> Exchange:
    """GET ``path`` with ``params``: paced, classified, retried within the policy's bounds."""
    stats = stats if stats is not None else RequestStats()
    endpoint = traits.path
    policy = sender.policy
    failures = 0
    rate_limited = 0
    while True:
        await budget.acquire()
        stats.requests += 1
        outcome: ApiError
        try:
            response = await sender.http.get(
                path, params=params, headers={**(headers or {}), "x-api-key": key}
            )
        except httpx.TransportError as exc:  # timeouts included (a TransportError subclass)
            timed_out = isinstance(exc, httpx.TimeoutException)
            reason = "timed out" if timed_out else f"connection failed: {type(exc).__name__}"
            outcome, retry, retry_after = TransientApiError(reason, endpoint=endpoint), True, None
        else:
            if (room_in := exhausted_for(response.headers)) is not None:
                budget.pause(room_in)
            verdict = classify(
                response.status_code,
                response.headers,
                response.content,
                traits=traits,
                secrets=(key,),
            )
            if verdict.error is None:
                try:
                    return Exchange(
                        decode(response, endpoint=endpoint),
                        response.headers.get("request-id"),
                        response.status_code,
                    )
                except ApiResponseError as exc:
                    outcome, retry, retry_after = exc, True, None
            else:
                outcome, retry, retry_after = verdict.error, verdict.retry, verdict.retry_after
        finally:
            budget.release()

        if isinstance(outcome, RateLimited):
            stats.rate_limited += 1
            rate_limited += 1
            exhausted = rate_limited > policy.max_rate_limited
            wait = (
                retry_after
                if retry_after is not None
                else policy.backoff(rate_limited, sender.rng, rate_limited=True)
            )
            if wait > MAX_WAIT_SECONDS:
                log.warning(
                    "%s asked to wait %gs; waiting the %gs cap instead",
                    endpoint,
                    wait,
                    MAX_WAIT_SECONDS,
                )
                wait = MAX_WAIT_SECONDS
            if not exhausted:
                budget.pause(wait)
        else:
            failures += 1
            exhausted = failures >= policy.max_attempts
            wait = policy.backoff(failures, sender.rng)
        if not retry or exhausted:
            # An endpoint the org or key does not have is an answer, not an incident.
            level = logging.INFO if isinstance(outcome, EndpointUnavailable) else logging.WARNING
            log.log(level, "%s failed, giving up: %s", endpoint, outcome)
            raise outcome
        log.warning("%s failed, retrying in %.2fs: %s", endpoint, wait, outcome)
        if not isinstance(outcome, RateLimited):
            await sender.sleep(wait)
