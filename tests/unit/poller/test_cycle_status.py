"""ConnectorPoller's status events: ``last_success`` and ``failing`` follow what a cycle fetched."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from streams.client import ApiFamily, Listing
from streams.errors import ApiError, EndpointUnavailable, ReconnectRequired, TransientApiError
from streams.events.codec import default_codec
from streams.events.records import (
    ConnectorState,
    ConnectorStatus,
    CursorState,
    UsageDelta,
    UserOp,
)
from streams.kafkaio.messages import Outgoing
from streams.poller.collect import SpendReading
from streams.poller.cycle import ConnectorPoller, DataType, PollerOptions
from streams.poller.state import CONNECTOR_CURSOR, CommittedState

T1 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
T2 = T1 + timedelta(hours=1)
CODEC = default_codec()


def listing(*rows: Any, error: ApiError | None = None) -> Listing[Any]:
    return Listing("/test", rows, error is None, 1, 1, error=error)


class FakeClient:
    """The ApiClient surface a cycle uses; ``failures`` maps a method name to its error."""

    def __init__(self) -> None:
        self.connector = SimpleNamespace(name="acme")
        self.time = T1
        self.clock_synced = True
        self.failures: dict[str, ApiError] = {}

    def now(self) -> datetime:
        return self.time

    def has_key(self, family: ApiFamily) -> bool:
        return family is not ApiFamily.COMPLIANCE  # the feed has tests of its own

    async def organization(self) -> Any:
        if "organization" in self.failures:
            raise self.failures["organization"]
        return SimpleNamespace(id="org_1")

    def _listing(self, name: str, *rows: Any) -> Listing[Any]:
        return listing(*rows, error=self.failures.get(name))

    async def members(self) -> Listing[Any]:
        member = SimpleNamespace(
            id="user_1", email="p1@example.com", name="P 1", role="user", added_at=None
        )
        return self._listing("members", member)

    async def claude_code_usage(self, day: date) -> Listing[Any]:
        return self._listing("claude_code_usage")

    async def invites(self) -> Listing[Any]:
        return self._listing("invites")

    async def effective_spend_limits(self, keep: Any) -> Listing[Any]:
        return self._listing("effective_spend_limits")

    async def spend_limit_increase_requests(self, *, statuses: Any = ()) -> Listing[Any]:
        return self._listing("spend_limit_increase_requests")

    async def rbac_groups(self) -> Listing[Any]:
        return self._listing("rbac_groups")

    async def api_keys(self) -> Listing[Any]:
        return self._listing("api_keys")

    async def workspaces(self) -> Listing[Any]:
        return self._listing("workspaces")

    async def summaries(self, since: date) -> Listing[Any]:
        return self._listing("summaries", SimpleNamespace(starting_date=self.time.date()))

    async def engagement(self, day: date, keep: Any) -> Listing[Any]:
        return self._listing("engagement")

    async def connectors(self, day: date, *, by_user: bool) -> Listing[Any]:
        return self._listing("connectors")

    async def actor_usage(self, start: datetime, end: datetime) -> Listing[Any]:
        return self._listing("actor_usage")

    async def actor_cost(self, start: datetime, end: datetime) -> Listing[Any]:
        return self._listing("actor_cost")

    async def user_usage(self, start: datetime, end: datetime) -> Listing[Any]:
        return self._listing("user_usage")

    async def user_cost(self, start: datetime, end: datetime) -> Listing[Any]:
        return self._listing("user_cost")


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[Outgoing] = []
        self.commits: list[list[Any]] = []
        """The decoded events of each commit."""
        self.state: dict[bytes | None, Any] = {}
        """The committed state entries by key, as the compacted topic keeps them."""
        self.failure: Exception | None = None

    async def commit_cycle(self, events: list[Outgoing], state: list[Outgoing], **_: Any) -> None:
        if self.failure is not None:
            raise self.failure
        sent, entries = list(events), list(state)
        self.events.extend(sent)
        self.commits.append([CODEC.decode(message.value) for message in sent if message.value])
        for entry in entries:
            self.state[entry.key] = entry.value and CODEC.decode(entry.value)

    def committed_state(self) -> CommittedState:
        return CommittedState.from_records("acme", [v for v in self.state.values() if v])

    def statuses(self) -> list[ConnectorStatus]:
        decoded = [CODEC.decode(message.value) for message in self.events if message.value]
        return [record for record in decoded if isinstance(record, ConnectorStatus)]


async def test_a_cycle_reports_only_what_it_fetched() -> None:
    client, publisher = FakeClient(), FakePublisher()
    baseline_done = CursorState(CONNECTOR_CURSOR, 1, T1, True, ConnectorState.HEALTHY, None)
    poller = ConnectorPoller(
        client,  # type: ignore[arg-type]
        publisher,  # type: ignore[arg-type]
        CODEC,
        CommittedState("acme", "org_1", cursors={CONNECTOR_CURSOR: baseline_done}),
        PollerOptions(
            topic_prefix="t.", guard_fraction=0.2, revision_window_days=1, activity_feed=False
        ),
    )
    client.failures["actor_cost"] = TransientApiError("503", status=503)
    await poller.run_cycle()
    (degraded,) = publisher.statuses()
    assert degraded.state is ConnectorState.DEGRADED
    assert degraded.failing == {"usage": "usage: 503 (status=503)"}
    assert degraded.last_success == {
        "roster": T1,
        "workspaces": T1,
        "groups": T1,
        "credentials": T1,
        "invites": T1,
        "analytics": T1,
        "spend_limits": T1,
    }

    # Only the roster is due now, and its key is refused: analytics was not collected again
    # (its last success stays T1) and usage was not tried (it is not failing in this cycle).
    client.time = T2
    client.failures = {"members": ReconnectRequired("refused", status=401)}
    await poller.run_cycle({DataType.ROSTER})
    refused = publisher.statuses()[-1]
    assert refused.state is ConnectorState.RECONNECT_REQUIRED
    assert refused.failing == {"roster": "roster: refused (status=401)"}
    assert refused.last_success == {
        "roster": T1,
        "analytics": T1,
        "credentials": T2,
        "invites": T2,
    }


def _refused(endpoint: str, scope: str) -> EndpointUnavailable:
    return EndpointUnavailable(
        f"endpoint unavailable to this key (needs {scope})",
        scope=scope,
        endpoint=endpoint,
        status=403,
    )


def _poller(client: FakeClient, publisher: FakePublisher) -> ConnectorPoller:
    return ConnectorPoller(
        client,  # type: ignore[arg-type]
        publisher,  # type: ignore[arg-type]
        CODEC,
        CommittedState(
            "acme",
            "org_1",
            cursors={
                CONNECTOR_CURSOR: CursorState(
                    CONNECTOR_CURSOR, 1, T1, True, ConnectorState.HEALTHY, None
                )
            },
        ),
        PollerOptions(topic_prefix="t.", guard_fraction=0.2, revision_window_days=1),
    )


async def test_an_endpoint_the_key_lacks_is_partial_and_names_endpoint_and_scope() -> None:
    client, publisher = FakeClient(), FakePublisher()
    client.failures = {
        "organization": _refused("/v1/organizations/me", "read:members"),
        "actor_usage": _refused("/v1/organizations/analytics/usage", "read:analytics"),
        "user_usage": _refused("/v1/organizations/analytics/user_usage_report", "read:analytics"),
    }
    poller = _poller(client, publisher)
    report = await poller.run_cycle()
    (status,) = publisher.statuses()
    assert status.state is ConnectorState.PARTIAL
    assert "roster" not in status.failing, "a refused /me does not cost the roster"
    assert "/analytics/user_usage_report" in status.failing["usage"]
    assert "needs read:analytics" in status.failing["usage"]
    assert report.outcomes

    client.time = T2
    client.failures = {
        name: _refused(f"/{name}", "read:members")
        for name in (
            "organization",
            "members",
            "api_keys",
            "invites",
            "summaries",
            "actor_usage",
            "user_usage",
            "effective_spend_limits",
        )
    }
    await poller.run_cycle()
    assert publisher.statuses()[-1].state is ConnectorState.RECONNECT_REQUIRED


async def test_a_refused_data_type_is_tried_again_on_the_slow_schedule() -> None:
    client, publisher = FakeClient(), FakePublisher()
    client.failures = {"actor_cost": _refused("/cost", "read:analytics")}  # scope, not source
    poller = _poller(client, publisher)
    await poller.run_cycle()
    assert poller.retry_interval(DataType.USAGE, 3600, 21600) == 21600
    assert poller.retry_interval(DataType.ANALYTICS, 3600, 21600) == 3600
    client.failures = {"actor_cost": TransientApiError("503", status=503)}
    await poller.run_cycle()
    assert poller.retry_interval(DataType.USAGE, 3600, 21600) == 3600


class OrderedClient(FakeClient):
    """Notes when the roster and the summaries are asked for and answered."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.roster_asked = asyncio.Event()

    def budget(self, family: ApiFamily) -> Any:
        return SimpleNamespace(per_minute=60.0)

    async def members(self) -> Listing[Any]:
        self.calls.append("members asked")
        self.roster_asked.set()
        await asyncio.sleep(0)
        return await super().members()

    async def summaries(self, since: date) -> Listing[Any]:
        self.calls.append("summaries asked")
        if self.clock_synced:
            # Answered only once the roster was asked for: read one after the other, the
            # cycle would wait here for ever.
            await asyncio.wait_for(self.roster_asked.wait(), timeout=5)
        self.clock_synced = True
        self.calls.append("summaries answered")
        return await super().summaries(since)


