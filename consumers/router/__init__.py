"""The router: data-sharing agreements applied to every event, exactly once, with audit and DLQ.

``Router`` is the service (transactions; ``kafka`` is its confluent-kafka side); ``routes``
builds what it applies from the agreements; ``process`` is the pure per-batch work (the Python
engine, the specification); ``engine`` hands that work to the native core (``native/``) where
it is installed; ``audit`` and ``deadletter`` shape records.
"""
