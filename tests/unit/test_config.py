"""Settings: defaults, environment, TOML file, validation, and keys that never show."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from streams.config import SETTINGS, Secret, Settings
from streams.errors import ConfigError

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_defaults_match_the_design():
    settings = Settings.load({})
    assert settings.api_base_url == "https://api.anthropic.com"
    assert settings.kafka_bootstrap_servers == "localhost:9092"
    assert settings.topic_prefix == "claude."
    assert settings.topic("user-events") == "claude.user-events"
    assert settings.web_host == "127.0.0.1"
    assert settings.connectors == ()


def test_environment_configures_one_connector():
    settings = Settings.load(
        {
            "CLAUDE_ANALYTICS_API_KEY": "sk-ant-api01-test-analytics",
            "CONNECTOR_NAME": "acme",
            "CORPORATE_DOMAINS": "Acme.com, acme.co.uk,,acme.com",
            "TOPIC_PREFIX": "prod.claude.",
        }
    )
    (connector,) = settings.connectors
    assert connector.name == "acme"
    assert connector.analytics_api_key == Secret("sk-ant-api01-test-analytics")
    assert connector.admin_api_key is None
    assert settings.corporate_domains == ("acme.co.uk", "acme.com")
    assert settings.topic("alerts") == "prod.claude.alerts"


def test_toml_file_lists_several_connectors_and_env_wins(tmp_path):
    config = tmp_path / "connector.toml"
    config.write_text(
        'topic_prefix = "file."\nroster_poll_seconds = 60\n'
        '[[connectors]]\nname = "console"\nadmin_api_key = "sk-ant-admin01-test-console"\n'
        '[[connectors]]\nname = "enterprise"\nanalytics_api_key = "sk-ant-api01-test-ent"\n'
        'api_base_url = "http://127.0.0.1:8080"\n'
    )
    settings = Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config), "TOPIC_PREFIX": "env."})
    assert settings.topic_prefix == "env."
    assert settings.roster_poll_seconds == 60
    assert [c.name for c in settings.connectors] == ["console", "enterprise"]
    assert settings.connectors[1].api_base_url == "http://127.0.0.1:8080"
    assert settings.connectors[0].api_base_url == "https://api.anthropic.com"


def test_compliance_key_alone_makes_a_connector_and_is_read_from_env_and_file(tmp_path):
    config = tmp_path / "connector.toml"
    config.write_text(
        '[[connectors]]\nname = "audit"\ncompliance_api_key = "sk-ant-api01-test-audit"\n'
    )
    settings = Settings.load(
        {
            "CLAUDE_CONNECTOR_CONFIG": str(config),
            "CLAUDE_COMPLIANCE_API_KEY": "sk-ant-api01-test-env",
            "CONNECTOR_NAME": "env",
        }
    )
    env, audit = settings.connectors
    assert env.compliance_api_key == Secret("sk-ant-api01-test-env")
    assert audit.compliance_api_key == Secret("sk-ant-api01-test-audit")
    assert "sk-ant" not in repr(settings)
    assert (settings.activity_poll_seconds, settings.compliance_rate_per_minute) == (30, 600)
    assert Settings.load({"ACTIVITY_POLL_SECONDS": "0"}).activity_poll_seconds == 0


def test_toml_keys_are_the_variables_in_lower_case(tmp_path):
    config = tmp_path / "connector.toml"
    config.write_text('claude_api_base_url = "http://127.0.0.1:9"\nweb_port = 7070\n')
    settings = Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config)})
    assert (settings.api_base_url, settings.web_port) == ("http://127.0.0.1:9", 7070)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"REMOVAL_GUARD_FRACTION": "1.5"}, "REMOVAL_GUARD_FRACTION: must be a fraction"),
        ({"WEB_PORT": "99999"}, "WEB_PORT: must be a TCP port"),
        ({"ROSTER_POLL_SECONDS": "0"}, "ROSTER_POLL_SECONDS: must be greater than 0"),
        ({"WEB_TOKEN": ""}, "WEB_TOKEN: is empty"),
        ({"WEB_TOKEN": "  \t"}, "WEB_TOKEN: is empty"),
        ({"ALERT_WEBHOOK_URL": "hooks.example.com/T0/secret"},
         "ALERT_WEBHOOK_URL: must be an http:// or https:// URL"),
        ({"ALERT_WEBHOOK_URL": "ftp://hooks.example.com/T0/secret"},
         "ALERT_WEBHOOK_URL: must be an http:// or https:// URL"),
        ({"ALERT_WEBHOOK_URL": "https:///T0/secret"}, "ALERT_WEBHOOK_URL: must name a host"),
        ({"ALERT_WEBHOOK_URL": "http://[::1/secret"}, "ALERT_WEBHOOK_URL: is not a URL"),
        ({"WEBHOOK_BACKOFF_MAX_SECONDS": "0"}, "WEBHOOK_BACKOFF_MAX_SECONDS: must be greater"),
        ({"REVISION_WINDOW_DAYS": "0"}, "REVISION_WINDOW_DAYS: must be a number of days from 1"),
        ({"REVISION_WINDOW_DAYS": "32"}, "REVISION_WINDOW_DAYS: must be a number of days from 1"),
        ({"UNAVAILABLE_RETRY_SECONDS": "-1"}, "UNAVAILABLE_RETRY_SECONDS: must be greater"),
        ({"TOPIC_PARTITIONS": "0"}, "TOPIC_PARTITIONS: must be a whole number greater than 0"),
        ({"TOPIC_REPLICATION_FACTOR": "-1"}, "TOPIC_REPLICATION_FACTOR: must be a whole number"),
        (
            {"CLAUDE_CONNECTOR_CONFIG": "/nonexistent/connector.toml"},
            "configuration file not found",
        ),
    ],
)
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        Settings.load(environ)
    assert "secret" not in str(refused.value) and "\n" not in str(refused.value)


def test_an_unset_token_is_none_and_a_webhook_url_is_a_secret(tmp_path):
    assert Settings.load({}).web_token is None
    config = tmp_path / "c.toml"
    config.write_text('web_token = " "\n')
    with pytest.raises(ConfigError, match="web_token: is empty"):
        Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config)})
    url = "https://hooks.example.com/services/T0/B0/path-credential"
    settings = Settings.load({"ALERT_WEBHOOK_URL": f" {url} "})
    assert settings.alert_webhook_url.reveal() == url
    assert "path-credential" not in repr(settings)
    assert Settings.load({"ALERT_WEBHOOK_URL": ""}).alert_webhook_url is None


def test_bad_toml_connectors_are_reported(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[[connectors]]\nname = "nokey"\n')
    with pytest.raises(ConfigError, match="needs an analytics, admin or compliance key"):
        Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config)})
    config.write_text(
        '[[connectors]]\nname = "a"\nadmin_api_key="k"\n' * 2
    )
    with pytest.raises(ConfigError, match="unique; repeated: a"):
        Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config)})
    config.write_text('[[connectors]]\nname = "default"\nadmin_api_key="k"\n')
    with pytest.raises(ConfigError, match="unique; repeated: default"):
        Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config), "CLAUDE_ADMIN_API_KEY": "k"})
    config.write_text("pol_seconds = 3\n")
    with pytest.raises(ConfigError, match="unknown settings: pol_seconds"):
        Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config)})


def test_keys_never_show_in_reprs():
    key = "sk-ant-admin01-verysecretvalue-0123456789"
    settings = Settings.load({"CLAUDE_ADMIN_API_KEY": key, "WEB_TOKEN": "token-xyz-secret"})
    for text in (
        repr(settings),
        str(settings),
        repr(settings.connectors),
        f"{settings.admin_api_key}",
    ):
        assert key not in text and "token-xyz-secret" not in text
    assert settings.admin_api_key.reveal() == key


def _readme_defaults() -> dict[str, str]:
    """The configuration table of the README: variable → its default cell (backticks off)."""
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \|([^|]*)\|", README, flags=re.MULTILINE)
    return {variable: cell.strip().strip("`") for variable, cell in rows}


def test_readme_documents_every_variable_with_its_default():
    documented = _readme_defaults()
    missing = [spec.env for spec in SETTINGS if spec.env not in documented]
    assert not missing, f"README configuration table lacks {missing}"
    wrong = {
        spec.env: (documented[spec.env], spec.default)
        for spec in SETTINGS
        if documented[spec.env] != (spec.default or "")
    }
    assert not wrong, f"README defaults (README, code) disagree: {wrong}"


def test_the_advertised_web_url_names_this_host_when_asked():
    assert Settings.load({}).advertised_web_url() is None
    settings = Settings.load({"WEB_ADVERTISED_URL": "http://{hostname}:6066"})
    assert settings.advertised_web_url() == f"http://{socket.gethostname()}:6066"
