"""Settings: read once at the edge (the CLI), frozen, and passed down explicitly.

Every setting is declared once in ``SETTINGS`` with its environment variable, default and
description; the README's configuration table lists the same names (a test checks that).
An optional TOML file (``CLAUDE_CONNECTOR_CONFIG``) may set the same keys in lower case (or
the attribute names of ``Settings``, e.g. ``api_base_url``) and list several connectors under
``[[connectors]]``; environment variables win over the file.
API keys are held as ``Secret`` so they never show in a ``repr``, a log line or an error.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from streams.errors import ConfigError


class Secret:
    """A string that never shows itself: ``repr``/``str`` print a fixed mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret text, for the one place that must send it (an HTTP header)."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


def _text(raw: str) -> str:
    return raw.strip()


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 1:
        raise ValueError("must be a fraction in (0, 1]")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must be 0 (off) or greater")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a whole number greater than 0")
    return value


def _optional_price(raw: str) -> float | None:
    return _non_negative_float(raw) if raw.strip() else None


def _revision_days(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 31:
        raise ValueError("must be a number of days from 1 to 31")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 <= value <= 65535:
        raise ValueError("must be a TCP port number")
    return value


def _comma_list(case: Callable[[str], str] = str) -> Callable[[str], tuple[str, ...]]:
    """A parser of a comma-separated list into its distinct non-empty parts, each ``case``-d,
    sorted."""

    def parse(raw: str) -> tuple[str, ...]:
        return tuple(sorted({case(part.strip()) for part in raw.split(",") if part.strip()}))

    return parse


_domains = _comma_list(str.lower)
_names = _comma_list()
_upper_names = _comma_list(str.upper)


def _optional_secret(raw: str) -> Secret | None:
    return Secret(raw.strip()) if raw.strip() else None


def _token(raw: str) -> Secret:
    if not raw.strip():
        raise ValueError("is empty; leave it unset for no token, or set a token")
    return Secret(raw.strip())


def _webhook_url(raw: str) -> Secret | None:
    """An http(s) URL with a host, held as a ``Secret`` (a Slack-style URL's path is its
    credential, so no error repeats it)."""
    text = raw.strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        raise ValueError("is not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not host:
        raise ValueError("must name a host (http(s)://host/path)")
    return Secret(text)


def _optional_path(raw: str) -> Path | None:
    return Path(raw).expanduser() if raw.strip() else None


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)} (got {raw.strip()!r})")
        return value

    return parse


def _readable_file(raw: str) -> Path | None:
    path = _optional_path(raw)
    if path is not None and not path.is_file():
        raise ValueError(f"no such file: {path}")
    return path


