"""Batched fitting of many dose-response curves: :func:`fit_curves` and :class:`CurveFitArrays`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from .._results import ResultMixin
from .._special import f_sf
from ..errors import InputError
from ._executors import Executor, ThreadExecutor, resolve_executor
from ._lm import CODE_TEXT, MAX_ITER, NONFINITE, grid_start, levenberg_marquardt
from ._lm_numba import HAVE_NUMBA, lm_loglogistic
from ._models import CurveModel, get_model

__all__ = ["LOSSES", "CurveFitArrays", "fit_curves", "predict"]

#: Loss functions: ordinary least squares, or robust losses solved by IRLS.
LOSSES = ("linear", "soft_l1", "huber", "cauchy")
_HUBER_K = 1.345  # 95 % efficiency under normal errors
_MAD = 1.4826  # MAD -> standard deviation under normal errors


@dataclass(frozen=True, eq=False)
class CurveFitArrays(ResultMixin):
    """Per-curve results of :func:`fit_curves`, as aligned arrays (one entry per input row).

    Attributes
    ----------
    model, param_names
        The model name and the names of the columns of ``params``.
    params, stderr, covariance
        Estimates ``(n, k)``, their standard errors ``(n, k)`` and covariance ``(n, k, k)``
        (NaN for curves not fitted).
    sse, sse_flat, pvalue_flat
        Residual sum of squares of the model and of the flat (constant mean) null model, and the
        extra-sum-of-squares F-test p-value of the model against the flat model.
    n_points, n_doses, min_log_conc, max_log_conc
        Valid points, distinct concentrations and the tested ln-concentration range.
    n_iter, converged, status, reason
        Iterations, convergence flag, ``"ok" | "flat" | "constant" | "failed" |
        "insufficient_data" | "underdetermined"`` and a reason text (empty when there is
        nothing to say). ``constant``: every response is the same number, so there is nothing to
        fit (the F-test against a flat line would divide 0 by 0). ``underdetermined``: fitted
        (``min_doses``) although it has no more points, or fewer distinct concentrations, than
        free parameters; the estimates rest on the bounds.
    lower, upper
        The box each curve was fitted in ``(n, k)``; a parameter with ``lower == upper`` was
        held fixed at that value (not counted as free).
    """

    model: str
    param_names: tuple[str, ...]
    params: np.ndarray
    stderr: np.ndarray
    covariance: np.ndarray
    sse: np.ndarray
    sse_flat: np.ndarray
    pvalue_flat: np.ndarray
    n_points: np.ndarray
    n_doses: np.ndarray
    min_log_conc: np.ndarray
    max_log_conc: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    loss: str = "linear"
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sse)

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def curve_params(self) -> dict[str, np.ndarray]:
        """``hill_slope, bottom, top, ln_ec50`` arrays of the fitted log-logistic curves."""
        return get_model(self.model).curve_params(self.params)

    def at_bound(self, rtol: float = 5e-3) -> np.ndarray:
        """``(n, k)`` True where a free estimate ends on (within ``rtol`` of the box width of) a
        finite bound of its box: the data do not determine it."""
        if self.lower is None or self.upper is None:
            return np.zeros(self.params.shape, dtype=bool)
        lo, hi, p = self.lower, self.upper, self.params
        with np.errstate(invalid="ignore"):
            tol = rtol * np.where(np.isfinite(hi - lo), hi - lo, np.maximum(1.0, np.abs(p)))
            return (lo < hi) & ((p - lo <= tol) | (hi - p <= tol))

    def take(self, index: np.ndarray) -> CurveFitArrays:
        """The results of the curves ``index`` (integer or boolean array)."""
        kw = {}
        for f in fields(self):
            v = getattr(self, f.name)
            kw[f.name] = v[index] if isinstance(v, np.ndarray) else v
        return CurveFitArrays(**kw)

    def to_frame(self) -> pd.DataFrame:
        """One row per curve: status, parameters, standard errors and fit statistics."""
        cols: dict[str, Any] = {"model": self.model, "status": self.status, "reason": self.reason}
        for j, name in enumerate(self.param_names):
            cols[name] = self.params[:, j]
        for j, name in enumerate(self.param_names):
            cols[f"{name}_se"] = self.stderr[:, j]
        for name in ("sse", "sse_flat", "pvalue_flat", "n_points", "n_doses"):
            cols[name] = getattr(self, name)
        cols["min_log_conc"] = self.min_log_conc
        cols["max_log_conc"] = self.max_log_conc
        cols["n_iter"] = self.n_iter
        cols["converged"] = self.converged
        return pd.DataFrame(cols)

    def summary(self) -> str:
        """One line: curves, model, loss and how many curves have each status."""
        counts = ", ".join(f"{v} {k}" for k, v in pd.Series(self.status).value_counts().items())
        return f"CurveFitArrays: {len(self)} curves, model {self.model}, loss {self.loss}; {counts}"

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}: {v}" for k, v in pd.Series(self.status).value_counts().items())
        return f"CurveFitArrays(model={self.model!r}, n={len(self)}, {counts})"


@dataclass(frozen=True)
class _Options:
    model: str
    loss: str
    bounds: tuple[tuple[str, float | np.ndarray, float | np.ndarray], ...]
    f_scale: float | None
    n_starts: int
    flat_alpha: float
    covariance: str
    max_iter: int
    engine: str
    n_threads: int | None = None
    n_irls: int = 10
    min_doses: int | None = None


def predict(model: str | CurveModel, log_conc: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Model responses at natural-log concentrations for ``params``.

    ``log_conc`` is ``(n, m)`` or ``(m,)`` (shared by all curves); ``params`` is ``(n, k)``
    or ``(k,)`` for one curve.

    Examples
    --------
    >>> import numpy as np
    >>> predict("ll4", np.log([0.1, 1.0, 10.0]), np.array([1.0, 0.0, 1.0, 0.0])).round(3)
    array([[0.909, 0.5  , 0.091]])
    """
    m = get_model(model)
    p = np.atleast_2d(np.asarray(params, dtype=float))
    x = np.asarray(log_conc, dtype=float)
    x = np.broadcast_to(x, (p.shape[0], x.shape[-1])) if x.ndim == 1 else x
    if p.shape[1] != m.n_params:
        raise InputError(
            f"model {m.name!r} has {m.n_params} parameters {m.param_names}; got {p.shape[1]}"
        )
    return m.f(np.ascontiguousarray(x), p)


