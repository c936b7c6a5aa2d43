"""Connectors for department systems that are not Python services: a file drop (CSV and JSON
lines from legacy exports, ``files.py``) and a transactional outbox table (``outbox.py``). Both
publish in Kafka transactions together with their progress in ``hub.connect.progress``, so a
restart resumes without loss or duplicates. ``hub connect files|outbox`` runs them."""
