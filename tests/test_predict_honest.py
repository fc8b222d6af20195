"""Prediction a user can test honestly: within-fold per-drug metrics, a plain drug-mean
baseline, one response measure per RMSE (issue 18)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncoresist.errors import InputError
from oncoresist.predict import (
    DrugMean,
    MeanEffects,
    ShrunkDrugMean,
    evaluate,
    evaluate_cross_study,
    group_metrics,
    make_response_panel,
    pair_frame,
    summarise_studies,
)


@pytest.fixture(scope="module")
def xy():
    panel, _ = make_response_panel(n_samples=90, n_drugs=4, n_genes=20, rng=3)
    return pair_frame(panel)


# ------------------------------------------------------------------ drug_mean is the plain mean
def test_drug_mean_is_the_plain_per_drug_mean_of_the_training_pairs():
    """Evidence (naive computation): DrugMean equals pandas' groupby mean per drug, exactly,
    on unbalanced drugs; an unseen drug gets the global mean; it has no hyper-parameter that
    could shrink or fit it."""
    rng = np.random.default_rng(0)
    drugs = np.repeat(["a", "b", "c"], [3, 17, 40])
    X = pd.DataFrame({"sample": [f"s{i}" for i in range(drugs.size)], "drug": drugs})
    y = rng.normal(size=drugs.size) * 3 + (drugs == "a") * 5
    m = DrugMean().fit(X, y)
    expect = pd.Series(y).groupby(drugs).mean()
    assert m.predict(X).tolist() == expect.reindex(drugs).tolist()
    new = pd.DataFrame({"sample": ["z"], "drug": ["unseen"]})
    assert m.predict(new).tolist() == [float(np.mean(y))]
    assert DrugMean().get_params() == {}


def test_shrunk_drug_mean_is_a_separate_baseline_with_its_formula():
    """Evidence (exact formula): mu + sum(y_d - mu) / (n_d + k); k = 0 gives the plain mean."""
    X = pd.DataFrame({"sample": list("abcde"), "drug": ["d", "d", "d", "e", "e"]})
    y = np.array([1.0, 2.0, 6.0, 10.0, 12.0])
    mu = y.mean()
    got = ShrunkDrugMean(shrinkage=2.0).fit(X, y).predict(X)
    want_d = mu + (y[:3] - mu).sum() / (3 + 2.0)
    want_e = mu + (y[3:] - mu).sum() / (2 + 2.0)
    np.testing.assert_allclose(got, [want_d] * 3 + [want_e] * 2)
    np.testing.assert_allclose(
        ShrunkDrugMean(shrinkage=0.0).fit(X, y).predict(X), DrugMean().fit(X, y).predict(X)
    )
    assert ShrunkDrugMean.name != DrugMean.name == "drug_mean"


# ------------------------------------------------------------- per-drug metrics within folds
def test_constant_per_fold_baseline_has_no_per_drug_correlation_within_folds(xy):
    """Evidence (exact): under leave-cell-line-out the drug mean is one number per drug and
    fold, so its per-drug correlation is undefined (NaN) in every fold and in the summary.
    Pooling the folds would credit it with a correlation well away from 0 (the folds' training
    means differ), which is what the old per-drug table reported."""
    X, y = xy
    ev = evaluate({"drug_mean": DrugMean()}, X, y, splits=["cell_line"], n_splits=5, rng=1)
    per_fold = ev.per_drug(per_fold=True)
    assert per_fold["pearson"].isna().all() and per_fold["spearman"].isna().all()
    assert len(per_fold) == 5 * 4  # every drug in every fold
    per_drug = ev.per_drug()
    assert per_drug["pearson"].isna().all()
    assert (per_drug["n_folds"] == 5).all()
    assert ev.metrics()["pearson_per_drug"].isna().all()
    pooled = group_metrics(ev.predictions, "drug")  # the folds pooled: the artefact
    assert pooled["pearson"].abs().min() > 0.05
    # the RMSE per drug is the mean over folds of the within-fold RMSE
    one = per_fold[per_fold["drug"] == per_drug["drug"].iloc[0]]
    assert per_drug["rmse"].iloc[0] == pytest.approx(one["rmse"].mean())


def test_per_drug_table_keeps_the_fold_to_fold_spread(xy):
    """Regression guard: a model with signal gets per-drug correlations, with an sd over folds."""
    X, y = xy
    ev = evaluate({"mean_effects": MeanEffects()}, X, y, splits=["pair"], n_splits=3, rng=0)
    t = ev.per_drug()
    assert {"n_folds", "pearson", "pearson_sd", "rmse_sd"} <= set(t.columns)
    assert t["pearson"].notna().all() and t["pearson_sd"].notna().all()
    assert ev.per_cell_line()["n_folds"].le(3).all()


# --------------------------------------------------------------- one measure per RMSE
def _named(y, name):
    return pd.Series(np.asarray(y, dtype=float), name=name)


def test_measure_travels_with_the_data_and_cross_measure_rmse_is_nan(xy):
    """Evidence (units): an RMSE between ln IC50 predictions and AUC truth has no unit; it is
    NaN, while the scale-free correlations are still reported. The same measure on both sides
    keeps its RMSE."""
    X, y = xy
    y_ic50 = _named(y, "ln_ic50")
    y_auc = _named(1 / (1 + np.exp(-np.asarray(y))), "auc")
    models = {"mean_effects": MeanEffects()}
    ev = evaluate_cross_study(models, (X, y_ic50), (X, y_auc), n_splits=3)
    assert set(ev.predictions["measure"]) == {"auc"}
    assert set(ev.predictions["train_measure"]) == {"ln_ic50"}
    s = ev.metrics()
    assert s["measure"].tolist() == ["auc"]
    assert s["rmse"].isna().all() and s["spearman"].notna().all()
    assert ev.per_drug()["rmse"].isna().all()
    same = evaluate_cross_study(models, (X, y_ic50), (X, y_ic50 + 0.1), n_splits=3).metrics()
    assert same["rmse"].notna().all()
    with pytest.raises(InputError, match="measure"):
        evaluate(models, X, y, splits=["pair"], measure="")


def test_summary_across_studies_reports_rmse_per_measure(xy):
    """Evidence (arithmetic): the RMSE row of each measure is that study's own RMSE, never a
    mean of an ln IC50 RMSE and an AUC RMSE; the all-studies row averages scale-free metrics
    only."""
    X, y = xy
    models = {"drug_mean": DrugMean(), "mean_effects": MeanEffects()}
    kw = {"splits": ["cell_line"], "n_splits": 3}
    gdsc = evaluate(models, X, _named(y, "ln_ic50"), **kw)
    ctrp = evaluate(models, X, _named(np.asarray(y) / 20 + 0.5, "auc"), **kw)
    gdsc2 = evaluate(models, X, _named(np.asarray(y) * 1.1, "ln_ic50"), rng=5, **kw)
    out = summarise_studies({"gdsc1": gdsc, "ctrp": ctrp, "gdsc2": gdsc2})
    me = out[out["model"] == "mean_effects"].set_index("measure")
    assert me.index.tolist() == ["auc", "ln_ic50", "all (auc+ln_ic50)"]
    s = {k: e.metrics().set_index("model").loc["mean_effects"] for k, e in
         {"gdsc1": gdsc, "ctrp": ctrp, "gdsc2": gdsc2}.items()}  # fmt: skip
    assert me.loc["auc", "rmse"] == pytest.approx(s["ctrp"]["rmse"])
    assert me.loc["ln_ic50", "rmse"] == pytest.approx((s["gdsc1"]["rmse"] + s["gdsc2"]["rmse"]) / 2)
    assert me.loc["ln_ic50", "n_studies"] == 2
    assert np.isnan(me.loc["all (auc+ln_ic50)", "rmse"])
    assert me.loc["all (auc+ln_ic50)", "pearson"] == pytest.approx(
        np.mean([s[k]["pearson"] for k in s])
    )
    with pytest.raises(InputError, match="non-empty"):
        summarise_studies({})
