"""``claude-connector connectors list|remove``: the organisations the poller knows."""

from __future__ import annotations

import asyncio

import click

from streams.config import Settings
from streams.events.codec import default_codec
from streams.poller.loop import load_state, publish_deleted
from streams.poller.state import CONNECTOR_CURSOR, CommittedState


async def _known(settings: Settings) -> dict[str, CommittedState]:
    records = await load_state(settings, default_codec())
    return {
        name: CommittedState.from_records(name, records) for name in {r.connector for r in records}
    }


@click.group()
def connectors() -> None:
    """List connectors, or remove one (final DELETED status; its history stays)."""


@connectors.command("list")
@click.pass_context
def list_connectors(ctx: click.Context) -> None:
    """Configured connectors and those with committed state, with their last status."""
    settings = ctx.obj.for_kafka()
    known = asyncio.run(_known(settings))
    configured = {connector.name for connector in settings.connectors}
    for name in sorted(configured | known.keys()):
        state = known.get(name)
        cursor = state.cursors.get(CONNECTOR_CURSOR) if state else None
        status = cursor.status.value if cursor and cursor.status else "never polled"
        where = "configured" if name in configured else "not configured"
        members = len(state.members) if state else 0
        click.echo(
            f"{name}\t{where}\t{status}\tmembers={members}\torg={state.org_id if state else '-'}"
        )


@connectors.command()
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Emit connector NAME's final DELETED status. Remove it from the configuration too."""
    settings = ctx.obj.for_kafka()
    known = asyncio.run(_known(settings))
    state = known.get(name)
    if state is None or state.org_id is None:
        raise click.ClickException(f"no committed state for a connector named {name!r}")
    asyncio.run(publish_deleted(settings, default_codec(), state))
    click.echo(f"{name}: DELETED status published; its events stay on the topics")
    if name in {connector.name for connector in settings.connectors}:
        click.echo(
            f"{name} is still configured: remove it from the environment or the TOML file, "
            "or the poller will poll it again",
            err=True,
        )
