"""Self-contained HTML reports (Jinja2 + plotly) built from result sections."""

from __future__ import annotations

from ._figures import FIGURE_FORMATS, export_figures, figure_bytes, parse_formats
from ._html import render_html, render_report
from ._section import Section

__all__ = [
    "FIGURE_FORMATS",
    "Section",
    "export_figures",
    "figure_bytes",
    "parse_formats",
    "render_html",
    "render_report",
]
