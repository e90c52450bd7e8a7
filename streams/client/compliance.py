"""The Compliance Activity Feed: one query type and one call over ``ApiClient``.

The feed has its own key (``read:compliance_activities``; a Console Admin key is the
fallback) and its own budget (600 requests per minute per parent organisation, shared by
every ``/v1/compliance/*`` call). A feed the organisation has not enabled answers 403 or 404:
that is ``FeedUnavailable``, not a refused connector key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from streams.client import endpoints as ep
from streams.client.activities import Activity
from streams.client.api import ApiClient, _params
from streams.client.listing import Listing
from streams.errors import EndpointUnavailable, FeedUnavailable

Order = Literal["asc", "desc"]
MAX_LIMIT = ep.ACTIVITIES_MAX_LIMIT


@dataclass(frozen=True)
class ActivityQuery:
    """The feed's documented filters. ``activity_types`` and ``exclude_activity_types`` exclude
    each other; ``after_id`` and ``before_id`` too (checked here, before any request)."""

    activity_types: Sequence[str] = ()
    exclude_activity_types: Sequence[str] = ()
    actor_ids: Sequence[str] = ()
    organization_ids: Sequence[str] = ()
    created_gte: datetime | None = None
    created_gt: datetime | None = None
    created_lte: datetime | None = None
    created_lt: datetime | None = None
    after_id: str | None = None
    before_id: str | None = None
    order: Order = "asc"
    limit: int = MAX_LIMIT

    def __post_init__(self) -> None:
        if self.activity_types and self.exclude_activity_types:
            raise ValueError("activity_types and exclude_activity_types cannot be combined")
        if self.after_id and self.before_id:
            raise ValueError("give after_id or before_id, not both")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        if self.order not in ("asc", "desc"):
            raise ValueError("order must be 'asc' or 'desc'")

    def params(self) -> dict[str, object]:
        """The query string (``x[]`` arrays, dotted ``created_at.*`` filters)."""
        query = _params(
            activity_types__=tuple(self.activity_types),
            exclude_activity_types__=tuple(self.exclude_activity_types),
            actor_ids__=tuple(self.actor_ids),
            organization_ids__=tuple(self.organization_ids),
            after_id=self.after_id,
            before_id=self.before_id,
            order=self.order,
            limit=self.limit,
        )
        for bound in ("gte", "gt", "lte", "lt"):
            value = getattr(self, f"created_{bound}")
            if value is not None:
                query[f"created_at.{bound}"] = value
        return query


async def list_activities(client: ApiClient, query: ActivityQuery) -> Listing[Activity]:
    """Every activity ``query`` matches, all pages; never raises an ``ApiError``.

    A 403 or 404 ends the listing with ``FeedUnavailable``; a 401 (revoked key) stays
    ``ReconnectRequired``.
    """
    listing = await client.fetch(ep.ACTIVITIES, query.params())
    error = listing.error
    if isinstance(error, EndpointUnavailable):
        unavailable = FeedUnavailable(
            "activity feed not enabled for the organisation, or the key lacks "
            "read:compliance_activities",
            scope="read:compliance_activities",
            endpoint=error.endpoint,
            status=error.status,
            request_id=error.request_id,
        )
        return replace(listing, error=unavailable)
    return listing
