"""Persisted models, model cards, new profiles with bad input, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from oncoresist.errors import InputError, SchemaError
from oncoresist.predict import (
    MeanEffects,
    PerDrugElasticNet,
    fit_model,
    load_model,
    make_response_panel,
    pair_frame,
)

# These tests apply models to profiles of their own training lines on purpose (round trips,
# bad input); the warning for that is tested in test_predict_holdout.py.
pytestmark = pytest.mark.filterwarnings("ignore::oncoresist.predict.TrainingOverlapWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    panel, _truth = make_response_panel(n_samples=150, n_drugs=3, n_genes=20, rng=0)
    tm = fit_model(
        panel,
        PerDrugElasticNet(n_alphas=6),
        use_drug_features=False,
        gene_aliases={"entrez_5": "G005"},
        seed=0,
    )
    folder = tm.save(tmp_path_factory.mktemp("model"))
    new, _ = make_response_panel(n_samples=4, n_drugs=3, n_genes=20, rng=0, sample_rng=7)
    return panel, tm, folder, new


def test_roundtrip_predicts_like_the_fitted_model(trained):
    _panel, tm, folder, new = trained
    loaded = load_model(folder)
    card = json.loads((folder / "card.json").read_text())
    assert card["dataset"] == "synthetic_response" and card["seed"] == 0
    assert card["layers"]["expression"][0] == "ABC0"
    assert len(card["features"]) == 60 and card["model_sha256"]
    app = loaded.predict_profile(dict(new.layers))
    X, _ = pair_frame(new)
    direct = tm.model.predict(X)
    got = app.predictions.set_index(["sample", "drug"])["prediction"]
    exp = pd.Series(direct, index=pd.MultiIndex.from_frame(X[["sample", "drug"]]))
    np.testing.assert_allclose(got.loc[exp.index], exp, rtol=1e-10)
    assert all(not g for g in app.missing_genes.values())
    # The long-format table gives the same predictions.
    long = pd.concat(
        [
            lay.rename_axis(index="sample", columns="gene")
            .stack()
            .rename("value")
            .reset_index()
            .assign(layer=name)
            for name, lay in new.layers.items()
        ]
    )
    app2 = loaded.predict_profile(long)
    np.testing.assert_allclose(app2.predictions["prediction"], app.predictions["prediction"])


def test_tampered_or_foreign_files_are_refused(trained, tmp_path):
    _, tm, _folder, _ = trained
    other = tm.save(tmp_path / "m")
    card = json.loads((other / "card.json").read_text())
    (other / "model.joblib").write_bytes((other / "model.joblib").read_bytes() + b"x")
    with pytest.raises(SchemaError, match="does not match its card"):
        load_model(other)
    card["format_version"] = 99
    (other / "card.json").write_text(json.dumps(card))
    with pytest.raises(SchemaError, match="card format"):
        load_model(other)
    with pytest.raises(InputError, match="not a saved oncoresist model"):
        load_model(tmp_path / "nothing")


def test_bad_profiles_get_clear_messages_never_zeros(trained):
    _, _tm, folder, new = trained
    m = load_model(folder)
    prof = dict(new.layers)
    # Unknown identifiers: nothing matches -> error naming both identifier styles.
    bad = {**prof, "expression": prof["expression"].rename(columns=lambda c: f"ENSG_{c}")}
    with pytest.raises(InputError, match=r"none of the 20 genes .*ENSG_ABC0"):
        m.predict_profile(bad)
    # Another scale (TPM-like instead of z-scores).
    tpm = {**prof, "expression": np.exp(prof["expression"] + 6.0)}
    with pytest.raises(InputError, match="another scale"):
        m.predict_profile(tpm)
    # Missing layer: error by default, explicit imputation on request (and reported).
    no_cn = {k: v for k, v in prof.items() if k != "copy_number"}
    with pytest.raises(InputError, match="no 'copy_number' layer"):
        m.predict_profile(no_cn)
    app = m.predict_profile(no_cn, allow_missing_layers=True)
    assert app.imputed_layers == ["copy_number"] and "imputed entirely" in app.describe()
    # Binary layer with other values.
    mut = {**prof, "mutation": prof["mutation"] * 2}
    with pytest.raises(InputError, match="binary"):
        m.predict_profile(mut)
    # Missing genes: too many -> error; a few -> imputed with the training MEAN and listed.
    few = {**prof, "expression": prof["expression"].iloc[:, :5]}
    with pytest.raises(InputError, match="lacks 15 of the model's 20 genes"):
        m.predict_profile(few)
    two = {**prof, "expression": prof["expression"].drop(columns=["G018", "G019"])}
    app = m.predict_profile(two)
    assert app.missing_genes["expression"] == ["G018", "G019"]
    mean = pd.Series(m.card.feature_mean, index=m.card.features)
    manual = {
        **prof,
        "expression": prof["expression"].assign(
            G018=mean["expression:G018"], G019=mean["expression:G019"]
        ),
    }
    np.testing.assert_allclose(
        app.predictions["prediction"], m.predict_profile(manual).predictions["prediction"]
    )
    # Aliases (e.g. Entrez ids) are accepted.
    alias = {**prof, "expression": prof["expression"].rename(columns={"G005": "entrez_5"})}
    assert m.predict_profile(alias).missing_genes["expression"] == []
    # A drug the model never saw: per-drug model without drug features.
    with pytest.raises(InputError, match="not in training"):
        m.predict_profile(prof, drugs=["NEW"])
    with pytest.raises(InputError, match="unknown to the model"):
        m.predict_profile({**prof, "methylation": prof["expression"]})


def test_new_drug_needs_smiles(tmp_path):
    pytest.importorskip("lightgbm")
    pytest.importorskip("rdkit")
    from oncoresist.predict import GlobalLightGBM

    panel, _ = make_response_panel(n_samples=80, n_drugs=3, n_genes=15, rng=0)
    tm = fit_model(panel, GlobalLightGBM(n_estimators=20), n_bits=32)
    m = load_model(tm.save(tmp_path / "lgb"))
    prof = dict(panel.layers)
    with pytest.raises(InputError, match="no SMILES"):
        m.predict_profile(prof, drugs=["NEWDRUG"])
    with pytest.raises(InputError, match="cannot parse"):
        m.predict_profile(prof, drugs=["NEWDRUG"], smiles={"NEWDRUG": "C1CC(("})
    app = m.predict_profile(prof, drugs=["NEWDRUG", "D000"], smiles={"NEWDRUG": "c1ccccc1CCO"})
    assert set(app.predictions["drug"]) == {"NEWDRUG", "D000"}
    assert np.isfinite(app.predictions["prediction"]).all()


def test_cli_train_apply_evaluate(tmp_path):
    from oncoresist.predict._cli import predict_app

    runner = CliRunner()
    mdir = tmp_path / "model"
    r = runner.invoke(
        predict_app,
        [
            "train",
            "-o",
            str(mdir),
            "--dataset",
            "synthetic",
            "--model",
            "elastic_net",
            "--n-drugs",
            "3",
            "--n-samples",
            "120",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (mdir / "card.json").is_file()
    card = json.loads((mdir / "card.json").read_text())
    assert card["split"] == "cell_line" and card["metrics"]
    panel, _ = make_response_panel(n_samples=3, n_drugs=3, rng=0, sample_rng=5)
    long = pd.concat(
        [
            lay.rename_axis(index="sample", columns="gene")
            .stack()
            .rename("value")
            .reset_index()
            .assign(layer=n)
            for n, lay in panel.layers.items()
        ]
    )
    prof = tmp_path / "profile.csv"
    long.to_csv(prof, index=False)
    out = tmp_path / "pred.csv"
    r = runner.invoke(predict_app, ["apply", str(mdir), "--profile", str(prof), "-o", str(out)])
    assert r.exit_code == 0, r.output
    pred = pd.read_csv(out)
    assert len(pred) == 9 and {"sample", "drug", "prediction", "relative"} <= set(pred.columns)
    # Bad input reaches the user as an oncoresist error (exit code 2 in the main app).
    long[long.layer != "mutation"].to_csv(prof, index=False)
    r = runner.invoke(predict_app, ["apply", str(mdir), "--profile", str(prof), "-o", str(out)])
    assert isinstance(r.exception, InputError) and "mutation" in str(r.exception)
    ev_dir = tmp_path / "ev"
    r = runner.invoke(
        predict_app,
        [
            "evaluate",
            "-o",
            str(ev_dir),
            "--dataset",
            "synthetic",
            "--models",
            "drug_mean,mean_effects,elastic_net",
            "--splits",
            "cell_line",
            "--n-drugs",
            "3",
            "--n-samples",
            "90",
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    s = pd.read_csv(ev_dir / "summary.csv")
    assert set(s["model"]) == {"drug_mean", "mean_effects", "elastic_net"}
    assert (ev_dir / "report.html").is_file()


def test_baseline_model_card_without_drug_features(tmp_path):
    panel, _ = make_response_panel(n_samples=40, n_drugs=2, n_genes=15, rng=0)
    tm = fit_model(panel, MeanEffects(), use_drug_features=False)
    loaded = load_model(tm.save(tmp_path / "me"))
    assert loaded.card.model_name == "mean_effects" and not loaded.card.drug_features
    app = loaded.predict_profile(dict(panel.layers))
    # A new line gets the drug mean from the mean-effects model (its sample effect is 0).
    assert np.allclose(app.predictions["relative"], 0.0)
