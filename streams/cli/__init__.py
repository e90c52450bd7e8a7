"""The ``claude-connector`` command line: thin commands that build Settings and call one thing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import click
from aiokafka.errors import KafkaError

from streams import __version__, logs
from streams.cli.alerts import alerts
from streams.cli.bench import bench
from streams.cli.connectors import connectors
from streams.cli.demo import demo
from streams.cli.directory import directory
from streams.cli.history import replay, tail
from streams.cli.kafka import kafka
from streams.cli.poll import poll
from streams.cli.report import report_command
from streams.cli.simulate import simulate
from streams.cli.worker import worker
from streams.config import Settings
from streams.errors import ConfigError, ConnectorError
from streams.kafkaio.security import KafkaSecurity, check_connection


class LazySettings:
    """Loads ``Settings`` the first time a command asks, so ``--help`` works with bad config."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._security: KafkaSecurity | None = None
        self._kafka_checked = False

    def get(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = Settings.load()
            except ConfigError as exc:
                raise click.ClickException(f"configuration: {exc}") from None
        return self._settings

    def kafka_security(self) -> KafkaSecurity:
        """How the Kafka clients connect, from the settings."""
        if self._security is None:
            self._security = KafkaSecurity.from_settings(self.get())
        return self._security

    def for_kafka(self) -> Settings:
        """The settings, once one connection to Kafka with them worked (else a one-line error)."""
        settings = self.get()
        if not self._kafka_checked:
            asyncio.run(
                check_connection(settings.kafka_bootstrap_servers, self.kafka_security())
            )
            self._kafka_checked = True
        return settings


pass_settings = click.make_pass_decorator(LazySettings)


class ErrorReportingGroup(click.Group):
    """Reports the connector's and Kafka's errors as ``Error: ...`` (exit 1), not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConnectorError, KafkaError) as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=ErrorReportingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="claude-connector")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Claude connector: Anthropic org members, usage and spend as Avro events on Kafka."""
    logs.configure(logging.WARNING - 10 * min(verbose, 2))
    ctx.obj = LazySettings()


main.add_command(alerts)
main.add_command(bench)
main.add_command(connectors)
main.add_command(kafka)
main.add_command(report_command)
main.add_command(poll)
main.add_command(worker)
main.add_command(directory)
main.add_command(simulate)
main.add_command(demo)
main.add_command(replay)
main.add_command(tail)
