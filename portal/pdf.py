"""The record of processing activities as PDF (WeasyPrint): the print template, with its own
stylesheet, rendered from the same dict as the page."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment


def record_pdf(env: Environment, context: dict[str, Any]) -> bytes:
    """Blocking (about a second): run it in a thread."""
    from weasyprint import HTML

    html = env.get_template("verarbeitungsverzeichnis_druck.html").render(**context)
    return HTML(string=html, base_url=None).write_pdf()
