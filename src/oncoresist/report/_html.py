"""Render sections into one self-contained HTML file (plotly.js inlined once, no network)."""

from __future__ import annotations

import datetime as _dt
import html
import os
from collections.abc import Sequence
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from .._io import write_text
from ._section import Section

__all__ = ["render_html", "render_report"]


def _table_html(df: pd.DataFrame, max_rows: int) -> str:
    shown = df.head(max_rows)
    fmt = shown.copy()
    for col in fmt.columns:
        if pd.api.types.is_float_dtype(fmt[col]):
            fmt[col] = fmt[col].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    out = fmt.to_html(index=False, classes="tbl", border=0, escape=True, na_rep="")
    if len(df) > max_rows:
        out += f'<p class="note">showing {max_rows} of {len(df)} rows</p>'
    return out


def render_html(sections: Sequence[Section], *, title: str = "oncoresist report") -> str:
    """Return the HTML text of a report made of ``sections``."""
    import plotly.io as pio
    import plotly.offline

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("oncoresist.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    template = env.get_template("report.html")
    rendered = []
    for i, sec in enumerate(sections):
        figs = [
            pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"fig-{i}-{j}")
            for j, fig in enumerate(sec.figures)
        ]
        tables = [(cap, _table_html(df, sec.max_rows)) for cap, df in sec.tables]
        rendered.append(
            {
                "title": sec.title,
                "anchor": f"s{i}",
                "text": sec.text,
                "figures": figs,
                "tables": tables,
            }
        )
    from .. import __version__

    return template.render(
        title=html.escape(title),
        sections=rendered,
        plotlyjs=plotly.offline.get_plotlyjs(),
        version=__version__,
        created=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        numpy_version=np.__version__,
    )


def render_report(
    sections: Sequence[Section],
    path: str | os.PathLike[str],
    *,
    title: str = "oncoresist report",
    figures: str | Sequence[str] | None = None,
) -> Path:
    """Write a self-contained HTML report atomically and return its path.

    ``figures`` (``"png,svg"``, a list, or None for the CLI's ``oncoresist --figures`` default,
    usually none) also writes every figure of the report as static files into ``figures/``
    beside it (:func:`~oncoresist.report.export_figures`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = render_report([Section("Hello", text="<p>hi</p>")],
    ...                   pathlib.Path(tempfile.mkdtemp()) / "r.html")
    >>> p.read_text().count("Hello") >= 1
    True
    """
    from ._figures import _DEFAULT, export_figures, parse_formats

    fmts = _DEFAULT.get() if figures is None else parse_formats(figures)
    out = write_text(path, render_html(sections, title=title))
    if fmts:
        export_figures(list(sections), out.parent / "figures", fmts)
    return out
