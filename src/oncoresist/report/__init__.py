"""Self-contained HTML reports (Jinja2 + plotly) built from result sections, and static figures.

Names load on first use, so the command line can set the figure formats without importing
numpy, pandas or Jinja2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_getattr

if TYPE_CHECKING:
    from ._figures import FIGURE_FORMATS, export_figures, figure_bytes, parse_formats
    from ._html import render_html, render_report
    from ._section import COLUMN_UNITS, MAX_TABLE_ROWS, Section, column_label

__all__ = [
    "COLUMN_UNITS",
    "FIGURE_FORMATS",
    "MAX_TABLE_ROWS",
    "Section",
    "column_label",
    "export_figures",
    "figure_bytes",
    "parse_formats",
    "render_html",
    "render_report",
]

_WHERE = {
    "FIGURE_FORMATS": "._figures",
    "export_figures": "._figures",
    "figure_bytes": "._figures",
    "parse_formats": "._figures",
    "render_html": "._html",
    "render_report": "._html",
    "Section": "._section",
    "COLUMN_UNITS": "._section",
    "MAX_TABLE_ROWS": "._section",
    "column_label": "._section",
}


__getattr__ = lazy_getattr(__name__, _WHERE, globals())
