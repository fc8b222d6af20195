"""Panel evidence for the next drug: GDSC/CTRP associations and the per-profile forecast (issue 15).

Kinds: evidence (agreement with something outside the project: published GDSC ANOVA
associations of Garnett 2012 / Iorio 2016, an independent CTRP screen, scipy and statsmodels on
the raw gdsctools CSV files) and regression guard (contract of the tables, notes, errors).
Every test needs the real panels and skips with the reason when the data mirror lacks them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from oncoresist.data import mirror_available
from oncoresist.errors import DataUnavailableError, InputError
from oncoresist.mechanisms import make_profile
from oncoresist.strategy._panel_response import (
    ASSOCIATION_COLUMNS,
    FORECAST_COLUMNS,
    _load,
    _train,
    forecast_response,
    panel_associations,
)

MIRROR = os.environ.get("ONCORESIST_DATA_MIRROR")
_DATASETS = (
    "gdsc_v17_gdsctools", "gdsc_annotations", "ctrp_v2_auc", "depmap_sample_info",
    "depmap_model_info", "tgsa_gdsc_ccle706",
)  # fmt: skip
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not all(mirror_available(d) for d in _DATASETS),
        reason="needs ONCORESIST_DATA_MIRROR with " + ", ".join(_DATASETS),
    ),
]

BRAF_INHIBITORS = ("Dabrafenib", "PLX-4720", "SB590885")
MEK_INHIBITORS = ("Trametinib", "Selumetinib", "Refametinib")


@pytest.fixture(scope="module")
def panels() -> None:
    try:
        _load("gdsc")
        _load("ctrp")
    except DataUnavailableError as exc:
        pytest.skip(f"GDSC v17 / CTRPv2 / DepMap files unavailable in the mirror: {exc}")


@pytest.fixture(scope="module")
def braf_pancan(panels) -> pd.DataFrame:
    return panel_associations(["BRAF"])


def _panel_rows(res: pd.DataFrame, label: str) -> pd.DataFrame:
    return res[res["panel"] == label].reset_index(drop=True)


def _best_rank(rows: pd.DataFrame, drug: str) -> int:
    return int(rows.index[rows["drug"].str.lower() == drug.lower()].min()) + 1


# ------------------------------------------------------------------------------- associations
def test_braf_mutant_lines_sensitive_to_braf_and_mek_inhibitors_in_gdsc(braf_pancan):
    """Evidence: GDSC's published ANOVA (Garnett 2012 Nature 483:570; Iorio 2016).

    BRAF-mutant lines are the most sensitive to BRAF inhibitors and also sensitive to MEK
    inhibitors, pan-cancer with tissue and MSI as covariates. Measured on GDSC v17 (265 drugs):
    dabrafenib rank 1 (FDR 3e-42), PLX-4720 ranks 2-3, SB590885 rank 4; trametinib FDR 7e-4,
    refametinib 4e-4, selumetinib (id 1498) 1e-5.
    """
    g = _panel_rows(braf_pancan, "GDSC v17 (gdsctools)")
    assert g["p_value"].notna().sum() == 265
    for drug in BRAF_INHIBITORS:
        assert _best_rank(g, drug) <= 5, drug
    top = g.iloc[0]
    assert top["drug"] == "Dabrafenib" and top["fdr"] < 1e-30 and top["effect"] < -3
    assert top["lineage_used"] == "all lineages" and top["covariates"] == "tissue+msi"
    for drug in MEK_INHIBITORS:
        best = g[g["drug"] == drug].iloc[0]
        assert best["fdr"] < 0.01 and best["effect"] < 0 and best["association"] == "sensitivity"
        assert _best_rank(g, drug) <= 15, drug


def test_braf_association_replicates_in_ctrp(braf_pancan):
    """Evidence: an independent screen (CTRPv2, Seashore-Ludlow 2015) with DepMap/CCLE calls.

    Measured: dabrafenib rank 1 (FDR 6e-11), PLX-4720 rank 2 (FDR 6e-7) of 545 compounds.
    """
    c = _panel_rows(braf_pancan, "CTRPv2")
    assert c["metric"].iloc[0] == "AUC"
    assert _best_rank(c, "dabrafenib") <= 3 and _best_rank(c, "PLX-4720") <= 3
    assert (c.loc[c["drug"].isin(["dabrafenib", "PLX-4720"]), "fdr"] < 1e-5).all()


def test_braf_inhibitors_within_melanoma(panels):
    """Evidence: within skin (mostly melanoma) lines BRAF-mutant lines stay the most sensitive.

    Measured (GDSC v17, skin): dabrafenib rank 1 (35 vs 12 lines, FDR 9e-7), PLX-4720
    ranks 2 and 4, SB590885 rank 3; MEK inhibitors are not significant within melanoma (NRAS-
    mutant melanoma is MEK-sensitive too), as expected.
    """
    res = panel_associations(["BRAF"], lineage="melanoma", panels=["gdsc"])
    g = _panel_rows(res, "GDSC v17 (gdsctools)")
    assert set(g["lineage_used"]) <= {"skin", "all lineages", "none"}
    for drug in BRAF_INHIBITORS:
        assert _best_rank(g, drug) <= 4, drug
    top = g.iloc[0]
    assert top["lineage_used"] == "skin" and top["fdr"] < 1e-4 and top["n_wt"] >= 3


def test_egfr_mutant_lung_lines_sensitive_to_egfr_inhibitors(panels):
    """Evidence: EGFR-mutant NSCLC lines are sensitive to EGFR inhibitors (Iorio 2016).

    Measured within lung: GDSC v17 afatinib ranks 1-2 (FDR 5e-12), gefitinib rank 3 (FDR 5e-10);
    CTRPv2 afatinib rank 1 and gefitinib rank 2 of 545. GDSC v17 screened erlotinib on 375 lines
    only (2 EGFR-mutant lung lines): it falls back to all lineages and is not significant.
    """
    res = panel_associations(["EGFR"], lineage="lung")
    g = _panel_rows(res, "GDSC v17 (gdsctools)")
    assert _best_rank(g, "Afatinib") == 1 and _best_rank(g, "Gefitinib") <= 3
    assert (g.loc[g["drug"].isin(["Afatinib", "Gefitinib"]), "fdr"] < 1e-6).all()
    assert g.loc[g["drug"] == "Gefitinib", "lineage_used"].iloc[0] == "lung_NSCLC+lung_SCLC+lung"
    erl = g[g["drug"] == "Erlotinib"].iloc[0]
    assert erl["lineage_used"] == "all lineages" and "fewer than 3 mutant" in erl["note"]
    c = _panel_rows(res, "CTRPv2")
    assert _best_rank(c, "afatinib") <= 2 and _best_rank(c, "gefitinib") <= 3


def _raw_gdsc() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = Path(str(MIRROR)) / "gdsc_v17_gdsctools"
    if not (folder / "IC50_v17.csv.gz").exists():
        pytest.skip(f"{folder} lacks IC50_v17.csv.gz")
    ic50 = pd.read_csv(folder / "IC50_v17.csv.gz", index_col="COSMIC_ID")
    feats = pd.read_csv(folder / "genomic_features_v17.csv.gz", index_col="COSMIC_ID")
    return ic50, feats


def test_lineage_association_matches_scipy_on_the_raw_csv(panels):
    """Evidence: PLX-4720 (GDSC id 1036) x BRAF in skin lines, recomputed from the raw CSV.

    With no covariate entering (skin has fewer than 2 MSI lines) the ANOVA F-test is Student's
    pooled t-test: ``scipy.stats.ttest_ind(equal_var=True)`` gives the same p-value to 1e-10
    (relative) and the same mean difference and Glass delta. Welch's test (unequal variances)
    is a different test; its p-value is printed beside it, not matched.
    """
    ic50, feats = _raw_gdsc()
    skin = feats.index[feats["TISSUE_FACTOR"] == "skin"]
    y = ic50.loc[skin, "Drug_1036_IC50"].dropna()
    mut = feats.loc[y.index, "BRAF_mut"] == 1
    a, b = y[mut].to_numpy(), y[~mut].to_numpy()
    student = stats.ttest_ind(a, b, equal_var=True)
    welch = stats.ttest_ind(a, b, equal_var=False)
    res = panel_associations(["BRAF"], lineage="skin", panels=["gdsc"], drugs=["PLX-4720"])
    row = res[res["drug_id"] == 1036].iloc[0]
    print(f"PLX-4720 skin: ANOVA p {row['p_value']:.6g}, Student {student.pvalue:.6g}, "
          f"Welch {welch.pvalue:.6g}")  # fmt: skip
    assert row["covariates"] == "none" and row["lineage_used"] == "skin"
    assert (row["n_mutant"], row["n_wt"]) == (a.size, b.size)
    assert row["effect"] == pytest.approx(a.mean() - b.mean(), rel=1e-10)
    assert row["glass_delta"] == pytest.approx((a.mean() - b.mean()) / b.std(ddof=1), rel=1e-10)
    assert row["p_value"] == pytest.approx(student.pvalue, rel=1e-10)


def test_pancan_association_matches_statsmodels_on_the_raw_csv(panels):
    """Evidence: dabrafenib (id 1373) x BRAF, all lines, ``ic50 ~ C(tissue) + C(msi) + BRAF``.

    statsmodels' OLS F-test of the BRAF term (type II ANOVA) on the raw gdsctools CSV gives the
    same p-value (relative 1e-6; both are ~1e-44, computed by different routes).
    """
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.stats.anova import anova_lm

    ic50, feats = _raw_gdsc()
    d = pd.DataFrame(
        {
            "y": ic50["Drug_1373_IC50"],
            "tissue": feats["TISSUE_FACTOR"],
            "msi": feats["MSI_FACTOR"],
            "braf": feats["BRAF_mut"],
        }
    ).dropna()
    fit = smf.ols("y ~ C(tissue) + C(msi) + braf", data=d).fit()
    p_ref = anova_lm(fit, typ=2).loc["braf", "PR(>F)"]
    res = panel_associations(["BRAF"], panels=["gdsc"], drugs=["Dabrafenib"])
    row = res.iloc[0]
    assert row["covariates"] == "tissue+msi"
    assert row["n_mutant"] + row["n_wt"] == len(d)
    assert row["p_value"] == pytest.approx(p_ref, rel=1e-6)


def test_association_table_contract(braf_pancan):
    """Regression guard: columns, sort order, BH FDR per panel, labels and citations."""
    res = braf_pancan
    assert list(res.columns) == ASSOCIATION_COLUMNS
    p = res["p_value"].to_numpy(dtype=float)
    tested = np.isfinite(p)
    assert (np.diff(p[tested]) >= 0).all() and not tested[tested.sum() :].any()
    for _label, sub in res[tested].groupby("panel"):
        bh = stats.false_discovery_control(sub["p_value"].to_numpy(), method="bh")
        np.testing.assert_allclose(sub["fdr"].to_numpy(dtype=float), bh, rtol=1e-12)
    assert set(res["panel"]) == {"GDSC v17 (gdsctools)", "CTRPv2"}
    gd = res[res["panel"] == "GDSC v17 (gdsctools)"]
    assert set(gd["metric"]) == {"ln IC50 (uM)"} and gd["citation"].str.contains("Iorio").all()
    ct = res[res["panel"] == "CTRPv2"]
    assert ct["citation"].str.contains("Seashore-Ludlow").all()
    assert res.loc[res["drug"] == "PLX-4720", "drug_key"].eq("plx4720").all()
    assert (res.loc[tested, "n_mutant"] >= 3).all() and (res.loc[tested, "n_wt"] >= 3).all()
    assert any("CTRPv2 mutation calls" in n for n in res.attrs["notes"])


def test_gene_without_calls_and_absent_drug_give_notes_not_errors(panels):
    """Regression guard: an uncalled gene and an unscreened drug are rows with a note."""
    res = panel_associations(["NOTAGENE1"], panels=["gdsc"])
    assert len(res) == 1 and res["drug"].isna().all() and res["p_value"].isna().all()
    assert "no mutation calls" in res["note"].iloc[0]
    res = panel_associations(["BRAF", "NOTAGENE1"], panels=["gdsc"], drugs=["PLX-4032"])
    assert res["note"].str.contains("not screened in GDSC v17").all()
    assert any("NOTAGENE1" in n for n in res.attrs["notes"])


def test_kb_synonyms_find_the_screened_compound(panels):
    """Regression guard: vemurafenib finds CTRP's PLX-4032; a wrong synonym is not followed.

    The packaged KB lists AZD1480 (a JAK2 inhibitor) among selumetinib's synonyms: asking for
    AZD6244 (selumetinib) must not return CTRP's AZD1480, whose targets differ.
    """
    res = panel_associations(["BRAF"], panels=["ctrp"], drugs=["vemurafenib", "AZD6244"])
    assert set(res["drug"]) == {"PLX-4032", "selumetinib"}


def test_lineage_fallback_and_alias(panels):
    """Regression guard: too few mutant lines in the lineage -> all lines; KMT2D -> MLL2."""
    res = panel_associations(["BRAF"], lineage="breast", panels=["gdsc"], drugs=["Dabrafenib"])
    assert res["lineage_used"].iloc[0] == "all lineages"
    assert "fewer than 3 mutant" in res["note"].iloc[0]
    res = panel_associations(["BRAF"], lineage="atlantis", panels=["gdsc"], drugs=["Dabrafenib"])
    assert (
        res["lineage_used"].iloc[0] == "all lineages" and "no tissue label" in res["note"].iloc[0]
    )
    res = panel_associations(["KMT2D"], panels=["gdsc"], drugs=["Dabrafenib"])
    assert res["genes_tested"].iloc[0] == "MLL2"


def test_bad_arguments_raise_input_error(panels):
    """Regression guard: unknown panel, bad min_mutant, empty genes."""
    with pytest.raises(InputError, match="unknown panel"):
        panel_associations(["BRAF"], panels=["ccle"])
    with pytest.raises(InputError, match="min_mutant"):
        panel_associations(["BRAF"], min_mutant=1)
    with pytest.raises(InputError, match="genes is empty"):
        panel_associations([])


# ---------------------------------------------------------------------------------- forecast
FORECAST_DRUGS = ["PLX-4720", "dabrafenib", "paclitaxel", "not-a-drug-xyz"]


@pytest.fixture(scope="module")
def braf_forecast(panels) -> pd.DataFrame:
    return forecast_response(make_profile(["BRAF V600E"], tissue="skin"), FORECAST_DRUGS)


def test_braf_profile_forecast_more_sensitive_than_kras_profile(braf_forecast):
    """Evidence: a BRAF V600E melanoma is forecast more sensitive to BRAF inhibitors than a
    KRAS-mutant one (the GDSC association above, Garnett 2012).

    Measured percentiles among the measured lines: PLX-4720 2.8 / 4.2 (ids 1036 / 1371) and
    dabrafenib 4.1 for BRAF V600E vs 17.8 / 18.5 and 14.1 for KRAS G12D (both skin).
    """
    kras = forecast_response(make_profile(["KRAS G12D"], tissue="skin"), FORECAST_DRUGS)
    for did in (1036, 1371, 1373):
        b = braf_forecast[braf_forecast["drug_id"] == did].iloc[0]
        k = kras[kras["drug_id"] == did].iloc[0]
        assert b["percentile"] < k["percentile"] - 5 and b["predicted"] < k["predicted"]
        assert b["mutation_contribution"] < -1 and b["features_used"] == "BRAF"
        assert b["reliable"]


def test_cv_spearman_of_braf_inhibitor_above_unmarked_drug(braf_forecast):
    """Evidence: drugs with a genomic marker are predictable from mutations, others are not.

    Measured CV Spearman (5 folds over lines): dabrafenib 0.43, PLX-4720 0.32 / 0.38,
    paclitaxel -0.02 (no mutation marker in GDSC; unreliable).
    """
    f = braf_forecast.set_index("drug")
    assert f.loc["Dabrafenib", "cv_spearman"] > 0.3
    assert f.loc["Dabrafenib", "cv_spearman"] > f.loc["Paclitaxel", "cv_spearman"] + 0.2
    assert not f.loc["Paclitaxel", "reliable"] and "Spearman" in f.loc["Paclitaxel", "note"]


def test_forecast_contract(braf_forecast):
    """Regression guard: columns, interval, absent drug row, citation."""
    f = braf_forecast
    assert list(f.columns) == FORECAST_COLUMNS
    ok = f["predicted"].notna()
    width = f.loc[ok, "interval_high"] - f.loc[ok, "interval_low"]
    np.testing.assert_allclose(width, 2 * 1.96 * f.loc[ok, "cv_rmse"], rtol=1e-12)
    assert ((f.loc[ok, "percentile"] >= 0) & (f.loc[ok, "percentile"] <= 100)).all()
    assert (f.loc[ok, "n_train"] > 300).all() and f["metric"].eq("ln IC50 (uM)").all()
    absent = f[~ok].iloc[0]
    assert absent["drug"] == "not-a-drug-xyz" and not absent["reliable"]
    assert "neither a drug" in absent["note"]
    assert f["citation"].str.contains("Iorio 2016").all()


def test_profile_without_features_is_unreliable(panels):
    """Regression guard: no gene of the profile is a feature -> reliable False, listed."""
    f = forecast_response(make_profile(["NOTAGENE1 X12Y"], tissue="skin"), ["dabrafenib"])
    row = f.iloc[0]
    assert not row["reliable"] and row["features_used"] == ""
    assert "no gene of the profile is a feature" in row["note"]
    assert row["mutation_contribution"] == 0
    assert any("NOTAGENE1" in n for n in f.attrs["notes"])


def test_forecast_reproducible_from_seed(panels):
    """Regression guard: the same seed gives the same forecast after the memo is cleared."""
    p = make_profile(["BRAF V600E"], tissue="skin")
    a = forecast_response(p, ["dabrafenib"], rng=3)
    _train.cache_clear()
    b = forecast_response(p, ["dabrafenib"], rng=3)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(InputError, match="n_folds"):
        forecast_response(p, ["dabrafenib"], n_folds=1)
