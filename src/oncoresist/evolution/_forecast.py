"""Out-of-sample PSA forecasts under intermittent androgen deprivation, against naive baselines.

For each patient with a cycle ``k + 1``, a model is fitted on cycles ``1..k`` and forecasts the
log PSA of cycle ``k + 1`` (its on-treatment decline and off-treatment regrowth; the on/off
schedule of that cycle is known, as in the protocol). Scores are per patient, in natural log
PSA, against two naive baselines computed on the same points:

* ``lvcf``: the last measured log PSA of the training window, carried forward;
* ``trend``: phase-wise log-linear trend. ``b_on`` is the least-squares slope of log PSA over
  the last on-treatment phase of the training window, ``b_off`` the same over the last
  off-treatment phase (a phase is a maximal run of visits with the same flag; a phase with
  fewer than two measured values falls back to the previous phase of that kind, else slope 0).
  From the last training measurement ``(t_a, y_a)``: ``y(t) = y_a + b_on dT_on + b_off dT_off``
  with ``dT_on``/``dT_off`` the time on/off treatment between ``t_a`` and ``t`` (flags hold
  from one visit to the next, as in the models).

Models (each a registered :class:`_PsaModel`; parameters are log rates / logit fractions with
box bounds, so no rate can change sign or run off to an unphysical value):

* ``two_population``: sensitive and resistant cells, PSA proportional to burden;
  ``B = b0 ((1 - f) exp(r_s t - delta T_on) + f exp(r_r t))``.
* ``lotka_volterra``: a Zhang 2017-style Lotka-Volterra competition of sensitive (T+) and
  resistant (T-) cells (competition coefficients of Zhang's representative matrix 7,
  ``a_{+-} = 0.8``, ``a_{-+} = 0.6``). Androgen deprivation cuts the sensitive cells'
  capacity to ``k_on K`` (Zhang: abiraterone cuts the T+/TP capacities); PSA is proportional
  to the cell density (Zhang's ``dPSA/dt = sum x - 0.5 PSA`` relaxes within days, so PSA
  follows ``2 sum x``).
* ``burden_ml``: the package's :func:`fit_burden` (maximum likelihood, no prior), kept as
  the reference the issue started from.

Population priors (empirical Bayes): every patient is first fitted on their whole series under
a weak fixed prior; the prior of a held-out patient is the median and 1.4826 MAD of the
transformed parameters of the *other* patients (leave-one-patient-out, or K folds by patient),
never of the patient itself. The held-out patient's training window is then fitted by MAP with
that prior, with the residual sd shrunk toward the population's. Prediction intervals come from
the Laplace posterior (parameter draws) plus residual noise; their empirical coverage on the
held-out cycle is reported with every score, and so is the coverage of the same intervals
rescaled by the other patients' held-out errors (split-conformal across patients).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from .._results import ResultMixin
from ..errors import InputError
from ._data import fetch_bruchovsky_psa  # noqa: F401  (used by the doctest examples)
from ._fit import PARAMS as _BURDEN_PARAMS
from ._fit import _checked_psa, _on_time, _predict, _table_limit, fit_burden

try:  # numba is optional (extra "fast"): without it the numpy version of the LV kernel runs
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_NUMBA = False

__all__ = [
    "PSA_FORECAST_MODELS",
    "PsaForecastEvaluation",
    "evaluate_psa_forecasts",
    "plot_psa_forecast",
]

# Zhang 2017 representative matrix 7 (``_presets._ZHANG_MATRICES[6]``): a_{T+,T-}, a_{T-,T+}
_A_SR = 0.8
_A_RS = 0.6
_LV_STEP = (
    14.0  # days; Strang splitting, each logistic sub-step exact: 0.016 log off the ODE engine
)
_FLOOR = -300.0  # log density floor (a population this small contributes nothing)
_SIGMA_FLOOR = 0.05
_NU_SIGMA = 4.0  # prior weight (pseudo-observations) of the population residual sd


@dataclass(frozen=True)
class _Grid:
    """Evaluation grid of one patient: times, on-flag of each interval, cumulative on-time."""

    t: np.ndarray
    on: np.ndarray  # flag over [t[j], t[j + 1])
    ton: np.ndarray

    @classmethod
    def build(
        cls, t_visit: np.ndarray, on_visit: np.ndarray, t_eval: np.ndarray, step: float | None
    ) -> _Grid:
        pts = [t_visit, t_eval]
        if step is not None:
            pts.append(np.arange(0.0, float(t_eval.max(initial=0.0)) + step, step))
        t = np.unique(np.concatenate(pts))
        t = t[t <= max(float(t_eval.max(initial=0.0)), float(t_visit.max()))]
        i = np.clip(np.searchsorted(t_visit, t, side="right") - 1, 0, len(t_visit) - 1)
        return cls(t, on_visit[i].astype(bool), _on_time(t, t_visit, on_visit))

    def index(self, times: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.t, times)


@dataclass(frozen=True)
class _PsaModel:
    """A PSA model: transformed parameters with bounds, a weak prior and a batch predictor."""

    name: str
    params: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    weak_mean: np.ndarray  # weak fixed prior of the stage-1 (population) fits
    weak_sd: np.ndarray
    predict: Callable[[np.ndarray, _Grid], np.ndarray]  # (m, p) -> (m, len(grid.t)) log PSA
    starts: tuple[tuple[float, ...], ...]  # relative to log_b0 = first log PSA (param 0)


def _two_pop(z: np.ndarray, g: _Grid) -> np.ndarray:
    lb0, lf, lrs, ld, rr = (z[:, i : i + 1] for i in range(5))
    t, ton = g.t[None, :], g.ton[None, :]
    ls = special.log_expit(-lf) + np.exp(lrs) * t - np.exp(ld) * ton
    lr = special.log_expit(lf) + rr * t
    return np.asarray(lb0 + np.logaddexp(ls, lr))


def _lv_numpy(z: np.ndarray, g: _Grid) -> np.ndarray:
    """Two-type Lotka-Volterra in log densities (capacity 1), Lie splitting per step.

    Each type's logistic step is exact with the other type frozen (Strang splitting)
    (``x' = x e^{g dt} / (1 + (r x / K) dt exprel(g dt))``, ``g = r (1 - a y / K)``), so large
    steps stay stable however fast the decline; the coupling is slow (resistant cells change
    little over a week), which the engine-agreement test checks against :func:`simulate`.
    """
    lb0, lf, lu0, lrs, lrr, lkon = (z[:, i] for i in range(6))
    rs, rr, kon = np.exp(lrs), np.exp(lrr), np.exp(lkon)
    ls = lu0 + special.log_expit(-lf)
    lr = lu0 + special.log_expit(lf)
    out = np.empty((z.shape[0], g.t.size))
    out[:, 0] = np.logaddexp(ls, lr)
    dts = np.diff(g.t)

    def step_s(ls: np.ndarray, lr: np.ndarray, ks: Any, dt: float) -> np.ndarray:
        gs = rs * (1.0 - _A_SR * np.exp(lr) / ks)
        x = ls + gs * dt - np.log1p(rs * np.exp(ls) / ks * dt * special.exprel(gs * dt))
        return np.maximum(x, _FLOOR)

    for j, dt in enumerate(dts):
        ks = kon if g.on[j] else 1.0
        # Strang splitting: half a step of S, a step of R, half a step of S (second order)
        ls = step_s(ls, lr, ks, 0.5 * dt)
        gr = rr * (1.0 - _A_RS * np.exp(ls))
        lr = lr + gr * dt - np.log1p(rr * np.exp(lr) * dt * special.exprel(gr * dt))
        lr = np.maximum(lr, _FLOOR)
        ls = step_s(ls, lr, ks, 0.5 * dt)
        out[:, j + 1] = np.logaddexp(ls, lr)
    return np.asarray(lb0[:, None] + out - lu0[:, None])


def _lv_kernel(
    z: np.ndarray, dts: np.ndarray, on: np.ndarray, a_sr: float, a_rs: float, floor: float
) -> np.ndarray:  # pragma: no cover - compiled; the same scheme as _lv_numpy, scalar loops
    m, n = z.shape[0], dts.size + 1
    out = np.empty((m, n))
    for i in range(m):
        lb0, lf, lu0 = z[i, 0], z[i, 1], z[i, 2]
        rs, rr, kon = math.exp(z[i, 3]), math.exp(z[i, 4]), math.exp(z[i, 5])
        # log expit(-lf), log expit(lf), written to stay finite for any lf
        if lf > 0:
            ls = lu0 - lf - math.log1p(math.exp(-lf))
            lr = lu0 - math.log1p(math.exp(-lf))
        else:
            ls = lu0 - math.log1p(math.exp(lf))
            lr = lu0 + lf - math.log1p(math.exp(lf))
        hi, lo = max(ls, lr), min(ls, lr)
        out[i, 0] = lb0 + hi + math.log1p(math.exp(lo - hi)) - lu0
        for j in range(n - 1):
            dt = dts[j]
            ks = kon if on[j] else 1.0
            for part in range(3):
                if part == 1:
                    gr = rr * (1.0 - a_rs * math.exp(ls))
                    x = gr * dt
                    ex = math.expm1(x) / x if abs(x) > 1e-10 else 1.0 + 0.5 * x
                    lr = max(lr + x - math.log1p(rr * math.exp(lr) * dt * ex), floor)
                else:
                    h = 0.5 * dt
                    gs = rs * (1.0 - a_sr * math.exp(lr) / ks)
                    x = gs * h
                    ex = math.expm1(x) / x if abs(x) > 1e-10 else 1.0 + 0.5 * x
                    ls = max(ls + x - math.log1p(rs * math.exp(ls) / ks * h * ex), floor)
            hi, lo = max(ls, lr), min(ls, lr)
            out[i, j + 1] = lb0 + hi + math.log1p(math.exp(lo - hi)) - lu0
    return out


if HAVE_NUMBA:
    _lv_compiled = njit(cache=True)(_lv_kernel)


def _lv(z: np.ndarray, g: _Grid) -> np.ndarray:
    """The LV predictor: the compiled kernel when numba is installed, else numpy."""
    if not HAVE_NUMBA:
        return _lv_numpy(z, g)
    zz = np.ascontiguousarray(z, dtype=float)
    return np.asarray(
        _lv_compiled(zz, np.diff(g.t), g.on[:-1].astype(np.bool_), _A_SR, _A_RS, _FLOOR)
    )


_LN = math.log
PSA_FORECAST_MODELS: dict[str, _PsaModel] = {
    "two_population": _PsaModel(
        "two_population",
        ("log_b0", "logit_resistant", "log_r_s", "log_delta", "r_r"),
        np.array([-15.0, -12.0, _LN(1e-4), _LN(1e-3), -0.05]),
        np.array([15.0, 6.0, _LN(0.3), _LN(2.0), 0.05]),
        np.array([0.0, -3.0, _LN(0.01), _LN(0.05), 0.0]),
        np.array([10.0, 4.0, 2.0, 2.0, 0.02]),
        _two_pop,
        ((0.0, -3.0, _LN(0.01), _LN(0.05), 0.003), (0.0, -6.0, _LN(0.03), _LN(0.1), 0.0)),
    ),
    "lotka_volterra": _PsaModel(
        "lotka_volterra",
        ("log_b0", "logit_resistant", "log_u0", "log_r_s", "log_r_r", "log_k_on"),
        np.array([-15.0, -12.0, -8.0, _LN(1e-3), _LN(1e-5), -10.0]),
        np.array([15.0, 6.0, 0.5, _LN(0.5), _LN(0.1), 0.0]),
        np.array([0.0, -3.0, -1.0, _LN(0.03), _LN(0.003), -3.0]),
        np.array([10.0, 4.0, 2.0, 2.0, 2.0, 3.0]),
        _lv,
        (
            (0.0, -3.0, -1.0, _LN(0.03), _LN(0.003), -3.0),
            (0.0, -5.0, -2.0, _LN(0.1), _LN(0.01), -5.0),
        ),
    ),
}
_ALL_MODELS = (*PSA_FORECAST_MODELS, "burden_ml")


@dataclass
class _Fit:
    status: str
    reason: str
    z: np.ndarray
    cov: np.ndarray
    sigma: float
    at_bound: tuple[str, ...] = ()


def _map_fit(
    model: _PsaModel,
    grid: _Grid,
    t: np.ndarray,
    ly: np.ndarray,
    cens: np.ndarray,
    llim: float,
    prior_mean: np.ndarray,
    prior_sd: np.ndarray,
    sigma: float,
    *,
    starts: Sequence[np.ndarray],
) -> _Fit:
    """MAP fit: residuals ``(mu - log y) / sigma`` (censored: one-sided), prior ``(z - m) / s``.

    Least squares via ``scipy.optimize.least_squares`` (trf, box bounds) with a batched
    finite-difference Jacobian: one call of the model for all perturbed parameter vectors.
    """
    idx = grid.index(t)
    meas = ~cens
    lo, hi = model.lower, model.upper

    def res_batch(zb: np.ndarray) -> np.ndarray:
        mu = model.predict(zb, grid)[:, idx]
        r = np.where(meas, mu - ly, np.maximum(mu - llim, 0.0)) / sigma
        return np.concatenate([r, (zb - prior_mean) / prior_sd], axis=1)

    def fun(z: np.ndarray) -> np.ndarray:
        return np.asarray(res_batch(z[None, :])[0])

    def jac(z: np.ndarray) -> np.ndarray:
        h = 1e-6 * np.maximum(1.0, np.abs(z))
        # step inward at an upper bound so every perturbed vector is feasible
        h = np.where(z + h > hi, -h, h)
        zb = np.vstack([z, z + np.diag(h)])
        rb = res_batch(zb)
        return np.asarray(((rb[1:] - rb[0]) / h[:, None]).T)

    best = None
    last = ""
    for s in starts:
        z0 = np.clip(s, lo + 1e-6 * (hi - lo), hi - 1e-6 * (hi - lo))
        try:
            sol = optimize.least_squares(
                fun,
                z0,
                jac=jac,
                bounds=(lo, hi),
                method="trf",
                x_scale="jac",
                ftol=1e-6,
                xtol=1e-6,
                gtol=1e-6,
                max_nfev=300,
            )
        except (ValueError, FloatingPointError) as exc:  # pragma: no cover - defensive
            last = str(exc)
            continue
        if np.all(np.isfinite(sol.x)) and (best is None or sol.cost < best.cost):
            best = sol
    if best is None:
        return _Fit(
            "failed", f"optimiser failed from every start ({last})", prior_mean, np.eye(1), 0
        )
    z = best.x
    jm = jac(z)
    try:
        cov = np.linalg.pinv(jm.T @ jm)
    except np.linalg.LinAlgError:  # pragma: no cover
        cov = np.diag(prior_sd**2)
    r_obs = best.fun[: t.size] * sigma
    rss = float(np.sum(r_obs[meas] ** 2))
    n = int(meas.sum())
    width = hi - lo
    near = (z - lo < 1e-3 * width) | (hi - z < 1e-3 * width)
    return _Fit(
        "ok",
        "",
        z,
        cov,
        math.sqrt(rss / max(n, 1)),
        tuple(p for p, b in zip(model.params, near, strict=True) if b),
    )


@dataclass
class _Window:
    """One patient's fit window and forecast target (times, log PSA, censoring)."""

    t_visit: np.ndarray
    on_visit: np.ndarray
    t_fit: np.ndarray
    ly_fit: np.ndarray
    cens_fit: np.ndarray
    t_test: np.ndarray
    ly_test: np.ndarray
    on_test: np.ndarray


def _window(g: pd.DataFrame, k: int | None, llim: float) -> _Window:
    g = g.sort_values("day")
    tv = g["day"].to_numpy(float)
    onv = g["on_treatment"].to_numpy(bool)
    psa = g["psa"].to_numpy(float)
    cyc = g["cycle"].to_numpy(float)
    has = np.isfinite(psa)
    ly = np.full(psa.shape, -np.inf)
    pos = has & (psa > 0)
    ly[pos] = np.log(psa[pos])
    cens = has & (ly < llim)
    fit = has & ((cyc <= k) if k is not None else True)
    test = has & ~cens & ((cyc == k + 1) if k is not None else False)
    keep = (cyc <= k + 1) if k is not None else np.ones(tv.size, bool)
    return _Window(
        tv[keep],
        onv[keep],
        tv[fit],
        np.where(cens[fit], llim, ly[fit]),
        cens[fit],
        tv[test],
        ly[test],
        onv[test],
    )


def _phase_slope(t: np.ndarray, ly: np.ndarray, ph: np.ndarray, want: np.ndarray) -> float:
    """OLS slope of log PSA over the last phase in ``want`` with >= 2 distinct measured days."""
    for p in np.unique(ph[want])[::-1]:
        sel = ph == p
        if np.unique(t[sel]).size >= 2:
            return float(np.polyfit(t[sel], ly[sel], 1)[0])
    return 0.0


def _baselines(w: _Window) -> tuple[np.ndarray, np.ndarray]:
    """``lvcf`` and phase-wise ``trend`` forecasts at the test times (module docstring)."""
    meas = ~w.cens_fit
    t, ly = w.t_fit[meas], w.ly_fit[meas]
    # phase id per visit (runs of equal flags), mapped to the measured training points
    ph_visit = np.concatenate([[0], np.cumsum(np.diff(w.on_visit.astype(int)) != 0)])
    iv = np.searchsorted(w.t_visit, t)
    ph, on = ph_visit[iv], w.on_visit[iv]
    b_on = _phase_slope(t, ly, ph, on)
    b_off = _phase_slope(t, ly, ph, ~on)
    ta, ya = t[-1], ly[-1]
    ton = _on_time(np.append(w.t_test, ta), w.t_visit, w.on_visit)
    d_on = ton[:-1] - ton[-1]
    d_off = (w.t_test - ta) - d_on
    return np.full(w.t_test.size, ya), ya + b_on * d_on + b_off * d_off


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2))) if a.size else math.nan


