"""Property-based checks of the pure diff against the folds the worker and replay use.

- Complete snapshots: folding every emitted event into an empty table reproduces the last
  snapshot (e-mail case aside: the first spelling is kept) and equals the poller's own state.
- With the drop guard on, one more identical complete listing confirms any held drop.
- Incomplete snapshots remove nobody; REMOVED never names a member the snapshot shows.
- Event ids are unique over a history; replaying events (twice, or with duplicates) is idempotent.
- Usage: per series and metric, the deltas sum to the latest observed value.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events.apply import UsageFold, UserFold, apply_user_event
from streams.events.codec import decode, encode
from streams.events.records import MetricFamily, Source, UserEvent, UserImage, UserOp
from streams.poller.diff import diff_roster, diff_usage
from streams.poller.snapshot import PollContext, RosterSnapshot, SnapshotUser, UsageObservation

ORG = "org_p"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
IDS = [f"user_{n}" for n in range(10)]

PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


NAMES, ROLES, WORKSPACES = ("Ann", "Bo", "Cy"), ("user", "admin", "developer"), ("w1", "w2", "w3")
WORKSPACE_ROLES = ("workspace_user", "workspace_admin")

# Per member: (e-mail variant, upper-case?, name, role, workspace -> role, added_at day).
attributes = st.tuples(st.integers(0, 2), st.booleans(), st.integers(0, 2), st.integers(0, 2),
                       st.dictionaries(st.integers(0, 2), st.integers(0, 1), max_size=2),
                       st.integers(0, 2))


def _users(drawn: dict[str, tuple]) -> dict[str, SnapshotUser]:
    users = {}
    for user_id, (variant, upper, name, role, workspaces, day) in drawn.items():
        local = f"{user_id}.{variant}"
        users[user_id] = SnapshotUser(
            id=user_id,
            email=f"{local.upper() if upper else local}@example.com",
            name=NAMES[name],
            role=ROLES[role],
            workspaces={WORKSPACES[w]: WORKSPACE_ROLES[r] for w, r in workspaces.items()},
            added_at=T0 + timedelta(days=day),
        )
    return users


def snapshot_users() -> st.SearchStrategy[dict[str, SnapshotUser]]:
    """A listing: some of IDS, each with attributes from small pools (so changes recur)."""
    return st.dictionaries(st.sampled_from(IDS), attributes, max_size=len(IDS)).map(_users)


snapshots = st.lists(st.tuples(snapshot_users(), st.booleans()), min_size=1, max_size=6)


def run(history: list[tuple[dict[str, SnapshotUser], bool]], guard: float) -> tuple[
        list[UserEvent], dict[str, UserImage], frozenset[str], list[list[UserEvent]]]:
    """Diff a history of (users, complete) listings; baseline until the first complete one."""
    state: dict[str, UserImage] = {}
    pending: frozenset[str] = frozenset()
    baseline = True
    per_step: list[list[UserEvent]] = []
    for cycle, (users, complete) in enumerate(history, start=1):
        context = PollContext(ORG, "acme", f"acme:{cycle}", T0 + timedelta(minutes=cycle))
        diff = diff_roster(state, RosterSnapshot(users, complete), context=context,
                           guard_fraction=guard, pending_drop=pending, baseline=baseline)
        state, pending = diff.members, diff.pending_drop
        baseline = baseline and not complete
        per_step.append(list(diff.events))
    return [e for step in per_step for e in step], state, pending, per_step


def normalised(images: dict[str, UserImage] | dict[str, SnapshotUser]) -> dict[str, tuple]:
    return {uid: (u.email.casefold(), u.name, u.role, dict(u.workspaces or {}), u.added_at)
            for uid, u in images.items()}


@PROPERTY_SETTINGS
@given(st.lists(snapshot_users(), min_size=1, max_size=6))
def test_events_rebuild_the_last_complete_snapshot(listings: list[dict[str, SnapshotUser]]) -> None:
    events, state, pending, _ = run([(users, True) for users in listings], guard=1.0)
    rebuilt = UserFold().apply_all(events).roster(ORG)
    assert rebuilt == state
    assert normalised(rebuilt) == normalised(listings[-1])
    assert pending == frozenset()


@PROPERTY_SETTINGS
@given(st.lists(snapshot_users(), min_size=1, max_size=6), st.floats(0, 1))
def test_a_held_drop_is_confirmed_by_one_more_identical_listing(
        listings: list[dict[str, SnapshotUser]], guard: float) -> None:
    history = [(users, True) for users in [*listings, listings[-1]]]
    events, _, pending, _ = run(history, guard=guard)
    assert normalised(UserFold().apply_all(events).roster(ORG)) == normalised(listings[-1])
    assert pending == frozenset()


@PROPERTY_SETTINGS
@given(snapshots, st.floats(0, 1))
def test_incomplete_listings_remove_nobody(history: list[tuple[dict, bool]], guard: float) -> None:
    _, _, _, per_step = run(history, guard=guard)
    members: set[str] = set()
    for (users, complete), events in zip(history, per_step, strict=True):
        removed = {e.user_id for e in events if e.op is UserOp.REMOVED}
        assert removed.isdisjoint(users)
        if not complete:
            assert removed == set()
        members = (members | set(users)) - removed
        assert all(e.op is not UserOp.SNAPSHOT or e.baseline for e in events)
    assert members == set(UserFold().apply_all(e for step in per_step for e in step).roster(ORG))


@PROPERTY_SETTINGS
@given(snapshots, st.floats(0, 1))
def test_ids_are_unique_and_replay_is_idempotent(history: list[tuple[dict, bool]],
                                                 guard: float) -> None:
    events, state, _, _ = run(history, guard=guard)
    assert len({e.event_id for e in events}) == len(events)
    assert UserFold().apply_all([*events, *events]).roster(ORG) == state
    assert UserFold().apply_all(e for e in events for _ in range(2)).roster(ORG) == state
    replayed: dict[str, UserImage] = {}
    for event in [*events, *events]:  # at-least-once redelivery without dedupe
        apply_user_event(replayed, event)
    assert replayed == state


@settings(max_examples=40, deadline=None)
@given(snapshots)
def test_events_survive_the_codec(history: list[tuple[dict, bool]]) -> None:
    events, _, _, _ = run(history, guard=0.5)
    assert [decode(encode(event)) for event in events] == events


KEYS = [(user, date(2026, 11, day), family)
        for user in ("user_1", "user_2") for day in (26, 27)
        for family in (MetricFamily.TOKENS, MetricFamily.COST)]
values = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 10**12), max_size=3)
batches = st.lists(st.dictionaries(st.sampled_from(range(len(KEYS))), values, max_size=len(KEYS)),
                   min_size=1, max_size=8)


@PROPERTY_SETTINGS
@given(batches)
def test_usage_deltas_sum_to_the_latest_values(history: list[dict[int, dict[str, int]]]) -> None:
    state: dict = {}
    emitted = []
    latest: dict[int, dict[str, int]] = {}
    for cycle, batch in enumerate(history, start=1):
        context = PollContext(ORG, "acme", f"acme:{cycle}", T0)
        observations = [UsageObservation(*KEYS[index], values, Source.COST_REPORT)
                        for index, values in batch.items()]
        diff = diff_usage(state, observations, context=context)
        state = {**state, **diff.totals}
        emitted.extend(diff.events())
        latest.update(batch)
    sums: dict = defaultdict(int)
    revisions: dict = defaultdict(list)
    for delta in emitted:
        key = (delta.user_id, delta.day, delta.family)
        revisions[key].append(delta.revision)
        for metric, change in delta.delta.items():
            sums[key, metric] += change
    for index, values_seen in latest.items():
        key = KEYS[index]
        for metric in "abc":
            assert sums[key, metric] == values_seen.get(metric, 0)
        if key in state:
            assert {m: v for m, v in state[key].totals.items() if v} == {
                m: v for m, v in values_seen.items() if v}
    assert all(r == list(range(1, len(r) + 1)) for r in revisions.values())
    fold = UsageFold().apply_all([*emitted, *reversed(emitted)])
    assert fold.table(ORG) == state
