"""diff_usage and diff_associations: revisions, restatements, first use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from streams.events.records import AppKind, AuthKind, MetricFamily, Source, UsageTotalsState
from streams.poller.diff import UsageDiff, diff_associations, diff_usage
from streams.poller.snapshot import (
    ObservedAssociation,
    PollContext,
    UsageObservation,
    cents_to_micros,
)

CTX = PollContext("org_1", "acme", "acme:3", datetime(2026, 11, 28, tzinfo=UTC))
DAY = date(2026, 11, 27)
KEY = ("user_1", DAY, MetricFamily.TOKENS)


def observe(values: dict[str, int], *, user: str = "user_1", email: str | None = "a@x.com",
            family: MetricFamily = MetricFamily.TOKENS) -> UsageObservation:
    return UsageObservation(user, DAY, family, values, Source.USAGE_REPORT, email)


def step(previous: dict, *observations: UsageObservation) -> tuple[UsageDiff, dict]:
    diff = diff_usage(previous, observations, context=CTX)
    return diff, {**previous, **diff.totals}


def test_first_observation_is_revision_one_with_everything_as_delta() -> None:
    diff, state = step({}, observe({"output": 10, "uncached_input": 5}))
    (event,) = diff.events()
    assert (event.revision, event.delta, event.totals) == (1, {"output": 10, "uncached_input": 5},
                                                           {"output": 10, "uncached_input": 5})
    assert event.source is Source.USAGE_REPORT and event.poll_id == "acme:3"
    assert state[KEY] == UsageTotalsState("user_1", "a@x.com", DAY, MetricFamily.TOKENS, 1,
                                          {"output": 10, "uncached_input": 5})


def test_restatements_up_and_down_are_further_deltas() -> None:
    _, state = step({}, observe({"output": 10, "uncached_input": 5}))
    up, state = step(state, observe({"output": 12, "uncached_input": 5}))
    (raised,) = up.events()
    assert (raised.revision, raised.delta) == (2, {"output": 2})
    down, state = step(state, observe({"output": 7}))
    (lowered,) = down.events()
    assert lowered.delta == {"output": -5, "uncached_input": -5}
    assert lowered.totals == {"output": 7, "uncached_input": 0}
    assert lowered.revision == 3


def test_unchanged_values_emit_nothing() -> None:
    _, state = step({}, observe({"output": 10}))
    diff, after = step(state, observe({"output": 10}))
    assert tuple(diff.events()) == () and diff.totals == {} and after == state
    zero, _ = step({}, observe({"output": 0}))
    assert tuple(zero.events()) == ()


def test_email_is_kept_when_a_later_source_omits_it() -> None:
    _, state = step({}, observe({"output": 1}))
    diff, _ = step(state, observe({"output": 2}, email=None))
    (event,) = diff.events()
    assert event.email == "a@x.com"


def test_series_are_independent_and_ids_deterministic() -> None:
    observations = (observe({"output": 1}), observe({"chat": 3}, family=MetricFamily.MESSAGES),
                    observe({"output": 1}, user="user_2"))
    diff = diff_usage({}, observations, context=CTX)
    assert len(tuple(diff.events())) == 3 and len(diff.totals) == 3
    assert list(diff.events()) == list(diff_usage({}, observations, context=CTX).events())
    assert len({event.event_id for event in diff.events()}) == 3


def test_two_observations_of_one_series_are_refused() -> None:
    with pytest.raises(ValueError, match="two observations"):
        diff_usage({}, [observe({"output": 1}), observe({"output": 2})], context=CTX)


def test_cents_to_micros_is_exact() -> None:
    assert cents_to_micros("8812.500000") == 8_812_500_000
    assert cents_to_micros("0.000001") == 1
    assert cents_to_micros(Decimal("-1.5")) == -1_500_000
    assert cents_to_micros(186) == 186_000_000
    for bad in ("1.0000001", "abc", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            cents_to_micros(bad)


def assoc(name: str, auth: AuthKind, day: int, user: str = "user_1") -> ObservedAssociation:
    return ObservedAssociation(user, AppKind.CONNECTOR, name, auth, date(2026, 11, day),
                               Source.ANALYTICS, email="a@x.com", display_name=name.title())


def test_first_use_per_user_name_and_auth_with_the_earliest_day() -> None:
    diff = diff_associations(set(), [
        assoc("github", AuthKind.ORG_MANAGED, 20), assoc("github", AuthKind.ORG_MANAGED, 18),
        assoc("github", AuthKind.PERSONAL_CREDENTIAL, 21), assoc("github", AuthKind.ORG_MANAGED, 19,
                                                                 user="user_2"),
    ], context=CTX, baseline=True)
    assert [(e.user_id, e.auth, e.first_seen.day) for e in diff.events()] == [
        ("user_1", AuthKind.ORG_MANAGED, 18), ("user_1", AuthKind.PERSONAL_CREDENTIAL, 21),
        ("user_2", AuthKind.ORG_MANAGED, 19)]
    assert all(e.baseline and e.display_name == "Github" for e in diff.events())
    assert set(diff.known) == {(e.user_id, e.kind, e.name, e.auth) for e in diff.events()}
    again = diff_associations(diff.known, [assoc("github", AuthKind.ORG_MANAGED, 25)], context=CTX)
    assert tuple(again.events()) == () and again.known == {}
