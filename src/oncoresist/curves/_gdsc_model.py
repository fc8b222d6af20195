"""GDSC's multilevel dose-response model (Vis et al. 2016), fitted to a whole screen at once.

Model (Vis et al. 2016, Pharmacogenomics 17(7):691-700; GDSC/gdscIC50 documentation)
-------------------------------------------------------------------------------------
Doses are put on GDSC's normalised scale ``x = x_max + log(c / c_max) / log(dilution_factor)``:
the drug's highest concentration ``c_max`` sits at ``x_max = 9`` and one unit is one two-fold
dilution step (GDSC1's 9 two-fold doses span x = 1 ... 9; GDSC2's 7 half-log doses over 1000-fold
span x = -0.97 ... 9). Viability ``y`` (normalised to the plate controls, trimmed to [0, 1] as
GDSC does) follows a two-parameter logistic with asymptotes 1 and 0::

    y = 1 - 1 / (1 + exp(-(x - xmid) / scal))        (= 1 / (1 + exp((x - xmid) / scal)))

so ``scal > 0`` is a decreasing curve and ``xmid`` is where it crosses 0.5 (the IC50). For the
curve of cell line ``i`` and drug ``j``::

    xmid_ij     = a_j + w_ij,         w_ij ~ N(0, tau^2)       position: one per curve
    log scal_ij = b + v_i,            v_i  ~ N(0, omega^2)     shape: one per cell line
    y_ijk       = f(x_ijk; xmid_ij, scal_ij) + e_ijk,   e ~ N(0, sigma^2)

with a fixed position effect ``a_j`` per drug and a fixed slope ``b`` (one for all drugs by
default; per drug with ``slope="drug"``). The slope's random effect belongs to the cell line and
is shared by all its drugs, so a curve with few informative points borrows its shape from the
line's other curves and its position from the drug's other lines.

The scale only re-labels parameters: IC50s, AUCs and fitted curves do not depend on ``x_max``
or ``dilution_factor`` (the model is equivariant under an affine change of x). GDSC's AUC, the
area under the fitted curve on the normalised scale divided by the tested range, is a ratio of
areas and therefore the same as the mean of the curve over the tested ln-concentration range
(the project's ``auc``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from .._results import ResultMixin
from ..data import Screen
from ..errors import InputError
from ._lm_numba import HAVE_NUMBA, njit
from ._metrics import auc_loglogistic, dss

__all__ = ["GdscModelFit", "fit_gdsc_model", "fit_gdsc_multilevel"]

#: Estimation method, as reported in :attr:`GdscModelFit.method`.
METHOD = (
    "Lindstrom-Bates alternation: penalised nonlinear least squares (joint damped Gauss-Newton "
    "over all curve, cell-line and drug parameters, solved by block elimination) and EM updates "
    "of the variance components from the Laplace (linearised) posterior covariance"
)

_MIN_VAR = 1e-8
#: Weakly informative priors on the fixed effects: log scal around a Hill slope of 1 (SD 3, a
#: factor of 20 either way at one SD) and a drug's mean ln IC50 around the centre of its tested
#: range (SD 7 ln units, 1000-fold). They matter only where the data say nothing (a screen of
#: flat curves, whose fixed effects would otherwise drift without bound); on the GDSC plates
#: they move no estimate visibly (prior SDs ~100x the standard errors). Set in ln units, they
#: keep the fit independent of the dose scale.
PRIOR_SD_LOG_SCAL = 3.0
PRIOR_SD_LN_IC50 = 7.0


@dataclass(frozen=True, eq=False)
class GdscModelFit(ResultMixin):
    """Result of :func:`fit_gdsc_multilevel`: the per-curve table and the model-level estimates.

    Attributes
    ----------
    curves
        One row per (sample, drug) curve: the ``fit_screen`` columns and the shrinkage
        information (see :func:`fit_gdsc_model`).
    drugs
        One row per drug: the fixed effects (``xmid``, ``scal`` on the normalised scale, with
        standard errors; ``ln_ic50_mean`` in ln micromolar, ``hill_slope`` of a line with no
        slope effect), the between-line standard deviation of the position (``sd_xmid``, and
        ``sd_ln_ic50`` in ln units), ``max_conc`` (micromolar, at x = ``x_max``), curve counts
        and the median shrinkage of the positions.
    lines
        One row per cell line: the slope random effect ``slope_effect`` (on log ``scal``: the
        line's Hill slopes are the drug slopes times ``exp(-slope_effect)``), its posterior
        standard error and the number of fitted curves.
    residual_sd, sd_slope_effect, sd_drug_slope
        ``sigma``, ``omega`` and (``slope="shrunk"``) the between-drug SD of log scal.
    loglik, n_params
        Laplace approximation of the log marginal likelihood and the number of fixed effects
        plus variance components (``aic`` = ``2 n_params - 2 loglik``).
    n_iter, converged
        Iterations and convergence flag.
    slope, position_sd, x_max, dilution_factor, method
        The model's options, the normalised dose scale and the estimation method.
    """

    curves: pd.DataFrame
    drugs: pd.DataFrame
    lines: pd.DataFrame
    residual_sd: float
    sd_slope_effect: float
    sd_drug_slope: float
    loglik: float
    n_params: int
    n_iter: int
    converged: bool
    slope: str
    position_sd: str
    x_max: float
    dilution_factor: float
    method: str = METHOD

    @property
    def aic(self) -> float:
        """Akaike's criterion from the Laplace log-likelihood."""
        return 2.0 * self.n_params - 2.0 * self.loglik

    def to_frame(self) -> pd.DataFrame:
        """The per-curve table (a copy)."""
        return self.curves.copy()

    def _head(self) -> list[str]:
        counts = self.curves["status"].value_counts().to_dict()
        n_ext = int(self.curves["ic50_abs_extrapolated"].sum())
        drug_sd = ""
        if np.isfinite(self.sd_drug_slope):
            drug_sd += f"; between-drug sd of log scal {self.sd_drug_slope:.4f}"
        return [
            f"GDSC multilevel model (slope={self.slope!r}, position_sd={self.position_sd!r}): "
            f"{len(self.curves)} curves, {len(self.lines)} cell lines, {len(self.drugs)} drugs; "
            f"status {counts}; {n_ext} IC50s extrapolated",
            f"residual sd {self.residual_sd:.4f}; sd of the cell-line slope effect (log scal) "
            f"{self.sd_slope_effect:.4f}{drug_sd}",
            f"{'converged' if self.converged else 'NOT converged'} after {self.n_iter} "
            f"iterations; Laplace log-likelihood {self.loglik:.2f}, AIC {self.aic:.2f} "
            f"({self.n_params} parameters)",
            f"dose scale: x = {self.x_max:g} + log(c / c_max) / log({self.dilution_factor:g})",
        ]

    def summary(self) -> str:
        """One line: curves, lines, drugs, statuses, convergence and AIC."""
        counts = self.curves["status"].value_counts().to_dict()
        st = ", ".join(f"{v} {k}" for k, v in counts.items())
        conv = "converged" if self.converged else "NOT converged"
        return (
            f"GdscModelFit (slope={self.slope!r}): {len(self.curves)} curves, "
            f"{len(self.lines)} cell lines, {len(self.drugs)} drugs ({st}); {conv} after "
            f"{self.n_iter} iterations, AIC {self.aic:.2f}"
        )

    def describe(self) -> str:
        """Text: options, variance components, convergence, fit criteria, drug table."""
        table = self.drugs.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return "\n".join([*self._head(), f"method: {self.method}", table])

    def __repr__(self) -> str:
        return (
            f"GdscModelFit({len(self.curves)} curves, {len(self.lines)} lines, "
            f"{len(self.drugs)} drugs, slope={self.slope!r}, converged={self.converged}, "
            f"n_iter={self.n_iter})"
        )


def _gdsc_inputs(screen: Screen):
    """Flattened points of the fitted curves and the per-curve bookkeeping."""
    from ._screen_fit import curve_arrays

    keys, lx, y = curve_arrays(screen)
    valid = np.isfinite(lx) & np.isfinite(y)
    n_points = valid.sum(axis=1)
    lx_v = np.where(valid, lx, np.nan)
    with np.errstate(invalid="ignore"):
        lo = np.nanmin(np.where(valid, lx, np.inf), axis=1)
        hi = np.nanmax(np.where(valid, lx, -np.inf), axis=1)
    srt = np.sort(lx_v, axis=1)
    n_doses = (np.isfinite(srt) & ~np.isclose(srt, np.roll(srt, 1, axis=1))).sum(axis=1)
    n_doses = np.where(n_points > 0, np.maximum(n_doses, 1), 0)
    n_bad_y = (np.isfinite(lx) & ~np.isfinite(y)).sum(axis=1)
    return keys, lx, y, valid, n_points, n_doses, lo, hi, n_bad_y


@njit(cache=True)
def _expit_neg(z):
    """1 / (1 + exp(z)) without overflow."""
    if z >= 0.0:
        e = math.exp(-z)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(z))


