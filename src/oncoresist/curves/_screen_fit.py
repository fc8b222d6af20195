"""Screen-level API: :func:`fit_screen` (one row per sample x drug) and :func:`resistance_shift`."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from .._special import f_sf
from ..data import Screen
from ..errors import InputError
from ._executors import Executor, executor_scope
from ._fit import CurveFitArrays, fit_curves
from ._lm import levenberg_marquardt
from ._metrics import auc_loglogistic, dss, inverse_loglogistic, loglogistic, wald_ci
from ._models import SLOPE_BOUND, CurveModel, get_model

__all__ = [
    "ACTIVITY_THRESHOLD",
    "FIT_COLUMNS",
    "STATUSES",
    "bootstrap_ln_ec50",
    "curve_arrays",
    "curve_outliers",
    "fit_screen",
    "resistance_shift",
]

FIT_COLUMNS = [
    "sample", "drug", "model", "status", "reason", "n_points", "n_doses", "min_conc", "max_conc",
    "ic50_abs", "ic50_abs_censored", "ln_ic50_abs", "ln_ic50_abs_se", "ic50_abs_ci_low",
    "ic50_abs_ci_high", "ic50_abs_fit",
    "ic50_rel", "ln_ic50_rel", "ln_ic50_rel_se", "ic50_rel_ci_low", "ic50_rel_ci_high",
    "ic50_rel_extrapolated",
    "hill_slope", "top", "bottom", "einf", "emax", "auc", "aa", "dss1", "dss2", "dss3", "r2",
    "rmse", "sse", "pvalue_flat", "n_outliers", "outlier_wells",
]  # fmt: skip

#: Statuses of a fitted curve, most severe first (``fit_screen``'s ``status`` column).
STATUSES: dict[str, str] = {
    "insufficient_data": "too few points or concentrations for the model: nothing fitted",
    "failed": "the optimiser did not converge or produced non-finite values",
    "constant": "every response is the same number: nothing to fit",
    "stimulatory": "the fitted response rises with concentration by 10% of control or more",
    "no_response": "the response stays above 90% of control over the whole tested range",
    "flat": "not better than a flat line (F-test), at a level below 90% of control",
    "imprecise": "a sigmoid fits, but the 95% CI of the reported IC50 spans over 3 decades",
    "ok": "a sigmoid fit with a usable IC50",
}
#: Inhibition below this fraction of control counts as no effect (the DSS activity threshold).
ACTIVITY_THRESHOLD = 0.10
#: An IC50 whose 95% CI spans more than this many decades is called ``imprecise``.
IMPRECISE_DECADES = 3.0


def curve_arrays(screen: Screen) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Treated wells of a normalised screen as padded arrays.

    Returns ``(keys, log_conc, viability)``: ``keys`` has columns ``sample, drug`` (one row per
    curve, sorted), the arrays are ``(n_curves, max_points)`` with NaN padding.
    """
    keys, x, y, _ = _curve_arrays(screen)
    return keys, x, y


def _curve_arrays(screen: Screen):
    """:func:`curve_arrays` plus the row of ``screen.data`` behind each point (-1 = padding)."""
    if not isinstance(screen, Screen):
        raise InputError(f"expected an oncoresist.data.Screen, got {type(screen).__name__}")
    if not screen.is_normalised:
        raise InputError(
            f"screen {screen.source or ''} is not normalised: every treated well needs a "
            "'viability' value. Call oncoresist.curves.normalise(screen) first."
        )
    t = screen.data.loc[
        screen.data["role"] == "treated", ["sample", "drug", "concentration", "viability"]
    ]
    t = t.sort_values(["sample", "drug", "concentration"], kind="stable")
    grp = t.groupby(["sample", "drug"], sort=False)
    gid = grp.ngroup().to_numpy()
    pos = grp.cumcount().to_numpy()
    keys = grp.size().reset_index()[["sample", "drug"]]
    n, m = len(keys), (int(pos.max()) + 1 if len(pos) else 0)
    x = np.full((n, m), np.nan)
    y = np.full((n, m), np.nan)
    rows = np.full((n, m), -1, dtype=np.int64)
    x[gid, pos] = np.log(t["concentration"].to_numpy(dtype=float))
    y[gid, pos] = t["viability"].to_numpy(dtype=float)
    rows[gid, pos] = t.index.to_numpy()
    return keys.reset_index(drop=True), x, y, rows


def _well_labels(screen: Screen, rows: np.ndarray) -> np.ndarray:
    """``plate:well`` (or the concentration and replicate when the screen has no wells)."""
    d = screen.data.loc[rows]
    if "well" in d.columns:
        lab = d["well"].astype(str)
        if "plate" in d.columns:
            lab = d["plate"].astype(str) + ":" + lab
    else:
        lab = d["concentration"].map("{:.4g} uM".format) + " rep " + d["replicate"].astype(str)
    return lab.to_numpy(dtype=object)


def curve_outliers(screen: Screen, *, model: str = "ll4", q: float = 0.01) -> pd.DataFrame:
    """ROUT outliers (Motulsky & Brown 2006) of every curve of a normalised screen, by well.

    Returns one row per flagged point: ``sample, drug, plate, well, concentration, viability,
    replicate, pvalue`` (the p-value of the point's residual in the robust fit); an empty
    table when nothing is flagged. Nothing is removed: pass ``outliers="exclude"`` to
    :func:`fit_screen` to refit without these points.

    Examples
    --------
    >>> from oncoresist.data import make_screen
    >>> from oncoresist.curves import normalise
    >>> out = curve_outliers(normalise(make_screen(n_samples=1, drugs=2, rng=0).screen))
    >>> list(out.columns)[:4]
    ['sample', 'drug', 'plate', 'well']
    """
    from ._outliers import rout_outliers

    keys, x, y, rows = _curve_arrays(screen)
    mask, p = rout_outliers(x, y, model=model, q=q)
    return _outlier_table(screen, keys, rows, mask, p)


