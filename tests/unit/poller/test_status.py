"""Connector health transitions from fetch outcomes."""

from __future__ import annotations

import pytest

from streams.errors import (
    ApiResponseError,
    EndpointUnavailable,
    RateLimited,
    ReconnectRequired,
    TransientApiError,
)
from streams.events.records import ConnectorState as S
from streams.poller.status import Outcome, health, transition

OK = Outcome("roster")
REVOKED = Outcome(
    "roster", ReconnectRequired("key refused", endpoint="/v1/organizations/users", status=401)
)
THROTTLED = Outcome(
    "analytics", RateLimited("429", endpoint="/v1/organizations/analytics/users", status=429)
)
DOWN = Outcome("usage", TransientApiError("503", status=503))
MALFORMED = Outcome("roster", ApiResponseError("bad JSON", status=200))
NO_SCOPE = Outcome(
    "usage",
    EndpointUnavailable("needs read:analytics", scope="read:analytics", status=403),
)
NO_ROSTER = Outcome("roster", EndpointUnavailable("needs read:members", status=404))
FEED_NOT_OFFERED = Outcome(
    "activities",
    EndpointUnavailable("needs read:compliance_activities", status=403),
    optional=True,
)


@pytest.mark.parametrize(
    ("outcomes", "state"),
    [
        ([OK], S.HEALTHY),
        ([OK, MALFORMED], S.PARTIAL),
        ([THROTTLED, MALFORMED], S.DEGRADED),
        ([DOWN], S.DEGRADED),
        ([MALFORMED, THROTTLED, REVOKED], S.RECONNECT_REQUIRED),
        ([OK, NO_SCOPE], S.PARTIAL),
        ([NO_SCOPE, NO_ROSTER], S.RECONNECT_REQUIRED),
        ([THROTTLED, NO_SCOPE], S.DEGRADED),
        ([OK, FEED_NOT_OFFERED], S.HEALTHY),
        ([NO_SCOPE, FEED_NOT_OFFERED], S.RECONNECT_REQUIRED),
        ([MALFORMED, FEED_NOT_OFFERED], S.PARTIAL),
    ],
)
def test_health_is_the_worst_outcome(outcomes, state):
    assert health(outcomes)[0] is state


def test_reason_names_data_type_endpoint_and_status():
    _, reason = health([REVOKED])
    assert reason == "roster: key refused (endpoint=/v1/organizations/users, status=401)"


@pytest.mark.parametrize(
    ("previous", "outcomes", "expected"),
    [
        (None, [OK], S.HEALTHY),
        (S.HEALTHY, [OK], None),
        (S.BASELINE_COMPLETE, [OK], None),
        (S.HEALTHY, [REVOKED], S.RECONNECT_REQUIRED),
        (S.RECONNECT_REQUIRED, [REVOKED], None),
        (S.RECONNECT_REQUIRED, [OK], S.RECOVERED),
        (S.RECOVERED, [OK], None),
        (S.PARTIAL, [THROTTLED], S.DEGRADED),
        (S.DEGRADED, [OK], S.RECOVERED),
    ],
)
def test_status_is_emitted_on_change_only(previous, outcomes, expected):
    change = transition(previous, outcomes)
    assert (change[0] if change else None) is expected