@njit(cache=True)
def _raw_kernel(x, y, cidx, xmid, s_inv, out):
    """One pass over the points: per-curve sums of J'J, J'r and r'r into ``out`` (6, C)."""
    for k in range(x.size):
        c = cidx[k]
        z = (x[k] - xmid[c]) * s_inv[c]
        f = _expit_neg(z)
        r = y[k] - f
        q = f * (1.0 - f)
        jx = q * s_inv[c]
        jl = q * z
        out[0, c] += jx * jx
        out[1, c] += jx * jl
        out[2, c] += jl * jl
        out[3, c] += r * jx
        out[4, c] += r * jl
        out[5, c] += r * r


@njit(cache=True)
def _ssr_kernel(x, y, cidx, xmid, s_inv):
    total = 0.0
    for k in range(x.size):
        c = cidx[k]
        r = y[k] - _expit_neg((x[k] - xmid[c]) * s_inv[c])
        total += r * r
    return total


@dataclass
class _VC:
    sigma2: float
    tau2: np.ndarray  # per drug (equal entries when pooled)
    omega2: float
    kappa2: float = 1.0  # between-drug variance of the slope effects (slope="shrunk")

    def to_log(self) -> np.ndarray:
        return np.log(np.concatenate([[self.sigma2], self.tau2, [self.omega2, self.kappa2]]))

    @classmethod
    def from_log(cls, z: np.ndarray) -> _VC:
        e = np.maximum(np.exp(z), _MIN_VAR)
        return cls(sigma2=float(e[0]), tau2=e[1:-2], omega2=float(e[-2]), kappa2=float(e[-1]))

    def rel_change(self, other: _VC) -> float:
        """Largest change of a standard deviation, relative to it; SDs of random effects count
        from 0.01 up, so that one collapsing towards 0 (an effect the data do not support)
        stops the iterations once it is negligible instead of crawling for ever (EM)."""

        def rel(new, old, floor):
            return float(np.max(np.abs(np.sqrt(new) - np.sqrt(old)) / (np.sqrt(old) + floor)))

        return max(
            rel(other.sigma2, self.sigma2, 0.0),
            rel(other.tau2, self.tau2, 0.01),
            rel(other.omega2, self.omega2, 0.01),
            rel(other.kappa2, self.kappa2, 0.01),
        )


