"""The README's downstream consumer example, run as written against the real broker.

The events come from the real poller on a simulated org; the example reads them with
aiokafka, fastavro and ``schemas/`` only, and must print every one of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from streams.config import Settings
from streams.poller.loop import PollerRunner
from tests.fixtures.topics import read_topic

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Reading the events downstream"


def readme_example() -> str:
    """The first ``python`` code block of the README's downstream section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block under {SECTION!r}"
    return match.group(1)


def test_the_example_uses_nothing_of_this_package():
    imports = re.findall(r"^(?:from|import) (\w+)", readme_example(), re.MULTILINE)
    assert set(imports) <= {"asyncio", "io", "json", "os", "pathlib", "aiokafka", "fastavro"}


async def test_the_readme_consumer_prints_every_event_the_poller_wrote(
    sim_factory, kafka_bootstrap: str, tmp_path: Path
):
    sim = await sim_factory(users=25, seed=4, analytics_rate=3000, admin_rate=3000)
    prefix = f"readme{uuid.uuid4().hex[:8]}."
    settings = Settings.load({
        "CLAUDE_API_BASE_URL": sim.url,
        "CLAUDE_ANALYTICS_API_KEY": sim.config.analytics_key,
        "CLAUDE_ADMIN_API_KEY": sim.config.admin_key,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TOPIC_PREFIX": prefix,
        "TOPIC_PARTITIONS": "2",
        "ANALYTICS_RATE_PER_MINUTE": "3000",
        "ADMIN_RATE_PER_MINUTE": "3000",
    })
    async with PollerRunner(settings, quiet=True) as runner:
        (report,) = await runner.run_once()
        await sim.advance(days=1, add=2, remove=1)
        await runner.run_once()
    assert report.completed, report.reason
    written = {}
    for suffix in ("user-events", "connector-status"):
        for message in await read_topic(kafka_bootstrap, settings.topic(suffix)):
            written[message.value["event_id"]] = (settings.topic(suffix), message)
    assert {m.value["op"] for t, m in written.values() if "user" in t} >= {"SNAPSHOT", "ADDED"}

    script = tmp_path / "consumer.py"
    script.write_text(readme_example())
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TOPIC_PREFIX": prefix,
           "GROUP_ID": f"readme-{uuid.uuid4().hex[:8]}"}
    process = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    printed: dict[str, dict] = {}
    try:
        assert process.stdout is not None
        while set(printed) != set(written):
            raw = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
            assert raw, f"the example stopped: {process.stderr.read().decode()}"
            line = json.loads(raw)
            printed[line["event"]["event_id"]] = line
    finally:
        process.terminate()
        process.communicate(timeout=20)
    for event_id, line in printed.items():
        topic, message = written[event_id]
        assert line["topic"] == topic
        assert line["key"] == message.key
        assert line["type"] == message.headers["ce_type"].decode()
        assert line["event"]["org_id"] == message.value["org_id"]
        if "op" in message.value:
            assert line["event"]["op"] == message.value["op"]
            assert line["event"]["user_id"] == message.value["user_id"]