def _as_2d(a: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric array (NaN for missing points): {exc}") from exc
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_curves, n_points); got shape {arr.shape}")
    return arr


def _bounds_tuple(model: CurveModel, bounds: Mapping[str, Any] | None):
    if bounds is None:
        return ()
    out = []
    for name, pair in bounds.items():
        if name not in model.param_names:
            raise InputError(
                f"bounds: model {model.name!r} has no parameter {name!r}; "
                f"use {', '.join(model.param_names)}"
            )
        try:
            lo, hi = pair
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"bounds[{name!r}] must be a (lower, upper) pair; got {pair!r}"
            ) from exc
        lo = -np.inf if lo is None else np.asarray(lo, dtype=float)
        hi = np.inf if hi is None else np.asarray(hi, dtype=float)
        if np.any(np.asarray(lo) > np.asarray(hi)):
            raise InputError(f"bounds[{name!r}]: lower bound above upper bound")
        out.append((name, lo, hi))
    return tuple(out)


def fit_curves(
    log_conc: Any,
    response: Any,
    *,
    model: str = "ll4",
    loss: str = "linear",
    weights: Any = None,
    bounds: Mapping[str, Any] | None = None,
    f_scale: float | None = None,
    n_starts: int = 1,
    flat_alpha: float = 0.05,
    covariance: str = "model",
    max_iter: int = 400,
    engine: str = "auto",
    chunk_size: int = 10_000,
    executor: str | Executor | None = None,
    n_threads: int | None = None,
    progress: bool = False,
    min_doses: int | None = None,
) -> CurveFitArrays:
    """Fit a dose-response model to every curve (row) at once with batched Levenberg–Marquardt.

    Parameters
    ----------
    log_conc, response
        ``(n_curves, n_points)`` arrays; ``log_conc`` is the natural log of the concentration
        in micromolar (``-inf`` for concentration 0 is allowed), NaN marks a missing point.
        ``log_conc`` may be 1-D when all curves share the doses. Non-finite responses are
        excluded and counted in ``reason``.
    model
        A name in :data:`oncoresist.curves.MODELS` (``ll4``, ``ll3``, ``ll2``, ``flat``).
    loss
        ``"linear"`` (least squares), or robust ``"soft_l1"`` / ``"huber"`` / ``"cauchy"``
        (Lorentzian, the robust fit of the ROUT method, Motulsky & Brown 2006) by iteratively
        reweighted least squares; the residual scale is ``f_scale`` or, when None, re-estimated
        at every reweighting as 1.4826 x the median absolute residual (for ``"cauchy"``: the
        68.27th percentile of the absolute residuals times N / (N - K), ROUT's RSDR).
    weights
        Optional ``(n_curves, n_points)`` non-negative weights of the squared residuals.
    bounds
        ``{param_name: (lower, upper)}`` overriding the defaults (slope within +-20, ln EC50
        within 10 ln-units of the tested range, asymptotes within one observed response range
        beyond the observed responses); scalars or per-curve arrays. Equal lower and upper
        values hold a parameter fixed (per curve, e.g. ``{"top": (v, v)}`` with an array ``v``);
        it is then not counted as free.
    n_starts
        Number of starting points per curve (the data-driven start plus fixed-slope starts
        spread over the tested range); the fit with the lowest SSE is kept.
    flat_alpha
        Curves whose F-test against the flat model has ``p > flat_alpha`` get status ``flat``.
    covariance
        ``"model"``: s^2 (J'WJ)^-1 (Gauss–Newton, as scipy ``curve_fit`` and R ``nls``);
        ``"hessian"``: s^2 H^-1 with the observed Hessian H (as R ``drc``); ``"sandwich"``:
        H^-1 (sum_i J_i r_i^2 J_i') H^-1 (HC0, as ``drc`` + ``sandwich::sandwich``);
        ``"none"``: not computed (NaN standard errors; for callers that need only the fits).
    engine
        ``"auto"`` (compiled numba engine for the log-logistic family when numba is
        installed), ``"numba"`` (that engine, one curve at a time), ``"numba_soa"`` (its
        structure-of-arrays twin: blocks of curves in lockstep, the same fits to rounding) or
        ``"numpy"``.
    chunk_size, executor, progress
        Curves are fitted ``chunk_size`` at a time (memory stays flat); ``executor`` maps the
        chunks (``"serial"``, ``"threads"``, ``"processes"`` or an object with
        ``map(func, chunks)``; None: two chunks in flight on threads, so that one chunk's
        numpy pre- and post-processing overlaps the next one's compiled fit); ``progress``
        shows a progress bar.
    n_threads
        Threads of the compiled engine within a chunk (None: numba's default, all cores).
        Results are bitwise identical for any value.
    min_doses
        None (default): a curve with fewer distinct concentrations than free parameters, or no
        more points, is not fitted (``insufficient_data``). An integer: such short series are
        fitted within the bounds whenever they have at least ``min_doses`` concentrations
        (for the 2-4 doses of a row of a combination block): fewer concentrations than free
        parameters gives status ``underdetermined``; as many points as free parameters (an
        exact fit) keeps its status, without standard errors or F-test (said in ``reason``).

    Returns
    -------
    CurveFitArrays

    Examples
    --------
    >>> import numpy as np
    >>> x = np.log(np.logspace(-2, 2, 9))
    >>> y = predict("ll4", x, [1.5, 0.1, 1.0, 0.0])
    >>> fit = fit_curves(x, y)
    >>> bool(np.allclose(fit.params, [[1.5, 0.1, 1.0, 0.0]], atol=1e-5)), fit.status[0]
    (True, 'ok')
    """
    m = get_model(model)
    if loss not in LOSSES:
        raise InputError(f"loss={loss!r} is not supported; use one of {', '.join(LOSSES)}")
    if covariance not in ("model", "hessian", "sandwich", "none"):
        raise InputError(f"covariance={covariance!r}; use 'model', 'hessian', 'sandwich' or 'none'")
    if engine not in ("auto", "numba", "numba_soa", "numpy"):
        raise InputError(f"engine={engine!r}; use 'auto', 'numba', 'numba_soa' or 'numpy'")
    if engine in ("numba", "numba_soa") and (not HAVE_NUMBA or m.ll_free is None):
        raise InputError(
            f"engine={engine!r} needs numba installed and a log-logistic model (got {m.name!r}); "
            "use engine='auto'"
        )
    if int(n_starts) < 1 or int(chunk_size) < 1 or int(max_iter) < 1:
        raise InputError("n_starts, chunk_size and max_iter must be positive integers")
    if n_threads is not None and int(n_threads) < 1:
        raise InputError(f"n_threads must be a positive integer or None; got {n_threads}")
    if min_doses is not None and int(min_doses) < 1:
        raise InputError(f"min_doses must be a positive integer or None; got {min_doses}")
    if f_scale is not None and not f_scale > 0:
        raise InputError(f"f_scale must be > 0; got {f_scale}")
    y = _as_2d(response, "response")
    x = np.asarray(log_conc, dtype=float)
    if x.ndim == 1 and x.shape[0] == y.shape[1]:
        x = np.broadcast_to(x, y.shape)
    x = _as_2d(x, "log_conc")
    if x.shape != y.shape:
        raise InputError(f"log_conc has shape {x.shape} but response has shape {y.shape}")
    w = None
    if weights is not None:
        w = np.broadcast_to(_as_2d(weights, "weights"), y.shape)
        if np.any(w[np.isfinite(w)] < 0):
            raise InputError("weights must be >= 0 (0 excludes a point)")
    opts = _Options(
        model=m.name,
        loss=loss,
        bounds=_bounds_tuple(m, bounds),
        f_scale=f_scale,
        n_starts=int(n_starts),
        flat_alpha=float(flat_alpha),
        covariance=covariance,
        max_iter=int(max_iter),
        engine=engine,
        n_threads=None if n_threads is None else int(n_threads),
        min_doses=None if min_doses is None else int(min_doses),
    )
    n = y.shape[0]
    starts = list(range(0, n, int(chunk_size))) or [0]

    def tasks() -> Iterator[tuple]:
        for s in starts:
            e = min(s + int(chunk_size), n)
            yield (x[s:e], y[s:e], None if w is None else w[s:e], opts, s)

    if executor is None and len(starts) > 1:
        # two chunks in flight: one chunk's numpy pre/post-processing (serial) overlaps the
        # next chunk's compiled fit (threaded); results do not depend on it
        ex: Executor = ThreadExecutor(max_workers=2)
    else:
        ex = resolve_executor(executor)
    results = ex.map(_fit_chunk, tasks())
    if progress:
        from .._progress import track

        results = track(results, total=len(starts), description=f"fitting {n} curves")
    parts = list(results)
    cat = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return CurveFitArrays(model=m.name, param_names=m.param_names, loss=loss, **cat)  # type: ignore[arg-type]