class _Problem:
    """Points, index maps and the pieces of the Gauss-Newton system of the penalised objective.

    State ``(xmid, v, g)``: ``xmid`` per curve, ``v`` per cell line and the global vector
    ``g = [b (n_b slope effects), a (J drug positions), beta0 (slope="shrunk" only)]``.
    """

    def __init__(
        self, x, y, cidx, lc, dc, bi, n_lines, n_drugs, *, shrunk, pooled_tau, centre, x_unit
    ):
        self.x, self.y, self.cidx = x, y, cidx
        self.lc, self.dc, self.bi = lc, dc, bi
        self.C, self.L, self.J = len(lc), n_lines, n_drugs
        self.nb = int(bi.max()) + 1
        self.shrunk, self.pooled_tau = shrunk, pooled_tau
        # fused compiled passes over the points when numba is there (same sums, one pass)
        self.compiled = HAVE_NUMBA
        self.k = self.nb + n_drugs + (1 if shrunk else 0)
        self.n_curves_drug = np.bincount(dc, minlength=n_drugs).astype(float)
        # diagonal Gaussian prior on g: b (or beta0 when shrunk) and a; x_unit = ln(dilution)
        self.g_mean = np.zeros(self.k)
        self.g_prec = np.zeros(self.k)
        self.g_mean[self.nb : self.nb + n_drugs] = centre
        self.g_prec[self.nb : self.nb + n_drugs] = (PRIOR_SD_LN_IC50 / x_unit) ** -2.0
        slope_fx = self.k - 1 if shrunk else slice(0, self.nb)
        self.g_mean[slope_fx] = -np.log(x_unit)  # scal of a Hill slope of 1 per ln unit
        self.g_prec[slope_fx] = PRIOR_SD_LOG_SCAL**-2.0

    def split(self, g):
        nb, J = self.nb, self.J
        return g[:nb], g[nb : nb + J], (g[nb + J] if self.shrunk else 0.0)

    def _csum(self, w):
        return np.bincount(self.cidx, weights=w, minlength=self.C)

    def log_scal(self, st):
        _, v, g = st
        return self.split(g)[0][self.bi] + v[self.lc]

    def predict(self, st):
        z = (self.x - st[0][self.cidx]) * np.exp(-self.log_scal(st))[self.cidx]
        return special.expit(-z), z

    def ssr(self, st) -> float:
        if self.compiled:
            return float(_ssr_kernel(self.x, self.y, self.cidx, st[0], np.exp(-self.log_scal(st))))
        f, _ = self.predict(st)
        return float(np.sum((self.y - f) ** 2))

    def objective(self, st, vc: _VC, *, ssr=None, fixed_prior: bool = True) -> float:
        """Penalised objective; ``ssr`` (the residual sum of squares at ``st``) if known."""
        xmid, v, g = st
        b, a, beta0 = self.split(g)
        ssr = self.ssr(st) if ssr is None else float(ssr)
        pen = np.sum((xmid - a[self.dc]) ** 2 / vc.tau2[self.dc]) + np.sum(v**2) / vc.omega2
        if self.shrunk:
            pen += np.sum((b - beta0) ** 2) / vc.kappa2
        if fixed_prior:
            pen += np.sum(self.g_prec * (g - self.g_mean) ** 2)
        return 0.5 * (ssr / vc.sigma2 + pen)

    def raw(self, st):
        """Per-curve sums of J'J and J'r (data part, sigma^2 = 1) at the state ``st``."""
        if self.compiled:
            out = np.zeros((6, self.C))
            _raw_kernel(self.x, self.y, self.cidx, st[0], np.exp(-self.log_scal(st)), out)
            return dict(zip(("xx", "xl", "ll", "rx", "rl", "ssr"), out, strict=True))
        f, z = self.predict(st)
        r = self.y - f
        q = f * (1.0 - f)
        jx = q * np.exp(-self.log_scal(st))[self.cidx]  # d f / d xmid
        jl = q * z  # d f / d log scal (for v and b alike)
        cs = self._csum
        return {
            "xx": cs(jx * jx),
            "xl": cs(jx * jl),
            "ll": cs(jl * jl),
            "rx": cs(r * jx),
            "rl": cs(r * jl),
            "ssr": cs(r * r),
        }

    def system(self, st, raw, vc: _VC, lam: float):
        """Block elimination of the damped Gauss-Newton system ``H step = -grad``.

        The curve positions (xmid) are eliminated first, then the cell lines (v); what
        remains is the small dense system of the global parameters. Returns the step and,
        for ``lam = 0``, the pieces of the posterior covariance (the inverse of the undamped
        H) and the log-determinant of the random effects' block.
        """
        xmid, v, g = st
        b, a, beta0 = self.split(g)
        lc, dc, bi, J, L, nb, k = self.lc, self.dc, self.bi, self.J, self.L, self.nb, self.k
        s2, tau2 = vc.sigma2, vc.tau2[dc]
        damp = 1.0 + lam
        hxx = raw["xx"] / s2 + 1.0 / tau2
        d_c = hxx * damp
        p_c = raw["xl"] / s2  # couples xmid_c with v_i and with b (same Jacobian)
        q_c = raw["ll"] / s2
        gx = -raw["rx"] / s2 + (xmid - a[dc]) / tau2
        gl = -raw["rl"] / s2
        hvv = (np.bincount(lc, weights=q_c, minlength=L) + 1.0 / vc.omega2) * damp
        gv = np.bincount(lc, weights=gl, minlength=L) + v / vc.omega2
        # global block before elimination: data part of b, prior part of a (and beta0)
        g_mat = np.zeros((k, k))
        g_vec = np.zeros(k)
        ib, ia = np.arange(nb), nb + np.arange(J)
        g_mat[ib, ib] = np.bincount(bi, weights=q_c, minlength=nb)
        g_vec[ib] = np.bincount(bi, weights=gl, minlength=nb)
        g_mat[ia, ia] = self.n_curves_drug / vc.tau2
        g_vec[ia] = -np.bincount(dc, weights=(xmid - a[dc]) / tau2, minlength=J)
        if self.shrunk:
            i0 = k - 1
            g_mat[ib, ib] += 1.0 / vc.kappa2
            g_mat[i0, i0] = nb / vc.kappa2
            g_mat[ib, i0] = g_mat[i0, ib] = -1.0 / vc.kappa2
            g_vec[ib] += (b - beta0) / vc.kappa2
            g_vec[i0] = -np.sum(b - beta0) / vc.kappa2
        g_mat[np.arange(k), np.arange(k)] += self.g_prec
        g_vec += self.g_prec * (g - self.g_mean)
        g_mat[np.arange(k), np.arange(k)] *= damp
        # eliminate the curves: xmid_c couples with v_i and b through p_c, with a_j via -1/tau2
        pd_ = p_c / d_c
        hvv_r = hvv - np.bincount(lc, weights=p_c * pd_, minlength=L)
        gv_r = gv - np.bincount(lc, weights=pd_ * gx, minlength=L)
        hvb = q_c - p_c * pd_
        hva = pd_ / tau2
        g_mat[ib, ib] -= np.bincount(bi, weights=p_c * pd_, minlength=nb)
        g_mat[ia, ia] -= np.bincount(dc, weights=1.0 / (tau2 * tau2 * d_c), minlength=J)
        cross = np.bincount(bi * J + dc, weights=hva, minlength=nb * J).reshape(nb, J)
        g_mat[:nb, nb : nb + J] += cross
        g_mat[nb : nb + J, :nb] += cross.T
        g_vec[ib] -= np.bincount(bi, weights=pd_ * gx, minlength=nb)
        g_vec[ia] += np.bincount(dc, weights=gx / (tau2 * d_c), minlength=J)
        # eliminate the cell lines: h holds each line's coupling with the global parameters
        h = np.zeros((L, k))
        h[:, :nb] = np.bincount(lc * nb + bi, weights=hvb, minlength=L * nb).reshape(L, nb)
        h[lc, nb + dc] = hva
        hs = h / hvv_r[:, None]
        g_mat -= h.T @ hs
        g_vec -= hs.T @ gv_r
        try:
            step_g = -np.linalg.solve(g_mat, g_vec)
        except np.linalg.LinAlgError:
            step_g = -np.linalg.lstsq(g_mat, g_vec, rcond=None)[0]
        step_v = -(gv_r + h @ step_g) / hvv_r
        step_b, step_a = step_g[:nb], step_g[nb : nb + J]
        step_x = -(gx + p_c * (step_v[lc] + step_b[bi]) - step_a[dc] / tau2) / d_c
        step = (step_x, step_v, step_g)
        if lam != 0.0:
            return step, None
        c_g = np.linalg.pinv(g_mat)
        hc = h @ c_g
        var_v = 1.0 / hvv_r + np.einsum("ij,ij->i", hc, h) / hvv_r**2
        cov_vb = -hc[lc, bi] / hvv_r[lc]
        cov_va = -hc[lc, nb + dc] / hvv_r[lc]
        var_b, var_a, cov_ba = c_g[bi, bi], c_g[nb + dc, nb + dc], c_g[bi, nb + dc]
        # covariance of (v_i, b, a_j) times the curve's coupling k_c = (p, p, -1/tau2)
        k_a = -1.0 / tau2
        s_v = var_v[lc] * p_c + cov_vb * p_c + cov_va * k_a
        s_b = cov_vb * p_c + var_b * p_c + cov_ba * k_a
        s_a = cov_va * p_c + cov_ba * p_c + var_a * k_a
        var_x = 1.0 / d_c + (p_c * s_v + p_c * s_b + k_a * s_a) / d_c**2
        # log det of the Hessian of the random effects (curves, lines, and b when shrunk)
        logdet = float(np.sum(np.log(d_c)) + np.sum(np.log(hvv_r)))
        if self.shrunk:
            logdet += float(np.linalg.slogdet(g_mat[np.ix_(ib, ib)])[1])
        cov = {
            "var_x": var_x,
            "var_l": var_v[lc] + 2.0 * cov_vb + var_b,  # log scal = b + v
            "cov_xl": -(s_v + s_b) / d_c,
            "cov_xa": -s_a / d_c,
            "var_a": var_a,
            "var_v": var_v,
            "shrinkage": (1.0 / tau2) / hxx,
            "c_g": c_g,
            "logdet": logdet,
        }
        return step, cov

    def em_update(self, st, raw, cov, vc: _VC) -> _VC:
        """EM (Laplace) update of the variance components at the current modes."""
        xmid, v, g = st
        b, a, beta0 = self.split(g)
        dc = self.dc
        w = xmid - a[dc]
        ew2 = w * w + cov["var_x"] - 2.0 * cov["cov_xa"] + cov["var_a"]
        if self.pooled_tau:
            tau2 = np.full(self.J, float(np.mean(ew2)))
        else:
            tau2 = np.bincount(dc, weights=ew2, minlength=self.J) / self.n_curves_drug
        omega2 = float(np.mean(v * v + cov["var_v"]))
        trace = raw["xx"] * cov["var_x"] + 2.0 * raw["xl"] * cov["cov_xl"]
        trace = trace + raw["ll"] * cov["var_l"]
        sigma2 = float((raw["ssr"].sum() + trace.sum()) / len(self.y))
        kappa2 = vc.kappa2
        if self.shrunk:
            c_g, nb, i0 = cov["c_g"], self.nb, self.k - 1
            ib = np.arange(nb)
            var_d = c_g[ib, ib] - 2.0 * c_g[ib, i0] + c_g[i0, i0]
            kappa2 = float(np.mean((b - beta0) ** 2 + var_d))
        return _VC(
            sigma2=max(sigma2, _MIN_VAR),
            tau2=np.maximum(tau2, _MIN_VAR),
            omega2=max(omega2, _MIN_VAR),
            kappa2=max(kappa2, _MIN_VAR),
        )

    def loglik(self, st, vc: _VC, cov) -> float:
        """Laplace approximation of the log marginal likelihood (random effects integrated)."""
        ll = -0.5 * len(self.y) * np.log(2.0 * np.pi * vc.sigma2)
        ll -= self.objective(st, vc, fixed_prior=False)
        logs = float(np.sum(np.log(vc.tau2[self.dc]))) + self.L * np.log(vc.omega2)
        if self.shrunk:
            logs += self.nb * np.log(vc.kappa2)
        return float(ll - 0.5 * (logs + cov["logdet"]))

    def n_params(self) -> int:
        """Fixed effects plus variance components."""
        n_tau = 1 if self.pooled_tau else self.J
        return self.k + 2 + n_tau + int(self.shrunk)


