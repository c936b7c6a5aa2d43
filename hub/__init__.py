"""Datendrehscheibe: the city of Hamm's event-driven data-sharing hub."""

__version__ = "0.1.0"
