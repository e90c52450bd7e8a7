"""The simulated org's pure parts: determinism, time rules, cursors, limits, fault settings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from streams.simulator import FaultSettings, Org, SimConfig, cursors
from streams.simulator.org import OrderedIndex
from streams.simulator.ratelimit import SlidingWindow

TODAY = date(2026, 11, 20)


def _org(**overrides: object) -> Org:
    settings: dict = {"users": 120, "seed": 5, "start_date": TODAY, **overrides}
    return Org(SimConfig(**settings))


def test_same_seed_same_org_different_seed_different_org() -> None:
    first, again, other = _org(), _org(), _org(seed=6)
    assert first.truth() == again.truth()
    assert [p.id for p in first.people] != [p.id for p in other.people]


def test_roster_ids_emails_and_primary_owner() -> None:
    org = _org()
    ids = [p.id for p in org.people]
    assert len(set(ids)) == len(ids) == 120
    assert all(i.startswith("user_01") and len(i) == len("user_") + 26 for i in ids)
    assert len({p.email for p in org.people}) == 120
    assert [p.role for p in org.people].count("primary_owner") == 1


def test_unmanaged_fraction_and_personal_domains() -> None:
    org = Org(SimConfig(users=2000, seed=1, start_date=TODAY, unmanaged_fraction=0.2))
    unmanaged = [p for p in org.people if not p.managed]
    assert 0.15 < len(unmanaged) / 2000 < 0.25
    personal = [p for p in org.people if p.email.split("@")[1].endswith((".com", ".me"))]
    assert personal and all(not p.managed for p in personal)
    directory = {entry["email"] for entry in org.directory()}
    assert directory == {p.email for p in org.people if p.managed}


def test_publication_times() -> None:
    org = _org()
    assert org.now.isoformat() == "2026-11-20T12:00:00+00:00"
    assert org.latest_analytics_date == date(2026, 11, 19)
    org.advance(hours=21)  # 2026-11-21 09:00: not yet 10:00
    assert org.latest_analytics_date == date(2026, 11, 19)
    org.advance(hours=1)
    assert org.latest_analytics_date == date(2026, 11, 20)
    assert org.watermark.isoformat() == "2026-11-21T06:00:00+00:00"


def test_engagement_is_revised_up_to_final_within_days() -> None:
    org = _org()
    day = date(2026, 11, 19)
    shortfalls = []
    for _ in range(4):
        shortfalls.append(org.engagement_shortfall(day))
        org.advance(days=1)
    assert shortfalls[0] > shortfalls[1] > shortfalls[2] == shortfalls[3] == 0.0


def test_usage_grows_with_the_watermark_and_restatements() -> None:
    org = _org()
    person = next(p for p in org.people if org.tokens(p, TODAY - timedelta(days=1)))
    day = TODAY - timedelta(days=1)
    readings = []
    for _ in range(40):
        readings.append(sum(sum(t[:5]) for t in org.tokens(person, day).values()))
        org.advance(days=1)
    assert readings == sorted(readings)
    assert readings[-1] == readings[-2] > readings[0]


def test_seat_plan_reports_only_usage_beyond_the_allowance() -> None:
    usage, seat = _org(), _org(plan="seat")
    day = TODAY - timedelta(days=3)
    for a, b in zip(usage.people, seat.people, strict=True):
        products = usage.tokens(a, day)
        full = sum(amount for amount, _ in usage.costs(a, products).values())
        reported = sum(amount for amount, _ in seat.costs(b, products).values())
        assert reported == max(0, full - 2000)


def test_advance_is_deterministic_and_records_removals() -> None:
    first, second = _org(), _org()
    one = first.advance(days=1, add=3, remove=4, role_changes=2)
    two = second.advance(days=1, add=3, remove=4, role_changes=2)
    assert [p.id for p in one.removed] == [p.id for p in two.removed]
    assert [p.id for p in one.added] == [p.id for p in two.added]
    assert len(first.roster) == 120 - 4 + 3
    assert all(p.removed_at is not None for p in one.removed)
    removed_managed = {p.email for p in one.removed if p.managed}
    statuses = {
        entry["status"] for entry in first.directory() if entry["email"] in removed_managed
    }
    assert removed_managed and statuses == {"deprovisioned"}


def test_ordered_index_resumes_after_a_departed_cursor() -> None:
    index = OrderedIndex()
    index.rebuild(((n,), f"id{n}") for n in range(10))
    page, more = index.page(3)
    assert page == ["id0", "id1", "id2"] and more
    index.rebuild(((n,), f"id{n}") for n in range(10) if n != 2)
    assert index.page(3, after_id="id2") == (["id3", "id4", "id5"], True)
    assert index.page(3, before_id="id5") == (["id1", "id3", "id4"], True)
    with pytest.raises(KeyError):
        index.page(3, after_id="nobody")


def test_sliding_window_counts_admitted_requests_only() -> None:
    now = [0.0]
    window = SlidingWindow(3, clock=lambda: now[0])
    assert [window.admit().admitted for _ in range(4)] == [True, True, True, False]
    refused = window.admit()
    assert refused.retry_after == 60 and refused.remaining == 0
    now[0] = 60.0
    assert window.admit().admitted


def test_cursors_round_trip_and_refuse_garbage() -> None:
    token = cursors.encode({"q": "abc", "o": 10})
    assert cursors.decode(token) == {"q": "abc", "o": 10}
    for garbage in ("bogus01TruncatedCursor", "%%%", cursors.encode([1])):  # type: ignore[arg-type]
        with pytest.raises(cursors.CursorInvalid):
            cursors.decode(garbage)
    assert cursors.fingerprint([("date", "x"), ("page", "p")]) == cursors.fingerprint(
        [("date", "x")]
    )


@pytest.mark.parametrize(
    "payload",
    [{"error_rate": 2}, {"statuses": [404]}, {"truncate_mode": "sideways"}, {"unknown": 1}],
)
def test_fault_settings_are_validated(payload: dict) -> None:
    with pytest.raises(ValueError):
        FaultSettings.from_json(payload)
