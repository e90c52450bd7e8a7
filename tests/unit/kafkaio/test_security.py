"""Kafka security settings: validation, the aiokafka and Faust options, no password shown."""

from __future__ import annotations

import re
import ssl

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from streams.config import Settings
from streams.errors import ConfigError
from streams.kafkaio.security import KafkaSecurity
from streams.localkafka.tls import ensure_broker_tls

PASSWORD = "sasl-password-never-shown"


@pytest.fixture
def ca_file(tmp_path):
    return ensure_broker_tls(tmp_path / "tls", "127.0.0.1").ca_file


def _sasl_ssl(ca_file, **extra: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
        "KAFKA_SASL_MECHANISM": "scram-sha-512",
        "KAFKA_SASL_USERNAME": "svc",
        "KAFKA_SASL_PASSWORD": PASSWORD,
        "KAFKA_SSL_CAFILE": str(ca_file),
        **extra,
    }


def test_sasl_ssl_options_for_aiokafka_and_faust_agree(ca_file):
    settings = Settings.load(_sasl_ssl(ca_file))
    security = KafkaSecurity.from_settings(settings)
    options = security.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("svc", PASSWORD)
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert options["ssl_context"].check_hostname
    faust_options = credentials_to_aiokafka_auth(security.faust_credentials())
    assert {k: v for k, v in faust_options.items() if k != "ssl_context"} == {
        k: v for k, v in options.items() if k != "ssl_context"
    }
    for text in (repr(settings), repr(security), repr(security.faust_credentials())):
        assert PASSWORD not in text


def test_plaintext_and_ssl_options(ca_file):
    assert KafkaSecurity.from_settings(Settings.load({})).client_options() == {
        "security_protocol": "PLAINTEXT"
    }
    assert KafkaSecurity.from_settings(Settings.load({})).faust_credentials() is None
    ssl_only = KafkaSecurity.from_settings(
        Settings.load({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(ca_file)})
    )
    assert set(ssl_only.client_options()) == {"security_protocol", "ssl_context"}
    assert isinstance(ssl_only.faust_credentials(), faust.SSLCredentials)


def test_sasl_plaintext_has_no_tls():
    security = KafkaSecurity.from_settings(
        Settings.load(
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "KAFKA_SASL_USERNAME": "u",
                "KAFKA_SASL_PASSWORD": "p",
            }
        )
    )
    assert "ssl_context" not in security.client_options()
    assert credentials_to_aiokafka_auth(security.faust_credentials())["security_protocol"] == (
        "SASL_PLAINTEXT"
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL: must be one of PLAINTEXT"),
        ({"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM: must be one of PLAIN"),
        (
            {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"},
            "KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
        ),
        ({"KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"}, "KAFKA_SSL_CAFILE: no such file"),
    ],
)
def test_bad_security_settings_are_one_clear_line(environ, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        Settings.load(environ)
    assert "\n" not in str(raised.value)


def test_tls_files_need_a_tls_protocol_and_come_in_pairs(ca_file, tmp_path):
    with pytest.raises(ConfigError, match="KAFKA_SSL_CAFILE is set but KAFKA_SECURITY_PROTOCOL"):
        Settings.load({"KAFKA_SSL_CAFILE": str(ca_file)})
    with pytest.raises(ConfigError, match="must be set together"):
        Settings.load(_sasl_ssl(ca_file, KAFKA_SSL_CERTFILE=str(ca_file)))


def test_toml_file_sets_the_security(ca_file, tmp_path):
    config = tmp_path / "connector.toml"
    config.write_text(
        f'kafka_security_protocol = "SASL_SSL"\nkafka_sasl_mechanism = "PLAIN"\n'
        f'kafka_sasl_username = "key-id"\nkafka_sasl_password = "{PASSWORD}"\n'
        f'kafka_ssl_cafile = "{ca_file}"\n'
    )
    settings = Settings.load({"CLAUDE_CONNECTOR_CONFIG": str(config)})
    security = KafkaSecurity.from_settings(settings)
    assert (security.protocol, security.sasl_mechanism, security.sasl_username) == (
        "SASL_SSL", "PLAIN", "key-id"
    )
    assert security.client_options()["sasl_plain_password"] == PASSWORD
    assert PASSWORD not in repr(settings)


def test_a_client_certificate_is_loaded_and_a_bad_one_is_one_line(ca_file):
    keystore = ca_file.parent / "broker.pem"  # a private key followed by its certificate chain
    settings = Settings.load(
        _sasl_ssl(ca_file, KAFKA_SSL_CERTFILE=str(keystore), KAFKA_SSL_KEYFILE=str(keystore))
    )
    assert isinstance(KafkaSecurity.from_settings(settings).ssl_context(), ssl.SSLContext)
    wrong = Settings.load(
        _sasl_ssl(ca_file, KAFKA_SSL_CERTFILE=str(ca_file), KAFKA_SSL_KEYFILE=str(ca_file))
    )
    with pytest.raises(ConfigError, match="not a PEM certificate and its key") as raised:
        KafkaSecurity.from_settings(wrong).client_options()
    assert "\n" not in str(raised.value)
    garbage = ca_file.parent / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"KAFKA_SSL_CAFILE=.*: not a PEM CA file"):
        KafkaSecurity.from_settings(Settings.load(_sasl_ssl(garbage))).ssl_context()
