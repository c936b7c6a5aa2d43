"""``python -m consumers.deliveries serve``: the same as ``hub deliveries serve``."""

from consumers.deliveries.cli import app
from hub.logs import configure_logging
from hub.settings import get_settings

settings = get_settings()
configure_logging(settings.log_level, settings.log_format)
app()
