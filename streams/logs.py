"""Log output shared by the commands and the worker: Kafka client errors, rate-limited.

While a broker is unreachable, aiokafka logs every failed connection and metadata refresh at
ERROR, tens of lines per second per client, which buries the product's own lines ("committing
poll cycle ... has waited 10s for Kafka"). ``RepeatFilter`` lets each distinct Kafka client
message through once per ``interval`` and says how many it held back when it next lets it through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

LIMITED_LOGGERS = ("aiokafka", "faust.transport")
REPEAT_INTERVAL_SECONDS = 10.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RepeatFilter(logging.Filter):
    """One record per logger, level and message every ``interval`` seconds, for ``loggers``.

    A record let through after others were held back ends with ``(N more like this in the
    last Ts)``. Records of other loggers pass untouched.
    """

    MAX_TRACKED = 512
    """Distinct messages remembered; past that the memory starts over (bounded, not exact)."""

    def __init__(
        self,
        loggers: Iterable[str] = LIMITED_LOGGERS,
        interval: float = REPEAT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = tuple(loggers)
        self._interval = interval
        self._clock = clock
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def _limited(self, name: str) -> bool:
        return any(name == prefix or name.startswith(prefix + ".") for prefix in self._prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._limited(record.name):
            return True
        key = (record.name, record.levelno, record.getMessage())
        now = self._clock()
        shown_at, held = self._seen.get(key, (None, 0))
        if shown_at is not None and now - shown_at < self._interval:
            self._seen[key] = (shown_at, held + 1)
            return False
        if len(self._seen) >= self.MAX_TRACKED:
            self._seen.clear()
        self._seen[key] = (now, 0)
        if held:
            assert shown_at is not None
            record.msg = f"{key[2]} ({held} more like this in the last {now - shown_at:.0f}s)"
            record.args = ()
        return True


def limit_repeats(handlers: Iterable[logging.Handler]) -> None:
    """Add one ``RepeatFilter`` to each handler (once)."""
    for handler in handlers:
        if not any(isinstance(item, RepeatFilter) for item in handler.filters):
            handler.addFilter(RepeatFilter())


def configure(level: int) -> None:
    """The commands' logging: ``LOG_FORMAT`` on stderr at ``level``, Kafka repeats limited."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    limit_repeats(logging.getLogger().handlers)
