"""Contract and ground-truth tests of the drug-response models (synthetic panels, small)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from oncoresist.errors import InputError
from oncoresist.predict import (
    MODELS,
    DrugMean,
    GlobalMean,
    MeanEffects,
    PerDrugElasticNet,
    SampleMean,
    drug_features,
    explain,
    make_response_panel,
    pair_frame,
    target_onehot,
)

FAST = {
    "elastic_net": {"cv": 3, "n_alphas": 6},
    "random_forest": {"n_estimators": 20},
    "lightgbm": {"n_estimators": 40},
    "multiomics_nn": {"epochs": 3, "hidden": 16},
}
NEEDS = {"lightgbm": "lightgbm", "multiomics_nn": "torch"}


@pytest.fixture(scope="module")
def small():
    pytest.importorskip("rdkit")
    panel, truth = make_response_panel(n_samples=120, n_drugs=6, n_genes=30, rng=1)
    X, y = pair_frame(panel, drug_table=drug_features(panel.drug_annotations, n_bits=32))
    return panel, truth, X, y


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_registered_model_follows_the_contract(name, small):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    _, _, X, y = small
    model = MODELS[name](**FAST.get(name, {}))
    params = model.get_params()
    assert clone(model).get_params() == params  # hyper-parameters stored unchanged
    fitted = model.fit(X, y)
    assert fitted is model
    pred = model.predict(X)
    assert pred.shape == (len(X),)
    assert np.isfinite(pred).all()
    assert model.get_params() == params  # fit does not modify hyper-parameters
    # Refitting a clone on the same data with the same seed reproduces the predictions.
    again = clone(model).fit(X, y).predict(X)
    np.testing.assert_allclose(again, pred, rtol=1e-5, atol=1e-5)
    with pytest.raises(InputError, match="DataFrame"):
        model.predict(X.to_numpy())


def test_mean_effects_recovers_additive_effects_exactly():
    # Noise-free additive responses: mu + a_drug + b_sample on a complete grid.
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=5), rng.normal(size=40)
    s, d = np.meshgrid(np.arange(40), np.arange(5), indexing="ij")
    X = pd.DataFrame({"sample": s.ravel().astype(str), "drug": d.ravel().astype(str)})
    y = 3.0 + a[d.ravel()] + b[s.ravel()]
    m = MeanEffects().fit(X, y)
    np.testing.assert_allclose(m.predict(X), y, atol=1e-10)
    np.testing.assert_allclose(m.drug_effects_.sort_index().to_numpy(), a - a.mean(), atol=1e-10)
    # Unseen sample: drug mean; unseen drug: sample mean (effect 0).
    new = pd.DataFrame({"sample": ["new"], "drug": ["0"]})
    assert m.predict(new)[0] == pytest.approx(3.0 + b.mean() + a[0])


def test_simple_baselines():
    X = pd.DataFrame({"sample": ["a", "a", "b", "b"], "drug": ["x", "y", "x", "y"]})
    y = np.array([1.0, 3.0, 5.0, 7.0])
    assert GlobalMean().fit(X, y).predict(X).tolist() == [4.0] * 4
    assert DrugMean().fit(X, y).predict(X).tolist() == [3.0, 5.0, 3.0, 5.0]
    assert SampleMean().fit(X, y).predict(X).tolist() == [2.0, 2.0, 6.0, 6.0]
    with pytest.raises(InputError, match="missing or infinite"):
        GlobalMean().fit(X, [1.0, np.nan, 2.0, 3.0])


def test_per_drug_model_refuses_unseen_drug(small):
    _, _, X, y = small
    m = PerDrugElasticNet(**FAST["elastic_net"]).fit(X, y)
    new = X.iloc[:3].assign(drug="NEW")
    with pytest.raises(InputError, match="not trained on"):
        m.predict(new)


def test_elastic_net_recovers_planted_biomarkers():
    # 400 lines, effects of 0.6-1.4 x 1.2 response units on a noise sd of 0.5: the planted
    # features of each drug must be its three largest attributions.
    panel, truth = make_response_panel(n_samples=400, n_drugs=4, n_genes=40, rng=2)
    X, y = pair_frame(panel)
    m = PerDrugElasticNet(cv=3, n_alphas=8).fit(X, y)
    att = explain(m, X)
    np.testing.assert_allclose(att.values.sum(axis=1), att.prediction, atol=1e-8)
    for drug in panel.drugs:
        sub = (X["drug"] == drug).to_numpy()
        imp = att.values[sub].drop(columns="baseline").abs().mean().sort_values(ascending=False)
        planted = set(truth.effects.loc[truth.effects["drug"] == drug, "feature"])
        planted.add("expression:ABC0")  # the general-resistance gene acts on every drug
        assert set(imp.index[:4]) == planted, (drug, imp.head(5))
    # Aggregated to mechanisms, a drug's own mechanism dominates the other classes.
    mech = att.by_mechanism(truth.mechanisms)
    for drug, m_name in panel.drug_annotations["mechanism"].items():
        sub = (X["drug"] == drug).to_numpy()
        means = mech[sub].abs().mean()
        others = [k for k in truth.mechanisms if k not in (m_name, "efflux")]
        assert means[m_name] > 5 * means[others].max()


def test_lightgbm_treeshap_sums_to_prediction_and_finds_biomarkers():
    pytest.importorskip("lightgbm")
    from oncoresist.predict import GlobalLightGBM

    pytest.importorskip("rdkit")
    panel, truth = make_response_panel(n_samples=300, n_drugs=4, n_genes=30, rng=3)
    X, y = pair_frame(panel, drug_table=drug_features(panel.drug_annotations, n_bits=32))
    m = GlobalLightGBM(n_estimators=150).fit(X, y)
    att = explain(m, X)
    np.testing.assert_allclose(att.values.sum(axis=1), m.predict(X), atol=1e-6)
    # The strongest genes are planted ones (12 biomarker genes + ABC0 among 30 genes), and a
    # planted gene weighs on average more than an unplanted (noise) gene (1.9x measured; the
    # per-drug genes are diluted by the pairs of the other drugs).
    planted = set(truth.effects["gene"])
    imp = att.importance().drop("drug structure/target", errors="ignore")
    assert set(imp.index[:4]) <= planted, imp.head(6)
    is_p = imp.index.isin(list(planted))
    assert imp[is_p].mean() > 1.5 * imp[~is_p].mean()


def test_target_onehot_and_fingerprints_refuse_missing():
    t = target_onehot(pd.Series({"a": "EGFR, ERBB2", "b": None, "c": "EGFR"}))
    assert t.loc["b", "drug:target=unknown"] == 1.0
    assert t.loc["a"].sum() == 2.0
    pytest.importorskip("rdkit")
    from oncoresist.predict import morgan_fingerprints

    with pytest.raises(InputError, match="no SMILES"):
        morgan_fingerprints(pd.Series({"x": "CCO", "nosmiles": None}))
    with pytest.raises(InputError, match="cannot parse"):
        morgan_fingerprints(pd.Series({"bad": "C1CC(("}))
    fp = morgan_fingerprints(pd.Series({"ethanol": "CCO", "benzene": "c1ccccc1"}), n_bits=64)
    assert fp.shape == (2, 64)
    assert (fp.loc["ethanol"] != fp.loc["benzene"]).any()
