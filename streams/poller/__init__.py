"""The poller: API snapshots → guarded diffs → Avro events and committed state.

This package's pure core (``snapshot``, ``diff``) is plain data in, plain data out; the I/O
shell (collecting snapshots through the client, the transactional publish) builds on it.
"""

from streams.poller.diff import (
    AssociationDiff,
    AssociationKey,
    RosterDiff,
    UsageDiff,
    diff_associations,
    diff_roster,
    diff_usage,
    plan_removals,
)
from streams.poller.snapshot import (
    ObservedAssociation,
    PollContext,
    RosterSnapshot,
    SnapshotUser,
    UsageObservation,
    cents_to_micros,
)

__all__ = [
    "AssociationDiff",
    "AssociationKey",
    "ObservedAssociation",
    "PollContext",
    "RosterDiff",
    "RosterSnapshot",
    "SnapshotUser",
    "UsageDiff",
    "UsageObservation",
    "cents_to_micros",
    "diff_associations",
    "diff_roster",
    "diff_usage",
    "plan_removals",
]
