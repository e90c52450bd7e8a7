"""diff_roster: the removal rules, the baseline, and what counts as a change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.events.apply import UserFold
from streams.events.records import MemberState, Source, UserImage, UserOp
from streams.poller.diff import RosterDiff, avro_time, diff_roster
from streams.poller.snapshot import PollContext, RosterSnapshot, SnapshotUser

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def ctx(cycle: int) -> PollContext:
    return PollContext("org_1", "acme", f"acme:{cycle}", T0)


def user(n: int, **changes: object) -> SnapshotUser:
    values: dict[str, object] = {"id": f"user_{n}", "email": f"p{n}@example.com",
                                 "name": f"P {n}", "role": "user", "workspaces": {},
                                 "added_at": T0}
    values.update(changes)
    return SnapshotUser(**values)  # type: ignore[arg-type]


def roster(*users: SnapshotUser, complete: bool = True, source: Source = Source.ROSTER,
           deleted: tuple[str, ...] = ()) -> RosterSnapshot:
    return RosterSnapshot.of(users, complete=complete, source=source, deleted=deleted)


def members(*users: SnapshotUser) -> dict[str, UserImage]:
    return diff_roster({}, roster(*users), context=ctx(0), guard_fraction=1.0).members


def ops(diff: RosterDiff) -> list[tuple[UserOp, str]]:
    return [(event.op, event.user_id) for event in diff.events]


def test_baseline_is_all_snapshot_events() -> None:
    diff = diff_roster({}, roster(user(1), user(2)), context=ctx(1), guard_fraction=0.2,
                       baseline=True)
    assert ops(diff) == [(UserOp.SNAPSHOT, "user_1"), (UserOp.SNAPSHOT, "user_2")]
    assert all(event.baseline and event.before is None for event in diff.events)
    assert diff.events[0].after == UserImage("user_1", "p1@example.com", "P 1", "user", {}, T0)
    assert diff.events[0].poll_id == "acme:1" and diff.events[0].source is Source.ROSTER


def test_added_updated_removed() -> None:
    previous = members(user(1), user(2), user(3))
    diff = diff_roster(previous, roster(user(1), user(2, role="admin"), user(4)),
                       context=ctx(2), guard_fraction=1.0)
    assert ops(diff) == [(UserOp.UPDATED, "user_2"), (UserOp.ADDED, "user_4"),
                         (UserOp.REMOVED, "user_3")]
    updated, _, removed = diff.events
    assert updated.changed_fields == ("role",)
    assert updated.before == previous["user_2"] and updated.after.role == "admin"
    assert removed.before == previous["user_3"] and removed.after is None
    assert not any(event.baseline for event in diff.events)
    assert set(diff.members) == {"user_1", "user_2", "user_4"}
    assert diff.touched == {"user_2", "user_3", "user_4"}


def test_no_change_no_event_and_state_untouched() -> None:
    previous = members(user(1), user(2))
    diff = diff_roster(previous, roster(user(2), user(1)), context=ctx(2), guard_fraction=0.2)
    assert diff.events == () and diff.touched == frozenset()
    assert diff.members == previous and diff.members is not previous


def test_incomplete_snapshot_removes_nobody_but_adds_and_updates() -> None:
    previous = members(user(1), user(2), user(3))
    diff = diff_roster(previous, roster(user(1, name="New"), user(9), complete=False),
                       context=ctx(2), guard_fraction=1.0)
    assert ops(diff) == [(UserOp.UPDATED, "user_1"), (UserOp.ADDED, "user_9")]
    assert set(diff.members) == {"user_1", "user_2", "user_3", "user_9"}


def test_explicit_deletion_needs_a_complete_snapshot_too() -> None:
    previous = members(user(1), user(2))
    incomplete = roster(user(1), complete=False, source=Source.ANALYTICS, deleted=("user_2",))
    assert diff_roster(previous, incomplete, context=ctx(2), guard_fraction=1.0).events == ()


def test_analytics_removes_only_on_explicit_signals() -> None:
    previous = members(user(1), user(2), user(3))
    diff = diff_roster(previous, roster(user(1), user(3), source=Source.ANALYTICS,
                                        deleted=("user_3",)),
                       context=ctx(2), guard_fraction=0.0)
    assert ops(diff) == [(UserOp.REMOVED, "user_3")]
    assert diff.events[0].source is Source.ANALYTICS
    assert set(diff.members) == {"user_1", "user_2"}


def test_a_big_drop_is_held_until_a_second_complete_listing_confirms_it() -> None:
    previous = members(*(user(n) for n in range(10)))
    shrunk = roster(*(user(n) for n in range(7)))
    first = diff_roster(previous, shrunk, context=ctx(2), guard_fraction=0.2)
    assert first.events == ()
    assert first.pending_drop == {"user_7", "user_8", "user_9"}
    assert set(first.members) == set(previous)
    assert first.state_changes() == {f"user_{n}": MemberState(previous[f"user_{n}"], True)
                                     for n in (7, 8, 9)}
    incomplete = diff_roster(first.members, roster(user(1), complete=False), context=ctx(3),
                             guard_fraction=0.2, pending_drop=first.pending_drop)
    assert incomplete.events == () and incomplete.pending_drop == first.pending_drop
    second = diff_roster(incomplete.members, shrunk, context=ctx(4), guard_fraction=0.2,
                         pending_drop=incomplete.pending_drop)
    assert ops(second) == [(UserOp.REMOVED, f"user_{n}") for n in (7, 8, 9)]
    assert second.pending_drop == frozenset()
    assert second.state_changes() == {"user_7": None, "user_8": None, "user_9": None}


def test_members_that_come_back_leave_the_pending_drop() -> None:
    previous = members(*(user(n) for n in range(10)))
    first = diff_roster(previous, roster(*(user(n) for n in range(7))), context=ctx(2),
                        guard_fraction=0.2)
    back = diff_roster(first.members, roster(*(user(n) for n in range(9))), context=ctx(3),
                       guard_fraction=0.2, pending_drop=first.pending_drop)
    assert ops(back) == [(UserOp.REMOVED, "user_9")]
    assert back.pending_drop == frozenset()
    assert back.state_changes() == {"user_7": MemberState(previous["user_7"], False),
                                    "user_8": MemberState(previous["user_8"], False),
                                    "user_9": None}


def test_a_drop_at_the_guard_fraction_is_not_held() -> None:
    previous = members(*(user(n) for n in range(10)))
    diff = diff_roster(previous, roster(*(user(n) for n in range(8))), context=ctx(2),
                       guard_fraction=0.2)
    assert len(diff.events) == 2 and diff.pending_drop == frozenset()


def test_email_compares_case_insensitively_and_keeps_the_first_spelling() -> None:
    previous = members(user(1, email="Dana@Example.com"))
    same = diff_roster(previous, roster(user(1, email="dana@example.COM")), context=ctx(2),
                       guard_fraction=0.2)
    assert same.events == ()
    assert same.members["user_1"].email == "Dana@Example.com"
    moved = diff_roster(previous, roster(user(1, email="dana@other.com")), context=ctx(2),
                        guard_fraction=0.2)
    assert moved.events[0].changed_fields == ("email",)


def test_unreported_fields_keep_their_values() -> None:
    previous = members(user(1, workspaces={"w1": "workspace_user"}))
    partial = SnapshotUser("user_1", "p1@example.com")
    assert diff_roster(previous, roster(partial), context=ctx(2), guard_fraction=0.2).events == ()


def test_changed_fields_are_sorted() -> None:
    previous = members(user(1))
    later = datetime(2026, 11, 29, tzinfo=UTC)
    diff = diff_roster(previous, roster(user(1, role="admin", email="x@example.com",
                                             workspaces={"w": "workspace_admin"},
                                             added_at=later, name="Q")),
                       context=ctx(2), guard_fraction=0.2)
    assert diff.events[0].changed_fields == ("added_at", "email", "name", "role", "workspaces")


def test_times_are_cut_to_milliseconds_so_state_survives_avro() -> None:
    precise = datetime(2026, 6, 12, 9, 14, 3, 123456, tzinfo=UTC)
    previous = members(user(1, added_at=precise))
    assert previous["user_1"].added_at == datetime(2026, 6, 12, 9, 14, 3, 123000, tzinfo=UTC)
    assert diff_roster(previous, roster(user(1, added_at=precise)), context=ctx(2),
                       guard_fraction=0.2).events == ()
    assert avro_time(None) is None


def test_deterministic_ids_and_a_rerun_gives_the_same_events() -> None:
    previous = members(user(1), user(2))
    snapshot = roster(user(1, role="admin"), user(3))
    first = diff_roster(previous, snapshot, context=ctx(5), guard_fraction=1.0)
    again = diff_roster(previous, snapshot, context=ctx(5), guard_fraction=1.0)
    assert first.events == again.events
    assert len({event.event_id for event in first.events}) == len(first.events)
    later = diff_roster(previous, snapshot, context=ctx(6), guard_fraction=1.0)
    assert {e.event_id for e in later.events}.isdisjoint(e.event_id for e in first.events)


def test_users_flagged_deleted_are_not_added() -> None:
    diff = diff_roster({}, roster(user(1), user(2), source=Source.ANALYTICS, deleted=("user_2",)),
                       context=ctx(1), guard_fraction=0.2, baseline=True)
    assert ops(diff) == [(UserOp.SNAPSHOT, "user_1")]


def test_the_events_fold_into_the_new_state() -> None:
    previous = members(user(1), user(2), user(3))
    fold = UserFold()
    for n, image in previous.items():
        fold.rosters.setdefault("org_1", {})[n] = image
    diff = diff_roster(previous, roster(user(1, name="R"), user(4)), context=ctx(2),
                       guard_fraction=1.0)
    assert fold.apply_all(diff.events).roster("org_1") == diff.members


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_guard_fraction_must_be_a_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="guard_fraction"):
        diff_roster({}, roster(), context=ctx(1), guard_fraction=fraction)
