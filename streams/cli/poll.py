"""``claude-connector poll [--once]``: the poller."""

from __future__ import annotations

import asyncio

import click

from streams.errors import ConnectorError
from streams.poller.loop import PollerRunner


async def _poll(settings, once: bool) -> list[str]:
    async with PollerRunner(settings) as runner:
        if not once:
            await runner.run_forever()
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
    settings = ctx.obj.get()
    try:
        failed = asyncio.run(_poll(settings, once))
    except ConnectorError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        ctx.exit(130)
    if failed:
        raise click.ClickException("cycle incomplete: " + " | ".join(failed))
