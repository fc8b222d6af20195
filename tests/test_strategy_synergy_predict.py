"""Tests of synergy prediction (oncoresist.strategy._synergy_predict)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from oncoresist.errors import InputError
from oncoresist.strategy._synergy_predict import (
    SynergyData,
    SynergyPredictionEvaluation,
    _baselines,
    _folds,
    _pair_key,
    evaluate_synergy_prediction,
    fit_synergy_predictor,
)

MIRROR = os.environ.get("ONCORESIST_DATA_MIRROR")
needs_mirror = pytest.mark.skipif(
    not MIRROR, reason="needs the data mirror (set ONCORESIST_DATA_MIRROR=/work/shared/data)"
)


def _simulated(n_drugs: int = 24, n_lines: int = 12, seed: int = 0) -> tuple[SynergyData, dict]:
    """synergy = w . (fp_a * fp_b interaction via shared bits) + cell effect + noise."""
    rng = np.random.default_rng(seed)
    drugs = [f"d{i}" for i in range(n_drugs)]
    lines = [f"c{i}" for i in range(n_lines)]
    fp = pd.DataFrame(rng.integers(0, 2, (n_drugs, 16)).astype(float), index=drugs)
    cell = pd.DataFrame(rng.normal(size=(n_lines, 3)), index=lines)
    w = rng.normal(size=16)
    pairs = [(a, b) for i, a in enumerate(drugs) for b in drugs[i + 1 :]]
    rows = [(a, b, c) for a, b in pairs for c in lines]
    t = pd.DataFrame(rows, columns=["drug_a", "drug_b", "cell_line"])
    fa, fb = fp.loc[t["drug_a"]].to_numpy(), fp.loc[t["drug_b"]].to_numpy()
    # a pair effect that is not additive in the drugs (bits present in both drugs)
    pair_effect = 3.0 * ((fa * fb) @ w)
    cell_effect = 4.0 * cell.loc[t["cell_line"], 0].to_numpy()
    t["synergy"] = pair_effect + cell_effect + rng.normal(scale=0.5, size=len(t))
    return SynergyData(t, fp, cell, "simulated"), {"pair": pair_effect, "cell": cell_effect}


def test_ground_truth_recovered_better_than_baselines():
    """Ground truth (simulated): the model beats every baseline on leave-pair-out."""
    data, _ = _simulated(n_drugs=14, n_lines=8)
    ev = evaluate_synergy_prediction(data, splits=("pair",), n_folds=3, model="lightgbm")
    assert isinstance(ev, SynergyPredictionEvaluation)
    m = ev.metrics.set_index(["split", "model", "metric"])["mean"]
    model_r = m["pair", "lightgbm", "pearson"]
    assert model_r > 0.8
    for base in ("global_mean", "pair_mean", "additive_drug_means", "cell_line_mean"):
        r = m["pair", base, "pearson"]
        assert np.isnan(r) or model_r > r + 0.1
        assert m["pair", "lightgbm", "rmse"] < m["pair", base, "rmse"]
    assert set(ev.timings["split"]) == {"pair"}
    assert "published" not in set(ev.metrics["split"])
    assert "<table" in ev._repr_html_() and "simulated" in ev.summary()
    assert ev.metric_table().shape[1] == 1


def test_baselines_equal_hand_computations():
    """Regression guard against hand computations of the four baselines."""
    train = pd.DataFrame(
        {
            "drug_a": ["x", "y", "x", "z"],
            "drug_b": ["y", "x", "z", "y"],
            "cell_line": ["c1", "c2", "c1", "c2"],
            "synergy": [1.0, 3.0, 5.0, 7.0],
        }
    )
    test = pd.DataFrame(
        {"drug_a": ["y", "x", "w"], "drug_b": ["x", "w", "w"], "cell_line": ["c2", "c3", "c1"]}
    )
    got = _baselines(train, test)
    np.testing.assert_allclose(got["global_mean"], 4.0)
    # pair (x, y) is unordered: rows 0 and 1 -> mean 2; unseen pairs -> global mean
    np.testing.assert_allclose(got["pair_mean"], [2.0, 4.0, 4.0])
    np.testing.assert_allclose(got["cell_line_mean"], [5.0, 4.0, 3.0])
    # additive: y = mu + b_x + b_y (+ ...), min-norm least squares; unseen drug adds 0
    design = np.array([[1, 1, 0, 1], [1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1]], dtype=float)
    coef = np.linalg.pinv(design) @ train["synergy"].to_numpy()
    bx, by, _bz, mu = coef
    np.testing.assert_allclose(got["additive_drug_means"], [mu + bx + by, mu + bx, mu], atol=1e-9)


def test_additive_baseline_exact_on_additive_data():
    """Ground truth: data that are exactly additive in drug effects are fitted exactly."""
    rng = np.random.default_rng(1)
    drugs = list("abcdef")
    eff = dict(zip(drugs, rng.normal(size=6), strict=True))
    pairs = [(a, b) for i, a in enumerate(drugs) for b in drugs[i + 1 :]]
    t = pd.DataFrame(pairs, columns=["drug_a", "drug_b"]).assign(cell_line="c")
    t["synergy"] = 2.0 + t["drug_a"].map(eff) + t["drug_b"].map(eff)
    got = _baselines(t, t)["additive_drug_means"]
    np.testing.assert_allclose(got, t["synergy"], atol=1e-9)


@pytest.mark.parametrize("split", ["pair", "drug", "cell_line"])
def test_grouped_folds_never_share_group(split):
    """Regression guard: grouped folds keep pairs / drugs / lines apart."""
    data, _ = _simulated(n_drugs=10, n_lines=7)
    t = data.table
    folds = _folds(t, split, 5, 0)
    assert len(folds) == 5
    tested = np.zeros(len(t), dtype=int)
    for tr, te in folds:
        assert len(np.intersect1d(tr, te)) == 0
        tested[te] += 1
        if split == "pair":
            pk = _pair_key(t["drug_a"].to_numpy(), t["drug_b"].to_numpy())
            assert set(pk[tr]).isdisjoint(pk[te])
        elif split == "cell_line":
            assert set(t["cell_line"].iloc[tr]).isdisjoint(t["cell_line"].iloc[te])
        else:
            train_drugs = set(t["drug_a"].iloc[tr]) | set(t["drug_b"].iloc[tr])
            held = set(t["drug_a"].iloc[te]) | set(t["drug_b"].iloc[te])
            # every test row has at least one drug never seen in training
            te_rows = t.iloc[te]
            assert (
                ~te_rows["drug_a"].isin(train_drugs) | ~te_rows["drug_b"].isin(train_drugs)
            ).all()
            assert held - train_drugs
    assert (tested >= 1).all()


def test_symmetric_and_bad_input():
    """Regression guard: order-free predictions; unknown names and options raise InputError."""
    data, _ = _simulated(n_drugs=8, n_lines=4)
    pred = fit_synergy_predictor(data, model="hist_gbm")
    ab = pred.predict(["d0", "d1"], ["d3", "d2"], "c1")
    ba = pred.predict(["d3", "d2"], ["d0", "d1"], "c1")
    np.testing.assert_allclose(ab, ba)
    with pytest.raises(InputError, match=r"unknown drug.*nodrug"):
        pred.predict("nodrug", "d1", "c1")
    with pytest.raises(InputError, match=r"unknown cell line.*noline"):
        pred.predict("d0", "d1", "noline")
    with pytest.raises(InputError, match="unknown split"):
        evaluate_synergy_prediction(data, splits=("tissue",))
    with pytest.raises(InputError, match="model must be"):
        evaluate_synergy_prediction(data, model="svm")
    with pytest.raises(InputError, match="dataset must be"):
        evaluate_synergy_prediction("gdsc")


@needs_mirror
def test_oneil_model_beats_additive_on_pair_split():
    """Outside reference (O'Neil, DeepSynergy's labels): on leave-pair-out the model beats the
    additive drug-means baseline. Measured on 6,000 rows (seed 0), 3 folds: model Pearson 0.516,
    additive 0.424, RMSE 19.9 vs 21.0 (all 23,052 rows, 5 folds: 0.588 vs 0.423); tolerance: the
    model must lead by 0.05 in Pearson (about half the measured gap) and have the lower RMSE."""
    ev = evaluate_synergy_prediction("oneil", splits=("pair",), n_folds=3, max_rows=6000)
    m = ev.metrics.set_index(["split", "model", "metric"])["mean"]
    assert m["pair", "lightgbm", "pearson"] > m["pair", "additive_drug_means", "pearson"] + 0.05
    assert m["pair", "lightgbm", "rmse"] < m["pair", "additive_drug_means", "rmse"]
    assert any("no HypergraphSynergy expression" in n for n in ev.notes)


@needs_mirror
def test_almanac_model_beats_additive_on_pair_split():
    """Outside reference (NCI-ALMANAC ComboScore, HypergraphSynergy's files): on leave-pair-out
    the model beats the additive drug-means baseline. All 75,493 rows, 5 folds (measured once,
    README): Pearson 0.413 vs 0.240, RMSE 56.8 vs 60.6. Here 8,000 rows (seed 0), 3 folds;
    tolerance: the model must lead by 0.05 in Pearson (under a third of the full-data gap) and
    have the lower RMSE."""
    ev = evaluate_synergy_prediction("almanac", splits=("pair",), n_folds=3, max_rows=8000)
    m = ev.metrics.set_index(["split", "model", "metric"])["mean"]
    assert m["pair", "lightgbm", "pearson"] > m["pair", "additive_drug_means", "pearson"] + 0.05
    assert m["pair", "lightgbm", "rmse"] < m["pair", "additive_drug_means", "rmse"]
    assert any("no published folds" in n for n in ev.notes)
