"""``/_sim/`` control endpoints: ground truth, simulated time, faults, counters.

No key is needed, so they answer only callers on the loopback interface. JSON in and out:

* ``GET /_sim/truth[?since=YYYY-MM-DD&until=YYYY-MM-DD&usage=false]`` (each member, invite
  and key the Activity Feed recorded with its ``risks``: the alert reasons that should hold,
  from how it was generated)
* ``POST /_sim/advance`` ``{"hours", "days", "add", "remove", "role_changes", "key_changes",
  "promotions", "seed", "activities"}``: ``activities`` is the number of background actions (logins,
  connectors, keys, groups) recorded in the Activity Feed besides the churn (default 3)
* ``GET /_sim/activities``: every Activity Feed row recorded, oldest first, visible or not
* ``GET|POST|DELETE /_sim/faults`` (see ``faults.FaultSettings``)
* ``GET|DELETE /_sim/stats``: requests per family, answers per status, injected faults and
  time spent answering per endpoint (``handler_ms:NAME`` over ``handler_calls:NAME``)
* ``GET /_sim/directory``: the managed-identity directory as JSON
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import orjson
from aiohttp import web

from streams.simulator import shapes
from streams.simulator.faults import FaultSettings
from streams.simulator.org import rfc3339
from streams.simulator.routes import SimState

DEFAULT_BACKGROUND = 3
"""Background Activity Feed actions recorded per advance unless told otherwise."""

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(payload), content_type="application/json")


def _loopback_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        try:
            local = ipaddress.ip_address(request.remote or "").is_loopback
        except ValueError:
            local = False
        if not local:
            return _json({"error": "control endpoints answer loopback callers only"}, 403)
        return await handler(request)

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        payload = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(payload, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return payload


def setup_control(app: web.Application, state: SimState) -> None:
    """Register the ``/_sim/`` endpoints for ``state`` on ``app``."""
    org = state.org

    async def truth(request: web.Request) -> web.Response:
        query = request.query
        try:
            since = date.fromisoformat(query["since"]) if "since" in query else None
            until = date.fromisoformat(query["until"]) if "until" in query else None
        except ValueError:
            return _json({"error": "since/until must be YYYY-MM-DD"}, 400)
        usage = query.get("usage", "true").lower() != "false"
        return _json(state.truth(since=since, until=until, usage=usage))

    async def advance(request: web.Request) -> web.Response:
        payload = await _body(request)
        allowed = {
            "hours", "days", "add", "remove", "role_changes", "key_changes", "promotions", "seed",
            "activities",
        }
        if set(payload) - allowed:
            return _json({"error": f"unknown fields: {sorted(set(payload) - allowed)}"}, 400)
        background = payload.pop("activities", DEFAULT_BACKGROUND)
        if not isinstance(background, int) or background < 0:
            return _json({"error": "activities must be a non-negative integer"}, 400)
        try:
            churn, recorded = state.advance(background, **payload)
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        if state.config.directory_out is not None:
            org.write_directory(state.config.directory_out)
        return _json(
            {
                "now": rfc3339(org.now),
                "latest_analytics_date": org.latest_analytics_date.isoformat(),
                "added": [{**shapes.member(p), "managed": p.managed} for p in churn.added],
                "removed": [p.id for p in churn.removed],
                "role_changes": [
                    {"id": p.id, "before": before, "after": after}
                    for p, before, after in churn.role_changes
                ],
                "activities": [row["id"] for row in recorded],
                "keys": churn.keys,
            }
        )

    async def faults(request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                state.faults.settings = FaultSettings.from_json(await _body(request))
            except (TypeError, ValueError) as exc:
                return _json({"error": str(exc)}, 400)
        elif request.method == "DELETE":
            state.faults.settings = FaultSettings()
        return _json(state.faults.settings.to_json())

    async def stats(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            state.stats.clear()
        return _json(dict(sorted(state.stats.items())))

    async def directory(request: web.Request) -> web.Response:
        return _json(org.directory())

    async def activities(request: web.Request) -> web.Response:
        return _json({"data": state.feed.truth()})

    router = app.router
    router.add_get("/_sim/truth", _loopback_only(truth))
    router.add_post("/_sim/advance", _loopback_only(advance))
    for method in ("GET", "POST", "DELETE"):
        router.add_route(method, "/_sim/faults", _loopback_only(faults))
    for method in ("GET", "DELETE"):
        router.add_route(method, "/_sim/stats", _loopback_only(stats))
    router.add_get("/_sim/directory", _loopback_only(directory))
    router.add_get("/_sim/activities", _loopback_only(activities))