def _clip(step):
    """Limit each step (x units; log scal) so that one bad curve cannot throw the state far."""
    sx, sv, sg = step
    return np.clip(sx, -2.0, 2.0), np.clip(sv, -0.5, 0.5), np.clip(sg, -2.0, 2.0)


def _start_xmid(y, cidx, n_curves, xlo, xhi):
    """Crude per-curve start: where the points fall below 0.5, by rank on the tested range."""
    below = np.bincount(cidx, weights=(y < 0.5).astype(float), minlength=n_curves)
    n = np.bincount(cidx, minlength=n_curves).astype(float)
    frac = below / np.maximum(n, 1.0)
    return xhi - frac * (xhi - xlo) + np.where(frac == 0, 1.0, 0.0) - np.where(frac == 1, 1.0, 0.0)


def _aitken(vc: _VC, new_vc: _VC, history: list[np.ndarray]):
    """Aitken extrapolation of EM's log-variance sequence where it converges linearly.

    EM crawls when the data say little about a variance component (each update moves it by
    the same fraction): when two successive steps of a component shrink by a stable ratio r,
    the rest of the geometric series, ``step r / (1 - r)``, is added at once (at most 3 log
    units; a component heading to 0 lands on the floor). The fixed point is unchanged.
    """
    z_new = new_vc.to_log()
    history = [*history[-2:], z_new - vc.to_log()]
    if len(history) < 3:
        return new_vc, history
    d0, d1, d2 = history
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = d1 / d0, d2 / d1
    stable = (r2 > 0.5) & (r2 < 0.99999) & (np.abs(r2 - r1) < 0.005) & (np.abs(d2) > 1e-9)
    if not stable.any():
        return new_vc, history
    jump = np.where(stable, np.clip(d2 * r2 / (1.0 - r2), -3.0, 3.0), 0.0)
    return _VC.from_log(z_new + jump), []


