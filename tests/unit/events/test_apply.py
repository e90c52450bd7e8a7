"""Folding user events and usage deltas into tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.events.apply import UsageFold, UserFold, apply_user_event
from streams.events.records import UsageDelta, UserEvent, UserOp
from tests.unit.events.samples import BARE, DANA, DANA_ADMIN, ORG, SAMPLES

SNAPSHOT, ADDED, UPDATED, REMOVED = (r for r in SAMPLES[:4] if isinstance(r, UserEvent))
USAGE = next(r for r in SAMPLES if isinstance(r, UsageDelta))


def test_user_fold_follows_the_ops() -> None:
    fold = UserFold()
    assert fold.apply(SNAPSHOT) and fold.apply(ADDED)
    assert fold.roster(ORG) == {DANA.id: DANA, BARE.id: BARE}
    fold.apply(UPDATED)
    assert fold.roster(ORG)[DANA.id] == DANA_ADMIN
    fold.apply(REMOVED)
    assert fold.roster(ORG) == {BARE.id: BARE}
    assert fold.roster("other-org") == {}


def test_user_fold_drops_duplicates_by_event_id() -> None:
    fold = UserFold().apply_all([SNAPSHOT, REMOVED])
    assert not fold.apply(SNAPSHOT)
    assert fold.roster(ORG) == {}


def test_orgs_are_kept_apart() -> None:
    other = replace(SNAPSHOT, org_id="org_other", event_id="evt-other")
    fold = UserFold().apply_all([SNAPSHOT, other, REMOVED])
    assert fold.roster(ORG) == {}
    assert fold.roster("org_other") == {DANA.id: DANA}


def test_an_event_without_after_image_is_refused() -> None:
    with pytest.raises(ValueError, match="no 'after'"):
        apply_user_event({}, replace(ADDED, after=None))
    members = {DANA.id: DANA}
    apply_user_event(members, replace(REMOVED, op=UserOp.REMOVED))
    assert members == {}


def test_usage_fold_keeps_the_highest_revision() -> None:
    fold = UsageFold()
    newer = replace(USAGE, revision=USAGE.revision + 1, totals={"amount": 1})
    assert fold.apply(newer)
    assert not fold.apply(USAGE)
    assert not fold.apply(newer)
    (entry,) = fold.table(ORG).values()
    assert (entry.revision, entry.totals) == (newer.revision, {"amount": 1})
    assert fold.table("other") == {}