@dataclass(frozen=True)
class SettingSpec:
    """One configuration variable: where it comes from, its default, how it is parsed."""

    attribute: str
    env: str
    default: str | None
    """None: unset means None, and a value given must parse (an empty one is an error)."""
    parse: Callable[[str], Any]
    doc: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "api_base_url",
        "CLAUDE_API_BASE_URL",
        "https://api.anthropic.com",
        _text,
        "Base URL of the Anthropic API (or the simulator).",
    ),
    SettingSpec(
        "analytics_api_key",
        "CLAUDE_ANALYTICS_API_KEY",
        "",
        _optional_secret,
        "Claude Enterprise key with `read:analytics`.",
    ),
    SettingSpec(
        "admin_api_key",
        "CLAUDE_ADMIN_API_KEY",
        "",
        _optional_secret,
        "Console Admin key, or a claude.ai key with `read:members`.",
    ),
    SettingSpec(
        "compliance_api_key",
        "CLAUDE_COMPLIANCE_API_KEY",
        "",
        _optional_secret,
        "Enterprise key with `read:compliance_activities` for the Activity Feed (when unset, "
        "the admin key is tried: a Console Admin key reaches the feed; one the feed refuses "
        "leaves the feed unavailable without making the connector unhealthy).",
    ),
    SettingSpec(
        "connector_name",
        "CONNECTOR_NAME",
        "default",
        _text,
        "Name of the connector configured by the environment.",
    ),
    SettingSpec(
        "kafka_bootstrap_servers",
        "KAFKA_BOOTSTRAP_SERVERS",
        "localhost:9092",
        _text,
        "Kafka bootstrap servers, comma-separated.",
    ),
    SettingSpec(
        "kafka_security_protocol",
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT",
        _choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        "How every Kafka client talks to the brokers: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` "
        "or `SASL_SSL`.",
    ),
    SettingSpec(
        "kafka_sasl_mechanism",
        "KAFKA_SASL_MECHANISM",
        "PLAIN",
        _choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
        "SASL mechanism with `SASL_*`: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`.",
    ),
    SettingSpec(
        "kafka_sasl_username",
        "KAFKA_SASL_USERNAME",
        "",
        _text,
        "SASL user name (an API key id on managed clusters).",
    ),
    SettingSpec(
        "kafka_sasl_password",
        "KAFKA_SASL_PASSWORD",
        "",
        _optional_secret,
        "SASL password (an API secret on managed clusters); never logged.",
    ),
    SettingSpec(
        "kafka_ssl_cafile",
        "KAFKA_SSL_CAFILE",
        "",
        _readable_file,
        "PEM file of the CA that signed the brokers' certificates (default: the system's CAs).",
    ),
    SettingSpec(
        "kafka_ssl_certfile",
        "KAFKA_SSL_CERTFILE",
        "",
        _readable_file,
        "PEM client certificate, for brokers that require TLS client authentication.",
    ),
    SettingSpec(
        "kafka_ssl_keyfile",
        "KAFKA_SSL_KEYFILE",
        "",
        _readable_file,
        "PEM private key of `KAFKA_SSL_CERTFILE`.",
    ),
    SettingSpec("topic_prefix", "TOPIC_PREFIX", "claude.", _text, "Prefix of every topic name."),
    SettingSpec(
        "topic_partitions",
        "TOPIC_PARTITIONS",
        "6",
        _positive_int,
        "Partitions of the per-member topics when the connector creates them.",
    ),
    SettingSpec(
        "topic_replication_factor",
        "TOPIC_REPLICATION_FACTOR",
        "1",
        _positive_int,
        "Replication factor of topics the connector creates (use 3 on a production cluster).",
    ),
    SettingSpec(
        "corporate_domains",
        "CORPORATE_DOMAINS",
        "",
        _domains,
        "Comma-separated e-mail domains the company manages.",
    ),
    SettingSpec(
        "config_file",
        "CLAUDE_CONNECTOR_CONFIG",
        "",
        _optional_path,
        "Optional TOML file with the same settings and several `[[connectors]]`.",
    ),
    SettingSpec(
        "roster_poll_seconds",
        "ROSTER_POLL_SECONDS",
        "300",
        _positive_float,
        "Seconds between member-roster polls.",
    ),
    SettingSpec(
        "analytics_poll_seconds",
        "ANALYTICS_POLL_SECONDS",
        "3600",
        _positive_float,
        "Seconds between checks for newly available analytics days.",
    ),
    SettingSpec(
        "cost_poll_seconds",
        "COST_POLL_SECONDS",
        "3600",
        _positive_float,
        "Seconds between per-user usage and cost polls.",
    ),
    SettingSpec(
        "activity_poll_seconds",
        "ACTIVITY_POLL_SECONDS",
        "30",
        _non_negative_float,
        "Seconds between Compliance Activity Feed reads (0 turns the feed off).",
    ),
    SettingSpec(
        "revision_window_days",
        "REVISION_WINDOW_DAYS",
        "7",
        _revision_days,
        "Recent days (1-31) re-read every cycle to pick up restatements; days up to 30 back "
        "are re-read once a day.",
    ),
    SettingSpec(
        "unavailable_retry_seconds",
        "UNAVAILABLE_RETRY_SECONDS",
        "21600",
        _positive_float,
        "Seconds before a data type whose endpoint the key or organisation lacks (403/404) "
        "is tried again.",
    ),
    SettingSpec(
        "removal_guard_fraction",
        "REMOVAL_GUARD_FRACTION",
        "0.2",
        _fraction,
        "A roster drop larger than this fraction waits for a second complete listing.",
    ),
    SettingSpec(
        "analytics_rate_per_minute",
        "ANALYTICS_RATE_PER_MINUTE",
        "60",
        _positive_float,
        "Analytics API request budget per organisation per minute.",
    ),
    SettingSpec(
        "spend_limits_rate_per_minute",
        "SPEND_LIMITS_RATE_PER_MINUTE",
        "60",
        _positive_float,
        "Spend Limits API request budget per organisation per minute.",
    ),
    SettingSpec(
        "admin_rate_per_minute",
        "ADMIN_RATE_PER_MINUTE",
        "100",
        _positive_float,
        "Admin API request budget per organisation per minute.",
    ),
    SettingSpec(
        "compliance_rate_per_minute",
        "COMPLIANCE_RATE_PER_MINUTE",
        "600",
        _positive_float,
        "Compliance API request budget per parent organisation per minute (shared by every "
        "key and every /v1/compliance/* call).",
    ),
    SettingSpec(
        "directory_file",
        "DIRECTORY_FILE",
        "",
        _optional_path,
        "JSON-lines or CSV file of managed identities that `directory load` publishes when "
        "it is given no FILE.",
    ),
    SettingSpec(
        "directory_prune_fraction",
        "DIRECTORY_PRUNE_FRACTION",
        "0.2",
        _fraction,
        "`directory load --prune` refuses to tombstone more than this share of an "
        "organisation's identities unless given `--force`.",
    ),
    SettingSpec(
        "web_host", "WEB_HOST", "127.0.0.1", _text, "Address the worker's web views bind to."
    ),
    SettingSpec("web_port", "WEB_PORT", "6066", _port, "Port of the worker's web views."),
    SettingSpec(
        "web_advertised_url",
        "WEB_ADVERTISED_URL",
        "",
        _text,
        "URL the other workers of the app id reach this worker's views at, to answer for "
        "every partition; `{hostname}` stands for the host's name (default "
        "`http://WEB_HOST:WEB_PORT`; set it when WEB_HOST is 0.0.0.0).",
    ),
    SettingSpec(
        "web_allowed_hosts",
        "WEB_ALLOWED_HOSTS",
        "",
        _domains,
        "More names (comma-separated) the views answer to in a request's `Host` header, besides "
        "the loopback names, WEB_HOST and the host of WEB_ADVERTISED_URL (e.g. the name a "
        "reverse proxy passes on); `*` takes any name, as needed to scrape `/metrics` by "
        "address.",
    ),
    SettingSpec(
        "web_token",
        "WEB_TOKEN",
        None,
        _token,
        "Bearer token the web views require when set (set but empty is an error). Without "
        "it the worker serves its views on a loopback address only (see `--insecure-no-token`).",
    ),
    SettingSpec(
        "worker_app_id",
        "WORKER_APP_ID",
        "claude-connector",
        _text,
        "Faust application id (consumer group and changelog topic prefix).",
    ),
    SettingSpec(
        "worker_store",
        "WORKER_STORE",
        "memory://",
        _text,
        "Faust table store: `memory://`, `compact://` (rows in memory as their encoded JSON) "
        "or `rocksdb://` (tables on disk under the cache "
        "directory, so a restart reads them back instead of the whole changelog; needs the "
        "`rocksdb` extra).",
    ),
    SettingSpec(
        "spend_spike_daily_usd",
        "SPEND_SPIKE_DAILY_USD",
        "500",
        _non_negative_float,
        "A member's daily spend above this many USD raises SPEND_SPIKE (0 turns it off).",
    ),
    SettingSpec(
        "spend_spike_factor",
        "SPEND_SPIKE_FACTOR",
        "5",
        _non_negative_float,
        "Daily spend above this multiple of the member's trailing 7-day average raises "
        "SPEND_SPIKE (0 turns it off).",
    ),
    SettingSpec(
        "spend_limit_near_share",
        "SPEND_LIMIT_NEAR_SHARE",
        "0.8",
        _fraction,
        "A member whose spend so far in a period reaches this share of their effective spend "
        "limit raises SPEND_LIMIT_NEAR (Enterprise, read:spend_limits).",
    ),
    SettingSpec(
        "managed_connectors",
        "MANAGED_CONNECTORS",
        "",
        _names,
        "Comma-separated connectors the organisation runs on managed auth: a member's personal "
        "credential for one raises PERSONAL_CREDENTIAL_CONNECTOR (connectors seen on managed "
        "auth in the data count too).",
    ),
    SettingSpec(
        "disabled_rules",
        "DISABLED_RULES",
        "",
        _upper_names,
        "Comma-separated alert reasons whose rule is turned off (e.g. `SPEND_SPIKE`).",
    ),
    SettingSpec(
        "exposed_spend_usd",
        "EXPOSED_SPEND_USD",
        "50",
        _non_negative_float,
        "Recent spend (USD, the last 15 days with cost data) from which a member's identity "
        "alerts rank one severity higher (0: spend never raises them).",
    ),
    SettingSpec(
        "idle_days",
        "IDLE_DAYS",
        "30",
        _positive_int,
        "A member with no activity for this many days holds an idle seat (insights, report).",
    ),
    SettingSpec(
        "seat_price_usd",
        "SEAT_PRICE_USD",
        "",
        _optional_price,
        "Monthly price of one seat in USD, for the estimated cost of idle seats (none when "
        "unset).",
    ),
    SettingSpec(
        "alert_webhook_url",
        "ALERT_WEBHOOK_URL",
        "",
        _webhook_url,
        "Optional http(s) URL the worker POSTs every alert event to, at least once "
        "(HMAC-signed when a secret is set); a secret, never logged.",
    ),
    SettingSpec(
        "webhook_backoff_max_seconds",
        "WEBHOOK_BACKOFF_MAX_SECONDS",
        "60",
        _positive_float,
        "Longest wait between two tries of a webhook delivery the endpoint did not take "
        "(the wait doubles from 0.5 s up to this; a `Retry-After` answer wins).",
    ),
    SettingSpec(
        "alert_webhook_secret",
        "ALERT_WEBHOOK_SECRET",
        "",
        _optional_secret,
        "Secret for the HMAC-SHA256 signature of webhook deliveries.",
    ),
    SettingSpec(
        "cache_dir",
        "CLAUDE_CONNECTOR_CACHE",
        "~/.cache/claude-connector",
        lambda raw: Path(raw).expanduser(),
        "Where downloaded Kafka jars and local broker data are kept.",
    ),
)


