"""``POST /decisions``: the page's triage actions, published as ``AlertDecision`` events.

A write, so stricter than the read views: refused (403) unless ``WEB_TOKEN`` is set, whatever
the bind address (and ``--insecure-no-token``); then like every view, 403 for an unknown
``Host`` and 401 without ``Authorization: Bearer <token>``. The body is JSON:
``{"org_id", "user_id", "alert_id", "action": "ack|snooze|accept|reopen", "reason",
"until", "by", "severity", "reasons"}``; ``reason`` is required for accept and ``until``
(ISO 8601, or ``30m``, ``4h``, ``2d``, ``1w``) for snooze. When the member is on this worker
the alert's severity and the member's open reasons come from its tables, else from the body
(what the page showed). The decision goes to the ``alert-decisions`` topic like the CLI's
(``streams.worker.decisions``); the answer is ``{"data": decision}`` once Kafka has it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from faust.web import Request, Response

from streams.errors import TriageError
from streams.events.cloudevents import headers_for
from streams.events.codec import default_codec
from streams.events.records import DecisionAction
from streams.worker.batch import Send, publish
from streams.worker.decisions import Target, decide, decision_partition, parse_until
from streams.worker.state import member_key
from streams.worker.views import SECURITY_HEADERS, BadRequest, JsonView

ACTIONS = {action.value.lower(): action for action in DecisionAction
           if action is not DecisionAction.UNKNOWN}


class DecisionsView(JsonView):
    """Triage decisions from the page (writes need ``WEB_TOKEN``)."""

    async def get(self, request: Request, **match: str) -> Response:
        return self.secured(self.respond({"error": "POST a decision"}, 405))

    async def post(self, request: Request, **match: str) -> Response:
        if not self.context.settings.web_token:
            return self.secured(self.respond(
                {"error": "triage from the page needs WEB_TOKEN on the worker"}, 403))
        return self.secured(await self.checked_answer(request, **match))

    @staticmethod
    def secured(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    async def answer(self, request: Request, **match: str) -> Response:
        try:
            body = orjson.loads(await request.read())
            target, action = self.target(body), ACTIONS[str(body.get("action", "")).lower()]
            now = datetime.now(UTC)
            until = parse_until(str(body["until"]), now) if body.get("until") else None
            (made,) = decide([target], action, by=str(body.get("by") or "page"),
                             why=body.get("reason") or None, until=until, now=now)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise BadRequest("a JSON object with org_id, user_id, alert_id and action "
                             f"({', '.join(ACTIONS)}) is needed") from None
        except TriageError as exc:
            raise BadRequest(str(exc)) from None
        topic = self.context.channels.alert_decisions
        partition = decision_partition(made, self.partition_count(topic))
        await publish([Send(topic, made.alert_id.encode(), default_codec().encode(made),
                            headers_for(made), partition)])
        return self.respond({"data": made.to_avro()})

    def target(self, body: dict[str, Any]) -> Target:
        """The alert decided on, with its member's open reasons (this worker's tables first)."""
        org_id, user_id, alert_id = str(body["org_id"]), str(body["user_id"]), body["alert_id"]
        row = self.tables.alerts.get(member_key(org_id, user_id))
        if row is not None:
            alerts = [{"alert_id": alert.alert_id, "severity": alert.severity, "reason": reason,
                       "state": "OPENED"} for reason, alert in row.open.items()]
        else:
            alerts = [{"alert_id": alert_id, "severity": str(body["severity"]),
                       "reason": reason, "state": "OPENED"}
                      for reason in body.get("reasons") or []]
        alert = next((a for a in alerts if a["alert_id"] == alert_id), None)
        if alert is None:
            alert = {"alert_id": alert_id, "severity": str(body["severity"]), "state": "OPENED"}
        return Target(alert, {"org_id": org_id, "user_id": user_id, "alerts": alerts})


TRIAGE_VIEWS: dict[str, type[JsonView]] = {"/decisions": DecisionsView}
