"""Self-contained HTML reports (Jinja2 + plotly) built from result sections."""

from __future__ import annotations

from ._html import render_html, render_report
from ._section import Section

__all__ = ["Section", "render_html", "render_report"]
