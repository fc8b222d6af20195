"""Plotly figures of fitted curves (take results, return a Figure; never show or save)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..data import Screen
from ..errors import InputError
from ._metrics import loglogistic

__all__ = ["MENU_MAX_CURVES", "plot_curves", "plot_shift"]

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
_DRAWN = ("ok", "imprecise", "flat", "no_response", "stimulatory", "constant")
#: Curves one ``view="menu"`` figure holds by default (each adds its points and fitted line
#: to the page, about 3 kB).
MENU_MAX_CURVES = 300


def _curve_parts(
    pts: pd.DataFrame, row: pd.Series, *, n_grid: int, digits: int | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """x and y of the points, fitted line, IC50 mark and CI band of one curve (empty when the
    curve has none of them)."""
    none = (np.empty(0), np.empty(0))
    out = {"points": (pts["concentration"].to_numpy(float), pts["viability"].to_numpy(float)),
           "line": none, "ic50": none, "band": none}  # fmt: skip
    lo, hi = float(row["min_conc"]), float(row["max_conc"])
    if np.isfinite(lo) and np.isfinite(hi) and lo > 0 and row["status"] in _DRAWN:
        grid = np.linspace(np.log(lo) - 0.5, np.log(hi) + 0.5, n_grid)
        b, c, d, e = (float(row[k]) for k in ("hill_slope", "bottom", "top", "ln_ic50_rel"))
        if not np.isfinite(e):  # a flat description (hill_slope 0): the level
            b, e = 0.0, 0.0
        out["line"] = (np.exp(grid), loglogistic(grid, b, c, d, e))
        a = float(row.get("ic50_abs", np.nan))
        if np.isfinite(a) and row.get("ic50_abs_censored", "") == "":
            out["ic50"] = (np.array([a]), np.array([0.5]))
        lo_ci, hi_ci = row.get("ic50_rel_ci_low", np.nan), row.get("ic50_rel_ci_high", np.nan)
        if np.isfinite(lo_ci) and np.isfinite(hi_ci) and lo_ci > 0 and row["status"] == "ok":
            # band: the fitted curve shifted over the EC50 confidence interval
            y1 = loglogistic(grid, b, c, d, np.log(lo_ci))
            y2 = loglogistic(grid, b, c, d, np.log(hi_ci))
            out["band"] = (
                np.r_[np.exp(grid), np.exp(grid[::-1])],
                np.r_[np.minimum(y1, y2), np.maximum(y1, y2)[::-1]],
            )
    if digits is not None:  # fewer characters in the page; 4 significant digits are plenty
        out = {k: (_sig(x, digits), _sig(y, digits)) for k, (x, y) in out.items()}
    return out


def _sig(v: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(np.isfinite(v) & (v != 0), np.floor(np.log10(np.abs(v))), 0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.where(np.isfinite(v), np.round(v * scale) / scale, v)


def _traces(parts: dict[str, tuple[np.ndarray, np.ndarray]], color: str, name: str) -> list[Any]:
    """The four traces of one curve (points, line, IC50 mark, CI band), possibly empty."""
    a = parts["ic50"][0]
    mark = f"{name} IC50 (abs) {a[0]:.3g} µM" if len(a) else f"{name} IC50 (abs)"
    return [
        go.Scatter(x=parts["points"][0], y=parts["points"][1], mode="markers",
                   marker={"color": color, "size": 6}, name=f"{name} (points)",
                   legendgroup=name, showlegend=False),
        go.Scatter(x=parts["line"][0], y=parts["line"][1], mode="lines", line={"color": color},
                   name=name, legendgroup=name),
        go.Scatter(x=parts["ic50"][0], y=parts["ic50"][1], mode="markers",
                   marker={"color": color, "size": 9, "symbol": "x"}, name=mark,
                   legendgroup=name, showlegend=False),
        go.Scatter(x=parts["band"][0], y=parts["band"][1], fill="toself", line={"width": 0},
                   fillcolor=color, opacity=0.2, hoverinfo="skip", name=f"{name} IC50 CI",
                   legendgroup=name, showlegend=False),
    ]  # fmt: skip


def _label(row: pd.Series) -> str:
    return f"{row['sample']} / {row['drug']}"


def plot_curves(
    screen: Screen,
    fits: pd.DataFrame,
    *,
    samples: list[str] | None = None,
    drugs: list[str] | None = None,
    max_curves: int | None = 12,
    view: Literal["overlay", "menu"] = "overlay",
) -> go.Figure:
    """Points, fitted curve and IC50-CI band of each selected curve (log concentration axis).

    Parameters
    ----------
    screen, fits
        The screen the curves were fitted on and its :func:`fit_screen` table.
    samples, drugs
        Curves of these samples / drugs only (default all).
    max_curves
        The first ``max_curves`` selected curves are drawn (None: all); the figure's
        ``layout.meta`` says how many were drawn of how many (``{"curves_shown": ...,
        "curves_selected": ...}``).
    view
        ``"overlay"``: the curves on one axis. ``"menu"``: one curve at a time, chosen in a
        drop-down menu holding every drawn curve (for reports with many curves).

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
    >>> len(plot_curves(s, fit_screen(s, model="ll2"), view="menu").layout.updatemenus[0].buttons)
    1
    """
    if view not in ("overlay", "menu"):
        raise InputError(f"view must be 'overlay' or 'menu', got {view!r}")
    sel = fits
    if samples is not None:
        sel = sel[sel["sample"].isin(samples)]
    if drugs is not None:
        sel = sel[sel["drug"].isin(drugs)]
    if sel.empty:
        raise InputError("no fitted curve matches the given samples/drugs")
    drawn = sel if max_curves is None else sel.head(max(0, int(max_curves)))
    treated = screen.data[screen.data["role"] == "treated"]
    where = treated.groupby(["sample", "drug"], sort=False, observed=True).indices
    empty = treated.iloc[:0]

    def points(row: pd.Series) -> pd.DataFrame:
        idx = where.get((row["sample"], row["drug"]))
        return empty if idx is None else treated.iloc[idx]

    fig = go.Figure()
    meta = {"curves_shown": len(drawn), "curves_selected": len(sel)}
    if view == "overlay":
        for i, (_, row) in enumerate(drawn.iterrows()):
            parts = _curve_parts(points(row), row, n_grid=120)
            for tr in _traces(parts, _COLORS[i % len(_COLORS)], _label(row)):
                if len(tr.x):
                    fig.add_trace(tr)
    else:
        buttons: list[dict[str, Any]] = []
        for _, row in drawn.iterrows():
            parts = _curve_parts(points(row), row, n_grid=40, digits=4)
            label = _label(row)
            trs = _traces(parts, _COLORS[0], label)
            if not buttons:
                fig.add_traces(trs)
            data = {"x": [list(t.x) for t in trs], "y": [list(t.y) for t in trs],
                    "name": [t.name for t in trs]}  # fmt: skip
            title = f"{label}: {row['status']}"
            buttons.append({"label": f"{label} ({row['status']})", "method": "update",
                            "args": [data, {"title.text": title}, [0, 1, 2, 3]]})  # fmt: skip
        first = drawn.iloc[0]
        fig.update_layout(
            title={"text": f"{_label(first)}: {first['status']}"},
            updatemenus=[{"buttons": buttons, "direction": "down", "showactive": True,
                          "x": 1.0, "xanchor": "right", "y": 1.15, "yanchor": "top"}],
            showlegend=False,
        )  # fmt: skip
    fig.update_layout(xaxis={"type": "log", "title": "concentration (µM)"},
                      yaxis={"title": "viability"}, template="plotly_white",
                      meta=meta)  # fmt: skip
    return fig


def plot_shift(
    screen: Screen, fits: pd.DataFrame, *, parental: str, resistant: str | list[str], drug: str
) -> go.Figure:
    """Overlay of the parental and resistant curve(s) of one drug."""
    res = [resistant] if isinstance(resistant, str) else list(resistant)
    fig = plot_curves(screen, fits, samples=[parental, *res], drugs=[drug])
    fig.update_layout(title=f"{drug}: {parental} vs {', '.join(res)}")
    return fig
