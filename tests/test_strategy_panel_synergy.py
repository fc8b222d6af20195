"""Tests of measured and predicted screen synergy (oncoresist.strategy._panel_synergy)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import requires_mirror
from oncoresist.data import mirror_available
from oncoresist.errors import InputError
from oncoresist.mechanisms import load_knowledge_base, resolve_drug
from oncoresist.strategy._panel_synergy import (
    PANEL_SYNERGY_COLUMNS,
    PREDICTED_SYNERGY_COLUMNS,
    PREDICTOR_CV,
    _pair_table,
    _predictor,
    panel_synergy,
    predicted_synergy,
    synergy_drug_key,
    synergy_line_lineages,
)

MIRROR = Path(os.environ.get("ONCORESIST_DATA_MIRROR", "/nonexistent"))
HG = "hypergraphsynergy_almanac_oneil"
needs_oneil = [requires_mirror("deepsynergy_oneil"), requires_mirror(HG)]
needs_all = [*needs_oneil, requires_mirror("depmap_model_info")]


def _marks(marks):
    def wrap(f):
        for m in marks:
            f = m(f)
        return f

    return wrap


def _raw_oneil() -> pd.DataFrame:
    """DeepSynergy's labels read straight from the file, one value per unordered pair and line."""
    t = pd.read_csv(MIRROR / "deepsynergy_oneil" / "labels.csv.gz", index_col=0)
    a, b = t["drug_a_name"], t["drug_b_name"]
    t["x"], t["y"] = np.minimum(a, b), np.maximum(a, b)
    return t.groupby(["x", "y", "cell_line"], as_index=False)["synergy"].mean()


def _raw_almanac() -> pd.DataFrame:
    """HypergraphSynergy's ALMANAC file with PubChem ids named from its own SMILES table."""
    d = MIRROR / HG / "ALMANAC-COSMIC"
    name = pd.read_csv(d / "drug_smiles.csv").set_index("pubchemid")["name"]
    t = pd.read_csv(d / "drug_synergy.csv.gz")
    a, b = t["drug_a"].map(name), t["drug_b"].map(name)
    t["x"], t["y"] = np.minimum(a, b), np.maximum(a, b)
    return t.groupby(["x", "y", "cell_line"], as_index=False)["synergy"].mean()


def _check_against_raw(raw: pd.DataFrame, drug: str, partner: str, row: pd.Series) -> None:
    x, y = min(drug, partner), max(drug, partner)
    vals = raw.loc[(raw["x"] == x) & (raw["y"] == y), "synergy"].to_numpy()
    mu, sd = raw["synergy"].mean(), raw["synergy"].std(ddof=1)
    assert row["n_lines"] == len(vals)
    np.testing.assert_allclose(row["mean_all"], vals.mean(), rtol=1e-9)
    np.testing.assert_allclose(row["z"], (vals.mean() - mu) / sd, rtol=1e-9)
    np.testing.assert_allclose(row["p_value"], stats.ttest_1samp(vals, mu).pvalue, rtol=1e-6)


@_marks(needs_oneil)
def test_oneil_means_equal_plain_groupby_of_raw_labels():
    """Evidence: mean Loewe, z and t-test p of gemcitabine + MK-8776 (and + ABT-888) equal a
    plain pandas groupby of DeepSynergy's raw labels file and scipy's ttest_1samp."""
    raw = _raw_oneil()
    tab = panel_synergy("gemcitabine", datasets="oneil").set_index("partner_in_dataset")
    for partner in ("MK-8776", "ABT-888", "SORAFENIB"):
        _check_against_raw(raw, "GEMCITABINE", partner, tab.loc[partner])
    assert set(tab["statistic"]) == {"Loewe (O'Neil 2016)"}
    assert tab["citation"].str.contains("15:1155").all()


