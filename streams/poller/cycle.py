"""One connector's poll cycle: collect → diff against committed state → commit events + state.

``ConnectorPoller.run_cycle`` is the whole story of a cycle:

1. number the cycle (``poll_id = {connector}:{committed cycle + 1}``) so that a cycle re-run
   after a crash derives the same event ids;
2. collect what the keys allow and is due (roster, analytics days, per-user spend), each API
   family (each with its own rate limit) at the same time as the others;
3. diff each against the committed state (the pure ``diff`` module enforces the removal rules);
4. derive the connector status change;
5. commit events and the new state in one transaction; only then adopt the new state.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time as wallclock
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import chain

from streams.client import ApiClient, ApiFamily
from streams.errors import ApiError, EndpointUnavailable
from streams.events.cloudevents import EventRecord, headers_for
from streams.events.codec import Codec
from streams.events.keys import item_key, org_key, user_key
from streams.events.records import (
    AppAssociation,
    ConnectorState,
    ConnectorStatus,
    CredentialEvent,
    CursorState,
    InviteEvent,
    MemberState,
    UsageDelta,
)
from streams.events.topics import topic_for
from streams.kafkaio.messages import Outgoing
from streams.poller.activities import DATA_TYPE as FEED_CURSOR
from streams.poller.activities import FeedStep
from streams.poller.collect import (
    CREDENTIALS,
    GROUPS,
    INVITES,
    RESTATEMENT_DAYS,
    WORKSPACES,
    Collected,
    Progress,
    analytics_days,
    analytics_roster,
    collect_analytics,
    collect_claude_code,
    collect_inventories,
    collect_roster,
    collect_spend,
    collect_spend_limits,
    latest_analytics_day,
)
from streams.poller.diff import diff_associations, diff_roster, diff_usage
from streams.poller.inventory import diff_credentials, diff_invites
from streams.poller.publish import CyclePublisher
from streams.poller.snapshot import PollContext
from streams.poller.state import CONNECTOR_CURSOR, CommittedState, StateChanges, expired_usage
from streams.poller.status import HEALTHY_STATES, Outcome, status_event, transition

log = logging.getLogger(__name__)

PAGE_SIZE = 1000
"""Rows per page the client asks for (the documented maximum)."""


class DataType(StrEnum):
    """What a cycle can fetch; each has its own schedule and cursor."""

    ROSTER = "roster"
    ANALYTICS = "analytics"
    USAGE = "usage"
    ACTIVITIES = "activities"


@dataclass(frozen=True)
class PollerOptions:
    """The knobs of a cycle, taken from Settings."""

    topic_prefix: str
    guard_fraction: float
    revision_window_days: int
    activity_feed: bool = True
    """Whether connectors with a compliance (or admin) key read the Activity Feed."""


def restated_cursor(data_type: DataType) -> str:
    """The cursor whose watermark is the last day ``data_type`` was re-read 30 days back."""
    return f"{data_type.value}.restated"


def cycle_poll_id(connector: str, cycle: int) -> str:
    """The id of a connector's poll cycle: ``{connector}:{cycle}``."""
    return f"{connector}:{cycle}"


def event_message(record: EventRecord, codec: Codec, prefix: str) -> Outgoing:
    """An event as the message to publish: its topic, key, Avro value and CloudEvents headers."""
    topic = topic_for(type(record)).name(prefix)
    if isinstance(record, ConnectorStatus):
        key = org_key(record.org_id)
    elif isinstance(record, CredentialEvent):
        key = item_key(record.org_id, record.key_id)
    elif isinstance(record, InviteEvent):
        key = item_key(record.org_id, record.invite_id)
    else:
        key = user_key(record.org_id, record.user_id)
    return Outgoing(topic, key, codec.encode(record), headers_for(record))


@dataclass(frozen=True)
class CycleScope:
    """What every commit of one poll run shares: taken once, before the first commit."""

    org_id: str
    now: datetime
    baseline: bool
    """Whether this run is the first collection (its events are the baseline)."""
    clock_trusted: bool
    """Whether ``now`` came from the API server's clock (only then may usage expire)."""
    due: frozenset[DataType]
    latest: date | None
    """The latest analytics day, when analytics were due."""


