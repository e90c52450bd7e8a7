"""How many days a cycle reads: the first collection the revision window, the days up to
``RESTATEMENT_DAYS`` back once a day from the next day on."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from streams.client import ApiFamily, Listing
from streams.poller.collect import RESTATEMENT_DAYS
from streams.poller.cycle import ConnectorPoller, DataType, PollerOptions, restated_cursor
from streams.poller.state import CommittedState
from tests.unit.poller.test_cycle_status import CODEC, T1, FakeClient, FakePublisher

WINDOW = 7


class RecordingClient(FakeClient):
    """Records the days of analytics, the usage starts and the Claude Code days asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.analytics_days: list[date] = []
        self.usage_starts: list[datetime] = []
        self.claude_code_days: list[date] = []

    def budget(self, family: ApiFamily) -> Any:
        return SimpleNamespace(per_minute=60.0)

    def forget(self) -> None:
        self.analytics_days, self.usage_starts, self.claude_code_days = [], [], []

    async def engagement(self, day: date, keep: Any) -> Listing[Any]:
        self.analytics_days.append(day)
        return await super().engagement(day, keep)

    async def actor_usage(self, start: datetime, end: datetime) -> Listing[Any]:
        self.usage_starts.append(start)
        return await super().actor_usage(start, end)

    async def claude_code_usage(self, day: date) -> Listing[Any]:
        self.claude_code_days.append(day)
        return await super().claude_code_usage(day)

    def days_read(self) -> tuple[int, int, int]:
        """Analytics days, usage days and Claude Code days asked for since ``forget``."""
        (start,) = self.usage_starts
        return (
            len(self.analytics_days),
            (self.time.date() - start.date()).days + 1,
            len(self.claude_code_days),
        )


async def test_the_first_cycle_reads_the_revision_window_and_restates_from_the_next_day():
    client = RecordingClient()
    poller = ConnectorPoller(
        client,  # type: ignore[arg-type]
        FakePublisher(),  # type: ignore[arg-type]
        CODEC,
        CommittedState("acme", "org_1"),
        PollerOptions(
            topic_prefix="t.", guard_fraction=0.2, revision_window_days=WINDOW,
            activity_feed=False,
        ),
    )
    await poller.run_cycle()
    assert client.days_read() == (WINDOW, WINDOW, WINDOW)
    assert poller.state.baseline_complete
    for data_type in (DataType.ANALYTICS, DataType.USAGE):
        assert poller.state.cursors[restated_cursor(data_type)].watermark == T1.date().isoformat()

    client.forget()
    client.time = T1 + timedelta(hours=2)
    await poller.run_cycle()
    assert client.days_read() == (WINDOW, WINDOW, WINDOW), "restated once a day"

    client.forget()
    client.time = T1 + timedelta(days=1)
    await poller.run_cycle()
    restated = (RESTATEMENT_DAYS, RESTATEMENT_DAYS, RESTATEMENT_DAYS)
    assert client.days_read() == restated, "the next day re-reads the days up to 30 back"
