"""Plots of annotations (plotly figures; never shown or saved here)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ._annotate import Annotation

__all__ = ["plot_evidence_table", "plot_mechanism_scores"]


def plot_mechanism_scores(annotation: Annotation) -> go.Figure:
    """Bar chart of the net resistance weight of each mechanism, annotated with the gene-set
    percentile against the reference panel.

    Examples
    --------
    >>> from oncoresist.mechanisms import annotate, make_profile
    >>> fig = plot_mechanism_scores(annotate(make_profile(["EGFR T790M"]), "erlotinib"))
    >>> len(fig.data)
    2
    """
    m = annotation.mechanisms.iloc[::-1]
    pct = [("" if np.isnan(p) else f"{p:.0f}th pct") for p in m.set_percentile]
    fig = go.Figure()
    fig.add_bar(
        y=m.mechanism,
        x=m.resistance_weight,
        orientation="h",
        name="resistance",
        marker_color="#c0392b",
        text=pct,
        textposition="outside",
        hovertext=m.explanation,
    )
    fig.add_bar(
        y=m.mechanism,
        x=-m.sensitivity_weight,
        orientation="h",
        name="sensitivity",
        marker_color="#2e86c1",
        hovertext=m.explanation,
    )
    fig.update_layout(
        barmode="relative",
        title=f"{annotation.sample} / {annotation.drug_name}: {annotation.call}",
        xaxis_title="evidence weight (resistance > 0)",
        height=120 + 28 * len(m),
        margin={"l": 160},
    )
    return fig


def plot_evidence_table(annotation: Annotation) -> go.Figure:
    """Evidence rows (mechanism, gene, alteration, effect, level, citation) as a table figure."""
    e = annotation.evidence
    cols = ["mechanism", "gene", "observed", "effect", "evidence_level", "percentile", "citations"]
    values = [
        e[c]
        .map(
            lambda v: (
                ""
                if isinstance(v, float) and np.isnan(v)
                else (f"{v:.0f}" if isinstance(v, float) else str(v))
            )
        )
        .tolist()
        for c in cols
    ]
    fig = go.Figure(go.Table(header={"values": cols}, cells={"values": values}))
    fig.update_layout(title=f"Evidence: {annotation.sample} / {annotation.drug_name}")
    return fig