@dataclass(frozen=True)
class StatusBasis:
    """What a run's connector status is derived from, gathered over its cycles."""

    outcomes: list[Outcome]
    baseline_done: bool
    """Whether this run completed the first collection."""
    reconciliation: tuple[dict[str, int], bool]
    """The feed's counters and whether this run moved them."""

    def then(self, outcomes: list[Outcome]) -> StatusBasis:
        """This basis with the outcomes of a later cycle of the same run."""
        return StatusBasis([*self.outcomes, *outcomes], self.baseline_done, self.reconciliation)


@dataclass
class CycleReport:
    """What one cycle did: the counts a person or a test wants to see."""

    connector: str
    poll_id: str
    events: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    status: ConnectorState | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    reconciliation: dict[str, int] = field(default_factory=dict)
    """Feed changes the roster confirmed / contradicted, and changes only the roster saw."""

    def add(self, later: CycleReport) -> None:
        """Count in the cycle committed after this one in the same run (the spend limits)."""
        self.events += later.events
        for kind, count in later.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + count
        self.outcomes.extend(later.outcomes)
        self.status = later.status or self.status

    @property
    def completed(self) -> bool:
        return not any(outcome.failed for outcome in self.outcomes)

    @property
    def reason(self) -> str | None:
        return "; ".join(o.reason for o in self.outcomes if o.reason) or None