def _outlier_table(screen: Screen, keys, rows, mask, p) -> pd.DataFrame:
    """One row per flagged point, by well (the table of :func:`curve_outliers`)."""
    ci, pi = np.nonzero(mask)
    d = screen.data.loc[rows[ci, pi]]
    out = pd.DataFrame(
        {
            "sample": keys["sample"].to_numpy()[ci],
            "drug": keys["drug"].to_numpy()[ci],
            "plate": d["plate"].to_numpy() if "plate" in d else "",
            "well": d["well"].to_numpy() if "well" in d else "",
            "concentration": d["concentration"].to_numpy(),
            "viability": d["viability"].to_numpy(),
            "replicate": d["replicate"].to_numpy(),
            "pvalue": p[ci, pi],
        }
    )
    return out.reset_index(drop=True)


def _metrics_frame(fit: CurveFitArrays, x, y, *, auc_log_range, level: float):
    # exp() of extreme ln EC50 bounds overflows to inf on purpose: "beyond range"
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _metrics_frame_impl(fit, x, y, auc_log_range=auc_log_range, level=level)


def _ln_ic50_abs_se(fit: CurveFitArrays, b, c, d, e, cov) -> np.ndarray:
    """Delta-method standard error of ln IC50_abs = e + ln((d - 1/2) / (1/2 - c)) / b."""
    model = get_model(fit.model)
    n = len(fit)
    if model.ll_free is None:
        return np.full(n, np.nan)
    lr = np.log((d - 0.5) / (0.5 - c))
    full = np.stack([-lr / b**2, 1.0 / (b * (0.5 - c)), 1.0 / (b * (d - 0.5)), np.ones(n)], axis=1)
    g = full[:, np.asarray(model.ll_free)]
    var = np.einsum("ni,nij,nj->n", g, cov, g)
    return np.sqrt(np.where(var >= 0, var, np.nan))


def _slope_fixed_cov(fit: CurveFitArrays, x, y, rows: np.ndarray) -> np.ndarray:
    """Covariance with the Hill slope held at its estimate (zero row and column for it).

    A curve that drops between two adjacent doses drives the slope to its bound; the full
    information matrix is then singular and the Wald CI of the IC50 infinite, although the
    data bracket the IC50 between those doses. Conditional on the slope the other parameters
    are well determined (the usual treatment of a parameter on its bound).
    """
    model = get_model(fit.model)
    k = model.n_params
    jb = model.param_names.index("hill_slope")
    keep = [j for j in range(k) if j != jb]
    out = np.full((rows.size, k, k), np.nan)
    if rows.size == 0:
        return out
    xr, yr = x[rows], y[rows]
    valid = ~np.isnan(xr) & np.isfinite(yr)
    xz = np.where(valid, xr, 0.0)
    jac = model.jac(xz, fit.params[rows])[..., keep] * valid[..., None]
    jac = np.where(np.isfinite(jac), jac, 0.0)
    a = np.einsum("nmi,nmj->nij", jac, jac)
    dof = np.maximum(fit.n_points[rows] - k, 1)
    s2 = fit.sse[rows] / dof
    cond = np.linalg.cond(a)
    good = np.isfinite(cond) & (cond < 1e12)
    inv = np.full_like(a, np.nan)
    if good.any():
        inv[good] = np.linalg.inv(a[good])
    red = inv * s2[:, None, None]
    for i, ji in enumerate(keep):
        for j, jj in enumerate(keep):
            out[:, ji, jj] = red[:, i, j]
    out[:, jb, :] = 0.0
    out[:, :, jb] = 0.0
    out[~good] = np.nan
    return out


