"""``claude-connector poll [--once]``: the poller."""

from __future__ import annotations

import asyncio

import click

from streams.config import Settings
from streams.poller.loop import PollerRunner


async def _poll(settings: Settings) -> None:
    async with PollerRunner(settings) as runner:
        await runner.run_forever()


async def _poll_once(settings: Settings) -> list[str]:
    """One cycle of every connector; the reasons of those that did not complete."""
    async with PollerRunner(settings) as runner:
        reports = await runner.run_once()
    failed = []
    for report in reports:
        counts = ", ".join(f"{kind}={count}" for kind, count in sorted(report.counts.items()))
        click.echo(
            f"{report.connector} {report.poll_id}: {report.events} events "
            f"({counts or 'no changes'}) status={report.status} in {report.seconds:.1f}s"
        )
        if not report.completed:
            failed.append(f"{report.connector}: {report.reason}")
    return failed


@click.command()
@click.option("--once", is_flag=True, help="Run one full cycle of every connector and exit.")
@click.pass_context
def poll(ctx: click.Context, once: bool) -> None:
    """Poll the configured Claude organisations and publish change events to Kafka.

    With --once, exit 0 when every fetch of the cycle completed, else 1 with the reason.
    """
    settings: Settings = ctx.obj.for_kafka()
    try:
        if not once:
            asyncio.run(_poll(settings))
            return
        failed = asyncio.run(_poll_once(settings))
    except KeyboardInterrupt:
        ctx.exit(130)
    if failed:
        raise click.ClickException("cycle incomplete: " + " | ".join(failed))
