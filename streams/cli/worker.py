"""``claude-connector worker``: the Faust worker, as ``faust -A streams.app worker``.

The command builds the app from the settings it loaded (with ``--web-port`` and
``--web-host`` on top) and hands that app to Faust's command line. It refuses to serve the
views on an address other than loopback without ``WEB_TOKEN``, unless ``--insecure-no-token``.
"""

from __future__ import annotations

import asyncio

import click

from streams.config import Settings
from streams.events.topics import CONNECTOR_STATUS, TOPICS, KeyKind
from streams.kafkaio import ensure_topics
from streams.kafkaio.admin import partition_counts, partitions_for
from streams.kafkaio.security import KafkaSecurity


async def prepare_topics(settings: Settings) -> None:
    """Create missing topics; fail when a per-member topic has another partition count.

    Faust keeps a table's partitions in step with its source topics, so every ``org:user``
    topic must have ``TOPIC_PARTITIONS`` partitions (and connector status one).
    """
    prefix = settings.topic_prefix
    bootstrap = settings.kafka_bootstrap_servers
    security = KafkaSecurity.from_settings(settings)
    await ensure_topics(
        bootstrap,
        prefix,
        settings.topic_partitions,
        settings.topic_replication_factor,
        security=security,
    )
    checked = [
        spec
        for spec in TOPICS
        if spec.key in (KeyKind.ORG_USER, KeyKind.ALERT) or spec is CONNECTOR_STATUS
    ]
    counts = await partition_counts(
        bootstrap, [spec.name(prefix) for spec in checked], security=security
    )
    for spec in checked:
        want = partitions_for(spec, settings.topic_partitions)
        have = counts[spec.name(prefix)]
        if have != want:
            raise click.ClickException(
                f"topic {spec.name(prefix)} has {have} partitions but the worker needs "
                f"{want} (set TOPIC_PARTITIONS={have} if the topics are right)"
            )


@click.command()
@click.option("--web-port", type=click.IntRange(0, 65535), help="Port of the web views.")
@click.option("--web-host", help="Address the web views bind to (default WEB_HOST).")
@click.option(
    "--insecure-no-token",
    is_flag=True,
    help="Serve the views without WEB_TOKEN on an address other than loopback.",
)
@click.option(
    "-l",
    "--loglevel",
    default="info",
    show_default=True,
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
)
@click.pass_context
def worker(
    ctx: click.Context,
    web_port: int | None,
    web_host: str | None,
    insecure_no_token: bool,
    loglevel: str,
) -> None:
    """Run the Faust worker: agents, tables, shadow-IT alerts and the web views."""
    settings: Settings = ctx.obj.get()
    # The options become settings, not Faust options: Faust would replace the advertised URL
    # (``WEB_ADVERTISED_URL``) with host and port.
    if web_port is not None:
        settings = settings.replace(web_port=web_port)
    if web_host is not None:
        settings = settings.replace(web_host=web_host)
    # Faust and the app load only when the worker runs (``--help`` and the other commands
    # stay quick).
    from faust.cli.faust import cli

    from streams.app import create_app
    from streams.worker.views import check_exposure

    check_exposure(settings, insecure_no_token)
    ctx.obj.for_kafka()
    asyncio.run(prepare_topics(settings))
    cli.main(args=["worker", "-l", loglevel], prog_name="claude-connector worker",
             app=create_app(settings, insecure_no_token=insecure_no_token))
