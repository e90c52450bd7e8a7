"""``claude-connector kafka start|stop|status``: the local development broker."""

from __future__ import annotations

from pathlib import Path

import click

from streams.localkafka import LocalKafka, default_data_dir


def _broker(ctx: click.Context, data_dir: Path | None, port: int) -> LocalKafka:
    settings = ctx.obj.get()
    return LocalKafka(
        data_dir=data_dir or default_data_dir(settings.cache_dir),
        cache_dir=settings.cache_dir,
        port=port,
    )


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Broker data, config, log and pid file (default: under the cache dir).",
)
port_option = click.option(
    "--port",
    type=int,
    default=9092,
    show_default=True,
    help="Client (PLAINTEXT) port; the controller uses the next one.",
)


@click.group()
def kafka() -> None:
    """A local single-node Apache Kafka (KRaft) for development, tests and the demo."""


@kafka.command()
@data_dir_option
@port_option
@click.pass_context
def start(ctx: click.Context, data_dir: Path | None, port: int) -> None:
    """Fetch the jars (once), format the data dir (once) and start the broker."""
    broker = _broker(ctx, data_dir, port)
    info = broker.start(progress=lambda line: click.echo(line, err=True))
    click.echo(info.bootstrap)


@kafka.command()
@data_dir_option
@port_option
@click.pass_context
def stop(ctx: click.Context, data_dir: Path | None, port: int) -> None:
    """Stop the broker started from this data dir."""
    stopped = _broker(ctx, data_dir, port).stop()
    click.echo("stopped" if stopped else "not running")


@kafka.command()
@data_dir_option
@port_option
@click.pass_context
def status(ctx: click.Context, data_dir: Path | None, port: int) -> None:
    """Say whether the broker runs, and where. Exit 1 when it does not."""
    info = _broker(ctx, data_dir, port).status()
    if info is None:
        click.echo("not running")
        ctx.exit(1)
    click.echo(f"running pid={info.pid} bootstrap={info.bootstrap} data_dir={info.data_dir}")