def _metrics_frame_impl(fit: CurveFitArrays, x, y, *, auc_log_range, level: float):
    """Metric columns, and the refined status / reason arrays (see :data:`STATUSES`)."""
    cp = fit.curve_params()
    b, c, d, e = cp["hill_slope"], cp["bottom"], cp["top"], cp["ln_ec50"]
    n = len(fit)
    k = fit.n_params
    model = get_model(fit.model)
    status = np.asarray(fit.status, dtype=object).copy()
    reason = np.asarray(fit.reason, dtype=object).copy()
    finite = np.isfinite(fit.params).all(axis=1)
    xmin, xmax = fit.min_log_conc, fit.max_log_conc
    flat = np.isin(status, ("flat", "constant")) & finite
    sig = (status == "ok") & finite & model.sigmoid
    # a flat or constant curve is described by its level (the mean of the fitted curve over
    # the tested range equals the data mean for the flat model and for a constant response)
    level_flat = np.where(flat, auc_loglogistic(xmin, xmax, b, bottom=c, top=d, ln_ec50=e), np.nan)
    b = np.where(flat, 0.0, b)
    c = np.where(flat, level_flat, c)
    d = np.where(flat, level_flat, d)
    e = np.where(flat, 0.0, e)
    f_lo = loglogistic(xmin, b, c, d, e)
    f_hi = loglogistic(xmax, b, c, d, e)
    lowest = np.minimum(f_lo, f_hi)
    highest = np.maximum(f_lo, f_hi)
    active = 1.0 - ACTIVITY_THRESHOLD
    rising = sig & (f_hi > f_lo)
    stim = rising & (f_hi - f_lo >= ACTIVITY_THRESHOLD)
    no_resp = (sig | (status == "flat")) & finite & ~stim & (lowest >= active)
    weak_rise = rising & ~stim & ~no_resp
    status[stim] = "stimulatory"
    reason[stim] = [
        f"the fitted response rises from {a:.2f} to {z:.2f} of control over the tested range: "
        "a stimulatory curve has no inhibitory IC50"
        for a, z in zip(f_lo[stim], f_hi[stim], strict=True)
    ]
    status[no_resp] = "no_response"
    reason[no_resp] = [
        f"the fitted response stays at or above {lo:.2f} of control (inhibition below "
        f"{100 * ACTIVITY_THRESHOLD:.0f}%) over the tested range: IC50 above the highest "
        "concentration"
        for lo in lowest[no_resp]
    ]
    status[weak_rise] = "flat"
    reason[weak_rise] = "the fitted response rises slightly (< 10% of control): no inhibition"
    decreasing = sig & ~rising
    # absolute IC50: where the fitted curve crosses 50% of control, censored at the tested range
    x50_fit = np.where(decreasing, inverse_loglogistic(0.5, b, c, d, e), np.nan)
    described = finite & np.isin(status, ("ok", "flat", "constant", "stimulatory", "no_response"))
    above = described & (lowest >= 0.5)
    below = described & ~above & (highest < 0.5)
    inside = decreasing & ~above & ~below & np.isfinite(x50_fit)
    censored = np.full(n, "", dtype=object)
    censored[above] = ">"
    censored[below] = "<"
    ln_abs = np.where(above, xmax, np.where(below, xmin, np.where(inside, x50_fit, np.nan)))
    cov = fit.covariance
    je = model.param_names.index("ln_ec50") if model.sigmoid else None
    se_rel = fit.stderr[:, je] if je is not None else np.full(n, np.nan)
    at_bound = np.zeros(n, dtype=bool)
    if model.sigmoid and "hill_slope" in model.param_names:
        jb = model.param_names.index("hill_slope")
        at_bound = sig & (np.abs(fit.params[:, jb]) >= 0.999 * SLOPE_BOUND)
        if at_bound.any():
            rows_b = np.flatnonzero(at_bound)
            cov = cov.copy()
            cov[rows_b] = _slope_fixed_cov(fit, x, y, rows_b)
            se_rel = se_rel.copy()
            with np.errstate(invalid="ignore"):
                se_rel[rows_b] = np.sqrt(cov[rows_b, je, je])
    se_abs = np.where(inside, _ln_ic50_abs_se(fit, b, c, d, e, cov), np.nan)
    dof = fit.n_points - k
    lo_abs, hi_abs = wald_ci(ln_abs, se_abs, dof, level=level)
    # relative IC50: the inflection point (EC50) of a sigmoid fit
    has_rel = finite & model.sigmoid & (np.isin(status, ("ok", "stimulatory")) | (no_resp & sig))
    ln_rel = np.where(has_rel, e, np.nan)
    se_rel = np.where(has_rel, se_rel, np.nan)
    lo_rel, hi_rel = wald_ci(ln_rel, se_rel, dof, level=level)
    # imprecise: the IC50 a user would read (absolute when in range, else relative) is not
    # pinned down by the data
    span = np.where(inside, hi_abs - lo_abs, hi_rel - lo_rel) / np.log(10.0)
    ok_now = status == "ok"
    vague = ok_now & ~(span <= IMPRECISE_DECADES)
    status[vague] = "imprecise"
    reason[vague] = [
        f"the {level:.0%} CI of the IC50 spans {w:.1f} decades (> {IMPRECISE_DECADES:g}): "
        "the data do not pin the IC50 down"
        if np.isfinite(w)
        else "the IC50's standard error cannot be computed (singular fit): the data do not "
        "pin the IC50 down"
        for w in span[vague]
    ]
    steep = at_bound & np.isin(status, ("ok", "imprecise"))
    reason[steep] = [
        (r + "; " if r else "")
        + f"Hill slope at its bound ({SLOPE_BOUND:g}: the response drops between two doses); "
        "CIs are conditional on the slope"
        for r in reason[steep]
    ]
    if auc_log_range is None:
        lo, hi = xmin, xmax
    else:
        lo = np.full(n, float(auc_log_range[0]))
        hi = np.full(n, float(auc_log_range[1]))
    auc = auc_loglogistic(lo, hi, b, bottom=c, top=d, ln_ec50=e)
    d1, d2, d3 = dss(xmin, xmax, b, bottom=c, top=d, ln_ec50=e)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - fit.sse / fit.sse_flat
        rmse = np.sqrt(fit.sse / fit.n_points)
    einf = np.where(b > 0, c, np.where(b < 0, d, 0.5 * (c + d)))
    out = pd.DataFrame(
        {
            "ic50_abs": np.exp(ln_abs),
            "ic50_abs_censored": censored,
            "ln_ic50_abs": ln_abs,
            "ln_ic50_abs_se": se_abs,
            "ic50_abs_ci_low": np.exp(lo_abs),
            "ic50_abs_ci_high": np.exp(hi_abs),
            "ic50_abs_fit": np.exp(x50_fit),
            "ic50_rel": np.exp(ln_rel),
            "ln_ic50_rel": ln_rel,
            "ln_ic50_rel_se": se_rel,
            "ic50_rel_ci_low": np.exp(lo_rel),
            "ic50_rel_ci_high": np.exp(hi_rel),
            "ic50_rel_extrapolated": has_rel & ((e < xmin) | (e > xmax)),
            "hill_slope": b,
            "top": d,
            "bottom": c,
            "einf": einf,
            "emax": f_hi,
            "auc": auc,
            "aa": 1.0 - auc,
            "dss1": d1,
            "dss2": d2,
            "dss3": d3,
            "r2": np.where(status == "constant", np.nan, r2),
            "rmse": rmse,
            "sse": fit.sse,
            "pvalue_flat": fit.pvalue_flat,
        }
    )
    unfitted = ~described  # taken before "imprecise" was set: imprecise curves are described
    num = [
        col
        for col in out.columns
        if col not in ("sse", "pvalue_flat", "ic50_abs_censored", "ic50_rel_extrapolated")
    ]
    out.loc[unfitted, num] = np.nan
    return out, status, reason


