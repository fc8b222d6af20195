"""The real-data model x split table (GDSC via TGSA, cross-study GDSC -> CTRPv2).

Run outside the tests (minutes, not seconds)::

    ONCORESIST_DATA_MIRROR=../shared/data python -m oncoresist.predict table --out predict-table

Protocol: the TGSA GDSC panel (ln IC50, CCLE expression + copy number + mutation of 706 census
genes) restricted to the drugs that CTRPv2 also screened (so the same drugs serve the in-study
splits and the cross-study test); 3 outer folds per split. Every learned model is tuned on
2 inner folds of each outer training part only, grouped like the outer split (cell lines under
leave-cell-line-out and cross-study, drugs under leave-drug-out, tissues under leave-tissue-out,
pairs under the pair split), over the small grids of :func:`table_param_grids`; the chosen
configuration of every outer fold is reported (``best_params``). The elastic net additionally
chooses its penalty per drug with ``ElasticNetCV`` on folds of the same training lines.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._results import ResultMixin
from ._design import drug_features, pair_frame
from ._evaluate import Evaluation, evaluate, evaluate_cross_study
from ._models import (
    DrugMean,
    GlobalLightGBM,
    GlobalMean,
    MeanEffects,
    PerDrugElasticNet,
    PerDrugRandomForest,
    SampleMean,
)

__all__ = [
    "TableResult",
    "default_models",
    "evaluate_table",
    "markdown_chosen",
    "markdown_table",
    "real_data_table",
    "table_param_grids",
]

_COLS = ["rmse", "pearson", "spearman", "pearson_norm", "pearson_per_drug", "auroc_per_drug"]


def default_models(*, with_nn: bool = True, rng: int = 0) -> dict[str, Any]:
    """Baselines and models of the real-data table (sizes chosen for a 2-core machine)."""
    models: dict[str, Any] = {
        "global_mean": GlobalMean(),
        "drug_mean": DrugMean(),
        "sample_mean": SampleMean(),
        "mean_effects": MeanEffects(),
        "elastic_net": PerDrugElasticNet(random_state=rng),
        "random_forest": PerDrugRandomForest(n_estimators=50, random_state=rng),
        "lightgbm": GlobalLightGBM(random_state=rng),
    }
    if with_nn:
        from ._nn import MultiOmicsNet

        models["multiomics_nn"] = MultiOmicsNet(
            hidden=32, epochs=8, batch_size=512, random_state=rng
        )
    return models


def table_param_grids(*, with_nn: bool = True) -> dict[str, dict[str, list[Any]]]:
    """Small grids (2-4 configurations) searched on inner folds for each learned model.

    Sized for a 2-core machine: each grid brackets the fixed setting of :func:`default_models`
    with one more regularised (or cheaper) alternative.

    Examples
    --------
    >>> sorted(table_param_grids(with_nn=False))
    ['elastic_net', 'lightgbm', 'random_forest']
    """
    grids: dict[str, dict[str, list[Any]]] = {
        # Number of omics features kept per drug (the penalty is chosen by ElasticNetCV).
        "elastic_net": {"n_features": [50, 100]},
        "random_forest": {"max_features": [0.1, 0.3]},
        "lightgbm": {"num_leaves": [15, 31]},
    }
    if with_nn:
        grids["multiomics_nn"] = {"weight_decay": [1e-4, 1e-2], "dropout": [0.2, 0.5]}
    return grids


def evaluate_table(
    models: Mapping[str, Any],
    study: tuple[pd.DataFrame, Any],
    other_study: tuple[pd.DataFrame, Any],
    *,
    tissue: pd.Series | None,
    param_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    splits: Sequence[str] = ("pair", "cell_line", "drug", "tissue"),
    n_splits: int = 3,
    n_inner: int = 2,
    rng: int = 0,
    progress: bool = False,
) -> tuple[Evaluation, Evaluation]:
    """The evaluations of the table: in-study splits, then cross-study with held-out lines.

    Every model with a grid in ``param_grids`` is tuned by grid search on ``n_inner`` inner
    folds of each outer training part only, grouped like the outer split.

    Examples
    --------
    >>> from oncoresist.predict import make_response_panel, pair_frame, DrugMean
    >>> panel, _ = make_response_panel(n_samples=60, n_drugs=3, rng=0)
    >>> X, y = pair_frame(panel)
    >>> ins, cs = evaluate_table({"drug_mean": DrugMean()}, (X, y), (X, y),
    ...                          tissue=panel.annotation("tissue"), splits=["cell_line"])
    >>> cs.fits["split"].unique().tolist()
    ['cross_study_lco']
    """
    X, y = study
    ev = evaluate(
        models,
        X,
        y,
        splits=splits,
        n_splits=n_splits,
        tissue=tissue,
        param_grids=param_grids,
        n_inner=n_inner,
        rng=rng,
        progress=progress,
    )
    cs = evaluate_cross_study(
        models,
        (X, y),
        other_study,
        hold_out_cell_lines=True,
        n_splits=n_splits,
        param_grids=param_grids,
        n_inner=n_inner,
        rng=rng,
        progress=progress,
    )
    return ev, cs


def _chosen(fits: pd.DataFrame) -> pd.DataFrame:
    """``best_params`` of every outer fold joined into one cell per model and split."""
    f = fits[fits["best_params"].fillna("").astype(str) != ""]
    cols = ["model", "split", "best_params"]
    if f.empty:
        return pd.DataFrame(columns=cols)
    text = f.assign(
        cell=[f"fold {k}: {p}" for k, p in zip(f["fold"], f["best_params"], strict=True)]
    )
    return (
        text.groupby(["model", "split"], sort=False)["cell"]
        .agg("; ".join)
        .rename("best_params")
        .reset_index()
    )


@dataclass(frozen=True)
class TableResult(ResultMixin):
    """Evaluations behind the real-data table and how long they took."""

    in_study: Evaluation
    cross_study: Evaluation
    ctrp_account: pd.DataFrame
    seconds: float
    n_drugs: int
    n_samples: int

    def fits(self) -> pd.DataFrame:
        """Fit rows of every model, split and outer fold (status, chosen configuration, times)."""
        return pd.concat([self.in_study.fits, self.cross_study.fits], ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """Model x split summary (in-study splits then cross-study), with the configuration
        chosen on inner folds for each outer fold (``best_params``, empty when not tuned)."""
        s = pd.concat([self.in_study.metrics(), self.cross_study.metrics()], ignore_index=True)
        s = s.merge(_chosen(self.fits()), on=["model", "split"], how="left")
        s["best_params"] = s["best_params"].fillna("")
        return s

    def summary(self) -> str:
        """One line: data size, the two evaluations and the time they took."""
        return (
            f"TableResult: {self.n_samples} samples x {self.n_drugs} drugs; in-study "
            f"{len(self.in_study.fits)} fits, cross-study {len(self.cross_study.fits)} fits; "
            f"{self.seconds:.0f} s"
        )


def real_data_table(
    *,
    n_splits: int = 3,
    splits: Sequence[str] = ("pair", "cell_line", "drug", "tissue"),
    models: Mapping[str, Any] | None = None,
    param_grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    n_inner: int = 2,
    with_nn: bool = True,
    n_drugs: int | None = None,
    rng: int = 0,
    progress: bool = False,
) -> TableResult:
    """Evaluate every model under every split on TGSA GDSC, and GDSC -> CTRPv2.

    Learned models are tuned on ``n_inner`` grouped inner folds of each outer training part
    (``param_grids``, default :func:`table_param_grids`).

    Examples
    --------
    >>> res = real_data_table(n_drugs=5, with_nn=False)  # doctest: +SKIP
    >>> print(markdown_table(res.to_frame()))  # doctest: +SKIP
    """
    from ._evaluate import _check_count
    from ._real import load_tgsa_panel, match_ctrp

    _check_count(n_splits, "n_splits", minimum=2)
    _check_count(n_inner, "n_inner", minimum=2)
    _check_count(n_drugs, "n_drugs", optional=True)
    t0 = time.perf_counter()
    panel = load_tgsa_panel()
    ctrp, account = match_ctrp(panel)
    drugs = list(ctrp.drugs)
    if n_drugs is not None and n_drugs < len(drugs):
        drugs = sorted(np.random.default_rng(rng).choice(drugs, n_drugs, replace=False))
    panel = panel.subset(drugs=drugs)
    ctrp = ctrp.subset(drugs=drugs)
    dann = panel.drug_annotations if panel.drug_annotations is not None else pd.DataFrame()
    dt = drug_features(dann, n_bits=128)
    X, y = pair_frame(panel, drug_table=dt)
    Xc, yc = pair_frame(ctrp, drug_table=dt)
    mods = dict(models) if models is not None else default_models(with_nn=with_nn, rng=rng)
    grids = table_param_grids(with_nn=with_nn) if param_grids is None else param_grids
    ev, cs = evaluate_table(
        mods,
        (X, y),
        (Xc, yc),
        tissue=panel.annotation("tissue"),
        param_grids=grids,
        splits=splits,
        n_splits=n_splits,
        n_inner=n_inner,
        rng=rng,
        progress=progress,
    )
    return TableResult(ev, cs, account, time.perf_counter() - t0, len(drugs), panel.shape[0])


def markdown_table(summary: pd.DataFrame, *, digits: int = 3) -> str:
    """Markdown table of a summary: mean ± fold-to-fold sd, status for non-applicable cells.

    Examples
    --------
    >>> s = pd.DataFrame({"model": ["m"], "split": ["cell_line"], "status": ["ok"],
    ...                   "rmse": [1.0], "rmse_sd": [0.1]})
    >>> "1.000 ± 0.100" in markdown_table(s)
    True
    """
    cols = [c for c in _COLS if c in summary.columns]
    head = "| model | split | " + " | ".join(cols) + " |"
    sep = "|---|---|" + "---|" * len(cols)
    lines = [head, sep]
    for d in summary.to_dict(orient="records"):
        cells = []
        for c in cols:
            v, sd = d.get(c), d.get(f"{c}_sd")
            if c == "rmse" and str(d.get("split", "")).startswith("cross_study"):
                cells.append("n/a (scales differ)")
            elif d.get("status") not in ("ok", None) and (v is None or pd.isna(v)):
                cells.append(str(d.get("status")))
            elif v is None or pd.isna(v):
                cells.append("–")
            elif sd is None or pd.isna(sd):
                cells.append(f"{v:.{digits}f}")
            else:
                cells.append(f"{v:.{digits}f} ± {sd:.{digits}f}")
        lines.append(f"| {d['model']} | {d['split']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_chosen(summary: pd.DataFrame) -> str:
    """Markdown table of the configuration chosen on inner folds per model, split and fold.

    Examples
    --------
    >>> s = pd.DataFrame({"model": ["m"], "split": ["pair"], "best_params": ["fold 0: {'a': 1}"]})
    >>> markdown_chosen(s).splitlines()[-1]
    "| m | pair | fold 0: {'a': 1} |"
    """
    lines = ["| model | split | chosen on inner folds (per outer fold) |", "|---|---|---|"]
    if "best_params" not in summary.columns:
        return "\n".join(lines)
    for d in summary.to_dict(orient="records"):
        if d.get("best_params"):
            lines.append(f"| {d['model']} | {d['split']} | {d['best_params']} |")
    return "\n".join(lines)