async def together(*steps: Awaitable[None]) -> None:
    """Run ``steps`` concurrently; the first that fails cancels the others and its error is
    raised as it is."""
    tasks = [asyncio.ensure_future(step) for step in steps]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class ConnectorPoller:
    """Polls one connector; holds its committed state between cycles."""

    def __init__(
        self,
        client: ApiClient,
        publisher: CyclePublisher,
        codec: Codec,
        state: CommittedState,
        options: PollerOptions,
        *,
        progress: Progress = lambda _: None,
    ) -> None:
        self.client = client
        self.publisher = publisher
        self.codec = codec
        self.state = state
        self.options = options
        self.progress = progress
        self.latest_outcomes: dict[str, Outcome] = {}
        """Last outcome per data type: health covers every data type, not just the due ones."""

    @property
    def name(self) -> str:
        return self.client.connector.name

    def supported(self) -> set[DataType]:
        """The data types this connector's keys can fetch."""
        kinds = set()
        if self.client.has_key(ApiFamily.ADMIN):
            kinds |= {DataType.ROSTER, DataType.USAGE}  # usage: a Console Admin key reads it
        if self.client.has_key(ApiFamily.ANALYTICS):
            kinds |= {DataType.ANALYTICS, DataType.USAGE}
        if self.options.activity_feed and self.client.has_key(ApiFamily.COMPLIANCE):
            kinds.add(DataType.ACTIVITIES)
        return kinds

    async def run_cycle(self, due: Iterable[DataType] | None = None) -> CycleReport:
        """Run one cycle over the due data types (all supported ones by default)."""
        started = wallclock.monotonic()
        due_types = self.supported() if due is None else set(due) & self.supported()
        state = self.state
        collected = Collected()
        org_id = await self._org_id(collected)
        latest: date | None = None

        async def latest_day() -> None:
            nonlocal latest
            if DataType.ANALYTICS in due_types:
                today = self.client.now().date()
                latest = await latest_analytics_day(self.client, today, collected)

        latest_read_first = not self.client.clock_synced
        if latest_read_first:
            # No answer yet (an analytics-only connector): this one sets the clock.
            await latest_day()
        # Taken after the cycle's first response: the API server's time, not ours.
        clock_trusted = self.client.clock_synced
        now = self.client.now()
        baseline = not state.baseline_complete

        today = now.date()
        restating = {
            data_type
            for data_type in (DataType.ANALYTICS, DataType.USAGE)
            if data_type in due_types and self._restatements_due(data_type, today)
        }
        # The first collection reads the revision window only (its size sets how long the
        # first collection takes); it still counts as today's re-read, so the days up to
        # RESTATEMENT_DAYS back are first re-read the next day.
        window = {
            data_type: RESTATEMENT_DAYS
            if data_type in restating and not baseline
            else self.options.revision_window_days
            for data_type in (DataType.ANALYTICS, DataType.USAGE)
        }

        async def roster_and_inventories() -> None:
            if DataType.ROSTER in due_types:
                await collect_roster(self.client, collected, self.progress)
                await collect_inventories(self.client, collected, self.progress)
                for part in (WORKSPACES, GROUPS, CREDENTIALS, INVITES):
                    if not any(o.data_type == part for o in collected.outcomes):
                        # Not read this time (the roster failed, or the org has no such
                        # thing): its older outcome says nothing now.
                        self.latest_outcomes.pop(part, None)

        async def roster_then_usage() -> None:
            # The latest analytics day (an analytics request) is read beside the roster.
            beside = () if latest_read_first else (latest_day(),)
            await together(roster_and_inventories(), *beside)
            await together(analytics_and_spend(), claude_code())

        async def analytics_and_spend() -> None:
            if latest is not None:
                days = analytics_days(latest, window[DataType.ANALYTICS])
                if baseline:
                    self._announce_eta(len(days), window[DataType.USAGE], collected)
                await collect_analytics(self.client, days, collected, self.progress)
            if DataType.USAGE in due_types:
                await collect_spend(
                    self.client, now, window[DataType.USAGE], collected, self.progress
                )

        async def claude_code() -> None:
            if DataType.USAGE in due_types and self.client.has_key(ApiFamily.ADMIN):
                await collect_claude_code(
                    self.client,
                    now,
                    window[DataType.USAGE],
                    self._member_ids_by_email(collected),  # needs this cycle's roster
                    collected,
                    self.progress,
                )

        limits = Collected()
        reads_limits = DataType.USAGE in due_types and self.client.has_key(ApiFamily.ADMIN)

        async def spend_limits() -> None:
            if reads_limits:
                await collect_spend_limits(self.client, today, limits, self.progress)

        # Each API family has its own rate limit: the families are read at the same time, so
        # a first collection takes about as long as its slowest family needs. The spend limits
        # (from about 6,000 members on the slowest) are committed as a cycle of their own: the
        # rest is diffed and published while their pages are still being read.
        reading_limits = asyncio.ensure_future(spend_limits())
        try:
            await roster_then_usage()
            feed = FeedStep(state.cursors.get(FEED_CURSOR))
            if DataType.ACTIVITIES in due_types:
                collected.outcomes.append(self._feed_outcome(await feed.fetch(self.client, now)))
            scope = CycleScope(org_id, now, baseline, clock_trusted, frozenset(due_types), latest)
            report, basis = await self._settle(
                collected, feed, scope, restating, status_follows=reads_limits
            )
            await reading_limits
        except BaseException:
            reading_limits.cancel()
            await asyncio.gather(reading_limits, return_exceptions=True)
            raise
        if reads_limits:
            # The status, derived from every fetch of the run, comes with this last cycle.
            after = FeedStep(self.state.cursors.get(FEED_CURSOR))
            # Still the first collection's until its status said so (a run after a failure
            # between the two commits reads them again).
            limits_scope = replace(scope, baseline=baseline or state.baseline_unannounced)
            later, _ = await self._settle(limits, after, limits_scope, set(), before=basis)
            report.add(later)
        report.seconds = wallclock.monotonic() - started
        return report

    async def _settle(
        self,
        collected: Collected,
        feed: FeedStep,
        scope: CycleScope,
        restating: set[DataType],
        *,
        before: StatusBasis | None = None,
        status_follows: bool = False,
    ) -> tuple[CycleReport, StatusBasis]:
        """Diff what ``collected`` holds against the committed state, commit the events and the
        new state in one transaction, then adopt that state: one cycle's second half.

        The status covers every fetch of the run: with ``status_follows`` the cycle commits the
        connector's status as it was and hands back what the next cycle of the run, given it as
        ``before``, derives the status from.
        """
        state = self.state
        cycle = state.cycle + 1
        poll_id = cycle_poll_id(self.name, cycle)
        org_id, now, baseline, due_types, latest = (
            scope.org_id, scope.now, scope.baseline, scope.due, scope.latest
        )
        today = now.date()
        context = PollContext(org_id, self.name, poll_id, now)
        roster = collected.roster
        if (
            roster is None
            and DataType.ROSTER not in self.supported()
            and (DataType.ANALYTICS in due_types or collected.deleted)
        ):
            roster = analytics_roster(collected)
        changes = StateChanges(org_id, self.name, poll_id, now)
        events: list[EventRecord] = []
        members, pending = state.members, state.pending_drop
        baseline_done = False
        if roster is not None:
            previous_members, roster = feed.judge(state.members, roster)
            diff = diff_roster(
                previous_members,
                roster,
                context=context,
                guard_fraction=self.options.guard_fraction,
                pending_drop=state.pending_drop,
                baseline=baseline,
            )
            events.extend(diff.events)
            feed.count_snapshot_only(diff.events)
            members, pending = diff.members, diff.pending_drop
            for user_id, member in diff.state_changes().items():
                changes.member(user_id, member)
            for user_id in feed.judged & members.keys():
                changes.member(user_id, MemberState(members[user_id], user_id in pending))
            baseline_done = baseline and roster.complete
            collected.roster = roster = None
            if pending:
                self.progress(f"holding the removal of {len(pending)} members until confirmed")

        fast = feed.fast_path(members, context, baseline_done or state.baseline_complete)
        if fast is not None:
            events.extend(fast.events)
            members = fast.members
            pending = pending & members.keys()
            for user_id in sorted(fast.touched):
                image = members.get(user_id)
                changes.member(user_id, image and MemberState(image, user_id in pending))

        usage_diff = diff_usage(state.usage, collected.usage, context=context, baseline=baseline)
        # What a large organisation's cycle observed is let go once diffed: the memory it held
        # takes the state entries and messages that follow.
        collected.usage.clear()
        usage = {**state.usage, **usage_diff.totals}
        for key, totals in usage_diff.totals.items():
            changes.usage(totals, key)
        # Only a clock the server set may expire usage: before any answer ``now`` is ours,
        # and a local clock ahead of the API's would drop series the API still revises and
        # re-announce them (same revisions, other deltas) once the clock is right again.
        if scope.clock_trusted:
            kept = max(RESTATEMENT_DAYS, self.options.revision_window_days)
            oldest = today - timedelta(days=kept + 1)
            for key in expired_usage(usage, oldest):
                del usage[key]
                changes.usage(None, key)

        inventories = {CREDENTIALS: dict(state.credentials), INVITES: dict(state.invites)}
        for name, differ, put in (
            (CREDENTIALS, diff_credentials, changes.credential),
            (INVITES, diff_invites, changes.invite),
        ):
            if name not in collected.inventories:
                continue
            listed, complete = collected.inventories[name]
            inventory = differ(  # type: ignore[operator]
                inventories[name],
                listed,
                complete=complete,
                context=context,
                baseline=name not in state.cursors,
            )
            events.extend(inventory.events)
            for item_id, image in inventory.changes.items():
                put(item_id, image)  # type: ignore[operator]
                if image is None:
                    del inventories[name][item_id]
                else:
                    inventories[name][item_id] = image

        links = diff_associations(
            state.associations, collected.associations, context=context, baseline=baseline
        )
        collected.associations.clear()
        for link in links.known.values():
            changes.association(link)

        basis = StatusBasis(list(collected.outcomes), baseline_done, feed.reconciliation())
        if before is not None:
            basis = before.then(basis.outcomes)
        if status_follows:
            status_events, connector_cursor = [], self._carried_cursor(basis.baseline_done)
        else:
            status_events, connector_cursor = self._status(context, basis)
        events.extend(status_events)
        cursors = dict(state.cursors)
        for name, (_, complete) in collected.inventories.items():
            if complete and name not in cursors:
                # An inventory's first complete listing is its baseline: later items are new.
                cursors[name] = CursorState(name, cycle, None, True, None, None)
                changes.cursor(cursors[name])
        for data_type in restating:
            if all(o.completed for o in collected.outcomes if o.data_type == data_type):
                name = restated_cursor(data_type)
                cursors[name] = CursorState(name, cycle, None, False, None, today.isoformat())
        # Derived one at a time as they are sent (a baseline has a few per member).
        derived = {UsageDelta: len(usage_diff.totals), AppAssociation: len(links.known)}
        emitted = len(events) + sum(derived.values())
        if emitted:
            # The cycle number only moves when something was emitted: a cycle that changed
            # nothing (or was re-run after a crash that followed its commit) leaves no trace,
            # so the ids of later events do not depend on how often the poller ran.
            cursors[CONNECTOR_CURSOR] = connector_cursor
            for data_type in sorted(due_types - {DataType.ACTIVITIES}):
                # Every fetch of the run: its last cycle moves them when an earlier one did not.
                outcomes = [o for o in basis.outcomes if o.data_type == data_type]
                if outcomes and all(o.completed for o in outcomes):
                    watermark = (
                        latest.isoformat()
                        if data_type is DataType.ANALYTICS and latest is not None
                        else None
                    )
                    cursors[data_type.value] = CursorState(
                        data_type.value, cycle, now, False, None, watermark
                    )
            for cursor in cursors.values():
                if cursor.cycle == cycle:
                    changes.cursor(cursor)
        prefix = self.options.topic_prefix
        feed_messages = feed.messages(context, self.codec, prefix)
        # Committed when the feed's position moved; a read that found nothing leaves no trace.
        if (feed_cursor := feed.cursor(cycle, now)) is not None:
            cursors[FEED_CURSOR] = feed_cursor
            changes.cursor(feed_cursor)

        if emitted or feed_messages or len(changes):
            # Generators: each message is encoded as it is sent, never all of them at once.
            # Each record type has its own topic: their order across types does not matter.
            records = chain(events, usage_diff.events(), links.events())
            await self.publisher.commit_cycle(
                chain((event_message(record, self.codec, prefix) for record in records),
                      feed_messages),
                changes.messages(self.codec, prefix),
                name=f"poll cycle {poll_id}",
            )

        self.state = CommittedState(
            connector=self.name,
            org_id=org_id,
            members=dict(members),
            pending_drop=pending,
            usage=usage,
            associations={**state.associations, **links.known},
            cursors=cursors,
            credentials=inventories[CREDENTIALS],  # type: ignore[arg-type]
            invites=inventories[INVITES],  # type: ignore[arg-type]
        )
        report = CycleReport(
            self.name,
            poll_id,
            emitted,
            outcomes=collected.outcomes,
            status=cursors[CONNECTOR_CURSOR].status if CONNECTOR_CURSOR in cursors else None,
        )
        for record in events:
            kind = getattr(record, "op", None) or type(record).__name__
            report.counts[str(kind)] = report.counts.get(str(kind), 0) + 1
        for record_type, count in derived.items():
            if count:
                report.counts[record_type.__name__] = count
        if feed_messages:
            report.counts["Activity"] = len(feed_messages)
        report.reconciliation = feed.counters.as_dict()
        if collected.unparsed_values:
            report.counts["unparsed_values"] = collected.unparsed_values
        return report, basis

    def _member_ids_by_email(self, collected: Collected) -> dict[str, str]:
        """Lower-cased e-mail → user id of the members committed so far (including those this
        cycle finds gone, whose earlier days still count) and of those this cycle listed."""
        ids = {image.email.lower(): user_id for user_id, image in self.state.members.items()}
        if collected.roster is not None:
            ids.update((user.email.lower(), user.id) for user in collected.roster.users.values())
        return ids

    def _feed_outcome(self, outcome: Outcome) -> Outcome:
        """The feed's outcome; refused to the admin key tried as its fallback, it is optional:
        the feed is not available to this connector, which is said once and is no failure."""
        fallback = self.client.connector.compliance_api_key is None
        if not (fallback and isinstance(outcome.error, EndpointUnavailable)):
            return outcome
        before = self.latest_outcomes.get(outcome.data_type)
        if before is None or not before.optional:
            log.info(
                "%s: the Activity Feed is not available to this connector (%s); set "
                "CLAUDE_COMPLIANCE_API_KEY to read it",
                self.name,
                outcome.error,
            )
        return replace(outcome, optional=True)

    def retry_interval(self, data_type: DataType, interval: float, unavailable: float) -> float:
        """Seconds until ``data_type`` is due again: ``unavailable`` (the slow schedule) while
        an endpoint it needs is refused to this key or organisation, else ``interval``."""
        outcome = self.latest_outcomes.get(data_type.value)
        refused = outcome is not None and isinstance(outcome.error, EndpointUnavailable)
        return max(interval, unavailable) if refused else interval

    def _restatements_due(self, data_type: DataType, today: date) -> bool:
        """Whether days up to ``RESTATEMENT_DAYS`` back were not yet re-read today."""
        cursor = self.state.cursors.get(restated_cursor(data_type))
        return cursor is None or cursor.watermark != today.isoformat()

    def _announce_eta(self, days: int, spend_days: int, collected: Collected) -> None:
        """The first collection's remaining analytics requests and time, at the rate budget."""
        members = len(collected.roster.users) if collected.roster else len(self.state.members)
        pages = max(1, math.ceil(members / PAGE_SIZE))
        spend_pages = 2 * max(1, math.ceil(members * spend_days / PAGE_SIZE))
        requests = days * (pages + 1) + spend_pages
        per_minute = self.client.budget(ApiFamily.ANALYTICS).per_minute
        self.progress(
            f"first collection: about {requests} analytics requests for {days} days of "
            f"{members} members; ETA {requests / per_minute:.1f} min at {per_minute:g}/min"
        )

    async def _org_id(self, collected: Collected) -> str:
        """The organisation id from ``/me`` (also a key check), else committed, else the name.

        Analytics keys cannot see ``/me``: analytics-only connectors use their name as org id.
        A key refused ``/me`` alone (an Enterprise ``read:members`` key) still reads the
        roster: that refusal is no failure of the roster.
        """
        if self.client.has_key(ApiFamily.ADMIN):
            try:
                return (await self.client.organization()).id
            except EndpointUnavailable:
                pass
            except ApiError as exc:
                collected.outcomes.append(Outcome(DataType.ROSTER.value, exc))
        return self.state.org_id or self.name

    def _carried_cursor(self, baseline_done: bool) -> CursorState:
        """The connector cursor of the next cycle with the committed status unchanged.

        A completed baseline roster is committed as such (a run after a failure does not list
        the members as a baseline again); its ``BASELINE_COMPLETE`` is said with the status.
        """
        cursor = self.state.cursors.get(CONNECTOR_CURSOR)
        return CursorState(
            CONNECTOR_CURSOR,
            self.state.cycle + 1,
            cursor.last_success if cursor is not None else None,
            self.state.baseline_complete or baseline_done,
            cursor.status if cursor is not None else None,
            None,
        )

    def _status(
        self, context: PollContext, basis: StatusBasis
    ) -> tuple[list[ConnectorStatus], CursorState]:
        """Status events for this cycle and the connector cursor to commit.

        ``last_success`` and ``failing`` describe what the run fetched (data types not due
        keep their committed ``last_success``); the state covers every data type's latest outcome.
        When the feed's counters moved, a healthy connector restates its state with them.
        """
        outcomes = basis.outcomes
        baseline_done_now = basis.baseline_done or self.state.baseline_unannounced
        baseline_complete = baseline_done_now or self.state.baseline_complete
        counters, counters_changed = basis.reconciliation
        cursor = self.state.cursors.get(CONNECTOR_CURSOR)
        previous = cursor.status if cursor is not None else None
        last_success = {
            data_type: value.last_success
            for data_type, value in self.state.cursors.items()
            if data_type != CONNECTOR_CURSOR and value.last_success is not None
        }
        failing: dict[str, str] = {}
        for data_type in dict.fromkeys(o.data_type for o in outcomes):
            of_type = [o for o in outcomes if o.data_type == data_type]
            failed = next((o for o in of_type if not o.completed), None)
            self.latest_outcomes[data_type] = failed or of_type[0]
            if failed is None:
                last_success[data_type] = context.observed_at
            else:
                failing[data_type] = failed.reason or ""
        emitted: list[ConnectorStatus] = []

        def emit(state: ConnectorState, before: ConnectorState | None, reason: str | None) -> None:
            emitted.append(
                status_event(
                    context,
                    state,
                    before,
                    reason,
                    baseline_complete=baseline_complete,
                    last_success=last_success,
                    failing=failing,
                    feed_reconciliation=counters,
                )
            )

        current = previous
        if baseline_done_now:
            emit(ConnectorState.BASELINE_COMPLETE, previous, "first complete collection")
            current = ConnectorState.BASELINE_COMPLETE
        change = transition(current, list(self.latest_outcomes.values()))
        if change is not None and not (baseline_done_now and change[0] is ConnectorState.HEALTHY):
            emit(change[0], current, change[1])
            current = change[0]
        if not emitted and counters_changed and current in HEALTHY_STATES:
            figures = ", ".join(f"{name} {count}" for name, count in counters.items())
            # BASELINE_COMPLETE and RECOVERED are said once; a restated healthy state is HEALTHY.
            emit(ConnectorState.HEALTHY, current, f"feed reconciliation: {figures}")
            current = ConnectorState.HEALTHY
        next_cursor = CursorState(
            CONNECTOR_CURSOR,
            self.state.cycle + 1,
            context.observed_at,
            baseline_complete,
            current,
            None,
        )
        return emitted, next_cursor
