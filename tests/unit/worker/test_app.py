"""``create_app`` builds a whole worker app in-process, as often as asked, from its settings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from faust.cli.base import find_app

from streams.app import App, create_app
from streams.cli import main
from streams.config import Settings
from streams.errors import ConfigError
from streams.events.records import AlertReason
from streams.worker.rows import RowCodec

EXPECTED_VIEWS = {"/", "/static/page.css", "/static/page.js", "/static/charts.js", "/health",
                  "/users", "/users/{user_id}", "/keys", "/alerts", "/identities", "/status",
                  "/metrics", "/insights", "/decisions"}


def settings_for(tmp_path: Path, **environ: str) -> Settings:
    return Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path), **environ})


def paths(app: App) -> set[str]:
    return {view.view_path for view in app.web.views.values()}


def test_create_app_builds_everything_from_its_settings(tmp_path: Path):
    first = create_app(settings_for(tmp_path, TOPIC_PREFIX="one.", WORKER_APP_ID="first"))
    second = create_app(settings_for(
        tmp_path, TOPIC_PREFIX="two.", WORKER_APP_ID="second", TOPIC_PARTITIONS="3",
        ALERT_WEBHOOK_URL="http://127.0.0.1:9/hook", CORPORATE_DOMAINS="acme.com",
    ))

    assert first.conf.id == "first" and second.conf.id == "second"
    assert first.batch_topics == {
        "one.user-events", "one.usage-deltas", "one.app-associations", "one.activities",
        "one.invites",
    }
    assert second.batch_topics == {
        "two.user-events", "two.usage-deltas", "two.app-associations", "two.activities",
        "two.invites",
    }
    assert {agent.split(".")[-1] for agent in first.agents} == {
        "fan_out_directory", "apply_directory", "fold_connector_status",
        "fold_alert_decisions"}
    # The webhook delivery is a task of its own consumer group, started with the app.
    tasks = {app: [task.__name__ for task in app._app_tasks] for app in (first, second)}
    assert "deliver_events" in tasks[second] and "deliver_events" not in tasks[first]
    assert paths(first) == paths(second) == EXPECTED_VIEWS
    assert {table for table in first.tables} == {table for table in second.tables}
    assert second.tables["users"] is second.context.tables.core.users
    assert first.tables["users"] is not second.tables["users"]
    for table in second.tables.values():  # the store and the changelog read rows alike
        assert isinstance(table.value_serializer, RowCodec), table.name
        codec = table.value_serializer
        assert table.changelog_topic.schema.value_serializer is codec
        recovery_copy = table.changelog_topic.clone()  # what the recovery reads
        assert recovery_copy.schema.value_serializer is codec, table.name
        assert table.changelog_topic.schema.value_serializer is codec, table.name

    context = second.context
    assert context.app is second
    assert context.policy.corporate_domains == frozenset({"acme.com"})
    assert context.channels.directory_fanout.get_topic_name() == "second-directory-fanout"
    assert context.channels.partition_count("two.usage-deltas") == 3
    assert context.channels.partition_count("two.connector-status") == 1
    assert context.runner.lock is not first.context.runner.lock
    assert (tmp_path / "worker" / "second").is_dir()


def test_faust_finds_the_app_by_module_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``faust -A streams.app`` builds the app from ``Settings.load()`` on first access."""
    monkeypatch.setenv("CLAUDE_CONNECTOR_CACHE", str(tmp_path))
    monkeypatch.setenv("WORKER_APP_ID", "found-by-faust")
    monkeypatch.setattr(sys.modules["streams.app"], "_loaded", {})

    app = find_app("streams.app")

    assert isinstance(app, App)
    assert app.conf.id == "found-by-faust"
    assert find_app("streams.app") is app


def test_disabled_rules_turn_rules_off_and_an_unknown_name_is_a_config_error(tmp_path: Path):
    app = create_app(settings_for(tmp_path, DISABLED_RULES="spend_spike, PERSONAL_DOMAIN"))
    assert app.context.policy.disabled == {AlertReason.SPEND_SPIKE, AlertReason.PERSONAL_DOMAIN}
    with pytest.raises(ConfigError, match="DISABLED_RULES: unknown rules NOPE"):
        create_app(settings_for(tmp_path, DISABLED_RULES="nope"))


def test_views_beyond_loopback_without_a_token_are_refused_unless_insisted(tmp_path: Path):
    with pytest.raises(ConfigError, match="WEB_TOKEN is not set"):
        create_app(settings_for(tmp_path, WEB_HOST="0.0.0.0"))
    insisted = create_app(settings_for(tmp_path, WEB_HOST="0.0.0.0"), insecure_no_token=True)
    assert "/users" in paths(insisted)
    result = CliRunner().invoke(
        main, ["worker", "--web-host", "0.0.0.0"],
        env={"WEB_TOKEN": None, "CLAUDE_CONNECTOR_CACHE": str(tmp_path),
             "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"},
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: WEB_HOST=0.0.0.0 serves the views beyond this host but WEB_TOKEN is not set: "
        "set WEB_TOKEN, bind a loopback address, or pass --insecure-no-token"
    ]


@pytest.mark.parametrize(("store", "standbys"),
                         [("memory://", 0), ("compact://", 0), ("rocksdb://", 1)])
def test_only_a_store_on_disk_keeps_standby_copies(tmp_path: Path, store: str, standbys: int):
    app = create_app(Settings.load({"CLAUDE_CONNECTOR_CACHE": str(tmp_path),
                                    "WORKER_STORE": store}))
    assert app.conf.table_standby_replicas == standbys
