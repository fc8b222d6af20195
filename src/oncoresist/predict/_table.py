"""The real-data model x split table (GDSC via TGSA, cross-study GDSC -> CTRPv2).

Run outside the tests (minutes, not seconds)::

    ONCORESIST_DATA_MIRROR=../shared/data python -m oncoresist.predict table --out predict-table

Protocol: the TGSA GDSC panel (ln IC50, CCLE expression + copy number + mutation of 706 census
genes) restricted to the drugs that CTRPv2 also screened (so the same drugs serve the in-study
splits and the cross-study test); 3 outer folds per split; the elastic net tunes its penalty on
inner folds of the training lines; the other models use fixed hyper-parameters.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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

__all__ = ["TableResult", "default_models", "markdown_table", "real_data_table"]

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


@dataclass(frozen=True)
class TableResult:
    """Evaluations behind the real-data table and how long they took."""

    in_study: Evaluation
    cross_study: Evaluation
    ctrp_account: pd.DataFrame
    seconds: float
    n_drugs: int
    n_samples: int

    def to_frame(self) -> pd.DataFrame:
        """Model x split summary (in-study splits then cross-study)."""
        return pd.concat([self.in_study.summary(), self.cross_study.summary()], ignore_index=True)


def real_data_table(
    *,
    n_splits: int = 3,
    splits: Sequence[str] = ("pair", "cell_line", "drug", "tissue"),
    models: Mapping[str, Any] | None = None,
    with_nn: bool = True,
    n_drugs: int | None = None,
    rng: int = 0,
    progress: bool = False,
) -> TableResult:
    """Evaluate every model under every split on TGSA GDSC, and GDSC -> CTRPv2.

    Examples
    --------
    >>> res = real_data_table(n_drugs=5, with_nn=False)  # doctest: +SKIP
    >>> print(markdown_table(res.to_frame()))  # doctest: +SKIP
    """
    from ._real import load_tgsa_panel, match_ctrp

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
    ev = evaluate(
        mods,
        X,
        y,
        splits=splits,
        n_splits=n_splits,
        tissue=panel.annotation("tissue"),
        rng=rng,
        progress=progress,
    )
    cs = evaluate_cross_study(
        mods,
        (X, y),
        (Xc, yc),
        hold_out_cell_lines=True,
        n_splits=n_splits,
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
