"""Plate heatmaps for quality control, the QC report section, and the "what was run" section.

:func:`run_section` opens the report of every command whose output is not a curve fit
(``qc``, ``annotate``, ``simulate``, ``associate``): the command, its inputs and options, and the
warnings it printed. It lives here, beside the first command that needed it, until the report
package takes it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._text import fmt_number
from ..data._screen import Screen
from ..errors import InputError

__all__ = ["plot_plate", "plot_zprime", "qc_section", "run_section"]

#: plates drawn as heatmaps in the QC report (the worst first); the table lists every plate
MAX_HEATMAPS = 12

_SHAPES = ((8, 12), (16, 24), (32, 48))
_MARKERS = {
    "negative": ("circle-open", "N"),
    "positive": ("x-thin-open", "P"),
    "blank": ("square-open", "B"),
    "untreated": ("diamond-open", "U"),
    "time_zero": ("triangle-up-open", "T0"),
}


def _row_label(i: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return (letters[i // 26 - 1] if i >= 26 else "") + letters[i % 26]


def plot_plate(
    screen: Screen,
    *,
    plate: str,
    value: Literal["signal", "viability", "gr"] = "signal",
) -> go.Figure:
    """Heatmap of one plate (rows A.., columns 1..) with control wells marked.

    Parameters
    ----------
    screen
        A Screen with ``plate``, ``row`` and ``col`` columns.
    plate
        The plate to draw.
    value
        Column to colour by: ``"signal"``, ``"viability"`` (after
        :func:`~oncoresist.curves.normalise`) or ``"gr"``.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from oncoresist.data._make import make_screen
    >>> screen, _ = make_screen(n_samples=1, drugs=2, rng=0)
    >>> fig = plot_plate(screen, plate=screen.plates[0])
    >>> fig.data[0].type
    'heatmap'
    """
    df = screen.data
    need = [c for c in ("plate", "row", "col", value) if c not in df.columns]
    if need:
        hint = " Run normalise(screen) first." if value in ("viability", "gr") else ""
        raise InputError(f"plot_plate needs column(s) {need}; found {list(df.columns)}.{hint}")
    sub = df[df["plate"].astype(str) == str(plate)]
    if sub.empty:
        raise InputError(f"plate {plate!r} not in the screen; plates: {screen.plates[:10]} ...")
    r_max, c_max = int(sub["row"].max()) + 1, int(sub["col"].max()) + 1
    if "plate_format" in sub.columns:
        n_r, n_c = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}.get(
            int(sub["plate_format"].iloc[0]), (r_max, c_max)
        )
    else:
        n_r, n_c = next(((a, b) for a, b in _SHAPES if r_max <= a and c_max <= b), (r_max, c_max))
    grid = np.full((n_r, n_c), np.nan)
    text = np.full((n_r, n_c), "", dtype=object)
    r, c = sub["row"].to_numpy(), sub["col"].to_numpy()
    grid[r, c] = sub[value].to_numpy(dtype=float)
    label = (
        sub["role"].astype(str)
        + " "
        + sub["drug"].astype(str)
        + " "
        + sub["concentration"].map(lambda x: f"{x:.3g} uM" if x > 0 else "")
    )
    text[r, c] = label.to_numpy()
    rows = [_row_label(i) for i in range(n_r)]
    cols = [str(j + 1) for j in range(n_c)]
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=cols,
            y=rows,
            text=text,
            hovertemplate="%{y}%{x}: %{z:.4g}<br>%{text}<extra></extra>",
            colorscale="Viridis",
            colorbar={"title": value},
        )
    )
    for role_name, (symbol, short) in _MARKERS.items():
        m = (sub["role"] == role_name).to_numpy()
        if m.any():
            fig.add_trace(
                go.Scatter(
                    x=[cols[j] for j in c[m]],
                    y=[rows[i] for i in r[m]],
                    mode="markers",
                    marker={"symbol": symbol, "color": "white", "size": 7},
                    name=f"{role_name} ({short})",
                    hoverinfo="skip",
                )
            )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    fig.update_layout(
        title=f"Plate {plate}: {value}",
        legend={"orientation": "h", "y": -0.05},
        plot_bgcolor="#dddddd",
    )
    return fig


def plot_zprime(qc: pd.DataFrame, *, zprime_min: float = 0.5) -> go.Figure:
    """Z' and robust Z' per plate (bars), with the pass threshold as a dashed line.

    Examples
    --------
    >>> import pandas as pd
    >>> qc = pd.DataFrame({"plate": ["p1"], "z_prime": [0.7], "robust_z_prime": [0.8]})
    >>> plot_zprime(qc).data[0].type
    'bar'
    """
    plates = qc["plate"].astype(str).tolist()
    fig = go.Figure()
    for col, name in (("z_prime", "Z'"), ("robust_z_prime", "robust Z'")):
        if col in qc:
            fig.add_trace(go.Bar(x=plates, y=qc[col].to_numpy(dtype=float), name=name))
    fig.add_hline(y=zprime_min, line_dash="dash", annotation_text=f"pass: Z' >= {zprime_min:g}")
    fig.update_layout(
        title="Z' per plate", xaxis_title="plate", yaxis_title="Z' (unitless)", barmode="group"
    )
    fig.update_xaxes(type="category")
    return fig


def _num(value: float) -> str:
    return fmt_number(value, ".3f")


def qc_section(
    screen: Screen,
    qc: pd.DataFrame,
    *,
    zprime_min: float = 0.5,
    cv_max: float = 0.2,
    max_heatmaps: int = MAX_HEATMAPS,
) -> Any:
    """The report :class:`~oncoresist.report.Section` of a plate QC: Z' per plate, heatmaps of
    the plates (failed and lowest Z' first, at most ``max_heatmaps``), the flags and the table.

    Examples
    --------
    >>> from oncoresist.data._make import make_screen
    >>> from oncoresist.curves import plate_qc
    >>> screen, _ = make_screen(n_samples=1, drugs=2, rng=0)
    >>> sec = qc_section(screen, plate_qc(screen))
    >>> sec.title, len(sec.figures) >= 2
    ('Plate QC', True)
    """
    from ..report import Section

    n = len(qc)
    failed = int((~qc["pass"].astype(bool)).sum()) if n else 0
    zp = qc["z_prime"].to_numpy(dtype=float) if n else np.array([])
    finite = zp[np.isfinite(zp)]
    median = float(np.median(finite)) if finite.size else math.nan
    flags = qc["flags"].fillna("").astype(str).str.split(";").explode().str.strip()
    counts = flags[flags != ""].value_counts()
    flag_table = counts.rename_axis("flag").rename("n_plates").reset_index()
    order = qc.assign(_z=np.where(np.isfinite(zp), zp, -np.inf)).sort_values(["pass", "_z"])
    drawable = set(map(str, screen.plates)) if {"row", "col"} <= set(screen.data.columns) else set()
    value = "signal" if "signal" in screen.data.columns else "viability"
    shown = [str(p) for p in order["plate"] if str(p) in drawable][:max_heatmaps]
    figures: list[Any] = [plot_zprime(qc, zprime_min=zprime_min)] if n else []
    figures += [plot_plate(screen, plate=p, value=value) for p in shown]  # type: ignore[arg-type]
    not_drawn = (
        "" if len(shown) == len(drawable)
        else f" Heatmaps of the {len(shown)} worst plates of {len(drawable)} are drawn."
    )  # fmt: skip
    if not drawable:
        not_drawn = " The screen has no well positions (row, col), so no plate heatmap is drawn."
    text = (
        f"<p>{n} plates; {failed} fail (Z' below {zprime_min:g}, CV of the negative controls "
        f"above {cv_max:.0%}, or an edge effect: see the flags). Median Z' {_num(median)}. "
        "Flags are reported; no well is excluded." + not_drawn + "</p>"
    )
    if flag_table.empty:
        text += "<p>No plate is flagged.</p>"
    tables = [("Flags (plates per flag)", flag_table)] if len(flag_table) else []
    tables.append(("QC per plate", qc))
    return Section("Plate QC", text=text, figures=figures, tables=tables)


def _value(value: Any) -> str:
    if value is None:
        return "(not given)"
    if isinstance(value, float):
        return _num(value) if not math.isfinite(value) else f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value) or "(none)"
    return str(value)


def run_section(
    command: str,
    *,
    inputs: Iterable[str | Path],
    params: Mapping[str, Any],
    warnings: Sequence[str] = (),
    outputs: Sequence[str] = (),
) -> Any:
    """The report :class:`~oncoresist.report.Section` saying what was run: the command, its
    inputs (with their sizes), every option, the files written and the warnings printed.

    Examples
    --------
    >>> sec = run_section("qc", inputs=[], params={"zprime_min": 0.5}, warnings=["w"])
    >>> sec.title, sec.tables[0][1]["option"].tolist()
    ('What was run', ['zprime_min'])
    """
    from .. import __version__
    from ..report import Section

    rows = []
    for p in inputs:
        path = Path(p)
        size = path.stat().st_size if path.is_file() else None
        rows.append({"input": str(path), "size_bytes": size})
    opts = pd.DataFrame(
        [{"option": k, "value": _value(v)} for k, v in params.items()], columns=["option", "value"]
    )
    text = f"<p><code>oncoresist {html.escape(command)}</code> (oncoresist {__version__}).</p>"
    if outputs:
        text += "<p>Files written: " + ", ".join(
            f"<code>{html.escape(o)}</code>" for o in outputs
        ) + ".</p>"  # fmt: skip
    if warnings:
        text += "<p><b>Warnings</b></p><ul>" + "".join(
            f"<li>{html.escape(w)}</li>" for w in warnings
        ) + "</ul>"  # fmt: skip
    else:
        text += "<p>No warnings.</p>"
    tables = [("Options", opts)]
    if rows:
        tables.insert(0, ("Inputs", pd.DataFrame(rows)))
    return Section("What was run", text=text, tables=tables)