def _options() -> PollerOptions:
    return PollerOptions(
        topic_prefix="t.", guard_fraction=0.2, revision_window_days=1, activity_feed=False
    )


async def test_the_latest_analytics_day_is_read_beside_the_roster_once_the_clock_is_set() -> None:
    client = OrderedClient()
    poller = ConnectorPoller(client, FakePublisher(), CODEC, CommittedState("acme"), _options())  # type: ignore[arg-type]
    report = await poller.run_cycle()
    assert report.completed
    assert client.calls.index("members asked") < client.calls.index("summaries answered")

    # Without an answer yet (no /me), the summaries' answer sets the clock: asked first.
    unsynced = OrderedClient()
    unsynced.clock_synced = False
    poller = ConnectorPoller(unsynced, FakePublisher(), CODEC, CommittedState("acme"), _options())  # type: ignore[arg-type]
    await poller.run_cycle()
    assert unsynced.calls[:2] == ["summaries asked", "summaries answered"]


class SlowLimitsClient(FakeClient):
    """Answers the spend limits only once ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.joined = False

    async def members(self) -> Listing[Any]:
        listed = await super().members()
        if not self.joined:
            return listed
        member = SimpleNamespace(
            id="user_2", email="p2@example.com", name="P 2", role="user", added_at=None
        )
        return listing(*listed.rows, member)

    def budget(self, family: ApiFamily) -> Any:
        return SimpleNamespace(per_minute=60.0)

    async def effective_spend_limits(self, keep: Any) -> Listing[Any]:
        await self.release.wait()
        reading = SpendReading("user_1", "p1@example.com", "monthly", 2_000_000, 10_000_000)
        return self._listing("effective_spend_limits", reading)


def _kinds(records: list[Any]) -> list[str]:
    """What each record is (op, metric family or record type), in sorted order."""
    return sorted(
        str(getattr(r, "op", None) or getattr(r, "family", None) or type(r).__name__)
        for r in records
    )


async def test_the_rest_is_committed_while_the_spend_limits_are_read_and_the_status_follows():
    client, publisher = SlowLimitsClient(), FakePublisher()
    poller = ConnectorPoller(client, publisher, CODEC, CommittedState("acme"), _options())  # type: ignore[arg-type]
    run = asyncio.ensure_future(poller.run_cycle())

    async def first_commit() -> None:
        while not publisher.commits and not run.done():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(first_commit(), timeout=5)
    (first,) = publisher.commits
    assert not run.done()
    assert _kinds(first) == ["SNAPSHOT"]
    assert {r.poll_id for r in first} == {"acme:1"}
    assert poller.state.cycle == 1 and poller.state.baseline_unannounced, (
        "the roster's baseline is committed; BASELINE_COMPLETE comes with the spend limits"
    )

    client.release.set()
    report = await run
    second = publisher.commits[1]
    assert _kinds(second) == ["ConnectorStatus", "SPEND_LIMIT"]
    assert {r.poll_id for r in second} == {"acme:2"}
    assert all(r.baseline for r in second if isinstance(r, UsageDelta))
    (status,) = publisher.statuses()
    assert status.state is ConnectorState.BASELINE_COMPLETE
    assert {"roster", "spend_limits"} <= status.last_success.keys()
    assert report.poll_id == "acme:1" and report.status is ConnectorState.BASELINE_COMPLETE
    assert report.counts == {"SNAPSHOT": 1, "UsageDelta": 1, "ConnectorStatus": 1}
    assert poller.state.cycle == 2 and poller.state.baseline_complete
    assert not poller.state.baseline_unannounced


async def test_after_a_failure_between_the_two_commits_the_baseline_is_not_listed_again():
    """The roster's baseline was committed: a member who joined since is ADDED, not a
    SNAPSHOT; the spend limits, never committed, are still the first collection's."""
    client, publisher = SlowLimitsClient(), FakePublisher()
    client.release.set()
    poller = ConnectorPoller(client, publisher, CODEC, CommittedState("acme"), _options())  # type: ignore[arg-type]
    commit = publisher.commit_cycle

    async def fail_the_second(events: Any, state: Any, **kwargs: Any) -> None:
        if publisher.commits:
            raise KafkaError("broker gone")
        await commit(events, state, **kwargs)

    publisher.commit_cycle = fail_the_second  # type: ignore[method-assign]
    with pytest.raises(KafkaError):
        await poller.run_cycle()
    assert not publisher.statuses()

    # A restarted poller, from what was committed; one more member by now.
    publisher.commit_cycle = commit  # type: ignore[method-assign]
    client.joined = True
    poller = ConnectorPoller(client, publisher, CODEC, publisher.committed_state(), _options())  # type: ignore[arg-type]
    await poller.run_cycle()
    joined, limits = publisher.commits[-2:]
    assert [(e.op, e.user_id, e.baseline) for e in joined] == [(UserOp.ADDED, "user_2", False)]
    assert _kinds(limits) == ["ConnectorStatus", "SPEND_LIMIT"]
    assert all(r.baseline for r in limits if isinstance(r, UsageDelta))
    (status,) = publisher.statuses()
    assert status.state is ConnectorState.BASELINE_COMPLETE and status.poll_id == "acme:3"
