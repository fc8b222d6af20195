"""Report section of a synergy analysis."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ._plot import plot_excess_heatmap, plot_single_agents
from ._score import SynergyComparison, SynergyResult

__all__ = ["report_section"]

_SHOW = [
    "block_id",
    "sample",
    "drug1",
    "drug2",
    "model",
    "score",
    "score_max_area",
    "ci_low",
    "ci_high",
    "pvalue",
    "status",
    "reason",
]


def report_section(
    result: SynergyResult,
    *,
    title: str = "Drug combinations",
    block_ids: Sequence[str] | None = None,
    heatmap_models: Sequence[str] = ("bliss", "loewe", "zip"),
    comparison: SynergyComparison | None = None,
    intro: str = "",
) -> Any:
    """A :class:`oncoresist.report.Section` with scores, heatmaps and single-agent fits.

    Figures are drawn for ``block_ids`` (default: the first four blocks).
    """
    from ..report import Section

    ids = list(block_ids) if block_ids is not None else result.blocks["block_id"].head(4).tolist()
    figs = []
    for b in ids:
        for m in heatmap_models:
            if m in result.models and not result.surfaces.empty:
                figs.append(plot_excess_heatmap(result, b, model=m))
        if not result.surfaces.empty:
            figs.append(plot_single_agents(result, b))
    n_dis = int(result.blocks["models_disagree"].sum())
    n_out = int(result.blocks["n_outliers"].sum())
    notes = "".join(f"<li>{n}</li>" for n in result.notes)
    flagged = result.scores[result.scores["status"] != "ok"]
    reliability = (
        f"<p>{len(flagged)} (block, model) score(s) are not <code>ok</code>: "
        + "; ".join(
            f"block {b} {m.upper()}: {st} ({r})"
            for b, m, st, r in flagged[["block_id", "model", "status", "reason"]]
            .head(20)
            .itertuples(index=False)
        )
        + ("; ..." if len(flagged) > 20 else "")
        + ". Loewe, ZIP, CI and MuSyC stand on the single-agent fits; HSA and Bliss do not.</p>"
        if len(flagged)
        else "<p>Every score has status <code>ok</code>.</p>"
    )
    text = (
        f"{intro}<p>{len(result.blocks)} blocks scored under {', '.join(m.upper() for m in result.models)}. "
        "Scores are the mean synergy over the combination wells (percentage points of inhibition; "
        "Chou–Talalay: -log10 CI), positive = synergy; intervals are 95 % bootstrap intervals over "
        f"replicates. Models disagree in sign on {n_dis} block(s); {n_out} replicate measurement(s) "
        "are flagged as outliers.</p>"
        + reliability
        + (f"<p>Input conversions:</p><ul>{notes}</ul>" if notes else "")
        + (
            f"<p>Figures are drawn for {len(ids)} of {len(result.blocks)} blocks (block "
            f"{', '.join(html.escape(str(b)) for b in ids)}); every block's scores are in the "
            "tables below, and <code>report_section(result, block_ids=[...])</code>, "
            "<code>plot_excess_heatmap(result, block_id)</code> or the web app's block view "
            "draw any other.</p>"
            if len(ids) < len(result.blocks) and figs
            else ""
        )
    )
    tables: list[tuple[str, pd.DataFrame]] = [
        (
            "Synergy scores per block and model",
            result.scores[[c for c in _SHOW if c in result.scores]].round(4),
        ),
        ("Blocks: outliers and model agreement", result.blocks),
    ]
    if not result.single_agents.empty:
        cols = ["block_id", "which", "bottom", "top", "ic50", "hill_slope", "status", "problem"]
        tables.append(
            (
                "Single-agent fits",
                result.single_agents[[c for c in cols if c in result.single_agents]].round(4),
            )
        )
    if len(result.excluded):
        tables.append(("Excluded blocks", result.excluded))
    if comparison is not None:
        tables.append(("Synergy on the resistant vs the parental line", comparison.pairs.round(4)))
    return Section(title, text=text, figures=figs, tables=tables)