@dataclass(frozen=True, eq=False)
class PsaForecastEvaluation(ResultMixin):
    """Result of :func:`evaluate_psa_forecasts`.

    ``scores``: one row per patient x ``cycles_fit`` x model (``rmse`` of the model, ``rmse_lvcf``,
    ``rmse_trend``, skills ``1 - rmse / rmse_baseline``, ``beats_better_baseline``, interval
    ``coverage`` and mean ``interval_width`` on the held-out cycle, ``at_bound`` parameters,
    ``status``/``reason``). ``forecasts``: one row per scored point (observed, forecast, interval,
    baselines). ``data``: the fitted series (for plots). ``level``: nominal interval coverage.
    """

    scores: pd.DataFrame
    forecasts: pd.DataFrame = field(repr=False)
    data: pd.DataFrame = field(repr=False)
    level: float = 0.9
    n_folds: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per patient x cycles_fit x model x baseline."""
        rows = []
        for b in ("lvcf", "trend"):
            d = self.scores[
                ["patient", "cycles_fit", "model", "status", "reason", "rmse", "coverage"]
            ].copy()
            d.insert(3, "baseline", b)
            d["rmse_baseline"] = self.scores[f"rmse_{b}"]
            d["skill"] = self.scores[f"skill_{b}"]
            rows.append(d)
        out = pd.concat(rows, ignore_index=True)
        return out.sort_values(["cycles_fit", "patient", "model", "baseline"], ignore_index=True)

    def by_model(self) -> pd.DataFrame:
        """Per model (and per baseline, as rows of their own): medians over scored patients.

        ``frac_beats_better_baseline``: share of patients whose model RMSE is below both
        baselines'. ``coverage``: pooled share of held-out points inside the interval.
        """
        ok = self.scores[self.scores["status"] == "ok"]
        rows = []
        for (k, m), g in ok.groupby(["cycles_fit", "model"], sort=True):
            f = self.forecasts
            f = f[(f["cycles_fit"] == k) & (f["model"] == m)]
            rows.append(
                {
                    "cycles_fit": k,
                    "model": m,
                    "n_patients": len(g),
                    "median_rmse": g["rmse"].median(),
                    "median_skill_lvcf": g["skill_lvcf"].median(),
                    "median_skill_trend": g["skill_trend"].median(),
                    "frac_beats_better_baseline": g["beats_better_baseline"].mean(),
                    "coverage": f["inside"].mean() if len(f) else math.nan,
                    "coverage_conformal": f["inside_conformal"].mean() if len(f) else math.nan,
                }
            )
        base = ok.drop_duplicates(["cycles_fit", "patient"])
        for k, g in base.groupby("cycles_fit"):
            for b in ("lvcf", "trend"):
                rows.append(
                    {
                        "cycles_fit": k,
                        "model": f"baseline_{b}",
                        "n_patients": len(g),
                        "median_rmse": g[f"rmse_{b}"].median(),
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """One line: patient-windows, models, rows not scored and the interval level."""
        n = self.scores.drop_duplicates(["patient", "cycles_fit"])
        models = ", ".join(dict.fromkeys(map(str, self.scores["model"])))
        return (
            f"PsaForecastEvaluation: {len(n)} patient-windows, models {models}; "
            f"{int((self.scores['status'] != 'ok').sum())} rows not scored; "
            f"{int(self.level * 100)}% intervals"
        )


def _stage1(
    model: _PsaModel, psa: pd.DataFrame, llim: float
) -> tuple[dict[Any, np.ndarray], dict[Any, float]]:
    """Population stage: each patient's whole series under the weak fixed prior."""
    zs: dict[Any, np.ndarray] = {}
    sig: dict[Any, float] = {}
    for pid, g in psa.groupby("patient"):
        w = _window(g, None, llim)
        if (~w.cens_fit).sum() < len(model.params) + 1:
            continue
        grid = _Grid.build(
            w.t_visit, w.on_visit, w.t_fit, _LV_STEP if model.name == "lotka_volterra" else None
        )
        sigma = 0.3
        fit = None
        y0 = w.ly_fit[~w.cens_fit][0]
        starts = [np.array(s) + np.eye(len(s))[0] * y0 for s in model.starts]
        mean = model.weak_mean + np.eye(len(model.params))[0] * y0
        for _ in range(2):  # residual sd re-estimated once, from the first solution
            fit = _map_fit(
                model,
                grid,
                w.t_fit,
                w.ly_fit,
                w.cens_fit,
                llim,
                mean,
                model.weak_sd,
                sigma,
                starts=starts,
            )
            if fit.status != "ok":
                break
            sigma = max(fit.sigma, _SIGMA_FLOOR)
            starts = [fit.z]
        if fit is not None and fit.status == "ok":
            zs[pid], sig[pid] = fit.z, sigma
    return zs, sig


