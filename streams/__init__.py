"""Claude connector: Anthropic Analytics and Admin APIs as Avro change events on Kafka.

Data flows one way: ``client`` (API) → ``poller`` (snapshot → diff → events) → Kafka
→ ``worker`` (Faust agents, tables, alerts, views). ``cli`` is the edge that wires it.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
