"""A minimal Faust app for the broker test: one agent counts words into a changelog-backed table."""

import os

import faust

app = faust.App(
    os.environ["COUNTER_APP_ID"],
    broker=f"kafka://{os.environ['KAFKA_BOOTSTRAP_SERVERS']}",
    store="memory://",
    topic_partitions=1,
    web_enabled=False,
)
words = app.topic(os.environ["COUNTER_TOPIC"], key_type=str, value_type=str)
counts = app.Table("counts", default=int, partitions=1)


@app.agent(words)
async def count(stream):
    async for word in stream:
        counts[word] += 1
