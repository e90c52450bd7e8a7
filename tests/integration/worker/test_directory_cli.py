"""``claude-connector directory load`` against the session broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.events.codec import decode
from streams.events.records import DirectoryStatus
from streams.events.topics import DIRECTORY
from streams.kafkaio import ensure_topics, read_compacted
from tests.fixtures.poller import poll_once, settings_for

pytestmark = pytest.mark.kafka


def test_load_publishes_changes_only_and_prunes(kafka_bootstrap, tmp_path, monkeypatch):
    prefix = f"dir{uuid.uuid4().hex[:8]}."
    asyncio.run(ensure_topics(kafka_bootstrap, prefix, 2))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    path = tmp_path / "directory.jsonl"
    path.write_text('{"email": "a@acme.com", "employee_id": "e1", "status": "active"}\n'
                    '{"email": "b@acme.com", "employee_id": "e2", "status": "deprovisioned"}\n')
    runner = CliRunner()

    def load(*extra: str) -> str:
        result = runner.invoke(main, ["directory", "load", str(path), "--org", "org_1", *extra])
        assert result.exit_code == 0, result.output
        return result.output

    assert "2 records, 2 published, 0 unchanged, 0 tombstones" in load()
    assert "2 records, 0 published, 2 unchanged, 0 tombstones" in load()
    path.write_text('{"email": "a@acme.com", "employee_id": "e1", "status": "deprovisioned"}\n')
    refused = runner.invoke(main, ["directory", "load", str(path), "--org", "org_1", "--prune"])
    assert refused.exit_code == 1
    assert "would remove 1 of the 2 identities of org_1 (more than 20%" in refused.output
    assert "nothing was published" in refused.output
    assert "1 records, 1 published, 0 unchanged, 1 tombstones" in load("--prune", "--force")
    current = asyncio.run(read_compacted(kafka_bootstrap, DIRECTORY.name(prefix)))
    assert {key: decode(value).status for key, value in current.items()} == {
        b"org_1:a@acme.com": DirectoryStatus.DEPROVISIONED
    }


def test_a_bad_file_is_a_clear_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("email,status\nx@acme.com,retired\n")
    result = CliRunner().invoke(main, ["directory", "load", str(path), "--org", "o"])
    assert result.exit_code == 1
    assert "d.csv:2: status must be active or deprovisioned" in result.output


def test_without_a_file_the_directory_file_setting_is_loaded(kafka_bootstrap, tmp_path,
                                                            monkeypatch):
    prefix = f"dir{uuid.uuid4().hex[:8]}."
    asyncio.run(ensure_topics(kafka_bootstrap, prefix, 2))
    path = tmp_path / "employees.csv"
    path.write_text("email,status,org_id\nc@acme.com,active,org_2\n")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    monkeypatch.setenv("DIRECTORY_FILE", str(path))
    result = CliRunner().invoke(main, ["directory", "load"])
    assert result.exit_code == 0, result.output
    assert "1 records, 1 published" in result.output
    current = asyncio.run(read_compacted(kafka_bootstrap, DIRECTORY.name(prefix)))
    assert list(current) == [b"org_2:c@acme.com"]

    monkeypatch.setenv("DIRECTORY_FILE", str(tmp_path / "missing.csv"))
    result = CliRunner().invoke(main, ["directory", "load"])
    assert result.exit_code == 1 and "missing.csv: cannot be read" in result.output
    monkeypatch.delenv("DIRECTORY_FILE")
    result = CliRunner().invoke(main, ["directory", "load"])
    assert result.exit_code == 2 and "give FILE or set DIRECTORY_FILE" in result.output


def _topic_prefix(kafka_bootstrap, monkeypatch) -> str:
    prefix = f"dir{uuid.uuid4().hex[:8]}."
    asyncio.run(ensure_topics(kafka_bootstrap, prefix, 2))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    return prefix


def test_a_malformed_line_publishes_nothing(kafka_bootstrap, tmp_path, monkeypatch):
    prefix = _topic_prefix(kafka_bootstrap, monkeypatch)
    path = tmp_path / "people.csv"
    path.write_text('email,name\na@acme.com,Al\nb@acme.com,"Bo\n')
    result = CliRunner().invoke(main, ["directory", "load", str(path), "--org", "o"])
    assert result.exit_code == 1
    error = f"Error: {path}:3: unbalanced quote (the quoted field never ends)"
    assert result.output.strip() == error
    assert asyncio.run(read_compacted(kafka_bootstrap, DIRECTORY.name(prefix))) == {}


def test_prune_within_the_share_needs_no_force(kafka_bootstrap, tmp_path, monkeypatch):
    prefix = _topic_prefix(kafka_bootstrap, monkeypatch)
    path = tmp_path / "people.csv"
    people = [f"p{n}@acme.com" for n in range(10)]
    path.write_text("email\n" + "\n".join(people) + "\n")
    runner = CliRunner()
    assert runner.invoke(main, ["directory", "load", str(path), "--org", "o"]).exit_code == 0
    path.write_text("email\n" + "\n".join(people[:7]) + "\n")
    refused = runner.invoke(main, ["directory", "load", str(path), "--org", "o", "--prune"])
    assert refused.exit_code == 1 and "would remove 3 of the 10 identities" in refused.output
    assert len(asyncio.run(read_compacted(kafka_bootstrap, DIRECTORY.name(prefix)))) == 10
    monkeypatch.setenv("DIRECTORY_PRUNE_FRACTION", "0.3")
    allowed = runner.invoke(main, ["directory", "load", str(path), "--org", "o", "--prune"])
    assert allowed.exit_code == 0 and "3 tombstones" in allowed.output, allowed.output
    assert len(asyncio.run(read_compacted(kafka_bootstrap, DIRECTORY.name(prefix)))) == 7


async def test_org_may_be_left_out_when_the_connector_knows_one(
    kafka_bootstrap, tmp_path, monkeypatch, sim_factory
):
    path = tmp_path / "people.csv"
    path.write_text("email\na@acme.com\n")
    prefix = f"dir{uuid.uuid4().hex[:8]}."
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    await ensure_topics(kafka_bootstrap, prefix, 2)

    def load():
        return CliRunner().invoke(main, ["directory", "load", str(path)])

    unknown = await asyncio.to_thread(load)
    assert unknown.exit_code == 1
    assert "name no org_id and the connector knows none yet; pass --org" in unknown.output
    sim = await sim_factory(users=3, seed=2, analytics_rate=3000.0, admin_rate=3000.0)
    assert (await poll_once(settings_for(sim, kafka_bootstrap, prefix=prefix))).completed
    org = (await sim.truth())["organization_id"]
    known = await asyncio.to_thread(load)
    assert known.exit_code == 0, known.output
    assert f"organisation {org} (the only one the connector knows)" in known.output
    current = await read_compacted(kafka_bootstrap, DIRECTORY.name(prefix))
    assert list(current) == [f"{org}:a@acme.com".encode()]