def _fit_core(prob: _Problem, xlo, xhi, *, max_iter, tol):
    xmid = _start_xmid(prob.y, prob.cidx, prob.C, xlo, xhi)
    a = np.bincount(prob.dc, weights=xmid, minlength=prob.J) / prob.n_curves_drug
    g = prob.g_mean.copy()
    g[prob.nb : prob.nb + prob.J] = a
    st = (xmid, np.zeros(prob.L), g)
    dev = xmid - a[prob.dc]
    tau2 = np.bincount(prob.dc, weights=dev * dev, minlength=prob.J) / prob.n_curves_drug
    tau2 = np.maximum(np.full(prob.J, tau2.mean()) if prob.pooled_tau else tau2, 1.0)
    f0, _ = prob.predict(st)
    vc = _VC(sigma2=max(float(np.mean((prob.y - f0) ** 2)), 1e-4), tau2=tau2, omega2=0.1)
    lam = 1e-3
    converged = False
    n_iter = 0
    history: list[np.ndarray] = []
    raw = prob.raw(st)
    while n_iter < max_iter:
        n_iter += 1
        # generalised EM: the variance components are updated at the current modes, then one
        # damped Gauss-Newton step of the penalised least squares is taken with them
        _, cov = prob.system(st, raw, vc, 0.0)
        new_vc = prob.em_update(st, raw, cov, vc)
        d_vc = vc.rel_change(new_vc)
        new_vc, history = _aitken(vc, new_vc, history)
        vc = new_vc
        phi = prob.objective(st, vc, ssr=raw["ssr"].sum())
        max_step = 0.0
        for _ in range(30):
            step, _unused = prob.system(st, raw, vc, lam)
            step = _clip(step)
            trial = tuple(p + s for p, s in zip(st, step, strict=True))
            # the trial's sums are those of the next iteration when it is accepted
            raw_t = prob.raw(trial)
            phi_t = prob.objective(trial, vc, ssr=raw_t["ssr"].sum())
            if np.isfinite(phi_t) and phi_t <= phi:
                max_step = max(float(np.max(np.abs(s), initial=0.0)) for s in step)
                st, raw = trial, raw_t
                lam = max(lam / 3.0, 1e-9)
                break
            lam *= 4.0
        if max_step < tol and d_vc < tol:
            converged = True
            break
    _, cov = prob.system(st, raw, vc, 0.0)
    return st, vc, cov, raw, n_iter, converged


