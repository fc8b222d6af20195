"""Plots of CRISPR screen results (plotly figures; nothing is recomputed, shown or saved)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .._special import neg_log10_p
from ..errors import InputError
from ._result import CrisprResult

__all__ = ["plot_gene_guides", "plot_qc", "plot_rank", "plot_volcano", "score_columns"]

#: Per method: (score column where lower = stronger, label) for each tail, and the FDR column.
_TAILS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "drugz": (
        ("norm_z", "fdr_synth", "sensitiser (synthetic lethal)"),
        ("norm_z", "fdr_supp", "suppressor"),
    ),
    "rra": (("neg_lfc", "neg_fdr", "depleted"), ("pos_lfc", "pos_fdr", "enriched")),
    "bagel": (("bf", "fdr", "essential"),),
}


def score_columns(result: CrisprResult) -> tuple[str, str]:
    """The (effect, FDR) columns a plot of ``result`` uses: the first tail of its method.

    MLE results name them per condition (``<condition>_beta``, ``<condition>_fdr``); the first
    condition is used.
    """
    g = result.genes
    if result.method in _TAILS:
        eff, fdr, _ = _TAILS[result.method][0]
        if eff in g and fdr in g:
            return eff, fdr
    betas = [c for c in g.columns if c.endswith("_beta") or c == "beta"]
    if betas:
        stem = betas[0][: -len("beta")]
        found = next((c for c in (f"{stem}wald_fdr", f"{stem}fdr") if c in g), None)
        if found is not None:
            return betas[0], found
    raise InputError(
        f"the {result.method!r} result has no effect/FDR columns this plot knows "
        f"(columns: {', '.join(map(str, g.columns))})"
    )


def _labels(genes: pd.DataFrame, order: np.ndarray, label: Sequence[str] | int) -> list[int]:
    """Positions (in ``order``) of the genes to label: the first ``label`` or the named ones."""
    if isinstance(label, int):
        return list(range(min(label, len(order))))
    names = set(map(str, label))
    idx = genes.index.to_numpy()[order]
    return [i for i, g in enumerate(idx) if str(g) in names]


def plot_rank(
    result: CrisprResult,
    *,
    column: str | None = None,
    label: Sequence[str] | int = 10,
    fdr: float = 0.1,
    title: str | None = None,
) -> go.Figure:
    """Genes ranked by their effect (``column``; default the method's main score), hits at
    ``FDR < fdr`` coloured, the top ``label`` genes (or the named ones) labelled.

    >>> import pandas as pd
    >>> g = pd.DataFrame({"norm_z": [-5.0, 0.1, 4.0], "fdr_synth": [0.01, 0.9, 0.9],
    ...                   "fdr_supp": [0.9, 0.9, 0.02]}, index=pd.Index(["A", "B", "C"], name="gene"))
    >>> r = CrisprResult("drugz", g, pd.DataFrame())
    >>> plot_rank(r).data[0].type
    'scattergl'
    """
    eff, fdr_col = score_columns(result)
    col = column or eff
    g = result.genes
    if col not in g:
        raise InputError(f"no column {col!r} in the gene table; columns: {', '.join(g.columns)}")
    v = g[col].to_numpy(dtype=float)
    order = np.argsort(np.where(np.isfinite(v), v, np.inf), kind="stable")
    rank = np.arange(1, len(order) + 1)
    fdrs = [t[1] for t in _TAILS.get(result.method, ()) if t[1] in g] or [fdr_col]
    hit = np.zeros(len(g), dtype=bool)
    for c in fdrs:
        hit |= g[c].to_numpy(dtype=float) < fdr
    hit = hit[order]
    names = g.index.to_numpy().astype(str)[order]
    fig = go.Figure()
    for sel, colour, name in (
        (~hit, "#9e9e9e", "not significant"),
        (hit, "#c62828", f"FDR < {fdr:g}"),
    ):
        fig.add_trace(
            go.Scattergl(
                x=rank[sel], y=v[order][sel], mode="markers", name=name, text=names[sel],
                marker={"color": colour, "size": 5},
                hovertemplate="%{text}<br>rank %{x}<br>" + col + " %{y:.3g}<extra></extra>",
            )
        )  # fmt: skip
    lab = _labels(g, order, label)
    if isinstance(label, int) and label > 0:
        lab = lab + [len(order) - 1 - i for i in range(min(label, len(order))) if i < len(order)]
    for i in sorted(set(lab)):
        if np.isfinite(v[order][i]):
            fig.add_annotation(x=int(rank[i]), y=float(v[order][i]), text=names[i], showarrow=True,
                               arrowhead=0, ax=30 if i < len(order) / 2 else -30, ay=0,
                               font={"size": 10})  # fmt: skip
    fig.update_layout(
        title=title or f"{result.method.upper()}: genes ranked by {col}",
        xaxis_title="rank", yaxis_title=col, template="plotly_white",
    )  # fmt: skip
    return fig


def plot_volcano(
    result: CrisprResult, *, label: Sequence[str] | int = 10, fdr: float = 0.1
) -> go.Figure:
    """Effect against -log10 FDR per gene (both tails where the method has two).

    >>> import pandas as pd
    >>> g = pd.DataFrame({"norm_z": [-5.0, 0.1], "fdr_synth": [0.01, 0.9], "fdr_supp": [0.9, 0.9]},
    ...                  index=pd.Index(["A", "B"], name="gene"))
    >>> plot_volcano(CrisprResult("drugz", g, pd.DataFrame())).data[0].type
    'scattergl'
    """
    eff, fdr_col = score_columns(result)
    g = result.genes
    v = g[eff].to_numpy(dtype=float)
    tails = [t for t in _TAILS.get(result.method, ()) if t[0] == eff and t[1] in g]
    if len(tails) == 2:
        # one FDR per gene: the tail its effect points to
        q = np.where(v < 0, g[tails[0][1]].to_numpy(float), g[tails[1][1]].to_numpy(float))
    else:
        q = g[fdr_col].to_numpy(dtype=float)
    y = neg_log10_p(q)
    names = g.index.to_numpy().astype(str)
    hit = q < fdr
    fig = go.Figure()
    for sel, colour, name in (
        (~hit, "#9e9e9e", "not significant"),
        (hit, "#c62828", f"FDR < {fdr:g}"),
    ):
        fig.add_trace(
            go.Scattergl(
                x=v[sel], y=y[sel], mode="markers", name=name, text=names[sel],
                marker={"color": colour, "size": 5},
                hovertemplate="%{text}<br>" + eff + " %{x:.3g}<br>-log10 FDR %{y:.2f}<extra></extra>",
            )
        )  # fmt: skip
    order = np.argsort(-np.where(np.isfinite(y), y, -np.inf), kind="stable")
    for i in _labels(g, order, label):
        j = order[i]
        fig.add_annotation(x=float(v[j]), y=float(y[j]), text=names[j], showarrow=False,
                           yshift=10, font={"size": 10})  # fmt: skip
    fig.update_layout(
        title=f"{result.method.upper()}: effect and significance per gene",
        xaxis_title=eff, yaxis_title="-log10 FDR", template="plotly_white",
    )  # fmt: skip
    return fig


def plot_gene_guides(result: CrisprResult, gene: str, *, column: str | None = None) -> go.Figure:
    """The guides of one gene against the distribution of all guides (``column`` of the guide
    table: the first fold-change or z column by default).

    >>> import pandas as pd
    >>> gd = pd.DataFrame({"gene": ["A", "A", "B"], "lfc": [-2.0, -1.5, 0.1]},
    ...                   index=pd.Index(["a1", "a2", "b1"], name="guide"))
    >>> r = CrisprResult("rra", pd.DataFrame(index=pd.Index(["A", "B"], name="gene")), gd)
    >>> plot_gene_guides(r, "A").data[1].type
    'scatter'
    """
    gd = result.guides
    if gd.empty or "gene" not in gd:
        raise InputError("the result has no guide table with a 'gene' column")
    if column is None:
        cands = [c for c in gd.columns if c != "gene" and pd.api.types.is_numeric_dtype(gd[c])]
        pref = [c for c in cands if "lfc" in c or c.endswith("_z") or c == "z" or "fc" in c]
        if not (pref or cands):
            raise InputError("the guide table has no numeric column to plot")
        column = (pref or cands)[0]
    if column not in gd:
        raise InputError(
            f"no column {column!r} in the guide table; columns: {', '.join(gd.columns)}"
        )
    sel = gd[gd["gene"].astype(str) == str(gene)]
    if sel.empty:
        raise InputError(f"gene {gene!r} has no guides in the result")
    fig = go.Figure()
    # the distribution of all guides through 2,001 of its quantiles: the same violin, and a
    # genome-wide screen does not put 90,000 numbers per plot into the report
    every = gd[column].to_numpy(dtype=float)
    every = every[np.isfinite(every)]
    background = np.quantile(every, np.linspace(0.0, 1.0, 2001)) if every.size > 2001 else every
    fig.add_trace(
        go.Violin(y=background, name="all guides", points=False, line={"color": "#9e9e9e"})
    )
    fig.add_trace(
        go.Scatter(
            x=["all guides"] * len(sel), y=sel[column], mode="markers", name=str(gene),
            text=sel.index.astype(str), marker={"color": "#c62828", "size": 9},
            hovertemplate="%{text}: %{y:.3g}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(
        title=f"{gene}: its {len(sel)} guides among all", yaxis_title=column,
        template="plotly_white",
    )  # fmt: skip
    return fig


def plot_qc(qc: Any) -> go.Figure:
    """QC panels of a screen: read depth, zero-count fraction and Gini index per sample.

    ``qc`` is the result of :func:`oncoresist.crispr.crispr_qc` (its ``samples`` table).
    """
    from plotly.subplots import make_subplots

    s = qc.samples
    names = s.index.astype(str) if "sample" not in s else s["sample"].astype(str)
    panels = [(c, t) for c, t in (("reads", "reads"), ("zero_fraction", "zero-count guides (fraction)"),
              ("gini", "Gini index")) if c in s]  # fmt: skip
    if not panels:
        raise InputError(f"the QC table has none of reads, zero_fraction, gini: {list(s.columns)}")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _, t in panels])
    for j, (c, _) in enumerate(panels, start=1):
        fig.add_trace(go.Bar(x=list(names), y=s[c], showlegend=False, marker_color="#1565c0"), 1, j)
    fig.update_layout(title="Screen QC per sample", template="plotly_white")
    return fig
