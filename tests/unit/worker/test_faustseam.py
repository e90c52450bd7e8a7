"""Each Faust internal behind ``streams.worker.faustseam``, checked against the installed Faust.

One test per internal: a faust-streaming release that renames, moves or changes one of them
fails here. A last test checks that no other module of ``streams`` names them.
"""

from __future__ import annotations

import ast
import inspect
import logging
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import faust
import orjson
import pytest
from aiokafka.structs import ConsumerRecord
from faust.streams import current_event
from faust.types import TP

import streams
from streams.app import create_app
from streams.config import Settings
from streams.worker import faustseam
from streams.worker.rows import DirectoryOrgRow, RowCodec

TP0 = TP("seam-topic", 0)


@pytest.fixture
def app(tmp_path: Path) -> faust.App:
    settings = Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path), "TOPIC_PREFIX": "seam-"})
    return create_app(settings)


@pytest.fixture
def consumer(app: faust.App) -> Iterator[faustseam.FetchFilteringConsumer]:
    """The app's consumer, never started: the event loop its thread made is closed after."""
    made = app.consumer
    yield made
    made._thread.thread_loop.close()


def record(offset: int, value: bytes = b"v") -> ConsumerRecord:
    return ConsumerRecord(topic=TP0.topic, partition=0, offset=offset, timestamp=1_700_000_000_123,
                          timestamp_type=0, key=b"k", value=value, checksum=None,
                          serialized_key_size=1, serialized_value_size=len(value),
                          headers=[("h", b"1")])


def encoded(key: str, row: object, event: object) -> tuple[str, object, object, tuple]:
    """A store write with the key's and row's bytes, as the batch writer makes it."""
    return key, row, event, (orjson.dumps(key), orjson.dumps(row))


def test_client_auth_carries_the_app_credentials(tmp_path):
    settings = Settings.load({
        "CLAUDE_CONNECTOR_CACHE": str(tmp_path), "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "worker",
        "KAFKA_SASL_PASSWORD": "pw-seam",
    })
    options = faustseam.client_auth(create_app(settings))
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("worker", "pw-seam")


def test_the_app_makes_the_fetch_filtering_transport(consumer):
    """``App._new_transport``: the app's consumer is ours."""
    assert isinstance(consumer, faustseam.FetchFilteringConsumer)


def test_the_app_makes_the_topic_tracking_producer(app):
    """``Producer._ensure_producer``: the app's producer is ours and reaches its client
    (``tests/integration/worker/test_producer_metadata.py`` checks what it keeps)."""
    assert isinstance(app.producer, faustseam.TopicTrackingProducer)
    assert callable(app.producer._ensure_producer)


async def test_the_fetcher_leaves_the_batch_topics_alone(app, consumer, monkeypatch):
    """``Consumer._getmany(active_partitions, timeout)``: the partitions Faust would fetch."""
    asked = []

    async def getmany(self, active_partitions, timeout):
        asked.append(active_partitions)
        return {}

    base = faustseam.FetchFilteringConsumer.__mro__[1]
    assert list(inspect.signature(base._getmany).parameters) == [
        "self", "active_partitions", "timeout"]
    monkeypatch.setattr(base, "_getmany", getmany)
    app.batch_topics.add("batched")
    await consumer._getmany({TP("batched", 0), TP0}, 0.0)
    assert await consumer._getmany({TP("batched", 0)}, 0.0) == {}
    assert asked == [{TP0}]


def test_committed_offset(consumer):
    """``Consumer._committed_offset``: None before the first commit, else the offset."""
    assert faustseam.committed_offset(consumer, TP0) is None
    consumer._committed_offset[TP0] = 7
    assert faustseam.committed_offset(consumer, TP0) == 7


async def test_a_gap_lets_the_commit_pass(app, consumer):
    """``Consumer._add_gap``: acked 0..2 and 6, a gap 3..5: the offset to commit is 7."""
    app.topics.add(app.topic(TP0.topic))
    await app.topics._update_indices()  # as a subscription does: acks count for the topic
    for offset in (0, 1, 2, 6):
        message = faustseam.consumer_message(TP0, record(offset), 1)
        consumer.track_message(message)
        consumer.ack(message)
    assert consumer._new_offset(TP0) == 3
    await faustseam.add_gap(consumer, TP0, 3, 5)
    assert consumer._new_offset(TP0) == 7


def test_consumer_message_takes_every_field_of_the_record():
    """``ConsumerMessage(...)`` positional arguments, in Faust's order."""
    message = faustseam.consumer_message(TP0, record(4), 9)
    assert (message.topic, message.partition, message.offset, message.timestamp) == (
        TP0.topic, 0, 4, 1_700_000_000.123)
    assert (message.key, message.value, message.headers) == (b"k", b"v", [("h", b"1")])
    assert (message.serialized_key_size, message.serialized_value_size) == (1, 1)
    assert (message.tp, message.generation_id, message.timestamp_type) == (TP0, 9, 0)


