"""How every Kafka client of the connector authenticates and encrypts: built once from Settings.

``KafkaSecurity`` holds ``KAFKA_SECURITY_PROTOCOL``, the SASL mechanism and credentials and the
TLS files. ``client_options()`` gives the keyword arguments of every aiokafka client (producer,
consumer, admin); ``faust_credentials()`` gives the same to the Faust app (its aiokafka driver
turns ``broker_credentials`` into the same keyword arguments). ``explain_connection_failure``
turns a failed connection into one line that says what is wrong (wrong password, untrusted
certificate, no broker), never quoting the password.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError, UnsupportedSaslMechanismError

from streams.config import Secret, Settings

PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class KafkaSecurity:
    """Protocol, SASL credentials and TLS files shared by every Kafka client."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str = ""
    sasl_password: Secret | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        return cls(
            protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=settings.kafka_sasl_password,
            ssl_cafile=settings.kafka_ssl_cafile,
            ssl_certfile=settings.kafka_ssl_certfile,
            ssl_keyfile=settings.kafka_ssl_keyfile,
        )

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (the CA file, else the system's CAs), or None without TLS."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None
        )
        if self.ssl_certfile is not None:
            context.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile))
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of every aiokafka client (producer, consumer, admin)."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                self.sasl_password.reveal() if self.sasl_password else ""
            )
        return options

    def faust_credentials(self) -> faust.types.auth.CredentialsT | None:
        """``broker_credentials`` for ``faust.App`` (None for PLAINTEXT)."""
        if self.uses_sasl:
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password.reveal() if self.sasl_password else "",
                ssl_context=self.ssl_context(),
                mechanism=self.sasl_mechanism,
            )
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context())
        return None

    def __repr__(self) -> str:
        return (
            f"KafkaSecurity(protocol={self.protocol!r}, sasl_mechanism={self.sasl_mechanism!r}, "
            f"sasl_username={self.sasl_username!r}, sasl_password={self.sasl_password!r})"
        )


PLAINTEXT = KafkaSecurity()


async def explain_connection_failure(bootstrap: str, security: KafkaSecurity) -> str | None:
    """Connect to the first bootstrap server once: one line on why that fails (None: it works)."""
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    try:
        connection = await asyncio.wait_for(
            create_conn(host or "localhost", int(port or 9092), **security.client_options()),
            PROBE_TIMEOUT_SECONDS,
        )
    except ssl.SSLCertVerificationError as exc:
        return (
            f"Kafka TLS: the certificate of {first} is not trusted ({exc.verify_message}); "
            "set KAFKA_SSL_CAFILE to the CA that signed it"
        )
    except ssl.SSLError as exc:
        return f"Kafka TLS handshake with {first} failed ({exc.reason}); is it a TLS listener?"
    except UnsupportedSaslMechanismError:
        return f"Kafka SASL: {first} does not offer KAFKA_SASL_MECHANISM={security.sasl_mechanism}"
    except KafkaError as exc:
        if security.uses_sasl and "auth" in type(exc).__name__.lower():
            return (
                f"Kafka SASL authentication as {security.sasl_username!r} failed on {first}: "
                "wrong KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD (or mechanism)"
            )
        return f"Kafka at {first}: {type(exc).__name__}"
    except (TimeoutError, OSError) as exc:
        return f"no Kafka broker reachable at {first} ({type(exc).__name__})"
    connection.close()
    return None