def bootstrap_ln_ec50(
    log_conc: np.ndarray,
    response: np.ndarray,
    fit: CurveFitArrays,
    *,
    n_boot: int = 200,
    level: float = 0.95,
    rng: int | np.random.Generator | None = None,
    chunk_size: int = 20_000,
    executor: str | Executor | None = None,
    abs_ic50: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of ln EC50 by resampling residuals, all curves x replicates in one batch.

    Residuals of each curve (centred, inflated by sqrt(n / (n - k))) are drawn with replacement
    and added to the fitted values; every bootstrap curve is refitted with the batched engine.
    ``abs_ic50=True`` gives the CI of ln IC50_abs (the 50%-of-control crossing) instead; draws
    whose curve never crosses 50% are left out of the percentiles.

    Examples
    --------
    >>> import numpy as np
    >>> from oncoresist.curves import fit_curves, predict
    >>> x = np.log(np.logspace(-2, 2, 9)); y = predict("ll4", x, [1.0, 0.1, 1.0, 0.0])
    >>> y = y + np.random.default_rng(0).normal(0, 0.03, y.shape)
    >>> lo, hi = bootstrap_ln_ec50(x, y, fit_curves(x, y), n_boot=50, rng=0)
    >>> bool(lo[0] < 0 < hi[0])
    True
    """
    gen = np.random.default_rng(rng)
    y = np.atleast_2d(np.asarray(response, dtype=float))
    x = np.broadcast_to(np.asarray(log_conc, dtype=float), y.shape)
    model = get_model(fit.model)
    n, m = y.shape
    ok = np.isfinite(fit.params).all(axis=1)
    je = model.param_names.index("ln_ec50")
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    rows = np.flatnonzero(ok)
    if rows.size == 0 or not model.sigmoid:
        return lo, hi
    valid = ~np.isnan(x[rows]) & np.isfinite(y[rows])
    xr = np.where(valid, x[rows], 0.0)
    fhat = model.f(xr, fit.params[rows])
    res = np.where(valid, y[rows] - fhat, np.nan)
    nv = valid.sum(axis=1)
    k = model.n_params
    res = (res - np.nanmean(res, axis=1, keepdims=True)) * np.sqrt(nv / np.maximum(nv - k, 1))[
        :, None
    ]
    # compact valid residuals to the front so a draw is an index below nv
    order = np.argsort(~valid, axis=1, kind="stable")
    res_c = np.take_along_axis(res, order, axis=1)
    draws = (gen.random((rows.size, n_boot, m)) * nv[:, None, None]).astype(np.int64)
    boot_res = np.take_along_axis(res_c[:, None, :].repeat(n_boot, axis=1), draws, axis=2)
    yb = np.where(valid[:, None, :], fhat[:, None, :] + boot_res, np.nan).reshape(-1, m)
    xb = np.broadcast_to(
        np.where(valid, x[rows], np.nan)[:, None, :], (rows.size, n_boot, m)
    ).reshape(-1, m)
    bf = fit_curves(
        xb, yb, model=model.name, chunk_size=chunk_size, executor=executor, flat_alpha=1.0
    )
    est = bf.params[:, je].reshape(rows.size, n_boot)
    if abs_ic50:
        cpb = model.curve_params(bf.params)
        est = inverse_loglogistic(
            0.5, cpb["hill_slope"], cpb["bottom"], cpb["top"], cpb["ln_ec50"]
        ).reshape(rows.size, n_boot)
    alpha = (1.0 - level) / 2.0
    good = np.isfinite(est)
    est = np.where(good, est, np.nan)
    with np.errstate(invalid="ignore"):
        lo[rows] = np.nanquantile(est, alpha, axis=1)
        hi[rows] = np.nanquantile(est, 1.0 - alpha, axis=1)
    return lo, hi


def fit_screen(
    screen: Screen,
    *,
    model: str = "ll4",
    loss: str = "linear",
    auc_range: tuple[float, float] | None = None,
    ci: str | None = "delta",
    level: float = 0.95,
    n_boot: int = 200,
    rng: int | np.random.Generator | None = None,
    n_starts: int = 1,
    outliers: str | None = "flag",
    outlier_q: float = 0.01,
    chunk_size: int = 20_000,
    executor: str | Executor | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Fit every (sample, drug) dose-response curve of a normalised screen.

    Parameters
    ----------
    screen
        A :class:`oncoresist.data.Screen` with ``viability`` for every treated well
        (see ``oncoresist.curves.normalise``).
    chunk_size, executor, progress
        Passed to :func:`fit_curves` (the main fit and the bootstrap refits):
        ``executor="dask"`` (or a :class:`oncoresist.scale.DaskExecutor`) fits the chunks on a
        Dask cluster, opened once for the call; the results are those of ``"serial"``.
    model, loss, n_starts
        Passed to :func:`fit_curves`. ``model="gdsc"`` fits GDSC's multilevel model over the
        whole screen instead (:func:`oncoresist.curves.fit_gdsc_model`).
    auc_range
        ``(min_conc, max_conc)`` in micromolar shared by all curves (to compare lines on one
        range); None uses each curve's tested range.
    ci, level, n_boot, rng
        Confidence intervals of the IC50s: ``"delta"`` (Wald on the ln scale with the t
        quantile; the delta method for the absolute IC50), ``"bootstrap"`` (residual bootstrap,
        ``n_boot`` replicates) or None.
    outliers, outlier_q
        ``"flag"`` (default): ROUT outliers (Motulsky & Brown 2006, false discovery rate
        ``outlier_q``) are counted in ``n_outliers`` and named in ``outlier_wells``, the fit
        uses every point; ``"exclude"``: the flagged points are left out and the curve is
        refitted by least squares (the reason says so); None: no outlier test.

    Returns
    -------
    pandas.DataFrame
        One row per curve with the columns of ``FIT_COLUMNS`` (concentrations in micromolar,
        ``ln_`` columns natural logs). Two IC50s, named for what they are:

        * ``ic50_abs``, the **absolute IC50** (the default everywhere in oncoresist, as GDSC,
          CCLE and GRmetrics' GI50 report it): the concentration where the fitted curve
          crosses 50% of the untreated control. When the fitted curve stays above 50% over the
          tested range, it is censored: ``ic50_abs`` is the highest tested concentration and
          ``ic50_abs_censored`` is ``">"`` (IC50 above it); ``"<"`` with the lowest tested
          concentration when the curve is below 50% everywhere. ``ic50_abs_fit`` is the fitted
          curve's own crossing, extrapolated outside the range (NaN when the curve never
          crosses 50%); GDSC-style extrapolated IC50s with uncertainty come from
          ``model="gdsc"``.
        * ``ic50_rel``, the **relative IC50** (EC50, the inflection point of the fitted
          sigmoid; Prism's "IC50" for a 4-parameter fit); ``ic50_rel_extrapolated`` when it
          lies outside the tested range.

        ``status`` is one of :data:`STATUSES` (``ok``, ``imprecise``, ``flat``,
        ``no_response``, ``stimulatory``, ``constant``, ``failed``, ``insufficient_data``) with
        a ``reason``. Curves not better than a flat line are described by the flat model, as
        Thunor and GRmetrics do (``hill_slope = 0``, ``top = bottom`` = the level).

    Examples
    --------
    >>> import pandas as pd
    >>> from oncoresist.data import Screen
    >>> conc = [0.01, 0.1, 1, 10, 100]
    >>> df = pd.DataFrame({"sample": "A", "drug": "x", "concentration": conc,
    ...                    "viability": [1.0, 0.95, 0.5, 0.06, 0.02]})
    >>> fits = fit_screen(Screen.from_frame(df), model="ll2")
    >>> fits.loc[0, "status"], round(float(fits.loc[0, "ic50_abs"]), 1)
    ('ok', 1.0)
    """
    # one executor for the main fit and the bootstrap refits (one Dask cluster, not three)
    with contextlib.nullcontext(None) if executor is None else executor_scope(executor) as ex:
        return _fit_screen_full(
            screen, model=model, loss=loss, auc_range=auc_range, ci=ci, level=level,
            n_boot=n_boot, rng=rng, n_starts=n_starts, outliers=outliers, outlier_q=outlier_q,
            chunk_size=chunk_size, executor=ex, progress=progress,
        )[0]  # fmt: skip


def _fit_screen_full(
    screen, *, model="ll4", loss="linear", auc_range=None, ci="delta", level=0.95, n_boot=200,
    rng=None, n_starts=1, outliers="flag", outlier_q=0.01, chunk_size=20_000, executor=None,
    progress=False,
):  # fmt: skip
    """:func:`fit_screen`'s table plus what is behind it: ``(table, x, y, fit, flagged)``.

    ``flagged`` is the :func:`curve_outliers` table of the ROUT outliers (None without the
    test), from the same ROUT run that fills ``n_outliers``. ``model="gdsc"`` is GDSC's
    multilevel model: ``(table, None, None, None, None)``.
    """
    if ci not in (None, "delta", "bootstrap"):
        raise InputError(f"ci={ci!r}; use 'delta', 'bootstrap' or None (CLI: --ci none)")
    if outliers not in (None, "flag", "exclude"):
        raise InputError(
            f"outliers={outliers!r}; use 'flag', 'exclude' or None (CLI: --outliers none)"
        )
    if model == "gdsc":
        from ._gdsc_model import fit_gdsc_model

        return fit_gdsc_model(screen), None, None, None, None
    keys, x, y, rows = _curve_arrays(screen)
    n_out = np.zeros(len(keys), dtype=np.int64)
    out_wells = np.full(len(keys), "", dtype=object)
    flagged = None

    def fit_all(yy):
        return fit_curves(
            x, yy, model=model, loss=loss, n_starts=n_starts, chunk_size=chunk_size,
            executor=executor, progress=progress,
        )  # fmt: skip

    fit = None if outliers == "exclude" else fit_all(y)
    if outliers is not None and get_model(model).sigmoid and len(keys):
        from ._outliers import rout_outliers

        # the main fit is the least-squares start of the robust fit when it is one
        ls = fit.params if fit is not None and loss == "linear" and n_starts == 1 else None
        mask, p = rout_outliers(
            x, y, model=model, q=outlier_q, least_squares=ls, chunk_size=chunk_size
        )
        flagged = _outlier_table(screen, keys, rows, mask, p)
        n_out = mask.sum(axis=1)
        if mask.any():
            ci_, pi_ = np.nonzero(mask)
            labels = pd.Series(_well_labels(screen, rows[ci_, pi_])).groupby(ci_).agg(", ".join)
            out_wells[labels.index.to_numpy()] = labels.to_numpy()
            if outliers == "exclude":
                y = np.where(mask, np.nan, y)
    if fit is None:
        fit = fit_all(y)
    if auc_range is not None:
        lo_c, hi_c = auc_range
        if not (0 < lo_c < hi_c):
            raise InputError(
                f"auc_range must be (min_conc, max_conc) in micromolar with 0 < min < max; got {auc_range}"
            )
        auc_log_range: tuple[float, float] | None = (float(np.log(lo_c)), float(np.log(hi_c)))
    else:
        auc_log_range = None
    met, status, reason = _metrics_frame(fit, x, y, auc_log_range=auc_log_range, level=level)
    ci_cols = ["ic50_abs_ci_low", "ic50_abs_ci_high", "ic50_rel_ci_low", "ic50_rel_ci_high"]
    if ci is None:
        met[ci_cols] = np.nan
    elif ci == "bootstrap":
        kw = dict(n_boot=n_boot, level=level, chunk_size=chunk_size, executor=executor)
        gen = np.random.default_rng(rng)
        lo_r, hi_r = bootstrap_ln_ec50(x, y, fit, rng=gen, **kw)  # type: ignore[arg-type]
        lo_a, hi_a = bootstrap_ln_ec50(x, y, fit, rng=gen, abs_ic50=True, **kw)  # type: ignore[arg-type]
        has_rel = met["ln_ic50_rel"].notna().to_numpy()
        inside = (met["ic50_abs_censored"] == "").to_numpy() & met["ln_ic50_abs"].notna().to_numpy()
        met["ic50_rel_ci_low"] = np.where(has_rel, np.exp(lo_r), np.nan)
        met["ic50_rel_ci_high"] = np.where(has_rel, np.exp(hi_r), np.nan)
        met["ic50_abs_ci_low"] = np.where(inside, np.exp(lo_a), np.nan)
        met["ic50_abs_ci_high"] = np.where(inside, np.exp(hi_a), np.nan)
    met["n_outliers"] = n_out
    met["outlier_wells"] = out_wells
    reason = pd.Series(reason, dtype=object)
    if outliers == "exclude" and n_out.any():
        note = pd.Series(
            [f"{k} ROUT outlier(s) excluded (Q = {outlier_q:g}): {w}" for k, w in
             zip(n_out, out_wells, strict=True)], dtype=object,
        )  # fmt: skip
        has_note = n_out > 0
        sep = np.where(reason.str.len() > 0, "; ", "")
        reason[has_note] = (reason[has_note] + sep[has_note] + note[has_note]).to_numpy()
    has = reason.str.len() > 0
    prefix = keys["sample"].astype(str) + " / " + keys["drug"].astype(str) + ": "
    reason = reason.where(~has, prefix + reason)
    out = pd.concat(
        [
            keys,
            pd.DataFrame(
                {
                    "model": fit.model,
                    "status": status,
                    "reason": reason.to_numpy(dtype=object),
                    "n_points": fit.n_points,
                    "n_doses": fit.n_doses,
                    "min_conc": np.exp(fit.min_log_conc),
                    "max_conc": np.exp(fit.max_log_conc),
                }
            ),
            met,
        ],
        axis=1,
    )
    out["status"] = out["status"].astype(str)
    out["reason"] = out["reason"].astype(str)
    return out[FIT_COLUMNS], x, y, fit, flagged


class _SharedEC50(CurveModel):
    """Joint model of two curves (group 0/1 in ``x[..., 1]``) sharing ln EC50 (not registered)."""

    sigmoid = True

    def __init__(self, base: CurveModel) -> None:
        self.base = base
        self.je = base.param_names.index("ln_ec50")
        self.others = [j for j in range(base.n_params) if j != self.je]
        ko = len(self.others)
        self.ko = ko
        self._names = (*[f"{base.param_names[j]}_0" for j in self.others],
                       *[f"{base.param_names[j]}_1" for j in self.others], "ln_ec50")  # fmt: skip

    @property
    def n_params(self) -> int:
        return 2 * self.ko + 1

    def _split(self, p):
        kb = self.base.n_params
        p0 = np.empty((len(p), kb))
        p1 = np.empty((len(p), kb))
        p0[:, self.others] = p[:, : self.ko]
        p1[:, self.others] = p[:, self.ko : 2 * self.ko]
        p0[:, self.je] = p[:, -1]
        p1[:, self.je] = p[:, -1]
        return p0, p1

    def f(self, x, p):
        p0, p1 = self._split(p)
        xv, g = x[..., 0], x[..., 1] > 0.5
        return np.where(g, self.base.f(xv, p1), self.base.f(xv, p0))

    def jac(self, x, p):
        p0, p1 = self._split(p)
        xv, g = x[..., 0], (x[..., 1] > 0.5)[..., None]
        j0, j1 = self.base.jac(xv, p0), self.base.jac(xv, p1)
        out = np.zeros((*xv.shape, self.n_params))
        out[..., : self.ko] = np.where(g, 0.0, j0[..., self.others])
        out[..., self.ko : 2 * self.ko] = np.where(g, j1[..., self.others], 0.0)
        out[..., -1] = np.where(g[..., 0], j1[..., self.je], j0[..., self.je])
        return out


class _AbsParam(CurveModel):
    """A log-logistic model parameterised by ln IC50_abs instead of ln EC50 (not registered).

    ``e = a - ln((d - 1/2) / (1/2 - c)) / b``; the slot keeps the name ``ln_ec50`` so that
    :class:`_SharedEC50` shares it, but here it holds ln IC50_abs (``a``). Needs
    ``bottom < 1/2 < top`` (bounds keep it there).
    """

    sigmoid = True

    def __init__(self, base: CurveModel) -> None:
        self.base = base
        self.free = np.asarray(base.ll_free)
        self.fixed = np.asarray(base.ll_fixed, dtype=float)

    @property
    def param_names(self):  # type: ignore[override]
        return self.base.param_names

    def _full(self, p):
        full = np.tile(self.fixed, (len(p), 1))
        full[:, self.free] = p
        b, c, d, a = full.T
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = np.log((d - 0.5) / (0.5 - c))
        e = a - lr / b
        return b, c, d, e, lr

    def _base_params(self, p):
        b, c, d, e, _ = self._full(p)
        return self.base.from_full(np.stack([b, c, d, e], axis=1))

    def f(self, x, p):
        return self.base.f(x, self._base_params(p))

    def jac(self, x, p):
        b, c, d, e, lr = self._full(p)
        jb = self.base.jac(x, self.base.from_full(np.stack([b, c, d, e], axis=1)))
        full = np.zeros((*x.shape, 4))
        full[..., self.free] = jb
        je = full[..., 3]
        out = full.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[..., 0] += je * (lr / b**2)[:, None]
            out[..., 1] += je * (-1.0 / (b * (0.5 - c)))[:, None]
            out[..., 2] += je * (-1.0 / (b * (d - 0.5)))[:, None]
        return out[..., self.free]


def _unmatched(fits: pd.DataFrame, parental: str, res_list: list[str], drugs) -> list[str]:
    """Lines naming drugs measured on one side only, with close-match suggestions."""
    import difflib

    msgs = []
    par = set(fits.loc[fits["sample"] == parental, "drug"])
    for r in res_list:
        res = set(fits.loc[fits["sample"] == r, "drug"])
        for only, other, side in ((par - res, res, parental), (res - par, par, r)):
            for d in sorted(only):
                if drugs is not None and d not in set(drugs):
                    continue
                lower = {o.lower(): o for o in other}
                close = difflib.get_close_matches(d.lower(), list(lower), n=1, cutoff=0.75)
                hint = f" (did you mean {lower[close[0]]!r}?)" if close else ""
                msgs.append(f"drug {d!r} is measured in {side!r} only{hint}")
    return msgs


def resistance_shift(
    screen_or_fits: Screen | pd.DataFrame,
    *,
    parental: str,
    resistant: str | list[str],
    drugs: list[str] | None = None,
    model: str = "ll4",
    ic50: str = "abs",
    level: float = 0.95,
    outliers: str | None = "flag",
    unmatched: str = "error",
) -> pd.DataFrame:
    """Fold shift of the IC50 between a parental and resistant line(s), per drug.

    The resistance index RI = IC50_resistant / IC50_parental uses the absolute IC50
    (``ic50="abs"``, the default; see :func:`fit_screen`) or the relative IC50 / EC50
    (``ic50="rel"``). Its Wald CI comes from the standard errors of the two ln IC50s
    (independent fits; delta method for the absolute IC50; t quantile with the pooled residual
    degrees of freedom). With a Screen, an extra-sum-of-squares F-test compares a joint model
    in which the two curves share that IC50 (other parameters separate) against separate fits:
    ``statistic`` and ``pvalue``; ``fdr`` is the Benjamini–Hochberg adjustment over all rows.
    Given a ``fit_screen`` table instead, only RI and its CI are computed.

    When an IC50 is censored (the curve does not cross 50% in the tested range), RI is a
    bound: ``ri_censored`` is ``">"`` or ``"<"``, ``resistance_index`` the bound, ``status``
    ``"censored"``. ``status`` is ``"imprecise"`` when either fit is, ``"not_estimable"`` when
    nothing can be said (with the reason).

    A drug measured on one side only (often a spelling difference, "gefitnib" / "Gefitinib")
    is an error listing each such drug with a close match (``unmatched="error"``); with
    ``unmatched="warn"`` a warning names them and they appear as rows with status
    ``"unmatched"``. Passing ``drugs=`` restricts the comparison to those drugs.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from oncoresist.data import Screen
    >>> from oncoresist.curves import predict
    >>> c = np.repeat(np.logspace(-2, 2, 9), 2)
    >>> rows = [pd.DataFrame({"sample": s, "drug": "x", "concentration": c,
    ...          "viability": predict("ll4", np.log(c), [1.2, 0.05, 1.0, e])[0]
    ...          + np.random.default_rng(i).normal(0, 0.03, c.size)})
    ...         for i, (s, e) in enumerate([("P", 0.0), ("R", np.log(20))])]
    >>> out = resistance_shift(Screen.from_frame(pd.concat(rows)), parental="P", resistant="R")
    >>> bool(10 < out.loc[0, "resistance_index"] < 40), bool(out.loc[0, "pvalue"] < 1e-6)
    (True, True)
    """
    import warnings

    res_list = [resistant] if isinstance(resistant, str) else list(resistant)
    base = get_model(model)
    if not base.sigmoid:
        raise InputError(f"resistance_shift needs a sigmoid model; got {model!r}")
    if ic50 not in ("abs", "rel"):
        raise InputError(f"ic50={ic50!r}; use 'abs' or 'rel' (CLI: --ic50 abs)")
    if unmatched not in ("error", "warn"):
        raise InputError(f"unmatched={unmatched!r}; use 'error' or 'warn'")
    x = y = fit = None
    if isinstance(screen_or_fits, Screen):
        fits, x, y, fit, _ = _fit_screen_full(
            screen_or_fits, model=model, level=level, outliers=outliers
        )
    elif isinstance(screen_or_fits, pd.DataFrame):
        fits = screen_or_fits
        need = {"sample", "drug", "status", "n_points", f"ln_ic50_{ic50}", f"ln_ic50_{ic50}_se"}
        if ic50 == "abs":
            need |= {"ic50_abs_censored"}
        missing = need - set(fits.columns)
        if missing:
            raise InputError(
                f"the fits table lacks columns {sorted(missing)}; pass the output of fit_screen"
            )
    else:
        raise InputError(
            f"expected a Screen or a fit_screen DataFrame; got {type(screen_or_fits).__name__}"
        )
    samples = set(fits["sample"])
    for s in [parental, *res_list]:
        if s not in samples:
            import difflib

            close = difflib.get_close_matches(s, sorted(samples), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise InputError(
                f"sample {s!r} not found{hint} Samples are {sorted(samples)[:20]} "
                "(CLI: --parental / --resistant)"
            )
    problems = _unmatched(fits, parental, res_list, drugs)
    if problems and unmatched == "error":
        raise InputError(
            "drugs differ between the parental and resistant lines: "
            + "; ".join(problems[:10])
            + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
            + ". Fix the spelling in the input, or compare the common drugs only with "
            "unmatched='warn' (CLI: --unmatched warn) or drugs=[...] (CLI: --drug NAME)"
        )
    if problems:
        warnings.warn(
            "drugs measured on one side only are not compared: " + "; ".join(problems),
            UserWarning,
            stacklevel=2,
        )
    idx = pd.Series(np.arange(len(fits)), index=pd.MultiIndex.from_frame(fits[["sample", "drug"]]))
    par_drugs = set(fits.loc[fits["sample"] == parental, "drug"])
    pairs = []
    for r in res_list:
        common = par_drugs & set(fits.loc[fits["sample"] == r, "drug"])
        if drugs is not None:
            common &= set(drugs)
        pairs += [(d, r, int(idx[(parental, d)]), int(idx[(r, d)])) for d in sorted(common)]
    if not pairs:
        raise InputError(f"no drug measured in both {parental!r} and {res_list}")
    pd_ = pd.DataFrame(pairs, columns=["drug", "resistant", "ip", "ir"])
    fp = fits.iloc[pd_["ip"].to_numpy()].reset_index(drop=True)
    fr = fits.iloc[pd_["ir"].to_numpy()].reset_index(drop=True)
    k = base.n_params
    lp, lr_ = fp[f"ln_ic50_{ic50}"].to_numpy(float), fr[f"ln_ic50_{ic50}"].to_numpy(float)
    diff = lr_ - lp
    se = np.sqrt(fr[f"ln_ic50_{ic50}_se"].to_numpy(float) ** 2
                 + fp[f"ln_ic50_{ic50}_se"].to_numpy(float) ** 2)  # fmt: skip
    dof = fr["n_points"].to_numpy() + fp["n_points"].to_numpy() - 2 * k
    lo, hi = wald_ci(diff, se, dof, level=level)
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi, ri = np.exp(lo), np.exp(hi), np.exp(diff)
    sp, sr = fp["status"].to_numpy(dtype=object), fr["status"].to_numpy(dtype=object)
    usable = ("ok", "imprecise")
    if ic50 == "abs":
        cp_ = fp["ic50_abs_censored"].to_numpy(dtype=object)
        cr_ = fr["ic50_abs_censored"].to_numpy(dtype=object)
        bounded = ("ok", "imprecise", "flat", "no_response", "stimulatory", "constant")
        known = np.isin(sp, bounded) & np.isin(sr, bounded) & np.isfinite(diff)
        exact = known & (cp_ == "") & (cr_ == "") & np.isin(sp, usable) & np.isin(sr, usable)
        # RI > bound when the resistant IC50 is above its bound or the parental one below
        up = (
            known
            & ~exact
            & np.isin(cr_, (">", ""))
            & np.isin(cp_, ("<", ""))
            & ~((cr_ == "") & (cp_ == ""))
        )
        down = (
            known
            & ~exact
            & ~up
            & np.isin(cr_, ("<", ""))
            & np.isin(cp_, (">", ""))
            & ~((cr_ == "") & (cp_ == ""))
        )
    else:
        exact = np.isin(sp, usable) & np.isin(sr, usable) & np.isfinite(diff)
        up = down = np.zeros(len(pd_), dtype=bool)
    ri_cens = np.full(len(pd_), "", dtype=object)
    ri_cens[up] = ">"
    ri_cens[down] = "<"
    status = np.where(exact, "ok", np.where(up | down, "censored", "not_estimable")).astype(object)
    status[exact & ((sp == "imprecise") | (sr == "imprecise"))] = "imprecise"
    name = "absolute IC50" if ic50 == "abs" else "relative IC50 (EC50)"
    reason = np.full(len(pd_), "", dtype=object)
    for i in np.flatnonzero(~exact):
        if up[i] or down[i]:
            reason[i] = (
                f"parental {sp[i]}, resistant {sr[i]}: an {name} lies outside the tested range, "
                f"so the resistance index is only known to be {ri_cens[i]} {ri[i]:.3g}"
            )
        else:
            reason[i] = (
                f"parental {sp[i]}, resistant {sr[i]}: the resistance index needs two curves "
                f"whose {name} is estimated or bounded on opposite sides"
            )
    imprecise = status == "imprecise"
    reason[imprecise] = f"an {name} is imprecise (its 95% CI spans over 3 decades)"
    out = pd.DataFrame(
        {
            "drug": pd_["drug"], "parental": parental, "resistant": pd_["resistant"],
            "ic50": name, f"ic50_{ic50}_parental": np.exp(lp), f"ic50_{ic50}_resistant": np.exp(lr_),
            "resistance_index": ri, "ri_censored": ri_cens, "ri_ci_low": lo, "ri_ci_high": hi,
            "log2_ri": diff / np.log(2.0), "statistic": np.nan, "pvalue": np.nan,
        }
    )  # fmt: skip
    out.loc[~(exact | up | down), ["resistance_index", "log2_ri"]] = np.nan
    out.loc[~exact, ["ri_ci_low", "ri_ci_high"]] = np.nan
    if x is not None and y is not None and fit is not None and exact.any():
        rows = np.flatnonzero(exact)
        ip, ir = pd_["ip"].to_numpy()[rows], pd_["ir"].to_numpy()[rows]
        fstat, df2 = _shared_ic50_ftest(
            base, x, y, fit, ip, ir, ic50=ic50, lp=lp[rows], lr=lr_[rows]
        )
        out.loc[rows, "statistic"] = fstat
        out.loc[rows, "pvalue"] = f_sf(fstat, 1, np.maximum(df2, 1))
    out["fdr"] = np.nan
    pv = out["pvalue"].to_numpy()
    okp = np.isfinite(pv)
    if okp.any():
        from scipy import stats

        out.loc[okp, "fdr"] = stats.false_discovery_control(pv[okp])
    out["status"] = status
    out["reason"] = reason
    if problems:
        extra = pd.DataFrame({"drug": [p.split("'")[1] for p in problems], "parental": parental,
                              "resistant": ", ".join(res_list), "status": "unmatched", "reason": problems})  # fmt: skip
        out = pd.concat([out, extra], ignore_index=True)
    return out


def _shared_ic50_ftest(base, x, y, fit, ip, ir, *, ic50, lp, lr):
    """F statistic and residual df of a joint fit sharing the IC50 against separate fits."""
    m = x.shape[1]
    k = base.n_params
    xj = np.zeros((ip.size, 2 * m, 2))
    xj[:, :m, 0], xj[:, m:, 0] = x[ip], x[ir]
    xj[:, m:, 1] = 1.0
    yj = np.concatenate([y[ip], y[ir]], axis=1)
    valid = ~np.isnan(xj[..., 0]) & np.isfinite(yj)
    xj[..., 0] = np.where(valid, xj[..., 0], 0.0)
    yj = np.where(valid, yj, 0.0)
    inner = _AbsParam(base) if ic50 == "abs" else base
    joint = _SharedEC50(inner)
    je = base.param_names.index("ln_ec50")
    others = joint.others
    pp, pr = fit.params[ip].copy(), fit.params[ir].copy()
    if ic50 == "abs":
        pp[:, je], pr[:, je] = lp, lr
    p0 = np.concatenate([pp[:, others], pr[:, others], 0.5 * (pp[:, je] + pr[:, je])[:, None]],
                        axis=1)  # fmt: skip
    xnan = np.where(valid, xj[..., 0], np.nan)
    ynan = np.where(valid, yj, np.nan)
    lb, ub = base.default_bounds(xnan, ynan)
    if ic50 == "abs":
        names = base.param_names
        if "bottom" in names:
            jc = names.index("bottom")
            ub[:, jc] = np.minimum(ub[:, jc], 0.5 - 1e-3)
            p0[:, [others.index(jc), len(others) + others.index(jc)]] = np.minimum(
                p0[:, [others.index(jc), len(others) + others.index(jc)]], 0.5 - 2e-3
            )
        if "top" in names:
            jd = names.index("top")
            lb[:, jd] = np.maximum(lb[:, jd], 0.5 + 1e-3)
            p0[:, [others.index(jd), len(others) + others.index(jd)]] = np.maximum(
                p0[:, [others.index(jd), len(others) + others.index(jd)]], 0.5 + 2e-3
            )
    lower = np.concatenate([lb[:, others], lb[:, others], lb[:, [je]]], axis=1)
    upper = np.concatenate([ub[:, others], ub[:, others], ub[:, [je]]], axis=1)
    p0 = np.clip(p0, lower, upper)
    best = None
    for start in (p0[:, -1], pp[:, je], pr[:, je]):
        ps = p0.copy()
        ps[:, -1] = np.clip(start, lower[:, -1], upper[:, -1])
        lmr = levenberg_marquardt(joint, xj, yj, valid.astype(float), ps, lower, upper)
        sse = np.where(np.isfinite(lmr.sse), lmr.sse, np.inf)
        best = sse if best is None else np.minimum(best, sse)
    sse_sep = fit.sse[ip] + fit.sse[ir]
    df2 = valid.sum(axis=1) - 2 * k
    with np.errstate(divide="ignore", invalid="ignore"):
        fstat = np.maximum(best - sse_sep, 0.0) / (sse_sep / df2)
    return fstat, df2
