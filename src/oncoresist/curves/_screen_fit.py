"""Screen-level API: :func:`fit_screen` (one row per sample x drug) and :func:`resistance_shift`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data import Screen
from ..errors import InputError
from ._executors import Executor
from ._fit import CurveFitArrays, fit_curves
from ._lm import levenberg_marquardt
from ._metrics import auc_loglogistic, dss, inverse_loglogistic, loglogistic, wald_ci
from ._models import CurveModel, get_model

__all__ = ["bootstrap_ln_ec50", "curve_arrays", "fit_screen", "resistance_shift"]

FIT_COLUMNS = [
    "sample", "drug", "model", "status", "reason", "n_points", "n_doses", "min_conc", "max_conc",
    "ic50", "ic50_abs", "ec50", "ln_ic50", "ln_ic50_se", "hill_slope", "top", "bottom", "einf",
    "emax", "auc", "aa", "dss1", "dss2", "dss3", "r2", "rmse", "sse", "pvalue_flat",
    "ic50_ci_low", "ic50_ci_high", "ic50_extrapolated", "ic50_abs_extrapolated", "ln_ic50_fit",
    "hill_slope_fit",
]  # fmt: skip


def curve_arrays(screen: Screen) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Treated wells of a normalised screen as padded arrays.

    Returns ``(keys, log_conc, viability)``: ``keys`` has columns ``sample, drug`` (one row per
    curve, sorted), the arrays are ``(n_curves, max_points)`` with NaN padding.
    """
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
    x[gid, pos] = np.log(t["concentration"].to_numpy(dtype=float))
    y[gid, pos] = t["viability"].to_numpy(dtype=float)
    return keys.reset_index(drop=True), x, y


def _metrics_frame(fit: CurveFitArrays, *, auc_log_range, level: float) -> pd.DataFrame:
    # exp() of extreme ln EC50 bounds overflows to inf on purpose: "beyond range"
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _metrics_frame_impl(fit, auc_log_range=auc_log_range, level=level)


