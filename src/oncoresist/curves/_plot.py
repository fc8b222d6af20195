"""Plotly figures of fitted curves (take results, return a Figure; never show or save)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..data import Screen
from ..errors import InputError
from ._metrics import loglogistic

__all__ = ["plot_curves", "plot_shift"]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _add_curve(fig: go.Figure, screen: Screen, row: pd.Series, color: str, name: str) -> None:
    pts = screen.data[
        (screen.data["role"] == "treated")
        & (screen.data["sample"] == row["sample"])
        & (screen.data["drug"] == row["drug"])
    ]
    fig.add_trace(go.Scatter(x=pts["concentration"], y=pts["viability"], mode="markers",
                             marker={"color": color, "size": 6}, name=f"{name} (points)",
                             legendgroup=name, showlegend=False))  # fmt: skip
    lo, hi = float(row["min_conc"]), float(row["max_conc"])
    drawn = ("ok", "imprecise", "flat", "no_response", "stimulatory", "constant")
    if not (np.isfinite(lo) and np.isfinite(hi)) or row["status"] not in drawn:
        return
    grid = np.linspace(np.log(lo) - 0.5, np.log(hi) + 0.5, 120)
    b, c, d, e = (float(row[k]) for k in ("hill_slope", "bottom", "top", "ln_ic50_rel"))
    if not np.isfinite(e):  # a flat description (hill_slope 0): the level
        b, e = 0.0, 0.0
    fig.add_trace(go.Scatter(x=np.exp(grid), y=loglogistic(grid, b, c, d, e), mode="lines",
                             line={"color": color}, name=name, legendgroup=name))  # fmt: skip
    a = float(row.get("ic50_abs", np.nan))
    if np.isfinite(a) and row.get("ic50_abs_censored", "") == "":
        fig.add_trace(go.Scatter(x=[a], y=[0.5], mode="markers", marker={"color": color, "size": 9,
                                 "symbol": "x"}, name=f"{name} IC50 (abs) {a:.3g} µM",
                                 legendgroup=name, showlegend=False))  # fmt: skip
    lo_ci, hi_ci = row.get("ic50_rel_ci_low", np.nan), row.get("ic50_rel_ci_high", np.nan)
    if np.isfinite(lo_ci) and np.isfinite(hi_ci) and row["status"] == "ok":
        # band: the fitted curve shifted over the EC50 confidence interval
        y1 = loglogistic(grid, b, c, d, np.log(lo_ci))
        y2 = loglogistic(grid, b, c, d, np.log(hi_ci))
        fig.add_trace(go.Scatter(
            x=np.r_[np.exp(grid), np.exp(grid[::-1])], y=np.r_[np.minimum(y1, y2), np.maximum(y1, y2)[::-1]],
            fill="toself", line={"width": 0}, fillcolor=color, opacity=0.2, hoverinfo="skip",
            name=f"{name} IC50 CI", legendgroup=name, showlegend=False,
        ))  # fmt: skip


def plot_curves(
    screen: Screen,
    fits: pd.DataFrame,
    *,
    samples: list[str] | None = None,
    drugs: list[str] | None = None,
    max_curves: int = 12,
) -> go.Figure:
    """Points, fitted curve and IC50-CI band of each selected curve (log concentration axis).

    Examples
    --------
    >>> import pandas as pd
    >>> from oncoresist.data import Screen
    >>> from oncoresist.curves import fit_screen
    >>> df = pd.DataFrame({"sample": "A", "drug": "x", "concentration": [0.01, 0.1, 1, 10, 100],
    ...                    "viability": [1.0, 0.95, 0.5, 0.06, 0.02]})
    >>> s = Screen.from_frame(df)
    >>> type(plot_curves(s, fit_screen(s, model="ll2"))).__name__
    'Figure'
    """
    sel = fits
    if samples is not None:
        sel = sel[sel["sample"].isin(samples)]
    if drugs is not None:
        sel = sel[sel["drug"].isin(drugs)]
    if sel.empty:
        raise InputError("no fitted curve matches the given samples/drugs")
    fig = go.Figure()
    for i, (_, row) in enumerate(sel.head(max_curves).iterrows()):
        _add_curve(fig, screen, row, _COLORS[i % len(_COLORS)], f"{row['sample']} / {row['drug']}")
    fig.update_layout(xaxis={"type": "log", "title": "concentration (µM)"},
                      yaxis={"title": "viability"}, template="plotly_white")  # fmt: skip
    return fig


def plot_shift(
    screen: Screen, fits: pd.DataFrame, *, parental: str, resistant: str | list[str], drug: str
) -> go.Figure:
    """Overlay of the parental and resistant curve(s) of one drug."""
    res = [resistant] if isinstance(resistant, str) else list(resistant)
    fig = plot_curves(screen, fits, samples=[parental, *res], drugs=[drug])
    fig.update_layout(title=f"{drug}: {parental} vs {', '.join(res)}")
    return fig