@_marks(needs_oneil)
def test_almanac_means_equal_plain_groupby_of_raw_file():
    """Evidence: mean ComboScore of gemcitabine + valrubicin and + imatinib equal a groupby of
    HypergraphSynergy's raw ALMANAC file (PubChem ids named by its SMILES table), both drug
    orders averaged per line."""
    raw = _raw_almanac()
    tab = panel_synergy("gemcitabine", datasets="almanac").set_index("partner_in_dataset")
    for partner in ("Valrubicin", "Imatinib mesylate", "Bortezomib"):
        _check_against_raw(raw, "Gemcitabine hydrochloride", partner, tab.loc[partner])
    assert tab["drug_in_dataset"].eq("Gemcitabine hydrochloride").all()
    assert tab["citation"].str.contains("77:3564").all()


@_marks(needs_oneil)
def test_chk1_inhibitor_is_the_top_gemcitabine_partner_in_oneil():
    """Evidence: CHK1 inhibition sensitises to gemcitabine (MK-8776 + gemcitabine went to a
    phase I trial, Daud et al. 2015 J Clin Oncol 33:1060). In O'Neil it is the most synergistic
    of gemcitabine's 22 measured partners: mean Loewe 28.0 over 39 lines (screen mean 5.1, sd 22.9),
    z 1.02, BH FDR 4.7e-7 (measured)."""
    tab = panel_synergy("gemcitabine", datasets="oneil")
    assert len(tab) == 22
    top = tab.iloc[0]
    assert top["partner_key"] == "mk8776"
    assert top["n_lines"] == 39
    assert top["mean_all"] == pytest.approx(27.97, abs=0.01)
    assert top["z"] == pytest.approx(1.017, abs=0.005)
    assert top["fdr"] < 1e-5


@_marks(needs_oneil)
def test_almanac_nilotinib_paclitaxel_among_top_partners():
    """Evidence: Holbeck et al. 2017 took nilotinib + paclitaxel from NCI-ALMANAC to a phase I
    trial. In the HypergraphSynergy ALMANAC files it is the 2nd of nilotinib's 45 partners:
    mean ComboScore 76.8 over 38 lines (screen mean -24.2, sd 62.1), z 1.63, BH FDR 7e-4
    (measured). Their other trial pair, clofarabine + bortezomib, is not in those files (both
    drugs are, the pair is not), so it cannot be checked here."""
    tab = panel_synergy("nilotinib", datasets="almanac")
    assert len(tab) == 45
    rank = int(np.flatnonzero(tab["partner_key"] == "paclitaxel")[0]) + 1
    assert rank <= 3
    row = tab[tab["partner_key"] == "paclitaxel"].iloc[0]
    assert row["n_lines"] == 38
    assert row["mean_all"] == pytest.approx(76.79, abs=0.01)
    assert row["fdr"] < 0.01
    clof = panel_synergy("clofarabine", datasets="almanac")
    assert len(clof) > 0 and "bortezomib" not in set(clof["partner_key"])


@_marks(needs_oneil)
def test_aliases_match_the_same_screen_drug():
    """Regression guard: aliases and salt forms reach the same screen drug; every screen name
    resolves to a knowledge-base key (38 O'Neil, 87 ALMANAC)."""
    kb = load_knowledge_base()
    for ds, n in (("oneil", 38), ("almanac", 87)):
        t, _, _ = _pair_table(ds)
        names = sorted(set(t["drug_a"]) | set(t["drug_b"]))
        assert len(names) == n
        assert all(resolve_drug(x, kb) for x in names)
    assert synergy_drug_key("5-FU") == synergy_drug_key("fluorouracil") == "5fluorouracil"
    assert synergy_drug_key("Gemcitabine hydrochloride") == "gemcitabine"
    assert synergy_drug_key("quinacrine") == synergy_drug_key("Quinacrine hydrochloride")

    def key(drug, ds="oneil"):
        tab = panel_synergy(drug, datasets=ds)
        return tab[["partner_key", "mean_all"]].sort_values("partner_key").reset_index(drop=True)

    pd.testing.assert_frame_equal(key("5-FU"), key("fluorouracil"))
    pd.testing.assert_frame_equal(key("ABT-888"), key("veliparib"))
    pd.testing.assert_frame_equal(key("Erlotinib hydrochloride"), key("erlotinib"))
    pd.testing.assert_frame_equal(key("gemcitabine", "almanac"), key("Gemzar", "almanac"))
    both = panel_synergy("fluorouracil")
    assert set(both["drug_in_dataset"]) == {"5-FU", "Fluorouracil"}
    assert len(panel_synergy("MK-2206")) == 37


