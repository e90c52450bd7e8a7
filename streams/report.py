"""``claude-connector report``: the insight figures of one organisation, read from the topics.

The members, usage and associations topics are folded into the worker's tables by the worker's
own ``WorkerState`` (``streams.worker.state``), the alert topic gives each alert's opening and
resolution, and ``streams.insights`` computes the same figures as ``GET /insights``. No worker
is needed. ``render`` prints them as Markdown, CSV (one row per figure) or JSON.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import orjson

from streams import history
from streams.config import Settings
from streams.events.records import AlertState, ShadowItAlert
from streams.events.topics import (
    APP_ASSOCIATIONS,
    INVITES,
    SHADOW_IT_ALERTS,
    USAGE_DELTAS,
    USER_EVENTS,
)
from streams.insights import AlertMark, Insights, Window
from streams.kafkaio.security import KafkaSecurity
from streams.worker.insightfacts import table_insights
from streams.worker.rules import Policy
from streams.worker.state import Tables, WorkerState

FORMATS = ("md", "csv", "json")


async def read_insights(settings: Settings, org: str, window: Window) -> Insights:
    """The finished figures of ``org`` over ``window``, from the topics."""
    security = KafkaSecurity.from_settings(settings)
    bootstrap, prefix = settings.kafka_bootstrap_servers, settings.topic_prefix
    tables = Tables.empty()
    state = WorkerState(tables, Policy())  # its alerts are not used: the topic has them
    for spec, apply in (
        (USER_EVENTS, state.apply_user_event),
        (USAGE_DELTAS, state.apply_usage_delta),
        (APP_ASSOCIATIONS, state.apply_association),
        (INVITES, state.fold_invite),
    ):
        async for partition, record in history.records(
            bootstrap, spec.name(prefix), security=security
        ):
            if record.org_id == org:
                apply(record, partition)
    opened: dict[str, AlertMark] = {}
    async for _, alert in history.records(
        bootstrap, SHADOW_IT_ALERTS.name(prefix), security=security
    ):
        if isinstance(alert, ShadowItAlert) and alert.org_id == org:
            opened[alert.alert_id] = alert_mark(opened.get(alert.alert_id), alert)
    figures = table_insights(tables, org, None, window, alerts=opened.values())
    return figures.finish(settings.seat_price_usd)


def alert_mark(known: AlertMark | None, event: ShadowItAlert) -> AlertMark:
    """An alert's mark after one of its events (opened, then maybe resolved)."""
    opened_day = event.opened_at.date().isoformat()
    if event.state is AlertState.RESOLVED:
        return AlertMark(event.reason.value, opened_day, event.observed_at.date().isoformat())
    return known or AlertMark(event.reason.value, opened_day, None)


def render(figures: Insights, output: str) -> str:
    """The figures as ``md``, ``csv`` or ``json`` text."""
    if output == "json":
        return orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode()
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("figure", "day", "key", "value"))
        writer.writerows(figure_rows(figures))
        return buffer.getvalue()
    return markdown(figures)


def figure_rows(figures: Insights) -> list[tuple[str, str, str, object]]:
    """Every figure as (figure, day, key, value), for a spreadsheet."""
    seats = figures.seats
    rows: list[tuple[str, str, str, object]] = [
        ("seats", "", "members", seats.members),
        ("seats", "", "active", seats.active),
        ("seats", "", "idle", seats.idle),
        ("seats", "", "pending_invites", seats.pending_invites),
        ("adoption", "", "", figures.adoption),
        ("idle_cost_usd_per_month", "", "", figures.idle_cost_usd_per_month),
    ]
    for day, series in figures.spend_usd_by_day.items():
        rows += [("spend_usd", day, name, value) for name, value in series.items()]
    rows += [("tokens", day, "", value) for day, value in figures.tokens_by_day.items()]
    for day, counts in figures.active_by_day.items():
        rows += [("active_members", day, name, value) for name, value in counts.items()]
    for day, reasons in figures.alerts_by_day.items():
        rows += [(f"alerts_{kind}", day, reason, value)
                 for reason, counts in reasons.items() for kind, value in counts.items()]
    rows += [("top_spender_usd", "", s.email or s.id, s.spend_usd) for s in figures.top_spenders]
    rows += [("idle_seat", seat.last_active_day or "", seat.email or seat.id, seat.role)
             for seat in figures.idle_seats]
    return rows


def markdown(figures: Insights) -> str:
    """A monthly review in Markdown."""
    seats = figures.seats
    adoption = "n/a" if figures.adoption is None else f"{figures.adoption:.0%}"
    spend = sum(sum(series.values()) for series in figures.spend_usd_by_day.values())
    estimate = ("set SEAT_PRICE_USD for an estimate" if figures.idle_cost_usd_per_month is None
                else f"about ${figures.idle_cost_usd_per_month:,.2f} a month")
    lines = [
        f"# Claude usage of {figures.org_id}, {figures.first_day} to {figures.last_day}",
        "",
        f"- Members: {seats.members}; active in the window: {seats.active} "
        f"(adoption {adoption}); pending invitations: "
        f"{'n/a' if seats.pending_invites is None else seats.pending_invites}",
        f"- Spend: ${spend:,.2f}; tokens: {sum(figures.tokens_by_day.values()):,}",
        f"- Idle seats (no activity for {figures.idle_days} days): {seats.idle} ({estimate})",
        "",
        "## Spend and activity per day",
        "",
        "| day | spend (USD) | tokens | active members | by surface |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for day, series in figures.spend_usd_by_day.items():
        active = dict(figures.active_by_day.get(day, {}))
        total = active.pop("any", 0)
        surfaces = ", ".join(f"{name} {count}" for name, count in sorted(active.items()))
        lines.append(f"| {day} | {sum(series.values()):,.2f} | "
                     f"{figures.tokens_by_day.get(day, 0):,} | {total} | {surfaces} |")
    lines += ["", "## Top spenders", "", "| who | kind | spend (USD) |", "| --- | --- | ---: |"]
    lines += [f"| {s.email or s.id} | {s.actor_type}{'' if s.member else ' (not a member)'} | "
              f"{s.spend_usd:,.2f} |" for s in figures.top_spenders]
    lines += ["", "## Idle seats", "", "| member | role | last active | member since |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {seat.email or seat.id} | {seat.role or ''} | {seat.last_active_day or 'never'}"
              f" | {seat.member_since or ''} |" for seat in figures.idle_seats]
    lines += ["", "## Alerts per day", "", "| day | reason | opened | resolved |",
              "| --- | --- | ---: | ---: |"]
    lines += [f"| {day} | {reason} | {counts['opened']} | {counts['resolved']} |"
              for day, reasons in figures.alerts_by_day.items()
              for reason, counts in sorted(reasons.items())]
    if figures.missing:
        lines += ["", "Not in the data yet: " + "; ".join(figures.missing) + "."]
    return "\n".join(lines) + "\n"


def window_until(last: date, days: int, settings: Settings) -> Window:
    """The report's window: ``days`` ending on ``last``."""
    return Window(last=last, days=days, idle_days=settings.idle_days)
