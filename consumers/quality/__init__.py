"""The quality reader: daily quality figures per data set, from ``hub.quality`` (the router's
summaries) and, where Prometheus is configured, the producers' rejections at the door."""