@dataclass(frozen=True)
class ConnectorConfig:
    """One Claude organisation to poll: its name, base URL and the keys it holds."""

    name: str
    api_base_url: str
    analytics_api_key: Secret | None = None
    admin_api_key: Secret | None = None
    compliance_api_key: Secret | None = None

    @property
    def has_keys(self) -> bool:
        return bool(self.analytics_api_key or self.admin_api_key or self.compliance_api_key)


@dataclass(frozen=True)
class Settings:
    """The whole configuration of one process. Build it with ``Settings.load()``."""

    api_base_url: str
    analytics_api_key: Secret | None
    admin_api_key: Secret | None
    compliance_api_key: Secret | None
    connector_name: str
    kafka_bootstrap_servers: str
    kafka_security_protocol: str
    kafka_sasl_mechanism: str
    kafka_sasl_username: str
    kafka_sasl_password: Secret | None
    kafka_ssl_cafile: Path | None
    kafka_ssl_certfile: Path | None
    kafka_ssl_keyfile: Path | None
    topic_prefix: str
    topic_partitions: int
    topic_replication_factor: int
    corporate_domains: tuple[str, ...]
    config_file: Path | None
    roster_poll_seconds: float
    analytics_poll_seconds: float
    cost_poll_seconds: float
    activity_poll_seconds: float
    revision_window_days: int
    unavailable_retry_seconds: float
    removal_guard_fraction: float
    analytics_rate_per_minute: float
    spend_limits_rate_per_minute: float
    admin_rate_per_minute: float
    compliance_rate_per_minute: float
    directory_file: Path | None
    directory_prune_fraction: float
    web_host: str
    web_port: int
    web_advertised_url: str
    web_allowed_hosts: tuple[str, ...]
    web_token: Secret | None
    worker_app_id: str
    worker_store: str
    spend_spike_daily_usd: float
    spend_spike_factor: float
    managed_connectors: tuple[str, ...]
    disabled_rules: tuple[str, ...]
    exposed_spend_usd: float
    spend_limit_near_share: float
    idle_days: int
    seat_price_usd: float | None
    alert_webhook_url: Secret | None
    alert_webhook_secret: Secret | None
    webhook_backoff_max_seconds: float
    cache_dir: Path
    extra_connectors: tuple[ConnectorConfig, ...] = field(default=())

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then the TOML file, then the environment, then explicit overrides."""
        environ = os.environ if environ is None else environ
        file_path = environ.get("CLAUDE_CONNECTOR_CONFIG", "").strip()
        file_values, file_connectors = (
            _read_toml(Path(file_path).expanduser()) if file_path else ({}, [])
        )
        values: dict[str, Any] = {}
        for spec in SETTINGS:
            raw = environ.get(spec.env)
            source = spec.env
            if raw is None and spec.attribute in file_values:
                raw, source = str(file_values[spec.attribute]), f"{file_path}:{spec.attribute}"
            if raw is None and spec.default is None:
                values[spec.attribute] = None
                continue
            if raw is None:
                raw, source = spec.default, f"default of {spec.env}"
            try:
                values[spec.attribute] = spec.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{source}: {exc}") from None
        values.update(overrides)
        _check_kafka_security(values)
        base_url = values["api_base_url"]
        values["extra_connectors"] = tuple(
            _connector_from_table(table, base_url, position)
            for position, table in enumerate(file_connectors)
        )
        settings = cls(**values)
        _ = settings.connectors  # repeated connector names are an error of the load
        return settings

    @property
    def connectors(self) -> tuple[ConnectorConfig, ...]:
        """Every connector to poll: the environment's (if it holds a key), then the file's."""
        from_env = ConnectorConfig(
            name=self.connector_name,
            api_base_url=self.api_base_url,
            analytics_api_key=self.analytics_api_key,
            admin_api_key=self.admin_api_key,
            compliance_api_key=self.compliance_api_key,
        )
        found = ((from_env,) if from_env.has_keys else ()) + self.extra_connectors
        names = [connector.name for connector in found]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"connector names must be unique; repeated: {', '.join(duplicates)}")
        return found

    def advertised_web_url(self) -> str | None:
        """``WEB_ADVERTISED_URL`` with ``{hostname}`` replaced; None when it is not set."""
        url = self.web_advertised_url.strip()
        return url.replace("{hostname}", socket.gethostname()) if url else None

    def topic(self, suffix: str) -> str:
        """Full topic name for a suffix such as ``user-events``."""
        return f"{self.topic_prefix}{suffix}"

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed (used by the demo and tests)."""
        return dataclasses.replace(self, **changes)


