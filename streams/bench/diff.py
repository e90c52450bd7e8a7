"""``claude-connector bench diff --users 100000 --json``: roster diff of two big snapshots.

Builds a roster of ``users`` members and a second complete listing with ``churn`` of them
changed (a third removed, a third added, a third updated), then times ``diff_roster`` on it
against a bare dict/set comparison of the same data (set differences of the ids plus a tuple
comparison per common id). Also times the baseline diff (every member a SNAPSHOT event), and
measures the diff's peak Python allocation (tracemalloc, in a separate run so it does not slow
the timed ones), the memory the 100 000-member roster state holds, and the process's peak RSS
before tracing starts (it also counts both listings, the baseline's events and the bare rows).
"""

from __future__ import annotations

import gc
import resource
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from streams.bench import benchmark
from streams.events.records import UserImage
from streams.poller.diff import diff_roster
from streams.poller.snapshot import PollContext, RosterSnapshot, SnapshotUser

ROLES = ("user", "developer", "billing", "admin", "claude_code_user")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _user(index: int, *, role_shift: int = 0) -> SnapshotUser:
    return SnapshotUser(
        id=f"user_{index:08d}",
        email=f"person{index}@example.com",
        name=f"Person {index}",
        role=ROLES[(index + role_shift) % len(ROLES)],
        workspaces={f"wrkspc_{index % 7}": "workspace_user"},
        added_at=EPOCH + timedelta(minutes=index),
    )


def _listings(users: int, churn: float) -> tuple[list[SnapshotUser], list[SnapshotUser]]:
    first = [_user(i) for i in range(users)]
    changes = max(3, int(users * churn))
    removed = set(range(0, changes, 3))
    updated = set(range(1, changes, 3))
    second = [  # fresh objects, as a new API response would give
        _user(i, role_shift=1 if i in updated else 0) for i in range(users) if i not in removed
    ]
    second.extend(_user(users + i) for i in range(len(removed)))
    return first, second


def _best(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def _fields(user: SnapshotUser | UserImage) -> tuple[Any, ...]:
    return (user.email.casefold(), user.name, user.role, user.workspaces, user.added_at)


def _traced(action: Callable[[], Any]) -> tuple[int, int]:
    """(peak bytes allocated while ``action`` ran, bytes still held by its result)."""
    gc.collect()
    tracemalloc.start()
    result = action()
    _, peak = tracemalloc.get_traced_memory()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    del result
    tracemalloc.stop()
    return peak, held


@benchmark("diff")
def run(users: int = 100_000, churn: float = 0.01, runs: int = 3) -> dict[str, Any]:
    """Diff two ``users``-member complete listings with ``churn`` changed."""
    first, second = _listings(users, churn)
    context = PollContext("org_bench", "bench", "bench:1", EPOCH)
    baseline_seconds, base = _best(1, lambda: diff_roster(
        {}, RosterSnapshot.of(first, complete=True), context=context, guard_fraction=0.2,
        baseline=True,
    ))
    previous = base.members
    snapshot = RosterSnapshot.of(second, complete=True)
    next_context = PollContext("org_bench", "bench", "bench:2", EPOCH + timedelta(minutes=5))

    def ours() -> Any:
        return diff_roster(previous, snapshot, context=next_context, guard_fraction=0.2)

    old_rows = {user_id: _fields(image) for user_id, image in previous.items()}
    new_rows = {user.id: _fields(user) for user in second}

    def bare() -> tuple[set[str], set[str], list[str]]:
        added = new_rows.keys() - old_rows.keys()
        removed = old_rows.keys() - new_rows.keys()
        common = new_rows.keys() & old_rows.keys()
        changed = [uid for uid in common if new_rows[uid] != old_rows[uid]]
        return added, removed, changed

    diff_seconds, diff = _best(runs, ours)
    bare_seconds, (added, removed, changed) = _best(runs, bare)
    counted = {op: sum(1 for event in diff.events if event.op == op)
               for op in ("ADDED", "REMOVED", "UPDATED")}
    if counted != {"ADDED": len(added), "REMOVED": len(removed), "UPDATED": len(changed)}:
        raise AssertionError(f"diff disagrees with the bare comparison: {counted}")

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before tracing
    peak, _ = _traced(ours)
    baseline_peak, state_bytes = _traced(lambda: diff_roster(
        {}, RosterSnapshot.of(first, complete=True), context=context, guard_fraction=0.2,
        baseline=True,
    ).members)
    return {
        "users": users,
        "churn": churn,
        "events": len(diff.events),
        "events_by_op": counted,
        "diff_seconds": round(diff_seconds, 4),
        "baseline_snapshot_seconds": round(baseline_seconds, 4),
        "baseline_snapshot_events": len(base.events),
        "bare_seconds": round(bare_seconds, 4),
        "diff_peak_alloc_mb": round(peak / 2**20, 1),
        "baseline_snapshot_peak_alloc_mb": round(baseline_peak / 2**20, 1),
        "roster_state_mb": round(state_bytes / 2**20, 1),
        "process_peak_rss_mb": round(peak_rss_mb, 1),
        "baseline": "bare dict/set comparison of the same rows (id set differences, tuple compare)",
        "ratio": round(diff_seconds / bare_seconds, 2),
        "ratio_meaning": "diff_seconds / bare_seconds (lower is better)",
        "target_diff_seconds": 1.0,
        "meets_target": diff_seconds < 1.0,
    }
