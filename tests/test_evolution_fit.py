"""Maximum-likelihood fits of burden data: ground truth and the Bruchovsky PSA data."""

from __future__ import annotations

import numpy as np
import pytest

from oncoresist.data import mirror_available
from oncoresist.evolution import (
    fetch_bruchovsky_psa,
    fit_burden,
    fit_psa_cohort,
    forecast_next_cycle,
)
from oncoresist.evolution._fit import _on_time, _predict


def test_ground_truth_recovered():
    rng = np.random.default_rng(0)
    t = np.arange(0, 900, 14.0)
    on = (t % 360) < 240
    truth = np.array([3.0, -1.0, 0.012, 0.04, 0.006])
    y = np.exp(_predict(truth, t, _on_time(t, t, on)) + rng.normal(0, 0.1, t.size))
    fit = fit_burden(t, y, on)
    tab = fit.to_frame().set_index("parameter")
    for name, val in zip(["log_s0", "log_r0", "r_s", "delta", "r_r"], truth, strict=True):
        lo, hi = tab.loc[name, "ci_low"], tab.loc[name, "ci_high"]
        assert lo - 1e-9 <= val <= hi + 1e-9 or abs(tab.loc[name, "estimate"] - val) < 0.1 * abs(
            val
        ), name
    assert fit.sigma == pytest.approx(0.1, rel=0.3)


def test_failed_fit_is_a_row():
    fit = fit_burden([0, 1, 2], [1, 2, 3], [True, True, False])
    assert fit.status == "failed" and "usable" in fit.reason


@pytest.mark.realdata
@pytest.mark.skipif(
    not mirror_available("bruchovsky_psa_iad"),
    reason="needs ONCORESIST_DATA_MIRROR with bruchovsky_psa_iad",
)
def test_bruchovsky_fits_and_forecast():
    pts = [1, 2, 3, 4, 6, 11, 12, 13, 14, 15]
    psa = fetch_bruchovsky_psa(pts)
    assert psa.attrs["n_missing_psa"] > 0  # missing visits are counted, not dropped silently
    fits = fit_psa_cohort(psa)
    assert (fits["status"] == "ok").all()
    # log-scale residual sd of this 5-parameter model on IAD PSA: measured median ~0.8
    assert fits["sigma"].median() < 1.2
    assert (fits["delta"] > 0).mean() >= 0.8  # treatment lowers PSA in most patients
    fc = forecast_next_cycle(psa, train_cycles=1)
    ok = fc[fc["status"] == "ok"]
    assert len(ok) >= 5
    assert np.isfinite(ok["rmse_log"]).all()
