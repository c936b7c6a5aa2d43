"""Ways for department systems to publish change events into the hub."""
