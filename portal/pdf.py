"""The record of processing activities as PDF (WeasyPrint): the print template, with its own
stylesheet, rendered from the same dict as the page."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment


def record_pdf(env: Environment, context: dict[str, Any]) -> bytes:
    """Blocking (about a second): run it in a thread."""
    html = env.get_template("verarbeitungsverzeichnis_druck.html").render(**context)
    return html_pdf(html)


def html_pdf(html: str) -> bytes:
    """A self-contained HTML page (its stylesheet inline) as PDF; also the access letters of
    ``hub rights access --format pdf``. Blocking."""
    from weasyprint import HTML

    return HTML(string=html, base_url=None).write_pdf()
