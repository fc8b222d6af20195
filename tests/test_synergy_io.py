"""Readers of combination blocks and bad input: clear errors or reported conversions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oncoresist.data._combination import (
    CombinationScreen,
    read_combination_matrix,
    read_combination_plate,
    read_combination_table,
)
from oncoresist.errors import InputError, SchemaError
from oncoresist.synergy import make_combination_screen, score_combinations


def _tidy(pct: bool = False, reps: int = 2) -> pd.DataFrame:
    s = make_combination_screen(2, n_replicates=reps, rng=0)
    d = s.data.drop(columns=["sample"])
    if pct:
        d["response"] = d["response"] * 100
    return d


def test_percent_detected_and_reported(tmp_path):
    p = tmp_path / "t.csv"
    _tidy(pct=True).to_csv(p, index=False)
    s = read_combination_table(p, conc_unit="uM")
    assert any("percent" in n for n in s.conversions)
    assert s.data["response"].abs().max() <= 1.5
    ref = read_combination_table(_tidy(), conc_unit="uM")
    np.testing.assert_allclose(
        s.data["response"].to_numpy(), ref.data["response"].to_numpy(), atol=1e-12
    )


def test_viability_converted_and_reported():
    d = _tidy()
    d["response"] = 1 - d["response"]
    s = read_combination_table(d, conc_unit="uM")
    assert any("viability" in n for n in s.conversions)
    np.testing.assert_allclose(
        s.data["response"].to_numpy(), _tidy()["response"].to_numpy(), atol=1e-12
    )


def test_response_outside_plausible_range_is_an_error():
    d = _tidy()
    d["sample"] = ""
    d.loc[3, "response"] = 55.0  # a percent value in a fractional table
    with pytest.raises(InputError, match=r"row 5: value 55 .*percent"):
        CombinationScreen(d)


def test_missing_single_agent_rows():
    d = _tidy()
    d = d[~((d["block_id"] == "1") & (d["conc2"] == 0))]
    with pytest.raises(
        InputError,
        match=r"block '1': missing single-agent column: column 'conc2' has no 0 \(drug 1 alone\) in rows",
    ):
        read_combination_table(d, conc_unit="uM")
    s = read_combination_table(d, conc_unit="uM", on_invalid="drop")
    assert s.n_blocks == 1 and s.excluded["block_id"].tolist() == ["1"]
    res = score_combinations(s, models=["bliss"], n_boot=0)
    assert res.excluded["block_id"].tolist() == ["1"]


def test_non_grid_doses():
    d = _tidy()
    # remove one whole combination well (both replicates) of block 0
    c1 = d.loc[d["block_id"] == "0", "conc1"].unique()[2]
    c2 = d.loc[d["block_id"] == "0", "conc2"].unique()[3]
    d = d[~((d["block_id"] == "0") & (d["conc1"] == c1) & (d["conc2"] == c2))]
    with pytest.raises(
        InputError,
        match=r"block '0': non-grid doses: 24 \(conc1, conc2\) pairs present, a full 5 x 5 grid needs 25",
    ):
        read_combination_table(d, conc_unit="uM")


def test_single_replicate_says_no_ci():
    s = read_combination_table(_tidy(reps=1), conc_unit="uM")
    res = score_combinations(s, models=["bliss", "loewe"], n_boot=50, rng=0)
    m = res.scores
    assert m["score"].notna().all()  # the scores themselves are there
    assert m["ci_low"].isna().all() and m["pvalue"].isna().all()
    assert (m["uncertainty"] == "single replicate: no bootstrap CI or p-value").all()


def test_missing_columns_and_third_drug():
    with pytest.raises(SchemaError, match="missing column"):
        read_combination_table(pd.DataFrame({"block_id": [1], "drug1": ["a"]}))
    d = _tidy()
    d["drug3"], d["conc3"] = "c", 1.0
    with pytest.raises(InputError, match="third drug"):
        read_combination_table(d, conc_unit="uM")


def test_units_converted(tmp_path):
    d = _tidy()
    d["conc_unit"] = "nM"
    d["conc1"] *= 1000
    d["conc2"] *= 1000
    s = read_combination_table(d)
    np.testing.assert_allclose(s.data["conc1"].to_numpy(), _tidy()["conc1"].to_numpy())
    assert any("nM" in n for n in s.conversions)


def test_matrix_reader_matches_table():
    s = make_combination_screen(1, n_replicates=2, rng=2)
    _, c1, c2, r = s.to_arrays()[0]
    m = read_combination_matrix(
        np.moveaxis(r[0], -1, 0),
        c1[0],
        c2[0],
        conc_unit="uM",
        response_scale="fraction",
        response_kind="inhibition",
    )
    a = score_combinations(s, models=["bliss"], n_boot=0).scores["score"].iloc[0]
    b = score_combinations(m, models=["bliss"], n_boot=0).scores["score"].iloc[0]
    assert a == pytest.approx(b)
    frame = pd.DataFrame(r[0, :, :, 0] * 100, index=c1[0], columns=c2[0])
    assert read_combination_matrix(frame, conc_unit="uM").n_blocks == 1
    with pytest.raises(InputError, match="does not match"):
        read_combination_matrix(r[0, :, :, 0], c1[0][:3], c2[0])


def test_plate_reader_normalises_to_controls():
    # 3 x 3 block on a plate: signal = 1000 * viability + 100 background (positive wells)
    rows = []
    viab = {}
    for i, c1 in enumerate([0.0, 1.0, 10.0]):
        for j, c2 in enumerate([0.0, 1.0, 10.0]):
            v = (1 - 0.3 * i) * (1 - 0.2 * j)
            w = f"B{3 * i + j + 2:02d}"
            rows.append(
                {
                    "well": w,
                    "role": "treated",
                    "block_id": "b",
                    "drug1": "x",
                    "drug2": "y",
                    "conc1": c1,
                    "conc2": c2,
                }
            )
            viab[w] = v
    rows += [
        {"well": "A01", "role": "negative"},
        {"well": "A02", "role": "negative"},
        {"well": "A03", "role": "positive"},
    ]
    layout = pd.DataFrame(rows)
    signal = {w: 100 + 1000 * v for w, v in viab.items()} | {
        "A01": 1100.0,
        "A02": 1100.0,
        "A03": 100.0,
    }
    plate = pd.DataFrame({"well": list(signal), "signal": list(signal.values())})
    s = read_combination_plate(plate, layout, conc_unit="uM")
    got = s.data.set_index(["conc1", "conc2"])["response"]
    assert got.loc[(10.0, 10.0)] == pytest.approx(1 - 0.4 * 0.6)
    assert any("positive wells" in n for n in s.conversions)