def _count_doses(xv: np.ndarray) -> np.ndarray:
    srt = np.sort(xv, axis=1)  # NaN last
    present = ~np.isnan(srt)
    new = present[:, 1:] & (srt[:, 1:] != srt[:, :-1])
    return present[:, 0].astype(np.int64) + new.sum(axis=1)


def _starts(m: CurveModel, x: np.ndarray, y: np.ndarray, n_starts: int, lo, hi) -> list[np.ndarray]:
    """Starting points; the first is refined by the (slope, ln EC50) start grid in ``_run_lm``."""
    if not m.sigmoid:
        return [m.start(x, y)]
    if n_starts == 1 and m.ll_free is not None:
        return [np.zeros((len(x), m.n_params))]  # the grid decides (fixed values come from m)
    p0 = m.start(x, y)
    out = [p0]
    jb = m.param_names.index("hill_slope")
    je = m.param_names.index("ln_ec50")
    xmin, xmax = lo, hi
    sign = np.where(p0[:, jb] < 0, -1.0, 1.0)
    slopes = (1.0, 3.0, 0.5, 6.0)
    for j in range(1, n_starts):
        p = p0.copy()
        p[:, jb] = sign * slopes[(j - 1) % len(slopes)]
        p[:, je] = xmin + (xmax - xmin) * (j / n_starts)
        out.append(p)
    return out


