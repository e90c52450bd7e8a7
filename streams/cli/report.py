"""``claude-connector report``: adoption, spend, idle seats and alerts of one organisation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from streams import report
from streams.config import Settings
from streams.insights import MAX_DAYS


@click.command("report")
@click.option("--org", required=True, help="The organisation id.")
@click.option("--days", type=click.IntRange(1, MAX_DAYS), default=30, show_default=True,
              help="Days in the window.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The window's last day (default: today, UTC).")
@click.option("--format", "output", type=click.Choice(report.FORMATS), default="md",
              show_default=True, help="Markdown, CSV (one row per figure) or JSON.")
@click.pass_context
def report_command(
    ctx: click.Context, org: str, days: int, until: datetime | None, output: str
) -> None:
    """The monthly review of ORG read from the topics (no worker needed): spend and tokens
    per day, active members by surface, adoption, top spenders, idle seats (IDLE_DAYS; an
    estimate at SEAT_PRICE_USD) and alerts per day."""
    last = (until or datetime.now(UTC)).date()
    try:
        window = report.window_until(last, days, ctx.obj.get())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--until") from None
    settings: Settings = ctx.obj.for_kafka()
    figures = asyncio.run(report.read_insights(settings, org, window))
    click.echo(report.render(figures, output), nl=False)
