"""The feed's fast path, its reconciliation with the roster, and the feed position (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.client.activities import Activity as FeedRow
from streams.events.records import CursorState, Source, UserEvent, UserImage, UserOp
from streams.poller.activities import DATA_TYPE as FEED_CURSOR
from streams.poller.activities import OVERLAP, FeedPosition, FeedRead, FeedStep, select_new
from streams.poller.fastpath import Reconciliation, apply_feed, reconcile
from streams.poller.snapshot import PollContext, RosterSnapshot, SnapshotUser
from streams.poller.status import Outcome

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
CONTEXT = PollContext("org", "acme", "acme:5", T0 + timedelta(minutes=2))
ADMIN = {"type": "user_actor", "user_id": "user_admin", "email_address": "a@x.example"}
ANA = UserImage(id="user_ana", email="ana@x.example", name="Ana", role="user")


def row(n: int, kind: str, at: datetime = T0, actor: dict | None = None, **fields) -> FeedRow:
    return FeedRow.from_api(
        {
            "id": f"activity_{n:03d}",
            "created_at": at.isoformat(),
            "type": kind,
            "organization_id": "org_1",
            "organization_uuid": "org",
            "actor": actor or ADMIN,
            **fields,
        }
    )


def role(n: int, user: str, before: str | None, after: str | None, at: datetime = T0) -> FeedRow:
    email = f"{user.removeprefix('user_')}@x.example"
    return row(
        n,
        "claude_user_role_updated",
        at,
        user_id=user,
        user_email=email,
        previous_role=before,
        current_role=after,
    )


def test_membership_activities_become_user_events_with_their_actor() -> None:
    scim = {
        "type": "scim_directory_sync_actor",
        "directory_id": "directory_1",
        "workos_event_id": "e1",
        "idp_connection_type": "OktaSCIMV2",
    }
    rows = [
        role(1, "user_bo", None, "user"),
        role(2, "user_ana", "user", "managed"),
        row(3, "scim_user_deleted", actor=scim, user_id="user_cy"),
        role(4, "user_cy", "user", None, at=T0 + timedelta(seconds=1)),
        row(5, "sso_login_succeeded", actor={**ADMIN, "user_id": "user_bo"}),
    ]
    cy = UserImage(id="user_cy", email="cy@x.example", role="user")
    result = apply_feed(
        {"user_ana": ANA, "user_cy": cy}, rows, {}, context=CONTEXT, membership_from=T0
    )
    ops = [(e.op, e.user_id, e.actor.type if e.actor else None) for e in result.events]
    assert ops == [
        (UserOp.ADDED, "user_bo", "user_actor"),
        (UserOp.UPDATED, "user_ana", "user_actor"),
        (UserOp.REMOVED, "user_cy", "scim_directory_sync_actor"),
    ], "the later role update of a removed member is not a second removal"
    assert all(e.source is Source.ACTIVITY_FEED and not e.baseline for e in result.events)
    assert result.events[1].changed_fields == ("role",)
    assert result.events[2].actor.id == "directory_1"
    assert set(result.members) == {"user_ana", "user_bo"}
    assert result.members["user_ana"].role == "managed"
    assert result.pending == {
        "user_bo": UserOp.ADDED,
        "user_ana": UserOp.UPDATED,
        "user_cy": UserOp.REMOVED,
    }


def test_history_before_the_baseline_and_known_states_emit_nothing() -> None:
    rows = [
        role(1, "user_old", None, "user", at=T0 - timedelta(minutes=1)),
        role(2, "user_ana", None, "user"),  # already a member: no second ADDED
        row(3, "org_user_deleted", deleted_user_id="user_gone"),  # not a member
        row(4, "org_user_left", actor={**ADMIN, "user_id": "user_ana"}),
    ]
    result = apply_feed({"user_ana": ANA}, rows, {}, context=CONTEXT, membership_from=T0)
    assert [(e.op, e.user_id) for e in result.events] == [(UserOp.REMOVED, "user_ana")]


def test_the_roster_confirms_or_contradicts_and_wins() -> None:
    members = {
        "user_bo": UserImage(id="user_bo", email="bo@x.example", role="user"),
        "user_ana": ANA,
    }
    pending = {
        "user_bo": UserOp.ADDED,
        "user_ana": UserOp.UPDATED,
        "user_cy": UserOp.REMOVED,
        "user_dee": UserOp.ADDED,
    }
    members["user_dee"] = UserImage(id="user_dee", email="dee@x.example", role="user")
    roster = RosterSnapshot.of(
        [
            SnapshotUser("user_bo", "bo@x.example", name="Bo", role="user"),
            SnapshotUser("user_ana", "ana@x.example", name="Ana", role="admin"),
            SnapshotUser("user_cy", "cy@x.example", name="Cy", role="user"),
        ],
        complete=True,
    )
    counters = Reconciliation()
    adjusted, still = reconcile(members, pending, roster, counters)
    assert counters.as_dict() == {"confirmed": 1, "contradicted": 3, "snapshot_only": 0}
    assert adjusted["user_bo"].name == "Bo", "a confirmed member takes the roster's image"
    assert adjusted["user_ana"] == ANA, "a contradicted one keeps the feed's: the diff corrects"
    assert still == {}

    incomplete = RosterSnapshot.of([], complete=False)
    unchanged, kept = reconcile(members, pending, incomplete, Reconciliation())
    assert unchanged == members and kept == pending


def test_overlap_reread_drops_what_was_published_and_forgets_old_ids() -> None:
    start = FeedPosition(since=T0)
    first = [row(1, "x", T0), row(2, "x", T0 + timedelta(seconds=30))]
    new, position = select_new(first, start)
    assert [r.id for r in new] == ["activity_001", "activity_002"]
    late = row(3, "x", T0 + timedelta(seconds=10))
    later = row(4, "x", T0 + OVERLAP * 3)
    new, position = select_new([*first, late, later], position)
    assert [r.id for r in new] == ["activity_003", "activity_004"]
    assert position.since == later.created_at
    assert set(position.seen) == {"activity_004"}, "ids older than the overlap are forgotten"

    restored = FeedPosition.from_cursor(
        type("Cursor", (), {"watermark": position.to_text()})()  # type: ignore[arg-type]
    )
    assert restored == position


def _roster_event(op: UserOp, user: str) -> UserEvent:
    image = UserImage(id=user, email=f"{user}@x.example", role="user")
    return UserEvent(
        event_id=f"event_{user}",
        op=op,
        org_id="org",
        user_id=user,
        before=None if op is UserOp.ADDED else image,
        after=None if op is UserOp.REMOVED else image,
        changed_fields=(),
        baseline=op is UserOp.SNAPSHOT,
        source=Source.ROSTER,
        connector="acme",
        poll_id="acme:5",
        observed_at=CONTEXT.observed_at,
    )


def _feed_step(membership_from: datetime | None, *new: FeedRow) -> FeedStep:
    """A step whose committed counters are 2 confirmed, 1 contradicted, and whose read (this
    cycle) found ``new``."""
    position = FeedPosition(
        since=T0,
        membership_from=membership_from,
        reconciliation={"confirmed": 2, "contradicted": 1, "snapshot_only": 0},
    )
    committed = CursorState(FEED_CURSOR, 4, T0, False, None, position.to_text())
    step = FeedStep(committed)
    step.read = FeedRead(new, position, Outcome(FEED_CURSOR, None))
    return step


def test_roster_changes_the_feed_missed_or_saw_in_the_same_cycle_are_counted() -> None:
    step = _feed_step(T0, role(1, "user_bo", None, "user"), row(2, "sso_login_succeeded"))
    step.judged = {"user_cy"}
    step.count_snapshot_only(
        [
            _roster_event(UserOp.SNAPSHOT, "user_ed"),
            _roster_event(UserOp.ADDED, "user_bo"),  # the feed read it this cycle too
            _roster_event(UserOp.REMOVED, "user_dee"),  # the feed never said so
            _roster_event(UserOp.REMOVED, "user_cy"),  # judged by the roster already
        ]
    )
    counters, moved = step.reconciliation()
    assert counters == {"confirmed": 3, "contradicted": 1, "snapshot_only": 1}
    assert moved


def test_roster_changes_count_only_once_the_feed_is_the_fast_path() -> None:
    step = _feed_step(None, role(1, "user_bo", None, "user"))
    step.count_snapshot_only([_roster_event(UserOp.REMOVED, "user_dee")])
    assert step.reconciliation() == ({"confirmed": 2, "contradicted": 1, "snapshot_only": 0}, False)
