"""Confluent-compatible schema registry whose state is a fold over the compacted ``_schemas`` topic.

Modules: ``records`` (topic layout), ``state`` (the pure fold), ``service`` (operations),
``api`` (HTTP), ``kafka_log`` (Kafka I/O), ``server``/``cli`` (running it), ``publish``;
access control: ``auth`` (HTTP Basic verified against Kafka), ``access`` (who may write what,
pure), ``contract`` (raw schemas carry doc and x-pii).
"""
