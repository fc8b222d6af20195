"""The panel sources of the strategy ranking: GDSC / CTRP associations, the response forecast,
measured O'Neil / NCI-ALMANAC synergy, the synergy model, the Drug Repurposing Hub, and the
schedules parameterised from the user's fold-shift table.

Each test names its kind: OUTSIDE REFERENCE (a published value or the data's own documented
counts) or REGRESSION GUARD (the documented formula, recomputed).
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from oncoresist.errors import InputError
from oncoresist.mechanisms import make_profile
from oncoresist.strategy import (
    SOURCE_WEIGHTS,
    compare_strategy_schedules,
    panel_synergy,
    suggest_strategies,
)

MIRROR = os.environ.get("ONCORESIST_DATA_MIRROR")
needs_mirror = pytest.mark.skipif(
    not MIRROR, reason="ONCORESIST_DATA_MIRROR is unset: GDSC, CTRP, O'Neil, NCI-ALMANAC and "
    "the Drug Repurposing Hub are not available",
)  # fmt: skip
NO_SLOW = {"dependencies": False, "connectivity": False, "schedules": False,
           "synergy_prediction": False}  # fmt: skip


@needs_mirror
def test_repurposing_hub_counts_match_its_release_notes():
    """OUTSIDE REFERENCE: the Drug Repurposing Hub 2020-03-24 release as its README documents
    it (6,798 drugs, 2,427 launched, 2,283 of them outside oncology) and spot checks (gefitinib
    an EGFR inhibitor for NSCLC; metformin launched in endocrinology; disulfiram an ALDH
    inhibitor in neurology/psychiatry)."""
    from oncoresist.data import fetch_repurposing_hub

    h = fetch_repurposing_hub().set_index("drug")
    assert len(h) == 6798
    assert int(h.launched.sum()) == 2427
    assert int((h.launched & ~h.oncology).sum()) == 2283
    assert h.loc["gefitinib", "targets"] == ("EGFR",)
    assert "EGFR inhibitor" in h.loc["gefitinib", "moa"]
    assert (
        h.loc["metformin", "disease_area"] == ("endocrinology",) and h.loc["metformin", "launched"]
    )
    assert "aldehyde dehydrogenase inhibitor" in h.loc["disulfiram", "moa"]


@needs_mirror
def test_gdsc_egfr_association_and_forecast_support_egfr_tkis():
    """OUTSIDE REFERENCE: in GDSC, EGFR-mutant lung lines are more sensitive to EGFR inhibitors
    (Iorio 2016 Cell 166:740, the GDSC ANOVA). After paclitaxel fails in an EGFR L858R lung
    tumour (no known taxane-resistance alteration, so the L858R evidence is not shared with
    the resisted drug), gefitinib's row carries that association at FDR < 0.1 with a negative
    effect, scored by the documented formula, and a response forecast item."""
    s = suggest_strategies(make_profile(["EGFR L858R"], tissue="lung"), "paclitaxel", **NO_SLOW)
    ev = s.evidence[s.evidence.strategy == "Gefitinib"]
    assoc = ev[ev.source.str.startswith("panel association (GDSC")]
    assert len(assoc) == 1 and assoc.effect_size.iloc[0] < 0
    assert "FDR" in assoc.statistic.iloc[0] and "lineage lung" in assoc.statistic.iloc[0]
    assert 0 < assoc.item_score.iloc[0] <= SOURCE_WEIGHTS["panel_association"]
    fc = ev[ev.source.str.startswith("response forecast")]
    assert len(fc) == 1 and "CV Spearman" in fc.statistic.iloc[0]
    row = s.table[s.table.strategy == "Gefitinib"].iloc[0]
    assert "panel" in row.source and row.score == pytest.approx(max(ev.item_score))


@needs_mirror
def test_gene_level_association_of_the_driver_counts_as_shared():
    """REGRESSION GUARD (the shared factor): after gefitinib fails in an EGFR L858R + T790M
    tumour, the GDSC association of EGFR mutation (mostly sensitising drivers in the panel)
    counts at half weight and says why; no panel row outranks osimertinib."""
    p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    s = suggest_strategies(p, "gefitinib", **NO_SLOW)
    assert s.table.drug.iloc[0] == "Osimertinib" and s.table.score.iloc[0] == 1.0
    panel = s.table[s.table.source.str.startswith("panel") & (s.table.kind == "next_drug")]
    assert not panel.empty and (panel.score <= 0.5 * SOURCE_WEIGHTS["panel_association"]).all()
    assert all(any("gene-level association" in c for c in cav) for cav in panel.caveats)
    assert not panel.confident.any()


@needs_mirror
def test_measured_screen_synergy_becomes_partner_evidence():
    """REGRESSION GUARD (formula) on OUTSIDE data: gefitinib + mitoxantrone is the most
    synergistic gefitinib pair in NCI-ALMANAC's lung lines (ComboScore z 2.8, FDR < 0.001);
    the combination row scores panel_synergy x min(1, z / 3) and, as in-vitro evidence from
    other patients' lines, stays below the confidence threshold."""
    p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    s = suggest_strategies(p, "gefitinib", **NO_SLOW)
    ps = panel_synergy("gefitinib", lineage="lung")
    top = ps[(ps.fdr < 0.1) & (ps.z > 0)].iloc[0]
    assert top.partner_key == "mitoxantrone" and top.lineage_used == "Lung"
    row = s.table[(s.table.kind == "combination") & (s.table.partner == "Mitoxantrone")].iloc[0]
    assert row.score == pytest.approx(SOURCE_WEIGHTS["panel_synergy"] * min(1, top.z / 3))
    assert not row.confident and row.source == "panel_synergy"
    assert "NCI-ALMANAC" in row.evidence[0]["dataset"]


