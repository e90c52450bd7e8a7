"""A faithful Claude organisation over HTTP: the documented endpoints, limits and errors.

``start_simulator`` runs one on a free port (tests); ``serve`` runs one until cancelled
(``claude-connector simulate``). The org is deterministic for its ``SimConfig``; control
endpoints under ``/_sim/`` expose the ground truth, move simulated time and inject faults.
The simulator shares no parsing code with ``streams.client``.
"""

from streams.simulator.faults import FaultSettings
from streams.simulator.org import Org, SimConfig
from streams.simulator.server import RunningSimulator, create_app, serve, start_simulator

__all__ = [
    "FaultSettings",
    "Org",
    "RunningSimulator",
    "SimConfig",
    "create_app",
    "serve",
    "start_simulator",
]
