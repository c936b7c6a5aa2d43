"""The local Kafka broker for development, tests and the demo (``hub broker ...``)."""

from hub.broker.local import BrokerError, BrokerStatus, LocalBroker

__all__ = ["BrokerError", "BrokerStatus", "LocalBroker"]