@needs_mirror
def test_repurposing_rows_name_the_hub_with_its_licence():
    """OUTSIDE REFERENCE: sorafenib (launched; RAF1 among its targets in the Hub and in
    DrugCentral) inhibits RAF1, the first NRAS-mutant melanoma dependency in DepMap (Dumaz 2006):
    its repurposing row names both sources, and the Hub's non-commercial licence is a caveat."""
    p = make_profile(["BRAF V600E", "NRAS Q61K"], tissue="skin")
    s = suggest_strategies(p, "vemurafenib", connectivity=False, schedules=False, panels=False)
    row = s.table[s.table.strategy == "Sorafenib (targets RAF1)"].iloc[0]
    assert "DrugCentral 2016" in row.top_evidence and "Drug Repurposing Hub" in row.top_evidence
    assert "non-commercial licence (Drug Repurposing Hub)" in row.caveats
    ev = s.evidence[s.evidence.strategy == row.strategy]
    hub = ev[ev.dataset == "Drug Repurposing Hub 2020-03-24"]
    assert "renal cell carcinoma" in hub.caveat.iloc[0]


def test_panels_off_is_listed_not_silent():
    """REGRESSION GUARD: a source not run is a row of not_assessable."""
    s = suggest_strategies(make_profile(["EGFR T790M"], tissue="lung"), "gefitinib",
                           panels=False, **NO_SLOW)  # fmt: skip
    assert "panels" in set(s.not_assessable.source)


def _table() -> pd.DataFrame:
    s = suggest_strategies(make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung"),
                           "gefitinib", panels=False, **NO_SLOW)  # fmt: skip
    return s.table


def test_schedules_from_the_users_fold_shift():
    """REGRESSION GUARD with an exact property of the model: the user's resistance index of the
    resisted drug changes only the schedules that give it: osimertinib alone progresses at the
    same day with RI 1.5 and RI 100, the combination with gefitinib does not (the time to
    progression from the nadir is not monotone in the kill, so only the difference is
    asserted); the parameter source says which was used."""
    t = _table()
    weak = compare_strategy_schedules(t, "Gefitinib", n=1,
                                      shift=pd.DataFrame({"drug": ["gefitinib"],
                                                          "resistance_index": [1.5]}))  # fmt: skip
    strong = compare_strategy_schedules(t, "Gefitinib", n=1,
                                        shift=pd.DataFrame({"drug": ["Gefitinib"],
                                                            "resistance_index": [100.0],
                                                            "ri_censored": [">"]}))  # fmt: skip
    w = weak.set_index("schedule")
    st = strong.set_index("schedule")
    assert w.loc["continuous", "median_ttp_days"] == st.loc["continuous", "median_ttp_days"]
    assert w.loc["combination", "median_ttp_days"] != st.loc["combination", "median_ttp_days"]
    assert "RI 1.5" in w.loc["combination", "parameter_source"]
    assert "RI >= 100" in st.loc["combination", "parameter_source"]
    none = compare_strategy_schedules(t, "Gefitinib", n=1)
    assert none.parameter_source.iloc[0].startswith("illustrative")
    other = compare_strategy_schedules(
        t, "Gefitinib", n=1, shift=pd.DataFrame({"drug": ["x"], "resistance_index": [3.0]})
    )
    assert "no row for Gefitinib" in other.parameter_source.iloc[0]


