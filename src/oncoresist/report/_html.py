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
from ._section import Section, column_label

__all__ = ["render_html", "render_report"]


def _table_html(
    df: pd.DataFrame, *, caption: str, table_id: str, max_rows: int, source: str = ""
) -> str:
    """Every row (up to ``max_rows``) in a scrolling box under a filter box and a row count;
    the filter and the column sort are the page's inline script (no network)."""
    n = len(df)
    cap = max(0, int(max_rows))
    shown = df.head(cap) if n > cap else df
    fmt = shown.copy()
    for col in fmt.columns:
        if pd.api.types.is_float_dtype(fmt[col]):
            fmt[col] = fmt[col].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
    fmt.columns = [column_label(c) for c in fmt.columns]
    body = fmt.to_html(
        index=False, classes="tbl", border=0, escape=True, na_rep="", table_id=table_id
    )
    label = html.escape(caption or "table", quote=True)
    controls = (
        f'<div class="tbl-tools"><input type="search" class="tbl-filter" '
        f'placeholder="filter rows" aria-label="filter rows of {label}" '
        f'data-target="{table_id}"> <span class="tbl-count" data-total="{len(shown)}">'
        f"{len(shown):,} of {len(shown):,} rows</span></div>"
    )
    out = f'<div class="tbl-block">{controls}<div class="tbl-scroll">{body}</div>'
    if n > cap:
        where = html.escape(source) if source else "the CSV/Parquet tables the run wrote"
        out += (
            f'<p class="note">The page holds the first {cap:,} of {n:,} rows; the full table '
            f"is in {where}.</p>"
        )
    return out + "</div>"


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
        tables = [
            (
                cap,
                _table_html(
                    df,
                    caption=cap,
                    table_id=f"tbl-{i}-{j}",
                    max_rows=sec.max_rows,
                    source=sec.sources.get(cap, ""),
                ),
            )
            for j, (cap, df) in enumerate(sec.tables)
        ]
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
