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
        + ". <b>ic50_abs</b> is the absolute IC50 (micromolar): the concentration where the "
        "fitted curve crosses 50% of the untreated control; '>' in <code>ic50_abs_censored</code> "
        "means the curve stays above 50% over the tested range and the value shown is the "
        "highest tested concentration ('<': below 50% everywhere, lowest concentration). "
        "<b>ic50_rel</b> is the relative IC50 (EC50, the inflection point of the fitted curve). "
        "AUC is the mean fitted viability over the tested ln-concentration range (1 = no effect). "
        "Statuses other than ok (imprecise, flat, no_response, stimulatory, constant, failed, "
        "insufficient_data) say why an IC50 is not a plain estimate; <code>n_outliers</code> "
        "counts ROUT outliers (Q = 1%), named in <code>outlier_wells</code>.</p>"
    )
    figures = []
    if screen is not None:
        from ._plot import MENU_MAX_CURVES, plot_curves

        ok = fits[fits["status"].isin(["ok", "imprecise"])]
        if len(ok):
            figures.append(plot_curves(screen, ok, max_curves=MENU_MAX_CURVES, view="menu"))
            shown = min(len(ok), MENU_MAX_CURVES)
            more = (
                f" The menu holds the first {shown:,} of the {len(ok):,}; draw any other with "
                "<code>oncoresist.curves.plot_curves(screen, fits, samples=[...], "
                "drugs=[...])</code>."
                if len(ok) > shown
                else ""
            )
            text += (
                f"<p>The figure shows one fitted curve at a time (points, fitted curve, IC50 "
                f"mark and its confidence band): choose any of the {len(ok):,} curves with "
                f"status ok or imprecise in the menu at its top right.{more} Curves with "
                "other statuses are in the table only.</p>"
            )
    cols = [
        "sample",
        "drug",
        "status",
        "ic50_abs",
        "ic50_abs_censored",
        "ic50_abs_ci_low",
        "ic50_abs_ci_high",
        "ic50_rel",
        "hill_slope",
        "auc",
        "dss2",
        "r2",
        "n_outliers",
    ]
    return Section(title="Dose-response curves", text=text, figures=figures,
                   tables=[("Curve fits", fits[[c for c in cols if c in fits]])])  # fmt: skip
