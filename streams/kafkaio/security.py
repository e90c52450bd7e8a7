"""How every Kafka client of the connector authenticates and encrypts: built once from Settings.

``KafkaSecurity`` holds ``KAFKA_SECURITY_PROTOCOL``, the SASL mechanism and credentials and the
TLS files. ``client_options()`` gives the keyword arguments of every aiokafka client (producer,
consumer, admin); ``faust_credentials()`` gives the same to the Faust app (its aiokafka driver
turns ``broker_credentials`` into the same keyword arguments). ``check_connection`` turns a
failed connection into one line that says what is wrong (wrong password, untrusted
certificate, no broker), never quoting the password.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError, UnsupportedSaslMechanismError
from aiokafka.protocol.metadata import MetadataRequest

from streams.config import Secret, Settings
from streams.errors import ConfigError, KafkaAccessError

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

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
        try:
            context = ssl.create_default_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None
            )
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"KAFKA_SSL_CAFILE={self.ssl_cafile}: not a PEM CA file ({exc})"
            ) from None
        if self.ssl_certfile is not None:
            try:
                context.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile))
            except (ssl.SSLError, OSError) as exc:
                raise ConfigError(
                    f"KAFKA_SSL_CERTFILE={self.ssl_certfile} with KAFKA_SSL_KEYFILE="
                    f"{self.ssl_keyfile}: not a PEM certificate and its key ({exc})"
                ) from None
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

    def faust_credentials(self) -> CredentialsT | None:
        """``broker_credentials`` for ``faust.App`` (None for PLAINTEXT)."""
        import faust  # only the worker loads Faust; the poller and the tools do not need it

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

    def environment(self) -> dict[str, str]:
        """The settings as environment variables, for a child process (a worker, a poller)."""
        return {
            "KAFKA_SECURITY_PROTOCOL": self.protocol,
            "KAFKA_SASL_MECHANISM": self.sasl_mechanism,
            "KAFKA_SASL_USERNAME": self.sasl_username,
            "KAFKA_SASL_PASSWORD": self.sasl_password.reveal() if self.sasl_password else "",
            "KAFKA_SSL_CAFILE": str(self.ssl_cafile or ""),
            "KAFKA_SSL_CERTFILE": str(self.ssl_certfile or ""),
            "KAFKA_SSL_KEYFILE": str(self.ssl_keyfile or ""),
        }

    def __repr__(self) -> str:
        return (
            f"KafkaSecurity(protocol={self.protocol!r}, sasl_mechanism={self.sasl_mechanism!r}, "
            f"sasl_username={self.sasl_username!r}, sasl_password={self.sasl_password!r})"
        )


PLAINTEXT = KafkaSecurity()


async def check_connection(bootstrap: str, security: KafkaSecurity) -> None:
    """Connect to the bootstrap servers once; ``KafkaAccessError`` saying why none can be used.

    Commands run this first, so a refused password or an untrusted certificate is one clear
    line instead of the client's retries and a generic bootstrap error.
    """
    reasons = []
    for server in (part.strip() for part in bootstrap.split(",") if part.strip()):
        reason = await _connection_failure(server, security)
        if reason is None:
            return
        reasons.append(reason)
    raise KafkaAccessError(reasons[0] if reasons else "KAFKA_BOOTSTRAP_SERVERS is empty")


async def _connection_failure(server: str, security: KafkaSecurity) -> str | None:
    """Why one connection to ``server`` (``host:port``) fails, in one line; None when it works."""
    host, _, port = server.rpartition(":")
    try:
        connection = await asyncio.wait_for(
            create_conn(host or server, int(port or 9092), **security.client_options()),
            PROBE_TIMEOUT_SECONDS,
        )
    except ssl.SSLCertVerificationError as exc:
        return (
            f"Kafka TLS: the certificate of {server} is not trusted ({exc.verify_message}); "
            "set KAFKA_SSL_CAFILE to the CA that signed it"
        )
    except ssl.SSLError as exc:
        return f"Kafka TLS handshake with {server} failed ({exc.reason}); is it a TLS listener?"
    except UnsupportedSaslMechanismError:
        return f"Kafka SASL: {server} does not offer KAFKA_SASL_MECHANISM={security.sasl_mechanism}"
    except KafkaError as exc:
        if security.uses_sasl and "authentication" in str(exc).lower():
            return (
                f"Kafka SASL authentication as {security.sasl_username!r} failed on {server}: "
                "wrong KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD (or KAFKA_SASL_MECHANISM)"
            )
        return _mismatch(server, security, exc)
    except (TimeoutError, OSError) as exc:
        return f"no Kafka broker reachable at {server} ({type(exc).__name__}: {exc})"
    try:
        await asyncio.wait_for(connection.send(MetadataRequest([])), PROBE_TIMEOUT_SECONDS)
    except (KafkaError, TimeoutError, OSError) as exc:
        return _mismatch(server, security, exc)
    finally:
        connection.close()
    return None


def _mismatch(server: str, security: KafkaSecurity, exc: Exception) -> str:
    return (
        f"Kafka at {server} ended the connection ({type(exc).__name__}): does "
        f"KAFKA_SECURITY_PROTOCOL={security.protocol} match the broker's listener?"
    )
