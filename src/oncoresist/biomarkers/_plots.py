"""Plots of association results (plotly figures; never shown or saved here)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._special import neg_log10_p
from ..data._panel import Panel
from ..errors import InputError
from ._linear import AssociationResult

__all__ = ["association_boxplot", "association_heatmap", "volcano_plot"]


def _label(table: pd.DataFrame) -> pd.Series:
    name = table["drug_name"] if "drug_name" in table else table["drug"]
    return name.astype(str) + " / " + table["feature"].astype(str)


def volcano_plot(
    result: AssociationResult, *, fdr: float = 0.25, n_labels: int = 10, max_points: int = 20000
) -> go.Figure:
    """Effect size (Cohen's d, or partial r for continuous features) vs -log10 p, coloured by FDR.

    The ``max_points`` tests with the smallest p-values are drawn (the title says how many were
    left out) so that a full release (a million expression tests) stays light.

    Examples
    --------
    >>> fig = volcano_plot(res)  # doctest: +SKIP
    """
    t = result.table
    x_col = "cohens_d" if t["cohens_d"].notna().any() else "partial_r"
    fig = go.Figure()
    shown = t.head(max_points)  # the table is sorted by p-value
    n_hidden = len(t) - len(shown)
    if len(shown):
        logp = neg_log10_p(shown["pvalue"].to_numpy(dtype=float))
        sig = (shown["fdr"] <= fdr).to_numpy()
        resist = (shown["association"] == "resistance").to_numpy()
        for mask, colour, name in (
            (~sig, "lightgrey", f"FDR > {fdr:.0%}"),
            (sig & resist, "firebrick", "resistance"),
            (sig & ~resist, "seagreen", "sensitivity"),
        ):
            sub = shown[mask]
            fig.add_trace(
                go.Scattergl(
                    x=sub[x_col].to_numpy(),
                    y=logp[mask],
                    mode="markers",
                    name=name,
                    marker={"color": colour, "size": 5, "opacity": 0.7},
                    text=(_label(sub) + " FDR " + sub["fdr"].round(4).astype(str)).to_numpy(),
                    hoverinfo="text",
                )
            )
        top = shown.head(n_labels)
        fig.add_trace(
            go.Scatter(
                x=top[x_col].to_numpy(),
                y=logp[: len(top)],
                mode="text",
                text=_label(top).to_numpy(),
                textposition="top center",
                showlegend=False,
            )
        )
    hidden = f"; {n_hidden} tests with larger p not drawn" if n_hidden else ""
    fig.update_layout(
        title=f"Associations: {len(t)} tests, coloured at FDR <= {fdr:.0%}{hidden}",
        xaxis_title="Cohen's d" if x_col == "cohens_d" else "partial correlation",
        yaxis_title="-log10 p",
        template="plotly_white",
    )
    return fig


def association_boxplot(
    panel: Panel, drug: Any, feature: str, *, tissue_column: str = "tissue"
) -> go.Figure:
    """Responses of one drug by feature status, split by tissue (one association's data)."""
    if drug not in panel.drugs:
        raise InputError(f"drug {drug!r} is not in panel {panel.name!r}")
    layer = next((k for k, v in panel.layers.items() if feature in v.columns), None)
    if layer is None:
        raise InputError(f"feature {feature!r} is in no layer of panel {panel.name!r}")
    df = pd.DataFrame({"response": panel.responses[drug], "feature": panel.layers[layer][feature]})
    has_t = panel.sample_annotations is not None and tissue_column in panel.sample_annotations
    df["tissue"] = panel.sample_annotations[tissue_column] if has_t else "all"  # type: ignore[index]
    df = df.dropna()
    fig = go.Figure()
    for val, colour in ((0.0, "steelblue"), (1.0, "darkorange")):
        sub = df[df["feature"] == val]
        fig.add_trace(
            go.Box(
                x=sub["tissue"],
                y=sub["response"],
                name=f"{feature} = {int(val)}",
                marker_color=colour,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
            )
        )
    dname = drug
    if panel.drug_annotations is not None and "drug_name" in panel.drug_annotations:
        dname = f"{panel.drug_annotations.loc[drug, 'drug_name']!s} ({drug!s})"
    fig.update_layout(
        boxmode="group",
        title=f"{dname} by {feature}",
        yaxis_title=panel.metric,
        template="plotly_white",
    )
    return fig


def association_heatmap(
    result: AssociationResult, *, n_drugs: int = 30, n_features: int = 30
) -> go.Figure:
    """Drug x feature heatmap of signed -log10 p (sign: + resistance, - sensitivity) of the
    drugs and features with the strongest associations."""
    t = result.table
    if not len(t):
        return go.Figure().update_layout(title="no association tested")
    sign = np.where(t["association"] == "resistance", 1.0, -1.0)
    t = t.assign(score=sign * neg_log10_p(t["pvalue"].to_numpy(dtype=float)))
    lab = (
        t["drug_name"].astype(str) + " (" + t["drug"].astype(str) + ")"
        if "drug_name" in t
        else t["drug"].astype(str)
    )
    t = t.assign(drug_label=lab)
    best = t.loc[t.groupby("drug_label")["pvalue"].idxmin()].nsmallest(n_drugs, "pvalue")[
        "drug_label"
    ]
    bestf = t.loc[t.groupby("feature")["pvalue"].idxmin()].nsmallest(n_features, "pvalue")[
        "feature"
    ]
    mat = t[t["drug_label"].isin(best) & t["feature"].isin(bestf)].pivot_table(
        index="drug_label", columns="feature", values="score", aggfunc="first"
    )
    lim = float(np.nanmax(np.abs(mat.to_numpy()))) if mat.size else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=mat.to_numpy(),
            x=list(mat.columns),
            y=list(mat.index),
            colorscale="RdBu_r",
            zmin=-lim,
            zmax=lim,
            colorbar={"title": "signed -log10 p"},
        )
    )
    fig.update_layout(
        title="Strongest drug x feature associations (red: resistance)", template="plotly_white"
    )
    return fig
