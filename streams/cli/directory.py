"""``claude-connector directory load FILE``: publish managed identities to the directory topic."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from streams.config import Settings
from streams.directory import load_directory, read_directory_file
from streams.errors import ConfigError, DirectoryFileError, OrganisationNeeded
from streams.events.codec import default_codec
from streams.events.records import DirectoryRecord
from streams.events.topics import DIRECTORY
from streams.poller.loop import load_state


@click.group()
def directory() -> None:
    """The company directory of managed identities (input of the shadow-IT rules)."""


async def the_only_organisation(settings: Settings) -> str:
    """The organisation id of the connector's committed state, when there is exactly one."""
    known = sorted({record.org_id for record in await load_state(settings, default_codec())})
    if len(known) != 1:
        held = f"knows {len(known)} ({', '.join(known[:5])})" if known else "knows none yet"
        raise ConfigError(f"the file's rows name no org_id and the connector {held}; pass --org")
    return known[0]


def _records(
    ctx: click.Context, file: Path, org_id: str | None
) -> list[DirectoryRecord]:
    """The file's records; rows without org_id go to --org, else to the only known org."""
    try:
        try:
            return read_directory_file(file, org_id)
        except OrganisationNeeded:
            if org_id is not None:
                raise
        organisation = asyncio.run(the_only_organisation(ctx.obj.for_kafka()))
        click.echo(f"organisation {organisation} (the only one the connector knows)", err=True)
        return read_directory_file(file, organisation)
    except DirectoryFileError as exc:
        raise click.ClickException(str(exc)) from None


@directory.command("load")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--org",
    "org_id",
    help="Organisation id for rows without an org_id column (default: the only organisation "
    "the connector knows).",
)
@click.option(
    "--prune",
    is_flag=True,
    help="Tombstone addresses of the organisation that the file no longer lists.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --prune: tombstone even more than DIRECTORY_PRUNE_FRACTION of the identities.",
)
@click.pass_context
def load(
    ctx: click.Context, file: Path | None, org_id: str | None, prune: bool, force: bool
) -> None:
    """Publish FILE (JSON lines, or CSV by suffix: email, employee_id, status) to the topic.

    Without FILE, the file named by ``DIRECTORY_FILE``. A malformed line is an error naming
    it, and then nothing is published.
    """
    file = file or ctx.obj.get().directory_file
    if file is None:
        raise click.UsageError("give FILE or set DIRECTORY_FILE")
    records = _records(ctx, file, org_id)
    settings: Settings = ctx.obj.for_kafka()
    topic = DIRECTORY.name(settings.topic_prefix)
    result = asyncio.run(
        load_directory(
            settings.kafka_bootstrap_servers,
            topic,
            records,
            prune=prune,
            prune_fraction=settings.directory_prune_fraction,
            force=force,
            security=ctx.obj.kafka_security(),
        )
    )
    click.echo(
        f"{topic}: {result.records} records, {result.published} published, "
        f"{result.unchanged} unchanged, {result.tombstones} tombstones"
    )
