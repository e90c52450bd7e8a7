"""Fault injection: switchable failures that tests and demos turn on through ``/_sim/faults``.

Every decision draws from one seeded random stream, so a given seed and request sequence
fails the same way each run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

T = TypeVar("T")

TRUNCATE_MODES = ("missing", "repeat", "bogus")
MALFORMED_MODES = ("truncated", "shape", "types")


@dataclass(frozen=True)
class FaultSettings:
    """What to break. ``*_mode="mixed"`` picks one of the concrete modes per response.

    * ``error_rate``: share of requests answered with one of ``statuses``.
    * ``timeout_rate``: share of requests held for ``timeout_seconds`` before answering.
    * ``malformed_rate``: share of answers that are cut-off JSON (``truncated``), valid
      JSON whose first row lost its fields (``shape``), or whose first row has one field of
      the wrong JSON type (``types``).
    * ``truncate_pagination``: pages that announce more rows carry a ``missing`` cursor
      (``has_more`` with none), a ``repeat`` of the cursor just used, or a ``bogus`` one.
    * ``expire_cursor_rate``: share of requests carrying a cursor (``page`` or ``after_id``)
      answered 410, as if a data refresh expired it mid-listing.
    * ``page_size``: serve at most this many rows per page whatever ``limit`` asked (the API
      may), so that small orgs have later pages for the other faults to break.
    * ``revoke_keys``: every key is refused (401). ``rate_limit_storm``: every request 429s
      with ``retry-after: storm_retry_after`` (fractions allowed so tests stay fast; ``None``
      sends no ``retry-after`` at all).
    * ``feed_off``: the Activity Feed answers as for an org without the Compliance API: 403
      or 404 (every other endpoint is unaffected). ``feed_storm``: the feed alone 429s.
    * ``echo_key``: error bodies quote the key the request presented (a careless server),
      to prove the connector redacts what it is sent back.
    """

    error_rate: float = 0.0
    statuses: tuple[int, ...] = (500, 503, 529)
    timeout_rate: float = 0.0
    timeout_seconds: float = 5.0
    malformed_rate: float = 0.0
    malformed_mode: str = "mixed"
    truncate_pagination: bool = False
    truncate_mode: str = "mixed"
    expire_cursor_rate: float = 0.0
    page_size: int | None = None
    revoke_keys: bool = False
    rate_limit_storm: bool = False
    storm_retry_after: float | None = 1.0
    echo_key: bool = False
    feed_off: int | None = None
    feed_storm: bool = False

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> FaultSettings:
        """Validate a ``POST /_sim/faults`` body; ``ValueError`` names the first problem."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        settings = cls(**{**payload, "statuses": tuple(payload.get("statuses", cls.statuses))})
        for name in ("error_rate", "timeout_rate", "malformed_rate", "expire_cursor_rate"):
            if not 0 <= getattr(settings, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if settings.page_size is not None and settings.page_size < 1:
            raise ValueError("page_size must be at least 1")
        if settings.storm_retry_after is not None and settings.storm_retry_after < 0:
            raise ValueError("storm_retry_after must not be negative")
        if settings.feed_off not in (None, 403, 404):
            raise ValueError("feed_off must be 403, 404 or null")
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

    def choice(self, options: Sequence[T]) -> T:
        return self._rng.choice(options)

    def status(self) -> int:
        return self._rng.choice(self.settings.statuses)


def wrong_type(value: Any) -> Any:
    """``value`` as a JSON value of a type no parser may take for it (``types`` malformation)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool | int | float):
        return str(value).lower()
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return {"items": value}
    return []