def test_bad_fold_shift_table():
    """REGRESSION GUARD: bad input names the column and the fix."""
    t = _table()
    with pytest.raises(InputError, match="'drug' column and 'resistance_index'"):
        compare_strategy_schedules(t, "Gefitinib", shift=pd.DataFrame({"drug": ["g"]}))
    with pytest.raises(InputError, match="must be a positive number"):
        compare_strategy_schedules(
            t, "Gefitinib", shift=pd.DataFrame({"drug": ["g"], "resistance_index": [-2.0]})
        )
    with pytest.raises(InputError, match="fold-shift table"):
        compare_strategy_schedules(t, "Gefitinib", shift=[1, 2])


@needs_mirror
def test_synergy_model_predicts_unmeasured_partners():
    """REGRESSION GUARD on OUTSIDE data: erlotinib is an O'Neil drug measured with all 37
    partners in every lung line, so the model adds only partners outside the screen, known by
    their structure (NCI-ALMANAC / TGSA SMILES): rapamycin, a structural analogue of the
    screen's mTOR inhibitor ridaforolimus (MK-8669), is predicted synergistic (z > 1); its item
    is weighted predicted_synergy, below the confidence threshold, and says it is a held-out-
    drug prediction."""
    p = make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung")
    s = suggest_strategies(p, "erlotinib", dependencies=False, connectivity=False,
                           schedules=False)  # fmt: skip
    ev = s.evidence[s.evidence.source == "predicted synergy (O'Neil model)"]
    assert not ev.empty and (ev.item_score <= SOURCE_WEIGHTS["predicted_synergy"]).all()
    assert ev.caveat.str.contains("outside the oneil screen from its structure").all()
    rows = s.table[s.table.source.str.contains("predicted_synergy")]
    assert "Erlotinib + Rapamycin" in set(rows.strategy) and not rows.confident.any()


def test_cli_takes_the_fold_shift_table(tmp_path):
    """REGRESSION GUARD: --shift reaches the schedules (schedules.csv names the source)."""
    from test_strategy_assembly import _cli

    main = _cli()
    prof = tmp_path / "p.yaml"
    prof.write_text("sample: R1\ntissue: lung\nmutations: [EGFR L858R, EGFR T790M]\n")
    shift = tmp_path / "shift.csv"
    pd.DataFrame({"drug": ["gefitinib", "osimertinib"], "resistance_index": [25.0, 1.1],
                  "ri_censored": ["", ""]}).to_csv(shift, index=False)  # fmt: skip
    out = tmp_path / "out"
    rc = main(["strategy", str(prof), "--drug", "gefitinib", "--shift", str(shift),
               "--no-dependencies", "--no-connectivity", "--no-panels", "-o", str(out)])  # fmt: skip
    assert rc == 0
    sc = pd.read_csv(out / "schedules.csv")
    assert sc.parameter_source.str.contains("RI 25").all()
    assert sc.parameter_source.str.contains("candidate RI 1.1").any()


def test_panels_never_download_and_say_what_is_missing(monkeypatch, tmp_path):
    """REGRESSION GUARD: without the mirror and with an empty cache, the panel sources are
    listed as not assessable (data unavailable) and nothing is downloaded."""
    import oncoresist.data._datasets as ds
    from oncoresist.strategy import _panel_response, _panel_synergy

    monkeypatch.delenv("ONCORESIST_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ONCORESIST_CACHE_DIR", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(ds, "_fetch_url", no_network)
    monkeypatch.setattr(ds, "_fetch_and_gzip", no_network)
    monkeypatch.setattr(ds, "_fetch_from_package", no_network)
    for mod in (_panel_response, _panel_synergy):  # memoised loaders from other tests
        for f in vars(mod).values():
            if hasattr(f, "cache_clear"):
                f.cache_clear()
    s = suggest_strategies(make_profile(["EGFR L858R", "EGFR T790M"], tissue="lung"),
                           "gefitinib", **NO_SLOW)  # fmt: skip
    na = s.not_assessable
    got = na[na.source.isin(["panel_associations", "panel_synergy"])]
    assert set(got.source) == {"panel_associations", "panel_synergy"}
    assert got.reason.str.contains("data unavailable").all()
    assert s.table.drug.iloc[0] == "Osimertinib"
