"""Chou–Talalay combination index (Chou 2006, Pharmacol Rev 58:621).

Median-effect equation per drug: ``log(fa / (1 - fa)) = m log D - m log Dm``, fitted by
least squares on the single-agent doses (closed form, batched over blocks). The dose of
drug ``i`` alone giving effect ``fa`` is ``Dx_i = Dm_i (fa / (1 - fa))^(1/m_i)``.

* Per well (non-constant ratio): ``CI = d1 / Dx1(fa) + d2 / Dx2(fa)`` with ``fa`` the observed
  effect; the surface reported is ``-log10(CI)`` (positive = synergy, 0 = additive). Wells whose
  ``fa`` is outside (0.01, 0.99) have no CI (NaN) and are counted (``n_wells_no_ci``).
* At ED50/75/90: the median-effect equation is fitted to the diagonal ray of the matrix
  (``d1 = conc1[k], d2 = conc2[k]``) on the total dose; ``CI_x = p1 Dx_comb / Dx1 +
  p2 Dx_comb / Dx2`` with ``p_i`` the median dose fraction along the ray, and the dose-reduction
  index ``DRI_i = Dx_i / (p_i Dx_comb)``.
"""

from __future__ import annotations

import numpy as np

from ._batch import BlockBatch
from ._registry import ModelOutput, SynergyModel, combination_mask, ok_status, register_model

__all__ = ["ChouTalalay", "median_effect_fit"]

_FA_LO, _FA_HI = 0.01, 0.99


def median_effect_fit(dose: np.ndarray, fa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Batched median-effect fits: ``(m, log Dm)`` per row of ``dose``/``fa`` (n, p).

    Points with dose 0, NaN or ``fa`` outside (0.01, 0.99) are left out; rows with fewer
    than two usable points or a non-positive slope give NaN.

    >>> d = np.array([[0.5, 1.0, 2.0, 4.0]]); fa = d**2 / (1 + d**2)   # Dm = 1, m = 2
    >>> m, ldm = median_effect_fit(d, fa)
    >>> round(float(m[0]), 6), round(abs(float(ldm[0])), 6)
    (2.0, 0.0)
    """
    ok = (dose > 0) & np.isfinite(fa) & (fa > _FA_LO) & (fa < _FA_HI)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(ok, np.log(np.where(ok, dose, 1.0)), 0.0)
        z = np.where(ok, np.log(np.where(ok, fa / (1 - fa), 1.0)), 0.0)
    cnt = ok.sum(axis=1)
    sx, sz = x.sum(axis=1), z.sum(axis=1)
    sxx, sxz = (x * x).sum(axis=1), (x * z).sum(axis=1)
    den = cnt * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (cnt * sxz - sx * sz) / den
        c = (sz - m * sx) / cnt
        log_dm = -c / m
    good = (cnt >= 2) & (np.abs(den) > 1e-12) & (m > 0)
    return np.where(good, m, np.nan), np.where(good, log_dm, np.nan)


def _log_dx(fa: np.ndarray, m: np.ndarray, log_dm: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return log_dm + np.log(fa / (1 - fa)) / m


@register_model
class ChouTalalay(SynergyModel):
    """Chou–Talalay combination index; the surface is ``-log10(CI)`` per well."""

    name = "ci"
    label = "Chou–Talalay CI"
    units = "-log10(combination index)"
    null_tolerance = 0.05
    uses_single_fits = True

    def surface(self, batch: BlockBatch) -> ModelOutput:
        n, n1, n2 = batch.mean.shape
        y = batch.mean
        m1, ldm1 = median_effect_fit(batch.conc1[:, 1:], y[:, 1:, 0])
        m2, ldm2 = median_effect_fit(batch.conc2[:, 1:], y[:, 0, 1:])
        fa = y
        valid = combination_mask((n1, n2)) & (fa > _FA_LO) & (fa < _FA_HI)
        fa_c = np.where(valid, fa, 0.5)
        lx1 = _log_dx(fa_c, m1[:, None, None], ldm1[:, None, None])
        lx2 = _log_dx(fa_c, m2[:, None, None], ldm2[:, None, None])
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            ci = batch.conc1[:, :, None] / np.exp(lx1) + batch.conc2[:, None, :] / np.exp(lx2)
            surf = -np.log10(ci)
        surf = np.where(valid & np.isfinite(surf), surf, np.nan)
        surf = np.where(combination_mask((n1, n2)), surf, 0.0)
        # diagonal ray for CI at ED50/75/90 and the dose-reduction index
        k = min(n1, n2)
        d1 = batch.conc1[:, 1:k]
        d2 = batch.conc2[:, 1:k]
        diag = y[:, np.arange(1, k), np.arange(1, k)]
        tot = d1 + d2
        mc, ldmc = median_effect_fit(tot, diag)
        p1 = np.median(d1 / tot, axis=1)
        p2 = 1.0 - p1
        extra: dict[str, np.ndarray] = {
            "m1": m1,
            "dm1": np.exp(ldm1),
            "m2": m2,
            "dm2": np.exp(ldm2),
            "n_wells_no_ci": (combination_mask((n1, n2)) & ~np.isfinite(surf)).sum(axis=(1, 2)),
        }
        for level in (0.5, 0.75, 0.9):
            fa_l = np.full(n, level)
            lc = _log_dx(fa_l, mc, ldmc)
            l1 = _log_dx(fa_l, m1, ldm1)
            l2 = _log_dx(fa_l, m2, ldm2)
            with np.errstate(over="ignore", invalid="ignore"):
                ci_l = p1 * np.exp(lc - l1) + p2 * np.exp(lc - l2)
                tag = f"ed{round(level * 100)}"
                extra[f"ci_{tag}"] = ci_l
                extra[f"dri1_{tag}"] = np.exp(l1 - lc) / p1
                extra[f"dri2_{tag}"] = np.exp(l2 - lc) / p2
        status, reason = ok_status(n)
        no1 = ~np.isfinite(m1)
        no2 = ~np.isfinite(m2)
        status[no1 | no2] = "failed"
        reason[no1] = "drug 1 alone: fewer than 2 doses with 0.01 < fa < 0.99 or no dose effect"
        reason[no2 & ~no1] = (
            "drug 2 alone: fewer than 2 doses with 0.01 < fa < 0.99 or no dose effect"
        )
        none = ~np.isfinite(surf[:, 1:, 1:]).any(axis=(1, 2)) & ~(no1 | no2)
        status[none] = "failed"
        reason[none] = "no combination well with 0.01 < fa < 0.99"
        return ModelOutput(surf, None, extra=extra, status=status, reason=reason)