def test_note_inbound_feeds_the_stall_check(app):
    """``Monitor.stream_inbound_time``: when a partition last delivered."""
    faustseam.note_inbound(app, [TP0], 12.5)
    assert app.monitor.stream_inbound_time[TP0] == 12.5


def test_store_writes_carry_their_event_as_the_current_one():
    """``faust.streams._current_event``: ``current_event()`` sees each write's event, and the
    one before is restored."""

    class Event:
        message = "m"

    seen = {}

    class Store(dict):
        def __setitem__(self, key, value):
            seen[key] = current_event()
            super().__setitem__(key, value)

    first, second = Event(), Event()
    store = Store(gone=1)
    assert current_event() is None
    faustseam.write_store(store, [("a", 1, first, (b'"a"', b"1")), ("b", 2, second, (b'"b"', b"2")),
                                  ("gone", None, first, (b'"gone"', None))])
    assert seen == {"a": first, "b": second}
    assert store == {"a": 1, "b": 2}
    assert current_event() is None


def test_store_writes_show_in_the_table(app):
    """``Table.data``: a write to the store is what the table reads."""
    table = app.context.tables.core.directory_orgs
    row = DirectoryOrgRow("o", 3)
    faustseam.table_store(table)["0/o"] = row
    assert table["0/o"] == row


def test_the_persisted_offset_is_kept_by_rocksdb(tmp_path):
    """``Store.set_persisted_offset``: RocksDB keeps it per partition."""
    pytest.importorskip("rocksdict")
    settings = Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path),
                              "WORKER_STORE": "rocksdb://"})
    app = create_app(settings)
    table = app.context.tables.core.directory_orgs
    store = faustseam.table_store(table)
    tp = TP(table.changelog_topic.get_topic_name(), 0)
    faustseam.set_persisted_offset(store, tp, 41)
    assert store.persisted_offset(tp) == 41


async def test_the_compact_store_keeps_encoded_rows_per_partition(tmp_path):
    """``SerializedStore``: rows kept as their changelog bytes, one dict per partition; a
    write takes the current event's partition; recovery copies the changelog's bytes and keeps
    only the assigned partitions."""
    settings = Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path),
                              "WORKER_STORE": "compact://"})
    table = create_app(settings).context.tables.core.directory_orgs
    store = faustseam.table_store(table)
    assert isinstance(store, faustseam.CompactStore)

    class Event:
        def __init__(self, partition: int, key: bytes = b"", value: bytes | None = b"",
                     offset: int = 0) -> None:
            self.message = SimpleNamespace(partition=partition, key=key, value=value,
                                           offset=offset)

    faustseam.write_store(store, [encoded("0/o", DirectoryOrgRow("o", 3), Event(0)),
                                  encoded("1/o", DirectoryOrgRow("o", 4), Event(1))])
    assert table["0/o"] == DirectoryOrgRow("o", 3) and len(store) == 2
    assert store._get(b'"1/o"') == b'{"org_id":"o","records":4}'
    tracemalloc.start()
    faustseam.write_store(store, [encoded(f"3/o{n}", DirectoryOrgRow("o", n), Event(3))
                                  for n in range(100)])
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert held < 100 * 1024, "a row takes its length, not the encoder's 4 KiB buffer"
    with pytest.raises(RuntimeError, match="without its event"):
        store["2/o"] = DirectoryOrgRow("o", 5)

    store.apply_changelog_batch([Event(2, b'"2/o"', b'{"org_id":"o","records":7}', 40),
                                 Event(1, b'"1/o"', None, 5)], None, None)
    changelog = table.changelog_topic.get_topic_name()
    assert store.persisted_offset(TP(changelog, 2)) == 40, "held up to the last offset applied"
    assert dict(store.items()) == {"0/o": DirectoryOrgRow("o", 3), "2/o": DirectoryOrgRow("o", 7),
                                   **{f"3/o{n}": DirectoryOrgRow("o", n) for n in range(100)}}
    store._served = frozenset({2})  # as a rebalance that serves partition 2 leaves it
    await store.on_recovery_completed({TP(changelog, 2)}, set())
    assert list(store) == ["2/o"] and "0/o" not in store
    assert store.persisted_offset(TP(changelog, 1)) is None, "dropped with its rows"


def test_a_value_codec_reaches_the_store_and_every_changelog_copy(app):
    """``Table.value_serializer``: the store, the changelog and its copies use the codec."""
    table = app.Table("seam-rows")
    codec = RowCodec(row_type=DirectoryOrgRow)
    faustseam.use_value_codec(table, codec)
    assert table.value_serializer is codec
    assert table.changelog_topic.clone().schema.value_serializer is codec
    assert table.changelog_topic.schema.value_serializer is codec


