"""Report section of a strategy ranking: ranking, evidence, what was not assessable, schedules."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ._strategy import Strategies

__all__ = ["plot_strategy_scores", "report_section"]

_KIND_ORDER = ["next_drug", "combination", "gene_target", "repurposing", "signature_reversal"]


def plot_strategy_scores(strategies: Strategies, *, n: int = 25) -> Any:
    """A horizontal bar plot (plotly) of the top ``n`` scores, coloured by kind.

    The dashed line is the confidence threshold (``min_confident``).
    """
    import plotly.graph_objects as go

    t = strategies.table.head(n).iloc[::-1]
    fig = go.Figure()
    for kind in _KIND_ORDER:
        sub = t[t.kind == kind]
        if sub.empty:
            continue
        fig.add_bar(
            x=sub.score, y=[f"{r} {s}" for r, s in zip(sub["rank"], sub.strategy, strict=True)],
            orientation="h", name=kind, hovertext=sub.top_evidence,
        )  # fmt: skip
    thr = float(strategies.weights.get("min_confident", 0.4))
    fig.add_vline(x=thr, line_dash="dash", annotation_text="confident")
    fig.update_layout(
        title=f"Strategy scores: {strategies.sample} resistant to {strategies.resisted_drug}",
        xaxis_title="score (see the formula in the text)", barmode="overlay",
        height=max(300, 22 * len(t) + 120), margin={"l": 320},
    )  # fmt: skip
    return fig


def report_section(
    strategies: Strategies, *, title: str = "Strategies", top: int | None = None
) -> Any:
    """A :class:`~oncoresist.report.Section`: ranking, evidence, not assessable, schedules.

    Every ranked row and every evidence item is listed (the report's tables filter and sort);
    ``top`` keeps the first ``top`` rows of the ranking only, said in its caption.
    """
    from ..report import Section

    s = strategies
    conf = (
        f"{int(s.table.confident.sum())} of {len(s.table)} rows are confident"
        if s.confident
        else "<b>No confident strategy</b>: no source gave evidence reaching the threshold; "
        "nothing is ranked confidently"
    )
    weights = ", ".join(f"{k} {v:g}" for k, v in s.weights.items())
    text = (
        f"<p>{html.escape(s.sample)} resistant to {html.escape(s.resisted_drug)} "
        f"(lineage {html.escape(str(s.lineage))}): {len(s.table)} strategies; {conf}.</p>"
        "<p>Scores: next drug and combination from the knowledge-base evidence (level x "
        "specificity x lineage x shared factor); gene targets from DepMap (min(1, -difference "
        "in Chronos effect) x FDR factor x drug factor) and the user's screen (min(1, |z|/3) x "
        "drug factor); repurposing: launched drugs (DrugCentral, Drug Repurposing Hub) "
        "hitting a DepMap dependency; signature reversal: |WTCS| of LINCS reversers at FDR "
        "&lt; 0.1; panel support (below the confidence threshold on its own): GDSC / CTRP "
        "associations of the resistance genes (min(1, |Glass delta| / 2)), the response "
        "forecast (1 - percentile / 50, reliable drugs only), measured O'Neil / NCI-ALMANAC "
        "synergy in lines of the lineage (min(1, z / 3)) and the synergy model's prediction "
        "for unmeasured pairs. A row's score is its strongest item's. Source weights: "
        f"{weights}.</p>"
    )
    ranking = s.to_frame().drop(columns=["sample", "resisted_drug"])
    caption = "Ranking"
    if top is not None and len(ranking) > top:
        caption = f"Ranking (the first {top} of {len(ranking)} rows)"
        ranking = ranking.head(top)
    tables: list[tuple[str, pd.DataFrame]] = [
        (caption, ranking),
        ("Evidence", s.evidence),
        ("Not assessable", s.not_assessable),
    ]
    if not s.schedules.empty:
        src = "; ".join(dict.fromkeys(s.schedules.get("parameter_source", pd.Series(dtype=str))))
        tables.append((f"Schedules ({html.escape(src) or 'illustrative parameters'})",
                       s.schedules))  # fmt: skip
    figs = [plot_strategy_scores(s)] if not s.table.empty else []
    return Section(title, text=text, figures=figs, tables=tables)
