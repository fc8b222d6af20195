"""Bozic et al. 2013 (eLife 2:e00747): analytic probabilities and their simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import InputError
from ._presets import bozic2013_model
from ._simulate import _arrays, _per_capita, _step_branching

__all__ = ["bozic_eradication_probability", "bozic_resistance_probability", "simulate_bozic"]


def _check(m: float, b: float, d: float) -> float:
    if not (m > 0 and b > d >= 0):
        raise InputError(f"need M > 0 and b > d >= 0, got M={m}, b={b}, d={d}")
    return 1.0 - d / b


def bozic_resistance_probability(
    m: float,
    *,
    n1: int = 50,
    n2: int | None = None,
    n12: int = 0,
    b: float = 0.14,
    d: float = 0.13,
    u: float = 1e-9,
) -> float:
    """Probability that resistant cells exist when a lesion reaches ``m`` cells.

    One drug (``n2=None``): ``1 - exp(M u n1 log(s) / (1 - s))``; two drugs: ``1 - p1 p2`` with
    ``p1 = exp(M u n12 log(s)/(1-s))`` and
    ``p2 = exp(M u^2 (2 n1 n2 + n12 (n1+n2)) log(s) log(M s) / (s (1-s)))``, ``s = 1 - d/b``
    (Bozic et al. 2013, Results).

    Examples
    --------
    >>> round(bozic_resistance_probability(1e7, n1=50), 3)
    0.759
    """
    s = _check(m, b, d)
    if n2 is None:
        return -math.expm1(m * u * n1 * math.log(s) / (1 - s))
    lp1 = m * u * n12 * math.log(s) / (1 - s)
    lp2 = m * u**2 * (2 * n1 * n2 + n12 * (n1 + n2)) * math.log(s) * math.log(m * s) / (s * (1 - s))
    return -math.expm1(lp1 + lp2)


def bozic_eradication_probability(
    m: float,
    *,
    n1: int = 50,
    n2: int = 50,
    n12: int = 0,
    b: float = 0.14,
    d: float = 0.13,
    d_treat: float = 0.17,
    u: float = 1e-9,
) -> float:
    """Probability that simultaneous dual therapy eradicates a lesion of ``m`` cells.

    Equation (1) of Bozic et al. 2013: ``p1_up p1_down p2_up p2_down``; the treatment failure
    probability of their Table 1 is one minus this.

    Examples
    --------
    >>> round(1 - bozic_eradication_probability(8.5e8, n12=1), 2)  # Table 1, patient N22: 0.677
    0.68
    """
    s = _check(m, b, d)
    sp = 1.0 - d_treat / b
    if not sp < 0:
        raise InputError("d_treat must exceed b (treatment must make sensitive cells decline)")
    q = (sp - s) / (s * sp)
    l1u = -m * u * n12
    l1d = m * u * n12 * s / sp
    l2u = (
        m
        * u**2
        * q
        * (
            n1 * (n2 + n12) * math.log(1 / (s * m) + u * (n2 + n12) * q)
            + n2 * (n1 + n12) * math.log(1 / (s * m) + u * (n1 + n12) * q)
        )
    )
    l2d = -m * u**2 * (2 * n1 * n2 + n12 * (n1 + n2)) * s / sp**2
    return math.exp(l1u + l1d + l2u + l2d)


def simulate_bozic(
    m: float,
    *,
    n_runs: int = 2000,
    n1: int = 50,
    n2: int = 50,
    n12: int = 0,
    b: float = 0.14,
    d: float = 0.13,
    d_treat: float = 0.17,
    u: float = 1e-9,
    start: float = 1000.0,
    dt: float = 0.5,
    treat: bool = True,
    max_days: float = 4000.0,
    fail_size: float = 1e4,
    rng: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate Bozic's multi-type branching process to detection size ``m``, then dual therapy.

    Lesions start from ``start`` sensitive cells (the first cells contribute a negligible
    ``start * u`` to resistance and avoid simulating the 13/14 of lineages that die out), grow
    with the exact birth-death kernel until ``m`` cells, and are then treated with both drugs
    until extinction (eradicated) or until ``fail_size`` doubly resistant cells (failure).

    Returns one row per run: ``resistant_a`` (cells resistant to drug A present at detection),
    ``resistant_any``, ``dual_resistant``, ``eradicated``, ``failed``, ``t_detect``.

    Examples
    --------
    >>> df = simulate_bozic(1e5, n_runs=20, rng=0, treat=False)
    >>> len(df)
    20
    """
    gen = np.random.default_rng(rng)
    model = bozic2013_model(initial=start, n1=n1, n2=n2, n12=n12, b=b, d=d, d_treat=d_treat, u=u)
    ar = _arrays(model, n_runs, None, gen)
    x = np.rint(ar.x0).astype(np.int64)
    t_det = np.full(n_runs, np.nan)
    det = np.zeros_like(x)
    active = np.ones(n_runs, bool)
    t = 0.0
    no_drug = np.zeros((n_runs, 2))
    while active.any() and t < max_days * 4:
        idx = np.flatnonzero(active)
        birth, death = _per_capita(ar, x[idx].astype(float), no_drug[idx], rows=idx)
        x[idx], _ = _step_branching(ar, x[idx], birth, death, dt, gen)
        t += dt
        total = x.sum(1)
        reached = active & (total >= m)
        det[reached] = x[reached]
        t_det[reached] = t
        gone = active & (total == 0)
        active &= ~(reached | gone)
    out = pd.DataFrame(
        {
            "run": np.arange(n_runs),
            "t_detect": t_det,
            "resistant_a": (det[:, 1] + det[:, 3]) > 0,
            "resistant_any": det[:, 1:].sum(1) > 0,
            "dual_resistant": det[:, 3] > 0,
        }
    )
    if not treat:
        return out
    x = det.copy()
    both = np.ones((n_runs, 2))
    live = np.isfinite(t_det)
    failed = np.zeros(n_runs, bool)
    done = ~live
    tt = 0.0
    while (~done).any() and tt < max_days:
        idx = np.flatnonzero(~done)
        birth, death = _per_capita(ar, x[idx].astype(float), both[idx], rows=idx)
        x[idx], _ = _step_branching(ar, x[idx], birth, death, dt, gen)
        tt += dt
        failed |= ~done & (x[:, 3] >= fail_size)
        done |= failed | (x.sum(1) == 0)
    out["eradicated"] = live & (x.sum(1) == 0)
    out["failed"] = live & ~out["eradicated"].to_numpy()
    return out