def root_logger() -> logging.Logger:
    logger = logging.Logger("seam-root", logging.WARN)
    logger.addHandler(logging.StreamHandler())
    return logger


def test_the_quiet_worker_keeps_the_root_logger_level(app):
    """``Worker.on_setup_root_logger`` and ``spinner``: Faust's own worker at WARN sets the
    root logger to DEBUG for its spinner (the cost the quiet worker avoids); ours does not."""
    faust_worker = faust.Worker(app, loglevel="WARN")
    assert faust_worker.spinner is not None
    logger = root_logger()
    faust_worker.on_setup_root_logger(logger, logging.WARN)
    assert logger.level == logging.DEBUG

    adjusted = []

    class Worker(faustseam.QuietWorker):
        def on_root_logger(self, logger):
            adjusted.append(logger)

    worker, logger = Worker(app, loglevel="WARN"), root_logger()
    worker.on_setup_root_logger(logger, logging.WARN)
    assert (worker.spinner, logger.level, adjusted) == (None, logging.WARN, [logger])


def test_recovery_completed_follows_the_table_manager(app):
    """``TableManager.recovery.completed``: an event set when the recovery is done."""
    assert faustseam.recovery_completed(app) is False
    app.tables.recovery.completed.set()
    assert faustseam.recovery_completed(app) is True


def test_the_root_service_is_the_worker_that_runs_the_app(app):
    """``beacon.root.data``: the app alone is its own root; under a worker, the worker."""
    assert faustseam.root_service(app) is app
    worker = faustseam.QuietWorker(app, loglevel="WARN")
    list(worker.on_init_dependencies())  # what the worker does as it starts
    assert faustseam.root_service(app) is worker


PRIVATE_ATTRIBUTES = {"_getmany", "_committed_offset", "_add_gap", "_new_transport",
                      "stream_inbound_time", "set_persisted_offset", "data", "value_serializer",
                      "on_setup_root_logger", "spinner", "recovery"}
"""Faust attributes the seam stands for (``data``: a table's store)."""


def faust_internals(path: Path) -> list[str]:
    """Where ``path`` names a Faust internal: an attribute above, a method overriding one, an
    import of a private or driver-level Faust name."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.name in PRIVATE_ATTRIBUTES
        ):
            found.append(f"{path.name}:{node.lineno} def {node.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("faust"):
            names = [alias.name for alias in node.names]
            if "drivers" in (node.module or "") or any(
                name.startswith("_") or name == "ConsumerMessage" for name in names
            ):
                found.append(f"{path.name}:{node.lineno} from {node.module} import {names}")
    return found


def test_faust_internals_are_named_only_in_the_seam():
    root = Path(streams.__file__).parent
    seam = root / "worker" / "faustseam.py"
    assert faust_internals(seam), "the check finds the seam's own uses"
    elsewhere = [found for path in sorted(root.rglob("*.py")) if path != seam
                 for found in faust_internals(path)]
    assert elsewhere == []


@pytest.mark.parametrize("store_url", ["memory://", "compact://", "rocksdb://"])
def test_store_get_reads_what_the_table_holds(tmp_path, store_url):
    """``SerializedStore._get`` and its codecs (called directly by ``store_get`` and
    ``DirectCodecs``): the same keys' bytes and rows as Faust's registry gives; the memory
    store's rows in its ``data`` dict (``store_reader``)."""
    settings = Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path), "WORKER_STORE": store_url})
    table = create_app(settings).context.tables.core.directory_orgs
    store = faustseam.table_store(table)

    class Event:
        message = SimpleNamespace(partition=1)

    rows = {"1/ö": DirectoryOrgRow("ö", 3), "1/o": DirectoryOrgRow("o", 4)}
    faustseam.write_store(store, [encoded(key, row, Event()) for key, row in rows.items()])
    assert {key: faustseam.store_get(store, key) for key in rows} == rows
    assert faustseam.store_get(store, "1/none", "default") == "default"
    read = faustseam.store_reader(store)  # ``memory.Store.data``: the memory store's dict
    assert {key: read(key, None) for key in rows} == rows
    assert read("1/none", "default") == "default"
    if isinstance(store, faustseam.DirectCodecs):
        registry = table.app.serializers
        for key, row in rows.items():
            assert store._encode_key(key) == registry.dumps_key(str, key, serializer="json")
            value_bytes = store._encode_value(row)
            assert value_bytes == orjson.dumps(row), "the bytes the batch writer gives a store"
            assert store._decode_value(value_bytes) == registry.loads_value(
                None, value_bytes, serializer=store.value_serializer) == row