def fit_gdsc_multilevel(
    screen: Screen,
    *,
    slope: str = "common",
    position_sd: str = "common",
    x_max: float = 9.0,
    dilution_factor: float = 2.0,
    clip: bool = True,
    min_doses: int = 3,
    level: float = 0.95,
    max_iter: int = 2000,
    tol: float = 1e-5,
) -> GdscModelFit:
    """Fit GDSC's multilevel dose-response model to every curve of a screen at once.

    Implements the model of Vis et al. 2016 (see the module docstring): a two-parameter
    logistic (asymptotes 1 and 0) on GDSC's normalised dose scale, with the position ``xmid``
    per cell line x drug (random around a drug mean) and the slope ``scal`` shared by a cell
    line's curves through a cell-line random effect.

    Estimation: the Lindstrom–Bates alternation, written for batches. Given the variance
    components, the penalised nonlinear least squares problem (sum of squares / sigma^2 plus
    the Gaussian random-effect penalties) is solved over all parameters together by damped
    Gauss–Newton (Levenberg–Marquardt with step limits). Each step eliminates the curve
    positions, then the cell-line slope effects, leaving a small dense system of the drug
    effects, so a step costs a few vectorised passes over the points and no loop over curves.
    Between two steps the variance components are updated by EM from the linearised (Laplace)
    posterior covariance, which includes the uncertainty of the fixed effects (REML-like); a
    generalised EM, which converges to the same point as alternating full solves; where EM
    crawls (a variance the data barely inform), its linear convergence is extrapolated (Aitken).
    Iterations stop when the largest parameter step (x units) and the relative change of every
    variance component's SD are below ``tol``. ``loglik`` is the Laplace approximation of the
    marginal likelihood (for AIC comparisons of ``slope`` / ``position_sd`` choices). The
    per-point sums run in one compiled pass when numba is installed (numpy otherwise, same
    result to rounding).

    Differences from GDSC's R ``nlme`` fit (Vis et al. 2016; gdscIC50): (i) the cell-line
    effect acts on ``log scal`` (``scal`` stays positive; nlme models ``scal`` linearly);
    (ii) the drug means of the position are fixed effects, where nlme has a drug-level random
    effect (``position_sd="drug"`` also allows one variance per drug); (iii) no correlation
    between a line's position and slope effects (gdscIC50 estimates one for large screens);
    (iv) variance components by EM on the Laplace approximation rather than nlme's LME step
    (Newton on the profiled likelihood); (v) replicate plates are pooled into one curve per
    (sample, drug), with one maximum concentration per drug (GDSC treats each (drug, maximum
    concentration) as its own "drug"); (vi) weakly informative priors on the fixed effects
    (``PRIOR_SD_LOG_SCAL``, ``PRIOR_SD_LN_IC50``) keep screens without any response finite;
    and (vii) the model is fitted to the screen given, so the shrinkage targets are those of
    its curves, not of all of GDSC.

    Parameters
    ----------
    screen
        A normalised :class:`oncoresist.data.Screen` (``oncoresist.curves.normalise``).
        Replicate wells and plates of a (sample, drug) pair are pooled into its curve.
    slope
        Fixed part of ``log scal``: ``"common"`` (one value for all drugs, as nlme's single
        ``scal`` intercept; the default), ``"drug"`` (one fixed effect per drug) or
        ``"shrunk"`` (per drug, drawn around a common mean with an estimated between-drug
        variance; useful with many drugs). The cell-line effect is added in every case. On
        the GDSC raw plates the likelihood prefers ``"drug"`` (AIC), but its shallow slopes for
        inactive drugs extrapolate their IC50s hundreds- to thousands-fold beyond the range,
        far from GDSC2's published values, which ``"common"`` matches (median absolute
        difference of ln IC50 0.4-0.8 on the four mostly inactive drugs, against 1.1-7.5).
    position_sd
        ``"common"``: one variance of the position for all drugs (as nlme's one variance of
        the curve-level random effect; the default); ``"drug"``: one per drug.
    x_max, dilution_factor
        The normalised scale: the drug's highest concentration sits at ``x_max``; one unit is
        a dilution by ``dilution_factor``. They change the reported ``xmid``/``scal`` only.
    clip
        Trim the responses to [0, 1] before fitting, as GDSC does (gdscIC50
        ``normalizeData(trim = TRUE)``; it agrees better with GDSC2's values). Trimming
        removes part of the noise at the asymptotes, so the residual SD and the IC50
        standard errors come out too small (simulated 95% intervals of in-range IC50s
        covered 87% with trimming, 93-96% without): use ``clip=False`` for calibrated
        intervals.
    min_doses
        Curves with fewer distinct concentrations get status ``insufficient_data`` and are
        left out of the model.
    level
        Level of the IC50 confidence interval (normal quantile on ln IC50).
    max_iter, tol
        Iteration limit and tolerance.

    Returns
    -------
    GdscModelFit

    Examples
    --------
    >>> from oncoresist.data import make_screen
    >>> from oncoresist.curves import normalise
    >>> screen, truth = make_screen(n_samples=6, drugs=3, rng=0)
    >>> fit = fit_gdsc_multilevel(normalise(screen))
    >>> fit.converged, sorted(fit.curves["status"].unique())
    (True, ['ok'])
    """
    if slope not in ("common", "drug", "shrunk"):
        raise InputError(f"slope={slope!r}; use 'common', 'drug' or 'shrunk'")
    if position_sd not in ("drug", "common"):
        raise InputError(f"position_sd={position_sd!r}; use 'drug' or 'common'")
    if not (dilution_factor > 1.0) or not np.isfinite(x_max):
        raise InputError(
            f"dilution_factor must be > 1 and x_max finite; got {dilution_factor}, {x_max}"
        )
    if int(min_doses) < 2:
        raise InputError(f"min_doses must be >= 2; got {min_doses}")
    if not (0.0 < level < 1.0):
        raise InputError(f"level must be in (0, 1); got {level}")
    if int(max_iter) < 1 or not tol > 0:
        raise InputError("max_iter must be a positive integer and tol > 0")
    keys, lx, y, valid, n_points, n_doses, lo, hi, n_bad_y = _gdsc_inputs(screen)
    n = len(keys)
    drug_names = keys["drug"].astype(str).to_numpy()
    # the drug's highest concentration in the screen sits at x_max
    max_ln = pd.Series(np.where(n_points > 0, hi, -np.inf)).groupby(drug_names).transform("max")
    max_ln_c = max_ln.to_numpy(dtype=float)
    ln_df = float(np.log(dilution_factor))
    fitted = n_doses >= int(min_doses)
    rows = np.flatnonzero(fitted)

    out = _empty_frame(keys, n_points, n_doses, lo, hi)
    reason = np.full(n, "", dtype=object)
    reason[~fitted] = [
        f"{int(k)} distinct concentration(s) with a finite response; the model needs "
        f"min_doses={int(min_doses)}"
        for k in n_doses[~fitted]
    ]
    status = np.where(fitted, "ok", "insufficient_data").astype(object)
    model_kw: dict = {
        "drugs": pd.DataFrame(), "lines": pd.DataFrame(), "residual_sd": np.nan,
        "sd_slope_effect": np.nan, "sd_drug_slope": np.nan, "loglik": np.nan, "n_params": 0,
        "n_iter": 0, "converged": False,
    }  # fmt: skip
    if rows.size:
        samples_f, lc = np.unique(keys["sample"].astype(str).to_numpy()[rows], return_inverse=True)
        drugs_f, dc = np.unique(drug_names[rows], return_inverse=True)
        xs = x_max + (lx[rows] - max_ln_c[rows, None]) / ln_df
        vmask = valid[rows]
        cidx = np.nonzero(vmask)[0]
        xf, yf = xs[vmask], y[rows][vmask]
        if clip:
            yf = np.clip(yf, 0.0, 1.0)
        xlo = x_max + (lo[rows] - max_ln_c[rows]) / ln_df
        xhi = x_max + (hi[rows] - max_ln_c[rows]) / ln_df
        bi = np.zeros_like(dc) if slope == "common" else dc
        prob = _Problem(
            xf, yf, cidx, lc, dc, bi, len(samples_f), len(drugs_f),
            shrunk=slope == "shrunk", pooled_tau=position_sd == "common",
            centre=np.bincount(dc, weights=(xlo + xhi) / 2) / np.bincount(dc), x_unit=ln_df,
        )  # fmt: skip
        st, vc, cov, raw, n_iter, converged = _fit_core(
            prob, xlo, xhi, max_iter=int(max_iter), tol=float(tol)
        )
        vals = _curve_values(prob, st, vc, cov, raw, xlo, xhi, x_max, ln_df, level)
        ln_ic50 = max_ln_c[rows] + (st[0] - x_max) * ln_df
        vals.update(_ic50_values(ln_ic50, np.sqrt(np.maximum(cov["var_x"], 0.0)) * ln_df, level))
        a = prob.split(st[2])[1]
        vals["ln_ic50_prior_mean"] = max_ln_c[rows] + (a[dc] - x_max) * ln_df
        ext = (ln_ic50 < lo[rows]) | (ln_ic50 > hi[rows])
        vals["ic50_abs_extrapolated"] = vals["ic50_rel_extrapolated"] = ext
        for key, val in vals.items():
            out.loc[rows, key] = val
        fold = np.where(ln_ic50 > hi[rows], np.exp(ln_ic50 - hi[rows]), np.exp(lo[rows] - ln_ic50))
        side = np.where(ln_ic50 > hi[rows], "above the highest", "below the lowest")
        reason[rows[ext]] = [
            f"IC50 extrapolated {fr:.3g}-fold {sd} tested concentration (model-based; "
            f"shrinkage {sh:.2f})"
            for fr, sd, sh in zip(fold[ext], side[ext], cov["shrinkage"][ext], strict=True)
        ]
        drug_max = pd.Series(max_ln_c[rows]).groupby(dc).first().to_numpy()
        model_kw = {
            "drugs": _drug_table(prob, st, vc, cov, drugs_f, drug_max, ext, x_max, ln_df),
            "lines": pd.DataFrame(
                {
                    "sample": samples_f,
                    "n_curves": np.bincount(lc, minlength=len(samples_f)),
                    "slope_effect": st[1],
                    "slope_effect_se": np.sqrt(np.maximum(cov["var_v"], 0.0)),
                }
            ),
            "residual_sd": float(np.sqrt(vc.sigma2)),
            "sd_slope_effect": float(np.sqrt(vc.omega2)),
            "sd_drug_slope": float(np.sqrt(vc.kappa2)) if prob.shrunk else np.nan,
            "loglik": prob.loglik(st, vc, cov),
            "n_params": prob.n_params(),
            "n_iter": int(n_iter),
            "converged": bool(converged),
        }
        if not converged:
            status[rows] = "failed"
            reason[rows] = [
                f"the multilevel fit did not converge in max_iter={int(max_iter)} iterations"
                + (f"; {r}" if r else "")
                for r in reason[rows]
            ]
    has_bad = n_bad_y > 0
    reason[has_bad] = [
        (r + "; " if r else "") + f"{int(k)} point(s) with a non-finite response excluded"
        for r, k in zip(reason[has_bad], n_bad_y[has_bad], strict=True)
    ]
    prefix = keys["sample"].astype(str) + " / " + keys["drug"].astype(str) + ": "
    reason_s = pd.Series(reason, dtype=object)
    out["status"] = status.astype(str)
    out["reason"] = reason_s.where(reason_s.str.len() == 0, prefix + reason_s).astype(str)
    for c in ("ic50_abs_extrapolated", "ic50_rel_extrapolated"):
        out[c] = out[c].astype(bool)
    return GdscModelFit(
        curves=out,
        slope=slope,
        position_sd=position_sd,
        x_max=float(x_max),
        dilution_factor=float(dilution_factor),
        **model_kw,
    )


