"""The simulator's app factory, its in-process runner for tests, and the long-running server.

``create_app(config)`` builds the aiohttp application; ``start_simulator`` runs it on a free
loopback port and returns a ``RunningSimulator`` whose helpers call the ``/_sim/`` control
endpoints over the real socket; ``serve`` runs until cancelled (the CLI).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.utils import format_datetime
from typing import Any

import httpx
from aiohttp import web

from streams.config import ConnectorConfig, Secret
from streams.simulator.control import setup_control
from streams.simulator.org import SimConfig
from streams.simulator.routes import SimState, setup_routes

STATE = web.AppKey("sim_state", SimState)


def create_app(config: SimConfig) -> web.Application:
    """The simulator as an aiohttp application (writes the directory file if configured)."""
    state = SimState.build(config)
    if state.config.directory_out is not None:
        state.org.write_directory(state.config.directory_out)
    app = web.Application()
    app[STATE] = state

    async def simulated_date(_: web.Request, response: web.StreamResponse) -> None:
        # Clients read "now" from the Date header, as they would from the real API.
        response.headers["Date"] = format_datetime(state.org.now, usegmt=True)

    app.on_response_prepare.append(simulated_date)
    setup_routes(app, state)
    setup_control(app, state)
    return app


@dataclass
class RunningSimulator:
    """A simulator serving on a real socket, with helpers for its control endpoints."""

    url: str
    state: SimState
    http: httpx.AsyncClient
    """A client bound to ``url``: control calls, and raw API requests in contract tests."""
    _runner: web.AppRunner

    @property
    def config(self) -> SimConfig:
        return self.state.config

    def connector(
        self,
        name: str = "simulated",
        *,
        analytics: bool | None = None,
        admin: bool = True,
        compliance: bool = False,
    ) -> ConnectorConfig:
        """A connector configuration pointing at this simulator with its keys (an analytics
        key only where the org kind has one, unless ``analytics`` says otherwise)."""
        if analytics is None:
            analytics = self.config.org_kind == "enterprise"
        return ConnectorConfig(
            name=name,
            api_base_url=self.url,
            analytics_api_key=Secret(self.config.analytics_key) if analytics else None,
            admin_api_key=Secret(self.config.admin_key) if admin else None,
            compliance_api_key=Secret(self.config.compliance_key) if compliance else None,
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    async def truth(self, **params: Any) -> dict[str, Any]:
        """``GET /_sim/truth`` (params: ``since``, ``until``, ``usage``)."""
        return await self._call("GET", "/_sim/truth", params=params)

    async def advance(self, **churn: Any) -> dict[str, Any]:
        """``POST /_sim/advance``: ``hours``, ``days``, ``add``, ``remove``, ``role_changes``."""
        return await self._call("POST", "/_sim/advance", json=churn)

    async def activities(self) -> list[dict[str, Any]]:
        """``GET /_sim/activities``: every Activity Feed row recorded, visible or not."""
        return (await self._call("GET", "/_sim/activities"))["data"]

    async def faults(self, **settings: Any) -> dict[str, Any]:
        """``POST /_sim/faults``: replace the fault settings."""
        return await self._call("POST", "/_sim/faults", json=settings)

    async def clear_faults(self) -> dict[str, Any]:
        return await self._call("DELETE", "/_sim/faults")

    async def stats(self, *, reset: bool = False) -> dict[str, float]:
        """Counters of requests, statuses, injected faults, handler time (``reset`` clears)."""
        return await self._call("DELETE" if reset else "GET", "/_sim/stats")

    async def aclose(self) -> None:
        await self.http.aclose()
        await self._runner.cleanup()


async def start_simulator(
    config: SimConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, **overrides: Any
) -> RunningSimulator:
    """Serve a simulator (``config`` with ``overrides``) on ``host:port`` (0 = a free port)."""
    config = replace(config or SimConfig(), **overrides)
    runner = web.AppRunner(create_app(config), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    url = f"http://{bound_host}:{bound_port}"
    return RunningSimulator(
        url=url,
        state=runner.app[STATE],
        http=httpx.AsyncClient(base_url=url, timeout=120),
        _runner=runner,
    )


async def serve(
    config: SimConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    ready: Callable[[RunningSimulator], None] | None = None,
) -> None:
    """Run the simulator until cancelled; ``ready`` is called once it listens."""
    simulator = await start_simulator(config, host=host, port=port)
    try:
        if ready is not None:
            ready(simulator)
        await asyncio.Event().wait()
    finally:
        await simulator.aclose()