def test_the_served_changelog_partitions_leave_out_standbys_and_other_topics(app):
    """``App.assignor.assigned_standbys``: what a store preloads at a rebalance."""
    table = app.context.tables.core.users
    store = faustseam.table_store(table)
    changelog = table.changelog_topic.get_topic_name()
    standby = TP(changelog, 2)
    app.assignor._assignment = SimpleNamespace(
        kafka_protocol_assignment=lambda table_manager: {}, standbys={changelog: [2]},
        actives={changelog: [0, 1]},
    )
    assert app.assignor.assigned_standbys() == {standby}
    assigned = {TP(changelog, 0), TP(changelog, 1), standby, TP("seam-other", 0)}
    assert faustseam.active_changelog_partitions(store, assigned) == {TP(changelog, 0),
                                                                       TP(changelog, 1)}
    options = faustseam.changelog_reader_options(app)
    assert options["isolation_level"] == "read_uncommitted" and options["bootstrap_servers"]


async def test_the_memory_store_knows_the_partition_of_every_row(tmp_path):
    """``faust.stores.memory.Store``: changelog messages decoded with the table's codecs, the
    batch writer's writes placed on their event's partition; a recovery's end drops the
    partitions not served, rows and offsets."""
    settings = Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path)})
    table = create_app(settings).context.tables.core.directory_orgs
    store = faustseam.table_store(table)
    assert isinstance(store, faustseam.MemoryStore)
    changelog = table.changelog_topic.get_topic_name()

    class Event:
        def __init__(self, partition: int, key: bytes = b"", value: bytes | None = b"",
                     offset: int = 0) -> None:
            self.message = SimpleNamespace(partition=partition, key=key, value=value,
                                           offset=offset)

    store.apply_changelog_batch([Event(0, b'"0/o"', orjson.dumps(DirectoryOrgRow("o", 1)), 3),
                                 Event(1, b'"1/o"', orjson.dumps(DirectoryOrgRow("o", 2)), 8),
                                 Event(1, b'"1/p"', orjson.dumps(DirectoryOrgRow("p", 2)), 9),
                                 Event(1, b'"1/p"', None, 10)], None, None)
    assert dict(store.items()) == {"0/o": DirectoryOrgRow("o", 1), "1/o": DirectoryOrgRow("o", 2)}
    assert store.persisted_offset(TP(changelog, 1)) == 10
    faustseam.write_store(store, [encoded("2/o", DirectoryOrgRow("o", 5), Event(2)),
                                  encoded("0/q", DirectoryOrgRow("q", 1), Event(0)),
                                  ("0/q", None, Event(0), (b'"0/q"', None))])
    assert "0/q" not in store and "0/q" not in store._key_partition, "deleted with its partition"
    store._served = frozenset({1, 2})  # as a rebalance that serves partitions 1 and 2 leaves it
    await store.on_recovery_completed({TP(changelog, 2), TP(changelog, 1)}, set())
    assert dict(store.items()) == {"1/o": DirectoryOrgRow("o", 2), "2/o": DirectoryOrgRow("o", 5)}
    assert store.persisted_offset(TP(changelog, 0)) is None
    del store["1/o"]
    store._served = frozenset({2})
    await store.on_recovery_completed({TP(changelog, 2)}, set())
    assert dict(store.items()) == {"2/o": DirectoryOrgRow("o", 5)}


async def test_a_rebalance_keeps_only_what_was_served_before_and_after(tmp_path, monkeypatch):
    """``Store.on_rebalance``: a partition served before and after keeps its rows and offset;
    one no longer served, and one that held rows without being served (a standby copy), is
    dropped; every served partition is handed to the preload (which reads what is missing)."""
    settings = Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path)})
    table = create_app(settings).context.tables.core.directory_orgs
    store = faustseam.table_store(table)
    changelog = table.changelog_topic.get_topic_name()
    preloaded = []

    async def preload(store, tps, name, options):
        preloaded.append(sorted(tp.partition for tp in tps))
        return 0

    monkeypatch.setattr(faustseam, "preload", preload)

    def changelog_row(partition: int, offset: int) -> SimpleNamespace:
        message = SimpleNamespace(partition=partition, key=b'"%d/o"' % partition,
                                  value=orjson.dumps(DirectoryOrgRow("o", partition)),
                                  offset=offset)
        return SimpleNamespace(message=message)

    await store.on_rebalance({TP(changelog, 0), TP(changelog, 1), TP("input", 2)}, set(),
                             set(), 1)
    store.apply_changelog_batch([changelog_row(0, 4), changelog_row(1, 5), changelog_row(2, 6)],
                                None, None)
    await store.on_rebalance({TP(changelog, 1), TP(changelog, 2)}, {TP(changelog, 0)},
                             {TP(changelog, 2)}, 2)
    assert preloaded == [[0, 1], [1, 2]]
    assert dict(store.items()) == {"1/o": DirectoryOrgRow("o", 1)}
    assert [store.persisted_offset(TP(changelog, n)) for n in range(3)] == [None, 5, None]