def _folds(patients: list[Any], n_folds: int | None, rng: np.random.Generator) -> dict[Any, int]:
    if n_folds is None:
        return {p: i for i, p in enumerate(patients)}
    perm = rng.permutation(len(patients))
    return {patients[j]: i % n_folds for i, j in enumerate(perm)}


def evaluate_psa_forecasts(
    psa: pd.DataFrame,
    models: Sequence[str] = ("two_population", "lotka_volterra"),
    *,
    cycles_fit: int | Sequence[int] = (2, 3),
    n_folds: int | None = None,
    level: float = 0.9,
    n_draws: int = 200,
    detection_limit: float | None = None,
    patients: Sequence[Any] | None = None,
    rng: int | np.random.Generator | None = 0,
) -> PsaForecastEvaluation:
    """Out-of-sample forecasts of cycle ``k + 1`` from cycles ``1..k``, scored per patient.

    Parameters
    ----------
    psa
        A Bruchovsky-style table (``patient, day, psa, on_treatment, cycle``; see
        :func:`fetch_bruchovsky_psa`).
    models
        Names in :data:`PSA_FORECAST_MODELS` or ``"burden_ml"`` (the unpenalised
        :func:`fit_burden`, no prior and no interval).
    cycles_fit
        ``k`` (or several): fit cycles ``1..k``, forecast cycle ``k + 1``. A patient without a
        measured PSA in cycle ``k + 1`` is a ``skipped`` row, never silently absent.
    n_folds
        ``None``: leave-one-patient-out population priors; an integer: K folds by patient. The
        prior of a patient never uses that patient's data.
    level
        Nominal coverage of the prediction intervals.
    n_draws
        Posterior draws per forecast (Laplace approximation plus residual noise).
    detection_limit
        PSA below it (and zeros) is censored; default the smallest positive PSA in the table.
    patients
        Evaluate only these patients (the population prior still uses all others).
    rng
        Seed or generator of the posterior draws and the fold assignment.

    Returns
    -------
    PsaForecastEvaluation

    Examples
    --------
    >>> from oncoresist.evolution import fetch_bruchovsky_psa
    >>> ev = evaluate_psa_forecasts(fetch_bruchovsky_psa(), cycles_fit=2)  # doctest: +SKIP
    >>> ev.by_model()[["model", "median_rmse"]]  # doctest: +SKIP
    """
    unknown = [m for m in models if m not in _ALL_MODELS]
    if unknown or isinstance(models, str):
        raise InputError(f"models: unknown {unknown or models!r}; use names from {_ALL_MODELS}")
    ks = [cycles_fit] if isinstance(cycles_fit, int | np.integer) else list(cycles_fit)
    if not ks or not all(
        isinstance(k, int | np.integer) and not isinstance(k, bool) and k >= 1 for k in ks
    ):
        raise InputError(f"cycles_fit must be whole numbers >= 1, got {cycles_fit!r}")
    if n_folds is not None and (
        isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2
    ):
        raise InputError(
            f"n_folds must be None (leave one patient out) or an integer >= 2, got {n_folds!r}"
        )
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level!r}")
    gen = np.random.default_rng(rng)
    psa = _checked_psa(
        psa, ("patient", "day", "psa", "on_treatment", "cycle"), "evaluate_psa_forecasts"
    )
    lim = _table_limit(psa, detection_limit, "evaluate_psa_forecasts")
    # fit in units centred on the cohort's cycle-1 PSA: the models' bounds, priors and starting
    # points then do not depend on the unit of the data (ng/mL or ug/L give the same fit)
    first = psa.loc[(psa["cycle"] == psa["cycle"].min()) & (psa["psa"] > 0), "psa"]
    shift = float(np.median(np.log(first))) if len(first) else 0.0
    original = psa
    psa = psa.assign(psa=psa["psa"] / math.exp(shift))
    lim = lim / math.exp(shift) if lim else lim
    llim = math.log(lim) if lim else -math.inf
    pids = sorted(psa["patient"].unique().tolist())
    fold = _folds(pids, n_folds, gen)
    stage1 = {
        m: _stage1(PSA_FORECAST_MODELS[m], psa, llim) for m in models if m in PSA_FORECAST_MODELS
    }
    q = ((1 - level) / 2, (1 + level) / 2)
    score_rows: list[dict[str, Any]] = []
    fc_rows: list[pd.DataFrame] = []
    groups = dict(tuple(psa.groupby("patient")))
    for k in ks:
        for pid in pids:
            if patients is not None and pid not in patients:
                continue
            g = groups[pid]
            w = _window(g, int(k), llim)
            base = {
                "patient": pid,
                "cycles_fit": int(k),
                "n_train": int((~w.cens_fit).sum()),
                "n_test": int(w.t_test.size),
                "n_test_censored": int(
                    ((g["cycle"] == k + 1) & (g["psa"].notna())).sum() - w.t_test.size
                ),
            }
            if w.t_test.size == 0:
                for m in models:
                    score_rows.append(
                        {
                            **base,
                            "model": m,
                            "status": "skipped",
                            "reason": f"no measured PSA above the detection limit in cycle {k + 1}",
                        }
                    )
                continue
            lvcf, trend = _baselines(w)
            r_l, r_t = _rmse(lvcf, w.ly_test), _rmse(trend, w.ly_test)
            for m in models:
                row = {**base, "model": m, "rmse_lvcf": r_l, "rmse_trend": r_t}
                pred, lo, hi, fit_status, at_bound, params = _forecast_one(
                    m, w, pid, fold, stage1, llim, g, int(k), q, n_draws, gen
                )
                if pred is None:
                    row.update(status="failed", reason=fit_status)
                    score_rows.append(row)
                    continue
                r = _rmse(pred, w.ly_test)
                inside = (w.ly_test >= lo) & (w.ly_test <= hi)
                row.update(
                    status="ok",
                    reason="",
                    rmse=r,
                    skill_lvcf=1 - r / r_l if r_l > 0 else math.nan,
                    skill_trend=1 - r / r_t if r_t > 0 else math.nan,
                    beats_better_baseline=bool(r < min(r_l, r_t)),
                    coverage=float(np.mean(inside)) if np.isfinite(lo).all() else math.nan,
                    interval_width=float(np.mean(hi - lo)),
                    at_bound=",".join(at_bound),
                    **params,
                )
                score_rows.append(row)
                fc_rows.append(
                    pd.DataFrame(
                        {
                            "patient": pid,
                            "cycles_fit": int(k),
                            "model": m,
                            "day": w.t_test,
                            "on_treatment": w.on_test,
                            "log_psa": w.ly_test,
                            "forecast": pred,
                            "lower": lo,
                            "upper": hi,
                            "lvcf": lvcf,
                            "trend": trend,
                            "inside": inside if np.isfinite(lo).all() else np.nan,
                        }
                    )
                )
    scores = pd.DataFrame(score_rows)
    forecasts = pd.concat(fc_rows, ignore_index=True) if fc_rows else pd.DataFrame()
    if len(forecasts):
        forecasts, scores = _conformal(forecasts, scores, fold, level)
        for c in ("log_psa", "forecast", "lower", "upper", "lvcf", "trend",
                  "lower_conformal", "upper_conformal"):  # fmt: skip
            if c in forecasts:
                forecasts[c] = forecasts[c] + shift  # back to the data's unit
    if "log_b0" in scores:
        scores["log_b0"] = scores["log_b0"] + shift
    cols = ["patient", "day", "cycle", "on_treatment", "psa"]
    return PsaForecastEvaluation(scores, forecasts, original[cols].copy(), level, n_folds)


