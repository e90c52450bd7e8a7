"""The Activity Feed as a poller data type: read forward from a committed position, publish once.

The feed is read in ascending order from ``since - OVERLAP`` (``created_at.gte``) every time,
never from a stored ``after_id``: rows can become visible after later ones, and the documented
remedy is to re-read an overlap window and drop what was already published, by id. The
position (newest ``created_at`` published, and the ids published inside the overlap window) is
committed in the poller state, in the same transaction as the ``Activity`` messages, so after
a crash the re-read finds exactly the ids that did reach the topic.

The first read starts ``OVERLAP`` before the connector's first cycle: recording is not
retroactive, and what came before is the roster baseline's business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from streams.client import ApiClient
from streams.client.activities import ACTOR_FIELDS
from streams.client.activities import Activity as FeedRow
from streams.client.compliance import ActivityQuery, list_activities
from streams.events.activity_facts import activity_key
from streams.events.cloudevents import headers_for
from streams.events.codec import Codec
from streams.events.records import (
    Activity,
    ActivityActor,
    CursorState,
    Source,
    UserEvent,
    UserImage,
    UserOp,
)
from streams.events.topics import ACTIVITIES
from streams.kafkaio.messages import Outgoing
from streams.poller.fastpath import (
    FastPath,
    Reconciliation,
    apply_feed,
    membership_change,
    reconcile,
)
from streams.poller.snapshot import PollContext, RosterSnapshot
from streams.poller.status import Outcome

DATA_TYPE = "activities"
OVERLAP = timedelta(minutes=5)
"""How far back every read starts before the newest row published (rows are documented to be
queryable within a minute; five leave room for clock skew)."""


@dataclass(frozen=True)
class FeedPosition:
    """Where the feed was read up to, and the fast path's bookkeeping (committed as JSON)."""

    since: datetime
    seen: Mapping[str, datetime] = field(default_factory=dict)
    """Ids published with ``created_at >= since - OVERLAP`` (older ones are never re-read)."""
    membership_from: datetime | None = None
    """Membership activities from here on change members; older ones are history only."""
    pending: Mapping[str, UserOp] = field(default_factory=dict)
    """Member changes the feed made that no complete roster listing has judged yet."""
    reconciliation: Mapping[str, int] = field(default_factory=dict)
    """Cumulative confirmed / contradicted / snapshot_only counters."""

    def to_text(self) -> str:
        """The cursor's ``watermark`` text (JSON)."""
        document: dict[str, object] = {
            "since": self.since.isoformat(),
            "seen": {key: moment.isoformat() for key, moment in sorted(self.seen.items())},
        }
        if self.membership_from is not None:
            document["membership_from"] = self.membership_from.isoformat()
        if self.pending:
            document["pending"] = {key: op.value for key, op in sorted(self.pending.items())}
        if self.reconciliation:
            document["reconciliation"] = dict(sorted(self.reconciliation.items()))
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_cursor(cls, cursor: CursorState | None) -> FeedPosition | None:
        """The committed position, or None before the first read."""
        if cursor is None or not cursor.watermark:
            return None
        document = json.loads(cursor.watermark)
        start = document.get("membership_from")
        return cls(
            since=datetime.fromisoformat(document["since"]),
            seen={key: datetime.fromisoformat(at) for key, at in document["seen"].items()},
            membership_from=datetime.fromisoformat(start) if start else None,
            pending={key: UserOp(op) for key, op in document.get("pending", {}).items()},
            reconciliation=document.get("reconciliation", {}),
        )


@dataclass(frozen=True)
class FeedRead:
    """One read of the feed: the rows not published before, the next position, the outcome."""

    new: tuple[FeedRow, ...]
    position: FeedPosition | None
    """None while the feed was never read completely (nothing to commit yet)."""
    outcome: Outcome


def select_new(
    rows: Iterable[FeedRow], position: FeedPosition
) -> tuple[list[FeedRow], FeedPosition]:
    """Rows whose id is not in ``position.seen`` (pure), and the position after them."""
    new = [row for row in rows if row.id not in position.seen]
    since = max([position.since, *(row.created_at for row in new)])
    horizon = since - OVERLAP
    seen = {key: at for key, at in position.seen.items() if at >= horizon}
    seen.update((row.id, row.created_at) for row in new if row.created_at >= horizon)
    return new, replace(position, since=since, seen=seen)


async def read_feed(client: ApiClient, position: FeedPosition | None, now: datetime) -> FeedRead:
    """Read the feed from ``position`` (or from ``now - OVERLAP`` the first time).

    An incomplete listing publishes nothing and keeps the position (None before the first
    complete read: a feed refused from the start leaves nothing to commit).
    """
    if position is None and not client.clock_synced:
        # The first read starts from the API's "now": learn its clock from one small answer.
        probe = await list_activities(client, ActivityQuery(limit=1, order="desc"))
        if probe.error is not None:
            return FeedRead((), None, Outcome(DATA_TYPE, probe.error))
        now = client.now()
    start = position or FeedPosition(since=now - OVERLAP)
    listing = await list_activities(client, ActivityQuery(created_gte=start.since - OVERLAP))
    outcome = Outcome(DATA_TYPE, listing.error)
    if not listing.completed:
        return FeedRead((), position, outcome)
    new, after = select_new(listing.rows, start)
    return FeedRead(tuple(new), after, outcome)


