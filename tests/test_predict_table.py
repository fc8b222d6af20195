"""The real-data table's evaluation tunes every learned model inside outer training folds only.

A spy estimator records the (sample, drug) pairs of every ``fit`` and ``predict`` call made by
:func:`evaluate_table`; the table's code path is the one :func:`real_data_table` runs after
loading the data, here on a small synthetic panel so the test takes seconds.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import ParameterGrid

from oncoresist.predict import (
    MeanEffects,
    TableResult,
    evaluate_table,
    make_response_panel,
    markdown_chosen,
    pair_frame,
    table_param_grids,
)
from oncoresist.predict._design import DRUG, SAMPLE, check_design
from oncoresist.predict._models import ResponseModel
from oncoresist.predict._table import default_models

N_SPLITS, N_INNER = 3, 2
GRID = {"shift": [0.0, 3.0]}


class Spy(ResponseModel):
    """Drug mean + ``shift``; logs the pairs of every call (class-level: clones share it)."""

    name = "spy"
    predicts_unseen_drugs = True
    log: ClassVar[list[tuple[str, frozenset[tuple[str, str]]]]] = []

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    @staticmethod
    def _pairs(X: pd.DataFrame) -> frozenset[tuple[str, str]]:
        return frozenset(zip(X[SAMPLE].astype(str), X[DRUG].astype(str), strict=True))

    def fit(self, X: pd.DataFrame, y: Any) -> Spy:
        check_design(X)
        Spy.log.append(("fit", self._pairs(X)))
        self.means_ = pd.Series(np.asarray(y, dtype=float), index=X.index).groupby(X[DRUG]).mean()
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        Spy.log.append(("predict", self._pairs(X)))
        base = X[DRUG].map(self.means_).fillna(self.mean_).to_numpy(dtype=float)
        return base + self.shift


@pytest.fixture(scope="module")
def table_run():
    panel, _ = make_response_panel(n_samples=60, n_drugs=4, n_genes=15, n_tissues=5, rng=3)
    X, y = pair_frame(panel)
    # The other study measures the same lines on another scale (as CTRP AUC vs GDSC ln IC50).
    yb = 0.1 * y.to_numpy() + 0.5 + np.random.default_rng(0).normal(0, 0.05, len(y))
    Spy.log.clear()
    ins, cs = evaluate_table(
        {"mean_effects": MeanEffects(), "spy": Spy()},
        (X, y),
        (X.copy(), yb),
        tissue=panel.annotation("tissue"),
        param_grids={"spy": GRID},
        n_splits=N_SPLITS,
        n_inner=N_INNER,
        rng=0,
    )
    tissue = panel.annotation("tissue").astype(str)
    tissue.index = tissue.index.astype(str)
    return ins, cs, list(Spy.log), tissue


def _groups(pairs: frozenset[tuple[str, str]], split: str, tissue: pd.Series) -> set[Any]:
    if split == "pair":
        return set(pairs)
    if split == "drug":
        return {d for _, d in pairs}
    if split == "tissue":
        return {tissue[s] for s, _ in pairs}
    return {s for s, _ in pairs}  # cell_line and cross_study_lco hold lines out


def test_tuning_sees_only_the_outer_training_part(table_run):
    ins, cs, log, tissue = table_run
    n_cand = len(ParameterGrid(GRID))
    # Per outer fold: (fit, predict) per candidate and inner fold, the refit, the outer predict.
    per_fold = 2 * n_cand * N_INNER + 2
    folds = [
        (ev, split, fold)
        for ev in (ins, cs)
        for split, fold in ev.fits.loc[ev.fits.model == "spy", ["split", "fold"]].itertuples(
            index=False
        )
    ]
    assert [s for _, s, _ in folds[::N_SPLITS]] == [
        "pair",
        "cell_line",
        "drug",
        "tissue",
        "cross_study_lco",
    ]
    assert len(log) == per_fold * len(folds)
    for b, (ev, split, fold) in enumerate(folds):
        block = log[b * per_fold : (b + 1) * per_fold]
        p = ev.predictions
        p = p[(p.model == "spy") & (p.split == split) & (p.fold == fold)]
        test = frozenset(zip(p[SAMPLE].astype(str), p[DRUG].astype(str), strict=True))
        (refit_kind, train), (last_kind, outer_pred) = block[-2], block[-1]
        assert (refit_kind, last_kind) == ("fit", "predict")
        assert outer_pred == test
        # The outer training part shares no group (pair, line, drug, tissue) with the test fold.
        assert _groups(train, split, tissue).isdisjoint(_groups(test, split, tissue))
        inner = block[:-2]
        assert [k for k, _ in inner] == ["fit", "predict"] * (n_cand * N_INNER)
        for (_, fit_pairs), (_, val_pairs) in zip(inner[::2], inner[1::2], strict=True):
            # Tuning fits and validates inside the outer training part only, never on test pairs.
            assert fit_pairs <= train and val_pairs <= train
            assert fit_pairs.isdisjoint(test) and val_pairs.isdisjoint(test)
            assert fit_pairs | val_pairs == train
            # Inner folds are grouped like the outer split.
            assert _groups(fit_pairs, split, tissue).isdisjoint(_groups(val_pairs, split, tissue))
        # Each candidate (searched in turn) is validated on N_INNER folds covering the training
        # part.
        vals = [v for _, v in inner[1::2]]
        for c in range(n_cand):
            assert frozenset().union(*vals[c * N_INNER : (c + 1) * N_INNER]) == train


def test_chosen_configuration_reported_per_outer_fold(table_run):
    ins, cs, _, _ = table_run
    res = TableResult(ins, cs, pd.DataFrame(), 0.0, 4, 60)
    s = res.to_frame().set_index(["model", "split"])
    # A shift of 3 only adds error to the drug mean, so every outer fold must choose 0.
    for split in ("pair", "cell_line", "drug", "tissue", "cross_study_lco"):
        cell = s.loc[("spy", split), "best_params"]
        assert cell == "; ".join(f"fold {k}: {{'shift': 0.0}}" for k in range(N_SPLITS))
        assert s.loc[("mean_effects", split), "best_params"] == ""
    md = markdown_chosen(res.to_frame())
    assert md.count("| spy |") == 5 and "mean_effects" not in md


def test_table_grids_are_small_and_valid_for_the_table_models():
    pytest.importorskip("lightgbm")
    pytest.importorskip("torch")
    models = default_models(with_nn=True)
    grids = table_param_grids(with_nn=True)
    learned = {k for k, m in models.items() if not getattr(m, "is_baseline", False)}
    # Every learned model of the table is tuned, each on 2-4 configurations.
    assert set(grids) == learned
    for name, grid in grids.items():
        assert 2 <= len(ParameterGrid(grid)) <= 4
        for params in ParameterGrid(grid):
            models[name].set_params(**params)
