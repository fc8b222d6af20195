"""Plots of synergy results (plotly figures; nothing is recomputed, shown or saved)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..errors import InputError
from ._hill import hill_predict
from ._score import SynergyResult

__all__ = ["plot_excess_heatmap", "plot_single_agents", "plot_surface_3d"]


def _fmt(c: object) -> str:
    v = float(c)  # type: ignore[arg-type]
    return "0" if v == 0 else f"{v:.3g}"


def _block_surface(result: SynergyResult, block_id: str, model: str) -> pd.DataFrame:
    s = result.surfaces
    if s.empty:
        raise InputError("the result has no surfaces (scored with keep_surfaces=False)")
    sel = s[(s["block_id"] == str(block_id)) & (s["model"] == model)]
    if sel.empty:
        raise InputError(
            f"no surface for block {block_id!r} and model {model!r}; models: {list(result.models)}"
        )
    return sel


def _meta(result: SynergyResult, block_id: str) -> pd.Series:
    blocks = result.blocks.set_index("block_id")
    if str(block_id) not in blocks.index:
        raise InputError(f"no block {block_id!r} in the result")
    row = blocks.loc[str(block_id)]
    return row if isinstance(row, pd.Series) else row.iloc[0]


def plot_excess_heatmap(result: SynergyResult, block_id: str, *, model: str = "bliss") -> go.Figure:
    """Heatmap of the synergy surface of one block (doses as labels; red = synergy).

    >>> from oncoresist.synergy import make_combination_screen, score_combinations
    >>> r = score_combinations(make_combination_screen(1, rng=0), models=["bliss"], n_boot=0)
    >>> plot_excess_heatmap(r, "0").data[0].type
    'heatmap'
    """
    sel = _block_surface(result, block_id, model)
    tab = sel.pivot_table(index="conc1", columns="conc2", values="excess", aggfunc="first")
    meta = _meta(result, block_id)
    z = tab.to_numpy()
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[_fmt(c) for c in tab.columns],
            y=[_fmt(c) for c in tab.index],
            colorscale="RdBu_r",
            zmid=0.0,
            zmin=-lim,
            zmax=lim,
            text=np.round(z, 1),
            texttemplate="%{text}",
            colorbar={"title": "excess"},
        )
    )
    units = result.scores.loc[result.scores["model"] == model, "units"].iloc[0]
    fig.update_layout(
        title=f"{model.upper()} synergy, block {block_id}: {meta['drug1']} x {meta['drug2']} ({meta['sample']})<br><sup>{units}</sup>",
        xaxis_title=f"{meta['drug2']} (µM)",
        yaxis_title=f"{meta['drug1']} (µM)",
        xaxis={"type": "category"},
        yaxis={"type": "category"},
    )
    return fig


def plot_surface_3d(
    result: SynergyResult, block_id: str, *, model: str = "bliss", value: str = "excess"
) -> go.Figure:
    """3-D surface of one block: ``value`` = ``"excess"``, ``"response"`` or ``"expected"``."""
    if value not in ("excess", "response", "expected"):
        raise InputError("value must be 'excess', 'response' or 'expected'")
    sel = _block_surface(result, block_id, model)
    tab = sel.pivot_table(index="conc1", columns="conc2", values=value, aggfunc="first")
    meta = _meta(result, block_id)
    fig = go.Figure(
        go.Surface(
            z=tab.to_numpy(),
            x=np.arange(tab.shape[1]),
            y=np.arange(tab.shape[0]),
            colorscale="RdBu_r" if value == "excess" else "Viridis",
            cmid=0.0 if value == "excess" else None,
        )
    )
    fig.update_layout(
        title=f"{model.upper()} {value}, block {block_id}",
        scene={
            "xaxis": {
                "title": f"{meta['drug2']} (µM)",
                "tickvals": list(range(tab.shape[1])),
                "ticktext": [_fmt(c) for c in tab.columns],
            },
            "yaxis": {
                "title": f"{meta['drug1']} (µM)",
                "tickvals": list(range(tab.shape[0])),
                "ticktext": [_fmt(c) for c in tab.index],
            },
            "zaxis": {"title": value},
        },
    )
    return fig


def plot_single_agents(result: SynergyResult, block_id: str) -> go.Figure:
    """Observed single-agent responses of a block with their fitted Hill curves."""
    meta = _meta(result, block_id)
    s = result.surfaces
    if s.empty:
        raise InputError("the result has no surfaces (scored with keep_surfaces=False)")
    s = s[(s["block_id"] == str(block_id)) & (s["model"] == result.models[0])]
    fits = result.single_agents
    fits = fits[fits["block_id"] == str(block_id)].set_index("which") if len(fits) else fits
    fig = go.Figure()
    for which, conc_col, other, name in (
        ("drug1", "conc1", "conc2", meta["drug1"]),
        ("drug2", "conc2", "conc1", meta["drug2"]),
    ):
        pts = s[(s[other] == 0) & (s[conc_col] > 0)].sort_values(conc_col)
        fig.add_trace(
            go.Scatter(
                x=pts[conc_col], y=pts["response"] * 100, mode="markers", name=f"{name} (observed)"
            )
        )
        if len(fits) and which in fits.index:
            f = fits.loc[which]
            lo, hi = pts[conc_col].min(), pts[conc_col].max()
            grid = np.exp(np.linspace(np.log(lo) - 1, np.log(hi) + 1, 100))
            par = np.array([[f["bottom"], f["top"], np.log(f["ec50"]), f["hill_slope"]]])
            yy = hill_predict(np.log(grid)[None], par)[0] * 100
            fig.add_trace(go.Scatter(x=grid, y=yy, mode="lines", name=f"{name} (Hill fit)"))
    fig.update_layout(
        title=f"Single agents of block {block_id} ({meta['sample']})",
        xaxis={"type": "log", "title": "concentration (µM)"},
        yaxis_title="inhibition (%)",
    )
    return fig