def _curve_values(prob, st, vc, cov, raw, xlo, xhi, x_max, ln_df, level) -> dict:
    """Per-curve metrics of the fitted curves (normalised scale -> project conventions)."""
    xmid, v = st[0], st[1]
    scal = np.exp(prob.log_scal(st))
    hill = 1.0 / (scal * ln_df)
    # AUC and DSS are ratios of areas: the same on the normalised and the ln scale
    auc = auc_loglogistic(xlo, xhi, 1.0 / scal, bottom=0.0, top=1.0, ln_ec50=xmid)
    d1, d2, d3 = dss(xlo, xhi, 1.0 / scal, bottom=0.0, top=1.0, ln_ec50=xmid)
    ssr = raw["ssr"]
    npt = np.bincount(prob.cidx, minlength=prob.C).astype(float)
    ybar = np.bincount(prob.cidx, weights=prob.y, minlength=prob.C) / npt
    sst = np.bincount(prob.cidx, weights=(prob.y - ybar[prob.cidx]) ** 2, minlength=prob.C)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - ssr / sst, np.nan)
    return {
        "hill_slope": hill,
        "top": 1.0,
        "bottom": 0.0,
        "einf": 0.0,
        "emax": special.expit(-(xhi - xmid) / scal),
        "auc": auc,
        "aa": 1.0 - auc,
        "dss1": d1,
        "dss2": d2,
        "dss3": d3,
        "r2": r2,
        "rmse": np.sqrt(ssr / npt),
        "sse": ssr,
        "xmid": xmid,
        "scal": scal,
        "ic50_shrinkage": cov["shrinkage"],
        "line_slope_effect": v[prob.lc],
    }


def _ic50_values(ln_ic50, se, level) -> dict:
    """IC50 columns: absolute = relative (asymptotes 1 and 0), never censored."""
    zq = float(stats.norm.ppf(0.5 + level / 2.0))
    with np.errstate(over="ignore"):
        ic50, lo, hi = np.exp(ln_ic50), np.exp(ln_ic50 - zq * se), np.exp(ln_ic50 + zq * se)
    out = {}
    for kind in ("abs", "rel"):
        out.update(
            {
                f"ic50_{kind}": ic50,
                f"ln_ic50_{kind}": ln_ic50,
                f"ln_ic50_{kind}_se": se,
                f"ic50_{kind}_ci_low": lo,
                f"ic50_{kind}_ci_high": hi,
            }
        )
    out["ic50_abs_fit"] = ic50
    return out


