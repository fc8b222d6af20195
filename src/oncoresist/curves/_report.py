"""Report section for curve fits (rendered by ``oncoresist.report``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..data import Screen

__all__ = ["report_section"]


def report_section(fits: pd.DataFrame, screen: Screen | None = None) -> Any:
    """A ``oncoresist.report.Section`` summarising a :func:`fit_screen` table."""
    from ..report import Section  # type: ignore[attr-defined]

    counts = fits["status"].value_counts()
    text = (
        f"<p>{len(fits)} dose-response curves fitted with model "
        f"{', '.join(sorted(fits['model'].unique()))}: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + ". IC50 is the relative IC50 (EC50 of the fitted curve, micromolar); AUC is the mean "
        "fitted viability over the tested ln-concentration range (1 = no effect).</p>"
    )
    figures = []
    if screen is not None:
        from ._plot import plot_curves

        ok = fits[fits["status"] == "ok"]
        if len(ok):
            figures.append(plot_curves(screen, ok, max_curves=6))
    cols = [
        "sample",
        "drug",
        "status",
        "ic50",
        "ic50_ci_low",
        "ic50_ci_high",
        "hill_slope",
        "auc",
        "dss2",
        "r2",
    ]
    return Section(title="Dose-response curves", text=text, figures=figures,
                   tables=[("Curve fits (first 50)", fits[cols].head(50))])  # fmt: skip