def activity_record(row: FeedRow, context: PollContext) -> Activity:
    """The ``Activity`` event of one feed row (nothing the row says is dropped)."""
    actor = row.actor
    return Activity(
        id=row.id,
        created_at=row.created_at,
        type=row.type,
        org_id=context.org_id,
        organization_id=row.organization_id,
        organization_uuid=row.organization_uuid,
        actor=ActivityActor(
            type=actor.type,
            details_json=_json(actor.details),
            **{name: getattr(actor, name) for name in ACTOR_FIELDS},
        ),
        target_user_id=row.target_user_id,
        target_email=row.target_email,
        details_json=_json(row.details),
        connector=context.connector,
        poll_id=context.poll_id,
        observed_at=context.observed_at,
    )


def activity_messages(records: Sequence[Activity], codec: Codec, prefix: str) -> list[Outgoing]:
    """The ``<prefix>activities`` messages (Avro value, CloudEvents headers) of ``records``."""
    topic = ACTIVITIES.name(prefix)
    return [
        Outgoing(topic, activity_key(record), codec.encode(record), headers_for(record))
        for record in records
    ]


@dataclass
class FeedStep:
    """One cycle's feed work, in the order the cycle calls it: ``fetch`` (when due),
    ``judge`` (when a roster was listed), ``fast_path``, then ``messages`` and ``cursor``."""

    committed: CursorState | None
    position: FeedPosition | None = None
    read: FeedRead | None = None
    counters: Reconciliation = field(default_factory=Reconciliation)
    pending: dict[str, UserOp] = field(default_factory=dict)
    judged: set[str] = field(default_factory=set)
    """The pending changes the roster judged this cycle (not snapshot-only)."""
    committed_counters: dict[str, int] = field(init=False)
    """The counters as committed, to tell whether this cycle moved them."""

    def __post_init__(self) -> None:
        self.position = FeedPosition.from_cursor(self.committed)
        if self.position is not None:
            self.counters = Reconciliation(**self.position.reconciliation)
            self.pending = dict(self.position.pending)
        self.committed_counters = self.counters.as_dict()

    async def fetch(self, client: ApiClient, now: datetime) -> Outcome:
        """Read the feed from the committed position."""
        self.read = await read_feed(client, self.position, now)
        self.position = self.read.position
        return self.read.outcome

    def judge(
        self, members: Mapping[str, UserImage], roster: RosterSnapshot
    ) -> tuple[dict[str, UserImage], RosterSnapshot]:
        """What to diff ``roster`` against once it judged the feed's pending changes.

        A complete member listing judges them (``reconcile``). Engagement data cannot: it still
        shows people active on its day whom the feed saw leave since, so they are left out of
        such a snapshot rather than added back.
        """
        if roster.source is not Source.ROSTER:
            gone = {uid for uid, op in self.pending.items() if op is UserOp.REMOVED}
            users = {uid: user for uid, user in roster.users.items() if uid not in gone}
            return dict(members), replace(roster, users=users)
        self.judged = set(self.pending)
        adjusted, self.pending = reconcile(members, self.pending, roster, self.counters)
        return adjusted, roster

    def count_snapshot_only(self, roster_events: Iterable[UserEvent]) -> None:
        """Roster changes the feed did not report (only once the feed is the fast path)."""
        if self.position is None or self.position.membership_from is None:
            return
        rows = self.read.new if self.read is not None else ()
        in_feed = {change.user_id for change in map(membership_change, rows) if change}
        for event in roster_events:
            if event.op is UserOp.SNAPSHOT or event.user_id in self.judged:
                continue
            if event.user_id in in_feed:  # read in this same cycle: both saw it
                self.counters.confirmed += 1
            else:
                self.counters.snapshot_only += 1

    def fast_path(
        self, members: Mapping[str, UserImage], context: PollContext, baseline_complete: bool
    ) -> FastPath | None:
        """User events for this read's membership activities (none before the baseline)."""
        if self.read is None or self.position is None or not self.read.outcome.completed:
            return None
        start = self.position.membership_from
        if start is None and baseline_complete:
            start = context.observed_at
            self.position = replace(self.position, membership_from=start)
        if start is None:
            return None
        fast = apply_feed(
            members, self.read.new, self.pending, context=context, membership_from=start
        )
        self.pending = fast.pending
        return fast

    def reconciliation(self) -> tuple[dict[str, int], bool]:
        """The counters (empty when the feed is not read) and whether this cycle moved them."""
        if self.position is None:
            return {}, False
        counters = self.counters.as_dict()
        return counters, counters != self.committed_counters

    def messages(self, context: PollContext, codec: Codec, prefix: str) -> list[Outgoing]:
        """The ``Activity`` messages of this read's new rows."""
        rows = self.read.new if self.read is not None else ()
        return activity_messages([activity_record(row, context) for row in rows], codec, prefix)

    def cursor(self, cycle: int, now: datetime) -> CursorState | None:
        """The feed cursor to commit, or None when nothing about the feed changed."""
        if self.position is None:
            return None
        position = replace(
            self.position, pending=dict(self.pending), reconciliation=self.counters.as_dict()
        )
        text = position.to_text()
        if self.committed is not None and self.committed.watermark == text:
            return None
        completed = self.read is not None and self.read.outcome.completed
        last = now if completed else self.committed and self.committed.last_success
        return CursorState(DATA_TYPE, cycle, last, False, None, text)


def _json(value: Mapping[str, object]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
