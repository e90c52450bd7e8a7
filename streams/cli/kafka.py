"""``claude-connector kafka start|stop|status``: the local development broker."""

from __future__ import annotations

from pathlib import Path

import click

from streams.localkafka import SECURITY_MODES, LocalKafka, default_data_dir


def _broker(
    ctx: click.Context, data_dir: Path | None, port: int, security: str = "plaintext"
) -> LocalKafka:
    settings = ctx.obj.get()
    return LocalKafka(
        data_dir=data_dir or default_data_dir(settings.cache_dir),
        cache_dir=settings.cache_dir,
        port=port,
        security=security,
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
    help="Client port; the controller uses the next one.",
)


@click.group()
def kafka() -> None:
    """A local single-node Apache Kafka (KRaft) for development, tests and the demo."""


@kafka.command()
@data_dir_option
@port_option
@click.option(
    "--security",
    type=click.Choice(SECURITY_MODES),
    default="plaintext",
    show_default=True,
    help="sasl_ssl: a TLS listener (CA and certificate made for the data dir) with a SCRAM "
    "user; the client settings are printed as NAME=value lines.",
)
@click.pass_context
def start(ctx: click.Context, data_dir: Path | None, port: int, security: str) -> None:
    """Fetch the jars (once), format the data dir (once) and start the broker.

    Prints the bootstrap address; with --security sasl_ssl, the settings that reach the
    broker, ready for `export` (they include the SCRAM password).
    """
    broker = _broker(ctx, data_dir, port, security)
    info = broker.start(progress=lambda line: click.echo(line, err=True))
    if security == "plaintext":
        click.echo(info.bootstrap)
        return
    for name, value in broker.client_settings().items():
        click.echo(f"{name}={value}")


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
