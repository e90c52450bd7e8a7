"""The shadow-IT rules as pure functions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from streams.events.records import AlertReason, AlertState, DirectoryStatus, Severity
from streams.worker.rows import OpenAlert
from streams.worker.rules import (
    MICRO_CENTS_PER_USD,
    Cause,
    DirectoryEntry,
    Policy,
    Subject,
    canonical_email,
    email_domain,
    evaluate,
    normalize_email,
    reconcile,
    spend_spike,
)

ACME = Policy(corporate_domains=frozenset({"acme.com"}), spend_daily_usd=100, spend_factor=5)
DAY = date(2026, 11, 10)
CAUSE = Cause("cause-1", datetime(2026, 11, 10, tzinfo=UTC))


def subject(email: str = "a@acme.com", **changes) -> Subject:
    values = {"email": email, "member": True, "baseline": False, "directory_known": True,
              "directory": DirectoryEntry(normalize_email(email), DirectoryStatus.ACTIVE)}
    values.update(changes)
    return Subject(**values)


@pytest.mark.parametrize(
    ("raw", "normal", "canonical"),
    [
        ("  Alice@ACME.com ", "alice@acme.com", "alice@acme.com"),
        ("alice+claude@acme.com", "alice+claude@acme.com", "alice@acme.com"),
        ("Alice+A+B@Acme.COM", "alice+a+b@acme.com", "alice@acme.com"),
        ("+only@acme.com", "+only@acme.com", "+only@acme.com"),
        ("no-at-sign", "no-at-sign", "no-at-sign"),
    ],
)
def test_email_normalisation(raw, normal, canonical):
    assert normalize_email(raw) == normal
    assert canonical_email(raw) == canonical


def test_email_domain():
    assert email_domain(" Bob@Mail.Example.org ") == "mail.example.org"
    assert email_domain("broken") == ""
    assert email_domain("@nolocal.com") == ""


def test_a_managed_corporate_member_raises_nothing():
    assert evaluate(subject(), ACME) == {}


def test_non_members_raise_nothing():
    assert evaluate(subject("x@gmail.com", member=False, directory=None), ACME) == {}


def test_unmanaged_needs_a_known_directory():
    assert AlertReason.UNMANAGED_IDENTITY in evaluate(subject(directory=None), ACME)
    assert evaluate(subject(directory=None, directory_known=False), ACME) == {}


@pytest.mark.parametrize(
    ("email", "policy", "severity"),
    [
        ("a@gmail.com", ACME, Severity.MEDIUM),
        ("a@contractor.io", ACME, Severity.LOW),
        ("a@eu.acme.com", ACME, None),
        ("a@notacme.com", ACME, Severity.LOW),
        ("a@gmail.com", Policy(), Severity.MEDIUM),
        ("a@contractor.io", Policy(), None),
    ],
)
def test_personal_domain(email, policy, severity):
    finding = evaluate(subject(email), policy).get(AlertReason.PERSONAL_DOMAIN)
    assert (finding.severity if finding else None) == severity


def test_deprovisioned_member_is_high_and_critical_with_later_usage():
    entry = DirectoryEntry("a@acme.com", DirectoryStatus.DEPROVISIONED, "e1", DAY)
    high = evaluate(subject(directory=entry, last_active_day=DAY - timedelta(days=1)), ACME)
    assert high[AlertReason.DEPROVISIONED_ACTIVE].severity is Severity.HIGH
    critical = evaluate(subject(directory=entry, last_active_day=DAY), ACME)
    finding = critical[AlertReason.DEPROVISIONED_ACTIVE]
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence == {"directory_status": "DEPROVISIONED", "employee_id": "e1",
                                "last_usage_day": DAY.isoformat()}


def test_personal_credential_connector_only_where_it_bypasses_managed_auth():
    personal = {"github": True, "notion": False}
    assert evaluate(subject(personal_connectors=personal), ACME) == {}, "an association fact"
    managed_in_data = subject(personal_connectors=personal,
                              org_managed_connectors=frozenset({"github", "notion"}))
    finding = evaluate(managed_in_data, ACME)[AlertReason.PERSONAL_CREDENTIAL_CONNECTOR]
    assert finding.evidence == {"connectors": "github,notion", "org_auth": "managed"}
    assert (finding.baseline, finding.severity) == (False, Severity.MEDIUM)
    configured = replace(ACME, managed_connectors=frozenset({"github"}))
    only_github = evaluate(subject(personal_connectors=personal), configured)[
        AlertReason.PERSONAL_CREDENTIAL_CONNECTOR
    ]
    assert only_github.evidence["connectors"] == "github"
    assert only_github.baseline is True, "the bypassing connector predates the connection"
    assert only_github.severity is Severity.LOW, "baseline ranks one below a new one"


@pytest.mark.parametrize(
    ("changes", "severity", "why"),
    [
        ({}, Severity.MEDIUM, {}),
        ({"baseline": True}, Severity.LOW, {}),
        ({"role": "owner"}, Severity.HIGH, {"role": "owner"}),
        ({"role": "membership_admin", "baseline": True}, Severity.MEDIUM,
         {"role": "membership_admin"}),
        ({"role": "user", "daily_spend": {DAY: 30 * MICRO_CENTS_PER_USD,
                                          DAY - timedelta(days=1): 25 * MICRO_CENTS_PER_USD}},
         Severity.HIGH, {"recent_spend_usd": "55.00"}),
        ({"daily_spend": {DAY: 49 * MICRO_CENTS_PER_USD}}, Severity.MEDIUM, {}),
    ],
)
def test_unmanaged_identity_severity_follows_role_spend_and_baseline(changes, severity, why):
    finding = evaluate(subject(directory=None, **changes), ACME)[AlertReason.UNMANAGED_IDENTITY]
    assert finding.severity is severity
    assert {k: v for k, v in finding.evidence.items() if k in ("role", "recent_spend_usd")} == why


def test_deprovisioned_active_stays_critical_in_the_baseline_and_rules_turn_off():
    entry = DirectoryEntry("a@acme.com", DirectoryStatus.DEPROVISIONED, "e1", DAY)
    found = evaluate(subject(directory=entry, last_active_day=DAY, baseline=True), ACME)
    assert found[AlertReason.DEPROVISIONED_ACTIVE].severity is Severity.CRITICAL
    off = replace(ACME, disabled=frozenset({AlertReason.DEPROVISIONED_ACTIVE}))
    assert evaluate(subject(directory=entry, last_active_day=DAY), off) == {}
    assert AlertReason.UNMANAGED_IDENTITY not in evaluate(
        subject(directory=None), replace(ACME, disabled=frozenset({AlertReason.UNMANAGED_IDENTITY}))
    )


def test_spend_spike_far_above_the_threshold_is_high():
    assert spend_spike({DAY: usd(150)}, ACME).severity is Severity.MEDIUM
    assert spend_spike({DAY: usd(201)}, ACME).severity is Severity.HIGH


def usd(amount: float) -> int:
    return int(amount * MICRO_CENTS_PER_USD)


def test_spend_spike_absolute_and_relative():
    assert spend_spike({DAY: usd(99)}, ACME) is None
    assert spend_spike({DAY: usd(101)}, ACME).evidence["threshold_usd"] == "100.00"
    history = {DAY - timedelta(days=n): usd(5) for n in range(1, 5)}
    assert spend_spike({**history, DAY: usd(20)}, ACME) is None
    relative = spend_spike({**history, DAY: usd(30)}, ACME)
    assert relative.evidence["trailing_mean_usd"] == "5.00"
    too_little_history = {DAY - timedelta(days=1): usd(1), DAY: usd(50)}
    assert spend_spike(too_little_history, ACME) is None
    assert spend_spike({DAY: usd(1000)}, Policy()) is None


def test_spend_spike_leaves_the_window():
    spike = {DAY: usd(500)}
    later = {DAY + timedelta(days=n): usd(1) for n in range(1, 8)}
    assert spend_spike({**spike, **later}, ACME) is None
    assert spend_spike({**spike, **dict(list(later.items())[:6])}, ACME) is not None


def test_reconcile_opens_once_and_resolves_with_the_same_alert_id():
    findings = evaluate(subject("a@gmail.com", directory=None), ACME)
    opened = reconcile({}, findings, org_id="o", user_id="u", email="a@gmail.com", cause=CAUSE)
    assert sorted(e.reason for e in opened) == [AlertReason.PERSONAL_DOMAIN,
                                                AlertReason.UNMANAGED_IDENTITY]
    assert {e.state for e in opened} == {AlertState.OPENED}
    again = reconcile({}, findings, org_id="o", user_id="u", email="a@gmail.com", cause=CAUSE)
    assert [e.event_id for e in again] == [e.event_id for e in opened], "ids are deterministic"
    stored = {
        e.reason.value: OpenAlert(alert_id=e.alert_id, event_id=e.event_id,
                                  severity=e.severity.value, evidence=dict(e.evidence),
                                  baseline=e.baseline, opened_at=e.opened_at.isoformat(),
                                  cause_event_id=e.cause_event_id)
        for e in opened
    }
    assert reconcile(stored, findings, org_id="o", user_id="u", email=None, cause=CAUSE) == []
    later = Cause("cause-2", CAUSE.observed_at + timedelta(hours=1))
    resolved = reconcile(stored, {}, org_id="o", user_id="u", email=None, cause=later)
    assert {(e.state, e.alert_id) for e in resolved} == {
        (AlertState.RESOLVED, e.alert_id) for e in opened
    }
    assert all(e.opened_at == CAUSE.observed_at for e in resolved)
