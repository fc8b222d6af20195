"""Maximum-likelihood fits of a two-population (sensitive/resistant) model to burden data.

Model: sensitive cells grow at ``r_s`` and are killed at ``delta`` while treatment is on;
resistant cells grow at ``r_r`` regardless::

    B(t) = S0 exp(r_s t - delta T_on(t)) + R0 exp(r_r t)

with ``T_on(t)`` the cumulative time on treatment (the on/off flag of a visit holds until the
next visit). Noise is log-normal: ``log y = log B(t) + e``, ``e ~ N(0, sigma^2)``; ``sigma`` is
profiled out (``sigma^2 = RSS / n``). Identifiability: Wald intervals from the Jacobian and a
profile likelihood per parameter (:func:`profile_likelihood`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import InputError, SchemaError
from ._model import _as_bool

__all__ = ["BurdenFit", "fit_burden", "fit_psa_cohort", "forecast_next_cycle", "profile_likelihood"]

PARAMS = ("log_s0", "log_r0", "r_s", "delta", "r_r")
_LOWER = np.array([-20.0, -30.0, -0.2, 0.0, -0.2])
_UPPER = np.array([20.0, 20.0, 0.3, 2.0, 0.3])
_FLOOR = 0.01  # PSA assay floor (ng/mL); values below are set to it and counted


def _on_time(t: np.ndarray, t_obs: np.ndarray, on_obs: np.ndarray) -> np.ndarray:
    """Cumulative time on treatment at ``t`` (flags hold from one visit to the next)."""
    edges = np.asarray(t_obs, float)
    seg_on = np.asarray(on_obs, bool)[:-1].astype(float)
    cum = np.concatenate([[0.0], np.cumsum(np.diff(edges) * seg_on)])
    i = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 1)
    last_on = np.asarray(on_obs, bool)[i].astype(float)
    return cum[i] + (np.asarray(t, float) - edges[i]) * last_on


def _flags(values: Any, where: str, labels: Any = None) -> np.ndarray:
    """Treatment flags as a bool array: true/false, 1/0 or their strings, nothing else.

    ``"yes"``, ``3`` or a missing flag is an :class:`InputError` naming the row (``labels``:
    row labels, default positions) and ``where`` (the column).
    """
    arr = np.asarray(values)
    if arr.dtype == bool:
        return arr
    flat = arr.reshape(-1)
    out = np.empty(flat.size, dtype=bool)
    for i, v in enumerate(flat.tolist()):
        try:
            out[i] = _as_bool(v, where)
        except InputError:
            row = i if labels is None else list(labels)[i]
            raise InputError(
                f"{where}, row {row}: {v!r:.40} is not a treatment flag; use true/false or 1/0 "
                "(also 'true'/'false'/'1'/'0'): 'yes', 'on' or 3 are not read as on"
            ) from None
    return out.reshape(arr.shape)


def _numbers(values: Any, where: str, labels: Any = None) -> np.ndarray:
    """Floats (NaN allowed); text that is not a number names the row and ``where``."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError):
        pass
    flat = list(np.asarray(values, dtype=object).reshape(-1))
    out = np.empty(len(flat))
    for i, v in enumerate(flat):
        try:
            out[i] = np.nan if v is None else float(v)
        except (TypeError, ValueError, OverflowError):
            row = i if labels is None else list(labels)[i]
            raise InputError(f"{where}, row {row}: {v!r:.40} is not a number") from None
    return out.reshape(np.shape(values))


def _predict(theta: np.ndarray, t: np.ndarray, ton: np.ndarray) -> np.ndarray:
    ls0, lr0, rs, de, rr = theta
    return np.logaddexp(ls0 + rs * t - de * ton, lr0 + rr * t)


