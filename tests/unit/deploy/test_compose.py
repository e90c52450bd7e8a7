"""docker-compose.yml and the Dockerfile agree with the configuration the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from streams.config import SETTINGS
from streams.localkafka import KAFKA_VERSION

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
KNOWN_VARIABLES = {spec.env for spec in SETTINGS}
# Sub-commands the design fixes for the two long-running services.
SERVICE_COMMANDS = {"poller": ["poll"], "worker": ["worker"]}


def test_services_are_kafka_poller_and_worker():
    assert set(SERVICES) == {"kafka", "poller", "worker"}


def test_kafka_is_the_official_image_at_the_version_the_tests_use():
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    env = SERVICES["kafka"]["environment"]
    assert "broker" in env["KAFKA_PROCESS_ROLES"] and "controller" in env["KAFKA_PROCESS_ROLES"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")


def test_connector_services_build_this_repo_and_run_the_right_command():
    for name, command in SERVICE_COMMANDS.items():
        service = SERVICES[name]
        assert service["build"] == "."
        assert service["command"] == command
        assert "kafka" in service["depends_on"]
    assert (ROOT / "Dockerfile").exists()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["claude-connector"]' in dockerfile
    assert "COPY schemas" in dockerfile


def _value(raw: str) -> str:
    """The default of a ``${VAR:-default}`` expression, or the literal."""
    match = re.fullmatch(r"\$\{\w+:?[-?]([^}]*)\}", str(raw))
    return match.group(1) if match else str(raw)


def test_connector_services_set_only_variables_the_code_reads():
    for name in SERVICE_COMMANDS:
        environment = SERVICES[name]["environment"]
        unknown = set(environment) - KNOWN_VARIABLES
        assert not unknown, f"{name} sets variables the code never reads: {unknown}"
        assert environment["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        for variable, raw in environment.items():
            spec = next(spec for spec in SETTINGS if spec.env == variable)
            default = _value(raw)
            if default and not default.startswith("set "):
                spec.parse(default)


def test_worker_port_mapping_matches_its_web_settings():
    worker = SERVICES["worker"]
    port = worker["environment"]["WEB_PORT"]
    assert worker["environment"]["WEB_HOST"] == "0.0.0.0"
    assert worker["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert "WEB_TOKEN" in worker["environment"], "views exposed outside the container need a token"


def test_the_bundled_broker_is_published_on_loopback_only():
    for mapping in SERVICES["kafka"]["ports"]:
        assert str(mapping).startswith("127.0.0.1:"), mapping


DATA_DIR = "/var/lib/claude-connector"


def test_connector_containers_run_unprivileged_with_a_writable_data_volume():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile
    assert re.search(rf"install -d -o connector -g connector -m 0700 {DATA_DIR}", dockerfile)
    assert "useradd --system --uid 10001" in dockerfile
    assert f"CLAUDE_CONNECTOR_CACHE={DATA_DIR}" in dockerfile
    for name in SERVICE_COMMANDS:
        service = SERVICES[name]
        # The Dockerfile's USER holds; the cache stays on the volume whatever `.env` says.
        assert "user" not in service, f"{name} overrides the image's unprivileged user"
        assert service["environment"]["CLAUDE_CONNECTOR_CACHE"] == DATA_DIR
        mounts = dict(reversed(mount.split(":", 1)) for mount in service["volumes"])
        assert mounts[DATA_DIR] in COMPOSE["volumes"], f"{name}: no named volume on {DATA_DIR}"


def test_connector_services_get_every_setting_of_an_optional_env_file():
    for name in SERVICE_COMMANDS:
        assert SERVICES[name]["env_file"] == [{"path": ".env", "required": False}], name
