"""The AI feature store subscriber: windowed, k-anonymous aggregates of ki-featurestore
deliveries, published to Feast.

Pure core: `definition` (feature view YAML), `binding` (definitions against agreements),
`aggregations`, `windows` (the `Aggregator`), `changelog` (state records). I/O at the edges:
`pipeline` (Kafka, transactions), `feast_repo` (Feast), `api` (HTTP), `cli`.
"""
