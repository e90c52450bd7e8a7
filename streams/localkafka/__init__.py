"""A local single-node Apache Kafka (KRaft) for development, tests and the demo."""

from streams.localkafka.jars import KAFKA_VERSION, ensure_jars
from streams.localkafka.node import (
    SECURITY_MODES,
    BrokerInfo,
    LocalKafka,
    default_data_dir,
    free_port,
    port_in_use,
)

__all__ = [
    "KAFKA_VERSION",
    "SECURITY_MODES",
    "BrokerInfo",
    "LocalKafka",
    "default_data_dir",
    "ensure_jars",
    "free_port",
    "port_in_use",
]
