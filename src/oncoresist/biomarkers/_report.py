"""Report section of an association analysis."""

from __future__ import annotations

import html
from typing import Any

from ..data._panel import Panel
from ._linear import AssociationResult
from ._plots import association_boxplot, association_heatmap, volcano_plot

__all__ = ["report_section", "top_biomarkers"]

_COLS = [
    "drug",
    "drug_name",
    "target",
    "feature",
    "n_pos",
    "n_neg",
    "n_samples",
    "mean_diff",
    "cohens_d",
    "beta",
    "partial_r",
    "pvalue",
    "fdr",
]


def top_biomarkers(result: AssociationResult, *, n: int = 10, fdr: float = 0.25) -> dict[str, Any]:
    """The ``n`` strongest resistance and sensitivity associations at ``fdr`` (two tables)."""
    t = result.significant(fdr)
    cols = [c for c in _COLS if c in t.columns and (t[c].notna().any() or not len(t))]
    return {
        "resistance": t[t["association"] == "resistance"].head(n)[cols].reset_index(drop=True),
        "sensitivity": t[t["association"] == "sensitivity"].head(n)[cols].reset_index(drop=True),
    }


def report_section(
    result: AssociationResult,
    panel: Panel | None = None,
    *,
    title: str = "Biomarkers of drug response",
    n_top: int = 10,
):
    """A report :class:`~oncoresist.report.Section`: summary, volcano, heatmap, top tables and
    (with ``panel``) the boxplot of the strongest association."""
    from oncoresist.report import Section

    top = top_biomarkers(result, n=n_top)
    s = result.settings
    binary = s.get("kind", "binary") == "binary"
    test = (
        "F-test of the feature term"
        if binary
        else "t-test of the feature slope (partial correlation given the covariates)"
    )
    filters = f"at least {s.get('min_responses')} responses per drug" + (
        f" and {s.get('min_group')} samples per feature group" if binary else ""
    )
    text = (
        f"<p>{html.escape(result.summary())}.</p><p>Model: {html.escape(str(s.get('metric')))} ~ "
        f"{html.escape(' + '.join(s.get('covariates', [])) or '1')} + feature "
        f"({html.escape(str(s.get('mode')))}); {test}, Benjamini-Hochberg FDR over all tests; "
        f"filters: {filters}. Skipped tests are listed in the result's <code>skipped</code> "
        "table.</p>"
    )
    figures = [volcano_plot(result), association_heatmap(result)]
    if panel is not None and len(result.table) and binary:
        best = result.table.iloc[0]
        figures.append(association_boxplot(panel, best["drug"], best["feature"]))
    sig = result.significant(0.25)
    cols = ["association"] + [c for c in _COLS if c in sig.columns]
    tables = [
        (f"Top {n_top} resistance biomarkers (FDR <= 25%)", top["resistance"]),
        (f"Top {n_top} sensitivity biomarkers (FDR <= 25%)", top["sensitivity"]),
        (
            f"Every association at FDR <= 25% ({len(sig)}; type a drug or a feature to filter)",
            sig[[c for c in dict.fromkeys(cols) if c in sig.columns]].reset_index(drop=True),
        ),
        ("Skipped tests by reason", result.skipped_summary().rename("n_tests").reset_index()),
    ]
    return Section(title=title, text=text, figures=figures, tables=tables)
