"""``hub deploy``: deployment manifests rendered from the catalog (Kubernetes with Strimzi)."""
