"""GDSC release 17: textbook pharmacogenomic associations, and the gdsctools reference.

Reference: gdsctools (Sanger's GDSC ANOVA) reports for TP53_mut x Nutlin-3a (Drug_1047), pan-cancer
with tissue and MSI covariates: p = 1.575e-58, mean difference 1.574 ln units, Cohen's d 1.39,
292 wild-type lines (numbers given in the project issue, from gdsctools 1.0.1 on v17).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from oncoresist.biomarkers import anova_associations
from oncoresist.data import mirror_available

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not (mirror_available("gdsc_v17_gdsctools") and mirror_available("gdsc_annotations")),
        reason="needs ONCORESIST_DATA_MIRROR with gdsc_v17_gdsctools and gdsc_annotations",
    ),
]

ERBB2_CNA = "gain_cnaPANCAN301_(CDK12,ERBB2,MED24)"


@pytest.fixture(scope="module")
def gdsc():
    from oncoresist.data._panels import fetch_gdsc_v17

    panel = fetch_gdsc_v17()
    res = anova_associations(panel)
    return panel, res


def _row(res, drug, feature):
    t = res.table
    return t[(t["drug"] == drug) & (t["feature"] == feature)].iloc[0]


def test_tp53_nutlin_matches_gdsctools(gdsc):
    _, res = gdsc
    r = _row(res, 1047, "TP53_mut")
    assert r["drug_name"].startswith("Nutlin-3a")  # from screened_compounds_rel_8.4.csv
    assert r["pvalue"] == pytest.approx(1.575e-58, rel=1e-3)  # gdsctools: 1.575e-58
    assert r["mean_diff"] == pytest.approx(1.574, abs=5e-4)  # gdsctools: 1.574 ln units
    assert r["cohens_d"] == pytest.approx(1.39, abs=5e-3)  # gdsctools: 1.39
    assert r["n_neg"] == 292  # gdsctools: 292 wild-type lines
    assert r["association"] == "resistance"
    assert r["fdr"] < 1e-50


@pytest.mark.parametrize(
    ("drug", "feature", "max_p"),
    [
        (1036, "BRAF_mut", 1e-20),  # PLX-4720; measured p = 7.0e-23
        (1373, "BRAF_mut", 1e-40),  # dabrafenib; measured p = 1.3e-44
        (1032, ERBB2_CNA, 1e-6),  # afatinib; measured p = 6.3e-8
        (119, ERBB2_CNA, 1e-3),  # lapatinib: only 9 amplified lines screened; p = 5.3e-4
    ],
)
def test_textbook_sensitivity_markers(gdsc, drug, feature, max_p):
    _, res = gdsc
    r = _row(res, drug, feature)
    assert r["association"] == "sensitivity" and r["mean_diff"] < 0 and r["cohens_d"] < -1
    assert r["pvalue"] < max_p


def test_egfr_erlotinib_is_weak_in_v17(gdsc):
    # Honest negative: few EGFR-mutant lines were screened with erlotinib in v17, so the
    # textbook association is not significant here.
    _, res = gdsc
    r = _row(res, 1, "EGFR_mut")
    assert r["n_pos"] < 10
    assert r["pvalue"] > 0.05


def test_pvalues_match_statsmodels_on_a_sample(gdsc):
    panel, res = gdsc
    rng = np.random.default_rng(0)
    t = res.table.iloc[rng.choice(len(res.table), 10, replace=False)]
    feats = pd.concat([panel.layers["mutation"], panel.layers["cna"]], axis=1)
    for r in t.itertuples():
        d = pd.DataFrame(
            {
                "y": panel.responses[r.drug],
                "f": feats[r.feature],
                "t": panel.sample_annotations["tissue"],
                "m": panel.sample_annotations["msi"],
            }
        ).dropna()
        fit = smf.ols("y ~ C(t) + C(m) + f", d).fit()
        assert r.pvalue == pytest.approx(float(fit.f_test("f = 0").pvalue), rel=1e-8)


def test_skipped_tests_are_counted(gdsc):
    panel, res = gdsc
    n_all = panel.shape[1] * (panel.layers["mutation"].shape[1] + panel.layers["cna"].shape[1])
    assert res.n_tests + res.n_skipped == n_all  # every test is either done or listed


def test_demo_sections(tmp_path):
    from oncoresist.biomarkers._demo import demo_sections

    secs = demo_sections(tmp_path, rng=0)
    assert len(secs) == 2
    assert "GDSC" in secs[1].title