@dataclass(frozen=True, eq=False)
class BurdenFit:
    """Result of :func:`fit_burden` (``status`` ``ok`` or ``failed`` with a ``reason``)."""

    status: str
    reason: str
    params: dict[str, float]
    se: dict[str, float]
    sigma: float
    loglik: float
    n: int
    n_floored: int
    residuals: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    on_times: np.ndarray = field(repr=False)
    on_flags: np.ndarray = field(repr=False)

    @property
    def aic(self) -> float:
        """Akaike information criterion (5 parameters + sigma)."""
        return 2 * (len(PARAMS) + 1) - 2 * self.loglik

    def predict(self, t: Any) -> np.ndarray:
        """Predicted burden at times ``t`` (flags extrapolated from the last visit)."""
        tt = np.asarray(t, float)
        theta = np.array([self.params[p] for p in PARAMS])
        return np.exp(_predict(theta, tt, _on_time(tt, self.on_times, self.on_flags)))

    def net_rate(self, t: float = 0.0) -> float:
        """Fitted net growth rate of the burden, ``d log B / dt`` (per day) at day ``t``.

        The sensitive and resistant rates weighted by the two populations at ``t`` (with the
        treatment flag in force at ``t``); NaN for a failed fit.

        Examples
        --------
        >>> t = np.arange(0, 60, 4.0); y = 100 * np.exp(0.05 * t)
        >>> round(fit_burden(t, y, t < 0).net_rate(), 3)
        0.05
        """
        if self.status != "ok":
            return math.nan
        p = self.params
        tt = np.array([float(t)])
        k = int(np.clip(np.searchsorted(self.on_times, tt[0], side="right") - 1, 0, None))
        on = float(bool(self.on_flags[min(k, self.on_flags.size - 1)]))
        ls = (
            p["log_s0"]
            + p["r_s"] * tt[0]
            - p["delta"] * _on_time(tt, self.on_times, self.on_flags)[0]
        )
        lr = p["log_r0"] + p["r_r"] * tt[0]
        w = 1.0 / (1.0 + math.exp(min(lr - ls, 700.0)))  # share of sensitive cells
        return float(w * (p["r_s"] - p["delta"] * on) + (1.0 - w) * p["r_r"])

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: estimate, se, Wald 95% CI, identifiable flag."""
        rows = []
        for p in PARAMS:
            est, se = self.params.get(p, math.nan), self.se.get(p, math.nan)
            ok = bool(np.isfinite(se) and se < 10 * max(abs(est), 0.05))
            rows.append(
                {
                    "parameter": p,
                    "estimate": est,
                    "se": se,
                    "ci_low": est - 1.96 * se,
                    "ci_high": est + 1.96 * se,
                    "identifiable": ok,
                }
            )
        return pd.DataFrame(rows)

    def diagnostics(self) -> dict[str, float]:
        """Residual checks: Shapiro-Wilk p, lag-1 autocorrelation, RMSE on log scale."""
        r = self.residuals
        sw = float(stats.shapiro(r).pvalue) if r.size >= 3 and np.ptp(r) > 0 else math.nan
        ac = float(np.corrcoef(r[:-1], r[1:])[0, 1]) if r.size > 3 and np.std(r) > 0 else math.nan
        return {
            "shapiro_pvalue": sw,
            "lag1_autocorr": ac,
            "rmse_log": float(np.sqrt(np.mean(r**2))),
        }

    def _repr_html_(self) -> str:
        return (
            f"<b>BurdenFit</b> {self.status} n={self.n} sigma={self.sigma:.3g}"
            + self.to_frame().to_html(index=False)
        )


def _failed(reason: str, n: int) -> BurdenFit:
    e = np.empty(0)
    return BurdenFit(
        "failed",
        reason,
        {p: math.nan for p in PARAMS},
        {p: math.nan for p in PARAMS},
        math.nan,
        math.nan,
        n,
        0,
        e,
        e,
        e,
        e,
    )


def fit_burden(
    times: Any, burden: Any, on: Any, *, fixed: dict[str, float] | None = None
) -> BurdenFit:
    """Fit the two-population model by maximum likelihood (log-normal noise).

    Parameters
    ----------
    times
        Observation days (increasing).
    burden
        Positive measurements (PSA, tumour volume); NaN rows are dropped and counted.
    on
        Treatment flag per observation, holding until the next one: booleans, 1/0 or the
        strings "true"/"false"/"1"/"0" (any case); anything else ("yes", 3, a missing flag) is
        an :class:`~oncoresist.errors.InputError` naming the row.
    fixed
        Parameters held at a value (used by :func:`profile_likelihood`).

    Examples
    --------
    >>> t = np.arange(0, 400, 20.0); on = (t < 200)
    >>> y = np.exp(_predict(np.array([2.0, -2.0, 0.01, 0.05, 0.008]), t, _on_time(t, t, on)))
    >>> fit = fit_burden(t, y, on)
    >>> round(fit.params["delta"], 2)
    0.05
    """
    t = _numbers(times, "times")
    y = _numbers(burden, "burden")
    flags = _flags(on, "on (treatment flags)")
    if not (t.ndim == 1 and t.shape == y.shape == flags.shape):
        raise InputError(
            f"times, burden and on must be 1-D and of the same length, got shapes {t.shape}, "
            f"{y.shape} and {flags.shape}"
        )
    ok = np.isfinite(y) & np.isfinite(t)
    t_all, on_all = t[np.isfinite(t)], flags[np.isfinite(t)]
    t, y = t[ok], y[ok]
    if t.size < 6:
        return _failed(f"only {t.size} usable observations (need >= 6)", int(t.size))
    if np.any(np.diff(t_all) < 0):
        raise InputError("times must be increasing")
    n_floor = int(np.sum(y < _FLOOR))
    ly = np.log(np.maximum(y, _FLOOR))
    ton = _on_time(t, t_all, on_all)
    fixed = fixed or {}
    free = [i for i, p in enumerate(PARAMS) if p not in fixed]

    def full(z: np.ndarray) -> np.ndarray:
        th = np.empty(len(PARAMS))
        for i, p in enumerate(PARAMS):
            th[i] = fixed[p] if p in fixed else 0.0
        th[free] = z
        return th

    def resid(z: np.ndarray) -> np.ndarray:
        return _predict(full(z), t, ton) - ly

    best = None
    y0 = ly[0]
    starts = [
        np.array([y0, y0 - 3, 0.01, 0.05, 0.005]),
        np.array([y0, y0 - 6, 0.02, 0.02, 0.01]),
        np.array([y0 - 0.5, y0 - 1.5, 0.005, 0.1, 0.002]),
    ]
    for s in starts:
        z0 = np.clip(s, _LOWER + 1e-6, _UPPER - 1e-6)[free]
        try:
            sol = optimize.least_squares(
                resid, z0, bounds=(_LOWER[free], _UPPER[free]), method="trf"
            )
        except (ValueError, FloatingPointError):
            continue
        if best is None or sol.cost < best.cost:
            best = sol
    if best is None or not np.all(np.isfinite(best.x)):
        return _failed("optimiser failed from every start", int(t.size))
    r = best.fun
    n = r.size
    sigma2 = max(float(np.sum(r**2) / n), 1e-12)
    loglik = -0.5 * n * (math.log(2 * math.pi * sigma2) + 1)
    se = {p: math.nan for p in PARAMS}
    try:
        jtj = best.jac.T @ best.jac
        cov = np.linalg.pinv(jtj) * sigma2
        if np.linalg.matrix_rank(jtj) == len(free):
            for k, i in enumerate(free):
                se[PARAMS[i]] = float(math.sqrt(max(cov[k, k], 0.0)))
        else:
            for i in free:
                se[PARAMS[i]] = math.inf
    except np.linalg.LinAlgError:
        pass
    th = full(best.x)
    return BurdenFit(
        "ok",
        "",
        {p: float(v) for p, v in zip(PARAMS, th, strict=True)},
        se,
        math.sqrt(sigma2),
        loglik,
        n,
        n_floor,
        r,
        t,
        t_all,
        on_all,
    )


def profile_likelihood(
    times: Any, burden: Any, on: Any, *, parameter: str, grid: Any
) -> pd.DataFrame:
    """Profile log-likelihood of ``parameter`` over ``grid`` (others re-optimised).

    The 95% profile interval is where ``2 (max - profile) <= 3.84``; a flat profile means the
    parameter is not identifiable from these data.

    Examples
    --------
    >>> t = np.arange(0, 400, 20.0); on = (t < 200)
    >>> y = np.exp(_predict(np.array([2.0, -2.0, 0.01, 0.05, 0.008]), t, _on_time(t, t, on)))
    >>> prof = profile_likelihood(t, y * 1.01, on, parameter="delta", grid=[0.03, 0.05, 0.07])
    >>> list(prof.columns)
    ['parameter', 'value', 'loglik', 'within_95']
    """
    if parameter not in PARAMS:
        raise InputError(f"parameter must be one of {PARAMS}, got {parameter!r}")
    vals = _numbers(grid, "grid")
    if vals.ndim != 1 or vals.size == 0 or not np.all(np.isfinite(vals)):
        raise InputError(f"grid must be a non-empty list of finite {parameter} values")
    ll = np.array([fit_burden(times, burden, on, fixed={parameter: float(v)}).loglik for v in vals])
    top = max(np.nanmax(ll), fit_burden(times, burden, on).loglik)
    return pd.DataFrame(
        {
            "parameter": parameter,
            "value": vals,
            "loglik": ll,
            "within_95": 2 * (top - ll) <= stats.chi2.ppf(0.95, 1),
        }
    )


def _checked_psa(psa: Any, required: tuple[str, ...], fn: str) -> pd.DataFrame:
    """A copy of a Bruchovsky-style table with numeric columns and boolean flags checked."""
    if not isinstance(psa, pd.DataFrame):
        raise InputError(f"{fn}: expected a DataFrame, got {type(psa).__name__}")
    missing = [c for c in required if c not in psa.columns]
    if missing:
        raise SchemaError(
            f"{fn}: the PSA table lacks column(s) {missing}; need {list(required)} "
            "(see fetch_bruchovsky_psa)"
        )
    out = psa.copy()
    out["on_treatment"] = _flags(out["on_treatment"], "column 'on_treatment'", out.index)
    for col in ("day", "psa", "cycle"):
        if col in required:
            out[col] = _numbers(out[col], f"column {col!r}", out.index)
    if out["patient"].isna().any():
        row = out.index[out["patient"].isna().to_numpy()][0]
        raise InputError(f"{fn}: column 'patient', row {row}: missing patient id")
    return out


def fit_psa_cohort(psa: pd.DataFrame, *, patients: list[int] | None = None) -> pd.DataFrame:
    """Per-patient fits of a Bruchovsky-style table (``patient, day, psa, on_treatment``).

    One row per patient with parameters, standard errors, ``sigma``, ``aic``, residual
    diagnostics, ``status`` and ``reason`` (failed fits are rows, never exceptions).
    """
    psa = _checked_psa(psa, ("patient", "day", "psa", "on_treatment"), "fit_psa_cohort")
    rows = []
    for pid, g in psa.groupby("patient"):
        if patients is not None and pid not in patients:
            continue
        g = g.sort_values("day")
        fit = fit_burden(g["day"], g["psa"], g["on_treatment"])
        row: dict[str, Any] = {
            "patient": pid,
            "status": fit.status,
            "reason": fit.reason,
            "n": fit.n,
            "n_floored": fit.n_floored,
            "sigma": fit.sigma,
            "aic": fit.aic if fit.status == "ok" else math.nan,
        }
        row.update(fit.params)
        row.update({f"se_{k}": v for k, v in fit.se.items()})
        if fit.status == "ok":
            row.update(fit.diagnostics())
        rows.append(row)
    return pd.DataFrame(rows)


def forecast_next_cycle(psa: pd.DataFrame, *, train_cycles: int = 2) -> pd.DataFrame:
    """Fit each patient on cycles ``<= train_cycles`` and predict the PSA of the next cycle.

    Returns one row per patient: ``n_train``, ``n_test``, ``rmse_log`` (out-of-sample, natural
    log PSA), ``mape`` (median absolute percentage error), ``status``, ``reason``.
    """
    if isinstance(train_cycles, bool) or not isinstance(train_cycles, int | np.integer):
        raise InputError(f"train_cycles must be a whole number of cycles, got {train_cycles!r}")
    psa = _checked_psa(
        psa, ("patient", "day", "psa", "on_treatment", "cycle"), "forecast_next_cycle"
    )
    rows = []
    for pid, g in psa.groupby("patient"):
        g = g.sort_values("day")
        train = g[g["cycle"] <= train_cycles]
        test = g[(g["cycle"] == train_cycles + 1) & g["psa"].notna()]
        row: dict[str, Any] = {
            "patient": pid,
            "n_train": int(train["psa"].notna().sum()),
            "n_test": len(test),
        }
        if test.empty:
            row.update(
                status="skipped",
                reason=f"no cycle {train_cycles + 1}",
                rmse_log=math.nan,
                mape=math.nan,
            )
            rows.append(row)
            continue
        # the test period's own on/off flags are known (they are the protocol), PSA is not
        fit = fit_burden(train["day"], train["psa"], train["on_treatment"])
        if fit.status != "ok":
            row.update(status="failed", reason=fit.reason, rmse_log=math.nan, mape=math.nan)
            rows.append(row)
            continue
        upto = g[g["cycle"] <= train_cycles + 1]
        theta = np.array([fit.params[p] for p in PARAMS])
        tt = test["day"].to_numpy(float)
        pred = np.exp(
            _predict(
                theta,
                tt,
                _on_time(tt, upto["day"].to_numpy(float), upto["on_treatment"].to_numpy(bool)),
            )
        )
        obs = np.maximum(test["psa"].to_numpy(float), _FLOOR)
        err = np.log(pred) - np.log(obs)
        row.update(
            status="ok",
            reason="",
            rmse_log=float(np.sqrt(np.mean(err**2))),
            mape=float(np.median(np.abs(pred - obs) / obs)),
        )
        rows.append(row)
    return pd.DataFrame(rows)
