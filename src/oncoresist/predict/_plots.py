"""Figures of prediction results (plotly; take results, return a Figure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..errors import InputError
from ._evaluate import Evaluation

__all__ = [
    "plot_baseline_comparison",
    "plot_drug_scatter",
    "plot_importance",
    "plot_metric_by_split",
]

_BASELINES = ("global_mean", "drug_mean", "sample_mean", "mean_effects")


def plot_drug_scatter(
    evaluation: Evaluation,
    *,
    model: str,
    split: str = "cell_line",
    drugs: Sequence[str] | None = None,
    max_drugs: int = 6,
) -> go.Figure:
    """Observed vs predicted response, one panel per drug (out-of-fold predictions).

    Examples
    --------
    >>> fig = plot_drug_scatter(ev, model="lightgbm")  # doctest: +SKIP
    """
    p = evaluation.predictions
    p = p[(p["model"] == model) & (p["split"] == split)]
    if p.empty:
        raise InputError(f"no predictions for model {model!r} under split {split!r}")
    if drugs is None:
        drugs = list(p["drug"].value_counts().index[:max_drugs])
    ncol = min(3, len(drugs))
    nrow = int(np.ceil(len(drugs) / ncol))
    fig = make_subplots(rows=nrow, cols=ncol, subplot_titles=[str(d) for d in drugs])
    for k, d in enumerate(drugs):
        q = p[p["drug"] == d]
        r = np.corrcoef(q["y_true"], q["y_pred"])[0, 1] if len(q) > 2 else np.nan
        fig.add_trace(
            go.Scattergl(
                x=q["y_pred"],
                y=q["y_true"],
                mode="markers",
                marker={"size": 4, "opacity": 0.6},
                name=f"{d} (r={r:.2f})",
                text=q["sample"],
                hovertemplate="%{text}<br>predicted %{x:.2f}<br>observed %{y:.2f}",
            ),
            row=k // ncol + 1,
            col=k % ncol + 1,
        )
    fig.update_layout(
        title=f"{model}, {split} split: observed vs predicted per drug",
        showlegend=True,
        height=300 * nrow,
    )
    fig.update_xaxes(title_text="predicted")
    fig.update_yaxes(title_text="observed")
    return fig


def plot_metric_by_split(summary: pd.DataFrame, *, metric: str = "pearson_norm") -> go.Figure:
    """Grouped bars: ``metric`` per split (x) and model (colour), error bar = fold-to-fold sd.

    Examples
    --------
    >>> fig = plot_metric_by_split(ev.metrics())  # doctest: +SKIP
    """
    if metric not in summary:
        raise InputError(f"summary has no metric {metric!r}; columns: {list(summary.columns)}")
    fig = go.Figure()
    for model, g in summary.groupby("model", sort=False):
        sd = g.get(f"{metric}_sd")
        fig.add_trace(
            go.Bar(
                x=g["split"],
                y=g[metric],
                name=str(model),
                error_y=None if sd is None else {"type": "data", "array": sd.fillna(0.0)},
            )
        )
    fig.update_layout(barmode="group", title=f"{metric} by split", yaxis_title=metric)
    return fig


def plot_baseline_comparison(
    summary: pd.DataFrame,
    *,
    split: str = "cell_line",
    metric: str = "pearson_per_drug",
) -> go.Figure:
    """Horizontal bars of ``metric`` for every model under ``split``; baselines in grey.

    Examples
    --------
    >>> fig = plot_baseline_comparison(ev.metrics())  # doctest: +SKIP
    """
    s = summary[summary["split"] == split]
    if s.empty:
        raise InputError(f"summary has no split {split!r}")
    s = s.sort_values(metric, na_position="first")
    base = s["model"].isin(_BASELINES)
    if "is_baseline" in s:
        base = base | s["is_baseline"].astype(bool)
    sd = s.get(f"{metric}_sd")
    fig = go.Figure(
        go.Bar(
            x=s[metric],
            y=s["model"],
            orientation="h",
            marker={"color": np.where(base, "#9e9e9e", "#1f77b4")},
            error_x=None if sd is None else {"type": "data", "array": sd.fillna(0.0)},
        )
    )
    fig.update_layout(
        title=f"{split} split: models vs baselines (grey), {metric}", xaxis_title=metric
    )
    return fig


def plot_importance(importance: pd.Series, *, top: int = 15, title: str = "") -> go.Figure:
    """Bar chart of mean |attribution| per gene (from ``Attribution.importance()``).

    Examples
    --------
    >>> fig = plot_importance(att.importance())  # doctest: +SKIP
    """
    s = importance.head(top)[::-1]
    fig = go.Figure(go.Bar(x=s.to_numpy(), y=[str(i) for i in s.index], orientation="h"))
    fig.update_layout(title=title or "mean |attribution| per gene", xaxis_title="response units")
    return fig