def _full_bounds(m: CurveModel, lower, upper):
    free = np.asarray(m.ll_free)
    fixed = np.asarray(m.ll_fixed, dtype=float)
    lo_f = np.tile(fixed, (len(lower), 1))
    hi_f = lo_f.copy()
    lo_f[:, free] = lower
    hi_f[:, free] = upper
    return free, lo_f, hi_f


def _run_lm(m: CurveModel, xs, ys, sw, p0, lower, upper, opts: _Options, *, grid: bool):
    """LM from ``p0``; ``grid=True`` (log-logistic models) starts from the best grid point."""
    grid = grid and m.ll_free is not None
    use_numba = m.ll_free is not None and HAVE_NUMBA and opts.engine != "numpy"
    if use_numba:
        free, lo_f, hi_f = _full_bounds(m, lower, upper)
        # a parameter fixed (lower == upper) for every curve leaves the compiled fit: cheaper
        # (one asymptote fewer in the linear step); its value comes with the start
        held = free & (lo_f >= hi_f).all(axis=0)
        p0_full = m.to_full(p0)
        p0_full[:, held] = lo_f[:, held]
        p, sse, it, code, inv = lm_loglogistic(
            xs, ys, sw, p0_full, lo_f, hi_f, free & ~held, grid=grid,
            max_iter=opts.max_iter, ftol=1e-10, xtol=1e-10, gtol=1e-8, n_threads=opts.n_threads,
            layout="soa" if opts.engine == "numba_soa" else "scalar",
        )  # fmt: skip
        fi = np.flatnonzero(free)
        return m.from_full(p), sse, it, code, inv[:, fi[:, None], fi[None, :]]
    if grid:
        free, lo_f, hi_f = _full_bounds(m, lower, upper)
        p0 = m.from_full(grid_start(xs, ys, sw, m.to_full(p0), lo_f, hi_f, free))
    res = levenberg_marquardt(m, xs, ys, sw, p0, lower, upper, max_iter=opts.max_iter)
    return res.params, res.sse, res.n_iter, res.code, None


