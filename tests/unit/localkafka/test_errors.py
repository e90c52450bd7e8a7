"""The local broker fails with a clear message for each documented reason."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from streams.errors import LocalKafkaError
from streams.localkafka import LocalKafka, ensure_jars, free_port
from streams.localkafka.node import new_cluster_id


def _path_with_only(tmp_path: Path, *tools: str) -> str:
    """A PATH holding links to just the named tools (found on the real PATH)."""
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found, f"{tool} is needed for this test"
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_no_java_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_with_only(tmp_path))
    broker = LocalKafka(tmp_path / "data", tmp_path / "cache", port=free_port())
    with pytest.raises(LocalKafkaError, match="`java` is not on PATH"):
        broker.start()


def test_no_maven_and_no_cached_jars_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _path_with_only(tmp_path, "java"))
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    with pytest.raises(LocalKafkaError, match="no `mvn` on PATH"):
        ensure_jars(tmp_path / "cache")


def test_kafka_home_without_libs_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path))
    with pytest.raises(LocalKafkaError, match="has no libs/ folder"):
        ensure_jars(tmp_path / "cache")


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = LocalKafka(
            tmp_path / "data", tmp_path / "cache", port=port, controller_port=free_port()
        )
        with pytest.raises(LocalKafkaError, match=f"port 127.0.0.1:{port} is already in use"):
            broker.start()
    assert not (tmp_path / "data" / "broker.pid").exists()


def test_broken_install_fails_with_the_java_output(tmp_path, monkeypatch):
    (tmp_path / "kafka" / "libs").mkdir(parents=True)
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path / "kafka"))
    broker = LocalKafka(
        tmp_path / "data", tmp_path / "cache", port=free_port(), controller_port=free_port()
    )
    with pytest.raises(LocalKafkaError, match="Could not find or load main class"):
        broker.start()


def test_status_ignores_a_pid_file_of_another_process(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "broker.pid").write_text(
        json.dumps({"pid": os.getpid(), "host": "127.0.0.1", "port": 1, "controller_port": 2})
    )
    broker = LocalKafka(data, tmp_path / "cache")
    assert broker.status() is None, f"{sys.executable} is not a broker"
    assert broker.stop() is False


def test_cluster_ids_are_random_22_char_base64url_never_read_as_an_option():
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(cluster_id) == 22 and "=" not in cluster_id for cluster_id in ids)
    assert not any(cluster_id.startswith("-") for cluster_id in ids)


def test_maven_fetches_with_strict_checksums(tmp_path, monkeypatch):
    """Maven Central cannot be reached here: a stand-in ``mvn`` records how it was called."""
    calls = tmp_path / "mvn-args"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mvn").write_text(f'#!/bin/sh\necho "$@" > {calls}\nexit 1\n')
    (bin_dir / "mvn").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    with pytest.raises(LocalKafkaError, match="Maven could not fetch Kafka"):
        ensure_jars(tmp_path / "cache")
    assert "-C" in calls.read_text().split()


def test_a_data_dir_keeps_its_security_mode(tmp_path, monkeypatch):
    (tmp_path / "kafka" / "libs").mkdir(parents=True)
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path / "kafka"))
    data = tmp_path / "data"
    (data / "kraft").mkdir(parents=True)
    (data / "kraft" / "meta.properties").write_text("cluster.id=x\n")
    (data / "security").write_text("sasl_ssl")
    broker = LocalKafka(data, tmp_path / "cache", port=free_port(), controller_port=free_port())
    with pytest.raises(LocalKafkaError, match="made with --security sasl_ssl; use that"):
        broker.start()
    assert (data.stat().st_mode & 0o777) == 0o700
    with pytest.raises(LocalKafkaError, match="security must be one of plaintext, sasl_ssl"):
        LocalKafka(data, tmp_path / "cache", security="ssl")


def test_processes_starting_brokers_together_fetch_the_jars_once(tmp_path, monkeypatch):
    """Test runs in parallel share the cache: the second waits for the first's fetch."""
    from concurrent.futures import ThreadPoolExecutor

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "mvn-calls"
    fake_mvn = bin_dir / "mvn"
    fake_mvn.write_text(
        "#!/bin/sh\n"
        f"echo run >> {calls}\n"
        "sleep 0.5\n"
        'for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${arg#*=}";; esac; done\n'
        'touch "$out/kafka_2.13-4.1.1.jar"\n'
    )
    fake_mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    with ThreadPoolExecutor(3) as pool:
        folders = list(pool.map(lambda _: ensure_jars(tmp_path / "cache"), range(3)))
    assert len(set(folders)) == 1 and any(folders[0].glob("kafka_2.13-*.jar"))
    assert calls.read_text().splitlines() == ["run"]


def test_free_ports_are_outside_the_range_for_outgoing_connections():
    """Client sockets of parallel test sessions never take a port picked for a broker."""
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for _ in range(20):
        first = free_port(span=2)
        assert first + 1 < low or first > high
        for port in (first, first + 1):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", port))