def _check_kafka_security(values: Mapping[str, Any]) -> None:
    """The Kafka security settings that only make sense together."""
    protocol = values["kafka_security_protocol"]
    if protocol.startswith("SASL_") and not (
        values["kafka_sasl_username"] and values["kafka_sasl_password"]
    ):
        raise ConfigError(
            f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    tls_files = [
        name
        for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
        if values[name] is not None
    ]
    if tls_files and not protocol.endswith("SSL"):
        raise ConfigError(
            f"{tls_files[0].upper()} is set but KAFKA_SECURITY_PROTOCOL={protocol} does not use "
            "TLS; use SSL or SASL_SSL"
        )
    if (values["kafka_ssl_certfile"] is None) != (values["kafka_ssl_keyfile"] is None):
        raise ConfigError("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE must be set together")


def _read_toml(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    connectors = document.pop("connectors", [])
    if not isinstance(connectors, list) or not all(isinstance(t, dict) for t in connectors):
        raise ConfigError(f"{path}: 'connectors' must be an array of tables ([[connectors]])")
    names = {spec.env.lower(): spec.attribute for spec in SETTINGS}
    names.update({spec.attribute: spec.attribute for spec in SETTINGS})
    unknown = sorted(set(document) - names.keys())
    if unknown:
        raise ConfigError(f"{path}: unknown settings: {', '.join(unknown)}")
    return {names[key]: value for key, value in document.items()}, connectors


def _connector_from_table(
    table: Mapping[str, Any], base_url: str, position: int
) -> ConnectorConfig:
    name = str(table.get("name", "")).strip()
    if not name:
        raise ConfigError(f"connectors[{position}]: 'name' is required")
    allowed = {"name", "api_base_url", "analytics_api_key", "admin_api_key", "compliance_api_key"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"connectors[{position}] ({name}): unknown keys: {', '.join(unknown)}")
    connector = ConnectorConfig(
        name=name,
        api_base_url=str(table.get("api_base_url", base_url)),
        analytics_api_key=_optional_secret(str(table.get("analytics_api_key", ""))),
        admin_api_key=_optional_secret(str(table.get("admin_api_key", ""))),
        compliance_api_key=_optional_secret(str(table.get("compliance_api_key", ""))),
    )
    if not connector.has_keys:
        raise ConfigError(
            f"connectors[{position}] ({name}): needs an analytics, admin or compliance key"
        )
    return connector