def _conformal(
    fc: pd.DataFrame, scores: pd.DataFrame, fold: dict[Any, int], level: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Intervals widened (or narrowed) by the other patients' held-out errors.

    Split-conformal across patients: the score of a held-out point is ``|y - forecast|`` over
    the Laplace half-width on its side; a patient's factor is the ``level`` quantile of the
    scores of the patients outside its fold (never its own), pooled over their points.
    """
    fc = fc.copy()
    fc["lower_conformal"] = np.nan
    fc["upper_conformal"] = np.nan
    half = np.where(fc["log_psa"] >= fc["forecast"], fc["upper"] - fc["forecast"],
                    fc["forecast"] - fc["lower"])  # fmt: skip
    score = np.abs(fc["log_psa"] - fc["forecast"]) / np.maximum(half, 1e-12)
    fid = fc["patient"].map(fold).to_numpy()
    for _, g in fc.groupby(["cycles_fit", "model"]):
        if g["lower"].isna().any():
            continue
        for f in np.unique(fid[g.index]):
            mine = g.index[fid[g.index] == f]
            rest = g.index[fid[g.index] != f]
            if rest.size == 0:
                continue
            c = float(np.quantile(score[rest], level))
            fc.loc[mine, "lower_conformal"] = fc.loc[mine, "forecast"] - c * (
                fc.loc[mine, "forecast"] - fc.loc[mine, "lower"]
            )
            fc.loc[mine, "upper_conformal"] = fc.loc[mine, "forecast"] + c * (
                fc.loc[mine, "upper"] - fc.loc[mine, "forecast"]
            )
    ok = fc["lower_conformal"].notna()
    fc["inside_conformal"] = np.where(
        ok,
        (fc["log_psa"] >= fc["lower_conformal"]) & (fc["log_psa"] <= fc["upper_conformal"]),
        np.nan,
    )
    cov = fc.groupby(["patient", "cycles_fit", "model"])["inside_conformal"].mean()
    key = pd.MultiIndex.from_frame(scores[["patient", "cycles_fit", "model"]])
    scores = scores.copy()
    scores["coverage_conformal"] = cov.reindex(key).to_numpy()
    return fc, scores


def _forecast_one(
    m: str,
    w: _Window,
    pid: Any,
    fold: dict[Any, int],
    stage1: dict[str, tuple[dict[Any, np.ndarray], dict[Any, float]]],
    llim: float,
    g: pd.DataFrame,
    k: int,
    q: tuple[float, float],
    n_draws: int,
    gen: np.random.Generator,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, str, tuple[str, ...], dict[str, float]]:
    nan = np.full(w.t_test.size, np.nan)
    if m == "burden_ml":
        gg = g[g["cycle"] <= k].sort_values("day")
        bfit = fit_burden(gg["day"], gg["psa"], gg["on_treatment"], detection_limit=math.exp(llim))
        if bfit.status != "ok":
            return None, nan, nan, bfit.reason, (), {}
        theta = np.array([bfit.params[p] for p in _BURDEN_PARAMS])
        ton = _on_time(w.t_test, w.t_visit, w.on_visit)
        return _predict(theta, w.t_test, ton), nan, nan, "", (), {}
    model = PSA_FORECAST_MODELS[m]
    zs, sig = stage1[m]
    others = [p for p in zs if fold[p] != fold[pid]]
    if len(others) < 5:
        return None, nan, nan, f"only {len(others)} other patients for the population prior", (), {}
    zmat = np.array([zs[p] for p in others])
    mean = np.median(zmat, axis=0)
    sd = np.maximum(
        1.4826 * np.median(np.abs(zmat - mean), axis=0), 0.02 * (model.upper - model.lower)
    )
    # the level of the series is the patient's own: no population prior on log_b0
    y0 = w.ly_fit[~w.cens_fit][0]
    mean[0], sd[0] = y0, 10.0
    s_pop = float(np.median([sig[p] for p in others]))
    grid = _Grid.build(
        w.t_visit,
        w.on_visit,
        np.concatenate([w.t_fit, w.t_test]),
        _LV_STEP if m == "lotka_volterra" else None,
    )
    fit = _map_fit(model, grid, w.t_fit, w.ly_fit, w.cens_fit, llim, mean, sd, s_pop, starts=[mean])
    if fit.status != "ok":
        return None, nan, nan, fit.reason, (), {}
    n = int((~w.cens_fit).sum())
    s_post = math.sqrt((n * fit.sigma**2 + _NU_SIGMA * s_pop**2) / (n + _NU_SIGMA))
    # refit with the patient's shrunk residual sd (the prior weighs against it)
    fit2 = _map_fit(
        model, grid, w.t_fit, w.ly_fit, w.cens_fit, llim, mean, sd, s_post, starts=[fit.z]
    )
    if fit2.status == "ok":
        fit = fit2
    idx = grid.index(w.t_test)
    pred = model.predict(fit.z[None, :], grid)[0, idx]
    cov = 0.5 * (fit.cov + fit.cov.T)
    draws = gen.multivariate_normal(fit.z, cov, size=n_draws, method="eigh", check_valid="ignore")
    draws = np.clip(draws, model.lower, model.upper)
    sims = model.predict(draws, grid)[:, idx] + gen.normal(0, s_post, (n_draws, idx.size))
    lo, hi = np.quantile(sims, q, axis=0)
    params = dict(zip(model.params, map(float, fit.z), strict=True))
    return pred, lo, hi, "", fit.at_bound, params


def plot_psa_forecast(
    evaluation: PsaForecastEvaluation,
    patient: Any,
    *,
    cycles_fit: int = 2,
    models: Sequence[str] | None = None,
) -> Any:
    """Observed log PSA of one patient, the forecasts of cycle ``k + 1`` with their intervals
    and the two naive baselines (plotly; takes the result, recomputes nothing).

    Examples
    --------
    >>> ev = evaluate_psa_forecasts(fetch_bruchovsky_psa(), cycles_fit=2)  # doctest: +SKIP
    >>> fig = plot_psa_forecast(ev, 1)  # doctest: +SKIP
    """
    import plotly.graph_objects as go

    d = evaluation.data[evaluation.data["patient"] == patient].sort_values("day")
    f = evaluation.forecasts
    if d.empty or f.empty:
        raise InputError(f"patient {patient!r} is not in this evaluation")
    f = f[(f["patient"] == patient) & (f["cycles_fit"] == cycles_fit)]
    if f.empty:
        raise InputError(f"no scored forecast of patient {patient!r} from {cycles_fit} cycles")
    fig = go.Figure()
    d = d[d["psa"] > 0]
    train = d["cycle"] <= cycles_fit
    for sel, name, sym in ((train, "observed (fitted)", "circle"), (~train, "observed", "x")):
        fig.add_trace(
            go.Scatter(
                x=d["day"][sel],
                y=np.log(d["psa"][sel]),
                mode="markers",
                name=name,
                marker={"symbol": sym, "color": "black"},
            )
        )
    for m, g in f.groupby("model", sort=False):
        if models is not None and m not in models:
            continue
        fig.add_trace(go.Scatter(x=g["day"], y=g["forecast"], mode="lines", name=str(m)))
        lo, hi = (
            ("lower_conformal", "upper_conformal") if "lower_conformal" in g else ("lower", "upper")
        )
        if g[lo].notna().all():
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([g["day"], g["day"][::-1]]),
                    y=np.concatenate([g[hi], g[lo][::-1]]),
                    fill="toself",
                    opacity=0.2,
                    line={"width": 0},
                    name=f"{m} {int(evaluation.level * 100)}% interval",
                )
            )
    g0 = f.drop_duplicates("day")
    for b in ("lvcf", "trend"):
        fig.add_trace(go.Scatter(x=g0["day"], y=g0[b], mode="lines", name=b, line={"dash": "dot"}))
    fig.update_layout(
        title=f"patient {patient}: cycle {cycles_fit + 1} forecast from cycles 1-{cycles_fit}",
        xaxis_title="day",
        yaxis_title="log PSA",
    )
    return fig
