"""Pages and listings: what one response holds, and what a whole listing achieved.

A ``Listing`` always says whether it **completed**: every page fetched, no error, the final
attempt run start to finish. Only a completed member listing may be used to conclude that
someone was removed; an incomplete one carries its ``error`` and the rows it did get.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from streams.client.endpoints import EndpointSpec
from streams.client.models import RowError
from streams.client.transport import Exchange
from streams.errors import ApiError, ApiResponseError

T = TypeVar("T")

log = logging.getLogger("streams.client")


_WARNED: set[tuple[str, str]] = set()


def warn_unparsed(endpoint: str, fields: Iterable[str]) -> None:
    """Log each (endpoint, field) whose values did not parse once per process, so a field that
    changed shape says so without flooding the log every page."""
    for name in fields:
        if (endpoint, name) not in _WARNED:
            _WARNED.add((endpoint, name))
            log.warning(
                "%s: %r is not a count; the rows are kept without it (logged once)",
                endpoint,
                name,
            )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One parsed response: its rows and the rest of the envelope (cursors, watermarks)."""

    rows: tuple[T, ...]
    envelope: Mapping[str, Any]
    unparsed: Mapping[str, int] = field(default_factory=dict)
    """Field name → rows on this page whose value for it did not parse and was left out."""


@dataclass(frozen=True)
class Listing(Generic[T]):
    """The outcome of listing one endpoint with one set of parameters."""

    endpoint: str
    rows: tuple[T, ...]
    completed: bool
    pages: int
    requests: int
    rate_limited: int = 0
    restarts: int = 0
    error: ApiError | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    unparsed: Mapping[str, int] = field(default_factory=dict)

    def raise_for_error(self) -> Listing[T]:
        """Return ``self`` when completed, else raise the error that stopped it."""
        if not self.completed:
            raise self.error or ApiResponseError("listing did not complete", endpoint=self.endpoint)
        return self


def parse_page(spec: EndpointSpec[T], exchange: Exchange) -> Page[T]:
    """Split a response into rows and envelope; ``ApiResponseError`` if it is ill-shaped."""
    body = exchange.body
    context = {"endpoint": spec.path, "status": exchange.status, "request_id": exchange.request_id}
    if not isinstance(body, dict):
        raise ApiResponseError(f"expected a JSON object, got {type(body).__name__}", **context)
    if spec.whole_body_is_row:
        raw_rows: list[Any] = [body]
        envelope: dict[str, Any] = {}
    else:
        key = next((name for name in spec.envelope_keys if name in body), None)
        if key is None:
            expected = " or ".join(repr(name) for name in spec.envelope_keys)
            raise ApiResponseError(f"response has no {expected} array", **context)
        raw_rows = body[key]
        if not isinstance(raw_rows, list):
            raise ApiResponseError(f"{key!r} must be an array", **context)
        envelope = {name: value for name, value in body.items() if name != key}
    rows = []
    unparsed: Counter[str] = Counter()
    for position, raw in enumerate(raw_rows):
        try:
            row = spec.parse_row(raw)
        except RowError as exc:
            raise ApiResponseError(f"row {position}: {exc}", **context) from None
        unparsed.update(getattr(row, "unparsed", ()))
        rows.append(row)
    return Page(tuple(rows), envelope, unparsed)