def _drug_table(prob, st, vc, cov, drugs_f, drug_max, ext, x_max, ln_df) -> pd.DataFrame:
    b, a, _ = prob.split(st[2])
    c_g = cov["c_g"]
    jj = np.arange(prob.J)
    bj = np.zeros_like(jj) if prob.nb == 1 else jj
    diag = np.maximum(np.diag(c_g), 0.0)
    return pd.DataFrame(
        {
            "drug": drugs_f,
            "max_conc": np.exp(drug_max),
            "n_curves": prob.n_curves_drug.astype(int),
            "n_extrapolated": np.bincount(
                prob.dc, weights=ext.astype(float), minlength=prob.J
            ).astype(int),
            "xmid": a,
            "xmid_se": np.sqrt(diag[prob.nb + jj]),
            "ln_ic50_mean": drug_max + (a - x_max) * ln_df,
            "sd_xmid": np.sqrt(vc.tau2),
            "sd_ln_ic50": np.sqrt(vc.tau2) * ln_df,
            "scal": np.exp(b[bj]),
            "log_scal_se": np.sqrt(diag[bj]),
            "hill_slope": 1.0 / (np.exp(b[bj]) * ln_df),
            "median_shrinkage": pd.Series(cov["shrinkage"]).groupby(prob.dc).median().to_numpy(),
        }
    )


#: Extra columns of :func:`fit_gdsc_model` after ``FIT_COLUMNS``.
GDSC_EXTRA_COLUMNS = [
    "ic50_abs_extrapolated", "xmid", "scal", "ln_ic50_prior_mean", "ic50_shrinkage",
    "line_slope_effect",
]  # fmt: skip


def _columns() -> list[str]:
    from ._screen_fit import FIT_COLUMNS

    return [*FIT_COLUMNS, *[c for c in GDSC_EXTRA_COLUMNS if c not in FIT_COLUMNS]]


def _empty_frame(keys, n_points, n_doses, lo, hi) -> pd.DataFrame:
    cols = _columns()
    n = len(keys)
    with np.errstate(over="ignore", invalid="ignore"):
        out = pd.DataFrame(
            {
                "sample": keys["sample"].to_numpy(),
                "drug": keys["drug"].to_numpy(),
                "model": "gdsc",
                "status": "",
                "reason": "",
                "n_points": n_points.astype(int),
                "n_doses": n_doses.astype(int),
                "min_conc": np.where(n_points > 0, np.exp(lo), np.nan),
                "max_conc": np.where(n_points > 0, np.exp(hi), np.nan),
            }
        )
    for c in cols:
        if c in out.columns:
            continue
        if c in ("ic50_abs_censored", "outlier_wells"):
            out[c] = ""  # never censored: extrapolated instead; no outlier test
        elif c.endswith("_extrapolated"):
            out[c] = False
        else:
            out[c] = np.full(n, np.nan)
    return out[cols]


def fit_gdsc_model(
    screen: Screen,
    *,
    slope: str = "common",
    position_sd: str = "common",
    x_max: float = 9.0,
    dilution_factor: float = 2.0,
    clip: bool = True,
    min_doses: int = 3,
    level: float = 0.95,
    max_iter: int = 2000,
    tol: float = 1e-5,
) -> pd.DataFrame:
    """Per-curve table of GDSC's multilevel model (``fit_screen(screen, model="gdsc")``).

    Fits :func:`fit_gdsc_multilevel` (all curves at once; see there for the model, the
    estimation method, its differences from GDSC's R nlme fit and the parameters) and
    returns :meth:`GdscModelFit.to_frame`; use :func:`fit_gdsc_multilevel` for the fixed
    effects, variance components and convergence information.

    Returns
    -------
    pandas.DataFrame
        One row per (sample, drug) with ``model = "gdsc"``, the ``fit_screen`` columns
        (``FIT_COLUMNS``; concentrations in micromolar, ``ln`` = natural log; NaN where a
        column does not apply, e.g. ``pvalue_flat``, ``n_outliers``) and:

        * ``ic50_abs`` / ``ln_ic50_abs``: where the fitted curve crosses 0.5 (= ``xmid``),
          never censored (``ic50_abs_censored`` is ``""``): outside the tested range it is the
          model's extrapolation, ``ic50_abs_extrapolated`` is True and ``reason`` says how far.
          ``ln_ic50_abs_se`` is the posterior standard deviation of ln IC50 from the curvature
          of the penalised objective (it includes the uncertainty of the line's slope effect
          and of the drug effects); ``ic50_abs_ci_low/high`` the normal interval at
          ``level``. With asymptotes 1 and 0 the relative IC50 is the same (``*_rel``).
        * ``hill_slope`` in the project's convention (positive = decreasing, per unit of ln
          concentration): ``1 / (scal ln(dilution_factor))``; ``top`` 1, ``bottom`` and
          ``einf`` 0; ``emax`` the fitted viability at the highest tested concentration.
        * ``auc``: mean of the fitted curve over the curve's tested range, which is GDSC's AUC
          (area on the normalised dose scale divided by the tested range; a ratio of areas,
          the same on any log-dose scale); ``aa = 1 - auc``; DSS; ``r2``, ``rmse``, ``sse``
          of the fitted (trimmed, when ``clip``) responses.
        * shrinkage: ``xmid``, ``scal`` (normalised scale), ``ln_ic50_prior_mean`` (the drug's
          mean ln IC50, towards which the position is shrunk), ``ic50_shrinkage`` (share of
          the position's precision that comes from the prior, given the slope: 0 = data
          alone, 1 = prior alone), ``line_slope_effect`` (the line's effect on log scal).
        * ``status``: ``ok``, ``insufficient_data`` (fewer than ``min_doses`` concentrations;
          not in the model) or ``failed`` (no convergence), with ``reason``.

    Examples
    --------
    >>> from oncoresist.data import make_screen
    >>> from oncoresist.curves import normalise
    >>> screen, truth = make_screen(n_samples=6, drugs=3, rng=0)
    >>> fits = fit_gdsc_model(normalise(screen))
    >>> fits.loc[0, ["model", "status", "ic50_abs_censored"]].tolist()
    ['gdsc', 'ok', '']
    """
    return fit_gdsc_multilevel(
        screen, slope=slope, position_sd=position_sd, x_max=x_max,
        dilution_factor=dilution_factor, clip=clip, min_doses=min_doses, level=level,
        max_iter=max_iter, tol=tol,
    ).to_frame()  # fmt: skip
