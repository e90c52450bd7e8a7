"""The insight figures: spend, activity by surface, idle seats, alerts; merging two workers'."""

from __future__ import annotations

from datetime import date

from streams.insights import (
    AlertMark,
    DayUsage,
    MemberFacts,
    Window,
    compute,
)

USD = 100_000_000
WINDOW = Window(last=date(2026, 11, 30), days=3, idle_days=10)


def member(user_id: str, days: dict[str, DayUsage], *, last_active: str | None = None,
           since: str = "2026-01-01", member: bool = True,
           surfaces: dict[str, str] | None = None) -> MemberFacts:
    return MemberFacts(
        org_id="org", user_id=user_id, email=f"{user_id}@acme.com", name=None, role="user",
        member=member, member_since=since, last_active_day=last_active, days=days,
        surfaces=surfaces or {},
    )


ALICE = member(
    "alice",
    {"2026-11-29": DayUsage(250 * USD, 1000, True), "2026-11-30": DayUsage(0, 0, True)},
    last_active="2026-11-30",
    surfaces={"chat": "2026-11-01", "claude_code": "2026-11-30"},
)
BOB = member("bob", {}, last_active="2026-11-01")
CAROL = member("carol", {}, since="2026-11-25")  # joined recently: not idle yet
DAN = member("dan", {"2026-11-28": DayUsage(5 * USD, 10, True)}, last_active="2026-11-28",
             member=False)
ALERTS = [
    AlertMark("PERSONAL_DOMAIN", "2026-11-28", "2026-11-30"),
    AlertMark("PERSONAL_DOMAIN", "2026-11-30", None),
    AlertMark("SPEND_SPIKE", "2026-10-01", "2026-11-29"),  # opened before the window
]


def test_figures_of_one_worker():
    figures = compute("org", [ALICE, BOB, CAROL, DAN], ALERTS, WINDOW).finish(20.0)

    assert figures.first_day == "2026-11-28" and figures.last_day == "2026-11-30"
    assert figures.spend_usd_by_day == {
        "2026-11-28": {"all": 5.0}, "2026-11-29": {"all": 250.0}, "2026-11-30": {},
    }
    assert figures.tokens_by_day == {"2026-11-28": 10, "2026-11-29": 1000, "2026-11-30": 0}
    assert figures.active_by_day == {
        "2026-11-28": {"any": 1},
        "2026-11-29": {"any": 1, "chat": 1},
        "2026-11-30": {"any": 1, "chat": 1, "claude_code": 1},
    }
    assert (figures.seats.members, figures.seats.active, figures.seats.idle) == (3, 1, 1)
    assert figures.adoption == round(1 / 3, 4)
    assert [seat.id for seat in figures.idle_seats] == ["bob"]
    assert figures.idle_cost_usd_per_month == 20.0
    assert [(s.id, s.spend_usd, s.member) for s in figures.top_spenders] == [
        ("alice", 250.0, True), ("dan", 5.0, False)]
    assert figures.alerts_by_day == {
        "2026-11-28": {"PERSONAL_DOMAIN": {"opened": 1, "resolved": 0}},
        "2026-11-29": {"SPEND_SPIKE": {"opened": 0, "resolved": 1}},
        "2026-11-30": {"PERSONAL_DOMAIN": {"opened": 1, "resolved": 1}},
    }


def test_no_estimate_without_a_seat_price():
    figures = compute("org", [BOB], [], WINDOW).finish(None)
    assert figures.seats.idle == 1 and figures.idle_cost_usd_per_month is None


def test_two_workers_merged_equal_one_worker_with_everything():
    whole = compute("org", [ALICE, BOB, CAROL, DAN], ALERTS, WINDOW).finish(20.0)
    left = compute("org", [ALICE, CAROL], ALERTS[:1], WINDOW)
    right = compute("org", [BOB, DAN], ALERTS[1:], WINDOW)
    assert left.merge(right).finish(20.0) == whole
