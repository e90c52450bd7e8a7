"""``claude-connector directory load FILE``: publish managed identities to the directory topic."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from streams.config import Settings
from streams.directory import load_directory, read_directory_file
from streams.errors import DirectoryFileError
from streams.events.topics import DIRECTORY


@click.group()
def directory() -> None:
    """The company directory of managed identities (input of the shadow-IT rules)."""


@directory.command("load")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--org", "org_id", help="Organisation id for rows without an org_id column.")
@click.option(
    "--prune",
    is_flag=True,
    help="Tombstone addresses of the organisation that the file no longer lists.",
)
@click.pass_context
def load(ctx: click.Context, file: Path | None, org_id: str | None, prune: bool) -> None:
    """Publish FILE (JSON lines, or CSV by suffix: email, employee_id, status) to the topic.

    Without FILE, the file named by ``DIRECTORY_FILE``.
    """
    settings: Settings = ctx.obj.get()
    file = file or settings.directory_file
    if file is None:
        raise click.UsageError("give FILE or set DIRECTORY_FILE")
    try:
        records = read_directory_file(file, org_id)
    except DirectoryFileError as exc:
        raise click.ClickException(str(exc)) from None
    topic = DIRECTORY.name(settings.topic_prefix)
    result = asyncio.run(
        load_directory(settings.kafka_bootstrap_servers, topic, records, prune=prune)
    )
    click.echo(
        f"{topic}: {result.records} records, {result.published} published, "
        f"{result.unchanged} unchanged, {result.tombstones} tombstones"
    )