@_marks(needs_all)
def test_line_lineages_cover_both_screens():
    """Regression guard: every line of both screens gets a DepMap 24Q2 lineage (39 O'Neil,
    55 ALMANAC), the aliased spellings included."""
    one = synergy_line_lineages("oneil").set_index("cell_line")
    alm = synergy_line_lineages("almanac").set_index("cell_line")
    assert len(one) == 39 and one["lineage"].notna().all()
    assert len(alm) == 55 and alm["lineage"].notna().all()
    assert one["lineage"].value_counts()["Lung"] == 7
    assert one.loc["MSTO", "lineage"] == "Pleura"
    assert one.loc["LNCAP", "lineage"] == "Prostate"
    assert one.loc["A375", "lineage"] == "Skin"
    assert alm.loc["U031", "lineage"] == "Kidney"
    assert alm.loc["786-0", "lineage"] == "Kidney"
    assert alm.loc["SR", "lineage"] == "Lymphoid"
    with pytest.raises(InputError, match="unknown synergy data set"):
        synergy_line_lineages("gdsc")


@_marks(needs_all)
def test_lineage_used_or_fallback_with_note():
    """Regression guard: a lineage with enough lines is used (tissue names accepted); one with
    fewer than min_lines lines, or none, falls back to all lines and says so."""
    lung = panel_synergy("gemcitabine", lineage="lung", datasets="oneil")
    assert set(lung["lineage_used"]) == {"Lung"}
    assert (lung["n_lines_used"] == lung["n_lines_lineage"]).all()
    assert (lung["n_lines_lineage"] == 7).all()
    assert lung["note"].str.contains("7 Lung lines").all()
    same = panel_synergy("gemcitabine", lineage="Lung", datasets="oneil")
    pd.testing.assert_frame_equal(lung, same)
    prost = panel_synergy("gemcitabine", lineage="Prostate", datasets="oneil")
    assert set(prost["lineage_used"]) == {"all"}
    assert (prost["n_lines_lineage"] == 2).all() and (prost["n_lines_used"] == 39).all()
    assert prost["note"].str.contains("only 2 Prostate line").all()
    assert prost["mean_lineage"].notna().all()
    low = panel_synergy("gemcitabine", lineage="Prostate", datasets="oneil", min_lines=2)
    assert set(low["lineage_used"]) == {"Prostate"}
    none = panel_synergy("gemcitabine", lineage="Atlantis", datasets="oneil")
    assert set(none["lineage_used"]) == {"all"}
    assert none["note"].str.contains("has no lines").all()
    melan = panel_synergy("5-FU", lineage="melanoma", datasets="almanac")
    assert set(melan["lineage_used"]) <= {"Skin", "all"} and "Skin" in set(melan["lineage_used"])


@_marks(needs_oneil)
def test_unknown_drug_empty_and_bad_arguments_raise():
    """Regression guard: a drug no screen measured gives an empty frame with the columns; a bad
    data set name, an empty list or min_lines < 1 raise InputError."""
    empty = panel_synergy("not-a-drug-xyz")
    assert empty.empty and list(empty.columns) == list(PANEL_SYNERGY_COLUMNS)
    only_oneil = panel_synergy("MK-8776", datasets=("oneil", "almanac"))
    assert len(only_oneil) == 37  # MK-8776 is not in ALMANAC: no rows there, no error
    with pytest.raises(InputError, match="unknown synergy data set 'gdsc'"):
        panel_synergy("gemcitabine", datasets=("oneil", "gdsc"))
    with pytest.raises(InputError, match="datasets is empty"):
        panel_synergy("gemcitabine", datasets=())
    with pytest.raises(InputError, match="min_lines"):
        panel_synergy("gemcitabine", min_lines=0)
    with pytest.raises(InputError, match="non-empty name"):
        panel_synergy("  ")