def _metrics_frame_impl(fit: CurveFitArrays, *, auc_log_range, level: float) -> pd.DataFrame:
    cp = fit.curve_params()
    b, c, d, e = cp["hill_slope"], cp["bottom"], cp["top"], cp["ln_ec50"]
    k = fit.n_params
    model = get_model(fit.model)
    flat = fit.status == "flat"
    fitted = np.isin(fit.status, ("ok", "flat", "failed")) & np.isfinite(fit.params).all(axis=1)
    xmin, xmax = fit.min_log_conc, fit.max_log_conc
    # flat curves are described by the flat null model: constant weighted mean
    mean_flat = np.where(flat, np.nan, np.nan)
    if flat.any():
        mean_flat = np.where(
            flat, auc_loglogistic(xmin, xmax, b, bottom=c, top=d, ln_ec50=e), np.nan
        )
    b = np.where(flat, 0.0, b)
    c = np.where(flat, mean_flat, c)
    d = np.where(flat, mean_flat, d)
    e_se = (
        fit.stderr[:, model.param_names.index("ln_ec50")]
        if model.sigmoid
        else np.full(len(fit), np.nan)
    )
    ln_ic50 = np.where(flat, np.inf, e)
    x50 = inverse_loglogistic(0.5, b, c, d, e)
    x50 = np.where(flat, np.where(mean_flat >= 0.5, np.inf, -np.inf), x50)
    if auc_log_range is None:
        lo, hi = xmin, xmax
    else:
        lo = np.full(len(fit), float(auc_log_range[0]))
        hi = np.full(len(fit), float(auc_log_range[1]))
    auc = auc_loglogistic(lo, hi, b, bottom=c, top=d, ln_ec50=e)
    auc = np.where(flat, mean_flat, auc)
    d1, d2, d3 = dss(xmin, xmax, b, bottom=c, top=d, ln_ec50=np.where(flat, 0.0, e))
    df = fit.n_points - k
    ci_lo, ci_hi = wald_ci(e, e_se, df, level=level)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - fit.sse / fit.sse_flat
        rmse = np.sqrt(fit.sse / fit.n_points)
    einf = np.where(b > 0, c, np.where(b < 0, d, 0.5 * (c + d)))
    out = pd.DataFrame(
        {
            "ic50": np.exp(ln_ic50),
            "ic50_abs": np.exp(x50),
            "ec50": np.exp(ln_ic50),
            "ln_ic50": ln_ic50,
            "ln_ic50_se": np.where(flat, np.nan, e_se),
            "hill_slope": b,
            "top": d,
            "bottom": c,
            "einf": einf,
            "emax": loglogistic(xmax, b, c, d, np.where(flat, 0.0, e)),
            "auc": auc,
            "aa": 1.0 - auc,
            "dss1": d1,
            "dss2": d2,
            "dss3": d3,
            "r2": r2,
            "rmse": rmse,
            "sse": fit.sse,
            "pvalue_flat": fit.pvalue_flat,
            "ic50_ci_low": np.where(flat, np.nan, np.exp(ci_lo)),
            "ic50_ci_high": np.where(flat, np.nan, np.exp(ci_hi)),
            "ic50_extrapolated": flat | (e < xmin) | (e > xmax),
            "ic50_abs_extrapolated": ~np.isnan(x50) & ((x50 < xmin) | (x50 > xmax)),
            # the sigmoid fit's values, kept for flat curves too (ranking like GDSC's
            # extrapolated IC50s); NaN for the non-sigmoid flat model
            "ln_ic50_fit": cp["ln_ec50"],
            "hill_slope_fit": cp["hill_slope"] if model.sigmoid else np.full(len(fit), np.nan),
        }
    )
    flags = ["ic50_extrapolated", "ic50_abs_extrapolated"]
    num = [c for c in out.columns if c not in ("sse", "pvalue_flat", *flags)]
    out.loc[~fitted, num] = np.nan
    out.loc[~fitted, flags] = False
    return out


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
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of ln EC50 by resampling residuals, all curves x replicates in one batch.

    Residuals of each curve (centred, inflated by sqrt(n / (n - k))) are drawn with replacement
    and added to the fitted values; every bootstrap curve is refitted with the batched engine.

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
    model, loss, n_starts
        Passed to :func:`fit_curves`.
    auc_range
        ``(min_conc, max_conc)`` in micromolar shared by all curves (to compare lines on one
        range); None uses each curve's tested range.
    ci, level, n_boot, rng
        Confidence interval of the IC50: ``"delta"`` (Wald on ln EC50 with the t quantile),
        ``"bootstrap"`` (residual bootstrap, ``n_boot`` replicates) or None.

    Returns
    -------
    pandas.DataFrame
        One row per curve with the columns of ``FIT_COLUMNS`` (concentrations in micromolar).
        Failed or insufficient curves are kept with ``status`` and ``reason``. Curves not
        better than a flat line (F-test, status ``"flat"``) are described by the flat model,
        as Thunor and GRmetrics do: ``ic50 = inf``, ``hill_slope = 0``, ``top = bottom``
        = the mean response. ``ln_ic50_fit`` and ``hill_slope_fit`` always hold the sigmoid
        fit's ln EC50 and slope (finite whenever the fit produced finite parameters, flat
        curves included, possibly far outside the tested range); NaN for ``model="flat"`` and
        unfitted curves. For flat curves they are poorly determined (often at the parameter
        bounds): on the GDSC raw plates they rank lines worse than ``ln_ic50`` does, so do not
        use them to rank curves.

    Examples
    --------
    >>> import pandas as pd
    >>> from oncoresist.data import Screen
    >>> conc = [0.01, 0.1, 1, 10, 100]
    >>> df = pd.DataFrame({"sample": "A", "drug": "x", "concentration": conc,
    ...                    "viability": [1.0, 0.95, 0.5, 0.06, 0.02]})
    >>> fits = fit_screen(Screen.from_frame(df), model="ll2")
    >>> fits.loc[0, "status"], round(float(fits.loc[0, "ic50"]), 1)
    ('ok', 1.0)
    """
    if ci not in (None, "delta", "bootstrap"):
        raise InputError(f"ci={ci!r}; use 'delta', 'bootstrap' or None")
    keys, x, y = curve_arrays(screen)
    fit = fit_curves(
        x, y, model=model, loss=loss, n_starts=n_starts, chunk_size=chunk_size,
        executor=executor, progress=progress,
    )  # fmt: skip
    if auc_range is not None:
        lo_c, hi_c = auc_range
        if not (0 < lo_c < hi_c):
            raise InputError(
                f"auc_range must be (min_conc, max_conc) in micromolar with 0 < min < max; got {auc_range}"
            )
        auc_log_range: tuple[float, float] | None = (float(np.log(lo_c)), float(np.log(hi_c)))
    else:
        auc_log_range = None
    met = _metrics_frame(fit, auc_log_range=auc_log_range, level=level)
    if ci is None:
        met[["ic50_ci_low", "ic50_ci_high"]] = np.nan
    elif ci == "bootstrap":
        lo, hi = bootstrap_ln_ec50(
            x, y, fit, n_boot=n_boot, level=level, rng=rng, chunk_size=chunk_size, executor=executor
        )
        ok = (fit.status == "ok") | (fit.status == "failed")
        met["ic50_ci_low"] = np.where(ok, np.exp(lo), np.nan)
        met["ic50_ci_high"] = np.where(ok, np.exp(hi), np.nan)
    reason = pd.Series(fit.reason, dtype=object)
    has = reason.str.len() > 0
    prefix = keys["sample"].astype(str) + " / " + keys["drug"].astype(str) + ": "
    reason = reason.where(~has, prefix + reason)
    out = pd.concat(
        [
            keys,
            pd.DataFrame(
                {
                    "model": fit.model,
                    "status": fit.status,
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
    return out[FIT_COLUMNS]


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


def resistance_shift(
    screen_or_fits: Screen | pd.DataFrame,
    *,
    parental: str,
    resistant: str | list[str],
    drugs: list[str] | None = None,
    model: str = "ll4",
    level: float = 0.95,
) -> pd.DataFrame:
    """Fold shift of the IC50 between a parental and resistant line(s), per drug.

    The resistance index RI = IC50_resistant / IC50_parental (relative IC50s) has a Wald CI
    from the standard errors of the two ln EC50s (independent fits; t quantile with the pooled
    residual degrees of freedom). With a Screen, an extra-sum-of-squares F-test compares a
    joint model with one shared EC50 (other parameters separate) against separate fits, both
    fitted with the batched engine: ``statistic`` and ``pvalue``; ``fdr`` is the
    Benjamini–Hochberg adjustment over all rows. Given a ``fit_screen`` table instead, only RI
    and its CI are computed (``statistic``/``pvalue`` NaN).

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
    res_list = [resistant] if isinstance(resistant, str) else list(resistant)
    base = get_model(model)
    if not base.sigmoid:
        raise InputError(f"resistance_shift needs a sigmoid model; got {model!r}")
    if isinstance(screen_or_fits, Screen):
        screen = screen_or_fits
        keys, x, y = curve_arrays(screen)
        fit = fit_curves(x, y, model=model)
        fits = pd.concat([keys, pd.DataFrame({"status": fit.status, "n_points": fit.n_points,
                          "ln_ic50": fit.params[:, base.param_names.index("ln_ec50")],
                          "ln_ic50_se": fit.stderr[:, base.param_names.index("ln_ec50")],
                          "sse": fit.sse, "max_conc": np.exp(fit.max_log_conc)})], axis=1)  # fmt: skip
    elif isinstance(screen_or_fits, pd.DataFrame):
        fits = screen_or_fits
        missing = {"sample", "drug", "status", "ln_ic50", "ln_ic50_se", "n_points"} - set(
            fits.columns
        )
        if missing:
            raise InputError(
                f"the fits table lacks columns {sorted(missing)}; pass the output of fit_screen"
            )
        x = y = None  # type: ignore[assignment]
        fit = None
    else:
        raise InputError(
            f"expected a Screen or a fit_screen DataFrame; got {type(screen_or_fits).__name__}"
        )
    for s in [parental, *res_list]:
        if s not in set(fits["sample"]):
            raise InputError(
                f"sample {s!r} not found; samples are {sorted(set(fits['sample']))[:20]}"
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
    fp, fr = (
        fits.iloc[pd_["ip"].to_numpy()].reset_index(drop=True),
        fits.iloc[pd_["ir"].to_numpy()].reset_index(drop=True),
    )
    k = base.n_params
    diff = fr["ln_ic50"].to_numpy() - fp["ln_ic50"].to_numpy()
    se = np.sqrt(fr["ln_ic50_se"].to_numpy() ** 2 + fp["ln_ic50_se"].to_numpy() ** 2)
    dof = fr["n_points"].to_numpy() + fp["n_points"].to_numpy() - 2 * k
    lo, hi = wald_ci(diff, se, dof, level=level)
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi, ri = np.exp(lo), np.exp(hi), np.exp(diff)
    both_ok = (fp["status"].to_numpy() == "ok") & (fr["status"].to_numpy() == "ok")
    out = pd.DataFrame(
        {
            "drug": pd_["drug"], "parental": parental, "resistant": pd_["resistant"],
            "ic50_parental": np.exp(fp["ln_ic50"].to_numpy()), "ic50_resistant": np.exp(fr["ln_ic50"].to_numpy()),
            "resistance_index": ri, "ri_ci_low": lo, "ri_ci_high": hi,
            "log2_ri": diff / np.log(2.0), "statistic": np.nan, "pvalue": np.nan,
        }
    )  # fmt: skip
    status = np.where(both_ok, "ok", "not_estimable")
    reason = np.where(
        both_ok, "",
        "parental " + fp["status"].astype(str).to_numpy() + ", resistant " + fr["status"].astype(str).to_numpy()
        + ": the resistance index needs two sigmoid fits with status 'ok'",
    )  # fmt: skip
    out.loc[~both_ok, ["resistance_index", "ri_ci_low", "ri_ci_high", "log2_ri"]] = np.nan
    if x is not None and y is not None and fit is not None and both_ok.any():
        rows = np.flatnonzero(both_ok)
        ip, ir = pd_["ip"].to_numpy()[rows], pd_["ir"].to_numpy()[rows]
        m = x.shape[1]
        xj = np.zeros((rows.size, 2 * m, 2))
        xj[:, :m, 0], xj[:, m:, 0] = x[ip], x[ir]
        xj[:, m:, 1] = 1.0
        yj = np.concatenate([y[ip], y[ir]], axis=1)
        valid = ~np.isnan(xj[..., 0]) & np.isfinite(yj)
        xj[..., 0] = np.where(valid, xj[..., 0], 0.0)
        yj = np.where(valid, yj, 0.0)
        joint = _SharedEC50(base)
        je = base.param_names.index("ln_ec50")
        others = joint.others
        p0 = np.concatenate(
            [fit.params[ip][:, others], fit.params[ir][:, others],
             0.5 * (fit.params[ip][:, je] + fit.params[ir][:, je])[:, None]], axis=1,
        )  # fmt: skip
        xnan = np.where(valid, xj[..., 0], np.nan)
        ynan = np.where(valid, yj, np.nan)
        lb, ub = base.default_bounds(xnan, ynan)
        lower = np.concatenate([lb[:, others], lb[:, others], lb[:, [je]]], axis=1)
        upper = np.concatenate([ub[:, others], ub[:, others], ub[:, [je]]], axis=1)
        best = None
        for start_e in (p0[:, -1], fit.params[ip][:, je], fit.params[ir][:, je]):
            ps = p0.copy()
            ps[:, -1] = start_e
            lmr = levenberg_marquardt(joint, xj, yj, valid.astype(float), ps, lower, upper)
            best = lmr.sse if best is None else np.minimum(best, lmr.sse)
        sse_shared = best
        sse_sep = fit.sse[ip] + fit.sse[ir]
        df2 = valid.sum(axis=1) - 2 * k
        with np.errstate(divide="ignore", invalid="ignore"):
            fstat = np.maximum(sse_shared - sse_sep, 0.0) / (sse_sep / df2)
        out.loc[rows, "statistic"] = fstat
        out.loc[rows, "pvalue"] = stats.f.sf(fstat, 1, np.maximum(df2, 1))
    out["fdr"] = np.nan
    pv = out["pvalue"].to_numpy()
    okp = np.isfinite(pv)
    if okp.any():
        out.loc[okp, "fdr"] = stats.false_discovery_control(pv[okp])
    out["status"] = status
    out["reason"] = reason
    return out
