"""``GET /insights``: adoption, spend, idle seats and alerts of an organisation over N days.

``?org=&days=N`` (default 30, at most 366) ``&until=YYYY-MM-DD`` (the window's last day,
default today in UTC). The answer is ``{"data": <streams.insights.Insights>, "partitions",
"partitions_total", "ready", "complete"}``: like the list views, a worker computes the figures
of its own partitions, asks the other workers for theirs (``scope=local``) and adds them up.
Idle seats follow ``IDLE_DAYS``; their monthly estimate needs ``SEAT_PRICE_USD``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from faust.web import Request, Response

from streams.insights import MAX_DAYS, Insights, Window
from streams.worker.insightfacts import table_insights
from streams.worker.views import BadRequest, JsonView, bounded_int, ready, scope_of

DEFAULT_DAYS = 30


def window_of(query: Mapping[str, str], idle_days: int, today: date) -> Window:
    """The window a query asks for (``days``, ``until``)."""
    days = bounded_int(query, "days", DEFAULT_DAYS, 1, MAX_DAYS)
    raw = query.get("until")
    try:
        last = today if raw is None else date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"until must be a date (YYYY-MM-DD); got {raw!r}") from None
    try:
        return Window(last=last, days=days, idle_days=idle_days)
    except ValueError as exc:
        raise BadRequest(f"until: {exc}") from None


class InsightsView(JsonView):
    """The figures of ``org`` (every organisation when not given) over a window of days."""

    async def answer(self, request: Request, **match: str) -> Response:
        query = request.query
        scope = scope_of(query)
        settings = self.context.settings
        window = window_of(query, settings.idle_days, datetime.now(UTC).date())
        topic = self.context.channels.user_events
        answered = self.active_partitions(topic)
        figures = table_insights(self.tables, query.get("org"), set(answered), window)
        all_ready = ready(self.context.app)
        if scope == "all":
            asked = {k: v for k, v in query.items() if k != "scope"}
            asked["until"] = window.last.isoformat()
            for _, body in await self.ask_peers(request, asked):
                figures = figures.merge(msgspec.convert(body["data"], Insights))
                answered += body.get("partitions", [])
                all_ready = all_ready and body.get("ready", False)
        partitions = self.partition_count(topic)
        body: dict[str, Any] = {
            "data": figures.finish(settings.seat_price_usd),
            "partitions": sorted(set(answered)),
            "partitions_total": partitions,
            "ready": all_ready,
            "complete": set(range(partitions)) <= set(answered) and all_ready,
        }
        return self.respond(body)


INSIGHT_VIEWS: dict[str, type[JsonView]] = {"/insights": InsightsView}
