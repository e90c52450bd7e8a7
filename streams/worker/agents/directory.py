"""The directory input: fanned out to every partition, then applied to each partition's copy.

The directory topic is keyed ``org:email`` while members are keyed ``org:user``, so a directory
record concerns members on any partition. ``fan_out_directory`` copies each record (or
tombstone) to every partition of the worker's internal fan-out topic, with the original
coordinates as the cause id; ``apply_directory`` applies each copy to that partition's
``directory`` table and re-evaluates the members with that address on that partition.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
from faust import StreamT

from streams.errors import CodecError, MalformedMessage
from streams.events.keys import event_id
from streams.events.records import DirectoryRecord
from streams.worker.agents.batching import BATCH_SECONDS, BATCH_SIZE, messages_of
from streams.worker.batch import Send, dead_letter_send, decoder, publish
from streams.worker.context import WorkerContext
from streams.worker.deadletter import message_headers
from streams.worker.metrics import METRICS
from streams.worker.state import DirectoryChange, WorkerState

CAUSE_HEADER = "directory.cause"
TIME_HEADER = "directory.time"

_decode_record = decoder(DirectoryRecord)


def parse_directory_key(key: bytes | None) -> tuple[str, str]:
    """(org_id, email) of a directory message key ``org:email``."""
    try:
        org_id, colon, email = (key or b"").decode("utf-8").partition(":")
    except UnicodeDecodeError:
        raise MalformedMessage("directory key is not UTF-8") from None
    if not (colon and org_id and email.strip()):
        raise MalformedMessage(f"directory key {key!r} is not 'org:email'")
    return org_id, email


def fan_out(message: Any, fanout_topic: faust.TopicT, partitions: int) -> list[Send]:
    """The copies of one directory message, one per partition of ``fanout_topic``; raises on
    bad input."""
    parse_directory_key(message.key)
    if message.value is not None:
        _decode_record(message)
    cause = event_id("directory", message.topic, str(message.partition), str(message.offset))
    millis = str(round(message.timestamp * 1000))
    headers = [(CAUSE_HEADER, cause.encode()), (TIME_HEADER, millis.encode())]
    return [
        Send(fanout_topic, message.key, message.value, headers, partition)
        for partition in range(partitions)
    ]


def directory_change(message: Any) -> DirectoryChange:
    """The ``DirectoryChange`` carried by one fan-out message."""
    org_id, email = parse_directory_key(message.key)
    headers = {name: value for name, value in message_headers(message.headers)}
    try:
        cause = headers[CAUSE_HEADER].decode()
        millis = int(headers[TIME_HEADER])
    except (KeyError, ValueError, AttributeError):
        raise MalformedMessage("fan-out message without its directory headers") from None
    record = None if message.value is None else _decode_record(message)
    return DirectoryChange(
        org_id=org_id,
        email=email,
        record=record,
        cause_id=cause,
        observed_at=datetime.fromtimestamp(millis / 1000, UTC),
    )


def register(context: WorkerContext) -> None:
    """The fan-out agent on the directory topic and the apply agent on the fan-out topic."""
    channels, runner, barrier = context.channels, context.runner, context.barrier
    partitions = context.settings.topic_partitions

    async def fan_out_directory(stream: StreamT) -> None:
        """Copy every directory record to each partition of the fan-out topic."""
        async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
            sends: list[Send] = []
            for event in events:
                try:
                    sends.extend(fan_out(event.message, channels.directory_fanout, partitions))
                except CodecError as exc:
                    sends.append(dead_letter_send(event.message, exc, channels.dead_letter))
                    continue
                METRICS.inc("claude_worker_events_total", topic=event.message.topic)
            await publish(sends)
            for event in events:
                barrier.note_fanned_out(event.message.partition, event.message.offset)

    async def apply_directory(stream: StreamT) -> None:
        """Apply each partition's copy of the directory and re-evaluate the members it names."""
        async for events in stream.take_events(BATCH_SIZE, within=BATCH_SECONDS):
            await runner.run(messages_of(events), directory_change, WorkerState.apply_directory)
            for event in events:
                barrier.note_applied(event.message.partition, event.message.offset)

    context.app.agent(channels.directory, name=f"{__name__}.fan_out_directory",
                      concurrency=1)(fan_out_directory)
    context.app.agent(channels.directory_fanout, name=f"{__name__}.apply_directory",
                      concurrency=1)(apply_directory)
