"""``bench alerts`` scores every labelled reason against the simulator's truth."""

from __future__ import annotations

from datetime import date

from streams.bench.alerts import LABELLED, connectors_read_since, scored
from streams.simulator import SimConfig
from streams.simulator.routes import SimState


def test_every_labelled_reason_is_found_in_the_truth_and_scored_on_its_subject() -> None:
    state = SimState.build(SimConfig(users=400, seed=11, start_date=date(2026, 11, 20),
                                     spend_limit_share=0.3))
    for number in range(2):
        state.advance(300, days=1, add=4, remove=12, role_changes=4, promotions=3, seed=number)
    truth = state.truth(usage=False)
    labelled = {
        reason: {item["id"] for item in truth[subjects] if reason in item["risks"]}
        for reason, subjects in LABELLED.items()
    }
    assert all(labelled.values()), {reason: len(ids) for reason, ids in labelled.items()}
    assert {r for item in truth["users"] for r in item["risks"]} <= set(LABELLED)

    perfect = scored(truth, labelled)
    assert all(row["precision"] == row["recall"] == 1.0 for row in perfect.values())

    key = next(iter(labelled["ORPHANED_CREDENTIAL"]))
    member = next(iter(labelled["SSO_BYPASS_LOGIN"]))
    fired = {**labelled, "ORPHANED_CREDENTIAL": set(),
             "SSO_BYPASS_LOGIN": labelled["SSO_BYPASS_LOGIN"] | {key}}
    result = scored(truth, fired)
    assert result["ORPHANED_CREDENTIAL"]["recall"] == 0.0
    assert result["ORPHANED_CREDENTIAL"]["missed"] == sorted(labelled["ORPHANED_CREDENTIAL"])[:5]
    sso = result["SSO_BYPASS_LOGIN"]
    assert sso["unlabelled"] == [key] and sso["open"] == sso["labelled"] + 1
    assert member not in sso.get("missed", [])


def test_connector_labels_span_the_days_the_poller_read() -> None:
    """The baseline reads the 7-day revision window; the first new day re-reads 30 days back
    (a personal credential seen there raises an alert, so it is labelled too)."""
    first_latest = date(2026, 11, 26)
    assert connectors_read_since(first_latest, rounds=0) == date(2026, 11, 20)
    assert connectors_read_since(first_latest, rounds=3) == date(2026, 10, 29)
