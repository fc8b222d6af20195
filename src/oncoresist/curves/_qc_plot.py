"""Plate heatmaps for quality control."""

from __future__ import annotations

from typing import Literal

import numpy as np
import plotly.graph_objects as go

from ..data._screen import Screen
from ..errors import InputError

__all__ = ["plot_plate"]

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
