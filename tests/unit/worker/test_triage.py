"""Triage decisions and one finding per identity, on plain dicts (no broker)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.errors import TriageError
from streams.events.records import DecisionAction, DirectoryStatus, UserOp
from streams.worker.decisions import Target, decide, decision_partition, parse_until
from streams.worker.identities import identity_order, identity_view
from streams.worker.rules import Policy
from streams.worker.state import DirectoryChange, Tables, WorkerState
from tests.fixtures.worker import ORG, T0, decision, directory_record, image, user_event

POLICY = Policy(corporate_domains=frozenset({"acme.com"}))


def member_with_alerts() -> WorkerState:
    """Pat: unmanaged (MEDIUM) with a personal address (MEDIUM), one identity."""
    state = WorkerState(Tables.empty(), POLICY)
    record = directory_record("someone@acme.com", DirectoryStatus.ACTIVE)
    state.apply_directory(DirectoryChange(ORG, "someone@acme.com", record, "dir", T0), 0)
    state.apply_user_event(user_event(UserOp.ADDED, "user_p", "Pat+x@GMAIL.com"), 0)
    return state


def identity(state: WorkerState, at=T0, status="open"):
    row = state.tables.alerts[f"{ORG}:user_p"]
    return identity_view(row, state.tables.decisions.get, at, status)


def alert_id(state: WorkerState, reason: str) -> str:
    return state.tables.alerts[f"{ORG}:user_p"].open[reason].alert_id


def test_one_identity_carries_every_alert_of_the_member():
    state = member_with_alerts()
    found = identity(state)
    assert found["reasons"] == ["PERSONAL_DOMAIN", "UNMANAGED_IDENTITY"]
    assert found["severity"] == "MEDIUM"
    assert found["email"] == "Pat+x@GMAIL.com"
    assert [a["triage"] for a in found["alerts"]] == ["open", "open"]
    assert found["first_seen"] == found["last_seen"] > T0.isoformat()


def test_ack_stays_in_view_snooze_leaves_it_until_its_time():
    state = member_with_alerts()
    unmanaged = alert_id(state, "UNMANAGED_IDENTITY")
    personal = alert_id(state, "PERSONAL_DOMAIN")
    state.apply_decision(decision(unmanaged, "user_p", DecisionAction.ACK), 0)
    until = T0 + timedelta(days=1)
    state.apply_decision(decision(personal, "user_p", DecisionAction.SNOOZE, until=until), 0)
    found = identity(state)
    assert found["reasons"] == ["UNMANAGED_IDENTITY"]
    assert {a["reason"]: a["triage"] for a in found["alerts"]} == {
        "UNMANAGED_IDENTITY": "acknowledged", "PERSONAL_DOMAIN": "snoozed"}
    later = identity(state, until + timedelta(seconds=1))
    assert later["reasons"] == ["PERSONAL_DOMAIN", "UNMANAGED_IDENTITY"], "the snooze ended"
    snoozed = next(a for a in later["alerts"] if a["reason"] == "PERSONAL_DOMAIN")
    assert snoozed["triage_why"] == f"snooze ended {until.isoformat()}"


def test_accepted_leaves_the_default_view_until_the_evidence_gets_worse():
    state = member_with_alerts()
    reasons = ("PERSONAL_DOMAIN", "UNMANAGED_IDENTITY")
    for reason in reasons:
        state.apply_decision(decision(alert_id(state, reason), "user_p", DecisionAction.ACCEPT,
                                      severity="MEDIUM", reasons=reasons, why="contractor"), 0)
    assert identity(state) is None, "nothing left to look at"
    assert identity(state, status="all")["reasons"] == []
    promoted = user_event(UserOp.UPDATED, "user_p", "Pat+x@GMAIL.com", role="admin",
                          before=image("user_p", "Pat+x@GMAIL.com"), poll=2)
    assert state.apply_user_event(promoted, 0) == [], "same alerts, higher severity"
    found = identity(state)
    assert found["severity"] == "HIGH"
    assert {a["triage_why"] for a in found["alerts"]} == {"severity rose from MEDIUM to HIGH"}
    reopen = decision(alert_id(state, "UNMANAGED_IDENTITY"), "user_p", DecisionAction.REOPEN,
                      at=T0 + timedelta(hours=1), why="look again")
    state.apply_decision(reopen, 0)
    assert {a["triage"] for a in identity(state)["alerts"]} == {"open", "reopened"}


def test_accepted_reopens_on_a_new_reason():
    state = member_with_alerts()
    unmanaged = alert_id(state, "UNMANAGED_IDENTITY")
    state.apply_decision(decision(unmanaged, "user_p", DecisionAction.ACCEPT,
                                  reasons=("UNMANAGED_IDENTITY",), why="known"), 0)
    found = identity(state)
    accepted = next(a for a in found["alerts"] if a["reason"] == "UNMANAGED_IDENTITY")
    assert (accepted["triage"], accepted["triage_why"]) == (
        "reopened", "new reason PERSONAL_DOMAIN")


def test_a_re_raised_alert_starts_untriaged_and_identities_sort_by_severity():
    state = member_with_alerts()
    unmanaged = alert_id(state, "UNMANAGED_IDENTITY")
    state.apply_decision(decision(unmanaged, "user_p", DecisionAction.ACK), 0)
    record = directory_record("pat@gmail.com", DirectoryStatus.ACTIVE)
    state.apply_directory(DirectoryChange(ORG, "pat@gmail.com", record, "d2", T0), 0)
    state.apply_directory(DirectoryChange(ORG, "pat@gmail.com", None, "d3", T0), 0)
    again = alert_id(state, "UNMANAGED_IDENTITY")
    assert again != unmanaged
    found = identity(state, status="all")
    assert {(a["reason"], a["triage"]) for a in found["alerts"]} == {
        ("UNMANAGED_IDENTITY", "open"), ("PERSONAL_DOMAIN", "open"),
        ("UNMANAGED_IDENTITY", "resolved")}
    low = {**found, "severity": "LOW", "last_seen": "9999"}
    assert sorted([low, found], key=identity_order, reverse=True)[0] is found


def test_decisions_go_to_the_partition_of_the_member_key():
    from aiokafka.partitioner import DefaultPartitioner

    from streams.events.keys import user_key

    for user in ("user_a", "user_b", "user_c", "user_d"):
        made = decision("alert-x", user, DecisionAction.ACK)
        expected = DefaultPartitioner()(user_key(ORG, user), list(range(6)), list(range(6)))
        assert decision_partition(made, 6) == expected


def test_until_forms_and_refused_decisions():
    assert parse_until("2d", T0) == T0 + timedelta(days=2)
    assert parse_until("30m", T0) == T0 + timedelta(minutes=30)
    later = parse_until("2026-11-03T08:00", T0)
    assert later.isoformat() == "2026-11-03T08:00:00+00:00", "no zone: UTC"
    for bad in ("tomorrow", "2020-01-01T00:00Z"):
        with pytest.raises(TriageError, match="--until"):
            parse_until(bad, T0)
    target = Target({"alert_id": "a1", "severity": "HIGH", "state": "OPENED", "reason": "X"},
                    {"org_id": ORG, "user_id": "user_p", "alerts": [
                        {"reason": "X", "state": "OPENED"}, {"reason": "Y", "state": "RESOLVED"}]})
    with pytest.raises(TriageError, match="accept needs a reason"):
        decide([target], DecisionAction.ACCEPT, by="ana", why=" ", until=None, now=T0)
    with pytest.raises(TriageError, match="snooze needs --until"):
        decide([target], DecisionAction.SNOOZE, by="ana", why=None, until=None, now=T0)
    (made,) = decide([target], DecisionAction.ACCEPT, by="ana", why="known", until=None, now=T0)
    assert (made.severity, made.reasons, made.until) == ("HIGH", ("X",), None)
