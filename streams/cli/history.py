"""``claude-connector tail`` and ``claude-connector replay``: history as JSON lines, rebuilds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime

import click
import orjson

from streams import history
from streams.config import Settings
from streams.history import Entry
from streams.kafkaio.security import KafkaSecurity

AS_OF_VIEWS = ("users",)


def _write(line: bytes, *, flush: bool) -> None:
    sys.stdout.buffer.write(line + b"\n")
    if flush:
        sys.stdout.buffer.flush()


def _print_entries(entries: AsyncIterator[Entry], *, flush: bool = False) -> None:
    """Print every entry as a JSON line; Ctrl-C and a closed pipe end it quietly."""

    async def run() -> None:
        async for entry in entries:
            _write(entry.to_json(), flush=flush)

    try:
        asyncio.run(run())
        sys.stdout.buffer.flush()
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more to say, and nothing to flush.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return history.parse_time(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@click.command()
@click.argument("topic")
@click.option(
    "-n", "--lines", type=click.IntRange(1), default=history.TAIL_LINES, show_default=True,
    help="How many of the newest messages to print.",
)
@click.option("--from-beginning", is_flag=True, help="Print every message from offset 0.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new messages (Ctrl-C stops).")
@click.pass_context
def tail(ctx: click.Context, topic: str, lines: int, from_beginning: bool, follow: bool) -> None:
    """Print TOPIC's newest messages as JSON lines, values decoded.

    TOPIC is a suffix such as user-events (TOPIC_PREFIX goes in front) or a full topic name.
    Each line holds topic, partition, offset, Kafka timestamp, key, the value's Avro type,
    the decoded value and the headers; an undecodable value comes as base64 with the error.
    """
    settings: Settings = ctx.obj.for_kafka()
    name = history.resolve_topic(topic, settings.topic_prefix)
    entries = history.tail(
        settings.kafka_bootstrap_servers,
        name,
        lines=lines,
        from_beginning=from_beginning,
        follow=follow,
        security=ctx.obj.kafka_security(),
    )
    _print_entries(entries, flush=follow)


@click.command()
@click.argument("view", required=False, metavar="[VIEW]", type=click.Choice(AS_OF_VIEWS))
@click.option("--topic", help="Topic suffix (user-events, ...) or full name to replay.")
@click.option(
    "--from", "start", metavar="OFFSET|ISO-TIME",
    help="An offset (in every partition) or an event time to start at (inclusive).",
)
@click.option("--to", "until", metavar="ISO-TIME", help="Last event time (inclusive).")
@click.option("--org", help="Only this organisation's events.")
@click.option("--partition", type=click.IntRange(0), help="Only this partition.")
@click.option(
    "--as-of", "as_of", metavar="ISO-TIME",
    help="With VIEW 'users': the roster as it was at this time.",
)
@click.option(
    "--rebuild", is_flag=True,
    help="Run a worker whose tables are built from offset 0 under --app-id.",
)
@click.option("--app-id", help="With --rebuild: an app id never used before.")
@click.option(
    "--web-port", type=click.IntRange(0, 65535),
    help="With --rebuild: port of the rebuilding worker's views.",
)
@click.pass_context
def replay(
    ctx: click.Context,
    view: str | None,
    topic: str | None,
    start: str | None,
    until: str | None,
    org: str | None,
    partition: int | None,
    as_of: str | None,
    rebuild: bool,
    app_id: str | None,
    web_port: int | None,
) -> None:
    """Replay history as JSON lines, the roster at a point in time, or rebuild the tables.

    \b
    replay --topic T [--from OFFSET|ISO-TIME] [--to ISO-TIME] [--org ORG]
        T's committed events in partition order (each member's in order). Times are event
        times (observed_at), so the whole topic is read and filtered.
    replay --as-of ISO-TIME users [--org ORG]
        every member at that time, one JSON line each (point-in-time access review).
    replay --rebuild --app-id NEW [--web-port P]
        becomes a worker under app id NEW: its tables are built from offset 0 of every topic.
        Alert events already on the alerts topic are not published again; it delivers no
        webhooks.
    """
    settings: Settings = ctx.obj.for_kafka()
    modes = [name for name, on in (("--topic", topic), ("--as-of", as_of), ("--rebuild", rebuild))
             if on]
    if len(modes) != 1:
        raise click.UsageError("give exactly one of --topic, --as-of or --rebuild")
    if rebuild:
        if not app_id:
            raise click.UsageError("--rebuild needs --app-id NEW")
        _rebuild(settings, ctx.obj.kafka_security(), app_id, web_port)
    elif as_of is not None:
        if view is None:
            raise click.UsageError(f"--as-of needs a VIEW: {', '.join(AS_OF_VIEWS)}")
        _as_of(settings, ctx.obj.kafka_security(), _time(as_of, "--as-of"), org)
    else:
        assert topic is not None
        try:
            begin = None if start is None else history.parse_start(start)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--from") from None
        entries = history.replay(
            settings.kafka_bootstrap_servers,
            history.resolve_topic(topic, settings.topic_prefix),
            start=begin,
            until=_time(until, "--to"),
            org=org,
            partition=partition,
            security=ctx.obj.kafka_security(),
        )
        _print_entries(entries)


def _as_of(
    settings: Settings, security: KafkaSecurity, moment: datetime | None, org: str | None
) -> None:
    assert moment is not None
    rows = asyncio.run(
        history.roster_as_of(
            settings.kafka_bootstrap_servers,
            settings.topic_prefix,
            moment,
            org=org,
            security=security,
        )
    )
    for row in rows:
        _write(orjson.dumps(row, option=orjson.OPT_UTC_Z), flush=False)
    sys.stdout.buffer.flush()
    click.echo(f"{len(rows)} members at {moment.isoformat()}", err=True)


def _rebuild(
    settings: Settings, security: KafkaSecurity, app_id: str, web_port: int | None
) -> None:
    """Check the app id is new, then become ``claude-connector worker`` under it."""
    asyncio.run(
        history.check_new_app_id(
            settings.kafka_bootstrap_servers,
            app_id,
            security=security,
        )
    )
    click.echo(
        f"rebuilding the tables under app id {app_id} from offset 0 of every topic; "
        "the worker keeps running (Ctrl-C stops it)",
        err=True,
    )
    command = [sys.executable, "-m", "streams", "worker"]
    if web_port is not None:
        command += ["--web-port", str(web_port)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, history.rebuild_environment(os.environ, app_id))
