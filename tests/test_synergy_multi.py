"""Higher-order combinations (3+ drugs in one block): reader, HSA/Bliss/Loewe/ZIP, malaria screen.

Ground truth first (blocks generated under exact Bliss independence and exact Loewe
additivity score ~0; HSA by hand), then the reduction to the two-drug code path, then the
3-drug NCATS malaria screen of SynergyFinder's example data, then bad input.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from conftest import requires_mirror
from oncoresist.data import CombinationScreen, MultiCombinationScreen, read_multi_combination_table
from oncoresist.errors import InputError, SchemaError
from oncoresist.synergy import (
    MultiSynergyResult,
    plot_multi_slices,
    score_blocks,
    score_multi_blocks,
    score_multi_combinations,
)
from oncoresist.synergy._multi import MULTI_MODELS

NCATS = "synergyfinder_combo_matrices"
DOSES = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)
EC50 = (0.5, 1.0, 2.0)


def _hill(d: np.ndarray, ec50: float, h: float, top: float = 1.0) -> np.ndarray:
    return top * d**h / (ec50**h + d**h)


def _table(resp_fn, doses=DOSES, n_drugs: int = 3) -> pd.DataFrame:
    g = np.array(list(itertools.product(doses, repeat=n_drugs)), dtype=float)
    df = pd.DataFrame({"block_id": "b", "response": resp_fn(g)})
    for k in range(n_drugs):
        df[f"drug{k + 1}"] = f"d{k + 1}"
        df[f"conc{k + 1}"] = g[:, k]
    return df


def _bliss_block(g: np.ndarray) -> np.ndarray:
    e = [_hill(g[:, k], EC50[k], h) for k, h in zip(range(3), (1.0, 1.5, 2.0), strict=True)]
    return 1.0 - np.prod([1.0 - x for x in e], axis=0)


def _loewe_block(g: np.ndarray) -> np.ndarray:
    # same slope and Emax = 1: sum d_i / X_i(y) = 1 gives y = D^h / (1 + D^h), D = sum d_i/EC50_i
    dd = sum(g[:, k] / EC50[k] for k in range(3))
    return dd**1.5 / (1.0 + dd**1.5)


def _score(df: pd.DataFrame, **kw) -> MultiSynergyResult:
    screen = MultiCombinationScreen.from_frame(df, conc_unit="uM", response_scale="fraction",
                                               response_kind="inhibition")  # fmt: skip
    return score_multi_combinations(screen, **kw)


# ---------------------------------------------------------------------- ground truth
def test_exact_bliss_block_scores_zero_bliss_and_zip():
    res = _score(_table(_bliss_block))
    s = res.score_table()
    assert abs(s.loc["b", "bliss"]) < 1e-9
    # ZIP's reference is Bliss on the fitted single agents; on exact Hill data every fit is exact
    assert abs(s.loc["b", "zip"]) < 0.05
    assert np.abs(res.wells.loc[res.wells["model"] == "zip", "excess"]).max() < 0.5
    assert (res.scores["status"] == "ok").all()


def test_exact_loewe_block_scores_zero_loewe():
    res = _score(_table(_loewe_block), models=["loewe", "bliss"])
    s = res.score_table()
    assert abs(s.loc["b", "loewe"]) < 0.01
    loewe = res.wells[res.wells["model"] == "loewe"]
    assert np.abs(loewe["excess"]).max() < 0.05
    assert res.scores.set_index("model").loc["loewe", "n_above_emax"] == 0


def test_hsa_by_hand_on_a_two_dose_cube():
    # doses (0, 1) for 3 drugs: the 8 wells in itertools.product order
    y = np.array([0.0, 0.30, 0.20, 0.60, 0.10, 0.50, 0.40, 0.90])
    res = _score(_table(lambda g: y, doses=(0.0, 1.0)), models=["hsa", "bliss"])
    w = res.wells.set_index(["model", "conc1", "conc2", "conc3"])["excess"]
    # singles: drug1 = 0.10 (1,0,0), drug2 = 0.20 (0,1,0), drug3 = 0.30 (0,0,1)
    assert w["hsa", 1.0, 1.0, 1.0] == pytest.approx(100 * (0.90 - 0.30))
    assert w["hsa", 1.0, 1.0, 0.0] == pytest.approx(100 * (0.40 - 0.20))
    assert w["hsa", 0.0, 1.0, 1.0] == pytest.approx(100 * (0.60 - 0.30))
    assert w["hsa", 1.0, 0.0, 0.0] == 0.0
    assert w["bliss", 1.0, 1.0, 1.0] == pytest.approx(100 * (0.90 - (1 - 0.9 * 0.8 * 0.7)))
    hsa = res.scores.set_index("model").loc["hsa"]
    assert hsa["score"] == pytest.approx(100 * np.mean([0.30, 0.20, 0.20, 0.60]))
    assert hsa["score_all_present"] == pytest.approx(60.0)
    assert hsa["n_wells"] == 4


def test_four_drug_block_under_bliss_independence():
    def four(g):
        return 1 - np.prod([1 - _hill(g[:, k], 1.0, 1.0) for k in range(4)], axis=0)

    res = _score(_table(four, doses=(0.0, 0.3, 1.0, 3.0), n_drugs=4))
    assert res.n_drugs == 4
    assert abs(res.score_table().loc["b", "bliss"]) < 1e-9
    assert abs(res.score_table().loc["b", "zip"]) < 0.1


# ---------------------------------------------------------------------- reduction to 2 drugs
def test_drug3_always_zero_reduces_to_the_two_drug_code_path():
    rng = np.random.default_rng(3)
    c = np.array([[0.0, 0.1, 0.3, 1.0, 3.0, 10.0]] * 3)
    a = _hill(c[:, :, None], 0.8, 1.2)
    b = _hill(c[:, None, :], 2.0, 0.9, top=0.9)
    y = 1 - (1 - a) * (1 - b)
    y = y + np.array([0.0, 0.08, -0.08])[:, None, None] * (c[:, :, None] * c[:, None, :] > 0)
    y = y + rng.normal(0, 0.01, y.shape)
    models = ["hsa", "bliss", "loewe", "zip"]
    two = score_blocks(c, c, y, models=models)
    three = score_multi_blocks([c, c, np.zeros((3, 1))], y[:, :, :, None], models=models)
    for m in ("hsa", "bliss", "loewe"):
        np.testing.assert_allclose(three[m]["excess"][..., 0], two[m]["excess"], atol=1e-9)
        np.testing.assert_allclose(three[m]["score"], two[m]["score"], atol=1e-9)
    # ZIP: the same line fits on the same bottoms
    np.testing.assert_allclose(three["zip"]["excess"][..., 0], two["zip"]["excess"], atol=1e-6)


# ---------------------------------------------------------------------- malaria screen
@pytest.fixture(scope="module")
def malaria():
    from oncoresist.data import fetch_file

    path = fetch_file(NCATS, "NCATS_screening_data.csv")
    screen = read_multi_combination_table(path)
    return screen, score_multi_combinations(screen)


@pytest.mark.realdata
@requires_mirror(NCATS)
def test_malaria_three_drug_blocks_scored(malaria):
    screen, res = malaria
    assert (screen.n_drugs, screen.n_blocks, len(screen)) == (3, 2, 2400)
    # the released responses fall with dose (zero-dose well ~99 %): read as viability
    assert any("viability" in n for n in screen.conversions)
    s = res.score_table()
    assert list(s.columns) == list(MULTI_MODELS)
    # SynergyFinder's documentation: "2 blocks, one is synergistic and the other antagonistic"
    assert (s.loc["1"] > 5).all() and (s.loc["2"] < -5).all()
    expected = {
        "1": {"hsa": 11.45, "bliss": 12.20, "loewe": 8.70, "zip": 11.58},
        "2": {"hsa": -9.96, "bliss": -12.52, "loewe": -14.52, "zip": -12.36},
    }
    for b, row in expected.items():
        for m, v in row.items():
            assert s.loc[b, m] == pytest.approx(v, abs=0.3), (b, m)
    assert (res.scores["n_wells"] == 1170).all()  # 1200 wells - 29 single-agent - 1 zero
    # Darunavir alone is flat (no effect up to 10 uM): Loewe and ZIP flag it, HSA/Bliss do not
    flagged = res.scores.set_index(["block_id", "model"])
    assert flagged.loc[("1", "loewe"), "status"] == "unreliable"
    assert "Darunavir Ethanolate" in flagged.loc[("1", "loewe"), "reason"]
    assert flagged.loc[("1", "bliss"), "status"] == "ok"


@pytest.mark.realdata
@requires_mirror(NCATS)
def test_malaria_single_agent_ic50_match_synergyfinder_plus(malaria):
    # relative IC50 (uM) in SynergyFinder's vignette, section 7.3 (CalculateSensitivity on
    # NCATS_screening_data); Darunavir (block 1, drug 3) is flat here, 7.40 there
    published = {("1", 1): 0.0172, ("1", 2): 0.0168, ("2", 1): 0.0204, ("2", 2): 0.00595,
                 ("2", 3): 2.12}  # fmt: skip
    fits = malaria[1].single_agents.set_index(["block_id", "drug"])["ec50"]
    # Piperaquine in block 2 is a step between 9.4 and 37.5 nM with a single point on it
    # (0.37 at 18.75 nM): the unbounded least-squares slope is 28 (EC50 19.4 nM), the curve
    # engine's slope bound 20 gives 19.7 nM (flagged: slope at its bound) and the published
    # 20.4 nM (drc) is another point of that ridge: 5 % there, 3 % elsewhere
    for key, v in published.items():
        assert fits[key] == pytest.approx(v, rel=0.05 if key == ("2", 1) else 0.03), key


@pytest.mark.realdata
@requires_mirror(NCATS)
def test_malaria_conc3_zero_face_equals_the_two_drug_analysis(malaria):
    screen, res = malaria
    face = screen.data[screen.data["conc3"] == 0].drop(columns=["drug3", "conc3"])
    two = CombinationScreen(face, source="face")
    ((_, c1, c2, r),) = two.to_arrays()
    out = score_blocks(c1, c2, r, models=["hsa", "bliss", "loewe", "zip"])
    w = res.wells[res.wells["conc3"] == 0]
    for m in ("hsa", "bliss", "loewe", "zip"):
        mine = w[w["model"] == m].sort_values(["block_id", "conc1", "conc2"])["excess"]
        np.testing.assert_allclose(mine.to_numpy(), out[m]["excess"].reshape(-1), atol=1e-6)


@pytest.mark.realdata
@requires_mirror(NCATS)
def test_malaria_result_api_and_plot(malaria):
    res = malaria[1]
    assert res.to_frame().shape[0] == 8
    assert "MultiSynergyResult" in res._repr_html_()
    assert set(res.wells["n_present"]) == {0, 1, 2, 3}
    fig = plot_multi_slices(res, "1", model="bliss")
    assert len(fig.data) == 12  # one heatmap per dose of drug 3
    with pytest.raises(InputError, match="no wells for block"):
        plot_multi_slices(res, "9")


# ---------------------------------------------------------------------- bad input
@pytest.fixture
def cube() -> pd.DataFrame:
    df = _table(_bliss_block, doses=(0.0, 1.0, 3.0))
    df["conc_unit"] = "uM"
    return df


def test_missing_conc3_column_names_the_column_and_the_fix(cube):
    with pytest.raises(SchemaError, match=r"'drug3' is present but 'conc3' is missing.*--columns"):
        MultiCombinationScreen.from_frame(cube.drop(columns=["conc3"]))


def test_missing_conc3_value_names_row_and_column(cube):
    cube.loc[4, "conc3"] = np.nan
    with pytest.raises(InputError, match=r"column 'conc3' row 6: missing dose of drug 3"):
        MultiCombinationScreen.from_frame(cube)


def test_non_numeric_value_names_row_and_column(cube):
    cube["conc2"] = cube["conc2"].astype(object)
    cube.loc[7, "conc2"] = "1,5"
    with pytest.raises(InputError, match=r"column 'conc2' row 9: non-numeric"):
        MultiCombinationScreen.from_frame(cube)
    cube.loc[7, "conc2"] = 1.0
    cube["response"] = cube["response"].astype(object)
    cube.loc[3, "response"] = "n/a"
    with pytest.raises(InputError, match=r"column 'response' row 5: non-numeric"):
        MultiCombinationScreen.from_frame(cube)


def test_missing_single_agent_rows(cube):
    alone3 = (cube["conc1"] == 0) & (cube["conc2"] == 0) & (cube["conc3"] > 0)
    with pytest.raises(InputError, match=r"missing single-agent rows for drug 3 \(d3\)"):
        MultiCombinationScreen.from_frame(cube[~alone3])


def test_duplicated_wells_name_the_rows(cube):
    cube["replicate"] = 1
    dup = pd.concat([cube, cube.iloc[[5]]], ignore_index=True)
    with pytest.raises(InputError, match=rf"duplicated well: rows 7, {len(dup) + 1}"):
        MultiCombinationScreen.from_frame(dup)
    # without a replicate column repeated wells are replicates, and the conversion is recorded
    rep = pd.concat([cube, cube], ignore_index=True).drop(columns=["replicate"])
    screen = MultiCombinationScreen.from_frame(rep)
    assert screen.blocks["n_replicates"].iloc[0] == 2
    assert any("numbered in file order" in n for n in screen.conversions)


def test_no_unit_is_an_error_with_the_api_and_cli_fix(cube):
    with pytest.raises(InputError, match=r"conc_unit='uM' \(CLI: --conc-unit uM\)"):
        MultiCombinationScreen.from_frame(cube.drop(columns=["conc_unit"]))


def test_not_a_full_grid(cube):
    drop = (cube["conc1"] == 3) & (cube["conc2"] == 3) & (cube["conc3"] == 3)
    with pytest.raises(InputError, match="not a full dose grid: 26 wells"):
        MultiCombinationScreen.from_frame(cube[~drop])


def test_array_api_checks_shapes():
    c = [np.array([[0.0, 1.0]])] * 3
    with pytest.raises(InputError, match="does not match"):
        score_multi_blocks(c, np.zeros((1, 2, 2)))
    with pytest.raises(InputError, match="unknown higher-order model"):
        score_multi_blocks(c, np.zeros((1, 2, 2, 2)), models=["musyc"])


@pytest.mark.realdata
@requires_mirror(NCATS)
def test_malaria_wells_match_synergyfinder_plus_published_values():
    # SynergyFinder's vignette, section 7.2 ("Higher-order drug combination screening"), prints
    # the first wells of block 1 (conc2 = 0.075, conc3 = 0) after ReshapeData(data_type =
    # "inhibition") and CalculateSynergy: HSA_ref = Bliss_ref = 99.3 and the synergies below.
    # They take the released values as inhibition and an absent drug's response at dose 0 (the
    # zero-dose well, 99.3 %) into HSA and Bliss: absent_drugs="zero_dose" reproduces them.
    from oncoresist.data import fetch_file

    path = fetch_file(NCATS, "NCATS_screening_data.csv")
    screen = read_multi_combination_table(path, response_kind="inhibition")
    res = score_multi_combinations(screen, models=["hsa", "bliss"], absent_drugs="zero_dose")
    w = res.wells[(res.wells["block_id"] == "1") & (res.wells["conc2"] == 0.075)]
    w = w[w["conc3"] == 0].set_index(["model", "conc1"])
    published = {
        "hsa": [-96.2, -95.4, -97.4, -97.7, -94.6],
        "bliss": [-96.3, -95.5, -97.4, -97.7, -94.6],
    }
    for m, vals in published.items():
        got = [w.loc[(m, c), "excess"] for c in (0.6, 0.3, 0.15, 0.075, 0.0375)]
        np.testing.assert_allclose(got, vals, atol=0.051)
        assert 100 * w.loc[(m, 0.6), "expected"] == pytest.approx(99.3, abs=0.05)


def test_scores_do_not_depend_on_the_order_of_the_drugs():
    rng = np.random.default_rng(7)
    c = [np.array([[0.0, 0.2, 1.0, 5.0]]), np.array([[0.0, 0.5, 2.0]]), np.array([[0, 1.0, 4.0]])]
    g = np.meshgrid(c[0][0], c[1][0], c[2][0], indexing="ij")
    e = [_hill(g[k], 1.0, 1.0 + 0.5 * k, top=0.9) for k in range(3)]
    y = (1 - (1 - e[0]) * (1 - e[1]) * (1 - e[2]) + rng.normal(0, 0.03, g[0].shape))[None]
    base = score_multi_blocks(c, y)
    for perm in ((1, 0, 2), (2, 0, 1)):
        out = score_multi_blocks([c[k] for k in perm], np.transpose(y, (0, *(1 + np.array(perm)))))
        for m in MULTI_MODELS:
            np.testing.assert_allclose(out[m]["score"], base[m]["score"], atol=1e-6, err_msg=m)
