"""Fault injection: switchable failures that tests and demos turn on through ``/_sim/faults``.

Every decision draws from one seeded random stream, so a given seed and request sequence
fails the same way each run.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

TRUNCATE_MODES = ("missing", "repeat", "bogus")
MALFORMED_MODES = ("truncated", "shape")


@dataclass(frozen=True)
class FaultSettings:
    """What to break. ``*_mode="mixed"`` picks one of the concrete modes per response.

    * ``error_rate``: share of requests answered with one of ``statuses``.
    * ``timeout_rate``: share of requests held for ``timeout_seconds`` before answering.
    * ``malformed_rate``: share of answers that are cut-off JSON (``truncated``) or valid
      JSON whose first row lost its fields (``shape``).
    * ``truncate_pagination``: pages that announce more rows carry a ``missing`` cursor
      (``has_more`` with none), a ``repeat`` of the cursor just used, or a ``bogus`` one.
    * ``revoke_keys``: every key is refused (401). ``rate_limit_storm``: every request 429s
      with ``retry-after: storm_retry_after`` (fractions allowed so tests stay fast).
    """

    error_rate: float = 0.0
    statuses: tuple[int, ...] = (500, 503, 529)
    timeout_rate: float = 0.0
    timeout_seconds: float = 5.0
    malformed_rate: float = 0.0
    malformed_mode: str = "mixed"
    truncate_pagination: bool = False
    truncate_mode: str = "mixed"
    revoke_keys: bool = False
    rate_limit_storm: bool = False
    storm_retry_after: float = 1.0

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> FaultSettings:
        """Validate a ``POST /_sim/faults`` body; ``ValueError`` names the first problem."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        settings = cls(**{**payload, "statuses": tuple(payload.get("statuses", cls.statuses))})
        for name in ("error_rate", "timeout_rate", "malformed_rate"):
            if not 0 <= getattr(settings, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if not all(isinstance(s, int) and 500 <= s <= 599 for s in settings.statuses):
            raise ValueError("statuses must be 5xx codes")
        if settings.truncate_mode not in (*TRUNCATE_MODES, "mixed"):
            raise ValueError(f"truncate_mode must be one of {TRUNCATE_MODES} or 'mixed'")
        if settings.malformed_mode not in (*MALFORMED_MODES, "mixed"):
            raise ValueError(f"malformed_mode must be one of {MALFORMED_MODES} or 'mixed'")
        return settings

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "statuses": list(self.statuses)}


class Faults:
    """The active fault settings and the seeded dice they are rolled with."""

    def __init__(self, seed: int) -> None:
        self.settings = FaultSettings()
        self._rng = random.Random(f"faults:{seed}")

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def pick(self, mode: str, choices: tuple[str, ...]) -> str:
        return self._rng.choice(choices) if mode == "mixed" else mode

    def status(self) -> int:
        return self._rng.choice(self.settings.statuses)
