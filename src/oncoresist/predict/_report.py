"""Report section for prediction results (``oncoresist.report.Section``)."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from .._text import fmt_number
from ._evaluate import Evaluation
from ._plots import (
    plot_baseline_comparison,
    plot_drug_scatter,
    plot_importance,
    plot_metric_by_split,
)

__all__ = ["application_section", "report_section"]

_SHOW = [
    "model",
    "split",
    "measure",
    "status",
    "n",
    "rmse",
    "pearson",
    "spearman",
    "pearson_norm",
    "pearson_norm_sd",
    "pearson_per_drug",
    "auroc_per_drug",
]


def _pm(mean: object, sd: object) -> str:
    """``0.512 ± 0.031``; ``n/a`` for a mean that could not be computed, no ``±`` without a sd
    (one fold)."""
    text = fmt_number(mean, ".3f")
    spread = fmt_number(sd, ".3f", missing="")
    return f"{text} ± {spread}" if spread and text != "n/a" else text


def report_section(
    evaluation: Evaluation,
    *,
    title: str = "Drug-response prediction",
    dataset: str = "",
    attribution: Any = None,
) -> Any:
    """A report :class:`~oncoresist.report.Section`: metric table, baseline chart, scatters.

    Examples
    --------
    >>> sec = report_section(ev, dataset="TGSA GDSC")  # doctest: +SKIP
    """
    from ..report import Section

    summary = evaluation.metrics()
    figs: list[Any] = [plot_metric_by_split(summary)]
    splits = list(dict.fromkeys(summary["split"]))
    main_split = "cell_line" if "cell_line" in splits else splits[0]
    figs.append(plot_baseline_comparison(summary, split=main_split, metric="pearson_norm"))
    models = summary[(~summary["is_baseline"]) & (summary["split"] == main_split)]
    models = models.dropna(subset=["pearson_norm"])
    best = None
    if not models.empty:
        best = str(models.sort_values("pearson_norm").iloc[-1]["model"])
        figs.append(plot_drug_scatter(evaluation, model=best, split=main_split, max_drugs=6))
    if attribution is not None:
        figs.append(plot_importance(attribution.importance(), title="What drives the predictions"))
    me = summary[(summary["model"] == "mean_effects") & (summary["split"] == main_split)]
    text = [
        f"<p>{html.escape(dataset) + ': ' if dataset else ''}models evaluated under "
        f"{', '.join(map(html.escape, splits))} splits with grouped folds (no cell line, drug or "
        "tissue of a test fold is seen in training). Baselines are reported beside every model. "
        "<i>pearson_norm</i> correlates what remains after removing the mean-effects baseline "
        "(drug mean + cell-line mean of the training fold); a model that only learns the drug "
        "mean scores 0 on it. Per-drug metrics are computed within each fold and then averaged "
        "over folds (pooling folds would give a baseline that is constant within each fold a "
        "correlation); <i>measure</i> is the response measure, and no RMSE compares two.</p>"
    ]
    if best is not None and not me.empty:
        b = models.set_index("model").loc[best]
        text.append(
            f"<p>Best model under {html.escape(main_split)}: <b>{html.escape(best)}</b>, "
            f"per-drug Pearson {_pm(b['pearson_per_drug'], b['pearson_per_drug_sd'])} "
            f"(mean-effects baseline {fmt_number(me['pearson_per_drug'].iloc[0], '.3f')}), "
            f"normalised Pearson {_pm(b['pearson_norm'], b['pearson_norm_sd'])}.</p>"
        )
    failed = evaluation.fits[evaluation.fits["status"] != "ok"]
    tables: list[tuple[str, pd.DataFrame]] = [
        (
            "Metrics by model and split (mean over folds; _sd = fold-to-fold sd)",
            summary[[c for c in _SHOW if c in summary]].round(3),
        ),
    ]
    if not failed.empty:
        tables.append(
            (
                "Fits that did not produce predictions",
                failed[["model", "split", "fold", "status", "reason"]],
            )
        )
    return Section(title, text="".join(text), figures=figs, tables=tables)


def application_section(application: Any, card: Any) -> Any:
    """Report section of ``predict apply``: the training-overlap note first, then the account
    of missing and unknown genes and the predictions.

    Examples
    --------
    >>> sec = application_section(tm.predict_profile(profile), tm.card)  # doctest: +SKIP
    """
    from ..report import Section

    note = application.overlap_note()
    text = []
    if note:
        colour = "#a15c00" if note.startswith("warning") else "#555"
        text.append(f'<p style="color:{colour}"><b>{html.escape(note)}</b></p>')
    text.append(
        f"<p>Model <b>{html.escape(card.model_name)}</b> trained on {html.escape(card.dataset)} "
        f"({len(card.training_samples)} samples, measure {html.escape(card.metric)}).</p>"
    )
    rest = [line for line in application.describe().splitlines() if line != note]
    text.append("".join(f"<p>{html.escape(line)}</p>" for line in rest))
    return Section(
        "Predictions for new profiles",
        text="".join(text),
        tables=[("Predictions", application.predictions)],
    )
