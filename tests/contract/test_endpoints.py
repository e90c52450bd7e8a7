"""Client and simulator declare their endpoints independently; this lists both and fails when
they differ (path, rate family, what the key needs), so a wrong assumption shows on one side."""

from __future__ import annotations

from streams.client import endpoints as ep
from streams.simulator.routes import CONSOLE, ROUTES, Route


def _simulator_needs(route: Route) -> str:
    return ep.CONSOLE_ADMIN if route.kinds == CONSOLE else route.scope


def test_client_and_simulator_declare_the_same_endpoints() -> None:
    client = {(spec.path, spec.family.value, spec.scope) for spec in ep.ENDPOINTS.values()}
    simulator = {(route.path, route.family, _simulator_needs(route)) for route in ROUTES}
    assert client - simulator == set(), "declared by the client, not served alike"
    assert simulator - client == set(), "served by the simulator, unknown to the client"


def test_each_side_declares_an_endpoint_once() -> None:
    assert len({spec.path for spec in ep.ENDPOINTS.values()}) == len(ep.ENDPOINTS)
    assert len({route.path for route in ROUTES}) == len(ROUTES)
