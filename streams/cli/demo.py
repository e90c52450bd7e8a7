"""``claude-connector demo``: the whole pipeline on this machine, in one command."""

from __future__ import annotations

import asyncio
import sys

import click

from streams.demo import DEFAULT_SIZE, USER_SIZES, DemoOptions, run_demo


class UsersType(click.ParamType):
    """A number of users, or a size name (small, medium, large)."""

    name = "users"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text in USER_SIZES:
            return USER_SIZES[text]
        if text.isdigit() and int(text) > 0:
            return int(text)
        sizes = ", ".join(f"{name} ({count})" for name, count in USER_SIZES.items())
        self.fail(f"{value!r} is neither a positive number nor one of {sizes}", param, ctx)


@click.command()
@click.option(
    "--users", type=UsersType(), default=DEFAULT_SIZE, show_default=True,
    help="Members of the simulated org: a number, or small (200), medium (2000), large (5000).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulated org.")
@click.option(
    "--speed", type=click.FloatRange(min=0), default=60.0, show_default=True,
    help="Simulated hours per real minute (60: a simulated day every 24 s; 0: time stands).",
)
@click.option(
    "--web-port", type=click.IntRange(1, 65535),
    help="Port of the worker's page and views (default: a free port).",
)
@click.option(
    "--duration", type=click.FloatRange(min=0),
    help="Stop by itself after this many seconds of live summary, with exit status 0.",
)
@click.pass_context
def demo(
    ctx: click.Context,
    users: int,
    seed: int,
    speed: float,
    web_port: int | None,
    duration: float | None,
) -> None:
    """Run everything on this machine: local Kafka, a simulated Claude org, poller, worker.

    Shows the first collection's progress, then a live summary (members, changes per cycle,
    open alerts by reason, connector status) and the URL of the page. Simulated time moves on,
    so members come and go and new alerts arrive. Ctrl-C (or SIGTERM) stops every part.
    Nothing here touches a broker or port you already run: the demo keeps its broker, data and
    logs in CLAUDE_CONNECTOR_CACHE/demo and uses free ports.
    """
    settings = ctx.obj.get()
    options = DemoOptions(
        users=users, seed=seed, speed=speed, web_port=web_port, duration=duration
    )
    asyncio.run(run_demo(settings, options, click.echo, live=sys.stdout.isatty()))
