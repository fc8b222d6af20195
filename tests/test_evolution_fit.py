"""Maximum-likelihood fits of burden data: ground truth and the Bruchovsky PSA data."""

from __future__ import annotations

import numpy as np
import pytest

from oncoresist.data import mirror_available
from oncoresist.evolution import (
    fetch_bruchovsky_psa,
    fetch_pdxe_brca,
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


@pytest.mark.realdata
@pytest.mark.skipif(
    not mirror_available("xeva_pdxe_brca"),
    reason="needs ONCORESIST_DATA_MIRROR with xeva_pdxe_brca",
)
def test_pdxe_growth_rates_follow_published_response_calls():
    # Novartis PDXE breast arm (Gao et al. 2015, Nat Med 21:1318), five patients with responders
    # (all of their single-agent and combination experiments plus each untreated control).
    import pandas as pd
    from scipy import stats

    from oncoresist.data import fetch_file

    patients = ["X.1004", "X.2195", "X.3077", "X.4567", "X.5975"]
    vol = fetch_pdxe_brca()
    vol = vol[vol["model_id"].str.split(".").str[:2].str.join(".").isin(patients)]
    calls = pd.read_csv(fetch_file("xeva_pdxe_brca", "pdxe_brca_sensitivity_model.csv"))
    calls = calls.set_index("model.id")["mRECIST_published"]
    rows = []
    for mid, g in vol.groupby("model_id"):
        g = g.groupby("time", as_index=False)["volume"].mean()  # duplicate days: mean
        control = mid.endswith(".uned")
        fit = fit_burden(g["time"], g["volume"], np.full(len(g), not control))
        rows.append(
            {
                "model_id": mid,
                "patient": ".".join(mid.split(".")[:2]),
                "control": control,
                "status": fit.status,
                "reason": fit.reason,
                "rate": fit.net_rate(),
                "call": None if control else calls[mid],
            }
        )
    df = pd.DataFrame(rows)
    # 106 series; 3 treated series with < 6 volumes are failed rows with a reason (measured)
    failed = df[df["status"] != "ok"]
    assert len(df) == 106 and len(failed) == 3
    assert failed["reason"].str.contains("usable observations").all()
    ctl = df[df["control"]].set_index("patient")["rate"]
    # untreated growth 0.030-0.071 per day (doubling 10-23 d; measured)
    assert (ctl > 0.02).all() and (ctl < 0.1).all()
    resp = df[df["call"].isin(["CR", "PR"])]
    # 23 responders (published mRECIST 13 CR + 10 PR), fitted day-0 net rates -0.026 to -0.89
    # per day, each below the untreated control of the same patient (measured)
    assert len(resp) == 23 and (resp["rate"] < 0).all()
    assert (resp["rate"].to_numpy() < ctl[resp["patient"]].to_numpy()).all()
    # progressive disease (PD) grows faster under treatment than CR/PR: measured AUC 0.86,
    # one-sided Mann-Whitney p = 9.3e-7 (42 fitted PD vs 23 CR/PR series)
    prog = df[(df["call"] == "PD") & (df["status"] == "ok")]
    test = stats.mannwhitneyu(prog["rate"], resp["rate"], alternative="greater")
    assert test.pvalue < 0.01
    assert test.statistic / (len(prog) * len(resp)) > 0.75
