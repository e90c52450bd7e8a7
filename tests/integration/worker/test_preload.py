"""A table's changelog read in bulk into its store (``streams.worker.preload``), on the real
broker: both stores end with the changelog's last value per key and the last offset as their
persisted offset, and a second preload reads only what came after it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.types import TP

from streams.app import create_app
from streams.config import Settings
from streams.worker import faustseam
from streams.worker.preload import preload
from streams.worker.rows import DirectoryOrgRow

pytestmark = pytest.mark.kafka


async def create(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()


async def write(
    bootstrap: str, topic: str, messages: list[tuple[int, bytes, bytes | None]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key, partition=partition)
                for partition, key, value in messages]
        for result in sent:
            await result
    finally:
        await producer.stop()


def row(records: int) -> bytes:
    return b'{"org_id":"o","records":%d}' % records


@pytest.mark.parametrize("store_url", ["memory://", "compact://", "rocksdb://"])
async def test_a_preload_reads_the_changelog_after_the_persisted_offset(
    kafka_bootstrap: str, tmp_path: Path, store_url: str
) -> None:
    app = create_app(Settings.load({
        "CLAUDE_CONNECTOR_CACHE": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "WORKER_APP_ID": f"preload-{uuid.uuid4().hex[:8]}", "WORKER_STORE": store_url,
    }))
    table = app.context.tables.core.directory_orgs
    store = faustseam.table_store(table)
    topic = f"preload-{uuid.uuid4().hex[:8]}"
    tps = {TP(topic, 0), TP(topic, 1)}
    options = faustseam.changelog_reader_options(app)
    assert options["bootstrap_servers"] == [kafka_bootstrap]

    await create(kafka_bootstrap, topic)
    first = [(n % 2, b'"%d/o%d"' % (n % 2, n), row(n)) for n in range(2_500)]
    await write(kafka_bootstrap, topic, first)
    assert await preload(store, tps, "directory-orgs", options) == 2_500
    assert all(table[f"{n % 2}/o{n}"] == DirectoryOrgRow("o", n) for n in range(2_500))
    assert {tp: store.persisted_offset(tp) for tp in tps} == {TP(topic, 0): 1_249,
                                                               TP(topic, 1): 1_249}

    await write(kafka_bootstrap, topic, [(0, b'"0/o0"', None), (1, b'"1/o1"', row(7))])
    assert await preload(store, tps, "directory-orgs", options) == 2, "only what is new"
    assert "0/o0" not in store and table["1/o1"] == DirectoryOrgRow("o", 7)
    assert store.persisted_offset(TP(topic, 0)) == 1_250
    assert await preload(store, tps, "directory-orgs", options) == 0


async def test_a_record_the_store_cannot_apply_ends_the_preload_with_a_warning(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"preload-{uuid.uuid4().hex[:8]}"
    await create(kafka_bootstrap, topic)
    await write(kafka_bootstrap, topic, [(0, b'"0/o"', b"not json")])

    class Refusing:
        def persisted_offset(self, tp: TP) -> int | None:
            return None

        def apply_changelog_batch(self, batch: object, to_key: object, to_value: object) -> None:
            raise ValueError("not a row")

    read = await preload(Refusing(), {TP(topic, 0)}, "users",
                         {"bootstrap_servers": kafka_bootstrap})
    assert read == 0
    assert "table users: changelog preload stopped after 0 messages (ValueError)" in caplog.text
