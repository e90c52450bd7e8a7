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
    assert "1 records, 1 published, 0 unchanged, 1 tombstones" in load("--prune")
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