def _canonical_sign(m: CurveModel, p: np.ndarray, lower: np.ndarray, upper: np.ndarray):
    """ll4: (b, c, d, e) and (-b, d, c, e) are one curve; report the one with bottom <= top
    (drc's convention) when the bounds allow both. Returns the parameters and the flipped rows
    (None when none was)."""
    if m.ll_free is None or not (m.ll_free[1] and m.ll_free[2]) or not m.ll_free[0]:
        return p, None
    jb, jc, jd = 0, m.param_names.index("bottom"), m.param_names.index("top")
    sym = (
        (lower[:, jc] == lower[:, jd])
        & (upper[:, jc] == upper[:, jd])
        & (lower[:, jb] == -upper[:, jb])
        & (p[:, jc] > p[:, jd])
    )
    if not sym.any():
        return p, None
    q = p.copy()
    q[sym, jb] = -p[sym, jb]
    q[sym, jc] = p[sym, jd]
    q[sym, jd] = p[sym, jc]
    return q, sym


def _flip_matrix(m: CurveModel, a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``T a T'`` for the rows flipped by :func:`_canonical_sign` (T negates the slope and swaps
    bottom and top), so a covariance follows its parameters."""
    k = m.n_params
    perm = np.arange(k)
    jc, jd = m.param_names.index("bottom"), m.param_names.index("top")
    perm[jc], perm[jd] = jd, jc
    sign = np.ones(k)
    sign[0] = -1.0
    out = a.copy()
    out[rows] = a[rows][:, perm[:, None], perm[None, :]] * (sign[:, None] * sign[None, :])
    return out


def _observed_hessian(m: CurveModel, x, y, sw, p) -> np.ndarray:
    """Half the Hessian of the weighted RSS, J'WJ - sum w r d2f, by central differences of the
    analytic gradient (drc and delicatessen use this observed information, not J'WJ)."""
    k = p.shape[1]
    h = 1e-5 * np.maximum(np.abs(p), 1e-2)
    hess = np.empty((len(p), k, k))
    w = sw * sw

    def grad(pp):
        jac = m.jac(x, pp)
        jac = np.where(np.isfinite(jac), jac, 0.0)
        r = w * (y - m.f(x, pp))
        return np.matmul(jac.transpose(0, 2, 1), r[..., None])[..., 0]

    for j in range(k):
        dp = np.zeros_like(p)
        dp[:, j] = h[:, j]
        hess[:, :, j] = -(grad(p + dp) - grad(p - dp)) / (2.0 * h[:, j : j + 1])
    return 0.5 * (hess + hess.transpose(0, 2, 1))


def rsdr(res: np.ndarray, valid: np.ndarray, k: int) -> np.ndarray:
    """Robust standard deviation of residuals (ROUT): P68.27 of |r| x N / (N - K), per row.

    The percentile interpolates linearly between order statistics (numpy's default), computed
    for all rows at once (NaN for rows without points).
    """
    a = np.sort(np.where(valid, np.abs(res), np.nan), axis=1)  # NaN sorts last
    n = valid.sum(axis=1)
    pos = np.maximum(n - 1, 0) * 0.6827
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    rows = np.arange(a.shape[0])
    frac = pos - lo
    with np.errstate(invalid="ignore"):
        p68 = a[rows, lo] * (1.0 - frac) + a[rows, hi] * frac
        out = p68 * n / np.maximum(n - k, 1)
    return np.where(n > 0, out, np.nan)


def _robust_weights(
    res: np.ndarray, valid: np.ndarray, loss: str, f_scale: float | None, k: int = 0
):
    if f_scale is None and loss == "cauchy":
        s = rsdr(res, valid, k)
        big = np.nanmax(np.where(valid, np.abs(res), np.nan), axis=1)
        scale = np.maximum(np.where(np.isfinite(s), s, 0.0), 1e-8 * (big + 1e-12))[:, None]
    elif f_scale is None:
        mad = np.nanmedian(np.where(valid, np.abs(res), np.nan), axis=1)
        scale = np.maximum(
            _MAD * mad, 1e-8 * (np.nanmax(np.where(valid, np.abs(res), np.nan), axis=1) + 1e-12)
        )
        scale = scale[:, None]
    else:
        scale = f_scale
    z = np.abs(res) / scale
    if loss == "huber":
        rw = np.where(z <= _HUBER_K, 1.0, _HUBER_K / np.maximum(z, 1e-300))
    elif loss == "cauchy":  # rho(z^2) = ln(1 + z^2), weight rho' = 1 / (1 + z^2)
        rw = 1.0 / (1.0 + z * z)
    else:  # soft_l1: rho(z^2) = 2 (sqrt(1 + z^2) - 1), weight rho' = 1 / sqrt(1 + z^2)
        rw = 1.0 / np.sqrt(1.0 + z * z)
    return np.where(valid, rw, 0.0)


def _fit_chunk(task: tuple) -> dict[str, np.ndarray]:
    x, y, w, opts, _offset = task
    m = get_model(opts.model)
    k = m.n_params
    n = y.shape[0]
    nonfinite_y = np.isinf(y) & ~np.isnan(x)
    bad_x = np.isposinf(x) & ~np.isnan(y)
    valid = ~np.isnan(x) & np.isfinite(y) & ~np.isposinf(x)
    uw = np.ones_like(y) if w is None else np.where(np.isfinite(w), w, 0.0)
    valid &= uw > 0
    n_points = valid.sum(axis=1)
    xv = np.where(valid, x, np.nan)
    n_doses = _count_doses(xv)
    fin = valid & np.isfinite(x)
    with np.errstate(invalid="ignore"):
        xmin = np.where(fin, x, np.inf).min(axis=1)
        xmax = np.where(fin, x, -np.inf).max(axis=1)
    xmin = np.where(np.isfinite(xmin), xmin, np.nan)
    xmax = np.where(np.isfinite(xmax), xmax, np.nan)

    # the box of every curve (the defaults, then the caller's); lower == upper holds a
    # parameter fixed, so it does not count as free
    lower_all, upper_all = m.default_bounds(xv, np.where(valid, y, np.nan))
    for name, lo, hi in opts.bounds:
        j = m.param_names.index(name)
        lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        lower_all[:, j] = lo_a[_offset : _offset + n] if lo_a.ndim else lo_a
        upper_all[:, j] = hi_a[_offset : _offset + n] if hi_a.ndim else hi_a
    k_free = (lower_all < upper_all).sum(axis=1)
    short = (n_points <= k_free) | (n_doses < (np.maximum(k_free, 2) if m.sigmoid else 1))
    insufficient = short.copy() if opts.min_doses is None else short & (n_doses < opts.min_doses)
    short &= ~insufficient
    fit_rows = np.flatnonzero(~insufficient)
    params = np.full((n, k), np.nan)
    cov = np.full((n, k, k), np.nan)
    sse = np.full(n, np.nan)
    n_iter = np.zeros(n, dtype=np.int32)
    code = np.full(n, -1, dtype=np.int8)
    sse_flat = np.full(n, np.nan)
    if fit_rows.size:
        xr = np.where(valid[fit_rows], x[fit_rows], 0.0)
        yr = np.where(valid[fit_rows], y[fit_rows], 0.0)
        vr = valid[fit_rows]
        ur = np.where(vr, uw[fit_rows], 0.0)
        sw = np.sqrt(ur)
        lower, upper = lower_all[fit_rows], upper_all[fit_rows]
        kf = k_free[fit_rows]
        xnan = np.where(vr, xr, np.nan)
        best = None
        first = True
        for p0 in _starts(
            m, xnan, np.where(vr, yr, np.nan), opts.n_starts, xmin[fit_rows], xmax[fit_rows]
        ):
            p0 = np.where(np.isfinite(p0), p0, 0.0)
            res = _run_lm(m, xr, yr, sw, p0, lower, upper, opts, grid=first)
            first = False
            if best is None:
                best = list(res)
            else:
                better = res[1] < best[1]
                for i in range(5):
                    b_arr = best[i]
                    if b_arr is None:
                        continue
                    best[i] = (
                        np.where(better[:, None], res[i], b_arr)
                        if b_arr.ndim == 2
                        else np.where(better[:, None, None], res[i], b_arr)
                        if b_arr.ndim == 3
                        else np.where(better, res[i], b_arr)
                    )
        assert best is not None
        p_hat, s_hat, it_hat, c_hat, inv_hat = best
        p_hat, flipped = _canonical_sign(m, p_hat, lower, upper)
        if inv_hat is not None and flipped is not None:
            inv_hat = _flip_matrix(m, inv_hat, flipped)
        sw_final = sw
        if opts.loss != "linear":
            for _ in range(opts.n_irls):
                resid = np.where(vr, yr - m.f(xr, p_hat), 0.0)
                rw = _robust_weights(resid, vr, opts.loss, opts.f_scale, k)
                sw_final = np.sqrt(ur * rw)
                p_new, _, it2, c_hat, _ = _run_lm(
                    m, xr, yr, sw_final, p_hat, lower, upper, opts, grid=False
                )
                it_hat = it_hat + it2
                step = np.max(np.abs(p_new - p_hat), axis=1)
                p_hat = p_new
                if np.all(step < 1e-8):
                    break
        fixed = lower >= upper
        fixed_all = fixed.all(axis=0)  # held out of the compiled fit (unit rows in inv_hat)
        fast = inv_hat is not None and opts.loss == "linear" and opts.covariance == "model"
        slow = ~np.isfinite(inv_hat).all(axis=(1, 2)) if fast else np.ones(len(fit_rows), bool)
        slow |= (fixed & ~fixed_all).any(axis=1)  # the kernel's inverse counts them as free
        cv = np.full((len(fit_rows), k, k), np.nan)
        if opts.covariance == "none":
            slow[:] = False
            if opts.loss != "linear":  # the SSE of the user's weights, not the robust ones
                fr = np.where(vr, yr - m.f(xr, p_hat), 0.0)
                s_hat = np.einsum("nm,nm->n", ur * fr, fr)
        elif fast:
            # the compiled engine returned the SSE and (J'WJ)^-1 at the solution
            dof = np.maximum(n_points[fit_rows] - kf, 1)
            cv[:] = inv_hat * (s_hat / dof)[:, None, None]
            cv[:, fixed_all, :] = 0.0
            cv[:, :, fixed_all] = 0.0
        if slow.any():
            sl = np.flatnonzero(slow)
            cv[sl], s_hat[sl] = _covariance(
                m, xr[sl], yr[sl], vr[sl], ur[sl], sw_final[sl], p_hat[sl],
                n_points[fit_rows][sl] - kf[sl], fixed[sl], opts,
            )  # fmt: skip
        params[fit_rows] = p_hat
        cov[fit_rows] = cv
        sse[fit_rows] = s_hat
        n_iter[fit_rows] = it_hat
        code[fit_rows] = c_hat
        # flat null model: the weighted mean
        mean = np.einsum("nm,nm->n", ur, yr) / ur.sum(axis=1)
        dev = np.where(vr, yr - mean[:, None], 0.0)
        sse_flat[fit_rows] = np.einsum("nm,nm->n", ur * dev, dev)
    out = _finish(m, opts, n, k_free, params, cov, sse, sse_flat, n_points, n_doses, xmin, xmax,
                  n_iter, code, insufficient, short, nonfinite_y, bad_x)  # fmt: skip
    out["lower"], out["upper"] = lower_all, upper_all
    return out


def _inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of each (k, k) matrix; the pseudo-inverse only for the singular ones.

    Each curve's standard errors must not depend on which other curves share its chunk (the
    chunk size and the executor change nothing): a singular matrix falls back alone.
    """
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        out = np.empty_like(a)
        for i in range(len(a)):
            try:
                out[i] = np.linalg.inv(a[i])
            except np.linalg.LinAlgError:
                out[i] = np.linalg.pinv(a[i])
        return out


def _covariance(m, xr, yr, vr, ur, sw, p_hat, dof, fixed, opts):
    """Covariance of the estimates (model-based, observed-Hessian or sandwich) and the SSE;
    ``dof`` = points - free parameters; ``fixed`` (n, k) parameters get 0 rows and columns."""
    fr = np.where(vr, yr - m.f(xr, p_hat), 0.0)
    s_hat = np.einsum("nm,nm->n", ur * fr, fr)  # sum of user-weighted squared residuals
    jac = m.jac(xr, p_hat) * sw[..., None]
    jac = np.where(np.isfinite(jac) & ~fixed[:, None, :], jac, 0.0)
    jac_t = jac.transpose(0, 2, 1)
    a_mat = np.matmul(jac_t, jac)
    rwt = sw * fr
    if opts.covariance in ("hessian", "sandwich"):
        a_mat = _observed_hessian(m, xr, yr, sw, p_hat)
    keep = (~fixed).astype(float)
    a_mat = a_mat * keep[:, :, None] * keep[:, None, :] + (1.0 - keep)[:, :, None] * np.eye(
        keep.shape[1]
    )
    bread = _inverse(a_mat) * keep[:, :, None] * keep[:, None, :]
    if opts.covariance == "sandwich":
        meat = np.matmul(jac_t * (rwt * rwt)[:, None, :], jac)
        return bread @ meat @ bread, s_hat
    dof = np.maximum(dof, 1)
    sigma2 = np.einsum("nm,nm->n", rwt, rwt) / dof
    return bread * sigma2[:, None, None], s_hat


def _finish(m, opts, n, k, params, cov, sse, sse_flat, n_points, n_doses, xmin, xmax,
            n_iter, code, insufficient, short, nonfinite_y, bad_x):  # fmt: skip
    """Statistics and status; ``k`` (n,) is the number of free parameters of each curve."""
    cov[short] = np.nan  # no residual degrees of freedom: no standard errors
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diagonal(cov, axis1=1, axis2=2).copy())
    se = np.where(np.isfinite(se), se, np.nan)
    pvalue = np.full(n, np.nan)
    df2 = n_points - k
    df1 = np.maximum(k - 1, 1)
    if m.sigmoid:
        with np.errstate(divide="ignore", invalid="ignore"):
            fstat = ((sse_flat - sse) / df1) / (sse / df2)
        fstat = np.where(sse <= 1e-300 * np.maximum(sse_flat, 1e-300), np.inf, fstat)
        fstat = np.where(short, np.nan, fstat)  # no residual degrees of freedom: no test
        pvalue = np.where(
            np.isnan(fstat), np.nan, f_sf(np.maximum(fstat, 0.0), df1, np.maximum(df2, 1))
        )
    converged = (code >= 0) & (code < MAX_ITER)
    # every response equal: SSE 0 for both models, so the F-test is 0/0, not "infinitely good"
    constant = ~insufficient & (sse_flat <= 1e-24 * np.maximum(n_points, 1))
    pvalue = np.where(constant, np.nan, pvalue)
    status, reason = _status(
        m, opts, insufficient, short, k, n_points, n_doses, code, params, pvalue, nonfinite_y, bad_x
    )
    if constant.any():
        reason = reason.copy()
        status[constant] = "constant"
        reason[constant] = (
            "every response is the same value: no dose dependence can be estimated "
            "(check that the right column was read as the response)"
        )
    return {
        "params": params,
        "stderr": se,
        "covariance": cov,
        "sse": sse,
        "sse_flat": sse_flat,
        "pvalue_flat": pvalue,
        "n_points": n_points,
        "n_doses": n_doses,
        "min_log_conc": xmin,
        "max_log_conc": xmax,
        "n_iter": n_iter,
        "converged": converged,
        "status": status,
        "reason": reason,
    }


def _status(
    m, opts, insufficient, short, k_free, n_points, n_doses, code, params, pvalue, nonfinite_y, bad_x
):  # fmt: skip
    n = len(n_points)
    status = np.full(n, "ok", dtype=object)
    reason = pd.Series([""] * n, dtype=object)
    if insufficient.any():  # the text is built only where needed (it costs on 1e5 curves)
        _insufficient_reasons(m, insufficient, k_free, n_points, n_doses, reason)
        status[insufficient] = "insufficient_data"
    if short.any():
        under = short & (n_doses < (np.maximum(k_free, 2) if m.sigmoid else 1))
        status[under] = "underdetermined"
        reason[short] = [
            f"only {p} points at {d} distinct concentrations for {kf} free parameters: "
            + (
                "the fit is not determined by the data (it rests on the bounds)"
                if d < kf
                else "an exact fit, without standard errors or F-test"
            )
            for p, d, kf in zip(n_points[short], n_doses[short], k_free[short], strict=True)
        ]
    fitted = ~insufficient
    nonfinite = fitted & ((code == NONFINITE) | ~np.isfinite(params).all(axis=1))
    flat = fitted & ~nonfinite & (pvalue > opts.flat_alpha)
    noconv = fitted & ~nonfinite & ~flat & (code == MAX_ITER)
    status[nonfinite] = "failed"
    if nonfinite.any():
        reason[nonfinite] = (
            "the fit produced non-finite values; check the responses for extreme values"
        )
    status[flat] = "flat"
    if flat.any():
        alpha = f"{opts.flat_alpha:g}"
        reason[flat] = [
            f"not better than a flat line (F-test p = {v:.3g} > {alpha}); "
            "IC50 beyond the tested range"
            for v in pvalue[flat].tolist()
        ]
    status[noconv] = "failed"
    if noconv.any():
        reason[noconv] = (
            f"{CODE_TEXT[MAX_ITER]} ({opts.max_iter}); try n_starts=3, max_iter=1000 or bounds"
        )
    nonfin_count = pd.Series(nonfinite_y.sum(axis=1) + bad_x.sum(axis=1))
    has = (nonfin_count > 0).to_numpy()
    if not has.any():
        return status, reason.to_numpy(dtype=object)
    note = nonfin_count[has].astype(str) + " non-finite value(s) excluded"
    sep = np.where(reason[has].str.len() > 0, "; ", "")
    reason[has] = reason[has] + sep + note
    return status, reason.to_numpy(dtype=object)


def _insufficient_reasons(m, insufficient, k_free, n_points, n_doses, reason):
    """Fill ``reason`` (a Series) for the curves with too few points or doses."""
    k = int(k_free[insufficient].max()) if insufficient.any() else m.n_params
    nf = pd.Series(np.where(insufficient, n_points, 0)).astype(str)
    nd = pd.Series(np.where(insufficient, n_doses, 0)).astype(str)
    empty = n_points == 0
    single = (n_doses == 1) & ~empty
    few_doses = (n_doses < k_free) & ~single & ~empty & m.sigmoid
    few_points = insufficient & ~empty & ~single & ~few_doses
    reason[empty] = "no valid points (all responses or concentrations missing or non-finite)"
    reason[single] = (
        "a single concentration ("
        + nf[single]
        + " points): a curve needs at least 2, better >= 5, "
        "distinct concentrations"
    )
    alt = "use model='ll3' or 'll2' or add concentrations" if k > 2 else "add concentrations"
    reason[few_doses] = (
        "only "
        + nd[few_doses]
        + f" distinct concentrations for the {k}-parameter {m.name} model; {alt}"
    )
    reason[few_points] = (
        "only " + nf[few_points] + f" valid points for the {k}-parameter {m.name} model "
        "(needs more points than parameters); add replicates or use a model with fewer parameters"
    )
