"""Services that read from the hub: the router, subscribers, the feature-store sink."""