@_marks(needs_oneil)
def test_sorted_by_z_fdr_within_dataset_and_memoised():
    """Regression guard: rows sorted by z; fdr is BH of p within each screen; a repeated call
    reuses the loaded tables (well under a second)."""
    tab = panel_synergy("gemcitabine")
    assert list(tab.columns) == list(PANEL_SYNERGY_COLUMNS)
    assert tab["z"].is_monotonic_decreasing
    for _, g in tab.groupby("dataset"):
        np.testing.assert_allclose(g["fdr"], stats.false_discovery_control(g["p_value"]))
    hits = _pair_table.cache_info().hits
    t0 = time.perf_counter()
    panel_synergy("gemcitabine")
    assert time.perf_counter() - t0 < 2.0
    assert _pair_table.cache_info().hits > hits


@pytest.fixture(scope="module")
def oneil_predictor():
    if not (mirror_available("deepsynergy_oneil") and mirror_available(HG)):
        pytest.skip("needs ONCORESIST_DATA_MIRROR with the O'Neil synergy data")
    return _predictor("oneil")  # memoised: fitted once for the module (and the process)


def test_predicted_excludes_measured_and_matches_the_model(oneil_predictor):
    """Regression guard: predictions cover only lines where the pair was not measured, equal
    the fitted model's own predictions, and carry the cross-validated caveat."""
    pred = predicted_synergy("gemcitabine")
    assert list(pred.columns) == list(PREDICTED_SYNERGY_COLUMNS)
    assert len(pred) > 0 and pred["z"].is_monotonic_decreasing
    measured = set(panel_synergy("gemcitabine", datasets="oneil")["partner_key"])
    assert measured.isdisjoint(pred["partner_key"])  # measured everywhere -> left out
    assert any("left out" in n for n in pred.attrs["notes"])
    assert pred["unseen_drug"].any()  # partners outside the screen, known by structure
    row = pred[~pred["unseen_drug"]].iloc[0]
    lines = list(oneil_predictor.cell_lines_)
    y = oneil_predictor.predict("GEMCITABINE", row["partner_in_dataset"], lines)
    assert row["n_lines"] == len(lines)
    np.testing.assert_allclose(row["predicted_mean"], y.mean(), rtol=1e-9)
    np.testing.assert_allclose(row["predicted_sd"], y.std(ddof=1), rtol=1e-9)
    assert str(PREDICTOR_CV["oneil"]["leave_drug_out"]) in row["caveat"]
    assert pred["caveat"].str.contains("0.28").all()


def test_predicted_lineage_unknown_partner_and_unknown_drug(oneil_predictor):
    """Regression guard: lineage lines used when >= 3; a partner outside the screen is
    predicted from its structure (imatinib: NCI-ALMANAC's SMILES) and says so; a named partner
    with no structure anywhere (vemurafenib) gets a row with a note; a drug without one gives
    an empty frame."""
    lung = predicted_synergy("gemcitabine", ["etoposide", "imatinib", "vemurafenib"],
                             lineage="lung")  # fmt: skip
    lung = lung.set_index("partner_key")
    assert lung.loc["etoposide", "lineage_used"] == "Lung"
    assert lung.loc["etoposide", "n_lines"] == 7 and not lung.loc["etoposide", "unseen_drug"]
    assert lung.loc["imatinib", "n_lines"] == 7 and lung.loc["imatinib", "unseen_drug"]
    assert "predicted from its structure" in lung.loc["imatinib", "note"]
    assert "from its structure only" in lung.loc["imatinib", "caveat"]
    assert lung.loc["vemurafenib", "n_lines"] == 0
    assert "not among" in lung.loc["vemurafenib", "note"]
    assert np.isnan(lung.loc["vemurafenib", "predicted_mean"])
    prost = predicted_synergy("gemcitabine", ["etoposide"], lineage="Prostate")
    assert prost["lineage_used"].iloc[0] == "all" and prost["n_lines"].iloc[0] == 39
    assert "fewer than 3" in prost["note"].iloc[0]
    # measured in every line: nothing to predict
    assert predicted_synergy("gemcitabine", ["MK-8776"]).empty
    empty = predicted_synergy("vemurafenib")
    assert empty.empty and list(empty.columns) == list(PREDICTED_SYNERGY_COLUMNS)
    with pytest.raises(InputError, match="unknown synergy data set"):
        predicted_synergy("gemcitabine", dataset="gdsc")
