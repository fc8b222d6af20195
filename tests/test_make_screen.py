"""make_screen: truth table, determinism, outlier rate and edge effects (ground truth)."""

from __future__ import annotations

import numpy as np
import pytest

from oncoresist.curves._qc import plate_qc
from oncoresist.data._make import make_screen
from oncoresist.errors import InputError


def test_truth_table_consistent_with_screen():
    res = make_screen(n_samples=3, drugs=5, resistant_fold=[2, 5, 10, 20, 50], rng=1)
    screen, truth = res
    assert len(truth) == 6 * 5 == screen.n_curves
    assert set(truth.columns) >= {
        "sample",
        "drug",
        "ic50",
        "hill_slope",
        "top",
        "bottom",
        "is_resistant",
        "parental",
        "fold_shift",
        "doubling_time",
        "time_zero_count",
    }
    par = truth[~truth["is_resistant"]].set_index(["sample", "drug"])
    res_ = truth[truth["is_resistant"]].set_index(["parental", "drug"])
    ratio = res_["ic50"] / par["ic50"].reindex(res_.index).to_numpy()
    np.testing.assert_allclose(ratio, res_["fold_shift"], rtol=1e-12)
    np.testing.assert_allclose(res_["fold_shift"].unstack().iloc[0], [2, 5, 10, 20, 50])
    assert (truth.loc[~truth["is_resistant"], "fold_shift"] == 1).all()
    # 9 doses x 2 replicates per curve, every curve on one plate
    counts = screen.treated().groupby(["sample", "drug"]).size()
    assert (counts == 18).all()
    assert screen.treated().groupby(["sample", "drug"])["plate"].nunique().max() == 1
    assert len(res.wells) == len(screen)
    # every plate has the four control roles and time-zero wells
    roles = screen.data.groupby("plate")["role"].agg(set)
    assert all({"negative", "positive", "blank", "time_zero"} <= r for r in roles)


def test_deterministic_from_rng():
    a = make_screen(n_samples=2, drugs=3, outlier_rate=0.05, rng=7)
    b = make_screen(n_samples=2, drugs=3, outlier_rate=0.05, rng=np.random.default_rng(7))
    c = make_screen(n_samples=2, drugs=3, outlier_rate=0.05, rng=8)
    assert a.screen.data.equals(b.screen.data)
    assert a.truth.equals(b.truth)
    assert not np.allclose(a.screen.data["signal"], c.screen.data["signal"])


@pytest.mark.parametrize("fmt", [96, 384, 1536])
def test_plate_formats(fmt):
    screen, _ = make_screen(n_samples=1, drugs=4, plate_format=fmt, rng=0)
    rows, cols = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}[fmt]
    assert screen.data["row"].max() < rows and screen.data["col"].max() < cols
    assert not screen.data.duplicated(["plate", "well"]).any()


def test_outliers_at_nominal_rate():
    rate = 0.03
    res = make_screen(n_samples=20, drugs=10, outlier_rate=rate, rng=3)
    cells = res.wells["true_count"] > 0
    observed = res.wells.loc[cells, "is_outlier"].mean()
    n = int(cells.sum())
    # binomial: 4 standard errors around the nominal rate; measured 0.0324 with rng=3 (n=8,800 wells with cells)
    assert abs(observed - rate) < 4 * np.sqrt(rate * (1 - rate) / n)
    assert not res.wells.loc[~cells, "is_outlier"].any()
    # outliers are visible only in the hidden truth, not in the screen
    assert "is_outlier" not in res.screen.data.columns


def test_edge_effect_detected_only_when_present():
    on = plate_qc(make_screen(n_samples=2, drugs=8, edge_effect=0.15, rng=4).screen)
    off = plate_qc(make_screen(n_samples=2, drugs=8, edge_effect=0.0, rng=4).screen)
    # measured: with a 15 % loss every plate flags edge_effect, ratio 0.82-0.86, p 2e-6 to 4e-6;
    # without, no plate does (ratio 0.96-1.01, p 0.08-0.72)
    assert (on["edge_test"] == "negative").all()
    assert on["flags"].str.contains("edge_effect").all()
    assert (on["edge_ratio"] < 0.92).all()
    assert not off["flags"].str.contains("edge_effect").any()


def test_scales_vectorised():
    screen, truth = make_screen(n_samples=50, drugs=40, rng=0)
    assert screen.n_curves == len(truth) == 4000


def test_bad_arguments():
    with pytest.raises(InputError, match="plate_format"):
        make_screen(plate_format=100)
    with pytest.raises(InputError, match="do not fit"):
        make_screen(plate_format=96, doses=20, replicates=4)
    with pytest.raises(InputError, match="outlier_rate"):
        make_screen(outlier_rate=1.5)
